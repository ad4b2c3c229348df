//! OVSDB (RFC 7047): schema, typed data, transactions, monitors, the journal
//! on disk, and the JSON-RPC server and client.
//!
//! Layers, bottom up: [`schema`] (parsed `.ovsschema`), [`datum`] (typed
//! values), [`db`] (rows and tables) with [`transaction`] (the RFC 7047 §5.2
//! operations and commit-time checks), [`monitor`] (update/update2/update3
//! notifications from committed change sets), [`journal`] (Open vSwitch's
//! standalone log file format), [`jsonrpc`] (framing), [`remote`] names
//! and [`tls`] settings, [`server`] and [`client`]/[`idl`] (tokio).

pub mod client;
pub mod condition;
pub mod datum;
pub mod db;
pub mod idl;
pub mod journal;
pub mod jsonrpc;
pub mod monitor;
pub mod remote;
pub mod schema;
pub mod server;
pub mod text;
pub mod tls;
pub mod tool;
pub mod transaction;

pub use client::{Client, ClientOptions};
pub use datum::{Atom, Datum};
pub use db::{Changes, Database, Row, RowChange, Table};
pub use idl::{Idl, Replica};
pub use journal::Journal;
pub use remote::{Remote, RemoteOptions, RemoteStatus};
pub use schema::{
    AtomicType, BaseType, ColumnSchema, ColumnType, DatabaseSchema, RefType, TableSchema,
};
pub use server::{RemoteHandle, Server};
pub use tls::{TlsConfig, TlsFiles, TlsSettings};
pub use transaction::TxnResult;

use serde_json::{json, Value};

/// Errors of this crate. The first group maps one-to-one onto RFC 7047
/// error strings (see [`Error::rfc7047_name`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// RFC 7047 "syntax error": malformed request or value.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// RFC 7047 "constraint violation".
    #[error("constraint violation: {0}")]
    Constraint(String),
    /// RFC 7047 "referential integrity violation".
    #[error("referential integrity violation: {0}")]
    ReferentialIntegrity(String),
    /// RFC 7047 "unknown column" (details: `No column X in table Y.`).
    #[error("unknown column: {0}")]
    UnknownColumn(String),
    /// RFC 7047 "unknown database".
    #[error("unknown database: {0}")]
    UnknownDatabase(String),
    /// ovsdb-server's "unknown function" (a condition's function is not one
    /// of RFC 7047 §5.1's; details `No function named X.`).
    #[error("unknown function: {0}")]
    UnknownFunction(String),
    /// A file or socket error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// JSON text that does not parse.
    #[error("JSON parse error: {0}")]
    Json(#[from] serde_json::Error),
    /// A journal file that cannot be used (bad header, schema mismatch...).
    #[error("journal: {0}")]
    Journal(String),
    /// Connecting to a remote failed; the text matches ovs-vsctl's
    /// `database connection failed (Connection refused)`.
    #[error("database connection failed ({0})")]
    ConnectionFailed(String),
    /// A JSON-RPC error reply (the `error` member).
    #[error("RPC error: {0}")]
    Rpc(Value),
    /// An operation failed inside a transaction (the RFC 7047 error object).
    #[error("transaction error: {0}")]
    Transaction(Value),
    /// The connection was closed.
    #[error("connection closed")]
    Closed,
    /// A bad remote name (not `unix:PATH` / `tcp:IP:PORT`).
    #[error("invalid remote {0:?}")]
    BadRemote(String),
    /// TLS cannot be set up: unreadable or unusable key/certificate files,
    /// or an SSL remote without an SSL configuration.
    #[error("SSL: {0}")]
    Tls(String),
}

impl Error {
    /// The RFC 7047 error string for this error (`"syntax error"`, ...).
    pub fn rfc7047_name(&self) -> &'static str {
        match self {
            Error::Syntax(_) | Error::Json(_) => "syntax error",
            Error::Constraint(_) => "constraint violation",
            Error::ReferentialIntegrity(_) => "referential integrity violation",
            Error::UnknownDatabase(_) => "unknown database",
            Error::UnknownColumn(_) => "unknown column",
            Error::UnknownFunction(_) => "unknown function",
            Error::Io(_) | Error::Journal(_) => "I/O error",
            _ => "internal error",
        }
    }

    /// The details text (without the error name).
    pub fn details(&self) -> String {
        match self {
            Error::Syntax(s)
            | Error::Constraint(s)
            | Error::ReferentialIntegrity(s)
            | Error::UnknownDatabase(s)
            | Error::UnknownColumn(s)
            | Error::UnknownFunction(s)
            | Error::Journal(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// RFC 7047 §3.1 error object `{"error":..., "details":...}`.
    pub fn to_json(&self) -> Value {
        json!({"error": self.rfc7047_name(), "details": self.details()})
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
