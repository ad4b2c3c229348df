//! Compatibility of oxvs's bundled OVSDB schemas with Open vSwitch's.
//!
//! `schemas/vswitch.ovsschema` was written from the documented interface,
//! ovs-vswitchd.conf.db(5) (Open vSwitch 3.1, DB schema 8.3.1), and
//! `schemas/_server.ovsschema` from ovsdb-server(5) (DB schema 1.2.0). When
//! the Debian `openvswitch-common` package's schema is installed, the first
//! test compares the two table by table and column by column after putting
//! every type in its canonical RFC 7047 §3.2 long form, so that the many
//! equivalent spellings (`"integer"` vs `{"type":"integer"}`, `{"key":X}` vs
//! `X`, an absent `min` vs `"min":1`, an enum atom vs a one-element set,
//! a missing `refType` vs `"strong"`) compare equal. It prints every
//! difference and fails if there is any.
//!
//! This test deliberately uses only `serde_json`, not the crate's own schema
//! parser, so that it checks the schema files independently of that parser.

use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The real Open vSwitch schema shipped by Debian's openvswitch-common.
const SYSTEM_VSWITCH_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

fn our_schema(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(file)
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Canonical long form of an RFC 7047 <base-type>: always an object, enum
/// always a sorted `["set", [...]]`, `refType` always present for references.
fn normalize_base(base: &Value) -> Value {
    let mut out = match base {
        Value::String(atomic) => {
            let mut m = Map::new();
            m.insert("type".into(), Value::String(atomic.clone()));
            m
        }
        Value::Object(m) => m.clone(),
        other => return json!({ "invalid-base-type": other }),
    };
    if let Some(e) = out.get("enum").cloned() {
        let mut atoms: Vec<Value> = match &e {
            Value::Array(a) if a.len() == 2 && a[0] == "set" => {
                a[1].as_array().cloned().unwrap_or_default()
            }
            atom => vec![atom.clone()],
        };
        atoms.sort_by_key(|a| a.to_string());
        out.insert("enum".into(), json!(["set", atoms]));
    }
    if out.contains_key("refTable") && !out.contains_key("refType") {
        out.insert("refType".into(), json!("strong"));
    }
    Value::Object(out)
}

/// Canonical long form of an RFC 7047 <type>: an object with `key`, optional
/// `value`, and explicit `min` and `max`.
fn normalize_type(ty: &Value) -> Value {
    let m = match ty {
        Value::String(_) => {
            return json!({ "key": normalize_base(ty), "min": 1, "max": 1 });
        }
        Value::Object(m) => m,
        other => return json!({ "invalid-type": other }),
    };
    let mut out = Map::new();
    for (name, v) in m {
        match name.as_str() {
            "key" | "value" => {
                out.insert(name.clone(), normalize_base(v));
            }
            _ => {
                out.insert(name.clone(), v.clone());
            }
        }
    }
    out.entry("min").or_insert(json!(1));
    out.entry("max").or_insert(json!(1));
    Value::Object(out)
}

/// Canonical form of a <column-schema>: defaults of `ephemeral` (false) and
/// `mutable` (true) made explicit.
fn normalize_column(col: &Value) -> Value {
    let mut out = Map::new();
    out.insert(
        "type".into(),
        normalize_type(col.get("type").unwrap_or(&Value::Null)),
    );
    out.insert(
        "ephemeral".into(),
        col.get("ephemeral").cloned().unwrap_or(json!(false)),
    );
    out.insert(
        "mutable".into(),
        col.get("mutable").cloned().unwrap_or(json!(true)),
    );
    if let Value::Object(m) = col {
        for (k, v) in m {
            if !matches!(k.as_str(), "type" | "ephemeral" | "mutable") {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// Indexes as a set of column sets (column order inside an index and index
/// order do not change their meaning).
fn normalize_indexes(table: &Value) -> BTreeSet<BTreeSet<String>> {
    table
        .get("indexes")
        .and_then(Value::as_array)
        .map(|ix| {
            ix.iter()
                .map(|cols| {
                    cols.as_array()
                        .map(|c| {
                            c.iter()
                                .map(|s| s.as_str().unwrap_or("?").to_owned())
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn tables(schema: &Value) -> &Map<String, Value> {
    schema
        .get("tables")
        .and_then(Value::as_object)
        .expect("schema has a \"tables\" object")
}

/// Every difference between `ours` and `theirs`, one line each.
fn diff_schemas(ours: &Value, theirs: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    for field in ["name", "version"] {
        if ours.get(field) != theirs.get(field) {
            diffs.push(format!(
                "{field}: ours {:?}, theirs {:?}",
                ours.get(field),
                theirs.get(field)
            ));
        }
    }
    let (ot, tt) = (tables(ours), tables(theirs));
    for name in tt.keys().filter(|n| !ot.contains_key(*n)) {
        diffs.push(format!("table {name}: missing from ours"));
    }
    for name in ot.keys().filter(|n| !tt.contains_key(*n)) {
        diffs.push(format!("table {name}: not in theirs"));
    }
    for (name, o) in ot {
        let Some(t) = tt.get(name) else { continue };
        let is_root = |v: &Value| v.get("isRoot").cloned().unwrap_or(json!(false));
        if is_root(o) != is_root(t) {
            diffs.push(format!(
                "table {name}: isRoot ours {}, theirs {}",
                is_root(o),
                is_root(t)
            ));
        }
        if o.get("maxRows") != t.get("maxRows") {
            diffs.push(format!(
                "table {name}: maxRows ours {:?}, theirs {:?}",
                o.get("maxRows"),
                t.get("maxRows")
            ));
        }
        let (oi, ti) = (normalize_indexes(o), normalize_indexes(t));
        if oi != ti {
            diffs.push(format!("table {name}: indexes ours {oi:?}, theirs {ti:?}"));
        }
        let empty = Map::new();
        let oc = o
            .get("columns")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let tc = t
            .get("columns")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for col in tc.keys().filter(|c| !oc.contains_key(*c)) {
            diffs.push(format!(
                "column {name}.{col}: missing from ours: {}",
                tc[col]
            ));
        }
        for col in oc.keys().filter(|c| !tc.contains_key(*c)) {
            diffs.push(format!("column {name}.{col}: not in theirs"));
        }
        for (col, ocol) in oc {
            let Some(tcol) = tc.get(col) else { continue };
            let (on, tn) = (normalize_column(ocol), normalize_column(tcol));
            if on != tn {
                diffs.push(format!(
                    "column {name}.{col}:\n    ours   {on}\n    theirs {tn}"
                ));
            }
        }
    }
    diffs
}

/// POSIX cksum(1): CRC-32 (polynomial 0x04C11DB7, MSB first, initial value 0)
/// over the data followed by its length in as few little-endian bytes as
/// needed, then complemented.
fn posix_cksum(data: &[u8]) -> u32 {
    fn feed(crc: u32, byte: u8) -> u32 {
        let mut c = crc ^ (u32::from(byte) << 24);
        for _ in 0..8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            };
        }
        c
    }
    let mut crc = data.iter().fold(0u32, |c, &b| feed(c, b));
    let mut len = data.len();
    while len != 0 {
        crc = feed(crc, (len & 0xff) as u8);
        len >>= 8;
    }
    !crc
}

/// The schema's `"cksum"` as Open vSwitch's build (build-aux/cksum-schema-check)
/// computes it: `cksum` of the file with the `"cksum"` line deleted, as "CRC LENGTH".
fn expected_cksum(text: &str) -> String {
    let body: String = text
        .split_inclusive('\n')
        .filter(|line| !line.contains("\"cksum\""))
        .collect();
    format!("{} {}", posix_cksum(body.as_bytes()), body.len())
}

#[test]
fn posix_cksum_matches_known_values() {
    // `printf '' | cksum` and `printf 'abc' | cksum` from GNU coreutils.
    assert_eq!(posix_cksum(b""), 4_294_967_295);
    assert_eq!(posix_cksum(b"abc"), 1_219_131_554);
}

#[test]
fn vswitch_schema_matches_open_vswitch() {
    let ours = load(&our_schema("vswitch.ovsschema"));
    let system = Path::new(SYSTEM_VSWITCH_SCHEMA);
    if !system.exists() {
        println!("skipping: {SYSTEM_VSWITCH_SCHEMA} not installed (openvswitch-common)");
        return;
    }
    let theirs = load(system);
    let diffs = diff_schemas(&ours, &theirs);
    for d in &diffs {
        println!("{d}");
    }
    assert!(
        diffs.is_empty(),
        "{} difference(s) from {SYSTEM_VSWITCH_SCHEMA}",
        diffs.len()
    );
}

#[test]
fn diff_detects_differences() {
    let base = json!({"name": "D", "version": "1.0.0", "tables": {"T": {"columns": {
        "a": {"type": "integer"},
        "r": {"type": {"key": {"type": "uuid", "refTable": "T"}, "min": 0, "max": "unlimited"}}
    }, "isRoot": true}}});
    // Equivalent spellings compare equal.
    let same = json!({"name": "D", "version": "1.0.0", "tables": {"T": {"columns": {
        "a": {"type": {"key": {"type": "integer"}, "min": 1, "max": 1}, "mutable": true},
        "r": {"type": {"key": {"type": "uuid", "refTable": "T", "refType": "strong"},
                       "min": 0, "max": "unlimited"}, "ephemeral": false}
    }, "isRoot": true, "indexes": []}}});
    assert!(diff_schemas(&base, &same).is_empty());
    // Each real change is reported.
    let changed = json!({"name": "D", "version": "1.0.1", "tables": {"T": {"columns": {
        "a": {"type": {"key": "integer", "min": 0}},
        "r": {"type": {"key": {"type": "uuid", "refTable": "T", "refType": "weak"},
                       "min": 0, "max": "unlimited"}},
        "b": {"type": "string"}
    }, "maxRows": 1}, "U": {"columns": {}}}});
    let d = diff_schemas(&base, &changed);
    assert_eq!(d.len(), 7, "{d:#?}");
}

#[test]
fn vswitch_schema_is_well_formed() {
    let path = our_schema("vswitch.ovsschema");
    let text = std::fs::read_to_string(&path).expect("read schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    assert_eq!(schema["name"], "Open_vSwitch");
    assert_eq!(schema["version"], "8.3.1");
    assert_eq!(schema["cksum"], expected_cksum(&text).as_str());
    let tables = tables(&schema);
    let expected: BTreeSet<&str> = [
        "Open_vSwitch",
        "Bridge",
        "Port",
        "Interface",
        "Flow_Table",
        "QoS",
        "Queue",
        "Mirror",
        "Controller",
        "Manager",
        "NetFlow",
        "SSL",
        "sFlow",
        "IPFIX",
        "Flow_Sample_Collector_Set",
        "AutoAttach",
        "Datapath",
        "CT_Zone",
        "CT_Timeout_Policy",
    ]
    .into_iter()
    .collect();
    assert_eq!(
        tables.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected
    );
    // Every reference names a table of this schema; every index names columns.
    for (tname, table) in tables {
        let columns = table["columns"].as_object().expect("columns object");
        for (cname, col) in columns {
            let ty = normalize_type(&col["type"]);
            for part in ["key", "value"] {
                if let Some(rt) = ty.get(part).and_then(|b| b.get("refTable")) {
                    let rt = rt.as_str().expect("refTable is a string");
                    assert!(tables.contains_key(rt), "{tname}.{cname} refers to {rt}");
                }
            }
        }
        for index in normalize_indexes(table) {
            for c in index {
                assert!(columns.contains_key(&c), "{tname} index names {c}");
            }
        }
    }
}

#[test]
fn server_schema_is_documented_shape() {
    let path = our_schema("_server.ovsschema");
    let text = std::fs::read_to_string(&path).expect("read _server schema");
    let ours: Value = serde_json::from_str(&text).expect("_server schema is JSON");
    let documented = json!({
        "name": "_Server",
        "version": "1.2.0",
        "tables": {"Database": {"isRoot": true, "columns": {
            "name": {"type": "string"},
            "model": {"type": {"key": {"type": "string",
                                       "enum": ["set", ["standalone", "clustered", "relay"]]}}},
            "connected": {"type": "boolean"},
            "leader": {"type": "boolean"},
            "schema": {"type": {"key": "string", "min": 0}},
            "cid": {"type": {"key": "uuid", "min": 0}},
            "sid": {"type": {"key": "uuid", "min": 0}},
            "index": {"type": {"key": "integer", "min": 0}}
        }}}
    });
    let diffs = diff_schemas(&ours, &documented);
    for d in &diffs {
        println!("{d}");
    }
    assert!(
        diffs.is_empty(),
        "_Server schema differs from ovsdb-server(5)"
    );
    if let Some(ck) = ours.get("cksum") {
        assert_eq!(ck, expected_cksum(&text).as_str());
    }
}

/// Runs `ovsdb-tool` with `args`; `None` when the tool is not installed.
fn ovsdb_tool(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("ovsdb-tool")
        .args(args)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "ovsdb-tool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn ovsdb_tool_accepts_our_schemas() {
    let vswitch = our_schema("vswitch.ovsschema");
    let server = our_schema("_server.ovsschema");
    let (vswitch, server) = (vswitch.to_str().unwrap(), server.to_str().unwrap());
    let Some(version) = ovsdb_tool(&["schema-version", vswitch]) else {
        println!("skipping: ovsdb-tool not installed (openvswitch-common)");
        return;
    };
    assert_eq!(version, "8.3.1");
    assert_eq!(ovsdb_tool(&["schema-version", server]).unwrap(), "1.2.0");

    let dir = std::env::temp_dir().join(format!("oxvs-schema-compat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("conf.db");
    let db = db.to_str().unwrap();
    ovsdb_tool(&["create", db, vswitch]).unwrap();
    let log = ovsdb_tool(&["show-log", db]).unwrap();
    assert!(
        log.contains("\"Open_vSwitch\" schema, version=\"8.3.1\""),
        "{log}"
    );

    // OVS's own schema comparison (ovsdb_schema_equal) also compares "cksum";
    // give a copy of ours the real file's cksum so only the content is compared.
    let system = Path::new(SYSTEM_VSWITCH_SCHEMA);
    if system.exists() {
        let real_cksum = ovsdb_tool(&["schema-cksum", SYSTEM_VSWITCH_SCHEMA]).unwrap();
        let mut copy = load(&our_schema("vswitch.ovsschema"));
        copy["cksum"] = Value::String(real_cksum);
        let copy_path = dir.join("ours-with-real-cksum.ovsschema");
        std::fs::write(&copy_path, copy.to_string()).unwrap();
        let real_db = dir.join("real.db");
        let real_db = real_db.to_str().unwrap();
        ovsdb_tool(&["create", real_db, SYSTEM_VSWITCH_SCHEMA]).unwrap();
        let verdict = ovsdb_tool(&["needs-conversion", real_db, copy_path.to_str().unwrap()]);
        assert_eq!(
            verdict.as_deref(),
            Some("no"),
            "ovsdb-tool sees a different schema"
        );
    }
    let server_db = dir.join("server.db");
    ovsdb_tool(&["create", server_db.to_str().unwrap(), server]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
