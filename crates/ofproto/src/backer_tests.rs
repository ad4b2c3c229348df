//! Tests of the Backer: upcalls, aging, revalidation, fdb/show, fdb/flush,
//! reconfiguration.

use std::sync::Arc;

use datapath::{DpAction, UpcallHandler};
use packet::flow::VLAN_CFI;

use super::*;
use crate::clock::ManualClock;
use crate::config::VlanMode;
use crate::test_util::*;

fn setup(ports: Vec<crate::PortConfig>) -> (Arc<Backer>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1000));
    let backer = Backer::with_clock(clock.clone());
    backer.reconfigure(&[bridge("br0", ports)]);
    (backer, clock)
}

fn three_ports() -> Vec<crate::PortConfig> {
    vec![plain("p1", 1, 1), plain("p2", 2, 2), plain("p3", 3, 3)]
}

#[test]
fn fdb_show_exact_text() {
    let (b, clock) = setup(vec![
        plain("p1", 1, 1),
        port("br0", VlanMode::Access, Some(10), &[], 65534, 0),
        port("p9", VlanMode::Access, Some(4000), &[], 1234, 9),
    ]);
    b.upcall(&key(1, mac(1), BROADCAST, 0), &[]);
    clock.advance(5);
    b.upcall(&key(0, mac(2), BROADCAST, 0), &[]);
    b.upcall(
        &key(9, [0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff], BROADCAST, 0),
        &[],
    );
    clock.advance(7);
    assert_eq!(
        b.fdb_show("br0").unwrap(),
        " port  VLAN  MAC                Age\n\
         \x20   1     0  02:00:00:00:00:01   12\n\
         LOCAL    10  02:00:00:00:00:02    7\n\
         \x201234  4000  0a:bb:cc:dd:ee:ff    7\n"
    );
    assert_eq!(b.fdb_show("nope"), None);
    // Refreshing mac(1) moves it to the end (LRU order, oldest first).
    b.upcall(&key(1, mac(1), BROADCAST, 0), &[]);
    let text = b.fdb_show("br0").unwrap();
    assert!(text.ends_with("02:00:00:00:00:01    0\n"), "{text}");
}

#[test]
fn fdb_flush_replies_and_bumps() {
    let (b, _) = setup(three_ports());
    b.upcall(&key(1, mac(1), BROADCAST, 0), &[]);
    let g = b.generation();
    assert_eq!(
        b.fdb_flush(Some("nope")),
        Err("no such bridge\n".to_string())
    );
    assert_eq!(b.generation(), g);
    assert_eq!(
        b.fdb_flush(Some("br0")),
        Ok("table successfully flushed\n".to_string())
    );
    assert!(b.generation() > g);
    assert_eq!(
        b.fdb_show("br0").unwrap(),
        " port  VLAN  MAC                Age\n"
    );
    let g = b.generation();
    assert_eq!(
        b.fdb_flush(None),
        Ok("table successfully flushed\n".to_string())
    );
    assert_eq!(b.generation(), g, "nothing to flush, nothing to revalidate");
}

#[test]
fn learn_then_unicast_through_trait_object() {
    let (b, _) = setup(three_ports());
    let h: Arc<dyn UpcallHandler> = b.clone();
    let g0 = h.generation();
    let x = h.upcall(&key(1, mac(1), mac(2), 0), &[]);
    assert_eq!(x.actions, vec![DpAction::Output(2), DpAction::Output(3)]);
    assert!(h.generation() > g0, "a new entry revalidates flows");
    let x = h.upcall(&key(2, mac(2), mac(1), 0), &[]);
    assert_eq!(x.actions, vec![DpAction::Output(1)]);
    // The same packet again in the same second changes nothing.
    let g = h.generation();
    h.upcall(&key(2, mac(2), mac(1), 0), &[]);
    assert_eq!(h.generation(), g);
}

#[test]
fn mac_move_redirects_and_bumps() {
    let (b, _) = setup(three_ports());
    b.upcall(&key(1, mac(1), BROADCAST, 0), &[]);
    assert_eq!(
        b.translate(&key(2, mac(2), mac(1), 0)).actions,
        vec![DpAction::Output(1)]
    );
    let g = b.generation();
    b.upcall(&key(3, mac(1), BROADCAST, 0), &[]);
    assert!(b.generation() > g);
    assert_eq!(
        b.translate(&key(2, mac(2), mac(1), 0)).actions,
        vec![DpAction::Output(3)]
    );
    assert!(b
        .fdb_show("br0")
        .unwrap()
        .contains("    3     0  02:00:00:00:00:01"));
}

#[test]
fn aging_with_injected_clock() {
    let (b, clock) = setup(three_ports());
    b.upcall(&key(1, mac(1), BROADCAST, 0), &[]);
    clock.advance(299);
    let g = b.generation();
    b.run_periodic();
    assert_eq!(b.generation(), g);
    assert_eq!(
        b.translate(&key(2, mac(2), mac(1), 0)).actions,
        vec![DpAction::Output(1)]
    );
    clock.advance(1);
    b.run_periodic();
    assert!(b.generation() > g);
    assert_eq!(
        b.translate(&key(2, mac(2), mac(1), 0)).actions,
        vec![DpAction::Output(1), DpAction::Output(3)],
        "expired: flood again"
    );
}

#[test]
fn revalidate_used_keeps_entry_alive() {
    let (b, clock) = setup(three_ports());
    let k = key(1, mac(1), mac(2), 0);
    let x = b.upcall(&k, &[]);
    let masked = k.masked(&x.mask);
    clock.advance(200);
    // Not used: no refresh, translation unchanged.
    assert_eq!(b.revalidate(&masked, false), x);
    assert!(b.fdb_show("br0").unwrap().contains("  200\n"));
    // Used: refreshed as a packet would.
    assert_eq!(b.revalidate(&masked, true), x);
    assert!(b.fdb_show("br0").unwrap().contains("    0\n"));
    clock.advance(250);
    b.run_periodic();
    assert_eq!(
        b.translate(&key(2, mac(2), mac(1), 0)).actions,
        vec![DpAction::Output(1)]
    );
    // Unused flows let it age out.
    clock.advance(50);
    b.revalidate(&masked, false);
    b.run_periodic();
    assert!(b.xconfig().bridges[0].ml.lock().is_empty());
}

#[test]
fn table_size_evicts_when_full() {
    let clock = Arc::new(ManualClock::new(0));
    let b = Backer::with_clock(clock.clone());
    let mut br = bridge("br0", three_ports());
    br.mac_table_size = 10;
    b.reconfigure(&[br]);
    for n in 1..=10 {
        b.upcall(&key(1, mac(n), BROADCAST, 0), &[]);
        clock.advance(1);
    }
    b.upcall(&key(2, mac(50), BROADCAST, 0), &[]);
    let ml = b.xconfig().bridges[0].ml.clone();
    let ml = ml.lock();
    assert_eq!(ml.len(), 10);
    assert_eq!(
        ml.lookup(&mac(1), 0),
        None,
        "oldest entry of the busiest port evicted"
    );
    assert_eq!(ml.lookup(&mac(2), 0), Some(1));
    assert_eq!(ml.lookup(&mac(50), 0), Some(2));
}

#[test]
fn reconfigure_flushes_removed_and_revlanned_ports_only() {
    let (b, _) = setup(three_ports());
    for (odp, n) in [(1, 1), (2, 2), (3, 3)] {
        b.upcall(&key(odp, mac(n), BROADCAST, 0), &[]);
    }
    let g = b.generation();
    // Same configuration: nothing happens.
    b.reconfigure(&[bridge("br0", three_ports())]);
    assert_eq!(b.generation(), g);
    assert_eq!(b.xconfig().bridges[0].ml.lock().len(), 3);
    // p2 removed, p3 becomes access VLAN 5, a new port p4 appears.
    b.reconfigure(&[bridge(
        "br0",
        vec![
            plain("p1", 1, 1),
            port("p3", VlanMode::Access, Some(5), &[], 3, 3),
            plain("p4", 4, 4),
        ],
    )]);
    assert!(b.generation() > g);
    let ml = b.xconfig().bridges[0].ml.clone();
    let ml = ml.lock();
    assert_eq!(ml.lookup(&mac(1), 0), Some(1));
    assert_eq!(ml.lookup(&mac(2), 0), None);
    assert_eq!(ml.lookup(&mac(3), 0), None);
    assert_eq!(ml.len(), 1);
}

#[test]
fn reconfigure_applies_aging_time_and_deletes_bridges() {
    let (b, clock) = setup(three_ports());
    b.upcall(&key(1, mac(1), BROADCAST, 0), &[]);
    clock.advance(20);
    let mut br = bridge("br0", three_ports());
    br.mac_aging_time = 1; // clamped to 15: the 20-second-old entry goes now
    b.reconfigure(&[br.clone(), bridge("br1", vec![plain("q1", 1, 7)])]);
    assert!(b.xconfig().bridge("br0").unwrap().ml.lock().is_empty());
    assert!(b.fdb_show("br1").is_some());
    // br1's port maps odp 7 -> br1.
    b.upcall(&key(7, mac(7), BROADCAST, 0), &[]);
    assert!(b
        .fdb_show("br1")
        .unwrap()
        .contains("    1     0  02:00:00:00:00:07"));
    b.reconfigure(&[br]);
    assert_eq!(b.fdb_show("br1"), None);
    assert_eq!(b.upcall(&key(7, mac(7), BROADCAST, 0), &[]).actions, vec![]);
}

#[test]
fn vlan_tagged_learning_is_per_vlan() {
    let (b, _) = setup(vec![
        plain("trunk", 1, 1),
        port("a10", VlanMode::Access, Some(10), &[], 2, 2),
        port("a20", VlanMode::Access, Some(20), &[], 3, 3),
    ]);
    b.upcall(&key(2, mac(2), BROADCAST, 0), &[]);
    // From the trunk in VLAN 10 to mac(2): unicast to a10, tag popped.
    assert_eq!(
        b.upcall(&key(1, mac(1), mac(2), VLAN_CFI | 10), &[])
            .actions,
        vec![DpAction::PopVlan, DpAction::Output(2)]
    );
    // In VLAN 20 mac(2) is unknown: flood within VLAN 20 only.
    assert_eq!(
        b.upcall(&key(1, mac(1), mac(2), VLAN_CFI | 20), &[])
            .actions,
        vec![DpAction::PopVlan, DpAction::Output(3)]
    );
    let text = b.fdb_show("br0").unwrap();
    assert!(text.contains("    2    10  02:00:00:00:00:02"), "{text}");
    assert!(text.contains("    1    20  02:00:00:00:00:01"), "{text}");
}

#[test]
fn concurrent_upcalls_and_reconfigures() {
    let (b, clock) = setup(three_ports());
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let b = b.clone();
            std::thread::spawn(move || {
                for i in 0..500u32 {
                    let odp = 1 + (i % 3);
                    let x = b.upcall(&key(odp, mac(t * 50 + (i % 50) as u8), mac(7), 0), &[]);
                    assert!(x.actions.len() <= 2);
                    b.revalidate(&key(odp, mac(1), mac(2), 0), i % 2 == 0);
                }
            })
        })
        .collect();
    for i in 0..50 {
        let mut ports = three_ports();
        if i % 2 == 0 {
            ports.pop();
        }
        b.reconfigure(&[bridge("br0", ports)]);
        clock.advance(10);
        b.run_periodic();
        let _ = b.fdb_show("br0");
    }
    for t in threads {
        t.join().unwrap();
    }
}
