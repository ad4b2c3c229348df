//! Priority wildcard matching of OpenFlow rules: tuple space search with
//! staged lookup and prefix tries (the ideas of Open vSwitch's
//! `lib/classifier.c`), generic over a flow of `N` `u64` words.
//!
//! Idea: rules are grouped by wildcard mask into one *subtable* per distinct
//! mask; a subtable is a hash table from the masked value to the rules with
//! that value, ordered by priority. A lookup visits subtables in order of
//! decreasing *max priority* and stops as soon as the best match found has a
//! priority at least the next subtable's max priority (early termination).
//! Each lookup also returns, OR-ed into `wc`, the flow bits it looked at, so
//! the caller can install a megaflow: every flow that agrees with the looked
//! up flow on the `wc` bits gets the same answer from this classifier.
//! To keep `wc` narrow (megaflows broad), a subtable is probed in *stages*
//! (e.g. metadata, L2, L3, L4 words): each stage but the last has a hash index
//! of the rules' partial values, so a miss at an early stage un-wildcards only
//! the bits of the stages so far. *Prefix tries* on chosen fields (e.g.
//! `nw_dst`, see [`TrieField`]) let a lookup rule out a subtable with a `/24`
//! on `nw_dst` after un-wildcarding only the few leading bits needed.
//!
//! Invariants: every rule has `value & mask == value`; no two rules share
//! (mask, value, priority); a subtable exists iff it holds a rule, and the
//! lookup order (`order`) is sorted by (max priority desc, creation order);
//! each subtable's stage index counts, per partial hash, the rules having it;
//! each trie counts every rule of every subtable whose mask on the trie's
//! field is a prefix of nonzero length.
//!
//! Ties: among matching rules of equal (highest) priority the winner is the
//! first one found: subtables are visited by decreasing max priority, then
//! by creation order; within a subtable, earlier-inserted rules come first.
//! This is deterministic for a given history of inserts and removes
//! (OpenFlow 1.3.5 §6.4 leaves overlapping equal-priority rules undefined).
//!
//! Performance assumptions: few distinct masks (tens to hundreds) and many
//! rules per mask. Lookup costs one hash probe per stage per visited subtable
//! and allocates nothing. Insert/remove are O(words) plus hash table upkeep,
//! except for a bucket holding many rules of the same masked value (linear
//! in that bucket, as in OVS). Rule values are stored compactly, only the
//! words the subtable's mask touches.
//!
//! Concurrency: a plain single-writer structure (`&mut self` to modify,
//! `&self` to look up, `Send + Sync` when `T` is). Callers share it with a
//! lock per table or publish `Clone`d snapshots (e.g. through `arc-swap`);
//! a clone is a deep copy, linear in the number of rules.

mod hash;
mod trie;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use hash::{finish, mix, IdBuild, WordBuild};
use trie::Trie;
pub use trie::{FieldOrder, TrieField};

/// Maximum number of prefix fields (OVS has `CLS_MAX_TRIES` = 3).
pub const MAX_TRIES: usize = 4;

const NIL: u32 = u32::MAX;

/// Errors from building or modifying a [`Classifier`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClassifierError {
    /// The rule's value has bits set outside its mask in flow word `word`.
    ValueOutsideMask {
        /// Index of the first offending word.
        word: usize,
    },
    /// A rule with the same mask, value and priority already exists
    /// (use [`Classifier::replace`] for OpenFlow "add" semantics).
    Duplicate(RuleId),
    /// Stage boundaries must be strictly increasing and within `1..N`.
    BadStages,
    /// Prefix field `index` does not fit in the flow (see [`TrieField`]).
    BadPrefixField {
        /// Position in the list given.
        index: usize,
    },
    /// More than [`MAX_TRIES`] prefix fields.
    TooManyPrefixFields,
    /// The classifier already holds `u32::MAX - 1` rules.
    Full,
}

impl fmt::Display for ClassifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassifierError::ValueOutsideMask { word } => {
                write!(f, "rule value has bits outside its mask in word {word}")
            }
            ClassifierError::Duplicate(id) => {
                write!(f, "a rule with the same match and priority exists ({id:?})")
            }
            ClassifierError::BadStages => {
                write!(
                    f,
                    "stage boundaries must be strictly increasing within 1..N"
                )
            }
            ClassifierError::BadPrefixField { index } => {
                write!(f, "prefix field {index} does not fit in the flow")
            }
            ClassifierError::TooManyPrefixFields => write!(f, "at most {MAX_TRIES} prefix fields"),
            ClassifierError::Full => write!(f, "classifier is full"),
        }
    }
}

impl std::error::Error for ClassifierError {}

/// A wildcarded rule: it matches flow `f` when `f & mask == value` word by
/// word. Requires `value & mask == value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule<const N: usize, T> {
    /// Match value, with zeros wherever `mask` is zero.
    pub value: [u64; N],
    /// Wildcard mask: 1 bits must match, 0 bits are wildcarded.
    pub mask: [u64; N],
    /// Higher wins (OpenFlow priority, 0..=65535 there; any `u32` here).
    pub priority: u32,
    /// What the caller attaches (actions, counters…).
    pub payload: T,
}

impl<const N: usize, T> Rule<N, T> {
    /// A rule whose value is `value & mask` (so always valid).
    pub fn new(value: [u64; N], mask: [u64; N], priority: u32, payload: T) -> Self {
        let mut v = value;
        for (v, m) in v.iter_mut().zip(mask.iter()) {
            *v &= m;
        }
        Rule {
            value: v,
            mask,
            priority,
            payload,
        }
    }

    /// Whether `flow` matches this rule.
    pub fn matches(&self, flow: &[u64; N]) -> bool {
        flow.iter()
            .zip(&self.mask)
            .zip(&self.value)
            .all(|((f, m), v)| f & m == *v)
    }
}

/// Handle to a rule in one [`Classifier`]; stale handles (rule removed)
/// are detected, never confused with a newer rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId {
    index: u32,
    generation: u32,
}

struct StoredRule<T> {
    subtable: u32,
    /// Position of the rule's compact value in its subtable's arena.
    pos: u32,
    priority: u32,
    /// Next rule in the same hash bucket (priority-descending chain), or NIL.
    next: u32,
    payload: T,
}

struct Slot<T> {
    generation: u32,
    rule: Option<StoredRule<T>>,
}

/// All rules of one mask (OVS `cls_subtable`).
#[derive(Clone)]
struct Subtable<const N: usize> {
    mask: [u64; N],
    /// Word indices where `mask` is nonzero, grouped by stage, ascending.
    words: Box<[u32]>,
    /// `mask[words[j]]`.
    mask_words: Box<[u64]>,
    /// End (into `words`) of each nonempty stage; at least one entry.
    stage_ends: Box<[u32]>,
    /// Per stage: bit `t` set when trie `t` is checked at this stage.
    stage_tries: Box<[u8]>,
    /// Per trie: this mask's prefix length on the trie field (0 = unused).
    trie_plen: [u8; MAX_TRIES],
    /// One index per stage but the last: partial hash -> rules having it.
    indices: Vec<HashMap<u64, u32, IdBuild>>,
    /// Full hash -> first rule (slot index) of the priority-ordered chain.
    buckets: HashMap<u64, u32, IdBuild>,
    /// Compact values, `words.len()` per rule.
    values: Vec<u64>,
    /// Slot index of the rule at each arena position.
    owners: Vec<u32>,
    /// Priority -> number of rules with it.
    priorities: BTreeMap<u32, u32>,
    max_priority: u32,
    seq: u64,
}

impl<const N: usize> Subtable<N> {
    #[inline(always)]
    fn k(&self) -> usize {
        self.words.len()
    }

    #[inline(always)]
    fn values_at(&self, pos: u32) -> &[u64] {
        let k = self.k();
        let p = pos as usize * k;
        &self.values[p..p + k]
    }

    #[inline(always)]
    fn flow_matches_at(&self, flow: &[u64; N], pos: u32) -> bool {
        let vals = self.values_at(pos);
        self.words
            .iter()
            .zip(self.mask_words.iter())
            .zip(vals)
            .all(|((&w, &m), &v)| flow[w as usize] & m == v)
    }

    fn full_value(&self, pos: u32) -> [u64; N] {
        let mut v = [0u64; N];
        for (&w, &x) in self.words.iter().zip(self.values_at(pos)) {
            v[w as usize] = x;
        }
        v
    }

    #[inline(always)]
    fn unwildcard(&self, wc: &mut [u64; N], end: usize) {
        for (&w, &m) in self.words[..end].iter().zip(&self.mask_words[..end]) {
            wc[w as usize] |= m;
        }
    }

    fn full_hash(&self, seed: u64, value: &[u64; N]) -> u64 {
        let mut last = 0;
        st_stage_hashes(
            &self.words,
            &self.mask_words,
            &self.stage_ends,
            seed,
            value,
            |_, h| last = h,
        );
        last
    }

    fn heap_bytes(&self) -> usize {
        fn map_bytes<V>(m: &HashMap<u64, V, IdBuild>) -> usize {
            m.capacity() * (std::mem::size_of::<(u64, V)>() + 1)
        }
        self.words.len() * 4
            + self.mask_words.len() * 8
            + self.stage_ends.len() * 4
            + self.stage_tries.len()
            + self.indices.iter().map(map_bytes).sum::<usize>()
            + map_bytes(&self.buckets)
            + self.values.capacity() * 8
            + self.owners.capacity() * 4
            // BTreeMap: about 1.5x the entry size with node overhead.
            + self.priorities.len() * 12
    }
}

/// Position of a subtable in the lookup order.
#[derive(Clone, Copy, Debug)]
struct OrderEntry {
    max_priority: u32,
    subtable: u32,
    seq: u64,
}

impl OrderEntry {
    fn key(&self) -> (std::cmp::Reverse<u32>, u64) {
        (std::cmp::Reverse(self.max_priority), self.seq)
    }
}

/// Per-lookup memo of one trie walk.
#[derive(Clone, Copy, Default)]
struct TrieCtx {
    done: bool,
    plens: u128,
    maskbits: u32,
}

/// A read-only view of one rule in a [`Classifier`].
pub struct RuleRef<'a, const N: usize, T> {
    id: RuleId,
    priority: u32,
    payload: &'a T,
    subtable: &'a Subtable<N>,
    pos: u32,
}

impl<const N: usize, T> Clone for RuleRef<'_, N, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<const N: usize, T> Copy for RuleRef<'_, N, T> {}

impl<'a, const N: usize, T> RuleRef<'a, N, T> {
    /// The rule's handle.
    pub fn id(&self) -> RuleId {
        self.id
    }
    /// The rule's priority.
    pub fn priority(&self) -> u32 {
        self.priority
    }
    /// The caller's payload.
    pub fn payload(&self) -> &'a T {
        self.payload
    }
    /// The rule's mask.
    pub fn mask(&self) -> &'a [u64; N] {
        &self.subtable.mask
    }
    /// The rule's value (rebuilt from compact storage: `N` words copied).
    pub fn value(&self) -> [u64; N] {
        self.subtable.full_value(self.pos)
    }
    /// Whether `flow` matches the rule.
    pub fn matches(&self, flow: &[u64; N]) -> bool {
        self.subtable.flow_matches_at(flow, self.pos)
    }
    /// An owned copy of the rule.
    pub fn to_rule(&self) -> Rule<N, T>
    where
        T: Clone,
    {
        Rule {
            value: self.value(),
            mask: *self.mask(),
            priority: self.priority,
            payload: self.payload.clone(),
        }
    }
}

impl<const N: usize, T: fmt::Debug> fmt::Debug for RuleRef<'_, N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleRef")
            .field("id", &self.id)
            .field("priority", &self.priority)
            .field("value", &self.value())
            .field("mask", self.mask())
            .field("payload", self.payload)
            .finish()
    }
}

/// OpenFlow priority wildcard classifier over flows of `N` `u64` words
/// (see the crate documentation for the design).
pub struct Classifier<const N: usize, T> {
    /// Stage number of each flow word.
    word_stage: [u8; N],
    tries: Vec<(TrieField, Trie)>,
    seed: u64,
    slots: Vec<Slot<T>>,
    free_slots: Vec<u32>,
    subtables: Vec<Option<Subtable<N>>>,
    free_subtables: Vec<u32>,
    by_mask: HashMap<[u64; N], u32, WordBuild>,
    order: Vec<OrderEntry>,
    n_rules: usize,
    next_seq: u64,
}

impl<const N: usize, T: Clone> Clone for Classifier<N, T> {
    fn clone(&self) -> Self {
        Classifier {
            word_stage: self.word_stage,
            tries: self.tries.clone(),
            seed: self.seed,
            slots: self
                .slots
                .iter()
                .map(|s| Slot {
                    generation: s.generation,
                    rule: s.rule.as_ref().map(|r| StoredRule {
                        subtable: r.subtable,
                        pos: r.pos,
                        priority: r.priority,
                        next: r.next,
                        payload: r.payload.clone(),
                    }),
                })
                .collect(),
            free_slots: self.free_slots.clone(),
            subtables: self.subtables.clone(),
            free_subtables: self.free_subtables.clone(),
            by_mask: self.by_mask.clone(),
            order: self.order.clone(),
            n_rules: self.n_rules,
            next_seq: self.next_seq,
        }
    }
}

impl<const N: usize, T> Default for Classifier<N, T> {
    /// One stage, no prefix tries.
    fn default() -> Self {
        Self::build([0; N])
    }
}

impl<const N: usize, T> fmt::Debug for Classifier<N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Classifier")
            .field("n_rules", &self.n_rules)
            .field("n_subtables", &self.order.len())
            .field("prefix_fields", &self.prefix_fields())
            .finish()
    }
}

impl<const N: usize, T> Classifier<N, T> {
    /// An empty classifier whose stages are the word ranges split at
    /// `stage_bounds` (e.g. `[1, 3, 4]` gives stages `0..1`, `1..3`, `3..4`,
    /// `4..N`), with prefix tries on `prefix_fields`.
    ///
    /// Errors: [`ClassifierError::BadStages`] unless the bounds are strictly
    /// increasing within `1..N` (at most 255 of them); prefix field errors as
    /// [`Classifier::set_prefix_fields`].
    pub fn new(
        stage_bounds: &[usize],
        prefix_fields: &[TrieField],
    ) -> Result<Self, ClassifierError> {
        if stage_bounds.len() > 255
            || stage_bounds.windows(2).any(|w| w[0] >= w[1])
            || stage_bounds.iter().any(|&b| b == 0 || b >= N)
        {
            return Err(ClassifierError::BadStages);
        }
        let mut word_stage = [0u8; N];
        for (w, s) in word_stage.iter_mut().enumerate() {
            *s = stage_bounds.iter().filter(|&&b| b <= w).count() as u8;
        }
        Self::with_word_stages(word_stage, prefix_fields)
    }

    /// An empty classifier where flow word `w` belongs to stage
    /// `word_stage[w]` (stages are probed in increasing number; words need not
    /// be contiguous, e.g. metadata and registers stored after L4 may still
    /// form stage 0), with prefix tries on `prefix_fields`.
    ///
    /// Errors: as [`Classifier::set_prefix_fields`].
    pub fn with_word_stages(
        word_stage: [u8; N],
        prefix_fields: &[TrieField],
    ) -> Result<Self, ClassifierError> {
        let mut c = Self::build(word_stage);
        c.set_prefix_fields(prefix_fields)?;
        Ok(c)
    }

    fn build(word_stage: [u8; N]) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0);
        Classifier {
            word_stage,
            tries: Vec::new(),
            seed: h.finish(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            subtables: Vec::new(),
            free_subtables: Vec::new(),
            by_mask: HashMap::default(),
            order: Vec::new(),
            n_rules: 0,
            next_seq: 0,
        }
    }

    /// Replaces the prefix-trie fields (OVS `classifier_set_prefix_fields`,
    /// `Flow_Table:prefixes`) and rebuilds the tries from the current rules.
    ///
    /// Errors: [`ClassifierError::TooManyPrefixFields`] beyond
    /// [`MAX_TRIES`]; [`ClassifierError::BadPrefixField`] when a field does
    /// not fit (word `>= N`, `len` not in `1..=64`, `shift + len > 64`).
    pub fn set_prefix_fields(&mut self, fields: &[TrieField]) -> Result<(), ClassifierError> {
        if fields.len() > MAX_TRIES {
            return Err(ClassifierError::TooManyPrefixFields);
        }
        if let Some(index) = fields.iter().position(|f| !f.is_valid(N)) {
            return Err(ClassifierError::BadPrefixField { index });
        }
        self.tries = fields.iter().map(|&f| (f, Trie::default())).collect();
        for si in 0..self.subtables.len() {
            let Some(st) = self.subtables[si].as_mut() else {
                continue;
            };
            let (trie_plen, stage_tries) = Self::trie_layout(
                &self.word_stage,
                &self.tries,
                &st.mask,
                &st.words,
                &st.stage_ends,
            );
            st.trie_plen = trie_plen;
            st.stage_tries = stage_tries;
            for pos in 0..st.owners.len() as u32 {
                let value = st.full_value(pos);
                for (t, (field, trie)) in self.tries.iter_mut().enumerate() {
                    if st.trie_plen[t] > 0 {
                        trie.insert(
                            field.left_aligned(value[field.word]),
                            u32::from(st.trie_plen[t]),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The configured prefix-trie fields.
    pub fn prefix_fields(&self) -> Vec<TrieField> {
        self.tries.iter().map(|(f, _)| *f).collect()
    }

    fn trie_layout(
        word_stage: &[u8; N],
        tries: &[(TrieField, Trie)],
        mask: &[u64; N],
        words: &[u32],
        stage_ends: &[u32],
    ) -> ([u8; MAX_TRIES], Box<[u8]>) {
        let mut trie_plen = [0u8; MAX_TRIES];
        let mut stage_tries = vec![0u8; stage_ends.len()];
        for (t, (field, _)) in tries.iter().enumerate() {
            let plen = field.plen_of_mask(mask[field.word]);
            if plen == 0 {
                continue;
            }
            trie_plen[t] = plen as u8;
            // The stage holding the field's word.
            let mut start = 0usize;
            for (s, &end) in stage_ends.iter().enumerate() {
                let end = end as usize;
                if words[start..end]
                    .iter()
                    .any(|&w| word_stage[w as usize] == word_stage[field.word])
                {
                    stage_tries[s] |= 1 << t;
                    break;
                }
                start = end;
            }
        }
        (trie_plen, stage_tries.into_boxed_slice())
    }

    fn new_subtable(&mut self, mask: &[u64; N]) -> u32 {
        let mut words: Vec<u32> = (0..N as u32).filter(|&w| mask[w as usize] != 0).collect();
        words.sort_by_key(|&w| (self.word_stage[w as usize], w));
        let mut stage_ends: Vec<u32> = Vec::new();
        for (j, &w) in words.iter().enumerate() {
            if j + 1 == words.len()
                || self.word_stage[words[j + 1] as usize] != self.word_stage[w as usize]
            {
                stage_ends.push(j as u32 + 1);
            }
        }
        if stage_ends.is_empty() {
            stage_ends.push(0);
        }
        let (trie_plen, stage_tries) =
            Self::trie_layout(&self.word_stage, &self.tries, mask, &words, &stage_ends);
        let n_indices = stage_ends.len() - 1;
        let seq = self.next_seq;
        self.next_seq += 1;
        let st = Subtable {
            mask: *mask,
            mask_words: words.iter().map(|&w| mask[w as usize]).collect(),
            words: words.into_boxed_slice(),
            stage_ends: stage_ends.into_boxed_slice(),
            stage_tries,
            trie_plen,
            indices: (0..n_indices).map(|_| HashMap::default()).collect(),
            buckets: HashMap::default(),
            values: Vec::new(),
            owners: Vec::new(),
            priorities: BTreeMap::new(),
            max_priority: 0,
            seq,
        };
        let idx = match self.free_subtables.pop() {
            Some(i) => {
                self.subtables[i as usize] = Some(st);
                i
            }
            None => {
                self.subtables.push(Some(st));
                (self.subtables.len() - 1) as u32
            }
        };
        self.by_mask.insert(*mask, idx);
        // A new subtable enters the order at max priority 0 (moved on insert).
        let entry = OrderEntry {
            max_priority: 0,
            subtable: idx,
            seq,
        };
        let at = self.order.partition_point(|e| e.key() < entry.key());
        self.order.insert(at, entry);
        idx
    }

    /// Moves subtable `idx` in the lookup order from `old` to `new` max priority.
    fn reorder(&mut self, idx: u32, seq: u64, old: u32, new: u32) {
        let old_key = (std::cmp::Reverse(old), seq);
        let Ok(p) = self.order.binary_search_by(|e| e.key().cmp(&old_key)) else {
            return;
        };
        debug_assert_eq!(self.order[p].subtable, idx);
        self.order[p].max_priority = new;
        let new_key = self.order[p].key();
        if new > old {
            let c = self.order[..p].partition_point(|e| e.key() < new_key);
            self.order[c..=p].rotate_right(1);
        } else {
            let c = self.order[p + 1..].partition_point(|e| e.key() < new_key);
            self.order[p..=p + c].rotate_left(1);
        }
    }

    /// Adds `rule` (OVS `classifier_insert`) and returns its handle.
    ///
    /// Errors: [`ClassifierError::ValueOutsideMask`] if `value & !mask != 0`;
    /// [`ClassifierError::Duplicate`] if a rule with the same mask, value and
    /// priority exists; [`ClassifierError::Full`].
    pub fn insert(&mut self, rule: Rule<N, T>) -> Result<RuleId, ClassifierError> {
        self.insert_inner(rule, false).map(|(id, _)| id)
    }

    /// Adds `rule`, removing and returning any rule with the same mask, value
    /// and priority (OVS `classifier_replace`; OpenFlow 1.3.5 §6.4 "add").
    ///
    /// Errors: as [`Classifier::insert`] except `Duplicate`.
    pub fn replace(
        &mut self,
        rule: Rule<N, T>,
    ) -> Result<(RuleId, Option<Rule<N, T>>), ClassifierError> {
        self.insert_inner(rule, true)
    }

    fn insert_inner(
        &mut self,
        rule: Rule<N, T>,
        replace: bool,
    ) -> Result<(RuleId, Option<Rule<N, T>>), ClassifierError> {
        if let Some(word) = (0..N).find(|&w| rule.value[w] & !rule.mask[w] != 0) {
            return Err(ClassifierError::ValueOutsideMask { word });
        }
        if self.free_slots.is_empty() && self.slots.len() >= (u32::MAX - 1) as usize {
            return Err(ClassifierError::Full);
        }
        let si = match self.by_mask.get(&rule.mask) {
            Some(&i) => i,
            None => self.new_subtable(&rule.mask),
        };
        let seed = self.seed;
        let Some(st) = self.subtables[si as usize].as_mut() else {
            unreachable!("by_mask points at a live subtable")
        };
        let h = st.full_hash(seed, &rule.value);
        // Find the chain position and any identical rule.
        let head = st.buckets.get(&h).copied().unwrap_or(NIL);
        let mut dup = None;
        let mut prev = NIL;
        let mut cur = head;
        while cur != NIL {
            let Some(r) = self.slots[cur as usize].rule.as_ref() else {
                break;
            };
            if r.priority == rule.priority
                && st
                    .values_at(r.pos)
                    .iter()
                    .zip(st.words.iter())
                    .all(|(&v, &w)| v == rule.value[w as usize])
            {
                dup = Some(RuleId {
                    index: cur,
                    generation: self.slots[cur as usize].generation,
                });
            }
            if r.priority < rule.priority {
                break;
            }
            prev = cur;
            cur = r.next;
        }
        if let (Some(id), false) = (dup, replace) {
            return Err(ClassifierError::Duplicate(id));
        }
        // Store the rule.
        let pos = st.owners.len() as u32;
        let index = match self.free_slots.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    rule: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        st.values
            .extend(st.words.iter().map(|&w| rule.value[w as usize]));
        st.owners.push(index);
        let slot = &mut self.slots[index as usize];
        slot.rule = Some(StoredRule {
            subtable: si,
            pos,
            priority: rule.priority,
            next: cur,
            payload: rule.payload,
        });
        let id = RuleId {
            index,
            generation: slot.generation,
        };
        if prev == NIL {
            st.buckets.insert(h, index);
        } else if let Some(p) = self.slots[prev as usize].rule.as_mut() {
            p.next = index;
        }
        let n_indices = st.indices.len();
        let indices = &mut st.indices;
        st_stage_hashes(
            &st.words,
            &st.mask_words,
            &st.stage_ends,
            seed,
            &rule.value,
            |s, hs| {
                if s < n_indices {
                    *indices[s].entry(hs).or_insert(0) += 1;
                }
            },
        );
        *st.priorities.entry(rule.priority).or_insert(0) += 1;
        let (old_max, seq) = (st.max_priority, st.seq);
        let was_empty = st.owners.len() == 1;
        for (t, (field, trie)) in self.tries.iter_mut().enumerate() {
            if st.trie_plen[t] > 0 {
                trie.insert(
                    field.left_aligned(rule.value[field.word]),
                    u32::from(st.trie_plen[t]),
                );
            }
        }
        if was_empty || rule.priority > old_max {
            st.max_priority = rule.priority;
            self.reorder(si, seq, if was_empty { 0 } else { old_max }, rule.priority);
        }
        self.n_rules += 1;
        let displaced = dup.and_then(|d| self.remove(d));
        Ok((id, displaced))
    }

    /// Removes the rule `id` and returns it, or `None` if `id` is stale
    /// (OVS `classifier_remove`).
    pub fn remove(&mut self, id: RuleId) -> Option<Rule<N, T>> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let r = slot.rule.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free_slots.push(id.index);
        let seed = self.seed;
        let si = r.subtable;
        let st = self.subtables.get_mut(si as usize)?.as_mut()?;
        let value = st.full_value(r.pos);
        // Unlink from the bucket chain.
        let h = st.full_hash(seed, &value);
        let head = st.buckets.get(&h).copied().unwrap_or(NIL);
        if head == id.index {
            if r.next == NIL {
                st.buckets.remove(&h);
            } else {
                st.buckets.insert(h, r.next);
            }
        } else {
            let mut cur = head;
            while cur != NIL {
                let Some(c) = self.slots[cur as usize].rule.as_mut() else {
                    break;
                };
                if c.next == id.index {
                    c.next = r.next;
                    break;
                }
                cur = c.next;
            }
        }
        let n_indices = st.indices.len();
        let indices = &mut st.indices;
        st_stage_hashes(
            &st.words,
            &st.mask_words,
            &st.stage_ends,
            seed,
            &value,
            |s, hs| {
                if s < n_indices {
                    if let Some(c) = indices[s].get_mut(&hs) {
                        *c -= 1;
                        if *c == 0 {
                            indices[s].remove(&hs);
                        }
                    }
                }
            },
        );
        // Move the arena's last value into the hole.
        let k = st.k();
        let last = st.owners.len() - 1;
        if r.pos as usize != last {
            let p = r.pos as usize;
            st.values.copy_within(last * k..last * k + k, p * k);
            let moved = st.owners[last];
            st.owners[p] = moved;
            if let Some(m) = self.slots[moved as usize].rule.as_mut() {
                m.pos = r.pos;
            }
        }
        st.values.truncate(last * k);
        st.owners.pop();
        for (t, (field, trie)) in self.tries.iter_mut().enumerate() {
            if st.trie_plen[t] > 0 {
                trie.remove(
                    field.left_aligned(value[field.word]),
                    u32::from(st.trie_plen[t]),
                );
            }
        }
        if let Some(c) = st.priorities.get_mut(&r.priority) {
            *c -= 1;
            if *c == 0 {
                st.priorities.remove(&r.priority);
            }
        }
        let mask = st.mask;
        let (old_max, seq) = (st.max_priority, st.seq);
        self.n_rules -= 1;
        match st.priorities.last_key_value().map(|(&p, _)| p) {
            None => {
                // Destroy the now empty subtable.
                let key = (std::cmp::Reverse(old_max), seq);
                if let Ok(p) = self.order.binary_search_by(|e| e.key().cmp(&key)) {
                    self.order.remove(p);
                }
                self.by_mask.remove(&mask);
                self.subtables[si as usize] = None;
                self.free_subtables.push(si);
            }
            Some(new_max) if new_max != old_max => {
                st.max_priority = new_max;
                self.reorder(si, seq, old_max, new_max);
            }
            Some(_) => {}
        }
        Some(Rule {
            value,
            mask,
            priority: r.priority,
            payload: r.payload,
        })
    }

    /// Finds the highest-priority rule matching `flow` (OVS
    /// `classifier_lookup`) and ORs into `wc` every flow bit the lookup
    /// depended on: every flow equal to `flow` on the bits set in `wc` gets
    /// the same result. Bits already set in `wc` are kept and may be relied
    /// on. Ties: see the crate documentation. No heap allocation.
    pub fn lookup(&self, flow: &[u64; N], wc: &mut [u64; N]) -> Option<(RuleId, &T)> {
        let mut ctx = [TrieCtx::default(); MAX_TRIES];
        let mut best: Option<(u32, u32)> = None; // (slot, priority)
        for e in &self.order {
            if matches!(best, Some((_, bp)) if bp >= e.max_priority) {
                break;
            }
            let Some(st) = self.subtables[e.subtable as usize].as_ref() else {
                continue;
            };
            if let Some((slot, pri)) = self.find_in_subtable(st, flow, wc, &mut ctx) {
                if !matches!(best, Some((_, bp)) if bp >= pri) {
                    best = Some((slot, pri));
                }
            }
        }
        let (slot, _) = best?;
        let s = &self.slots[slot as usize];
        let r = s.rule.as_ref()?;
        Some((
            RuleId {
                index: slot,
                generation: s.generation,
            },
            &r.payload,
        ))
    }

    /// Like [`Classifier::lookup`] without tracking wildcards (for callers
    /// that do not install megaflows).
    pub fn lookup_nowc(&self, flow: &[u64; N]) -> Option<(RuleId, &T)> {
        let mut wc = [0u64; N];
        self.lookup(flow, &mut wc)
    }

    /// Staged probe of one subtable (OVS `find_match_wc`): the best rule of
    /// `st` matching `flow` as (slot, priority), un-wildcarding what it read.
    #[inline]
    fn find_in_subtable(
        &self,
        st: &Subtable<N>,
        flow: &[u64; N],
        wc: &mut [u64; N],
        ctx: &mut [TrieCtx; MAX_TRIES],
    ) -> Option<(u32, u32)> {
        let mut h = self.seed;
        let mut start = 0usize;
        let last = st.stage_ends.len() - 1;
        for (s, &end) in st.stage_ends.iter().enumerate() {
            if st.stage_tries[s] != 0 && self.tries_rule_out(st, s, flow, wc, ctx) {
                return None;
            }
            let end = end as usize;
            for (&w, &m) in st.words[start..end].iter().zip(&st.mask_words[start..end]) {
                h = mix(h, flow[w as usize] & m);
            }
            let hs = finish(h);
            if s < last {
                if !st.indices[s].contains_key(&hs) {
                    // No rule has these stages' values: only they mattered.
                    st.unwildcard(wc, end);
                    return None;
                }
            } else {
                st.unwildcard(wc, end);
                let mut cur = st.buckets.get(&hs).copied().unwrap_or(NIL);
                while cur != NIL {
                    let r = self.slots[cur as usize].rule.as_ref()?;
                    if st.flow_matches_at(flow, r.pos) {
                        return Some((cur, r.priority));
                    }
                    cur = r.next;
                }
                return None;
            }
            start = end;
        }
        None
    }

    /// OVS `check_tries`: whether a trie proves that no rule of `st` can
    /// match, having un-wildcarded the trie bits that prove it.
    #[inline]
    fn tries_rule_out(
        &self,
        st: &Subtable<N>,
        stage: usize,
        flow: &[u64; N],
        wc: &mut [u64; N],
        ctx: &mut [TrieCtx; MAX_TRIES],
    ) -> bool {
        let mut bits = st.stage_tries[stage];
        while bits != 0 {
            let t = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let (Some((field, trie)), Some(c)) = (self.tries.get(t), ctx.get_mut(t)) else {
                continue;
            };
            if !c.done {
                let (plens, maskbits) =
                    trie.lookup(field.left_aligned(flow[field.word]), field.len);
                *c = TrieCtx {
                    done: true,
                    plens,
                    maskbits,
                };
            }
            let plen = u32::from(st.trie_plen[t]);
            if c.plens & (1u128 << plen) == 0 {
                // No rule with a /plen prefix on this field matches `flow`.
                let m = field.prefix_mask(c.maskbits);
                if c.maskbits <= plen {
                    wc[field.word] |= m;
                    return true;
                }
                // Needs more bits than the subtable itself would read: use
                // the trie only if those bits are un-wildcarded anyway.
                if wc[field.word] & m == m {
                    return true;
                }
            }
        }
        false
    }

    /// The rule `id`, or `None` if stale.
    pub fn get(&self, id: RuleId) -> Option<RuleRef<'_, N, T>> {
        let s = self.slots.get(id.index as usize)?;
        if s.generation != id.generation {
            return None;
        }
        self.rule_ref(id.index)
    }

    /// Mutable access to the payload of rule `id` (e.g. OpenFlow "modify"
    /// changing actions), or `None` if stale.
    pub fn payload_mut(&mut self, id: RuleId) -> Option<&mut T> {
        let s = self.slots.get_mut(id.index as usize)?;
        if s.generation != id.generation {
            return None;
        }
        s.rule.as_mut().map(|r| &mut r.payload)
    }

    fn rule_ref(&self, index: u32) -> Option<RuleRef<'_, N, T>> {
        let s = self.slots.get(index as usize)?;
        let r = s.rule.as_ref()?;
        let st = self.subtables.get(r.subtable as usize)?.as_ref()?;
        Some(RuleRef {
            id: RuleId {
                index,
                generation: s.generation,
            },
            priority: r.priority,
            payload: &r.payload,
            subtable: st,
            pos: r.pos,
        })
    }

    /// The rule with exactly this mask, value and priority (OVS
    /// `classifier_find_match_exactly`; OpenFlow's `_STRICT` modify/delete).
    /// `value` is masked by `mask` first.
    pub fn find_exactly(
        &self,
        value: &[u64; N],
        mask: &[u64; N],
        priority: u32,
    ) -> Option<RuleRef<'_, N, T>> {
        let &si = self.by_mask.get(mask)?;
        let st = self.subtables.get(si as usize)?.as_ref()?;
        let mut cur = st
            .buckets
            .get(&st.full_hash(self.seed, value))
            .copied()
            .unwrap_or(NIL);
        while cur != NIL {
            let r = self.slots[cur as usize].rule.as_ref()?;
            if r.priority == priority && st.flow_matches_at(value, r.pos) {
                return self.rule_ref(cur);
            }
            cur = r.next;
        }
        None
    }

    /// Rules that match "loosely" (OpenFlow 1.3.5 §6.4 non-strict
    /// modify/delete): at least as specific as (`value`, `mask`) — the rule's
    /// mask covers `mask` — and equal to `value` on `mask`'s bits. Visits
    /// every rule of every subtable whose mask covers `mask`; unspecified order.
    pub fn find_loose<'a>(
        &'a self,
        value: &'a [u64; N],
        mask: &'a [u64; N],
    ) -> impl Iterator<Item = RuleRef<'a, N, T>> + 'a {
        self.subtables
            .iter()
            .flatten()
            .filter(move |st| st.mask.iter().zip(mask).all(|(sm, m)| sm & m == *m))
            .flat_map(move |st| {
                st.owners
                    .iter()
                    .enumerate()
                    .filter_map(move |(pos, &slot)| {
                        let vals = st.values_at(pos as u32);
                        let ok = st
                            .words
                            .iter()
                            .zip(vals)
                            .all(|(&w, &v)| (v ^ value[w as usize]) & mask[w as usize] == 0);
                        if ok {
                            self.rule_ref(slot)
                        } else {
                            None
                        }
                    })
            })
    }

    /// Whether some rule with `priority` overlaps (`value`, `mask`): a flow
    /// could match both (OpenFlow 1.3.5 §6.4 `OFPFF_CHECK_OVERLAP`; OVS
    /// `classifier_rule_overlaps`).
    pub fn overlaps(&self, value: &[u64; N], mask: &[u64; N], priority: u32) -> bool {
        self.subtables
            .iter()
            .flatten()
            .filter(|st| st.priorities.contains_key(&priority))
            .any(|st| {
                st.owners.iter().enumerate().any(|(pos, &slot)| {
                    let same_pri = self.slots[slot as usize]
                        .rule
                        .as_ref()
                        .is_some_and(|r| r.priority == priority);
                    same_pri
                        && st
                            .words
                            .iter()
                            .zip(st.values_at(pos as u32))
                            .all(|(&w, &v)| {
                                let w = w as usize;
                                (v ^ value[w]) & st.mask[w] & mask[w] == 0
                            })
                })
            })
    }

    /// Every rule, in unspecified order.
    pub fn iter(&self) -> impl Iterator<Item = RuleRef<'_, N, T>> + '_ {
        (0..self.slots.len() as u32).filter_map(move |i| self.rule_ref(i))
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.n_rules
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.n_rules == 0
    }

    /// Number of rules with exactly `priority`.
    pub fn count_priority(&self, priority: u32) -> usize {
        self.order
            .iter()
            .take_while(|e| e.max_priority >= priority)
            .filter_map(|e| self.subtables[e.subtable as usize].as_ref())
            .map(|st| st.priorities.get(&priority).copied().unwrap_or(0) as usize)
            .sum()
    }

    /// Number of subtables (distinct masks).
    pub fn n_subtables(&self) -> usize {
        self.order.len()
    }

    /// Approximate heap bytes held (tables at capacity, excluding whatever
    /// the payloads own).
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot<T>>()
            + self.free_slots.capacity() * 4
            + self.subtables.capacity() * std::mem::size_of::<Option<Subtable<N>>>()
            + self
                .subtables
                .iter()
                .flatten()
                .map(Subtable::heap_bytes)
                .sum::<usize>()
            + self.by_mask.capacity() * (std::mem::size_of::<([u64; N], u32)>() + 1)
            + self.order.capacity() * std::mem::size_of::<OrderEntry>()
            + self
                .tries
                .iter()
                .map(|(_, t)| t.heap_bytes())
                .sum::<usize>()
    }
}

/// Stage hashes of `value` for a subtable's layout (free function so the
/// caller can hold a mutable borrow of the subtable's indices meanwhile).
fn st_stage_hashes<const N: usize>(
    words: &[u32],
    mask_words: &[u64],
    stage_ends: &[u32],
    seed: u64,
    value: &[u64; N],
    mut f: impl FnMut(usize, u64),
) {
    let mut h = seed;
    let mut start = 0usize;
    for (s, &end) in stage_ends.iter().enumerate() {
        let end = end as usize;
        for (&w, &m) in words[start..end].iter().zip(&mask_words[start..end]) {
            h = mix(h, value[w as usize] & m);
        }
        f(s, finish(h));
        start = end;
    }
}

#[cfg(test)]
mod tests;
