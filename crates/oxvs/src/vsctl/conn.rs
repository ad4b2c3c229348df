//! A small blocking OVSDB (RFC 7047) client for `oxvs vsctl`: one
//! connection, `get_schema`, a v1 `monitor` of every table, `transact`, and
//! the update notifications that keep the local replica current.
//!
//! Idea: ovs-vsctl is a one-shot tool that runs a single transaction, so a
//! synchronous client is enough: requests are written, then messages are read
//! (concatenated JSON objects, no framing) until the matching reply arrives;
//! `update` notifications met on the way are applied to the [`Replica`] at
//! once and counted in `seqno`, `echo` requests are answered. This is a local
//! shim: the `ovsdb` crate's async `Client`/`Idl` were not available yet when
//! this was written.
//! Invariant: the replica holds every row of every table with every column
//! (defaults filled in), keyed by UUID, in the schema's column types.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use ovsdb::{DatabaseSchema, Datum};
use serde_json::{json, Value};
use uuid::Uuid;

/// One row: column name → value (every schema column present).
pub type Row = BTreeMap<String, Datum>;

/// Local copy of the database: table → row UUID → row.
#[derive(Debug, Default, Clone)]
pub struct Replica {
    /// Rows by table name, then by `_uuid`.
    pub tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.write_all(b),
            Stream::Tcp(s) => s.write_all(b),
        }
    }
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(b),
            Stream::Tcp(s) => s.read(b),
        }
    }
}

/// A blocking connection with its schema and replica.
pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    next_id: u64,
    /// The `Open_vSwitch` database schema as served.
    pub schema: DatabaseSchema,
    /// Current contents of the database.
    pub replica: Replica,
    /// Incremented on each applied update notification.
    pub seqno: u64,
}

/// Errors of the connection: the text is what ovs-vsctl would print after
/// `ovs-vsctl: `.
pub type ConnError = String;

fn os_error_text(e: &std::io::Error) -> String {
    // ovs-vsctl prints strerror() text, e.g. "Connection refused".
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl Conn {
    /// Connect to `unix:PATH` or `tcp:IP:PORT`, fetch the schema and the
    /// initial contents. Errors: `REMOTE: database connection failed (REASON)`.
    pub fn open(remote: &str) -> Result<Conn, ConnError> {
        let failed = |why: String| format!("{remote}: database connection failed ({why})");
        let stream = if let Some(path) = remote.strip_prefix("unix:") {
            Stream::Unix(UnixStream::connect(path).map_err(|e| failed(os_error_text(&e)))?)
        } else if let Some(addr) = remote.strip_prefix("tcp:") {
            Stream::Tcp(TcpStream::connect(addr).map_err(|e| failed(os_error_text(&e)))?)
        } else {
            return Err(format!("{remote}: unknown or invalid database remote"));
        };
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
            next_id: 1,
            schema: DatabaseSchema {
                name: String::new(),
                version: String::new(),
                cksum: None,
                tables: BTreeMap::new(),
            },
            replica: Replica::default(),
            seqno: 0,
        };
        let schema_json = conn
            .request("get_schema", json!(["Open_vSwitch"]))
            .map_err(failed)?;
        conn.schema = DatabaseSchema::from_json(&schema_json)
            .map_err(|e| failed(format!("bad schema: {e}")))?;
        let mut requests = serde_json::Map::new();
        for t in conn.schema.tables.keys() {
            requests.insert(t.clone(), json!({}));
        }
        let initial = conn
            .request(
                "monitor",
                json!(["Open_vSwitch", ["monid", "Open_vSwitch"], requests]),
            )
            .map_err(failed)?;
        conn.apply_update(&initial);
        Ok(conn)
    }

    fn send(&mut self, v: &Value) -> Result<(), String> {
        let text = serde_json::to_vec(v).map_err(|e| e.to_string())?;
        self.stream.write_all(&text).map_err(|e| os_error_text(&e))
    }

    /// Read the next complete JSON message from the stream.
    fn read_message(&mut self) -> Result<Value, String> {
        loop {
            if !self.buf.is_empty() {
                let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
                match it.next() {
                    Some(Ok(v)) => {
                        let used = it.byte_offset();
                        self.buf.drain(..used);
                        return Ok(v);
                    }
                    Some(Err(e)) if e.is_eof() => {}
                    Some(Err(e)) => return Err(format!("protocol error ({e})")),
                    None => {
                        // Only whitespace buffered.
                        self.buf.clear();
                    }
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| os_error_text(&e))?;
            if n == 0 {
                return Err("End of file".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Handle a message that is not the reply we wait for.
    fn handle_other(&mut self, msg: &Value) -> Result<(), String> {
        match msg.get("method").and_then(Value::as_str) {
            Some("echo") => {
                let reply = json!({"id": msg["id"].clone(), "result": msg["params"].clone(), "error": null});
                self.send(&reply)
            }
            Some("update") => {
                if let Some(u) = msg["params"].get(1) {
                    let u = u.clone();
                    self.apply_update(&u);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Send a request and wait for its reply's `result`. Errors: a JSON-RPC
    /// error reply (as JSON text) or a connection error.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"id": id, "method": method, "params": params}))?;
        loop {
            let msg = self.read_message()?;
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                match msg.get("error") {
                    Some(e) if !e.is_null() => return Err(e.to_string()),
                    _ => return Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
                }
            }
            self.handle_other(&msg)?;
        }
    }

    /// Block until at least one update notification has been applied after
    /// `seqno` reached `since`.
    pub fn wait_for_change(&mut self, since: u64) -> Result<(), String> {
        while self.seqno == since {
            let msg = self.read_message()?;
            self.handle_other(&msg)?;
        }
        Ok(())
    }

    /// Apply a v1 `<table-updates>` object to the replica.
    fn apply_update(&mut self, updates: &Value) {
        let Some(tables) = updates.as_object() else {
            return;
        };
        for (tname, rows) in tables {
            let Some(ts) = self.schema.tables.get(tname) else {
                continue;
            };
            let Some(rows) = rows.as_object() else {
                continue;
            };
            let table = self.replica.tables.entry(tname.clone()).or_default();
            for (uuid_s, ru) in rows {
                let Ok(uuid) = Uuid::parse_str(uuid_s) else {
                    continue;
                };
                match ru.get("new") {
                    Some(Value::Object(new)) => {
                        let row = table.entry(uuid).or_insert_with(|| {
                            ts.columns
                                .iter()
                                .map(|(n, c)| (n.clone(), Datum::default_for(&c.type_)))
                                .collect()
                        });
                        for (cname, v) in new {
                            if let Some(cs) = ts.columns.get(cname) {
                                let none = |_: &str| None;
                                if let Ok(d) = Datum::from_json(v, &cs.type_.relaxed(), &none) {
                                    row.insert(cname.clone(), d);
                                }
                            }
                        }
                    }
                    _ => {
                        table.remove(&uuid);
                    }
                }
            }
        }
        self.seqno += 1;
    }
}
