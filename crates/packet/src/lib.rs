//! Wire formats and flow-key extraction. No I/O.
//!
//! Each protocol has one module in the smoltcp shape: a zero-copy checked view
//! over bytes (`Frame<T>` / `Packet<T>` with `new_checked`, accessors on named
//! byte ranges, setters when `T: AsMut<[u8]>`) plus a plain `Repr` with
//! `parse`/`emit`. [`flow::FlowKey`] is what the datapath hashes and masks;
//! [`FlowKey::extract`] builds it from a frame once per packet.
//! [`checksum`] computes and patches Internet checksums; [`odp`] prints a
//! datapath flow the way `ovs-appctl dpctl/dump-flows` does.
//!
//! Untrusted bytes never panic: every view validates its length once in
//! `new_checked`, and extraction checks every length before reading.

pub mod arp;
pub mod checksum;
pub mod error;
pub mod ethernet;
pub mod extract;
pub mod flow;
pub mod icmp;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod odp;
pub mod tcp;
pub mod udp;

mod bytes;

pub use error::Malformed;
pub use ethernet::EthernetAddress;
pub use extract::{extract_with_layers, Layers};
pub use flow::FlowKey;
