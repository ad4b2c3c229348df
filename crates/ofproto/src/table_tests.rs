//! Tests of the flow tables: flow_mod semantics, stats, timeouts.
