//! The userspace datapath: netdev providers, packet batches, the exact-match
//! and megaflow caches, the action executor and the upcall interface.
//!
//! The datapath knows nothing of OpenFlow. It sees flow keys, masks and
//! datapath actions ([`DpAction`]); a packet that misses both caches is handed
//! to an [`UpcallHandler`] (implemented by `ofproto`), whose answer becomes a
//! megaflow.

pub mod upcall;

pub use upcall::{DpAction, UpcallHandler, Xlated};
