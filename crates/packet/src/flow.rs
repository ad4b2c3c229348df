//! The flow key: every header field the datapath can match on, in one
//! fixed-size, 8-byte aligned struct.
//!
//! Idea: the key is plain old data viewed two ways. Code reads and writes the
//! named fields; the megaflow cache masks, hashes and compares it as
//! [`FLOW_WORDS`] `u64` words (see [`FlowKey::words`]), so a masked lookup is a
//! handful of AND/XOR operations with no per-field branching. A mask is a
//! `FlowKey` too: a field's bits set to 1 in the mask are significant.
//!
//! Conventions (as Open vSwitch's `struct flow`):
//! - integers are host byte order; addresses are byte arrays in wire order;
//! - `vlan_tci` holds the 802.1Q TCI with the CFI/DEI bit (0x1000) set when
//!   the frame has a tag (`VLAN_CFI`), 0 when it is untagged;
//! - `dl_type` is the Ethernet type after any VLAN tag (0x05ff and below =
//!   802.2 frame: `dl_type` is set to `FLOW_DL_TYPE_NONE`, 0x05ff);
//! - ARP: `nw_src`/`nw_dst` = spa/tpa, `nw_proto` = low byte of the opcode,
//!   `arp_sha`/`arp_tha` = sha/tha;
//! - ICMP/ICMPv6: `tp_src` = type, `tp_dst` = code;
//! - ND: `nd_target`, `arp_sha` = source link-layer option, `arp_tha` = target link-layer option;
//! - `nw_frag`: bit 0 (`FLOW_NW_FRAG_ANY`) = fragment, bit 1 (`FLOW_NW_FRAG_LATER`) = not the first.

use bytemuck::{Pod, Zeroable};

/// Number of `u64` words in a [`FlowKey`].
pub const FLOW_WORDS: usize = 14;

/// CFI/DEI bit of `vlan_tci`, set when a VLAN header is present (OVS convention).
pub const VLAN_CFI: u16 = 0x1000;
/// VLAN ID bits of `vlan_tci`.
pub const VLAN_VID_MASK: u16 = 0x0fff;
/// Priority (PCP) bits of `vlan_tci`.
pub const VLAN_PCP_MASK: u16 = 0xe000;
/// `dl_type` of frames with an 802.3 length field instead of an Ethernet type.
pub const FLOW_DL_TYPE_NONE: u16 = 0x05ff;
/// `nw_frag` bit: the packet is an IP fragment.
pub const FLOW_NW_FRAG_ANY: u8 = 1;
/// `nw_frag` bit: the packet is a fragment other than the first.
pub const FLOW_NW_FRAG_LATER: u8 = 2;

/// The fields of one packet that flows can match, as extracted once per packet.
///
/// Layout (word: fields) — keep it padding-free, `bytemuck` checks:
/// 0: in_port, recirc_id · 1: dl_dst, dl_type · 2: dl_src, vlan_tci ·
/// 3: nw_src, nw_dst · 4: tp_src, tp_dst, tcp_flags, nw_proto, nw_tos ·
/// 5: nw_ttl, nw_frag, pad, ipv6_label · 6–7: ipv6_src · 8–9: ipv6_dst ·
/// 10: arp_sha, pad · 11: arp_tha, pad · 12–13: nd_target.
#[repr(C, align(8))]
#[derive(Clone, Copy, Pod, Zeroable, PartialEq, Eq, Hash, Default, Debug)]
pub struct FlowKey {
    /// Datapath (odp) port number the packet arrived on.
    pub in_port: u32,
    /// Recirculation id (0 for packets straight from a port).
    pub recirc_id: u32,
    /// Ethernet destination.
    pub dl_dst: [u8; 6],
    /// Ethernet type after VLAN tags, host order.
    pub dl_type: u16,
    /// Ethernet source.
    pub dl_src: [u8; 6],
    /// Outer 802.1Q TCI | VLAN_CFI, or 0 if untagged. Host order.
    pub vlan_tci: u16,
    /// IPv4 source (ARP: sender protocol address).
    pub nw_src: [u8; 4],
    /// IPv4 destination (ARP: target protocol address).
    pub nw_dst: [u8; 4],
    /// TCP/UDP/SCTP source port; ICMP type.
    pub tp_src: u16,
    /// TCP/UDP/SCTP destination port; ICMP code.
    pub tp_dst: u16,
    /// TCP flags (low 12 bits of the TCP header's offset/flags word).
    pub tcp_flags: u16,
    /// IP protocol / IPv6 next header; ARP opcode low byte.
    pub nw_proto: u8,
    /// IP TOS / IPv6 traffic class (DSCP and ECN).
    pub nw_tos: u8,
    /// IP TTL / IPv6 hop limit.
    pub nw_ttl: u8,
    /// Fragment bits (`FLOW_NW_FRAG_*`).
    pub nw_frag: u8,
    /// Padding, always 0.
    pub pad1: [u8; 2],
    /// IPv6 flow label (20 bits).
    pub ipv6_label: u32,
    /// IPv6 source.
    pub ipv6_src: [u8; 16],
    /// IPv6 destination.
    pub ipv6_dst: [u8; 16],
    /// ARP sender hardware address; ND source link-layer address.
    pub arp_sha: [u8; 6],
    /// Padding, always 0.
    pub pad2: [u8; 2],
    /// ARP target hardware address; ND target link-layer address.
    pub arp_tha: [u8; 6],
    /// Padding, always 0.
    pub pad3: [u8; 2],
    /// IPv6 neighbor discovery target.
    pub nd_target: [u8; 16],
}

const _: () = assert!(core::mem::size_of::<FlowKey>() == FLOW_WORDS * 8);

impl FlowKey {
    /// The key as `u64` words (native endian), for masking and hashing.
    #[inline]
    pub fn words(&self) -> &[u64; FLOW_WORDS] {
        bytemuck::cast_ref(self)
    }

    /// Mutable word view.
    #[inline]
    pub fn words_mut(&mut self) -> &mut [u64; FLOW_WORDS] {
        bytemuck::cast_mut(self)
    }

    /// This key with every bit that is 0 in `mask` cleared.
    #[inline]
    pub fn masked(&self, mask: &FlowKey) -> FlowKey {
        let mut out = FlowKey::zeroed();
        let (a, m, o) = (self.words(), mask.words(), out.words_mut());
        for i in 0..FLOW_WORDS {
            o[i] = a[i] & m[i];
        }
        out
    }

    /// Whether `self` and `other` agree on every bit set in `mask`.
    #[inline]
    pub fn equal_under(&self, other: &FlowKey, mask: &FlowKey) -> bool {
        let (a, b, m) = (self.words(), other.words(), mask.words());
        let mut diff = 0u64;
        for i in 0..FLOW_WORDS {
            diff |= (a[i] ^ b[i]) & m[i];
        }
        diff == 0
    }

    /// A fast non-cryptographic 64-bit hash of the key's words (all of them;
    /// hash a [`masked`](Self::masked) key for megaflow lookups).
    #[inline]
    pub fn hash64(&self) -> u64 {
        let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
        for &w in self.words() {
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        h ^ (h >> 29)
    }

    /// A mask with every bit of every field set (an exact-match mask).
    pub fn exact_mask() -> FlowKey {
        let mut m = FlowKey::zeroed();
        for w in m.words_mut() {
            *w = u64::MAX;
        }
        // Padding stays significant but is always 0 in keys.
        m
    }
}
