//! Offline operations on a database file, in the spirit of `ovsdb-tool`:
//! create, compact, query/transact without a server, schema facts, and
//! `show-log` with ovsdb-tool's exact text.
//!
//! Idea: every function works on the journal file alone (see
//! [`crate::journal`]); none may be used on a file a running server has
//! open for writing except the read-only ones (`show_log`, `query`, the
//! `db_*` facts), as with ovsdb-tool.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::datum::Datum;
use crate::journal::{self, Journal};
use crate::schema::DatabaseSchema;
use crate::text::datum_to_string;
use crate::Error;

/// Creates database file `path` holding `schema` and no rows (`ovsdb-tool
/// create`). Errors: `Error::Io` "create failed (File exists)" if `path`
/// exists, other I/O errors.
pub fn create(path: &Path, schema: &DatabaseSchema) -> Result<(), Error> {
    if path.exists() {
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{}: create failed (File exists)", path.display()),
        )));
    }
    Journal::create(path, schema).map(|_| ())
}

/// Rewrites `path` as its schema plus one record holding the whole
/// database (`ovsdb-tool compact DB`), or writes that to `dst` and leaves
/// `path` alone. Errors: unreadable file, I/O errors.
pub fn compact(path: &Path, dst: Option<&Path>) -> Result<(), Error> {
    let (mut j, db) = Journal::open(path)?;
    match dst {
        None => j.compact(&db),
        Some(dst) => {
            if dst.exists() {
                std::fs::remove_file(dst)?;
            }
            let mut out = Journal::create(dst, &db.schema)?;
            out.compact(&db)
        }
    }
}

/// Runs the RFC 7047 `transact` operations `ops` (the JSON array
/// `["DB", op...]` as ovsdb-tool takes it) against the file's database and
/// returns the result array. With `write`, a successful transaction is
/// appended to the file (`ovsdb-tool transact`); otherwise nothing is
/// written (`query`). Errors: unreadable file, a request that is not an
/// array naming this database (as a JSON-RPC error object would say).
pub fn transact(path: &Path, request: &Value, write: bool) -> Result<Value, Error> {
    let (mut j, mut db) = Journal::open(path)?;
    let arr = request
        .as_array()
        .ok_or_else(|| Error::Syntax("transaction must be a JSON array".into()))?;
    match arr.first().and_then(Value::as_str) {
        Some(n) if n == db.name() => {}
        Some(n) => {
            return Err(Error::Syntax(format!(
                "{n}: unknown database (the file holds {})",
                db.name()
            )))
        }
        None => {
            return Err(Error::Syntax(
                "transaction must start with a database name".into(),
            ))
        }
    }
    let mut r = db.transact(&arr[1..]);
    if write {
        if let Some(changes) = r.changes.take() {
            if !changes.is_empty() {
                j.append(&db.schema, &changes, &r.comments)?;
            }
        }
    }
    Ok(r.results)
}

/// The database file's schema (first record). Errors: unreadable or empty
/// file, a first record that is not a schema.
pub fn db_schema(path: &Path) -> Result<DatabaseSchema, Error> {
    let first = journal::read_records(path)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Syntax(format!("{}: empty database file", path.display())))?;
    DatabaseSchema::from_json(&first)
}

/// `ovsdb-tool show-log`: one paragraph per record. `verbosity` 0 prints
/// each record's date and comment, 1 (`-m`) adds the rows each
/// transaction touched, 2 (`-mm`) their column values. Tables, rows and
/// columns are listed in name order (ovsdb-tool uses hash order).
/// Errors: unreadable file, a first record that is not a schema.
pub fn show_log(path: &Path, verbosity: u8) -> Result<String, Error> {
    let records = journal::read_records(path)?;
    let mut out = String::new();
    let mut schema: Option<DatabaseSchema> = None;
    // Row uuid → its label (quoted `name` column, or the uuid's first 8
    // hex digits) once seen.
    let mut names: HashMap<String, String> = HashMap::new();
    for (i, rec) in records.iter().enumerate() {
        let _ = write!(out, "record {i}:");
        if i == 0 {
            let s = DatabaseSchema::from_json(rec)?;
            let _ = writeln!(
                out,
                " \"{}\" schema, version=\"{}\", cksum=\"{}\"",
                s.name,
                s.version,
                s.cksum.as_deref().unwrap_or("")
            );
            schema = Some(s);
        } else if let Some(obj) = rec.as_object() {
            if let Some(ms) = obj.get("_date").and_then(Value::as_i64) {
                // Older files wrote seconds.
                let ms = if ms < i64::from(i32::MAX) {
                    ms * 1000
                } else {
                    ms
                };
                out.push(' ');
                out.push_str(&utc_msec(ms));
            }
            if let Some(c) = obj.get("_comment").and_then(Value::as_str) {
                let _ = write!(out, " \"{c}\"");
            }
            if verbosity > 0 {
                print_changes(&mut out, obj, schema.as_ref(), &mut names, verbosity);
            }
        }
        out.push('\n');
    }
    Ok(out)
}

fn print_changes(
    out: &mut String,
    rec: &serde_json::Map<String, Value>,
    schema: Option<&DatabaseSchema>,
    names: &mut HashMap<String, String>,
    verbosity: u8,
) {
    let mut first = true;
    // Records written as update2-style diffs (newer ovsdb-server and
    // ovsdb-tool) label modified and deleted rows "diff".
    let diff = if rec.get("_is_diff") == Some(&Value::Bool(true)) {
        " diff"
    } else {
        ""
    };
    for (table, rows) in rec {
        let Some(rows) = rows.as_object().filter(|_| !table.starts_with('_')) else {
            continue;
        };
        if std::mem::take(&mut first) {
            out.push('\n');
        }
        let ts = schema.and_then(|s| s.tables.get(table));
        for (uuid, cols) in rows {
            let short: String = uuid.chars().take(8).collect();
            let old_name = names.get(uuid).cloned();
            let new_name = cols.get("name").map(Value::to_string);
            match (&old_name, &new_name) {
                (None, Some(n)) => {
                    let _ = writeln!(out, "  table {table} insert row {n} ({short}):");
                }
                (None, None) => {
                    let _ = writeln!(out, "  table {table} insert row {short}:");
                }
                (Some(o), _) => {
                    let _ = writeln!(out, "  table {table} row {o} ({short}){diff}:");
                }
            }
            match cols {
                Value::Object(cols) => {
                    if verbosity > 1 {
                        for (col, v) in cols {
                            let text = ts
                                .and_then(|ts| ts.columns.get(col))
                                .and_then(|cs| {
                                    Datum::from_json(v, &cs.type_, &|_| None)
                                        .ok()
                                        .map(|d| datum_to_string(&d, &cs.type_))
                                })
                                .unwrap_or_else(|| v.to_string());
                            let _ = writeln!(out, "    {col}={text}");
                        }
                    }
                    match new_name {
                        Some(n) if old_name.as_deref() != Some(n.as_str()) => {
                            names.insert(uuid.clone(), n);
                        }
                        _ if old_name.is_none() => {
                            names.insert(uuid.clone(), short);
                        }
                        _ => {}
                    }
                }
                Value::Null => {
                    out.push_str("    delete row\n");
                    names.remove(uuid);
                }
                _ => {}
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in UTC for `ms` milliseconds since the epoch.
fn utc_msec(ms: i64) -> String {
    let (y, m, d, hh, mm, ss) = utc_fields(ms.div_euclid(1000));
    let msec = ms.rem_euclid(1000);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{msec:03}")
}

/// (year, month 1–12, day 1–31, hour, minute, second) in UTC of `secs`
/// seconds since 1970-01-01 (proleptic Gregorian calendar, H. Hinnant's
/// civil-from-days algorithm). For the tools' log and show-log texts.
pub fn utc_fields(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, tod / 3600, tod / 60 % 60, tod % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_msec(0), "1970-01-01 00:00:00.000");
        assert_eq!(utc_msec(951_782_400_123), "2000-02-29 00:00:00.123");
        assert_eq!(utc_msec(1_795_327_799_993), "2026-11-22 06:09:59.993");
    }
}
