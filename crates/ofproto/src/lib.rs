//! The OpenFlow switch: bridges, their ports and rules, translation of
//! packets into datapath actions (`xlate`), and the NORMAL action (MAC
//! learning, VLANs).
//!
//! All bridges share one datapath (as Open vSwitch's `ovs-netdev`); the
//! [`Backer`] owns them and implements the datapath's upcall handler, routing
//! each upcall to the bridge that owns the packet's input port.

pub mod backer;
pub mod clock;
pub mod config;
pub mod connmgr;
pub mod mac_learning;
pub mod ofbridge;
pub mod table;
pub mod trace;
pub mod xlate;

#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod test_util;

pub use backer::Backer;
pub use clock::{Clock, ManualClock, MonotonicClock};
pub use config::{BridgeConfig, InterfaceConfig, PortConfig, VlanMode};
pub use mac_learning::{MacEntry, MacLearning};
pub use ofbridge::OfBridge;
