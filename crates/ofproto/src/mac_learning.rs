//! The MAC learning table of one bridge (Open vSwitch `lib/mac-learning.c`).
//!
//! Idea: a hash index from (VLAN, Ethernet address) to an entry slot in a
//! slab, plus two intrusive doubly linked lists threaded through the slots:
//! the global LRU list (least recently used at the front) and, per port, that
//! port's own LRU list. Learning a source moves its entry to the back of both
//! lists and sets `expires = now + idle_time`; aging pops expired entries from
//! the front of the global list, so `run` costs O(expired). When the table is
//! full a new address evicts the least recently used entry *of the port that
//! holds the most entries* (OVS's "fair" eviction: one flooding port cannot
//! push out everybody else's addresses).
//!
//! Invariants:
//! - every live slot is in `index`, in the global list and in exactly one
//!   port list (that of `entry.port`); free slots are in none of them;
//! - both lists are ordered by `seq` (the stamp of the last refresh), so a
//!   port list is the global list filtered by port;
//! - only unicast source addresses are ever inserted.
//!
//! Semantics kept from OVS: `mac-aging-time` is clamped to 15–3600 s and
//! `mac-table-size` to 10–1,000,000 entries; a packet from a known address
//! on the same port within the same second as the last refresh changes
//! nothing (not even the LRU position); `age = idle_time - (expires - now)`;
//! `run` expires entries past their time and trims the table down to
//! `max_entries` after a size decrease. Simplification: there is no
//! gratuitous-ARP lock (it only matters for bonds, which oxvs does not have
//! yet) and no per-VLAN "flood_vlans" switch.
//!
//! Performance: lookups and learning are O(1) (one SipHash of 8 bytes);
//! the table is only touched on upcalls and revalidation, never on the
//! datapath hit path. Time is passed in (seconds of a monotonic clock), so
//! the table itself never reads a clock.

use std::collections::HashMap;

/// An Ethernet address, in wire order.
pub type EthAddr = [u8; 6];

/// Default `other_config:mac-aging-time`, seconds (OVS `MAC_ENTRY_DEFAULT_IDLE_TIME`).
pub const MAC_ENTRY_DEFAULT_IDLE_TIME: u32 = 300;
/// Default `other_config:mac-table-size`, entries (OVS `MAC_DEFAULT_MAX`).
pub const MAC_DEFAULT_MAX: usize = 8192;
/// Smallest accepted aging time, seconds.
pub const MAC_MIN_IDLE_TIME: u32 = 15;
/// Largest accepted aging time, seconds.
pub const MAC_MAX_IDLE_TIME: u32 = 3600;
/// Smallest accepted table size, entries.
pub const MAC_MIN_MAX_ENTRIES: usize = 10;
/// Largest accepted table size, entries.
pub const MAC_MAX_MAX_ENTRIES: usize = 1_000_000;

/// Slots reserved up front, so that learning rarely allocates.
const INITIAL_RESERVE: usize = 8192;
const NIL: u32 = u32::MAX;

/// Whether `mac` is a group (multicast or broadcast) address: I/G bit set.
#[inline]
pub fn eth_addr_is_multicast(mac: &EthAddr) -> bool {
    mac[0] & 1 != 0
}

/// Clamps an aging time to what OVS accepts (15–3600 s).
pub fn normalize_idle_time(secs: u32) -> u32 {
    secs.clamp(MAC_MIN_IDLE_TIME, MAC_MAX_IDLE_TIME)
}

/// Clamps a table size to what OVS accepts (10–1,000,000).
pub fn normalize_max_entries(n: usize) -> usize {
    n.clamp(MAC_MIN_MAX_ENTRIES, MAC_MAX_MAX_ENTRIES)
}

/// One learned address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacEntry {
    /// The learned (unicast) Ethernet address.
    pub mac: EthAddr,
    /// VLAN (0–4095) the address was seen in, after input VLAN translation.
    pub vlan: u16,
    /// The port (bundle) it was last seen on. oxvs uses the OpenFlow port
    /// number of the port's first interface.
    pub port: u16,
    /// When the entry expires, in seconds of the table's clock.
    pub expires: u64,
}

/// Counters of table events since creation (`ovs-appctl fdb/stats-show`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MacStats {
    /// New entries inserted.
    pub learned: u64,
    /// Entries removed by aging or by a table-size decrease.
    pub expired: u64,
    /// Entries removed to make room for a new one.
    pub evicted: u64,
    /// Entries whose address moved to another port.
    pub moved: u64,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    entry: MacEntry,
    /// Refresh stamp: strictly increasing along both lists.
    seq: u64,
    lru_prev: u32,
    lru_next: u32,
    port_prev: u32,
    port_next: u32,
}

#[derive(Clone, Copy, Debug)]
struct PortList {
    head: u32,
    tail: u32,
    count: usize,
}

/// The MAC learning table of one bridge. See the module comment.
#[derive(Debug)]
pub struct MacLearning {
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashMap<(u16, EthAddr), u32>,
    head: u32,
    tail: u32,
    ports: HashMap<u16, PortList>,
    idle_time: u32,
    max_entries: usize,
    next_seq: u64,
    stats: MacStats,
}

impl Default for MacLearning {
    fn default() -> Self {
        Self::new(MAC_ENTRY_DEFAULT_IDLE_TIME, MAC_DEFAULT_MAX)
    }
}

impl MacLearning {
    /// An empty table with aging time `idle_time` seconds and room for
    /// `max_entries` entries (both clamped as OVS does).
    pub fn new(idle_time: u32, max_entries: usize) -> Self {
        let max_entries = normalize_max_entries(max_entries);
        let reserve = max_entries.min(INITIAL_RESERVE);
        MacLearning {
            slots: Vec::with_capacity(reserve),
            free: Vec::with_capacity(reserve),
            index: HashMap::with_capacity(reserve),
            head: NIL,
            tail: NIL,
            ports: HashMap::new(),
            idle_time: normalize_idle_time(idle_time),
            max_entries,
            next_seq: 0,
            stats: MacStats::default(),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The aging time in seconds (after clamping).
    pub fn idle_time(&self) -> u32 {
        self.idle_time
    }

    /// The maximum number of entries (after clamping).
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Event counters.
    pub fn stats(&self) -> MacStats {
        self.stats
    }

    /// Changes the aging time to `secs` (clamped); existing entries keep
    /// their age, i.e. their expiry moves by the difference (OVS
    /// `mac_learning_set_idle_time`). Entries now past their time go at the
    /// next [`run`](Self::run).
    pub fn set_idle_time(&mut self, secs: u32) {
        let secs = normalize_idle_time(secs);
        if secs == self.idle_time {
            return;
        }
        let delta = i64::from(secs) - i64::from(self.idle_time);
        let mut i = self.head;
        while i != NIL {
            let slot = &mut self.slots[i as usize];
            slot.entry.expires = slot.entry.expires.saturating_add_signed(delta);
            i = slot.lru_next;
        }
        self.idle_time = secs;
    }

    /// Changes the maximum number of entries (clamped). A table that is now
    /// too big is trimmed, oldest first, at the next [`run`](Self::run).
    pub fn set_max_entries(&mut self, n: usize) {
        self.max_entries = normalize_max_entries(n);
    }

    /// Seconds since `e` was last refreshed, at time `now` (OVS
    /// `mac_entry_age`: `idle_time - (expires - now)`).
    pub fn age(&self, e: &MacEntry, now: u64) -> i64 {
        let remaining = e.expires as i64 - now as i64;
        i64::from(self.idle_time) - remaining
    }

    /// The port `mac` was learned on in `vlan`, if any. Multicast addresses
    /// are never found (OVS `mac_learning_lookup`).
    pub fn lookup(&self, mac: &EthAddr, vlan: u16) -> Option<u16> {
        self.entry(mac, vlan).map(|e| e.port)
    }

    /// The entry for (`vlan`, `mac`), if any.
    pub fn entry(&self, mac: &EthAddr, vlan: u16) -> Option<&MacEntry> {
        if eth_addr_is_multicast(mac) {
            return None;
        }
        self.index
            .get(&(vlan, *mac))
            .map(|&i| &self.slots[i as usize].entry)
    }

    /// Records that a frame from `mac` arrived on `port` in `vlan` at `now`
    /// (OVS `mac_learning_update` without the gratuitous-ARP lock).
    ///
    /// Multicast sources are ignored. A known address is refreshed (moved
    /// to the back of the LRU order, expiry reset) unless it was already
    /// refreshed in this second on this port; if it was on another port it
    /// moves. A new address may evict one entry (fairly) when the table is
    /// full. Returns true if the forwarding decision for some flow may have
    /// changed (a new entry, a move, or an eviction), i.e. when megaflows
    /// need revalidation.
    pub fn learn(&mut self, mac: &EthAddr, vlan: u16, port: u16, now: u64) -> bool {
        if eth_addr_is_multicast(mac) {
            return false;
        }
        if let Some(&i) = self.index.get(&(vlan, *mac)) {
            let e = self.slots[i as usize].entry;
            if e.port == port && self.age(&e, now) == 0 {
                return false;
            }
            self.touch(i, now);
            if e.port != port {
                self.port_unlink(i);
                self.slots[i as usize].entry.port = port;
                self.port_push_back(i);
                self.stats.moved += 1;
                return true;
            }
            return false;
        }

        if self.index.len() >= self.max_entries {
            self.evict_fairly();
        }
        let slot = Slot {
            entry: MacEntry {
                mac: *mac,
                vlan,
                port,
                expires: now.saturating_add(u64::from(self.idle_time)),
            },
            seq: self.bump_seq(),
            lru_prev: NIL,
            lru_next: NIL,
            port_prev: NIL,
            port_next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                // The table never holds more than u32::MAX - 1 slots:
                // max_entries is at most 1,000,000.
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert((vlan, *mac), i);
        self.lru_push_back(i);
        self.port_push_back(i);
        self.stats.learned += 1;
        true
    }

    /// Expires entries whose time has come at `now`, and trims the table to
    /// `max_entries` (OVS `mac_learning_run`). Returns true if any entry
    /// went away.
    pub fn run(&mut self, now: u64) -> bool {
        let mut changed = false;
        while self.head != NIL {
            let head = self.head;
            let e = self.slots[head as usize].entry;
            if self.index.len() > self.max_entries || now >= e.expires {
                self.expire(head);
                self.stats.expired += 1;
                changed = true;
            } else {
                break;
            }
        }
        changed
    }

    /// The earliest expiry time among the entries, if any (when the next
    /// [`run`](Self::run) has work to do).
    pub fn next_expiry(&self) -> Option<u64> {
        (self.head != NIL).then(|| self.slots[self.head as usize].entry.expires)
    }

    /// Removes every entry (`ovs-appctl fdb/flush`). Returns true if the
    /// table was not empty.
    pub fn flush(&mut self) -> bool {
        let changed = self.head != NIL;
        while self.head != NIL {
            self.expire(self.head);
        }
        changed
    }

    /// Removes every entry learned on `port` (a port was deleted or its VLAN
    /// configuration changed). Returns true if any entry went away.
    pub fn flush_port(&mut self, port: u16) -> bool {
        let mut changed = false;
        while let Some(list) = self.ports.get(&port) {
            self.expire(list.head);
            changed = true;
        }
        changed
    }

    /// The entries, least recently used first (the order of
    /// `ovs-appctl fdb/show`).
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            ml: self,
            next: self.head,
        }
    }

    fn bump_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Marks slot `i` most recently used.
    fn touch(&mut self, i: u32, now: u64) {
        self.lru_unlink(i);
        self.port_unlink(i);
        let seq = self.bump_seq();
        let idle = u64::from(self.idle_time);
        let slot = &mut self.slots[i as usize];
        slot.seq = seq;
        slot.entry.expires = now.saturating_add(idle);
        self.lru_push_back(i);
        self.port_push_back(i);
    }

    /// Evicts the least recently used entry of the port with the most
    /// entries; among equally loaded ports, the one whose oldest entry is
    /// oldest (OVS breaks this tie arbitrarily through its heap).
    fn evict_fairly(&mut self) {
        let mut victim: Option<(usize, u64, u32)> = None;
        for list in self.ports.values() {
            let seq = self.slots[list.head as usize].seq;
            let better = match victim {
                None => true,
                Some((count, vseq, _)) => list.count > count || (list.count == count && seq < vseq),
            };
            if better {
                victim = Some((list.count, seq, list.head));
            }
        }
        if let Some((_, _, i)) = victim {
            self.expire(i);
            self.stats.evicted += 1;
        }
    }

    /// Removes live slot `i` from every structure and frees it.
    fn expire(&mut self, i: u32) {
        let e = self.slots[i as usize].entry;
        self.lru_unlink(i);
        self.port_unlink(i);
        self.index.remove(&(e.vlan, e.mac));
        self.free.push(i);
    }

    fn lru_unlink(&mut self, i: u32) {
        let Slot {
            lru_prev, lru_next, ..
        } = self.slots[i as usize];
        if lru_prev == NIL {
            self.head = lru_next;
        } else {
            self.slots[lru_prev as usize].lru_next = lru_next;
        }
        if lru_next == NIL {
            self.tail = lru_prev;
        } else {
            self.slots[lru_next as usize].lru_prev = lru_prev;
        }
        let s = &mut self.slots[i as usize];
        s.lru_prev = NIL;
        s.lru_next = NIL;
    }

    fn lru_push_back(&mut self, i: u32) {
        let tail = self.tail;
        {
            let s = &mut self.slots[i as usize];
            s.lru_prev = tail;
            s.lru_next = NIL;
        }
        if tail == NIL {
            self.head = i;
        } else {
            self.slots[tail as usize].lru_next = i;
        }
        self.tail = i;
    }

    /// Unlinks slot `i` from the list of its port, dropping the list when it
    /// becomes empty.
    fn port_unlink(&mut self, i: u32) {
        let Slot {
            entry,
            port_prev,
            port_next,
            ..
        } = self.slots[i as usize];
        let Some(list) = self.ports.get_mut(&entry.port) else {
            return;
        };
        if port_prev == NIL {
            list.head = port_next;
        } else {
            self.slots[port_prev as usize].port_next = port_next;
        }
        if port_next == NIL {
            list.tail = port_prev;
        } else {
            self.slots[port_next as usize].port_prev = port_prev;
        }
        list.count -= 1;
        if list.count == 0 {
            self.ports.remove(&entry.port);
        }
        let s = &mut self.slots[i as usize];
        s.port_prev = NIL;
        s.port_next = NIL;
    }

    /// Appends slot `i` to the list of its port (`entry.port`).
    fn port_push_back(&mut self, i: u32) {
        let port = self.slots[i as usize].entry.port;
        let list = self.ports.entry(port).or_insert(PortList {
            head: NIL,
            tail: NIL,
            count: 0,
        });
        let tail = list.tail;
        if tail == NIL {
            list.head = i;
        } else {
            self.slots[tail as usize].port_next = i;
        }
        list.tail = i;
        list.count += 1;
        let s = &mut self.slots[i as usize];
        s.port_prev = tail;
        s.port_next = NIL;
    }

    /// Checks every structural invariant (tests only).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut n = 0;
        let mut i = self.head;
        let mut prev = NIL;
        let mut last_seq = None;
        while i != NIL {
            let s = &self.slots[i as usize];
            assert_eq!(s.lru_prev, prev);
            assert!(!eth_addr_is_multicast(&s.entry.mac));
            assert_eq!(self.index.get(&(s.entry.vlan, s.entry.mac)), Some(&i));
            if let Some(l) = last_seq {
                assert!(s.seq > l);
            }
            last_seq = Some(s.seq);
            prev = i;
            i = s.lru_next;
            n += 1;
        }
        assert_eq!(self.tail, prev);
        assert_eq!(n, self.index.len());
        let mut total = 0;
        for (&port, list) in &self.ports {
            let mut c = 0;
            let mut i = list.head;
            let mut prev = NIL;
            while i != NIL {
                let s = &self.slots[i as usize];
                assert_eq!(s.entry.port, port);
                assert_eq!(s.port_prev, prev);
                prev = i;
                i = s.port_next;
                c += 1;
            }
            assert_eq!(list.tail, prev);
            assert_eq!(c, list.count);
            assert!(c > 0);
            total += c;
        }
        assert_eq!(total, n);
    }
}

/// Iterator over a [`MacLearning`] table, least recently used first.
pub struct Iter<'a> {
    ml: &'a MacLearning,
    next: u32,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a MacEntry;

    fn next(&mut self) -> Option<&'a MacEntry> {
        if self.next == NIL {
            return None;
        }
        let s = &self.ml.slots[self.next as usize];
        self.next = s.lru_next;
        Some(&s.entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mac(n: u8) -> EthAddr {
        [0x02, 0, 0, 0, 0, n]
    }

    fn macs(ml: &MacLearning) -> Vec<(EthAddr, u16, u16)> {
        ml.iter().map(|e| (e.mac, e.vlan, e.port)).collect()
    }

    #[test]
    fn learns_unicast_only() {
        let mut ml = MacLearning::default();
        assert!(!ml.learn(&[0xff; 6], 0, 1, 0));
        assert!(!ml.learn(&[0x01, 0, 0x5e, 0, 0, 1], 0, 1, 0));
        assert!(ml.is_empty());
        assert!(ml.learn(&mac(1), 0, 1, 0));
        assert_eq!(ml.lookup(&mac(1), 0), Some(1));
        assert_eq!(ml.lookup(&mac(1), 5), None, "VLANs are separate tables");
        assert_eq!(ml.lookup(&[0xff; 6], 0), None);
        ml.check_invariants();
    }

    #[test]
    fn refresh_and_move() {
        let mut ml = MacLearning::default();
        assert!(ml.learn(&mac(1), 0, 1, 0));
        assert!(ml.learn(&mac(2), 0, 2, 0));
        // Same port, same second: nothing changes, not even the LRU order.
        assert!(!ml.learn(&mac(1), 0, 1, 0));
        assert_eq!(macs(&ml)[0].0, mac(1));
        // Same port later: refreshed (moves to the back) but no revalidation.
        assert!(!ml.learn(&mac(1), 0, 1, 10));
        assert_eq!(macs(&ml)[1].0, mac(1));
        assert_eq!(ml.age(ml.entry(&mac(1), 0).unwrap(), 10), 0);
        assert_eq!(ml.age(ml.entry(&mac(2), 0).unwrap(), 10), 10);
        // Another port: a move.
        assert!(ml.learn(&mac(1), 0, 3, 10));
        assert_eq!(ml.lookup(&mac(1), 0), Some(3));
        assert_eq!(ml.stats().moved, 1);
        ml.check_invariants();
    }

    #[test]
    fn aging() {
        let mut ml = MacLearning::new(60, 100);
        ml.learn(&mac(1), 0, 1, 0);
        ml.learn(&mac(2), 0, 1, 30);
        assert!(!ml.run(59));
        assert!(ml.run(60));
        assert_eq!(macs(&ml), vec![(mac(2), 0, 1)]);
        assert_eq!(ml.next_expiry(), Some(90));
        assert!(ml.run(1000));
        assert!(ml.is_empty());
        assert_eq!(ml.stats().expired, 2);
    }

    #[test]
    fn clamps_settings() {
        let ml = MacLearning::new(1, 1);
        assert_eq!((ml.idle_time(), ml.max_entries()), (15, 10));
        let ml = MacLearning::new(99_999, usize::MAX);
        assert_eq!((ml.idle_time(), ml.max_entries()), (3600, 1_000_000));
    }

    #[test]
    fn idle_time_change_keeps_age() {
        let mut ml = MacLearning::new(300, 100);
        ml.learn(&mac(1), 0, 1, 100);
        ml.set_idle_time(60);
        let e = *ml.entry(&mac(1), 0).unwrap();
        assert_eq!(e.expires, 160);
        assert_eq!(ml.age(&e, 130), 30);
        ml.set_idle_time(15);
        assert!(ml.run(130));
    }

    #[test]
    fn fair_eviction() {
        let mut ml = MacLearning::new(300, 10);
        // Port 1 holds 7 entries, port 2 holds 3 (its oldest is the oldest).
        for n in 0..3 {
            ml.learn(&mac(n), 0, 2, 0);
        }
        for n in 10..17 {
            ml.learn(&mac(n), 0, 1, 0);
        }
        assert_eq!(ml.len(), 10);
        assert!(ml.learn(&mac(99), 0, 3, 1));
        assert_eq!(ml.len(), 10);
        // The oldest entry of the busiest port went, not the global oldest.
        assert_eq!(ml.lookup(&mac(10), 0), None);
        assert_eq!(ml.lookup(&mac(0), 0), Some(2));
        assert_eq!(ml.stats().evicted, 1);
        ml.check_invariants();
    }

    #[test]
    fn shrink_trims_oldest_at_run() {
        let mut ml = MacLearning::new(300, 20);
        for n in 0..20 {
            ml.learn(&mac(n), 0, 1, 0);
        }
        ml.set_max_entries(10);
        assert!(ml.run(0));
        assert_eq!(ml.len(), 10);
        assert_eq!(macs(&ml)[0].0, mac(10));
    }

    #[test]
    fn flush_and_flush_port() {
        let mut ml = MacLearning::default();
        ml.learn(&mac(1), 0, 1, 0);
        ml.learn(&mac(2), 0, 2, 0);
        ml.learn(&mac(3), 7, 1, 0);
        assert!(ml.flush_port(1));
        assert!(!ml.flush_port(1));
        assert_eq!(macs(&ml), vec![(mac(2), 0, 2)]);
        ml.check_invariants();
        assert!(ml.flush());
        assert!(!ml.flush());
        assert!(ml.is_empty());
        // Slots are reused.
        ml.learn(&mac(4), 0, 1, 0);
        ml.check_invariants();
    }

    // ---- Property test against a naive model ----

    #[derive(Clone, Debug)]
    struct ModelEntry {
        mac: EthAddr,
        vlan: u16,
        port: u16,
        expires: u64,
    }

    /// The same semantics, as a Vec in LRU order (front = oldest).
    struct Model {
        v: Vec<ModelEntry>,
        idle: u64,
        max: usize,
    }

    impl Model {
        fn age(&self, e: &ModelEntry, now: u64) -> i64 {
            self.idle as i64 - (e.expires as i64 - now as i64)
        }

        fn learn(&mut self, mac: EthAddr, vlan: u16, port: u16, now: u64) -> bool {
            if mac[0] & 1 != 0 {
                return false;
            }
            if let Some(pos) = self.v.iter().position(|e| e.mac == mac && e.vlan == vlan) {
                let e = self.v[pos].clone();
                if e.port == port && self.age(&e, now) == 0 {
                    return false;
                }
                let mut e = self.v.remove(pos);
                e.expires = now + self.idle;
                let moved = e.port != port;
                e.port = port;
                self.v.push(e);
                return moved;
            }
            if self.v.len() >= self.max {
                // Busiest port; ties to the one with the oldest entry.
                let mut counts: Vec<(u16, usize, usize)> = Vec::new(); // port, count, first pos
                for (pos, e) in self.v.iter().enumerate() {
                    match counts.iter_mut().find(|c| c.0 == e.port) {
                        Some(c) => c.1 += 1,
                        None => counts.push((e.port, 1, pos)),
                    }
                }
                let best = counts
                    .iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
                    .unwrap();
                self.v.remove(best.2);
            }
            self.v.push(ModelEntry {
                mac,
                vlan,
                port,
                expires: now + self.idle,
            });
            true
        }

        fn run(&mut self, now: u64) -> bool {
            let mut changed = false;
            while let Some(e) = self.v.first() {
                if self.v.len() > self.max || now >= e.expires {
                    self.v.remove(0);
                    changed = true;
                } else {
                    break;
                }
            }
            changed
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Learn { mac: u8, vlan: u16, port: u16 },
        Advance(u64),
        Run,
        Flush,
        FlushPort(u16),
        Lookup { mac: u8, vlan: u16 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..24, 0u16..3, 1u16..5).prop_map(|(mac, vlan, port)| Op::Learn { mac, vlan, port }),
            2 => (0u64..40).prop_map(Op::Advance),
            2 => Just(Op::Run),
            1 => Just(Op::Flush),
            1 => (1u16..5).prop_map(Op::FlushPort),
            2 => (0u8..24, 0u16..3).prop_map(|(mac, vlan)| Op::Lookup { mac, vlan }),
        ]
    }

    /// Address `n`; odd `n` above 20 are multicast (never learned).
    fn addr(n: u8) -> EthAddr {
        if n > 20 && n % 2 == 1 {
            [0x01, 0, 0x5e, 0, 0, n]
        } else {
            mac(n)
        }
    }

    proptest! {
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 1..200)) {
            let mut ml = MacLearning::new(15, 10);
            let mut model = Model { v: Vec::new(), idle: 15, max: 10 };
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Learn { mac, vlan, port } => {
                        let a = ml.learn(&addr(mac), vlan, port, now);
                        let b = model.learn(addr(mac), vlan, port, now);
                        prop_assert_eq!(a, b);
                    }
                    Op::Advance(s) => now += s,
                    Op::Run => prop_assert_eq!(ml.run(now), model.run(now)),
                    Op::Flush => {
                        prop_assert_eq!(ml.flush(), !model.v.is_empty());
                        model.v.clear();
                    }
                    Op::FlushPort(p) => {
                        let had = model.v.iter().any(|e| e.port == p);
                        model.v.retain(|e| e.port != p);
                        prop_assert_eq!(ml.flush_port(p), had);
                    }
                    Op::Lookup { mac, vlan } => {
                        let want = model.v.iter()
                            .find(|e| e.mac == addr(mac) && e.vlan == vlan)
                            .map(|e| e.port);
                        prop_assert_eq!(ml.lookup(&addr(mac), vlan), want);
                    }
                }
                ml.check_invariants();
                let got: Vec<_> = ml.iter().map(|e| (e.mac, e.vlan, e.port, e.expires)).collect();
                let want: Vec<_> = model.v.iter().map(|e| (e.mac, e.vlan, e.port, e.expires)).collect();
                prop_assert_eq!(got, want);
            }
        }
    }
}
