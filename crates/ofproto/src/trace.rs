//! `ofproto/trace`: explains a packet's path through a bridge's OpenFlow
//! tables in Open vSwitch's format (`ofproto/ofproto-dpif-trace.c`).
//!
//! Idea: translate the flow with tracing on (no side effects: no learning,
//! no counters), then print `Flow:`, the per-bridge/per-table lines the
//! translation produced, `Final flow:`, `Megaflow:` and `Datapath
//! actions:`. All `ovs-ofctl` syntax comes from [`openflow::text`]: the
//! flow is parsed with [`text::parse_exact_flow`] (OVS
//! `parse_ofp_exact_flow`: fields not given are 0), rule matches and
//! actions are printed with [`text::format_match`] and
//! [`text::format_actions`]. What is trace-specific lives here: OVS's
//! `flow_format` (which fields of a packet are shown) and the megaflow
//! line's presentation.
//!
//! Performance: a debugging command; allocates freely.

use std::fmt::Write as _;

use datapath::Xlated;
use openflow::flow::Flow;
use openflow::text::{self, PortNumbers};
use openflow::{Match, OfpAct};
use packet::flow::VLAN_CFI;

const ETH_TYPE_IP: u16 = 0x0800;
const ETH_TYPE_ARP: u16 = 0x0806;
const ETH_TYPE_IPV6: u16 = 0x86dd;
/// OpenFlow's default priority (`match_format` omits it).
const OFP_DEFAULT_PRIORITY: u16 = 0x8000;

/// A rule's match as the trace prints it after the table number (OVS
/// `match_format` with the default priority, which is printed separately):
/// e.g. `tcp,tp_dst=80`; empty for a catch-all.
pub fn format_match(m: &Match) -> String {
    text::format_match(m, OFP_DEFAULT_PRIORITY, None)
}

/// One action as the trace prints it on its own line (OVS
/// `ofpacts_format` of that action alone), e.g. `NORMAL`, `output:2`,
/// `resubmit(,1)`.
pub fn format_action(a: &OfpAct) -> String {
    text::format_actions(std::slice::from_ref(a), None)
}

/// Parses the flow of `ofproto/trace BRIDGE FLOW` (OVS
/// `parse_ofp_exact_flow`: `ovs-ofctl` field names and protocol
/// shorthands, every field not given is 0, `in_port` not given is
/// `OFPP_NONE`); `ports` maps the bridge's port names to OpenFlow ports so
/// that `in_port=NAME` works.
///
/// Returns the flow with `key.in_port` the **OpenFlow** port. Errors: OVS's
/// reply, `Bad openflow flow syntax: FLOW: unknown field bogus`.
pub fn parse_flow(s: &str, ports: Option<&PortNumbers>) -> Result<Flow, String> {
    text::parse_exact_flow(s, ports)
        .map(|m| m.flow)
        .map_err(|e| format!("Bad openflow flow syntax: {e}"))
}

/// The mask that makes [`text::format_match`] print a whole flow as OVS's
/// `flow_format` does: every header field that applies to the packet's
/// protocols (OVS `flow_wildcards_init_for_packet`), plus `in_port`,
/// `metadata` and registers when nonzero.
pub fn flow_mask(flow: &Flow) -> Flow {
    let f = &flow.key;
    let mut m = Flow::default();
    if f.in_port != 0 {
        m.key.in_port = u32::MAX;
    }
    if flow.metadata != 0 {
        m.metadata = u64::MAX;
    }
    for (mr, r) in m.regs.iter_mut().zip(flow.regs) {
        if r != 0 {
            *mr = u32::MAX;
        }
    }
    let k = &mut m.key;
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
            // A later fragment has no L4 header (OVS stops here).
            let l4 = f.nw_frag & 2 == 0;
            if l4 && matches!(f.nw_proto, 1 | 6 | 17 | 58 | 132) {
                k.tp_src = u16::MAX;
                k.tp_dst = u16::MAX;
            }
            if l4 && f.nw_proto == 6 {
                k.tcp_flags = 0x0fff;
            }
            // ICMPv6 neighbour discovery: target and link-layer addresses.
            if l4 && f.dl_type == ETH_TYPE_IPV6 && f.nw_proto == 58 && matches!(f.tp_src, 135 | 136)
            {
                k.nd_target = [0xff; 16];
                k.arp_sha = [0xff; 6];
                k.arp_tha = [0xff; 6];
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

/// Prints a whole flow (`Flow:` / `Final flow:`), OVS `flow_format`.
pub fn format_flow(f: &Flow) -> String {
    let m = Match::new(f, &flow_mask(f));
    format_match(&m)
}

/// Prints the trace's last lines from the translation result: `Final
/// flow:`, `Megaflow:` and `Datapath actions:`.
///
/// The `Megaflow:` line is OVS's `match_format` of the flow under the
/// translation's mask, which always matches `recirc_id` and the packet type
/// (hence the `recirc_id=0,eth,` prefix). As OVS's `xlate_wc_finish` does,
/// the VLAN TCI is left out for a packet without a VLAN header: OVS keeps
/// the TCI mask only for headers present in the packet (their absence is
/// matched through the outer Ethertype). oxvs's datapath key has no TPID,
/// so its installed mask keeps the CFI bit to tell untagged from tagged;
/// this is presentation only.
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
    if flow.key.vlan_tci & VLAN_CFI == 0 {
        mask.key.vlan_tci = 0;
    }
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

#[cfg(test)]
mod tests {
    //! The trace against Open vSwitch 3.1's own output (compat doc
    //! `openflow-clients.md` §8.3) and a multi-table pipeline.

    use std::sync::Arc;

    use openflow::msg::{FlowMod, FlowModCommand};
    use openflow::port::OFPP_NORMAL;
    use openflow::{Field, Match, OfpAct};

    use crate::clock::ManualClock;
    use crate::config::VlanMode;
    use crate::test_util::{bridge, plain, port};
    use crate::Backer;
    use openflow::port::OFPP_LOCAL;

    fn add(b: &Backer, table: u8, priority: u16, m: Match, acts: Vec<OfpAct>) {
        let fm = FlowMod {
            table_id: table,
            priority,
            match_: m,
            ofpacts: acts,
            ..FlowMod::default()
        };
        b.flow_mod("cpbr0", &fm).unwrap();
    }

    /// Bridge `cpbr0` laid out like the OVS capture: datapath port 1 is the
    /// local port, `cpv1a` (OpenFlow 1, access VLAN 5) is datapath port 2,
    /// two trunk ports are datapath ports 3 and 4; no flows.
    fn cpbr0() -> Arc<Backer> {
        let b = Backer::with_clock(Arc::new(ManualClock::new(0)));
        b.reconfigure(&[bridge(
            "cpbr0",
            vec![
                plain("cpbr0", OFPP_LOCAL, 1),
                port("cpv1a", VlanMode::Access, Some(5), &[], 1, 2),
                plain("cpv2", 2, 3),
                plain("cpv3", 3, 4),
            ],
        )]);
        let fm = FlowMod {
            command: FlowModCommand::Delete,
            table_id: 0xff,
            ..FlowMod::default()
        };
        b.flow_mod("cpbr0", &fm).unwrap();
        b
    }

    #[test]
    fn normal_example_is_ovs_output() {
        let b = cpbr0();
        add(
            &b,
            0,
            1,
            Match::catchall(),
            vec![OfpAct::Output {
                port: OFPP_NORMAL,
                max_len: 0,
            }],
        );
        let want = "\
Flow: in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000

bridge(\"cpbr0\")
---------------
 0. priority 1
    NORMAL
     -> no learned MAC for destination, flooding

Final flow: unchanged
Megaflow: recirc_id=0,eth,in_port=1,dl_src=00:00:00:00:00:00,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000
Datapath actions: push_vlan(vid=5,pcp=0),1,3,4
";
        let got = b
            .trace("cpbr0", "in_port=1,dl_dst=ff:ff:ff:ff:ff:ff")
            .unwrap();
        assert_eq!(got, want);
        // The port may be named, as OVS allows.
        let by_name = b.trace("cpbr0", "in_port=cpv1a,dl_dst=ff:ff:ff:ff:ff:ff");
        assert_eq!(by_name.unwrap(), want);
    }

    #[test]
    fn drop_example_is_ovs_output() {
        let b = cpbr0();
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0800);
        m.set(Field::IpProto, 6);
        m.set(Field::TcpDst, 80);
        add(&b, 0, 0x8000, m, vec![]);
        let got = b
            .trace("cpbr0", "in_port=1,tcp,nw_dst=192.168.2.2,tp_dst=80")
            .unwrap();
        assert_eq!(
            got,
            "\
Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=192.168.2.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0

bridge(\"cpbr0\")
---------------
 0. tcp,tp_dst=80, priority 32768
    drop

Final flow: unchanged
Megaflow: recirc_id=0,eth,tcp,in_port=1,nw_frag=no,tp_dst=80
Datapath actions: drop
"
        );
    }

    /// Captured from Open vSwitch 3.1 (`ovs-appctl ofproto/trace cpbr0
    /// in_port=cpv2,ip,nw_ttl=64`) with these three tables: goto_table with
    /// metadata, resubmit to a table that resubmits to an empty table, and a
    /// set-field after the last output (never committed).
    #[test]
    fn goto_table_and_resubmit_pipeline() {
        let b = Backer::with_clock(Arc::new(ManualClock::new(0)));
        b.reconfigure(&[bridge(
            "cpbr0",
            vec![
                port("cpv1a", VlanMode::Access, Some(5), &[], 1, 1),
                plain("cpv2", 2, 2),
                plain("cpv3", 3, 3),
                plain("cpbr0", OFPP_LOCAL, 4),
            ],
        )]);
        let mut m0 = Match::catchall();
        m0.set(Field::InPort, 2);
        let write_metadata = OfpAct::WriteMetadata {
            value: 0x5,
            mask: u64::MAX,
        };
        add(&b, 0, 100, m0, vec![write_metadata, OfpAct::GotoTable(1)]);
        let mut m1 = Match::catchall();
        m1.set(Field::Metadata, 0x5);
        let resubmit = |t| OfpAct::Resubmit {
            in_port: None,
            table: Some(t),
        };
        let out3 = OfpAct::Output {
            port: 3,
            max_len: 0,
        };
        add(&b, 1, 200, m1, vec![out3, resubmit(2)]);
        let mod_dst = OfpAct::SetEthDst([0x02, 0, 0, 0, 0, 9]);
        add(&b, 2, 0x8000, Match::catchall(), vec![mod_dst, resubmit(3)]);
        let got = b.trace("cpbr0", "in_port=cpv2,ip,nw_ttl=64").unwrap();
        assert_eq!(
            got,
            "\
Flow: ip,in_port=2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no

bridge(\"cpbr0\")
---------------
 0. in_port=2, priority 100
    write_metadata:0x5
    goto_table:1
 1. metadata=0x5, priority 200
    output:3
    resubmit(,2)
 2. priority 32768
    mod_dl_dst:02:00:00:00:00:09
    resubmit(,3)
 3. No match.
    drop

Final flow: ip,metadata=0x5,in_port=2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=02:00:00:00:00:09,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no
Megaflow: recirc_id=0,eth,ip,in_port=2,dl_dst=00:00:00:00:00:00,nw_frag=no
Datapath actions: 3
"
        );
    }

    #[test]
    fn flow_syntax_errors_are_ovs_replies() {
        let b = cpbr0();
        assert_eq!(
            b.trace("nope", "in_port=1").unwrap_err(),
            "nope: unknown bridge\n"
        );
        assert_eq!(
            b.trace("cpbr0", "in_port=1,bogus=3").unwrap_err(),
            "Bad openflow flow syntax: in_port=1,bogus=3: unknown field bogus\n"
        );
        assert_eq!(
            b.trace("cpbr0", "tp_dst=80,tcp").unwrap_err(),
            "Bad openflow flow syntax: tp_dst=80,tcp: prerequisites not met for setting tp_dst\n"
        );
        assert_eq!(
            b.trace("cpbr0", "udp,tp_dst=53").unwrap_err(),
            "Bad openflow flow syntax: udp,tp_dst=53: prerequisites not met for setting tp_dst\n"
        );
        assert_eq!(
            b.trace("cpbr0", "tcp,tp_dst=80/0xff").unwrap_err(),
            "Bad openflow flow syntax: tcp,tp_dst=80/0xff: bad value for tp_dst (80/0xff: wildcards not allowed here)\n"
        );
        assert_eq!(
            b.trace("cpbr0", "in_port=nosuch").unwrap_err(),
            "Bad openflow flow syntax: in_port=nosuch: bad value for in_port (nosuch: invalid or unknown port for in_port)\n"
        );
    }
}
