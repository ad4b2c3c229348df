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

/// A received Ethernet frame as OVS's `ofp_packet_to_string` prints it
/// (the line `ovs-ofctl monitor` shows under a packet-in): the fields
/// `flow_extract` finds, in [`format_flow`]'s form (no `in_port`: the frame
/// alone has none), then the L4 checksum in hex when the transport header
/// is complete: ` tcp_csum:`, ` udp_csum:`, ` sctp_csum:`, ` icmp_csum:` or
/// ` icmp6_csum:`; newline-terminated. E.g. `icmp,vlan_tci=0x0000,…,
/// icmp_type=8,icmp_code=0 icmp_csum:ba0`.
///
/// A frame the datapath would drop as malformed (e.g. truncated by a
/// controller action's `max_len` inside its IP header) shows what OVS's
/// parser keeps in that case: the Ethernet and VLAN fields only.
pub fn packet_to_string(frame: &[u8]) -> String {
    use packet::extract::extract_with_layers;
    let (key, layers) = match extract_with_layers(frame, 0) {
        Ok(x) => x,
        Err(_) => (l2_only(frame), Default::default()),
    };
    let flow = Flow::from_key(&key, 0);
    let mut s = format_flow(&flow);
    if let Some(l4) = layers.l4_ofs.map(usize::from) {
        // dp_packet_l4_size: up to the end of the IP packet (trailing
        // Ethernet padding excluded).
        let l3 = layers.l3_ofs.map_or(0, usize::from);
        let ip_end = match key.dl_type {
            ETH_TYPE_IP => frame
                .get(l3 + 2..l3 + 4)
                .map(|b| l3 + usize::from(u16::from_be_bytes([b[0], b[1]]))),
            ETH_TYPE_IPV6 => frame
                .get(l3 + 4..l3 + 6)
                .map(|b| l3 + 40 + usize::from(u16::from_be_bytes([b[0], b[1]]))),
            _ => None,
        }
        .unwrap_or(frame.len())
        .min(frame.len());
        let l4_size = ip_end.saturating_sub(l4);
        let be16_at = |off: usize| {
            frame
                .get(l4 + off..l4 + off + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        let csum = match key.nw_proto {
            6 if l4_size >= 20 => be16_at(16).map(|c| format!(" tcp_csum:{c:x}")),
            17 if l4_size >= 8 => be16_at(6).map(|c| format!(" udp_csum:{c:x}")),
            132 if l4_size >= 12 => frame.get(l4 + 8..l4 + 12).map(|b| {
                format!(
                    " sctp_csum:{:x}",
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
                )
            }),
            1 if l4_size >= 8 => be16_at(2).map(|c| format!(" icmp_csum:{c:x}")),
            58 if l4_size >= 4 => be16_at(2).map(|c| format!(" icmp6_csum:{c:x}")),
            _ => None,
        };
        if let Some(c) = csum {
            s.push_str(&c);
        }
    }
    s.push('\n');
    s
}

/// The Ethernet/VLAN fields of a frame whose network header is unusable
/// (OVS `miniflow_extract` stops after L2 in that case).
fn l2_only(frame: &[u8]) -> packet::flow::FlowKey {
    let mut k = packet::flow::FlowKey::default();
    if frame.len() < 14 {
        return k;
    }
    k.dl_dst.copy_from_slice(&frame[0..6]);
    k.dl_src.copy_from_slice(&frame[6..12]);
    k.dl_type = u16::from_be_bytes([frame[12], frame[13]]);
    if k.dl_type == 0x8100 && frame.len() >= 18 {
        k.vlan_tci = u16::from_be_bytes([frame[14], frame[15]]) | VLAN_CFI;
        k.dl_type = u16::from_be_bytes([frame[16], frame[17]]);
    }
    if k.dl_type < 0x600 {
        k.dl_type = packet::flow::FLOW_DL_TYPE_NONE;
    }
    k
}

/// What a trace node is (OVS `enum oftrace_node_type`); it decides how the
/// node is printed and whether it counts as "terminal" for indentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// `bridge("NAME")` with a line of dashes under it, after a blank line.
    Bridge,
    /// A table lookup: ` 0. MATCH, priority P` or ` 3. No match.`; its
    /// children are the rule's actions and what they caused.
    Table,
    /// An OpenFlow action, printed as is.
    Action,
    /// An explanation, printed ` -> TEXT`.
    Detail,
    /// A warning, printed ` >> TEXT`.
    Warn,
    /// An error, printed ` >>>> TEXT <<<<`.
    Error,
}

impl NodeKind {
    /// OVS `oftrace_node_type_is_terminal`: actions and notes never have
    /// children of their own (what an action causes is appended after it).
    fn is_terminal(self) -> bool {
        !matches!(self, NodeKind::Bridge | NodeKind::Table)
    }
}

#[derive(Debug)]
struct TraceNode {
    kind: NodeKind,
    text: String,
    subs: Vec<usize>,
}

/// The tree a traced translation builds (OVS's list of `oftrace_node`s):
/// nodes are appended to the current list, which is the top level or the
/// children of the last table/bridge entered. A resubmit's or goto_table's
/// table node is appended *after* the action in the same list, so its
/// depth on screen depends on whether more nodes follow it (see
/// [`TraceTree::render`]).
#[derive(Debug, Default)]
pub struct TraceTree {
    nodes: Vec<TraceNode>,
    root: Vec<usize>,
    cur: Option<usize>,
}

impl TraceTree {
    /// Appends a node to the current list; returns its index (for
    /// [`TraceTree::enter`]).
    pub fn report(&mut self, kind: NodeKind, text: impl Into<String>) -> usize {
        let i = self.nodes.len();
        self.nodes.push(TraceNode {
            kind,
            text: text.into(),
            subs: Vec::new(),
        });
        match self.cur {
            Some(c) => self.nodes[c].subs.push(i),
            None => self.root.push(i),
        }
        i
    }

    /// Makes node `i`'s children the current list; returns the previous
    /// current list for [`TraceTree::leave`].
    pub fn enter(&mut self, i: usize) -> Option<usize> {
        self.cur.replace(i)
    }

    /// Restores the current list saved by [`TraceTree::enter`].
    pub fn leave(&mut self, saved: Option<usize>) {
        self.cur = saved;
    }

    /// The tree as lines (without newlines), OVS
    /// `oftrace_node_print_details`: a node of a list at `level` is
    /// indented `(level + more) * 4` spaces, where `more` is 1 if another
    /// node follows it in its list or it is terminal (an action or note),
    /// and its children are printed at `level + 2 * more`.
    pub fn render(&self, out: &mut Vec<String>) {
        self.render_list(&self.root, 0, out);
    }

    fn render_list(&self, list: &[usize], level: usize, out: &mut Vec<String>) {
        for (pos, &i) in list.iter().enumerate() {
            let Some(n) = self.nodes.get(i) else {
                continue;
            };
            let more = usize::from(pos + 1 < list.len() || n.kind.is_terminal());
            let pad = (level + more) * 4;
            let text = &n.text;
            match n.kind {
                NodeKind::Bridge => {
                    out.push(String::new());
                    out.push(format!("{:pad$}{text}", ""));
                    out.push(format!("{:pad$}{}", "", "-".repeat(text.len())));
                }
                NodeKind::Table | NodeKind::Action => out.push(format!("{:pad$}{text}", "")),
                NodeKind::Detail => out.push(format!("{:pad$} -> {text}", "")),
                NodeKind::Warn => out.push(format!("{:pad$} >> {text}", "")),
                NodeKind::Error => out.push(format!("{:pad$} >>>> {text} <<<<", "")),
            }
            self.render_list(&n.subs, level + 2 * more, out);
        }
    }
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
            match a {
                // OVS 3.1's trace prints its controller actions with
                // `dont_send=1` (the trace sends nothing).
                datapath::DpAction::Userspace { userdata } => {
                    match datapath::ControllerUserdata::from_userdata(*userdata) {
                        Some(c) => {
                            let _ = write!(
                                acts,
                                "userspace(pid=0,controller(reason={},dont_send=1,continuation=0,recirc_id={},rule_cookie=0,controller_id={},max_len={}))",
                                c.reason, c.recirc_id, c.controller_id, c.max_len
                            );
                        }
                        None => datapath::upcall::format_action(&mut acts, a),
                    }
                }
                _ => datapath::upcall::format_action(&mut acts, a),
            }
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

    /// Nested, non-trailing resubmits and a goto_table, three levels deep,
    /// with `metadata`/`reg3` given in the trace flow. Expected text captured
    /// from Open vSwitch 3.1 (`ovs-appctl ofproto/trace lb0
    /// in_port=2,ip,reg3=0x9,metadata=0x4` on a netdev bridge with OpenFlow
    /// ports 1 = p2 (datapath 2), 2 = vl0, these five flows added with
    /// `ovs-ofctl -O OpenFlow13 add-flows`); the bridge is named cpbr0 here
    /// (the `add` helper's), so its header line differs from the capture's.
    ///
    /// OVS's rule (`oftrace_node_print_details`): a node is indented
    /// `(level + more) * 4` where `more` = "not the last node of its list, or
    /// an action/detail"; its children are at `level + 2 * more`. A resubmit's
    /// table node is appended after the resubmit action in the same list, so
    /// a non-trailing resubmit's table prints at `(L+1)*4` and its actions at
    /// `(L+3)*4` (12 spaces under a top-level table), a trailing one or a
    /// goto_table's at `L*4` ([`super::TraceTree::render`]). The trace
    /// flow's metadata and registers enter the pipeline, and "skipping
    /// output to input port" is a warning (` >> `).
    #[test]
    fn nested_resubmit_indentation_is_ovs_output() {
        let b = Backer::with_clock(Arc::new(ManualClock::new(0)));
        b.reconfigure(&[bridge(
            "cpbr0",
            vec![
                plain("cpbr0", OFPP_LOCAL, 1),
                plain("p2", 1, 2),
                plain("vl0", 2, 3),
            ],
        )]);
        let resubmit = |t| OfpAct::Resubmit {
            in_port: None,
            table: Some(t),
        };
        let out = |port| OfpAct::Output { port, max_len: 0 };
        let mut m0 = Match::catchall();
        m0.set(Field::InPort, 2);
        add(&b, 0, 10, m0, vec![resubmit(1), out(1)]);
        // Added in OpenFlow 1.3, mod_dl_src is kept as a set_field.
        let set_src = OfpAct::SetField {
            field: Field::EthSrc,
            value: 0x0200_0000_0001,
            mask: 0xffff_ffff_ffff,
        };
        add(
            &b,
            1,
            10,
            Match::catchall(),
            vec![resubmit(2), set_src, OfpAct::GotoTable(4)],
        );
        let reg2 = OfpAct::SetField {
            field: Field::Reg(2),
            value: 7,
            mask: u128::from(u32::MAX),
        };
        add(&b, 2, 10, Match::catchall(), vec![resubmit(3), reg2]);
        add(&b, 3, 10, Match::catchall(), vec![out(1)]);
        add(&b, 4, 10, Match::catchall(), vec![out(2)]);
        let got = b
            .trace("cpbr0", "in_port=2,ip,reg3=0x9,metadata=0x4")
            .unwrap();
        assert_eq!(
            got,
            "\
Flow: ip,reg3=0x9,metadata=0x4,in_port=2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no

bridge(\"cpbr0\")
---------------
 0. in_port=2, priority 10
    resubmit(,1)
     1. priority 10
            resubmit(,2)
             2. priority 10
                    resubmit(,3)
                     3. priority 10
                            output:1
                    set_field:0x7->reg2
            set_field:02:00:00:00:00:01->eth_src
            goto_table:4
         4. priority 10
            output:2
             >> skipping output to input port
    output:1

Final flow: ip,reg2=0x7,reg3=0x9,metadata=0x4,in_port=2,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no
Megaflow: recirc_id=0,eth,ip,in_port=2,dl_src=00:00:00:00:00:00,nw_frag=no
Datapath actions: 2,set(eth(src=02:00:00:00:00:01)),2
"
        );
    }

    /// Bridge `tb0` laid out like the OVS 3.1 bench bridge the captures
    /// below come from (netdev datapath: LOCAL is datapath port 1, internal
    /// ports tp1–tp3 are OpenFlow 1–3 on datapath ports 2–4), with `flows`
    /// (`ovs-ofctl -O OpenFlow13 add-flows` lines) as its only flows;
    /// returns `ofproto/trace tb0 FLOW`.
    fn tb0_trace(flows: &str, flow: &str) -> String {
        use openflow::text::{parse_flow, FlowUsage};
        let b = Backer::with_clock(Arc::new(ManualClock::new(0)));
        b.reconfigure(&[bridge(
            "tb0",
            vec![
                plain("tb0", OFPP_LOCAL, 1),
                plain("tp1", 1, 2),
                plain("tp2", 2, 3),
                plain("tp3", 3, 4),
            ],
        )]);
        let del = FlowMod {
            command: FlowModCommand::Delete,
            table_id: 0xff,
            ..FlowMod::default()
        };
        b.flow_mod("tb0", &del).unwrap();
        for line in flows.lines() {
            let spec = parse_flow(line, FlowUsage::Add, 4, None).unwrap();
            b.flow_mod("tb0", &spec.to_flow_mod(FlowModCommand::Add, 4))
                .unwrap();
        }
        b.trace("tb0", flow).unwrap()
    }

    // Captured from Open vSwitch 3.1 (`ovs-appctl ofproto/trace tb0 FLOW`
    // after `ovs-ofctl -O OpenFlow13 add-flows tb0` of the same lines, on
    // a private ovs-vswitchd with a netdev bridge tb0 and internal ports
    // tp1-tp3 at ofport_request 1-3).

    #[test]
    fn resubmits_to_missing_and_nested_tables() {
        let flows = "table=0,in_port=1,actions=resubmit(,5),resubmit(,1),output:2\ntable=1,actions=output:3,resubmit(,2),output:1\ntable=2,actions=set_field:02:00:00:00:00:09->eth_dst,resubmit(,3)";
        let want = r#"Flow: ip,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no

bridge("tb0")
-------------
 0. in_port=1, priority 32768
    resubmit(,5)
     5. No match.
            drop
    resubmit(,1)
     1. priority 32768
            output:3
            resubmit(,2)
             2. priority 32768
                    set_field:02:00:00:00:00:09->eth_dst
                    resubmit(,3)
                 3. No match.
                    drop
            output:1
             >> skipping output to input port
    output:2

Final flow: ip,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=02:00:00:00:00:09,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no
Megaflow: recirc_id=0,eth,ip,in_port=1,dl_dst=00:00:00:00:00:00,nw_frag=no
Datapath actions: 4,set(eth(dst=02:00:00:00:00:09)),3
"#;
        assert_eq!(tb0_trace(flows, "in_port=1,ip"), want);
    }

    #[test]
    fn goto_table_chain_with_action_set() {
        let flows = "table=0,in_port=1,actions=write_actions(output:3),goto_table:1\ntable=1,tcp,actions=load:0x5->NXM_NX_REG0[],goto_table:2\ntable=2,reg0=5,actions=output:2,goto_table:3";
        let want = r#"Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0

bridge("tb0")
-------------
 0. in_port=1, priority 32768
    write_actions(output:3)
     -> action set is: output:3
    goto_table:1
     1. tcp, priority 32768
            load:0x5->NXM_NX_REG0[]
            goto_table:2
         2. reg0=0x5, priority 32768
            output:2
            goto_table:3
         3. No match.
            drop
--. Executing action set:
    output:3

Final flow: tcp,reg0=0x5,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,tcp,in_port=1,nw_frag=no
Datapath actions: 3,4
"#;
        assert_eq!(tb0_trace(flows, "in_port=1,tcp,tp_dst=80"), want);
    }

    #[test]
    fn controller_in_port_normal_and_action_set() {
        let flows = "table=0,priority=5,in_port=1,actions=controller,resubmit(,1),NORMAL\ntable=1,actions=output:in_port,clear_actions,write_actions(output:2,set_field:5->reg1)";
        let want = r#"Flow: in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000

bridge("tb0")
-------------
 0. in_port=1, priority 5
    CONTROLLER:65535
    resubmit(,1)
     1. priority 32768
            IN_PORT
            clear_actions
             -> action set was empty
            write_actions(output:2,set_field:0x5->reg1)
             -> action set is: set_field:0x5->reg1,output:2
    NORMAL
     -> no learned MAC for destination, flooding
--. Executing action set:
    set_field:0x5->reg1
    output:2

Final flow: reg1=0x5,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000
Megaflow: recirc_id=0,eth,in_port=1,dl_src=00:00:00:00:00:00,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000
Datapath actions: userspace(pid=0,controller(reason=1,dont_send=1,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535)),2,1,3,4,3
"#;
        assert_eq!(tb0_trace(flows, "in_port=1,dl_dst=ff:ff:ff:ff:ff:ff"), want);
    }

    #[test]
    fn clear_actions_reports_the_old_set() {
        let flows = "table=0,in_port=1,actions=write_actions(output:3),goto_table:1\ntable=1,actions=output:2,clear_actions";
        let want = r#"Flow: in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,dl_type=0x0000

bridge("tb0")
-------------
 0. in_port=1, priority 32768
    write_actions(output:3)
     -> action set is: output:3
    goto_table:1
 1. priority 32768
    output:2
    clear_actions
     -> action set was: output:3

Final flow: unchanged
Megaflow: recirc_id=0,eth,in_port=1,dl_type=0x0000
Datapath actions: 3
"#;
        assert_eq!(tb0_trace(flows, "in_port=1"), want);
    }

    /// A patch port: the peer bridge's node follows the output action in
    /// the same list (captured as above, with a second netdev bridge tb1
    /// whose patch port pb (OpenFlow 1) peers with tb0's pa (OpenFlow 4),
    /// an internal port tq1 (OpenFlow 2, datapath 5) and LOCAL at datapath
    /// 6; tb1's flows added by plain `ovs-ofctl add-flows`, which sends
    /// `mod_nw_ttl:9` as the `load` shown).
    #[test]
    fn patch_port_bridge_is_nested_under_the_output() {
        use crate::test_util::patch;
        let b = Backer::with_clock(Arc::new(ManualClock::new(0)));
        b.reconfigure(&[
            bridge(
                "tb0",
                vec![
                    plain("tb0", OFPP_LOCAL, 1),
                    plain("tp1", 1, 2),
                    plain("tp2", 2, 3),
                    plain("tp3", 3, 4),
                    patch("pa", 4, "pb"),
                ],
            ),
            bridge(
                "tb1",
                vec![
                    patch("pb", 1, "pa"),
                    plain("tq1", 2, 5),
                    plain("tb1", OFPP_LOCAL, 6),
                ],
            ),
        ]);
        let flows = [
            ("tb0", "table=0,in_port=1,actions=output:4,output:2"),
            ("tb1", "in_port=1,actions=resubmit(,1),output:2"),
            ("tb1", "table=1,ip,actions=load:0x9->NXM_NX_IP_TTL[]"),
        ];
        for br in ["tb0", "tb1"] {
            let del = FlowMod {
                command: FlowModCommand::Delete,
                table_id: 0xff,
                ..FlowMod::default()
            };
            b.flow_mod(br, &del).unwrap();
        }
        for (br, line) in flows {
            let spec =
                openflow::text::parse_flow(line, openflow::text::FlowUsage::Add, 4, None).unwrap();
            b.flow_mod(br, &spec.to_flow_mod(FlowModCommand::Add, 4))
                .unwrap();
        }
        let want = r#"Flow: ip,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no

bridge("tb0")
-------------
 0. in_port=1, priority 32768
    output:4

    bridge("tb1")
    -------------
         0. in_port=1, priority 32768
            resubmit(,1)
             1. ip, priority 32768
                    load:0x9->NXM_NX_IP_TTL[]
            output:2
    output:2

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_proto=0,nw_ttl=64,nw_frag=no
Datapath actions: 5,3
"#;
        assert_eq!(b.trace("tb0", "in_port=1,ip,nw_ttl=64").unwrap(), want);
    }

    /// A resubmit loop: OVS prints table 1 65 times (the depth limit), then
    /// the error, the trailer and a last line saying the translation
    /// failed; the repeated pairs are generated, the rest is as captured.
    #[test]
    fn resubmit_loop_is_an_error() {
        let flows = "table=0,actions=resubmit(,1),output:3\ntable=1,actions=resubmit(,1)";
        let head = r#"Flow: udp,in_port=2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=0

bridge("tb0")
-------------
 0. priority 32768
    resubmit(,1)
"#;
        let tail = r#"     >>>> over max translation depth 64 <<<<

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=2,nw_frag=no
Datapath actions: drop
Translation failed (Recursion too deep), packet is dropped.
"#;
        let want = format!(
            "{head}{}{tail}",
            " 1. priority 32768\n    resubmit(,1)\n".repeat(65)
        );
        assert_eq!(tb0_trace(flows, "in_port=2,udp"), want);
    }

    /// Frames and the line Open vSwitch 3.1 printed under their packet-in
    /// (`ovs-ofctl -m monitor BR 65535` on a netdev bridge, flow
    /// `actions=controller`, traffic from a namespace: ping, UDP, TCP SYN,
    /// ARP request, IPv6 neighbour solicitation); the frames are the hex
    /// dumps it printed.
    const OVS_PACKET_LINES: [(&str, &str); 5] = [
        ("027700000002027700000001080045000054d4d64000400151360a4d00010a4d00020800a2900d1b00012589026b00000000548c0d0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
         "icmp,vlan_tci=0x0000,dl_src=02:77:00:00:00:01,dl_dst=02:77:00:00:00:02,nw_src=10.77.0.1,nw_dst=10.77.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,icmp_type=8,icmp_code=0 icmp_csum:a290"),
        ("02770000000202770000000108004500001fd8c5400040114d6c0a4d00010a4d0002bcd51388000b14b968690a",
         "udp,vlan_tci=0x0000,dl_src=02:77:00:00:00:01,dl_dst=02:77:00:00:00:02,nw_src=10.77.0.1,nw_dst=10.77.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=48341,tp_dst=5000 udp_csum:14b9"),
        ("02770000000202770000000108004500003c598b40004006cc940a4d00010a4d000280760050e5fbcc4a00000000a002faf014cb0000020405b40402080a3f4b33bc000000000103030a",
         "tcp,vlan_tci=0x0000,dl_src=02:77:00:00:00:01,dl_dst=02:77:00:00:00:02,nw_src=10.77.0.1,nw_dst=10.77.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=32886,tp_dst=80,tcp_flags=syn tcp_csum:14cb"),
        ("ffffffffffff027700000001080600010800060400010277000000010a4d00010000000000000a4d0003",
         "arp,vlan_tci=0x0000,dl_src=02:77:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.77.0.1,arp_tpa=10.77.0.3,arp_op=1,arp_sha=02:77:00:00:00:01,arp_tha=00:00:00:00:00:00"),
        ("3333ff00000102770000000186dd6000000000203afffe80000000000000007700fffe000001ff0200000000000000000001ff00000187007aab00000000fe8000000000000000000000000000010101027700000001",
         "icmp6,vlan_tci=0x0000,dl_src=02:77:00:00:00:01,dl_dst=33:33:ff:00:00:01,ipv6_src=fe80::77:ff:fe00:1,ipv6_dst=ff02::1:ff00:1,ipv6_label=0x00000,nw_tos=0,nw_ecn=0,nw_ttl=255,nw_frag=no,icmp_type=135,icmp_code=0,nd_target=fe80::1,nd_sll=02:77:00:00:00:01,nd_tll=00:00:00:00:00:00 icmp6_csum:7aab"),
    ];

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn packet_lines_are_ovs_output() {
        for (hex, want) in OVS_PACKET_LINES {
            assert_eq!(super::packet_to_string(&unhex(hex)), format!("{want}\n"));
        }
    }

    /// Every truncation of the captured frames prints something (no panic);
    /// a frame cut inside its IP header keeps its Ethernet fields only, and
    /// a checksum is shown only when the whole L4 header is there.
    #[test]
    fn truncated_packets_do_not_panic() {
        for (hex, _) in OVS_PACKET_LINES {
            let frame = unhex(hex);
            for n in 0..frame.len() {
                let line = super::packet_to_string(&frame[..n]);
                assert!(line.ends_with('\n'));
            }
        }
        let icmp = unhex(OVS_PACKET_LINES[0].0);
        assert_eq!(
            super::packet_to_string(&icmp[..40]),
            "ip,vlan_tci=0x0000,dl_src=02:77:00:00:00:01,dl_dst=02:77:00:00:00:02,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no\n"
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
