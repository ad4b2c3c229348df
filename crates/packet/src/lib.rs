//! Wire formats and flow-key extraction. No I/O.
//!
//! Each protocol has one module in the smoltcp shape: a zero-copy checked view
//! over bytes plus a plain `Repr`. [`flow::FlowKey`] is what the datapath hashes
//! and masks; [`flow::FlowKey::extract`] builds it from a frame once per packet.

pub mod flow;

pub use flow::FlowKey;
