//! Classifier lookup with 100,000 rules (issue 6 item 1), with wildcard
//! tracking as a translation does it, over the same 23-word flow layout as
//! `benches/classifier.rs` (datapath key words 0..14, metadata 14,
//! registers 15..23; IPv4 addresses in word 3, L4 ports in word 4).
//!
//! Two tables of 100k rules plus a priority-0 catch-all (the table-miss
//! flow):
//! - `ofctl`: the table `bench/flows.sh` loads with `ovs-ofctl add-flows`
//!   (`priority=100+i%7,tcp,nw_dst=10.x.y.z,tp_dst=1+i%1000`): one mask;
//! - `16_masks`: 16 masks (nw_dst /24 or /32; nw_src /0 or /8; with or
//!   without tp_dst; with or without in_port), rule `i` under mask `i % 16`.
//!
//! Hits are flows that match one of the 100k rules (other bits random),
//! misses reach only the catch-all. One element = one lookup.
//! Run: `cargo bench -p classifier --bench lookup_100k`.

use std::hint::black_box;
use std::time::Duration;

use classifier::{Classifier, Rule, TrieField};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const N: usize = 23;
type Flow = [u64; N];

const IN_PORT: (usize, u64) = (0, 0xffff_ffff);
const DL_TYPE: (usize, u64) = (1, 0xffff << 48);
const NW_PROTO: (usize, u64) = (4, 0xff << 48);
const TP_DST: (usize, u64) = (4, 0xffff << 16);
const NW_SRC_TRIE: TrieField = TrieField::host(3, 0, 32);
const NW_DST_TRIE: TrieField = TrieField::host(3, 32, 32);

const N_RULES: u32 = 100_000;

fn mask_of(fields: &[(usize, u64)]) -> Flow {
    let mut m = [0; N];
    for &(w, bits) in fields {
        m[w] |= bits;
    }
    m
}

/// ofproto-like stages: metadata (in_port, metadata, registers), L2, L3, L4;
/// prefix tries on nw_src and nw_dst (OVS's default `prefixes`).
fn classifier() -> Classifier<N, u32> {
    let mut stages = [2u8; N];
    stages[0] = 0;
    stages[14..].fill(0);
    stages[1] = 1;
    stages[2] = 1;
    stages[4] = 3;
    Classifier::with_word_stages(stages, &[NW_SRC_TRIE, NW_DST_TRIE]).unwrap()
}

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A random IPv4/TCP flow from `nw_src` to `nw_dst`, destination port `tp_dst`.
fn tcp_flow(rng: &mut SplitMix, nw_src: u32, nw_dst: u32, tp_dst: u16) -> Flow {
    let mut f = [0u64; N];
    f[0] = 1 + rng.next() % 8;
    f[1] = 0x0800 << 48 | (rng.next() & 0xffff_ffff_ffff);
    f[2] = rng.next() & 0xffff_ffff_ffff;
    f[3] = u64::from(nw_dst) << 32 | u64::from(nw_src);
    f[4] = 6 << 48 | u64::from(tp_dst) << 16 | (rng.next() & 0xffff);
    f
}

/// Address of rule `i`: 10.x.y.z, distinct for every i < 2^24.
fn addr(i: u32) -> u32 {
    0x0a00_0000 | i
}

/// The 16 masks of the `16_masks` table.
fn masks16() -> Vec<Flow> {
    let mut out = Vec::new();
    for port in [false, true] {
        for tp in [false, true] {
            for src in [0u32, 8] {
                for dst in [24u32, 32] {
                    let mut f = vec![
                        DL_TYPE,
                        NW_PROTO,
                        (3, NW_SRC_TRIE.prefix_mask(src)),
                        (3, NW_DST_TRIE.prefix_mask(dst)),
                    ];
                    if tp {
                        f.push(TP_DST);
                    }
                    if port {
                        f.push(IN_PORT);
                    }
                    out.push(mask_of(&f));
                }
            }
        }
    }
    out
}

/// A table of 100k rules over `masks` (rule `i` under `masks[i % len]`)
/// plus the catch-all, and 4096 hit and 4096 miss flows.
fn setup(masks: &[Flow]) -> (Classifier<N, u32>, Vec<Flow>, Vec<Flow>) {
    let mut rng = SplitMix(masks.len() as u64);
    let mut cls = classifier();
    let mut rule_flows = Vec::with_capacity(N_RULES as usize);
    for i in 0..N_RULES {
        let m = masks[i as usize % masks.len()];
        // Rules under a /24 mask get a distinct /24 each.
        let dst = if m[3] >> 32 == 0xffff_ff00 {
            0x4000_0000 | i << 8
        } else {
            addr(i)
        };
        let f = tcp_flow(&mut rng, 0x0a01_0001, dst, 1 + (i % 1000) as u16);
        cls.insert(Rule::new(f, m, 100 + i % 7, i)).unwrap();
        rule_flows.push((f, m));
    }
    cls.insert(Rule::new([0; N], [0; N], 0, u32::MAX)).unwrap();
    let hits: Vec<Flow> = (0..4096)
        .map(|_| {
            let (f, m) = rule_flows[(rng.next() % u64::from(N_RULES)) as usize];
            let mut r = tcp_flow(&mut rng, 0, 0, 0);
            for w in 0..N {
                r[w] = (r[w] & !m[w]) | (f[w] & m[w]);
            }
            r
        })
        .collect();
    let misses: Vec<Flow> = (0..4096u32)
        .map(|i| tcp_flow(&mut rng, 0x0a01_0001, 0x2000_0000 | i, 80))
        .collect();
    let mut wc = [0u64; N];
    for h in &hits {
        assert_ne!(cls.lookup(h, &mut wc).map(|(_, p)| *p), Some(u32::MAX));
    }
    for m in &misses {
        assert_eq!(cls.lookup(m, &mut wc).map(|(_, p)| *p), Some(u32::MAX));
    }
    (cls, hits, misses)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup_100k");
    let ofctl = vec![mask_of(&[
        DL_TYPE,
        NW_PROTO,
        (3, NW_DST_TRIE.prefix_mask(32)),
        TP_DST,
    ])];
    for (table, masks) in [("ofctl", ofctl), ("16_masks", masks16())] {
        let (cls, hits, misses) = setup(&masks);
        for (what, flows) in [("hit", &hits), ("miss", &misses)] {
            g.throughput(Throughput::Elements(flows.len() as u64));
            g.bench_function(format!("{table}_{what}"), |b| {
                b.iter(|| {
                    let mut found = 0u32;
                    for f in flows.iter() {
                        let mut wc = [0u64; N];
                        if let Some((_, &p)) = cls.lookup(black_box(f), &mut wc) {
                            found = found.wrapping_add(p);
                        }
                        black_box(&wc);
                    }
                    found
                })
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
