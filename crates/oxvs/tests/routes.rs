//! The switch's route table (`ovs/route/*`) against Open vSwitch 3.1's:
//! both daemons run in one network namespace with the same interfaces,
//! addresses and routes, and the real `ovs-appctl` asks each the same
//! questions; stdout, stderr and exit status must be identical (the order
//! of `ovs/route/show`'s lines aside, see [`outcome`]).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

/// An oxvs daemon started inside network namespace `ns`.
struct NsDaemon {
    dir: PathBuf,
}

impl NsDaemon {
    fn start(ns: &str, tag: &str) -> NsDaemon {
        let dir = std::env::temp_dir().join(format!("oxvs-routes-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = NsDaemon { dir };
        let st = Command::new("ip")
            .args(["netns", "exec", ns, oxvs_bin(), "daemon", "--detach"])
            .envs(d.env())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "oxvs daemon did not start in {ns}");
        d
    }

    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("OVS_RUNDIR", self.dir.clone()),
            ("OVS_DBDIR", self.dir.clone()),
            ("OVS_LOGDIR", self.dir.clone()),
        ]
    }
}

impl Drop for NsDaemon {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("ovs-vswitchd.pid")) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                // SAFETY: kill on the pid of the daemon this test started.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn appctl(env: &[(&'static str, PathBuf)], args: &[&str]) -> Output {
    Command::new("ovs-appctl")
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

/// (exit status, stdout, stderr). The lines of `ovs/route/show` are
/// sorted: OVS prints them in its classifier's internal order (hash order
/// of the prefix lengths' subtables), oxvs in lookup order.
fn outcome(o: &Output) -> (Option<i32>, String, String) {
    let mut out = String::from_utf8_lossy(&o.stdout).into_owned();
    if out.starts_with("Route Table:\n") {
        let mut lines: Vec<&str> = out.lines().collect();
        lines.sort();
        out = lines.join("\n");
    }
    (
        o.status.code(),
        out,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn route_commands_answer_as_ovs() {
    if !have_root() || !have("ovs-appctl") {
        return;
    }
    let Some(ovs) = Ovs::start("rt", "a", "rtbr0") else {
        return;
    };
    // The namespace's network: an underlay interface with IPv4 and IPv6
    // addresses, an on-link subnet, a gateway route and a default route.
    for cmd in [
        "ip link set lo up",
        "ip link add rtv0 type veth peer name rtv1",
        "ip addr add 10.31.0.2/24 dev rtv0",
        "ip -6 addr add fd31::2/64 dev rtv0 nodad",
        "ip link set rtv0 up",
        "ip link set rtv1 up",
        "ip route add 10.32.0.0/16 via 10.31.0.1",
        "ip route add default via 10.31.0.254",
        "ip -6 route add fd32::/48 via fd31::1",
    ] {
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.insert(0, "netns");
        args.insert(1, "exec");
        args.insert(2, &ovs.ns);
        must("ip", &args);
    }
    let oxvs = NsDaemon::start(&ovs.ns, "a");
    let (ovs_env, oxvs_env) = (ovs.env(), oxvs.env());
    let both = |args: &[&str]| {
        (
            outcome(&appctl(&ovs_env, args)),
            outcome(&appctl(&oxvs_env, args)),
        )
    };

    // OVS learns the routes from netlink notifications: wait for it.
    let mut last = None;
    let same = wait_until(10, || {
        let (a, b) = both(&["ovs/route/show"]);
        let ok = a == b && a.1.contains("10.32.0.0/16");
        last = Some((a, b));
        ok
    });
    let (a, b) = last.unwrap();
    assert!(
        same,
        "ovs/route/show differs:\nOVS:\n{}\noxvs:\n{}",
        a.1, b.1
    );

    for args in [
        vec!["ovs/route/lookup", "10.31.0.9"],
        vec!["ovs/route/lookup", "10.32.7.7"],
        vec!["ovs/route/lookup", "192.0.2.1"],
        vec!["ovs/route/lookup", "10.31.0.2"],
        vec!["ovs/route/lookup", "127.0.0.1"],
        vec!["ovs/route/lookup", "fd32::5"],
        vec!["ovs/route/lookup", "fd31::7"],
        vec!["ovs/route/lookup", "not-an-ip"],
        vec!["ovs/route/add", "10.40.0.0/16", "rtv0", "10.31.0.7"],
        vec!["ovs/route/lookup", "10.40.1.1"],
        vec!["ovs/route/show"],
        vec!["ovs/route/add", "10.41.0.0/16", "nosuchdev"],
        vec!["ovs/route/add", "10.41.0.0/99", "rtv0"],
        vec!["ovs/route/del", "10.40.0.0/16"],
        vec!["ovs/route/del", "10.40.0.0/16"],
        vec!["ovs/route/show"],
    ] {
        let (a, b) = both(&args);
        assert_eq!(
            a, b,
            "ovs-appctl {args:?}: OVS (left) and oxvs (right) differ"
        );
    }
}
