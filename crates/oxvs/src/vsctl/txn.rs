//! The pending transaction of one `oxvs vsctl` run, modelled on Open
//! vSwitch's IDL transaction (`lib/ovsdb-idl.c`): commands read a view of the
//! replica overlaid with their own writes, record the columns their decisions
//! depend on ("verify" → `wait` ops), insert rows under temporary UUIDs, and
//! delete rows; [`Txn::ops`] turns that into one RFC 7047 `transact`.
//!
//! Invariants: a row is either in the replica or in `inserted`, never both;
//! writes to a deleted row are dropped; a write equal to the replica's value
//! is not sent; when nothing but waits would be sent the transaction is
//! "unchanged" and not sent at all. References to inserted rows are sent as
//! `["named-uuid","row<uuid with _>"]`. As in the IDL, rows of non-root
//! tables are never deleted explicitly: dropping the last reference lets the
//! server's garbage collector remove them.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::{Atom, DatabaseSchema, Datum, Replica};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Columns of a row inserted by this transaction: name → value (every
/// schema column present).
pub type Row = BTreeMap<String, Datum>;

/// The uuid-name ovs-vsctl gives an inserted row (`row` + UUID, `-` → `_`).
pub fn row_name(u: &Uuid) -> String {
    format!("row{}", u.to_string().replace('-', "_"))
}

/// A transaction being built over a replica.
pub struct Txn<'a> {
    /// Schema of the database.
    pub schema: &'a DatabaseSchema,
    /// The replica as last received from the server.
    pub replica: &'a Replica,
    /// Rows inserted by this transaction: temporary UUID → (table, row).
    pub inserted: BTreeMap<Uuid, (String, Row)>,
    /// Insertion order of `inserted`.
    pub insert_order: Vec<Uuid>,
    /// New values of existing rows: (table, uuid) → column → value.
    pub writes: BTreeMap<(String, Uuid), BTreeMap<String, Datum>>,
    /// Existing rows deleted by this transaction.
    pub deleted: BTreeSet<(String, Uuid)>,
    /// Verified columns of existing rows.
    pub verifies: BTreeSet<(String, Uuid, String)>,
    /// Set when the `Open_vSwitch` table was empty and its row is inserted.
    pub ovs_table_was_empty: bool,
}

impl<'a> Txn<'a> {
    /// An empty transaction over `replica`.
    pub fn new(schema: &'a DatabaseSchema, replica: &'a Replica) -> Txn<'a> {
        Txn {
            schema,
            replica,
            inserted: BTreeMap::new(),
            insert_order: Vec::new(),
            writes: BTreeMap::new(),
            deleted: BTreeSet::new(),
            verifies: BTreeSet::new(),
            ovs_table_was_empty: false,
        }
    }

    fn default_row(&self, table: &str) -> Row {
        self.schema
            .tables
            .get(table)
            .map(|ts| {
                ts.columns
                    .iter()
                    .map(|(n, c)| (n.clone(), Datum::default_for(&c.type_)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// UUIDs of the visible rows of `table`, in UUID order (existing rows not
    /// deleted, then rows inserted by this transaction).
    pub fn rows(&self, table: &str) -> Vec<Uuid> {
        let mut v: Vec<Uuid> = self
            .replica
            .tables
            .get(table)
            .map(|t| {
                t.rows
                    .keys()
                    .filter(|u| !self.deleted.contains(&(table.to_string(), **u)))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        for u in &self.insert_order {
            if self.inserted.get(u).is_some_and(|(t, _)| t == table) {
                v.push(*u);
            }
        }
        v
    }

    /// True when `uuid` is a visible row of `table`.
    pub fn exists(&self, table: &str, uuid: &Uuid) -> bool {
        if let Some((t, _)) = self.inserted.get(uuid) {
            return t == table;
        }
        !self.deleted.contains(&(table.to_string(), *uuid))
            && self
                .replica
                .tables
                .get(table)
                .is_some_and(|t| t.rows.contains_key(uuid))
    }

    /// True when the row was inserted by this transaction.
    pub fn is_inserted(&self, uuid: &Uuid) -> bool {
        self.inserted.contains_key(uuid)
    }

    /// Current value of a column as this transaction sees it (the type's
    /// default for unknown rows/columns).
    pub fn get(&self, table: &str, uuid: &Uuid, column: &str) -> Datum {
        if let Some((_, row)) = self.inserted.get(uuid) {
            if let Some(d) = row.get(column) {
                return d.clone();
            }
        }
        if let Some(d) = self
            .writes
            .get(&(table.to_string(), *uuid))
            .and_then(|w| w.get(column))
        {
            return d.clone();
        }
        if let Some(d) = self
            .replica
            .tables
            .get(table)
            .and_then(|t| t.get(uuid))
            .and_then(|r| r.get(column))
        {
            return d.clone();
        }
        self.schema
            .tables
            .get(table)
            .and_then(|t| t.columns.get(column))
            .map(|c| Datum::default_for(&c.type_))
            .unwrap_or_else(Datum::empty_set)
    }

    /// A string column's value (`""` when empty).
    pub fn get_str(&self, table: &str, uuid: &Uuid, column: &str) -> String {
        self.get(table, uuid, column)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// A reference column's UUIDs.
    pub fn get_uuids(&self, table: &str, uuid: &Uuid, column: &str) -> Vec<Uuid> {
        self.get(table, uuid, column).uuids().collect()
    }

    /// Record that the transaction depends on the current value of a column
    /// (becomes a `wait` op; no-op for rows inserted by this transaction).
    pub fn verify(&mut self, table: &str, uuid: &Uuid, column: &str) {
        if !self.inserted.contains_key(uuid) {
            self.verifies
                .insert((table.to_string(), *uuid, column.to_string()));
        }
    }

    /// Set a column of a visible row.
    pub fn write(&mut self, table: &str, uuid: &Uuid, column: &str, value: Datum) {
        if let Some((_, row)) = self.inserted.get_mut(uuid) {
            row.insert(column.to_string(), value);
            return;
        }
        if self.deleted.contains(&(table.to_string(), *uuid)) {
            return;
        }
        self.writes
            .entry((table.to_string(), *uuid))
            .or_default()
            .insert(column.to_string(), value);
    }

    /// Insert a new row into `table` with all-default columns, under the
    /// temporary UUID `uuid` (a fresh one when `None`).
    pub fn insert(&mut self, table: &str, uuid: Option<Uuid>) -> Uuid {
        let u = uuid.unwrap_or_else(Uuid::new_v4);
        let row = self.default_row(table);
        self.inserted.insert(u, (table.to_string(), row));
        self.insert_order.push(u);
        u
    }

    /// Delete a row (inserted rows simply disappear).
    pub fn delete(&mut self, table: &str, uuid: &Uuid) {
        if self.inserted.remove(uuid).is_some() {
            self.insert_order.retain(|u| u != uuid);
            return;
        }
        self.writes.remove(&(table.to_string(), *uuid));
        self.deleted.insert((table.to_string(), *uuid));
    }

    /// JSON for a value, with references to inserted rows as named-uuids.
    pub fn datum_json(&self, d: &Datum) -> Value {
        let atom = |a: &Atom| match a {
            Atom::Uuid(u) if self.inserted.contains_key(u) => json!(["named-uuid", row_name(u)]),
            other => other.to_json(),
        };
        if let Some(values) = &d.values {
            let pairs: Vec<Value> = d
                .keys
                .iter()
                .zip(values)
                .map(|(k, v)| json!([atom(k), atom(v)]))
                .collect();
            json!(["map", pairs])
        } else if d.keys.len() == 1 {
            atom(&d.keys[0])
        } else {
            json!(["set", d.keys.iter().map(atom).collect::<Vec<_>>()])
        }
    }

    fn uuid_cond(&self, u: &Uuid) -> Value {
        if self.inserted.contains_key(u) {
            json!([["_uuid", "==", ["named-uuid", row_name(u)]]])
        } else {
            json!([["_uuid", "==", ["uuid", u.to_string()]]])
        }
    }

    /// The operations to send, or `None` when nothing would change.
    /// With `ovs_row` + `wait_for_reload`, appends `next_cfg += 1` and a
    /// `select next_cfg` (their results are the last two before the comment).
    pub fn ops(
        &self,
        ovs_row: Option<Uuid>,
        wait_for_reload: bool,
        comment: &str,
    ) -> Option<Vec<Value>> {
        let mut ops = Vec::new();
        let mut any_update = false;
        if self.ovs_table_was_empty {
            ops.push(
                json!({"op":"wait","table":"Open_vSwitch","where":[],"columns":[],
                            "until":"==","rows":[],"timeout":0}),
            );
        }
        // Verifies, grouped per row.
        let mut per_row: BTreeMap<(String, Uuid), Vec<String>> = BTreeMap::new();
        for (t, u, c) in &self.verifies {
            if self.deleted.contains(&(t.clone(), *u)) {
                continue;
            }
            if self
                .replica
                .tables
                .get(t)
                .is_some_and(|tt| tt.rows.contains_key(u))
            {
                per_row.entry((t.clone(), *u)).or_default().push(c.clone());
            }
        }
        for ((t, u), cols) in &per_row {
            let mut row = Map::new();
            for c in cols {
                let d = self
                    .replica
                    .tables
                    .get(t)
                    .and_then(|tt| tt.get(u))
                    .and_then(|r| r.get(c))
                    .cloned()
                    .unwrap_or_else(Datum::empty_set);
                row.insert(c.clone(), d.to_json());
            }
            ops.push(
                json!({"op":"wait","table":t,"where":self.uuid_cond(u),"columns":cols,
                            "until":"==","rows":[Value::Object(row)],"timeout":0}),
            );
        }
        for u in &self.insert_order {
            let Some((t, row)) = self.inserted.get(u) else {
                continue;
            };
            let mut r = Map::new();
            if let Some(ts) = self.schema.tables.get(t) {
                for (c, d) in row {
                    if let Some(cs) = ts.columns.get(c) {
                        if !d.is_default(&cs.type_) {
                            r.insert(c.clone(), self.datum_json(d));
                        }
                    }
                }
            }
            ops.push(
                json!({"op":"insert","table":t,"uuid-name":row_name(u),"row":Value::Object(r)}),
            );
            any_update = true;
        }
        for ((t, u), cols) in &self.writes {
            let old = self.replica.tables.get(t).and_then(|tt| tt.get(u));
            let Some(old) = old else { continue };
            let mut r = Map::new();
            for (c, d) in cols {
                if old.get(c) != Some(d) {
                    r.insert(c.clone(), self.datum_json(d));
                }
            }
            if !r.is_empty() {
                ops.push(json!({"op":"update","table":t,"where":self.uuid_cond(u),"row":Value::Object(r)}));
                any_update = true;
            }
        }
        for (t, u) in &self.deleted {
            let is_root = self.schema.tables.get(t).is_some_and(|ts| ts.is_root);
            if is_root
                && self
                    .replica
                    .tables
                    .get(t)
                    .is_some_and(|tt| tt.rows.contains_key(u))
            {
                ops.push(json!({"op":"delete","table":t,"where":self.uuid_cond(u)}));
                any_update = true;
            }
        }
        if !any_update {
            return None;
        }
        if let (Some(o), true) = (ovs_row, wait_for_reload) {
            ops.push(
                json!({"op":"mutate","table":"Open_vSwitch","where":self.uuid_cond(&o),
                            "mutations":[["next_cfg","+=",1]]}),
            );
            ops.push(
                json!({"op":"select","table":"Open_vSwitch","where":self.uuid_cond(&o),
                            "columns":["next_cfg"]}),
            );
        }
        ops.push(json!({"op":"comment","comment":comment}));
        Some(ops)
    }
}
