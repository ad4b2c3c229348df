//! The text of a datapath flow as `ovs-appctl dpctl/dump-flows` prints it for
//! the userspace (netdev) datapath: the key/mask part of a line such as
//! `recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.10.10.1,tip=10.10.10.2,op=1)`.
//!
//! Idea: walk the attributes Open vSwitch would put in the netlink key for
//! this flow (`odp_flow_key_from_flow__` in lib/odp-util.c, for a netdev
//! datapath: recirc_id, in_port, packet_type, eth, [eth_type 0x8100, vlan,
//! encap(...)], eth_type, L3, L4) and print each one with OVS's rules
//! (`odp_flow_format`, non-verbose):
//! - an attribute whose mask is all zero is omitted (packet_type is always
//!   exact in the netdev datapath, so an all-wildcard `eth` is omitted too);
//! - inside an attribute, a field with a zero mask is omitted, a full mask
//!   prints `field=value`, a partial one `field=value/mask`;
//! - `encap(...)` is printed even when everything inside is wildcarded;
//! - an 802.2 frame (`dl_type` 0x05ff) has no eth_type in the key and
//!   prints `,eth_type(0/0xffff)` at the end of its level.
//!
//! Values are printed as given (OVS does not mask the key for display).
//! Numbers follow C's printf: `%#x` prints 0 as `0`.
//!
//! The userspace datapath keeps `recirc_id` and `in_port` exact: pass masks
//! with those fields all-ones to get OVS's output.

use core::fmt::Write;

use crate::ethernet::{ethertype, EthernetAddress};
use crate::flow::{FlowKey, FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER, VLAN_CFI};
use crate::ip::{protocol, Ipv6Text};
use crate::tcp::flags as tcpf;

/// Formats `key` under `mask` as `dpctl/dump-flows` prints a netdev datapath
/// flow's match (everything before `, packets:`). `port_name` maps a datapath
/// port number to the name to print in `in_port(...)` (OVS prints names only
/// with `--names`; return `None` to print the number).
pub fn format_odp_flow(
    key: &FlowKey,
    mask: &FlowKey,
    port_name: &dyn Fn(u32) -> Option<String>,
) -> String {
    let mut out = Out::default();

    if mask.recirc_id != 0 {
        out.attr("recirc_id");
        out.s.push_str(&hex(key.recirc_id as u64));
        if mask.recirc_id != u32::MAX {
            out.s.push('/');
            out.s.push_str(&hex(mask.recirc_id as u64));
        }
        out.s.push(')');
    }
    if mask.in_port != 0 {
        out.attr("in_port");
        if mask.in_port == u32::MAX {
            match port_name(key.in_port) {
                Some(n) => out.s.push_str(&n),
                None => {
                    let _ = write!(out.s, "{}", key.in_port);
                }
            }
        } else {
            let _ = write!(out.s, "{}/{}", key.in_port, hex(mask.in_port as u64));
        }
        out.s.push(')');
    }
    out.attr("packet_type");
    out.s.push_str("ns=0,id=0)");

    if mask.dl_src != [0; 6] || mask.dl_dst != [0; 6] {
        out.attr("eth");
        let mut f = Fields::default();
        f.eth("src", key.dl_src, mask.dl_src);
        f.eth("dst", key.dl_dst, mask.dl_dst);
        out.s.push_str(&f.done());
        out.s.push(')');
    }

    if key.vlan_tci != 0 {
        // The tag's TPID is always exact in the mask.
        out.attr("eth_type");
        out.s.push_str("0x8100)");
        if mask.vlan_tci != 0 {
            out.attr("vlan");
            out.s.push_str(&vlan_tci(key.vlan_tci, mask.vlan_tci));
            out.s.push(')');
        }
        out.attr("encap");
        let mut inner = Out::default();
        let has_key = l3_and_up(&mut inner, key, mask);
        if has_key {
            out.s.push_str(&inner.s);
        }
        out.s.push(')');
    } else {
        l3_and_up(&mut out, key, mask);
    }
    out.s
}

/// The attributes from `eth_type` on (one nesting level). Returns whether the
/// level's key has any attribute at all.
fn l3_and_up(out: &mut Out, key: &FlowKey, mask: &FlowKey) -> bool {
    if key.dl_type < ethertype::ETH_TYPE_MIN {
        // No eth_type in the key; the mask carries 0xffff.
        out.s.push_str(",eth_type(0/0xffff)");
        return false;
    }
    if mask.dl_type != 0 {
        out.attr("eth_type");
        let _ = write!(out.s, "0x{:04x}", key.dl_type);
        if mask.dl_type != 0xffff {
            let _ = write!(out.s, "/0x{:04x}", mask.dl_type);
        }
        out.s.push(')');
    }
    let is_v4 = key.dl_type == ethertype::IPV4;
    let is_v6 = key.dl_type == ethertype::IPV6;
    if is_v4 {
        let mut f = Fields::default();
        f.ipv4("src", key.nw_src, mask.nw_src);
        f.ipv4("dst", key.nw_dst, mask.nw_dst);
        f.u8u("proto", key.nw_proto, mask.nw_proto);
        f.u8x("tos", key.nw_tos, mask.nw_tos);
        f.u8u("ttl", key.nw_ttl, mask.nw_ttl);
        f.frag(key.nw_frag, mask.nw_frag);
        out.fields("ipv4", f);
    } else if is_v6 {
        let mut f = Fields::default();
        f.in6("src", &key.ipv6_src, &mask.ipv6_src);
        f.in6("dst", &key.ipv6_dst, &mask.ipv6_dst);
        f.label(key.ipv6_label, mask.ipv6_label);
        f.u8u("proto", key.nw_proto, mask.nw_proto);
        f.u8x("tclass", key.nw_tos, mask.nw_tos);
        f.u8u("hlimit", key.nw_ttl, mask.nw_ttl);
        f.frag(key.nw_frag, mask.nw_frag);
        out.fields("ipv6", f);
    } else if key.dl_type == ethertype::ARP || key.dl_type == ethertype::RARP {
        // OVS widens an exact 8-bit opcode mask (and opcode 255) to 16 bits.
        let op = |p: u8| if p == u8::MAX { u16::MAX } else { p as u16 };
        let mut f = Fields::default();
        f.ipv4("sip", key.nw_src, mask.nw_src);
        f.ipv4("tip", key.nw_dst, mask.nw_dst);
        f.be16("op", op(key.nw_proto), op(mask.nw_proto));
        f.eth("sha", key.arp_sha, mask.arp_sha);
        f.eth("tha", key.arp_tha, mask.arp_tha);
        out.fields("arp", f);
    }

    if (is_v4 || is_v6) && key.nw_frag & FLOW_NW_FRAG_LATER == 0 {
        match key.nw_proto {
            protocol::TCP | protocol::UDP | protocol::SCTP => {
                let name = match key.nw_proto {
                    protocol::TCP => "tcp",
                    protocol::UDP => "udp",
                    _ => "sctp",
                };
                let mut f = Fields::default();
                f.be16("src", key.tp_src, mask.tp_src);
                f.be16("dst", key.tp_dst, mask.tp_dst);
                out.fields(name, f);
                let fm = mask.tcp_flags & tcpf::MASK;
                if key.nw_proto == protocol::TCP && fm != 0 {
                    out.attr("tcp_flags");
                    if fm == tcpf::MASK {
                        out.s.push_str(&format_tcp_flags(key.tcp_flags));
                    } else {
                        out.s.push_str(&format_tcp_flags_masked(key.tcp_flags, fm));
                    }
                    out.s.push(')');
                }
            }
            protocol::ICMP if is_v4 => {
                let mut f = Fields::default();
                f.u8u("type", key.tp_src as u8, mask.tp_src as u8);
                f.u8u("code", key.tp_dst as u8, mask.tp_dst as u8);
                out.fields("icmp", f);
            }
            protocol::ICMPV6 if is_v6 => {
                let mut f = Fields::default();
                f.u8u("type", key.tp_src as u8, mask.tp_src as u8);
                f.u8u("code", key.tp_dst as u8, mask.tp_dst as u8);
                out.fields("icmpv6", f);
                let is_nd = key.tp_dst == 0
                    && (key.tp_src == crate::icmpv6::msg_type::NEIGHBOR_SOLICIT as u16
                        || key.tp_src == crate::icmpv6::msg_type::NEIGHBOR_ADVERT as u16);
                // OVS puts nd() in the mask only when ICMP type and code are
                // exact (0xff; we also accept 0xffff).
                if is_nd && mask.tp_src & 0xff == 0xff && mask.tp_dst & 0xff == 0xff {
                    let mut f = Fields::default();
                    f.in6("target", &key.nd_target, &mask.nd_target);
                    f.eth("sll", key.arp_sha, mask.arp_sha);
                    f.eth("tll", key.arp_tha, mask.arp_tha);
                    out.fields("nd", f);
                }
            }
            _ => {}
        }
    }
    true
}

/// TCP flags as OVS prints an exact `tcp_flags(...)`: names joined by `|`,
/// lowest bit first (`syn|ack`); `0` when none; bits 9–11 as `[200]`,
/// `[400]`, `[800]`. `flags` holds the low 12 bits of the TCP offset/flags word.
pub fn format_tcp_flags(flags: u16) -> String {
    let flags = flags & tcpf::MASK;
    if flags == 0 {
        return "0".to_string();
    }
    let mut s = String::new();
    for bit in (0..12).map(|i| 1u16 << i).filter(|b| flags & b != 0) {
        if !s.is_empty() {
            s.push('|');
        }
        s.push_str(tcp_flag_name(bit));
    }
    s
}

/// TCP flags under a partial mask, as OVS prints them: for each masked bit,
/// lowest first, `+name` if set in `flags` and `-name` if clear (`+syn-ack`).
pub fn format_tcp_flags_masked(flags: u16, mask: u16) -> String {
    let mask = mask & tcpf::MASK;
    if mask == 0 {
        return "0/0".to_string();
    }
    let mut s = String::new();
    for bit in (0..12).map(|i| 1u16 << i).filter(|b| mask & b != 0) {
        s.push(if flags & bit != 0 { '+' } else { '-' });
        s.push_str(tcp_flag_name(bit));
    }
    s
}

fn tcp_flag_name(bit: u16) -> &'static str {
    match bit {
        tcpf::FIN => "fin",
        tcpf::SYN => "syn",
        tcpf::RST => "rst",
        tcpf::PSH => "psh",
        tcpf::ACK => "ack",
        tcpf::URG => "urg",
        tcpf::ECE => "ece",
        tcpf::CWR => "cwr",
        tcpf::NS => "ns",
        0x200 => "[200]",
        0x400 => "[400]",
        _ => "[800]",
    }
}

/// C's `%#x`: `0` for zero, `0x...` otherwise.
fn hex(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// OVS `format_vlan_tci` (non-verbose).
fn vlan_tci(tci: u16, mask: u16) -> String {
    let mut f = Fields::default();
    let (vid, vid_m) = (tci & 0x0fff, mask & 0x0fff);
    if vid != 0 || vid_m != 0 {
        f.put(format_args!("vid={vid}"));
        if vid_m != 0x0fff {
            let _ = write!(f.s, "/0x{vid_m:x}");
        }
    }
    let (pcp, pcp_m) = (tci >> 13, mask >> 13);
    if pcp != 0 || pcp_m != 0 {
        f.put(format_args!("pcp={pcp}"));
        if pcp_m != 7 {
            let _ = write!(f.s, "/0x{pcp_m:x}");
        }
    }
    if tci & VLAN_CFI == 0 {
        f.put(format_args!("cfi=0"));
    }
    f.done()
}

/// A sequence of `name(...)` attributes separated by commas.
#[derive(Default)]
struct Out {
    s: String,
}

impl Out {
    fn attr(&mut self, name: &str) {
        if !self.s.is_empty() {
            self.s.push(',');
        }
        self.s.push_str(name);
        self.s.push('(');
    }

    /// Prints `name(fields)` unless every field was wildcarded.
    fn fields(&mut self, name: &str, f: Fields) {
        if f.any_mask {
            self.attr(name);
            self.s.push_str(&f.done());
            self.s.push(')');
        }
    }
}

/// Comma-separated `field=value[/mask]` items inside one attribute.
#[derive(Default)]
struct Fields {
    s: String,
    any_mask: bool,
}

impl Fields {
    fn put(&mut self, a: core::fmt::Arguments) {
        if !self.s.is_empty() {
            self.s.push(',');
        }
        let _ = self.s.write_fmt(a);
    }

    fn done(self) -> String {
        self.s
    }

    fn eth(&mut self, name: &str, v: [u8; 6], m: [u8; 6]) {
        if m == [0; 6] {
            return;
        }
        self.any_mask = true;
        self.put(format_args!("{name}={}", EthernetAddress(v)));
        if m != [0xff; 6] {
            let _ = write!(self.s, "/{}", EthernetAddress(m));
        }
    }

    fn ipv4(&mut self, name: &str, v: [u8; 4], m: [u8; 4]) {
        if m == [0; 4] {
            return;
        }
        self.any_mask = true;
        self.put(format_args!("{name}={}.{}.{}.{}", v[0], v[1], v[2], v[3]));
        if m != [0xff; 4] {
            let _ = write!(self.s, "/{}.{}.{}.{}", m[0], m[1], m[2], m[3]);
        }
    }

    fn in6(&mut self, name: &str, v: &[u8; 16], m: &[u8; 16]) {
        if *m == [0; 16] {
            return;
        }
        self.any_mask = true;
        self.put(format_args!("{name}={}", Ipv6Text(v)));
        if *m != [0xff; 16] {
            let _ = write!(self.s, "/{}", Ipv6Text(m));
        }
    }

    fn label(&mut self, v: u32, m: u32) {
        if m == 0 {
            return;
        }
        if m & crate::ipv6::LABEL_MASK != 0 {
            self.any_mask = true;
        }
        self.put(format_args!("label={}", hex(v as u64)));
        if m & crate::ipv6::LABEL_MASK != crate::ipv6::LABEL_MASK {
            let _ = write!(self.s, "/{}", hex(m as u64));
        }
    }

    fn u8u(&mut self, name: &str, v: u8, m: u8) {
        if m == 0 {
            return;
        }
        self.any_mask = true;
        self.put(format_args!("{name}={v}"));
        if m != u8::MAX {
            let _ = write!(self.s, "/{}", hex(m as u64));
        }
    }

    fn u8x(&mut self, name: &str, v: u8, m: u8) {
        if m == 0 {
            return;
        }
        self.any_mask = true;
        self.put(format_args!("{name}={}", hex(v as u64)));
        if m != u8::MAX {
            let _ = write!(self.s, "/{}", hex(m as u64));
        }
    }

    fn be16(&mut self, name: &str, v: u16, m: u16) {
        if m == 0 {
            return;
        }
        self.any_mask = true;
        self.put(format_args!("{name}={v}"));
        if m != u16::MAX {
            let _ = write!(self.s, "/{}", hex(m as u64));
        }
    }

    /// ODP frag is an enumeration: its mask is all-ones iff the flow mask has
    /// `FLOW_NW_FRAG_ANY`.
    fn frag(&mut self, v: u8, m: u8) {
        if m & FLOW_NW_FRAG_ANY == 0 {
            return;
        }
        self.any_mask = true;
        let t = if v & FLOW_NW_FRAG_ANY == 0 {
            "no"
        } else if v & FLOW_NW_FRAG_LATER != 0 {
            "later"
        } else {
            "first"
        };
        self.put(format_args!("frag={t}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    fn no_names(_: u32) -> Option<String> {
        None
    }

    fn base_mask() -> FlowKey {
        FlowKey {
            recirc_id: u32::MAX,
            in_port: u32::MAX,
            ..FlowKey::zeroed()
        }
    }

    #[test]
    fn arp_flow_as_in_compat_doc() {
        let key = FlowKey {
            in_port: 3,
            dl_src: [2, 0, 0, 0, 0, 1],
            dl_dst: [0xff; 6],
            dl_type: 0x0806,
            nw_src: [10, 10, 10, 1],
            nw_dst: [10, 10, 10, 2],
            nw_proto: 1,
            arp_sha: [2, 0, 0, 0, 0, 1],
            ..FlowKey::zeroed()
        };
        let mut mask = base_mask();
        mask.dl_src = [0xff; 6];
        mask.dl_dst = [0xff; 6];
        mask.dl_type = 0xffff;
        mask.nw_src = [0xff; 4];
        mask.nw_dst = [0xff; 4];
        mask.nw_proto = 0xff;
        assert_eq!(
            format_odp_flow(&key, &mask, &no_names),
            "recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.10.10.1,tip=10.10.10.2,op=1)"
        );
        assert_eq!(
            format_odp_flow(&key, &mask, &|p| (p == 3).then(|| "p1".to_string())),
            "recirc_id(0),in_port(p1),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.10.10.1,tip=10.10.10.2,op=1)"
        );
    }

    #[test]
    fn vlan_ipv4_tcp_partial_masks() {
        let key = FlowKey {
            in_port: 1,
            recirc_id: 0x20,
            vlan_tci: 10 | VLAN_CFI,
            dl_type: 0x0800,
            nw_src: [10, 0, 0, 1],
            nw_dst: [10, 0, 0, 2],
            nw_proto: 6,
            nw_tos: 0x10,
            nw_ttl: 64,
            tp_src: 40000,
            tp_dst: 80,
            tcp_flags: tcpf::SYN,
            ..FlowKey::zeroed()
        };
        let mut mask = base_mask();
        mask.vlan_tci = 0xffff;
        mask.dl_type = 0xffff;
        mask.nw_dst = [255, 255, 255, 0];
        mask.nw_proto = 0xff;
        mask.nw_tos = 0xfc;
        mask.nw_frag = 0xff;
        mask.tp_dst = 0xffff;
        mask.tcp_flags = tcpf::SYN | tcpf::ACK;
        assert_eq!(
            format_odp_flow(&key, &mask, &no_names),
            "recirc_id(0x20),in_port(1),packet_type(ns=0,id=0),eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(dst=10.0.0.2/255.255.255.0,proto=6,tos=0x10/0xfc,frag=no),tcp(dst=80),tcp_flags(+syn-ack))"
        );
        mask.tcp_flags = 0x0fff;
        mask.nw_frag = 0;
        mask.vlan_tci = VLAN_CFI | 0x0fff;
        let s = format_odp_flow(&key, &mask, &no_names);
        assert!(s.contains("vlan(vid=10),"), "{s}");
        assert!(
            s.ends_with("tos=0x10/0xfc),tcp(dst=80),tcp_flags(syn))"),
            "{s}"
        );
        // Everything inside the tag wildcarded: encap() stays.
        let mut m2 = base_mask();
        m2.vlan_tci = 0xffff;
        let s = format_odp_flow(&key, &m2, &no_names);
        assert!(s.ends_with("vlan(vid=10,pcp=0),encap()"), "{s}");
    }

    #[test]
    fn ipv6_nd_and_fragments() {
        let target: std::net::Ipv6Addr = "fe80::2".parse().unwrap();
        let key = FlowKey {
            in_port: 2,
            dl_type: 0x86dd,
            ipv6_src: "fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets(),
            ipv6_dst: "ff02::1:ff00:2"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
            ipv6_label: 0,
            nw_proto: 58,
            nw_ttl: 255,
            tp_src: 135,
            tp_dst: 0,
            nd_target: target.octets(),
            arp_sha: [2, 0, 0, 0, 0, 1],
            ..FlowKey::zeroed()
        };
        let mut mask = base_mask();
        mask.dl_type = 0xffff;
        mask.nw_proto = 0xff;
        mask.nw_frag = 0xff;
        mask.ipv6_label = 0xfffff;
        mask.tp_src = 0xff;
        mask.tp_dst = 0xff;
        mask.nd_target = [0xff; 16];
        mask.arp_sha = [0xff; 6];
        assert_eq!(
            format_odp_flow(&key, &mask, &no_names),
            "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x86dd),ipv6(label=0,proto=58,frag=no),icmpv6(type=135,code=0),nd(target=fe80::2,sll=02:00:00:00:00:01)"
        );
        // A later fragment has no L4 attribute at all.
        let frag = FlowKey {
            nw_proto: 44,
            nw_frag: FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
            ..key
        };
        assert!(
            format_odp_flow(&frag, &mask, &no_names).ends_with("ipv6(label=0,proto=44,frag=later)")
        );
    }

    #[test]
    fn llc_frame_and_wildcards() {
        let key = FlowKey {
            in_port: 5,
            dl_type: crate::flow::FLOW_DL_TYPE_NONE,
            ..FlowKey::zeroed()
        };
        assert_eq!(
            format_odp_flow(&key, &base_mask(), &no_names),
            "recirc_id(0),in_port(5),packet_type(ns=0,id=0),eth_type(0/0xffff)"
        );
        let mut m = FlowKey::zeroed();
        m.in_port = 0xff;
        assert_eq!(
            format_odp_flow(&key, &m, &no_names),
            "in_port(5/0xff),packet_type(ns=0,id=0),eth_type(0/0xffff)"
        );
    }

    #[test]
    fn tcp_flag_text() {
        assert_eq!(format_tcp_flags(0), "0");
        assert_eq!(format_tcp_flags(tcpf::SYN | tcpf::ACK), "syn|ack");
        assert_eq!(format_tcp_flags(0x812), "syn|ack|[800]");
        assert_eq!(
            format_tcp_flags_masked(tcpf::FIN, tcpf::FIN | tcpf::RST),
            "+fin-rst"
        );
    }
}
