//! Match encodings: OpenFlow 1.0 `ofp_match` (wildcards) and NXM/OXM TLV
//! matches (Nicira NXM in OF1.0 extensions, OXM in OF1.2+ `ofp_match` type 1).
//!
//! OF1.0: a fixed 40-byte struct whose `wildcards` word says which fields
//! count, with nw_src/nw_dst wildcards as "number of low bits ignored"
//! (OpenFlow 1.0.0 §5.2.3). Decoding normalizes (drops fields whose
//! prerequisites do not hold), as OVS does for OF1.0.
//! NXM/OXM: a sequence of TLVs `class(16) field(7) hasmask(1) len(8) value
//! [mask]`, written in OVS's `nx_put_raw` order so our bytes equal
//! ovs-ofctl's.

use super::buf::{round8, Rd, Wr};
use crate::error::OfpError;
use crate::matching::consts::*;
use crate::matching::Match;
use crate::mf::{low_bits, value_from_be, Field, MfCode, OFPXMC_EXPERIMENTER};
use crate::port::{port_from_ofp11, port_to_ofp11};
use packet::flow::VLAN_CFI;

/// OF1.0 wildcard bits (OpenFlow 1.0.0 §5.2.3).
pub mod ofpfw10 {
    /// in_port.
    pub const IN_PORT: u32 = 1 << 0;
    /// dl_vlan.
    pub const DL_VLAN: u32 = 1 << 1;
    /// dl_src.
    pub const DL_SRC: u32 = 1 << 2;
    /// dl_dst.
    pub const DL_DST: u32 = 1 << 3;
    /// dl_type.
    pub const DL_TYPE: u32 = 1 << 4;
    /// nw_proto.
    pub const NW_PROTO: u32 = 1 << 5;
    /// tp_src.
    pub const TP_SRC: u32 = 1 << 6;
    /// tp_dst.
    pub const TP_DST: u32 = 1 << 7;
    /// Shift of the 6-bit nw_src "bits ignored" count.
    pub const NW_SRC_SHIFT: u32 = 8;
    /// Shift of the 6-bit nw_dst "bits ignored" count.
    pub const NW_DST_SHIFT: u32 = 14;
    /// dl_vlan_pcp.
    pub const DL_VLAN_PCP: u32 = 1 << 20;
    /// nw_tos.
    pub const NW_TOS: u32 = 1 << 21;
    /// Everything.
    pub const ALL: u32 = (1 << 22) - 1;
}
use ofpfw10 as fw;

/// Length of an OF1.0 `ofp_match`.
pub const OFP10_MATCH_LEN: usize = 40;
/// OF1.0 `dl_vlan` value meaning "no 802.1Q header".
pub const OFP10_VLAN_NONE: u16 = 0xffff;

fn prefix_len(mask: [u8; 4]) -> Option<u32> {
    let m = u32::from_be_bytes(mask);
    let n = m.leading_ones();
    (m.checked_shl(n).unwrap_or(0) == 0).then_some(n)
}

/// Whether `m` can be expressed as an OF1.0 `ofp_match` (else NXM is needed,
/// as ovs-ofctl then switches to NXT_FLOW_MOD).
pub fn of10_expressible(m: &Match) -> bool {
    let k = &m.mask.key;
    let full_or_none16 = |v: u16| v == 0 || v == 0xffff;
    let mac = |v: [u8; 6]| v == [0; 6] || v == [0xff; 6];
    // CFI matched as 0 with the whole VID matched is "no tag" (dl_vlan =
    // OFP10_VLAN_NONE), as ovs-ofctl 3.1 sends `vlan_vid=10` (corpus); the
    // CFI bit alone (`vlan_tci=0/0x1000`) needs NXM.
    let vlan_ok = matches!(k.vlan_tci, 0 | 0xffff)
        || (k.vlan_tci & VLAN_CFI != 0
            && k.vlan_tci & 0x0fff == 0x0fff
            && m.flow.key.vlan_tci & VLAN_CFI == 0)
        || (k.vlan_tci & VLAN_CFI != 0
            && m.flow.key.vlan_tci & VLAN_CFI != 0
            && matches!(k.vlan_tci & 0xefff, 0x0fff | 0xe000 | 0xefff));
    m.mask.metadata == 0
        && m.mask.regs == [0; 16]
        && full_or_none16(k.in_port as u16)
        && mac(k.dl_src)
        && mac(k.dl_dst)
        && vlan_ok
        && full_or_none16(k.dl_type)
        && matches!(k.nw_tos, 0 | 0xfc)
        && matches!(k.nw_proto, 0 | 0xff)
        && prefix_len(k.nw_src).is_some()
        && prefix_len(k.nw_dst).is_some()
        && full_or_none16(k.tp_src)
        && full_or_none16(k.tp_dst)
        && k.tcp_flags == 0
        && k.nw_ttl == 0
        && k.nw_frag == 0
        && k.ipv6_label == 0
        && k.ipv6_src == [0; 16]
        && k.ipv6_dst == [0; 16]
        && k.arp_sha == [0; 6]
        && k.arp_tha == [0; 6]
        && k.nd_target == [0; 16]
}

/// Decodes a 40-byte OF1.0 `ofp_match` (normalized as OVS does).
///
/// Errors: `OFPBMC_BAD_LEN` (as OFPBRC_BAD_LEN for the message) if short.
pub fn decode_of10_match(r: &mut Rd) -> Result<Match, OfpError> {
    let wc = r.u32()? & fw::ALL;
    let in_port = r.u16()?;
    let dl_src: [u8; 6] = r.arr()?;
    let dl_dst: [u8; 6] = r.arr()?;
    let dl_vlan = r.u16()?;
    let dl_vlan_pcp = r.u8()?;
    r.skip(1)?;
    let dl_type = r.u16()?;
    let nw_tos = r.u8()?;
    let nw_proto = r.u8()?;
    r.skip(2)?;
    let nw_src: [u8; 4] = r.arr()?;
    let nw_dst: [u8; 4] = r.arr()?;
    let tp_src = r.u16()?;
    let tp_dst = r.u16()?;

    let mut m = Match::catchall();
    if wc & fw::IN_PORT == 0 {
        m.set(Field::InPort, in_port.into());
    }
    if wc & fw::DL_SRC == 0 {
        m.set(Field::EthSrc, value_from_be(&dl_src));
    }
    if wc & fw::DL_DST == 0 {
        m.set(Field::EthDst, value_from_be(&dl_dst));
    }
    let vid = dl_vlan & 0x0fff;
    let pcp = u16::from(dl_vlan_pcp & 7) << 13;
    let (tci, tci_mask): (u16, u16) = match wc & (fw::DL_VLAN | fw::DL_VLAN_PCP) {
        x if x == fw::DL_VLAN | fw::DL_VLAN_PCP => (0, 0),
        fw::DL_VLAN_PCP if dl_vlan == OFP10_VLAN_NONE => (0, 0xffff),
        fw::DL_VLAN_PCP => (vid | VLAN_CFI, 0x1fff),
        fw::DL_VLAN => (pcp | VLAN_CFI, 0xf000),
        _ if dl_vlan == OFP10_VLAN_NONE => (0, 0xffff),
        _ => (vid | pcp | VLAN_CFI, 0xffff),
    };
    m.set_masked(Field::VlanTci, tci.into(), tci_mask.into());
    if wc & fw::DL_TYPE == 0 {
        let t = if dl_type < 0x600 {
            packet::flow::FLOW_DL_TYPE_NONE
        } else {
            dl_type
        };
        m.set(Field::EthType, t.into());
    }
    if wc & fw::NW_TOS == 0 {
        m.set(Field::NwTos, (nw_tos & 0xfc).into());
    }
    if wc & fw::NW_PROTO == 0 {
        m.set(Field::IpProto, nw_proto.into());
    }
    for (shift, field, addr) in [
        (fw::NW_SRC_SHIFT, Field::IpSrc, nw_src),
        (fw::NW_DST_SHIFT, Field::IpDst, nw_dst),
    ] {
        let ignored = (wc >> shift) & 0x3f;
        if ignored < 32 {
            let mask = (u32::MAX << ignored) as u128;
            m.set_masked(field, value_from_be(&addr), mask);
        }
    }
    if wc & fw::TP_SRC == 0 {
        m.set(Field::TpSrc, tp_src.into());
    }
    if wc & fw::TP_DST == 0 {
        m.set(Field::TpDst, tp_dst.into());
    }
    m.normalize();
    Ok(m)
}

/// Encodes `m` as a 40-byte OF1.0 `ofp_match`. Parts OF1.0 cannot express
/// (see [`of10_expressible`]) are widened to the nearest expressible match.
pub fn encode_of10_match(m: &Match, out: &mut Vec<u8>) {
    let (f, k) = (&m.flow.key, &m.mask.key);
    let mut wc = 0u32;
    if k.in_port as u16 == 0 {
        wc |= fw::IN_PORT;
    }
    if k.dl_src != [0xff; 6] {
        wc |= fw::DL_SRC;
    }
    if k.dl_dst != [0xff; 6] {
        wc |= fw::DL_DST;
    }
    let (mut dl_vlan, mut pcp) = (0u16, 0u8);
    if k.vlan_tci == 0 {
        wc |= fw::DL_VLAN | fw::DL_VLAN_PCP;
    } else if k.vlan_tci & VLAN_CFI != 0 && f.vlan_tci & VLAN_CFI == 0 {
        dl_vlan = OFP10_VLAN_NONE;
        wc |= fw::DL_VLAN_PCP;
    } else {
        if k.vlan_tci & 0x0fff == 0x0fff {
            dl_vlan = f.vlan_tci & 0x0fff;
        } else {
            wc |= fw::DL_VLAN;
        }
        if k.vlan_tci & 0xe000 == 0xe000 {
            pcp = (f.vlan_tci >> 13) as u8;
        } else {
            wc |= fw::DL_VLAN_PCP;
        }
    }
    if k.dl_type != 0xffff {
        wc |= fw::DL_TYPE;
    }
    if k.nw_tos & 0xfc != 0xfc {
        wc |= fw::NW_TOS;
    }
    if k.nw_proto != 0xff {
        wc |= fw::NW_PROTO;
    }
    let ignored = |mask: [u8; 4]| 32 - u32::from_be_bytes(mask).leading_ones();
    wc |= ignored(k.nw_src) << fw::NW_SRC_SHIFT;
    wc |= ignored(k.nw_dst) << fw::NW_DST_SHIFT;
    if k.tp_src != 0xffff {
        wc |= fw::TP_SRC;
    }
    if k.tp_dst != 0xffff {
        wc |= fw::TP_DST;
    }
    let on = |bit: u32| wc & bit == 0;
    out.u32(wc);
    out.u16(if on(fw::IN_PORT) { f.in_port as u16 } else { 0 });
    out.extend_from_slice(if on(fw::DL_SRC) { &f.dl_src } else { &[0; 6] });
    out.extend_from_slice(if on(fw::DL_DST) { &f.dl_dst } else { &[0; 6] });
    out.u16(dl_vlan);
    out.u8(pcp);
    out.u8(0);
    out.u16(if on(fw::DL_TYPE) { f.dl_type } else { 0 });
    out.u8(if on(fw::NW_TOS) { f.nw_tos & 0xfc } else { 0 });
    out.u8(if on(fw::NW_PROTO) { f.nw_proto } else { 0 });
    out.u16(0);
    let masked =
        |a: [u8; 4], m: [u8; 4]| (u32::from_be_bytes(a) & u32::from_be_bytes(m)).to_be_bytes();
    let src_mask = (u32::MAX.checked_shl(ignored(k.nw_src)).unwrap_or(0)).to_be_bytes();
    let dst_mask = (u32::MAX.checked_shl(ignored(k.nw_dst)).unwrap_or(0)).to_be_bytes();
    out.extend_from_slice(&masked(f.nw_src, src_mask));
    out.extend_from_slice(&masked(f.nw_dst, dst_mask));
    out.u16(if on(fw::TP_SRC) { f.tp_src } else { 0 });
    out.u16(if on(fw::TP_DST) { f.tp_dst } else { 0 });
}

/// Which TLV dialect to write: NXM (OF1.0 Nicira messages) or OXM for a version.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MatchFormat {
    /// Nicira NXM codes (NXM_OF_*, NXM_NX_*).
    Nxm,
    /// OXM codes of OpenFlow wire `version` (OXM basic where defined).
    Oxm(u8),
}

fn put_tlv(out: &mut Vec<u8>, fmt: MatchFormat, field: Field, v: u128, mask: u128) {
    let full = low_bits(field.n_bits());
    if mask == 0 {
        return;
    }
    let code = match fmt {
        MatchFormat::Nxm => field.nxm_code(),
        MatchFormat::Oxm(ver) => field.oxm_code(ver),
    };
    let Some(code) = code else { return };
    let masked = mask & full != full;
    put_code(out, code, masked);
    let (v, mask) = if field == Field::InPort && code.len == 4 {
        (u128::from(port_to_ofp11(v as u16)), u128::from(u32::MAX))
    } else {
        (v, mask)
    };
    let n = usize::from(code.len);
    out.extend_from_slice(crate::mf::MfBytes::new(v, n).as_ref());
    if masked {
        out.extend_from_slice(crate::mf::MfBytes::new(mask, n).as_ref());
    }
}

/// Writes an NXM/OXM header (plus experimenter id for class 0xffff).
pub(crate) fn put_code(out: &mut Vec<u8>, code: MfCode, masked: bool) {
    let extra = if code.class == OFPXMC_EXPERIMENTER {
        4
    } else {
        0
    };
    let len = (usize::from(code.len) * if masked { 2 } else { 1 } + extra) as u32;
    out.u32(
        (u32::from(code.class) << 16)
            | (u32::from(code.field) << 9)
            | (u32::from(masked) << 8)
            | len,
    );
    if extra != 0 {
        out.u32(code.experimenter);
    }
}

/// Writes `m` as NXM/OXM TLVs (no padding), in OVS's order. Returns bytes written.
pub fn encode_tlvs(m: &Match, fmt: MatchFormat, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    let oxm = matches!(fmt, MatchFormat::Oxm(_));
    let put = |out: &mut Vec<u8>, f: Field| {
        let (v, mk) = m.get(f);
        put_tlv(out, fmt, f, v, mk);
    };
    let (f, k) = (&m.flow.key, &m.mask.key);
    put(out, Field::InPort);
    put(out, Field::EthSrc);
    put(out, Field::EthDst);
    put(out, Field::EthType);
    if oxm {
        let vid_mask = k.vlan_tci & 0x1fff;
        if vid_mask != 0 {
            put_tlv(
                out,
                fmt,
                Field::VlanVid,
                u128::from(f.vlan_tci & 0x1fff),
                u128::from(vid_mask),
            );
        }
        if f.vlan_tci & VLAN_CFI != 0 && k.vlan_tci & 0xe000 != 0 {
            put_tlv(out, fmt, Field::VlanPcp, u128::from(f.vlan_tci >> 13), 7);
        }
    } else {
        put(out, Field::VlanTci);
    }
    let dl_type = if k.dl_type == 0xffff { f.dl_type } else { 0 };
    if dl_type == ETH_TYPE_IP || dl_type == ETH_TYPE_IPV6 {
        if dl_type == ETH_TYPE_IP {
            put(out, Field::IpSrc);
            put(out, Field::IpDst);
        } else {
            put(out, Field::Ipv6Src);
            put(out, Field::Ipv6Dst);
        }
        put(out, Field::IpFrag);
        if k.nw_tos & 0xfc != 0 {
            if oxm {
                put_tlv(out, fmt, Field::IpDscp, u128::from(f.nw_tos >> 2), 0x3f);
            } else {
                put_tlv(out, fmt, Field::NwTos, u128::from(f.nw_tos & 0xfc), 0xff);
            }
        }
        if k.nw_tos & 3 != 0 {
            put_tlv(out, fmt, Field::IpEcn, u128::from(f.nw_tos & 3), 3);
        }
        if k.nw_ttl != 0 {
            put_tlv(out, fmt, Field::IpTtl, u128::from(f.nw_ttl), 0xff);
        }
        if dl_type == ETH_TYPE_IPV6 {
            put(out, Field::Ipv6Label);
        }
        if k.nw_proto != 0 {
            put_tlv(out, fmt, Field::IpProto, u128::from(f.nw_proto), 0xff);
            let (src, dst) = match (f.nw_proto, dl_type) {
                (IPPROTO_TCP, _) => (Some(Field::TcpSrc), Some(Field::TcpDst)),
                (IPPROTO_UDP, _) => (Some(Field::UdpSrc), Some(Field::UdpDst)),
                (IPPROTO_SCTP, _) => (Some(Field::SctpSrc), Some(Field::SctpDst)),
                (IPPROTO_ICMP, ETH_TYPE_IP) => (Some(Field::IcmpType), Some(Field::IcmpCode)),
                (IPPROTO_ICMPV6, ETH_TYPE_IPV6) => {
                    (Some(Field::Icmpv6Type), Some(Field::Icmpv6Code))
                }
                _ => (None, None),
            };
            if let (Some(s), Some(d)) = (src, dst) {
                let n = s.n_bits();
                if k.tp_src != 0 {
                    put_tlv(
                        out,
                        fmt,
                        s,
                        u128::from(f.tp_src),
                        u128::from(k.tp_src) & low_bits(n),
                    );
                }
                if k.tp_dst != 0 {
                    put_tlv(
                        out,
                        fmt,
                        d,
                        u128::from(f.tp_dst),
                        u128::from(k.tp_dst) & low_bits(n),
                    );
                }
            }
            if f.nw_proto == IPPROTO_TCP {
                put(out, Field::TcpFlags);
            }
            if f.nw_proto == IPPROTO_ICMPV6
                && dl_type == ETH_TYPE_IPV6
                && matches!(f.tp_src, 135 | 136)
            {
                put(out, Field::NdTarget);
                if f.tp_src == 135 {
                    put(out, Field::NdSll);
                } else {
                    put(out, Field::NdTll);
                }
            }
        }
    } else if dl_type == ETH_TYPE_ARP || dl_type == ETH_TYPE_RARP {
        if k.nw_proto != 0 {
            put_tlv(out, fmt, Field::ArpOp, u128::from(f.nw_proto), 0xffff);
        }
        put(out, Field::ArpSpa);
        put(out, Field::ArpTpa);
        put(out, Field::ArpSha);
        put(out, Field::ArpTha);
    }
    for i in 0..16 {
        put(out, Field::Reg(i));
    }
    put(out, Field::Metadata);
    out.len() - start
}

/// Decodes NXM/OXM TLVs filling a whole buffer.
///
/// Errors (OpenFlow 1.3.5 §7.2.3.6 / OVS nx-match): `OFPBMC_BAD_LEN` for a
/// truncated TLV or a length not matching the field, `OFPBMC_BAD_FIELD` for
/// an unknown field, `OFPBMC_BAD_MASK` for a mask on a non-maskable field,
/// `OFPBMC_BAD_VALUE` for a value wider than the field, `OFPBMC_DUP_FIELD`,
/// `OFPBMC_BAD_PREREQ`.
pub fn decode_tlvs(bytes: &[u8]) -> Result<Match, OfpError> {
    let mut r = Rd::new(bytes, OfpError::BAD_MATCH_BAD_LEN);
    let mut m = Match::catchall();
    let mut seen: Vec<Field> = Vec::new();
    while !r.is_empty() {
        let header = r.u32()?;
        let class = (header >> 16) as u16;
        let field_no = ((header >> 9) & 0x7f) as u8;
        let hasmask = header & 0x100 != 0;
        let mut len = (header & 0xff) as usize;
        let mut experimenter = 0;
        if class == OFPXMC_EXPERIMENTER {
            experimenter = r.u32()?;
            len = len.checked_sub(4).ok_or(OfpError::BAD_MATCH_BAD_LEN)?;
        }
        let payload = r.take(len)?;
        let field =
            Field::from_code(class, field_no, experimenter).ok_or(OfpError::BAD_MATCH_BAD_FIELD)?;
        let width = if field == Field::InPort && class == crate::mf::OFPXMC_OPENFLOW_BASIC {
            4
        } else {
            field.n_bytes()
        };
        if len != width * if hasmask { 2 } else { 1 } {
            return Err(OfpError::BAD_MATCH_BAD_LEN);
        }
        if hasmask && !field.maskable() {
            return Err(OfpError::BAD_MATCH_BAD_MASK);
        }
        let mut v = value_from_be(&payload[..width]);
        let mask = if hasmask {
            value_from_be(&payload[width..])
        } else {
            low_bits(field.n_bits())
        };
        if field == Field::InPort && width == 4 {
            v = u128::from(port_from_ofp11(v as u32).map_err(|_| OfpError::BAD_MATCH_BAD_VALUE)?);
        }
        let storage_bits = if field == Field::ArpOp {
            8
        } else {
            field.n_bits()
        };
        if v & mask & !low_bits(storage_bits) != 0 {
            return Err(OfpError::BAD_MATCH_BAD_VALUE);
        }
        if seen.contains(&field) {
            return Err(OfpError::BAD_MATCH_DUP_FIELD);
        }
        // As OVS's nx_pull_raw: prerequisites must precede the field.
        if !m.prereqs_ok(field) {
            return Err(OfpError::BAD_MATCH_BAD_PREREQ);
        }
        seen.push(field);
        m.set_masked(field, v, mask);
    }
    Ok(m)
}

/// Writes an OF1.2+ `ofp_match` (type OXM, length, TLVs, padding to 8).
pub fn encode_oxm_match(m: &Match, version: u8, out: &mut Vec<u8>) {
    let start = out.len();
    out.u16(1);
    out.u16(0);
    let n = encode_tlvs(m, MatchFormat::Oxm(version), out);
    out.set_u16(start + 2, (4 + n) as u16);
    out.pad8_from(start);
}

/// Reads an OF1.2+ `ofp_match` (consuming its padding).
///
/// Errors: `OFPBMC_BAD_TYPE` unless type 1 (OXM), `OFPBMC_BAD_LEN`, plus [`decode_tlvs`]'s.
pub(crate) fn decode_oxm_match(r: &mut Rd) -> Result<Match, OfpError> {
    let type_ = r.peek_u16(0)?;
    let len = usize::from(r.peek_u16(2)?);
    if type_ != 1 {
        return Err(OfpError::BAD_MATCH_BAD_TYPE);
    }
    if len < 4 {
        return Err(OfpError::BAD_MATCH_BAD_LEN);
    }
    let all = r
        .take(round8(len))
        .map_err(|_| OfpError::BAD_MATCH_BAD_LEN)?;
    decode_tlvs(&all[4..len])
}

/// Writes NXM TLVs padded to 8; returns the unpadded `match_len`.
pub fn encode_nxm_padded(m: &Match, out: &mut Vec<u8>) -> u16 {
    let start = out.len();
    let n = encode_tlvs(m, MatchFormat::Nxm, out);
    out.pad8_from(start);
    n as u16
}

/// Reads `match_len` bytes of NXM plus padding to 8.
pub fn decode_nxm_padded(r: &mut Rd, match_len: usize) -> Result<Match, OfpError> {
    let all = r
        .take(round8(match_len))
        .map_err(|_| OfpError::BAD_MATCH_BAD_LEN)?;
    decode_tlvs(&all[..match_len])
}
