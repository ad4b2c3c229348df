//! End-to-end test fixtures: a running `oxvs daemon` in a private run
//! directory, and hosts in network namespaces attached by veth pairs.
//!
//! Everything is driven through the public CLI (`oxvs vsctl`, `oxvs appctl`)
//! and real kernel interfaces; tests need root. Names carry a per-test prefix
//! so tests can run in parallel without colliding (interface names ≤ 15 bytes).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the oxvs binary under test.
pub fn oxvs_bin() -> &'static str {
    env!("CARGO_BIN_EXE_oxvs")
}

/// Runs a command, panicking with its output if it cannot be spawned.
pub fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

/// Runs a command that must succeed.
pub fn must(cmd: &str, args: &[&str]) -> String {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the tests can create namespaces (root); prints why not.
pub fn have_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipping: end-to-end tests need root (network namespaces)");
    }
    root
}

/// A running `oxvs daemon` with its own run and database directories.
pub struct Switch {
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Switch {
    /// Starts a daemon in a fresh directory named after `tag`.
    pub fn start(tag: &str) -> Switch {
        let dir = std::env::temp_dir().join(format!("oxvs-e2e-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut sw = Switch { dir, child: None };
        sw.restart();
        sw
    }

    /// Starts the daemon (again) on the same directories.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("daemon.log"))
            .unwrap();
        let child = Command::new(oxvs_bin())
            .arg("daemon")
            .envs(self.env())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn oxvs daemon");
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            // Up = the pid file is locked by this child and the database
            // answers (stale files of a killed daemon do not count).
            let locked = vswitchd::pidfile::read_pidfile(&self.dir.join("ovs-vswitchd.pid"))
                .map(|p| p == pid)
                .unwrap_or(false);
            if locked && std::os::unix::net::UnixStream::connect(self.dir.join("db.sock")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("daemon did not start; log:\n{}", self.log());
    }

    /// Kills the daemon with SIGKILL (no chance to clean up).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// Environment that points the tools at this daemon.
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("OVS_RUNDIR", self.dir.clone()),
            ("OVS_DBDIR", self.dir.clone()),
            ("OVS_LOGDIR", self.dir.clone()),
        ]
    }

    /// Runs `oxvs <sub> args...` against this daemon.
    pub fn oxvs(&self, sub: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(oxvs_bin());
        cmd.arg(sub).args(args).envs(self.env());
        // A hung client must not hang the test suite.
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(_status) = child.try_wait().unwrap() {
                return child.wait_with_output().unwrap();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "oxvs {sub} {args:?} hung; stdout {} stderr {}\nlog:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `oxvs vsctl args...`, which must succeed; returns stdout.
    pub fn vsctl(&self, args: &[&str]) -> String {
        let out = self.oxvs("vsctl", args);
        assert!(
            out.status.success(),
            "oxvs vsctl {args:?} failed ({}): {}{}\nlog:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `oxvs appctl args...`, which must succeed; returns stdout.
    pub fn appctl(&self, args: &[&str]) -> String {
        let out = self.oxvs("appctl", args);
        assert!(
            out.status.success(),
            "oxvs appctl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: sending SIGTERM to our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("daemon log ({}):\n{}", self.dir.display(), self.log());
        }
    }
}

/// A host: a network namespace whose `eth0` is one end of a veth pair; the
/// other end (`port`) stays in the root namespace for the switch.
pub struct Host {
    pub ns: String,
    pub port: String,
    pub ip: String,
}

impl Host {
    /// Creates namespace `ns` with `eth0` at `ip/24` and root-side veth `port`.
    pub fn new(ns: &str, port: &str, ip: &str) -> Host {
        let _ = run("ip", &["netns", "del", ns]);
        let _ = run("ip", &["link", "del", port]);
        must("ip", &["netns", "add", ns]);
        must(
            "ip",
            &[
                "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ],
        );
        // The root-side end must not talk by itself (IPv6 autoconfiguration,
        // MLD) or it would disturb the hosts' counters.
        let _ = run(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{port}.disable_ipv6=1")],
        );
        must("ip", &["link", "set", port, "up"]);
        let h = Host {
            ns: ns.to_string(),
            port: port.to_string(),
            ip: ip.to_string(),
        };
        // Quiet hosts: no IPv6 autoconfiguration chatter in counter checks.
        h.exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        h.exec(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
        h.must(&["ip", "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
        h.must(&["ip", "link", "set", "eth0", "up"]);
        h.must(&["ip", "link", "set", "lo", "up"]);
        h
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["netns", "exec", &self.ns];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// Runs a command inside the namespace that must succeed.
    pub fn must(&self, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.ns];
        full.extend_from_slice(args);
        must("ip", &full)
    }

    /// Whether `count` pings to `ip` get at least one answer.
    pub fn ping(&self, ip: &str, count: u32) -> bool {
        self.exec(&[
            "ping",
            "-c",
            &count.to_string(),
            "-i",
            "0.2",
            "-W",
            "1",
            "-q",
            ip,
        ])
        .status
        .success()
    }

    /// Pings until one answer arrives or `secs` pass (the first ping may
    /// race the switch's configuration).
    pub fn ping_eventually(&self, ip: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self
                .exec(&["ping", "-c", "1", "-W", "1", "-q", ip])
                .status
                .success()
            {
                return true;
            }
        }
        false
    }

    /// A counter of the namespace's `eth0` (e.g. "rx_packets").
    pub fn counter(&self, name: &str) -> u64 {
        self.must(&["cat", &format!("/sys/class/net/eth0/statistics/{name}")])
            .trim()
            .parse()
            .unwrap()
    }

    /// The MAC address of the namespace's `eth0`.
    pub fn mac(&self) -> String {
        self.must(&["cat", "/sys/class/net/eth0/address"])
            .trim()
            .to_string()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.ns]);
        let _ = run("ip", &["link", "del", &self.port]);
    }
}

/// Polls `f` until it returns true or `secs` pass.
pub fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A directory path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Debian's Open_vSwitch schema (for the private OVS of [`Ovs`]).
pub const OVS_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// A private Open vSwitch 3.1 (ovsdb-server + ovs-vswitchd inside its own
/// network namespace) with a `datapath_type=netdev` bridge, for side-by-side
/// comparisons; `None` (the comparison is skipped) when OVS is not installed.
/// `prefix` + `tag` name its directory and namespace.
pub struct Ovs {
    pub dir: PathBuf,
    pub ns: String,
}

impl Ovs {
    pub fn start(prefix: &str, tag: &str, br: &str) -> Option<Ovs> {
        let tools = [
            "ovs-ofctl",
            "ovs-vsctl",
            "ovsdb-tool",
            "ovsdb-server",
            "ovs-vswitchd",
        ];
        if !Path::new(OVS_SCHEMA).exists() || !tools.iter().all(|b| have(b)) {
            eprintln!("skipping OVS comparison: Open vSwitch 3.1 binaries not installed");
            return None;
        }
        let dir =
            std::env::temp_dir().join(format!("oxvs-lab-{prefix}{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let o = Ovs {
            dir,
            ns: format!("{prefix}{tag}ovs"),
        };
        let d = s(&o.dir).to_string();
        o.must(
            "ovsdb-tool",
            &["create", &format!("{d}/conf.db"), OVS_SCHEMA],
        );
        o.must(
            "ovsdb-server",
            &[
                &format!("--remote=punix:{d}/db.sock"),
                "--pidfile",
                "--detach",
                "--log-file",
                &format!("{d}/conf.db"),
            ],
        );
        o.must("ovs-vsctl", &["--no-wait", "init"]);
        let _ = run("ip", &["netns", "del", &o.ns]);
        must("ip", &["netns", "add", &o.ns]);
        let st = Command::new("ip")
            .args([
                "netns",
                "exec",
                &o.ns,
                "ovs-vswitchd",
                "--pidfile",
                "--detach",
                "--log-file",
            ])
            .envs(o.env())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "ovs-vswitchd did not start");
        o.must(
            "ovs-vsctl",
            &[
                "add-br",
                br,
                "--",
                "set",
                "bridge",
                br,
                "datapath_type=netdev",
            ],
        );
        Some(o)
    }

    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("OVS_RUNDIR", self.dir.clone()),
            ("OVS_DBDIR", self.dir.clone()),
            ("OVS_LOGDIR", self.dir.clone()),
        ]
    }

    pub fn cmd(&self, bin: &str, args: &[&str]) -> Output {
        Command::new(bin)
            .args(args)
            .envs(self.env())
            .output()
            .unwrap()
    }

    pub fn must(&self, bin: &str, args: &[&str]) -> String {
        let out = self.cmd(bin, args);
        assert!(
            out.status.success(),
            "{bin} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command inside the switch's namespace.
    pub fn ns_must(&self, args: &[&str]) {
        let mut full = vec!["netns", "exec", &self.ns];
        full.extend_from_slice(args);
        must("ip", &full);
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        for name in ["ovs-vswitchd", "ovsdb-server"] {
            if let Ok(pid) = std::fs::read_to_string(self.dir.join(format!("{name}.pid"))) {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    // SAFETY: kill on a pid this test started; no memory involved.
                    unsafe { libc::kill(pid, libc::SIGTERM) };
                }
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        let _ = run("ip", &["netns", "del", &self.ns]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
