//! The connection manager proper: per bridge, the management socket, the
//! passive controller targets (listeners) and the active ones (one
//! reconnecting task each), the fail mode and fail-open, kept in step with
//! the configuration (OVS `connmgr_set_controllers`, `ofservice`,
//! `connmgr_set_fail_mode`).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openflow::msg::SUPPORTED_VERSIONS;
use parking_lot::Mutex;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Notify};

use super::conn::{self, BridgeShared, ConnCtx, ConnKind, ConnStats};
use super::fail_open::{FailMode, FlushPlan};
use super::ops::SwitchOps;
use super::rconn::{self, ActiveTarget, ControllerStatus, Link, LinkSettings, SslConnect};

/// Default OpenFlow port (IANA), for `ptcp:` without a port.
pub const OFP_PORT: u16 = 6653;
/// Output queue length of each management/passive connection, in messages.
pub const QUEUE_LEN: usize = 256;
/// Output queue length of an active controller connection without
/// `controller_queue_size` (OVS's default), in messages.
pub const CONTROLLER_QUEUE_LEN: usize = 100;

/// Busy-poll window of every connection after a batch of requests (see
/// [`ConnCtx::busy_poll`]); 200 µs covers a client's turn-around between a
/// reply and its next request.
pub const BUSY_POLL: std::time::Duration = std::time::Duration::from_micros(200);

/// How often each bridge's fail-open state is evaluated.
const FAIL_OPEN_TICK: Duration = Duration::from_millis(250);

/// A passive OpenFlow target.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `punix:PATH` (relative paths are under the run directory).
    Unix(PathBuf),
    /// `ptcp:[PORT][:IP]` (default port 6653, all addresses).
    Tcp(SocketAddr),
}

impl Target {
    /// Parses a passive target (`ptcp:PORT[:IP]`, `punix:PATH`); `None` for
    /// anything else (active `tcp:`/`ssl:`/`unix:` targets are
    /// [`ActiveTarget`]s).
    pub fn parse(s: &str, rundir: &Path) -> Option<Target> {
        if let Some(path) = s.strip_prefix("punix:") {
            if path.is_empty() {
                return None;
            }
            return Some(Target::Unix(rundir.join(path)));
        }
        let rest = s.strip_prefix("ptcp:")?;
        let (port, ip) = match rest.split_once(':') {
            Some((port, ip)) => (port, ip.trim_start_matches('[').trim_end_matches(']')),
            None => (rest, "0.0.0.0"),
        };
        let port = if port.is_empty() {
            OFP_PORT
        } else {
            port.parse().ok()?
        };
        let ip: std::net::IpAddr = ip.parse().ok()?;
        Some(Target::Tcp(SocketAddr::new(ip, port)))
    }
}

/// One Controller row's settings. The numbers are the columns' own
/// (milliseconds, packets per second); [`ControllerConfig::settings`]
/// turns them into what the switch applies, as ovs-vswitchd does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerConfig {
    /// `target`: `tcp:`/`ssl:`/`unix:` (active), `ptcp:`/`punix:` (passive).
    pub target: String,
    /// `type`: `Some(Primary)`/`Some(Service)` overrides the default
    /// (active targets are primary, passive ones service).
    pub kind: Option<ConnKind>,
    /// `inactivity_probe`, ms (0 = no probes; absent = 5 s).
    pub inactivity_probe: Option<i64>,
    /// `max_backoff`, ms (absent = 8 s).
    pub max_backoff: Option<i64>,
    /// `controller_rate_limit`, packet-ins per second (absent = no limit).
    pub rate_limit: Option<i64>,
    /// `controller_burst_limit`, packets (absent = a quarter of the rate).
    pub burst_limit: Option<i64>,
    /// `enable_async_messages` (absent = true).
    pub enable_async_messages: Option<bool>,
    /// `other_config:dscp` when an integer 0..=63 (absent = 48).
    pub dscp: Option<u8>,
    /// `controller_queue_size`, messages (absent = 100, as OVS).
    pub queue_size: Option<i64>,
}

impl From<&str> for ControllerConfig {
    fn from(target: &str) -> ControllerConfig {
        ControllerConfig {
            target: target.to_string(),
            ..ControllerConfig::default()
        }
    }
}

impl ControllerConfig {
    /// What the switch applies to an active target (OVS `bridge.c` and
    /// `ofconn_reconfigure`): the probe interval in whole seconds, at least
    /// 5 s (0 = off, absent = 5 s); the maximum backoff in whole seconds,
    /// at least 1 s (absent = 8 s); packet-in limits as
    /// [`super::pinsched::limits`]; DSCP 48 by default; the output queue
    /// `controller_queue_size` messages (1..=512, absent = 100).
    pub fn settings(&self) -> LinkSettings {
        let probe = match self.inactivity_probe {
            None => Some(Duration::from_secs(5)),
            Some(ms) if ms / 1000 <= 0 => None,
            Some(ms) => Some(Duration::from_secs((ms / 1000).max(5) as u64)),
        };
        let max_backoff = match self.max_backoff {
            None => Duration::from_secs(8),
            Some(ms) => Duration::from_secs((ms / 1000).max(1) as u64),
        };
        LinkSettings {
            kind: self.kind.unwrap_or(ConnKind::Primary),
            probe,
            max_backoff,
            rate: self
                .rate_limit
                .filter(|r| *r > 0)
                .map(|r| super::pinsched::limits(r, self.burst_limit.unwrap_or(0))),
            enable_async: self.enable_async_messages.unwrap_or(true),
            dscp: self.dscp.unwrap_or(48),
            queue_len: self
                .queue_size
                .and_then(|q| usize::try_from(q).ok())
                .map_or(CONTROLLER_QUEUE_LEN, |q| q.clamp(1, 512)),
        }
    }
}

/// The OpenFlow settings of one bridge, from its Bridge and Controller rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfBridgeConfig {
    /// Bridge name.
    pub name: String,
    /// The bridge's Controller rows.
    pub controllers: Vec<ControllerConfig>,
    /// `Bridge.protocols` (`OpenFlow10` … `OpenFlow15`); empty = default.
    pub protocols: Vec<String>,
    /// `Bridge.fail_mode`.
    pub fail_mode: FailMode,
}

/// The version bitmap allowed by `Bridge.protocols`: the named versions we
/// implement (1.0, 1.3, 1.4, 1.5), or all of them when the column is empty
/// or names none we implement (OVS logs and uses its default then).
pub fn protocols_bitmap(protocols: &[String]) -> u32 {
    let mut bitmap = 0u32;
    for p in protocols {
        let v = match p.as_str() {
            "OpenFlow10" => 1,
            "OpenFlow11" => 2,
            "OpenFlow12" => 3,
            "OpenFlow13" => 4,
            "OpenFlow14" => 5,
            "OpenFlow15" => 6,
            _ => continue,
        };
        bitmap |= 1 << v;
    }
    bitmap &= SUPPORTED_VERSIONS;
    if bitmap == 0 {
        SUPPORTED_VERSIONS
    } else {
        bitmap
    }
}

struct Listener {
    kind: ConnKind,
    close: watch::Sender<bool>,
    unix_path: Option<PathBuf>,
    local: Option<SocketAddr>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.close.send(true);
        if let Some(p) = &self.unix_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A running active controller.
struct ActiveCtl {
    link: Arc<Link>,
    /// Dropping it stops the controller's task and closes its session.
    _close: watch::Sender<bool>,
}

struct BridgeState {
    shared: Arc<BridgeShared>,
    versions: Arc<AtomicU32>,
    listeners: HashMap<Target, Listener>,
    /// Active controllers by target text.
    active: HashMap<String, ActiveCtl>,
    /// Whether the bridge had primary controllers at the last reconfigure.
    has_controllers: bool,
    /// The fail mode at the last reconfigure.
    fail_mode: FailMode,
    /// Targets already logged as ignored.
    ignored: BTreeSet<String>,
    /// Dropping it stops the bridge's fail-open task.
    _ticker: watch::Sender<bool>,
}

/// The connection manager of every bridge: owns the listeners; each accepted
/// connection runs as its own task until closed (dropping a listener closes
/// its connections too).
pub struct ConnMgr {
    ops: Arc<dyn SwitchOps>,
    rundir: PathBuf,
    runtime: tokio::runtime::Handle,
    /// Stops the connection thread's runtime when the manager goes away.
    _thread: ConnThread,
    bridges: Mutex<HashMap<String, BridgeState>>,
    stats: Arc<ConnStats>,
    /// TLS client for `ssl:` controllers (`None`: SSL not configured).
    ssl: Arc<Mutex<Option<SslConnect>>>,
    /// Signalled when a controller connects, disconnects or changes role.
    changed: Arc<Notify>,
}

impl std::fmt::Debug for ConnMgr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnMgr")
            .field("rundir", &self.rundir)
            .field("bridges", &self.bridges.lock().len())
            .finish()
    }
}

impl ConnMgr {
    /// A manager serving `ops`, with management sockets under `rundir`.
    /// Listeners and connections run on the manager's own thread (a
    /// single-threaded runtime, like OVS's connmgr in the main loop): a
    /// request is read, applied and answered without waking another thread,
    /// which is most of a round trip's latency on a virtual machine.
    ///
    /// # Errors
    /// The thread or its runtime cannot be created.
    pub fn new(
        ops: Arc<dyn SwitchOps>,
        rundir: impl Into<PathBuf>,
    ) -> std::io::Result<Arc<ConnMgr>> {
        let thread = ConnThread::start()?;
        Ok(Arc::new(ConnMgr {
            ops,
            rundir: rundir.into(),
            runtime: thread.handle.clone(),
            _thread: thread,
            bridges: Mutex::new(HashMap::new()),
            stats: Arc::new(ConnStats::default()),
            ssl: Arc::new(Mutex::new(None)),
            changed: Arc::new(Notify::new()),
        }))
    }

    /// Sets (or with `None` clears) the TLS client used by `ssl:`
    /// controllers from their next connection attempt on (ovs-vswitchd
    /// uses the `SSL` table, else its `--private-key`/`--certificate`/
    /// `--ca-cert` options).
    pub fn set_ssl(&self, ssl: Option<SslConnect>) {
        *self.ssl.lock() = ssl;
    }

    /// Resolves once some active controller connected, disconnected or
    /// changed role since the last call returned (so that
    /// `Controller.is_connected`/`role` are written promptly).
    pub async fn status_changed(&self) {
        self.changed.notified().await
    }

    /// What to write in the Controller rows of `bridge`'s active targets
    /// (OVS `connmgr_get_controller_info`); passive targets, unparsable
    /// ones and unknown bridges have none (the caller clears their columns).
    pub fn controller_status(&self, bridge: &str) -> Vec<ControllerStatus> {
        let now = Instant::now();
        let map = self.bridges.lock();
        let Some(b) = map.get(bridge) else {
            return Vec::new();
        };
        let mut v: Vec<ControllerStatus> = b.active.values().map(|a| a.link.status(now)).collect();
        v.sort_by(|a, b| a.target.cmp(&b.target));
        v
    }

    /// Whether `bridge` is in fail-open mode now.
    pub fn is_fail_open(&self, bridge: &str) -> bool {
        self.bridges
            .lock()
            .get(bridge)
            .is_some_and(|b| b.shared.fail_open.lock().is_active())
    }

    /// Counters summed over every connection so far.
    pub fn stats(&self) -> &ConnStats {
        &self.stats
    }

    /// `<rundir>/<bridge>.mgmt`.
    pub fn mgmt_path(&self, bridge: &str) -> PathBuf {
        self.rundir.join(format!("{bridge}.mgmt"))
    }

    /// Makes the connection manager match `bridges`: every bridge gets its
    /// management socket, a listener per passive controller target and a
    /// reconnecting task per active one (settings of running ones applied
    /// in place); what is no longer configured is closed (listeners with
    /// their connections and socket files). Then the fail mode: a bridge
    /// that gained its first primary controller or lost its last one has
    /// its flows flushed, as has a bridge without controllers whose fail
    /// mode changed, and a standalone bridge without controllers gets
    /// `priority=0 actions=NORMAL` after such a flush (see
    /// [`super::fail_open`]). Bind failures and unsupported targets are
    /// logged once; a failed bind is retried at the next call.
    pub fn reconfigure(&self, bridges: &[OfBridgeConfig]) {
        let mut map = self.bridges.lock();
        map.retain(|name, _| {
            let keep = bridges.iter().any(|b| &b.name == name);
            if !keep {
                tracing::info!("{name}: closing OpenFlow listeners and controller connections");
            }
            keep
        });
        for b in bridges {
            let new_bridge = !map.contains_key(&b.name);
            let state = map
                .entry(b.name.clone())
                .or_insert_with(|| self.new_bridge_state(&b.name));
            state
                .versions
                .store(protocols_bitmap(&b.protocols), Ordering::Release);

            // Passive targets (plus the management socket) and active ones.
            let mut want: HashMap<Target, ConnKind> = HashMap::new();
            want.insert(Target::Unix(self.mgmt_path(&b.name)), ConnKind::Service);
            let mut want_active: HashMap<&str, (ActiveTarget, &ControllerConfig)> = HashMap::new();
            let mut passive_primary = false;
            for c in &b.controllers {
                if let Some(t) = Target::parse(&c.target, &self.rundir) {
                    let kind = c.kind.unwrap_or(ConnKind::Service);
                    passive_primary |= kind == ConnKind::Primary;
                    want.insert(t, kind);
                } else if let Some(t) = ActiveTarget::parse(&c.target, &self.rundir) {
                    want_active.insert(c.target.as_str(), (t, c));
                } else if state.ignored.insert(c.target.clone()) {
                    tracing::warn!("{}: unsupported controller \"{}\"", b.name, c.target);
                }
            }
            state.listeners.retain(|t, l| want.get(t) == Some(&l.kind));
            for (t, kind) in want {
                if state.listeners.contains_key(&t) {
                    continue;
                }
                match self.listen(&b.name, &t, kind, state) {
                    Ok(l) => {
                        state.listeners.insert(t, l);
                    }
                    Err(e) => tracing::warn!("{}: cannot listen on {t:?}: {e}", b.name),
                }
            }
            // Removed controllers go first (OVS `connmgr_set_controllers`).
            state.active.retain(|target, a| {
                let keep = want_active.contains_key(target.as_str());
                if !keep {
                    let kind = if a.link.is_primary() {
                        "primary"
                    } else {
                        "service"
                    };
                    tracing::info!("{}: removed {kind} controller \"{target}\"", b.name);
                }
                keep
            });
            // The fail mode first, so that a flush never hits the flows of a
            // controller that connects right away.
            let has = passive_primary
                || want_active
                    .values()
                    .any(|(_, c)| c.settings().kind == ConnKind::Primary);
            // A new bridge's tables hold the NORMAL flow: as if it had been
            // standalone without controllers.
            let (had, old) = if new_bridge {
                (false, FailMode::Standalone)
            } else {
                (state.has_controllers, state.fail_mode)
            };
            let plan = FlushPlan::new(had, old, has, b.fail_mode);
            let ops = &*self.ops;
            state.shared.fail_open.lock().set_enabled(
                has && old == FailMode::Standalone,
                ops,
                &b.name,
            );
            if let Some(normal) = plan.controllers {
                tracing::info!(
                    "{}: {} controllers: flushing flows",
                    b.name,
                    if has { "first" } else { "no more" }
                );
                ops.flush_flows(&b.name, normal);
            }
            state.shared.fail_open.lock().set_enabled(
                has && b.fail_mode == FailMode::Standalone,
                ops,
                &b.name,
            );
            if let Some(normal) = plan.fail_mode {
                if !new_bridge {
                    tracing::info!("{}: fail mode changed: flushing flows", b.name);
                }
                ops.flush_flows(&b.name, normal);
            }

            for (text, (target, c)) in want_active {
                let settings = c.settings();
                match state.active.get(text) {
                    Some(a) => {
                        if a.link.settings() != settings {
                            a.link.set_settings(settings);
                        }
                    }
                    None => {
                        let a = self.start_active(&b.name, text, target, settings, state);
                        state.active.insert(text.to_string(), a);
                    }
                }
            }
            *state.shared.primaries.lock() = state
                .active
                .values()
                .filter(|a| a.link.is_primary())
                .map(|a| a.link.clone())
                .collect();
            state.has_controllers = has;
            state.fail_mode = b.fail_mode;
        }
    }

    /// A bridge's state, with its fail-open task running.
    fn new_bridge_state(&self, bridge: &str) -> BridgeState {
        let shared = Arc::new(BridgeShared::default());
        let (ticker, mut stop) = watch::channel(false);
        let (ops, name, sh) = (self.ops.clone(), bridge.to_string(), shared.clone());
        self.runtime.spawn(async move {
            let mut tick = tokio::time::interval(FAIL_OPEN_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => sh.fail_open_run(&*ops, &name, Instant::now()),
                    _ = stop.changed() => return,
                }
            }
        });
        BridgeState {
            shared,
            versions: Arc::new(AtomicU32::new(SUPPORTED_VERSIONS)),
            listeners: HashMap::new(),
            active: HashMap::new(),
            has_controllers: false,
            fail_mode: FailMode::Standalone,
            ignored: BTreeSet::new(),
            _ticker: ticker,
        }
    }

    /// Starts the reconnecting task of active controller `text`.
    fn start_active(
        &self,
        bridge: &str,
        text: &str,
        target: ActiveTarget,
        settings: LinkSettings,
        state: &BridgeState,
    ) -> ActiveCtl {
        let kind = if settings.kind == ConnKind::Primary {
            "primary"
        } else {
            "service"
        };
        tracing::info!("{bridge}: added {kind} controller \"{text}\"");
        let link = Link::new(text, settings, self.changed.clone(), Instant::now());
        let (close, closed) = watch::channel(false);
        let (ops, versions, shared, stats, name) = (
            self.ops.clone(),
            state.versions.clone(),
            state.shared.clone(),
            self.stats.clone(),
            bridge.to_string(),
        );
        let make_ctx = Box::new(move |link: &Arc<Link>, closed: watch::Receiver<bool>| {
            let s = link.settings();
            ConnCtx {
                bridge: name.clone(),
                ops: ops.clone(),
                allowed_versions: versions.load(Ordering::Acquire),
                kind: s.kind,
                shared: shared.clone(),
                closed,
                queue_len: s.queue_len,
                stats: stats.clone(),
                busy_poll: BUSY_POLL,
                enable_async: s.enable_async,
                link: Some(link.clone()),
            }
        });
        self.runtime.spawn(rconn::run_active(rconn::Active {
            bridge: bridge.to_string(),
            target,
            link: link.clone(),
            ssl: self.ssl.clone(),
            closed,
            make_ctx,
        }));
        ActiveCtl {
            link,
            _close: close,
        }
    }

    fn listen(
        &self,
        bridge: &str,
        target: &Target,
        kind: ConnKind,
        state: &BridgeState,
    ) -> std::io::Result<Listener> {
        let _guard = self.runtime.enter();
        let (close, closed) = watch::channel(false);
        let spawner = Spawner {
            bridge: bridge.to_string(),
            ops: self.ops.clone(),
            versions: state.versions.clone(),
            shared: state.shared.clone(),
            kind,
            closed: closed.clone(),
            stats: self.stats.clone(),
        };
        let mut stop = closed;
        match target {
            Target::Unix(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                // A stale socket from an earlier run would make bind fail.
                let _ = std::fs::remove_file(path);
                let listener = UnixListener::bind(path)?;
                tracing::info!(
                    "{bridge}: listening for OpenFlow on punix:{}",
                    path.display()
                );
                self.runtime.spawn(async move {
                    loop {
                        tokio::select! {
                            r = listener.accept() => match r {
                                Ok((s, _)) => spawner.spawn(s),
                                Err(e) => {
                                    tracing::warn!("accept: {e}");
                                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                                }
                            },
                            _ = stop.changed() => return,
                        }
                    }
                });
                Ok(Listener {
                    kind,
                    close,
                    unix_path: Some(path.clone()),
                    local: None,
                })
            }
            Target::Tcp(addr) => {
                let std_listener = std::net::TcpListener::bind(addr)?;
                std_listener.set_nonblocking(true)?;
                let listener = TcpListener::from_std(std_listener)?;
                let local = listener.local_addr()?;
                tracing::info!("{bridge}: listening for OpenFlow on ptcp:{local}");
                self.runtime.spawn(async move {
                    loop {
                        tokio::select! {
                            r = listener.accept() => match r {
                                Ok((s, _)) => {
                                    let _ = s.set_nodelay(true);
                                    spawner.spawn(s);
                                }
                                Err(e) => {
                                    tracing::warn!("accept: {e}");
                                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                                }
                            },
                            _ = stop.changed() => return,
                        }
                    }
                });
                Ok(Listener {
                    kind,
                    close,
                    unix_path: None,
                    local: Some(local),
                })
            }
        }
    }

    /// The addresses a bridge's TCP listeners are bound to (the real port
    /// for `ptcp:0`).
    pub fn tcp_addrs(&self, bridge: &str) -> Vec<SocketAddr> {
        self.bridges
            .lock()
            .get(bridge)
            .map(|b| b.listeners.values().filter_map(|l| l.local).collect())
            .unwrap_or_default()
    }
}

impl Drop for ConnMgr {
    fn drop(&mut self) {
        self.bridges.lock().clear();
    }
}

/// A current-thread tokio runtime on its own OS thread (`ofconn`), running
/// until dropped.
struct ConnThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ConnThread {
    fn start() -> std::io::Result<ConnThread> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("ofconn".into())
            .spawn(move || {
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(ConnThread {
            handle,
            stop: Some(stop),
        })
    }
}

impl Drop for ConnThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct Spawner {
    bridge: String,
    ops: Arc<dyn SwitchOps>,
    versions: Arc<AtomicU32>,
    shared: Arc<BridgeShared>,
    kind: ConnKind,
    closed: watch::Receiver<bool>,
    stats: Arc<ConnStats>,
}

impl Spawner {
    fn spawn<S>(&self, stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        let ctx = ConnCtx {
            bridge: self.bridge.clone(),
            ops: self.ops.clone(),
            allowed_versions: self.versions.load(Ordering::Acquire),
            kind: self.kind,
            shared: self.shared.clone(),
            closed: self.closed.clone(),
            queue_len: QUEUE_LEN,
            stats: self.stats.clone(),
            busy_poll: BUSY_POLL,
            enable_async: true,
            link: None,
        };
        tokio::spawn(conn::run(stream, ctx));
    }
}
