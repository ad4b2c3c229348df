//! Compatibility tests against the real Open vSwitch tools (`ovsdb-client`,
//! `ovs-vsctl`, `ovsdb-tool`). Each test prints a reason and passes when a
//! tool is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ovsdb::{Database, DatabaseSchema, Journal, Server};
use serde_json::{json, Value};

fn have(tool: &str) -> bool {
    let ok = Path::new("/usr/bin").join(tool).exists();
    if !ok {
        eprintln!("skipping: /usr/bin/{tool} is not installed");
    }
    ok
}

fn schema_path() -> PathBuf {
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/vswitch.ovsschema");
    if ours.exists() {
        ours
    } else {
        PathBuf::from("/usr/share/openvswitch/vswitch.ovsschema")
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxvs-ovsdb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run a command with a 20 s timeout.
fn run(cmd: &str, args: &[&str]) -> Output {
    let mut full = vec!["20", cmd];
    full.extend_from_slice(args);
    Command::new("timeout").args(&full).output().expect("spawn")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Running {
    server: Server,
    sock: String,
    _rt: tokio::runtime::Runtime,
}

fn start(dir: &Path, journal: bool) -> Option<Running> {
    let sp = schema_path();
    if !sp.exists() {
        eprintln!("skipping: no vswitch schema at {}", sp.display());
        return None;
    }
    let schema = DatabaseSchema::from_file(&sp).unwrap();
    let (j, db) = if journal {
        let (j, db) = Journal::open_or_create(dir.join("conf.db"), &schema).unwrap();
        (Some(j), db)
    } else {
        (None, Database::new(schema))
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = Server::new(db, j);
    let sock = dir.join("db.sock");
    let s2 = server.clone();
    let p2 = sock.clone();
    let _accept = rt.block_on(async move { s2.listen_unix(&p2) }).unwrap();
    Some(Running {
        server,
        sock: format!("unix:{}", sock.display()),
        _rt: rt,
    })
}

#[test]
fn ovsdb_client_basics() {
    if !have("ovsdb-client") {
        return;
    }
    let dir = tmpdir("client");
    let Some(r) = start(&dir, false) else { return };
    let o = run("ovsdb-client", &["list-dbs", &r.sock]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "Open_vSwitch\n_Server\n");

    let o = run("ovsdb-client", &["get-schema", &r.sock]);
    assert!(o.status.success(), "{o:?}");
    let got: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let want = DatabaseSchema::from_file(schema_path()).unwrap();
    assert_eq!(DatabaseSchema::from_json(&got).unwrap(), want);

    let o = run("ovsdb-client", &["get-schema-version", &r.sock]);
    assert_eq!(stdout(&o).trim(), want.version);

    let o = run(
        "ovsdb-client",
        &[
            "transact",
            &r.sock,
            r#"["Open_vSwitch",{"op":"select","table":"NoSuch","where":[]}]"#,
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["error"], "syntax error");
    assert_eq!(
        v[0]["details"],
        "Parsing ovsdb operation 1 of 1 failed: No table named NoSuch."
    );

    let o = run(
        "ovsdb-client",
        &[
            "transact",
            &r.sock,
            r#"["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{"next_cfg":7}}]"#,
        ],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["uuid"][0], "uuid");

    let o = run("ovsdb-client", &["dump", &r.sock]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(out.contains("Open_vSwitch table"), "{out}");
    assert!(out.contains("Bridge table"), "{out}");

    // monitor: start, make a change, stop.
    let child = Command::new("timeout")
        .args([
            "3",
            "ovsdb-client",
            "monitor",
            &r.sock,
            "Open_vSwitch",
            "Open_vSwitch",
            "next_cfg",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let res = r.server.transact(&[
        json!({"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",35]]}),
    ]);
    assert_eq!(res[0], json!({"count":1}));
    let o = child.wait_with_output().unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("initial") && out.contains(" 7"),
        "monitor output: {out}"
    );
    assert!(
        out.contains("old") && out.contains("new") && out.contains("42"),
        "monitor output: {out}"
    );
}

fn vsctl(r: &Running, args: &[&str]) -> Output {
    let db = format!("--db={}", r.sock);
    let mut a = vec![db.as_str(), "--no-wait", "--timeout=10"];
    a.extend_from_slice(args);
    run("ovs-vsctl", &a)
}

#[test]
fn ovs_vsctl_bridges_and_journal() {
    if !have("ovs-vsctl") {
        return;
    }
    let dir = tmpdir("vsctl");
    let Some(r) = start(&dir, true) else { return };
    let o = vsctl(&r, &["init"]);
    assert!(o.status.success(), "{o:?}");
    let o = vsctl(&r, &["add-br", "br0"]);
    assert!(o.status.success(), "{o:?}");
    let o = vsctl(
        &r,
        &["add-port", "br0", "p1", "--", "set", "port", "p1", "tag=5"],
    );
    assert!(o.status.success(), "{o:?}");
    let o = vsctl(&r, &["list-br"]);
    assert_eq!(stdout(&o), "br0\n", "{o:?}");
    let o = vsctl(&r, &["list-ports", "br0"]);
    assert_eq!(stdout(&o), "p1\n", "{o:?}");
    let o = vsctl(&r, &["get", "port", "p1", "tag"]);
    assert_eq!(stdout(&o), "5\n", "{o:?}");
    let o = vsctl(&r, &["add-br", "br0"]);
    assert!(!o.status.success());
    let o = vsctl(&r, &["set", "Open_vSwitch", ".", "external-ids:k=v"]);
    assert!(o.status.success(), "{o:?}");
    let o = vsctl(&r, &["set", "Open_vSwitch", ".", "external-ids:k=w"]);
    assert!(o.status.success(), "{o:?}");
    let o = vsctl(&r, &["get", "Open_vSwitch", ".", "external-ids:k"]);
    assert_eq!(stdout(&o), "w\n", "{o:?}");
    let o = vsctl(&r, &["del-port", "br0", "p1"]);
    assert!(o.status.success(), "{o:?}");
    assert!(r.server.snapshot().tables["Port"]
        .rows
        .values()
        .all(|p| p.columns["name"].as_str() != Some("p1")));
    let o = vsctl(&r, &["add-br", "br1"]);
    assert!(o.status.success(), "{o:?}");
    let o = vsctl(&r, &["del-br", "br0"]);
    assert!(o.status.success(), "{o:?}");
    let o = vsctl(&r, &["list-br"]);
    assert_eq!(stdout(&o), "br1\n", "{o:?}");
    let snap = r.server.snapshot();
    assert_eq!(snap.tables["Bridge"].len(), 1);
    assert_eq!(snap.tables["Port"].len(), 1, "GC removed br0's ports");
    assert_eq!(snap.tables["Interface"].len(), 1);

    // The journal is readable by the real ovsdb-tool and replays to the same state.
    let file = dir.join("conf.db");
    let (_, replayed) = Journal::open(&file).unwrap();
    assert!(replayed.same_contents(&snap));
    if have("ovsdb-tool") {
        let o = run("ovsdb-tool", &["show-log", file.to_str().unwrap()]);
        assert!(o.status.success(), "{o:?}");
        let out = stdout(&o);
        assert!(out.contains("record 0: \"Open_vSwitch\" schema"), "{out}");
        assert!(out.contains("record 1:"), "{out}");
        let o = run(
            "ovsdb-tool",
            &[
                "query",
                file.to_str().unwrap(),
                r#"["Open_vSwitch",{"op":"select","table":"Bridge","where":[],"columns":["name"]}]"#,
            ],
        );
        assert!(o.status.success(), "{o:?}");
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v[0]["rows"], json!([{"name":"br1"}]));
        // Compacted file is still readable by both.
        r.server.compact().unwrap();
        let o = run(
            "ovsdb-tool",
            &[
                "query",
                file.to_str().unwrap(),
                r#"["Open_vSwitch",{"op":"select","table":"Interface","where":[],"columns":["name","type"]}]"#,
            ],
        );
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(
            v[0]["rows"],
            json!([{"name":"br1","type":"internal"}]),
            "{o:?}"
        );
        let (_, replayed) = Journal::open(&file).unwrap();
        assert!(replayed.same_contents(&r.server.snapshot()));
    }
}

#[test]
fn file_from_ovsdb_tool_opens() {
    if !have("ovsdb-tool") {
        return;
    }
    let dir = tmpdir("tool");
    let file = dir.join("conf.db");
    let sp = schema_path();
    let o = run(
        "ovsdb-tool",
        &["create", file.to_str().unwrap(), sp.to_str().unwrap()],
    );
    assert!(o.status.success(), "{o:?}");
    let o = run(
        "ovsdb-tool",
        &[
            "transact",
            file.to_str().unwrap(),
            r#"["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{"next_cfg":3,"external_ids":["map",[["a","b"]]]}}]"#,
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let o = run(
        "ovsdb-tool",
        &[
            "transact",
            file.to_str().unwrap(),
            r#"["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["external_ids","insert",["map",[["c","d"]]]]]}]"#,
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let (mut j, mut db) = Journal::open(&file).unwrap();
    let row = db.tables["Open_vSwitch"].iter().next().unwrap().clone();
    assert_eq!(row.columns["next_cfg"].as_integer(), Some(3));
    assert_eq!(row.columns["external_ids"].map_get_str("a"), Some("b"));
    assert_eq!(row.columns["external_ids"].map_get_str("c"), Some("d"));
    // And our appends are readable by ovsdb-tool afterwards.
    let r = db.transact(&[
        json!({"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}),
    ]);
    j.append(&db.schema, r.changes.as_ref().unwrap(), &["test".into()])
        .unwrap();
    let o = run(
        "ovsdb-tool",
        &[
            "query",
            file.to_str().unwrap(),
            r#"["Open_vSwitch",{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg"]}]"#,
        ],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["rows"], json!([{"next_cfg":4}]), "{o:?}");
}
