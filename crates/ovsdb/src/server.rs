//! The OVSDB server: JSON-RPC (RFC 7047 §4) over unix sockets, TCP and
//! in-process streams, serving one database plus ovsdb-server's `_Server`.
//!
//! Idea: all shared state — the database, the journal, the `_Server`
//! database, every session's monitors and the lock table — lives behind one
//! mutex. Each connection has a reader task that handles requests one at a
//! time under that mutex, and a writer task fed by an unbounded channel. A
//! commit pushes its monitor notifications into every session's channel
//! before the committing session's reply is pushed into its own, so a client
//! sees the notification for its own transaction first (as ovsdb-server
//! does). The journal record is appended and fsynced before any of these
//! messages is queued. Performance assumption: configuration traffic (tens of
//! transactions per second); the mutex is never held across an await.
//! Remotes (see [`crate::remote`]): each listener or active connection is a
//! task owning its sessions (a `JoinSet`), so dropping its [`RemoteHandle`]
//! closes the listener and every session it accepted, as ovsdb-server does
//! when a remote is removed. Sessions run the remote's inactivity probe
//! (5 s by default on TCP and SSL, none on unix and in-process streams):
//! after a probe interval without any message an `echo` request is sent,
//! and after a second silent interval the session is dropped. A session's
//! shared state is removed by a drop guard, so an aborted session leaves
//! nothing behind (locks are released, blocked transactions dropped).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use crate::client::Client;
use crate::db::{Changes, Database};
use crate::journal::Journal;
use crate::jsonrpc::{error_reply, notification, reply, write_message, MessageReader};
use crate::monitor::{Monitor, MonitorVersion};
use crate::remote::{
    bind_tcp, connect_stream, io_reason, Remote, RemoteOptions, RemoteStatus,
    DEFAULT_PROBE_INTERVAL, HANDSHAKE_TIMEOUT, MIN_BACKOFF,
};
use crate::schema::DatabaseSchema;
use crate::tls::TlsConfig;
use crate::Error;

/// Inactivity probe interval for TCP sessions (ovsdb-server's default, 5 s).
pub const PROBE_INTERVAL: Duration = DEFAULT_PROBE_INTERVAL;

/// Default of [`Server::set_max_backlog`]: most messages queued for one
/// session before it is disconnected (a client that stopped reading while
/// others commit must not grow the server's memory without bound).
pub const MAX_BACKLOG: usize = 50_000;

struct Session {
    tx: mpsc::UnboundedSender<Value>,
    /// Messages queued and not yet written.
    backlog: Arc<std::sync::atomic::AtomicUsize>,
    /// Closes the session (backlog overflow).
    kill: Arc<tokio::sync::Notify>,
    monitors: Vec<Monitor>,
}

impl Session {
    /// Queues `v`; when `max` messages are already queued, disconnects the
    /// session instead.
    fn push(&self, sid: u64, v: Value, max: usize) {
        use std::sync::atomic::Ordering;
        let n = self.backlog.fetch_add(1, Ordering::Relaxed);
        if n == max {
            tracing::warn!("session {sid}: {n} messages backlogged, disconnecting");
            self.kill.notify_one();
        }
        if n < max {
            let _ = self.tx.send(v);
        }
    }
}

struct State {
    db: Database,
    journal: Option<Journal>,
    server_db: Database,
    sessions: HashMap<u64, Session>,
    next_session: u64,
    /// Lock name → owner first, then waiters.
    locks: HashMap<String, VecDeque<u64>>,
    /// Transactions blocked in a `wait` operation (ovsdb-server's
    /// triggers), retried after every commit, in arrival order.
    triggers: Vec<Trigger>,
    /// A commit happened since the triggers were last retried.
    committed: bool,
    /// See [`Server::set_max_backlog`].
    max_backlog: usize,
}

/// A `transact` whose `wait` operation is not yet satisfied and whose
/// `timeout` (ms, absent = forever) has not passed (RFC 7047 §5.2.6).
struct Trigger {
    sid: u64,
    id: Value,
    ops: Vec<Value>,
    started: tokio::time::Instant,
}

struct Inner {
    state: Mutex<State>,
    server_id: Uuid,
    /// Keys and certificates for `pssl:`/`ssl:` remotes.
    tls: Mutex<Option<TlsConfig>>,
    /// Signalled when any remote's connection state changes.
    events: Arc<tokio::sync::Notify>,
}

/// An OVSDB server for one database. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

fn build_server_db(db: &Database) -> Database {
    let mut sdb = Database::new(DatabaseSchema::server_schema());
    let schema_text = |s: &DatabaseSchema| s.to_json().to_string();
    let sschema = sdb.schema.clone();
    let ops = vec![
        json!({"op":"insert","table":"Database","row":{
            "name": db.name(), "model": "standalone", "connected": true, "leader": true,
            "schema": schema_text(&db.schema)}}),
        json!({"op":"insert","table":"Database","row":{
            "name": "_Server", "model": "standalone", "connected": true, "leader": true,
            "schema": schema_text(&sschema)}}),
    ];
    let r = sdb.transact(&ops);
    if !r.is_ok() {
        tracing::error!("building _Server database failed: {}", r.results);
    }
    sdb
}

impl Server {
    /// A server for `db`, persisting commits to `journal` when given
    /// (`None` = in-memory only).
    pub fn new(db: Database, journal: Option<Journal>) -> Server {
        let server_db = build_server_db(&db);
        Server {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    db,
                    journal,
                    server_db,
                    sessions: HashMap::new(),
                    next_session: 1,
                    locks: HashMap::new(),
                    triggers: Vec::new(),
                    committed: false,
                    max_backlog: MAX_BACKLOG,
                }),
                server_id: Uuid::new_v4(),
                tls: Mutex::new(None),
                events: Arc::new(tokio::sync::Notify::new()),
            }),
        }
    }

    /// Sets how many messages may wait for a slow session before it is
    /// disconnected (default [`MAX_BACKLOG`]).
    pub fn set_max_backlog(&self, max: usize) {
        self.inner.state.lock().max_backlog = max.max(1);
    }

    /// A copy of the current database (cheap: rows are shared).
    pub fn snapshot(&self) -> Database {
        self.inner.state.lock().db.clone()
    }

    /// Run a transaction directly (no session, no locks held), notifying
    /// monitors and journaling like a client `transact`.
    pub fn transact(&self, ops: &[Value]) -> Value {
        let mut st = self.inner.state.lock();
        let r = st.transact(0, ops);
        st.run_triggers();
        r
    }

    /// Compact the journal now (no-op without a journal).
    pub fn compact(&self) -> Result<(), Error> {
        let mut st = self.inner.state.lock();
        let State { db, journal, .. } = &mut *st;
        match journal {
            Some(j) => j.compact(db),
            None => Ok(()),
        }
    }

    /// Sets (or with `None` clears) the keys and certificates used by
    /// `pssl:` listeners for connections accepted from now on and by `ssl:`
    /// remotes for their next connection attempt (ovsdb-server's
    /// `--private-key`/`--certificate`/`--ca-cert`, or the `SSL` table).
    pub fn set_tls(&self, tls: Option<TlsConfig>) {
        *self.inner.tls.lock() = tls;
    }

    /// The TLS configuration in use, if any.
    pub fn tls(&self) -> Option<TlsConfig> {
        self.inner.tls.lock().clone()
    }

    /// Resolves once some remote's connection state changed (a session
    /// opened or closed, an active remote failed to connect) since the last
    /// call returned. Used to write `Manager.is_connected` promptly.
    pub async fn remote_changed(&self) {
        self.inner.events.notified().await
    }

    /// Starts serving `remote` (listening, or connecting out with reconnects
    /// and backoff) with `options`. Must be called inside a tokio runtime.
    /// The remote runs until the returned handle is dropped, which closes
    /// the listener (removing a `punix:` socket file) and every session of
    /// the remote. Errors: `Error::Io` when binding fails (address in use,
    /// bad path), `Error::Tls` for `pssl:` without [`Server::set_tls`]
    /// (active `ssl:` remotes instead retry until it is set).
    pub fn add_remote(
        &self,
        remote: &Remote,
        options: RemoteOptions,
    ) -> Result<RemoteHandle, Error> {
        let shared = Arc::new(RemoteShared {
            remote: remote.clone(),
            options: Mutex::new(options),
            conn: Mutex::new(ConnInfo::default()),
            events: self.inner.events.clone(),
            rebind: tokio::sync::Notify::new(),
        });
        let me = self.clone();
        let (task, local_addr) = match remote {
            Remote::PUnix(path) => {
                let l = bind_unix(path)?;
                let sh = shared.clone();
                let task =
                    tokio::spawn(async move { me.run_listener(Listener::Unix(l), sh).await });
                (task, None)
            }
            Remote::PTcp { .. } | Remote::PSsl { .. } => {
                if remote.is_ssl() && self.tls().is_none() {
                    return Err(Error::Tls(
                        "private key, certificate and CA certificate must be configured to use SSL"
                            .into(),
                    ));
                }
                let addr = remote.socket_addr().unwrap_or_default();
                let addr: std::net::SocketAddr = addr
                    .parse()
                    .map_err(|_| Error::BadRemote(remote.to_string()))?;
                let l = bind_tcp(addr, options.dscp)?;
                let local = l.local_addr()?;
                shared.conn.lock().bound_port = Some(local.port());
                let sh = shared.clone();
                let task = tokio::spawn(async move { me.run_listener(Listener::Tcp(l), sh).await });
                (task, Some(local))
            }
            Remote::Unix(_) | Remote::Tcp { .. } | Remote::Ssl { .. } => {
                shared.conn.lock().state = Some("BACKOFF");
                let sh = shared.clone();
                (tokio::spawn(async move { me.run_active(sh).await }), None)
            }
        };
        Ok(RemoteHandle {
            server: self.clone(),
            shared,
            task,
            local_addr,
        })
    }

    /// Listen on a unix socket (`punix:PATH`); a stale socket file is
    /// replaced. Returns the accept loop's task (aborting it closes the
    /// listener and its sessions; the socket file stays).
    pub fn listen_unix(&self, path: impl AsRef<Path>) -> Result<JoinHandle<()>, Error> {
        let path = path.as_ref();
        let l = bind_unix(path)?;
        let remote = Remote::PUnix(path.to_path_buf());
        let shared = self.detached_shared(&remote);
        let me = self.clone();
        Ok(tokio::spawn(async move {
            me.run_listener(Listener::Unix(l), shared).await
        }))
    }

    /// Listen on TCP (`ptcp:PORT[:IP]`, given here as `IP:PORT`) with the
    /// default 5 s inactivity probe. Returns the bound address (useful with
    /// port 0) and the accept loop's task (aborting it closes the listener
    /// and its sessions).
    pub async fn listen_tcp(
        &self,
        addr: &str,
    ) -> Result<(std::net::SocketAddr, JoinHandle<()>), Error> {
        let l = tokio::net::TcpListener::bind(addr).await?;
        let local = l.local_addr()?;
        let remote = Remote::PTcp {
            ip: local.ip().to_string(),
            port: local.port(),
        };
        let shared = self.detached_shared(&remote);
        let me = self.clone();
        Ok((
            local,
            tokio::spawn(async move { me.run_listener(Listener::Tcp(l), shared).await }),
        ))
    }

    fn detached_shared(&self, remote: &Remote) -> Arc<RemoteShared> {
        Arc::new(RemoteShared {
            remote: remote.clone(),
            options: Mutex::new(remote.default_options()),
            conn: Mutex::new(ConnInfo::default()),
            events: Arc::new(tokio::sync::Notify::new()),
            rebind: tokio::sync::Notify::new(),
        })
    }

    async fn run_listener(self, mut l: Listener, shared: Arc<RemoteShared>) {
        let mut sessions = JoinSet::new();
        let name = shared.remote.to_string();
        let mut dscp = shared.options.lock().dscp;
        let addr = match &l {
            Listener::Tcp(t) => t.local_addr().ok(),
            _ => None,
        };
        let mut retry = false;
        loop {
            tokio::select! {
                () = shared.rebind.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)), if retry => {}
                r = l.accept() => match r {
                    Ok(Accepted::Unix(s)) => {
                        let me = self.clone();
                        let sh = shared.clone();
                        sessions.spawn(async move {
                            me.serve(s, Some(sh)).await;
                        });
                        continue;
                    }
                    Ok(Accepted::Tcp(s, peer)) => {
                        self.accepted_tcp(s, peer, &shared, &mut sessions);
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!("{name}: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
            }
            // DSCP changed, or a reopen to retry.
            let want = shared.options.lock().dscp;
            let Some(addr) = addr else {
                retry = false;
                continue;
            };
            if want == dscp && matches!(l, Listener::Tcp(_)) {
                retry = false;
                continue;
            }
            match l.rebind(addr, want) {
                Ok(()) => {
                    tracing::info!("{name}: listening with dscp {want}");
                    dscp = want;
                    retry = false;
                }
                Err(e) => {
                    tracing::warn!("{name}: reopening with dscp {want} failed: {e}");
                    retry = true;
                }
            }
        }
    }

    /// Serves a TCP connection accepted on `shared`'s listener (after the
    /// TLS handshake for `pssl:`).
    fn accepted_tcp(
        &self,
        s: tokio::net::TcpStream,
        peer: std::net::SocketAddr,
        shared: &Arc<RemoteShared>,
        sessions: &mut JoinSet<()>,
    ) {
        let name = shared.remote.to_string();
        let _ = s.set_nodelay(true);
        let me = self.clone();
        let sh = shared.clone();
        if !shared.remote.is_ssl() {
            sessions.spawn(async move {
                me.serve(s, Some(sh)).await;
            });
            return;
        }
        let Some(tls) = self.tls() else {
            tracing::warn!("{name}: {peer}: no SSL configuration, closing");
            return;
        };
        sessions.spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor().accept(s)).await {
                Ok(Ok(ts)) => {
                    me.serve(ts, Some(sh)).await;
                }
                Ok(Err(e)) => tracing::warn!("{name}: {peer}: SSL handshake failed: {e}"),
                Err(_) => tracing::warn!("{name}: {peer}: SSL handshake timed out"),
            }
        });
    }

    /// An active remote: connect, serve the session until it ends, wait
    /// the backoff, again (Open vSwitch's reconnect FSM: the backoff starts
    /// at 1 s, doubles after each failure up to `max_backoff`, and is reset
    /// to 1 s after a connection that lasted at least the backoff).
    async fn run_active(self, shared: Arc<RemoteShared>) {
        let mut backoff = Duration::ZERO;
        let name = shared.remote.to_string();
        let mut logged: Option<String> = None;
        loop {
            shared.set_state("CONNECTING");
            let (max, dscp) = {
                let o = shared.options.lock();
                (o.max_backoff.max(MIN_BACKOFF), o.dscp)
            };
            let tls = self.tls();
            match connect_stream(&shared.remote, tls.as_ref(), dscp).await {
                Ok(stream) => {
                    tracing::info!("{name}: connected");
                    logged = None;
                    let start = tokio::time::Instant::now();
                    let end = self.serve(stream, Some(shared.clone())).await;
                    tracing::info!(
                        "{name}: connection closed ({})",
                        end.as_deref().unwrap_or("no reason")
                    );
                    if end.is_some() {
                        shared.conn.lock().last_error = end;
                    }
                    backoff = if start.elapsed() >= backoff {
                        MIN_BACKOFF
                    } else {
                        next_backoff(backoff, max)
                    };
                }
                Err(e) => {
                    // Not a `last_error` (ovsdb-server reports only errors of
                    // established sessions there); logged once per reason.
                    let reason = match &e {
                        Error::ConnectionFailed(r) => r.clone(),
                        Error::Io(io) => io_reason(io),
                        other => other.to_string(),
                    };
                    if logged.as_deref() != Some(reason.as_str()) {
                        tracing::warn!("{name}: connection attempt failed ({reason})");
                        logged = Some(reason);
                    }
                    backoff = next_backoff(backoff, max);
                }
            }
            shared.set_state("BACKOFF");
            tokio::time::sleep(backoff).await;
        }
    }

    /// Serve one connection until it closes (no inactivity probe).
    pub async fn serve_stream<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.serve(stream, None).await;
    }

    /// An in-process client connected through a `tokio::io::duplex` pipe.
    pub fn connect_local(&self) -> Client {
        let (a, b) = tokio::io::duplex(1 << 16);
        let me = self.clone();
        tokio::spawn(async move {
            me.serve(a, None).await;
        });
        Client::from_stream(b)
    }

    /// Serves a session until it ends; returns why it ended when that is
    /// an error ovsdb-server would report as `last_error` (`End of file`,
    /// an I/O error's text, `Protocol error`).
    async fn serve<S>(&self, stream: S, remote: Option<Arc<RemoteShared>>) -> Option<String>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, mut wr) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
        let backlog = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let kill = Arc::new(tokio::sync::Notify::new());
        let sid = {
            let mut st = self.inner.state.lock();
            let sid = st.next_session;
            st.next_session += 1;
            st.sessions.insert(
                sid,
                Session {
                    tx: tx.clone(),
                    backlog: backlog.clone(),
                    kill: kill.clone(),
                    monitors: Vec::new(),
                },
            );
            sid
        };
        let written = backlog.clone();
        let writer = tokio::spawn(async move {
            while let Some(v) = rx.recv().await {
                written.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                if let Err(e) = write_message(&mut wr, &v).await {
                    tracing::debug!("session write failed: {e}");
                    break;
                }
            }
        });
        if let Some(r) = &remote {
            r.session_up(sid);
        }
        let mut guard = SessionGuard {
            server: self.clone(),
            sid,
            remote: remote.clone(),
            writer: Some(writer),
        };
        let mut reader = MessageReader::new(rd);
        let mut probe_sent = false;
        let queue = |v: Value| {
            backlog.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = tx.send(v);
        };
        let mut killed = false;
        let mut end = None;
        loop {
            let probe = remote
                .as_ref()
                .and_then(|r| r.options.lock().probe_interval);
            let next = tokio::select! {
                () = kill.notified() => {
                    killed = true;
                    break;
                }
                r = async {
                    match probe {
                        Some(p) => tokio::time::timeout(p, reader.next()).await.ok(),
                        None => Some(reader.next().await),
                    }
                } => r,
            };
            let Some(next) = next else {
                // A probe interval without a message.
                if probe_sent {
                    tracing::info!("session {sid}: no response to inactivity probe, disconnecting");
                    break;
                }
                probe_sent = true;
                if let Some(r) = &remote {
                    r.set_idle(sid, true);
                }
                queue(json!({"id":"echo","method":"echo","params":[]}));
                continue;
            };
            if probe_sent {
                probe_sent = false;
                if let Some(r) = &remote {
                    r.set_idle(sid, false);
                }
            }
            match next {
                Ok(Some(msg)) => {
                    if let Some(out) = self.handle(sid, &msg) {
                        queue(out);
                    }
                }
                Ok(None) => {
                    end = Some("End of file".to_string());
                    break;
                }
                Err(e) => {
                    end = Some(match &e {
                        Error::Io(io) => io_reason(io),
                        _ => "Protocol error".to_string(),
                    });
                    tracing::info!("session {sid}: protocol error: {e}");
                    queue(error_reply(
                        &Value::Null,
                        json!({"error":"syntax error","details":e.to_string()}),
                    ));
                    break;
                }
            }
        }
        let writer = guard.writer.take();
        drop(guard);
        drop(tx);
        if let Some(writer) = writer {
            if killed {
                // The peer stopped reading: do not wait to flush its backlog.
                writer.abort();
            } else {
                let _ = writer.await;
            }
        }
        end
    }

    /// Handle one incoming message; returns the reply to send (after any
    /// notifications the handling queued).
    fn handle(&self, sid: u64, msg: &Value) -> Option<Value> {
        let Some(o) = msg.as_object() else {
            return Some(error_reply(
                &Value::Null,
                json!({"error":"syntax error","details":"message is not a JSON object"}),
            ));
        };
        let id = o.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = o.get("method").and_then(Value::as_str) else {
            // A reply (e.g. to our echo probe): nothing to do.
            return None;
        };
        let params = o.get("params").cloned().unwrap_or(json!([]));
        let empty = Vec::new();
        let p = params.as_array().unwrap_or(&empty);
        if id.is_null() {
            // Notifications: "cancel" of a blocked transaction (RFC 7047
            // §4.1.4); anything else is ignored.
            if method == "cancel" {
                if let Some(target) = p.first() {
                    let mut st = self.inner.state.lock();
                    if let Some(i) = st
                        .triggers
                        .iter()
                        .position(|t| t.sid == sid && &t.id == target)
                    {
                        let t = st.triggers.remove(i);
                        st.send(sid, error_reply(&t.id, json!({"error":"canceled"})));
                    }
                }
            }
            return None;
        }
        let mut st = self.inner.state.lock();
        let mut after = None;
        let r: Result<Value, Value> = match method {
            "echo" => Ok(params.clone()),
            "list_dbs" => Ok(json!([st.db.name(), "_Server"])),
            "get_server_id" => Ok(json!(self.inner.server_id.to_string())),
            "set_db_change_aware" => Ok(json!({})),
            "get_schema" => {
                let name = p.first().and_then(Value::as_str).unwrap_or("");
                match st.db_by_name(name) {
                    Some(db) => Ok(db.schema.to_json()),
                    None => Err(json!({"error":"unknown database",
                        "details": format!("get_schema request specifies unknown database {name}"),
                        "syntax": params.to_string()})),
                }
            }
            "transact" => {
                let name = p.first().and_then(Value::as_str).unwrap_or("");
                if name == "_Server" {
                    let ro = p[1..].iter().all(|op| {
                        matches!(
                            op.get("op").and_then(Value::as_str),
                            Some("select" | "wait" | "comment" | "assert" | "commit" | "abort")
                        )
                    });
                    if ro {
                        let locks = |l: &str| st.lock_owner(l) == Some(sid);
                        let ops = p[1..].to_vec();
                        let mut sdb = st.server_db.clone();
                        Ok(sdb.transact_with_locks(&ops, &locks).results)
                    } else {
                        Err(
                            json!({"error":"not allowed","details":"_Server database is read-only"}),
                        )
                    }
                } else if name != st.db.name() {
                    Err(json!({"error":"unknown database",
                        "details": format!("transact request specifies unknown database {name}"),
                        "syntax": params.to_string()}))
                } else {
                    let results = st.transact(sid, &p[1..]);
                    match blocking_wait(&p[1..], &results) {
                        Some(timeout) => {
                            // Not satisfied yet: retried after each commit
                            // until it is, or until `timeout` ms pass.
                            let now = tokio::time::Instant::now();
                            let deadline = timeout.map(|ms| now + Duration::from_millis(ms));
                            st.triggers.push(Trigger {
                                sid,
                                id: id.clone(),
                                ops: p[1..].to_vec(),
                                started: now,
                            });
                            if let Some(d) = deadline {
                                let me = self.clone();
                                let id = id.clone();
                                tokio::spawn(async move {
                                    tokio::time::sleep_until(d).await;
                                    me.inner.state.lock().expire_trigger(sid, &id);
                                });
                            }
                            return None;
                        }
                        None => Ok(results),
                    }
                }
            }
            "monitor" | "monitor_cond" | "monitor_cond_since" => {
                let version = match method {
                    "monitor" => MonitorVersion::V1,
                    "monitor_cond" => MonitorVersion::V2,
                    _ => MonitorVersion::V3,
                };
                st.add_monitor(sid, version, p, &params)
            }
            "monitor_cond_change" => st.change_monitor(sid, p).map(|(r, n)| {
                after = n;
                r
            }),
            "monitor_cancel" => {
                let mid = p.first().cloned().unwrap_or(Value::Null);
                match st.sessions.get_mut(&sid) {
                    Some(s) if s.monitors.iter().any(|m| m.id == mid) => {
                        s.monitors.retain(|m| m.id != mid);
                        Ok(json!({}))
                    }
                    _ => Err(json!({"error":"unknown monitor"})),
                }
            }
            "lock" | "steal" | "unlock" => match p.first().and_then(Value::as_str) {
                None => Err(
                    json!({"error":"syntax error","details":format!("{method} requires a lock name")}),
                ),
                Some(name) => Ok(st.lock_op(sid, method, name)),
            },
            _ => Err(json!("unknown method")),
        };
        let out = match r {
            Ok(v) => reply(&id, v),
            Err(e) => error_reply(&id, e),
        };
        // Queue under the lock so that the order relative to notifications
        // from other sessions' commits is the order of events.
        st.send(sid, out);
        if let Some(n) = after {
            st.send(sid, n);
        }
        st.run_triggers();
        None
    }
}

/// Next backoff after a failed or short-lived connection.
fn next_backoff(b: Duration, max: Duration) -> Duration {
    if b < MIN_BACKOFF {
        MIN_BACKOFF
    } else if b < max / 2 {
        b * 2
    } else {
        max
    }
}

fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, Error> {
    if path.exists() {
        let _ = std::fs::remove_file(path);
    }
    Ok(tokio::net::UnixListener::bind(path)?)
}

enum Listener {
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
    /// Between closing and reopening a TCP listener (see `rebind`).
    Closed,
}

enum Accepted {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream, std::net::SocketAddr),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<Accepted> {
        match self {
            Listener::Unix(l) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
            Listener::Tcp(l) => l.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
            Listener::Closed => std::future::pending().await,
        }
    }

    /// Reopens a TCP listener at `addr` with a new DSCP. The old socket is
    /// closed first so that the address is free; if binding fails, the
    /// listener stays closed (accepts nothing) until a later call succeeds.
    /// Unix listeners have no DSCP: nothing to do.
    fn rebind(&mut self, addr: std::net::SocketAddr, dscp: u8) -> std::io::Result<()> {
        if matches!(self, Listener::Unix(_)) {
            return Ok(());
        }
        *self = Listener::Closed;
        *self = Listener::Tcp(bind_tcp(addr, dscp)?);
        Ok(())
    }
}

/// State shared between a remote's task, its sessions and its handle.
struct RemoteShared {
    remote: Remote,
    options: Mutex<RemoteOptions>,
    conn: Mutex<ConnInfo>,
    events: Arc<tokio::sync::Notify>,
    /// Signalled when the DSCP changed (a listener reopens its socket).
    rebind: tokio::sync::Notify,
}

#[derive(Default)]
struct ConnInfo {
    /// Open sessions: (session id, an inactivity probe is outstanding).
    sessions: Vec<(u64, bool)>,
    /// Active remotes: reconnect state name.
    state: Option<&'static str>,
    last_connected: Option<tokio::time::Instant>,
    last_disconnected: Option<tokio::time::Instant>,
    last_error: Option<String>,
    bound_port: Option<u16>,
}

impl RemoteShared {
    fn set_state(&self, s: &'static str) {
        let mut c = self.conn.lock();
        if c.state != Some(s) {
            c.state = Some(s);
            drop(c);
            self.events.notify_one();
        }
    }

    fn session_up(&self, sid: u64) {
        let mut c = self.conn.lock();
        c.sessions.push((sid, false));
        c.last_connected = Some(tokio::time::Instant::now());
        if c.state.is_some() {
            c.state = Some("ACTIVE");
        }
        drop(c);
        self.events.notify_one();
    }

    fn session_down(&self, sid: u64) {
        let mut c = self.conn.lock();
        c.sessions.retain(|(s, _)| *s != sid);
        c.last_disconnected = Some(tokio::time::Instant::now());
        drop(c);
        self.events.notify_one();
    }

    fn set_idle(&self, sid: u64, idle: bool) {
        let mut c = self.conn.lock();
        if let Some(e) = c.sessions.iter_mut().find(|(s, _)| *s == sid) {
            e.1 = idle;
        }
        if c.state.is_some() && !c.sessions.is_empty() {
            c.state = Some(if idle { "IDLE" } else { "ACTIVE" });
        }
    }
}

/// Removes a session's shared state when the session ends or its task is
/// aborted.
struct SessionGuard {
    server: Server,
    sid: u64,
    remote: Option<Arc<RemoteShared>>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        {
            let mut st = self.server.inner.state.lock();
            st.sessions.remove(&self.sid);
            st.release_all_locks(self.sid);
            st.triggers.retain(|t| t.sid != self.sid);
        }
        if let Some(r) = &self.remote {
            r.session_down(self.sid);
        }
        if let Some(w) = self.writer.take() {
            w.abort();
        }
    }
}

/// A remote being served (see [`Server::add_remote`]). Dropping it stops
/// the remote: the listener closes (a `punix:` socket file is removed) and
/// every session of the remote is disconnected.
pub struct RemoteHandle {
    server: Server,
    shared: Arc<RemoteShared>,
    task: JoinHandle<()>,
    local_addr: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for RemoteHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("remote", &self.shared.remote)
            .finish()
    }
}

impl RemoteHandle {
    /// The remote served.
    pub fn remote(&self) -> &Remote {
        &self.shared.remote
    }

    /// The bound address of a `ptcp:`/`pssl:` listener (the real port when
    /// 0 was asked for); `None` for other remotes.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.local_addr
    }

    /// Current options.
    pub fn options(&self) -> RemoteOptions {
        *self.shared.options.lock()
    }

    /// Changes the options in place (no reconnect): a new probe interval
    /// applies from each session's next wait, a new backoff and DSCP from
    /// the next connection attempt; a `ptcp:`/`pssl:` listener reopens its
    /// socket at the same address with a new DSCP (sessions already
    /// accepted keep theirs).
    pub fn set_options(&self, options: RemoteOptions) {
        let old = std::mem::replace(&mut *self.shared.options.lock(), options);
        if old.dscp != options.dscp {
            self.shared.rebind.notify_one();
        }
    }

    /// Connection state as ovsdb-server reports it for a `Manager` row:
    /// listeners give `is_connected`, `n_connections` and `bound_port`;
    /// active remotes the reconnect state, times, last error and the locks
    /// of their session.
    pub fn status(&self) -> RemoteStatus {
        let c = self.shared.conn.lock();
        let n = c.sessions.len();
        if self.shared.remote.is_passive() {
            return RemoteStatus {
                is_connected: n > 0,
                n_connections: n,
                bound_port: c.bound_port,
                ..Default::default()
            };
        }
        let now = tokio::time::Instant::now();
        let secs = |t: Option<tokio::time::Instant>| t.map(|t| now.duration_since(t).as_secs());
        let mut s = RemoteStatus {
            is_connected: n > 0,
            state: c.state,
            sec_since_connect: secs(c.last_connected),
            sec_since_disconnect: secs(c.last_disconnected),
            last_error: c.last_error.clone(),
            n_connections: n,
            ..Default::default()
        };
        if let Some((sid, _)) = c.sessions.first() {
            let st = self.server.inner.state.lock();
            for (name, q) in &st.locks {
                if q.front() == Some(sid) {
                    s.locks_held.push(name.clone());
                } else if q.contains(sid) {
                    s.locks_waiting.push(name.clone());
                }
            }
            s.locks_held.sort();
            s.locks_waiting.sort();
        }
        s
    }
}

impl Drop for RemoteHandle {
    fn drop(&mut self) {
        self.task.abort();
        if let Remote::PUnix(p) = &self.shared.remote {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// If `results` failed only because a `wait` operation's condition does not
/// hold yet and that operation allows waiting, its timeout: `Some(None)` =
/// forever (no `timeout` member), `Some(Some(ms))`; `None` otherwise (the
/// results are final).
fn blocking_wait(ops: &[Value], results: &Value) -> Option<Option<u64>> {
    let arr = results.as_array()?;
    let (i, err) = arr
        .iter()
        .enumerate()
        .find(|(_, r)| r.get("error").is_some())?;
    if err.get("error")? != "timed out" || ops.get(i)?.get("op")? != "wait" {
        return None;
    }
    match ops[i].get("timeout") {
        None => Some(None),
        Some(t) => {
            let ms = t.as_f64()?;
            (ms > 0.0).then(|| Some(ms.min(u64::MAX as f64) as u64))
        }
    }
}

impl State {
    fn db_by_name(&self, name: &str) -> Option<&Database> {
        if name == self.db.name() {
            Some(&self.db)
        } else if name == "_Server" {
            Some(&self.server_db)
        } else {
            None
        }
    }

    fn lock_owner(&self, name: &str) -> Option<u64> {
        self.locks.get(name).and_then(|q| q.front().copied())
    }

    fn send(&self, sid: u64, v: Value) {
        if let Some(s) = self.sessions.get(&sid) {
            s.push(sid, v, self.max_backlog);
        }
    }

    fn lock_op(&mut self, sid: u64, method: &str, name: &str) -> Value {
        match method {
            "lock" => {
                let q = self.locks.entry(name.to_string()).or_default();
                if !q.contains(&sid) {
                    q.push_back(sid);
                }
                json!({"locked": q.front() == Some(&sid)})
            }
            "steal" => {
                let q = self.locks.entry(name.to_string()).or_default();
                let prev = q.front().copied();
                q.retain(|s| *s != sid);
                q.push_front(sid);
                if let Some(p) = prev.filter(|p| *p != sid) {
                    self.send(p, notification("stolen", json!([name])));
                }
                json!({"locked": true})
            }
            _ => {
                let Some(q) = self.locks.get_mut(name) else {
                    return json!({});
                };
                let was_owner = q.front() == Some(&sid);
                q.retain(|s| *s != sid);
                let next = q.front().copied();
                if q.is_empty() {
                    self.locks.remove(name);
                }
                if was_owner {
                    if let Some(n) = next {
                        self.send(n, notification("locked", json!([name])));
                    }
                }
                json!({})
            }
        }
    }

    fn release_all_locks(&mut self, sid: u64) {
        let names: Vec<String> = self
            .locks
            .iter()
            .filter(|(_, q)| q.contains(&sid))
            .map(|(n, _)| n.clone())
            .collect();
        for n in names {
            self.lock_op(sid, "unlock", &n);
        }
    }

    fn add_monitor(
        &mut self,
        sid: u64,
        version: MonitorVersion,
        p: &[Value],
        params: &Value,
    ) -> Result<Value, Value> {
        let name = p.first().and_then(Value::as_str).unwrap_or("");
        let Some(db) = self.db_by_name(name) else {
            return Err(json!({"error":"unknown database",
                "details": format!("monitor request specifies unknown database {name}"),
                "syntax": params.to_string()}));
        };
        let mid = p.get(1).cloned().unwrap_or(Value::Null);
        let reqs = p.get(2).cloned().unwrap_or(json!({}));
        let m = Monitor::new(&db.schema, version, mid.clone(), &reqs).map_err(|e| e.to_json())?;
        let reply = m.reply(db);
        let Some(s) = self.sessions.get_mut(&sid) else {
            return Err(json!({"error":"session closed"}));
        };
        if s.monitors.iter().any(|x| x.id == mid) {
            return Err(json!({"error":"duplicate monitor ID"}));
        }
        s.monitors.push(m);
        Ok(reply)
    }

    /// `monitor_cond_change`: returns the reply and the notification to send
    /// after it (rows entering/leaving the new condition).
    fn change_monitor(&mut self, sid: u64, p: &[Value]) -> Result<(Value, Option<Value>), Value> {
        let (Some(old), Some(new), Some(reqs)) = (p.first(), p.get(1), p.get(2)) else {
            return Err(
                json!({"error":"syntax error","details":"monitor_cond_change requires 3 parameters"}),
            );
        };
        let Some(s) = self.sessions.get(&sid) else {
            return Err(json!({"error":"session closed"}));
        };
        let Some(idx) = s.monitors.iter().position(|m| &m.id == old) else {
            return Err(json!({"error":"unknown monitor"}));
        };
        if old != new && s.monitors.iter().any(|m| &m.id == new) {
            return Err(json!({"error":"duplicate monitor ID"}));
        }
        let mut m = s.monitors[idx].clone();
        if m.version == MonitorVersion::V1 {
            return Err(
                json!({"error":"syntax error","details":"monitor_cond_change on a v1 monitor"}),
            );
        }
        let db = if m.db == "_Server" {
            &self.server_db
        } else {
            &self.db
        };
        let delta = m.change_condition(db, reqs).map_err(|e| e.to_json())?;
        m.id = new.clone();
        let note = delta.map(|d| m.notification(d));
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.monitors[idx] = m;
        }
        Ok((json!({}), note))
    }

    /// Run a transaction for session `sid`; journal, notify, and return the
    /// result array.
    fn transact(&mut self, sid: u64, ops: &[Value]) -> Value {
        let owners: BTreeMap<String, u64> = self
            .locks
            .iter()
            .filter_map(|(n, q)| q.front().map(|o| (n.clone(), *o)))
            .collect();
        let has_lock = |l: &str| owners.get(l) == Some(&sid);
        let mut r = self.db.transact_with_locks(ops, &has_lock);
        let Some(changes) = r.changes.take() else {
            return r.results;
        };
        if changes.is_empty() {
            return r.results;
        }
        if let Some(j) = &mut self.journal {
            if let Err(e) = j.append(&self.db.schema, &changes, &r.comments) {
                tracing::error!("journal append failed: {e}");
                undo(&mut self.db, &changes);
                let mut arr = r.results.as_array().cloned().unwrap_or_default();
                arr.push(json!({"error":"I/O error","details":format!("writing the database journal failed: {e}")}));
                return Value::Array(arr);
            }
            if j.should_compact() {
                if let Err(e) = j.compact(&self.db) {
                    tracing::warn!("journal compaction failed: {e}");
                }
            }
        }
        self.notify(&changes);
        self.committed = true;
        r.results
    }

    /// Retries blocked transactions while commits keep happening (a
    /// trigger's own commit may unblock another); each one that completes
    /// (commits or fails for another reason) gets its reply.
    fn run_triggers(&mut self) {
        while std::mem::take(&mut self.committed) && !self.triggers.is_empty() {
            let pending = std::mem::take(&mut self.triggers);
            for t in pending {
                let results = self.transact(t.sid, &t.ops);
                if blocking_wait(&t.ops, &results).is_some() {
                    self.triggers.push(t);
                } else {
                    self.send(t.sid, reply(&t.id, results));
                }
            }
        }
        self.committed = false;
    }

    /// The trigger `(sid, id)` reached its deadline: run it a last time and
    /// reply, with "timed out" if its condition still does not hold.
    fn expire_trigger(&mut self, sid: u64, id: &Value) {
        let Some(i) = self
            .triggers
            .iter()
            .position(|t| t.sid == sid && &t.id == id)
        else {
            return;
        };
        let t = self.triggers.remove(i);
        let mut results = self.transact(t.sid, &t.ops);
        if blocking_wait(&t.ops, &results).is_some() {
            let ms = t.started.elapsed().as_millis();
            if let Some(e) = results
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|r| r.get("error").is_some()))
            {
                *e = json!({"error":"timed out","details":format!("\"wait\" timed out after {ms} ms")});
            }
        }
        self.send(t.sid, reply(&t.id, results));
        self.run_triggers();
    }

    fn notify(&self, changes: &Changes) {
        let name = self.db.name();
        for (sid, s) in &self.sessions {
            for m in &s.monitors {
                if m.db != name {
                    continue;
                }
                if let Some(u) = m.updates(&self.db.schema, changes) {
                    s.push(*sid, m.notification(u), self.max_backlog);
                }
            }
        }
    }
}

/// Undo a just-committed change set (used when the journal write fails).
fn undo(db: &mut Database, changes: &Changes) {
    for (tn, rows) in &changes.tables {
        let Some(t) = db.tables.get_mut(tn) else {
            continue;
        };
        for (u, rc) in rows {
            match &rc.old {
                Some(o) => {
                    t.rows.insert(*u, o.clone());
                }
                None => {
                    t.rows.remove(u);
                }
            }
        }
    }
}
