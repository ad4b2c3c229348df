//! Flow extraction, checksums and odp text on frames captured between two
//! network namespaces (see fixtures/veth_capture.txt for how).

use packet::checksum::{complete_partial_csum, fill_l4_csum, verify_l4_csum};
use packet::flow::{FLOW_DL_TYPE_NONE, FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER, VLAN_CFI};
use packet::odp::format_odp_flow;
use packet::{extract_with_layers, tcp, udp, FlowKey, Malformed};
use std::net::{Ipv4Addr, Ipv6Addr};

const FIXTURES: &str = include_str!("fixtures/veth_capture.txt");
const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn frames() -> Vec<(&'static str, Vec<u8>)> {
    FIXTURES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (n, h) = l.split_once(' ').unwrap();
            (n, hex::decode(h).unwrap())
        })
        .collect()
}

fn frame(name: &str) -> Vec<u8> {
    frames()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .1
}

fn key(name: &str) -> FlowKey {
    FlowKey::extract(&frame(name), 7).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn v4(s: &str) -> [u8; 4] {
    s.parse::<Ipv4Addr>().unwrap().octets()
}

fn v6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().unwrap().octets()
}

#[test]
fn every_captured_frame_extracts() {
    let all = frames();
    assert_eq!(all.len(), 44);
    for (name, f) in &all {
        let k = FlowKey::extract(f, 7).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(k.in_port, 7);
        assert_eq!(k.recirc_id, 0);
        assert_eq!((k.pad1, k.pad2, k.pad3), ([0; 2], [0; 2], [0; 2]), "{name}");
    }
}

#[test]
fn arp() {
    let k = key("arp_request");
    assert_eq!(
        (k.dl_src, k.dl_dst, k.dl_type, k.vlan_tci),
        (MAC_A, [0xff; 6], 0x0806, 0)
    );
    assert_eq!(
        (k.nw_src, k.nw_dst, k.nw_proto),
        (v4("10.10.10.1"), v4("10.10.10.2"), 1)
    );
    assert_eq!((k.arp_sha, k.arp_tha), (MAC_A, [0; 6]));
    let k = key("arp_reply");
    assert_eq!(
        (k.nw_src, k.nw_dst, k.nw_proto),
        (v4("10.10.10.2"), v4("10.10.10.1"), 2)
    );
    assert_eq!((k.arp_sha, k.arp_tha), (MAC_B, MAC_A));
    assert_eq!((k.tp_src, k.tp_dst, k.nw_ttl), (0, 0, 0));
}

#[test]
fn icmp_v4() {
    let k = key("icmp_echo_request");
    assert_eq!(
        (k.dl_type, k.nw_proto, k.tp_src, k.tp_dst, k.nw_ttl, k.nw_frag),
        (0x0800, 1, 8, 0, 64, 0)
    );
    assert_eq!((k.nw_src, k.nw_dst), (v4("10.10.10.1"), v4("10.10.10.2")));
    assert_eq!(key("icmp_echo_reply").tp_src, 0);
    let k = key("icmp_port_unreachable");
    assert_eq!((k.tp_src, k.tp_dst, k.nw_src), (3, 3, v4("10.10.10.2")));
}

#[test]
fn tcp_v4_matches_views() {
    let expect = [
        ("tcp_syn", tcp::flags::SYN, true),
        ("tcp_synack", tcp::flags::SYN | tcp::flags::ACK, false),
        ("tcp_psh_client", tcp::flags::PSH | tcp::flags::ACK, true),
        ("tcp_fin_client", tcp::flags::FIN | tcp::flags::ACK, true),
        ("tcp_fin_server", tcp::flags::FIN | tcp::flags::ACK, false),
    ];
    for (name, flags, from_client) in expect {
        let f = frame(name);
        let (k, l) = extract_with_layers(&f, 1).unwrap();
        assert_eq!((l.l3_ofs, l.l4_ofs), (Some(14), Some(34)), "{name}");
        let seg = tcp::Packet::new_checked(&f[34..]).unwrap();
        assert_eq!(k.tcp_flags, flags, "{name}");
        assert_eq!((k.tp_src, k.tp_dst), (seg.src_port(), seg.dst_port()));
        assert_eq!(
            if from_client { k.tp_dst } else { k.tp_src },
            8080,
            "{name}"
        );
        assert_eq!(k.nw_proto, 6);
        assert_eq!(k.nw_frag, 0);
    }
}

#[test]
fn udp_and_ipv4_fragments() {
    let f = frame("udp_small");
    let k = FlowKey::extract(&f, 1).unwrap();
    let d = udp::Packet::new_checked(&f[34..]).unwrap();
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (17, d.src_port(), 9999));
    assert_eq!(d.payload(), b"ping");

    let first = key("ipv4_frag_first");
    assert_eq!(
        (first.nw_frag, first.nw_proto, first.tp_dst),
        (FLOW_NW_FRAG_ANY, 17, 9998)
    );
    for later in ["ipv4_frag_middle", "ipv4_frag_last"] {
        let k = key(later);
        assert_eq!(k.nw_frag, FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER, "{later}");
        assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (17, 0, 0), "{later}");
    }
}

#[test]
fn ipv6_nd() {
    let k = key("nd_solicit");
    assert_eq!(
        (k.dl_type, k.nw_proto, k.tp_src, k.tp_dst, k.nw_ttl),
        (0x86dd, 58, 135, 0, 255)
    );
    assert_eq!(
        (k.ipv6_src, k.ipv6_dst),
        (v6("fd00::1"), v6("ff02::1:ff00:2"))
    );
    assert_eq!(
        (k.nd_target, k.arp_sha, k.arp_tha),
        (v6("fd00::2"), MAC_A, [0; 6])
    );
    assert_eq!(k.dl_dst, [0x33, 0x33, 0xff, 0, 0, 2]);
    let k = key("nd_advert");
    assert_eq!(
        (k.tp_src, k.nd_target, k.arp_sha, k.arp_tha),
        (136, v6("fd00::2"), [0; 6], MAC_B)
    );
    let k = key("icmp6_echo_request");
    assert_eq!((k.tp_src, k.tp_dst, k.nd_target), (128, 0, [0; 16]));
    assert_eq!(key("icmp6_unreachable").tp_src, 1);
}

#[test]
fn ipv6_udp_tcp_fragments() {
    let (k, l) = extract_with_layers(&frame("udp6_small"), 1).unwrap();
    assert_eq!((k.nw_proto, k.tp_dst, l.l4_ofs), (17, 9997, Some(54)));
    let (k, l) = extract_with_layers(&frame("ipv6_frag_first"), 1).unwrap();
    assert_eq!(
        (k.nw_proto, k.nw_frag, k.tp_dst, l.l4_ofs),
        (17, FLOW_NW_FRAG_ANY, 9996, Some(62))
    );
    for later in ["ipv6_frag_middle", "ipv6_frag_last"] {
        let k = key(later);
        assert_eq!(
            (k.nw_proto, k.nw_frag, k.tp_src, k.tp_dst),
            (44, 3, 0, 0),
            "{later}"
        );
    }
    let k = key("tcp6_syn");
    assert_eq!(
        (k.tp_dst, k.tcp_flags, k.ipv6_src),
        (8081, tcp::flags::SYN, v6("fd00::1"))
    );
    assert_eq!(
        key("tcp6_synack").tcp_flags,
        tcp::flags::SYN | tcp::flags::ACK
    );
}

#[test]
fn vlan_and_llc() {
    let (k, l) = extract_with_layers(&frame("vlan10_icmp_echo_request"), 1).unwrap();
    assert_eq!(k.vlan_tci, (5 << 13) | VLAN_CFI | 10);
    assert_eq!(
        (k.dl_type, k.nw_src, k.nw_dst, k.tp_src),
        (0x0800, v4("10.20.0.1"), v4("10.20.0.2"), 8)
    );
    assert_eq!((l.l3_ofs, l.l4_ofs), (Some(18), Some(38)));
    let (k, l) = extract_with_layers(&frame("stp_llc"), 1).unwrap();
    assert_eq!(
        (k.dl_type, k.dl_dst, k.nw_proto),
        (FLOW_DL_TYPE_NONE, [0x01, 0x80, 0xc2, 0, 0, 0], 0)
    );
    assert_eq!(l.l4_ofs, None);
}

#[test]
fn truncations_are_reported_not_panics() {
    let syn = frame("tcp_syn");
    assert_eq!(
        FlowKey::extract(&syn[..13], 1),
        Err(Malformed::EthernetTruncated)
    );
    assert_eq!(
        FlowKey::extract(&syn[..33], 1),
        Err(Malformed::Ipv4Truncated)
    );
    assert_eq!(
        FlowKey::extract(&syn[..60], 1),
        Err(Malformed::Ipv4TotalLenLong)
    );
    let mut short_tcp = syn.clone();
    short_tcp[46] = 0x40; // data offset 4
    assert_eq!(
        FlowKey::extract(&short_tcp, 1),
        Err(Malformed::TcpDataOffset)
    );
    let vlan = frame("vlan10_icmp_echo_request");
    assert_eq!(
        FlowKey::extract(&vlan[..17], 1),
        Err(Malformed::VlanTruncated)
    );
    let nd = frame("nd_solicit");
    assert_eq!(
        FlowKey::extract(&nd[..53], 1),
        Err(Malformed::Ipv6Truncated)
    );
    assert_eq!(
        FlowKey::extract(&nd[..85], 1),
        Err(Malformed::Ipv6PayloadLen)
    );
    let mut bad_udp = frame("udp_small");
    bad_udp[39] = 200; // UDP length 200 > bytes present
    assert_eq!(FlowKey::extract(&bad_udp, 1), Err(Malformed::UdpLength));
    // Every prefix of every frame: an answer, never a panic; padding is fine.
    for (_, f) in frames() {
        for n in 0..f.len() {
            let _ = FlowKey::extract(&f[..n], 1);
        }
        let mut padded = f.clone();
        padded.extend_from_slice(&[0u8; 32]);
        assert_eq!(FlowKey::extract(&padded, 1), FlowKey::extract(&f, 1));
    }
}

/// Linux hands TCP/UDP to a veth as CHECKSUM_PARTIAL: the field holds the
/// pseudo-header sum. Completing it and recomputing from scratch must agree.
#[test]
fn checksums_on_captured_frames() {
    let mut completed = 0;
    for (name, f) in frames() {
        let (k, l) = extract_with_layers(&f, 1).unwrap();
        let mut filled = f.clone();
        fill_l4_csum(&mut filled).unwrap();
        assert!(verify_l4_csum(&filled), "{name}");
        if verify_l4_csum(&f) {
            assert_eq!(filled, f, "{name}: a correct frame must not change");
            continue;
        }
        if name == "vlan10_icmp_echo_request" {
            // Injected with a wrong ICMP checksum (see the fixture notes).
            assert_ne!(filled, f);
            continue;
        }
        let off = match k.nw_proto {
            6 => 16,
            17 => 6,
            p => panic!("{name}: unexpected bad checksum, proto {p}"),
        };
        let mut done = f.clone();
        complete_partial_csum(&mut done, l.l4_ofs.unwrap() as usize, off).unwrap();
        assert!(verify_l4_csum(&done), "{name}");
        assert_eq!(done, filled, "{name}");
        completed += 1;
    }
    assert!(
        completed >= 10,
        "expected the TCP/UDP frames to be CHECKSUM_PARTIAL, got {completed}"
    );
}

#[test]
fn odp_text_of_captured_flows() {
    let exact = FlowKey::exact_mask();
    let none = |_: u32| None;
    let k = FlowKey::extract(&frame("tcp_syn"), 3).unwrap();
    let text = format_odp_flow(&k, &exact, &none);
    assert_eq!(
        text,
        format!(
            "recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.10.10.1,dst=10.10.10.2,proto=6,tos=0,ttl=64,frag=no),tcp(src={},dst=8080),tcp_flags(syn)",
            k.tp_src
        )
    );
    let k = FlowKey::extract(&frame("nd_advert"), 3).unwrap();
    assert_eq!(
        format_odp_flow(&k, &exact, &none),
        "recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:02,dst=02:00:00:00:00:01),eth_type(0x86dd),ipv6(src=fd00::2,dst=fd00::1,label=0,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=136,code=0),nd(target=fd00::2,sll=00:00:00:00:00:00,tll=02:00:00:00:00:02)"
    );
    let k = FlowKey::extract(&frame("vlan10_icmp_echo_request"), 3).unwrap();
    assert_eq!(
        format_odp_flow(&k, &exact, &none),
        "recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x8100),vlan(vid=10,pcp=5),encap(eth_type(0x0800),ipv4(src=10.20.0.1,dst=10.20.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0))"
    );
    let k = FlowKey::extract(&frame("ipv4_frag_middle"), 3).unwrap();
    assert!(format_odp_flow(&k, &exact, &none)
        .ends_with(",ipv4(src=10.10.10.1,dst=10.10.10.2,proto=17,tos=0,ttl=64,frag=later)"));
}
