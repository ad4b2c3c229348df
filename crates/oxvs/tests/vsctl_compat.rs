//! Side-by-side compatibility of `oxvs vsctl` with Open vSwitch's real
//! `ovs-vsctl` (3.1): each script runs through both tools, each against its
//! own fresh real `ovsdb-server`, and stdout, stderr, exit status and the
//! final database contents (`ovsdb-client dump`) must match after UUIDs and
//! log timestamps are replaced by placeholders. Outputs whose row order is
//! hash/UUID dependent (`show`, `list`/`find` of several rows) are compared
//! as multisets of lines. Skips (with a message) when the OVS tools are not
//! installed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

fn have_ovs() -> bool {
    let ok = |b: &str| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(Path::new(SCHEMA).exists()
        && ok("ovsdb-server")
        && ok("ovsdb-tool")
        && ok("ovs-vsctl")
        && ok("ovsdb-client"))
    {
        eprintln!("skipping vsctl compat test: Open vSwitch tools or {SCHEMA} not installed");
        return false;
    }
    true
}

/// A real ovsdb-server on a private socket, killed on drop.
struct Server {
    dir: PathBuf,
    child: Child,
}

impl Server {
    fn start() -> Server {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "oxvs-vsctl-compat-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let db = dir.join("conf.db");
        let st = Command::new("ovsdb-tool")
            .arg("create")
            .arg(&db)
            .arg(SCHEMA)
            .status()
            .expect("ovsdb-tool");
        assert!(st.success(), "ovsdb-tool create failed");
        let child = Command::new("ovsdb-server")
            .arg(format!("--remote=punix:{}", dir.join("db.sock").display()))
            .arg(format!("--unixctl={}", dir.join("ctl").display()))
            .arg("--no-chdir")
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ovsdb-server");
        let s = Server { dir, child };
        for _ in 0..200 {
            if s.sock().exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(s.sock().exists(), "ovsdb-server did not create its socket");
        s
    }

    fn sock(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    fn remote(&self) -> String {
        format!("unix:{}", self.sock().display())
    }

    /// `ovsdb-client dump`, normalized and sorted.
    fn dump(&self) -> Vec<String> {
        let o = Command::new("ovsdb-client")
            .arg("dump")
            .arg(self.remote())
            .output()
            .expect("dump");
        let mut lines: Vec<String> = normalize(&String::from_utf8_lossy(&o.stdout))
            .lines()
            .map(String::from)
            .collect();
        lines.sort();
        lines
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Replace UUIDs by `<UUID>` and log-line timestamps by `<TIME>`.
fn normalize(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let is_hex = |c: u8| c.is_ascii_hexdigit();
    while i < b.len() {
        if i + 36 <= b.len()
            && b[i..i + 36].iter().enumerate().all(|(k, c)| {
                if matches!(k, 8 | 13 | 18 | 23) {
                    *c == b'-'
                } else {
                    is_hex(*c)
                }
            })
        {
            out.push_str("<UUID>");
            i += 36;
            continue;
        }
        // 2026-11-22T02:03:03Z|00002|  →  <TIME>|00002|
        if i + 21 <= b.len()
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 19] == b'Z'
            && b[i + 20] == b'|'
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
        {
            out.push_str("<TIME>|");
            i += 21;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

struct Outcome {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn run_real(server: &Server, args: &[&str]) -> Outcome {
    let o = Command::new("ovs-vsctl")
        .arg(format!("--db={}", server.remote()))
        .arg("--no-wait")
        .args(args)
        .output()
        .expect("ovs-vsctl");
    Outcome {
        stdout: normalize(&String::from_utf8_lossy(&o.stdout)),
        stderr: normalize(&String::from_utf8_lossy(&o.stderr)),
        code: o.status.code(),
    }
}

fn run_oxvs(server: &Server, args: &[&str]) -> Outcome {
    let o = Command::new(env!("CARGO_BIN_EXE_oxvs"))
        .arg("vsctl")
        .arg(format!("--db={}", server.remote()))
        .arg("--no-wait")
        .args(args)
        .output()
        .expect("oxvs");
    Outcome {
        stdout: normalize(&String::from_utf8_lossy(&o.stdout)),
        stderr: normalize(&String::from_utf8_lossy(&o.stderr)),
        code: o.status.code(),
    }
}

fn sorted_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort();
    v
}

/// Run `script` (one command line per entry) through both tools and compare.
/// Entries starting with `~` compare stdout as a multiset of lines.
fn compare(script: &[&[&str]]) {
    if !have_ovs() {
        return;
    }
    let real = Server::start();
    let ours = Server::start();
    let mut failures = Vec::new();
    for cmd in script {
        let (unordered, args): (bool, Vec<&str>) = match cmd.first() {
            Some(&"~") => (true, cmd[1..].to_vec()),
            _ => (false, cmd.to_vec()),
        };
        let r = run_real(&real, &args);
        let o = run_oxvs(&ours, &args);
        let stdout_ok = if unordered {
            sorted_lines(&r.stdout) == sorted_lines(&o.stdout)
        } else {
            r.stdout == o.stdout
        };
        if !stdout_ok || r.stderr != o.stderr || r.code != o.code {
            failures.push(format!(
                "$ {}\n--- ovs-vsctl (exit {:?})\n{}{}--- oxvs vsctl (exit {:?})\n{}{}",
                args.join(" "),
                r.code,
                r.stdout,
                r.stderr,
                o.code,
                o.stdout,
                o.stderr
            ));
        }
    }
    let (rd, od) = (real.dump(), ours.dump());
    if rd != od {
        let only_real: Vec<&String> = rd.iter().filter(|l| !od.contains(l)).collect();
        let only_ours: Vec<&String> = od.iter().filter(|l| !rd.contains(l)).collect();
        failures.push(format!("database contents differ\nonly in ovs-vsctl's: {only_real:#?}\nonly in oxvs's: {only_ours:#?}"));
    }
    assert!(
        failures.is_empty(),
        "{} difference(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bridges_ports_and_reads() {
    compare(&[
        &["init"],
        &["add-br", "br0"],
        &["add-port", "br0", "p1"],
        &["add-port", "br0", "p2", "tag=5", "trunks=1,2,3"],
        &["~", "show"],
        &["list-br"],
        &["list-ports", "br0"],
        &["list-ifaces", "br0"],
        &["port-to-br", "p1"],
        &["iface-to-br", "p2"],
        &["br-exists", "br0"],
        &["br-exists", "nobr"],
        &["get", "port", "p2", "tag"],
        &["get", "port", "p2", "trunks", "name", "_uuid"],
        &["~", "list", "bridge", "br0"],
        &["~", "--columns=name,tag", "list", "port"],
        &["find", "port", "tag=5"],
        &["find", "port", "trunks{>=}2"],
        &["get", "Open_vSwitch", ".", "next_cfg"],
        &["list", "interface", "p1"],
        &["--bare", "--columns=name,trunks", "find", "port", "name=p2"],
        &[
            "--format=csv",
            "--columns=name,trunks",
            "list",
            "port",
            "p2",
        ],
        &["--format=table", "--columns=name,tag", "list", "port", "p2"],
        &[
            "--format=json",
            "--columns=name,trunks",
            "list",
            "port",
            "p2",
        ],
        &["del-port", "br0", "p1"],
        &["--with-iface", "del-port", "p2"],
        &["list-ports", "br0"],
        &["add-br", "br1"],
        &["del-br", "br0"],
        &["list-br"],
    ]);
}

#[test]
fn error_cases() {
    compare(&[
        &["add-br", "br0"],
        &["add-port", "br0", "p1"],
        &["set", "port", "p1", "tag=5000"],
        &["set", "port", "p1", "nosuch=1"],
        &["set", "port", "nop", "tag=1"],
        &["set", "nosuchtable", "x", "a=b"],
        &["get", "port", "p1", "tag:x"],
        &["add-port", "nobr", "p2"],
        &["add-br", "br0"],
        &["add-br", "p1"],
        &["add-port", "br0", "p1"],
        &["add-port", "br0", "br0"],
        &["get", "bridge", "nobr", "name"],
        &["--if-exists", "get", "bridge", "nobr", "name"],
        &["del-port", "nop"],
        &["del-port", "br0", "br0"],
        &["del-br", "nobr"],
        &["--if-exists", "del-br", "nobr"],
        &["--if-exists", "del-port", "br0", "nop"],
        &["--may-exist", "add-br", "br0"],
        &["--may-exist", "add-port", "br0", "p1"],
        &["set", "port", "p1", "tag=abc"],
        &["set", "port", "p1", "vlan_mode=foo"],
        &["set", "port", "p1", "tag="],
        &["set", "port", "p1", "external_ids=a"],
        &["set", "port", "p1", "trunks=1,1"],
        &["set", "port", "p1", "tag=1,2"],
        &["set", "port", "p1", "name=p2"],
        &["set", "interface", "p1", "ofport_request=0"],
        &["set", "interface", "p1", "mtu_request=0"],
        &["set", "port", "p1", "qos=@q"],
        &["clear", "port", "p1", "interfaces"],
        &["nosuchcmd"],
        &["add-br"],
        &["list-br", "x"],
        &["--if-exists", "list-br"],
        &["--bogus", "list-br"],
        &["get", "Open_vSwitch", ".", "s"],
        &["get", "port", "p1", "other_config:nokey"],
        &["--if-exists", "get", "port", "p1", "other_config:nokey"],
        &["list", "bridge", "brz"],
        &["--columns=,", "list", "bridge"],
        &["destroy", "qos", "nosuch"],
        &["--if-exists", "destroy", "qos", "nosuch"],
        &["~", "show"],
    ]);
}

#[test]
fn chained_commands_and_maps() {
    compare(&[
        &[
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
            "--",
            "add-port",
            "br0",
            "p1",
            "--",
            "set",
            "interface",
            "p1",
            "type=internal",
            "--",
            "list-ports",
            "br0",
        ],
        &[
            "add-port",
            "br0",
            "px",
            "--",
            "del-port",
            "px",
            "--",
            "list-ports",
            "br0",
        ],
        &["add-br", "brx", "--", "add-br", "brx"],
        &[
            "set",
            "port",
            "p1",
            "external_ids:a=b",
            "other_config={x=\"y z\", k=v}",
        ],
        &["get", "port", "p1", "external_ids", "other_config"],
        &["get", "port", "p1", "other_config:x"],
        &["set", "port", "p1", "external-ids:c=\"d e\""],
        &["add", "port", "p1", "external_ids", "f=g", "h=i"],
        &["add", "port", "p1", "trunks", "1,2", "3"],
        &["remove", "port", "p1", "trunks", "2"],
        &[
            "remove",
            "port",
            "p1",
            "external_ids",
            "a",
            "f=g",
            "h=wrong",
        ],
        &["get", "port", "p1", "external_ids", "trunks"],
        &["find", "port", "external_ids:c=\"d e\""],
        &["clear", "port", "p1", "trunks", "external_ids"],
        &["get", "port", "p1", "trunks", "external_ids"],
        &["set", "bridge", "br0", "protocols=OpenFlow10,OpenFlow13"],
        &["get", "bridge", "br0", "protocols"],
        &[
            "set",
            "Open_vSwitch",
            ".",
            "external_ids:system-id=abc",
            "external_ids:hostname=\"h 1\"",
        ],
        &["get", "Open_vSwitch", ".", "external_ids"],
        &[
            "--id=@q",
            "create",
            "qos",
            "type=linux-htb",
            "--",
            "set",
            "port",
            "p1",
            "qos=@q",
        ],
        &["list", "qos"],
        &["get", "qos", "p1", "type"],
        &["set-controller", "br0", "ptcp:6653:127.0.0.1"],
        &["get-controller", "br0"],
        &["set-fail-mode", "br0", "secure"],
        &["get-fail-mode", "br0"],
        &["~", "show"],
        &[
            "--id=@m",
            "create",
            "manager",
            "target=\"ptcp:6640:127.0.0.1\"",
            "--",
            "set",
            "Open_vSwitch",
            ".",
            "manager_options=@m",
        ],
        &[
            "set",
            "bridge",
            "br0",
            "other_config:hwaddr=\"00:11:22:33:44:55\"",
            "other_config:k=v",
            "flood_vlans=5",
        ],
        &["set", "port", "p1", "other_config:k=v"],
        &[
            "set",
            "interface",
            "p1",
            "ingress_policing_rate=100",
            "ingress_policing_burst=10",
        ],
        &["get-ssl"],
        &["del-ssl"],
        &["set-ssl", "/k.pem", "/c.pem", "/ca.pem"],
        &["get-ssl"],
        &["--bootstrap", "set-ssl", "/k2.pem", "/c2.pem", "/ca2.pem"],
        &["get-ssl"],
        &["list", "ssl"],
        &["set-ssl", "/k.pem", "/c.pem"],
        &["emer-reset"],
        &["get-ssl"],
        &[
            "get",
            "bridge",
            "br0",
            "other_config",
            "fail_mode",
            "controller",
            "flood_vlans",
        ],
        &["get", "port", "p1", "other_config"],
        &[
            "get",
            "interface",
            "p1",
            "ingress_policing_rate",
            "ingress_policing_burst",
        ],
        &["list", "manager"],
        &["list", "controller"],
        &["~", "show"],
        &["--oneline", "list-ports", "br0", "--", "list-br"],
        &["del-port", "br0", "p1"],
        &["del-br", "br0"],
        &["~", "show"],
    ]);
}
