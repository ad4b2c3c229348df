//! Per-packet cost of flow-key extraction and checksumming.
//! Run: `cargo bench -p packet --bench extract`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use packet::{checksum, FlowKey};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn frames() -> Vec<(&'static str, Vec<u8>)> {
    // TCP SYN, IPv4, untagged (74 bytes).
    let tcp = hex(concat!(
        "020000000002020000000001080045000034000040004006",
        "26c40a0a0a010a0a0a02",
        "9c401451000000070000000080027210000000000204",
        "05b40103030701010402"
    ));
    // UDP in an 802.1Q tag (vid 10).
    let mut vlan_udp = hex("0200000000020200000000018100000a08004500001c0000400040110000");
    vlan_udp.extend_from_slice(&hex("0a0a0a010a0a0a0214e90035000834a2"));
    // IPv6 neighbor solicitation with an SLL option.
    let mut ns = hex("3333ff000002020000000001" /* eth */);
    ns.extend_from_slice(&hex("86dd6000000000203aff"));
    ns.extend_from_slice(&hex(
        "fe800000000000000000000000000001ff0200000000000000000001ff000002",
    ));
    ns.extend_from_slice(&hex(
        "870000000000000000000000fe800000000000000000000000000002",
    ));
    ns.extend_from_slice(&hex("0101020000000001"));
    vec![
        ("ipv4_tcp", tcp),
        ("vlan_ipv4_udp", vlan_udp),
        ("ipv6_nd", ns),
    ]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Elements(1));
    for (name, f) in frames() {
        assert!(FlowKey::extract(&f, 1).is_ok(), "{name}");
        g.bench_function(name, |b| {
            b.iter(|| FlowKey::extract(black_box(&f), black_box(1)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("checksum");
    for len in [64usize, 1500] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("sum16_{len}"), |b| {
            b.iter(|| checksum::sum16(black_box(&data)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
