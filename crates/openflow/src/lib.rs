//! OpenFlow wire codec and `ovs-ofctl` text syntax.
//!
//! Starts with the constants the first deliverable needs; the codec arrives
//! with the OpenFlow tables issue.

/// Reserved OpenFlow 1.0 port number of the bridge's local (internal) port, OFPP_LOCAL.
pub const OFPP_LOCAL: u16 = 0xfffe;
/// OpenFlow 1.3+ OFPP_LOCAL (32-bit port numbers).
pub const OFPP13_LOCAL: u32 = 0xffff_fffe;
/// Highest ordinary OpenFlow 1.0 port number (OFPP_MAX).
pub const OFPP_MAX: u16 = 0xff00;
