//! The database connection of one `oxvs vsctl` run: the `ovsdb` crate's
//! [`Idl`] (schema, `monitor_cond` falling back to v1 `monitor` on an error
//! reply, as ovs-vsctl's IDL does; replica with every column filled in),
//! driven synchronously.
//!
//! Idea: ovs-vsctl is a one-shot tool with a synchronous retry loop, so
//! [`Conn`] owns a current-thread tokio runtime and `block_on`s each call.
//! The client's reader task runs only inside those calls, so the replica
//! changes only in [`Conn::open`], [`Conn::transact`] and
//! [`Conn::wait_for_change`]. Each applied update notification bumps
//! `seqno`, which the caller uses to tell "something changed since I last
//! looked" (soft-error retry, `cur_cfg` wait).

use ovsdb::{Client, ClientOptions, DatabaseSchema, Error, Idl, Replica, TlsConfig};
use serde_json::Value;
use tokio::runtime::Runtime;

/// A connection to the `Open_vSwitch` database with its replica.
pub struct Conn {
    rt: Runtime,
    idl: Idl,
    /// Incremented for each applied update notification (or batch of them
    /// applied together).
    pub seqno: u64,
}

/// Errors of the connection: the text is what ovs-vsctl would print after
/// `ovs-vsctl: `.
pub type ConnError = String;

/// Text for a failure after the connection is up (JSON-RPC error object as
/// JSON text, `End of file` when the server went away).
fn reason(e: &Error) -> String {
    match e {
        Error::Rpc(v) => v.to_string(),
        Error::Closed => "End of file".into(),
        Error::Syntax(s) => format!("protocol error ({s})"),
        other => other.to_string(),
    }
}

impl Conn {
    /// Connect to `unix:PATH`, `tcp:IP:PORT` or `ssl:IP:PORT` (with `tls`),
    /// fetch the schema and the initial contents of every table. Errors (as
    /// ovs-vsctl prints them): `REMOTE: database connection failed
    /// (REASON)`, e.g. `(Protocol error)` when the TLS handshake fails;
    /// `REMOTE: database connection failed (Address family not supported by
    /// protocol)` for an unknown kind of remote.
    pub fn open(remote: &str, tls: Option<TlsConfig>) -> Result<Conn, ConnError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("{remote}: database connection failed ({e})"))?;
        let idl = rt
            .block_on(async {
                let options = ClientOptions {
                    tls,
                    probe_interval: None,
                };
                let client = Client::connect_with(remote, &options).await?;
                Idl::connect(client, "Open_vSwitch", None).await
            })
            .map_err(|e| match e {
                Error::ConnectionFailed(_) => format!("{remote}: {e}"),
                // ovs-vsctl 3.1 reports an unknown method as EAFNOSUPPORT.
                Error::BadRemote(_) => format!(
                    "{remote}: database connection failed (Address family not supported by protocol)"
                ),
                other => format!("{remote}: database connection failed ({})", reason(&other)),
            })?;
        Ok(Conn { rt, idl, seqno: 0 })
    }

    /// The `Open_vSwitch` database schema as served.
    pub fn schema(&self) -> &DatabaseSchema {
        self.idl.schema()
    }

    /// Current contents of the database.
    pub fn replica(&self) -> &Replica {
        self.idl.replica()
    }

    /// Send `transact` with `ops` (without the database name) and return its
    /// `result`; update notifications that arrived before the reply are
    /// applied first (bumping `seqno`). Errors: the JSON-RPC error object as
    /// JSON text, or a connection error text.
    pub fn transact(&mut self, ops: Vec<Value>) -> Result<Value, String> {
        let mut params = Vec::with_capacity(ops.len() + 1);
        params.push(Value::from(self.idl.db_name()));
        params.extend(ops);
        let client = self.idl.client().clone();
        let reply = self
            .rt
            .block_on(client.request("transact", Value::Array(params)));
        // Not `Idl::transact`: it discards whether any update was applied,
        // which the soft-error retry needs to know.
        self.poll()?;
        reply.map_err(|e| reason(&e))
    }

    fn poll(&mut self) -> Result<(), String> {
        let changes = self.idl.poll_changes().map_err(|e| reason(&e))?;
        if !changes.is_empty() {
            self.seqno += 1;
        }
        Ok(())
    }

    /// Block until at least one update notification has been applied after
    /// `seqno` reached `since` (returns at once if that already happened).
    /// Errors: the connection ended.
    pub fn wait_for_change(&mut self, since: u64) -> Result<(), String> {
        if self.seqno != since {
            return Ok(());
        }
        self.rt
            .block_on(self.idl.wait_for_change())
            .map_err(|e| reason(&e))?;
        self.seqno += 1;
        // Anything else already received lands in the same snapshot.
        self.poll()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::jsonrpc::{error_reply, write_message, MessageReader};
    use ovsdb::{Database, Server};
    use serde_json::json;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};

    /// Shared log of the methods the client sent.
    type Seen = Arc<Mutex<Vec<String>>>;

    /// An in-process OVSDB server behind a unix-socket proxy that logs the
    /// client's methods and, with `reject_cond`, answers `monitor_cond`
    /// with an error (a server with only v1 `monitor`).
    fn start(reject_cond: bool) -> (tokio::runtime::Runtime, Server, PathBuf, Seen) {
        let schema = DatabaseSchema::from_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ovsdb/schemas/vswitch.ovsschema"
        ))
        .expect("schema");
        let server = Server::new(Database::new(schema), None);
        let r = server.transact(&[json!({"op":"insert","table":"Open_vSwitch","row":{}})]);
        assert!(r[0].get("uuid").is_some(), "{r}");
        let dir = std::env::temp_dir().join(format!(
            "oxvs-vsctl-conn-{}-{reject_cond}",
            std::process::id()
        ));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("db.sock");
        let _ = std::fs::remove_file(&path);
        let bg = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = bg
            .block_on(async { tokio::net::UnixListener::bind(&path) })
            .expect("bind");
        let seen: Seen = Default::default();
        let (srv, log) = (server.clone(), seen.clone());
        bg.spawn(async move {
            while let Ok((c, _)) = listener.accept().await {
                let (a, b) = tokio::io::duplex(1 << 16);
                let s = srv.clone();
                tokio::spawn(async move { s.serve_stream(a).await });
                let (crd, mut cwr) = tokio::io::split(c);
                let (brd, mut bwr) = tokio::io::split(b);
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
                tokio::spawn(async move {
                    while let Some(v) = rx.recv().await {
                        if write_message(&mut cwr, &v).await.is_err() {
                            break;
                        }
                    }
                });
                let tx2 = tx.clone();
                tokio::spawn(async move {
                    let mut r = MessageReader::new(brd);
                    while let Ok(Some(m)) = r.next().await {
                        let _ = tx2.send(m);
                    }
                });
                let log = log.clone();
                tokio::spawn(async move {
                    let mut r = MessageReader::new(crd);
                    while let Ok(Some(m)) = r.next().await {
                        let method = m["method"].as_str().unwrap_or("").to_string();
                        log.lock().expect("log").push(method.clone());
                        if reject_cond && method == "monitor_cond" {
                            let _ = tx.send(error_reply(&m["id"], json!("unknown method")));
                        } else if write_message(&mut bwr, &m).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (bg, server, path, seen)
    }

    fn cur_cfg(conn: &Conn) -> Option<i64> {
        let t = conn.replica().table("Open_vSwitch")?;
        t.iter().next()?.get("cur_cfg")?.as_integer()
    }

    fn connect_transact_and_wait(reject_cond: bool) {
        let (_bg, server, path, seen) = start(reject_cond);
        let mut conn = Conn::open(&format!("unix:{}", path.display()), None).expect("open");
        assert_eq!(
            conn.replica().table("Open_vSwitch").map(|t| t.len()),
            Some(1)
        );
        assert_eq!(cur_cfg(&conn), Some(0));

        // Own transaction: its update is applied before transact returns.
        let seq = conn.seqno;
        let r = conn
            .transact(vec![
                json!({"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0"}}),
                json!({"op":"mutate","table":"Open_vSwitch","where":[],
                       "mutations":[["bridges","insert",["named-uuid","b"]]]}),
            ])
            .expect("transact");
        assert!(r[0].get("uuid").is_some(), "{r}");
        assert_ne!(conn.seqno, seq);
        let br = conn.replica().table("Bridge").expect("Bridge");
        assert_eq!(
            br.iter()
                .next()
                .and_then(|r| r.get("name")?.as_str().map(String::from)),
            Some("br0".into())
        );
        // Already changed since `seq`: returns at once.
        conn.wait_for_change(seq).expect("no wait");

        // Someone else's change (the switch bumping cur_cfg) wakes a waiter.
        let seq = conn.seqno;
        let s2 = server.clone();
        let bumper = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            s2.transact(&[
                json!({"op":"update","table":"Open_vSwitch","where":[],"row":{"cur_cfg":7}}),
            ])
        });
        conn.wait_for_change(seq).expect("wait");
        assert!(bumper.join().expect("join")[0].get("error").is_none());
        assert_eq!(cur_cfg(&conn), Some(7));

        // Error replies come back as the JSON-RPC error text.
        let e = conn
            .transact(vec![json!({"op":"frobnicate"})])
            .map(|r| r.to_string())
            .unwrap_or_else(|e| e);
        assert!(e.contains("error"), "{e}");

        let seen = seen.lock().expect("log").clone();
        let want_v1 = seen.iter().any(|m| m == "monitor");
        assert_eq!(want_v1, reject_cond, "{seen:?}");
        assert!(seen.iter().any(|m| m == "monitor_cond"), "{seen:?}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn monitor_cond_preferred() {
        connect_transact_and_wait(false);
    }

    #[test]
    fn falls_back_to_monitor_v1() {
        connect_transact_and_wait(true);
    }

    #[test]
    fn connection_errors_read_like_ovs_vsctl() {
        let e = Conn::open("unix:/nonexistent/db.sock", None)
            .err()
            .expect("fails");
        assert_eq!(
            e,
            "unix:/nonexistent/db.sock: database connection failed (No such file or directory)"
        );
        let e = Conn::open("bogus:x", None).err().expect("fails");
        assert_eq!(
            e,
            "bogus:x: database connection failed (Address family not supported by protocol)"
        );
    }
}
