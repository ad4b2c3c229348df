//! Property tests: extraction never panics and is deterministic on arbitrary
//! bytes, and recovers every field of frames built with the wire `Repr`s;
//! checksums filled by `fill_l4_csum` verify and catch a flipped bit.

use packet::checksum::{fill_l4_csum, verify_l4_csum};
use packet::ethernet::{self, EthernetAddress, VlanHeader, VlanRepr};
use packet::flow::{FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER, VLAN_CFI};
use packet::{arp, extract_with_layers, icmp, icmpv6, ipv4, ipv6, tcp, udp, FlowKey};
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const FIXTURES: &str = include_str!("fixtures/veth_capture.txt");

fn captured() -> Vec<Vec<u8>> {
    FIXTURES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| hex::decode(l.split_once(' ').unwrap().1).unwrap())
        .collect()
}

#[derive(Debug, Clone)]
enum L4 {
    Tcp {
        src: u16,
        dst: u16,
        flags: u16,
    },
    Udp {
        src: u16,
        dst: u16,
    },
    Icmp {
        ty: u8,
        code: u8,
    },
    Nd {
        advert: bool,
        target: [u8; 16],
        lladdr: Option<[u8; 6]>,
    },
    Other(u8),
}

#[derive(Debug, Clone)]
enum L3 {
    V4 {
        src: [u8; 4],
        dst: [u8; 4],
        tos: u8,
        ttl: u8,
        mf: bool,
        off: u16,
    },
    V6 {
        src: [u8; 16],
        dst: [u8; 16],
        tc: u8,
        label: u32,
        hlim: u8,
        frag: Option<(u16, bool)>,
    },
    Arp {
        op: u16,
        sha: [u8; 6],
        spa: [u8; 4],
        tha: [u8; 6],
        tpa: [u8; 4],
    },
}

#[derive(Debug, Clone)]
struct Spec {
    src: [u8; 6],
    dst: [u8; 6],
    vlan: Option<(u16, u8)>,
    l3: L3,
    l4: L4,
    payload: Vec<u8>,
    padding: usize,
}

fn l4_strategy() -> impl Strategy<Value = L4> {
    prop_oneof![
        (any::<u16>(), any::<u16>(), 0u16..0x1000).prop_map(|(src, dst, flags)| L4::Tcp {
            src,
            dst,
            flags
        }),
        (any::<u16>(), any::<u16>()).prop_map(|(src, dst)| L4::Udp { src, dst }),
        (any::<u8>(), any::<u8>()).prop_map(|(ty, code)| L4::Icmp { ty, code }),
        (
            any::<bool>(),
            any::<[u8; 16]>(),
            proptest::option::of(any::<[u8; 6]>())
        )
            .prop_map(|(advert, target, lladdr)| L4::Nd {
                advert,
                target,
                lladdr
            }),
        prop_oneof![Just(47u8), Just(50u8), Just(132u8), Just(59u8)].prop_map(L4::Other),
    ]
}

fn l3_strategy() -> impl Strategy<Value = L3> {
    prop_oneof![
        4 => (any::<[u8; 4]>(), any::<[u8; 4]>(), any::<u8>(), any::<u8>(), any::<bool>(), prop_oneof![3 => Just(0u16), 1 => 1u16..0x1fff])
            .prop_map(|(src, dst, tos, ttl, mf, off)| L3::V4 { src, dst, tos, ttl, mf, off }),
        4 => (any::<[u8; 16]>(), any::<[u8; 16]>(), any::<u8>(), 0u32..0x100000, any::<u8>(),
              proptest::option::of((prop_oneof![Just(0u16), 1u16..0x1fff], any::<bool>())))
            .prop_map(|(src, dst, tc, label, hlim, frag)| L3::V6 { src, dst, tc, label, hlim, frag }),
        1 => (1u16..0x200, any::<[u8; 6]>(), any::<[u8; 4]>(), any::<[u8; 6]>(), any::<[u8; 4]>())
            .prop_map(|(op, sha, spa, tha, tpa)| L3::Arp { op, sha, spa, tha, tpa }),
    ]
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        proptest::option::of((0u16..0x1000, 0u8..8)),
        l3_strategy(),
        l4_strategy(),
        proptest::collection::vec(any::<u8>(), 0..64),
        0usize..20,
    )
        .prop_map(|(src, dst, vlan, l3, l4, payload, padding)| Spec {
            src,
            dst,
            vlan,
            l3,
            l4,
            payload,
            padding,
        })
}

fn proto_of(l4: &L4, v6: bool) -> u8 {
    match l4 {
        L4::Tcp { .. } => 6,
        L4::Udp { .. } => 17,
        L4::Icmp { .. } if v6 => 58,
        L4::Icmp { .. } => 1,
        L4::Nd { .. } => 58,
        L4::Other(p) => *p,
    }
}

/// Builds the L4 message (header + payload) with the crate's Reprs.
fn build_l4(l4: &L4, payload: &[u8], v6: Option<(Ipv6Addr, Ipv6Addr)>) -> Vec<u8> {
    match l4 {
        L4::Tcp { src, dst, flags } => {
            let mut b = vec![0u8; tcp::HEADER_LEN + payload.len()];
            let r = tcp::Repr {
                src_port: *src,
                dst_port: *dst,
                seq_number: 1,
                ack_number: 2,
                flags: *flags,
                window_len: 100,
                urgent_at: 0,
            };
            r.emit(&mut tcp::Packet::new_unchecked(&mut b[..]));
            b[tcp::HEADER_LEN..].copy_from_slice(payload);
            b
        }
        L4::Udp { src, dst } => {
            let mut b = vec![0u8; udp::HEADER_LEN + payload.len()];
            udp::Repr {
                src_port: *src,
                dst_port: *dst,
                payload_len: payload.len(),
            }
            .emit(&mut udp::Packet::new_unchecked(&mut b[..]));
            b[udp::HEADER_LEN..].copy_from_slice(payload);
            b
        }
        L4::Icmp { ty, code } => {
            let mut b = vec![0u8; icmp::HEADER_LEN + payload.len()];
            b[icmp::HEADER_LEN..].copy_from_slice(payload);
            icmp::Repr {
                msg_type: *ty,
                code: *code,
                rest_of_header: 0,
            }
            .emit(&mut icmp::Packet::new_unchecked(&mut b[..]));
            b
        }
        L4::Nd {
            advert,
            target,
            lladdr,
        } => {
            let target = Ipv6Addr::from(*target);
            let lladdr = lladdr.map(EthernetAddress);
            let r = if *advert {
                icmpv6::Repr::NeighborAdvert {
                    flags: icmpv6::NA_FLAG_SOLICITED,
                    target,
                    target_lladdr: lladdr,
                }
            } else {
                icmpv6::Repr::NeighborSolicit {
                    target,
                    source_lladdr: lladdr,
                }
            };
            let mut b = vec![0u8; r.buffer_len()];
            let (s, d) = v6.unwrap_or((Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED));
            r.emit(&mut icmpv6::Packet::new_unchecked(&mut b[..]), s, d);
            b
        }
        L4::Other(_) => payload.to_vec(),
    }
}

fn build(spec: &Spec) -> Vec<u8> {
    let mut f = vec![0u8; ethernet::HEADER_LEN];
    let mut et = match spec.l3 {
        L3::V4 { .. } => 0x0800,
        L3::V6 { .. } => 0x86dd,
        L3::Arp { .. } => 0x0806,
    };
    if let Some((vid, pcp)) = spec.vlan {
        let mut tag = [0u8; 4];
        VlanRepr {
            vid,
            pcp,
            dei: false,
            ethertype: et,
        }
        .emit(&mut VlanHeader::new_unchecked(&mut tag[..]));
        f.extend_from_slice(&tag);
        et = 0x8100;
    }
    ethernet::Repr {
        src_addr: EthernetAddress(spec.src),
        dst_addr: EthernetAddress(spec.dst),
        ethertype: et,
    }
    .emit(&mut ethernet::Frame::new_unchecked(&mut f[..]));
    match &spec.l3 {
        L3::V4 {
            src,
            dst,
            tos,
            ttl,
            mf,
            off,
        } => {
            let l4 = build_l4(&spec.l4, &spec.payload, None);
            let mut ip = vec![0u8; ipv4::HEADER_LEN + l4.len()];
            ipv4::Repr {
                src_addr: Ipv4Addr::from(*src),
                dst_addr: Ipv4Addr::from(*dst),
                protocol: proto_of(&spec.l4, false),
                payload_len: l4.len(),
                ttl: *ttl,
                tos: *tos,
                ident: 7,
                flags_frag_off: (*off & ipv4::FRAG_OFF_MASK) | if *mf { ipv4::FLAG_MF } else { 0 },
            }
            .emit(&mut ipv4::Packet::new_unchecked(&mut ip[..]));
            ip[ipv4::HEADER_LEN..].copy_from_slice(&l4);
            f.extend_from_slice(&ip);
        }
        L3::V6 {
            src,
            dst,
            tc,
            label,
            hlim,
            frag,
        } => {
            let (s, d) = (Ipv6Addr::from(*src), Ipv6Addr::from(*dst));
            let l4 = build_l4(&spec.l4, &spec.payload, Some((s, d)));
            let proto = proto_of(&spec.l4, true);
            let mut ext = Vec::new();
            if let Some((off, m)) = frag {
                ext = vec![proto, 0, 0, 0, 0, 0, 0, 1];
                ext[2..4].copy_from_slice(&((off << 3) | *m as u16).to_be_bytes());
            }
            let mut ip = vec![0u8; ipv6::HEADER_LEN];
            ipv6::Repr {
                src_addr: s,
                dst_addr: d,
                next_header: if frag.is_some() { 44 } else { proto },
                payload_len: ext.len() + l4.len(),
                hop_limit: *hlim,
                traffic_class: *tc,
                flow_label: *label,
            }
            .emit(&mut ipv6::Packet::new_unchecked(&mut ip[..]));
            f.extend_from_slice(&ip);
            f.extend_from_slice(&ext);
            f.extend_from_slice(&l4);
        }
        L3::Arp {
            op,
            sha,
            spa,
            tha,
            tpa,
        } => {
            let mut a = [0u8; arp::ETH_IPV4_LEN];
            arp::Repr {
                operation: *op,
                source_hardware_addr: EthernetAddress(*sha),
                source_protocol_addr: Ipv4Addr::from(*spa),
                target_hardware_addr: EthernetAddress(*tha),
                target_protocol_addr: Ipv4Addr::from(*tpa),
            }
            .emit(&mut arp::Packet::new_unchecked(&mut a[..]));
            f.extend_from_slice(&a);
        }
    }
    f.resize(f.len() + spec.padding, 0);
    f
}

/// The key a reference reading of the spec gives (OVS semantics).
fn expected(spec: &Spec) -> FlowKey {
    let mut k = FlowKey {
        in_port: 9,
        dl_src: spec.src,
        dl_dst: spec.dst,
        ..FlowKey::default()
    };
    if let Some((vid, pcp)) = spec.vlan {
        k.vlan_tci = ((pcp as u16) << 13) | VLAN_CFI | vid;
    }
    let mut l4_ok = true;
    match &spec.l3 {
        L3::Arp {
            op,
            sha,
            spa,
            tha,
            tpa,
        } => {
            k.dl_type = 0x0806;
            k.nw_src = *spa;
            k.nw_dst = *tpa;
            k.nw_proto = if *op <= 0xff { *op as u8 } else { 0 };
            k.arp_sha = *sha;
            k.arp_tha = *tha;
            return k;
        }
        L3::V4 {
            src,
            dst,
            tos,
            ttl,
            mf,
            off,
        } => {
            k.dl_type = 0x0800;
            (k.nw_src, k.nw_dst, k.nw_tos, k.nw_ttl) = (*src, *dst, *tos, *ttl);
            k.nw_proto = proto_of(&spec.l4, false);
            if *mf || *off != 0 {
                k.nw_frag = FLOW_NW_FRAG_ANY;
            }
            if *off != 0 {
                k.nw_frag |= FLOW_NW_FRAG_LATER;
                l4_ok = false;
            }
        }
        L3::V6 {
            src,
            dst,
            tc,
            label,
            hlim,
            frag,
        } => {
            k.dl_type = 0x86dd;
            (k.ipv6_src, k.ipv6_dst, k.nw_tos, k.ipv6_label, k.nw_ttl) =
                (*src, *dst, *tc, *label, *hlim);
            k.nw_proto = proto_of(&spec.l4, true);
            if let Some((off, m)) = frag {
                if *off != 0 || *m {
                    k.nw_frag = FLOW_NW_FRAG_ANY;
                }
                if *off != 0 {
                    k.nw_frag |= FLOW_NW_FRAG_LATER;
                    k.nw_proto = 44;
                    l4_ok = false;
                }
            }
        }
    }
    if !l4_ok {
        return k;
    }
    match &spec.l4 {
        L4::Tcp { src, dst, flags } => (k.tp_src, k.tp_dst, k.tcp_flags) = (*src, *dst, *flags),
        L4::Udp { src, dst } => (k.tp_src, k.tp_dst) = (*src, *dst),
        L4::Icmp { ty, code } => (k.tp_src, k.tp_dst) = (*ty as u16, *code as u16),
        L4::Nd {
            advert,
            target,
            lladdr,
        } => {
            k.tp_src = if *advert { 136 } else { 135 };
            if k.nw_proto == 58 || k.dl_type == 0x0800 {
                k.nd_target = *target;
                if let Some(a) = lladdr {
                    if *a != [0; 6] {
                        if *advert {
                            k.arp_tha = *a;
                        } else {
                            k.arp_sha = *a;
                        }
                    }
                }
            }
        }
        L4::Other(132) if spec.payload.len() >= 12 => {
            k.tp_src = u16::from_be_bytes([spec.payload[0], spec.payload[1]]);
            k.tp_dst = u16::from_be_bytes([spec.payload[2], spec.payload[3]]);
        }
        L4::Other(_) => {}
    }
    k
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_are_deterministic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let a = extract_with_layers(&bytes, 1);
        prop_assert_eq!(a, extract_with_layers(&bytes, 1));
        let mut copy = bytes.clone();
        let _ = fill_l4_csum(&mut copy);
        let _ = verify_l4_csum(&bytes);
    }

    #[test]
    fn typed_garbage_never_panics(head in any::<[u8; 12]>(),
                                  et in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x0806), Just(0x8100), Just(0x0026), any::<u16>()],
                                  ver in any::<u8>(),
                                  tail in proptest::collection::vec(any::<u8>(), 0..120)) {
        let mut f = head.to_vec();
        f.extend_from_slice(&et.to_be_bytes());
        f.push(ver);
        f.extend_from_slice(&tail);
        let a = extract_with_layers(&f, 1);
        prop_assert_eq!(a, extract_with_layers(&f, 1));
        let _ = fill_l4_csum(&mut f);
    }

    #[test]
    fn mutated_captures_never_panic(idx in 0usize..44, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut f = captured()[idx].clone();
        for (pos, v) in flips {
            let n = f.len();
            f[pos % n] = v;
        }
        let n = cut % (f.len() + 1);
        f.truncate(n);
        let _ = FlowKey::extract(&f, 1);
        let _ = fill_l4_csum(&mut f);
    }

    #[test]
    fn extract_recovers_emitted_fields(spec in spec_strategy()) {
        let f = build(&spec);
        let k = FlowKey::extract(&f, 9);
        prop_assert_eq!(k, Ok(expected(&spec)), "frame {}", hex::encode(&f));
    }

    #[test]
    fn filled_checksums_verify_and_catch_flips(spec in spec_strategy(), bit in 0u8..8, at in any::<usize>()) {
        let mut f = build(&spec);
        prop_assume!(FlowKey::extract(&f, 1).is_ok());
        fill_l4_csum(&mut f).unwrap();
        prop_assert!(verify_l4_csum(&f));
        let (k, l) = extract_with_layers(&f, 1).unwrap();
        let v4 = k.dl_type == 0x0800;
        let checked = k.nw_frag == 0
            && (k.dl_type == 0x0800 || k.dl_type == 0x86dd)
            && matches!((k.nw_proto, v4), (6 | 17, _) | (1, true) | (58, false));
        let Some(l4) = l.l4_ofs else { return Ok(()) };
        let l4 = l4 as usize;
        let end = f.len() - spec.padding;
        // Flip one bit in the L4 data (past the header, away from the checksum field).
        let hdr = match k.nw_proto { 6 => 20, 17 => 8, _ => 4 };
        if !(checked && end > l4 + hdr) {
            return Ok(());
        }
        let pos = l4 + hdr + at % (end - l4 - hdr);
        f[pos] ^= 1 << bit;
        prop_assert!(!verify_l4_csum(&f));
    }
}
