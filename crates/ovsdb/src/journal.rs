//! The on-disk database: Open vSwitch's standalone log format (ovsdb/log.c,
//! ovsdb/file.c), so `ovsdb-tool show-log`/`query` read our files and we
//! read theirs.
//!
//! Format: a sequence of records, each `OVSDB JSON <len> <sha1>\n<body>`
//! where `<body>` is one line of JSON followed by `\n`, `<len>` its length
//! in bytes (decimal) and `<sha1>` the lowercase hex SHA-1 of `<body>`. The
//! first record is the schema; every later record is one committed
//! transaction `{"<table>":{"<uuid>":<row>|null,...}, "_date":<ms since
//! epoch>, "_comment":"..."}` where an inserted row lists its non-default
//! columns, a modified row its changed columns (whole new values, or update2
//! diffs when the record says `"_is_diff":true` — written by newer
//! ovsdb-server, accepted on replay) and `null` deletes the row. Ephemeral
//! columns and `_version` are never written.
//!
//! Durability: each record is written and `fsync`ed before the server
//! replies. At open, a torn or corrupt tail (bad header, short body, SHA-1
//! mismatch, bad JSON) is truncated with a warning and the database is what
//! the valid prefix says. Compaction writes schema + one record holding the
//! whole database to `<file>.tmp`, fsyncs it, renames it over the file and
//! fsyncs the directory. Automatic compaction ([`Journal::should_compact`])
//! triggers when the file is more than 4× its size after the last compaction
//! and either ≥ 10 MiB or ≥ 100 records were appended since.
//! Performance: synchronous file I/O on the commit path (configuration rates).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use uuid::Uuid;

use crate::datum::Datum;
use crate::db::{Changes, Database, Row};
use crate::schema::DatabaseSchema;
use crate::Error;

const MAGIC: &str = "OVSDB JSON ";
/// Compaction threshold: minimum size in bytes (10 MiB) …
pub const COMPACT_MIN_BYTES: u64 = 10 << 20;
/// … or minimum number of records since the last compaction …
pub const COMPACT_MIN_RECORDS: u64 = 100;
/// … and growth factor over the size after the last compaction.
pub const COMPACT_GROWTH: u64 = 4;

/// An open journal file, positioned at its end for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    size: u64,
    base_size: u64,
    records_since_compact: u64,
}

/// Encode one record (header + body).
pub fn encode_record(v: &Value) -> Vec<u8> {
    let mut body = v.to_string().into_bytes();
    body.push(b'\n');
    let sha = hex::encode(Sha1::digest(&body));
    let mut out = format!("{MAGIC}{} {sha}\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Parse the record at `buf[pos..]`; returns the JSON and the position after
/// it, or `None` if the record is torn or corrupt.
fn decode_record(buf: &[u8], pos: usize) -> Option<(Value, usize)> {
    let rest = buf.get(pos..)?;
    let nl = rest.iter().take(200).position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&rest[..nl]).ok()?;
    let h = header.strip_prefix(MAGIC)?;
    let mut parts = h.split(' ');
    let len: usize = parts.next()?.parse().ok()?;
    let sha = parts.next()?;
    if parts.next().is_some() || sha.len() != 40 {
        return None;
    }
    let start = nl + 1;
    let body = rest.get(start..start.checked_add(len)?)?;
    if hex::encode(Sha1::digest(body)) != sha.to_ascii_lowercase() {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    Some((v, pos + start + len))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn fsync_dir(path: &Path) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// The JSON of one row change in a transaction record (`None` = omit).
fn row_record(
    schema: &DatabaseSchema,
    table: &str,
    old: Option<&Row>,
    new: Option<&Row>,
) -> Option<Value> {
    let ts = schema.tables.get(table)?;
    let Some(new) = new else {
        return Some(Value::Null);
    };
    let mut o = Map::new();
    for (c, cs) in &ts.columns {
        if cs.ephemeral {
            continue;
        }
        let Some(nd) = new.columns.get(c) else {
            continue;
        };
        let write = match old {
            Some(old) => old.columns.get(c) != Some(nd),
            None => !nd.is_default(&cs.type_),
        };
        if write {
            o.insert(c.clone(), nd.to_json());
        }
    }
    if old.is_some() && o.is_empty() {
        return None;
    }
    Some(Value::Object(o))
}

/// The transaction record for a change set.
pub fn txn_record(schema: &DatabaseSchema, changes: &Changes, comments: &[String]) -> Value {
    let mut rec = Map::new();
    for (tn, rows) in &changes.tables {
        let mut t = Map::new();
        for (u, rc) in rows {
            if let Some(r) = row_record(schema, tn, rc.old.as_deref(), rc.new.as_deref()) {
                t.insert(u.to_string(), r);
            }
        }
        if !t.is_empty() {
            rec.insert(tn.clone(), Value::Object(t));
        }
    }
    rec.insert("_date".into(), now_ms().into());
    if !comments.is_empty() {
        rec.insert("_comment".into(), comments.join("\n").into());
    }
    Value::Object(rec)
}

/// Apply one transaction record to `db`. Errors: `Error::Journal` for
/// malformed rows or values.
pub fn replay_record(db: &mut Database, rec: &Value) -> Result<(), Error> {
    let o = rec
        .as_object()
        .ok_or_else(|| Error::Journal("transaction record is not an object".into()))?;
    let is_diff = o.get("_is_diff").and_then(Value::as_bool).unwrap_or(false);
    let schema = db.schema.clone();
    for (tn, rows) in o {
        if tn.starts_with('_') {
            continue;
        }
        let Some(ts) = schema.tables.get(tn) else {
            return Err(Error::Journal(format!("record names unknown table {tn}")));
        };
        let rows = rows
            .as_object()
            .ok_or_else(|| Error::Journal(format!("table {tn} entry is not an object")))?;
        let Some(t) = db.tables.get_mut(tn) else {
            continue;
        };
        for (us, rj) in rows {
            let u =
                Uuid::parse_str(us).map_err(|_| Error::Journal(format!("bad row uuid {us}")))?;
            if rj.is_null() {
                t.rows.remove(&u);
                continue;
            }
            let cols = rj
                .as_object()
                .ok_or_else(|| Error::Journal(format!("row {us} is not an object")))?;
            let existing = t.rows.get(&u).cloned();
            let mut row = match &existing {
                Some(r) => (**r).clone(),
                None => Row::new_default(ts, u),
            };
            for (c, v) in cols {
                let Some(cs) = ts.columns.get(c) else {
                    tracing::warn!("journal: ignoring unknown column {tn}.{c}");
                    continue;
                };
                let relaxed = cs.type_.relaxed();
                let d = Datum::from_json(v, if is_diff { &relaxed } else { &cs.type_ }, &|_| None)
                    .map_err(|e| Error::Journal(format!("{tn}.{c} of row {us}: {e}")))?;
                let d = if is_diff && existing.is_some() && !cs.type_.max_is_one() {
                    row.columns
                        .get(c)
                        .map(|cur| cur.apply_diff(&d))
                        .unwrap_or(d)
                } else {
                    d
                };
                row.columns.insert(c.clone(), d);
            }
            row.version = Uuid::new_v4();
            t.rows.insert(u, Arc::new(row));
        }
    }
    Ok(())
}

impl Journal {
    /// Create a new database file holding only `schema` (like `ovsdb-tool
    /// create`). Errors: the file already exists, or I/O errors.
    pub fn create(path: impl AsRef<Path>, schema: &DatabaseSchema) -> Result<Journal, Error> {
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        let rec = encode_record(&schema.to_json());
        file.write_all(&rec)?;
        file.sync_all()?;
        fsync_dir(&path)?;
        let size = rec.len() as u64;
        Ok(Journal {
            path,
            file,
            size,
            base_size: size,
            records_since_compact: 0,
        })
    }

    /// Open an existing database file and replay it. A torn or corrupt tail
    /// is truncated (logged as a warning). Errors: missing/unreadable file, a
    /// first record that is not a valid schema, a clustered database, or a
    /// transaction record that does not fit the schema.
    pub fn open(path: impl AsRef<Path>) -> Result<(Journal, Database), Error> {
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        if buf.starts_with(b"OVSDB CLUSTER") {
            return Err(Error::Journal(format!(
                "{}: clustered databases are not supported",
                path.display()
            )));
        }
        let (schema_json, mut pos) = decode_record(&buf, 0).ok_or_else(|| {
            Error::Journal(format!(
                "{}: not an OVSDB standalone database file",
                path.display()
            ))
        })?;
        let schema = DatabaseSchema::from_json(&schema_json)?;
        let mut db = Database::new(schema);
        let mut records = 0u64;
        while pos < buf.len() {
            match decode_record(&buf, pos) {
                Some((rec, next)) => {
                    replay_record(&mut db, &rec)?;
                    pos = next;
                    records += 1;
                }
                None => {
                    tracing::warn!(
                        "{}: truncating {} bytes of torn or corrupt data at offset {pos}",
                        path.display(),
                        buf.len() - pos
                    );
                    file.set_len(pos as u64)?;
                    file.sync_all()?;
                    break;
                }
            }
        }
        file.seek(SeekFrom::Start(pos as u64))?;
        let size = pos as u64;
        Ok((
            Journal {
                path,
                file,
                size,
                base_size: size,
                records_since_compact: records,
            },
            db,
        ))
    }

    /// Open `path` if it exists, else create it with `schema`.
    pub fn open_or_create(
        path: impl AsRef<Path>,
        schema: &DatabaseSchema,
    ) -> Result<(Journal, Database), Error> {
        if path.as_ref().exists() {
            Journal::open(path)
        } else {
            let j = Journal::create(path, schema)?;
            Ok((j, Database::new(schema.clone())))
        }
    }

    /// Append one committed transaction and fsync. Nothing is written for an
    /// empty change set.
    pub fn append(
        &mut self,
        schema: &DatabaseSchema,
        changes: &Changes,
        comments: &[String],
    ) -> Result<(), Error> {
        if changes.is_empty() {
            return Ok(());
        }
        let rec = encode_record(&txn_record(schema, changes, comments));
        self.file.write_all(&rec)?;
        self.file.sync_data()?;
        self.size += rec.len() as u64;
        self.records_since_compact += 1;
        Ok(())
    }

    /// True when automatic compaction is due (see the module comment).
    pub fn should_compact(&self) -> bool {
        self.size > COMPACT_GROWTH.saturating_mul(self.base_size)
            && (self.size >= COMPACT_MIN_BYTES || self.records_since_compact >= COMPACT_MIN_RECORDS)
    }

    /// Current file size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rewrite the file as schema + one record with the whole of `db`,
    /// atomically (temp file, fsync, rename, fsync directory).
    pub fn compact(&mut self, db: &Database) -> Result<(), Error> {
        let tmp = self.path.with_extension("tmp");
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut data = encode_record(&db.schema.to_json());
        let mut rec = Map::new();
        for (tn, t) in &db.tables {
            let mut m = Map::new();
            for (u, r) in &t.rows {
                if let Some(v) = row_record(&db.schema, tn, None, Some(r)) {
                    m.insert(u.to_string(), v);
                }
            }
            if !m.is_empty() {
                rec.insert(tn.clone(), Value::Object(m));
            }
        }
        rec.insert("_date".into(), now_ms().into());
        rec.insert("_comment".into(), "compacting database online".into());
        data.extend_from_slice(&encode_record(&Value::Object(rec)));
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        fsync_dir(&self.path)?;
        f.seek(SeekFrom::End(0))?;
        self.file = f;
        self.size = data.len() as u64;
        self.base_size = self.size;
        self.records_since_compact = 0;
        Ok(())
    }
}

/// Read every record of a journal file as JSON (schema first), stopping at
/// the first torn record. For tools and tests.
pub fn read_records(path: impl AsRef<Path>) -> Result<Vec<Value>, Error> {
    let buf = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some((v, next)) = decode_record(&buf, pos) {
        out.push(v);
        pos = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::test_schema;
    use serde_json::json;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("oxvs-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn populate(j: &mut Journal, db: &mut Database) {
        let ops = [
            json!({"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","b"],"external_ids":["map",[["k","v"]]]}}),
            json!({"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0","ports":["named-uuid","p"]}}),
            json!({"op":"insert","table":"Port","uuid-name":"p","row":{"name":"br0","tag":7}}),
            json!({"op":"comment","comment":"hello"}),
        ];
        let r = db.transact(&ops);
        j.append(&db.schema, r.changes.as_ref().unwrap(), &r.comments)
            .unwrap();
        let r = db.transact(&[json!({"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",3]]})]);
        j.append(&db.schema, r.changes.as_ref().unwrap(), &r.comments)
            .unwrap();
        let r = db
            .transact(&[json!({"op":"update","table":"Port","where":[],"row":{"tag":["set",[]]}})]);
        j.append(&db.schema, r.changes.as_ref().unwrap(), &r.comments)
            .unwrap();
    }

    #[test]
    fn roundtrip_and_torn_tail() {
        let d = tmpdir("rt");
        let p = d.join("conf.db");
        let mut db = Database::new(test_schema());
        let mut j = Journal::create(&p, &db.schema).unwrap();
        populate(&mut j, &mut db);
        drop(j);
        let (_, db2) = Journal::open(&p).unwrap();
        assert!(db2.same_contents(&db));
        let recs = read_records(&p).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[1]["_comment"], "hello");
        let good_len = std::fs::metadata(&p).unwrap().len();
        // Half a record at the end.
        let extra = encode_record(&json!({"Port":{}}));
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&extra[..extra.len() / 2]).unwrap();
        drop(f);
        let (_, db3) = Journal::open(&p).unwrap();
        assert!(db3.same_contents(&db));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), good_len);
        // Garbage and a bad checksum.
        let mut bad = encode_record(&json!({"Port":{}}));
        let n = bad.len();
        bad[n - 3] ^= 1;
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&bad).unwrap();
        f.write_all(b"garbage\n").unwrap();
        drop(f);
        let (mut j, db4) = Journal::open(&p).unwrap();
        assert!(db4.same_contents(&db));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), good_len);
        // Appending after truncation works.
        let mut db5 = db4.clone();
        let r = db5.transact(&[json!({"op":"insert","table":"QoS","row":{"type":"x"}})]);
        j.append(&db5.schema, r.changes.as_ref().unwrap(), &[])
            .unwrap();
        let (_, db6) = Journal::open(&p).unwrap();
        assert!(db6.same_contents(&db5));
    }

    #[test]
    fn compaction() {
        let d = tmpdir("compact");
        let p = d.join("conf.db");
        let mut db = Database::new(test_schema());
        let mut j = Journal::create(&p, &db.schema).unwrap();
        populate(&mut j, &mut db);
        for _ in 0..150 {
            let r = db.transact(&[json!({"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]})]);
            j.append(&db.schema, r.changes.as_ref().unwrap(), &[])
                .unwrap();
        }
        assert!(j.should_compact());
        let before = j.size();
        j.compact(&db).unwrap();
        assert!(j.size() < before);
        assert!(!j.should_compact());
        let r = db.transact(&[json!({"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]})]);
        j.append(&db.schema, r.changes.as_ref().unwrap(), &[])
            .unwrap();
        drop(j);
        assert_eq!(read_records(&p).unwrap().len(), 3);
        let (_, db2) = Journal::open(&p).unwrap();
        assert!(db2.same_contents(&db));
    }

    #[test]
    fn is_diff_records_replay() {
        let mut db = Database::new(test_schema());
        let r = db.transact(&[
            json!({"op":"insert","table":"Open_vSwitch","row":{"external_ids":["map",[["a","1"],["b","2"]]]}}),
        ]);
        let u = r.results[0]["uuid"][1].as_str().unwrap().to_string();
        let rec = json!({"Open_vSwitch":{u.clone():{"external_ids":["map",[["a","1"],["c","3"]]],"next_cfg":4}},"_is_diff":true});
        replay_record(&mut db, &rec).unwrap();
        let row = db.tables["Open_vSwitch"].iter().next().unwrap();
        assert_eq!(row.columns["external_ids"].map_get_str("a"), None);
        assert_eq!(row.columns["external_ids"].map_get_str("c"), Some("3"));
        assert_eq!(row.columns["next_cfg"].as_integer(), Some(4));
    }
}
