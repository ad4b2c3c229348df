//! One OpenFlow connection (OVS `struct ofconn` with its `rconn`/`vconn`).
//!
//! Idea: a reader task owns all protocol state (negotiated version, flow
//! format, table-id extension, packet-in format, miss_send_len, role, async
//! configuration, open bundles) and handles one message at a time; a writer
//! task drains a bounded queue of encoded messages into the socket.
//!
//! Invariants: replies are queued in request order and never dropped (the
//! reader waits for room); asynchronous messages are dropped and counted
//! when the queue is full or the event channel lagged; a service connection
//! (management socket, `ptcp:`/`punix:` listener) receives no asynchronous
//! message while its miss_send_len is 0, the value it starts with.
//!
//! A controller the switch connected to (see [`super::rconn`]) also has a
//! [`Link`]: the reader then sends an ECHO_REQUEST after one probe
//! interval without receiving anything and closes the connection after a
//! second one (also while it waits for queue room, so a controller that
//! stops reading is dropped too), reports admission (which ends fail-open)
//! and role changes, and passes packet-ins through the link's rate limiter
//! ([`PinSched`]: one for misses, one for other reasons).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use openflow::codec::{self, CodecOptions};
use openflow::msg::*;
use openflow::OfpError;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, watch};

use super::fail_open::FailOpen;
use super::features;
use super::ops::{AsyncEvent, SwitchOps};
use super::pinsched::PinSched;
use super::rconn::Link;
use super::wire;

/// Kind of connection (OVS `enum ofconn_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnKind {
    /// A controller the switch connected to (`tcp:`, `ssl:`, `unix:`
    /// targets): starts with miss_send_len 128 and receives asynchronous
    /// messages.
    Primary,
    /// A management connection (`<bridge>.mgmt`, `ptcp:`, `punix:`): starts
    /// with miss_send_len 0 and receives no asynchronous message until a
    /// SET_CONFIG makes it non-zero.
    Service,
}

/// Counters of one connection (or summed over many).
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Messages received (complete frames).
    pub rx_msgs: AtomicU64,
    /// Messages queued for sending.
    pub tx_msgs: AtomicU64,
    /// Asynchronous messages dropped because the output queue was full or
    /// the connection fell behind the event channel.
    pub async_dropped: AtomicU64,
}

/// OFPCR_ROLE_NOCHANGE.
const ROLE_NOCHANGE: u32 = 0;
/// OFPCR_ROLE_EQUAL.
const ROLE_EQUAL: u32 = 1;
/// OFPCR_ROLE_MASTER.
const ROLE_MASTER: u32 = 2;
/// OFPCR_ROLE_SLAVE.
const ROLE_SLAVE: u32 = 3;

/// OFPBCT_* bundle control types (OpenFlow 1.4 §7.3.9.1).
const OFPBCT_OPEN_REQUEST: u16 = 0;
const OFPBCT_CLOSE_REQUEST: u16 = 2;
const OFPBCT_COMMIT_REQUEST: u16 = 4;
const OFPBCT_DISCARD_REQUEST: u16 = 6;
/// OFPBF_ATOMIC | OFPBF_ORDERED: the flags we know.
const OFPBF_KNOWN: u16 = 3;

/// Default miss_send_len of a primary connection (OFP_DEFAULT_MISS_SEND_LEN).
const DEFAULT_MISS_SEND_LEN: u16 = 128;

/// OFPTMPEF_OTHER | IMPORTANCE | LIFETIME: the eviction flags Open vSwitch
/// reports for every table (OVS `OFPROTO_EVICTION_FLAGS`).
const EVICTION_FLAGS: u32 = 7;

/// A table's settings from OFPT_TABLE_MOD (OpenFlow 1.4.1 §7.3.3), as OVS
/// keeps them in `struct oftable`; reported by OFPMP_TABLE_DESC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct TableConfig {
    /// OFPTC_EVICTION set by a controller. (oxvs tables have no flow limit,
    /// so nothing is ever evicted.)
    eviction: bool,
    /// Vacancy events on, with (vacancy_down, vacancy_up) in percent.
    /// (No table ever fills, so no OFPT_TABLE_STATUS is sent.)
    vacancy: Option<(u8, u8)>,
}

/// State shared by every connection of one bridge: master election, table
/// settings, and the fail-open state with the primary controllers it
/// watches.
#[derive(Debug, Default)]
pub struct BridgeShared {
    /// Tables whose settings differ from the defaults, by table id.
    tables: Mutex<HashMap<u8, TableConfig>>,
    /// Highest generation_id seen in a MASTER/SLAVE role request.
    max_generation: Mutex<Option<u64>>,
    /// Every live connection's role cell (to demote the old master).
    roles: Mutex<Vec<std::sync::Weak<AtomicU32>>>,
    /// The bridge's active primary controllers.
    pub(super) primaries: Mutex<Vec<Arc<Link>>>,
    /// Fail-open state.
    pub(super) fail_open: Mutex<FailOpen>,
}

impl BridgeShared {
    /// Fail-open's periodic work at `now` (see [`FailOpen::run`]).
    pub(super) fn fail_open_run(&self, ops: &dyn SwitchOps, bridge: &str, now: std::time::Instant) {
        let links = self.primaries.lock().clone();
        self.fail_open.lock().run(&links, ops, bridge, now);
    }

    /// Ends fail-open if a primary controller is admitted.
    pub(super) fn fail_open_maybe_recover(&self, ops: &dyn SwitchOps, bridge: &str) {
        let links = self.primaries.lock().clone();
        self.fail_open.lock().maybe_recover(&links, ops, bridge);
    }
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed it.
    Eof,
    /// A socket error (its text as OVS prints it).
    Io(String),
    /// No answer to the inactivity probe; the idle time.
    ProbeTimeout(std::time::Duration),
    /// Framing lost or version negotiation failed.
    Protocol,
    /// The switch closed it (listener, controller or bridge removed).
    Closed,
}

/// Everything a connection needs besides its socket.
pub struct ConnCtx {
    /// Bridge name.
    pub bridge: String,
    /// The switch.
    pub ops: Arc<dyn SwitchOps>,
    /// Versions this connection may negotiate (bit n = wire version n).
    pub allowed_versions: u32,
    /// Service or primary.
    pub kind: ConnKind,
    /// Per-bridge shared state.
    pub shared: Arc<BridgeShared>,
    /// Becomes `true` when the bridge or listener goes away: close.
    pub closed: watch::Receiver<bool>,
    /// Output queue length in messages.
    pub queue_len: usize,
    /// Counters (may be shared by several connections).
    pub stats: Arc<ConnStats>,
    /// Busy-poll window after each batch of requests (zero: off). The
    /// socket is polled without sleeping for this long after a request, so
    /// a client that sends its next request on receiving our reply
    /// (`ovs-ofctl add-flows`: flow_mod + barrier per line) does not pay a
    /// thread wake-up per round trip (~100 µs on a virtual machine, against
    /// ~20 µs polled). Costs at most this much CPU per idle period.
    pub busy_poll: std::time::Duration,
    /// Asynchronous messages on by default (`Controller.enable_async_messages`;
    /// off: until the controller sets an async configuration).
    pub enable_async: bool,
    /// The active controller this connection is the session of, if any.
    pub link: Option<Arc<Link>>,
}

/// An open bundle (OpenFlow 1.4 §7.3.9).
struct Bundle {
    flags: u16,
    closed: bool,
    /// Each added flow_mod with the raw inner message (for error replies).
    msgs: Vec<(Vec<u8>, FlowMod)>,
}

/// The per-connection protocol state.
struct Conn {
    ctx: ConnCtx,
    tx: mpsc::Sender<Vec<u8>>,
    version: u8,
    config: SwitchConfig,
    codec_opts: CodecOptions,
    flow_format: u32,
    packet_in_format: u32,
    role: Arc<AtomicU32>,
    async_cfg: Option<AsyncConfig>,
    bundles: HashMap<u32, Bundle>,
    /// Last time bytes arrived (inactivity probe).
    last_rx: std::time::Instant,
    /// When the inactivity probe was sent, if one waits for an answer.
    idle_since: Option<std::time::Instant>,
    /// Packet-in schedulers (misses, other reasons) with the (rate, burst)
    /// they were made for.
    pinsched: Option<((u32, u32), [PinSched; 2])>,
    /// Why the connection is closing, when known before it returns.
    close_reason: Mutex<Option<CloseReason>>,
}

/// Maximum OpenFlow message length.
const MAX_MSG: usize = u16::MAX as usize;

/// Aborts the writer task when the connection ends, even when the
/// connection's future is dropped (a writer blocked on a peer that stopped
/// reading would otherwise hold the socket forever).
struct AbortOnDrop(tokio::task::JoinHandle<Option<String>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one connection on `stream` until the peer closes it, a fatal
/// protocol error occurs (bad framing, failed negotiation), the inactivity
/// probe goes unanswered (active controllers), or `ctx.closed` turns true.
/// Returns why it ended.
pub async fn run<S>(stream: S, ctx: ConnCtx) -> CloseReason
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(ctx.queue_len.max(2));
    let mut writer = AbortOnDrop(tokio::spawn(async move {
        // Everything queued goes out in one write.
        let mut batch: Vec<u8> = Vec::with_capacity(65536);
        while let Some(msg) = rx.recv().await {
            batch.clear();
            batch.extend_from_slice(&msg);
            while batch.len() < 65536 {
                match rx.try_recv() {
                    Ok(m) => batch.extend_from_slice(&m),
                    Err(_) => break,
                }
            }
            if let Err(e) = wr.write_all(&batch).await {
                return Some(super::rconn::error_text(&e));
            }
        }
        let _ = wr.shutdown().await;
        None
    }));

    let role = Arc::new(AtomicU32::new(ROLE_EQUAL));
    ctx.shared.roles.lock().push(Arc::downgrade(&role));
    if let Some(link) = &ctx.link {
        link.attach(role.clone());
    }
    let miss_send_len = match ctx.kind {
        ConnKind::Primary => DEFAULT_MISS_SEND_LEN,
        ConnKind::Service => 0,
    };
    let mut conn = Conn {
        tx,
        version: 0,
        config: SwitchConfig {
            flags: OFPC_FRAG_NORMAL,
            miss_send_len,
        },
        codec_opts: CodecOptions::default(),
        flow_format: NXFF_OPENFLOW10,
        packet_in_format: NXPIF_STANDARD,
        role,
        async_cfg: None,
        bundles: HashMap::new(),
        last_rx: std::time::Instant::now(),
        idle_since: None,
        pinsched: None,
        close_reason: Mutex::new(None),
        ctx,
    };
    let reason = conn.main_loop(&mut rd).await;
    let Conn {
        tx,
        ctx,
        role,
        close_reason,
        ..
    } = conn;
    drop(tx);
    // The writer's error explains a close the reader saw as a failed send.
    let written = match tokio::time::timeout(std::time::Duration::from_secs(1), &mut writer.0).await
    {
        Ok(Ok(err)) => err,
        _ => None,
    };
    ctx.shared
        .roles
        .lock()
        .retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(&role)));
    match (close_reason.into_inner(), reason, written) {
        (Some(r), _, _) => r,
        (None, Some(r), _) => r,
        (None, None, Some(e)) => CloseReason::Io(e),
        (None, None, None) => CloseReason::Eof,
    }
}

/// Why the main loop should stop.
struct Close;

impl Conn {
    /// Serves the connection; returns why it ended, or `None` when a send
    /// failed because the writer stopped (its error tells why).
    async fn main_loop<R: AsyncRead + Unpin>(&mut self, rd: &mut R) -> Option<CloseReason> {
        let hello = wire::encode_hello(self.ctx.allowed_versions, 0);
        if self.send(hello).await.is_err() {
            return self.failed_send();
        }
        self.sync_pinsched();
        let mut events: Option<broadcast::Receiver<AsyncEvent>> = None;
        let mut pending: Vec<u8> = Vec::with_capacity(4096);
        let mut scratch = vec![0u8; 65536];
        let mut closed = self.ctx.closed.clone();
        // End of the busy-poll window (see BUSY_POLL), if one is open.
        let mut hot_until: Option<std::time::Instant> = None;
        loop {
            let probe_at = self.probe_deadline();
            let pin_at = self.pinsched_wakeup();
            tokio::select! {
                biased;
                n = rd.read(&mut scratch) => {
                    let n = match n {
                        Ok(0) => return Some(CloseReason::Eof),
                        Err(e) => return Some(CloseReason::Io(super::rconn::error_text(&e))),
                        Ok(n) => n,
                    };
                    let now = std::time::Instant::now();
                    self.last_rx = now;
                    if self.idle_since.take().is_some() {
                        if let Some(l) = &self.ctx.link {
                            l.set_idle(false);
                        }
                    }
                    pending.extend_from_slice(&scratch[..n]);
                    let mut start = 0;
                    let mut stop = false;
                    while let Some(h) = wire::parse_header(&pending[start..]) {
                        let len = usize::from(h.length);
                        if len < OFP_HEADER_LEN {
                            // Framing is lost: answer and close (OVS closes too).
                            let e = wire::encode_error(
                                self.reply_version(h.version),
                                h.xid,
                                OfpError::BAD_REQUEST_BAD_LEN,
                                &pending[start..start + OFP_HEADER_LEN],
                            );
                            let _ = self.send(e).await;
                            tracing::info!(
                                "{}: message length {len} below the header's, closing",
                                self.ctx.bridge
                            );
                            self.close_with(CloseReason::Protocol);
                            stop = true;
                            break;
                        }
                        if pending.len() - start < len {
                            break;
                        }
                        let msg = pending[start..start + len].to_vec();
                        start += len;
                        self.ctx.stats.rx_msgs.fetch_add(1, Ordering::Relaxed);
                        if let Some(link) = &self.ctx.link {
                            // Admission ends fail-open before the message
                            // (a controller's first flow_mod) is applied.
                            if link.on_message(h.type_, now) && link.is_primary() {
                                self.ctx
                                    .shared
                                    .fail_open_maybe_recover(&*self.ctx.ops, &self.ctx.bridge);
                            }
                        }
                        if self.handle(&h, &msg).await.is_err() {
                            stop = true;
                            break;
                        }
                        // Subscribe only while asynchronous messages are
                        // wanted, so an idle service connection costs the
                        // event source nothing.
                        if self.wants_async() != events.is_some() {
                            events = if self.wants_async() {
                                self.ctx.ops.subscribe(&self.ctx.bridge)
                            } else {
                                None
                            };
                        }
                    }
                    if stop {
                        if let Some(r) = self.close_reason.lock().take() {
                            return Some(r);
                        }
                        // A failed send (the writer's error tells why) or a
                        // failed negotiation.
                        return (!self.tx.is_closed()).then_some(CloseReason::Protocol);
                    }
                    pending.drain(..start);
                    debug_assert!(pending.len() < MAX_MSG);
                    if !self.ctx.busy_poll.is_zero() {
                        hot_until = Some(std::time::Instant::now() + self.ctx.busy_poll);
                    }
                }
                ev = recv_event(&mut events) => {
                    match ev {
                        Ok(ev) => self.relay(ev),
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            self.ctx.stats.async_dropped.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(broadcast::error::RecvError::Closed) => events = None,
                    }
                }
                r = closed.changed() => {
                    if r.is_err() || *closed.borrow() {
                        return Some(CloseReason::Closed);
                    }
                }
                () = sleep_until(probe_at), if probe_at.is_some() => {
                    let now = std::time::Instant::now();
                    match self.idle_since {
                        None => self.send_probe(now),
                        Some(since) => {
                            return Some(CloseReason::ProbeTimeout(now.saturating_duration_since(since)));
                        }
                    }
                }
                () = sleep_until(pin_at), if pin_at.is_some() => self.drain_pinsched(),
                () = spin_until(hot_until), if hot_until.is_some() => hot_until = None,
            }
        }
    }

    /// Records why the connection closes (the first reason wins).
    fn close_with(&self, reason: CloseReason) {
        let mut r = self.close_reason.lock();
        if r.is_none() {
            *r = Some(reason);
        }
    }

    /// After a failed send: `None` if the writer stopped (its error says
    /// why), else the recorded reason.
    fn failed_send(&self) -> Option<CloseReason> {
        self.close_reason.lock().take()
    }

    /// When the inactivity probe fires next: one probe interval after the
    /// last bytes received (send an ECHO_REQUEST), or after the probe was
    /// sent (give up). `None` without a link or with probes off.
    fn probe_deadline(&self) -> Option<std::time::Instant> {
        let p = self.ctx.link.as_ref()?.probe_interval()?;
        Some(self.idle_since.unwrap_or(self.last_rx) + p)
    }

    /// When a peer that sent nothing more is given up: the end of the
    /// second probe interval (see [`Conn::probe_deadline`]).
    fn dead_line(&self) -> Option<std::time::Instant> {
        let p = self.ctx.link.as_ref()?.probe_interval()?;
        Some(match self.idle_since {
            Some(t) => t + p,
            None => self.last_rx + 2 * p,
        })
    }

    /// Sends the inactivity probe (never waits for queue room: a full queue
    /// means the peer is not reading, which the next interval settles).
    fn send_probe(&mut self, now: std::time::Instant) {
        let version = if self.version != 0 {
            self.version
        } else {
            wire::highest_version(self.ctx.allowed_versions).max(1)
        };
        let echo = codec::encode(version, 0, &OfpMessage::EchoRequest(Vec::new()));
        if self.tx.try_send(echo).is_ok() {
            self.ctx.stats.tx_msgs.fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!(
            "{}: idle {} seconds, sending inactivity probe",
            self.ctx.bridge,
            now.saturating_duration_since(self.last_rx).as_secs()
        );
        self.idle_since = Some(now);
        if let Some(l) = &self.ctx.link {
            l.set_idle(true);
        }
    }

    /// Makes the packet-in schedulers match the link's rate limits (made
    /// anew, empty, when the limits change; none without limits).
    fn sync_pinsched(&mut self) {
        let want = self.ctx.link.as_ref().and_then(|l| l.rate());
        if self.pinsched.as_ref().map(|(l, _)| *l) == want {
            return;
        }
        self.pinsched = want.map(|(rate, burst)| {
            let now = std::time::Instant::now();
            (
                (rate, burst),
                [
                    PinSched::new(rate, burst, now),
                    PinSched::new(rate, burst, now),
                ],
            )
        });
        if let Some(l) = &self.ctx.link {
            for slot in 0..2 {
                let stats = self.pinsched.as_ref().map(|(_, s)| s[slot].stats().clone());
                l.set_pin_stats(slot, stats);
            }
        }
    }

    /// When a rate-limited packet-in can go next, if one waits.
    fn pinsched_wakeup(&mut self) -> Option<std::time::Instant> {
        let (_, s) = self.pinsched.as_mut()?;
        let now = std::time::Instant::now();
        let [a, b] = s;
        match (a.next_wakeup(now), b.next_wakeup(now)) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    /// Sends the rate-limited packet-ins that may go now.
    fn drain_pinsched(&mut self) {
        let Some((_, s)) = self.pinsched.as_mut() else {
            return;
        };
        let now = std::time::Instant::now();
        let mut out = Vec::new();
        for sched in s.iter_mut() {
            sched.run(now, &mut out);
        }
        for m in out {
            self.queue_async(m);
        }
    }

    /// Queues an asynchronous message, or drops and counts it if the queue
    /// is full.
    fn queue_async(&self, bytes: Vec<u8>) {
        match self.tx.try_send(bytes) {
            Ok(()) => {
                self.ctx.stats.tx_msgs.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.ctx.stats.async_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Queues a message, waiting for room (replies are never dropped). On
    /// an active controller's connection the wait ends, and the connection
    /// with it, when the inactivity probe would have given up.
    async fn send(&self, msg: Vec<u8>) -> Result<(), Close> {
        self.ctx.stats.tx_msgs.fetch_add(1, Ordering::Relaxed);
        let Some(dead) = self.dead_line() else {
            return self.tx.send(msg).await.map_err(|_| Close);
        };
        match self.tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Close),
            Err(mpsc::error::TrySendError::Full(msg)) => tokio::select! {
                r = self.tx.send(msg) => r.map_err(|_| Close),
                () = sleep_until(Some(dead)) => {
                    let idle = std::time::Instant::now().saturating_duration_since(self.last_rx);
                    self.close_with(CloseReason::ProbeTimeout(idle));
                    Err(Close)
                }
            },
        }
    }

    async fn reply(&self, xid: u32, msg: &OfpMessage) -> Result<(), Close> {
        self.send(codec::encode(self.version, xid, msg)).await
    }

    async fn error(&self, request: &[u8], e: OfpError) -> Result<(), Close> {
        self.send(wire::error_reply(self.version, request, e)).await
    }

    /// The version to use for an error before negotiation completes.
    fn reply_version(&self, peer: u8) -> u8 {
        if self.version != 0 {
            self.version
        } else {
            peer.clamp(1, wire::highest_version(self.ctx.allowed_versions).max(1))
        }
    }

    fn role(&self) -> u32 {
        self.role.load(Ordering::Acquire)
    }

    async fn handle(&mut self, h: &OfpHeader, msg: &[u8]) -> Result<(), Close> {
        if self.version == 0 {
            return self.handle_hello(h, msg).await;
        }
        if h.type_ == wire::OFPT_HELLO {
            return Ok(());
        }
        if h.version != self.version {
            return self.error(msg, OfpError::BAD_REQUEST_BAD_VERSION).await;
        }
        if h.type_ == wire::OFPT_ECHO_REQUEST {
            return self.send(wire::echo_reply(self.version, msg)).await;
        }
        match codec::decode_with(msg, &self.codec_opts) {
            Ok((_, m)) => self.dispatch(h.xid, msg, m).await,
            Err(e) => {
                tracing::debug!("{}: bad message from controller: {e}", self.ctx.bridge);
                self.error(msg, e).await
            }
        }
    }

    async fn handle_hello(&mut self, h: &OfpHeader, msg: &[u8]) -> Result<(), Close> {
        let ours = self.ctx.allowed_versions;
        if h.type_ != wire::OFPT_HELLO {
            let e = wire::encode_error(
                self.reply_version(h.version),
                h.xid,
                OfpError::HELLO_FAILED_EPERM,
                b"Expected HELLO as the first message.",
            );
            let _ = self.send(e).await;
            return Err(Close);
        }
        let Some(theirs) = wire::decode_hello_versions(msg) else {
            let e = wire::error_reply(
                self.reply_version(h.version),
                msg,
                OfpError::BAD_REQUEST_BAD_LEN,
            );
            let _ = self.send(e).await;
            return Err(Close);
        };
        match wire::negotiate(ours, theirs) {
            Some(v) => {
                self.version = v;
                tracing::debug!("{}: negotiated OpenFlow version 0x{v:02x}", self.ctx.bridge);
                Ok(())
            }
            None => {
                let text = wire::hello_failed_text(ours, theirs);
                tracing::info!("{}: version negotiation failed: {text}", self.ctx.bridge);
                // In a version the peer can parse: the highest it offered.
                let v = wire::highest_version(theirs).max(1);
                let e = wire::encode_error(
                    v,
                    h.xid,
                    OfpError::HELLO_FAILED_INCOMPATIBLE,
                    text.as_bytes(),
                );
                let _ = self.send(e).await;
                Err(Close)
            }
        }
    }

    /// Rejects state-changing requests from a slave (OFPBRC_IS_SLAVE).
    fn check_not_slave(&self) -> Result<(), OfpError> {
        if self.role() == ROLE_SLAVE {
            Err(OfpError::BAD_REQUEST_IS_SLAVE)
        } else {
            Ok(())
        }
    }

    async fn dispatch(&mut self, xid: u32, raw: &[u8], m: OfpMessage) -> Result<(), Close> {
        let ops = self.ctx.ops.clone();
        let bridge = self.ctx.bridge.clone();
        let bridge = bridge.as_str();
        match m {
            OfpMessage::EchoRequest(data) => self.reply(xid, &OfpMessage::EchoReply(data)).await,
            OfpMessage::EchoReply(_) | OfpMessage::Hello(_) => Ok(()),
            OfpMessage::Error(e) => {
                tracing::info!("{bridge}: controller sent error {}", e.error.name());
                Ok(())
            }
            OfpMessage::FeaturesRequest => {
                let Some(dpid) = ops.datapath_id(bridge) else {
                    return self.error(raw, OfpError::BAD_REQUEST_EPERM).await;
                };
                let ports = if self.version == OFP10_VERSION {
                    ops.port_descs(bridge).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let reply = FeaturesReply {
                    datapath_id: dpid,
                    n_buffers: 0,
                    n_tables: features::N_TABLES,
                    auxiliary_id: 0,
                    capabilities: features::capabilities(self.version),
                    actions: features::actions_bitmap(self.version),
                    ports,
                };
                self.reply(xid, &OfpMessage::FeaturesReply(reply)).await
            }
            OfpMessage::GetConfigRequest => {
                self.reply(xid, &OfpMessage::GetConfigReply(self.config))
                    .await
            }
            OfpMessage::SetConfig(c) => {
                self.config = c;
                // OVS `handle_set_config`: in OpenFlow 1.0–1.2 the
                // invalid-TTL flag sets or clears OFPR_INVALID_TTL in an
                // explicit async configuration (the default has it off and
                // follows the flag).
                if self.version <= OFP12_VERSION {
                    if let Some(a) = self.async_cfg.as_mut() {
                        let bit = 1 << openflow::actions::OFPR_INVALID_TTL;
                        if c.flags & super::ops::OFPC_INVALID_TTL_TO_CONTROLLER != 0 {
                            a.packet_in_mask[0] |= bit;
                        } else {
                            a.packet_in_mask[0] &= !bit;
                        }
                    }
                }
                Ok(())
            }
            OfpMessage::FlowMod(fm) | OfpMessage::NxFlowMod(fm) => {
                let fm = self.resolve_table(fm);
                let r = self
                    .check_not_slave()
                    .and_then(|_| ops.flow_mod(bridge, &fm));
                self.result(raw, r).await
            }
            OfpMessage::PacketOut(po) => {
                let r = self
                    .check_not_slave()
                    .and_then(|_| ops.packet_out(bridge, &po));
                self.result(raw, r).await
            }
            OfpMessage::PortMod(pm) => {
                let r = self
                    .check_not_slave()
                    .and_then(|_| ops.port_mod(bridge, &pm));
                self.result(raw, r).await
            }
            OfpMessage::GroupMod(body) => {
                // Groups are not implemented: no group can be added, none exists.
                let r = self.check_not_slave().and_then(|_| {
                    match body.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])) {
                        Some(0) => Err(OfpError::GROUP_MOD_FAILED_OUT_OF_GROUPS),
                        Some(1) => Err(OfpError::GROUP_MOD_FAILED_UNKNOWN_GROUP),
                        Some(2) => Ok(()),
                        _ => Err(OfpError::GROUP_MOD_FAILED_BAD_COMMAND),
                    }
                });
                self.result(raw, r).await
            }
            OfpMessage::MeterMod(body) => {
                // Meters are not implemented (as a datapath without meter support).
                let r = self.check_not_slave().and_then(|_| {
                    match body.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])) {
                        Some(0) => Err(OfpError::METER_MOD_FAILED_OUT_OF_METERS),
                        Some(1) => Err(OfpError::METER_MOD_FAILED_UNKNOWN_METER),
                        Some(2) => Ok(()),
                        _ => Err(OfpError::METER_MOD_FAILED_UNKNOWN),
                    }
                });
                self.result(raw, r).await
            }
            OfpMessage::MultipartRequest(req) => self.multipart(xid, raw, req).await,
            OfpMessage::BarrierRequest => {
                if ops.barrier_pending() {
                    let ops = ops.clone();
                    let _ = tokio::task::spawn_blocking(move || ops.barrier()).await;
                }
                self.reply(xid, &OfpMessage::BarrierReply).await
            }
            OfpMessage::RoleRequest(r) => match self.role_request(r.role, Some(r.generation_id)) {
                Ok(role) => {
                    let generation_id = self.ctx.shared.max_generation.lock().unwrap_or(u64::MAX);
                    let reply = RoleMsg {
                        role,
                        generation_id,
                    };
                    self.reply(xid, &OfpMessage::RoleReply(reply)).await
                }
                Err(e) => self.error(raw, e).await,
            },
            OfpMessage::NxRoleRequest(nx_role) => {
                // NX_ROLE_* + 1 = OFPCR_ROLE_* (other = equal), no
                // generation id (OVS ofputil_decode_role_message).
                let r = if nx_role <= NX_ROLE_SLAVE {
                    self.role_request(nx_role + 1, None)
                } else {
                    Err(OfpError::ROLE_REQUEST_FAILED_BAD_ROLE)
                };
                match r {
                    Ok(role) => {
                        let reply = OfpMessage::NxRoleReply(role.saturating_sub(1));
                        self.reply(xid, &reply).await
                    }
                    Err(e) => self.error(raw, e).await,
                }
            }
            OfpMessage::GetAsyncRequest => {
                let cfg = self.async_config();
                self.reply(xid, &OfpMessage::GetAsyncReply(cfg)).await
            }
            OfpMessage::SetAsync(cfg) => {
                self.async_cfg = Some(cfg);
                Ok(())
            }
            OfpMessage::TableMod(tm) => {
                let r = self.check_not_slave().and_then(|_| self.table_mod(&tm));
                self.result(raw, r).await
            }
            OfpMessage::BundleControl(bc) => self.bundle_control(xid, raw, bc).await,
            OfpMessage::BundleAdd(ba) => {
                let r = self.bundle_add(xid, ba);
                self.result(raw, r).await
            }
            OfpMessage::NxSetFlowFormat(f) => {
                if f == NXFF_OPENFLOW10 || f == NXFF_NXM {
                    self.flow_format = f;
                    Ok(())
                } else {
                    self.error(raw, OfpError::BAD_REQUEST_EPERM).await
                }
            }
            OfpMessage::NxFlowModTableId(on) => {
                self.codec_opts.flow_mod_table_id = on;
                Ok(())
            }
            OfpMessage::NxSetPacketInFormat(f) => {
                if f == NXPIF_STANDARD || f == NXPIF_NXT_PACKET_IN2 {
                    self.packet_in_format = f;
                    Ok(())
                } else {
                    // NXT_PACKET_IN (format 1) is not implemented.
                    self.error(raw, OfpError::BAD_REQUEST_EPERM).await
                }
            }
            // Switch-to-controller messages and replies are not requests.
            OfpMessage::FeaturesReply(_)
            | OfpMessage::GetConfigReply(_)
            | OfpMessage::PacketIn(_)
            | OfpMessage::NxPacketIn2(_)
            | OfpMessage::FlowRemoved(_)
            | OfpMessage::NxFlowRemoved(_)
            | OfpMessage::PortStatus(_)
            | OfpMessage::MultipartReply(_)
            | OfpMessage::BarrierReply
            | OfpMessage::RoleReply(_)
            | OfpMessage::NxRoleReply(_)
            | OfpMessage::GetAsyncReply(_) => self.error(raw, OfpError::BAD_REQUEST_BAD_TYPE).await,
        }
    }

    /// Sends the error of a request that has no reply on success.
    async fn result(&self, raw: &[u8], r: Result<(), OfpError>) -> Result<(), Close> {
        match r {
            Ok(()) => Ok(()),
            Err(e) => self.error(raw, e).await,
        }
    }

    /// The table a flow_mod acts on (OVS semantics, compat doc §6): in
    /// OpenFlow 1.0 without NXT_FLOW_MOD_TABLE_ID the table is unspecified:
    /// ADD goes to table 0, MODIFY/DELETE act on every table; with the
    /// extension, an ADD with table 0xff goes to table 0.
    fn resolve_table(&self, mut fm: FlowMod) -> FlowMod {
        if self.version == OFP10_VERSION
            && fm.command == FlowModCommand::Add
            && fm.table_id == OFPTT_ALL
        {
            fm.table_id = 0;
        }
        fm
    }

    fn async_config(&self) -> AsyncConfig {
        if !self.ctx.enable_async && self.async_cfg.is_none() {
            // enable_async_messages=false: nothing until SET_ASYNC.
            return AsyncConfig {
                packet_in_mask: [0, 0],
                port_status_mask: [0, 0],
                flow_removed_mask: [0, 0],
            };
        }
        self.async_cfg.unwrap_or(AsyncConfig {
            // [master/equal, slave]: NO_MATCH|ACTION|INVALID_TTL packet-ins,
            // every port status, every flow-removed reason (OVS defaults).
            packet_in_mask: [0x7, 0],
            port_status_mask: [0x7, 0x7],
            flow_removed_mask: [0xf, 0],
        })
    }

    /// Changes this connection's role (OFPCR_ROLE_*, OpenFlow 1.3.5
    /// §6.3.6; OVS `handle_role_request`) and returns the role it has now.
    /// A MASTER or SLAVE request with a `generation_id` (OFPT_ROLE_REQUEST;
    /// NXT_ROLE_REQUEST has none) must not be older than the newest seen;
    /// a new master demotes the old one to slave.
    ///
    /// Errors: OFPRRFC_STALE, OFPRRFC_BAD_ROLE (unknown role).
    fn role_request(&mut self, role: u32, generation_id: Option<u64>) -> Result<u32, OfpError> {
        match role {
            ROLE_NOCHANGE => {}
            ROLE_EQUAL => self.role.store(ROLE_EQUAL, Ordering::Release),
            ROLE_MASTER | ROLE_SLAVE => {
                if let Some(generation_id) = generation_id {
                    let mut g = self.ctx.shared.max_generation.lock();
                    if let Some(max) = *g {
                        if (generation_id.wrapping_sub(max) as i64) < 0 {
                            return Err(OfpError::ROLE_REQUEST_FAILED_STALE);
                        }
                    }
                    *g = Some(generation_id);
                }
                if role == ROLE_MASTER {
                    for w in self.ctx.shared.roles.lock().iter() {
                        if let Some(other) = w.upgrade() {
                            let _ = other.compare_exchange(
                                ROLE_MASTER,
                                ROLE_SLAVE,
                                Ordering::AcqRel,
                                Ordering::Acquire,
                            );
                        }
                    }
                }
                self.role.store(role, Ordering::Release);
            }
            _ => return Err(OfpError::ROLE_REQUEST_FAILED_BAD_ROLE),
        }
        if let Some(l) = &self.ctx.link {
            l.role_changed();
        }
        Ok(self.role())
    }

    /// OFPT_TABLE_MOD as OVS 3.1 `table_mod`: table 254 is read-only
    /// (OFPTMFC_EPERM), 0xff means every table below it. OpenFlow 1.3
    /// carries no setting OVS uses (its config bits are deprecated), so it
    /// only gets those checks. In 1.4+ the config sets eviction and vacancy
    /// events; an eviction property overrides the eviction bit, and, as in
    /// OVS 3.1 (which parses it into the on/off setting), only the values
    /// 1 (on) and 2 (off) change anything.
    fn table_mod(&self, tm: &TableMod) -> Result<(), OfpError> {
        if tm.table_id == crate::table::TABLE_HIDDEN {
            return Err(OfpError::TABLE_MOD_FAILED_EPERM);
        }
        if self.version < OFP14_VERSION {
            return Ok(());
        }
        let eviction = match tm.eviction_flags {
            None => Some(tm.config & OFPTC14_EVICTION != 0),
            Some(1) => Some(true),
            Some(2) => Some(false),
            Some(_) => None,
        };
        let vacancy = (tm.config & OFPTC14_VACANCY_EVENTS != 0).then(|| {
            tm.vacancy
                .map_or((0, 0), |v| (v.vacancy_down, v.vacancy_up))
        });
        let ids = if tm.table_id == OFPTT_ALL {
            0..crate::table::TABLE_HIDDEN
        } else {
            tm.table_id..tm.table_id + 1
        };
        let mut tables = self.ctx.shared.tables.lock();
        for id in ids {
            let t = tables.entry(id).or_default();
            if let Some(e) = eviction {
                t.eviction = e;
            }
            t.vacancy = vacancy;
            if *t == TableConfig::default() {
                tables.remove(&id);
            }
        }
        Ok(())
    }

    /// OFPMP_TABLE_DESC entries for tables `0..n` (OVS `query_tables_desc`):
    /// config bits, the eviction flags, and the vacancy property when
    /// vacancy events are on (current vacancy 100%: no table has a limit).
    fn table_descs(&self, n: u8) -> Vec<TableDesc> {
        let tables = self.ctx.shared.tables.lock();
        (0..n)
            .map(|id| {
                let t = tables.get(&id).copied().unwrap_or_default();
                let mut config = 0;
                if t.eviction {
                    config |= OFPTC14_EVICTION;
                }
                if t.vacancy.is_some() {
                    config |= OFPTC14_VACANCY_EVENTS;
                }
                TableDesc {
                    table_id: id,
                    config,
                    eviction_flags: Some(EVICTION_FLAGS),
                    vacancy: t.vacancy.map(|(vacancy_down, vacancy_up)| TableVacancy {
                        vacancy_down,
                        vacancy_up,
                        vacancy: 100,
                    }),
                }
            })
            .collect()
    }

    fn bundle_add(&mut self, xid: u32, ba: BundleAdd) -> Result<(), OfpError> {
        self.check_not_slave()?;
        let inner = wire::parse_header(&ba.message).ok_or(OfpError::BUNDLE_FAILED_MSG_BAD_LEN)?;
        if usize::from(inner.length) != ba.message.len() {
            return Err(OfpError::BUNDLE_FAILED_MSG_BAD_LEN);
        }
        if inner.xid != xid {
            return Err(OfpError::BUNDLE_FAILED_MSG_BAD_XID);
        }
        let bundle = self.bundles.entry(ba.bundle_id).or_insert(Bundle {
            flags: ba.flags,
            closed: false,
            msgs: Vec::new(),
        });
        if bundle.closed {
            return Err(OfpError::BUNDLE_FAILED_BUNDLE_CLOSED);
        }
        if bundle.flags != ba.flags {
            return Err(OfpError::BUNDLE_FAILED_BAD_FLAGS);
        }
        let (_, m) = codec::decode_with(&ba.message, &self.codec_opts)?;
        match m {
            OfpMessage::FlowMod(fm) | OfpMessage::NxFlowMod(fm) => {
                let fm = self.resolve_table(fm);
                check_bundled_flow_mod(&fm)?;
                if let Some(b) = self.bundles.get_mut(&ba.bundle_id) {
                    b.msgs.push((ba.message, fm));
                }
                Ok(())
            }
            _ => Err(OfpError::BUNDLE_FAILED_MSG_UNSUP),
        }
    }

    async fn bundle_control(&mut self, xid: u32, raw: &[u8], bc: BundleCtrl) -> Result<(), Close> {
        if let Err(e) = self.check_not_slave() {
            return self.error(raw, e).await;
        }
        if bc.flags & !OFPBF_KNOWN != 0 {
            return self.error(raw, OfpError::BUNDLE_FAILED_BAD_FLAGS).await;
        }
        let id = bc.bundle_id;
        let r: Result<(), OfpError> = match bc.type_ {
            OFPBCT_OPEN_REQUEST => match self.bundles.entry(id) {
                std::collections::hash_map::Entry::Occupied(_) => {
                    Err(OfpError::BUNDLE_FAILED_BUNDLE_EXIST)
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(Bundle {
                        flags: bc.flags,
                        closed: false,
                        msgs: Vec::new(),
                    });
                    Ok(())
                }
            },
            OFPBCT_CLOSE_REQUEST => match self.bundles.get_mut(&id) {
                None => Err(OfpError::BUNDLE_FAILED_BAD_ID),
                Some(b) if b.closed => Err(OfpError::BUNDLE_FAILED_BUNDLE_CLOSED),
                Some(b) if b.flags != bc.flags => Err(OfpError::BUNDLE_FAILED_BAD_FLAGS),
                Some(b) => {
                    b.closed = true;
                    Ok(())
                }
            },
            OFPBCT_COMMIT_REQUEST => match self.bundles.remove(&id) {
                None => Err(OfpError::BUNDLE_FAILED_BAD_ID),
                Some(b) if b.flags != bc.flags => Err(OfpError::BUNDLE_FAILED_BAD_FLAGS),
                Some(b) => {
                    let fms: Vec<FlowMod> = b.msgs.iter().map(|(_, fm)| fm.clone()).collect();
                    match self.ctx.ops.flow_mods_atomic(&self.ctx.bridge, &fms) {
                        Ok(()) => Ok(()),
                        Err((i, e)) => {
                            if let Some((inner, _)) = b.msgs.get(i) {
                                self.error(inner, e).await?;
                            }
                            Err(OfpError::BUNDLE_FAILED_MSG_FAILED)
                        }
                    }
                }
            },
            OFPBCT_DISCARD_REQUEST => match self.bundles.remove(&id) {
                None => Err(OfpError::BUNDLE_FAILED_BAD_ID),
                Some(_) => Ok(()),
            },
            _ => Err(OfpError::BUNDLE_FAILED_BAD_TYPE),
        };
        match r {
            Ok(()) => {
                // Open vSwitch 3.1 answers with flags 0 (observed).
                let reply = BundleCtrl {
                    bundle_id: id,
                    type_: bc.type_ + 1,
                    flags: 0,
                };
                self.reply(xid, &OfpMessage::BundleControl(reply)).await
            }
            Err(e) => self.error(raw, e).await,
        }
    }

    async fn multipart(
        &mut self,
        xid: u32,
        raw: &[u8],
        req: MultipartRequest,
    ) -> Result<(), Close> {
        use MultipartReplyBody as B;
        use MultipartRequestBody as R;
        let ops = self.ctx.ops.clone();
        let bridge = self.ctx.bridge.clone();
        let bridge = bridge.as_str();
        let no_bridge = OfpError::BAD_REQUEST_EPERM;
        let r: Result<(), OfpError> = match req.body {
            R::Desc => return self.reply(xid, &mp(B::Desc(features::desc()))).await,
            R::Flow(fr) => match ops.flow_stats(bridge, &fr) {
                Ok(flows) => return self.send_parts(xid, flows, B::Flow).await,
                Err(e) => Err(e),
            },
            R::NxFlow(fr) => match ops.flow_stats(bridge, &fr) {
                Ok(flows) => return self.send_parts(xid, flows, B::NxFlow).await,
                Err(e) => Err(e),
            },
            R::Aggregate(fr) => match ops.aggregate_stats(bridge, &fr) {
                Ok(a) => return self.reply(xid, &mp(B::Aggregate(a))).await,
                Err(e) => Err(e),
            },
            R::NxAggregate(fr) => match ops.aggregate_stats(bridge, &fr) {
                Ok(a) => return self.reply(xid, &mp(B::NxAggregate(a))).await,
                Err(e) => Err(e),
            },
            R::Table => match ops.table_stats(bridge) {
                Some(t) => return self.send_parts(xid, t, B::Table).await,
                None => Err(no_bridge),
            },
            R::TableFeatures(set) => {
                if !set.is_empty() {
                    // Changing table features is not supported (OVS: EPERM).
                    Err(OfpError::TABLE_FEATURES_FAILED_EPERM)
                } else {
                    let n = ops
                        .table_stats(bridge)
                        .map(|t| t.len().min(usize::from(features::N_TABLES)) as u8)
                        .unwrap_or(features::N_TABLES);
                    return self
                        .send_parts(xid, features::table_features(n), B::TableFeatures)
                        .await;
                }
            }
            R::TableDesc => {
                let n = ops
                    .table_stats(bridge)
                    .map(|t| t.len().min(usize::from(features::N_TABLES)) as u8)
                    .unwrap_or(features::N_TABLES);
                return self
                    .send_parts(xid, self.table_descs(n), B::TableDesc)
                    .await;
            }
            R::PortStats { port_no } => match ops.port_stats(bridge, port_no) {
                Some(p) => return self.send_parts(xid, p, B::PortStats).await,
                None => Err(no_bridge),
            },
            R::PortDesc => match ops.port_descs(bridge) {
                Some(p) => return self.send_parts(xid, p, B::PortDesc).await,
                None => Err(no_bridge),
            },
            // No queues are configured: an empty reply.
            R::Queue { .. } => return self.reply(xid, &mp(B::Queue(Vec::new()))).await,
            // No groups or meters exist: empty lists.
            R::Group { .. } => return self.reply(xid, &mp(B::Empty(6))).await,
            R::GroupDesc => return self.reply(xid, &mp(B::Empty(7))).await,
            R::Meter { .. } => return self.reply(xid, &mp(B::Empty(9))).await,
            R::MeterConfig { .. } => return self.reply(xid, &mp(B::Empty(10))).await,
            // Group and meter features are not implemented.
            R::GroupFeatures | R::MeterFeatures => Err(OfpError::BAD_REQUEST_BAD_MULTIPART),
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => self.error(raw, e).await,
        }
    }

    /// Sends `items` as one or more multipart replies, each under 64 KiB,
    /// all but the last with OFPMPF_MORE (OpenFlow 1.3.5 §7.3.5).
    ///
    /// Each item is encoded once, as a one-item reply whose body after the
    /// common prefix (header, multipart type and flags, NX stats header) is
    /// the item's entry; entries are concatenated behind the prefix. If the
    /// codec's one-item reply does not start with the empty reply's prefix
    /// (a body that is not a plain list), items are grouped by size instead.
    async fn send_parts<T>(
        &self,
        xid: u32,
        items: Vec<T>,
        make: impl Fn(Vec<T>) -> MultipartReplyBody,
    ) -> Result<(), Close> {
        let base = codec::encode(self.version, xid, &mp(make(Vec::new())));
        let blen = base.len();
        // Same bytes except the length field (2..4).
        let same_prefix =
            |m: &[u8]| m.len() >= blen && m[..2] == base[..2] && m[4..blen] == base[4..];
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut part = base.clone();
        let mut items = items.into_iter();
        while let Some(item) = items.next() {
            let one = codec::encode(self.version, xid, &mp(make(vec![item])));
            if !same_prefix(&one) {
                // Not a plain list: one reply per item.
                parts.push(one);
                for item in items.by_ref() {
                    parts.push(codec::encode(self.version, xid, &mp(make(vec![item]))));
                }
                break;
            }
            let entry = &one[blen..];
            if part.len() + entry.len() > MAX_MSG && part.len() > blen {
                parts.push(std::mem::replace(&mut part, base.clone()));
            }
            part.extend_from_slice(entry);
        }
        if part.len() > blen || parts.is_empty() {
            parts.push(part);
        }
        let n = parts.len();
        for (i, mut p) in parts.into_iter().enumerate() {
            let len = u16::try_from(p.len()).unwrap_or(u16::MAX);
            p[2..4].copy_from_slice(&len.to_be_bytes());
            if i + 1 < n {
                // Multipart/stats flags are at bytes 10..12 in every version.
                p[11] |= OFPMPF_MORE as u8;
            }
            self.send(p).await?;
        }
        Ok(())
    }

    /// Whether this connection wants asynchronous messages at all. Also
    /// keeps the switch informed of the packet-ins this connection can
    /// receive (called after every request, so SET_CONFIG, SET_ASYNC and
    /// role changes all count; cheap when nothing changed), identified by
    /// its role cell, which lives as long as the connection.
    fn wants_async(&self) -> bool {
        let on = self.version != 0
            && !(self.ctx.kind == ConnKind::Service && self.config.miss_send_len == 0);
        let interest = super::ops::PacketInSettings {
            async_on: on,
            version: self.version,
            miss_send_len: self.config.miss_send_len,
            flags: self.config.flags,
            explicit: self.async_cfg,
            effective: self.async_config(),
            slave: self.role() == ROLE_SLAVE,
        }
        .interest();
        let token: super::ops::ConnToken = Arc::downgrade(&self.role) as _;
        self.ctx
            .ops
            .set_packet_in_interest(&self.ctx.bridge, &token, interest);
        on
    }

    /// Encodes and queues an asynchronous event if this connection's
    /// settings ask for it; drops and counts it if the queue is full.
    /// Packet-ins pass through the rate limiter, if any.
    fn relay(&mut self, ev: AsyncEvent) {
        if !self.wants_async() {
            return;
        }
        let cfg = self.async_config();
        let slot = usize::from(self.role() == ROLE_SLAVE);
        let wanted = |mask: [u32; 2], reason: u8| reason < 32 && mask[slot] & (1 << reason) != 0;
        // The rate limiter (0 misses, 1 others) and input port of a packet-in.
        let mut pin_slot: Option<(usize, u16)> = None;
        let msg = match ev {
            AsyncEvent::PacketIn(mut pi) => {
                let settings = super::ops::PacketInSettings {
                    async_on: true,
                    version: self.version,
                    miss_send_len: self.config.miss_send_len,
                    flags: self.config.flags,
                    explicit: self.async_cfg,
                    effective: cfg,
                    slave: slot == 1,
                };
                // Internal reasons (table misses) become wire ones. Misses
                // go through the miss rate limiter (OVS `is_miss`); only
                // those without a table-miss flow are cut to miss_send_len
                // (a table-miss flow's `controller` action has its own
                // max_len).
                let miss = matches!(
                    pi.reason,
                    0 | super::ops::OFPR_IMPLICIT_MISS | super::ops::OFPR_EXPLICIT_MISS
                );
                let implicit = matches!(pi.reason, 0 | super::ops::OFPR_IMPLICIT_MISS);
                pin_slot = Some((usize::from(!miss), pi.metadata.flow.in_port()));
                match settings.wire_reason(pi.reason) {
                    Some(r) => pi.reason = r,
                    None => return,
                }
                if implicit {
                    // OFPR_NO_MATCH: cut to miss_send_len (0xffff = whole).
                    let max = usize::from(self.config.miss_send_len);
                    if self.config.miss_send_len != u16::MAX && pi.data.len() > max {
                        pi.data.truncate(max);
                    }
                }
                if self.packet_in_format == NXPIF_NXT_PACKET_IN2 {
                    OfpMessage::NxPacketIn2(pi)
                } else {
                    OfpMessage::PacketIn(pi)
                }
            }
            AsyncEvent::FlowRemoved(fr) => {
                if !wanted(cfg.flow_removed_mask, fr.reason) {
                    return;
                }
                // Whole milliseconds, OVS's clock resolution.
                let mut fr = fr;
                fr.duration_nsec -= fr.duration_nsec % 1_000_000;
                if self.version == OFP10_VERSION && self.flow_format == NXFF_NXM {
                    // OVS ofputil_encode_flow_removed: the NXM flow format
                    // gets NXT_FLOW_REMOVED whatever the match.
                    OfpMessage::NxFlowRemoved(fr)
                } else {
                    OfpMessage::FlowRemoved(fr)
                }
            }
            AsyncEvent::PortStatus(ps) => {
                if !wanted(cfg.port_status_mask, ps.reason) {
                    return;
                }
                OfpMessage::PortStatus(ps)
            }
        };
        let bytes = codec::encode(self.version, 0, &msg);
        if let Some((slot, in_port)) = pin_slot {
            self.sync_pinsched();
            if let Some((_, s)) = self.pinsched.as_mut() {
                if let Some(bytes) = s[slot].send(in_port, bytes, std::time::Instant::now()) {
                    self.queue_async(bytes);
                }
                return;
            }
        }
        self.queue_async(bytes);
    }
}

/// The checks Open vSwitch makes when a flow_mod is added to a bundle
/// (`ofproto_flow_mod_init_for_bundle`), so that their errors answer the
/// BUNDLE_ADD_MESSAGE at once rather than the commit: the hidden table
/// (OFPBRC_EPERM), match prerequisites (OFPBMC_BAD_PREREQ), and for adds
/// and modifications the actions against the match and table
/// (`ofpacts_check_consistency`: OFPBIC_BAD_TABLE_ID, OFPBAC_*). What
/// depends on the table contents (overlap, table full) is found at commit.
fn check_bundled_flow_mod(fm: &FlowMod) -> Result<(), OfpError> {
    if fm.table_id == crate::table::TABLE_HIDDEN {
        return Err(OfpError::BAD_REQUEST_EPERM);
    }
    fm.match_.check_prereqs()?;
    let is_delete = matches!(
        fm.command,
        FlowModCommand::Delete | FlowModCommand::DeleteStrict
    );
    if !is_delete && fm.table_id != OFPTT_ALL {
        crate::table::check_ofpacts(&fm.ofpacts, &fm.match_, fm.table_id)?;
    }
    Ok(())
}

fn mp(body: MultipartReplyBody) -> OfpMessage {
    OfpMessage::MultipartReply(MultipartReply { flags: 0, body })
}

/// Sleeps until `t`, or forever when it is `None`.
async fn sleep_until(t: Option<std::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

/// Waits for the next event, or forever when there is no subscription.
/// Keeps the task runnable until `deadline`, yielding to the scheduler
/// between polls so that the runtime re-polls its I/O driver (epoll with
/// a zero timeout) each turn: a request that arrives inside the window is
/// read without the sleeping thread's wake-up.
async fn spin_until(deadline: Option<std::time::Instant>) {
    let Some(deadline) = deadline else { return };
    while std::time::Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

async fn recv_event(
    rx: &mut Option<broadcast::Receiver<AsyncEvent>>,
) -> Result<AsyncEvent, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
