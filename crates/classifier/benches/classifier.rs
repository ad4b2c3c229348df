//! Classifier benchmarks over a 23-word flow laid out like ofproto's
//! OpenFlow `Flow` (datapath key words 0..14, metadata 14, registers 15..23):
//! inserting 100k rules, lookups (hit and miss) with 1, 10 and 100 masks,
//! lookups among 100k rules (`lookup_100k`: the flows.sh table and 16 masks),
//! cloning and removing 100k rules. Bytes per rule for 100k rules are printed
//! before the criterion runs (the classifier's own estimate and the RSS
//! growth measured from /proc/self/statm).

use std::hint::black_box;
use std::time::{Duration, Instant};

use classifier::{Classifier, Rule, TrieField};
use criterion::{BatchSize, Criterion, Throughput};

const N: usize = 23;
type Flow = [u64; N];

// Field positions (host-order integers within the words).
const IN_PORT: (usize, u64) = (0, 0xffff_ffff);
const DL_TYPE: (usize, u64) = (1, 0xffff << 48);
const NW_PROTO: (usize, u64) = (4, 0xff << 48);
const TP_DST: (usize, u64) = (4, 0xffff << 16);
const NW_SRC_TRIE: TrieField = TrieField::host(3, 0, 32);
const NW_DST_TRIE: TrieField = TrieField::host(3, 32, 32);
const TP_SRC_TRIE: TrieField = TrieField::host(4, 0, 16);
const TP_DST_TRIE: TrieField = TrieField::host(4, 16, 16);

fn nw_src(plen: u32) -> (usize, u64) {
    (3, NW_SRC_TRIE.prefix_mask(plen))
}
fn nw_dst(plen: u32) -> (usize, u64) {
    (3, NW_DST_TRIE.prefix_mask(plen))
}

fn mask_of(fields: &[(usize, u64)]) -> Flow {
    let mut m = [0; N];
    for &(w, bits) in fields {
        m[w] |= bits;
    }
    m
}

/// ofproto-like stages: metadata (in_port, metadata, registers), L2, L3, L4.
fn classifier() -> Classifier<N, u32> {
    let mut stages = [2u8; N];
    stages[0] = 0;
    stages[14..].fill(0);
    stages[1] = 1;
    stages[2] = 1;
    stages[4] = 3;
    Classifier::with_word_stages(
        stages,
        &[NW_SRC_TRIE, NW_DST_TRIE, TP_SRC_TRIE, TP_DST_TRIE],
    )
    .unwrap()
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

/// A random IPv4/TCP flow.
fn random_flow(rng: &mut SplitMix) -> Flow {
    let mut f = [0u64; N];
    f[0] = rng.next() % 16;
    f[1] = 0x0800 << 48 | (rng.next() & 0xffff_ffff_ffff);
    f[2] = rng.next() & 0xffff_ffff_ffff;
    f[3] = rng.next();
    f[4] = 6 << 48 | (rng.next() & 0xffff_ffff);
    f
}

/// 100k rules "distinct /32 nw_dst + tp_dst exact" across four masks.
fn rules_100k() -> Vec<Rule<N, u32>> {
    let masks = [
        mask_of(&[DL_TYPE, NW_PROTO, nw_dst(32), TP_DST]),
        mask_of(&[DL_TYPE, nw_dst(32)]),
        mask_of(&[DL_TYPE, NW_PROTO, nw_src(32), TP_DST]),
        mask_of(&[IN_PORT, DL_TYPE, nw_dst(24)]),
    ];
    let mut rng = SplitMix(1);
    (0..100_000u32)
        .map(|i| {
            let mut f = random_flow(&mut rng);
            // Distinct addresses: 10.0.0.0/8 + i, or distinct /24s for mask 3.
            let addr = if i % 4 == 3 {
                0x4000_0000u64 | u64::from(i) << 8
            } else {
                0x0a00_0000u64 | u64::from(i)
            };
            f[3] = addr << 32 | addr;
            let m = masks[i as usize % masks.len()];
            let pri = if i % 4 == 3 { 100 } else { 1000 + i % 1000 };
            Rule::new(f, m, pri, i)
        })
        .collect()
}

/// Up to 100 distinct masks: nw_src × nw_dst prefix lengths × tp_dst × in_port.
fn masks(n: usize) -> Vec<Flow> {
    let mut out = Vec::new();
    for port in [false, true] {
        for tp in [false, true] {
            for s in [0, 8, 16, 24, 32] {
                for d in [0, 8, 16, 24, 32] {
                    let mut f = vec![DL_TYPE, nw_src(s), nw_dst(d)];
                    if tp {
                        f.extend([NW_PROTO, TP_DST]);
                    }
                    if port {
                        f.push(IN_PORT);
                    }
                    out.push(mask_of(&f));
                }
            }
        }
    }
    out.truncate(n);
    out
}

/// 10k rules over `n_masks` masks, plus hit and miss flows.
fn lookup_setup(n_masks: usize) -> (Classifier<N, u32>, Vec<Flow>, Vec<Flow>) {
    let ms = masks(n_masks);
    let mut rng = SplitMix(7);
    let mut cls = classifier();
    let mut rule_flows = Vec::new();
    for i in 0..10_000u32 {
        let mut f = random_flow(&mut rng);
        f[3] = (0x0a00_0000 | (rng.next() & 0xffff)) << 32 | (0xc0a8_0000 | (rng.next() & 0xffff));
        f[4] = 6 << 48 | (rng.next() % 1024) << 16;
        let m = ms[i as usize % ms.len()];
        let _ = cls.insert(Rule::new(f, m, rng.next() as u32 % 4096, i));
        rule_flows.push(f);
    }
    // Hits: a rule's flow with its unmatched bits randomized.
    let hits: Vec<Flow> = rule_flows
        .iter()
        .take(1024)
        .map(|f| {
            let r = random_flow(&mut rng);
            let mut g = *f;
            g[5..].copy_from_slice(&r[5..]);
            g[2] = r[2];
            g
        })
        .collect();
    // Misses: unrelated address space.
    let misses: Vec<Flow> = (0..1024)
        .map(|_| {
            let mut f = random_flow(&mut rng);
            f[3] = 0x2000_0000_2000_0000 | (f[3] & 0x00ff_ffff_00ff_ffff);
            f
        })
        .collect();
    (cls, hits, misses)
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn report_memory() {
    let rules = rules_100k();
    let before = rss_bytes();
    let t = Instant::now();
    let mut cls = classifier();
    for r in &rules {
        cls.insert(r.clone()).unwrap();
    }
    let dt = t.elapsed();
    let after = rss_bytes();
    drop(rules);
    let n = cls.len();
    eprintln!(
        "100k rules: insert {:.1} ms ({:.2} M inserts/s), {} subtables, heap estimate {} B/rule, RSS growth {} B/rule",
        dt.as_secs_f64() * 1e3,
        n as f64 / dt.as_secs_f64() / 1e6,
        cls.n_subtables(),
        cls.heap_bytes() / n,
        after.saturating_sub(before) / n,
    );
    let (cls10, hits, _) = lookup_setup(10);
    let mut wc = [0u64; N];
    let _ = cls10.lookup(&hits[0], &mut wc);
    let bits: u32 = wc.iter().map(|w| w.count_ones()).sum();
    eprintln!("example hit with 10 masks un-wildcards {bits} bits");
    black_box(cls);
}

fn bench_insert(c: &mut Criterion) {
    let rules = rules_100k();
    let mut g = c.benchmark_group("insert");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(rules.len() as u64));
    g.bench_function("100k_rules_4_masks", |b| {
        b.iter_batched(
            || rules.clone(),
            |rules| {
                let mut cls = classifier();
                for r in rules {
                    cls.insert(r).unwrap();
                }
                cls
            },
            BatchSize::LargeInput,
        )
    });
    let mut full = classifier();
    let mut ids = Vec::new();
    for r in &rules {
        ids.push(full.insert(r.clone()).unwrap());
    }
    g.bench_function("clone_100k", |b| b.iter(|| black_box(full.clone())));
    g.bench_function("remove_100k", |b| {
        b.iter_batched(
            || full.clone(),
            |mut cls| {
                for &id in &ids {
                    cls.remove(id);
                }
                cls
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn bench_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup");
    for n_masks in [1, 10, 100] {
        let (cls, hits, misses) = lookup_setup(n_masks);
        for (name, flows) in [("hit", &hits), ("miss", &misses)] {
            g.throughput(Throughput::Elements(flows.len() as u64));
            g.bench_function(format!("{n_masks}_masks_{name}"), |b| {
                b.iter(|| {
                    let mut found = 0u32;
                    for f in flows.iter() {
                        let mut wc = [0u64; N];
                        if cls.lookup(f, &mut wc).is_some() {
                            found += 1;
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

const N_RULES: u32 = 100_000;

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
fn lookup_100k_setup(masks: &[Flow]) -> (Classifier<N, u32>, Vec<Flow>, Vec<Flow>) {
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

/// Lookup with 100,000 rules plus a priority-0 catch-all (the table-miss
/// flow): `ofctl` is the table `bench/flows.sh` loads with `ovs-ofctl
/// add-flows` (`priority=100+i%7,tcp,nw_dst=10.x.y.z,tp_dst=1+i%1000`, one
/// mask); `16_masks` puts rule `i` under mask `i % 16` (nw_dst /24 or /32,
/// nw_src /0 or /8, with or without tp_dst and in_port). Hits match one of
/// the 100k rules (other bits random), misses only the catch-all.
fn bench_lookup_100k(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup_100k");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    let ofctl = vec![mask_of(&[
        DL_TYPE,
        NW_PROTO,
        (3, NW_DST_TRIE.prefix_mask(32)),
        TP_DST,
    ])];
    for (table, masks) in [("ofctl", ofctl), ("16_masks", masks16())] {
        let (cls, hits, misses) = lookup_100k_setup(&masks);
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

criterion::criterion_group!(benches, bench_insert, bench_lookup, bench_lookup_100k);

fn main() {
    report_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
