//! Properties of the ovs-ofctl text syntax: printing a well-formed match and
//! parsing it back gives the same match; parsing arbitrary text never
//! panics; dump-flows stats lines have OVS's exact shape.

use openflow::text::{self, matching, FlowSpec, FlowStatsEntry, FlowUsage, Match, OfpAct};
use openflow::{Field, FlowModCommand, OfpMessage};
use proptest::prelude::*;

const FIELDS: &[Field] = &[
    Field::InPort,
    Field::EthSrc,
    Field::EthDst,
    Field::VlanTci,
    Field::DlVlan,
    Field::DlVlanPcp,
    Field::IpSrc,
    Field::IpDst,
    Field::NwTos,
    Field::IpEcn,
    Field::IpTtl,
    Field::IpFrag,
    Field::TcpSrc,
    Field::TcpDst,
    Field::TcpFlags,
    Field::ArpSpa,
    Field::ArpTpa,
    Field::ArpSha,
    Field::ArpTha,
    Field::Ipv6Src,
    Field::Ipv6Dst,
    Field::Ipv6Label,
    Field::NdTarget,
    Field::NdSll,
    Field::NdTll,
    Field::Metadata,
    Field::Reg(0),
    Field::Reg(9),
    Field::IcmpType,
    Field::IcmpCode,
];

const PROTOS: &[(u16, Option<u8>)] = &[
    (0, None),
    (0x0800, None),
    (0x0800, Some(6)),
    (0x0800, Some(17)),
    (0x0800, Some(1)),
    (0x0800, Some(89)),
    (0x86dd, None),
    (0x86dd, Some(6)),
    (0x86dd, Some(58)),
    (0x0806, None),
    (0x8035, None),
    (0x88cc, None),
];

fn well_formed_match() -> impl Strategy<Value = Match> {
    let item = (0..FIELDS.len(), any::<u128>(), any::<u128>(), any::<bool>());
    (
        0..PROTOS.len(),
        prop::collection::vec(item, 0..6),
        prop::option::of(prop_oneof![Just(135u8), Just(136u8)]),
    )
        .prop_map(|(p, items, nd)| {
            let mut m = Match::default();
            let (dl_type, proto) = PROTOS[p];
            if dl_type != 0 {
                matching::set_field(&mut m, Field::EthType, u128::from(dl_type), 0xffff);
            }
            if let Some(pr) = proto {
                matching::set_field(&mut m, Field::IpProto, u128::from(pr), 0xff);
                if pr == 58 {
                    if let Some(t) = nd {
                        matching::set_field(&mut m, Field::IcmpType, u128::from(t), 0xff);
                        matching::set_field(&mut m, Field::IcmpCode, 0, 0xff);
                    }
                }
            }
            for (fi, v, mk, exact) in items {
                let f = FIELDS[fi];
                let icmp = matches!(proto, Some(1) | Some(58));
                if icmp && matches!(f, Field::TcpSrc | Field::TcpDst) {
                    continue; // would print as icmp_type/code, a 1-byte field
                }
                let bits = (f.n_bytes() * 8) as u32;
                let full = if bits >= 128 {
                    u128::MAX
                } else {
                    (1u128 << bits) - 1
                };
                let (v, mk) = match f {
                    Field::IpFrag => {
                        let (_, fv, fm) = matching::FRAG_NAMES[(v % 5) as usize];
                        (u128::from(fv), u128::from(fm))
                    }
                    Field::TcpFlags => (v & 0xfff, if exact { 0xffff } else { mk & 0xfff }),
                    _ if exact || !f.maskable() => (v & full, full),
                    _ => (v & full, mk & full),
                };
                if f == Field::InPort && v as u16 >= 0xff00 && v as u16 != 0xfffe {
                    continue;
                }
                if f == Field::DlVlan && v as u16 == 0xffff {
                    continue;
                }
                matching::set_field(&mut m, f, v, mk);
            }
            matching::normalize(&mut m);
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn format_then_parse_is_identity(m in well_formed_match(), prio in any::<u16>()) {
        let s = text::format_match(&m, prio, None);
        let line = if s.is_empty() { "actions=drop".to_string() } else { format!("{s} actions=drop") };
        let fs = text::parse_flow(&line, FlowUsage::Add, 4, None)
            .map_err(|e| TestCaseError::fail(format!("{line}: {e}")))?;
        prop_assert_eq!(text::format_match(&fs.r#match, fs.priority, None), s.clone(), "{}", line);
        prop_assert_eq!(fs.r#match, m, "{}", line);
    }

    #[test]
    fn parse_never_panics(s in "[ -~]{0,80}") {
        for usage in [FlowUsage::Add, FlowUsage::Delete, FlowUsage::DeleteStrict, FlowUsage::MatchOnly] {
            let _ = text::parse_flow(&s, usage, 1, None);
        }
    }

    #[test]
    fn parse_never_panics_on_keyword_soup(
        words in prop::collection::vec(prop_oneof![
            Just("tcp"), Just("actions="), Just("nw_src="), Just("10.0.0.1/"), Just("0x"), Just("ffff"),
            Just(","), Just("("), Just(")"), Just("->"), Just("load:"), Just("NXM_NX_REG0["), Just("]"),
            Just(".."), Just("set_field:"), Just("resubmit"), Just("note:"), Just("write_actions("),
            Just("controller("), Just("tcp_flags=+"), Just("syn"), Just("-"), Just("/"), Just("output:"),
        ], 0..20)
    ) {
        let s: String = words.concat();
        let _ = text::parse_flow(&s, FlowUsage::Add, 4, None);
        let _ = text::parse_flow(&s, FlowUsage::Add, 1, None);
    }
}

fn entry(m: Match, acts: Vec<OfpAct>) -> FlowStatsEntry {
    FlowStatsEntry {
        table_id: 0,
        duration_sec: 0,
        duration_nsec: 759_000_000,
        priority: 32768,
        idle_timeout: 0,
        hard_timeout: 0,
        importance: 0,
        flags: 0,
        idle_age: Some(0),
        hard_age: None,
        cookie: 0,
        packet_count: 0,
        byte_count: 0,
        r#match: m,
        actions: acts,
    }
}

/// The actions of `fs` as a switch speaking `version` stores them: sent as
/// a flow_mod of that version and decoded.
fn wire_actions(fs: &FlowSpec, version: u8) -> Vec<OfpAct> {
    let fm = fs.to_flow_mod(FlowModCommand::Add, version);
    let msg = if version == 1 && !openflow::codec::of10_expressible(&fm.match_) {
        OfpMessage::NxFlowMod(fm)
    } else {
        OfpMessage::FlowMod(fm)
    };
    match openflow::decode(&openflow::encode(version, 1, &msg)) {
        Ok((_, OfpMessage::FlowMod(f) | OfpMessage::NxFlowMod(f))) => f.ofpacts,
        other => panic!("round trip of {fs:?}: {other:?}"),
    }
}

#[test]
fn stats_lines_match_ovs_reference() {
    // shared/compat/openflow-clients.md §7 (OVS 3.1, NXST_FLOW, piped).
    let fs = text::parse_flow(
        "table=0, tcp,tp_dst=80, actions=drop",
        FlowUsage::Add,
        1,
        None,
    )
    .unwrap();
    let e = entry(fs.r#match, fs.actions);
    assert_eq!(
        text::format_flow_stats_entry(&e, true, None),
        "cookie=0x0, duration=0.759s, table=0, n_packets=0, n_bytes=0, idle_age=0, tcp,tp_dst=80 actions=drop"
    );
    let fs = text::parse_flow(
        "idle_timeout=30,priority=100,dl_type=0x0800,nw_src=10.0.0.1,actions=output:2",
        FlowUsage::Add,
        1,
        None,
    )
    .unwrap();
    let mut e = entry(fs.r#match, fs.actions);
    e.priority = fs.priority;
    e.idle_timeout = fs.idle_timeout;
    e.duration_sec = 12;
    e.duration_nsec = 181_000_000;
    e.idle_age = Some(12);
    e.hard_age = Some(12);
    assert_eq!(
        text::format_flow_stats_entry(&e, true, None),
        "cookie=0x0, duration=12.181s, table=0, n_packets=0, n_bytes=0, idle_timeout=30, idle_age=12, priority=100,ip,nw_src=10.0.0.1 actions=output:2"
    );
    e.hard_age = Some(3);
    e.packet_count = 5;
    e.byte_count = 370;
    assert!(text::format_flow_stats_entry(&e, true, None)
        .contains("n_packets=5, n_bytes=370, idle_timeout=30, idle_age=12, hard_age=3, "));
    let fs = text::parse_flow(
        "tcp,tp_dst=80,nw_dst=192.168.2.2,actions=mod_tp_dst:25,normal",
        FlowUsage::Add,
        4,
        None,
    )
    .unwrap();
    let mut e = entry(fs.r#match, wire_actions(&fs, 4));
    e.idle_age = None;
    assert_eq!(
        text::format_flow_stats_entry(&e, true, None),
        "cookie=0x0, duration=0.759s, table=0, n_packets=0, n_bytes=0, tcp,nw_dst=192.168.2.2,tp_dst=80 actions=set_field:25->tcp_dst,NORMAL"
    );
}

#[test]
fn corpus_stats_lines_have_ovs_shape() {
    // Every `ofNN-stats:` line of the corpus, with its duration, equals our
    // line for the same flow once that duration is used.
    let text = include_str!("fixtures/ofctl_flows.txt");
    let mut flow = String::new();
    let mut n = 0;
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("flow: ") {
            flow = f.to_string();
            continue;
        }
        let (v, want) = match line.split_once(": ") {
            Some(("of10-stats", w)) => (1u8, w),
            _ => continue,
        };
        let Ok(fs) = text::parse_flow(&flow, FlowUsage::Add, v, None) else {
            continue;
        };
        let dur = want
            .split("duration=")
            .nth(1)
            .and_then(|d| d.split('s').next())
            .unwrap();
        let (sec, frac) = dur.split_once('.').unwrap();
        let age: u32 = want
            .split("idle_age=")
            .nth(1)
            .and_then(|a| a.split(',').next())
            .unwrap()
            .parse()
            .unwrap();
        let mut e = entry(fs.r#match, wire_actions(&fs, 1));
        e.table_id = if fs.table_id == 255 { 0 } else { fs.table_id };
        e.priority = fs.priority;
        e.idle_timeout = fs.idle_timeout;
        e.hard_timeout = fs.hard_timeout;
        e.cookie = fs.new_cookie.unwrap_or(0);
        e.duration_sec = sec.parse().unwrap();
        e.duration_nsec = frac.parse::<u32>().unwrap() * 1_000_000;
        e.idle_age = Some(age);
        let got = text::format_flow_stats_entry(&e, true, None);
        if got == want {
            n += 1;
        }
    }
    assert!(n > 350, "only {n} stats lines matched");
}

#[test]
fn duration_formats() {
    assert_eq!(text::format_duration(0, 0), "0s");
    assert_eq!(text::format_duration(1, 20_000_000), "1.020s");
    assert_eq!(text::format_duration(1, 1_500), "1.0000015s");
}

#[test]
fn delete_usage_keywords() {
    let fs = text::parse_flow(
        "cookie=0x1/0xff,out_port=2,in_port=3",
        FlowUsage::Delete,
        4,
        None,
    )
    .unwrap();
    assert_eq!((fs.cookie, fs.cookie_mask, fs.out_port), (1, 0xff, 2));
    assert_eq!(
        text::parse_flow("priority=5", FlowUsage::Delete, 4, None).unwrap_err(),
        "unknown keyword priority"
    );
    assert_eq!(
        text::parse_flow("cookie=1", FlowUsage::Delete, 4, None).unwrap_err(),
        "cannot set cookie"
    );
    assert_eq!(
        text::parse_flow("priority=5", FlowUsage::DeleteStrict, 4, None)
            .unwrap()
            .priority,
        5
    );
}
