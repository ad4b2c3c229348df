//! Listeners: the per-bridge management socket and passive controller
//! targets, kept in step with the configuration (OVS `connmgr_set_controllers`
//! and `ofservice`).

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use openflow::msg::SUPPORTED_VERSIONS;
use parking_lot::Mutex;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;

use super::conn::{self, BridgeShared, ConnCtx, ConnKind, ConnStats};
use super::ops::SwitchOps;

/// Default OpenFlow port (IANA), for `ptcp:` without a port.
pub const OFP_PORT: u16 = 6653;
/// Output queue length of each connection, in messages.
pub const QUEUE_LEN: usize = 256;

/// Busy-poll window of every connection after a batch of requests (see
/// [`ConnCtx::busy_poll`]); 200 µs covers a client's turn-around between a
/// reply and its next request.
pub const BUSY_POLL: std::time::Duration = std::time::Duration::from_micros(200);

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
    /// anything else (active `tcp:`/`ssl:`/`unix:` targets included).
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

/// The OpenFlow settings of one bridge, from its Bridge and Controller rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfBridgeConfig {
    /// Bridge name.
    pub name: String,
    /// `Controller.target` of each controller (only passive ones are used).
    pub controllers: Vec<String>,
    /// `Bridge.protocols` (`OpenFlow10` … `OpenFlow15`); empty = default.
    pub protocols: Vec<String>,
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

struct BridgeState {
    shared: Arc<BridgeShared>,
    versions: Arc<AtomicU32>,
    listeners: HashMap<Target, Listener>,
    /// Targets already logged as ignored.
    ignored: BTreeSet<String>,
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
        }))
    }

    /// Counters summed over every connection so far.
    pub fn stats(&self) -> &ConnStats {
        &self.stats
    }

    /// `<rundir>/<bridge>.mgmt`.
    pub fn mgmt_path(&self, bridge: &str) -> PathBuf {
        self.rundir.join(format!("{bridge}.mgmt"))
    }

    /// Makes the listeners match `bridges`: every bridge gets its management
    /// socket and its passive controller targets; listeners of removed
    /// bridges or targets are closed (with their connections, and their
    /// socket files removed). Active targets are logged and ignored.
    /// Bind failures are logged; the target is retried at the next call.
    pub fn reconfigure(&self, bridges: &[OfBridgeConfig]) {
        let mut map = self.bridges.lock();
        map.retain(|name, _| {
            let keep = bridges.iter().any(|b| &b.name == name);
            if !keep {
                tracing::info!("{name}: closing OpenFlow listeners");
            }
            keep
        });
        for b in bridges {
            let state = map.entry(b.name.clone()).or_insert_with(|| BridgeState {
                shared: Arc::new(BridgeShared::default()),
                versions: Arc::new(AtomicU32::new(SUPPORTED_VERSIONS)),
                listeners: HashMap::new(),
                ignored: BTreeSet::new(),
            });
            state
                .versions
                .store(protocols_bitmap(&b.protocols), Ordering::Release);
            let mut want: BTreeSet<Target> = BTreeSet::new();
            want.insert(Target::Unix(self.mgmt_path(&b.name)));
            for c in &b.controllers {
                match Target::parse(c, &self.rundir) {
                    Some(t) => {
                        want.insert(t);
                    }
                    None => {
                        if state.ignored.insert(c.clone()) {
                            tracing::info!(
                                "{}: controller target {c} not supported (only ptcp: and punix:), ignored",
                                b.name
                            );
                        }
                    }
                }
            }
            state.listeners.retain(|t, _| want.contains(t));
            for t in want {
                if state.listeners.contains_key(&t) {
                    continue;
                }
                // Passive targets are service connections (OVS `ofservice`).
                match self.listen(&b.name, &t, ConnKind::Service, state) {
                    Ok(l) => {
                        state.listeners.insert(t, l);
                    }
                    Err(e) => tracing::warn!("{}: cannot listen on {t:?}: {e}", b.name),
                }
            }
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
        };
        tokio::spawn(conn::run(stream, ctx));
    }
}
