//! A third-party controller drives oxvs (issue 5, test (c)): os-ken's
//! `simple_switch_13` application (PyPI `os-ken`, installed in the repo's
//! `.venv` by `scripts/install-deps.sh`) run by `osken-manager`, and two
//! hosts in network namespaces pinging through the `oxvs daemon`.
//!
//! The bridge is in `fail_mode=secure` with its flow table emptied before
//! the controller is set (with the real `ovs-vsctl`), so forwarding can only
//! come from the controller: the test checks that os-ken logs packet-ins and
//! that its flows appear in `dump-flows` (the table-miss flow at priority 0
//! and the learned priority-1 flows).

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{have, have_root, wait_until, Host, Switch};

/// `osken-manager` of the repo's venv, if installed.
fn osken_manager() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/osken-manager");
    p.exists().then_some(p)
}

/// A running `osken-manager`, killed (by its own pid) when dropped.
struct OsKen {
    child: Child,
    log: PathBuf,
}

impl OsKen {
    fn start(bin: &Path, port: u16, log: PathBuf) -> OsKen {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args([
                "--verbose",
                "--ofp-listen-host",
                "127.0.0.1",
                "--ofp-tcp-listen-port",
                &port.to_string(),
                "os_ken.app.simple_switch_13",
            ])
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("spawn osken-manager");
        OsKen { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OsKen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("osken-manager log:\n{}", self.log());
        }
    }
}

#[test]
fn osken_simple_switch_13_drives_a_secure_bridge() {
    if !have_root() {
        return;
    }
    let Some(bin) = osken_manager() else {
        eprintln!("skipping: .venv/bin/osken-manager missing (run scripts/install-deps.sh)");
        return;
    };
    if !have("ovs-vsctl") {
        eprintln!("skipping: ovs-vsctl not installed");
        return;
    }
    let sw = Switch::start("osken");
    let br = "okbr";
    let h1 = Host::new("okh1", "okp1", "10.91.0.1");
    let h2 = Host::new("okh2", "okp2", "10.91.0.2");
    sw.vsctl(&[
        "add-br",
        br,
        "--",
        "set",
        "Bridge",
        br,
        "fail_mode=secure",
        "--",
        "add-port",
        br,
        &h1.port,
        "--",
        "add-port",
        br,
        &h2.port,
    ]);
    let out = sw.oxvs("ofctl", &["del-flows", br]);
    assert!(out.status.success(), "{out:?}");
    let flows = || {
        String::from_utf8_lossy(
            &sw.oxvs("ofctl", &["-O", "OpenFlow13", "dump-flows", br])
                .stdout,
        )
        .into_owned()
    };
    assert!(!flows().contains("priority="), "{}", flows());
    // Secure, no flows, no controller: nothing gets through.
    assert!(!h1.ping(&h2.ip, 1));

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let osken = OsKen::start(&bin, port, sw.dir.join("osken.log"));
    let target = format!("tcp:127.0.0.1:{port}");
    let out = Command::new("ovs-vsctl")
        .args(["set-controller", br, &target])
        .envs(sw.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // simple_switch_13 installs the table-miss flow on features reply.
    assert!(
        wait_until(60, || flows().contains("actions=CONTROLLER:65535")),
        "no table-miss flow: {}\n{}\n{}",
        flows(),
        osken.log(),
        sw.log()
    );
    assert!(
        h1.ping_eventually(&h2.ip, 30),
        "{}\n{}",
        flows(),
        osken.log()
    );
    assert!(
        osken.log().contains("packet in"),
        "no packet-in at os-ken:\n{}",
        osken.log()
    );
    // Learned flows: priority 1, in_port + dl_dst (+ dl_src), both ways.
    let (m1, m2) = (h1.mac(), h2.mac());
    assert!(
        wait_until(10, || {
            let f = flows();
            f.lines()
                .any(|l| l.contains("priority=1,") && l.contains(&format!("dl_dst={m2}")))
                && f.lines()
                    .any(|l| l.contains("priority=1,") && l.contains(&format!("dl_dst={m1}")))
        }),
        "{}",
        flows()
    );
    let status = Command::new("ovs-vsctl")
        .args(["--bare", "--columns=is_connected", "list", "Controller"])
        .envs(sw.env())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout).trim(), "true");
}
