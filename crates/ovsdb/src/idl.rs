//! The IDL: a client-side replica of (part of) a database, kept current by a
//! monitor — what `oxvs vsctl` and the switch's reconciler read.
//!
//! Idea: `Idl::connect` fetches the schema, registers a `monitor_cond`
//! (falling back to v1 `monitor` if the server rejects it) for the requested
//! tables/columns, and applies the initial contents. Every later
//! `update`/`update2` notification is applied to the replica in arrival
//! order. Invariant: every replica row has a value for every column of its
//! table (unmonitored columns and omitted defaults hold the type's default),
//! so readers never see a missing column. `transact` applies the
//! notifications that arrived before its reply, so after it returns the
//! replica reflects the transaction's own effects.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::client::{Client, Notification};
use crate::datum::Datum;
use crate::db::{Changes, Database, Row, RowChange};
use crate::monitor::MonitorVersion;
use crate::schema::DatabaseSchema;
use crate::Error;

/// The replicated rows: a [`Database`] whose rows carry every column.
pub type Replica = Database;

/// A database replica kept current through a monitor.
pub struct Idl {
    client: Client,
    notifications: mpsc::UnboundedReceiver<Notification>,
    db_name: String,
    monitor_id: Value,
    version: MonitorVersion,
    replica: Replica,
    /// Changes applied by [`Idl::transact`] (notifications that arrived
    /// before its reply) that no caller has seen yet.
    unseen: Changes,
}

impl Idl {
    /// Fetch `db_name`'s schema and monitor `tables` (`None` = every column
    /// of every table; each entry `(table, columns)`, where an empty column
    /// list monitors only the rows' existence). Errors: RPC errors
    /// (`Error::Rpc`, e.g. unknown database), `Error::Closed`,
    /// `Error::Syntax` for an unusable schema or unknown table.
    pub async fn connect(
        client: Client,
        db_name: &str,
        tables: Option<Vec<(String, Vec<String>)>>,
    ) -> Result<Idl, Error> {
        let notifications = client
            .take_notifications()
            .ok_or_else(|| Error::Syntax("client notifications already taken".into()))?;
        let sj = client.request("get_schema", json!([db_name])).await?;
        let schema = Arc::new(DatabaseSchema::from_json(&sj)?);
        let mut reqs = serde_json::Map::new();
        match &tables {
            None => {
                for t in schema.tables.keys() {
                    reqs.insert(t.clone(), json!([{}]));
                }
            }
            Some(list) => {
                for (t, cols) in list {
                    if !schema.tables.contains_key(t) {
                        return Err(Error::Syntax(format!("no table named {t}")));
                    }
                    reqs.insert(t.clone(), json!([{"columns": cols}]));
                }
            }
        }
        let monitor_id = json!(["oxvs-idl", db_name]);
        let reqs = Value::Object(reqs);
        let (version, initial) = match client
            .request("monitor_cond", json!([db_name, monitor_id, reqs]))
            .await
        {
            Ok(v) => (MonitorVersion::V2, v),
            Err(Error::Rpc(_)) => {
                let v = client
                    .request("monitor", json!([db_name, monitor_id, reqs]))
                    .await?;
                (MonitorVersion::V1, v)
            }
            Err(e) => return Err(e),
        };
        let mut idl = Idl {
            client,
            notifications,
            db_name: db_name.to_string(),
            monitor_id,
            version,
            replica: Database::with_schema(schema),
            unseen: Changes::default(),
        };
        apply_table_updates(&mut idl.replica, version, &initial)?;
        Ok(idl)
    }

    /// The schema the server reported.
    pub fn schema(&self) -> &DatabaseSchema {
        &self.replica.schema
    }

    /// The replica.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The underlying connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The monitored database's name.
    pub fn db_name(&self) -> &str {
        &self.db_name
    }

    /// The monitor flavour in use (V2 unless the server lacks `monitor_cond`).
    pub fn monitor_version(&self) -> MonitorVersion {
        self.version
    }

    fn handle(&mut self, n: &Notification) -> Result<Option<Changes>, Error> {
        let method_ok = matches!(
            (self.version, n.method.as_str()),
            (MonitorVersion::V1, "update")
                | (MonitorVersion::V2, "update2")
                | (MonitorVersion::V3, "update3")
        );
        if !method_ok || n.params.get(0) != Some(&self.monitor_id) {
            return Ok(None);
        }
        let idx = if self.version == MonitorVersion::V3 {
            2
        } else {
            1
        };
        let updates = n.params.get(idx).cloned().unwrap_or(json!({}));
        apply_table_updates(&mut self.replica, self.version, &updates).map(Some)
    }

    /// Wait for the next update notification of this monitor and apply it;
    /// returns the rows it changed. Errors: `Error::Closed` when the
    /// connection ends.
    pub async fn wait_for_change(&mut self) -> Result<Changes, Error> {
        loop {
            let n = self.notifications.recv().await.ok_or(Error::Closed)?;
            if let Some(c) = self.handle(&n)? {
                return Ok(c);
            }
        }
    }

    /// Apply every notification already received, without waiting; returns
    /// the combined changes (possibly empty).
    pub fn poll_changes(&mut self) -> Result<Changes, Error> {
        let mut all = Changes::default();
        while let Ok(n) = self.notifications.try_recv() {
            if let Some(c) = self.handle(&n)? {
                merge_changes(&mut all, c);
            }
        }
        Ok(all)
    }

    /// The changes [`Idl::transact`] applied to the replica while waiting
    /// for its reply (the transaction's own and anyone else's that came
    /// first), since the last call. A caller that reacts to changes must
    /// look at these too: they will not be returned by
    /// [`Idl::wait_for_change`].
    pub fn take_unseen(&mut self) -> Changes {
        std::mem::take(&mut self.unseen)
    }

    /// Run a transaction (`ops` without the database name) and return the
    /// result array (RFC 7047 §4.1.3; inspect it for per-operation errors).
    /// Notifications that arrived before the reply are applied first.
    /// Errors: `Error::Rpc` for a JSON-RPC level error, `Error::Closed`.
    pub async fn transact(&mut self, ops: Vec<Value>) -> Result<Vec<Value>, Error> {
        let mut params = Vec::with_capacity(ops.len() + 1);
        params.push(json!(self.db_name));
        params.extend(ops);
        let r = self
            .client
            .request("transact", Value::Array(params))
            .await?;
        // Other clients' changes may have arrived with ours: keep them for
        // the caller (see take_unseen) instead of losing them.
        let c = self.poll_changes()?;
        merge_changes(&mut self.unseen, c);
        match r {
            Value::Array(a) => Ok(a),
            other => Err(Error::Syntax(format!(
                "transact reply is not an array: {other}"
            ))),
        }
    }
}

fn merge_changes(all: &mut Changes, c: Changes) {
    for (t, rows) in c.tables {
        let e = all.tables.entry(t).or_default();
        for (u, rc) in rows {
            match e.get_mut(&u) {
                Some(prev) => prev.new = rc.new,
                None => {
                    e.insert(u, rc);
                }
            }
        }
    }
}

/// Apply `<table-updates>` (v1) or `<table-updates2>` (v2/v3) to a replica;
/// returns the resulting row changes. Errors: `Error::Syntax` for malformed
/// updates.
pub fn apply_table_updates(
    replica: &mut Replica,
    version: MonitorVersion,
    updates: &Value,
) -> Result<Changes, Error> {
    let o = updates
        .as_object()
        .ok_or_else(|| Error::Syntax("table-updates must be an object".into()))?;
    let schema = replica.schema.clone();
    let mut changes = Changes::default();
    for (tn, rows) in o {
        let Some(ts) = schema.tables.get(tn) else {
            continue;
        };
        let rows = rows
            .as_object()
            .ok_or_else(|| Error::Syntax("table-update must be an object".into()))?;
        let Some(t) = replica.tables.get_mut(tn) else {
            continue;
        };
        let mut tc = BTreeMap::new();
        for (us, ru) in rows {
            let u = Uuid::parse_str(us).map_err(|_| Error::Syntax(format!("bad row uuid {us}")))?;
            let old = t.rows.get(&u).cloned();
            let set_cols = |row: &mut Row, cols: &Value, diff: bool| -> Result<(), Error> {
                let Some(cols) = cols.as_object() else {
                    return Ok(());
                };
                for (c, v) in cols {
                    if c == "_version" {
                        if let Some(x) = v
                            .get(1)
                            .and_then(Value::as_str)
                            .and_then(|s| Uuid::parse_str(s).ok())
                        {
                            row.version = x;
                        }
                        continue;
                    }
                    let Some(cs) = ts.columns.get(c) else {
                        continue;
                    };
                    if diff && !cs.type_.max_is_one() {
                        let d = Datum::from_json(v, &cs.type_.relaxed(), &|_| None)?;
                        let cur = row
                            .columns
                            .get(c)
                            .cloned()
                            .unwrap_or_else(|| Datum::default_for(&cs.type_));
                        row.columns.insert(c.clone(), cur.apply_diff(&d));
                    } else {
                        let d = Datum::from_json(v, &cs.type_, &|_| None)?;
                        row.columns.insert(c.clone(), d);
                    }
                }
                Ok(())
            };
            let new: Option<Row> = match version {
                MonitorVersion::V1 => match ru.get("new") {
                    Some(n) => {
                        let mut row = old
                            .as_deref()
                            .cloned()
                            .unwrap_or_else(|| Row::new_default(ts, u));
                        set_cols(&mut row, n, false)?;
                        Some(row)
                    }
                    None => None,
                },
                _ => {
                    if let Some(n) = ru.get("initial").or_else(|| ru.get("insert")) {
                        let mut row = Row::new_default(ts, u);
                        set_cols(&mut row, n, false)?;
                        Some(row)
                    } else if let Some(m) = ru.get("modify") {
                        let mut row = old
                            .as_deref()
                            .cloned()
                            .unwrap_or_else(|| Row::new_default(ts, u));
                        set_cols(&mut row, m, true)?;
                        Some(row)
                    } else if ru.get("delete").is_some() {
                        None
                    } else {
                        return Err(Error::Syntax(format!("bad row-update2 {ru}")));
                    }
                }
            };
            let new = new.map(Arc::new);
            match &new {
                Some(r) => {
                    t.rows.insert(u, r.clone());
                }
                None => {
                    t.rows.remove(&u);
                }
            }
            tc.insert(u, RowChange { old, new });
        }
        if !tc.is_empty() {
            changes.tables.insert(tn.clone(), tc);
        }
    }
    Ok(changes)
}
