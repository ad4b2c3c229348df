//! Connection tests with a fake switch over in-memory streams.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openflow::codec;
use openflow::error::{NXET_VENDOR, NX_VENDOR_ID};
use openflow::mf::Field;
use openflow::msg::*;
use openflow::port::{OFPP_LOCAL, OFPP_NONE};
use openflow::{Match, OfpAct, OfpError};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{broadcast, watch};

use super::conn::{self, BridgeShared, ConnCtx, ConnKind, ConnStats};
use super::ops::{port_mod_check, AsyncEvent, SwitchOps};
use super::wire;

/// A switch that records flow_mods in a list (no real tables).
struct Fake {
    flows: Mutex<Vec<FlowMod>>,
    events: broadcast::Sender<AsyncEvent>,
    barriers: AtomicUsize,
    n_flow_stats: AtomicUsize,
    /// Flushes asked for: (bridge, NORMAL flow added).
    flushes: Mutex<Vec<(String, bool)>>,
}

/// Priority the fake refuses (to provoke errors).
const BAD_PRIORITY: u16 = 666;

impl Fake {
    fn new() -> Arc<Fake> {
        Arc::new(Fake {
            flows: Mutex::new(Vec::new()),
            events: broadcast::channel(64).0,
            barriers: AtomicUsize::new(0),
            n_flow_stats: AtomicUsize::new(0),
            flushes: Mutex::new(Vec::new()),
        })
    }

    fn check(fm: &FlowMod) -> Result<(), OfpError> {
        if fm.priority == BAD_PRIORITY {
            Err(OfpError::FLOW_MOD_FAILED_OVERLAP)
        } else {
            Ok(())
        }
    }
}

impl SwitchOps for Fake {
    fn datapath_id(&self, bridge: &str) -> Option<u64> {
        (bridge == "br0").then_some(0x0000_aa01_5d1d_2c44)
    }
    fn flow_mod(&self, _bridge: &str, fm: &FlowMod) -> Result<(), OfpError> {
        Fake::check(fm)?;
        self.flows.lock().push(fm.clone());
        Ok(())
    }
    fn flow_mods_atomic(&self, _bridge: &str, fms: &[FlowMod]) -> Result<(), (usize, OfpError)> {
        for (i, fm) in fms.iter().enumerate() {
            Fake::check(fm).map_err(|e| (i, e))?;
        }
        self.flows.lock().extend(fms.iter().cloned());
        Ok(())
    }
    fn flow_stats(&self, _b: &str, _r: &FlowStatsRequest) -> Result<Vec<FlowStats>, OfpError> {
        let n = self.n_flow_stats.load(Ordering::Relaxed);
        Ok((0..n)
            .map(|i| FlowStats {
                priority: i as u16,
                idle_age: Some(0),
                hard_age: Some(0),
                ofpacts: vec![OfpAct::Output {
                    port: 1,
                    max_len: 0,
                }],
                ..FlowStats::default()
            })
            .collect())
    }
    fn aggregate_stats(&self, _b: &str, _r: &FlowStatsRequest) -> Result<AggregateStats, OfpError> {
        Ok(AggregateStats {
            packet_count: 7,
            byte_count: 700,
            flow_count: self.flows.lock().len() as u32,
        })
    }
    fn table_stats(&self, _b: &str) -> Option<Vec<TableStats>> {
        Some(
            (0..254)
                .map(|t| TableStats {
                    table_id: t,
                    max_entries: 1_000_000,
                    ..TableStats::default()
                })
                .collect(),
        )
    }
    fn port_descs(&self, _b: &str) -> Option<Vec<PortDesc>> {
        Some(vec![
            PortDesc {
                port_no: 1,
                name: "p1".into(),
                hw_addr: [2, 0, 0, 0, 0, 1],
                ..PortDesc::default()
            },
            PortDesc {
                port_no: OFPP_LOCAL,
                name: "br0".into(),
                hw_addr: [2, 0, 0, 0, 0, 0xfe],
                ..PortDesc::default()
            },
        ])
    }
    fn port_stats(&self, _b: &str, port: u16) -> Option<Vec<PortStats>> {
        Some(
            [1, OFPP_LOCAL]
                .into_iter()
                .filter(|p| port == OFPP_NONE || *p == port)
                .map(|p| PortStats {
                    port_no: p,
                    rx_packets: 5,
                    ..PortStats::default()
                })
                .collect(),
        )
    }
    fn port_mod(&self, bridge: &str, pm: &PortMod) -> Result<(), OfpError> {
        port_mod_check(self.port_descs(bridge), pm)
    }
    fn packet_out(&self, _b: &str, po: &PacketOut) -> Result<(), OfpError> {
        if po.data.is_empty() {
            Err(OfpError::BAD_REQUEST_BAD_PACKET)
        } else {
            Ok(())
        }
    }
    fn subscribe(&self, _b: &str) -> Option<broadcast::Receiver<AsyncEvent>> {
        Some(self.events.subscribe())
    }
    fn barrier(&self) {
        self.barriers.fetch_add(1, Ordering::SeqCst);
    }
    fn flush_flows(&self, bridge: &str, normal: bool) {
        self.flushes.lock().push((bridge.to_string(), normal));
    }
}

/// The test side of a connection.
struct Client {
    s: DuplexStream,
    buf: Vec<u8>,
    version: u8,
}

impl Client {
    async fn send_raw(&mut self, b: &[u8]) {
        self.s.write_all(b).await.unwrap();
    }

    async fn send(&mut self, xid: u32, m: &OfpMessage) -> Vec<u8> {
        let b = codec::encode(self.version, xid, m);
        self.send_raw(&b).await;
        b
    }

    /// The next raw message, or `None` at EOF / after 5 s.
    async fn recv_raw(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(len) = codec::message_len(&self.buf) {
                if len >= 8 && self.buf.len() >= len {
                    return Some(self.buf.drain(..len).collect());
                }
            }
            let mut tmp = vec![0u8; 65536];
            let n = tokio::time::timeout(Duration::from_secs(5), self.s.read(&mut tmp))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }

    async fn recv(&mut self) -> (OfpHeader, OfpMessage) {
        let raw = self.recv_raw().await.expect("a message");
        codec::decode(&raw).unwrap_or_else(|e| panic!("undecodable reply {raw:02x?}: {e}"))
    }

    /// Whether nothing arrives within `ms`.
    async fn quiet(&mut self, ms: u64) -> bool {
        let mut tmp = [0u8; 1024];
        tokio::time::timeout(Duration::from_millis(ms), self.s.read(&mut tmp))
            .await
            .is_err()
    }
}

struct Setup {
    fake: Arc<Fake>,
    stats: Arc<ConnStats>,
    shared: Arc<BridgeShared>,
    _close: watch::Sender<bool>,
    close_rx: watch::Receiver<bool>,
}

impl Setup {
    fn new() -> Setup {
        let (tx, rx) = watch::channel(false);
        Setup {
            fake: Fake::new(),
            stats: Arc::new(ConnStats::default()),
            shared: Arc::new(BridgeShared::default()),
            _close: tx,
            close_rx: rx,
        }
    }

    /// A connection allowing `versions`, not yet past HELLO.
    fn connect(&self, versions: u32, kind: ConnKind, queue_len: usize) -> Client {
        let (a, b) = tokio::io::duplex(1 << 16);
        let ctx = ConnCtx {
            bridge: "br0".into(),
            ops: self.fake.clone(),
            allowed_versions: versions,
            kind,
            shared: self.shared.clone(),
            closed: self.close_rx.clone(),
            queue_len,
            stats: self.stats.clone(),
            busy_poll: std::time::Duration::from_micros(100),
            enable_async: true,
            link: None,
        };
        tokio::spawn(conn::run(b, ctx));
        Client {
            s: a,
            buf: Vec::new(),
            version: 0,
        }
    }

    /// A connection negotiated at `version` (client offers only it).
    async fn open(&self, version: u8) -> Client {
        let mut c = self.connect(SUPPORTED_VERSIONS, ConnKind::Service, 64);
        let hello = c.recv_raw().await.unwrap();
        assert_eq!(hello[1], 0, "HELLO first");
        c.send_raw(&wire::encode_hello(1 << version, 1)).await;
        c.version = version;
        c
    }
}

const OF_ALL: u32 = SUPPORTED_VERSIONS;

#[tokio::test]
async fn hello_bytes_and_negotiation() {
    let s = Setup::new();
    // Our HELLO: version 0x06 with bitmap 0x72 (1.0, 1.3, 1.4, 1.5).
    let mut c = s.connect(OF_ALL, ConnKind::Service, 64);
    let hello = c.recv_raw().await.unwrap();
    assert_eq!(
        hello,
        [6, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x72]
    );
    // Plain ovs-ofctl: "01 00 0008 00000001" → OpenFlow 1.0.
    c.send_raw(&[1, 0, 0, 8, 0, 0, 0, 1]).await;
    c.version = 1;
    c.send(2, &OfpMessage::FeaturesRequest).await;
    let (h, m) = c.recv().await;
    assert_eq!((h.version, h.xid), (1, 2));
    let OfpMessage::FeaturesReply(f) = m else {
        panic!("{m:?}")
    };
    assert_eq!(f.datapath_id, 0x0000_aa01_5d1d_2c44);
    assert_eq!((f.n_tables, f.capabilities, f.actions), (254, 0xc7, 0xfff));
    assert_eq!(f.ports.len(), 2);

    // `-O OpenFlow13`: bitmap 0x10 → 1.3; features without ports.
    let mut c = s.connect(OF_ALL, ConnKind::Service, 64);
    c.recv_raw().await.unwrap();
    c.send_raw(&[4, 0, 0, 0x10, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10])
        .await;
    c.version = 4;
    c.send(3, &OfpMessage::FeaturesRequest).await;
    let (h, m) = c.recv().await;
    assert_eq!(h.version, 4);
    let OfpMessage::FeaturesReply(f) = m else {
        panic!("{m:?}")
    };
    assert_eq!((f.capabilities, f.ports.len()), (0x4f, 0));

    // A bitmap-less 0x05 HELLO means 1.0–1.4: we pick 1.4.
    let mut c = s.connect(OF_ALL, ConnKind::Service, 64);
    c.recv_raw().await.unwrap();
    c.send_raw(&[5, 0, 0, 8, 0, 0, 0, 1]).await;
    c.version = 5;
    c.send(4, &OfpMessage::BarrierRequest).await;
    let (h, m) = c.recv().await;
    assert_eq!((h.version, h.xid, m), (5, 4, OfpMessage::BarrierReply));

    // 1.0 + 1.3 offered: 1.3 chosen.
    let mut c = s.connect(OF_ALL, ConnKind::Service, 64);
    c.recv_raw().await.unwrap();
    c.send_raw(&wire::encode_hello(0x12, 1)).await;
    c.version = 4;
    c.send(5, &OfpMessage::BarrierRequest).await;
    assert_eq!(c.recv().await.0.version, 4);
}

#[tokio::test]
async fn negotiation_failure_sends_hello_failed_and_closes() {
    let s = Setup::new();
    // protocols=OpenFlow13 vs a plain (1.0-only) client.
    let mut c = s.connect(1 << 4, ConnKind::Service, 64);
    let hello = c.recv_raw().await.unwrap();
    assert_eq!(
        hello,
        [4, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x10]
    );
    c.send_raw(&[1, 0, 0, 8, 0, 0, 0, 1]).await;
    let err = c.recv_raw().await.unwrap();
    let text = "We support version 0x04, you support version 0x01, no common versions.";
    assert_eq!(&err[..4], &[1, 1, 0, (12 + text.len()) as u8]);
    assert_eq!(&err[8..12], &[0, 0, 0, 0], "HELLO_FAILED/INCOMPATIBLE");
    assert_eq!(std::str::from_utf8(&err[12..]).unwrap(), text);
    assert!(c.recv_raw().await.is_none(), "connection closed");

    // Something other than HELLO first: error, closed.
    let mut c = s.connect(OF_ALL, ConnKind::Service, 64);
    c.recv_raw().await.unwrap();
    c.send_raw(&[1, 5, 0, 8, 0, 0, 0, 9]).await;
    let err = c.recv_raw().await.unwrap();
    assert_eq!(err[1], wire::OFPT_ERROR);
    assert!(c.recv_raw().await.is_none());
}

#[test]
fn hello_bitmap_decoding() {
    assert_eq!(
        wire::decode_hello_versions(&[1, 0, 0, 8, 0, 0, 0, 1]),
        Some(0x2)
    );
    assert_eq!(
        wire::decode_hello_versions(&[4, 0, 0, 8, 0, 0, 0, 1]),
        Some(0x1e)
    );
    // Unknown element skipped, bitmap taken.
    let m = [
        6, 0, 0, 24, 0, 0, 0, 1, 0, 9, 0, 5, 1, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x50,
    ];
    assert_eq!(wire::decode_hello_versions(&m), Some(0x50));
    // Element running past the end.
    assert_eq!(
        wire::decode_hello_versions(&[4, 0, 0, 12, 0, 0, 0, 1, 0, 1, 0, 8]),
        None
    );
    assert_eq!(wire::negotiate(0x72, 0x0c), None);
    assert_eq!(wire::negotiate(0x72, 0x1e), Some(4));
    assert_eq!(wire::encode_hello(0x7e, 0), [6, 0, 0, 8, 0, 0, 0, 0]);
    assert_eq!(
        wire::hello_failed_text(0x12, 0x20),
        "We support versions 0x01, 0x04, you support version 0x05, no common versions."
    );
}

/// Sends `req` and returns every reply part with the same xid until one
/// without OFPMPF_MORE.
async fn multipart(
    c: &mut Client,
    xid: u32,
    body: MultipartRequestBody,
) -> Vec<MultipartReplyBody> {
    c.send(
        xid,
        &OfpMessage::MultipartRequest(MultipartRequest { flags: 0, body }),
    )
    .await;
    let mut parts = Vec::new();
    loop {
        let (h, m) = c.recv().await;
        assert_eq!(h.xid, xid);
        let OfpMessage::MultipartReply(r) = m else {
            panic!("expected a multipart reply, got {m:?}")
        };
        parts.push(r.body);
        if r.flags & OFPMPF_MORE == 0 {
            return parts;
        }
    }
}

#[tokio::test]
async fn every_request_answered_of13() {
    use MultipartReplyBody as B;
    use MultipartRequestBody as R;
    let s = Setup::new();
    let mut c = s.open(4).await;
    c.send(1, &OfpMessage::EchoRequest(b"ping".to_vec())).await;
    assert_eq!(
        c.recv().await,
        (hdr(4, 3, 12, 1), OfpMessage::EchoReply(b"ping".to_vec()))
    );
    c.send(2, &OfpMessage::GetConfigRequest).await;
    assert_eq!(
        c.recv().await.1,
        OfpMessage::GetConfigReply(SwitchConfig {
            flags: 0,
            miss_send_len: 0
        })
    );
    let parts = multipart(&mut c, 3, R::Desc).await;
    assert!(matches!(&parts[..], [B::Desc(d)] if d.mfr_desc == "oxvs"));
    let parts = multipart(&mut c, 4, R::PortDesc).await;
    assert!(matches!(&parts[..], [B::PortDesc(p)] if p.len() == 2));
    let parts = multipart(&mut c, 5, R::PortStats { port_no: 1 }).await;
    assert!(matches!(&parts[..], [B::PortStats(p)] if p.len() == 1 && p[0].rx_packets == 5));
    let parts = multipart(&mut c, 6, R::Table).await;
    let n: usize = parts
        .iter()
        .map(|p| match p {
            B::Table(t) => t.len(),
            _ => panic!("{p:?}"),
        })
        .sum();
    assert_eq!(n, 254);
    // Table features: every table, each with the 8 required properties.
    let parts = multipart(&mut c, 7, R::TableFeatures(Vec::new())).await;
    assert!(parts.len() > 1, "table features span several parts");
    let tables: Vec<TableFeatures> = parts
        .into_iter()
        .flat_map(|p| match p {
            B::TableFeatures(t) => t,
            _ => panic!("{p:?}"),
        })
        .collect();
    assert_eq!(tables.len(), 254);
    for t in &tables {
        let types: Vec<u16> = t.properties.iter().map(|p| p.0).collect();
        for required in [0, 2, 4, 6, 8, 10, 12, 14] {
            assert!(
                types.contains(&required),
                "table {} lacks {required}",
                t.table_id
            );
        }
    }
    let parts = multipart(&mut c, 8, R::Aggregate(FlowStatsRequest::default())).await;
    assert!(matches!(&parts[..], [B::Aggregate(a)] if a.packet_count == 7));
    let parts = multipart(&mut c, 9, R::Flow(FlowStatsRequest::default())).await;
    assert!(matches!(&parts[..], [B::Flow(f)] if f.is_empty()));
    let parts = multipart(
        &mut c,
        10,
        R::Queue {
            port_no: OFPP_NONE,
            queue_id: u32::MAX,
        },
    )
    .await;
    assert!(matches!(&parts[..], [B::Queue(q)] if q.is_empty()));
    let parts = multipart(&mut c, 11, R::GroupDesc).await;
    assert_eq!(parts.len(), 1);
    // Meter features: not implemented → error with the xid.
    let req = c
        .send(
            12,
            &OfpMessage::MultipartRequest(MultipartRequest {
                flags: 0,
                body: R::MeterFeatures,
            }),
        )
        .await;
    expect_error(&mut c, 12, OfpError::BAD_REQUEST_BAD_MULTIPART, &req).await;
    // Role: record and answer; NOCHANGE reports it.
    c.send(
        13,
        &OfpMessage::RoleRequest(RoleMsg {
            role: 2,
            generation_id: 5,
        }),
    )
    .await;
    assert_eq!(
        c.recv().await.1,
        OfpMessage::RoleReply(RoleMsg {
            role: 2,
            generation_id: 5
        })
    );
    let stale = c
        .send(
            14,
            &OfpMessage::RoleRequest(RoleMsg {
                role: 3,
                generation_id: 4,
            }),
        )
        .await;
    expect_error(&mut c, 14, OfpError::ROLE_REQUEST_FAILED_STALE, &stale).await;
    // Async config: default, then as set.
    c.send(15, &OfpMessage::GetAsyncRequest).await;
    let OfpMessage::GetAsyncReply(a) = c.recv().await.1 else {
        panic!()
    };
    assert_eq!(a.port_status_mask, [7, 7]);
    let set = AsyncConfig {
        packet_in_mask: [1, 0],
        port_status_mask: [0, 0],
        flow_removed_mask: [0, 0],
    };
    c.send(16, &OfpMessage::SetAsync(set)).await;
    c.send(17, &OfpMessage::GetAsyncRequest).await;
    assert_eq!(c.recv().await.1, OfpMessage::GetAsyncReply(set));
    // Group mod (add): no groups.
    let gm = c
        .send(18, &OfpMessage::GroupMod(vec![0, 0, 0, 0, 0, 0, 0, 1]))
        .await;
    expect_error(&mut c, 18, OfpError::GROUP_MOD_FAILED_OUT_OF_GROUPS, &gm).await;
    // Port mod: unknown port, then a no-op on a real one.
    let pm = PortMod {
        port_no: 9,
        ..PortMod::default()
    };
    let raw = c.send(19, &OfpMessage::PortMod(pm)).await;
    expect_error(&mut c, 19, OfpError::PORT_MOD_FAILED_BAD_PORT, &raw).await;
    let pm = PortMod {
        port_no: 1,
        hw_addr: [2, 0, 0, 0, 0, 1],
        ..PortMod::default()
    };
    c.send(20, &OfpMessage::PortMod(pm)).await;
    c.send(21, &OfpMessage::BarrierRequest).await;
    assert_eq!(c.recv().await.1, OfpMessage::BarrierReply);
}

fn hdr(version: u8, type_: u8, length: u16, xid: u32) -> OfpHeader {
    OfpHeader {
        version,
        type_,
        length,
        xid,
    }
}

async fn expect_error(c: &mut Client, xid: u32, e: OfpError, request: &[u8]) {
    let (h, m) = c.recv().await;
    assert_eq!(h.xid, xid, "error carries the request's xid");
    let OfpMessage::Error(em) = m else {
        panic!("expected error {}, got {m:?}", e.name())
    };
    assert_eq!(em.error, e, "got {}", em.error.name());
    assert_eq!(em.data, request, "error data is the whole request");
}

fn tcp_dst_80() -> FlowMod {
    let mut m = Match::catchall();
    m.set(Field::EthType, 0x0800);
    m.set(Field::IpProto, 6);
    m.set(Field::TcpDst, 80);
    FlowMod {
        match_: m,
        ..FlowMod::default()
    }
}

#[tokio::test]
async fn flow_mod_errors_then_barrier_and_connection_stays() {
    let s = Setup::new();
    for version in [1u8, 4] {
        let mut c = s.open(version).await;
        let bad = FlowMod {
            priority: BAD_PRIORITY,
            ..tcp_dst_80()
        };
        let raw = c.send(7, &OfpMessage::FlowMod(bad)).await;
        c.send(8, &OfpMessage::FlowMod(tcp_dst_80())).await;
        c.send(9, &OfpMessage::BarrierRequest).await;
        expect_error(&mut c, 7, OfpError::FLOW_MOD_FAILED_OVERLAP, &raw).await;
        assert_eq!(
            c.recv().await,
            (
                hdr(version, if version == 1 { 19 } else { 21 }, 8, 9),
                OfpMessage::BarrierReply
            )
        );
        // Still usable.
        c.send(10, &OfpMessage::EchoRequest(vec![])).await;
        assert_eq!(c.recv().await.0.xid, 10);
    }
    assert_eq!(s.fake.flows.lock().len(), 2);
    assert_eq!(s.fake.barriers.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn of10_error_for_nx_only_codes_is_a_vendor_error() {
    let s = Setup::new();
    let mut c = s.open(1).await;
    // A role request is not an OF1.0 message; a bad match prerequisite is
    // an NX vendor error in OF1.0: check the raw encoding of one.
    let e = wire::encode_error(1, 3, OfpError::BAD_MATCH_BAD_PREREQ, &[1, 2]);
    assert_eq!(
        &e[8..12],
        &[(NXET_VENDOR >> 8) as u8, NXET_VENDOR as u8, 0, 0]
    );
    assert_eq!(&e[12..16], &NX_VENDOR_ID.to_be_bytes());
    // And the codec reads it back.
    let (_, m) = codec::decode(&e).unwrap();
    assert!(matches!(m, OfpMessage::Error(em) if em.error == OfpError::BAD_MATCH_BAD_PREREQ));
    c.send(1, &OfpMessage::BarrierRequest).await;
    assert_eq!(c.recv().await.1, OfpMessage::BarrierReply);
}

#[tokio::test]
async fn of10_table_resolution_follows_flow_mod_table_id() {
    let s = Setup::new();
    let mut c = s.open(1).await;
    let del = FlowMod {
        command: FlowModCommand::Delete,
        ..tcp_dst_80()
    };
    c.send(1, &OfpMessage::FlowMod(tcp_dst_80())).await;
    c.send(2, &OfpMessage::FlowMod(del.clone())).await;
    c.send(3, &OfpMessage::NxFlowModTableId(true)).await;
    // With the extension on, the table travels in the command's high byte.
    let mut raw = codec::encode(1, 4, &OfpMessage::FlowMod(del.clone()));
    // ofp10_flow_mod: header 8 + match 40 + cookie 8 → command at 56.
    raw[56] = 3;
    c.send_raw(&raw).await;
    c.send(5, &OfpMessage::BarrierRequest).await;
    assert_eq!(c.recv().await.1, OfpMessage::BarrierReply);
    let tables: Vec<(FlowModCommand, u8)> = s
        .fake
        .flows
        .lock()
        .iter()
        .map(|f| (f.command, f.table_id))
        .collect();
    assert_eq!(
        tables,
        [
            (FlowModCommand::Add, 0),
            (FlowModCommand::Delete, OFPTT_ALL),
            (FlowModCommand::Delete, 3)
        ]
    );
}

#[tokio::test]
async fn bad_input_gets_the_spec_error() {
    let s = Setup::new();
    let mut c = s.open(4).await;
    // Unknown type: BAD_TYPE, connection stays.
    let unknown = [4u8, 99, 0, 8, 0, 0, 0, 0x21];
    c.send_raw(&unknown).await;
    expect_error(&mut c, 0x21, OfpError::BAD_REQUEST_BAD_TYPE, &unknown).await;
    // Truncated body (features reply-sized flow_mod): BAD_LEN.
    let short = [4u8, 14, 0, 12, 0, 0, 0, 0x22, 0, 0, 0, 0];
    c.send_raw(&short).await;
    let (h, m) = c.recv().await;
    assert_eq!(h.xid, 0x22);
    assert!(matches!(m, OfpMessage::Error(_)), "{m:?}");
    // Wrong version after negotiation.
    let v1 = [1u8, 18, 0, 8, 0, 0, 0, 0x23];
    c.send_raw(&v1).await;
    expect_error(&mut c, 0x23, OfpError::BAD_REQUEST_BAD_VERSION, &v1).await;
    // Unknown Nicira subtype: an error, connection stays.
    let nx = [
        4u8, 4, 0, 16, 0, 0, 0, 0x24, 0, 0, 0x23, 0x20, 0, 0, 0x7f, 0xff,
    ];
    c.send_raw(&nx).await;
    let (h, m) = c.recv().await;
    assert_eq!(h.xid, 0x24);
    assert!(matches!(m, OfpMessage::Error(_)), "{m:?}");
    c.send(0x25, &OfpMessage::BarrierRequest).await;
    assert_eq!(c.recv().await.0.xid, 0x25);
    // Length below the header size: framing is lost → error, close.
    c.send_raw(&[4, 2, 0, 4, 0, 0, 0, 0x26]).await;
    let (h, m) = c.recv().await;
    assert_eq!(h.xid, 0x26);
    assert!(matches!(m, OfpMessage::Error(e) if e.error == OfpError::BAD_REQUEST_BAD_LEN));
    assert!(c.recv_raw().await.is_none());
}

#[tokio::test]
async fn message_split_across_reads_and_batched() {
    let s = Setup::new();
    let mut c = s.open(4).await;
    let a = codec::encode(4, 1, &OfpMessage::EchoRequest(vec![1; 100]));
    let b = codec::encode(4, 2, &OfpMessage::BarrierRequest);
    let mut all = a.clone();
    all.extend_from_slice(&b);
    c.send_raw(&all[..3]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.send_raw(&all[3..50]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.send_raw(&all[50..]).await;
    assert_eq!(c.recv().await.0.xid, 1);
    assert_eq!(c.recv().await.0.xid, 2);
}

#[tokio::test]
async fn nx_flow_stats_split_in_parts() {
    let s = Setup::new();
    s.fake.n_flow_stats.store(3000, Ordering::Relaxed);
    let mut c = s.open(1).await;
    c.send(1, &OfpMessage::NxSetFlowFormat(NXFF_NXM)).await;
    let parts = multipart(
        &mut c,
        2,
        MultipartRequestBody::NxFlow(FlowStatsRequest::default()),
    )
    .await;
    assert!(parts.len() > 1);
    let prios: Vec<u16> = parts
        .into_iter()
        .flat_map(|p| match p {
            MultipartReplyBody::NxFlow(f) => f,
            _ => panic!("{p:?}"),
        })
        .map(|f| f.priority)
        .collect();
    assert_eq!(
        prios,
        (0..3000).collect::<Vec<u16>>(),
        "all flows, in order"
    );
    // A bad flow format.
    let raw = c.send(3, &OfpMessage::NxSetFlowFormat(1)).await;
    expect_error(&mut c, 3, OfpError::BAD_REQUEST_EPERM, &raw).await;
}

fn packet_in(len: usize) -> AsyncEvent {
    let mut metadata = Match::catchall();
    metadata.set(Field::InPort, 1);
    AsyncEvent::PacketIn(PacketIn {
        buffer_id: NO_BUFFER,
        total_len: len as u32,
        reason: 0,
        table_id: 0,
        cookie: u64::MAX,
        metadata,
        data: vec![0xab; len],
        userdata: None,
    })
}

#[tokio::test]
async fn service_connection_gets_async_only_after_miss_send_len() {
    let s = Setup::new();
    let mut c = s.open(1).await;
    // Make sure the connection has subscribed (it does after HELLO).
    c.send(1, &OfpMessage::BarrierRequest).await;
    c.recv().await;
    assert_eq!(s.fake.events.receiver_count(), 0, "not subscribed yet");
    let _ = s.fake.events.send(packet_in(200));
    assert!(c.quiet(100).await, "no packet-in while miss_send_len is 0");
    c.send(
        2,
        &OfpMessage::SetConfig(SwitchConfig {
            flags: 0,
            miss_send_len: 128,
        }),
    )
    .await;
    c.send(3, &OfpMessage::BarrierRequest).await;
    assert_eq!(c.recv().await.1, OfpMessage::BarrierReply);
    assert_eq!(s.fake.events.receiver_count(), 1, "subscribed");
    s.fake.events.send(packet_in(200)).unwrap();
    let (h, m) = c.recv().await;
    assert_eq!(h.xid, 0);
    let OfpMessage::PacketIn(pi) = m else {
        panic!("{m:?}")
    };
    assert_eq!(
        (pi.total_len, pi.data.len()),
        (200, 128),
        "cut to miss_send_len"
    );
    // NXT_PACKET_IN2 when asked for.
    c.send(4, &OfpMessage::NxSetPacketInFormat(NXPIF_NXT_PACKET_IN2))
        .await;
    c.send(5, &OfpMessage::BarrierRequest).await;
    c.recv().await;
    s.fake.events.send(packet_in(60)).unwrap();
    assert!(matches!(c.recv().await.1, OfpMessage::NxPacketIn2(p) if p.data.len() == 60));
    // Port status with the default async config.
    s.fake
        .events
        .send(AsyncEvent::PortStatus(PortStatus {
            reason: 0,
            desc: PortDesc {
                port_no: 3,
                name: "p3".into(),
                ..PortDesc::default()
            },
        }))
        .unwrap();
    assert!(matches!(c.recv().await.1, OfpMessage::PortStatus(p) if p.desc.port_no == 3));
}

/// A flow_removed event whose match OpenFlow 1.0 cannot express.
fn flow_removed_ipv6() -> FlowRemoved {
    let mut m = Match::catchall();
    m.set(Field::EthType, 0x86dd);
    m.set(Field::Ipv6Dst, 0x2001_0db8 << 96 | 1);
    FlowRemoved {
        cookie: 0x42,
        priority: 7,
        reason: 1,
        table_id: 3,
        duration_sec: 1,
        duration_nsec: 62_123_456,
        idle_timeout: 0,
        hard_timeout: 1,
        packet_count: 2,
        byte_count: 120,
        match_: m,
    }
}

#[tokio::test]
async fn flow_removed_follows_the_flow_format() {
    let s = Setup::new();
    let mut c = s.open(1).await;
    c.send(
        1,
        &OfpMessage::SetConfig(SwitchConfig {
            flags: 0,
            miss_send_len: 0xffff,
        }),
    )
    .await;
    c.send(2, &OfpMessage::BarrierRequest).await;
    c.recv().await;
    // Default OpenFlow 1.0 format: OFPT_FLOW_REMOVED with the OF1.0 match
    // (the IPv6 address is lost, as with OVS).
    s.fake
        .events
        .send(AsyncEvent::FlowRemoved(flow_removed_ipv6()))
        .unwrap();
    let (h, m) = c.recv().await;
    assert_eq!(h.xid, 0);
    let OfpMessage::FlowRemoved(f) = m else {
        panic!("{m:?}")
    };
    assert_eq!((f.cookie, f.priority, f.reason), (0x42, 7, 1));
    assert_eq!(f.match_.exact(Field::Ipv6Dst), None);
    // NXM format: NXT_FLOW_REMOVED with the whole match and the table.
    c.send(3, &OfpMessage::NxSetFlowFormat(NXFF_NXM)).await;
    c.send(4, &OfpMessage::BarrierRequest).await;
    c.recv().await;
    s.fake
        .events
        .send(AsyncEvent::FlowRemoved(flow_removed_ipv6()))
        .unwrap();
    let raw = c.recv_raw().await.unwrap();
    assert_eq!(
        &raw[8..16],
        &[0, 0, 0x23, 0x20, 0, 0, 0, 14],
        "NXT_FLOW_REMOVED"
    );
    let OfpMessage::NxFlowRemoved(f) = codec::decode(&raw).unwrap().1 else {
        panic!("{raw:02x?}")
    };
    let want = FlowRemoved {
        duration_nsec: 62_000_000,
        hard_timeout: 0,
        ..flow_removed_ipv6()
    };
    assert_eq!(f, want, "whole ms; no hard_timeout on the wire");
    // OpenFlow 1.3 ignores the NX flow format.
    let mut c13 = s.open(4).await;
    c13.send(1, &OfpMessage::NxSetFlowFormat(NXFF_NXM)).await;
    c13.send(
        2,
        &OfpMessage::SetConfig(SwitchConfig {
            flags: 0,
            miss_send_len: 0xffff,
        }),
    )
    .await;
    c13.send(3, &OfpMessage::BarrierRequest).await;
    assert_eq!(c13.recv().await.1, OfpMessage::BarrierReply);
    s.fake
        .events
        .send(AsyncEvent::FlowRemoved(flow_removed_ipv6()))
        .unwrap();
    let m = c13.recv().await.1;
    assert!(
        matches!(&m, OfpMessage::FlowRemoved(f) if f.match_ == flow_removed_ipv6().match_),
        "{m:?}"
    );
}

#[tokio::test]
async fn slow_client_does_not_block_another() {
    let s = Setup::new();
    let cfg = OfpMessage::SetConfig(SwitchConfig {
        flags: 0,
        miss_send_len: 0xffff,
    });
    // The slow client: a tiny queue, never reads after setup.
    let mut slow = {
        let mut c = s.connect(OF_ALL, ConnKind::Service, 4);
        c.recv_raw().await.unwrap();
        c.send_raw(&wire::encode_hello(1 << 4, 1)).await;
        c.version = 4;
        c
    };
    slow.send(1, &cfg).await;
    slow.send(2, &OfpMessage::BarrierRequest).await;
    slow.recv().await;
    let mut fast = s.open(4).await;
    fast.send(1, &cfg).await;
    fast.send(2, &OfpMessage::BarrierRequest).await;
    fast.recv().await;

    // Many large packet-ins: the slow client's socket buffer (64 KiB) and
    // queue fill up; the event source never waits.
    let fast_reader = tokio::spawn(async move {
        let mut n = 0;
        while n < 2000 {
            match fast.recv_raw().await {
                Some(m) if m[1] == 10 => n += 1,
                Some(_) => {}
                None => break,
            }
        }
        (n, fast)
    });
    for _ in 0..2000 {
        s.fake.events.send(packet_in(1000)).unwrap();
        tokio::task::yield_now().await;
    }
    let (n, mut fast) = fast_reader.await.unwrap();
    assert_eq!(n, 2000, "the fast client got every packet-in");
    fast.send(3, &OfpMessage::BarrierRequest).await;
    assert_eq!(fast.recv().await.1, OfpMessage::BarrierReply);
    assert!(s.stats.async_dropped.load(Ordering::Relaxed) > 0);
    // The slow one is still alive and gets its barrier reply eventually.
    slow.send(3, &OfpMessage::EchoRequest(vec![])).await;
    let mut got_echo = false;
    while let Some(m) = slow.recv_raw().await {
        if m[1] == wire::OFPT_ECHO_REPLY {
            got_echo = true;
            break;
        }
    }
    assert!(got_echo);
}

#[tokio::test]
async fn bundle_commit_is_all_or_nothing() {
    // OpenFlow 1.4 bundles, and the same over OpenFlow 1.3 as the ONF
    // extension (ONFT_BUNDLE_CONTROL / ONFT_BUNDLE_ADD_MESSAGE).
    for v in [5, 4] {
        bundle_commit_is_all_or_nothing_in(v).await;
    }
}

async fn bundle_commit_is_all_or_nothing_in(v: u8) {
    let s = Setup::new();
    let mut c = s.open(v).await;
    let ctrl = |type_| BundleCtrl {
        bundle_id: 9,
        type_,
        flags: 1,
    };
    // Replies carry flags 0, as Open vSwitch 3.1's.
    let reply = |type_| {
        OfpMessage::BundleControl(BundleCtrl {
            bundle_id: 9,
            type_,
            flags: 0,
        })
    };
    let add = |xid: u32, fm: FlowMod| {
        OfpMessage::BundleAdd(BundleAdd {
            bundle_id: 9,
            flags: 1,
            message: codec::encode(v, xid, &OfpMessage::FlowMod(fm)),
        })
    };
    // Good bundle: both flows appear only at commit.
    c.send(1, &OfpMessage::BundleControl(ctrl(0))).await;
    let raw = c.recv_raw().await.unwrap();
    if v == 4 {
        // Experimenter message, ONF id, ONFT_BUNDLE_CONTROL (2300).
        assert_eq!(&raw[..2], &[4, 4]);
        assert_eq!(&raw[8..16], &[0x4f, 0x4e, 0x46, 0, 0, 0, 0x08, 0xfc]);
    }
    assert_eq!(codec::decode(&raw).unwrap().1, reply(1));
    c.send(2, &add(2, tcp_dst_80())).await;
    c.send(3, &add(3, tcp_dst_80())).await;
    c.send(4, &OfpMessage::BarrierRequest).await;
    assert_eq!(c.recv().await.1, OfpMessage::BarrierReply);
    assert!(s.fake.flows.lock().is_empty());
    c.send(5, &OfpMessage::BundleControl(ctrl(4))).await;
    assert_eq!(c.recv().await.1, reply(5));
    assert_eq!(s.fake.flows.lock().len(), 2);

    // Bad bundle: the failing message's error, then MSG_FAILED; nothing added.
    c.send(6, &OfpMessage::BundleControl(ctrl(0))).await;
    c.recv().await;
    c.send(7, &add(7, tcp_dst_80())).await;
    let bad = FlowMod {
        priority: BAD_PRIORITY,
        ..tcp_dst_80()
    };
    c.send(8, &add(8, bad.clone())).await;
    let commit = c.send(9, &OfpMessage::BundleControl(ctrl(4))).await;
    let inner = codec::encode(v, 8, &OfpMessage::FlowMod(bad));
    expect_error(&mut c, 8, OfpError::FLOW_MOD_FAILED_OVERLAP, &inner).await;
    expect_error(&mut c, 9, OfpError::BUNDLE_FAILED_MSG_FAILED, &commit).await;
    assert_eq!(s.fake.flows.lock().len(), 2);

    // Errors found when the message is added (as OVS): the add is
    // answered at once, with the BUNDLE_ADD_MESSAGE as data.
    let hidden = FlowMod {
        table_id: 254,
        ..tcp_dst_80()
    };
    let backwards = FlowMod {
        table_id: 3,
        ofpacts: vec![OfpAct::GotoTable(2)],
        ..tcp_dst_80()
    };
    for (xid, fm, e) in [
        (20, hidden, OfpError::BAD_REQUEST_EPERM),
        (21, backwards, OfpError::BAD_INSTRUCTION_BAD_TABLE_ID),
    ] {
        let raw = c.send(xid, &add(xid, fm)).await;
        expect_error(&mut c, xid, e, &raw).await;
    }
    c.send(22, &OfpMessage::BundleControl(ctrl(6))).await;
    assert_eq!(c.recv().await.1, reply(7));

    // Unknown bundle, mismatched inner xid.
    let raw = c.send(10, &OfpMessage::BundleControl(ctrl(4))).await;
    expect_error(&mut c, 10, OfpError::BUNDLE_FAILED_BAD_ID, &raw).await;
    let raw = c.send(11, &add(12, tcp_dst_80())).await;
    expect_error(&mut c, 11, OfpError::BUNDLE_FAILED_MSG_BAD_XID, &raw).await;
    // Discard: an add opens the bundle implicitly; discard drops it.
    c.send(13, &add(13, tcp_dst_80())).await;
    c.send(13, &OfpMessage::BundleControl(ctrl(6))).await;
    assert_eq!(c.recv().await.1, reply(7));
    let raw = c.send(14, &OfpMessage::BundleControl(ctrl(4))).await;
    expect_error(&mut c, 14, OfpError::BUNDLE_FAILED_BAD_ID, &raw).await;
    assert_eq!(s.fake.flows.lock().len(), 2);
}

#[tokio::test]
async fn master_election_demotes_the_old_master() {
    let s = Setup::new();
    let mut a = s.open(4).await;
    let mut b = s.open(4).await;
    let role = |role, generation_id| {
        OfpMessage::RoleRequest(RoleMsg {
            role,
            generation_id,
        })
    };
    a.send(1, &role(2, 1)).await;
    a.recv().await;
    b.send(1, &role(2, 2)).await;
    b.recv().await;
    a.send(2, &role(0, 0)).await;
    assert!(matches!(a.recv().await.1, OfpMessage::RoleReply(r) if r.role == 3));
    // A slave may not modify flows.
    let raw = a.send(3, &OfpMessage::FlowMod(tcp_dst_80())).await;
    expect_error(&mut a, 3, OfpError::BAD_REQUEST_IS_SLAVE, &raw).await;
}

#[tokio::test]
async fn nx_role_request_shares_the_master_election() {
    let s = Setup::new();
    let mut a = s.open(1).await;
    let mut b = s.open(1).await;
    let mut c13 = s.open(4).await;
    // Wire form: vendor 0x2320, subtype 10, u32 role (master).
    let raw = c13
        .send(1, &OfpMessage::NxRoleRequest(NX_ROLE_MASTER))
        .await;
    let nx_role = |subtype: u8, role: u8| {
        let mut m = vec![
            4, 4, 0, 0x14, 0, 0, 0, 1, 0, 0, 0x23, 0x20, 0, 0, 0, subtype,
        ];
        m.extend_from_slice(&[0, 0, 0, role]);
        m
    };
    assert_eq!(raw, nx_role(10, 1));
    assert_eq!(c13.recv_raw().await.unwrap(), nx_role(11, 1));
    // a becomes master over NX: the OF1.3 master is demoted to slave.
    a.send(1, &OfpMessage::NxRoleRequest(NX_ROLE_MASTER)).await;
    assert_eq!(a.recv().await.1, OfpMessage::NxRoleReply(NX_ROLE_MASTER));
    c13.send(
        2,
        &OfpMessage::RoleRequest(RoleMsg {
            role: 0,
            generation_id: 0,
        }),
    )
    .await;
    let m = c13.recv().await.1;
    assert!(
        matches!(m, OfpMessage::RoleReply(r) if r.role == 3 && r.generation_id == u64::MAX),
        "slave, no generation id was ever given: {m:?}"
    );
    let raw = c13.send(3, &OfpMessage::FlowMod(tcp_dst_80())).await;
    expect_error(&mut c13, 3, OfpError::BAD_REQUEST_IS_SLAVE, &raw).await;
    // b takes over; a is now a slave and may not modify flows.
    b.send(1, &OfpMessage::NxRoleRequest(NX_ROLE_MASTER)).await;
    assert_eq!(b.recv().await.1, OfpMessage::NxRoleReply(NX_ROLE_MASTER));
    let raw = a.send(2, &OfpMessage::FlowMod(tcp_dst_80())).await;
    // OpenFlow 1.0 has no OFPBRC_IS_SLAVE: OFPBRC_EPERM on the wire.
    expect_error(&mut a, 2, OfpError::BAD_REQUEST_EPERM, &raw).await;
    // Back to "other" (equal): allowed again.
    a.send(3, &OfpMessage::NxRoleRequest(NX_ROLE_OTHER)).await;
    assert_eq!(a.recv().await.1, OfpMessage::NxRoleReply(NX_ROLE_OTHER));
    a.send(4, &OfpMessage::FlowMod(tcp_dst_80())).await;
    a.send(5, &OfpMessage::BarrierRequest).await;
    assert_eq!(a.recv().await.1, OfpMessage::BarrierReply);
    // An unknown role (OF1.0: NX vendor error OFPRRFC_BAD_ROLE), a short body.
    let raw = a.send(6, &OfpMessage::NxRoleRequest(3)).await;
    expect_error(&mut a, 6, OfpError::ROLE_REQUEST_FAILED_BAD_ROLE, &raw).await;
    let short = [
        1, 4, 0, 0x12, 0, 0, 0, 7, 0, 0, 0x23, 0x20, 0, 0, 0, 10, 0, 0,
    ];
    a.send_raw(&short).await;
    expect_error(&mut a, 7, OfpError::BAD_REQUEST_BAD_LEN, &short).await;
}

async fn table_descs(c: &mut Client, xid: u32) -> Vec<TableDesc> {
    let req = MultipartRequest {
        flags: 0,
        body: MultipartRequestBody::TableDesc,
    };
    c.send(xid, &OfpMessage::MultipartRequest(req)).await;
    let mut all = Vec::new();
    loop {
        let (h, m) = c.recv().await;
        assert_eq!(h.xid, xid);
        let OfpMessage::MultipartReply(MultipartReply {
            flags,
            body: MultipartReplyBody::TableDesc(v),
        }) = m
        else {
            panic!("{m:?}")
        };
        all.extend(v);
        if flags & OFPMPF_MORE == 0 {
            return all;
        }
    }
}

#[tokio::test]
async fn table_mod_as_ovs() {
    let s = Setup::new();
    let mut c = s.open(5).await;
    let d = table_descs(&mut c, 1).await;
    assert_eq!(d.len(), 254);
    assert!(d
        .iter()
        .all(|t| t.config == 0 && t.eviction_flags == Some(7) && t.vacancy.is_none()));
    let tm = |table_id, config, eviction_flags, vacancy| {
        OfpMessage::TableMod(TableMod {
            table_id,
            config,
            eviction_flags,
            vacancy,
        })
    };
    let v20_80 = TableVacancy {
        vacancy_down: 20,
        vacancy_up: 80,
        vacancy: 0,
    };
    // What `ovs-ofctl -O OpenFlow14 mod-table BR 1 evict` and
    // `... 2 vacancy:20,80` send.
    c.send(2, &tm(1, OFPTC14_EVICTION, None, None)).await;
    c.send(3, &tm(2, OFPTC14_VACANCY_EVENTS, Some(7), Some(v20_80)))
        .await;
    // An eviction property of 7 leaves eviction as it was (OVS 3.1); 1 sets it.
    c.send(4, &tm(5, OFPTC14_EVICTION, Some(7), None)).await;
    c.send(5, &tm(6, 0, Some(1), None)).await;
    let d = table_descs(&mut c, 6).await;
    let cfg = |i: usize| (d[i].config, d[i].vacancy);
    assert_eq!(cfg(0), (0, None));
    assert_eq!(cfg(1), (OFPTC14_EVICTION, None));
    let v = TableVacancy {
        vacancy: 100,
        ..v20_80
    };
    assert_eq!(cfg(2), (OFPTC14_VACANCY_EVENTS, Some(v)));
    assert_eq!(cfg(5), (0, None));
    assert_eq!(cfg(6), (OFPTC14_EVICTION, None));
    // `mod-table BR all noevict`-like: every table.
    c.send(7, &tm(OFPTT_ALL, 0, None, None)).await;
    assert!(table_descs(&mut c, 8).await.iter().all(|t| t.config == 0));
    // The hidden table is read-only; a slave may not change tables.
    let raw = c.send(9, &tm(254, OFPTC14_EVICTION, None, None)).await;
    expect_error(&mut c, 9, OfpError::TABLE_MOD_FAILED_EPERM, &raw).await;
    // OpenFlow 1.3: same checks, no setting to change.
    let mut c13 = s.open(4).await;
    c13.send(1, &tm(0, 3, None, None)).await;
    c13.send(2, &OfpMessage::BarrierRequest).await;
    assert_eq!(c13.recv().await.1, OfpMessage::BarrierReply);
    let raw = c13.send(3, &tm(254, 0, None, None)).await;
    expect_error(&mut c13, 3, OfpError::TABLE_MOD_FAILED_EPERM, &raw).await;
    c13.send(
        4,
        &OfpMessage::RoleRequest(RoleMsg {
            role: 3,
            generation_id: 1,
        }),
    )
    .await;
    c13.recv().await;
    let raw = c13.send(5, &tm(0, 0, None, None)).await;
    expect_error(&mut c13, 5, OfpError::BAD_REQUEST_IS_SLAVE, &raw).await;
    // No table_desc before OpenFlow 1.4.
    let raw = c13
        .send(
            6,
            &OfpMessage::MultipartRequest(MultipartRequest {
                flags: 0,
                body: MultipartRequestBody::TableDesc,
            }),
        )
        .await;
    let _ = raw;
    let (h, m) = c13.recv().await;
    assert_eq!(h.xid, 6);
    assert!(
        matches!(&m, OfpMessage::Error(e) if e.error == OfpError::BAD_REQUEST_BAD_MULTIPART),
        "{m:?}"
    );
}

#[tokio::test]
async fn closing_the_listener_closes_connections() {
    let (tx, rx) = watch::channel(false);
    let mut s = Setup::new();
    s.close_rx = rx;
    let mut c = s.open(4).await;
    c.send(1, &OfpMessage::BarrierRequest).await;
    c.recv().await;
    tx.send(true).unwrap();
    assert!(c.recv_raw().await.is_none());
}

#[tokio::test]
async fn connmgr_listens_on_mgmt_and_ptcp() {
    let dir = std::env::temp_dir().join(format!("oxvs-connmgr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A stale socket file is replaced.
    std::fs::write(dir.join("br0.mgmt"), b"stale").unwrap();
    let fake = Fake::new();
    let cm = super::ConnMgr::new(fake, &dir).unwrap();
    cm.reconfigure(&[super::OfBridgeConfig {
        name: "br0".into(),
        controllers: vec!["ptcp:0:127.0.0.1".into(), "tcp:10.0.0.1:6653".into()],
        protocols: vec!["OpenFlow13".into()],
        ..Default::default()
    }]);
    let mut u = tokio::net::UnixStream::connect(dir.join("br0.mgmt"))
        .await
        .unwrap();
    let mut hello = [0u8; 16];
    u.read_exact(&mut hello).await.unwrap();
    assert_eq!(hello[0], 4, "protocols=OpenFlow13");
    let addrs = cm.tcp_addrs("br0");
    assert_eq!(addrs.len(), 1);
    let mut t = tokio::net::TcpStream::connect(addrs[0]).await.unwrap();
    t.read_exact(&mut hello).await.unwrap();
    assert_eq!(hello[0], 4);
    // Removing the bridge removes the socket and closes connections.
    cm.reconfigure(&[]);
    assert!(!dir.join("br0.mgmt").exists());
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), u.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn targets_and_protocols() {
    use super::listener::{protocols_bitmap, Target};
    let rd = std::path::Path::new("/run/x");
    assert_eq!(
        Target::parse("ptcp:6653:127.0.0.1", rd),
        Some(Target::Tcp("127.0.0.1:6653".parse().unwrap()))
    );
    assert_eq!(
        Target::parse("ptcp:", rd),
        Some(Target::Tcp("0.0.0.0:6653".parse().unwrap()))
    );
    assert_eq!(
        Target::parse("ptcp:1234:[::1]", rd),
        Some(Target::Tcp("[::1]:1234".parse().unwrap()))
    );
    assert_eq!(
        Target::parse("punix:ctl.sock", rd),
        Some(Target::Unix("/run/x/ctl.sock".into()))
    );
    assert_eq!(Target::parse("tcp:1.2.3.4:6653", rd), None);
    assert_eq!(Target::parse("ptcp:x", rd), None);
    assert_eq!(protocols_bitmap(&[]), SUPPORTED_VERSIONS);
    assert_eq!(
        protocols_bitmap(&["OpenFlow10".into(), "OpenFlow13".into()]),
        0x12
    );
    assert_eq!(protocols_bitmap(&["OpenFlow11".into()]), SUPPORTED_VERSIONS);
}

/// A link with `probe` and `rate`, as an active controller's session has.
fn test_link(probe: Option<Duration>, rate: Option<(u32, u32)>) -> Arc<super::rconn::Link> {
    super::rconn::Link::new(
        "tcp:127.0.0.1:1",
        super::rconn::LinkSettings {
            kind: ConnKind::Primary,
            probe,
            max_backoff: Duration::from_secs(8),
            rate,
            enable_async: true,
            dscp: 48,
            queue_len: 100,
        },
        Arc::new(tokio::sync::Notify::new()),
        std::time::Instant::now(),
    )
}

impl Setup {
    /// A primary connection with `link`, negotiated at OpenFlow 1.0; also
    /// returns the task (its result says why it closed).
    async fn open_link(
        &self,
        link: Arc<super::rconn::Link>,
    ) -> (Client, tokio::task::JoinHandle<conn::CloseReason>) {
        let (a, b) = tokio::io::duplex(1 << 16);
        // What the reconnecting task does once connected.
        link.connected(std::time::Instant::now());
        let ctx = ConnCtx {
            bridge: "br0".into(),
            ops: self.fake.clone(),
            allowed_versions: OF_ALL,
            kind: ConnKind::Primary,
            shared: self.shared.clone(),
            closed: self.close_rx.clone(),
            queue_len: 64,
            stats: self.stats.clone(),
            busy_poll: Duration::ZERO,
            enable_async: true,
            link: Some(link),
        };
        let task = tokio::spawn(conn::run(b, ctx));
        let mut c = Client {
            s: a,
            buf: Vec::new(),
            version: 1,
        };
        c.recv_raw().await.unwrap();
        c.send_raw(&wire::encode_hello(1 << 1, 1)).await;
        (c, task)
    }
}

#[tokio::test]
async fn inactivity_probe_keeps_a_live_controller_and_drops_a_silent_one() {
    let s = Setup::new();
    let probe = Duration::from_millis(300);
    let link = test_link(Some(probe), None);
    let (mut c, task) = s.open_link(link.clone()).await;
    // Idle: an echo request; answering keeps the session.
    for _ in 0..3 {
        let (h, m) = c.recv().await;
        assert_eq!(m, OfpMessage::EchoRequest(Vec::new()));
        assert_eq!(link.state(), super::rconn::RconnState::Idle);
        c.send(h.xid, &OfpMessage::EchoReply(Vec::new())).await;
    }
    assert!(!task.is_finished());
    // Silent: a probe, then closed after one more interval.
    let (_, m) = c.recv().await;
    assert_eq!(m, OfpMessage::EchoRequest(Vec::new()));
    assert!(c.recv_raw().await.is_none(), "closed");
    match task.await.unwrap() {
        conn::CloseReason::ProbeTimeout(idle) => assert!(idle >= probe, "{idle:?}"),
        r => panic!("{r:?}"),
    }
}

#[tokio::test]
async fn a_controller_that_stops_reading_is_dropped_by_the_probe() {
    let s = Setup::new();
    let link = test_link(Some(Duration::from_millis(300)), None);
    let (mut c, task) = s.open_link(link).await;
    // Many requests, never a read: the replies fill the queue and the
    // duplex buffer; the session ends instead of waiting forever.
    let mut burst = Vec::new();
    for xid in 0..20_000u32 {
        burst.extend(codec::encode(1, xid, &OfpMessage::EchoRequest(vec![0; 64])));
    }
    let writer = tokio::spawn(async move {
        let _ = c.s.write_all(&burst).await;
        c
    });
    let r = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("closed within the probe window")
        .unwrap();
    assert!(matches!(r, conn::CloseReason::ProbeTimeout(_)), "{r:?}");
    writer.abort();
}

#[tokio::test]
async fn packet_ins_are_rate_limited_per_connection() {
    let s = Setup::new();
    let link = test_link(None, Some((1, 2)));
    let (mut c, _task) = s.open_link(link.clone()).await;
    // Make sure the session subscribed before publishing.
    c.send(2, &OfpMessage::BarrierRequest).await;
    c.recv().await;
    let mut metadata = Match::catchall();
    metadata.set(Field::InPort, 1);
    for i in 0..10u8 {
        let pi = PacketIn {
            buffer_id: NO_BUFFER,
            total_len: 60,
            reason: 0,
            table_id: 0,
            cookie: u64::MAX,
            metadata,
            data: vec![i; 60],
            userdata: None,
        };
        s.fake.events.send(AsyncEvent::PacketIn(pi)).unwrap();
    }
    // Two at once (the burst), the two newest survivors later.
    let mut got = Vec::new();
    for _ in 0..2 {
        let (_, m) = c.recv().await;
        let OfpMessage::PacketIn(pi) = m else {
            panic!("{m:?}")
        };
        got.push(pi.data[0]);
    }
    assert_eq!(got, [0, 1]);
    let st = link.status(std::time::Instant::now()).status;
    assert_eq!(st["packet-in-miss-bypassed"], "2");
    assert_eq!(st["packet-in-miss-queued"], "8");
    assert_eq!(st["packet-in-miss-dropped"], "6");
    assert_eq!(st["packet-in-action-bypassed"], "0");
    let (_, m) = c.recv().await;
    let OfpMessage::PacketIn(pi) = m else {
        panic!("{m:?}")
    };
    assert_eq!(pi.data[0], 8, "oldest survivor after a token came back");
}

#[tokio::test]
async fn admission_ends_fail_open_before_the_message_is_applied() {
    let s = Setup::new();
    let link = test_link(Some(Duration::from_secs(5)), None);
    s.shared.primaries.lock().push(link.clone());
    {
        let mut fo = s.shared.fail_open.lock();
        fo.set_enabled(true, &*s.fake, "br0");
    }
    // Failed open long ago (probe 5 s: 15 s of failure).
    s.shared.fail_open_run(
        &*s.fake,
        "br0",
        std::time::Instant::now() + Duration::from_secs(20),
    );
    assert!(s.shared.fail_open.lock().is_active());
    let (mut c, _task) = s.open_link(link.clone()).await;
    // Hello/features/set_config do not admit.
    c.send(2, &OfpMessage::FeaturesRequest).await;
    c.recv().await;
    assert!(s.shared.fail_open.lock().is_active());
    c.send(3, &OfpMessage::BarrierRequest).await;
    c.recv().await;
    assert!(link.is_admitted());
    assert!(!s.shared.fail_open.lock().is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connmgr_connects_to_active_controllers_and_reports_them() {
    use super::{ControllerConfig, FailMode, OfBridgeConfig};
    let dir = std::env::temp_dir().join(format!("oxvs-connmgr-act-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fake = Fake::new();
    let cm = super::ConnMgr::new(fake.clone(), &dir).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("tcp:127.0.0.1:{}", listener.local_addr().unwrap().port());
    let config = |controllers: Vec<ControllerConfig>, fail_mode| {
        vec![OfBridgeConfig {
            name: "br0".into(),
            controllers,
            fail_mode,
            ..Default::default()
        }]
    };
    // A new standalone bridge without controllers keeps its NORMAL flow.
    cm.reconfigure(&config(vec![], FailMode::Standalone));
    assert!(fake.flushes.lock().is_empty());
    // First controller: flows flushed, no NORMAL flow.
    cm.reconfigure(&config(
        vec![target.as_str().into(), "tcp:bogus.example".into()],
        FailMode::Standalone,
    ));
    assert_eq!(*fake.flushes.lock(), [("br0".to_string(), false)]);
    let (s, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut c = Client {
        s: tokio::io::duplex(1).0,
        buf: Vec::new(),
        version: 4,
    };
    let (mut rd, mut wr) = tokio::io::split(s);
    // Relay the TCP session through the in-memory client helpers.
    let (mine, theirs) = tokio::io::duplex(1 << 16);
    c.s = mine;
    let (mut trd, mut twr) = tokio::io::split(theirs);
    let up = tokio::spawn(async move { tokio::io::copy(&mut rd, &mut twr).await });
    let relay = tokio::spawn(async move { tokio::io::copy(&mut trd, &mut wr).await });
    let hello = c.recv_raw().await.unwrap();
    assert_eq!(hello[1], 0, "the switch says HELLO first");
    c.send_raw(&wire::encode_hello(1 << 4, 1)).await;
    c.send(2, &OfpMessage::FeaturesRequest).await;
    assert!(matches!(c.recv().await.1, OfpMessage::FeaturesReply(_)));
    // Connected, role other, ACTIVE.
    let status = || cm.controller_status("br0");
    assert!(wait_for(|| status().first().is_some_and(|s| s.is_connected)).await);
    let st = status();
    assert_eq!(st.len(), 1, "the host name target is not supported");
    assert_eq!(st[0].target, target);
    assert_eq!(st[0].role, Some("other"));
    assert_eq!(st[0].status["state"], "ACTIVE");
    assert!(!st[0].status.contains_key("last_error"));
    // A role request is reported.
    c.send(
        3,
        &OfpMessage::RoleRequest(RoleMsg {
            role: 2,
            generation_id: 1,
        }),
    )
    .await;
    c.recv().await;
    assert_eq!(status()[0].role, Some("master"));
    // The controller goes away: BACKOFF, End of file; back after 1 s.
    relay.abort();
    up.abort();
    drop(c);
    assert!(wait_for(|| status().first().is_some_and(|s| !s.is_connected)).await);
    let st = status();
    assert_eq!(st[0].role, None);
    assert_eq!(st[0].status["last_error"], "End of file");
    assert!(st[0].status.contains_key("sec_since_disconnect"));
    let t = std::time::Instant::now();
    let (again, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .unwrap()
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    drop(again);
    // Secure, then no controllers: flushed, NORMAL not added back.
    cm.reconfigure(&config(vec![target.as_str().into()], FailMode::Secure));
    assert_eq!(
        fake.flushes.lock().len(),
        1,
        "fail mode change with controllers"
    );
    cm.reconfigure(&config(vec![], FailMode::Secure));
    assert_eq!(fake.flushes.lock()[1], ("br0".to_string(), false));
    assert!(cm.controller_status("br0").is_empty());
    // del-fail-mode: standalone without controllers gets NORMAL back.
    cm.reconfigure(&config(vec![], FailMode::Standalone));
    assert_eq!(fake.flushes.lock()[2], ("br0".to_string(), true));
    cm.reconfigure(&[]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Polls `f` for up to 5 s.
async fn wait_for(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connmgr_connects_to_a_unix_controller_relative_to_the_rundir() {
    use super::{ControllerConfig, OfBridgeConfig};
    let dir = std::env::temp_dir().join(format!("oxvs-connmgr-unix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fake = Fake::new();
    let cm = super::ConnMgr::new(fake.clone(), &dir).unwrap();
    let listener = tokio::net::UnixListener::bind(dir.join("ctl.sock")).unwrap();
    let ctl = ControllerConfig {
        // Service type: counts for neither flushes nor fail-open.
        kind: Some(ConnKind::Service),
        ..ControllerConfig::from("unix:ctl.sock")
    };
    cm.reconfigure(&[OfBridgeConfig {
        name: "br0".into(),
        controllers: vec![ctl],
        ..Default::default()
    }]);
    assert!(fake.flushes.lock().is_empty(), "a service controller");
    let (mut s, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut hello = [0u8; 16];
    s.read_exact(&mut hello).await.unwrap();
    assert_eq!(hello[1], 0, "HELLO");
    assert!(
        wait_for(|| cm
            .controller_status("br0")
            .first()
            .is_some_and(|c| c.is_connected))
        .await
    );
    // Removing the controller closes the session.
    cm.reconfigure(&[OfBridgeConfig {
        name: "br0".into(),
        ..Default::default()
    }]);
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    assert!(cm.controller_status("br0").is_empty());
    cm.reconfigure(&[]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The settings applied from a Controller row's columns, as ovs-vswitchd
/// derives them (ovs-vswitchd.conf.db(5)): probe at least 5 s, backoff at
/// least 1 s, queue 1..=512 messages (100 by default), DSCP 48.
#[test]
fn controller_row_settings() {
    use super::listener::ControllerConfig;
    let d = ControllerConfig::from("tcp:127.0.0.1:6653").settings();
    assert_eq!(d.probe, Some(Duration::from_secs(5)));
    assert_eq!(d.max_backoff, Duration::from_secs(8));
    assert_eq!((d.queue_len, d.dscp), (100, 48));
    let c = ControllerConfig {
        inactivity_probe: Some(1500),
        max_backoff: Some(500),
        queue_size: Some(10_000),
        ..ControllerConfig::from("tcp:127.0.0.1:6653")
    }
    .settings();
    assert_eq!(c.probe, Some(Duration::from_secs(5)));
    assert_eq!(c.max_backoff, Duration::from_secs(1));
    assert_eq!(c.queue_len, 512);
    let z = ControllerConfig {
        inactivity_probe: Some(0),
        queue_size: Some(0),
        ..ControllerConfig::from("tcp:127.0.0.1:6653")
    }
    .settings();
    assert_eq!((z.probe, z.queue_len), (None, 1));
}
