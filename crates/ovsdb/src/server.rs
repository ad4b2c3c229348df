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
//! TCP sessions run the 5 s inactivity probe; unix and in-process ones do not.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::client::Client;
use crate::db::{Changes, Database};
use crate::journal::Journal;
use crate::jsonrpc::{error_reply, notification, reply, write_message, MessageReader};
use crate::monitor::{Monitor, MonitorVersion};
use crate::schema::DatabaseSchema;
use crate::Error;

/// Inactivity probe interval for TCP sessions (ovsdb-server's default, 5 s).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);

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

    /// Listen on a unix socket (`punix:PATH`); a stale socket file is
    /// replaced. Returns the accept loop's task.
    pub fn listen_unix(&self, path: impl AsRef<Path>) -> Result<JoinHandle<()>, Error> {
        let path = path.as_ref();
        if path.exists() {
            let _ = std::fs::remove_file(path);
        }
        let l = tokio::net::UnixListener::bind(path)?;
        let me = self.clone();
        Ok(tokio::spawn(async move {
            loop {
                match l.accept().await {
                    Ok((s, _)) => {
                        let me = me.clone();
                        tokio::spawn(async move { me.serve(s, false).await });
                    }
                    Err(e) => {
                        tracing::warn!("unix accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }))
    }

    /// Listen on TCP (`ptcp:PORT[:IP]`, given here as `IP:PORT`). Returns the
    /// bound address (useful with port 0) and the accept loop's task.
    pub async fn listen_tcp(
        &self,
        addr: &str,
    ) -> Result<(std::net::SocketAddr, JoinHandle<()>), Error> {
        let l = tokio::net::TcpListener::bind(addr).await?;
        let local = l.local_addr()?;
        let me = self.clone();
        Ok((
            local,
            tokio::spawn(async move {
                loop {
                    match l.accept().await {
                        Ok((s, _)) => {
                            let _ = s.set_nodelay(true);
                            let me = me.clone();
                            tokio::spawn(async move { me.serve(s, true).await });
                        }
                        Err(e) => {
                            tracing::warn!("tcp accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }),
        ))
    }

    /// Serve one connection until it closes (no inactivity probe).
    pub async fn serve_stream<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.serve(stream, false).await
    }

    /// An in-process client connected through a `tokio::io::duplex` pipe.
    pub fn connect_local(&self) -> Client {
        let (a, b) = tokio::io::duplex(1 << 16);
        let me = self.clone();
        tokio::spawn(async move { me.serve(a, false).await });
        Client::from_stream(b)
    }

    async fn serve<S>(&self, stream: S, probe: bool)
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
        let mut reader = MessageReader::new(rd);
        let mut probe_sent = false;
        let queue = |v: Value| {
            backlog.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = tx.send(v);
        };
        let mut killed = false;
        loop {
            let next = tokio::select! {
                () = kill.notified() => {
                    killed = true;
                    break;
                }
                r = async {
                    if probe {
                        tokio::time::timeout(PROBE_INTERVAL, reader.next()).await.ok()
                    } else {
                        Some(reader.next().await)
                    }
                } => r,
            };
            let Some(next) = next else {
                // PROBE_INTERVAL without a message.
                if probe_sent {
                    tracing::info!("session {sid}: no response to inactivity probe, disconnecting");
                    break;
                }
                probe_sent = true;
                queue(json!({"id":"echo","method":"echo","params":[]}));
                continue;
            };
            probe_sent = false;
            match next {
                Ok(Some(msg)) => {
                    if let Some(out) = self.handle(sid, &msg) {
                        queue(out);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::info!("session {sid}: protocol error: {e}");
                    queue(error_reply(
                        &Value::Null,
                        json!({"error":"syntax error","details":e.to_string()}),
                    ));
                    break;
                }
            }
        }
        {
            let mut st = self.inner.state.lock();
            st.sessions.remove(&sid);
            st.release_all_locks(sid);
            st.triggers.retain(|t| t.sid != sid);
        }
        drop(tx);
        if killed {
            // The peer stopped reading: do not wait to flush its backlog.
            writer.abort();
        } else {
            let _ = writer.await;
        }
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
