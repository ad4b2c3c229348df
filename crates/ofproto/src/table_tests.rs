//! Tests of the flow tables: flow_mod semantics, stats, timeouts.

use super::*;
use openflow::msg::FlowModCommand::*;
use openflow::port::{OFPP_CONTROLLER, OFPP_NORMAL};

const S: u64 = 1_000_000_000;

fn out(port: u16) -> OfpAct {
    OfpAct::Output { port, max_len: 0 }
}

fn m_in_port(p: u16) -> Match {
    let mut m = Match::catchall();
    m.set(Field::InPort, u128::from(p));
    m
}

fn m_tcp_dst(p: u16) -> Match {
    let mut m = Match::catchall();
    m.set(Field::EthType, 0x0800);
    m.set(Field::IpProto, 6);
    m.set(Field::TcpDst, u128::from(p));
    m
}

fn fm(cmd: FlowModCommand, m: Match, acts: Vec<OfpAct>) -> FlowMod {
    FlowMod {
        command: cmd,
        match_: m,
        ofpacts: acts,
        ..FlowMod::default()
    }
}

fn apply(t: &mut OfTables, f: &FlowMod, now: u64) -> Result<Vec<FlowRemoved>, OfpError> {
    let mut r = Vec::new();
    t.flow_mod(f, now, &mut r)?;
    Ok(r)
}

fn dump(t: &OfTables, now: u64) -> Vec<FlowStats> {
    t.flow_stats(&FlowStatsRequest::default(), now)
}

/// (table, priority, cookie, actions) of every flow.
fn summary(t: &OfTables) -> Vec<(u8, u16, u64, Vec<OfpAct>)> {
    dump(t, 0)
        .into_iter()
        .map(|f| (f.table_id, f.priority, f.cookie, f.ofpacts))
        .collect()
}

fn credit_all(t: &OfTables, packets: u64) {
    for id in 0..N_TABLES as u8 {
        if let Some(tb) = t.table(id) {
            for r in tb.iter() {
                r.payload().credit(packets, packets * 100, 0);
            }
        }
    }
}

#[test]
fn new_bridge_has_default_normal_flow() {
    let t = OfTables::new(0);
    assert_eq!(summary(&t), vec![(0, 0, 0, vec![out(OFPP_NORMAL)])]);
    assert!(dump(&t, 0)[0].match_.is_catchall());
}

#[test]
fn add_replaces_identical_and_keeps_counts_unless_reset() {
    let mut t = OfTables::new(0);
    apply(&mut t, &fm(Add, m_in_port(1), vec![out(2)]), 0).unwrap();
    credit_all(&t, 3);
    apply(&mut t, &fm(Add, m_in_port(1), vec![out(3)]), 5 * S).unwrap();
    let d = dump(&t, 6 * S);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].ofpacts, vec![out(3)]);
    assert_eq!(d[0].packet_count, 3, "counters carried over");
    assert_eq!(d[0].duration_sec, 1, "add resets the creation time");
    let mut f = fm(Add, m_in_port(1), vec![out(4)]);
    f.flags = OFPFF_RESET_COUNTS;
    apply(&mut t, &f, 6 * S).unwrap();
    assert_eq!(dump(&t, 6 * S)[0].packet_count, 0);
    // A different priority is a different rule.
    let mut f = fm(Add, m_in_port(1), vec![]);
    f.priority = 7;
    apply(&mut t, &f, 0).unwrap();
    assert_eq!(t.n_rules(), 3);
}

#[test]
fn check_overlap() {
    let mut t = OfTables::new(0);
    apply(&mut t, &fm(Add, m_tcp_dst(80), vec![]), 0).unwrap();
    let mut f = fm(Add, m_in_port(1), vec![out(2)]);
    f.flags = OFPFF_CHECK_OVERLAP;
    assert_eq!(
        apply(&mut t, &f, 0),
        Err(OfpError::FLOW_MOD_FAILED_OVERLAP),
        "in_port=1 and tcp,tp_dst=80 can both match a packet"
    );
    f.priority = 1;
    assert!(apply(&mut t, &f, 0).is_ok(), "other priority: no overlap");
    let mut g = fm(Add, m_tcp_dst(81), vec![]);
    g.flags = OFPFF_CHECK_OVERLAP;
    assert!(apply(&mut t, &g, 0).is_ok(), "disjoint matches");
    assert_eq!(t.n_rules(), 4);
}

#[test]
fn modify_loose_strict_and_cookie_filter() {
    let mut t = OfTables::new(0);
    let mut a = fm(Add, m_tcp_dst(80), vec![out(1)]);
    a.cookie = 0x10;
    apply(&mut t, &a, 0).unwrap();
    let mut b = fm(Add, m_tcp_dst(81), vec![out(1)]);
    b.cookie = 0x20;
    b.priority = 5;
    apply(&mut t, &b, 0).unwrap();
    // Loose modify on `tcp` selects both (and not the catch-all NORMAL rule).
    let mut tcp = Match::catchall();
    tcp.set(Field::EthType, 0x0800);
    tcp.set(Field::IpProto, 6);
    let mut m = fm(Modify, tcp, vec![out(9)]);
    m.table_id = 0;
    apply(&mut t, &m, S).unwrap();
    let s = summary(&t);
    assert_eq!(s.iter().filter(|x| x.3 == vec![out(9)]).count(), 2);
    assert_eq!(s.last().unwrap().3, vec![out(OFPP_NORMAL)]);
    // Cookie filter: only cookie 0x20.
    let mut m = fm(Modify, tcp, vec![out(7)]);
    m.table_id = 0;
    m.cookie = 0x20;
    m.cookie_mask = u64::MAX;
    apply(&mut t, &m, S).unwrap();
    let s = summary(&t);
    assert!(s.contains(&(0, 5, 0x20, vec![out(7)])));
    assert!(s.contains(&(0, 0x8000, 0x10, vec![out(9)])));
    // Strict needs the exact match and priority.
    let mut m = fm(ModifyStrict, m_tcp_dst(81), vec![out(6)]);
    m.table_id = 0;
    apply(&mut t, &m, S).unwrap();
    assert!(
        !summary(&t).iter().any(|x| x.3 == vec![out(6)]),
        "wrong priority"
    );
    m.priority = 5;
    apply(&mut t, &m, S).unwrap();
    assert!(summary(&t).contains(&(0, 5, 0x20, vec![out(6)])));
    // Modify keeps timeouts/creation; OF1.0-style new cookie.
    let mut m = fm(ModifyStrict, m_tcp_dst(80), vec![out(5)]);
    m.table_id = 0;
    m.cookie = 0x99;
    apply(&mut t, &m, 3 * S).unwrap();
    let d = dump(&t, 4 * S);
    let r = d.iter().find(|f| f.priority == 0x8000).unwrap();
    assert_eq!((r.cookie, r.duration_sec, r.hard_age), (0x99, 4, Some(1)));
}

#[test]
fn of10_modify_adds_when_nothing_matches_only_without_table() {
    let mut t = OfTables::new(0);
    let mut m = fm(Modify, m_in_port(77), vec![]);
    m.table_id = 0; // OpenFlow 1.3: table given, nothing matches: no-op
    apply(&mut t, &m, 0).unwrap();
    assert_eq!(t.n_rules(), 1);
    m.table_id = OFPTT_ALL; // OpenFlow 1.0 without table: adds to table 0
    apply(&mut t, &m, 0).unwrap();
    assert_eq!(t.n_rules(), 2);
    assert!(summary(&t).contains(&(0, 0x8000, 0, vec![])));
}

#[test]
fn modify_and_delete_without_table_act_on_all_tables() {
    let mut t = OfTables::new(0);
    let mut a = fm(Add, m_in_port(1), vec![out(2)]);
    a.table_id = 3;
    apply(&mut t, &a, 0).unwrap();
    let mut m = fm(Modify, m_in_port(1), vec![out(4)]);
    m.table_id = 0;
    apply(&mut t, &m, 0).unwrap();
    assert!(
        summary(&t).contains(&(3, 0x8000, 0, vec![out(2)])),
        "table 0 only"
    );
    m.table_id = OFPTT_ALL;
    apply(&mut t, &m, 0).unwrap();
    assert!(summary(&t).contains(&(3, 0x8000, 0, vec![out(4)])));
    let mut d = fm(Delete, Match::catchall(), vec![]);
    d.table_id = OFPTT_ALL;
    apply(&mut t, &d, 0).unwrap();
    assert_eq!(t.n_rules(), 0, "del-flows removes the default flow too");
}

#[test]
fn delete_filters_out_port_cookie_strict() {
    let mut t = OfTables::new(0);
    for (p, port, cookie) in [(1u16, 2u16, 1u64), (2, 3, 1), (3, 2, 2)] {
        let mut a = fm(Add, m_in_port(p), vec![out(port)]);
        a.cookie = cookie;
        apply(&mut t, &a, 0).unwrap();
    }
    let mut d = fm(Delete, Match::catchall(), vec![]);
    d.table_id = OFPTT_ALL;
    d.out_port = 2;
    d.cookie = 1;
    d.cookie_mask = u64::MAX;
    apply(&mut t, &d, 0).unwrap();
    let left: Vec<u64> = dump(&t, 0).iter().map(|f| f.cookie).collect();
    assert_eq!(
        t.n_rules(),
        3,
        "only in_port=1 (out 2, cookie 1) went: {left:?}"
    );
    // Strict delete needs the priority.
    let mut d = fm(DeleteStrict, m_in_port(2), vec![]);
    d.table_id = OFPTT_ALL;
    d.priority = 1;
    apply(&mut t, &d, 0).unwrap();
    assert_eq!(t.n_rules(), 3);
    d.priority = 0x8000;
    apply(&mut t, &d, 0).unwrap();
    assert_eq!(t.n_rules(), 2);
    // Loose delete of a more specific match leaves the less specific rules.
    let mut d = fm(Delete, m_tcp_dst(80), vec![]);
    d.table_id = OFPTT_ALL;
    apply(&mut t, &d, 0).unwrap();
    assert_eq!(t.n_rules(), 2);
}

#[test]
fn delete_sends_flow_removed_when_asked() {
    let mut t = OfTables::new(0);
    let mut a = fm(Add, m_in_port(1), vec![out(2)]);
    a.flags = OFPFF_SEND_FLOW_REM;
    a.cookie = 7;
    apply(&mut t, &a, 0).unwrap();
    credit_all(&t, 2);
    let mut d = fm(Delete, m_in_port(1), vec![]);
    d.table_id = OFPTT_ALL;
    let r = apply(&mut t, &d, 3 * S + 5).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (
            r[0].reason,
            r[0].cookie,
            r[0].duration_sec,
            r[0].duration_nsec,
            r[0].packet_count
        ),
        (OFPRR_DELETE, 7, 3, 5, 2)
    );
    assert_eq!(r[0].match_, m_in_port(1));
}

/// Delete-all (catch-all loose delete) drops whole tables; the result must
/// be the per-rule path's: only the named table(s), flow_removed for the
/// rules that asked, timers forgotten, the return value telling whether
/// anything went.
#[test]
fn delete_all_clears_tables_like_rule_by_rule() {
    let setup = || {
        let mut t = OfTables::new(0);
        for (table, p, flags, idle) in [
            (0u8, 1u16, OFPFF_SEND_FLOW_REM, 5u16),
            (0, 2, 0, 0),
            (1, 3, OFPFF_SEND_FLOW_REM, 0),
            (2, 4, 0, 9),
        ] {
            let mut a = fm(Add, m_in_port(p), vec![out(9)]);
            (a.table_id, a.flags, a.idle_timeout, a.cookie) = (table, flags, idle, u64::from(p));
            apply(&mut t, &a, 0).unwrap();
        }
        t
    };
    // The reference: the same deletion with a filter that selects every
    // rule but is not recognised as delete-all (a cookie mask of 0 bits
    // that matter: every cookie here is < 2^16).
    for table_id in [OFPTT_ALL, 0, 1, 3] {
        let mut fast = setup();
        let mut slow = setup();
        let mut d = fm(Delete, Match::catchall(), vec![]);
        d.table_id = table_id;
        let mut r_fast = Vec::new();
        let any_fast = fast.flow_mod(&d, 2 * S, &mut r_fast).unwrap();
        d.cookie_mask = 0xffff_0000_0000_0000;
        let mut r_slow = Vec::new();
        let any_slow = slow.flow_mod(&d, 2 * S, &mut r_slow).unwrap();
        assert_eq!(any_fast, any_slow, "table {table_id}");
        assert_eq!(summary(&fast), summary(&slow), "table {table_id}");
        let key = |r: &Vec<FlowRemoved>| {
            let mut v: Vec<(u8, u64, u8)> =
                r.iter().map(|f| (f.table_id, f.cookie, f.reason)).collect();
            v.sort();
            v
        };
        assert_eq!(key(&r_fast), key(&r_slow), "table {table_id}");
        // Timers of deleted rules are gone: nothing expires later.
        let (mut e_fast, mut e_slow) = (Vec::new(), Vec::new());
        assert_eq!(
            fast.expire(100 * S, &mut e_fast),
            slow.expire(100 * S, &mut e_slow)
        );
        assert_eq!(key(&e_fast), key(&e_slow), "table {table_id}");
        // The cleared tables take new rules.
        let mut a = fm(Add, m_in_port(7), vec![out(1)]);
        a.table_id = if table_id == OFPTT_ALL { 0 } else { table_id };
        apply(&mut fast, &a, 0).unwrap();
        assert!(summary(&fast)
            .iter()
            .any(|f| f.0 == a.table_id && f.3 == vec![out(1)]));
    }
    let mut t = setup();
    let mut d = fm(Delete, Match::catchall(), vec![]);
    d.table_id = OFPTT_ALL;
    let r = apply(&mut t, &d, 0).unwrap();
    assert_eq!(r.len(), 2, "two rules asked for flow_removed");
    assert_eq!(t.n_rules(), 0);
}

#[test]
fn errors_change_nothing() {
    let mut t = OfTables::new(0);
    let mut bad = Match::catchall();
    bad.set(Field::TpDst, 80);
    assert_eq!(
        apply(&mut t, &fm(Add, bad, vec![]), 0),
        Err(OfpError::BAD_MATCH_BAD_PREREQ)
    );
    assert_eq!(
        apply(&mut t, &fm(Add, m_in_port(1), vec![out(0xff80)]), 0),
        Err(OfpError::BAD_ACTION_BAD_OUT_PORT)
    );
    assert_eq!(
        apply(&mut t, &fm(Add, m_in_port(1), vec![out(OFPP_NONE)]), 0),
        Err(OfpError::BAD_ACTION_BAD_OUT_PORT)
    );
    let mut f = fm(Add, m_in_port(1), vec![]);
    f.table_id = TABLE_HIDDEN;
    assert_eq!(apply(&mut t, &f, 0), Err(OfpError::BAD_REQUEST_EPERM));
    let mut f = fm(Add, m_in_port(1), vec![OfpAct::GotoTable(2)]);
    f.table_id = 2;
    assert_eq!(
        apply(&mut t, &f, 0),
        Err(OfpError::BAD_INSTRUCTION_BAD_TABLE_ID)
    );
    let f = fm(
        Add,
        m_in_port(1),
        vec![OfpAct::SetField {
            field: Field::TcpDst,
            value: 25,
            mask: 0xffff,
        }],
    );
    assert_eq!(
        apply(&mut t, &f, 0),
        Err(OfpError::BAD_ACTION_MATCH_INCONSISTENT)
    );
    assert!(apply(
        &mut t,
        &fm(Add, m_in_port(1), vec![out(OFPP_CONTROLLER)]),
        0
    )
    .is_ok());
    assert_eq!(t.n_rules(), 2);
}

#[test]
fn idle_and_hard_timeouts_expire() {
    let mut t = OfTables::new(0);
    let mut idle = fm(Add, m_in_port(1), vec![]);
    idle.idle_timeout = 10;
    idle.flags = OFPFF_SEND_FLOW_REM;
    apply(&mut t, &idle, 0).unwrap();
    let mut hard = fm(Add, m_in_port(2), vec![]);
    hard.hard_timeout = 15;
    hard.flags = OFPFF_SEND_FLOW_REM;
    apply(&mut t, &hard, 0).unwrap();
    let mut r = Vec::new();
    // A hit at 8 s keeps the idle flow until 18 s.
    let id = t
        .table(0)
        .unwrap()
        .iter()
        .find(|x| x.payload().idle_timeout == 10)
        .unwrap();
    id.payload().credit(1, 60, 8 * S);
    assert!(!t.expire(9 * S, &mut r));
    assert!(t.expire(15 * S, &mut r));
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].reason, r[0].hard_timeout), (OFPRR_HARD_TIMEOUT, 15));
    assert!(!t.expire(17 * S, &mut r));
    assert!(t.expire(18 * S, &mut r));
    assert_eq!((r[1].reason, r[1].packet_count), (OFPRR_IDLE_TIMEOUT, 1));
    assert_eq!(t.n_rules(), 1, "the default flow has no timeout");
    // Replacing a timed rule by an untimed one forgets the timeout.
    apply(&mut t, &idle, 20 * S).unwrap();
    let mut plain = idle.clone();
    plain.idle_timeout = 0;
    apply(&mut t, &plain, 20 * S).unwrap();
    assert!(!t.expire(100 * S, &mut r));
    assert_eq!(t.n_rules(), 2);
}

#[test]
fn stats_order_filters_and_aggregate() {
    let mut t = OfTables::new(0);
    let mut a = fm(Add, m_in_port(1), vec![out(2)]);
    a.table_id = 1;
    apply(&mut t, &a, 0).unwrap();
    let mut b = fm(Add, m_in_port(2), vec![out(3)]);
    b.priority = 9;
    apply(&mut t, &b, 0).unwrap();
    apply(&mut t, &fm(Add, m_in_port(3), vec![out(3)]), 0).unwrap();
    credit_all(&t, 1);
    let order: Vec<(u8, u16)> = dump(&t, 0)
        .iter()
        .map(|f| (f.table_id, f.priority))
        .collect();
    assert_eq!(order, vec![(0, 0x8000), (0, 9), (0, 0), (1, 0x8000)]);
    let req = FlowStatsRequest {
        out_port: 3,
        ..FlowStatsRequest::default()
    };
    assert_eq!(t.flow_stats(&req, 0).len(), 2);
    let req = FlowStatsRequest {
        table_id: 1,
        ..FlowStatsRequest::default()
    };
    assert_eq!(t.flow_stats(&req, 0).len(), 1);
    let agg = t.aggregate_stats(&FlowStatsRequest::default());
    assert_eq!(
        (agg.flow_count, agg.packet_count, agg.byte_count),
        (4, 4, 400)
    );
    let ts = t.table_stats();
    assert_eq!(ts.len(), 254);
    assert_eq!((ts[0].active_count, ts[1].active_count), (3, 1));
}

#[test]
fn many_flow_mods_are_fast() {
    // The full benchmark is benches/flow_mod.rs; this guards against an
    // O(n) flow_mod (100k adds in well under the OVS 3.1 time of 6–11 s).
    let mut t = OfTables::new(0);
    let start = std::time::Instant::now();
    for i in 0..100_000u32 {
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0800);
        m.set(Field::IpDst, u128::from(0x0a00_0000 | i));
        apply(&mut t, &fm(Add, m, vec![out(1)]), 0).unwrap();
    }
    let took = start.elapsed();
    eprintln!(
        "100k flow_mods: {took:?}, {} heap bytes/flow",
        t.heap_bytes() / 100_000
    );
    assert_eq!(t.n_rules(), 100_001);
    assert!(took.as_secs() < 20, "{took:?}");
}
