//! The flow caches of one forwarding thread: the exact-match cache (EMC) in
//! front of the megaflow cache (as dpif-netdev's EMC and dpcls).
//!
//! Idea: megaflows are grouped by mask into one hash table per distinct mask
//! ("subtables", tuple space search). A lookup masks the packet's key with
//! each subtable's mask and probes that table; subtables are kept ordered by
//! recent hit count so the busiest masks are tried first. In front of it the
//! EMC is a direct-mapped array of 8192 entries indexed by the key's hash,
//! verified by a full 112-byte key compare, pointing at a megaflow slot.
//!
//! Invariants: megaflows live in a slab; a slot's `version` changes whenever
//! the slot's flow is deleted, so a stale EMC entry (which records the
//! version) can never resolve to a deleted or reused flow. Each thread owns
//! its caches outright (dpif-netdev keeps one flow table per PMD thread too):
//! no locks or atomics on lookup; other threads reach them only by messages
//! answered at batch boundaries. A packet matches at most one megaflow as
//! long as the slow path's masks are consistent (a real translation's are);
//! if two overlap, the first subtable in hit order wins.
//!
//! Performance assumption: few distinct masks (tens), so a miss in the EMC
//! costs a handful of masked hash probes; the hit path allocates nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::time::Instant;

use packet::FlowKey;

use crate::upcall::{DpAction, XlateCache};

/// EMC size (entries, a power of two), as `EM_FLOW_HASH_ENTRIES` in OVS.
pub const EMC_ENTRIES: usize = 8192;

/// One cached megaflow with its statistics.
#[derive(Clone, Debug)]
pub struct Megaflow {
    /// Full key of the packet that created the flow (its masked bits are the
    /// flow's match); passed to [`crate::UpcallHandler::revalidate`].
    pub key: FlowKey,
    /// Significant bits.
    pub mask: FlowKey,
    /// Datapath actions (empty = drop).
    pub actions: Vec<DpAction>,
    /// Packets that hit the flow.
    pub n_packets: u64,
    /// Bytes (Ethernet frames as received) that hit the flow.
    pub n_bytes: u64,
    /// Last hit, `None` if never.
    pub used: Option<Instant>,
    /// OR of the TCP flags seen.
    pub tcp_flags: u16,
    /// Creation time (idle expiry of never-used flows).
    pub created: Instant,
    /// `n_packets` at the last push of counts to the slow path.
    pub(crate) packets_at_pass: u64,
    /// `n_bytes` at the last push of counts to the slow path.
    pub(crate) bytes_at_pass: u64,
    /// Index just past the last packet-modifying action: outputs before it
    /// must send a snapshot of the packet.
    pub(crate) last_mod: usize,
    /// The slow path's cache of the translation that produced `actions`.
    pub xcache: XlateCache,
}

impl Megaflow {
    fn new(key: FlowKey, mask: FlowKey, actions: Vec<DpAction>, now: Instant) -> Megaflow {
        let last_mod = last_modifying(&actions);
        Megaflow {
            key,
            mask,
            actions,
            n_packets: 0,
            n_bytes: 0,
            used: None,
            tcp_flags: 0,
            created: now,
            packets_at_pass: 0,
            bytes_at_pass: 0,
            last_mod,
            xcache: XlateCache::default(),
        }
    }

    /// Replaces the actions (revalidation found a new translation).
    pub fn set_actions(&mut self, actions: Vec<DpAction>) {
        self.last_mod = last_modifying(&actions);
        self.actions = actions;
    }
}

/// Index just past the last action that changes the packet's bytes.
pub(crate) fn last_modifying(actions: &[DpAction]) -> usize {
    actions
        .iter()
        .rposition(DpAction::modifies_packet)
        .map_or(0, |i| i + 1)
}

/// Passes `FlowKey::hash64` (written as one u64) straight through.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ *b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A masked key hashed by `hash64` (computed once per probe).
#[derive(Clone, Copy, PartialEq, Eq)]
struct MKey(FlowKey, u64);

impl Hash for MKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.1);
    }
}

struct Subtable {
    mask: FlowKey,
    map: HashMap<MKey, u32, BuildHasherDefault<IdHasher>>,
    hits: u64,
}

/// The megaflow cache: a slab of flows indexed by subtables (one per mask).
#[derive(Default)]
pub struct MegaflowCache {
    slots: Vec<Option<Megaflow>>,
    versions: Vec<u32>,
    free: Vec<u32>,
    subtables: Vec<Subtable>,
    n_flows: usize,
}

impl MegaflowCache {
    /// An empty cache.
    pub fn new() -> MegaflowCache {
        MegaflowCache::default()
    }

    /// Number of megaflows.
    pub fn len(&self) -> usize {
        self.n_flows
    }

    /// Whether there are no megaflows.
    pub fn is_empty(&self) -> bool {
        self.n_flows == 0
    }

    /// Number of distinct masks.
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }

    /// The id of the megaflow matching `key`, trying subtables in hit order.
    #[inline]
    pub fn lookup(&mut self, key: &FlowKey) -> Option<u32> {
        for st in &mut self.subtables {
            let m = key.masked(&st.mask);
            let h = m.hash64();
            if let Some(&id) = st.map.get(&MKey(m, h)) {
                st.hits += 1;
                return Some(id);
            }
        }
        None
    }

    /// Installs `(key & mask, mask) -> actions`, replacing a flow with the
    /// same masked key and mask. Returns the new flow's id.
    pub fn insert(
        &mut self,
        key: FlowKey,
        mask: FlowKey,
        actions: Vec<DpAction>,
        now: Instant,
    ) -> u32 {
        let m = key.masked(&mask);
        let mk = MKey(m, m.hash64());
        let sti = match self.subtables.iter().position(|s| s.mask == mask) {
            Some(i) => i,
            None => {
                self.subtables.push(Subtable {
                    mask,
                    map: HashMap::default(),
                    hits: 0,
                });
                self.subtables.len() - 1
            }
        };
        if let Some(old) = self.subtables[sti].map.get(&mk).copied() {
            self.remove(old);
            return self.insert(key, mask, actions, now);
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(None);
                self.versions.push(0);
                (self.slots.len() - 1) as u32
            }
        };
        self.slots[id as usize] = Some(Megaflow::new(key, mask, actions, now));
        self.subtables[sti].map.insert(mk, id);
        self.n_flows += 1;
        id
    }

    /// Deletes flow `id` (no-op if absent); bumps its slot version.
    pub fn remove(&mut self, id: u32) -> Option<Megaflow> {
        let f = self.slots.get_mut(id as usize)?.take()?;
        self.versions[id as usize] = self.versions[id as usize].wrapping_add(1);
        self.free.push(id);
        self.n_flows -= 1;
        let m = f.key.masked(&f.mask);
        if let Some(i) = self.subtables.iter().position(|s| s.mask == f.mask) {
            self.subtables[i].map.remove(&MKey(m, m.hash64()));
            if self.subtables[i].map.is_empty() {
                self.subtables.remove(i);
            }
        }
        Some(f)
    }

    /// Deletes every flow.
    pub fn clear(&mut self) {
        for id in self.ids() {
            self.remove(id);
        }
    }

    /// Flow `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Option<&Megaflow> {
        self.slots.get(id as usize)?.as_ref()
    }

    /// Flow `id`, writable.
    #[inline]
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Megaflow> {
        self.slots.get_mut(id as usize)?.as_mut()
    }

    /// Current version of slot `id` (changes on delete).
    #[inline]
    pub fn version(&self, id: u32) -> u32 {
        self.versions.get(id as usize).copied().unwrap_or(u32::MAX)
    }

    /// Ids of all flows (allocates; control path only).
    pub fn ids(&self) -> Vec<u32> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Reorders subtables by hits since the last call, busiest first, and
    /// resets the hit counters.
    pub fn sort_subtables(&mut self) {
        self.subtables.sort_by_key(|s| std::cmp::Reverse(s.hits));
        for s in &mut self.subtables {
            s.hits = 0;
        }
    }
}

#[derive(Clone, Copy)]
struct EmcEntry {
    key: FlowKey,
    hash: u64,
    flow: u32,
    version: u32,
}

/// The exact-match cache: [`EMC_ENTRIES`] direct-mapped entries from a full
/// key to a megaflow id, validated by slot version.
pub struct Emc {
    entries: Box<[EmcEntry]>,
}

impl Default for Emc {
    fn default() -> Self {
        Self::new()
    }
}

impl Emc {
    /// An empty EMC (one allocation of ~1 MiB).
    pub fn new() -> Emc {
        let e = EmcEntry {
            key: FlowKey::default(),
            hash: 0,
            flow: u32::MAX,
            version: 0,
        };
        Emc {
            entries: vec![e; EMC_ENTRIES].into_boxed_slice(),
        }
    }

    /// The megaflow id cached for exactly `key` (with `hash = key.hash64()`),
    /// if it is still the live flow of that slot.
    #[inline]
    pub fn lookup(&self, key: &FlowKey, hash: u64, flows: &MegaflowCache) -> Option<u32> {
        let e = &self.entries[hash as usize & (EMC_ENTRIES - 1)];
        if e.flow != u32::MAX
            && e.hash == hash
            && e.key == *key
            && flows.version(e.flow) == e.version
        {
            Some(e.flow)
        } else {
            None
        }
    }

    /// Caches `key -> flow` (evicting whatever shared the entry).
    #[inline]
    pub fn insert(&mut self, key: &FlowKey, hash: u64, flow: u32, flows: &MegaflowCache) {
        self.entries[hash as usize & (EMC_ENTRIES - 1)] = EmcEntry {
            key: *key,
            hash,
            flow,
            version: flows.version(flow),
        };
    }

    /// Invalidates every entry.
    pub fn clear(&mut self) {
        for e in self.entries.iter_mut() {
            e.flow = u32::MAX;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(in_port: u32, dst: u8, ty: u16) -> FlowKey {
        FlowKey {
            in_port,
            dl_dst: [2, 0, 0, 0, 0, dst],
            dl_type: ty,
            ..FlowKey::default()
        }
    }

    fn mask_port_dst() -> FlowKey {
        FlowKey {
            in_port: u32::MAX,
            dl_dst: [0xff; 6],
            ..FlowKey::default()
        }
    }

    #[test]
    fn masked_out_fields_hit_same_flow() {
        let mut c = MegaflowCache::new();
        let now = Instant::now();
        let id = c.insert(
            key(1, 5, 0x800),
            mask_port_dst(),
            vec![DpAction::Output(2)],
            now,
        );
        assert_eq!(c.lookup(&key(1, 5, 0x86dd)), Some(id));
        assert_eq!(c.lookup(&key(1, 6, 0x800)), None);
        assert_eq!(c.lookup(&key(2, 5, 0x800)), None);
        c.remove(id);
        assert_eq!(c.lookup(&key(1, 5, 0x800)), None);
        assert_eq!(c.n_subtables(), 0);
    }

    #[test]
    fn emc_is_invalidated_by_delete() {
        let mut c = MegaflowCache::new();
        let mut emc = Emc::new();
        let k = key(1, 5, 0x800);
        let id = c.insert(k, mask_port_dst(), vec![], Instant::now());
        emc.insert(&k, k.hash64(), id, &c);
        assert_eq!(emc.lookup(&k, k.hash64(), &c), Some(id));
        c.remove(id);
        let id2 = c.insert(key(1, 7, 0), mask_port_dst(), vec![], Instant::now());
        assert_eq!(id2, id, "slot reused");
        assert_eq!(emc.lookup(&k, k.hash64(), &c), None);
    }

    #[test]
    fn last_modifying_index() {
        use DpAction::*;
        assert_eq!(last_modifying(&[Output(1), Output(2)]), 0);
        assert_eq!(last_modifying(&[Output(1), PopVlan, Output(2)]), 2);
        assert_eq!(
            last_modifying(&[
                PushVlan {
                    tpid: 0x8100,
                    tci: 1
                },
                Output(2),
                PopVlan,
                Output(3)
            ]),
            3
        );
    }

    // Reference model: distinct, non-overlapping (masked key, mask) entries;
    // lookup = linear scan for the entry whose mask agrees.
    proptest! {
        #[test]
        fn tuple_space_matches_linear_scan(
            entries in proptest::collection::vec((0u32..4, 0u8..4, 0u16..3, 0usize..3, 0u32..100), 1..30),
            probes in proptest::collection::vec((0u32..4, 0u8..4, 0u16..3), 1..50),
        ) {
            // Masks: the three "shapes" a consistent translation produces.
            let masks = [
                FlowKey { in_port: u32::MAX, ..FlowKey::default() },
                FlowKey { in_port: u32::MAX, dl_dst: [0xff; 6], ..FlowKey::default() },
                FlowKey { in_port: u32::MAX, dl_dst: [0xff; 6], dl_type: 0xffff, ..FlowKey::default() },
            ];
            let mut c = MegaflowCache::new();
            let mut model: Vec<(FlowKey, FlowKey, u32)> = Vec::new();
            for (p, d, t, mi, out) in entries {
                let k = key(p, d, t);
                let m = masks[mi];
                // keep entries non-overlapping: skip if any existing entry
                // could match a packet this one matches.
                let overlaps = model.iter().any(|(mk, mm, _)| {
                    let common = mm.masked(&m);
                    k.equal_under(mk, &common)
                });
                if overlaps { continue; }
                c.insert(k, m, vec![DpAction::Output(out)], Instant::now());
                model.push((k.masked(&m), m, out));
            }
            for (p, d, t) in probes {
                let k = key(p, d, t);
                let want = model.iter().find(|(mk, mm, _)| k.masked(mm) == *mk).map(|e| e.2);
                let got = c.lookup(&k).map(|id| match c.get(id).unwrap().actions[0] { DpAction::Output(o) => o, _ => unreachable!() });
                prop_assert_eq!(got, want);
            }
        }
    }
}
