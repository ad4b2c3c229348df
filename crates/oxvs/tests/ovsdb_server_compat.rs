//! The real `ovs-vsctl` and `ovsdb-client` 3.1 against two database servers
//! in the same state: Open vSwitch's `ovsdb-server` and `oxvs
//! ovsdb-server`. Every command line must give the same output (row UUIDs
//! normalised in order of appearance), the same errors and the same exit
//! status — including timeouts (`--timeout`, `wait-until`) and the
//! commands of issue 4 (set-manager, set-controller, set-fail-mode,
//! emer-reset, `--id=@name create` chains with QoS/Queue).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{have, oxvs_bin, s, wait_until};

const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

struct Db {
    dir: PathBuf,
    pid: u32,
}

impl Db {
    fn sock(&self) -> String {
        format!("unix:{}", s(&self.dir.join("db.sock")))
    }

    fn vsctl(&self, args: &[&str]) -> Output {
        Command::new("ovs-vsctl")
            .arg(format!("--db={}", self.sock()))
            .args(args)
            .env("OVS_RUNDIR", &self.dir)
            .output()
            .unwrap()
    }

    fn client(&self, args: &[&str]) -> Output {
        let mut a: Vec<String> = args.iter().map(|x| x.to_string()).collect();
        // ovsdb-client COMMAND SERVER ARGS...
        a.insert(1, self.sock());
        Command::new("ovsdb-client").args(&a).output().unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // SAFETY: kill(2) on a pid we started; no memory is involved.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxvs-dbcmp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn wait_pid(d: &Path, file: &str) -> u32 {
    assert!(wait_until(10, || d.join("db.sock").exists() && d.join(file).exists()));
    std::fs::read_to_string(d.join(file))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn start_ovs() -> Db {
    let d = dir("ovs");
    let db = d.join("conf.db");
    let st = Command::new("ovsdb-tool")
        .args(["create", s(&db), SCHEMA])
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("ovsdb-server")
        .arg(format!("--remote=punix:{}", s(&d.join("db.sock"))))
        .arg(format!("--pidfile={}", s(&d.join("s.pid"))))
        .arg(format!("--log-file={}", s(&d.join("s.log"))))
        .arg(format!("--unixctl={}", s(&d.join("s.ctl"))))
        .arg("--detach")
        .arg(&db)
        .status()
        .unwrap();
    assert!(st.success());
    let pid = wait_pid(&d, "s.pid");
    Db { dir: d, pid }
}

fn start_oxvs() -> Db {
    let d = dir("oxvs");
    let st = Command::new(oxvs_bin())
        .arg("ovsdb-server")
        .arg(d.join("conf.db"))
        .arg(format!("--remote=punix:{}", s(&d.join("db.sock"))))
        .arg(format!("--pidfile={}", s(&d.join("s.pid"))))
        .arg(format!("--unixctl={}", s(&d.join("s.ctl"))))
        .arg("--detach")
        .env("OVS_RUNDIR", &d)
        .env("OVS_LOGDIR", &d)
        .env("OVS_DBDIR", &d)
        .status()
        .unwrap();
    assert!(st.success());
    let pid = wait_pid(&d, "s.pid");
    Db { dir: d, pid }
}

/// Replaces every UUID by `<N>` in order of first appearance, and the
/// server's socket path by `SOCK`.
fn normalise(text: &str, sock: &str) -> String {
    let text = text.replace(sock, "SOCK");
    let mut seen: Vec<String> = Vec::new();
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if i + 36 <= b.len() && is_uuid(&text[i..i + 36]) {
            let u = text[i..i + 36].to_string();
            let n = seen.iter().position(|x| *x == u).unwrap_or_else(|| {
                seen.push(u);
                seen.len() - 1
            });
            out.push_str(&format!("<{n}>"));
            i += 36;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// `v` with every object's members in name order (ovsdb-server writes
/// members in its hash order; the order carries no meaning).
fn canonical(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        Value::String(t) if t.starts_with('[') || t.starts_with('{') => {
            // The "syntax" member: the request, re-serialised.
            match serde_json::from_str::<Value>(t) {
                Ok(inner) => Value::String(canonical(&inner).to_string()),
                Err(_) => v.clone(),
            }
        }
        other => other.clone(),
    }
}

fn is_uuid(s: &str) -> bool {
    s.char_indices().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => c == '-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// Output, errors (minus log timestamps) and status, normalised.
fn summary(o: &Output, sock: &str) -> String {
    const ERR: &str = "transaction returned error: ";
    let stderr: String = String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(|l| match (l.find("|fatal_signal|"), l.find(ERR)) {
            (Some(i), _) => l[i..].to_string(),
            (None, Some(i)) => match serde_json::from_str(&l[i + ERR.len()..]) {
                Ok(v) => format!("{}{}", &l[..i + ERR.len()], canonical(&v)),
                Err(_) => l.to_string(),
            },
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    normalise(
        &format!(
            "status {:?}\n--- stdout\n{}--- stderr\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            stderr
        ),
        sock,
    )
}

#[test]
fn real_ovs_vsctl_and_ovsdb_client_see_the_same_server() {
    for t in ["ovs-vsctl", "ovsdb-client", "ovsdb-server", "ovsdb-tool"] {
        if !have(t) {
            eprintln!("skipped: {t} not installed");
            return;
        }
    }
    let ovs = start_ovs();
    let ox = start_oxvs();
    let script: Vec<Vec<&str>> = vec![
        vec!["--no-wait", "init"],
        vec!["--no-wait", "add-br", "br0"],
        vec![
            "--no-wait",
            "add-port",
            "br0",
            "p1",
            "--",
            "set",
            "interface",
            "p1",
            "type=internal",
        ],
        vec!["--no-wait", "add-port", "br0", "p1"],
        vec!["--no-wait", "--may-exist", "add-port", "br0", "p1"],
        vec!["list-ports", "br0"],
        // No switch bumps cur_cfg: a waiting command times out.
        vec!["--timeout=1", "add-br", "br1"],
        vec![
            "--no-wait",
            "set-manager",
            "ptcp:6640",
            "ptcp:6641:127.0.0.1",
        ],
        vec!["get-manager"],
        vec!["--no-wait", "del-manager"],
        vec!["get-manager"],
        vec![
            "--no-wait",
            "set-controller",
            "br0",
            "tcp:127.0.0.1:6653",
            "punix:/tmp/x.sock",
        ],
        vec!["get-controller", "br0"],
        vec!["--no-wait", "set-fail-mode", "br0", "secure"],
        vec!["get-fail-mode", "br0"],
        vec!["--no-wait", "set-fail-mode", "br0", "frob"],
        vec!["--no-wait", "del-fail-mode", "br0"],
        vec!["get-fail-mode", "br0"],
        vec![
            "--no-wait",
            "--",
            "--id=@q0",
            "create",
            "Queue",
            "other_config:max-rate=1000",
            "--",
            "--id=@q1",
            "create",
            "Queue",
            "other_config:min-rate=10",
            "dscp=12",
            "--",
            "--id=@qos",
            "create",
            "QoS",
            "type=linux-htb",
            "queues=0=@q0,1=@q1",
            "--",
            "set",
            "port",
            "p1",
            "qos=@qos",
        ],
        vec!["--columns=type,queues", "list", "qos"],
        vec!["--columns=other_config,dscp", "find", "queue", "dscp=12"],
        vec!["get", "port", "p1", "qos"],
        vec!["--no-wait", "clear", "port", "p1", "qos"],
        vec!["--columns=type", "list", "qos"],
        vec![
            "--timeout=1",
            "wait-until",
            "bridge",
            "br0",
            "other_config:x=y",
        ],
        vec!["--no-wait", "set", "bridge", "br0", "other_config:x=y"],
        vec![
            "--timeout=5",
            "wait-until",
            "bridge",
            "br0",
            "other_config:x=y",
        ],
        vec!["--no-wait", "set", "bridge", "br0", "stp_enable=maybe"],
        vec![
            "--no-wait",
            "set",
            "interface",
            "p1",
            "ofport_request=70000",
        ],
        vec![
            "--no-wait",
            "add",
            "bridge",
            "br0",
            "flood_vlans",
            "10",
            "20",
        ],
        vec!["--no-wait", "remove", "bridge", "br0", "flood_vlans", "10"],
        vec![
            "get",
            "bridge",
            "br0",
            "flood_vlans",
            "other_config",
            "fail_mode",
        ],
        vec!["--no-wait", "emer-reset"],
        vec!["get-manager"],
        vec!["get-controller", "br0"],
        vec![
            "--columns=name,other_config,flood_vlans",
            "list",
            "bridge",
            "br0",
        ],
        vec!["--no-wait", "destroy", "bridge", "br0"],
        vec!["--no-wait", "del-br", "br0"],
        vec!["list-br"],
    ];
    for args in &script {
        let a = summary(&ovs.vsctl(args), &ovs.sock());
        let b = summary(&ox.vsctl(args), &ox.sock());
        assert_eq!(
            a, b,
            "ovs-vsctl {args:?}\n--- OVS ---\n{a}\n--- oxvs ---\n{b}"
        );
    }
    // ovsdb-client on the resulting state.
    let queries: Vec<Vec<&str>> = vec![
        vec!["list-dbs"],
        vec!["list-tables", "Open_vSwitch"],
        vec!["list-columns", "Open_vSwitch", "Bridge"],
        vec!["get-schema-version", "Open_vSwitch"],
        vec!["dump", "Open_vSwitch", "Bridge", "name"],
        vec![
            "transact",
            r#"["Open_vSwitch",{"op":"select","table":"Bridge","where":[],"columns":["name"]}]"#,
        ],
        vec!["transact", r#"["Open_vSwitch",{"op":"frob"}]"#],
        vec![
            "transact",
            r#"["Nope",{"op":"select","table":"Bridge","where":[]}]"#,
        ],
        vec![
            "transact",
            r#"["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":"z","frob":1}}]"#,
        ],
        vec![
            "transact",
            r#"["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]"#,
        ],
        vec![
            "transact",
            r#"["Open_vSwitch",{"op":"insert","table":"Manager","row":{"target":"ptcp:1"}},{"op":"insert","table":"Manager","row":{"target":"ptcp:1"}}]"#,
        ],
        vec![
            "transact",
            r#"["Open_vSwitch",{"op":"update","table":"Bridge","where":[],"row":{"name":"x"}}]"#,
        ],
        vec![
            "transact",
            r#"["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","/",0]]}]"#,
        ],
        vec![
            "transact",
            r#"["Open_vSwitch",{"op":"select","table":"Bridge","where":[["name","~","x"]]}]"#,
        ],
        vec![
            "transact",
            r#"["Open_vSwitch",{"op":"wait","table":"Open_vSwitch","where":[],"columns":["next_cfg"],"until":"==","rows":[{"next_cfg":12345}],"timeout":0}]"#,
        ],
    ];
    // ovsdb-client lists tables and columns in its hash table's order,
    // which depends on the order of the schema's JSON members: compare
    // those listings as sets of lines.
    let sorted = |mut o: Output, args: &[&str]| {
        if args[0].starts_with("list-") {
            let text = String::from_utf8_lossy(&o.stdout).to_string();
            let mut lines: Vec<&str> = text.lines().collect();
            lines.sort_unstable();
            o.stdout = (lines.join("\n") + "\n").into_bytes();
        }
        o
    };
    for args in &queries {
        let a = summary(&sorted(ovs.client(args), args), &ovs.sock());
        let b = summary(&sorted(ox.client(args), args), &ox.sock());
        assert_eq!(
            a, b,
            "ovsdb-client {args:?}\n--- OVS ---\n{a}\n--- oxvs ---\n{b}"
        );
    }
}
