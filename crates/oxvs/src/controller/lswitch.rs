//! The learning switch behind `oxvs controller`: what to send a switch when
//! it connects and when it sends a packet-in (OVS `lib/learning-switch.c`).
//!
//! Idea: one [`LSwitch`] per switch connection, holding that datapath's MAC
//! table. A packet-in is decided in three steps, as OVS's
//! `process_packet_in`: learn `dl_src` → `in_port`; choose the output
//! (`OFPP_NONE` for reserved multicast destinations and for a destination
//! learned on the input port, the learned port, else `OFPP_FLOOD`); then
//! either install a flow for the packet's own flow (idle timeout
//! `--max-idle`) that also releases a buffered packet, followed by a
//! packet-out of the data when the switch did not buffer it, or — when the
//! destination is unknown or `--noflow` — only a packet-out. A hub has no
//! MAC table and floods everything (installing flood flows unless
//! `--noflow`).
//!
//! The flow's match is the packet's flow under OpenFlow 1.0 wildcards (0 =
//! exact on every OpenFlow 1.0 field), normalized so that fields the packet
//! does not have are left out: OVS's `match_init(flow, wc)` with
//! `ofputil_wildcard_from_ofpfw10`, whatever version the connection speaks.
//!
//! Everything here is pure (no I/O, time passed in): the connection code in
//! `conn.rs` sends what these functions return.

use ofproto::mac_learning::{MacLearning, MAC_DEFAULT_MAX, MAC_ENTRY_DEFAULT_IDLE_TIME};
use ofproto::xlate::eth_addr_is_reserved;
use openflow::actions::{OfpAct, OFPCML_NO_BUFFER, OFPR_ACTION, OFPR_NO_MATCH};
use openflow::codec::{self, ofpfw10};
use openflow::msg::{
    FlowMod, FlowModCommand, OfpMessage, PacketIn, PacketOut, SwitchConfig, NO_BUFFER, NXFF_NXM,
    OFPTT_ALL,
};
use openflow::port::{OFPP_CONTROLLER, OFPP_FLOOD, OFPP_MAX, OFPP_NONE, OFPP_NORMAL};
use openflow::text::act::proto;
use openflow::text::FlowSpec;
use openflow::{Flow, Match};
use packet::flow::FlowKey;

/// How packets are forwarded (OVS `enum lswitch_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Learn MAC addresses; output to the learned port, flood unknowns.
    Learn,
    /// Learn, but output known destinations to `OFPP_NORMAL` (`--normal`).
    Normal,
    /// A hub: no learning, flood everything (`--hub`).
    Hub,
}

/// Behaviour of the controller, shared by every switch connection.
#[derive(Clone, Debug)]
pub struct Config {
    /// Forwarding mode.
    pub mode: Mode,
    /// OpenFlow 1.0 wildcard bits (`ofpfw10`) of the flows set up; 0 = exact.
    pub wildcards: u32,
    /// Idle timeout of the flows set up, seconds (0 = permanent); `None` =
    /// `--noflow` (never set up flows).
    pub max_idle: Option<u16>,
    /// OpenFlow queue to output to (`--queue`); `None` = the default queue.
    pub queue: Option<u32>,
    /// Flows added on every switch at connect time (`--with-flows`).
    pub default_flows: Vec<FlowSpec>,
    /// `--mute`: after the handshake, answer and process nothing.
    pub mute: bool,
}

/// `miss_send_len` and the table-miss flow's `max_len`: the whole packet.
/// (ovs-testcontroller uses 128; a switch that truncates without buffering
/// would then make the packet-out carry a cut frame.)
pub const MISS_SEND_LEN: u16 = OFPCML_NO_BUFFER;

/// Priority of the flows set up for packets (above the table-miss flow).
pub const FLOW_PRIORITY: u16 = 1;

/// The mask that OpenFlow 1.0 wildcard bits `wc` leave (OVS
/// `ofputil_wildcard_from_ofpfw10`): `nw_tos` is the DSCP bits only, the
/// VLAN TCI mask is built from DL_VLAN (VID + CFI) and DL_VLAN_PCP (PCP +
/// CFI), `nw_src`/`nw_dst` keep the prefix their 6-bit field leaves.
pub fn of10_mask(wc: u32) -> Flow {
    use ofpfw10 as fw;
    let on = |bit: u32| wc & bit == 0;
    let prefix = |shift: u32| {
        let ignored = (wc >> shift) & 0x3f;
        u32::MAX.checked_shl(ignored).unwrap_or(0).to_be_bytes()
    };
    let mut m = Flow::default();
    let k = &mut m.key;
    if on(fw::IN_PORT) {
        k.in_port = 0xffff;
    }
    if on(fw::DL_SRC) {
        k.dl_src = [0xff; 6];
    }
    if on(fw::DL_DST) {
        k.dl_dst = [0xff; 6];
    }
    if on(fw::DL_VLAN_PCP) {
        k.vlan_tci |= 0xf000;
    }
    if on(fw::DL_VLAN) {
        k.vlan_tci |= 0x1fff;
    }
    if on(fw::DL_TYPE) {
        k.dl_type = 0xffff;
    }
    if on(fw::NW_TOS) {
        k.nw_tos = 0xfc;
    }
    if on(fw::NW_PROTO) {
        k.nw_proto = 0xff;
    }
    k.nw_src = prefix(fw::NW_SRC_SHIFT);
    k.nw_dst = prefix(fw::NW_DST_SHIFT);
    if on(fw::TP_SRC) {
        k.tp_src = 0xffff;
    }
    if on(fw::TP_DST) {
        k.tp_dst = 0xffff;
    }
    m
}

/// The match for packets of `flow` under OpenFlow 1.0 wildcards `wc`,
/// without the fields the packet does not have (OVS `match_init` +
/// `ofputil_normalize_match_quiet`).
pub fn packet_match(flow: &Flow, wc: u32) -> Match {
    let mut m = Match::new(flow, &of10_mask(wc));
    m.normalize();
    m
}

/// The messages that start the conversation on a connection speaking wire
/// `version`: FEATURES_REQUEST, SET_CONFIG, for OpenFlow 1.3 and later a
/// table-miss flow to the controller (those versions drop misses
/// otherwise), then the `--with-flows` flows (on OpenFlow 1.0 preceded by
/// the Nicira messages they need: flow_mod table id, NXM flow format).
/// Flows the version cannot carry are left out and returned as warnings.
pub fn handshake(cfg: &Config, version: u8) -> (Vec<OfpMessage>, Vec<String>) {
    let mut out = vec![
        OfpMessage::FeaturesRequest,
        OfpMessage::SetConfig(SwitchConfig {
            flags: 0,
            miss_send_len: MISS_SEND_LEN,
        }),
    ];
    if version >= openflow::msg::OFP13_VERSION {
        out.push(OfpMessage::FlowMod(FlowMod {
            priority: 0,
            table_id: 0,
            ofpacts: vec![OfpAct::Output {
                port: OFPP_CONTROLLER,
                max_len: MISS_SEND_LEN,
            }],
            ..FlowMod::default()
        }));
    }
    let mut warnings = Vec::new();
    let (mut table_id_on, mut nxm_on) = (false, false);
    for spec in &cfg.default_flows {
        let fm = spec.to_flow_mod(FlowModCommand::Add, version);
        if version == openflow::msg::OFP10_VERSION {
            let need_nxm = spec.usable_protocols & proto::OF10_STD == 0
                || !codec::of10_expressible(&spec.r#match);
            if need_nxm && spec.usable_protocols & proto::OF10_NXM == 0 {
                warnings.push("a --with-flows flow cannot be sent with OpenFlow 1.0".into());
                continue;
            }
            if spec.table_id != OFPTT_ALL && !table_id_on {
                out.push(OfpMessage::NxFlowModTableId(true));
                table_id_on = true;
            }
            if need_nxm && !nxm_on {
                out.push(OfpMessage::NxSetFlowFormat(NXFF_NXM));
                nxm_on = true;
            }
            out.push(if need_nxm {
                OfpMessage::NxFlowMod(fm)
            } else {
                OfpMessage::FlowMod(fm)
            });
        } else {
            let bit = match version {
                4 => proto::OF13,
                5 => proto::OF14,
                _ => proto::OF15,
            };
            if spec.usable_protocols & bit == 0
                || codec::check_encodable(&fm.ofpacts, version).is_err()
            {
                warnings.push(format!(
                    "a --with-flows flow cannot be sent with {}",
                    version_name(version)
                ));
                continue;
            }
            out.push(OfpMessage::FlowMod(fm));
        }
    }
    (out, warnings)
}

/// `OpenFlow10`… for a wire version, as `-O` spells it.
pub fn version_name(version: u8) -> String {
    match version {
        1 => "OpenFlow10".into(),
        2 => "OpenFlow11".into(),
        3 => "OpenFlow12".into(),
        4 => "OpenFlow13".into(),
        5 => "OpenFlow14".into(),
        6 => "OpenFlow15".into(),
        v => format!("version 0x{v:02x}"),
    }
}

/// An Ethernet address as `aa:bb:cc:dd:ee:ff`.
pub fn fmt_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// The state kept for one connected switch.
pub struct LSwitch {
    /// The MAC table (`None` for a hub).
    macs: Option<MacLearning>,
}

/// What a packet-in led to.
#[derive(Debug, Default)]
pub struct Decision {
    /// `(mac, port)` when the source address was learned or moved.
    pub learned: Option<([u8; 6], u16)>,
    /// Messages to send (flow_mod and/or packet_out).
    pub msgs: Vec<OfpMessage>,
}

impl LSwitch {
    /// A switch with an empty MAC table (aging 300 s, 8192 entries, as
    /// ovs-testcontroller's).
    pub fn new(cfg: &Config) -> LSwitch {
        let macs = (cfg.mode != Mode::Hub)
            .then(|| MacLearning::new(MAC_ENTRY_DEFAULT_IDLE_TIME, MAC_DEFAULT_MAX));
        LSwitch { macs }
    }

    /// Learns from `flow` and picks its output port (OVS
    /// `lswitch_choose_destination`); `now` is in seconds.
    fn choose_destination(
        &mut self,
        cfg: &Config,
        flow: &Flow,
        now: u64,
        learned: &mut Option<([u8; 6], u16)>,
    ) -> u16 {
        let in_port = flow.in_port();
        let (src, dst) = (flow.key.dl_src, flow.key.dl_dst);
        if let Some(macs) = &mut self.macs {
            macs.run(now);
            let before = macs.lookup(&src, 0);
            macs.learn(&src, 0, in_port, now);
            if before != Some(in_port) && macs.lookup(&src, 0) == Some(in_port) {
                *learned = Some((src, in_port));
            }
        }
        if eth_addr_is_reserved(&dst) {
            return OFPP_NONE;
        }
        let out = match self.macs.as_ref().and_then(|m| m.lookup(&dst, 0)) {
            Some(p) if p == in_port => return OFPP_NONE,
            Some(p) => p,
            None => OFPP_FLOOD,
        };
        if cfg.mode == Mode::Normal && out != OFPP_FLOOD {
            return OFPP_NORMAL;
        }
        out
    }

    /// Handles a packet-in (OVS `process_packet_in`); `now` is a monotonic
    /// time in seconds. Packet-ins for other reasons than a table miss or an
    /// output to the controller (such as invalid TTL), and frames whose
    /// flow cannot be extracted, are ignored.
    ///
    /// ovs-testcontroller only takes `OFPR_NO_MATCH`; an output to the
    /// controller from a table-miss flow is accepted too, because some
    /// switches report it as `OFPR_ACTION`.
    pub fn packet_in(&mut self, cfg: &Config, pi: &PacketIn, now: u64) -> Decision {
        let mut d = Decision::default();
        if pi.reason != OFPR_NO_MATCH && pi.reason != OFPR_ACTION {
            return d;
        }
        let in_port = pi.metadata.flow.in_port();
        let Ok(key) = FlowKey::extract(&pi.data, u32::from(in_port)) else {
            return d;
        };
        let flow = Flow::from_key(&key, in_port);
        let out_port = self.choose_destination(cfg, &flow, now, &mut d.learned);
        let actions = match (out_port, cfg.queue) {
            (OFPP_NONE, _) => Vec::new(),
            (port, Some(queue)) if port < OFPP_MAX => vec![OfpAct::Enqueue { port, queue }],
            (port, _) => vec![OfpAct::Output { port, max_len: 0 }],
        };
        let packet_out = PacketOut {
            buffer_id: pi.buffer_id,
            in_port,
            ofpacts: actions.clone(),
            data: if pi.buffer_id == NO_BUFFER {
                pi.data.clone()
            } else {
                Vec::new()
            },
        };
        let set_up_flow = match cfg.max_idle {
            Some(_) => self.macs.is_none() || out_port != OFPP_FLOOD,
            None => false,
        };
        match set_up_flow {
            true => {
                d.msgs.push(OfpMessage::FlowMod(FlowMod {
                    priority: FLOW_PRIORITY,
                    table_id: 0,
                    idle_timeout: cfg.max_idle.unwrap_or(0),
                    buffer_id: pi.buffer_id,
                    match_: packet_match(&flow, cfg.wildcards),
                    ofpacts: actions,
                    ..FlowMod::default()
                }));
                if pi.buffer_id == NO_BUFFER && out_port != OFPP_NONE {
                    d.msgs.push(OfpMessage::PacketOut(packet_out));
                }
            }
            false => {
                if pi.buffer_id != NO_BUFFER || out_port != OFPP_NONE {
                    d.msgs.push(OfpMessage::PacketOut(packet_out));
                }
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openflow::mf::Field;

    const H1: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
    const H2: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

    fn cfg(mode: Mode) -> Config {
        Config {
            mode,
            wildcards: 0,
            max_idle: Some(60),
            queue: None,
            default_flows: Vec::new(),
            mute: false,
        }
    }

    /// An ICMP echo request frame (Ethernet + IPv4 + ICMP, 42 bytes).
    fn icmp(src: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 10, 0, 0, 1,
            10, 0, 0, 2,
        ]);
        f.extend_from_slice(&[8, 0, 0xf7, 0xff, 0, 0, 0, 0]);
        f
    }

    fn pin(in_port: u16, data: Vec<u8>, buffer_id: u32) -> PacketIn {
        let mut metadata = Match::catchall();
        metadata.set(Field::InPort, in_port.into());
        PacketIn {
            buffer_id,
            total_len: data.len() as u32,
            reason: OFPR_NO_MATCH,
            metadata,
            data,
            ..PacketIn::default()
        }
    }

    #[test]
    fn unknown_destination_floods_without_flow_then_known_installs_exact_flow() {
        let c = cfg(Mode::Learn);
        let mut sw = LSwitch::new(&c);
        let d = sw.packet_in(&c, &pin(1, icmp(H1, H2), NO_BUFFER), 10);
        assert_eq!(d.learned, Some((H1, 1)));
        assert_eq!(d.msgs.len(), 1);
        let OfpMessage::PacketOut(po) = &d.msgs[0] else {
            panic!("{:?}", d.msgs)
        };
        assert_eq!(po.in_port, 1);
        assert_eq!(
            po.ofpacts,
            vec![OfpAct::Output {
                port: OFPP_FLOOD,
                max_len: 0
            }]
        );
        assert_eq!(po.data.len(), 42);

        let d = sw.packet_in(&c, &pin(2, icmp(H2, H1), NO_BUFFER), 11);
        assert_eq!(d.learned, Some((H2, 2)));
        let [OfpMessage::FlowMod(fm), OfpMessage::PacketOut(po)] = &d.msgs[..] else {
            panic!("{:?}", d.msgs)
        };
        assert_eq!(fm.priority, FLOW_PRIORITY);
        assert_eq!(fm.idle_timeout, 60);
        assert_eq!(
            fm.ofpacts,
            vec![OfpAct::Output {
                port: 1,
                max_len: 0
            }]
        );
        let m = &fm.match_;
        assert_eq!(m.exact(Field::InPort), Some(2));
        assert_eq!(m.exact(Field::EthSrc), Some(0x0200_0000_0002));
        assert_eq!(m.exact(Field::EthDst), Some(0x0200_0000_0001));
        assert_eq!(m.exact(Field::EthType), Some(0x0800));
        assert_eq!(m.exact(Field::IpProto), Some(1));
        assert_eq!(m.exact(Field::IpSrc), Some(0x0a00_0001));
        assert_eq!(m.exact(Field::IcmpType), Some(8));
        assert_eq!(m.get(Field::VlanTci), (0, 0xffff));
        assert!(!m.is_set(Field::IpTtl), "TTL is not an OpenFlow 1.0 field");
        assert_eq!(po.ofpacts, fm.ofpacts);
        // The same source again on the same port is not "learned" again.
        let d = sw.packet_in(&c, &pin(2, icmp(H2, H1), NO_BUFFER), 12);
        assert_eq!(d.learned, None);
    }

    #[test]
    fn buffered_packet_rides_on_the_flow_mod() {
        let c = cfg(Mode::Learn);
        let mut sw = LSwitch::new(&c);
        sw.packet_in(&c, &pin(1, icmp(H1, H2), NO_BUFFER), 0);
        let d = sw.packet_in(&c, &pin(2, icmp(H2, H1), 77), 0);
        let [OfpMessage::FlowMod(fm)] = &d.msgs[..] else {
            panic!("{:?}", d.msgs)
        };
        assert_eq!(fm.buffer_id, 77);
        // Unknown destination, buffered: the packet-out names the buffer, no data.
        let d = sw.packet_in(&c, &pin(2, icmp(H2, [2, 0, 0, 0, 0, 9]), 78), 0);
        let [OfpMessage::PacketOut(po)] = &d.msgs[..] else {
            panic!("{:?}", d.msgs)
        };
        assert_eq!((po.buffer_id, po.data.len()), (78, 0));
    }

    #[test]
    fn hub_floods_and_noflow_never_installs() {
        let mut c = cfg(Mode::Hub);
        let mut sw = LSwitch::new(&c);
        for _ in 0..2 {
            let d = sw.packet_in(&c, &pin(1, icmp(H1, H2), NO_BUFFER), 0);
            assert_eq!(d.learned, None);
            let [OfpMessage::FlowMod(fm), OfpMessage::PacketOut(_)] = &d.msgs[..] else {
                panic!("{:?}", d.msgs)
            };
            assert_eq!(
                fm.ofpacts,
                vec![OfpAct::Output {
                    port: OFPP_FLOOD,
                    max_len: 0
                }]
            );
        }
        c.max_idle = None;
        let d = sw.packet_in(&c, &pin(1, icmp(H1, H2), NO_BUFFER), 0);
        assert!(matches!(&d.msgs[..], [OfpMessage::PacketOut(_)]));
    }

    #[test]
    fn reserved_and_hairpin_destinations_are_dropped() {
        let c = cfg(Mode::Learn);
        let mut sw = LSwitch::new(&c);
        // An STP BPDU address: a drop flow, no packet-out (as OVS).
        let d = sw.packet_in(
            &c,
            &pin(1, icmp(H1, [0x01, 0x80, 0xc2, 0, 0, 0]), NO_BUFFER),
            0,
        );
        let [OfpMessage::FlowMod(fm)] = &d.msgs[..] else {
            panic!("{:?}", d.msgs)
        };
        assert!(fm.ofpacts.is_empty());
        let mut noflow = c.clone();
        noflow.max_idle = None;
        let bpdu = pin(1, icmp(H1, [0x01, 0x80, 0xc2, 0, 0, 0]), NO_BUFFER);
        assert!(sw.packet_in(&noflow, &bpdu, 0).msgs.is_empty());
        // H2 learned on port 1, then a packet from port 1 to H2: a drop flow.
        sw.packet_in(&c, &pin(1, icmp(H2, H1), NO_BUFFER), 0);
        let d = sw.packet_in(&c, &pin(1, icmp(H1, H2), NO_BUFFER), 0);
        let [OfpMessage::FlowMod(fm)] = &d.msgs[..] else {
            panic!("{:?}", d.msgs)
        };
        assert!(fm.ofpacts.is_empty());
    }

    #[test]
    fn normal_mode_queue_and_ignored_reasons() {
        let mut c = cfg(Mode::Normal);
        let mut sw = LSwitch::new(&c);
        sw.packet_in(&c, &pin(1, icmp(H1, H2), NO_BUFFER), 0);
        let d = sw.packet_in(&c, &pin(2, icmp(H2, H1), NO_BUFFER), 0);
        let OfpMessage::FlowMod(fm) = &d.msgs[0] else {
            panic!()
        };
        assert_eq!(
            fm.ofpacts,
            vec![OfpAct::Output {
                port: OFPP_NORMAL,
                max_len: 0
            }]
        );
        c.mode = Mode::Learn;
        c.queue = Some(3);
        let mut sw = LSwitch::new(&c);
        sw.packet_in(&c, &pin(1, icmp(H1, H2), NO_BUFFER), 0);
        let d = sw.packet_in(&c, &pin(2, icmp(H2, H1), NO_BUFFER), 0);
        let OfpMessage::FlowMod(fm) = &d.msgs[0] else {
            panic!()
        };
        assert_eq!(fm.ofpacts, vec![OfpAct::Enqueue { port: 1, queue: 3 }]);
        let mut p = pin(1, icmp(H1, H2), NO_BUFFER);
        p.reason = openflow::actions::OFPR_INVALID_TTL;
        assert!(sw.packet_in(&c, &p, 0).msgs.is_empty());
        // A frame too short to be Ethernet is ignored, not a panic.
        assert!(sw
            .packet_in(&c, &pin(1, vec![1, 2, 3], NO_BUFFER), 0)
            .msgs
            .is_empty());
    }

    #[test]
    fn wildcards_drop_fields_as_ovs_l2_mask() {
        // ovs-testcontroller's `-w` mask: L2 only (in_port, dl_src, dl_dst, dl_vlan).
        let wc = ofpfw10::DL_TYPE
            | ofpfw10::DL_VLAN_PCP
            | (32 << ofpfw10::NW_SRC_SHIFT)
            | (32 << ofpfw10::NW_DST_SHIFT)
            | ofpfw10::NW_TOS
            | ofpfw10::NW_PROTO
            | ofpfw10::TP_SRC
            | ofpfw10::TP_DST;
        let key = FlowKey::extract(&icmp(H1, H2), 5).unwrap();
        let m = packet_match(&Flow::from_key(&key, 5), wc);
        assert_eq!(m.exact(Field::InPort), Some(5));
        assert!(m.is_exact(Field::EthSrc) && m.is_exact(Field::EthDst));
        assert!(!m.is_set(Field::EthType) && !m.is_set(Field::IpSrc));
        assert_eq!(m.get(Field::VlanTci), (0, 0x1fff));
    }

    #[test]
    fn handshake_per_version() {
        let c = cfg(Mode::Learn);
        let (m10, _) = handshake(&c, 1);
        assert!(matches!(
            &m10[..],
            [
                OfpMessage::FeaturesRequest,
                OfpMessage::SetConfig(SwitchConfig {
                    miss_send_len: MISS_SEND_LEN,
                    ..
                })
            ]
        ));
        let (m13, _) = handshake(&c, 4);
        let [_, _, OfpMessage::FlowMod(miss)] = &m13[..] else {
            panic!("{m13:?}")
        };
        assert_eq!(miss.priority, 0);
        assert!(miss.match_.is_catchall());
    }

    #[test]
    fn with_flows_on_openflow10_enable_the_extensions_they_need() {
        let parse =
            |s| openflow::text::parse_flow(s, openflow::text::FlowUsage::Add, 0, None).unwrap();
        let mut c = cfg(Mode::Learn);
        c.default_flows = vec![
            parse("priority=5,arp,actions=drop"),
            parse("table=0,ipv6,ipv6_dst=::1,actions=drop"),
        ];
        let (m, w) = handshake(&c, 1);
        assert!(w.is_empty());
        assert!(matches!(
            &m[2..],
            [
                OfpMessage::FlowMod(_),
                OfpMessage::NxFlowModTableId(true),
                OfpMessage::NxSetFlowFormat(NXFF_NXM),
                OfpMessage::NxFlowMod(_)
            ]
        ));
        let (m, _) = handshake(&c, 4);
        assert_eq!(m.len(), 5);
    }
}
