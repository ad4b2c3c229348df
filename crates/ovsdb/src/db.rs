//! The in-memory database: tables of rows keyed by `_uuid`, and the change
//! sets that committed transactions produce.
//!
//! Idea: a `Database` is a schema plus, per table, a `BTreeMap<Uuid,
//! Arc<Row>>`. Rows are immutable once shared (`Arc`), so a transaction works
//! on a cheap copy of the maps (pointer copies) and swaps it in only when every
//! operation and commit-time check passed — atomicity without an undo log.
//! Invariants: every row holds a `Datum` for every schema column (defaults
//! filled in) that satisfies the column type; `_version` changes whenever the
//! row's contents change. Performance assumption: a configuration database of
//! at most tens of thousands of rows; per-commit work is linear in its size.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::datum::Datum;
use crate::schema::{DatabaseSchema, TableSchema};

/// One row. `columns` has an entry for every column of the table schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `_uuid`.
    pub uuid: Uuid,
    /// `_version`: changes on every modification.
    pub version: Uuid,
    /// Column values by name (all schema columns, without `_uuid`/`_version`).
    pub columns: BTreeMap<String, Datum>,
}

impl Row {
    /// A row with every column at its default value.
    pub fn new_default(ts: &TableSchema, uuid: Uuid) -> Row {
        Row {
            uuid,
            version: Uuid::new_v4(),
            columns: ts
                .columns
                .iter()
                .map(|(n, c)| (n.clone(), Datum::default_for(&c.type_)))
                .collect(),
        }
    }

    /// A user column's value.
    pub fn get(&self, column: &str) -> Option<&Datum> {
        self.columns.get(column)
    }

    /// Any column's value, including `_uuid` and `_version` (made up;
    /// other columns borrowed).
    pub fn value(&self, column: &str) -> Option<Cow<'_, Datum>> {
        match column {
            "_uuid" => Some(Cow::Owned(Datum::scalar(self.uuid))),
            "_version" => Some(Cow::Owned(Datum::scalar(self.version))),
            c => self.columns.get(c).map(Cow::Borrowed),
        }
    }

    /// JSON object of the given columns (all user columns plus `_uuid` and
    /// `_version` when `columns` is `None`), RFC 7047 §5.1 `<row>`.
    pub fn to_json(&self, columns: Option<&[String]>) -> Value {
        let mut o = Map::new();
        match columns {
            None => {
                o.insert("_uuid".into(), Datum::scalar(self.uuid).to_json());
                o.insert("_version".into(), Datum::scalar(self.version).to_json());
                for (k, d) in &self.columns {
                    o.insert(k.clone(), d.to_json());
                }
            }
            Some(cols) => {
                for c in cols {
                    if let Some(d) = self.value(c) {
                        o.insert(c.clone(), d.to_json());
                    }
                }
            }
        }
        Value::Object(o)
    }

    /// True when the user columns are equal (ignores `_version`).
    pub fn same_contents(&self, other: &Row) -> bool {
        self.columns == other.columns
    }
}

/// The rows of one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Rows keyed by `_uuid`.
    pub rows: BTreeMap<Uuid, Arc<Row>>,
}

impl Table {
    /// Look up a row.
    pub fn get(&self, uuid: &Uuid) -> Option<&Arc<Row>> {
        self.rows.get(uuid)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Iterate over rows in `_uuid` order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Row>> + '_ {
        self.rows.values()
    }
}

/// A database: its schema and one [`Table`] per schema table.
#[derive(Debug, Clone)]
pub struct Database {
    /// The schema (shared with monitors, the journal and the server).
    pub schema: Arc<DatabaseSchema>,
    /// Tables by name; every schema table has an entry.
    pub tables: BTreeMap<String, Table>,
}

impl Database {
    /// An empty database for `schema`.
    pub fn new(schema: DatabaseSchema) -> Database {
        Database::with_schema(Arc::new(schema))
    }

    /// An empty database sharing an existing schema.
    pub fn with_schema(schema: Arc<DatabaseSchema>) -> Database {
        let tables = schema
            .tables
            .keys()
            .map(|k| (k.clone(), Table::default()))
            .collect();
        Database { schema, tables }
    }

    /// The database name (schema name).
    pub fn name(&self) -> &str {
        &self.schema.name
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// A row by table and uuid.
    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Arc<Row>> {
        self.tables.get(table).and_then(|t| t.rows.get(uuid))
    }

    /// Apply an already-validated change set (used by journal replay and the
    /// IDL replica): inserts/replaces `new` rows, removes rows whose `new` is
    /// `None`.
    pub fn apply_changes(&mut self, changes: &Changes) {
        for (tn, rows) in &changes.tables {
            let Some(t) = self.tables.get_mut(tn) else {
                continue;
            };
            for (u, rc) in rows {
                match &rc.new {
                    Some(r) => {
                        t.rows.insert(*u, r.clone());
                    }
                    None => {
                        t.rows.remove(u);
                    }
                }
            }
        }
    }

    /// The whole database as a change set of insertions (used for the
    /// `initial` part of monitors and for journal compaction).
    pub fn as_insertions(&self) -> Changes {
        let mut c = Changes::default();
        for (tn, t) in &self.tables {
            let m: BTreeMap<Uuid, RowChange> = t
                .rows
                .iter()
                .map(|(u, r)| {
                    (
                        *u,
                        RowChange {
                            old: None,
                            new: Some(r.clone()),
                        },
                    )
                })
                .collect();
            if !m.is_empty() {
                c.tables.insert(tn.clone(), m);
            }
        }
        c
    }

    /// True when both databases hold the same rows with the same contents
    /// (ignores `_version`).
    pub fn same_contents(&self, other: &Database) -> bool {
        self.tables.len() == other.tables.len()
            && self.tables.iter().all(|(n, t)| {
                other.tables.get(n).is_some_and(|o| {
                    t.rows.len() == o.rows.len()
                        && t.rows
                            .iter()
                            .all(|(u, r)| o.rows.get(u).is_some_and(|x| x.same_contents(r)))
                })
            })
    }
}

/// The before/after images of one row in a committed transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// Row before the transaction (`None` = inserted).
    pub old: Option<Arc<Row>>,
    /// Row after the transaction (`None` = deleted).
    pub new: Option<Arc<Row>>,
}

/// The rows a committed transaction changed: table → `_uuid` → change.
/// Unchanged rows never appear; empty tables are omitted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Per table, per row.
    pub tables: BTreeMap<String, BTreeMap<Uuid, RowChange>>,
}

impl Changes {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(|t| t.is_empty())
    }
}
