//! JSON-RPC client for OVSDB (RFC 7047 §4): connects to `unix:PATH` or
//! `tcp:IP:PORT` (or any in-process stream), matches replies to requests by
//! id, answers the server's `echo` probes, and queues notifications.
//!
//! Idea: one reader task owns the read half; it completes pending requests
//! through oneshot channels and pushes notifications into an unbounded
//! channel *before* completing any later reply, so a caller that awaits a
//! reply and then drains the notification channel sees every notification
//! the server sent before that reply (the IDL relies on this). A writer task
//! owns the write half. When the connection ends, pending requests fail with
//! `Error::Closed` and the notification channel closes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use crate::jsonrpc::{request, write_message, MessageReader};
use crate::Error;

/// A notification received from the server (`{"method":..,"params":..}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Method, e.g. `update2`, `locked`, `stolen`.
    pub method: String,
    /// Params array.
    pub params: Value,
}

type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Result<Value, Error>>>>>>;

/// A connection to an OVSDB server. Cheap to clone (shared connection).
#[derive(Clone)]
pub struct Client {
    tx: mpsc::UnboundedSender<Value>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
    notifications: Arc<Mutex<Option<mpsc::UnboundedReceiver<Notification>>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

fn io_reason(e: &std::io::Error) -> String {
    // ovs-vsctl prints strerror(), e.g. "Connection refused".
    match e.raw_os_error() {
        Some(code) => {
            let s = std::io::Error::from_raw_os_error(code).to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        None => e.to_string(),
    }
}

impl Client {
    /// Connect to `unix:PATH` or `tcp:IP:PORT`. Errors:
    /// `Error::ConnectionFailed("Connection refused")` and the like (the
    /// text ovs-vsctl prints), `Error::BadRemote` for other syntaxes.
    pub async fn connect(remote: &str) -> Result<Client, Error> {
        if let Some(path) = remote.strip_prefix("unix:") {
            let s = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| Error::ConnectionFailed(io_reason(&e)))?;
            Ok(Client::from_stream(s))
        } else if let Some(addr) = remote.strip_prefix("tcp:") {
            let s = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| Error::ConnectionFailed(io_reason(&e)))?;
            let _ = s.set_nodelay(true);
            Ok(Client::from_stream(s))
        } else {
            Err(Error::BadRemote(remote.to_string()))
        }
    }

    /// Run the client protocol over any byte stream (spawns two tasks on the
    /// current tokio runtime).
    pub fn from_stream<S>(stream: S) -> Client
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, mut wr) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
        let (ntx, nrx) = mpsc::unbounded_channel::<Notification>();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        tokio::spawn(async move {
            while let Some(v) = rx.recv().await {
                if write_message(&mut wr, &v).await.is_err() {
                    break;
                }
            }
        });
        let p2 = pending.clone();
        let tx2 = tx.clone();
        tokio::spawn(async move {
            let mut reader = MessageReader::new(rd);
            while let Ok(Some(msg)) = reader.next().await {
                let id = msg.get("id").cloned().unwrap_or(Value::Null);
                if let Some(method) = msg.get("method").and_then(Value::as_str) {
                    let params = msg.get("params").cloned().unwrap_or(json!([]));
                    if method == "echo" && !id.is_null() {
                        let _ = tx2.send(json!({"id": id, "result": params, "error": null}));
                    } else if id.is_null() {
                        let _ = ntx.send(Notification {
                            method: method.to_string(),
                            params,
                        });
                    }
                    continue;
                }
                let Some(n) = id.as_u64() else { continue };
                let waiter = p2.lock().as_mut().and_then(|m| m.remove(&n));
                if let Some(w) = waiter {
                    let err = msg.get("error").cloned().unwrap_or(Value::Null);
                    let r = if err.is_null() {
                        Ok(msg.get("result").cloned().unwrap_or(Value::Null))
                    } else {
                        Err(Error::Rpc(err))
                    };
                    let _ = w.send(r);
                }
            }
            // Connection over: fail everything still waiting.
            if let Some(m) = p2.lock().take() {
                for (_, w) in m {
                    let _ = w.send(Err(Error::Closed));
                }
            }
        });
        Client {
            tx,
            pending,
            next_id: Arc::new(AtomicU64::new(1)),
            notifications: Arc::new(Mutex::new(Some(nrx))),
        }
    }

    /// Send a request and wait for its reply. Errors: `Error::Rpc(error)`
    /// for an error reply, `Error::Closed` when the connection ends first.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (w, r) = oneshot::channel();
        {
            let mut p = self.pending.lock();
            match p.as_mut() {
                Some(m) => {
                    m.insert(id, w);
                }
                None => return Err(Error::Closed),
            }
        }
        if self.tx.send(request(json!(id), method, params)).is_err() {
            return Err(Error::Closed);
        }
        r.await.map_err(|_| Error::Closed)?
    }

    /// Send a notification (no reply expected), e.g. `cancel`.
    pub fn notify(&self, method: &str, params: Value) -> Result<(), Error> {
        self.tx
            .send(json!({"id": null, "method": method, "params": params}))
            .map_err(|_| Error::Closed)
    }

    /// Take the notification stream (only the first caller gets it).
    pub fn take_notifications(&self) -> Option<mpsc::UnboundedReceiver<Notification>> {
        self.notifications.lock().take()
    }
}
