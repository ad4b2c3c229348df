//! Packets per second through the whole fast path (epoll wake-up, receive,
//! key extraction, EMC/megaflow hit, output batching, transmit) with dummy
//! ports: port 1 endlessly receives a set of frames (`repeat` mode), every
//! packet hits a megaflow that outputs to port 2, which only counts.
//! Throughput is measured by how fast port 2's tx counter advances.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datapath::dummy::{DummyNetdev, DummyOptions};
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

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fastpath");
    for n_flows in [1u8, 64] {
        let dp = Datapath::new(Arc::new(ToPort2));
        let (src, _src_peer) = DummyNetdev::with_options(
            "src",
            DummyOptions {
                repeat: frames(n_flows),
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
        let per_iter = 100_000u64;
        g.throughput(Throughput::Elements(per_iter));
        g.bench_function(format!("udp64_{n_flows}flows_hit"), |b| {
            b.iter_custom(|iters| {
                let start_count = dst_peer.tx_count();
                let target = start_count + iters * per_iter;
                let t = Instant::now();
                while dst_peer.tx_count() < target {
                    std::thread::sleep(Duration::from_micros(200));
                }
                t.elapsed()
            })
        });
        drop(dp);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
