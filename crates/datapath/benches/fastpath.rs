//! Packets per second through the whole fast path (epoll wake-up, receive,
//! key extraction, EMC/megaflow hit, output batching, transmit) with dummy
//! ports: port 1 endlessly receives a set of frames (`repeat` mode), every
//! packet hits a megaflow that outputs to port 2, which only counts.
//! Throughput is measured by how fast port 2's tx counter advances.
//! `fastpath`: 1 or 64 flows, one megaflow mask; `fastpath_megaflows`:
//! 1,000 megaflows over 10 masks (see [`bench_megaflows`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datapath::dummy::{DummyNetdev, DummyOptions, DummyPeer};
use datapath::{Datapath, DpAction, FlowStats, UpcallHandler, XlateCache, Xlated};
use packet::FlowKey;

struct ToPort2;

impl UpcallHandler for ToPort2 {
    fn upcall(&self, key: &FlowKey, _p: &[u8]) -> Xlated {
        self.revalidate(key, &FlowStats::default(), &XlateCache::default())
    }
    fn revalidate(&self, _key: &FlowKey, _stats: &FlowStats, _xc: &XlateCache) -> Xlated {
        let mask = FlowKey {
            in_port: u32::MAX,
            recirc_id: u32::MAX,
            dl_dst: [0xff; 6],
            dl_type: 0xffff,
            ..FlowKey::default()
        };
        Xlated {
            actions: vec![DpAction::Output(2)],
            mask,
            xcache: XlateCache::default(),
        }
    }
    fn generation(&self) -> u64 {
        0
    }
}

fn frames(n_flows: u8) -> Vec<Vec<u8>> {
    (0..n_flows)
        .map(|i| {
            let mut f = vec![0u8; 64];
            f[0..6].copy_from_slice(&[2, 0, 0, 0, 1, i]);
            f[6..12].copy_from_slice(&[2, 0, 0, 0, 2, i]);
            f[12..14].copy_from_slice(&[0x08, 0x00]);
            f[14] = 0x45;
            f[16..18].copy_from_slice(&50u16.to_be_bytes());
            f[22] = 64;
            f[23] = 17;
            f[26..30].copy_from_slice(&[10, 0, 0, i]);
            f[30..34].copy_from_slice(&[10, 0, 1, i]);
            f[34..36].copy_from_slice(&1000u16.to_be_bytes());
            f[36..38].copy_from_slice(&2000u16.to_be_bytes());
            f[38..40].copy_from_slice(&30u16.to_be_bytes());
            f
        })
        .collect()
}

/// A datapath under `handler` whose dummy port 1 receives `frames` over
/// and over, and port 2's peer, which only counts what port 2 sends.
fn forwarding(handler: Arc<dyn UpcallHandler>, frames: Vec<Vec<u8>>) -> (Datapath, DummyPeer) {
    let dp = Datapath::new(handler);
    let (src, _src_peer) = DummyNetdev::with_options(
        "src",
        DummyOptions {
            repeat: frames,
            ..DummyOptions::default()
        },
    );
    let (dst, dst_peer) = DummyNetdev::with_options(
        "dst",
        DummyOptions {
            record_tx: false,
            ..DummyOptions::default()
        },
    );
    dp.add_port(Box::new(src)).unwrap();
    dp.add_port(Box::new(dst)).unwrap();
    (dp, dst_peer)
}

/// Packets counted per criterion iteration.
const PER_ITER: u64 = 100_000;

/// How long port 2 takes to send `iters` × [`PER_ITER`] more packets.
fn tx_time(dst_peer: &DummyPeer, iters: u64) -> Duration {
    let target = dst_peer.tx_count() + iters * PER_ITER;
    let t = Instant::now();
    while dst_peer.tx_count() < target {
        std::thread::sleep(Duration::from_micros(200));
    }
    t.elapsed()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fastpath");
    for n_flows in [1u8, 64] {
        let (dp, dst_peer) = forwarding(Arc::new(ToPort2), frames(n_flows));
        g.throughput(Throughput::Elements(PER_ITER));
        g.bench_function(format!("udp64_{n_flows}flows_hit"), |b| {
            b.iter_custom(|iters| tx_time(&dst_peer, iters))
        });
        drop(dp);
    }
    g.finish();
}

const N_MEGAFLOWS: u32 = 1_000;
const N_MASKS: u32 = 10;

/// Output to port 2 under mask `j % 10`, `j` being the destination's index.
struct TenMasks;

impl UpcallHandler for TenMasks {
    fn upcall(&self, key: &FlowKey, _p: &[u8]) -> Xlated {
        self.revalidate(key, &FlowStats::default(), &XlateCache::default())
    }
    fn revalidate(&self, key: &FlowKey, _stats: &FlowStats, _xc: &XlateCache) -> Xlated {
        let j = u32::from_be_bytes(key.nw_dst) & 0xffff;
        let plen = j % N_MASKS;
        let mask = FlowKey {
            in_port: u32::MAX,
            recirc_id: u32::MAX,
            dl_type: 0xffff,
            nw_dst: [0xff; 4],
            nw_src: (u32::MAX.checked_shl(32 - plen).unwrap_or(0)).to_be_bytes(),
            ..FlowKey::default()
        };
        Xlated {
            actions: vec![DpAction::Output(2)],
            mask,
            xcache: XlateCache::default(),
        }
    }
    fn generation(&self) -> u64 {
        0
    }
}

/// A 64-byte IPv4/UDP frame from 10.0.0.1:`sport` to 10.1.`j>>8`.`j`:2000.
fn frame(j: u32, sport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 2, 1]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 1, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&50u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 1, (j >> 8) as u8, j as u8]);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&2000u16.to_be_bytes());
    f[38..40].copy_from_slice(&30u16.to_be_bytes());
    f
}

/// With 1,000 megaflows over 10 masks (issue 6's in-memory target): the
/// slow path installs, for destination `j`, a megaflow under mask `j % 10`
/// (in_port, dl_type, exact nw_dst, an nw_src prefix of `j % 10` bits).
/// `1k_pkts`: one frame per megaflow (EMC hits); `16k_pkts`: 16 source
/// ports per destination, 16,000 keys overflowing the 8,192-entry EMC
/// (megaflow lookups).
fn bench_megaflows(c: &mut Criterion) {
    let mut g = c.benchmark_group("fastpath_megaflows");
    for sports_per_flow in [1u16, 16] {
        let frames: Vec<Vec<u8>> = (0..sports_per_flow)
            .flat_map(|s| (0..N_MEGAFLOWS).map(move |j| frame(j, 1000 + s)))
            .collect();
        let n_pkts = frames.len();
        let (dp, dst_peer) = forwarding(Arc::new(TenMasks), frames);
        // Warm up until every megaflow is installed.
        let t = Instant::now();
        while dp.stats().flows < u64::from(N_MEGAFLOWS) && t.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            dp.stats().flows,
            u64::from(N_MEGAFLOWS),
            "megaflows installed"
        );
        g.throughput(Throughput::Elements(PER_ITER));
        g.bench_function(
            format!("udp64_1k_megaflows_10_masks_{}k_pkts", n_pkts / 1000),
            |b| b.iter_custom(|iters| tx_time(&dst_peer, iters)),
        );
        drop(dp);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = bench, bench_megaflows
}
criterion_main!(benches);
