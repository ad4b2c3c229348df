//! The OpenFlow connection manager (OVS `ofproto/connmgr.c` with the parts
//! of `lib/vconn.c` and `lib/rconn.c` it needs): listeners per bridge and
//! one task per OpenFlow connection.
//!
//! Idea: every bridge always listens on `punix:<rundir>/<bridge>.mgmt`, plus
//! the passive targets of its Controller rows (`ptcp:PORT[:IP]`,
//! `punix:PATH`). Each accepted connection is two tokio tasks: a *reader*
//! that frames messages by the header length, negotiates the version,
//! answers requests in arrival order through the bridge's [`SwitchOps`], and
//! relays the bridge's asynchronous events (packet-in, flow-removed,
//! port-status) filtered by the connection's own settings; and a *writer*
//! that drains the connection's bounded output queue into the socket.
//!
//! Invariants: replies leave in request order (one queue, one writer), so
//! the error for a request always precedes the barrier reply that follows
//! it; a reply is never dropped (the reader waits for queue space, which
//! stalls only this connection's reads); an asynchronous message is dropped
//! and counted when the queue is full, so a slow client never blocks the
//! event source (a `tokio::sync::broadcast` channel whose senders never
//! wait) nor any other connection. Untrusted bytes never panic: every length
//! is checked in [`wire`] or by the codec.
//!
//! Performance: nothing here is on the datapath's per-packet path; a
//! request costs one decode, one `SwitchOps` call and one encode.

mod conn;
mod features;
mod listener;
mod ops;
pub mod wire;

#[cfg(test)]
mod tests;

pub use conn::{ConnKind, ConnStats};
pub use listener::{ConnMgr, OfBridgeConfig, Target};
pub use ops::{AsyncEvent, BackerOps, SwitchOps};
