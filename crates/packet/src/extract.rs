//! Flow-key extraction: one pass over a frame that fills every [`FlowKey`]
//! field, with the semantics of Open vSwitch's `miniflow_extract()`
//! (lib/flow.c).
//!
//! Idea: straight-line parsing over the byte slice, outermost header first,
//! each step checking the length it needs before it reads. The key starts
//! zeroed, so a field that a packet does not carry stays 0, as in OVS.
//!
//! Invariants: the result depends only on the bytes and `in_port`
//! (deterministic); no input panics; [`Malformed`] is returned only for the
//! frames a switch drops (see the variants marked "drop"). Where OVS stops
//! parsing without dropping (short ARP/ICMP/SCTP headers, a cut-short IPv6
//! extension header) we stop too and return the fields found so far.
//!
//! Differences from OVS, by design of the key: one VLAN tag is parsed (TPID
//! 0x8100 only; a second tag leaves `dl_type` = 0x8100, as OVS with
//! `vlan-limit=1`); MPLS/NSH payloads are not parsed; the IGMP group and ND
//! reserved/option-type fields have no place in the key; OVS's quirk of
//! ignoring L3 when more than 255 bytes of padding follow is not copied.
//!
//! Performance: no allocation, no loops except over IPv6 extension headers
//! and ND options; measured 70–85 ns per packet on the shared 2-core build
//! machine (benches/extract.rs).

use crate::bytes::{arr16, arr4, arr6, be16, be32};
use crate::ethernet::ethertype;
use crate::flow::{FlowKey, FLOW_DL_TYPE_NONE, FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER, VLAN_CFI};
use crate::ip::protocol;
use crate::Malformed;

/// Byte offsets of the network and transport headers inside a frame, for
/// checksum and header-rewrite code (OVS's `l3_ofs`/`l4_ofs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Layers {
    /// Start of the Ethernet payload after any VLAN tag and LLC/SNAP header;
    /// `None` only if it would not fit in a `u16`.
    pub l3_ofs: Option<u16>,
    /// Start of the L4 header (for non-first fragments: of the fragment data),
    /// set for IPv4 and IPv6 packets whose headers were fully parsed.
    pub l4_ofs: Option<u16>,
}

impl FlowKey {
    /// Extracts the flow key of an Ethernet `frame` received on datapath port
    /// `in_port` (`recirc_id` 0). See [`extract_with_layers`] for the rules.
    ///
    /// Errors: [`Malformed`] for frames the switch should drop and count.
    #[inline]
    pub fn extract(frame: &[u8], in_port: u32) -> Result<FlowKey, Malformed> {
        extract_with_layers(frame, in_port).map(|(k, _)| k)
    }

    /// Same as [`extract_with_layers`].
    #[inline]
    pub fn extract_with_layers(frame: &[u8], in_port: u32) -> Result<(FlowKey, Layers), Malformed> {
        extract_with_layers(frame, in_port)
    }
}

/// Extracts the flow key of an Ethernet `frame` and the offsets of its L3/L4
/// headers. Fields follow the conventions at the top of [`crate::flow`]:
///
/// - `dl_*`: MACs; `vlan_tci` = outer 802.1Q TCI | `VLAN_CFI`; `dl_type` the
///   type after the tag; an 802.3 length becomes `FLOW_DL_TYPE_NONE` unless
///   an LLC/SNAP header (AA-AA-03, OUI 0) carries an Ethernet type;
/// - ARP/RARP (htype 1, ptype 0x0800, hlen 6, plen 4, ≥ 28 bytes): spa/tpa in
///   `nw_src`/`nw_dst`, opcode in `nw_proto` if ≤ 255, sha/tha;
/// - IPv4: addresses, tos, ttl, proto, frag bits; IPv6: addresses, label,
///   traffic class, hop limit, upper-layer protocol after extension headers;
/// - unless a later fragment: TCP ports and flags, UDP/SCTP ports,
///   ICMP/IGMP/ICMPv6 type and code in `tp_src`/`tp_dst`, ND target and
///   SLL/TLL options (a repeated SLL or TLL option voids all three).
///
/// Errors (drop): Ethernet header < 14 bytes; VLAN tag cut short; IPv4
/// version ≠ 4, IHL < 5, header cut short, total length < IHL*4 or > bytes
/// present; IPv6 header cut short or payload length > bytes present; TCP
/// header cut short or data offset < 5 (first fragments included); UDP
/// header cut short or, when not a fragment, its length field < 8 or > bytes
/// present. Trailing padding after the IP packet is ignored.
pub fn extract_with_layers(frame: &[u8], in_port: u32) -> Result<(FlowKey, Layers), Malformed> {
    let mut key = FlowKey {
        in_port,
        ..FlowKey::default()
    };
    let mut layers = Layers::default();
    if frame.len() < crate::ethernet::HEADER_LEN {
        return Err(Malformed::EthernetTruncated);
    }
    key.dl_dst = arr6(&frame[0..6]);
    key.dl_src = arr6(&frame[6..12]);
    let mut ofs = 12;
    let mut dl_type = be16(&frame[12..14]);
    if dl_type == ethertype::VLAN {
        if frame.len() < 18 {
            return Err(Malformed::VlanTruncated);
        }
        key.vlan_tci = be16(&frame[14..16]) | VLAN_CFI;
        dl_type = be16(&frame[16..18]);
        ofs = 16;
    }
    ofs += 2;
    if dl_type < ethertype::ETH_TYPE_MIN {
        dl_type = FLOW_DL_TYPE_NONE;
        if let Some(llc) = frame.get(ofs..ofs + 8) {
            if llc[..6] == [0xaa, 0xaa, 0x03, 0, 0, 0] {
                let t = be16(&llc[6..8]);
                if t >= ethertype::ETH_TYPE_MIN {
                    dl_type = t;
                    ofs += 8;
                }
            }
        }
    }
    key.dl_type = dl_type;
    layers.l3_ofs = u16::try_from(ofs).ok();
    let l3 = &frame[ofs..];

    let l4: &[u8];
    match dl_type {
        ethertype::IPV4 => {
            if l3.len() < crate::ipv4::HEADER_LEN {
                return Err(Malformed::Ipv4Truncated);
            }
            if l3[0] >> 4 != 4 {
                return Err(Malformed::Ipv4Version);
            }
            let ihl = (l3[0] & 0x0f) as usize * 4;
            if ihl < crate::ipv4::HEADER_LEN {
                return Err(Malformed::Ipv4HeaderLen);
            }
            if l3.len() < ihl {
                return Err(Malformed::Ipv4Truncated);
            }
            let tot = be16(&l3[2..4]) as usize;
            if tot < ihl {
                return Err(Malformed::Ipv4TotalLenShort);
            }
            if tot > l3.len() {
                return Err(Malformed::Ipv4TotalLenLong);
            }
            key.nw_src = arr4(&l3[12..16]);
            key.nw_dst = arr4(&l3[16..20]);
            key.nw_tos = l3[1];
            key.nw_ttl = l3[8];
            key.nw_proto = l3[9];
            let frag_off = be16(&l3[6..8]);
            if frag_off & (crate::ipv4::FLAG_MF | crate::ipv4::FRAG_OFF_MASK) != 0 {
                key.nw_frag = FLOW_NW_FRAG_ANY;
                if frag_off & crate::ipv4::FRAG_OFF_MASK != 0 {
                    key.nw_frag |= FLOW_NW_FRAG_LATER;
                }
            }
            l4 = &l3[ihl..tot];
            layers.l4_ofs = u16::try_from(ofs + ihl).ok();
        }
        ethertype::IPV6 => {
            if l3.len() < crate::ipv6::HEADER_LEN {
                return Err(Malformed::Ipv6Truncated);
            }
            let plen = be16(&l3[4..6]) as usize;
            if plen > l3.len() - crate::ipv6::HEADER_LEN {
                return Err(Malformed::Ipv6PayloadLen);
            }
            key.ipv6_src = arr16(&l3[8..24]);
            key.ipv6_dst = arr16(&l3[24..40]);
            let w0 = be32(&l3[0..4]);
            key.ipv6_label = w0 & crate::ipv6::LABEL_MASK;
            let payload = &l3[crate::ipv6::HEADER_LEN..crate::ipv6::HEADER_LEN + plen];
            match crate::ipv6::walk_ext_headers(l3[6], payload) {
                Ok(up) => {
                    key.nw_tos = (w0 >> 20) as u8;
                    key.nw_ttl = l3[7];
                    key.nw_proto = up.protocol;
                    key.nw_frag = up.frag;
                    l4 = &payload[up.offset..];
                    layers.l4_ofs = u16::try_from(ofs + crate::ipv6::HEADER_LEN + up.offset).ok();
                }
                // OVS: a cut-short extension header ends parsing with only
                // the addresses and label filled in; the packet is not dropped.
                Err(_) => return Ok((key, layers)),
            }
        }
        ethertype::ARP | ethertype::RARP => {
            if l3.len() >= crate::arp::ETH_IPV4_LEN
                && be16(&l3[0..2]) == crate::arp::HTYPE_ETHERNET
                && be16(&l3[2..4]) == ethertype::IPV4
                && l3[4] == 6
                && l3[5] == 4
            {
                key.nw_src = arr4(&l3[14..18]);
                key.nw_dst = arr4(&l3[24..28]);
                let op = be16(&l3[6..8]);
                if op <= 0xff {
                    key.nw_proto = op as u8;
                }
                key.arp_sha = arr6(&l3[8..14]);
                key.arp_tha = arr6(&l3[18..24]);
            }
            return Ok((key, layers));
        }
        _ => return Ok((key, layers)),
    }

    if key.nw_frag & FLOW_NW_FRAG_LATER != 0 {
        return Ok((key, layers));
    }
    match key.nw_proto {
        protocol::TCP => {
            if l4.len() < crate::tcp::HEADER_LEN {
                return Err(Malformed::TcpTruncated);
            }
            let off = (l4[12] >> 4) as usize * 4;
            if off < crate::tcp::HEADER_LEN {
                return Err(Malformed::TcpDataOffset);
            }
            if off > l4.len() {
                return Err(Malformed::TcpTruncated);
            }
            key.tp_src = be16(&l4[0..2]);
            key.tp_dst = be16(&l4[2..4]);
            key.tcp_flags = be16(&l4[12..14]) & crate::tcp::flags::MASK;
        }
        protocol::UDP => {
            if l4.len() < crate::udp::HEADER_LEN {
                return Err(Malformed::UdpTruncated);
            }
            if key.nw_frag == 0 {
                let ulen = be16(&l4[4..6]) as usize;
                if ulen < crate::udp::HEADER_LEN || ulen > l4.len() {
                    return Err(Malformed::UdpLength);
                }
            }
            key.tp_src = be16(&l4[0..2]);
            key.tp_dst = be16(&l4[2..4]);
        }
        // Short SCTP/ICMP/IGMP/ICMPv6 headers leave the L4 fields 0 (OVS).
        protocol::SCTP if l4.len() >= 12 => {
            key.tp_src = be16(&l4[0..2]);
            key.tp_dst = be16(&l4[2..4]);
        }
        protocol::ICMP | protocol::IGMP if l4.len() >= 8 => {
            key.tp_src = l4[0] as u16;
            key.tp_dst = l4[1] as u16;
        }
        protocol::ICMPV6 if l4.len() >= crate::icmpv6::HEADER_LEN => {
            key.tp_src = l4[0] as u16;
            key.tp_dst = l4[1] as u16;
            if l4[1] == 0
                && (l4[0] == crate::icmpv6::msg_type::NEIGHBOR_SOLICIT
                    || l4[0] == crate::icmpv6::msg_type::NEIGHBOR_ADVERT)
            {
                extract_nd(&mut key, l4);
            }
        }
        _ => {}
    }
    Ok((key, layers))
}

/// ND target and link-layer options (OVS `parse_icmpv6`): options are read
/// until one is empty or runs past the end; a second SLL (or TLL) option
/// while the first is non-zero voids target, SLL and TLL.
#[inline]
fn extract_nd(key: &mut FlowKey, icmp: &[u8]) {
    if icmp.len() < crate::icmpv6::ND_LEN {
        return;
    }
    key.nd_target = arr16(&icmp[8..24]);
    let mut rest = &icmp[crate::icmpv6::ND_LEN..];
    while rest.len() >= 8 {
        let len = rest[1] as usize * 8;
        if len == 0 || len > rest.len() {
            return;
        }
        if len == 8 {
            let slot = match rest[0] {
                crate::icmpv6::OPT_SOURCE_LLADDR => Some(&mut key.arp_sha),
                crate::icmpv6::OPT_TARGET_LLADDR => Some(&mut key.arp_tha),
                _ => None,
            };
            if let Some(slot) = slot {
                if *slot != [0; 6] {
                    key.nd_target = [0; 16];
                    key.arp_sha = [0; 6];
                    key.arp_tha = [0; 6];
                    return;
                }
                *slot = arr6(&rest[2..8]);
            }
        }
        rest = &rest[len..];
    }
}
