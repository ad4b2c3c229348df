//! End-to-end tests of the OpenFlow pipeline through the [`Backer`]:
//! flow_mods, translation of every action kind to exact datapath actions
//! and masks, multi-table pipelines, counters through revalidation,
//! packet-ins, `ofproto/trace`, and a megaflow soundness property.

use std::sync::Arc;

use datapath::{
    ControllerUserdata, DpAction, EthKey, FlowStats, Ipv4Key, L4Proto, PortsKey, UpcallHandler,
};
use openflow::msg::{FlowMod, FlowModCommand, FlowStatsRequest};
use openflow::port::{OFPP_CONTROLLER, OFPP_NORMAL};
use openflow::{Field, Match, OfpAct, Subfield};
use packet::flow::{FlowKey, VLAN_CFI};
use proptest::prelude::*;

use crate::clock::ManualClock;
use crate::connmgr::AsyncEvent;
use crate::test_util::*;
use crate::Backer;

fn setup() -> Arc<Backer> {
    let b = Backer::with_clock(Arc::new(ManualClock::new(100)));
    b.reconfigure(&[bridge(
        "br0",
        vec![plain("p1", 1, 1), plain("p2", 2, 2), plain("p3", 3, 3)],
    )]);
    b
}

fn out(port: u16) -> OfpAct {
    OfpAct::Output { port, max_len: 0 }
}

fn add(b: &Backer, table: u8, priority: u16, m: Match, acts: Vec<OfpAct>) {
    let fm = FlowMod {
        table_id: table,
        priority,
        match_: m,
        ofpacts: acts,
        ..FlowMod::default()
    };
    b.flow_mod("br0", &fm).unwrap();
}

fn tcp(dst: Option<u16>) -> Match {
    let mut m = Match::catchall();
    m.set(Field::EthType, 0x0800);
    m.set(Field::IpProto, 6);
    if let Some(d) = dst {
        m.set(Field::TcpDst, u128::from(d));
    }
    m
}

fn in_port(p: u16) -> Match {
    let mut m = Match::catchall();
    m.set(Field::InPort, u128::from(p));
    m
}

fn drop_default(b: &Backer) {
    let fm = FlowMod {
        command: FlowModCommand::DeleteStrict,
        priority: 0,
        table_id: 0,
        ..FlowMod::default()
    };
    b.flow_mod("br0", &fm).unwrap();
}

/// TCP 10.0.0.1:40000 -> 10.0.0.2:80 from datapath port 1.
fn k() -> FlowKey {
    key(1, mac(1), mac(2), 0)
}

#[test]
fn drop_http_keeps_other_traffic_and_narrow_mask() {
    let b = setup();
    add(&b, 0, 0x8000, tcp(Some(80)), vec![]);
    let x = b.translate(&k());
    assert_eq!(x.actions, vec![]);
    assert_eq!(x.mask.tp_dst, 0xffff);
    assert_eq!(x.mask.nw_proto, 0xff);
    assert_eq!(x.mask.nw_src, [0; 4], "nw_src not consulted");
    assert_eq!(x.mask.dl_src, [0; 6], "NORMAL not reached");
    let mut ping = k();
    ping.nw_proto = 1;
    let x = b.translate(&ping);
    assert_eq!(
        x.actions,
        vec![DpAction::Output(2), DpAction::Output(3)],
        "NORMAL floods"
    );
}

#[test]
fn port_forwarding_rewrites_transport_port() {
    let b = setup();
    add(
        &b,
        0,
        0x8000,
        tcp(Some(80)),
        vec![OfpAct::SetL4DstPort(25), out(2)],
    );
    let x = b.translate(&k());
    assert_eq!(
        x.actions,
        vec![
            DpAction::SetTransport {
                proto: L4Proto::Tcp,
                key: PortsKey { src: 0, dst: 25 },
                mask: PortsKey {
                    src: 0,
                    dst: 0xffff
                },
            },
            DpAction::Output(2)
        ]
    );
    // Already 25: nothing to rewrite.
    add(
        &b,
        0,
        0x8000,
        tcp(Some(25)),
        vec![OfpAct::SetL4DstPort(25), out(2)],
    );
    let mut k25 = k();
    k25.tp_dst = 25;
    assert_eq!(b.translate(&k25).actions, vec![DpAction::Output(2)]);
}

#[test]
fn set_field_eth_ipv4_ttl_and_move() {
    let b = setup();
    let mut ip = Match::catchall();
    ip.set(Field::EthType, 0x0800);
    add(
        &b,
        0,
        10,
        ip,
        vec![
            OfpAct::RegMove {
                src: Subfield::whole(Field::EthSrc),
                dst: Subfield::whole(Field::EthDst),
            },
            OfpAct::SetIpv4Dst([192, 168, 0, 9]),
            OfpAct::DecTtl,
            out(3),
        ],
    );
    let x = b.translate(&k());
    assert_eq!(
        x.actions,
        vec![
            DpAction::SetEthMasked {
                key: EthKey {
                    src: mac(1),
                    dst: mac(1)
                },
                mask: EthKey {
                    src: [0xff; 6],
                    dst: [0xff; 6]
                },
            },
            DpAction::SetIpv4 {
                key: Ipv4Key {
                    src: [0; 4],
                    dst: [192, 168, 0, 9],
                    tos: 0,
                    ttl: 63
                },
                mask: Ipv4Key {
                    src: [0; 4],
                    dst: [0xff; 4],
                    tos: 0,
                    ttl: 0xff
                },
            },
            DpAction::Output(3)
        ]
    );
    assert_eq!(x.mask.dl_src, [0xff; 6], "move source is read");
    // TTL 1: dropped and counted.
    let mut t1 = k();
    t1.nw_ttl = 1;
    assert_eq!(b.translate(&t1).actions, vec![]);
    let ofb = b.of_bridge("br0").unwrap();
    assert_eq!(
        ofb.invalid_ttl.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn vlan_actions() {
    let b = setup();
    add(
        &b,
        0,
        10,
        in_port(1),
        vec![OfpAct::SetVlanVid(10), out(2), OfpAct::StripVlan, out(3)],
    );
    assert_eq!(
        b.translate(&k()).actions,
        vec![
            DpAction::PushVlan {
                tpid: 0x8100,
                tci: 10
            },
            DpAction::Output(2),
            DpAction::PopVlan,
            DpAction::Output(3)
        ]
    );
    add(
        &b,
        0,
        10,
        in_port(2),
        vec![
            OfpAct::PushVlan(0x8100),
            OfpAct::SetField {
                field: Field::VlanVid,
                value: 0x1000 | 7,
                mask: 0x1fff,
            },
            out(1),
        ],
    );
    let mut k2 = key(2, mac(2), mac(1), 0);
    k2.tp_dst = 1;
    assert_eq!(
        b.translate(&k2).actions,
        vec![
            DpAction::PushVlan {
                tpid: 0x8100,
                tci: 7
            },
            DpAction::Output(1)
        ]
    );
    add(&b, 0, 10, in_port(3), vec![OfpAct::PopVlan, out(1)]);
    let k3 = key(3, mac(3), mac(1), VLAN_CFI | 5);
    let x = b.translate(&k3);
    assert_eq!(x.actions, vec![DpAction::PopVlan, DpAction::Output(1)]);
    assert_eq!(x.mask.vlan_tci, 0xffff);
}

#[test]
fn goto_table_with_metadata_and_action_set() {
    let b = setup();
    drop_default(&b);
    add(
        &b,
        0,
        10,
        in_port(1),
        vec![
            out(3),
            OfpAct::WriteActions(vec![out(2)]),
            OfpAct::WriteMetadata {
                value: 5,
                mask: 0xff,
            },
            OfpAct::GotoTable(1),
        ],
    );
    let mut md = Match::catchall();
    md.set(Field::Metadata, 5);
    add(
        &b,
        1,
        10,
        md,
        vec![OfpAct::WriteActions(vec![out(1)]), OfpAct::GotoTable(2)],
    );
    // Table 2 misses: the action set still runs at the end (output:1 replaced
    // output:2; output to the input port is skipped).
    let x = b.translate(&k());
    assert_eq!(x.actions, vec![DpAction::Output(3)]);
    add(
        &b,
        2,
        10,
        Match::catchall(),
        vec![OfpAct::WriteActions(vec![out(2)])],
    );
    assert_eq!(
        b.translate(&k()).actions,
        vec![DpAction::Output(3), DpAction::Output(2)]
    );
    add(&b, 2, 10, Match::catchall(), vec![OfpAct::ClearActions]);
    assert_eq!(b.translate(&k()).actions, vec![DpAction::Output(3)]);
    // Metadata 6 in table 1 misses: only the list output and the set (output:2).
    add(
        &b,
        0,
        10,
        in_port(1),
        vec![
            out(3),
            OfpAct::WriteActions(vec![out(2)]),
            OfpAct::WriteMetadata {
                value: 6,
                mask: 0xff,
            },
            OfpAct::GotoTable(1),
        ],
    );
    assert_eq!(
        b.translate(&k()).actions,
        vec![DpAction::Output(3), DpAction::Output(2)]
    );
}

#[test]
fn resubmit_registers_and_depth_limit() {
    let b = setup();
    drop_default(&b);
    add(
        &b,
        0,
        10,
        in_port(1),
        vec![
            OfpAct::RegLoad {
                dst: Subfield::new(Field::Reg(0), 0, 8).unwrap(),
                value: 7,
            },
            OfpAct::Resubmit {
                in_port: None,
                table: Some(1),
            },
            out(3),
        ],
    );
    let mut r = Match::catchall();
    r.set(Field::Reg(0), 7);
    add(&b, 1, 10, r, vec![out(2)]);
    assert_eq!(
        b.translate(&k()).actions,
        vec![DpAction::Output(2), DpAction::Output(3)]
    );
    // resubmit(2,) looks up with in_port 2 (and output:IN_PORT goes there).
    add(
        &b,
        0,
        20,
        in_port(1),
        vec![OfpAct::Resubmit {
            in_port: Some(2),
            table: None,
        }],
    );
    add(
        &b,
        0,
        20,
        in_port(2),
        vec![out(openflow::port::OFPP_IN_PORT)],
    );
    assert_eq!(b.translate(&k()).actions, vec![DpAction::Output(2)]);
    // A loop is bounded and drops.
    add(
        &b,
        0,
        30,
        in_port(1),
        vec![
            out(3),
            OfpAct::Resubmit {
                in_port: None,
                table: Some(0),
            },
        ],
    );
    assert_eq!(b.translate(&k()).actions, vec![]);
}

#[test]
fn flood_all_and_controller_packet_in() {
    let b = setup();
    add(&b, 0, 10, in_port(1), vec![out(openflow::port::OFPP_FLOOD)]);
    assert_eq!(
        b.translate(&k()).actions,
        vec![DpAction::Output(2), DpAction::Output(3)]
    );
    let mut m = in_port(2);
    m.set(Field::EthType, 0x0800);
    let fm = FlowMod {
        cookie: 0xabc,
        priority: 10,
        match_: m,
        ofpacts: vec![OfpAct::Output {
            port: OFPP_CONTROLLER,
            max_len: 20,
        }],
        ..FlowMod::default()
    };
    b.flow_mod("br0", &fm).unwrap();
    let mut rx = b.subscribe("br0").unwrap();
    let k2 = key(2, mac(2), mac(1), 0);
    let x = b.upcall(&k2, &[0u8; 60]);
    let [DpAction::Userspace { userdata }] = x.actions[..] else {
        panic!("{:?}", x.actions)
    };
    let ud = ControllerUserdata::from_userdata(userdata).unwrap();
    assert_eq!((ud.reason, ud.max_len), (1, 20));
    b.packet_in(&[7u8; 60], &k2, userdata);
    let Ok(AsyncEvent::PacketIn(pi)) = rx.try_recv() else {
        panic!("no packet-in")
    };
    assert_eq!(
        (pi.cookie, pi.table_id, pi.total_len, pi.data.len()),
        (0xabc, 0, 60, 20)
    );
    assert_eq!(pi.metadata.exact(Field::InPort), Some(2));
}

#[test]
fn counters_credited_through_upcall_and_revalidate() {
    let b = setup();
    add(&b, 0, 10, in_port(1), vec![out(2)]);
    let kk = k();
    let x = b.upcall(&kk, &[0u8; 100]);
    assert!(!x.xcache.is_empty());
    let x2 = UpcallHandler::revalidate(
        &*b,
        &kk,
        &FlowStats {
            packets: 5,
            bytes: 500,
            ..FlowStats::default()
        },
        &x.xcache,
    );
    b.flow_deleted(
        &kk,
        &FlowStats {
            packets: 1,
            bytes: 100,
            ..FlowStats::default()
        },
        &x2.xcache,
    );
    let fs = b.flow_stats("br0", &FlowStatsRequest::default()).unwrap();
    let r = fs.iter().find(|f| f.priority == 10).unwrap();
    assert_eq!((r.packet_count, r.byte_count), (7, 700));
    let agg = b
        .aggregate_stats("br0", &FlowStatsRequest::default())
        .unwrap();
    assert_eq!(agg.flow_count, 2);
    let ts = b.table_stats("br0").unwrap();
    assert_eq!((ts[0].lookup_count, ts[0].matched_count), (7, 7));
}

#[test]
fn flow_removed_on_expiry_published() {
    let clock = Arc::new(ManualClock::new(100));
    let b = Backer::with_clock(clock.clone());
    b.reconfigure(&[bridge("br0", vec![plain("p1", 1, 1)])]);
    let mut rx = b.subscribe("br0").unwrap();
    let fm = FlowMod {
        idle_timeout: 5,
        flags: openflow::msg::OFPFF_SEND_FLOW_REM,
        match_: in_port(1),
        ..FlowMod::default()
    };
    b.flow_mod("br0", &fm).unwrap();
    let g = b.generation();
    clock.advance(4);
    b.run_periodic();
    assert!(rx.try_recv().is_err());
    clock.advance(1);
    b.run_periodic();
    let Ok(AsyncEvent::FlowRemoved(fr)) = rx.try_recv() else {
        panic!("no flow removed")
    };
    assert_eq!((fr.reason, fr.duration_sec, fr.idle_timeout), (0, 5, 5));
    assert!(b.generation() > g);
}

#[test]
fn trace_matches_ovs_drop_example() {
    let b = Backer::with_clock(Arc::new(ManualClock::new(0)));
    b.reconfigure(&[bridge("cpbr0", vec![plain("p1", 1, 1), plain("p2", 2, 2)])]);
    let fm = FlowMod {
        match_: tcp(Some(80)),
        ..FlowMod::default()
    };
    b.flow_mod("cpbr0", &fm).unwrap();
    let t = b
        .trace("cpbr0", "in_port=1,tcp,nw_dst=192.168.2.2,tp_dst=80")
        .unwrap();
    assert_eq!(
        t,
        "Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=192.168.2.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0\n\
         \n\
         bridge(\"cpbr0\")\n\
         ---------------\n \
         0. tcp,tp_dst=80, priority 32768\n    \
         drop\n\
         \n\
         Final flow: unchanged\n\
         Megaflow: recirc_id=0,eth,tcp,in_port=1,nw_frag=no,tp_dst=80\n\
         Datapath actions: drop\n"
    );
    let t = b
        .trace("cpbr0", "in_port=1,dl_dst=ff:ff:ff:ff:ff:ff")
        .unwrap();
    assert!(
        t.contains(
            " 0. priority 0\n    NORMAL\n     -> no learned MAC for destination, flooding\n"
        ),
        "{t}"
    );
    assert!(t.ends_with("Datapath actions: 2\n"), "{t}");
    assert!(b.trace("nope", "in_port=1").is_err());
    assert!(b.trace("cpbr0", "in_port=1,bogus=3").is_err());
}

#[test]
fn packet_out_validation() {
    let b = setup();
    let po = openflow::msg::PacketOut {
        buffer_id: 5,
        in_port: OFPP_CONTROLLER,
        ofpacts: vec![out(1)],
        data: vec![0; 60],
    };
    assert_eq!(
        b.packet_out("br0", &po),
        Err(openflow::OfpError::BAD_REQUEST_BUFFER_UNKNOWN)
    );
    let po = openflow::msg::PacketOut {
        buffer_id: openflow::msg::NO_BUFFER,
        ofpacts: vec![out(0xff10)],
        ..po
    };
    assert_eq!(
        b.packet_out("br0", &po),
        Err(openflow::OfpError::BAD_ACTION_BAD_OUT_PORT)
    );
    // No datapath attached: refused after translation.
    let po = openflow::msg::PacketOut {
        ofpacts: vec![out(1)],
        ..po
    };
    assert_eq!(
        b.packet_out("br0", &po),
        Err(openflow::OfpError::BAD_REQUEST_EPERM)
    );
    let po = openflow::msg::PacketOut {
        ofpacts: vec![out(OFPP_NORMAL)],
        data: vec![],
        ..po
    };
    assert_eq!(
        b.packet_out("br0", &po),
        Err(openflow::OfpError::BAD_REQUEST_BAD_LEN)
    );
}

fn rule_strategy() -> impl Strategy<Value = (u8, u16, Match, Vec<OfpAct>)> {
    let m = (
        proptest::option::of(1u16..4),
        proptest::option::of(prop_oneof![Just(6u8), Just(17u8)]),
        proptest::option::of(prop_oneof![Just(80u16), Just(25), Just(53)]),
        proptest::option::of((0u8..4, prop_oneof![Just(8u32), Just(24), Just(32)])),
        proptest::option::of(0u32..3),
    )
        .prop_map(|(inp, proto, dst, net, reg)| {
            let mut m = Match::catchall();
            if let Some(p) = inp {
                m.set(Field::InPort, u128::from(p));
            }
            if proto.is_some() || dst.is_some() || net.is_some() {
                m.set(Field::EthType, 0x0800);
            }
            if let Some(p) = proto.or(dst.map(|_| 6)) {
                m.set(Field::IpProto, u128::from(p));
                if let Some(d) = dst {
                    m.set(Field::TpDst, u128::from(d));
                }
            }
            if let Some((n, plen)) = net {
                let mask = u128::from(u32::MAX << (32 - plen));
                m.set_masked(
                    Field::IpDst,
                    u128::from(0x0a00_0000u32 | (u32::from(n) << 8)),
                    mask,
                );
            }
            if let Some(r) = reg {
                m.set(Field::Reg(1), u128::from(r));
            }
            m
        });
    let act = prop_oneof![
        (1u16..4).prop_map(out),
        Just(out(OFPP_NORMAL)),
        (1u16..100).prop_map(OfpAct::SetL4DstPort),
        Just(OfpAct::DecTtl),
        (0u32..3).prop_map(|v| OfpAct::RegLoad {
            dst: Subfield::whole(Field::Reg(1)),
            value: u128::from(v)
        }),
        (1u8..3).prop_map(|t| OfpAct::Resubmit {
            in_port: None,
            table: Some(t)
        }),
        Just(OfpAct::SetVlanVid(9)),
        Just(OfpAct::RegMove {
            src: Subfield::new(Field::IpSrc, 0, 8).unwrap(),
            dst: Subfield::new(Field::Reg(1), 0, 8).unwrap()
        }),
    ];
    (0u8..3, 1u16..5, m, proptest::collection::vec(act, 0..4))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// Megaflow soundness: any key equal to a translated key under the
    /// returned mask translates to the same actions.
    #[test]
    fn megaflow_sound_for_random_rules(
        rules in proptest::collection::vec(rule_strategy(), 0..12),
        in_port in 1u32..4,
        proto in prop_oneof![Just(6u8), Just(17u8), Just(1u8)],
        dst in prop_oneof![Just(80u16), Just(25), Just(53), Just(9)],
        net in 0u8..5, host in any::<u8>(), ttl in 0u8..3,
        noise in any::<[u64; 14]>(),
    ) {
        let b = setup();
        for (table, prio, m, acts) in rules {
            let fm = FlowMod { table_id: table, priority: prio, match_: m, ofpacts: acts, ..FlowMod::default() };
            let _ = b.flow_mod("br0", &fm);
        }
        let mut kk = key(in_port, mac(in_port as u8), mac(9), 0);
        kk.nw_proto = proto;
        kk.tp_dst = dst;
        kk.nw_dst = [10, 0, net, host];
        kk.nw_ttl = ttl;
        let a = b.translate(&kk);
        let mut k2 = kk;
        for ((w, m), n) in k2.words_mut().iter_mut().zip(a.mask.words()).zip(noise) {
            *w = (*w & m) | (n & !m);
        }
        let c = b.translate(&k2);
        prop_assert_eq!(a.actions, c.actions);
    }
}

// ---- Port status, port_mod, table-miss and invalid-TTL packet-ins ----

use crate::ofbridge::ConnToken;
use crate::xlate::{PacketInInterest, OFPR_IMPLICIT_MISS};
use openflow::msg::{PortMod, PortStatus};

fn port_events(rx: &mut tokio::sync::broadcast::Receiver<AsyncEvent>) -> Vec<(u8, u16, u32, u32)> {
    let mut v = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let AsyncEvent::PortStatus(PortStatus { reason, desc }) = ev {
            v.push((reason, desc.port_no, desc.config, desc.state));
        }
    }
    v
}

fn port_mod(b: &Backer, port: u8, config: u32, mask: u32) -> Result<(), openflow::OfpError> {
    b.port_mod(
        "br0",
        &PortMod {
            port_no: u16::from(port),
            hw_addr: [0; 6],
            config,
            mask,
            advertise: 0,
        },
    )
}

#[test]
fn port_status_on_add_modify_delete() {
    let b = setup();
    let mut rx = b.subscribe("br0").unwrap();
    let three = vec![plain("p1", 1, 1), plain("p2", 2, 2), plain("p3", 3, 3)];
    // Same configuration: nothing.
    b.reconfigure(&[bridge("br0", three.clone())]);
    assert_eq!(port_events(&mut rx), vec![]);
    // p4 added; p2's carrier lost; p3 removed.
    let mut p2 = plain("p2", 2, 2);
    p2.interfaces[0].link_up = false;
    b.reconfigure(&[bridge(
        "br0",
        vec![plain("p1", 1, 1), p2, plain("p4", 4, 4)],
    )]);
    assert_eq!(
        port_events(&mut rx),
        vec![(1, 3, 0, 4), (2, 2, 0, 1), (0, 4, 0, 4)],
        "DELETE p3 (last state), MODIFY p2 LINK_DOWN, ADD p4 LIVE"
    );
    // Deletions come first, then modifications.
    // Administratively down (e.g. `ip link set p1 down`).
    let mut p1 = plain("p1", 1, 1);
    p1.interfaces[0].admin_up = false;
    p1.interfaces[0].link_up = false;
    b.reconfigure(&[bridge("br0", vec![p1, plain("p4", 4, 4)])]);
    assert_eq!(port_events(&mut rx), vec![(1, 2, 0, 1), (2, 1, 1, 1)]);
}

#[test]
fn port_mod_bits_steer_flooding_forwarding_and_receiving() {
    let b = setup();
    let mut rx = b.subscribe("br0").unwrap();
    // Default NORMAL flood from p1 goes to p2 and p3.
    let bcast = key(1, mac(1), BROADCAST, 0);
    assert_eq!(
        b.translate(&bcast).actions,
        vec![DpAction::Output(2), DpAction::Output(3)]
    );
    // Errors: unknown port, wrong address, an unknown bit.
    assert_eq!(
        port_mod(&b, 9, 0x10, 0x10),
        Err(openflow::OfpError::PORT_MOD_FAILED_BAD_PORT)
    );
    let bad_addr = PortMod {
        port_no: 2,
        hw_addr: [1; 6],
        config: 0x10,
        mask: 0x10,
        advertise: 0,
    };
    assert_eq!(
        b.port_mod("br0", &bad_addr),
        Err(openflow::OfpError::PORT_MOD_FAILED_BAD_HW_ADDR)
    );
    assert_eq!(
        port_mod(&b, 2, 0x80, 0x80),
        Err(openflow::OfpError::PORT_MOD_FAILED_BAD_CONFIG)
    );
    assert_eq!(port_events(&mut rx), vec![]);

    // NO_FLOOD on p2: NORMAL and FLOOD skip it, ALL and unicast do not.
    let g = b.generation();
    port_mod(&b, 2, 0x10, 0x10).unwrap();
    assert!(b.generation() > g, "a config change revalidates");
    assert_eq!(port_events(&mut rx), vec![(2, 2, 0x10, 4)]);
    assert_eq!(b.port_descs("br0").unwrap()[1].config, 0x10);
    assert_eq!(b.translate(&bcast).actions, vec![DpAction::Output(3)]);
    // The same request again changes nothing and announces nothing.
    let g = b.generation();
    port_mod(&b, 2, 0x10, 0x10).unwrap();
    assert_eq!((b.generation(), port_events(&mut rx)), (g, vec![]));
    b.upcall(&key(2, mac(2), BROADCAST, 0), &[]); // learn mac(2) on p2
    assert_eq!(
        b.translate(&key(1, mac(1), mac(2), 0)).actions,
        vec![DpAction::Output(2)],
        "NO_FLOOD does not stop unicast"
    );
    add(&b, 0, 10, in_port(3), vec![out(openflow::port::OFPP_FLOOD)]);
    assert_eq!(
        b.translate(&key(3, mac(3), mac(9), 0)).actions,
        vec![DpAction::Output(1)]
    );
    add(&b, 0, 10, in_port(3), vec![out(openflow::port::OFPP_ALL)]);
    assert_eq!(
        b.translate(&key(3, mac(3), mac(9), 0)).actions,
        vec![DpAction::Output(1), DpAction::Output(2)]
    );

    // NO_FWD on p2: nothing at all goes out of it (flood and unicast).
    port_mod(&b, 2, 0x20, 0x30).unwrap();
    assert_eq!(port_events(&mut rx), vec![(2, 2, 0x20, 4)]);
    assert_eq!(
        b.translate(&key(3, mac(3), mac(9), 0)).actions,
        vec![DpAction::Output(1)]
    );
    assert_eq!(b.translate(&key(1, mac(1), mac(2), 0)).actions, vec![]);
    port_mod(&b, 2, 0, 0x20).unwrap();
    assert_eq!(
        b.translate(&key(1, mac(1), mac(2), 0)).actions,
        vec![DpAction::Output(2)]
    );

    // NO_RECV on p1: its input is dropped, though the lookup still counts.
    port_mod(&b, 1, 0x04, 0x04).unwrap();
    assert_eq!(b.translate(&bcast).actions, vec![]);
    b.upcall(&bcast, &[0u8; 60]);
    let flows = b.flow_stats("br0", &FlowStatsRequest::default()).unwrap();
    let normal = flows.iter().find(|f| f.priority == 0).unwrap();
    assert_eq!(
        normal.packet_count, 2,
        "p2's broadcast and p1's dropped one"
    );
    port_mod(&b, 1, 0, 0x04).unwrap();
    assert_eq!(
        b.translate(&bcast).actions,
        vec![DpAction::Output(2), DpAction::Output(3)]
    );

    // PORT_DOWN on a port without a network device (a patch port; unit
    // tests must not touch the host's interfaces): refused silently, as
    // OVS leaves the bit when netdev_turn_flags fails.
    b.reconfigure(&[bridge(
        "br0",
        vec![
            plain("p1", 1, 1),
            plain("p2", 2, 2),
            patch("p3", 3, "nowhere"),
        ],
    )]);
    port_events(&mut rx);
    port_mod(&b, 3, 1, 1).unwrap();
    assert_eq!(b.port_descs("br0").unwrap()[2].config, 0);
    assert_eq!(port_events(&mut rx), vec![]);

    // The bits survive an unrelated reconfiguration, not the port's removal.
    port_mod(&b, 3, 0x40, 0x40).unwrap();
    port_events(&mut rx);
    b.reconfigure(&[bridge(
        "br0",
        vec![
            plain("p1", 1, 1),
            plain("p2", 2, 2),
            plain("p3", 3, 3),
            plain("p4", 4, 4),
        ],
    )]);
    assert_eq!(b.port_descs("br0").unwrap()[2].config, 0x40);
    b.reconfigure(&[bridge("br0", vec![plain("p1", 1, 1), plain("p2", 2, 2)])]);
    b.reconfigure(&[bridge(
        "br0",
        vec![plain("p1", 1, 1), plain("p2", 2, 2), plain("p3", 3, 3)],
    )]);
    assert_eq!(b.port_descs("br0").unwrap()[2].config, 0);
}

fn userspace_reasons(x: &datapath::Xlated) -> Vec<u8> {
    x.actions
        .iter()
        .filter_map(|a| match a {
            DpAction::Userspace { userdata } => {
                ControllerUserdata::from_userdata(*userdata).map(|u| u.reason)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn table_miss_goes_to_controller_only_when_wanted() {
    let b = setup();
    drop_default(&b);
    assert_eq!(b.translate(&k()).actions, vec![], "nobody listens: drop");
    let conn: Arc<dyn std::any::Any + Send + Sync> = Arc::new(0u32);
    let token: ConnToken = Arc::downgrade(&conn);
    let g = b.generation();
    let miss = PacketInInterest {
        table_miss: true,
        invalid_ttl: false,
    };
    b.set_packet_in_interest("br0", &token, miss);
    assert!(b.generation() > g, "a new interest revalidates");
    let x = b.upcall(&k(), &[0u8; 60]);
    assert_eq!(userspace_reasons(&x), vec![OFPR_IMPLICIT_MISS]);
    let [DpAction::Userspace { userdata }] = x.actions[..] else {
        panic!("{:?}", x.actions)
    };
    let mut rx = b.subscribe("br0").unwrap();
    b.packet_in(&[5u8; 60], &k(), userdata);
    let Ok(AsyncEvent::PacketIn(pi)) = rx.try_recv() else {
        panic!("no packet-in")
    };
    assert_eq!(
        (pi.reason, pi.table_id, pi.cookie, pi.data.len()),
        (OFPR_IMPLICIT_MISS, 0, 0, 60)
    );
    // A miss after goto_table is a miss in that table; after resubmit it
    // is not (OVS honours table-miss only for lookups that may packet-in).
    add(&b, 0, 10, in_port(1), vec![OfpAct::GotoTable(3)]);
    assert_eq!(
        userspace_reasons(&b.translate(&k())),
        vec![OFPR_IMPLICIT_MISS]
    );
    add(
        &b,
        0,
        10,
        in_port(1),
        vec![OfpAct::Resubmit {
            in_port: None,
            table: Some(3),
        }],
    );
    assert_eq!(b.translate(&k()).actions, vec![]);
    // NO_PACKET_IN on the input port: the miss drops.
    drop_default(&b);
    let del = FlowMod {
        command: FlowModCommand::Delete,
        table_id: openflow::msg::OFPTT_ALL,
        ..FlowMod::default()
    };
    b.flow_mod("br0", &del).unwrap();
    port_mod(&b, 1, 0x40, 0x40).unwrap();
    assert_eq!(b.translate(&k()).actions, vec![]);
    assert_eq!(
        userspace_reasons(&b.translate(&key(2, mac(2), mac(1), 0))),
        vec![OFPR_IMPLICIT_MISS]
    );
    // The connection goes away: its next miss packet-in revalidates.
    drop(conn);
    let g = b.generation();
    b.packet_in(&[5u8; 60], &k(), userdata);
    assert!(b.generation() > g);
    assert_eq!(b.packet_in_interest("br0"), PacketInInterest::default());
    assert_eq!(b.translate(&key(2, mac(2), mac(1), 0)).actions, vec![]);
}

#[test]
fn invalid_ttl_packet_in_only_when_asked() {
    let b = setup();
    add(&b, 0, 10, in_port(1), vec![OfpAct::DecTtl, out(2)]);
    let mut kk = k();
    kk.nw_ttl = 1;
    assert_eq!(b.translate(&kk).actions, vec![], "dropped, nothing sent");
    let conn: Arc<dyn std::any::Any + Send + Sync> = Arc::new(0u32);
    let token: ConnToken = Arc::downgrade(&conn);
    b.set_packet_in_interest(
        "br0",
        &token,
        PacketInInterest {
            table_miss: false,
            invalid_ttl: true,
        },
    );
    assert_eq!(
        userspace_reasons(&b.translate(&kk)),
        vec![openflow::actions::OFPR_INVALID_TTL]
    );
    kk.nw_ttl = 2;
    assert_eq!(
        b.translate(&kk).actions.last(),
        Some(&DpAction::Output(2)),
        "a valid TTL forwards"
    );
    // Unregistering (interest back to nothing) revalidates to a drop.
    let g = b.generation();
    b.set_packet_in_interest("br0", &token, PacketInInterest::default());
    assert!(b.generation() > g);
    kk.nw_ttl = 0;
    assert_eq!(b.translate(&kk).actions, vec![]);
}

/// A frame that matches only on `in_port` (an experimental Ethertype).
fn plain_frame() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&mac(2));
    f[6..12].copy_from_slice(&mac(1));
    f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
    f
}

/// Counters of the rule with `cookie` on br0.
fn rule_counts(b: &Backer, cookie: u64) -> (u64, u64) {
    let fs = b.flow_stats("br0", &FlowStatsRequest::default()).unwrap();
    let r = fs.iter().find(|f| f.cookie == cookie).expect("rule");
    (r.packet_count, r.byte_count)
}

/// Hits of a megaflow are credited to the rules its translation hit when
/// the packets went through, not to whatever the tables hold when the
/// counts are pushed (OVS's xlate cache): a deleted rule's flow_removed
/// counts its fast-path packets, and a rule added or left after a change
/// gets only the packets forwarded by it. Runs the real datapath with
/// dummy ports; packets after the first take the fast path, whose counts
/// reach the slow path only at revalidation.
#[test]
fn fast_path_hits_credit_the_rules_they_went_through() {
    use datapath::dummy::DummyNetdev;
    use datapath::Datapath;
    use std::time::Duration;
    const T: Duration = Duration::from_secs(5);

    let b = Backer::with_clock(Arc::new(ManualClock::new(100)));
    b.reconfigure(&[bridge("br0", vec![plain("p1", 1, 1), plain("p2", 2, 2)])]);
    let dp = Arc::new(Datapath::new(b.clone()));
    let (d1, peer1) = DummyNetdev::new("p1");
    let (d2, peer2) = DummyNetdev::new("p2");
    assert_eq!(dp.add_port(Box::new(d1)).unwrap(), 1);
    assert_eq!(dp.add_port(Box::new(d2)).unwrap(), 2);
    b.set_datapath(Arc::downgrade(&dp));
    let del_all = FlowMod {
        command: FlowModCommand::Delete,
        table_id: 0xff,
        ..FlowMod::default()
    };
    b.flow_mod("br0", &del_all).unwrap();
    let rule = |cookie: u64, priority: u16, flags: u16| FlowMod {
        cookie,
        priority,
        flags,
        match_: in_port(1),
        ofpacts: vec![out(2)],
        ..FlowMod::default()
    };
    b.flow_mod("br0", &rule(0xa, 10, openflow::msg::OFPFF_SEND_FLOW_REM))
        .unwrap();
    b.flow_mod("br0", &rule(0xb, 5, 0)).unwrap();
    let mut rx = b.subscribe("br0").unwrap();
    let frame = plain_frame();
    let send = |n: usize| {
        for _ in 0..n {
            peer1.inject(&frame);
        }
        for _ in 0..n {
            assert!(peer2.recv_sent(T).is_some(), "forwarded");
        }
    };

    // 5 packets through rule A: the upcall's is credited at once, the 4
    // fast-path hits wait in the megaflow.
    send(5);
    // Deleting A pushes them first: its flow_removed counts all 5.
    let del_a = FlowMod {
        command: FlowModCommand::DeleteStrict,
        priority: 10,
        match_: in_port(1),
        ..FlowMod::default()
    };
    b.flow_mod("br0", &del_a).unwrap();
    let fr = loop {
        match rx.try_recv() {
            Ok(AsyncEvent::FlowRemoved(fr)) => break fr,
            Ok(_) => continue,
            Err(e) => panic!("no flow_removed: {e:?}"),
        }
    };
    assert_eq!((fr.cookie, fr.packet_count, fr.byte_count), (0xa, 5, 300));

    // The megaflow now goes through B, which gets only what it forwarded.
    send(3);
    assert!(dp.revalidate_now());
    assert_eq!(rule_counts(&b, 0xb), (3, 180));

    // Hits pending when a higher-priority rule C arrives belong to B.
    send(2);
    b.flow_mod("br0", &rule(0xc, 20, 0)).unwrap();
    assert!(dp.revalidate_now());
    assert_eq!(rule_counts(&b, 0xb), (5, 300));
    assert_eq!(rule_counts(&b, 0xc), (0, 0));
    send(1);
    assert!(dp.revalidate_now());
    assert_eq!(rule_counts(&b, 0xc), (1, 60));

    // Modify keeps the counters, pending hits included; with
    // reset_counts the rule starts from zero and pending hits are dropped.
    send(2);
    let mut modify = rule(0xc, 20, 0);
    modify.command = FlowModCommand::ModifyStrict;
    b.flow_mod("br0", &modify).unwrap();
    assert!(dp.revalidate_now());
    assert_eq!(rule_counts(&b, 0xc), (3, 180));
    send(4);
    modify.flags = openflow::msg::OFPFF_RESET_COUNTS;
    b.flow_mod("br0", &modify).unwrap();
    assert!(dp.revalidate_now());
    assert_eq!(rule_counts(&b, 0xc), (0, 0));
    assert_eq!(rule_counts(&b, 0xb), (5, 300), "B untouched");
}

#[test]
fn table_miss_flow_controller_fail_open_and_flush() {
    use crate::xlate::OFPR_EXPLICIT_MISS;
    use openflow::actions::OFPR_ACTION;
    let b = setup();
    drop_default(&b);
    let mut rx = b.subscribe("br0").unwrap();
    // The reason of the packet-in the translation of k() produces.
    let mut packet_in_reason = || {
        let x = b.upcall(&k(), &[5u8; 60]);
        let [DpAction::Userspace { userdata }] = x.actions[..] else {
            panic!("{:?}", x.actions)
        };
        // As OVS prints it: the datapath action says OFPR_ACTION.
        assert_eq!(userspace_reasons(&x), vec![OFPR_ACTION]);
        b.packet_in(&[5u8; 60], &k(), userdata);
        match rx.try_recv() {
            Ok(AsyncEvent::PacketIn(pi)) => pi.reason,
            e => panic!("{e:?}"),
        }
    };
    // `priority=0 actions=CONTROLLER` is a table-miss flow (the action as
    // decoded from the wire, and as built).
    let to_ctl = vec![OfpAct::Output {
        port: OFPP_CONTROLLER,
        max_len: 128,
    }];
    let decoded = vec![OfpAct::Controller {
        max_len: 128,
        reason: OFPR_ACTION,
        controller_id: 0,
    }];
    add(&b, 0, 0, Match::catchall(), decoded);
    assert_eq!(packet_in_reason(), OFPR_EXPLICIT_MISS);
    add(&b, 0, 0, Match::catchall(), to_ctl.clone());
    assert_eq!(packet_in_reason(), OFPR_EXPLICIT_MISS);
    // Any other rule's `controller` is an action.
    add(&b, 0, 5, in_port(1), to_ctl);
    assert_eq!(packet_in_reason(), OFPR_ACTION);
    // Fail-open: NORMAL before any rule; off again: the rules rule.
    let g = b.generation();
    b.set_fail_open("br0", true);
    assert!(b.generation() > g, "fail-open revalidates");
    let x = b.translate(&k());
    assert!(userspace_reasons(&x).is_empty(), "{:?}", x.actions);
    assert!(!x.actions.is_empty(), "flooded by NORMAL");
    let trace = b.trace("br0", "in_port=1").unwrap();
    assert!(
        trace.contains(" 0. priority 15790320\n    NORMAL"),
        "{trace}"
    );
    b.set_fail_open("br0", false);
    assert_eq!(userspace_reasons(&b.translate(&k())), vec![OFPR_ACTION]);
    // A flush leaves nothing, or the NORMAL flow.
    b.flush_flows("br0", false);
    assert!(b
        .flow_stats("br0", &FlowStatsRequest::default())
        .unwrap()
        .is_empty());
    b.flush_flows("br0", true);
    let flows = b.flow_stats("br0", &FlowStatsRequest::default()).unwrap();
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].priority, 0);
    assert_eq!(
        flows[0].ofpacts,
        vec![OfpAct::Output {
            port: OFPP_NORMAL,
            max_len: 0
        }]
    );
}
