//! Unit tests and property tests against a linear-scan reference classifier.

// Word-indexed loops read more plainly than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use super::*;
use proptest::prelude::*;

/// Test flow layout (4 words), host-order fields:
/// word 0: in_port bits 0..16, metadata bits 32..64;
/// word 1: dl_type bits 0..16, vlan bits 16..28;
/// word 2: nw_dst bits 0..32, nw_src bits 32..64;
/// word 3: tp_dst bits 0..16, tp_src bits 16..32, nw_proto bits 32..40.
const W: usize = 4;
type Flow = [u64; W];

const IN_PORT: (usize, u64) = (0, 0xffff);
const METADATA: (usize, u64) = (0, 0xffff_ffff << 32);
const DL_TYPE: (usize, u64) = (1, 0xffff);
const NW_PROTO: (usize, u64) = (3, 0xff << 32);
const TP_DST: (usize, u64) = (3, 0xffff);

const NW_DST_TRIE: TrieField = TrieField::host(2, 0, 32);
const NW_SRC_TRIE: TrieField = TrieField::host(2, 32, 32);
const TP_DST_TRIE: TrieField = TrieField::host(3, 0, 16);
const TP_SRC_TRIE: TrieField = TrieField::host(3, 16, 16);

fn nw_dst(plen: u32) -> (usize, u64) {
    (2, NW_DST_TRIE.prefix_mask(plen))
}
fn nw_src(plen: u32) -> (usize, u64) {
    (2, NW_SRC_TRIE.prefix_mask(plen))
}
fn tp_src(plen: u32) -> (usize, u64) {
    (3, TP_SRC_TRIE.prefix_mask(plen))
}

fn mask_of(fields: &[(usize, u64)]) -> Flow {
    let mut m = [0; W];
    for &(w, bits) in fields {
        m[w] |= bits;
    }
    m
}

/// A small set of realistic masks (plus two odd ones).
fn masks() -> Vec<Flow> {
    vec![
        mask_of(&[]),
        mask_of(&[IN_PORT]),
        mask_of(&[DL_TYPE]),
        mask_of(&[DL_TYPE, nw_dst(24)]),
        mask_of(&[DL_TYPE, nw_dst(32)]),
        mask_of(&[DL_TYPE, nw_src(16), nw_dst(8)]),
        mask_of(&[DL_TYPE, NW_PROTO, TP_DST]),
        mask_of(&[DL_TYPE, nw_dst(32), NW_PROTO, TP_DST]),
        mask_of(&[IN_PORT, DL_TYPE, nw_src(32)]),
        mask_of(&[(2, 0x00ff_00ff)]),
        mask_of(&[tp_src(12), (3, 0xf000)]),
        mask_of(&[METADATA, IN_PORT]),
        mask_of(&[DL_TYPE, nw_dst(1)]),
        [u64::MAX; W],
    ]
}

/// Flows from small per-field domains so that rules and flows collide often.
fn flow_strategy() -> impl Strategy<Value = Flow> {
    (
        prop::sample::select(vec![1u64, 2, 3]),
        prop::sample::select(vec![0u64, 5]),
        prop::sample::select(vec![0x800u64, 0x806]),
        prop::sample::select(vec![0x0a00_0001u64, 0x0a00_0101, 0xc0a8_0001]),
        prop::sample::select(vec![
            0x0a00_0002u64,
            0x0a00_0003,
            0x0a01_0002,
            0xac10_0001,
            0x8000_0000,
        ]),
        prop::sample::select(vec![80u64, 443, 22, 0x8050]),
        prop::sample::select(vec![80u64, 443, 22]),
        prop::sample::select(vec![6u64, 17]),
    )
        .prop_map(|(in_port, md, dl_type, src, dst, tsrc, tdst, proto)| {
            [
                in_port | md << 32,
                dl_type,
                dst | src << 32,
                tdst | tsrc << 16 | proto << 32,
            ]
        })
}

/// A flow from the domains, sometimes with one word disturbed at random.
fn probe_strategy() -> impl Strategy<Value = Flow> {
    (flow_strategy(), 0usize..8, any::<u64>()).prop_map(|(mut f, w, noise)| {
        if w < W {
            f[w] ^= noise & (noise >> 7);
        }
        f
    })
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        mask: usize,
        flow: Flow,
        priority: u32,
    },
    Replace {
        mask: usize,
        flow: Flow,
        priority: u32,
    },
    Remove(usize),
    Lookup(Flow, Vec<u64>),
}

fn op_strategy(n_masks: usize, max_pri: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..n_masks, flow_strategy(), 0..max_pri).prop_map(|(mask, flow, priority)| Op::Insert { mask, flow, priority }),
        1 => (0..n_masks, flow_strategy(), 0..max_pri).prop_map(|(mask, flow, priority)| Op::Replace { mask, flow, priority }),
        1 => any::<usize>().prop_map(Op::Remove),
        4 => (probe_strategy(), prop::collection::vec(any::<u64>(), 6)).prop_map(|(f, n)| Op::Lookup(f, n)),
    ]
}

/// Classifier configurations exercised by the property tests.
fn config(i: usize) -> Classifier<W, u32> {
    match i {
        0 => Classifier::new(
            &[1, 2, 3],
            &[NW_SRC_TRIE, NW_DST_TRIE, TP_SRC_TRIE, TP_DST_TRIE],
        )
        .unwrap(),
        1 => Classifier::default(),
        2 => Classifier::new(&[2], &[NW_DST_TRIE]).unwrap(),
        // Non-contiguous stages: L4 word first, then metadata, then L3, then L2.
        _ => Classifier::with_word_stages([1, 3, 2, 0], &[TP_DST_TRIE, NW_DST_TRIE]).unwrap(),
    }
}

/// The reference: a list of rules, scanned linearly.
#[derive(Default)]
struct Naive {
    rules: Vec<(RuleId, Rule<W, u32>)>,
}

impl Naive {
    fn best_priority(&self, flow: &Flow) -> Option<u32> {
        self.rules
            .iter()
            .filter(|(_, r)| r.matches(flow))
            .map(|(_, r)| r.priority)
            .max()
    }
    fn find_exact(&self, value: &Flow, mask: &Flow, priority: u32) -> Option<RuleId> {
        self.rules
            .iter()
            .find(|(_, r)| r.mask == *mask && r.value == *value && r.priority == priority)
            .map(|(id, _)| *id)
    }
}

fn check_lookup(
    cls: &Classifier<W, u32>,
    naive: &Naive,
    flow: &Flow,
    noise: &[u64],
    unique: bool,
) -> Result<(), TestCaseError> {
    let mut wc = [0u64; W];
    let got = cls.lookup(flow, &mut wc).map(|(id, p)| (id, *p));
    let want = naive.best_priority(flow);
    let got_pri = got.map(|(id, _)| cls.get(id).unwrap().priority());
    prop_assert_eq!(got_pri, want, "flow {:x?}", flow);
    if let Some((id, payload)) = got {
        let r = cls.get(id).unwrap();
        prop_assert!(r.matches(flow));
        prop_assert_eq!(*r.payload(), payload);
        // The winning rule's whole mask was looked at.
        for w in 0..W {
            prop_assert_eq!(wc[w] & r.mask()[w], r.mask()[w]);
        }
        if unique {
            let naive_id = naive
                .rules
                .iter()
                .filter(|(_, r)| r.matches(flow))
                .max_by_key(|(_, r)| r.priority)
                .map(|(id, _)| *id);
            prop_assert_eq!(Some(id), naive_id);
        }
    }
    // wc soundness: flows agreeing on wc get the same answer.
    let mut variants: Vec<Flow> = Vec::new();
    for chunk in noise.chunks(W) {
        let mut f = *flow;
        for (w, n) in chunk.iter().enumerate() {
            f[w] ^= n & !wc[w];
        }
        variants.push(f);
    }
    for (_, r) in &naive.rules {
        let mut f = *flow;
        for w in 0..W {
            f[w] ^= r.mask[w] & !wc[w];
        }
        variants.push(f);
    }
    for w in 0..W {
        for b in 0..64 {
            if wc[w] >> b & 1 == 0 {
                let mut f = *flow;
                f[w] ^= 1 << b;
                variants.push(f);
            }
        }
    }
    for v in &variants {
        prop_assert_eq!(
            naive.best_priority(v),
            want,
            "wc {:x?} too narrow: flow {:x?} variant {:x?}",
            wc,
            flow,
            v
        );
        let mut wc2 = [0u64; W];
        prop_assert_eq!(
            cls.lookup(v, &mut wc2).map(|(id, _)| id),
            got.map(|(id, _)| id)
        );
    }
    Ok(())
}

fn check_queries(
    cls: &Classifier<W, u32>,
    naive: &Naive,
    value: &Flow,
    mask: &Flow,
    priority: u32,
) -> Result<(), TestCaseError> {
    let mut value = *value;
    for w in 0..W {
        value[w] &= mask[w];
    }
    // Loose.
    let mut got: Vec<RuleId> = cls.find_loose(&value, mask).map(|r| r.id()).collect();
    let mut want: Vec<RuleId> = naive
        .rules
        .iter()
        .filter(|(_, r)| {
            (0..W).all(|w| r.mask[w] & mask[w] == mask[w] && (r.value[w] ^ value[w]) & mask[w] == 0)
        })
        .map(|(id, _)| *id)
        .collect();
    got.sort();
    want.sort();
    prop_assert_eq!(got, want);
    // Strict.
    prop_assert_eq!(
        cls.find_exactly(&value, mask, priority).map(|r| r.id()),
        naive.find_exact(&value, mask, priority)
    );
    // Overlap.
    let want_overlap = naive.rules.iter().any(|(_, r)| {
        r.priority == priority && (0..W).all(|w| (r.value[w] ^ value[w]) & r.mask[w] & mask[w] == 0)
    });
    prop_assert_eq!(cls.overlaps(&value, mask, priority), want_overlap);
    prop_assert_eq!(
        cls.count_priority(priority),
        naive
            .rules
            .iter()
            .filter(|(_, r)| r.priority == priority)
            .count()
    );
    Ok(())
}

fn run(cfg: usize, ops: Vec<Op>, unique: bool) -> Result<(), TestCaseError> {
    let masks = masks();
    let mut cls = config(cfg);
    let mut naive = Naive::default();
    let mut next_payload = 0u32;
    let mut used_pri = std::collections::HashSet::new();
    for op in ops {
        match op {
            Op::Insert {
                mask,
                flow,
                priority,
            }
            | Op::Replace {
                mask,
                flow,
                priority,
            } => {
                let is_replace = matches!(op, Op::Replace { .. });
                if unique && !used_pri.insert(priority) {
                    continue;
                }
                let rule = Rule::new(flow, masks[mask], priority, next_payload);
                next_payload += 1;
                let existing = naive.find_exact(&rule.value, &rule.mask, priority);
                if is_replace {
                    let (id, displaced) = cls.replace(rule.clone()).unwrap();
                    prop_assert_eq!(displaced.is_some(), existing.is_some());
                    if let Some(old) = existing {
                        let i = naive.rules.iter().position(|(x, _)| *x == old).unwrap();
                        let (_, old_rule) = naive.rules.remove(i);
                        prop_assert_eq!(displaced.unwrap(), old_rule);
                        prop_assert!(cls.get(old).is_none());
                    }
                    naive.rules.push((id, rule));
                } else {
                    match cls.insert(rule.clone()) {
                        Ok(id) => {
                            prop_assert!(existing.is_none());
                            naive.rules.push((id, rule));
                        }
                        Err(ClassifierError::Duplicate(id)) => prop_assert_eq!(Some(id), existing),
                        Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
                    }
                }
            }
            Op::Remove(i) => {
                if naive.rules.is_empty() {
                    continue;
                }
                let (id, rule) = naive.rules.remove(i % naive.rules.len());
                prop_assert_eq!(cls.remove(id), Some(rule));
                prop_assert!(cls.remove(id).is_none(), "stale id removed twice");
            }
            Op::Lookup(flow, noise) => {
                check_lookup(&cls, &naive, &flow, &noise, unique)?;
                let mask = &masks[(noise[0] % masks.len() as u64) as usize];
                check_queries(&cls, &naive, &flow, mask, (noise[1] % 8) as u32)?;
            }
        }
        prop_assert_eq!(cls.len(), naive.rules.len());
    }
    // Every rule is reachable by id and by exact match.
    for (id, rule) in &naive.rules {
        let r = cls.get(*id).unwrap();
        prop_assert_eq!(&r.to_rule(), rule);
        prop_assert_eq!(
            cls.find_exactly(&rule.value, &rule.mask, rule.priority)
                .map(|r| r.id()),
            Some(*id)
        );
    }
    prop_assert_eq!(cls.iter().count(), naive.rules.len());
    // A clone behaves the same; emptying leaves nothing behind.
    let copy = cls.clone();
    for (id, rule) in naive.rules.drain(..) {
        prop_assert_eq!(cls.remove(id), Some(rule));
    }
    prop_assert!(cls.is_empty());
    prop_assert_eq!(cls.n_subtables(), 0);
    prop_assert_eq!(
        cls.tries
            .iter()
            .map(|(_, t)| t.lookup(0, 32).0)
            .sum::<u128>(),
        0
    );
    prop_assert_eq!(copy.len(), copy.iter().count());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn matches_linear_scan(cfg in 0usize..4, ops in prop::collection::vec(op_strategy(14, 8), 1..80)) {
        run(cfg, ops, false)?;
    }

    #[test]
    fn matches_linear_scan_unique_priorities(cfg in 0usize..4, ops in prop::collection::vec(op_strategy(14, 1000), 1..80)) {
        run(cfg, ops, true)?;
    }
}

#[test]
fn set_prefix_fields_rebuilds_tries() {
    let masks = masks();
    let mut cls: Classifier<W, u32> = Classifier::new(&[1, 2, 3], &[]).unwrap();
    let flow = [
        1,
        0x800,
        0x0a00_0002 | 0x0a00_0001 << 32,
        80 | 22 << 16 | 6 << 32,
    ];
    for (i, m) in masks.iter().enumerate() {
        cls.insert(Rule::new(flow, *m, i as u32, 0)).unwrap();
    }
    cls.set_prefix_fields(&[NW_DST_TRIE, TP_SRC_TRIE]).unwrap();
    assert_eq!(cls.prefix_fields(), vec![NW_DST_TRIE, TP_SRC_TRIE]);
    let ids: Vec<RuleId> = cls.iter().map(|r| r.id()).collect();
    for id in ids {
        cls.remove(id).unwrap();
    }
    assert!(cls.tries.iter().all(|(_, t)| t.lookup(0, 32) == (0, 0)));
}

#[test]
fn errors() {
    let mut cls: Classifier<W, ()> = Classifier::default();
    assert_eq!(
        cls.insert(Rule {
            value: [0, 1, 0, 0],
            mask: [0; W],
            priority: 1,
            payload: ()
        }),
        Err(ClassifierError::ValueOutsideMask { word: 1 })
    );
    let id = cls
        .insert(Rule::new([0, 1, 0, 0], [0, 1, 0, 0], 1, ()))
        .unwrap();
    assert_eq!(
        cls.insert(Rule::new([0, 1, 0, 0], [0, 1, 0, 0], 1, ())),
        Err(ClassifierError::Duplicate(id))
    );
    assert!(matches!(
        Classifier::<W, ()>::new(&[2, 2], &[]),
        Err(ClassifierError::BadStages)
    ));
    assert!(matches!(
        Classifier::<W, ()>::new(&[0], &[]),
        Err(ClassifierError::BadStages)
    ));
    assert!(matches!(
        Classifier::<W, ()>::new(&[4], &[]),
        Err(ClassifierError::BadStages)
    ));
    assert!(matches!(
        Classifier::<W, ()>::new(&[], &[TrieField::host(4, 0, 8)]),
        Err(ClassifierError::BadPrefixField { index: 0 })
    ));
    assert!(matches!(
        Classifier::<W, ()>::new(&[], &[TrieField::host(0, 60, 8)]),
        Err(ClassifierError::BadPrefixField { index: 0 })
    ));
    assert!(matches!(
        Classifier::<W, ()>::new(&[], &[NW_DST_TRIE; 5]),
        Err(ClassifierError::TooManyPrefixFields)
    ));
    assert!(cls.remove(id).is_some());
    assert!(cls.get(id).is_none() && cls.payload_mut(id).is_none() && cls.remove(id).is_none());
    // The freed slot is reused under a new generation.
    let id2 = cls
        .insert(Rule::new([0, 1, 0, 0], [0, 1, 0, 0], 1, ()))
        .unwrap();
    assert_ne!(id, id2);
    assert!(cls.get(id).is_none());
}

#[test]
fn payload_mut_and_replace() {
    let mut cls: Classifier<W, &str> = Classifier::default();
    let id = cls
        .insert(Rule::new([0, 0x800, 0, 0], mask_of(&[DL_TYPE]), 10, "a"))
        .unwrap();
    *cls.payload_mut(id).unwrap() = "b";
    assert_eq!(cls.lookup_nowc(&[9, 0x800, 7, 7]), Some((id, &"b")));
    let (id2, old) = cls
        .replace(Rule::new([0, 0x800, 0, 0], mask_of(&[DL_TYPE]), 10, "c"))
        .unwrap();
    assert_eq!(old.map(|r| r.payload), Some("b"));
    assert_eq!(cls.len(), 1);
    assert_eq!(cls.lookup_nowc(&[9, 0x800, 7, 7]), Some((id2, &"c")));
}

/// A miss in an early stage un-wildcards only that stage's bits.
#[test]
fn staged_lookup_narrows_wc() {
    let mut cls: Classifier<W, ()> = Classifier::new(&[1, 2, 3], &[]).unwrap();
    let m = mask_of(&[IN_PORT, DL_TYPE, nw_dst(32), TP_DST]);
    cls.insert(Rule::new([1, 0x800, 0x0a00_0001, 80], m, 5, ()))
        .unwrap();
    let mut wc = [0; W];
    assert!(cls.lookup(&[2, 0x800, 0x0a00_0001, 80], &mut wc).is_none());
    assert_eq!(wc, mask_of(&[IN_PORT]));
    let mut wc = [0; W];
    assert!(cls.lookup(&[1, 0x800, 0x0a00_0009, 80], &mut wc).is_none());
    assert_eq!(wc, mask_of(&[IN_PORT, DL_TYPE, nw_dst(32)]));
    // Without stages the whole mask is un-wildcarded.
    let mut flat: Classifier<W, ()> = Classifier::default();
    flat.insert(Rule::new([1, 0x800, 0x0a00_0001, 80], m, 5, ()))
        .unwrap();
    let mut wc = [0; W];
    assert!(flat.lookup(&[2, 0x800, 0x0a00_0001, 80], &mut wc).is_none());
    assert_eq!(wc, m);
}

/// A trie rules out a /24 after reading only the bits up to the divergence.
#[test]
fn trie_narrows_wc() {
    let mut cls: Classifier<W, ()> = Classifier::new(&[1, 2, 3], &[NW_DST_TRIE]).unwrap();
    let m = mask_of(&[nw_dst(24)]);
    cls.insert(Rule::new([0, 0, 0x0a00_0000, 0], m, 5, ()))
        .unwrap(); // 10.0.0.0/24
    let mut wc = [0; W];
    assert!(cls.lookup(&[0, 0, 0xc0a8_0001, 0], &mut wc).is_none()); // 192.168.0.1
                                                                     // 10 = 0b00001010, 192 = 0b11000000: they differ at the first bit.
    assert_eq!(wc, mask_of(&[nw_dst(1)]));
    let mut wc = [0; W];
    assert!(cls.lookup(&[0, 0, 0x0a80_0001, 0], &mut wc).is_none()); // 10.128.0.1
    assert_eq!(wc, mask_of(&[nw_dst(9)]));
    // A hit un-wildcards the full /24.
    let mut wc = [0; W];
    assert!(cls.lookup(&[0, 0, 0x0a00_0063, 0], &mut wc).is_some());
    assert_eq!(wc, m);
}

/// Network-order prefix fields (bytes in memory order) work like host ones.
#[test]
fn network_order_trie() {
    let f = TrieField::network(2, 4, 4); // bytes 4..8 of word 2
    let mut cls: Classifier<W, ()> = Classifier::new(&[1, 2, 3], &[f]).unwrap();
    let word = |b: [u8; 4]| {
        let mut x = [0u8; 8];
        x[4..].copy_from_slice(&b);
        u64::from_ne_bytes(x)
    };
    let m = [0, 0, f.prefix_mask(16), 0];
    cls.insert(Rule::new([0, 0, word([10, 1, 0, 0]), 0], m, 5, ()))
        .unwrap();
    assert!(cls.lookup_nowc(&[0, 0, word([10, 1, 200, 3]), 0]).is_some());
    let mut wc = [0; W];
    assert!(cls
        .lookup(&[0, 0, word([10, 3, 0, 0]), 0], &mut wc)
        .is_none());
    // 10.1 vs 10.3: second byte 0b00000001 vs 0b00000011 differs at bit 14.
    assert_eq!(wc, [0, 0, f.prefix_mask(15), 0]);
}

/// A high-priority hit stops the search before lower subtables are read.
#[test]
fn early_termination() {
    let mut cls: Classifier<W, u8> = Classifier::new(&[1, 2, 3], &[]).unwrap();
    cls.insert(Rule::new([0, 0x800, 0, 0], mask_of(&[DL_TYPE]), 100, 1))
        .unwrap();
    cls.insert(Rule::new([0, 0, 0, 80], mask_of(&[TP_DST]), 10, 2))
        .unwrap();
    let mut wc = [0; W];
    assert_eq!(
        cls.lookup(&[0, 0x800, 0, 80], &mut wc).map(|(_, p)| *p),
        Some(1)
    );
    assert_eq!(wc, mask_of(&[DL_TYPE]));
    assert_eq!(cls.n_subtables(), 2);
}

/// Ties go to the subtable created first, then to the earlier rule.
#[test]
fn ties_are_deterministic() {
    let mut cls: Classifier<W, u8> = Classifier::default();
    cls.insert(Rule::new([0, 0x800, 0, 0], mask_of(&[DL_TYPE]), 7, 1))
        .unwrap();
    cls.insert(Rule::new([0, 0, 0, 80], mask_of(&[TP_DST]), 7, 2))
        .unwrap();
    assert_eq!(
        cls.lookup_nowc(&[0, 0x800, 0, 80]).map(|(_, p)| *p),
        Some(1)
    );
    assert_eq!(cls.count_priority(7), 2);
    assert_eq!(cls.count_priority(8), 0);
}
