//! JSON-RPC client for OVSDB (RFC 7047 §4): connects to `unix:PATH`,
//! `tcp:IP:PORT` or `ssl:IP:PORT` (or any in-process stream), matches
//! replies to requests by id, answers the server's `echo` probes, and
//! queues notifications. With a probe interval configured it also probes
//! the server, as Open vSwitch's clients do: after an interval without any
//! message it sends `echo`, and after a second silent interval it drops the
//! connection (pending requests then fail with `Error::Closed`).
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
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use crate::jsonrpc::{request, write_message, MessageReader};
use crate::remote::{connect_stream, Remote};
use crate::tls::TlsConfig;
use crate::Error;

/// How [`Client::connect_with`] connects.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Keys and certificates for `ssl:` remotes.
    pub tls: Option<TlsConfig>,
    /// Inactivity probe: `None` = the client never probes (it still answers
    /// the server's probes).
    pub probe_interval: Option<Duration>,
}

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

impl Client {
    /// Connect to `unix:PATH` or `tcp:IP:PORT`. Errors:
    /// `Error::ConnectionFailed("Connection refused")` and the like (the
    /// text ovs-vsctl prints), `Error::BadRemote` for other syntaxes.
    /// `ssl:` needs [`Client::connect_with`] (this returns `Error::Tls`).
    /// No inactivity probes are sent.
    pub async fn connect(remote: &str) -> Result<Client, Error> {
        Client::connect_with(remote, &ClientOptions::default()).await
    }

    /// Connect to `unix:PATH`, `tcp:HOST[:PORT]` or `ssl:HOST[:PORT]` with
    /// `options`. Errors: `Error::ConnectionFailed(reason)` (connect or TLS
    /// handshake failed, e.g. the server refused our certificate),
    /// `Error::BadRemote` for a remote that is not an active one,
    /// `Error::Tls` for `ssl:` without `options.tls`.
    pub async fn connect_with(remote: &str, options: &ClientOptions) -> Result<Client, Error> {
        let r = Remote::parse(remote)?;
        if r.is_passive() {
            return Err(Error::BadRemote(remote.to_string()));
        }
        // DSCP 0, as Open vSwitch's clients (jsonrpc sessions) use.
        let s = connect_stream(&r, options.tls.as_ref(), 0).await?;
        Ok(Client::from_stream_with_probe(s, options.probe_interval))
    }

    /// Run the client protocol over any byte stream (spawns two tasks on the
    /// current tokio runtime). No inactivity probes are sent.
    pub fn from_stream<S>(stream: S) -> Client
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        Client::from_stream_with_probe(stream, None)
    }

    /// [`Client::from_stream`] with an inactivity probe of `probe`
    /// (`None` = off).
    pub fn from_stream_with_probe<S>(stream: S, probe: Option<Duration>) -> Client
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, mut wr) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
        let (ntx, nrx) = mpsc::unbounded_channel::<Notification>();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let p2 = pending.clone();
        // Weak: the connection closes once every Client clone is dropped.
        let tx2 = tx.downgrade();
        let close = Arc::new(tokio::sync::Notify::new());
        let close2 = close.clone();
        let reader = tokio::spawn(async move {
            let mut reader = MessageReader::new(rd);
            let mut probe_sent = false;
            loop {
                let next = match probe {
                    Some(p) => match tokio::time::timeout(p, reader.next()).await {
                        Ok(r) => r,
                        Err(_) if probe_sent => {
                            tracing::info!("no response to inactivity probe, disconnecting");
                            break;
                        }
                        Err(_) => {
                            probe_sent = true;
                            if let Some(tx) = tx2.upgrade() {
                                let _ = tx.send(request(json!("echo"), "echo", json!([])));
                            }
                            continue;
                        }
                    },
                    None => reader.next().await,
                };
                let Ok(Some(msg)) = next else { break };
                probe_sent = false;
                let id = msg.get("id").cloned().unwrap_or(Value::Null);
                if let Some(method) = msg.get("method").and_then(Value::as_str) {
                    let params = msg.get("params").cloned().unwrap_or(json!([]));
                    if method == "echo" && !id.is_null() {
                        if let Some(tx) = tx2.upgrade() {
                            let _ = tx.send(json!({"id": id, "result": params, "error": null}));
                        }
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
            // Connection over: close it (the writer owns the other half)
            // and fail everything still waiting.
            close2.notify_one();
            if let Some(m) = p2.lock().take() {
                for (_, w) in m {
                    let _ = w.send(Err(Error::Closed));
                }
            }
        });
        let reader = reader.abort_handle();
        tokio::spawn(async move {
            loop {
                let v = tokio::select! {
                    v = rx.recv() => v,
                    () = close.notified() => None,
                };
                // No Client left, or the connection is over.
                let Some(v) = v else { break };
                if write_message(&mut wr, &v).await.is_err() {
                    break;
                }
            }
            reader.abort();
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
