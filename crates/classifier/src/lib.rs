//! Priority wildcard matching of OpenFlow rules (tuple space search).
//!
//! This crate starts small: the first deliverable's bridges hold only the
//! default `priority=0 actions=NORMAL` rule (kept in `ofproto`). The full
//! classifier (one hash table per wildcard mask, visited in order of highest
//! priority, stopping early) arrives with the OpenFlow tables issue.
