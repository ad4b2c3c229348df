//! Match fields in text: `FIELD=VALUE[/MASK]` parsing (OVS `mf_parse` +
//! `mf_set`), prerequisite normalization (`ofputil_normalize_match`) and the
//! canonical `dump-flows` spelling (`match_format`).

use super::lex::{parse_eth, parse_int, parse_ipv4_masked, parse_ipv6_masked, IntError};
use super::port::{format_port, parse_port, PortNames, PortNumbers};
use crate::mf::{Field, Prereq, Spelling};
use packet::flow::{FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER};
use std::fmt::Write;
use std::net::Ipv6Addr;

/// The crate's match type (value + mask, OVS `struct match`).
pub use crate::matching::Match;

/// Fragment spellings: name, value, mask (OVS `mf_from_frag_string`).
pub const FRAG_NAMES: [(&str, u8, u8); 5] = [
    ("no", 0, FLOW_NW_FRAG_ANY),
    ("yes", FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_ANY),
    (
        "first",
        FLOW_NW_FRAG_ANY,
        FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
    ),
    (
        "later",
        FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
        FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
    ),
    ("not_later", 0, FLOW_NW_FRAG_LATER),
];

/// TCP flag names by bit (OVS `packet_tcp_flag_to_string`).
pub fn tcp_flag_name(bit: u16) -> Option<&'static str> {
    Some(match bit {
        0x001 => "fin",
        0x002 => "syn",
        0x004 => "rst",
        0x008 => "psh",
        0x010 => "ack",
        0x020 => "urg",
        0x040 => "ece",
        0x080 => "cwr",
        0x100 => "ns",
        0x200 => "[200]",
        0x400 => "[400]",
        0x800 => "[800]",
        _ => return None,
    })
}

/// Sets `field` to `value` under `mask` (the field's own units, see
/// [`Field::get`]), keeping other bits of words the field shares.
pub fn set_raw(m: &mut Match, field: Field, value: u128, mask: u128) {
    field.set(&mut m.mask, mask);
    field.set(&mut m.flow, value & mask);
}

/// Parses a field value (OVS `mf_parse`): returns (value, mask) in the
/// field's own units (e.g. `vlan_vid` with OFPVID_PRESENT, `ip_dscp`
/// shifted). An empty string means `0/0` (match on field presence).
pub fn parse_field_value(
    field: Field,
    s: &str,
    ports: Option<&PortNumbers>,
) -> Result<(u128, u128), String> {
    let s = if s.is_empty() { "0/0" } else { s };
    if s == "*" {
        return Ok((0, 0));
    }
    let n = field.n_bytes();
    let full = if n >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * n)) - 1
    };
    let (v, m) = match field.spelling() {
        Spelling::Decimal | Spelling::Hex => {
            let name = field.name();
            let err = |what: &str, e: IntError| match e {
                IntError::Range => format!("{s}: {what} too large for {n}-byte field {name}"),
                IntError::Syntax => format!("{s}: bad syntax for {name} {what}"),
            };
            let (v, tail) = parse_int(s, n).map_err(|e| err("value", e))?;
            match tail.strip_prefix('/') {
                None if tail.is_empty() => (v, full),
                None => return Err(err("value", IntError::Syntax)),
                Some(ms) => match parse_int(ms, n) {
                    Ok((m, "")) => (v, m),
                    Ok(_) => return Err(err("mask", IntError::Syntax)),
                    Err(e) => return Err(err("mask", e)),
                },
            }
        }
        Spelling::Ethernet => {
            let bad = || format!("{s}: invalid Ethernet address");
            let (a, tail) = parse_eth(s).ok_or_else(bad)?;
            if tail.is_empty() {
                (be6(a), full)
            } else {
                let (m, t2) = tail.strip_prefix('/').and_then(parse_eth).ok_or_else(bad)?;
                if !t2.is_empty() {
                    return Err(bad());
                }
                (be6(a), be6(m))
            }
        }
        Spelling::Ipv4 => {
            let (a, m) = parse_ipv4_masked(s)?;
            (u128::from(u32::from_be_bytes(a)), u128::from(u32::from_be_bytes(m)))
        }
        Spelling::Ipv6 => {
            let (a, m) = parse_ipv6_masked(s)?;
            (u128::from_be_bytes(a), u128::from_be_bytes(m))
        }
        Spelling::OfpPort => match parse_port(s, ports) {
            Some(p) => (u128::from(p), 0xffff),
            None => return Err(format!("{s}: invalid or unknown port for {}", field.name())),
        },
        Spelling::Frag => match FRAG_NAMES.iter().find(|(n, _, _)| *n == s) {
            Some(&(_, v, m)) => (u128::from(v), u128::from(m)),
            None => {
                return Err(format!(
                    "{s}: unknown fragment type (valid types are \"no\", \"yes\", \"first\", \"later\", \"not_later\""
                ))
            }
        },
        Spelling::TcpFlags => {
            let (v, m) = parse_tcp_flags(s)?;
            (u128::from(v), u128::from(m))
        }
    };
    if m > full {
        return Err(format!(
            "{s}: mask too large for {n}-byte field {}",
            field.name()
        ));
    }
    if !field.maskable() && m != 0 && m != full {
        return Err(format!("{s}: invalid mask for field {}", field.name()));
    }
    Ok((v, m))
}

fn be6(a: [u8; 6]) -> u128 {
    a.iter().fold(0u128, |x, &b| (x << 8) | u128::from(b))
}

/// Parses `tcp_flags` text (OVS `parse_flags` with the TCP flag names):
/// `VALUE/MASK`, `+flag-flag...`, or `flag|flag|NUMBER`.
pub fn parse_tcp_flags(s: &str) -> Result<(u16, u16), String> {
    const ALLOWED: u32 = 0x0fff;
    let unknown = |at: &str| format!("{at}: unknown TCP flag(s)");
    if let Some((a, b)) = s.split_once('/') {
        if let (Some(v), Some(m)) = (c_int(a), c_int(b)) {
            if v & !ALLOWED != 0 || m & !ALLOWED != 0 {
                return Err(unknown(s));
            }
            return Ok((v as u16, m as u16));
        }
    }
    if s.starts_with('+') || s.starts_with('-') {
        let (mut flags, mut mask) = (0u16, 0u16);
        let mut rest = s;
        while !rest.is_empty() {
            let set = match rest.as_bytes()[0] {
                b'+' => true,
                b'-' => false,
                _ => {
                    return Err(format!(
                        "{rest}: TCP must be preceded by '+' (for SET) or '-' (NOT SET)"
                    ))
                }
            };
            rest = &rest[1..];
            let mut found = None;
            for i in 0..12 {
                let bit = 1u16 << i;
                let Some(name) = tcp_flag_name(bit) else {
                    continue;
                };
                if let Some(after) = rest.strip_prefix(name) {
                    if after.is_empty() || after.starts_with('+') || after.starts_with('-') {
                        found = Some((bit, name.len()));
                        break;
                    }
                }
            }
            let Some((bit, len)) = found else {
                return Err(unknown(rest));
            };
            if mask & bit != 0 {
                return Err(format!("{rest}: Each TCP flag can be specified only once"));
            }
            if set {
                flags |= bit;
            }
            mask |= bit;
            rest = &rest[len..];
        }
        return Ok((flags, mask));
    }
    let mut result = 0u32;
    let mut rest = s;
    while !rest.is_empty() {
        if let Some((v, n)) = c_int_prefix(rest) {
            if v & !ALLOWED != 0 {
                return Err(unknown(rest));
            }
            result |= v;
            rest = &rest[n..];
            rest = rest.strip_prefix('|').unwrap_or(rest);
            continue;
        }
        let mut hit = false;
        for i in 0..12 {
            let bit = 1u16 << i;
            let Some(name) = tcp_flag_name(bit) else {
                continue;
            };
            if let Some(after) = rest.strip_prefix(name) {
                if after.is_empty() || after.starts_with('|') {
                    result |= u32::from(bit);
                    rest = after.strip_prefix('|').unwrap_or(after);
                    hit = true;
                    break;
                }
            }
        }
        if !hit {
            return Err(unknown(rest));
        }
    }
    Ok((result as u16, 0xffff))
}

/// C `%i` of a whole string.
fn c_int(s: &str) -> Option<u32> {
    match c_int_prefix(s) {
        Some((v, n)) if n == s.len() => Some(v),
        _ => None,
    }
}

/// C `%i` at the start of `s`: value and bytes consumed.
fn c_int_prefix(s: &str) -> Option<(u32, usize)> {
    let b = s.as_bytes();
    let (radix, start) = if b.len() > 2
        && b[0] == b'0'
        && (b[1] == b'x' || b[1] == b'X')
        && b[2].is_ascii_hexdigit()
    {
        (16, 2)
    } else if b.first() == Some(&b'0') {
        (8, 0)
    } else {
        (10, 0)
    };
    let mut i = start;
    let mut v: u64 = 0;
    while let Some(d) = b.get(i).and_then(|c| (*c as char).to_digit(radix)) {
        v = v
            .saturating_mul(u64::from(radix))
            .saturating_add(u64::from(d));
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((v.min(u64::from(u32::MAX)) as u32, i))
}

/// Applies a parsed `(value, mask)` of `field` to `m` with OVS's `mf_set`
/// semantics (e.g. `dl_vlan` also matches the CFI bit, `nw_tos` only the
/// DSCP bits, `vlan_vid` maps OFPVID_PRESENT to CFI).
pub fn set_field(m: &mut Match, field: Field, value: u128, mask: u128) {
    match field {
        Field::DlVlan => {
            if mask == 0 {
                clear_bits(m, 0x1fff & !0x1000 | 0x1000);
            } else if value as u16 == 0xffff {
                set_raw(m, Field::VlanTci, 0, 0xffff);
            } else {
                let tci = (m.flow.key.vlan_tci & !0x0fff) | (value as u16 & 0x0fff) | 0x1000;
                let tm = m.mask.key.vlan_tci | 0x1fff;
                set_raw(m, Field::VlanTci, u128::from(tci), u128::from(tm));
            }
        }
        Field::DlVlanPcp | Field::VlanPcp => {
            if mask == 0 {
                clear_bits(m, 0xe000);
            } else {
                let tci = (m.flow.key.vlan_tci & 0x0fff) | ((value as u16 & 7) << 13) | 0x1000;
                let tm = m.mask.key.vlan_tci | 0xf000;
                set_raw(m, Field::VlanTci, u128::from(tci), u128::from(tm));
            }
        }
        Field::VlanVid => {
            let v = value as u16 & 0x1fff;
            let vm = mask as u16 & 0x1fff;
            let tci = (m.flow.key.vlan_tci & !0x1fff) | v;
            let tm = (m.mask.key.vlan_tci & !0x1fff) | vm;
            set_raw(m, Field::VlanTci, u128::from(tci), u128::from(tm));
        }
        Field::NwTos => {
            let tos = (m.flow.key.nw_tos & 3) | (value as u8 & 0xfc);
            let tm = (m.mask.key.nw_tos & 3) | if mask != 0 { 0xfc } else { 0 };
            m.mask.key.nw_tos = tm;
            m.flow.key.nw_tos = tos & tm;
        }
        Field::IpDscp => {
            let tos = (m.flow.key.nw_tos & 3) | ((value as u8) << 2);
            let tm = (m.mask.key.nw_tos & 3) | if mask != 0 { 0xfc } else { 0 };
            m.mask.key.nw_tos = tm;
            m.flow.key.nw_tos = tos & tm;
        }
        Field::IpEcn => {
            let tos = (m.flow.key.nw_tos & 0xfc) | (value as u8 & 3);
            let tm = (m.mask.key.nw_tos & 0xfc) | if mask != 0 { 3 } else { 0 };
            m.mask.key.nw_tos = tm;
            m.flow.key.nw_tos = tos & tm;
        }
        Field::ArpOp => set_raw(
            m,
            Field::IpProto,
            value & 0xff,
            if mask != 0 { 0xff } else { 0 },
        ),
        Field::IcmpType | Field::Icmpv6Type => set_raw(
            m,
            Field::TcpSrc,
            value & 0xff,
            if mask != 0 { 0xffff } else { 0 },
        ),
        Field::IcmpCode | Field::Icmpv6Code => set_raw(
            m,
            Field::TcpDst,
            value & 0xff,
            if mask != 0 { 0xffff } else { 0 },
        ),
        Field::TcpFlags => set_raw(m, field, value & 0x0fff, mask & 0x0fff),
        _ => set_raw(m, field, value, mask),
    }
}

fn clear_bits(m: &mut Match, bits: u16) {
    m.mask.key.vlan_tci &= !bits;
    m.flow.key.vlan_tci &= m.mask.key.vlan_tci;
}

/// Clears the fields whose prerequisites `m` does not meet, as OVS does
/// when it normalizes an OpenFlow 1.0 match or encodes NXM/OXM (fields
/// without their prerequisites are not sent). Returns whether it changed.
pub fn normalize(m: &mut Match) -> bool {
    let before = *m;
    let met = [
        Prereq::Arp,
        Prereq::Ipv4,
        Prereq::Ipv6,
        Prereq::IpAny,
        Prereq::Tcp,
        Prereq::Udp,
        Prereq::Sctp,
        Prereq::Icmpv4,
        Prereq::Icmpv6,
        Prereq::Nd,
        Prereq::NdSolicit,
        Prereq::NdAdvert,
    ]
    .map(|p| (p, m.prereq_ok(p)));
    let ok = |p: Prereq| met.iter().any(|&(q, v)| q == p && v);
    let mk = &mut m.mask.key;
    let arp = ok(Prereq::Arp);
    if !(ok(Prereq::Ipv4) || arp) {
        mk.nw_src = [0; 4];
        mk.nw_dst = [0; 4];
    }
    if !(ok(Prereq::IpAny) || arp) {
        mk.nw_proto = 0;
    }
    if !ok(Prereq::IpAny) {
        mk.nw_tos = 0;
        mk.nw_ttl = 0;
        mk.nw_frag = 0;
    }
    let l4 = ok(Prereq::Tcp)
        || ok(Prereq::Udp)
        || ok(Prereq::Sctp)
        || ok(Prereq::Icmpv4)
        || ok(Prereq::Icmpv6);
    if !l4 {
        mk.tp_src = 0;
        mk.tp_dst = 0;
    }
    if !ok(Prereq::Tcp) {
        mk.tcp_flags = 0;
    }
    if !(arp || ok(Prereq::NdSolicit)) {
        mk.arp_sha = [0; 6];
    }
    if !(arp || ok(Prereq::NdAdvert)) {
        mk.arp_tha = [0; 6];
    }
    if !ok(Prereq::Ipv6) {
        mk.ipv6_src = [0; 16];
        mk.ipv6_dst = [0; 16];
        mk.ipv6_label = 0;
    }
    if !ok(Prereq::Nd) {
        mk.nd_target = [0; 16];
    }
    m.flow = m.flow.masked(&m.mask);
    *m != before
}

fn fmt_eth(v: u128) -> String {
    let b = v.to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

fn fmt_ip4(v: u32) -> String {
    let b = v.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

fn put_eth_masked(s: &mut String, name: &str, v: &[u8; 6], m: &[u8; 6]) {
    if *m == [0; 6] {
        return;
    }
    let (v, m) = (be6(*v), be6(*m));
    if m == 0xffff_ffff_ffff {
        let _ = write!(s, "{name}={},", fmt_eth(v));
    } else {
        let _ = write!(s, "{name}={}/{},", fmt_eth(v), fmt_eth(m));
    }
}

fn put_ip_masked(s: &mut String, name: &str, v: &[u8; 4], m: &[u8; 4]) {
    let (v, m) = (u32::from_be_bytes(*v), u32::from_be_bytes(*m));
    if m == 0 {
        return;
    }
    let _ = write!(s, "{name}={}", fmt_ip4(v));
    if m != u32::MAX {
        if m.leading_ones() + m.trailing_zeros() == 32 {
            let _ = write!(s, "/{}", m.leading_ones());
        } else {
            let _ = write!(s, "/{}", fmt_ip4(m));
        }
    }
    s.push(',');
}

fn put_ipv6_masked(s: &mut String, name: &str, v: &[u8; 16], m: &[u8; 16]) {
    let mm = u128::from_be_bytes(*m);
    if mm == 0 {
        return;
    }
    let _ = write!(s, "{name}={}", fmt_ipv6(*v));
    if mm != u128::MAX {
        if mm.leading_ones() + mm.trailing_zeros() == 128 {
            let _ = write!(s, "/{}", mm.leading_ones());
        } else {
            let _ = write!(s, "/{}", fmt_ipv6(*m));
        }
    }
    s.push(',');
}

/// IPv6 text as OVS (`inet_ntop`) prints it, including `::ffff:a.b.c.d`.
pub fn fmt_ipv6(a: [u8; 16]) -> String {
    let ip = Ipv6Addr::from(a);
    ip.to_string()
}

fn put_be16_masked(s: &mut String, name: &str, v: u16, m: u16) {
    if m == 0 {
        return;
    }
    // ICMP type/code live in the low byte: a decoded exact match masks
    // only that byte, a parsed one the whole word; both print exact.
    let m = if name.starts_with("icmp") && m & 0xff == 0xff {
        0xffff
    } else {
        m
    };
    if m == u16::MAX {
        let _ = write!(s, "{name}={v},");
    } else {
        let _ = write!(s, "{name}={v:#x}/{m:#x},");
    }
}

fn put_hex_masked(s: &mut String, name: &str, v: u64, m: u64, full: u64) {
    if m == 0 {
        return;
    }
    let _ = write!(s, "{name}={}", c_hex(v));
    if m != full {
        let _ = write!(s, "/{}", c_hex(m));
    }
    s.push(',');
}

/// C `%#x`: `0` for zero, `0x…` otherwise.
pub fn c_hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// TCP flags as OVS `format_flags_masked` prints them.
pub fn fmt_tcp_flags(v: u16, m: u16) -> String {
    let mut s = String::new();
    let m = m & 0x0fff;
    if m == 0x0fff {
        if v == 0 {
            return "0".into();
        }
        let mut f = v;
        while f != 0 {
            let bit = f & f.wrapping_neg();
            match tcp_flag_name(bit) {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "{bit:#x}");
                }
            }
            s.push('|');
            f &= !bit;
        }
        s.pop();
        return s;
    }
    if m == 0 {
        return "0/0".into();
    }
    let mut mm = m;
    while mm != 0 {
        let bit = mm & mm.wrapping_neg();
        s.push(if v & bit != 0 { '+' } else { '-' });
        s.push_str(tcp_flag_name(bit).unwrap_or("[Unknown]"));
        mm &= !bit;
    }
    s
}

/// The match as `ovs-ofctl dump-flows` prints it (OVS `match_format`):
/// `priority=` first unless 32768, then the protocol shorthand, registers,
/// metadata, in_port, VLAN, Ethernet, L3, L4 and `tcp_flags`, comma
/// separated. `names` maps port numbers to names (`--names`).
pub fn format_match(m: &Match, priority: u16, names: Option<&PortNames>) -> String {
    let mut s = String::new();
    let (f, w) = (&m.flow.key, &m.mask.key);
    if priority != 32768 {
        let _ = write!(s, "priority={priority},");
    }
    let dl_type = f.dl_type;
    let mut skip_type = false;
    let mut skip_proto = false;
    if w.dl_type != 0 {
        skip_type = true;
        let proto = if w.nw_proto != 0 {
            Some(f.nw_proto)
        } else {
            None
        };
        let word = match dl_type {
            0x0800 => match proto {
                Some(1) => "icmp",
                Some(2) => "igmp",
                Some(6) => "tcp",
                Some(17) => "udp",
                Some(132) => "sctp",
                _ => "ip",
            },
            0x86dd => match proto {
                Some(58) => "icmp6",
                Some(6) => "tcp6",
                Some(17) => "udp6",
                Some(132) => "sctp6",
                _ => "ipv6",
            },
            0x0806 => "arp",
            0x8035 => "rarp",
            0x8847 => "mpls",
            0x8848 => "mplsm",
            _ => {
                skip_type = false;
                ""
            }
        };
        if !word.is_empty() {
            skip_proto = proto.is_some()
                && (dl_type == 0x0800 || dl_type == 0x86dd)
                && word != "ip"
                && word != "ipv6";
            s.push_str(word);
            s.push(',');
        }
    }
    for i in 0..16 {
        let mk = m.mask.regs[i];
        if mk != 0 {
            let _ = write!(s, "reg{i}={:#x}", m.flow.regs[i]);
            if m.flow.regs[i] == 0 {
                s.truncate(s.len() - 3);
                s.push('0');
            }
            if mk != u32::MAX {
                let _ = write!(s, "/{mk:#x}");
            }
            s.push(',');
        }
    }
    put_hex_masked(
        &mut s,
        "metadata",
        m.flow.metadata,
        m.mask.metadata,
        u64::MAX,
    );
    if w.in_port as u16 != 0 {
        s.push_str("in_port=");
        s.push_str(&format_port(f.in_port as u16, names));
        s.push(',');
    }
    if w.vlan_tci != 0 {
        let vid_m = w.vlan_tci & 0x0fff;
        let pcp_m = w.vlan_tci & 0xe000;
        let cfi = w.vlan_tci & 0x1000;
        if cfi != 0
            && f.vlan_tci & 0x1000 != 0
            && (vid_m == 0 || vid_m == 0x0fff)
            && (pcp_m == 0 || pcp_m == 0xe000)
            && (vid_m != 0 || pcp_m != 0)
        {
            if vid_m != 0 {
                let _ = write!(s, "dl_vlan={},", f.vlan_tci & 0x0fff);
            }
            if pcp_m != 0 {
                let _ = write!(s, "dl_vlan_pcp={},", f.vlan_tci >> 13);
            }
        } else if w.vlan_tci == 0xffff {
            let _ = write!(s, "vlan_tci=0x{:04x},", f.vlan_tci);
        } else {
            let _ = write!(s, "vlan_tci=0x{:04x}/0x{:04x},", f.vlan_tci, w.vlan_tci);
        }
    }
    put_eth_masked(&mut s, "dl_src", &f.dl_src, &w.dl_src);
    put_eth_masked(&mut s, "dl_dst", &f.dl_dst, &w.dl_dst);
    if !skip_type && w.dl_type != 0 {
        let _ = write!(s, "dl_type=0x{dl_type:04x},");
    }
    let is_arp = dl_type == 0x0806 || dl_type == 0x8035;
    if dl_type == 0x86dd {
        put_ipv6_masked(&mut s, "ipv6_src", &f.ipv6_src, &w.ipv6_src);
        put_ipv6_masked(&mut s, "ipv6_dst", &f.ipv6_dst, &w.ipv6_dst);
        if w.ipv6_label != 0 {
            if w.ipv6_label & 0xf_ffff == 0xf_ffff {
                let _ = write!(s, "ipv6_label=0x{:05x},", f.ipv6_label);
            } else {
                let _ = write!(
                    s,
                    "ipv6_label=0x{:05x}/0x{:05x},",
                    f.ipv6_label, w.ipv6_label
                );
            }
        }
    } else if is_arp {
        put_ip_masked(&mut s, "arp_spa", &f.nw_src, &w.nw_src);
        put_ip_masked(&mut s, "arp_tpa", &f.nw_dst, &w.nw_dst);
    } else {
        put_ip_masked(&mut s, "nw_src", &f.nw_src, &w.nw_src);
        put_ip_masked(&mut s, "nw_dst", &f.nw_dst, &w.nw_dst);
    }
    if !skip_proto && w.nw_proto != 0 {
        let name = if is_arp { "arp_op" } else { "nw_proto" };
        let _ = write!(s, "{name}={},", f.nw_proto);
    }
    if is_arp {
        put_eth_masked(&mut s, "arp_sha", &f.arp_sha, &w.arp_sha);
        put_eth_masked(&mut s, "arp_tha", &f.arp_tha, &w.arp_tha);
    }
    if w.nw_tos & 0xfc != 0 {
        let _ = write!(s, "nw_tos={},", f.nw_tos & 0xfc);
    }
    if w.nw_tos & 3 != 0 {
        let _ = write!(s, "nw_ecn={},", f.nw_tos & 3);
    }
    if w.nw_ttl != 0 {
        let _ = write!(s, "nw_ttl={},", f.nw_ttl);
    }
    let (any, later) = (1u8, 2u8);
    match w.nw_frag & 3 {
        3 => {
            let t = if f.nw_frag & any != 0 {
                if f.nw_frag & later != 0 {
                    "later"
                } else {
                    "first"
                }
            } else if f.nw_frag & later != 0 {
                "<error>"
            } else {
                "no"
            };
            let _ = write!(s, "nw_frag={t},");
        }
        1 => {
            let _ = write!(
                s,
                "nw_frag={},",
                if f.nw_frag & any != 0 { "yes" } else { "no" }
            );
        }
        2 => {
            let _ = write!(
                s,
                "nw_frag={},",
                if f.nw_frag & later != 0 {
                    "later"
                } else {
                    "not_later"
                }
            );
        }
        _ => {}
    }
    if dl_type == 0x0800 && f.nw_proto == 1 {
        put_be16_masked(&mut s, "icmp_type", f.tp_src, w.tp_src);
        put_be16_masked(&mut s, "icmp_code", f.tp_dst, w.tp_dst);
    } else if dl_type == 0x0800 && f.nw_proto == 2 {
        put_be16_masked(&mut s, "igmp_type", f.tp_src, w.tp_src);
        put_be16_masked(&mut s, "igmp_code", f.tp_dst, w.tp_dst);
    } else if dl_type == 0x86dd && f.nw_proto == 58 {
        put_be16_masked(&mut s, "icmp_type", f.tp_src, w.tp_src);
        put_be16_masked(&mut s, "icmp_code", f.tp_dst, w.tp_dst);
        put_ipv6_masked(&mut s, "nd_target", &f.nd_target, &w.nd_target);
        put_eth_masked(&mut s, "nd_sll", &f.arp_sha, &w.arp_sha);
        put_eth_masked(&mut s, "nd_tll", &f.arp_tha, &w.arp_tha);
    } else {
        put_be16_masked(&mut s, "tp_src", f.tp_src, w.tp_src);
        put_be16_masked(&mut s, "tp_dst", f.tp_dst, w.tp_dst);
    }
    if (dl_type == 0x0800 || dl_type == 0x86dd) && f.nw_proto == 6 && w.tcp_flags & 0x0fff != 0 {
        let _ = write!(s, "tcp_flags={},", fmt_tcp_flags(f.tcp_flags, w.tcp_flags));
    }
    if s.ends_with(',') {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(fields: &[(&str, &str)]) -> Match {
        let mut m = Match::default();
        for (k, v) in fields {
            let f = Field::from_name(k).unwrap();
            let (v, mk) = parse_field_value(f, v, None).unwrap();
            set_field(&mut m, f, v, mk);
        }
        m
    }

    #[test]
    fn shorthand_and_order() {
        let mut m = parse(&[
            ("eth_type", "0x800"),
            ("nw_proto", "6"),
            ("tp_dst", "80"),
            ("nw_dst", "192.168.2.2"),
        ]);
        assert!(!normalize(&mut m));
        assert_eq!(
            format_match(&m, 32768, None),
            "tcp,nw_dst=192.168.2.2,tp_dst=80"
        );
        assert_eq!(
            format_match(&m, 100, None),
            "priority=100,tcp,nw_dst=192.168.2.2,tp_dst=80"
        );
    }

    #[test]
    fn normalization_drops_unmet_prerequisites() {
        let mut m = parse(&[("tp_dst", "80")]);
        assert!(normalize(&mut m));
        assert_eq!(format_match(&m, 32768, None), "");
    }

    #[test]
    fn tcp_flags_spellings() {
        assert_eq!(parse_tcp_flags("+syn-ack"), Ok((0x002, 0x012)));
        assert_eq!(fmt_tcp_flags(0x002, 0x012), "+syn-ack");
        assert_eq!(fmt_tcp_flags(0x012, 0xfff), "syn|ack");
        assert_eq!(
            parse_tcp_flags("+syn+syn").unwrap_err(),
            "syn: Each TCP flag can be specified only once"
        );
        assert_eq!(
            parse_tcp_flags("+foo").unwrap_err(),
            "foo: unknown TCP flag(s)"
        );
    }

    #[test]
    fn vlan_forms() {
        let m = parse(&[("dl_vlan", "10")]);
        assert_eq!(format_match(&m, 32768, None), "dl_vlan=10");
        let m = parse(&[("vlan_tci", "0x100a/0x0fff")]);
        assert_eq!(format_match(&m, 32768, None), "vlan_tci=0x000a/0x0fff");
    }
}
