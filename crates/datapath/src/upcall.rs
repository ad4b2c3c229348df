//! The interface between the fast path and the slow path.
//!
//! On a cache miss the forwarding thread calls [`UpcallHandler::upcall`]
//! synchronously (as dpif-netdev does from its PMD threads). The handler
//! returns the datapath actions for the packet and the mask of every key field
//! it consulted; the datapath installs `(key & mask, mask) -> actions` as a
//! megaflow, so every later packet that agrees on those fields takes the fast
//! path. When slow-path state changes (MAC learning, port or rule changes) the
//! handler bumps [`UpcallHandler::generation`]; forwarding threads notice it
//! at the next batch and revalidate every megaflow through
//! [`UpcallHandler::revalidate`].

use packet::FlowKey;

/// One datapath action (the `actions:` of `ovs-appctl dpctl/dump-flows`).
///
/// Executed in order on the packet; `Output` sends a copy of the packet as it
/// is at that point.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DpAction {
    /// Send to datapath port number (odp port). Printed as the bare number.
    Output(u32),
    /// Push an 802.1Q header. `tci` excludes the CFI bit (printed
    /// `push_vlan(vid=V,pcp=P)`); `tpid` is 0x8100 normally.
    PushVlan { tpid: u16, tci: u16 },
    /// Remove the outermost 802.1Q header. Printed `pop_vlan`.
    PopVlan,
    /// Rewrite the Ethernet source and destination. Printed
    /// `set(eth(src=..,dst=..))`.
    SetEth { src: [u8; 6], dst: [u8; 6] },
}

/// The slow path's answer for one flow: what to do and what was looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Xlated {
    /// Datapath actions, in order. Empty = drop.
    pub actions: Vec<DpAction>,
    /// Mask of every key field the translation consulted (1 bits matter).
    /// `in_port` and `recirc_id` should always be fully set.
    pub mask: FlowKey,
}

/// The slow path, as seen from the datapath.
///
/// Implementations must be cheap to call concurrently from forwarding threads
/// and must never block for long (no I/O).
pub trait UpcallHandler: Send + Sync {
    /// Translate a packet that missed the caches. `key` was extracted from
    /// `packet` (the whole frame as received). May learn (e.g. MAC addresses)
    /// and bump the generation.
    fn upcall(&self, key: &FlowKey, packet: &[u8]) -> Xlated;

    /// Re-translate an installed megaflow (`key` is the masked key it was
    /// installed with, plus the unmasked fields of the packet that created
    /// it). `used` says whether packets hit the flow since the last
    /// revalidation, so the handler can refresh what they would have
    /// refreshed (MAC-table ages). Returns the new translation; the datapath
    /// replaces or deletes the megaflow if it differs.
    fn revalidate(&self, key: &FlowKey, used: bool) -> Xlated;

    /// A counter that changes whenever a translation could change.
    fn generation(&self) -> u64;
}
