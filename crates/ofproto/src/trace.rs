//! `ofproto/trace`: explains a packet's path through a bridge's OpenFlow
//! tables in Open vSwitch's format (`ofproto/ofproto-dpif-trace.c`).
//!
//! Idea: translate the flow with tracing on (no side effects: no learning,
//! no counters), then print `Flow:`, the per-bridge/per-table lines the
//! translation produced, `Final flow:`, `Megaflow:` and `Datapath
//! actions:`. The flow text is parsed here with a minimal parser of the
//! `ovs-ofctl` field syntax (`in_port=1,dl_dst=...,tcp,tp_dst=80`), because
//! the `openflow::text` module is not available yet; the match and action
//! printers below cover the fields and actions oxvs executes, in OVS's
//! `match_format` order.
//!
//! Performance: a debugging command; allocates freely.

use std::fmt::Write as _;

use datapath::Xlated;
use openflow::flow::Flow;
use openflow::mf::Field;
use openflow::port::reserved_port_name;
use openflow::{Match, OfpAct};
use packet::flow::{FlowKey, VLAN_CFI};

const ETH_TYPE_IP: u16 = 0x0800;
const ETH_TYPE_ARP: u16 = 0x0806;
const ETH_TYPE_IPV6: u16 = 0x86dd;

fn eth(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn ip4(a: &[u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

fn ip4_masked(v: &[u8; 4], m: &[u8; 4]) -> String {
    let mm = u32::from_be_bytes(*m);
    if mm == u32::MAX {
        ip4(v)
    } else if mm.leading_ones() + mm.trailing_zeros() == 32 {
        format!("{}/{}", ip4(v), mm.leading_ones())
    } else {
        format!("{}/{}", ip4(v), ip4(m))
    }
}

fn ip6(a: &[u8; 16]) -> String {
    std::net::Ipv6Addr::from(*a).to_string()
}

fn port_name(p: u16) -> String {
    match reserved_port_name(p) {
        Some(n) => n.to_string(),
        None => p.to_string(),
    }
}

/// The protocol shorthand OVS prints for a match, if any, and whether it
/// implies `nw_proto`.
fn shorthand(m: &Match) -> (Option<&'static str>, bool) {
    let (f, k) = (&m.flow.key, &m.mask.key);
    if k.dl_type != u16::MAX {
        return (None, false);
    }
    let proto = (k.nw_proto == u8::MAX).then_some(f.nw_proto);
    match f.dl_type {
        ETH_TYPE_IP => match proto {
            Some(1) => (Some("icmp"), true),
            Some(6) => (Some("tcp"), true),
            Some(17) => (Some("udp"), true),
            Some(132) => (Some("sctp"), true),
            _ => (Some("ip"), false),
        },
        ETH_TYPE_IPV6 => match proto {
            Some(58) => (Some("icmp6"), true),
            Some(6) => (Some("tcp6"), true),
            Some(17) => (Some("udp6"), true),
            Some(132) => (Some("sctp6"), true),
            _ => (Some("ipv6"), false),
        },
        ETH_TYPE_ARP => (Some("arp"), false),
        0x8035 => (Some("rarp"), false),
        _ => (None, false),
    }
}

fn hex_masked(s: &mut Vec<String>, name: &str, v: u64, m: u64, full: u64) {
    if m == 0 {
        return;
    }
    if m == full {
        s.push(format!("{name}={v:#x}"));
    } else {
        s.push(format!("{name}={v:#x}/{m:#x}"));
    }
}

fn dec_masked(s: &mut Vec<String>, name: &str, v: u16, m: u16) {
    if m == 0 {
        return;
    }
    if m == u16::MAX {
        s.push(format!("{name}={v}"));
    } else {
        s.push(format!("{name}={v:#x}/{m:#x}"));
    }
}

/// A match in `ovs-ofctl` syntax (OVS `match_format` order, the fields
/// oxvs supports): protocol shorthand, registers, metadata, `in_port`,
/// VLAN, Ethernet, L3, L4. Empty for a catch-all.
pub fn format_match(m: &Match) -> String {
    let (f, k) = (&m.flow.key, &m.mask.key);
    let mut s: Vec<String> = Vec::new();
    let (short, implies_proto) = shorthand(m);
    if let Some(sh) = short {
        s.push(sh.to_string());
    }
    for i in 0..16 {
        hex_masked(
            &mut s,
            &format!("reg{i}"),
            u64::from(m.flow.regs[i]),
            u64::from(m.mask.regs[i]),
            u64::from(u32::MAX),
        );
    }
    hex_masked(
        &mut s,
        "metadata",
        m.flow.metadata,
        m.mask.metadata,
        u64::MAX,
    );
    if k.in_port != 0 {
        s.push(format!("in_port={}", port_name(f.in_port as u16)));
    }
    if k.vlan_tci != 0 {
        let (vid_m, pcp_m, cfi) = (
            k.vlan_tci & 0x0fff,
            k.vlan_tci & 0xe000,
            k.vlan_tci & VLAN_CFI,
        );
        if cfi != 0
            && f.vlan_tci & VLAN_CFI != 0
            && (vid_m == 0 || vid_m == 0x0fff)
            && (pcp_m == 0 || pcp_m == 0xe000)
            && (vid_m != 0 || pcp_m != 0)
        {
            if vid_m != 0 {
                s.push(format!("dl_vlan={}", f.vlan_tci & 0x0fff));
            }
            if pcp_m != 0 {
                s.push(format!("dl_vlan_pcp={}", f.vlan_tci >> 13));
            }
        } else if k.vlan_tci == u16::MAX {
            s.push(format!("vlan_tci={:#06x}", f.vlan_tci));
        } else {
            s.push(format!("vlan_tci={:#06x}/{:#06x}", f.vlan_tci, k.vlan_tci));
        }
    }
    for (name, v, mk) in [
        ("dl_src", &f.dl_src, &k.dl_src),
        ("dl_dst", &f.dl_dst, &k.dl_dst),
    ] {
        if *mk == [0xff; 6] {
            s.push(format!("{name}={}", eth(v)));
        } else if *mk != [0; 6] {
            s.push(format!("{name}={}/{}", eth(v), eth(mk)));
        }
    }
    if short.is_none() && k.dl_type != 0 {
        s.push(format!("dl_type={:#06x}", f.dl_type));
    }
    let is_arp = f.dl_type == ETH_TYPE_ARP || f.dl_type == 0x8035;
    if f.dl_type == ETH_TYPE_IPV6 {
        for (name, v, mk) in [
            ("ipv6_src", &f.ipv6_src, &k.ipv6_src),
            ("ipv6_dst", &f.ipv6_dst, &k.ipv6_dst),
        ] {
            if *mk == [0xff; 16] {
                s.push(format!("{name}={}", ip6(v)));
            } else if *mk != [0; 16] {
                s.push(format!("{name}={}/{}", ip6(v), ip6(mk)));
            }
        }
        if k.ipv6_label != 0 {
            hex_masked(
                &mut s,
                "ipv6_label",
                u64::from(f.ipv6_label),
                u64::from(k.ipv6_label),
                0xf_ffff,
            );
        }
    } else {
        let (src, dst) = if is_arp {
            ("arp_spa", "arp_tpa")
        } else {
            ("nw_src", "nw_dst")
        };
        if k.nw_src != [0; 4] {
            s.push(format!("{src}={}", ip4_masked(&f.nw_src, &k.nw_src)));
        }
        if k.nw_dst != [0; 4] {
            s.push(format!("{dst}={}", ip4_masked(&f.nw_dst, &k.nw_dst)));
        }
    }
    if k.nw_proto != 0 && !implies_proto {
        if is_arp {
            s.push(format!("arp_op={}", f.nw_proto));
        } else {
            s.push(format!("nw_proto={}", f.nw_proto));
        }
    }
    if is_arp {
        for (name, v, mk) in [
            ("arp_sha", &f.arp_sha, &k.arp_sha),
            ("arp_tha", &f.arp_tha, &k.arp_tha),
        ] {
            if *mk == [0xff; 6] {
                s.push(format!("{name}={}", eth(v)));
            } else if *mk != [0; 6] {
                s.push(format!("{name}={}/{}", eth(v), eth(mk)));
            }
        }
    }
    if k.nw_tos & 0xfc != 0 {
        s.push(format!("nw_tos={}", f.nw_tos & 0xfc));
    }
    if k.nw_tos & 3 != 0 {
        s.push(format!("nw_ecn={}", f.nw_tos & 3));
    }
    if k.nw_ttl != 0 {
        s.push(format!("nw_ttl={}", f.nw_ttl));
    }
    if k.nw_frag != 0 {
        let v = match (f.nw_frag & 3, k.nw_frag & 3) {
            (0, _) => "no",
            (1, 1) => "yes",
            (1, _) => "first",
            (3, _) => "later",
            _ => "not_later",
        };
        s.push(format!("nw_frag={v}"));
    }
    let icmp = short.is_some_and(|x| x == "icmp" || x == "icmp6");
    if icmp {
        if k.tp_src != 0 {
            s.push(format!("icmp_type={}", f.tp_src));
        }
        if k.tp_dst != 0 {
            s.push(format!("icmp_code={}", f.tp_dst));
        }
    } else {
        dec_masked(&mut s, "tp_src", f.tp_src, k.tp_src);
        dec_masked(&mut s, "tp_dst", f.tp_dst, k.tp_dst);
    }
    if k.tcp_flags != 0 {
        if k.tcp_flags & 0x0fff == 0x0fff {
            s.push(format!("tcp_flags={}", tcp_flags_names(f.tcp_flags)));
        } else {
            s.push(format!("tcp_flags={:#x}/{:#x}", f.tcp_flags, k.tcp_flags));
        }
    }
    s.join(",")
}

/// TCP flags as OVS prints an exact `tcp_flags` (`syn|ack`, `0` for none).
fn tcp_flags_names(f: u16) -> String {
    const NAMES: [&str; 9] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"];
    let v: Vec<&str> = NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| f & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "0".to_string()
    } else {
        v.join("|")
    }
}

/// The mask that makes [`format_match`] print a whole flow as OVS's
/// `flow_format` does (every field that applies to its protocol).
pub fn flow_mask(f: &FlowKey) -> Flow {
    let mut m = Flow::default();
    let k = &mut m.key;
    k.in_port = u32::MAX;
    k.vlan_tci = u16::MAX;
    k.dl_src = [0xff; 6];
    k.dl_dst = [0xff; 6];
    k.dl_type = u16::MAX;
    match f.dl_type {
        ETH_TYPE_IP | ETH_TYPE_IPV6 => {
            if f.dl_type == ETH_TYPE_IP {
                k.nw_src = [0xff; 4];
                k.nw_dst = [0xff; 4];
            } else {
                k.ipv6_src = [0xff; 16];
                k.ipv6_dst = [0xff; 16];
                k.ipv6_label = 0xf_ffff;
            }
            k.nw_proto = u8::MAX;
            k.nw_tos = u8::MAX;
            k.nw_ttl = u8::MAX;
            k.nw_frag = 3;
            if matches!(f.nw_proto, 1 | 6 | 17 | 58 | 132) {
                k.tp_src = u16::MAX;
                k.tp_dst = u16::MAX;
            }
            if f.nw_proto == 6 {
                k.tcp_flags = 0x0fff;
            }
        }
        ETH_TYPE_ARP | 0x8035 => {
            k.nw_src = [0xff; 4];
            k.nw_dst = [0xff; 4];
            k.nw_proto = u8::MAX;
            k.arp_sha = [0xff; 6];
            k.arp_tha = [0xff; 6];
        }
        _ => {}
    }
    m
}

/// An action in `ovs-ofctl` syntax, as the trace prints it.
pub fn format_action(a: &OfpAct) -> String {
    match a {
        OfpAct::Output { port, max_len } => match *port {
            openflow::port::OFPP_NORMAL => "NORMAL".into(),
            openflow::port::OFPP_FLOOD => "FLOOD".into(),
            openflow::port::OFPP_ALL => "ALL".into(),
            openflow::port::OFPP_IN_PORT => "IN_PORT".into(),
            openflow::port::OFPP_LOCAL => "LOCAL".into(),
            openflow::port::OFPP_CONTROLLER => format!("CONTROLLER:{max_len}"),
            p => format!("output:{}", port_name(p)),
        },
        OfpAct::Controller { max_len, .. } => format!("CONTROLLER:{max_len}"),
        OfpAct::Enqueue { port, queue } => format!("enqueue:{}:{queue}", port_name(*port)),
        OfpAct::SetVlanVid(v) => format!("mod_vlan_vid:{v}"),
        OfpAct::SetVlanPcp(p) => format!("mod_vlan_pcp:{p}"),
        OfpAct::StripVlan => "strip_vlan".into(),
        OfpAct::PopVlan => "pop_vlan".into(),
        OfpAct::PushVlan(t) => format!("push_vlan:{t:#06x}"),
        OfpAct::SetEthSrc(m) => format!("mod_dl_src:{}", eth(m)),
        OfpAct::SetEthDst(m) => format!("mod_dl_dst:{}", eth(m)),
        OfpAct::SetIpv4Src(a) => format!("mod_nw_src:{}", ip4(a)),
        OfpAct::SetIpv4Dst(a) => format!("mod_nw_dst:{}", ip4(a)),
        OfpAct::SetIpDscp(d) => format!("mod_nw_tos:{d}"),
        OfpAct::SetIpEcn(e) => format!("mod_nw_ecn:{e}"),
        OfpAct::SetIpTtl(t) => format!("mod_nw_ttl:{t}"),
        OfpAct::DecTtl => "dec_ttl".into(),
        OfpAct::SetL4SrcPort(p) => format!("mod_tp_src:{p}"),
        OfpAct::SetL4DstPort(p) => format!("mod_tp_dst:{p}"),
        OfpAct::SetField { field, value, mask } => {
            let full = openflow::mf::low_bits(field.n_bits());
            if *mask & full == full {
                format!(
                    "set_field:{}->{}",
                    field_value(*field, *value),
                    field.name()
                )
            } else {
                format!("set_field:{:#x}/{:#x}->{}", value, mask, field.name())
            }
        }
        OfpAct::RegLoad { dst, value } => {
            format!("load:{value:#x}->{}", subfield(dst))
        }
        OfpAct::RegMove { src, dst } => format!("move:{}->{}", subfield(src), subfield(dst)),
        OfpAct::Resubmit { in_port, table } => match (in_port, table) {
            (Some(p), None) => format!("resubmit:{}", port_name(*p)),
            (p, t) => format!(
                "resubmit({},{})",
                p.map(port_name).unwrap_or_default(),
                t.map(|t| t.to_string()).unwrap_or_default()
            ),
        },
        OfpAct::Note(b) => {
            let mut s = String::from("note:");
            for (i, x) in b.iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                let _ = write!(s, "{x:02x}");
            }
            s
        }
        OfpAct::Group(g) => format!("group:{g}"),
        OfpAct::Meter(m) => format!("meter:{m}"),
        OfpAct::ClearActions => "clear_actions".into(),
        OfpAct::WriteActions(a) => format!(
            "write_actions({})",
            a.iter().map(format_action).collect::<Vec<_>>().join(",")
        ),
        OfpAct::WriteMetadata { value, mask } => {
            if *mask == u64::MAX {
                format!("write_metadata:{value:#x}")
            } else {
                format!("write_metadata:{value:#x}/{mask:#x}")
            }
        }
        OfpAct::GotoTable(t) => format!("goto_table:{t}"),
        other => format!("{other:?}"),
    }
}

fn field_value(f: Field, v: u128) -> String {
    match f {
        Field::EthSrc | Field::EthDst | Field::ArpSha | Field::ArpTha => {
            let b = v.to_be_bytes();
            let mut m = [0u8; 6];
            m.copy_from_slice(&b[10..16]);
            eth(&m)
        }
        Field::IpSrc | Field::IpDst | Field::ArpSpa | Field::ArpTpa => {
            ip4(&(v as u32).to_be_bytes())
        }
        Field::Ipv6Src | Field::Ipv6Dst | Field::NdTarget => ip6(&v.to_be_bytes()),
        Field::InPort => port_name(v as u16),
        _ if f.n_bits() > 16 => format!("{v:#x}"),
        _ => v.to_string(),
    }
}

fn subfield(s: &openflow::Subfield) -> String {
    if s.is_whole() {
        format!("{}[]", s.field.nxm_name())
    } else if s.n_bits == 1 {
        format!("{}[{}]", s.field.nxm_name(), s.ofs)
    } else {
        format!(
            "{}[{}..{}]",
            s.field.nxm_name(),
            s.ofs,
            s.ofs + s.n_bits - 1
        )
    }
}

/// Parses the flow of `ofproto/trace BRIDGE FLOW` (the `ovs-ofctl` match
/// syntax subset: `in_port`, `dl_src`, `dl_dst`, `dl_type`, `dl_vlan`,
/// `dl_vlan_pcp`, `vlan_tci`, `nw_src`, `nw_dst`, `nw_proto`, `nw_tos`,
/// `nw_ttl`, `tp_src`, `tp_dst`, `arp_op`, `arp_spa`, `arp_tpa`,
/// `ipv6_src`, `ipv6_dst`, `icmp_type`, `icmp_code`, `tcp_flags` and the
/// shorthands `ip`, `tcp`, `udp`, `icmp`, `arp`, `ipv6`, `tcp6`, `udp6`,
/// `icmp6`, `sctp`). `in_port` is an OpenFlow port number or `LOCAL`.
/// Unknown fields are an error, as in OVS.
pub fn parse_flow(text: &str) -> Result<(u16, FlowKey), String> {
    let mut k = FlowKey::default();
    let mut in_port: u16 = 0;
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (item, None),
        };
        let short = |k: &mut FlowKey, t: u16, p: Option<u8>| {
            k.dl_type = t;
            if let Some(p) = p {
                k.nw_proto = p;
            }
        };
        let Some(v) = value else {
            match name {
                "ip" => short(&mut k, ETH_TYPE_IP, None),
                "tcp" => short(&mut k, ETH_TYPE_IP, Some(6)),
                "udp" => short(&mut k, ETH_TYPE_IP, Some(17)),
                "sctp" => short(&mut k, ETH_TYPE_IP, Some(132)),
                "icmp" => short(&mut k, ETH_TYPE_IP, Some(1)),
                "arp" => short(&mut k, ETH_TYPE_ARP, None),
                "ipv6" => short(&mut k, ETH_TYPE_IPV6, None),
                "tcp6" => short(&mut k, ETH_TYPE_IPV6, Some(6)),
                "udp6" => short(&mut k, ETH_TYPE_IPV6, Some(17)),
                "icmp6" => short(&mut k, ETH_TYPE_IPV6, Some(58)),
                _ => return Err(format!("{name}: unknown field {name}")),
            }
            continue;
        };
        let bad = || format!("{v}: bad value for {name}");
        let int = |s: &str| -> Option<u64> {
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse().ok(),
            }
        };
        let mac = |s: &str| -> Option<[u8; 6]> {
            let parts: Vec<&str> = s.split(':').collect();
            if parts.len() != 6 {
                return None;
            }
            let mut m = [0u8; 6];
            for (o, p) in m.iter_mut().zip(parts) {
                *o = u8::from_str_radix(p, 16).ok()?;
            }
            Some(m)
        };
        let ipv4 = |s: &str| s.parse::<std::net::Ipv4Addr>().ok().map(|a| a.octets());
        let ipv6 = |s: &str| s.parse::<std::net::Ipv6Addr>().ok().map(|a| a.octets());
        let u8v = |s: &str| int(s).and_then(|x| u8::try_from(x).ok()).ok_or_else(bad);
        let u16v = |s: &str| int(s).and_then(|x| u16::try_from(x).ok()).ok_or_else(bad);
        match name {
            "in_port" => {
                in_port = match v {
                    "LOCAL" | "local" => openflow::port::OFPP_LOCAL,
                    _ => u16v(v)?,
                }
            }
            "dl_src" | "eth_src" => k.dl_src = mac(v).ok_or_else(bad)?,
            "dl_dst" | "eth_dst" => k.dl_dst = mac(v).ok_or_else(bad)?,
            "dl_type" | "eth_type" => k.dl_type = u16v(v)?,
            "dl_vlan" => k.vlan_tci = (k.vlan_tci & 0xe000) | (u16v(v)? & 0x0fff) | VLAN_CFI,
            "dl_vlan_pcp" => k.vlan_tci = (k.vlan_tci & 0x0fff) | ((u16v(v)? & 7) << 13) | VLAN_CFI,
            "vlan_tci" => k.vlan_tci = u16v(v)?,
            "nw_src" | "ip_src" | "arp_spa" => k.nw_src = ipv4(v).ok_or_else(bad)?,
            "nw_dst" | "ip_dst" | "arp_tpa" => k.nw_dst = ipv4(v).ok_or_else(bad)?,
            "nw_proto" | "ip_proto" | "arp_op" => k.nw_proto = u8v(v)?,
            "nw_tos" => k.nw_tos = (k.nw_tos & 3) | (u8v(v)? & 0xfc),
            "nw_ecn" => k.nw_tos = (k.nw_tos & 0xfc) | (u8v(v)? & 3),
            "nw_ttl" => k.nw_ttl = u8v(v)?,
            "tp_src" | "tcp_src" | "udp_src" | "icmp_type" | "icmpv6_type" => k.tp_src = u16v(v)?,
            "tp_dst" | "tcp_dst" | "udp_dst" | "icmp_code" | "icmpv6_code" => k.tp_dst = u16v(v)?,
            "tcp_flags" => k.tcp_flags = u16v(v)? & 0x0fff,
            "ipv6_src" => k.ipv6_src = ipv6(v).ok_or_else(bad)?,
            "ipv6_dst" => k.ipv6_dst = ipv6(v).ok_or_else(bad)?,
            "arp_sha" => k.arp_sha = mac(v).ok_or_else(bad)?,
            "arp_tha" => k.arp_tha = mac(v).ok_or_else(bad)?,
            _ => return Err(format!("{name}: unknown field {name}")),
        }
    }
    Ok((in_port, k))
}

/// Prints a whole flow (`Flow:` / `Final flow:`), OVS `flow_format`.
pub fn format_flow(f: &Flow) -> String {
    let m = Match::new(f, &flow_mask(&f.key));
    format_match(&m)
}

/// Prints the trace's last lines from the translation result: `Final
/// flow:`, `Megaflow:` (the datapath mask over the flow, prefixed
/// `recirc_id=0,eth,`) and `Datapath actions:`.
pub fn format_tail(flow: &Flow, final_flow: Option<&Flow>, x: &Xlated) -> String {
    let mut s = String::new();
    match final_flow {
        Some(ff) if ff != flow => {
            let _ = writeln!(s, "Final flow: {}", format_flow(ff));
        }
        _ => s.push_str("Final flow: unchanged\n"),
    }
    let mut mask = Flow::default();
    mask.key = x.mask;
    mask.key.recirc_id = 0;
    let m = Match::new(flow, &mask);
    let body = format_match(&m);
    let _ = writeln!(s, "Megaflow: recirc_id=0,eth,{body}");
    let mut acts = String::new();
    if x.actions.is_empty() {
        acts.push_str("drop");
    } else {
        for (i, a) in x.actions.iter().enumerate() {
            if i > 0 {
                acts.push(',');
            }
            datapath::upcall::format_action(&mut acts, a);
        }
    }
    let _ = writeln!(s, "Datapath actions: {acts}");
    s
}
