//! The transaction engine: RFC 7047 §4.1.3 `transact` and the §5.2
//! operations, with the commit-time checks of Open vSwitch's ovsdb-server.
//!
//! Idea: copy the table maps (pointer copies of `Arc<Row>`), run the
//! operations in order against the copy while recording which rows were
//! touched, then run the commit-time checks on the copy — garbage collection
//! of unreferenced non-root rows (transitively), referential integrity of
//! strong references, removal of dangling weak references, `maxRows`, and
//! `indexes` — and finally swap the copy in. Any failure leaves the database
//! untouched. Forward `named-uuid` references work because all `uuid-name`s of
//! the transaction are assigned UUIDs before the first operation runs.
//! Invariants: the result array has one entry per operation (error object for
//! the failing one, `null` after it) plus one trailing error for commit-time
//! failures. Performance assumption: commit-time checks scan the tables that
//! hold references (linear in database size), fine for configuration data.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::condition::Condition;
use crate::datum::{Atom, Datum};
use crate::db::{Changes, Database, Row, RowChange, Table};
use crate::schema::{AtomicType, ColumnType, TableSchema};
use crate::Error;

/// What `transact` produced.
#[derive(Debug, Clone)]
pub struct TxnResult {
    /// The JSON `result` array of RFC 7047 §4.1.3.
    pub results: Value,
    /// On success, the rows that changed (possibly empty); `None` on failure.
    pub changes: Option<Changes>,
    /// Texts of `comment` operations (for the journal's `_comment`).
    pub comments: Vec<String>,
    /// True when a `commit` operation asked for `durable: true`.
    pub durable: bool,
}

impl TxnResult {
    /// True when the transaction committed.
    pub fn is_ok(&self) -> bool {
        self.changes.is_some()
    }

    /// The first error object in the result array, if any.
    pub fn error(&self) -> Option<&Value> {
        self.results
            .as_array()
            .and_then(|a| a.iter().find(|r| r.get("error").is_some()))
    }
}

/// An RFC 7047 error object under construction.
#[derive(Debug, Clone)]
struct OpError {
    error: String,
    details: String,
    syntax: Option<String>,
}

impl OpError {
    fn new(error: &str, details: impl Into<String>) -> OpError {
        OpError {
            error: error.to_string(),
            details: details.into(),
            syntax: None,
        }
    }
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("error".into(), self.error.clone().into());
        o.insert("details".into(), self.details.clone().into());
        if let Some(s) = &self.syntax {
            o.insert("syntax".into(), s.clone().into());
        }
        Value::Object(o)
    }
}

/// "unknown column" for column `col` of `row` (a row object) in `table`,
/// with the row as `syntax`, as ovsdb_row_from_json reports it.
fn unknown_column(row: &Value, col: &str, table: &str) -> OpError {
    OpError {
        syntax: Some(crate::jsonrpc::to_string_sorted(row)),
        ..OpError::new(
            "unknown column",
            format!("No column {col} in table {table}."),
        )
    }
}

impl From<Error> for OpError {
    fn from(e: Error) -> OpError {
        OpError::new(e.rfc7047_name(), e.details())
    }
}

/// Per-operation parse context: produces "Parsing ovsdb operation N of M
/// failed: ..." syntax errors as ovsdb-server does.
struct OpCtx<'a> {
    op: &'a Map<String, Value>,
    raw: &'a Value,
    index: usize,
    total: usize,
}

impl OpCtx<'_> {
    fn perr(&self, msg: impl std::fmt::Display) -> OpError {
        OpError {
            error: "syntax error".into(),
            details: format!(
                "Parsing ovsdb operation {} of {} failed: {}",
                self.index + 1,
                self.total,
                msg
            ),
            syntax: Some(crate::jsonrpc::to_string_sorted(self.raw)),
        }
    }
    fn allow(&self, members: &[&str]) -> Result<(), OpError> {
        for k in self.op.keys() {
            if k != "op" && !members.contains(&k.as_str()) {
                return Err(self.perr(format_args!(
                    "Member '{k}' is present but not allowed here."
                )));
            }
        }
        Ok(())
    }
    fn req(&self, name: &str) -> Result<&Value, OpError> {
        self.op
            .get(name)
            .ok_or_else(|| self.perr(format_args!("Required '{name}' member is missing.")))
    }
    fn str(&self, name: &str) -> Result<&str, OpError> {
        self.req(name)?
            .as_str()
            .ok_or_else(|| self.perr(format_args!("Type mismatch for member '{name}'.")))
    }
    fn opt_str(&self, name: &str) -> Result<Option<&str>, OpError> {
        match self.op.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| self.perr(format_args!("Type mismatch for member '{name}'."))),
        }
    }
    fn array(&self, name: &str) -> Result<&Vec<Value>, OpError> {
        self.req(name)?
            .as_array()
            .ok_or_else(|| self.perr(format_args!("Type mismatch for member '{name}'.")))
    }
    fn table<'s>(
        &self,
        schema: &'s crate::schema::DatabaseSchema,
    ) -> Result<&'s TableSchema, OpError> {
        let name = self.str("table")?;
        schema
            .tables
            .get(name)
            .ok_or_else(|| self.perr(format_args!("No table named {name}.")))
    }
}

struct Txn<'a> {
    base: &'a Database,
    work: BTreeMap<String, Table>,
    touched: BTreeMap<String, BTreeSet<Uuid>>,
    named: HashMap<String, Uuid>,
    comments: Vec<String>,
    durable: bool,
    has_lock: &'a dyn Fn(&str) -> bool,
}

impl Database {
    /// Execute an RFC 7047 `transact` (the operations after the database
    /// name) with no locks held. See [`Database::transact_with_locks`].
    pub fn transact(&mut self, ops: &[Value]) -> TxnResult {
        self.transact_with_locks(ops, &|_| false)
    }

    /// Execute an RFC 7047 `transact`; `has_lock(name)` tells whether the
    /// calling session owns lock `name` (for `assert`). Atomic: on any error
    /// nothing changes. `wait` with a condition that is not met fails with
    /// "timed out" here, whatever its `timeout`; the [`crate::server`]
    /// keeps such a transaction and retries it after each commit until its
    /// timeout passes (RFC 7047 §5.2.6).
    pub fn transact_with_locks(
        &mut self,
        ops: &[Value],
        has_lock: &dyn Fn(&str) -> bool,
    ) -> TxnResult {
        let mut txn = Txn {
            base: self,
            work: self.tables.clone(),
            touched: BTreeMap::new(),
            named: HashMap::new(),
            comments: Vec::new(),
            durable: false,
            has_lock,
        };
        // Pre-assign UUIDs to every uuid-name so later ops can be referenced.
        let mut dup_names = BTreeSet::new();
        for (i, op) in ops.iter().enumerate() {
            if op.get("op").and_then(Value::as_str) != Some("insert") {
                continue;
            }
            if let Some(name) = op.get("uuid-name").and_then(Value::as_str) {
                let u = op
                    .get("uuid")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .unwrap_or_else(Uuid::new_v4);
                if txn.named.contains_key(name) {
                    dup_names.insert(i);
                } else {
                    txn.named.insert(name.to_string(), u);
                }
            }
        }
        let mut results = Vec::with_capacity(ops.len() + 1);
        let mut failed = false;
        for (i, op) in ops.iter().enumerate() {
            if failed {
                results.push(Value::Null);
                continue;
            }
            let r = if dup_names.contains(&i) {
                Err(OpError::new(
                    "duplicate uuid-name",
                    "This \"uuid-name\" appeared on an earlier \"insert\" operation.",
                ))
            } else {
                txn.execute(op, i, ops.len())
            };
            match r {
                Ok(v) => results.push(v),
                Err(e) => {
                    results.push(e.to_json());
                    failed = true;
                }
            }
        }
        if failed {
            return TxnResult {
                results: Value::Array(results),
                changes: None,
                comments: txn.comments,
                durable: false,
            };
        }
        match txn.commit() {
            Ok(changes) => {
                let Txn {
                    work,
                    comments,
                    durable,
                    ..
                } = txn;
                self.tables = work;
                TxnResult {
                    results: Value::Array(results),
                    changes: Some(changes),
                    comments,
                    durable,
                }
            }
            Err(e) => {
                results.push(e.to_json());
                TxnResult {
                    results: Value::Array(results),
                    changes: None,
                    comments: txn.comments,
                    durable: false,
                }
            }
        }
    }
}

fn parse_row(
    ts: &TableSchema,
    j: &Value,
    named: &dyn Fn(&str) -> Option<Uuid>,
    for_update: bool,
) -> Result<Vec<(String, Datum)>, OpError> {
    let o = j
        .as_object()
        .ok_or_else(|| OpError::new("syntax error", format!("row must be an object: {j}")))?;
    let mut out = Vec::with_capacity(o.len());
    for (k, v) in o {
        let col = ts.column(k).ok_or_else(|| unknown_column(j, k, &ts.name))?;
        if k.starts_with('_') {
            return Err(OpError::new(
                if for_update {
                    "constraint violation"
                } else {
                    "syntax error"
                },
                format!("Cannot update immutable column {k} in table {}.", ts.name),
            ));
        }
        if for_update && !col.mutable {
            return Err(OpError::new(
                "constraint violation",
                format!("Cannot update immutable column {k} in table {}.", ts.name),
            ));
        }
        let d = Datum::from_json(v, &col.type_, named)?;
        out.push((k.clone(), d));
    }
    Ok(out)
}

fn parse_columns(ts: &TableSchema, j: Option<&Value>) -> Result<Option<Vec<String>>, OpError> {
    let Some(j) = j else { return Ok(None) };
    let arr = j
        .as_array()
        .ok_or_else(|| OpError::new("syntax error", "\"columns\" must be an array"))?;
    let mut cols = Vec::with_capacity(arr.len());
    for c in arr {
        let c = c
            .as_str()
            .ok_or_else(|| OpError::new("syntax error", "column name must be a string"))?;
        if ts.column(c).is_none() {
            return Err(OpError::new(
                "unknown column",
                format!("No column {c} in table {}.", ts.name),
            ));
        }
        if !cols.iter().any(|x: &String| x == c) {
            cols.push(c.to_string());
        }
    }
    Ok(Some(cols))
}

impl Txn<'_> {
    fn named_fn(&self) -> impl Fn(&str) -> Option<Uuid> + '_ {
        |n: &str| self.named.get(n).copied()
    }

    fn touch(&mut self, table: &str, u: Uuid) {
        self.touched.entry(table.to_string()).or_default().insert(u);
    }

    /// Rows of `table` matching `cond` (all clauses), in `_uuid` order.
    fn select(&self, table: &str, cond: &Condition) -> Vec<Uuid> {
        let Some(t) = self.work.get(table) else {
            return Vec::new();
        };
        if let Some(u) = cond.uuid_eq() {
            return t
                .rows
                .get(&u)
                .filter(|r| cond.matches_all(r))
                .map(|_| vec![u])
                .unwrap_or_default();
        }
        t.rows
            .iter()
            .filter(|(_, r)| cond.matches_all(r))
            .map(|(u, _)| *u)
            .collect()
    }

    fn parse_where(&self, ctx: &OpCtx, ts: &TableSchema) -> Result<Condition, OpError> {
        let w = ctx.req("where")?;
        if !w.is_array() {
            return Err(ctx.perr("Type mismatch for member 'where'."));
        }
        let named = self.named_fn();
        Ok(Condition::from_json(w, ts, &named)?)
    }

    fn execute(&mut self, raw: &Value, index: usize, total: usize) -> Result<Value, OpError> {
        let dummy = Map::new();
        let obj = raw.as_object();
        let ctx = OpCtx {
            op: obj.unwrap_or(&dummy),
            raw,
            index,
            total,
        };
        if obj.is_none() {
            return Err(ctx.perr("Operation must be a JSON object."));
        }
        let schema = self.base.schema.clone();
        let opname = ctx.str("op")?;
        match opname {
            "insert" => {
                ctx.allow(&["table", "row", "uuid-name", "uuid"])?;
                let ts = ctx.table(&schema)?;
                let name = ctx.opt_str("uuid-name")?;
                let given = match ctx.opt_str("uuid")? {
                    None => None,
                    Some(s) => Some(
                        Uuid::parse_str(s)
                            .map_err(|_| ctx.perr(format_args!("\"{s}\" is not a valid UUID")))?,
                    ),
                };
                let u = match name {
                    Some(n) => self.named.get(n).copied().unwrap_or_else(Uuid::new_v4),
                    None => given.unwrap_or_else(Uuid::new_v4),
                };
                let empty = json!({});
                let rowj = ctx.op.get("row").unwrap_or(&empty);
                let vals = {
                    let named = self.named_fn();
                    parse_row(ts, rowj, &named, false)?
                };
                let mut row = Row::new_default(ts, u);
                for (k, d) in vals {
                    row.columns.insert(k, d);
                }
                let t = self.work.entry(ts.name.clone()).or_default();
                if t.rows.contains_key(&u) {
                    return Err(OpError::new(
                        "duplicate uuid",
                        format!("This UUID would duplicate a UUID already present within the table or deleted within the same transaction: {u}"),
                    ));
                }
                t.rows.insert(u, Arc::new(row));
                self.touch(&ts.name, u);
                Ok(json!({"uuid": ["uuid", u.to_string()]}))
            }
            "select" => {
                ctx.allow(&["table", "where", "columns"])?;
                let ts = ctx.table(&schema)?;
                let cond = self.parse_where(&ctx, ts)?;
                let cols = parse_columns(ts, ctx.op.get("columns"))?;
                let t = &self.work[&ts.name];
                let rows: Vec<Value> = self
                    .select(&ts.name, &cond)
                    .iter()
                    .filter_map(|u| t.rows.get(u))
                    .map(|r| r.to_json(cols.as_deref()))
                    .collect();
                Ok(json!({"rows": rows}))
            }
            "update" => {
                ctx.allow(&["table", "where", "row"])?;
                let ts = ctx.table(&schema)?;
                let cond = self.parse_where(&ctx, ts)?;
                let rowj = ctx.req("row")?;
                let vals = {
                    let named = self.named_fn();
                    // ovsdb-server names the whole operation as the syntax
                    // of an immutable-column update.
                    parse_row(ts, rowj, &named, true).map_err(|mut e| {
                        if e.details.starts_with("Cannot update immutable") {
                            e.syntax = Some(crate::jsonrpc::to_string_sorted(ctx.raw));
                        }
                        e
                    })?
                };
                let uuids = self.select(&ts.name, &cond);
                let t = self.work.entry(ts.name.clone()).or_default();
                for u in &uuids {
                    if let Some(r) = t.rows.get_mut(u) {
                        let r = Arc::make_mut(r);
                        for (k, d) in &vals {
                            r.columns.insert(k.clone(), d.clone());
                        }
                    }
                }
                for u in &uuids {
                    self.touch(&ts.name, *u);
                }
                Ok(json!({"count": uuids.len()}))
            }
            "mutate" => {
                ctx.allow(&["table", "where", "mutations"])?;
                let ts = ctx.table(&schema)?;
                let cond = self.parse_where(&ctx, ts)?;
                let muts = ctx.array("mutations")?;
                let parsed = {
                    let named = self.named_fn();
                    let mut v = Vec::with_capacity(muts.len());
                    for m in muts {
                        v.push(parse_mutation(ts, m, &named)?);
                    }
                    v
                };
                let uuids = self.select(&ts.name, &cond);
                let t = self.work.entry(ts.name.clone()).or_default();
                for u in &uuids {
                    if let Some(r) = t.rows.get_mut(u) {
                        let r = Arc::make_mut(r);
                        for m in &parsed {
                            let cur = r
                                .columns
                                .get(&m.column)
                                .cloned()
                                .unwrap_or_else(Datum::empty_set);
                            let new = apply_mutation(&cur, m)?;
                            r.columns.insert(m.column.clone(), new);
                        }
                    }
                }
                for u in &uuids {
                    self.touch(&ts.name, *u);
                }
                Ok(json!({"count": uuids.len()}))
            }
            "delete" => {
                ctx.allow(&["table", "where"])?;
                let ts = ctx.table(&schema)?;
                let cond = self.parse_where(&ctx, ts)?;
                let uuids = self.select(&ts.name, &cond);
                let t = self.work.entry(ts.name.clone()).or_default();
                for u in &uuids {
                    t.rows.remove(u);
                }
                for u in &uuids {
                    self.touch(&ts.name, *u);
                }
                Ok(json!({"count": uuids.len()}))
            }
            "wait" => {
                ctx.allow(&["table", "where", "columns", "until", "rows", "timeout"])?;
                let ts = ctx.table(&schema)?;
                let cond = self.parse_where(&ctx, ts)?;
                if let Some(t) = ctx.op.get("timeout") {
                    if !t.is_number() {
                        return Err(ctx.perr("Type mismatch for member 'timeout'."));
                    }
                }
                let until = ctx.str("until")?;
                let eq = match until {
                    "==" => true,
                    "!=" => false,
                    other => {
                        return Err(
                            ctx.perr(format_args!("\"{other}\" is not a valid \"until\" value"))
                        )
                    }
                };
                let rows = ctx.array("rows")?;
                let cols = parse_columns(ts, ctx.op.get("columns"))?;
                let cols: Vec<String> =
                    cols.unwrap_or_else(|| ts.columns.keys().cloned().collect());
                // Expected rows, projected onto `cols`.
                let mut expected: Vec<Vec<Datum>> = Vec::with_capacity(rows.len());
                {
                    let named = self.named_fn();
                    for rj in rows {
                        let vals = parse_row(ts, rj, &named, false).or_else(|e| {
                            // `_uuid` may appear in wait rows.
                            if rj.get("_uuid").is_some() {
                                parse_wait_row(ts, rj, &named)
                            } else {
                                Err(e)
                            }
                        })?;
                        let m: HashMap<String, Datum> = vals.into_iter().collect();
                        let mut proj = Vec::with_capacity(cols.len());
                        for c in &cols {
                            match m.get(c) {
                                Some(d) => proj.push(d.clone()),
                                None => {
                                    return Err(OpError::new(
                                        "syntax error",
                                        format!("Row in wait lacks column {c}."),
                                    ))
                                }
                            }
                        }
                        expected.push(proj);
                    }
                }
                let t = &self.work[&ts.name];
                let mut actual: Vec<Vec<Datum>> = self
                    .select(&ts.name, &cond)
                    .iter()
                    .filter_map(|u| t.rows.get(u))
                    .map(|r| {
                        cols.iter()
                            .map(|c| r.value(c).map_or_else(Datum::empty_set, |d| d.into_owned()))
                            .collect()
                    })
                    .collect();
                actual.sort();
                expected.sort();
                let equal = actual == expected;
                if equal == eq {
                    Ok(json!({}))
                } else {
                    Err(OpError::new("timed out", "\"where\" clause test failed"))
                }
            }
            "commit" => {
                ctx.allow(&["durable"])?;
                let d = ctx
                    .req("durable")?
                    .as_bool()
                    .ok_or_else(|| ctx.perr("Type mismatch for member 'durable'."))?;
                self.durable |= d;
                Ok(json!({}))
            }
            "abort" => {
                ctx.allow(&[])?;
                Err(OpError::new("aborted", "aborted by request"))
            }
            "comment" => {
                ctx.allow(&["comment"])?;
                let c = ctx.str("comment")?;
                self.comments.push(c.to_string());
                Ok(json!({}))
            }
            "assert" => {
                ctx.allow(&["lock"])?;
                let l = ctx.str("lock")?;
                if (self.has_lock)(l) {
                    Ok(json!({}))
                } else {
                    Err(OpError::new(
                        "not owner",
                        format!("Asserted lock {l} not held."),
                    ))
                }
            }
            other => Err(ctx.perr(format_args!("No operation \"{other}\""))),
        }
    }

    /// Commit-time checks; returns the change set.
    fn commit(&mut self) -> Result<Changes, OpError> {
        let schema = self.base.schema.clone();
        // 1. Count strong references and remember dangling ones.
        let mut refcount: HashMap<Uuid, u32> = HashMap::new();
        let mut dangling: Vec<(String, Uuid, String, String, Uuid)> = Vec::new();
        for (tn, ts) in &schema.tables {
            let ref_cols: Vec<_> = ts
                .columns
                .values()
                .filter(|c| {
                    c.type_.key.is_strong_ref()
                        || c.type_.value.as_ref().is_some_and(|v| v.is_strong_ref())
                })
                .collect();
            if ref_cols.is_empty() {
                continue;
            }
            let Some(t) = self.work.get(tn) else { continue };
            for r in t.rows.values() {
                for c in &ref_cols {
                    let Some(d) = r.columns.get(&c.name) else {
                        continue;
                    };
                    for (base, atoms) in strong_parts(&c.type_, d) {
                        let rt = base.as_str();
                        for a in atoms {
                            if let Atom::Uuid(u) = a {
                                *refcount.entry(*u).or_insert(0) += 1;
                                if !self.work.get(rt).is_some_and(|t| t.rows.contains_key(u)) {
                                    dangling.push((
                                        tn.clone(),
                                        r.uuid,
                                        c.name.clone(),
                                        rt.to_string(),
                                        *u,
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
        // 2. Garbage-collect unreferenced rows of non-root tables, transitively.
        let mut work_list: Vec<(String, Uuid)> = Vec::new();
        for (tn, ts) in &schema.tables {
            if ts.is_root {
                continue;
            }
            if let Some(t) = self.work.get(tn) {
                for u in t.rows.keys() {
                    if refcount.get(u).copied().unwrap_or(0) == 0 {
                        work_list.push((tn.clone(), *u));
                    }
                }
            }
        }
        while let Some((tn, u)) = work_list.pop() {
            let Some(row) = self.work.get_mut(&tn).and_then(|t| t.rows.remove(&u)) else {
                continue;
            };
            self.touch(&tn, u);
            let Some(ts) = schema.tables.get(&tn) else {
                continue;
            };
            for c in ts.columns.values() {
                let Some(d) = row.columns.get(&c.name) else {
                    continue;
                };
                for (rt, atoms) in strong_parts(&c.type_, d) {
                    for a in atoms {
                        if let Atom::Uuid(t) = a {
                            if let Some(n) = refcount.get_mut(t) {
                                *n = n.saturating_sub(1);
                                if *n == 0
                                    && schema.tables.get(rt.as_str()).is_some_and(|s| !s.is_root)
                                    && self
                                        .work
                                        .get(rt.as_str())
                                        .is_some_and(|x| x.rows.contains_key(t))
                                {
                                    work_list.push((rt.clone(), *t));
                                }
                            }
                        }
                    }
                }
            }
        }
        // 3. Referential integrity of the remaining strong references.
        for (tn, src, col, rt, target) in &dangling {
            if !self.work.get(tn).is_some_and(|t| t.rows.contains_key(src)) {
                continue;
            }
            let existed = self.base.row(rt, target).is_some();
            let details = if existed {
                let n = dangling.iter().filter(|d| &d.4 == target).count();
                format!("cannot delete {rt} row {target} because of {n} remaining reference(s)")
            } else {
                format!("Table {tn} column {col} row {src} references nonexistent row {target} in table {rt}.")
            };
            return Err(OpError::new("referential integrity violation", details));
        }
        // 4. Remove weak references to rows that no longer exist.
        for (tn, ts) in &schema.tables {
            let weak_cols: Vec<_> = ts
                .columns
                .values()
                .filter(|c| {
                    c.type_.key.is_weak_ref()
                        || c.type_.value.as_ref().is_some_and(|v| v.is_weak_ref())
                })
                .collect();
            if weak_cols.is_empty() {
                continue;
            }
            let exists = |table: &str, u: &Uuid, work: &BTreeMap<String, Table>| {
                work.get(table).is_some_and(|t| t.rows.contains_key(u))
            };
            let mut fixes: Vec<(Uuid, String, Datum)> = Vec::new();
            if let Some(t) = self.work.get(tn) {
                for r in t.rows.values() {
                    for c in &weak_cols {
                        let Some(d) = r.columns.get(&c.name) else {
                            continue;
                        };
                        let kref = c
                            .type_
                            .key
                            .ref_table
                            .as_deref()
                            .filter(|_| c.type_.key.is_weak_ref());
                        let vref = c
                            .type_
                            .value
                            .as_ref()
                            .and_then(|v| v.ref_table.as_deref().filter(|_| v.is_weak_ref()));
                        let dead = |a: &Atom, rt: Option<&str>| match (a, rt) {
                            (Atom::Uuid(u), Some(rt)) => !exists(rt, u, &self.work),
                            _ => false,
                        };
                        let bad = d.keys.iter().any(|k| dead(k, kref))
                            || d.values.iter().flatten().any(|v| dead(v, vref));
                        if bad {
                            let mut nd = d.clone();
                            nd.retain(|k, v| !dead(k, kref) && !v.is_some_and(|v| dead(v, vref)));
                            if (nd.len() as u64) < c.type_.min {
                                return Err(OpError::new(
                                    "constraint violation",
                                    format!(
                                        "Deletion of a weakly referenced row left column {} in table {} row {} with fewer than the minimum {} value(s).",
                                        c.name, tn, r.uuid, c.type_.min
                                    ),
                                ));
                            }
                            fixes.push((r.uuid, c.name.clone(), nd));
                        }
                    }
                }
            }
            for (u, c, d) in fixes {
                if let Some(r) = self.work.get_mut(tn).and_then(|t| t.rows.get_mut(&u)) {
                    Arc::make_mut(r).columns.insert(c, d);
                }
                self.touch(tn, u);
            }
        }
        // 5. maxRows and indexes of touched tables.
        for tn in self.touched.keys() {
            let (Some(ts), Some(t)) = (schema.tables.get(tn), self.work.get(tn)) else {
                continue;
            };
            if let Some(max) = ts.max_rows {
                if t.rows.len() as u64 > max {
                    return Err(OpError::new(
                        "constraint violation",
                        format!(
                            "transaction causes \"{tn}\" table to contain {} rows, greater than the schema-defined limit of {max} row(s)",
                            t.rows.len()
                        ),
                    ));
                }
            }
            for ix in &ts.indexes {
                let mut seen: HashMap<Vec<&Datum>, Uuid> = HashMap::with_capacity(t.rows.len());
                for r in t.rows.values() {
                    let key: Vec<&Datum> = ix.iter().filter_map(|c| r.columns.get(c)).collect();
                    if let Some(other) = seen.insert(key.clone(), r.uuid) {
                        let vals: Vec<String> =
                            key.iter().map(|d| d.to_json().to_string()).collect();
                        return Err(OpError::new(
                            "constraint violation",
                            format!(
                                "Transaction causes \"{tn}\" table to contain two rows ({other} and {}) with the same value {} for column(s) {}.",
                                r.uuid,
                                vals.join(", "),
                                ix.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        // 6. Build the change set; fresh `_version` for changed rows.
        let mut changes = Changes::default();
        for (tn, uuids) in &self.touched {
            let mut m = BTreeMap::new();
            for u in uuids {
                let old = self.base.row(tn, u).cloned();
                let Some(t) = self.work.get_mut(tn) else {
                    continue;
                };
                let new = t.rows.get_mut(u);
                match (old, new) {
                    (None, None) => {}
                    (Some(o), Some(n)) => {
                        if o.same_contents(n) {
                            *n = o;
                        } else {
                            Arc::make_mut(n).version = Uuid::new_v4();
                            m.insert(
                                *u,
                                RowChange {
                                    old: Some(o),
                                    new: Some(n.clone()),
                                },
                            );
                        }
                    }
                    (None, Some(n)) => {
                        m.insert(
                            *u,
                            RowChange {
                                old: None,
                                new: Some(n.clone()),
                            },
                        );
                    }
                    (Some(o), None) => {
                        m.insert(
                            *u,
                            RowChange {
                                old: Some(o),
                                new: None,
                            },
                        );
                    }
                }
            }
            if !m.is_empty() {
                changes.tables.insert(tn.clone(), m);
            }
        }
        Ok(changes)
    }
}

/// For a column value, the (ref table, atoms) parts that are strong refs.
fn strong_parts<'d>(t: &'d ColumnType, d: &'d Datum) -> Vec<(&'d String, &'d [Atom])> {
    let mut v = Vec::new();
    if t.key.is_strong_ref() {
        if let Some(rt) = &t.key.ref_table {
            v.push((rt, d.keys.as_slice()));
        }
    }
    if let (Some(vt), Some(vals)) = (&t.value, &d.values) {
        if vt.is_strong_ref() {
            if let Some(rt) = &vt.ref_table {
                v.push((rt, vals.as_slice()));
            }
        }
    }
    v
}

fn parse_wait_row(
    ts: &TableSchema,
    j: &Value,
    named: &dyn Fn(&str) -> Option<Uuid>,
) -> Result<Vec<(String, Datum)>, OpError> {
    let o = j
        .as_object()
        .ok_or_else(|| OpError::new("syntax error", "row must be an object"))?;
    let mut out = Vec::new();
    for (k, v) in o {
        let col = ts.column(k).ok_or_else(|| unknown_column(j, k, &ts.name))?;
        out.push((k.clone(), Datum::from_json(v, &col.type_, named)?));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutator {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Insert,
    Delete,
}

struct Mutation {
    column: String,
    mutator: Mutator,
    type_: ColumnType,
    arg: Datum,
    name: String,
}

fn parse_mutation(
    ts: &TableSchema,
    m: &Value,
    named: &dyn Fn(&str) -> Option<Uuid>,
) -> Result<Mutation, OpError> {
    let a = m
        .as_array()
        .filter(|a| a.len() == 3)
        .ok_or_else(|| OpError::new("syntax error", format!("Parse error in mutation {m}")))?;
    let column = a[0]
        .as_str()
        .ok_or_else(|| OpError::new("syntax error", format!("Parse error in mutation {m}")))?;
    let col = ts.column(column).ok_or_else(|| {
        OpError::new(
            "unknown column",
            format!("No column {column} in table {}.", ts.name),
        )
    })?;
    if !col.mutable {
        return Err(OpError::new(
            "constraint violation",
            format!(
                "Cannot mutate immutable column {column} in table {}.",
                ts.name
            ),
        ));
    }
    let name = a[1]
        .as_str()
        .ok_or_else(|| OpError::new("syntax error", format!("Parse error in mutation {m}")))?;
    let mutator = match name {
        "+=" => Mutator::Add,
        "-=" => Mutator::Sub,
        "*=" => Mutator::Mul,
        "/=" => Mutator::Div,
        "%=" => Mutator::Mod,
        "insert" => Mutator::Insert,
        "delete" => Mutator::Delete,
        _ => {
            return Err(OpError::new(
                "unknown mutator",
                format!("No mutator named {name}."),
            ))
        }
    };
    let t = &col.type_;
    let mismatch = || {
        OpError::new(
            "syntax error",
            format!("Type mismatch: \"{name}\" operator may not be applied to column {column} of type {}.", t.to_json()),
        )
    };
    let arg = match mutator {
        Mutator::Add | Mutator::Sub | Mutator::Mul | Mutator::Div | Mutator::Mod => {
            let numeric = matches!(t.key.atomic, AtomicType::Integer | AtomicType::Real)
                && (mutator != Mutator::Mod || t.key.atomic == AtomicType::Integer);
            if t.is_map() || !numeric {
                return Err(mismatch());
            }
            let mut base = t.key.clone();
            // The argument is a bare scalar; the result is range-checked later.
            base.enum_ = None;
            base.min_integer = None;
            base.max_integer = None;
            base.min_real = None;
            base.max_real = None;
            Datum::from_json(
                &a[2],
                &ColumnType {
                    key: base,
                    value: None,
                    min: 1,
                    max: Some(1),
                },
                named,
            )?
        }
        Mutator::Insert | Mutator::Delete => {
            if t.is_scalar() {
                return Err(mismatch());
            }
            let mut at = t.clone();
            at.min = 0;
            at.max = None;
            if mutator == Mutator::Delete && t.is_map() {
                // Delete accepts either a map (pairs) or a set of keys.
                match Datum::from_json(&a[2], &at, named) {
                    Ok(d) => d,
                    Err(_) => {
                        let kt = ColumnType {
                            key: t.key.clone(),
                            value: None,
                            min: 0,
                            max: None,
                        };
                        Datum::from_json(&a[2], &kt, named)?
                    }
                }
            } else {
                Datum::from_json(&a[2], &at, named)?
            }
        }
    };
    Ok(Mutation {
        column: column.to_string(),
        mutator,
        type_: t.clone(),
        arg,
        name: name.to_string(),
    })
}

fn apply_mutation(cur: &Datum, m: &Mutation) -> Result<Datum, OpError> {
    let out = match m.mutator {
        Mutator::Insert => {
            let mut d = cur.clone();
            for (i, k) in m.arg.keys.iter().enumerate() {
                let v = m.arg.values.as_ref().and_then(|vs| vs.get(i)).cloned();
                d.insert(k.clone(), v);
            }
            d
        }
        Mutator::Delete => {
            let mut d = cur.clone();
            match &m.arg.values {
                Some(_) => {
                    for (k, v) in m.arg.pairs() {
                        d.remove_pair(k, v);
                    }
                }
                None => {
                    for k in &m.arg.keys {
                        d.remove_key(k);
                    }
                }
            }
            d
        }
        _ => {
            let Some(arg) = m.arg.as_scalar() else {
                return Err(OpError::new(
                    "syntax error",
                    "mutation argument must be a scalar",
                ));
            };
            let range = || {
                OpError::new(
                    "range error",
                    format!("Result of \"{}\" operation is out of range.", m.name),
                )
            };
            let mut keys = Vec::with_capacity(cur.keys.len());
            for k in &cur.keys {
                let r = match (k, arg) {
                    (Atom::Integer(x), Atom::Integer(y)) => Atom::Integer(match m.mutator {
                        Mutator::Add => x.checked_add(*y).ok_or_else(range)?,
                        Mutator::Sub => x.checked_sub(*y).ok_or_else(range)?,
                        Mutator::Mul => x.checked_mul(*y).ok_or_else(range)?,
                        Mutator::Div | Mutator::Mod => {
                            if *y == 0 {
                                return Err(OpError::new("domain error", "Division by zero."));
                            }
                            if m.mutator == Mutator::Div {
                                x.checked_div(*y).ok_or_else(range)?
                            } else {
                                x.checked_rem(*y).ok_or_else(range)?
                            }
                        }
                        _ => *x,
                    }),
                    (Atom::Real(x), Atom::Real(y)) => {
                        let v = match m.mutator {
                            Mutator::Add => x + y,
                            Mutator::Sub => x - y,
                            Mutator::Mul => x * y,
                            Mutator::Div => {
                                if *y == 0.0 {
                                    return Err(OpError::new("domain error", "Division by zero."));
                                }
                                x / y
                            }
                            _ => *x,
                        };
                        if !v.is_finite() {
                            return Err(range());
                        }
                        Atom::Real(v)
                    }
                    _ => return Err(OpError::new("syntax error", "mutation type mismatch")),
                };
                keys.push(r);
            }
            let n = keys.len();
            let d = Datum::set(keys);
            if d.len() != n {
                return Err(OpError::new(
                    "constraint violation",
                    format!("Result of \"{}\" operation contains duplicates.", m.name),
                ));
            }
            d
        }
    };
    out.check(&m.type_).map_err(|e| match e {
        Error::Constraint(s) => OpError::new("constraint violation", s),
        other => OpError::from(other),
    })?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::schema::DatabaseSchema;

    /// A miniature Open_vSwitch-like schema.
    pub(crate) fn test_schema() -> DatabaseSchema {
        let j = json!({"name":"Open_vSwitch","version":"1.0.0","tables":{
            "Open_vSwitch":{"columns":{
                "bridges":{"type":{"key":{"type":"uuid","refTable":"Bridge"},"min":0,"max":"unlimited"}},
                "next_cfg":{"type":"integer"},"cur_cfg":{"type":"integer"},
                "external_ids":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}},
                "isRoot":true,"maxRows":1},
            "Bridge":{"columns":{
                "name":{"type":"string","mutable":false},
                "ports":{"type":{"key":{"type":"uuid","refTable":"Port"},"min":0,"max":"unlimited"}},
                "mirrors":{"type":{"key":{"type":"uuid","refTable":"Mirror"},"min":0,"max":"unlimited"}},
                "fail_mode":{"type":{"key":{"type":"string","enum":["set",["secure","standalone"]]},"min":0,"max":1}}},
                "indexes":[["name"]]},
            "Port":{"columns":{
                "name":{"type":"string"},
                "tag":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0,"max":1}},
                "trunks":{"type":{"key":{"type":"integer","minInteger":0,"maxInteger":4095},"min":0,"max":4096}},
                "weights":{"type":{"key":"real","min":0,"max":"unlimited"}}},
                "indexes":[["name"]]},
            "Mirror":{"columns":{
                "name":{"type":"string"},
                "select_src_port":{"type":{"key":{"type":"uuid","refTable":"Port","refType":"weak"},"min":0,"max":"unlimited"}}}},
            "QoS":{"columns":{"type":{"type":"string"}},"isRoot":true}
        }});
        DatabaseSchema::from_json(&j).unwrap()
    }

    fn uuid_of(r: &Value) -> String {
        r["uuid"][1].as_str().unwrap().to_string()
    }

    fn setup() -> (Database, String) {
        let mut db = Database::new(test_schema());
        let r = db.transact(&[
            json!({"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","b"]}}),
            json!({"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0","ports":["named-uuid","p"]}}),
            json!({"op":"insert","table":"Port","uuid-name":"p","row":{"name":"br0"}}),
        ]);
        assert!(r.is_ok(), "{}", r.results);
        let o = uuid_of(&r.results[0]);
        (db, o)
    }

    #[test]
    fn forward_named_uuid_and_select() {
        let (db, _) = setup();
        assert_eq!(db.tables["Bridge"].len(), 1);
        assert_eq!(db.tables["Port"].len(), 1);
        let br = db.tables["Bridge"].iter().next().unwrap();
        let port = db.tables["Port"].iter().next().unwrap();
        assert_eq!(br.columns["ports"].as_uuid(), Some(port.uuid));
    }

    #[test]
    fn gc_removes_unreferenced_rows_transitively() {
        let (mut db, o) = setup();
        let r = db.transact(&[json!({"op":"update","table":"Open_vSwitch","where":[["_uuid","==",["uuid",o]]],"row":{"bridges":["set",[]]}})]);
        assert!(r.is_ok(), "{}", r.results);
        assert_eq!(r.results, json!([{"count":1}]));
        assert!(db.tables["Bridge"].is_empty());
        assert!(db.tables["Port"].is_empty());
        let ch = r.changes.unwrap();
        assert!(ch.tables["Bridge"].values().all(|c| c.new.is_none()));
        assert!(ch.tables["Port"].values().all(|c| c.new.is_none()));
        // An unreferenced non-root insert succeeds but vanishes.
        let r = db.transact(&[json!({"op":"insert","table":"Port","row":{"name":"x"}})]);
        assert!(r.is_ok());
        assert!(db.tables["Port"].is_empty());
    }

    #[test]
    fn referential_integrity() {
        let (mut db, _) = setup();
        let b = *db.tables["Bridge"].rows.keys().next().unwrap();
        let r = db.transact(&[
            json!({"op":"delete","table":"Bridge","where":[["_uuid","==",["uuid",b.to_string()]]]}),
        ]);
        assert!(!r.is_ok());
        let a = r.results.as_array().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0], json!({"count":1}));
        assert_eq!(a[1]["error"], "referential integrity violation");
        assert_eq!(db.tables["Bridge"].len(), 1, "atomic: nothing changed");
        let bogus = Uuid::new_v4().to_string();
        let r = db.transact(&[json!({"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","insert",["set",[["uuid",bogus]]]]]})]);
        assert_eq!(
            r.error().unwrap()["error"],
            "referential integrity violation"
        );
    }

    #[test]
    fn weak_references_removed() {
        let (mut db, _) = setup();
        let p = *db.tables["Port"].rows.keys().next().unwrap();
        let r = db.transact(&[
            json!({"op":"insert","table":"Mirror","uuid-name":"m","row":{"name":"m","select_src_port":["uuid",p.to_string()]}}),
            json!({"op":"mutate","table":"Bridge","where":[],"mutations":[["mirrors","insert",["named-uuid","m"]]]}),
        ]);
        assert!(r.is_ok(), "{}", r.results);
        let r = db.transact(&[
            json!({"op":"update","table":"Bridge","where":[],"row":{"ports":["set",[]]}}),
        ]);
        assert!(r.is_ok(), "{}", r.results);
        let m = db.tables["Mirror"].iter().next().unwrap();
        assert!(m.columns["select_src_port"].is_empty());
        assert!(r.changes.unwrap().tables.contains_key("Mirror"));
    }

    #[test]
    fn max_rows_index_immutable_enum() {
        let (mut db, _) = setup();
        let r = db.transact(&[json!({"op":"insert","table":"Open_vSwitch","row":{}})]);
        assert_eq!(r.error().unwrap()["error"], "constraint violation");
        let r = db.transact(&[
            json!({"op":"insert","table":"Bridge","uuid-name":"b2","row":{"name":"br0"}}),
            json!({"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["named-uuid","b2"]]]}),
        ]);
        let e = r.error().unwrap();
        assert_eq!(e["error"], "constraint violation");
        assert!(e["details"].as_str().unwrap().contains("br0"));
        let r =
            db.transact(&[json!({"op":"update","table":"Bridge","where":[],"row":{"name":"x"}})]);
        assert_eq!(r.error().unwrap()["error"], "constraint violation");
        let r = db.transact(&[
            json!({"op":"update","table":"Bridge","where":[],"row":{"fail_mode":"bogus"}}),
        ]);
        assert_eq!(r.error().unwrap()["error"], "constraint violation");
        let r = db.transact(&[
            json!({"op":"update","table":"Bridge","where":[],"row":{"fail_mode":"secure"}}),
        ]);
        assert_eq!(r.results, json!([{"count":1}]));
    }

    #[test]
    fn mutators() {
        let (mut db, o) = setup();
        let w = json!([["_uuid", "==", ["uuid", o]]]);
        let r = db.transact(&[
            json!({"op":"mutate","table":"Open_vSwitch","where":w,"mutations":[["next_cfg","+=",5],["next_cfg","*=",3],["next_cfg","-=",1],["next_cfg","/=",2],["next_cfg","%=",4]]}),
            json!({"op":"select","table":"Open_vSwitch","where":w,"columns":["next_cfg"]}),
        ]);
        assert_eq!(r.results[1], json!({"rows":[{"next_cfg":3}]}));
        let r = db.transact(&[json!({"op":"mutate","table":"Open_vSwitch","where":w,"mutations":[["next_cfg","/=",0]]})]);
        assert_eq!(r.error().unwrap()["error"], "domain error");
        let r = db.transact(&[
            json!({"op":"mutate","table":"Open_vSwitch","where":w,"mutations":[["external_ids","insert",["map",[["a","1"],["b","2"]]]]]}),
            json!({"op":"mutate","table":"Open_vSwitch","where":w,"mutations":[["external_ids","insert",["map",[["a","9"]]]]]}),
            json!({"op":"mutate","table":"Open_vSwitch","where":w,"mutations":[["external_ids","delete",["set",["b"]]]]}),
            json!({"op":"select","table":"Open_vSwitch","where":w,"columns":["external_ids"]}),
        ]);
        assert_eq!(
            r.results[3],
            json!({"rows":[{"external_ids":["map",[["a","1"]]]}]})
        );
        let r = db.transact(&[
            json!({"op":"mutate","table":"Open_vSwitch","where":w,"mutations":[["external_ids","delete",["map",[["a","2"]]]]]}),
            json!({"op":"select","table":"Open_vSwitch","where":w,"columns":["external_ids"]}),
            json!({"op":"mutate","table":"Open_vSwitch","where":w,"mutations":[["external_ids","delete",["map",[["a","1"]]]]]}),
            json!({"op":"select","table":"Open_vSwitch","where":w,"columns":["external_ids"]}),
        ]);
        assert_eq!(
            r.results[1],
            json!({"rows":[{"external_ids":["map",[["a","1"]]]}]})
        );
        assert_eq!(r.results[3], json!({"rows":[{"external_ids":["map",[]]}]}));
        // Elementwise on sets, with range check and duplicate detection.
        let r = db.transact(&[
            json!({"op":"update","table":"Port","where":[],"row":{"trunks":["set",[1,2,3]],"weights":["set",[1.5,2.5]]}}),
            json!({"op":"mutate","table":"Port","where":[],"mutations":[["trunks","+=",10],["weights","*=",2]]}),
            json!({"op":"select","table":"Port","where":[],"columns":["trunks","weights"]}),
        ]);
        assert_eq!(
            r.results[2],
            json!({"rows":[{"trunks":["set",[11,12,13]],"weights":["set",[3.0,5.0]]}]})
        );
        let r = db.transact(&[
            json!({"op":"mutate","table":"Port","where":[],"mutations":[["trunks","+=",4090]]}),
        ]);
        assert_eq!(r.error().unwrap()["error"], "constraint violation");
        let r = db.transact(&[
            json!({"op":"mutate","table":"Port","where":[],"mutations":[["trunks","%=",2]]}),
        ]);
        assert_eq!(r.error().unwrap()["error"], "constraint violation");
        let r = db.transact(&[
            json!({"op":"mutate","table":"Port","where":[],"mutations":[["name","+=",2]]}),
        ]);
        assert_eq!(r.error().unwrap()["error"], "syntax error");
    }

    #[test]
    fn wait_and_errors() {
        let (mut db, o) = setup();
        let w = json!([["_uuid", "==", ["uuid", o.clone()]]]);
        let ok = db.transact(&[json!({"op":"wait","table":"Open_vSwitch","where":w,"columns":["next_cfg"],"until":"==","rows":[{"next_cfg":0}],"timeout":0})]);
        assert_eq!(ok.results, json!([{}]));
        let bad = db.transact(&[
            json!({"op":"wait","table":"Open_vSwitch","where":w,"columns":["next_cfg"],"until":"==","rows":[{"next_cfg":1}],"timeout":0}),
            json!({"op":"comment","comment":"x"}),
        ]);
        assert_eq!(
            bad.results,
            json!([{"error":"timed out","details":"\"where\" clause test failed"}, null])
        );
        let ne = db.transact(&[json!({"op":"wait","table":"Open_vSwitch","where":w,"columns":["next_cfg"],"until":"!=","rows":[{"next_cfg":1}],"timeout":0})]);
        assert_eq!(ne.results, json!([{}]));
        let empty = db.transact(&[
            json!({"op":"wait","table":"QoS","where":[],"until":"==","rows":[],"timeout":0}),
        ]);
        assert_eq!(empty.results, json!([{}]));
        let op = json!({"op":"select","table":"NoSuch","where":[]});
        let r = db.transact(std::slice::from_ref(&op));
        assert_eq!(
            r.results,
            json!([{"error":"syntax error","details":"Parsing ovsdb operation 1 of 1 failed: No table named NoSuch.","syntax":crate::jsonrpc::to_string_sorted(&op)}])
        );
        let r = db.transact(&[json!({"op":"select","table":"Bridge","where":[["nope","==",1]]})]);
        assert_eq!(r.error().unwrap()["error"], "unknown column");
        let r = db.transact(&[json!({"op":"abort"}), json!({"op":"comment","comment":"c"})]);
        assert_eq!(
            r.results,
            json!([{"error":"aborted","details":"aborted by request"}, null])
        );
        let r = db.transact(&[json!({"op":"assert","lock":"l"})]);
        assert_eq!(r.error().unwrap()["error"], "not owner");
        let r = db.transact_with_locks(&[json!({"op":"assert","lock":"l"})], &|l| l == "l");
        assert_eq!(r.results, json!([{}]));
        let r = db.transact(&[
            json!({"op":"insert","table":"QoS","uuid-name":"q","row":{}}),
            json!({"op":"insert","table":"QoS","uuid-name":"q","row":{}}),
        ]);
        assert_eq!(r.results[1]["error"], "duplicate uuid-name");
        assert!(db.tables["QoS"].is_empty());
        let r = db.transact(&[json!({"op":"frob"})]);
        assert_eq!(r.error().unwrap()["error"], "syntax error");
        let r = db.transact(&[
            json!({"op":"commit","durable":true}),
            json!({"op":"comment","comment":"hi"}),
        ]);
        assert!(r.is_ok() && r.durable && r.comments == vec!["hi".to_string()]);
    }

    #[test]
    fn conditions() {
        let (mut db, _) = setup();
        db.transact(&[
            json!({"op":"update","table":"Port","where":[],"row":{"tag":5,"trunks":["set",[1,2]]}}),
        ]);
        let q = |db: &mut Database, c: Value| -> usize {
            let r = db.transact(&[json!({"op":"select","table":"Port","where":c})]);
            r.results[0]["rows"]
                .as_array()
                .map(|a| a.len())
                .unwrap_or(999)
        };
        assert_eq!(q(&mut db, json!([["tag", "==", 5]])), 1);
        assert_eq!(q(&mut db, json!([["tag", "!=", 5]])), 0);
        assert_eq!(q(&mut db, json!([["trunks", "includes", 1]])), 1);
        assert_eq!(
            q(&mut db, json!([["trunks", "includes", ["set", [1, 3]]]])),
            0
        );
        assert_eq!(q(&mut db, json!([["trunks", "excludes", 3]])), 1);
        assert_eq!(
            q(
                &mut db,
                json!([["name", "==", "br0"], ["tag", "includes", 5]])
            ),
            1
        );
        assert_eq!(q(&mut db, json!([true])), 1);
        assert_eq!(q(&mut db, json!([false])), 0);
        // < on an optional column is a type mismatch.
        assert_eq!(q(&mut db, json!([["tag", "<", 6]])), 999);
        let r = db.transact(&[json!({"op":"select","table":"Open_vSwitch","where":[["next_cfg","<",1],["next_cfg",">=",0]],"columns":["next_cfg"]})]);
        assert_eq!(r.results[0]["rows"].as_array().unwrap().len(), 1);
    }
}
