//! `ovsdb::tool` (behind `oxvs db`) against the real `ovsdb-tool` 3.1 on the
//! same files: show-log text at every verbosity, query results, schema
//! facts, and each tool reading the other's writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use ovsdb::{tool, DatabaseSchema};
use serde_json::{json, Value};

const SYSTEM_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

fn have_ovsdb_tool() -> bool {
    Command::new("ovsdb-tool").arg("--version").output().is_ok()
        && Path::new(SYSTEM_SCHEMA).exists()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxvs-tool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ovsdb_tool(args: &[&str]) -> String {
    let o = Command::new("ovsdb-tool").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "ovsdb-tool {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn schema() -> DatabaseSchema {
    let text = std::fs::read_to_string(SYSTEM_SCHEMA).unwrap();
    DatabaseSchema::from_json(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// Transactions touching one table each (ovsdb-tool lists tables, rows and
/// columns in hash order; one table and few columns per record keeps the
/// comparison exact).
fn txns() -> Vec<Value> {
    vec![
        json!(["Open_vSwitch", {"op":"insert","table":"Open_vSwitch","row":{"next_cfg":1}},
               {"op":"comment","comment":"first"}]),
        json!(["Open_vSwitch", {"op":"update","table":"Open_vSwitch","where":[],
               "row":{"external_ids":["map",[["a","b"]]]}}]),
        json!(["Open_vSwitch", {"op":"update","table":"Open_vSwitch","where":[],"row":{"next_cfg":2}},
               {"op":"comment","comment":"ovs-vsctl: ovs-vsctl add-br br0"}]),
    ]
}

#[test]
fn show_log_matches_ovsdb_tool_on_its_file_and_ours() {
    if !have_ovsdb_tool() {
        eprintln!("skipped: ovsdb-tool not installed");
        return;
    }
    let d = tmpdir("showlog");
    // A file written by ovsdb-tool ...
    let theirs = d.join("theirs.db");
    ovsdb_tool(&["create", theirs.to_str().unwrap(), SYSTEM_SCHEMA]);
    // ... and one written by us.
    let ours = d.join("ours.db");
    tool::create(&ours, &schema()).unwrap();
    for t in txns() {
        let r_theirs: Value = serde_json::from_str(&ovsdb_tool(&[
            "transact",
            theirs.to_str().unwrap(),
            &t.to_string(),
        ]))
        .unwrap();
        let r_ours = tool::transact(&ours, &t, true).unwrap();
        assert_eq!(
            r_theirs.as_array().unwrap().len(),
            r_ours.as_array().unwrap().len()
        );
    }
    for file in [&theirs, &ours] {
        for (more, flag) in [(0u8, None), (1, Some("-m")), (2, Some("-mm"))] {
            let mut args = vec!["show-log"];
            if let Some(f) = flag {
                args.insert(0, f);
            }
            args.push(file.to_str().unwrap());
            let expected = ovsdb_tool(&args);
            let got = tool::show_log(file, more).unwrap();
            // Row uuids differ between files, not between the tools.
            assert_eq!(got, expected, "{} -m x{more}", file.display());
        }
    }
    // Our writes read back by ovsdb-tool query, and theirs by ours.
    let q = json!(["Open_vSwitch", {"op":"select","table":"Open_vSwitch","where":[],
        "columns":["next_cfg","external_ids"]}]);
    let expect = json!([{"rows":[{"next_cfg":2,"external_ids":["map",[["a","b"]]]}]}]);
    for file in [&theirs, &ours] {
        let r: Value = serde_json::from_str(&ovsdb_tool(&[
            "query",
            file.to_str().unwrap(),
            &q.to_string(),
        ]))
        .unwrap();
        assert_eq!(r, expect, "ovsdb-tool query {}", file.display());
        assert_eq!(
            tool::transact(file, &q, false).unwrap(),
            expect,
            "tool::transact {}",
            file.display()
        );
    }
    // query never writes.
    let before = std::fs::read(&ours).unwrap();
    let ins = json!(["Open_vSwitch", {"op":"update","table":"Open_vSwitch","where":[],"row":{"next_cfg":9}}]);
    assert_eq!(
        tool::transact(&ours, &ins, false).unwrap(),
        json!([{"count":1}])
    );
    assert_eq!(std::fs::read(&ours).unwrap(), before);
    // Constraint errors are reported in the result, as ovsdb-tool does.
    let two = json!(["Open_vSwitch", {"op":"insert","table":"Open_vSwitch","row":{}}]);
    let r = tool::transact(&ours, &two, true).unwrap();
    assert_eq!(r[1]["error"], "constraint violation", "{r}");
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        before,
        "a failed transaction writes nothing"
    );
    // Compaction keeps the contents; ovsdb-tool reads the result.
    tool::compact(&ours, None).unwrap();
    let r: Value = serde_json::from_str(&ovsdb_tool(&[
        "query",
        ours.to_str().unwrap(),
        &q.to_string(),
    ]))
    .unwrap();
    assert_eq!(r, expect);
    let copy = d.join("copy.db");
    tool::compact(&theirs, Some(&copy)).unwrap();
    assert_eq!(tool::transact(&copy, &q, false).unwrap(), expect);
    // Schema facts.
    for (fact, f) in [
        ("db-name", &ours),
        ("db-version", &theirs),
        ("db-cksum", &ours),
    ] {
        let s = tool::db_schema(f).unwrap();
        let v = match fact {
            "db-name" => s.name,
            "db-version" => s.version,
            _ => s.cksum.unwrap(),
        };
        assert_eq!(format!("{v}\n"), ovsdb_tool(&[fact, f.to_str().unwrap()]));
    }
    // create refuses an existing file.
    let e = tool::create(&ours, &schema()).unwrap_err().to_string();
    assert!(e.contains("create failed (File exists)"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}
