//! Megaflow cache lookup cost (tuple space search, no EMC) with 1, 10 and
//! 100 masks over 1k and 100k megaflows, as issue 6 item 1 asks.
//!
//! Flow `i` is installed under mask `i % n_masks`; every mask holds in_port,
//! dl_type and an exact nw_dst (so no two flows overlap), and the masks
//! differ by an nw_src prefix length and by tp_src/tp_dst. The lookup keys
//! are the installed flows' keys with their unmatched bits randomized, in a
//! shuffled order, so hits land evenly in every subtable (on average half of
//! the subtables are probed per hit) and the hash tables are not walked in
//! insertion order. Misses probe every subtable. One element = one lookup.
//! Run: `cargo bench -p datapath --bench megaflow`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datapath::cache::MegaflowCache;
use datapath::DpAction;
use packet::FlowKey;

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

/// Mask `m` of up to 132 distinct ones: nw_src prefix length `m % 33`,
/// tp_src exact if `m / 33` is odd, tp_dst exact if `m / 66` is odd.
fn mask(m: usize) -> FlowKey {
    let plen = (m % 33) as u32;
    FlowKey {
        in_port: u32::MAX,
        dl_type: 0xffff,
        nw_dst: [0xff; 4],
        nw_src: (u32::MAX.checked_shl(32 - plen).unwrap_or(0)).to_be_bytes(),
        nw_proto: 0xff,
        tp_src: if (m / 33) % 2 == 1 { 0xffff } else { 0 },
        tp_dst: if (m / 66) % 2 == 1 { 0xffff } else { 0 },
        ..FlowKey::default()
    }
}

/// A random IPv4/UDP key towards `nw_dst`.
fn key(rng: &mut SplitMix, nw_dst: u32) -> FlowKey {
    let r = rng.next();
    FlowKey {
        in_port: 1 + (r % 4) as u32,
        dl_type: 0x0800,
        dl_src: [2, 0, 0, 0, (r >> 8) as u8, (r >> 16) as u8],
        dl_dst: [2, 0, 0, 1, 0, 1],
        nw_src: ((r >> 24) as u32).to_be_bytes(),
        nw_dst: nw_dst.to_be_bytes(),
        nw_proto: 17,
        nw_ttl: 64,
        tp_src: (r >> 40) as u16,
        tp_dst: (r >> 20) as u16,
        ..FlowKey::default()
    }
}

/// A cache of `n_flows` megaflows over `n_masks` masks, 4096 hit keys and
/// 4096 miss keys.
fn setup(n_masks: usize, n_flows: u32) -> (MegaflowCache, Vec<FlowKey>, Vec<FlowKey>) {
    let masks: Vec<FlowKey> = (0..n_masks).map(mask).collect();
    let mut rng = SplitMix(u64::from(n_flows) << 8 | n_masks as u64);
    let mut cache = MegaflowCache::new();
    let now = Instant::now();
    let mut keys = Vec::with_capacity(n_flows as usize);
    for i in 0..n_flows {
        let k = key(&mut rng, 0x0a00_0000 | i);
        cache.insert(
            k,
            masks[i as usize % n_masks],
            vec![DpAction::Output(2)],
            now,
        );
        keys.push(k);
    }
    assert_eq!(cache.len(), n_flows as usize);
    assert_eq!(cache.n_subtables(), n_masks);
    let hits: Vec<FlowKey> = (0..4096)
        .map(|_| {
            let k = keys[(rng.next() % u64::from(n_flows)) as usize];
            // Same flow, other bits random: re-draw and keep the matched bits.
            let m = masks[(u32::from_be_bytes(k.nw_dst) & 0xff_ffff) as usize % n_masks];
            let mut r = key(&mut rng, u32::from_be_bytes(k.nw_dst));
            let (rw, kw, mw) = (r.words_mut(), k.words(), m.words());
            for w in 0..rw.len() {
                rw[w] = (rw[w] & !mw[w]) | (kw[w] & mw[w]);
            }
            r
        })
        .collect();
    let misses: Vec<FlowKey> = (0..4096u32)
        .map(|i| key(&mut rng, 0x2000_0000 | i))
        .collect();
    for h in &hits {
        assert!(cache.lookup(h).is_some());
    }
    for m in &misses {
        assert!(cache.lookup(m).is_none());
    }
    (cache, hits, misses)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("megaflow");
    for n_flows in [1_000u32, 100_000] {
        for n_masks in [1usize, 10, 100] {
            let (mut cache, hits, misses) = setup(n_masks, n_flows);
            let label = format!("{}k", n_flows / 1000);
            for (what, keys) in [("hit", &hits), ("miss", &misses)] {
                g.throughput(Throughput::Elements(keys.len() as u64));
                g.bench_function(format!("{label}_flows_{n_masks}_masks_{what}"), |b| {
                    b.iter(|| {
                        let mut found = 0u32;
                        for k in keys.iter() {
                            if cache.lookup(black_box(k)).is_some() {
                                found += 1;
                            }
                        }
                        found
                    })
                });
            }
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
