//! Active controller connections (OVS `lib/rconn.c`): a connection the
//! switch makes to `tcp:IP[:PORT]`, `ssl:IP[:PORT]` or `unix:PATH`, kept up
//! by reconnecting with exponential backoff, probed with ECHO_REQUEST when
//! idle, and reported in `Controller.is_connected`/`role`/`status`.
//!
//! Idea: one task per configured target ([`run_active`]) loops through
//! rconn's states: CONNECTING (one attempt, which may take at most
//! max(1 s, backoff)), ACTIVE/IDLE (the OpenFlow session of
//! [`super::conn::run`], which sends the inactivity probe and drops a peer
//! that does not answer), BACKOFF (a pause before the next attempt). The
//! pause starts at 1 s and doubles after each failure up to
//! `max_backoff`; a session that lasted longer than the pause before it
//! resets it to 1 s (OVS `disconnect`). Everything the switch reports
//! lives in a [`Link`] shared by that task, the session and the
//! fail-open logic.
//!
//! Admission (OVS `rconn_is_admitted`): a session counts as accepted by the
//! controller once the controller sends something other than hello, error,
//! echo, features or switch-config messages, or has stayed connected for
//! 30 s. Fail-open measures how long no controller has been admitted.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Notify};

use super::conn::{self, CloseReason, ConnCtx, ConnKind};
use super::listener::OFP_PORT;
use super::pinsched::PinStats;

/// A session is admitted after this long even without an admitting message.
const ADMIT_AFTER: Duration = Duration::from_secs(30);

/// A byte stream to a controller.
pub trait OfStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> OfStream for T {}

/// A boxed stream to a controller.
pub type BoxStream = Box<dyn OfStream>;

/// The future of an [`SslConnect`].
pub type SslFuture = Pin<Box<dyn std::future::Future<Output = std::io::Result<BoxStream>> + Send>>;

/// Runs the client side of a TLS handshake over a connected TCP stream for
/// an `ssl:` target; the second argument is the target's host (an IP
/// address). Errors are `std::io::Error`s whose text is what the switch
/// reports as `last_error`.
pub type SslConnect = Arc<dyn Fn(tokio::net::TcpStream, String) -> SslFuture + Send + Sync>;

/// An active target (`Controller.target`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActiveTarget {
    /// `tcp:IP[:PORT]`.
    Tcp(SocketAddr),
    /// `ssl:IP[:PORT]`.
    Ssl(SocketAddr),
    /// `unix:PATH` (a relative path is under the run directory).
    Unix(PathBuf),
}

impl ActiveTarget {
    /// Parses `tcp:IP[:PORT]`, `ssl:IP[:PORT]` (IPv6 addresses in
    /// brackets, default port 6653) or `unix:PATH`; `None` for anything
    /// else (host names included: like OVS built without a resolver).
    pub fn parse(s: &str, rundir: &Path) -> Option<ActiveTarget> {
        if let Some(path) = s.strip_prefix("unix:") {
            return (!path.is_empty()).then(|| ActiveTarget::Unix(rundir.join(path)));
        }
        let (ssl, rest) = match (s.strip_prefix("tcp:"), s.strip_prefix("ssl:")) {
            (Some(r), _) => (false, r),
            (_, Some(r)) => (true, r),
            _ => return None,
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']')?;
            match after {
                "" => (h, None),
                p => (h, Some(p.strip_prefix(':')?)),
            }
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        let ip: IpAddr = host.parse().ok()?;
        let port = match port {
            None | Some("") => OFP_PORT,
            Some(p) => p.parse().ok()?,
        };
        let addr = SocketAddr::new(ip, port);
        Some(if ssl {
            ActiveTarget::Ssl(addr)
        } else {
            ActiveTarget::Tcp(addr)
        })
    }
}

/// rconn's connection states (`Controller.status:state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RconnState {
    /// Not connecting at all.
    Void,
    /// Waiting before the next attempt.
    Backoff,
    /// An attempt is under way.
    Connecting,
    /// Connected, the peer answered recently.
    Active,
    /// Connected, an inactivity probe is waiting for an answer.
    Idle,
}

impl RconnState {
    /// The name OVS reports (`ACTIVE`, `BACKOFF`, ...).
    pub fn name(self) -> &'static str {
        match self {
            RconnState::Void => "VOID",
            RconnState::Backoff => "BACKOFF",
            RconnState::Connecting => "CONNECTING",
            RconnState::Active => "ACTIVE",
            RconnState::Idle => "IDLE",
        }
    }
}

/// What the switch reports about one active controller
/// (`Controller.is_connected`, `role`, `status` as ovs-vswitchd.conf.db(5)
/// describes them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerStatus {
    /// `Controller.target`.
    pub target: String,
    /// Connected now.
    pub is_connected: bool,
    /// `other`, `master` or `slave` while connected; `None` otherwise.
    pub role: Option<&'static str>,
    /// `state`, `last_error`, `sec_since_connect`, `sec_since_disconnect`
    /// and, with rate limiting, `packet-in-{miss,action}-{bypassed,queued,
    /// dropped,backlog}`.
    pub status: BTreeMap<String, String>,
}

/// The settings of one active controller that may change while it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSettings {
    /// Service or primary connection (`Controller.type`).
    pub kind: ConnKind,
    /// Idle time before an inactivity probe, and again before giving up
    /// (`None`: no probes).
    pub probe: Option<Duration>,
    /// Longest pause between attempts.
    pub max_backoff: Duration,
    /// Packet-in (rate, burst) limits, packets per second and packets.
    pub rate: Option<(u32, u32)>,
    /// Asynchronous messages on by default (`enable_async_messages`).
    pub enable_async: bool,
    /// DSCP of the connection's packets (`other_config:dscp`).
    pub dscp: u8,
    /// Messages the connection's output queue holds
    /// (`controller_queue_size`).
    pub queue_len: usize,
}

#[derive(Debug)]
struct LinkInner {
    settings: LinkSettings,
    state: RconnState,
    created: Instant,
    last_connected: Option<Instant>,
    last_disconnected: Option<Instant>,
    /// Last message received from an admitted session.
    last_admitted: Option<Instant>,
    /// The current session is admitted.
    admitted: bool,
    last_error: Option<String>,
    /// The current session's role cell.
    role: Option<Arc<AtomicU32>>,
    /// The current session's packet-in schedulers' counters (miss, action).
    pin_stats: [Option<Arc<PinStats>>; 2],
}

/// One active controller's shared state (see the module documentation).
#[derive(Debug)]
pub struct Link {
    target: String,
    inner: Mutex<LinkInner>,
    /// Signalled when what `Controller.is_connected`/`role` show changes.
    changed: Arc<Notify>,
}

impl Link {
    /// A controller `target` configured at `now`, not yet connecting.
    pub fn new(
        target: &str,
        settings: LinkSettings,
        changed: Arc<Notify>,
        now: Instant,
    ) -> Arc<Link> {
        Arc::new(Link {
            target: target.to_string(),
            inner: Mutex::new(LinkInner {
                settings,
                state: RconnState::Void,
                created: now,
                last_connected: None,
                last_disconnected: None,
                last_admitted: None,
                admitted: false,
                last_error: None,
                role: None,
                pin_stats: [None, None],
            }),
            changed,
        })
    }

    /// `Controller.target`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The current settings.
    pub fn settings(&self) -> LinkSettings {
        self.inner.lock().settings.clone()
    }

    /// Replaces the settings (applied to the running session where they
    /// can be: probe interval, rate limits, backoff; the kind and
    /// `enable_async` from the next session on).
    pub fn set_settings(&self, settings: LinkSettings) {
        self.inner.lock().settings = settings;
    }

    /// Whether this link counts as a primary controller.
    pub fn is_primary(&self) -> bool {
        self.inner.lock().settings.kind == ConnKind::Primary
    }

    /// The inactivity probe interval (`None`: off).
    pub fn probe_interval(&self) -> Option<Duration> {
        self.inner.lock().settings.probe
    }

    /// The packet-in rate limits.
    pub fn rate(&self) -> Option<(u32, u32)> {
        self.inner.lock().settings.rate
    }

    /// The state now.
    pub fn state(&self) -> RconnState {
        self.inner.lock().state
    }

    /// Connected (ACTIVE or IDLE).
    pub fn is_connected(&self) -> bool {
        matches!(self.state(), RconnState::Active | RconnState::Idle)
    }

    /// Connected and admitted (see the module documentation).
    pub fn is_admitted(&self) -> bool {
        let i = self.inner.lock();
        matches!(i.state, RconnState::Active | RconnState::Idle) && i.admitted
    }

    /// How long this controller has gone without an admitted session at
    /// `now` (OVS `rconn_failure_duration`): zero while admitted, else
    /// since the last message of an admitted session or since the target
    /// was configured.
    pub fn failure_duration(&self, now: Instant) -> Duration {
        let i = self.inner.lock();
        if matches!(i.state, RconnState::Active | RconnState::Idle) && i.admitted {
            return Duration::ZERO;
        }
        let since = i.last_admitted.map_or(i.created, |t| t.max(i.created));
        now.saturating_duration_since(since)
    }

    pub(super) fn set_state(&self, state: RconnState) {
        self.inner.lock().state = state;
    }

    /// A session opened at `now`: ACTIVE, not admitted yet (reported once
    /// the session [`Link::attach`]es its role).
    pub(super) fn connected(&self, now: Instant) {
        let mut i = self.inner.lock();
        i.state = RconnState::Active;
        i.last_connected = Some(now);
        i.admitted = false;
    }

    /// The session's role cell: the session is up, tell the status writer.
    pub(super) fn attach(&self, role: Arc<AtomicU32>) {
        self.inner.lock().role = Some(role);
        self.changed.notify_one();
    }

    /// The session's packet-in scheduler counters for misses (`slot` 0)
    /// or other reasons (1); `None` when rate limiting is off.
    pub(super) fn set_pin_stats(&self, slot: usize, stats: Option<Arc<PinStats>>) {
        if let Some(s) = self.inner.lock().pin_stats.get_mut(slot) {
            *s = stats;
        }
    }

    /// The session went ACTIVE (`idle` false) or IDLE (an inactivity
    /// probe was sent).
    pub(super) fn set_idle(&self, idle: bool) {
        let mut i = self.inner.lock();
        if matches!(i.state, RconnState::Active | RconnState::Idle) {
            i.state = if idle {
                RconnState::Idle
            } else {
                RconnState::Active
            };
        }
    }

    /// A message of OpenFlow type `type_` arrived at `now`; returns true if
    /// it made the session admitted (OVS `is_admitted_msg`: anything but
    /// HELLO, ERROR, ECHO_REQUEST/REPLY, FEATURES_REQUEST/REPLY,
    /// GET_CONFIG_REQUEST/REPLY and SET_CONFIG, whose type numbers are the
    /// same in every version; or any message 30 s into the session).
    pub(super) fn on_message(&self, type_: u8, now: Instant) -> bool {
        let mut i = self.inner.lock();
        if i.state == RconnState::Idle {
            i.state = RconnState::Active;
        }
        let admitting = !matches!(type_, 0..=3 | 5..=9)
            || i.last_connected
                .is_some_and(|t| now.saturating_duration_since(t) >= ADMIT_AFTER);
        let newly = admitting && !i.admitted;
        if admitting {
            i.admitted = true;
        }
        if i.admitted {
            i.last_admitted = Some(now);
        }
        newly
    }

    /// The session closed at `now` because of `error` (`None`: closed by
    /// configuration).
    pub(super) fn disconnected(&self, now: Instant, error: Option<String>) {
        {
            let mut i = self.inner.lock();
            i.state = RconnState::Backoff;
            i.last_disconnected = Some(now);
            i.admitted = false;
            i.role = None;
            i.pin_stats = [None, None];
            if error.is_some() {
                i.last_error = error;
            }
        }
        self.changed.notify_one();
    }

    /// An attempt failed with `error`.
    pub(super) fn failed(&self, error: String) {
        let mut i = self.inner.lock();
        i.state = RconnState::Backoff;
        i.last_error = Some(error);
    }

    /// A role change of the session: tells the status writer.
    pub(super) fn role_changed(&self) {
        self.changed.notify_one();
    }

    /// What the switch reports at `now` (OVS `connmgr_get_controller_info`).
    pub fn status(&self, now: Instant) -> ControllerStatus {
        let i = self.inner.lock();
        let is_connected = matches!(i.state, RconnState::Active | RconnState::Idle);
        let role = if is_connected {
            i.role.as_ref().map(|r| match r.load(Ordering::Acquire) {
                2 => "master",
                3 => "slave",
                _ => "other",
            })
        } else {
            None
        };
        let mut status = BTreeMap::new();
        if let Some(e) = &i.last_error {
            status.insert("last_error".to_string(), e.clone());
        }
        status.insert("state".to_string(), i.state.name().to_string());
        let secs = |t: Instant| now.saturating_duration_since(t).as_secs().to_string();
        if let Some(t) = i.last_connected {
            status.insert("sec_since_connect".to_string(), secs(t));
        }
        if let Some(t) = i.last_disconnected {
            status.insert("sec_since_disconnect".to_string(), secs(t));
        }
        if is_connected {
            for (slot, name) in [(0, "miss"), (1, "action")] {
                if let Some(s) = &i.pin_stats[slot] {
                    let mut put = |k: &str, v: u64| {
                        status.insert(format!("packet-in-{name}-{k}"), v.to_string());
                    };
                    put("backlog", s.backlog.load(Ordering::Relaxed));
                    put("bypassed", s.bypassed.load(Ordering::Relaxed));
                    put("queued", s.queued.load(Ordering::Relaxed));
                    put("dropped", s.dropped.load(Ordering::Relaxed));
                }
            }
        }
        ControllerStatus {
            target: self.target.clone(),
            is_connected,
            role,
            status,
        }
    }
}

/// The text of an I/O error as OVS's `ovs_strerror` prints it
/// ("Connection refused"), without Rust's " (os error N)" suffix.
pub fn error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Sets IP_TOS (IPv4) or IPV6_TCLASS (IPv6) of `sock` to `dscp` << 2.
fn set_dscp(sock: &tokio::net::TcpSocket, v6: bool, dscp: u8) {
    use std::os::fd::AsRawFd;
    let tos: libc::c_int = libc::c_int::from(dscp) << 2;
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS)
    } else {
        (libc::IPPROTO_IP, libc::IP_TOS)
    };
    // SAFETY: setsockopt on a socket we own, with a pointer to a live
    // c_int and its exact size.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&tos as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        tracing::debug!("setting DSCP: {}", std::io::Error::last_os_error());
    }
}

async fn connect_tcp(addr: SocketAddr, dscp: u8) -> std::io::Result<tokio::net::TcpStream> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    set_dscp(&sock, addr.is_ipv6(), dscp);
    let s = sock.connect(addr).await?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// Opens a stream to `target`. Errors: the connection's error; for `ssl:`
/// without SSL settings, "Protocol not available" (OVS's ENOPROTOOPT).
async fn connect(
    target: &ActiveTarget,
    dscp: u8,
    ssl: Option<SslConnect>,
) -> std::io::Result<BoxStream> {
    match target {
        ActiveTarget::Tcp(addr) => Ok(Box::new(connect_tcp(*addr, dscp).await?)),
        ActiveTarget::Unix(path) => Ok(Box::new(tokio::net::UnixStream::connect(path).await?)),
        ActiveTarget::Ssl(addr) => {
            let Some(ssl) = ssl else {
                return Err(std::io::Error::from_raw_os_error(libc::ENOPROTOOPT));
            };
            let s = connect_tcp(*addr, dscp).await?;
            ssl(s, addr.ip().to_string()).await
        }
    }
}

/// Builds the context of one session of a link (the receiver closes it).
pub(super) type MakeCtx = Box<dyn Fn(&Arc<Link>, watch::Receiver<bool>) -> ConnCtx + Send + Sync>;

/// Everything [`run_active`] needs.
pub(super) struct Active {
    /// Bridge name (for logs).
    pub bridge: String,
    /// Where to connect.
    pub target: ActiveTarget,
    /// Shared state.
    pub link: Arc<Link>,
    /// TLS for `ssl:` targets, read at each attempt.
    pub ssl: Arc<Mutex<Option<SslConnect>>>,
    /// Turns true (or is dropped) when the controller is removed.
    pub closed: watch::Receiver<bool>,
    /// Builds the context of one session.
    pub make_ctx: MakeCtx,
}

/// Keeps one active controller connected until `a.closed` (see the module
/// documentation).
pub(super) async fn run_active(mut a: Active) {
    let name = format!("{}<->{}", a.bridge, a.link.target());
    let mut backoff = Duration::ZERO;
    let mut quiet = false;
    loop {
        if *a.closed.borrow() {
            return;
        }
        let settings = a.link.settings();
        a.link.set_state(RconnState::Connecting);
        if !quiet {
            tracing::info!("{name}: connecting...");
        }
        let start = Instant::now();
        let ssl = a.ssl.lock().clone();
        let attempt = tokio::time::timeout(
            backoff.max(Duration::from_secs(1)),
            connect(&a.target, settings.dscp, ssl),
        );
        let result = tokio::select! {
            r = attempt => r,
            _ = a.closed.changed() => return,
        };
        // Until this instant a failure doubles the pause; after it, a
        // failure means the session lasted long enough to start over.
        let backoff_deadline;
        match result {
            Ok(Ok(stream)) => {
                backoff_deadline = Some(start + backoff);
                quiet = false;
                tracing::info!("{name}: connected");
                a.link.connected(Instant::now());
                let ctx = (a.make_ctx)(&a.link, a.closed.clone());
                let reason = conn::run(stream, ctx).await;
                let error = match &reason {
                    CloseReason::Closed => None,
                    CloseReason::Eof => {
                        tracing::info!("{name}: connection closed by peer");
                        Some("End of file".to_string())
                    }
                    CloseReason::ProbeTimeout(idle) => {
                        tracing::error!(
                            "{name}: no response to inactivity probe after {} seconds, disconnecting",
                            idle.as_secs()
                        );
                        Some(error_text(&std::io::Error::from_raw_os_error(
                            libc::ETIMEDOUT,
                        )))
                    }
                    CloseReason::Protocol => {
                        tracing::warn!("{name}: connection dropped (Protocol error)");
                        Some("Protocol error".to_string())
                    }
                    CloseReason::Io(e) => {
                        tracing::warn!("{name}: connection dropped ({e})");
                        Some(e.clone())
                    }
                };
                a.link.disconnected(Instant::now(), error);
                if matches!(reason, CloseReason::Closed) || *a.closed.borrow() {
                    return;
                }
            }
            Ok(Err(e)) => {
                backoff_deadline = Some(start + backoff);
                let text = error_text(&e);
                if !quiet {
                    tracing::warn!("{name}: connection failed ({text})");
                }
                a.link.failed(text);
            }
            Err(_) => {
                // Timed out: never a reason to reset the pause.
                backoff_deadline = None;
                if !quiet {
                    tracing::info!("{name}: connection timed out");
                }
                a.link.failed(error_text(&std::io::Error::from_raw_os_error(
                    libc::ETIMEDOUT,
                )));
            }
        }
        let now = Instant::now();
        let max_backoff = a.link.settings().max_backoff;
        if backoff_deadline.is_some_and(|d| now >= d) {
            backoff = Duration::from_secs(1);
        } else if backoff < max_backoff / 2 {
            backoff = (backoff * 2).max(Duration::from_secs(1));
            tracing::info!(
                "{name}: waiting {} seconds before reconnect",
                backoff.as_secs()
            );
        } else {
            if !quiet {
                tracing::info!(
                    "{name}: continuing to retry connections in the background but suppressing further logging"
                );
                quiet = true;
            }
            backoff = max_backoff;
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = a.closed.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let rd = Path::new("/run/x");
        let t = |s: &str| ActiveTarget::parse(s, rd);
        assert_eq!(
            t("tcp:127.0.0.1"),
            Some(ActiveTarget::Tcp("127.0.0.1:6653".parse().unwrap()))
        );
        assert_eq!(
            t("tcp:10.0.0.1:6633"),
            Some(ActiveTarget::Tcp("10.0.0.1:6633".parse().unwrap()))
        );
        assert_eq!(
            t("ssl:[::1]:6654"),
            Some(ActiveTarget::Ssl("[::1]:6654".parse().unwrap()))
        );
        assert_eq!(
            t("ssl:[::1]"),
            Some(ActiveTarget::Ssl("[::1]:6653".parse().unwrap()))
        );
        assert_eq!(
            t("unix:ctl.sock"),
            Some(ActiveTarget::Unix("/run/x/ctl.sock".into()))
        );
        assert_eq!(t("unix:/tmp/c"), Some(ActiveTarget::Unix("/tmp/c".into())));
        for bad in [
            "tcp:",
            "tcp:ctl.example:6653",
            "tcp:1.2.3.4:x",
            "tcp:1.2.3.4:70000",
            "ssl:[::1",
            "unix:",
            "ptcp:6653",
            "bogus",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    fn settings() -> LinkSettings {
        LinkSettings {
            kind: ConnKind::Primary,
            probe: Some(Duration::from_secs(5)),
            max_backoff: Duration::from_secs(8),
            rate: None,
            enable_async: true,
            dscp: 48,
            queue_len: 100,
        }
    }

    #[test]
    fn status_and_admission() {
        let t0 = Instant::now();
        let l = Link::new("tcp:1.2.3.4", settings(), Arc::new(Notify::new()), t0);
        let s = l.status(t0);
        assert!(!s.is_connected);
        assert_eq!(s.role, None);
        assert_eq!(
            s.status.into_iter().collect::<Vec<_>>(),
            vec![("state".to_string(), "VOID".to_string())]
        );
        l.failed("Connection refused".into());
        assert_eq!(l.failure_duration(t0 + Duration::from_secs(3)).as_secs(), 3);
        let t1 = t0 + Duration::from_secs(4);
        l.connected(t1);
        l.attach(Arc::new(AtomicU32::new(2)));
        // Hello, features and echo do not admit; a flow_mod (14) does.
        for ty in [0, 5, 2, 9] {
            assert!(!l.on_message(ty, t1));
        }
        assert!(!l.is_admitted());
        assert_eq!(l.failure_duration(t1 + Duration::from_secs(1)).as_secs(), 5);
        assert!(l.on_message(14, t1));
        assert!(!l.on_message(14, t1), "only once");
        assert!(l.is_admitted());
        assert_eq!(l.failure_duration(t1), Duration::ZERO);
        let s = l.status(t1 + Duration::from_secs(2));
        assert!(s.is_connected);
        assert_eq!(s.role, Some("master"));
        assert_eq!(s.status["state"], "ACTIVE");
        assert_eq!(s.status["sec_since_connect"], "2");
        assert_eq!(s.status["last_error"], "Connection refused");
        l.set_idle(true);
        assert_eq!(l.status(t1).status["state"], "IDLE");
        // Any message makes it ACTIVE again.
        l.on_message(3, t1 + Duration::from_secs(6));
        assert_eq!(l.state(), RconnState::Active);
        let t2 = t1 + Duration::from_secs(10);
        l.disconnected(t2, Some("End of file".into()));
        let s = l.status(t2 + Duration::from_secs(1));
        assert!(!s.is_connected);
        assert_eq!(s.role, None);
        assert_eq!(s.status["state"], "BACKOFF");
        assert_eq!(s.status["last_error"], "End of file");
        assert_eq!(s.status["sec_since_disconnect"], "1");
        assert_eq!(s.status["sec_since_connect"], "11");
        // Failure counts from the last admitted message (t1 + 6 s).
        assert_eq!(l.failure_duration(t2).as_secs(), 4);
        // A session admitted by time alone.
        let t3 = t2 + Duration::from_secs(1);
        l.connected(t3);
        assert!(!l.on_message(2, t3 + Duration::from_secs(29)));
        assert!(l.on_message(2, t3 + Duration::from_secs(30)));
    }

    #[test]
    fn error_texts() {
        let e = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(error_text(&e), "Connection refused");
        let e = std::io::Error::from_raw_os_error(libc::ETIMEDOUT);
        assert_eq!(error_text(&e), "Connection timed out");
        let e = std::io::Error::from_raw_os_error(libc::ENOPROTOOPT);
        assert_eq!(error_text(&e), "Protocol not available");
    }
}
