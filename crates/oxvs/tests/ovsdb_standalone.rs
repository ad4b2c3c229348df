//! `oxvs ovsdb-server` (the database alone) driven by the real Open vSwitch
//! 3.1 clients, `oxvs db` against the real `ovsdb-tool`, and the crash
//! test: SIGKILL in the middle of a stream of 1,000 transactions loses no
//! acknowledged one and leaves none half-applied.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{have, oxvs_bin, s, wait_until};
use serde_json::{json, Value};

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxvs-sa-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn envs(dir: &Path) -> [(&'static str, &Path); 3] {
    [("OVS_RUNDIR", dir), ("OVS_DBDIR", dir), ("OVS_LOGDIR", dir)]
}

fn tool(dir: &Path, prog: &str, args: &[&str]) -> Output {
    Command::new(prog)
        .args(args)
        .envs(envs(dir))
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"))
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `oxvs ovsdb-server` in the foreground (a child we can SIGKILL).
fn start_server(dir: &Path) -> Child {
    let sock = dir.join("db.sock");
    let _ = std::fs::remove_file(&sock);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let child = Command::new(oxvs_bin())
        .arg("ovsdb-server")
        .arg(dir.join("conf.db"))
        .arg(format!("--remote=punix:{}", s(&sock)))
        .envs(envs(dir))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    assert!(
        wait_until(15, || std::os::unix::net::UnixStream::connect(&sock)
            .is_ok()),
        "server did not start"
    );
    child
}

#[test]
fn standalone_server_with_real_clients() {
    if !have("ovs-vsctl") || !have("ovsdb-client") || !have("ovs-appctl") {
        eprintln!("skipped: Open vSwitch client tools not installed");
        return;
    }
    let dir = tmpdir("clients");
    let sock = dir.join("db.sock");
    let remote = format!("--remote=punix:{}", s(&sock));
    // ovs-ctl's flags are accepted; --detach returns once the server
    // answers; the pid file is locked against a second server.
    ok(tool(
        &dir,
        oxvs_bin(),
        &[
            "ovsdb-server",
            &remote,
            "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
            "--pidfile",
            "--detach",
            "--no-chdir",
            "--monitor",
            "-vconsole:emer",
            "--log-file",
        ],
    ));
    ok(tool(&dir, oxvs_bin(), &["ovsdb-server", "--help"]));
    let second = tool(&dir, oxvs_bin(), &["ovsdb-server", "--pidfile"]);
    assert!(
        !second.status.success(),
        "a second server must refuse the pid file"
    );
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already running"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    ok(tool(&dir, "ovs-vsctl", &["--no-wait", "init"]));
    ok(tool(&dir, "ovs-vsctl", &["--no-wait", "add-br", "sa0"]));
    assert_eq!(
        ok(tool(&dir, "ovs-vsctl", &["--no-wait", "list-br"])),
        "sa0\n"
    );
    let dbs = ok(tool(
        &dir,
        "ovsdb-client",
        &["list-dbs", &format!("unix:{}", s(&sock))],
    ));
    assert_eq!(dbs, "Open_vSwitch\n_Server\n");
    // ovsdb-client monitor sees another client's commit.
    let mon_out = dir.join("monitor.txt");
    let mut mon = Command::new("ovsdb-client")
        .args([
            "monitor",
            &format!("unix:{}", s(&sock)),
            "Open_vSwitch",
            "Bridge",
            "name",
        ])
        .stdout(std::fs::File::create(&mon_out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(10, || std::fs::read_to_string(&mon_out)
        .unwrap_or_default()
        .contains("initial sa0")));
    ok(tool(&dir, "ovs-vsctl", &["--no-wait", "add-br", "sa1"]));
    assert!(
        wait_until(10, || std::fs::read_to_string(&mon_out)
            .unwrap_or_default()
            .contains("insert sa1")),
        "{}",
        std::fs::read_to_string(&mon_out).unwrap_or_default()
    );
    let _ = mon.kill();
    let _ = mon.wait();
    // Remotes at run time.
    let appctl = |args: &[&str]| {
        let mut v = vec!["-t", "ovsdb-server"];
        v.extend_from_slice(args);
        tool(&dir, "ovs-appctl", &v)
    };
    ok(appctl(&["ovsdb-server/add-remote", "ptcp:0:127.0.0.1"]));
    let remotes = ok(appctl(&["ovsdb-server/list-remotes"]));
    assert!(remotes.contains("ptcp:0:127.0.0.1"), "{remotes}");
    ok(appctl(&["ovsdb-server/remove-remote", "ptcp:0:127.0.0.1"]));
    assert!(!appctl(&["ovsdb-server/remove-remote", "ptcp:0:127.0.0.1"])
        .status
        .success());
    let bad = appctl(&["ovsdb-server/add-remote", "frob:1"]);
    assert!(!bad.status.success());
    ok(appctl(&["ovsdb-server/compact"]));
    assert_eq!(ok(appctl(&["ovsdb-server/list-dbs"])), "Open_vSwitch\n");
    ok(appctl(&["exit"]));
    assert!(wait_until(10, || !sock.exists()), "socket removed at exit");
    // The file is a valid database for ovsdb-tool and `oxvs db`.
    if have("ovsdb-tool") {
        let q =
            json!(["Open_vSwitch", {"op":"select","table":"Bridge","where":[],"columns":["name"]}])
                .to_string();
        let db = dir.join("conf.db");
        let theirs: Value =
            serde_json::from_str(&ok(tool(&dir, "ovsdb-tool", &["query", s(&db), &q]))).unwrap();
        let ours: Value =
            serde_json::from_str(&ok(tool(&dir, oxvs_bin(), &["db", "query", s(&db), &q])))
                .unwrap();
        // Same rows; ovsdb-tool lists them in hash order.
        let names = |v: &Value| {
            let mut n: Vec<String> = v[0]["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(&theirs), names(&ours));
        assert_eq!(names(&ours), ["sa0", "sa1"]);
        assert_eq!(
            ok(tool(&dir, oxvs_bin(), &["db", "db-version", s(&db)])),
            ok(tool(&dir, "ovsdb-tool", &["db-version", s(&db)]))
        );
        // Default DB path and errors.
        assert_eq!(
            ok(tool(&dir, oxvs_bin(), &["db", "db-name"])),
            "Open_vSwitch\n"
        );
        let e = tool(&dir, oxvs_bin(), &["db", "create"]);
        assert!(!e.status.success());
        assert!(String::from_utf8_lossy(&e.stderr).contains("File exists"));
        let e = tool(&dir, oxvs_bin(), &["db", "frobnicate"]);
        assert!(!e.status.success());
        let e = tool(&dir, oxvs_bin(), &["db", "query", "[not json"]);
        assert!(String::from_utf8_lossy(&e.stderr).contains("syntax error"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGKILL while a client streams 1,000 transactions (each adding two keys
/// to the root row), then restart: every acknowledged transaction is
/// there, and each transaction is all there or not at all.
#[test]
fn sigkill_during_transaction_stream_loses_nothing_acknowledged() {
    let dir = tmpdir("crash");
    let mut server = start_server(&dir);
    let sock = dir.join("db.sock");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let acked = Arc::new(AtomicUsize::new(0));
    let uuid = rt.block_on(async {
        let c = ovsdb::Client::connect(&format!("unix:{}", s(&sock)))
            .await
            .unwrap();
        let r = c
            .request(
                "transact",
                json!(["Open_vSwitch",
                {"op":"insert","table":"Open_vSwitch","row":{}}]),
            )
            .await
            .unwrap();
        r[0]["uuid"][1].as_str().unwrap().to_string()
    });
    let writer = {
        let acked = acked.clone();
        let sock = sock.clone();
        let uuid = uuid.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let c = ovsdb::Client::connect(&format!("unix:{}", s(&sock)))
                    .await
                    .unwrap();
                for i in 0..1000 {
                    let r = c
                        .request(
                            "transact",
                            json!(["Open_vSwitch",
                            {"op":"mutate","table":"Open_vSwitch",
                             "where":[["_uuid","==",["uuid",uuid]]],
                             "mutations":[["external_ids","insert",
                                ["map",[[format!("a{i:04}"),"x"],[format!("b{i:04}"),"y"]]]]]}]),
                        )
                        .await;
                    match r {
                        Ok(v) if v[0]["count"] == 1 => {
                            acked.store(i + 1, Ordering::SeqCst);
                        }
                        _ => return,
                    }
                }
            });
        })
    };
    // Kill somewhere in the middle of the stream.
    assert!(wait_until(30, || acked.load(Ordering::SeqCst) >= 300));
    let _ = server.kill();
    let _ = server.wait();
    writer.join().unwrap();
    let n_acked = acked.load(Ordering::SeqCst);
    assert!(n_acked < 1000, "the kill came after the stream ended");

    let mut server = start_server(&dir);
    let ids: Vec<String> = rt.block_on(async {
        let c = ovsdb::Client::connect(&format!("unix:{}", s(&sock)))
            .await
            .unwrap();
        let r = c
            .request(
                "transact",
                json!(["Open_vSwitch",
                {"op":"select","table":"Open_vSwitch","where":[],"columns":["external_ids"]}]),
            )
            .await
            .unwrap();
        r[0]["rows"][0]["external_ids"][1]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| kv[0].as_str().unwrap().to_string())
            .collect()
    });
    let _ = server.kill();
    let _ = server.wait();
    let a: Vec<usize> = ids
        .iter()
        .filter_map(|k| k.strip_prefix('a')?.parse().ok())
        .collect();
    let b: Vec<usize> = ids
        .iter()
        .filter_map(|k| k.strip_prefix('b')?.parse().ok())
        .collect();
    assert_eq!(a, b, "a transaction was half applied");
    // A prefix of the stream: every acknowledged one, plus at most the one
    // in flight (committed, reply lost).
    assert_eq!(a, (0..a.len()).collect::<Vec<_>>());
    assert!(
        a.len() == n_acked || a.len() == n_acked + 1,
        "{} present, {n_acked} acknowledged",
        a.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
