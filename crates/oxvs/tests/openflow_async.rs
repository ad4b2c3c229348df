//! Asynchronous OpenFlow end to end: OFPT_PORT_STATUS for port add, delete
//! and changes (compared line for line with what the real `ovs-ofctl
//! monitor` prints for a private Open vSwitch 3.1 doing the same), port_mod
//! config bits with real traffic between network namespaces (no-flood,
//! no-forward, no-receive, down/up), table-miss packet-ins per OpenFlow
//! version and invalid-TTL packet-ins. Everything is driven with the real
//! `ovs-ofctl` against an `oxvs daemon`. Names: namespaces and ports
//! `oxas*`, bridges `asNbr`, subnets 10.83.N.0/24. Needs root; skips
//! otherwise (and without the OVS tools).

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn usable() -> bool {
    if !have_root() {
        return false;
    }
    if !have("ovs-ofctl") {
        eprintln!("skipping: ovs-ofctl not installed");
        return false;
    }
    true
}

/// Real `ovs-ofctl ARGS` against `env`; must succeed; its stdout.
fn ofctl_env(env: &[(&'static str, PathBuf)], args: &[&str]) -> String {
    let out = Command::new("ovs-ofctl")
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .expect("run ovs-ofctl");
    assert!(
        out.status.success(),
        "ovs-ofctl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ovs-ofctl ARGS` in the background (for `monitor`), optionally inside
/// network namespace `ns`.
fn ofctl_spawn(env: &[(&'static str, PathBuf)], ns: Option<&str>, args: &[&str]) -> Child {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "ovs-ofctl"]);
            c
        }
        None => Command::new("ovs-ofctl"),
    };
    cmd.args(args)
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ovs-ofctl")
}

/// Stops a background ovs-ofctl; everything it printed (stdout, then
/// stderr).
fn ofctl_stop(mut child: Child) -> String {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A monitor's PORT_STATUS messages as lines, with the port's Ethernet
/// address blanked (the two switches see different devices).
fn port_status_lines(text: &str) -> Vec<String> {
    let mut v = Vec::new();
    for l in text.lines() {
        if l.starts_with("OFPT_PORT_STATUS") {
            let l = match l.find(": addr:") {
                Some(i) => format!("{}: addr:X", &l[..i]),
                None => l.to_string(),
            };
            v.push(l);
        } else if l.starts_with("     config:") || l.starts_with("     state:") {
            v.push(l.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    v
}

/// Creates bridge `br` on oxvs with `ports` and waits until `show` lists
/// them all.
fn oxvs_bridge(sw: &Switch, br: &str, ports: &[&str]) {
    sw.vsctl(&["add-br", br]);
    for p in ports {
        sw.vsctl(&["add-port", br, p]);
    }
    let env = sw.env();
    assert!(
        wait_until(15, || {
            let out = Command::new("ovs-ofctl")
                .args(["show", br])
                .envs(env.iter().cloned())
                .output()
                .unwrap();
            let show = String::from_utf8_lossy(&out.stdout).into_owned();
            out.status.success() && ports.iter().all(|p| show.contains(&format!("({p})")))
        }),
        "bridge {br} not up\n{}",
        sw.log()
    );
}

/// The port-status scenario on one switch: `add_port` / `del_port` change
/// the database, `link(up)` sets the far end of the port's veth up or down;
/// `settle` is how long each step may take to be noticed (oxvs polls link
/// state every 5 s). Returns the OF1.0 and OF1.3 monitors' output.
/// The three changes a port-status scenario makes: add the port, delete
/// it, set its peer's link up (`true`) or down.
type PortChanges<'a> = (&'a dyn Fn(), &'a dyn Fn(), &'a dyn Fn(bool));

fn port_status_scenario(
    env: &[(&'static str, PathBuf)],
    ns: Option<&str>,
    br: &str,
    port: &str,
    (add_port, del_port, link): PortChanges<'_>,
    settle: Duration,
) -> (String, String) {
    let mon = ofctl_spawn(env, ns, &["monitor", br, "65535"]);
    let mon13 = ofctl_spawn(env, ns, &["-O", "OpenFlow13", "monitor", br, "65535"]);
    let quiet = ofctl_spawn(env, ns, &["monitor", br]);
    std::thread::sleep(Duration::from_millis(800));
    add_port();
    std::thread::sleep(settle);
    ofctl_env(env, &["mod-port", br, port, "no-flood"]);
    std::thread::sleep(Duration::from_millis(500));
    ofctl_env(env, &["mod-port", br, port, "down"]);
    std::thread::sleep(settle);
    ofctl_env(env, &["mod-port", br, port, "up"]);
    std::thread::sleep(settle);
    link(false);
    std::thread::sleep(settle);
    link(true);
    std::thread::sleep(settle);
    del_port();
    std::thread::sleep(Duration::from_millis(1500));
    let q = ofctl_stop(quiet);
    assert!(
        !q.contains("OFPT_PORT_STATUS"),
        "no async messages without miss_send_len: {q}"
    );
    (ofctl_stop(mon), ofctl_stop(mon13))
}

#[test]
fn port_status_like_open_vswitch() {
    if !usable() {
        return;
    }
    let sw = Switch::start("as1");
    sw.vsctl(&["add-br", "as1br"]);
    assert!(wait_until(10, || sw
        .oxvs("ofctl", &["show", "as1br"])
        .status
        .success()));
    let _ = run("ip", &["link", "del", "oxas1p"]);
    must(
        "ip",
        &[
            "link", "add", "oxas1p", "type", "veth", "peer", "name", "oxas1q",
        ],
    );
    must("ip", &["link", "set", "oxas1p", "up"]);
    must("ip", &["link", "set", "oxas1q", "up"]);
    let env = sw.env();
    let (ox10, ox13) = port_status_scenario(
        &env,
        None,
        "as1br",
        "oxas1p",
        (
            &|| {
                sw.vsctl(&["add-port", "as1br", "oxas1p"]);
            },
            &|| {
                sw.vsctl(&["del-port", "as1br", "oxas1p"]);
            },
            &|up| {
                must(
                    "ip",
                    &["link", "set", "oxas1q", if up { "up" } else { "down" }],
                );
            },
        ),
        Duration::from_millis(6500),
    );
    let _ = run("ip", &["link", "del", "oxas1p"]);
    let got = port_status_lines(&ox10);
    // What ovs-ofctl 3.1 printed for Open vSwitch 3.1 (captured by hand;
    // the live comparison follows when OVS is installed).
    let want = [
        "OFPT_PORT_STATUS (xid=0x0): ADD: 1(oxas1p): addr:X",
        "config: 0",
        "state: 0",
        "OFPT_PORT_STATUS (xid=0x0): MOD: 1(oxas1p): addr:X",
        "config: NO_FLOOD",
        "state: 0",
        "OFPT_PORT_STATUS (xid=0x0): MOD: 1(oxas1p): addr:X",
        "config: PORT_DOWN NO_FLOOD",
        "state: 0",
        "OFPT_PORT_STATUS (xid=0x0): MOD: 1(oxas1p): addr:X",
        "config: PORT_DOWN NO_FLOOD",
        "state: LINK_DOWN",
        "OFPT_PORT_STATUS (xid=0x0): MOD: 1(oxas1p): addr:X",
        "config: NO_FLOOD",
        "state: LINK_DOWN",
        "OFPT_PORT_STATUS (xid=0x0): MOD: 1(oxas1p): addr:X",
        "config: NO_FLOOD",
        "state: 0",
        "OFPT_PORT_STATUS (xid=0x0): MOD: 1(oxas1p): addr:X",
        "config: NO_FLOOD",
        "state: LINK_DOWN",
        "OFPT_PORT_STATUS (xid=0x0): MOD: 1(oxas1p): addr:X",
        "config: NO_FLOOD",
        "state: 0",
        "OFPT_PORT_STATUS (xid=0x0): DEL: 1(oxas1p): addr:X",
        "config: NO_FLOOD",
        "state: 0",
    ];
    assert_eq!(got, want, "oxvs OF1.0 monitor:\n{ox10}\nlog:\n{}", sw.log());
    // OpenFlow 1.3: the same events (NO_FLOOD is not an OF1.3 bit).
    let got13 = port_status_lines(&ox13);
    assert!(
        got13
            .first()
            .is_some_and(|l| l.contains("(OF1.3) (xid=0x0): ADD: 1(oxas1p)")),
        "{ox13}"
    );
    assert!(got13.iter().any(|l| l == "config: PORT_DOWN"), "{ox13}");
    assert!(got13.iter().any(|l| l.contains("DEL: 1(oxas1p)")), "{ox13}");

    // The same scenario against Open vSwitch 3.1 (its switch lives in a
    // namespace; the veth there has the same name).
    let Some(ovs) = Ovs::start("oxas", "1", "as1br") else {
        return;
    };
    ovs.ns_must(&[
        "ip", "link", "add", "oxas1p", "type", "veth", "peer", "name", "oxas1q",
    ]);
    ovs.ns_must(&["ip", "link", "set", "oxas1p", "up"]);
    ovs.ns_must(&["ip", "link", "set", "oxas1q", "up"]);
    let oenv = ovs.env();
    let (ovs10, _) = port_status_scenario(
        &oenv,
        Some(&ovs.ns),
        "as1br",
        "oxas1p",
        (
            &|| {
                ovs.must("ovs-vsctl", &["add-port", "as1br", "oxas1p"]);
            },
            &|| {
                ovs.must("ovs-vsctl", &["del-port", "as1br", "oxas1p"]);
            },
            &|up| {
                ovs.ns_must(&[
                    "ip",
                    "link",
                    "set",
                    "oxas1q",
                    if up { "up" } else { "down" },
                ])
            },
        ),
        Duration::from_millis(1500),
    );
    assert_eq!(
        port_status_lines(&ovs10),
        got,
        "OVS:\n{ovs10}\noxvs:\n{ox10}"
    );
}

/// `ovs-ofctl show` line block of port `name`.
fn show_port(sw: &Switch, br: &str, name: &str) -> String {
    let show = ofctl_env(&sw.env(), &["show", br]);
    let mut out = String::new();
    let mut inside = false;
    for l in show.lines() {
        if l.starts_with(' ') && !l.starts_with("     ") {
            inside = l.contains(&format!("({name})"));
        }
        if inside {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[test]
fn port_mod_bits_with_real_traffic() {
    if !usable() {
        return;
    }
    let sw = Switch::start("as2");
    let a = Host::new("oxas2-a", "oxas2-a", "10.83.2.1");
    let b = Host::new("oxas2-b", "oxas2-b", "10.83.2.2");
    let c = Host::new("oxas2-c", "oxas2-c", "10.83.2.3");
    oxvs_bridge(&sw, "as2br", &[&a.port, &b.port, &c.port]);
    let env = sw.env();
    let modp = |port: &str, what: &str| {
        ofctl_env(&env, &["mod-port", "as2br", port, what]);
    };
    let forget = || {
        // Make the next ping flood again: no ARP cache, no learned MACs.
        for h in [&a, &b, &c] {
            h.must(&["ip", "neigh", "flush", "all"]);
        }
        sw.appctl(&["fdb/flush", "as2br"]);
    };
    assert!(a.ping_eventually("10.83.2.2", 10), "baseline\n{}", sw.log());

    // no-flood on c: a's ARP broadcast for b reaches b only.
    modp(&c.port, "no-flood");
    assert!(show_port(&sw, "as2br", &c.port).contains("config:     NO_FLOOD"));
    forget();
    let c0 = c.counter("rx_packets");
    assert!(a.ping("10.83.2.2", 2), "unicast still works");
    assert_eq!(c.counter("rx_packets"), c0, "c got no flooded frame");
    modp(&c.port, "flood");
    forget();
    let c0 = c.counter("rx_packets");
    assert!(a.ping("10.83.2.2", 2));
    assert!(c.counter("rx_packets") > c0, "flooding to c restored");

    // no-forward on b: nothing reaches b, flooded or unicast.
    modp(&b.port, "no-forward");
    forget();
    let b0 = b.counter("rx_packets");
    assert!(!a.ping("10.83.2.2", 2), "b unreachable");
    assert_eq!(b.counter("rx_packets"), b0, "b got nothing");
    modp(&b.port, "forward");
    assert!(a.ping_eventually("10.83.2.2", 5), "forwarding restored");

    // no-receive on a: its input is dropped.
    modp(&a.port, "no-receive");
    assert!(show_port(&sw, "as2br", &a.port).contains("NO_RECV"));
    forget();
    let b0 = b.counter("rx_packets");
    assert!(!a.ping("10.83.2.2", 2), "a's input dropped");
    assert_eq!(b.counter("rx_packets"), b0);
    modp(&a.port, "receive");
    assert!(a.ping_eventually("10.83.2.2", 5), "receiving restored");

    // no-packet-in and packet-in round trip show in the description.
    modp(&a.port, "no-packet-in");
    assert!(show_port(&sw, "as2br", &a.port).contains("NO_PACKET_IN"));
    modp(&a.port, "packet-in");
    assert!(!show_port(&sw, "as2br", &a.port).contains("NO_PACKET_IN"));

    // down: the interface itself goes administratively down.
    modp(&b.port, "down");
    let flags = must("cat", &[&format!("/sys/class/net/{}/flags", b.port)]);
    let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 0, "IFF_UP cleared");
    assert!(show_port(&sw, "as2br", &b.port).contains("PORT_DOWN"));
    assert!(!a.ping("10.83.2.2", 2));
    modp(&b.port, "up");
    assert!(a.ping_eventually("10.83.2.2", 10), "up again\n{}", sw.log());
    assert!(!show_port(&sw, "as2br", &b.port).contains("PORT_DOWN"));
    // OpenFlow 1.3 description of a port with port_mod bits.
    modp(&c.port, "no-forward");
    let desc = ofctl_env(&env, &["-O", "OpenFlow13", "dump-ports-desc", "as2br"]);
    assert!(desc.contains("config:     NO_FWD"), "{desc}");
}

/// The datapath flows of oxvs (`ovs-appctl dpctl/dump-flows`).
fn dp_flows(sw: &Switch) -> String {
    sw.appctl(&["dpctl/dump-flows"])
}

#[test]
fn table_miss_per_version_and_invalid_ttl() {
    if !usable() {
        return;
    }
    let sw = Switch::start("as3");
    let a = Host::new("oxas3-a", "oxas3-a", "10.83.3.1");
    let b = Host::new("oxas3-b", "oxas3-b", "10.83.3.2");
    oxvs_bridge(&sw, "as3br", &[&a.port, &b.port]);
    let env = sw.env();
    ofctl_env(&env, &["del-flows", "as3br"]);
    // Static ARP, so that pings send IP packets through the miss.
    a.must(&[
        "ip",
        "neigh",
        "replace",
        "10.83.3.2",
        "lladdr",
        &b.mac(),
        "dev",
        "eth0",
    ]);

    // Nobody wants misses: a plain drop in the datapath.
    let _ = a.exec(&["ping", "-c", "1", "-W", "1", "10.83.3.2"]);
    let dump = dp_flows(&sw);
    assert!(
        dump.lines()
            .any(|l| l.contains("in_port(") && l.ends_with("actions:drop")),
        "{dump}"
    );

    // An OpenFlow 1.3 monitor gets no table-miss packet-in; an OF1.0 one
    // (miss_send_len 128) does, cut to 128 bytes.
    let mon13 = ofctl_spawn(
        &env,
        None,
        &["-O", "OpenFlow13", "monitor", "as3br", "65535"],
    );
    std::thread::sleep(Duration::from_millis(700));
    let _ = a.exec(&[
        "ping",
        "-c",
        "2",
        "-i",
        "0.3",
        "-W",
        "1",
        "-s",
        "200",
        "10.83.3.2",
    ]);
    let dump = dp_flows(&sw);
    assert!(
        !dump.contains("userspace"),
        "OF1.3 only: still a drop\n{dump}"
    );
    let mon10 = ofctl_spawn(&env, None, &["monitor", "as3br", "128"]);
    std::thread::sleep(Duration::from_millis(700));
    let _ = a.exec(&[
        "ping",
        "-c",
        "2",
        "-i",
        "0.3",
        "-W",
        "1",
        "-s",
        "200",
        "10.83.3.2",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let dump = dp_flows(&sw);
    let t13 = ofctl_stop(mon13);
    let t10 = ofctl_stop(mon10);
    assert!(!t13.contains("PACKET_IN"), "OF1.3: {t13}");
    assert!(
        t10.contains("total_len=242 in_port=1 (via no_match) data_len=128"),
        "OF1.0: {t10}\n{dump}"
    );
    assert!(dump.contains("userspace"), "{dump}");
    // The OF1.0 monitor is gone: misses become drops again.
    assert!(
        wait_until(5, || {
            let _ = a.exec(&["ping", "-c", "1", "-W", "1", "10.83.3.2"]);
            !dp_flows(&sw).contains("userspace")
        }),
        "{}",
        dp_flows(&sw)
    );

    // dec_ttl on TTL 1: a packet-in only to the monitor that asked.
    ofctl_env(
        &env,
        &["add-flow", "as3br", "priority=10,ip,actions=dec_ttl,normal"],
    );
    ofctl_env(&env, &["add-flow", "as3br", "priority=5,actions=normal"]);
    assert!(a.ping_eventually("10.83.3.2", 5), "TTL 64 forwards");
    let asked = ofctl_spawn(&env, None, &["monitor", "as3br", "65535", "invalid_ttl"]);
    let plain = ofctl_spawn(&env, None, &["monitor", "as3br", "65535"]);
    std::thread::sleep(Duration::from_millis(700));
    let b0 = b.counter("rx_packets");
    let _ = a.exec(&[
        "ping",
        "-c",
        "2",
        "-i",
        "0.3",
        "-W",
        "1",
        "-t",
        "1",
        "10.83.3.2",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let t_asked = ofctl_stop(asked);
    let t_plain = ofctl_stop(plain);
    assert!(t_asked.contains("(via invalid_ttl)"), "asked: {t_asked}");
    assert!(!t_plain.contains("invalid_ttl"), "not asked: {t_plain}");
    assert_eq!(b.counter("rx_packets"), b0, "TTL 1 dropped");
}
