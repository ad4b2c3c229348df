//! OVSDB (RFC 7047): schema, typed data, transactions, monitors, the journal
//! on disk, and the JSON-RPC server and client.
