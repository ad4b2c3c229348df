//! Loading 100,000 distinct flows through `Backer::flow_mod`, as
//! `ovs-ofctl add-flows` sends them (one ADD each; the barrier after each
//! is the datapath's and costs nothing without megaflows). Open vSwitch 3.1
//! takes 6–11 s for the same load; the project's target is ≤ 0.2× that.
//! Also prints the tables' heap bytes per flow.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use ofproto::{Backer, BridgeConfig, InterfaceConfig, PortConfig, VlanMode};
use openflow::msg::FlowMod;
use openflow::{Field, Match, OfpAct};

const N: u32 = 100_000;

fn flow_mods() -> Vec<FlowMod> {
    (0..N)
        .map(|i| {
            let mut m = Match::catchall();
            m.set(Field::InPort, u128::from(1 + i % 4));
            m.set(Field::EthType, 0x0800);
            m.set(Field::IpDst, u128::from(0x0a00_0000 | i));
            FlowMod {
                priority: 100,
                match_: m,
                ofpacts: vec![OfpAct::Output {
                    port: (2 + i % 3) as u16,
                    max_len: 0,
                }],
                ..FlowMod::default()
            }
        })
        .collect()
}

fn backer() -> Arc<Backer> {
    let b = Backer::new();
    let ports = (1..=4)
        .map(|p| PortConfig {
            name: format!("p{p}"),
            vlan_mode: VlanMode::Trunk,
            tag: None,
            trunks: vec![],
            interfaces: vec![InterfaceConfig {
                name: format!("p{p}"),
                ofport: p,
                odp_port: Some(u32::from(p)),
                ..InterfaceConfig::default()
            }],
        })
        .collect();
    b.reconfigure(&[BridgeConfig {
        name: "br0".into(),
        ports,
        ..BridgeConfig::default()
    }]);
    b
}

fn bench(c: &mut Criterion) {
    let fms = flow_mods();
    {
        let b = backer();
        let t = std::time::Instant::now();
        for fm in &fms {
            b.flow_mod("br0", fm).expect("flow_mod");
        }
        let took = t.elapsed();
        let ofb = b.of_bridge("br0").expect("bridge");
        let bytes = ofb.tables.read().heap_bytes();
        eprintln!(
            "100k flow_mods: {took:?} ({:.2}x of OVS's 6 s); tables {} B/flow",
            took.as_secs_f64() / 6.0,
            bytes / N as usize
        );
    }
    let mut g = c.benchmark_group("flow_mod");
    g.sample_size(10);
    g.bench_function("add_100k", |bch| {
        bch.iter_with_large_drop(|| {
            let b = backer();
            for fm in &fms {
                b.flow_mod("br0", fm).expect("flow_mod");
            }
            b
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
