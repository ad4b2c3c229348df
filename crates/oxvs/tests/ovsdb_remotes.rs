//! OVSDB remotes of `oxvs daemon`, driven with the real Open vSwitch tools:
//! a `pssl:` remote with certificates made by `ovs-pki` (real `ovs-vsctl`
//! over SSL; a client certificate of another CA refused while others keep
//! being served), and `Manager` rows applied at run time (`ovs-vsctl
//! set-manager ptcp:` / `del-manager`, an active `tcp:` manager connecting
//! to a listener opened here, `set-ssl` + `pssl:`, `inactivity_probe`).
//! Each test prints a reason and passes when a tool is missing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    let ok = Path::new("/usr/bin").join(tool).exists();
    if !ok {
        eprintln!("skipping: /usr/bin/{tool} is not installed");
    }
    ok
}

/// A running `oxvs daemon` in its own directory (killed on drop).
struct Daemon {
    dir: PathBuf,
    child: Child,
}

impl Daemon {
    fn start(tag: &str, args: &[String]) -> Daemon {
        let dir = std::env::temp_dir().join(format!("oxvs-remotes-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Daemon::start_in(dir, args)
    }

    fn start_in(dir: PathBuf, args: &[String]) -> Daemon {
        let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_oxvs"))
            .arg("daemon")
            .args(args)
            .env("OVS_RUNDIR", &dir)
            .env("OVS_DBDIR", &dir)
            .env("OVS_LOGDIR", &dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn oxvs daemon");
        let d = Daemon { dir, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(d.dir.join("db.sock")).is_err() {
            assert!(
                Instant::now() < deadline,
                "daemon did not start:\n{}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// Real `ovs-vsctl` with this daemon's run directory (30 s limit).
    fn vsctl(&self, args: &[&str]) -> Output {
        let mut full = vec!["30", "ovs-vsctl", "--timeout=20"];
        full.extend_from_slice(args);
        Command::new("timeout")
            .args(&full)
            .env("OVS_RUNDIR", &self.dir)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    /// `ovs-vsctl` that must succeed; returns stdout.
    fn must(&self, args: &[&str]) -> String {
        let o = self.vsctl(args);
        assert!(
            o.status.success(),
            "ovs-vsctl {args:?}: {}\nlog:\n{}",
            String::from_utf8_lossy(&o.stderr),
            self.log()
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Polls `ovs-vsctl args` until its output satisfies `ok` (10 s).
    fn wait_for(&self, args: &[&str], ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.must(args);
            if ok(&out) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "ovs-vsctl {args:?} kept giving {out:?}\nlog:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Key, certificate and CA files for `ovs-vsctl` / the daemon.
struct Certs {
    key: String,
    cert: String,
    ca: String,
}

impl Certs {
    fn flags(&self) -> Vec<String> {
        vec![
            format!("--private-key={}", self.key),
            format!("--certificate={}", self.cert),
            format!("--ca-cert={}", self.ca),
        ]
    }
}

/// `ovs-pki` PKIs in `dir`: returns (switch side, controller side, a
/// controller of an unrelated PKI).
fn make_pki(dir: &Path) -> (Certs, Certs, Certs) {
    let ok = |args: &[&str]| {
        let o = Command::new("ovs-pki")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "ovs-pki {args:?}: {o:?}");
    };
    let pki = format!("--dir={}", dir.join("pki").display());
    let other = format!("--dir={}", dir.join("other").display());
    ok(&[&pki, "init"]);
    ok(&[&other, "init"]);
    ok(&[&pki, "req+sign", "sw", "switch"]);
    ok(&[&pki, "req+sign", "ctl", "controller"]);
    ok(&[&other, "req+sign", "rogue", "controller"]);
    let p = |f: &str| dir.join(f).display().to_string();
    (
        Certs {
            key: p("sw-privkey.pem"),
            cert: p("sw-cert.pem"),
            ca: p("pki/controllerca/cacert.pem"),
        },
        Certs {
            key: p("ctl-privkey.pem"),
            cert: p("ctl-cert.pem"),
            ca: p("pki/switchca/cacert.pem"),
        },
        Certs {
            key: p("rogue-privkey.pem"),
            cert: p("rogue-cert.pem"),
            ca: p("pki/switchca/cacert.pem"),
        },
    )
}

/// `oxvs daemon --remote=pssl:… --private-key … --certificate … --ca-cert …`
/// serves the real `ovs-vsctl` over SSL with ovs-pki certificates; a client
/// whose certificate is signed by another CA is refused, and the server
/// keeps serving good clients.
#[test]
fn pssl_remote_with_ovs_pki_certificates() {
    if !have("ovs-vsctl") || !have("ovs-pki") {
        return;
    }
    let pkidir = std::env::temp_dir().join(format!("oxvs-remotes-pki-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&pkidir);
    std::fs::create_dir_all(&pkidir).unwrap();
    let (sw, ctl, rogue) = make_pki(&pkidir);
    let port = free_port();
    let mut args = vec![format!("--remote=pssl:{port}:127.0.0.1")];
    args.extend(sw.flags());
    let d = Daemon::start("pssl", &args);
    d.must(&["init"]);
    let db = format!("--db=ssl:127.0.0.1:{port}");
    let over_ssl = |c: &Certs, cmd: &[&str]| {
        let mut a: Vec<String> = vec![db.clone()];
        a.extend(c.flags());
        a.extend(cmd.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        d.vsctl(&a)
    };
    let o = over_ssl(
        &ctl,
        &[
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
        ],
    );
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        d.log()
    );
    let o = over_ssl(&ctl, &["show"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("Bridge br0"));
    let bad = over_ssl(&rogue, &["show"]);
    assert!(!bad.status.success(), "certificate of another CA accepted");
    let o = over_ssl(&ctl, &["list-br"]);
    assert!(o.status.success(), "good client refused after a bad one");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "br0");
    let _ = std::fs::remove_dir_all(&pkidir);
}

/// `set-manager ptcp:` opens a listener the real `ovs-vsctl` can use,
/// `Manager` status is written back, `inactivity_probe` is applied, and
/// `del-manager` closes the listener.
#[test]
fn set_manager_ptcp_and_del_manager() {
    if !have("ovs-vsctl") {
        return;
    }
    let d = Daemon::start("ptcp", &[]);
    d.must(&["init"]);
    let port = free_port();
    let target = format!("ptcp:{port}:127.0.0.1");
    d.must(&["set-manager", &target]);
    let db = format!("--db=tcp:127.0.0.1:{port}");
    d.must(&[
        &db,
        "add-br",
        "br1",
        "--",
        "set",
        "bridge",
        "br1",
        "datapath_type=netdev",
    ]);
    assert!(d
        .must(&[&db, "show"])
        .contains(&format!("Manager \"{target}\"")));
    let status = d.wait_for(&["get", "Manager", &target, "status"], |s| {
        s.contains(&format!("bound_port=\"{port}\""))
    });
    assert!(status.contains("sec_since_connect"), "{status}");

    // A session held open is reported, then probed per inactivity_probe.
    d.must(&["set", "Manager", &target, "inactivity_probe=400"]);
    let mut raw = TcpStream::connect(("127.0.0.1", port)).unwrap();
    d.wait_for(&["get", "Manager", &target, "is_connected"], |s| {
        s.trim() == "true"
    });
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match raw.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("not disconnected: {e}; got {got:?}"),
        }
    }
    let el = t.elapsed();
    assert!(
        String::from_utf8_lossy(&got).contains(r#""method":"echo""#),
        "{got:?}"
    );
    assert!(el < Duration::from_secs(3), "probe took {el:?}");
    d.wait_for(&["get", "Manager", &target, "is_connected"], |s| {
        s.trim() == "false"
    });

    d.must(&["del-manager"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "listener still open after del-manager"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = d.vsctl(&[&db, "show"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("Connection refused"));
}

/// An active `tcp:` manager connects to a listener opened here; the test
/// speaks JSON-RPC on the accepted socket; `is_connected` and
/// `status:state` are written back.
#[test]
fn active_tcp_manager_connects_out() {
    if !have("ovs-vsctl") {
        return;
    }
    let d = Daemon::start("active", &[]);
    d.must(&["init"]);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let target = format!("tcp:127.0.0.1:{port}");
    d.must(&["set-manager", &target]);
    l.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut s = loop {
        match l.accept() {
            Ok((s, _)) => break s,
            Err(_) => {
                assert!(Instant::now() < deadline, "manager never connected");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(br#"{"id":1,"method":"list_dbs","params":[]}"#)
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
    assert_eq!(v["result"], serde_json::json!(["Open_vSwitch", "_Server"]));
    d.wait_for(&["get", "Manager", &target, "is_connected"], |s| {
        s.trim() == "true"
    });
    d.wait_for(&["get", "Manager", &target, "status:state"], |s| {
        s.trim() == "ACTIVE"
    });
    // Closing our side: the manager reconnects after its backoff.
    drop(s);
    d.wait_for(&["get", "Manager", &target, "status"], |s| {
        s.contains("sec_since_disconnect")
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if l.accept().is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "manager did not reconnect");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `set-ssl` keys from the database and a `pssl:` manager: SSL works with
/// no key options on the command line.
#[test]
fn set_ssl_and_pssl_manager() {
    if !have("ovs-vsctl") || !have("ovs-pki") {
        return;
    }
    let d = Daemon::start("setssl", &[]);
    let (sw, ctl, rogue) = make_pki(&d.dir);
    d.must(&["init"]);
    d.must(&["set-ssl", &sw.key, &sw.cert, &sw.ca]);
    let port = free_port();
    d.must(&["set-manager", &format!("pssl:{port}:127.0.0.1")]);
    let db = format!("--db=ssl:127.0.0.1:{port}");
    let run = |c: &Certs| {
        let mut a = vec![db.clone()];
        a.extend(c.flags());
        a.push("get-manager".into());
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        d.vsctl(&a)
    };
    let o = run(&ctl);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        d.log()
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("pssl:{port}:127.0.0.1")
    );
    assert!(!run(&rogue).status.success());
    assert!(run(&ctl).status.success());
}

/// Active managers with the real `ovsdb-client` as the passive peer
/// (`ovsdb-client list-dbs ptcp:…` / `pssl:…` waits for the server to
/// connect): `set-manager tcp:` and, with ovs-pki certificates on both
/// sides, `set-manager ssl:`.
#[test]
fn active_managers_to_real_ovsdb_client() {
    if !have("ovs-vsctl") || !have("ovsdb-client") || !have("ovs-pki") {
        return;
    }
    let pkidir = std::env::temp_dir().join(format!("oxvs-remotes-pki2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&pkidir);
    std::fs::create_dir_all(&pkidir).unwrap();
    let (sw, ctl, _) = make_pki(&pkidir);
    let d = Daemon::start("client-peer", &sw.flags());
    d.must(&["init"]);
    for ssl in [false, true] {
        let port = free_port();
        let (passive, active) = if ssl {
            (
                format!("pssl:{port}:127.0.0.1"),
                format!("ssl:127.0.0.1:{port}"),
            )
        } else {
            (
                format!("ptcp:{port}:127.0.0.1"),
                format!("tcp:127.0.0.1:{port}"),
            )
        };
        let mut args = vec!["20".to_string(), "ovsdb-client".into()];
        if ssl {
            args.extend(ctl.flags());
        }
        args.extend(["list-dbs".to_string(), passive.clone()]);
        let peer = Command::new("timeout")
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Let it bind before the manager starts (the manager would retry
        // anyway, after its backoff).
        std::thread::sleep(Duration::from_millis(300));
        d.must(&["set-manager", &active]);
        let out = peer.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ovsdb-client {passive}: {}\nlog:\n{}",
            String::from_utf8_lossy(&out.stderr),
            d.log()
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Open_vSwitch\n_Server\n"
        );
        // The peer hung up after its request: reported as ovsdb-server does.
        d.wait_for(&["get", "Manager", &active, "status"], |s| {
            s.contains("last_error=\"End of file\"")
        });
        d.must(&["del-manager"]);
    }
    let _ = std::fs::remove_dir_all(&pkidir);
}
