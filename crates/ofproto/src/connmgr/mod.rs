//! The OpenFlow connection manager (OVS `ofproto/connmgr.c`, `fail-open.c`
//! and `pinsched.c` with the parts of `lib/vconn.c` and `lib/rconn.c` it
//! needs): listeners per bridge, connections to controllers, fail modes,
//! and one task per OpenFlow connection.
//!
//! Idea: every bridge always listens on `punix:<rundir>/<bridge>.mgmt`, plus
//! the passive targets of its Controller rows (`ptcp:PORT[:IP]`,
//! `punix:PATH`: service connections, as `ovs-ofctl` uses), and connects to
//! the active ones (`tcp:IP[:PORT]`, `ssl:IP[:PORT]`, `unix:PATH`: primary
//! controllers, [`rconn`]), reconnecting with backoff and probing idle
//! sessions. `Bridge.fail_mode` decides what happens to the flow table
//! when controllers come and go ([`fail_open`]). Control traffic is
//! out-of-band only: the switch reaches its controllers through the host's
//! own network stack and installs no hidden in-band flows, so
//! `connection_mode=in-band` behaves as `out-of-band`. Each connection is
//! two tokio tasks: a *reader*
//! that frames messages by the header length, negotiates the version,
//! answers requests in arrival order through the bridge's [`SwitchOps`], and
//! relays the bridge's asynchronous events (packet-in, flow-removed,
//! port-status) filtered by the connection's own settings; and a *writer*
//! that drains the connection's bounded output queue into the socket.
//!
//! Invariants: replies leave in request order (one queue, one writer), so
//! the error for a request always precedes the barrier reply that follows
//! it; a reply is never dropped (the reader waits for queue space, which
//! stalls only this connection's reads; on a controller's connection for at
//! most two probe intervals, then the connection closes); an asynchronous
//! message is dropped
//! and counted when the queue is full, so a slow client never blocks the
//! event source (a `tokio::sync::broadcast` channel whose senders never
//! wait) nor any other connection. Untrusted bytes never panic: every length
//! is checked in [`wire`] or by the codec.
//!
//! Performance: nothing here is on the datapath's per-packet path; a
//! request costs one decode, one `SwitchOps` call and one encode.

mod conn;
pub mod fail_open;
mod features;
mod listener;
mod ops;
pub mod pinsched;
pub mod rconn;
pub mod wire;

#[cfg(test)]
mod tests;

pub use conn::{CloseReason, ConnKind, ConnStats};
pub use fail_open::FailMode;
pub use listener::{ConnMgr, ControllerConfig, OfBridgeConfig, Target};
pub use ops::{AsyncEvent, BackerOps, SwitchOps};
pub use rconn::{ActiveTarget, BoxStream, ControllerStatus, SslConnect, SslFuture};
