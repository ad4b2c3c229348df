//! Monitors (RFC 7047 §4.1.5 `monitor`, and the Open vSwitch extensions
//! `monitor_cond` / `monitor_cond_since` / `monitor_cond_change`, see
//! ovsdb-server(7)): which rows and columns a client watches, and the
//! `<table-updates>` / `<table-updates2>` it is sent for each commit.
//!
//! Idea: a `Monitor` is a parsed request — per table the column list, the
//! `select` flags and (for the conditional flavours) a condition whose clauses
//! are ORed. Notifications are pure functions of a committed [`Changes`] set:
//! for each changed row, whether the old and new images match the condition
//! decides between insert / modify / delete. v1 (`update`) rows carry all
//! monitored columns in `new` and the changed ones in `old`; v2/v3
//! (`update2`/`update3`) `initial`/`insert` omit default values and `modify`
//! carries the new value for columns with `max` 1 and the update2 diff
//! otherwise. Performance: linear in the number of changed rows × columns.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::condition::Condition;
use crate::datum::Datum;
use crate::db::{Changes, Database, Row};
use crate::schema::{DatabaseSchema, TableSchema};
use crate::Error;

/// The zero transaction id used by `monitor_cond_since` replies and `update3`
/// notifications of a standalone database.
pub const ZERO_TXN_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Which monitor method created the monitor (and so the notification format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorVersion {
    /// `monitor` → `update` notifications (RFC 7047 §4.1.6).
    V1,
    /// `monitor_cond` → `update2`.
    V2,
    /// `monitor_cond_since` → `update3`.
    V3,
}

impl MonitorVersion {
    /// The notification method name.
    pub fn method(self) -> &'static str {
        match self {
            MonitorVersion::V1 => "update",
            MonitorVersion::V2 => "update2",
            MonitorVersion::V3 => "update3",
        }
    }
}

/// `select` flags of a monitor request (all default to true).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Select {
    /// Report existing rows in the reply.
    pub initial: bool,
    /// Report inserted rows.
    pub insert: bool,
    /// Report deleted rows.
    pub delete: bool,
    /// Report modified rows.
    pub modify: bool,
}

impl Default for Select {
    fn default() -> Select {
        Select {
            initial: true,
            insert: true,
            delete: true,
            modify: true,
        }
    }
}

/// What is monitored in one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMonitor {
    /// Monitored columns (may include `_version`; may be empty).
    pub columns: Vec<String>,
    /// Rows to report: any clause may hold; empty = all rows.
    pub condition: Condition,
    /// `select` flags.
    pub select: Select,
}

/// One registered monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// The client's monitor id (any JSON value, echoed in notifications).
    pub id: Value,
    /// Database name.
    pub db: String,
    /// Flavour.
    pub version: MonitorVersion,
    /// Per-table specifications.
    pub tables: BTreeMap<String, TableMonitor>,
}

fn parse_table_requests(
    ts: &TableSchema,
    j: &Value,
    conditional: bool,
) -> Result<TableMonitor, Error> {
    let reqs: Vec<&Value> = match j {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![j],
        _ => {
            return Err(Error::Syntax(format!(
                "bad monitor request for table {}",
                ts.name
            )))
        }
    };
    let mut tm = TableMonitor {
        columns: Vec::new(),
        condition: Condition::default(),
        select: Select {
            initial: false,
            insert: false,
            delete: false,
            modify: false,
        },
    };
    let mut any_cond = false;
    for r in reqs {
        let o = r
            .as_object()
            .ok_or_else(|| Error::Syntax(format!("bad monitor request for table {}", ts.name)))?;
        match o.get("columns") {
            None => {
                for c in ts.columns.keys() {
                    if !tm.columns.contains(c) {
                        tm.columns.push(c.clone());
                    }
                }
            }
            Some(Value::Array(cols)) => {
                for c in cols {
                    let c = c
                        .as_str()
                        .ok_or_else(|| Error::Syntax("column name must be a string".into()))?;
                    if c != "_version" && !ts.columns.contains_key(c) {
                        return Err(Error::Syntax(format!("{c} is not a valid column name")));
                    }
                    if !tm.columns.iter().any(|x| x == c) {
                        tm.columns.push(c.to_string());
                    }
                }
            }
            Some(_) => return Err(Error::Syntax("\"columns\" must be an array".into())),
        }
        let sel = match o.get("select") {
            None => Select::default(),
            Some(Value::Object(s)) => {
                let f = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(true);
                Select {
                    initial: f("initial"),
                    insert: f("insert"),
                    delete: f("delete"),
                    modify: f("modify"),
                }
            }
            Some(_) => return Err(Error::Syntax("\"select\" must be an object".into())),
        };
        tm.select.initial |= sel.initial;
        tm.select.insert |= sel.insert;
        tm.select.delete |= sel.delete;
        tm.select.modify |= sel.modify;
        if let Some(w) = o.get("where") {
            if !conditional {
                return Err(Error::Syntax(
                    "\"where\" is not allowed in monitor requests".into(),
                ));
            }
            let c = Condition::from_json(w, ts, &|_| None)?;
            if c.clauses.is_empty() {
                // An empty condition list matches nothing per the IDL convention
                // only when combined; treat `[]` as "all rows".
                any_cond = true;
            }
            tm.condition.clauses.extend(c.clauses);
        } else {
            any_cond = true;
        }
    }
    if any_cond && conditional {
        // At least one request without a restricting condition: all rows.
        if tm
            .condition
            .clauses
            .iter()
            .all(|c| !matches!(c, crate::condition::Clause::Const(true)))
        {
            tm.condition
                .clauses
                .push(crate::condition::Clause::Const(true));
        }
    }
    Ok(tm)
}

impl Monitor {
    /// Parse `<monitor-requests>` (`{table: request or [requests]}`).
    /// Errors: `Error::Syntax` for unknown tables/columns and malformed
    /// requests.
    pub fn new(
        schema: &DatabaseSchema,
        version: MonitorVersion,
        id: Value,
        requests: &Value,
    ) -> Result<Monitor, Error> {
        let o = requests
            .as_object()
            .ok_or_else(|| Error::Syntax("monitor requests must be an object".into()))?;
        let mut tables = BTreeMap::new();
        for (tn, r) in o {
            let ts = schema
                .tables
                .get(tn)
                .ok_or_else(|| Error::Syntax(format!("no table named {tn}")))?;
            tables.insert(
                tn.clone(),
                parse_table_requests(ts, r, version != MonitorVersion::V1)?,
            );
        }
        Ok(Monitor {
            id,
            db: schema.name.clone(),
            version,
            tables,
        })
    }

    fn row_json(
        &self,
        row: &Row,
        tm: &TableMonitor,
        omit_defaults: bool,
        schema: &TableSchema,
    ) -> Value {
        let mut o = Map::new();
        for c in &tm.columns {
            let Some(d) = row.value(c) else { continue };
            if omit_defaults {
                if let Some(cs) = schema.columns.get(c) {
                    if d.is_default(&cs.type_) {
                        continue;
                    }
                }
            }
            o.insert(c.clone(), d.to_json());
        }
        Value::Object(o)
    }

    /// The `initial` table-updates for the current contents of `db` (the
    /// monitor request's reply).
    pub fn initial(&self, db: &Database) -> Value {
        let mut out = Map::new();
        for (tn, tm) in &self.tables {
            if !tm.select.initial {
                continue;
            }
            let (Some(t), Some(ts)) = (db.tables.get(tn), db.schema.tables.get(tn)) else {
                continue;
            };
            let mut rows = Map::new();
            for r in t.rows.values() {
                if !tm.condition.matches_any(r) {
                    continue;
                }
                let v = match self.version {
                    MonitorVersion::V1 => json!({"new": self.row_json(r, tm, false, ts)}),
                    _ => json!({"initial": self.row_json(r, tm, true, ts)}),
                };
                rows.insert(r.uuid.to_string(), v);
            }
            if !rows.is_empty() {
                out.insert(tn.clone(), Value::Object(rows));
            }
        }
        Value::Object(out)
    }

    /// The table-updates for a committed change set, or `None` when nothing
    /// this monitor watches changed.
    pub fn updates(&self, schema: &DatabaseSchema, changes: &Changes) -> Option<Value> {
        let mut out = Map::new();
        for (tn, rows) in &changes.tables {
            let (Some(tm), Some(ts)) = (self.tables.get(tn), schema.tables.get(tn)) else {
                continue;
            };
            let mut tj = Map::new();
            for (u, rc) in rows {
                let old = rc.old.as_deref().filter(|r| tm.condition.matches_any(r));
                let new = rc.new.as_deref().filter(|r| tm.condition.matches_any(r));
                let v = match (old, new) {
                    (None, None) => continue,
                    (None, Some(n)) => {
                        if !tm.select.insert {
                            continue;
                        }
                        match self.version {
                            MonitorVersion::V1 => json!({"new": self.row_json(n, tm, false, ts)}),
                            _ => json!({"insert": self.row_json(n, tm, true, ts)}),
                        }
                    }
                    (Some(o), None) => {
                        if !tm.select.delete {
                            continue;
                        }
                        match self.version {
                            MonitorVersion::V1 => json!({"old": self.row_json(o, tm, false, ts)}),
                            _ => json!({"delete": null}),
                        }
                    }
                    (Some(o), Some(n)) => {
                        if !tm.select.modify {
                            continue;
                        }
                        let mut changed = Map::new();
                        let mut old_vals = Map::new();
                        for c in &tm.columns {
                            let (Some(od), Some(nd)) = (o.value(c), n.value(c)) else {
                                continue;
                            };
                            if od == nd {
                                continue;
                            }
                            let max_one =
                                !matches!(ts.column(c), Some(cs) if !cs.type_.max_is_one());
                            let v = if self.version == MonitorVersion::V1 || max_one {
                                nd.to_json()
                            } else {
                                Datum::diff(&od, &nd).to_json()
                            };
                            changed.insert(c.clone(), v);
                            old_vals.insert(c.clone(), od.to_json());
                        }
                        if changed.is_empty() {
                            continue;
                        }
                        match self.version {
                            MonitorVersion::V1 => {
                                json!({"new": self.row_json(n, tm, false, ts), "old": Value::Object(old_vals)})
                            }
                            _ => json!({"modify": Value::Object(changed)}),
                        }
                    }
                };
                tj.insert(u.to_string(), v);
            }
            if !tj.is_empty() {
                out.insert(tn.clone(), Value::Object(tj));
            }
        }
        if out.is_empty() {
            None
        } else {
            Some(Value::Object(out))
        }
    }

    /// Wrap table-updates into the JSON-RPC notification for this monitor.
    pub fn notification(&self, updates: Value) -> Value {
        match self.version {
            MonitorVersion::V3 => {
                json!({"id": null, "method": "update3", "params": [self.id, ZERO_TXN_ID, updates]})
            }
            v => json!({"id": null, "method": v.method(), "params": [self.id, updates]}),
        }
    }

    /// The reply to the monitor request: table-updates, wrapped as
    /// `[false, ZERO_TXN_ID, updates]` for `monitor_cond_since`.
    pub fn reply(&self, db: &Database) -> Value {
        let init = self.initial(db);
        match self.version {
            MonitorVersion::V3 => json!([false, ZERO_TXN_ID, init]),
            _ => init,
        }
    }

    /// `monitor_cond_change`: replace the conditions (and columns, if given)
    /// of the tables in `requests`; returns the table-updates that move the
    /// client from the old row set to the new one (rows entering the
    /// condition as `insert`, rows leaving as `delete`), if any.
    pub fn change_condition(
        &mut self,
        db: &Database,
        requests: &Value,
    ) -> Result<Option<Value>, Error> {
        let o = requests.as_object().ok_or_else(|| {
            Error::Syntax("monitor-cond-change requests must be an object".into())
        })?;
        let mut out = Map::new();
        for (tn, r) in o {
            let ts = db
                .schema
                .tables
                .get(tn)
                .ok_or_else(|| Error::Syntax(format!("no table named {tn}")))?;
            let Some(old_tm) = self.tables.get(tn).cloned() else {
                return Err(Error::Syntax(format!("table {tn} is not monitored")));
            };
            let mut new_tm = old_tm.clone();
            let reqs: Vec<&Value> = match r {
                Value::Array(a) => a.iter().collect(),
                _ => vec![r],
            };
            let mut cond = Condition::default();
            let mut saw_where = false;
            for q in reqs {
                if let Some(w) = q.get("where") {
                    saw_where = true;
                    cond.clauses
                        .extend(Condition::from_json(w, ts, &|_| None)?.clauses);
                }
                if let Some(cols) = q.get("columns") {
                    let tmp = parse_table_requests(ts, &json!({"columns": cols}), true)?;
                    new_tm.columns = tmp.columns;
                }
            }
            if saw_where {
                new_tm.condition = cond;
            }
            let mut rows = Map::new();
            if let Some(t) = db.tables.get(tn) {
                for row in t.rows.values() {
                    let was = old_tm.condition.matches_any(row);
                    let is = new_tm.condition.matches_any(row);
                    if was == is {
                        continue;
                    }
                    let v = if is {
                        match self.version {
                            MonitorVersion::V1 => {
                                json!({"new": self.row_json(row, &new_tm, false, ts)})
                            }
                            _ => json!({"insert": self.row_json(row, &new_tm, true, ts)}),
                        }
                    } else {
                        match self.version {
                            MonitorVersion::V1 => {
                                json!({"old": self.row_json(row, &old_tm, false, ts)})
                            }
                            _ => json!({"delete": null}),
                        }
                    };
                    rows.insert(row.uuid.to_string(), v);
                }
            }
            if !rows.is_empty() {
                out.insert(tn.clone(), Value::Object(rows));
            }
            self.tables.insert(tn.clone(), new_tm);
        }
        Ok(if out.is_empty() {
            None
        } else {
            Some(Value::Object(out))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::test_schema;

    fn db_with_bridge() -> (Database, String) {
        let mut db = Database::new(test_schema());
        let r = db.transact(&[
            json!({"op":"insert","table":"Open_vSwitch","uuid-name":"o","row":{"bridges":["named-uuid","b"]}}),
            json!({"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0","ports":["named-uuid","p"]}}),
            json!({"op":"insert","table":"Port","uuid-name":"p","row":{"name":"br0"}}),
        ]);
        let b = r.results[1]["uuid"][1].as_str().unwrap().to_string();
        (db, b)
    }

    #[test]
    fn v1_and_v2_shapes() {
        let (mut db, b) = db_with_bridge();
        let v1 = Monitor::new(
            &db.schema,
            MonitorVersion::V1,
            Value::Null,
            &json!({"Bridge":[{"columns":["name","fail_mode","ports"]}]}),
        )
        .unwrap();
        let v2 = Monitor::new(
            &db.schema,
            MonitorVersion::V2,
            json!(["monid", "Open_vSwitch"]),
            &json!({"Bridge":[{"columns":["name","fail_mode","ports"]}],"Port":[{"columns":[]}]}),
        )
        .unwrap();
        let i1 = v1.initial(&db);
        assert_eq!(i1["Bridge"][&b]["new"]["fail_mode"], json!(["set", []]));
        let i2 = v2.initial(&db);
        assert!(i2["Bridge"][&b]["initial"].get("fail_mode").is_none());
        assert_eq!(i2["Bridge"][&b]["initial"]["name"], "br0");
        assert_eq!(i2["Port"].as_object().unwrap().len(), 1);
        let port_u = i2["Port"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        assert_eq!(i2["Port"][&port_u], json!({"initial":{}}));

        let r = db.transact(&[
            json!({"op":"insert","table":"Port","uuid-name":"p2","row":{"name":"p2"}}),
            json!({"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","insert",["named-uuid","p2"]]]}),
            json!({"op":"update","table":"Bridge","where":[],"row":{"fail_mode":"secure"}}),
        ]);
        let p2 = r.results[0]["uuid"][1].as_str().unwrap().to_string();
        let ch = r.changes.unwrap();
        let u2 = v2.updates(&db.schema, &ch).unwrap();
        assert_eq!(u2["Bridge"][&b]["modify"]["ports"], json!(["uuid", p2]));
        assert_eq!(u2["Bridge"][&b]["modify"]["fail_mode"], "secure");
        assert_eq!(u2["Port"][&p2], json!({"insert":{}}));
        let u1 = v1.updates(&db.schema, &ch).unwrap();
        assert_eq!(u1["Bridge"][&b]["old"]["fail_mode"], json!(["set", []]));
        assert!(u1["Bridge"][&b]["old"].get("name").is_none());
        assert_eq!(u1["Bridge"][&b]["new"]["name"], "br0");
        let n = v2.notification(u2);
        assert_eq!(n["method"], "update2");
        // Delete via GC.
        let r = db.transact(&[
            json!({"op":"update","table":"Open_vSwitch","where":[],"row":{"bridges":["set",[]]}}),
        ]);
        let u2 = v2.updates(&db.schema, r.changes.as_ref().unwrap()).unwrap();
        assert_eq!(u2["Bridge"][&b], json!({"delete":null}));
        let u1 = v1.updates(&db.schema, r.changes.as_ref().unwrap()).unwrap();
        assert_eq!(u1["Bridge"][&b]["old"]["name"], "br0");
    }

    #[test]
    fn conditions_and_change() {
        let (mut db, b) = db_with_bridge();
        let mut m = Monitor::new(
            &db.schema,
            MonitorVersion::V2,
            json!(1),
            &json!({"Port":[{"where":[["name","==","p9"]]}]}),
        )
        .unwrap();
        assert_eq!(m.initial(&db), json!({}));
        let r = db.transact(&[
            json!({"op":"insert","table":"Port","uuid-name":"p","row":{"name":"p9"}}),
            json!({"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","insert",["named-uuid","p"]]]}),
        ]);
        let u = m.updates(&db.schema, r.changes.as_ref().unwrap()).unwrap();
        assert_eq!(u["Port"].as_object().unwrap().len(), 1);
        assert!(u.get("Bridge").is_none());
        let delta = m
            .change_condition(&db, &json!({"Port":[{"where":[true]}]}))
            .unwrap()
            .unwrap();
        assert_eq!(delta["Port"].as_object().unwrap().len(), 1);
        let _ = b;
        let m3 = Monitor::new(
            &db.schema,
            MonitorVersion::V3,
            json!(["monid", "x"]),
            &json!({"Open_vSwitch":{}}),
        )
        .unwrap();
        let rep = m3.reply(&db);
        assert_eq!(rep[0], false);
        assert_eq!(rep[1], ZERO_TXN_ID);
        assert_eq!(rep[2]["Open_vSwitch"].as_object().unwrap().len(), 1);
        assert!(Monitor::new(
            &db.schema,
            MonitorVersion::V2,
            json!(1),
            &json!({"Nope":{}})
        )
        .is_err());
        assert!(Monitor::new(
            &db.schema,
            MonitorVersion::V2,
            json!(1),
            &json!({"Port":{"columns":["zz"]}})
        )
        .is_err());
    }
}
