//! Tests of `xlate`: the VLAN mode matrix, action order, masks, patch ports.

use std::sync::Arc;

use datapath::{DpAction, Xlated};
use packet::flow::{FlowKey, VLAN_CFI};
use parking_lot::Mutex;
use proptest::prelude::*;

use super::*;
use crate::config::{BridgeConfig, VlanMode};
use crate::mac_learning::MacLearning;
use crate::test_util::*;

fn xconfig(bridges: &[BridgeConfig]) -> XConfig {
    XConfig::new(bridges, |_| Arc::new(Mutex::new(MacLearning::default())))
}

fn run(cfg: &XConfig, k: &FlowKey, learn: bool) -> (Xlated, XlateOutcome) {
    let mut out = Xlated::default();
    let o = xlate(cfg, k, 0, learn, &mut out);
    (out, o)
}

const MODES: [VlanMode; 4] = [
    VlanMode::Access,
    VlanMode::Trunk,
    VlanMode::NativeTagged,
    VlanMode::NativeUntagged,
];

/// How the test frame arrives.
#[derive(Clone, Copy, Debug)]
enum Input {
    Untagged,
    /// 802.1Q header with this nonzero VID and PCP 5.
    Tagged(u16),
    /// 802.1Q header with VID 0 and PCP 5.
    PriorityTagged,
}

const PCP5: u16 = 5 << 13;

impl Input {
    fn tci(self) -> u16 {
        match self {
            Input::Untagged => 0,
            Input::Tagged(v) => VLAN_CFI | PCP5 | v,
            Input::PriorityTagged => VLAN_CFI | PCP5,
        }
    }
    fn pcp(self) -> u16 {
        match self {
            Input::Untagged => 0,
            _ => PCP5,
        }
    }
}

/// Reference ingress rule, from ovs-vswitchd.conf.db(5), Port "VLAN
/// Configuration" (trunks empty = all VLANs): the VLAN of the frame, or
/// `None` if the port drops it.
/// - trunk: the VLAN of the 802.1Q header, VLAN 0 without one;
/// - access: VLAN `tag`; "any packet with an 802.1Q header with a nonzero
///   VLAN ID ... is dropped";
/// - native-*: like trunk, except a frame without an 802.1Q header is in
///   the native VLAN `tag`.
///
/// A priority-tagged frame (VID 0) "is supposed to be treated the same way
/// as a frame without an 802.1Q header" (other_config:priority-tags).
fn doc_ingress(mode: VlanMode, tag: u16, input: Input) -> Option<u16> {
    let vid = match input {
        Input::Tagged(v) => v,
        _ => 0,
    };
    match mode {
        VlanMode::Trunk => Some(vid),
        VlanMode::Access => (vid == 0).then_some(tag),
        VlanMode::NativeTagged | VlanMode::NativeUntagged => Some(if vid == 0 { tag } else { vid }),
    }
}

/// Reference egress rule: `None` if the port does not carry `vlan`, else
/// whether the frame leaves with a VLAN header.
/// - trunk: carries every VLAN (trunks empty); "will have an 802.1Q header
///   if it has a nonzero VLAN ID";
/// - access: carries only `tag`, never a header;
/// - native-tagged: carries `tag` and the trunks, always with a header;
/// - native-untagged: the same, but no header in the native VLAN.
///
/// One rule the man page does not state but OVS's `bundle_set` enforces: a
/// native port with a nonzero native VLAN does not trunk VLAN 0 (else
/// untagged VLAN 0 and native frames would be indistinguishable).
fn doc_egress(mode: VlanMode, tag: u16, vlan: u16) -> Option<bool> {
    match mode {
        // "Tagged" here; `expected` drops a header whose VID and PCP are
        // both 0, which is the man page's rule for frames of PCP 0.
        VlanMode::Trunk => Some(true),
        VlanMode::Access => (vlan == tag).then_some(false),
        VlanMode::NativeTagged => (vlan == tag || vlan != 0).then_some(true),
        VlanMode::NativeUntagged => {
            if vlan == tag {
                Some(false)
            } else {
                (vlan != 0).then_some(true)
            }
        }
    }
}

/// Expected datapath actions for one input and one output port.
fn expected(in_mode: VlanMode, input: Input, out_mode: VlanMode, out_tag: u16) -> Vec<DpAction> {
    let Some(vlan) = doc_ingress(in_mode, 10, input) else {
        return vec![];
    };
    let Some(tagged) = doc_egress(out_mode, out_tag, vlan) else {
        return vec![];
    };
    // The priority bits travel with the frame. A header whose VID and PCP
    // are both zero carries nothing and is not sent (OVS `xvlan_put`), so a
    // priority-tagged frame in VLAN 0 keeps its priority tag on a trunk.
    let out_tci = if tagged && (vlan | input.pcp()) != 0 {
        VLAN_CFI | vlan | input.pcp()
    } else {
        0
    };
    let mut v = Vec::new();
    if out_tci != input.tci() {
        if input.tci() != 0 {
            v.push(DpAction::PopVlan);
        }
        if out_tci != 0 {
            v.push(DpAction::PushVlan {
                tpid: 0x8100,
                tci: out_tci & !VLAN_CFI,
            });
        }
    }
    v.push(DpAction::Output(2));
    v
}

fn tag_for(mode: VlanMode, tag: u16) -> Option<u16> {
    (mode != VlanMode::Trunk).then_some(tag)
}

#[test]
fn vlan_mode_matrix() {
    let inputs = [
        Input::Untagged,
        Input::PriorityTagged,
        Input::Tagged(10),
        Input::Tagged(20),
    ];
    let mut checked = 0;
    for in_mode in MODES {
        for input in inputs {
            for out_mode in MODES {
                for out_tag in [10u16, 20] {
                    let br = bridge(
                        "br0",
                        vec![
                            port("in", in_mode, tag_for(in_mode, 10), &[], 1, 1),
                            port("out", out_mode, tag_for(out_mode, out_tag), &[], 2, 2),
                        ],
                    );
                    let cfg = xconfig(&[br]);
                    let k = key(1, mac(1), BROADCAST, input.tci());
                    let (out, _) = run(&cfg, &k, false);
                    let want = expected(in_mode, input, out_mode, out_tag);
                    assert_eq!(
                        out.actions, want,
                        "in {in_mode:?} {input:?} -> out {out_mode:?} tag {out_tag}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * 4 * 4 * 2);
}

#[test]
fn vlan_matrix_spot_checks() {
    // A few cells spelled out, independent of the reference functions.
    let cell = |in_mode, input: Input, out_mode, out_tag| {
        let br = bridge(
            "br0",
            vec![
                port("in", in_mode, tag_for(in_mode, 10), &[], 1, 1),
                port("out", out_mode, tag_for(out_mode, out_tag), &[], 2, 2),
            ],
        );
        run(
            &xconfig(&[br]),
            &key(1, mac(1), BROADCAST, input.tci()),
            false,
        )
        .0
        .actions
    };
    use DpAction::*;
    use VlanMode::*;
    // access 10 -> trunk: tag 10 pushed.
    assert_eq!(
        cell(Access, Input::Untagged, Trunk, 0),
        vec![
            PushVlan {
                tpid: 0x8100,
                tci: 10
            },
            Output(2)
        ]
    );
    // tagged on an access port: dropped.
    assert_eq!(cell(Access, Input::Tagged(10), Access, 10), vec![]);
    // trunk VLAN 20 -> access 20: tag popped.
    assert_eq!(
        cell(Trunk, Input::Tagged(20), Access, 20),
        vec![PopVlan, Output(2)]
    );
    // trunk VLAN 20 -> access 10: not carried.
    assert_eq!(cell(Trunk, Input::Tagged(20), Access, 10), vec![]);
    // native-untagged 10 in, untagged -> native-tagged 10 out: tagged.
    assert_eq!(
        cell(NativeUntagged, Input::Untagged, NativeTagged, 10),
        vec![
            PushVlan {
                tpid: 0x8100,
                tci: 10
            },
            Output(2)
        ]
    );
    // trunk VLAN 10 (pcp 5) -> native-untagged 10: untagged.
    assert_eq!(
        cell(Trunk, Input::Tagged(10), NativeUntagged, 10),
        vec![PopVlan, Output(2)]
    );
    // trunk VLAN 10 -> trunk: unchanged.
    assert_eq!(cell(Trunk, Input::Tagged(10), Trunk, 0), vec![Output(2)]);
    // access 10, priority-tagged pcp 5 -> trunk: retagged VLAN 10 keeping pcp.
    assert_eq!(
        cell(Access, Input::PriorityTagged, Trunk, 0),
        vec![
            PopVlan,
            PushVlan {
                tpid: 0x8100,
                tci: PCP5 | 10
            },
            Output(2)
        ]
    );
}

#[test]
fn trunk_list_filters_input_and_output() {
    // in: trunk of VLAN 10 only; out1: trunk of 20 only; out2: all.
    let br = bridge(
        "br0",
        vec![
            port("in", VlanMode::Trunk, None, &[10], 1, 1),
            port("o1", VlanMode::Trunk, None, &[20], 2, 2),
            port("o2", VlanMode::Trunk, None, &[], 3, 3),
        ],
    );
    let cfg = xconfig(&[br]);
    let t = |tci| run(&cfg, &key(1, mac(1), BROADCAST, tci), false).0.actions;
    assert_eq!(t(VLAN_CFI | 10), vec![DpAction::Output(3)]);
    assert_eq!(t(VLAN_CFI | 20), vec![], "VLAN 20 not trunked on input");
    assert_eq!(t(0), vec![], "untagged = VLAN 0, not in trunks [10]");
}

#[test]
fn native_port_trunks_native_vlan_even_if_unlisted() {
    let br = bridge(
        "br0",
        vec![
            port("in", VlanMode::Trunk, None, &[], 1, 1),
            port("nat", VlanMode::NativeTagged, Some(30), &[5], 2, 2),
        ],
    );
    let cfg = xconfig(&[br]);
    let t = |tci| run(&cfg, &key(1, mac(1), BROADCAST, tci), false).0.actions;
    assert_eq!(t(VLAN_CFI | 30), vec![DpAction::Output(2)]);
    assert_eq!(t(VLAN_CFI | 5), vec![DpAction::Output(2)]);
    assert_eq!(t(VLAN_CFI | 6), vec![]);
    assert_eq!(t(0), vec![], "VLAN 0 is never trunked by a native port");
}

#[test]
fn flood_emits_minimal_vlan_actions_in_port_order() {
    // Input untagged on access 10; outputs alternate tagged/untagged.
    let br = bridge(
        "br0",
        vec![
            port("in", VlanMode::Access, Some(10), &[], 1, 1),
            port("t", VlanMode::Trunk, None, &[], 2, 2),
            port("nt", VlanMode::NativeTagged, Some(10), &[], 3, 3),
            port("a", VlanMode::Access, Some(10), &[], 4, 4),
            port("nu", VlanMode::NativeUntagged, Some(10), &[], 5, 5),
            port("a20", VlanMode::Access, Some(20), &[], 6, 6),
            port("t2", VlanMode::Trunk, None, &[], 7, 7),
        ],
    );
    let cfg = xconfig(&[br]);
    let (out, _) = run(&cfg, &key(1, mac(1), BROADCAST, 0), false);
    let push10 = DpAction::PushVlan {
        tpid: 0x8100,
        tci: 10,
    };
    use DpAction::*;
    assert_eq!(
        out.actions,
        vec![
            push10.clone(),
            Output(2),
            Output(3),
            PopVlan,
            Output(4),
            Output(5),
            push10,
            Output(7)
        ]
    );
    // The pop consulted the whole TCI of the (untagged) input: PCP too.
    assert_eq!(out.mask.vlan_tci, 0xffff);
}

#[test]
fn partial_vlan_header_dropped() {
    let br = bridge("br0", vec![plain("p1", 1, 1), plain("p2", 2, 2)]);
    let cfg = xconfig(&[br]);
    let mut k = key(1, mac(1), BROADCAST, 0);
    k.dl_type = 0x8100;
    assert_eq!(run(&cfg, &k, false).0.actions, vec![]);
}

fn normal_mask(dl_type_ip: bool, vlan_tci: u16) -> FlowKey {
    FlowKey {
        in_port: u32::MAX,
        recirc_id: u32::MAX,
        dl_type: u16::MAX,
        nw_frag: if dl_type_ip { 3 } else { 0 },
        dl_src: [0xff; 6],
        dl_dst: [0xff; 6],
        vlan_tci,
        ..FlowKey::default()
    }
}

#[test]
fn flood_mask_is_exactly_l2() {
    let br = bridge(
        "br0",
        vec![plain("p1", 1, 1), plain("p2", 2, 2), plain("p3", 3, 3)],
    );
    let cfg = xconfig(&[br]);
    let (out, _) = run(&cfg, &key(1, mac(1), mac(9), 0), true);
    assert_eq!(out.actions, vec![DpAction::Output(2), DpAction::Output(3)]);
    assert_eq!(out.mask, normal_mask(true, 0x1fff));
    assert_eq!(out.mask.nw_src, [0; 4]);
    assert_eq!(out.mask.tp_dst, 0);
    // Non-IP: no nw_frag either.
    let mut k = key(1, mac(1), mac(9), 0);
    k.dl_type = 0x9000;
    assert_eq!(run(&cfg, &k, false).0.mask, normal_mask(false, 0x1fff));
}

#[test]
fn broadcast_arp_mask_includes_grat_arp_fields() {
    let br = bridge("br0", vec![plain("p1", 1, 1), plain("p2", 2, 2)]);
    let cfg = xconfig(&[br]);
    let arp = |dst, op| FlowKey {
        in_port: 1,
        dl_src: mac(1),
        dl_dst: dst,
        dl_type: 0x0806,
        nw_proto: op,
        nw_src: [10, 0, 0, 1],
        nw_dst: [10, 0, 0, 2],
        ..FlowKey::default()
    };
    let m = run(&cfg, &arp(BROADCAST, 1), false).0.mask;
    let mut want = normal_mask(false, 0x1fff);
    want.nw_proto = 0xff;
    want.nw_src = [0xff; 4];
    want.nw_dst = [0xff; 4];
    assert_eq!(m, want);
    let m = run(&cfg, &arp(BROADCAST, 2), false).0.mask;
    want.nw_src = [0; 4];
    want.nw_dst = [0; 4];
    assert_eq!(m, want);
    // Unicast ARP: only L2.
    assert_eq!(
        run(&cfg, &arp(mac(2), 1), false).0.mask,
        normal_mask(false, 0x1fff)
    );
}

#[test]
fn reserved_multicast_dropped_and_not_learned() {
    let br = bridge("br0", vec![plain("p1", 1, 1), plain("p2", 2, 2)]);
    let cfg = xconfig(&[br]);
    for last in 0..=0x0f {
        let (out, o) = run(
            &cfg,
            &key(1, mac(1), [0x01, 0x80, 0xc2, 0, 0, last], 0),
            true,
        );
        assert_eq!(out.actions, vec![], "01:80:c2:00:00:{last:02x}");
        assert!(!o.ml_changed);
    }
    assert!(cfg.bridges[0].ml.lock().is_empty());
    // Just outside the range: flooded.
    let (out, _) = run(
        &cfg,
        &key(1, mac(1), [0x01, 0x80, 0xc2, 0, 0, 0x10], 0),
        false,
    );
    assert_eq!(out.actions, vec![DpAction::Output(2)]);
    assert!(eth_addr_is_reserved(&[0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcd]));
    assert!(!eth_addr_is_reserved(&[0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xc8]));
}

#[test]
fn learning_then_unicast_and_no_reflection() {
    let br = bridge(
        "br0",
        vec![plain("p1", 1, 1), plain("p2", 2, 2), plain("p3", 3, 3)],
    );
    let cfg = xconfig(&[br]);
    let (_, o) = run(&cfg, &key(1, mac(1), mac(2), 0), true);
    assert!(o.ml_changed);
    // mac(2) replies: mac(1) is known on p1 -> unicast, no flood.
    let (out, o) = run(&cfg, &key(2, mac(2), mac(1), 0), true);
    assert_eq!(out.actions, vec![DpAction::Output(1)]);
    assert!(o.ml_changed);
    // Destination on the input port: dropped.
    let (out, _) = run(&cfg, &key(1, mac(3), mac(1), 0), true);
    assert_eq!(out.actions, vec![]);
    // Learned per VLAN: VLAN 5 does not know mac(1).
    let (out, _) = run(&cfg, &key(2, mac(2), mac(1), VLAN_CFI | 5), false);
    assert_eq!(out.actions, vec![DpAction::Output(1), DpAction::Output(3)]);
}

#[test]
fn unknown_in_port_and_recirc_dropped() {
    let br = bridge("br0", vec![plain("p1", 1, 1), plain("p2", 2, 2)]);
    let cfg = xconfig(&[br]);
    let (out, _) = run(&cfg, &key(99, mac(1), BROADCAST, 0), true);
    assert_eq!(out.actions, vec![]);
    assert_eq!(out.mask.in_port, u32::MAX);
    let mut k = key(1, mac(1), BROADCAST, 0);
    k.recirc_id = 7;
    assert_eq!(run(&cfg, &k, true).0.actions, vec![]);
    assert_eq!(run(&cfg, &k, true).0.mask.recirc_id, u32::MAX);
}

fn two_bridges() -> Vec<BridgeConfig> {
    vec![
        bridge(
            "br0",
            vec![plain("p1", 1, 1), patch("patch-a", 2, "patch-b")],
        ),
        bridge(
            "br1",
            vec![
                patch("patch-b", 5, "patch-a"),
                plain("p2", 1, 2),
                port("p3", VlanMode::Access, Some(7), &[], 2, 3),
            ],
        ),
    ]
}

#[test]
fn patch_port_traversal() {
    let cfg = xconfig(&two_bridges());
    // Broadcast from p1 in br0 floods to patch-a, continues in br1 from
    // patch-b (ofport 5), floods to p2 (VLAN 0 only: not the access port).
    let (out, _) = run(&cfg, &key(1, mac(1), BROADCAST, 0), true);
    assert_eq!(out.actions, vec![DpAction::Output(2)]);
    // Both bridges learned mac(1): br0 on p1, br1 on the patch port.
    assert_eq!(cfg.bridges[0].ml.lock().lookup(&mac(1), 0), Some(1));
    assert_eq!(cfg.bridges[1].ml.lock().lookup(&mac(1), 0), Some(5));
    // The reply from p2 goes straight back through the patch to p1.
    let (out, _) = run(&cfg, &key(2, mac(2), mac(1), 0), true);
    assert_eq!(out.actions, vec![DpAction::Output(1)]);
    // VLAN 7 from br1's access port goes to patch-b first (a trunk), so
    // it reaches br0 tagged and leaves by p1 (a trunk) tagged; then br1's
    // p2, also a trunk, needs no further VLAN action.
    let (out, _) = run(&cfg, &key(3, mac(3), BROADCAST, 0), true);
    assert_eq!(
        out.actions,
        vec![
            DpAction::PushVlan {
                tpid: 0x8100,
                tci: 7
            },
            DpAction::Output(1),
            DpAction::Output(2)
        ]
    );
}

#[test]
fn patch_port_without_matching_peer_drops() {
    let mut brs = two_bridges();
    brs[1].ports[0].interfaces[0].patch_peer = Some("elsewhere".into());
    let cfg = xconfig(&brs);
    assert_eq!(
        run(&cfg, &key(1, mac(1), BROADCAST, 0), true).0.actions,
        vec![]
    );
}

#[test]
fn patch_loop_is_bounded_and_drops() {
    // Two patch pairs between br0 and br1: a broadcast loops forever.
    let brs = vec![
        bridge(
            "br0",
            vec![
                plain("p1", 1, 1),
                patch("a1", 2, "b1"),
                patch("a2", 3, "b2"),
            ],
        ),
        bridge(
            "br1",
            vec![
                patch("b1", 1, "a1"),
                patch("b2", 2, "a2"),
                plain("p2", 3, 2),
            ],
        ),
    ];
    let cfg = xconfig(&brs);
    let (out, o) = run(&cfg, &key(1, mac(1), BROADCAST, 0), false);
    assert!(o.too_deep);
    assert_eq!(out.actions, vec![]);
    // A patch pair within one bridge, back to back, also terminates.
    let brs = vec![bridge(
        "br0",
        vec![plain("p1", 1, 1), patch("x", 2, "y"), patch("y", 3, "x")],
    )];
    let cfg = xconfig(&brs);
    let (_, o) = run(&cfg, &key(1, mac(1), BROADCAST, 0), false);
    assert!(o.too_deep);
}

#[test]
fn output_action_rule() {
    let br = bridge("br0", vec![plain("p1", 1, 1), plain("p2", 2, 2)]);
    let cfg = xconfig(&[br]);
    let mut fm = openflow::FlowMod {
        priority: 100,
        ofpacts: vec![
            openflow::OfpAct::Output {
                port: 2,
                max_len: 0,
            },
            openflow::OfpAct::Output {
                port: 1,
                max_len: 0,
            },
        ],
        ..Default::default()
    };
    fm.match_.set(openflow::Field::EthType, 0x0806);
    cfg.bridges[0]
        .of
        .tables
        .write()
        .flow_mod(&fm, 0, &mut Vec::new())
        .unwrap();
    let mut k = key(1, mac(1), mac(2), 0);
    k.dl_type = 0x0806;
    let (out, _) = run(&cfg, &k, true);
    assert_eq!(
        out.actions,
        vec![DpAction::Output(2)],
        "output to in_port skipped"
    );
    assert!(
        cfg.bridges[0].ml.lock().is_empty(),
        "no NORMAL, no learning"
    );
    // Other traffic falls through to NORMAL.
    let (out, _) = run(&cfg, &key(1, mac(1), mac(2), 0), true);
    assert_eq!(out.actions, vec![DpAction::Output(2)]);
}

proptest! {
    /// Megaflow soundness: any key that agrees with a translated key under
    /// its mask translates to the same actions and mask.
    #[test]
    fn mask_covers_everything_consulted(
        in_port in 1u32..5,
        src in 1u8..4, dst in prop_oneof![Just(0xffu8), 1u8..6],
        tci in prop_oneof![Just(0u16), (0u16..3, 0u16..8).prop_map(|(v, p)| VLAN_CFI | (p << 13) | [0, 10, 20][v as usize])],
        dl_type in prop_oneof![Just(0x0800u16), Just(0x0806), Just(0x86dd), Just(0x9000)],
        nw_proto in 0u8..3,
        noise in any::<[u64; 14]>(),
        learned in proptest::collection::vec((1u8..6, 1u32..5, 0u16..3), 0..6),
    ) {
        let brs = vec![bridge("br0", vec![
            port("a", VlanMode::Access, Some(10), &[], 1, 1),
            port("t", VlanMode::Trunk, None, &[], 2, 2),
            port("nt", VlanMode::NativeTagged, Some(20), &[10], 3, 3),
            port("nu", VlanMode::NativeUntagged, Some(10), &[20], 4, 4),
        ])];
        let cfg = xconfig(&brs);
        {
            let mut ml = cfg.bridges[0].ml.lock();
            for (m, p, v) in learned {
                ml.learn(&mac(m), [0, 10, 20][v as usize], p as u16, 0);
            }
        }
        let mac_of = |n: u8| if n == 0xff { BROADCAST } else { mac(n) };
        let mut k = key(in_port, mac(src), mac_of(dst), tci);
        k.dl_type = dl_type;
        k.nw_proto = nw_proto;
        let (a, _) = run(&cfg, &k, false);
        // Randomize every bit outside the mask.
        let mut k2 = k;
        for ((w, m), n) in k2.words_mut().iter_mut().zip(a.mask.words()).zip(noise) {
            *w = (*w & m) | (n & !m);
        }
        let (b, _) = run(&cfg, &k2, false);
        prop_assert_eq!(a.actions, b.actions);
        prop_assert_eq!(a.mask, b.mask);
    }
}

/// A priority-tagged frame (VID 0, PCP 1) from a trunk leaves a
/// native-tagged port tagged, a VID 0 PCP 0 one untagged: the megaflow
/// must match PCP (found by mask_covers_everything_consulted).
#[test]
fn priority_tag_output_depends_on_pcp() {
    let brs = vec![bridge(
        "br0",
        vec![
            port("a", VlanMode::Access, Some(10), &[], 1, 1),
            port("t", VlanMode::Trunk, None, &[], 2, 2),
            port("nt", VlanMode::NativeTagged, Some(20), &[10], 3, 3),
            port("nu", VlanMode::NativeUntagged, Some(10), &[20], 4, 4),
        ],
    )];
    let cfg = xconfig(&brs);
    // As in the proptest's failing case: the destination was learned on the
    // native-tagged port in VLAN 0.
    cfg.bridges[0].ml.lock().learn(&mac(1), 0, 3, 0);
    let mut k = key(2, mac(2), mac(1), VLAN_CFI | (1 << 13));
    k.dl_type = 0x0800;
    let (a, _) = run(&cfg, &k, false);
    assert_eq!(
        a.mask.vlan_tci & VLAN_PCP_MASK,
        VLAN_PCP_MASK,
        "{:?}",
        a.actions
    );
    let mut k0 = k;
    k0.vlan_tci = VLAN_CFI;
    let (b, _) = run(&cfg, &k0, false);
    assert_ne!(a.actions, b.actions, "PCP 1 keeps the tag, PCP 0 drops it");
}
