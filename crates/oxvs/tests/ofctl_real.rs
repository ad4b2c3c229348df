//! The real `ovs-ofctl` (Open vSwitch 3.1) against `oxvs daemon`: every
//! command in its default (OpenFlow 1.0 + Nicira) mode and with
//! `-O OpenFlow13`, output compared with the formats of
//! shared/compat/openflow-clients.md §7; and the seed scenario of issue 3
//! (HTTP blocked between two namespaces while ping works).

mod common;

use common::*;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the real ovs-ofctl against `sw` (stdout piped, so not a TTY).
fn ofctl(sw: &Switch, args: &[&str]) -> Output {
    let mut child = Command::new("ovs-ofctl")
        .args(args)
        .envs(sw.env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ovs-ofctl");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "ovs-ofctl {args:?} hung: {}{}\nlog:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                sw.log()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// ovs-ofctl that must succeed; its stdout.
fn ofctl_ok(sw: &Switch, args: &[&str]) -> String {
    let out = ofctl(sw, args);
    assert!(
        out.status.success(),
        "ovs-ofctl {args:?} failed: {}{}\nlog:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        sw.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

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

/// Flow lines of a dump-flows output with the time-dependent fields
/// (`duration`, `idle_age`, `hard_age`) blanked, sorted.
fn flows(dump: &str) -> Vec<String> {
    let mut v: Vec<String> = dump
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(|l| {
            l.split(", ")
                .map(|f| {
                    if f.starts_with("duration=") {
                        "duration=X"
                    } else if f.starts_with("idle_age=") {
                        "idle_age=X"
                    } else if f.starts_with("hard_age=") {
                        "hard_age=X"
                    } else {
                        f
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn show_and_dumps_in_both_modes() {
    if !usable() {
        return;
    }
    let sw = Switch::start("ofs");
    let _a = Host::new("oxofs-a", "oxofs-a", "10.93.0.1");
    sw.vsctl(&["add-br", "ofsbr0"]);
    sw.vsctl(&["add-port", "ofsbr0", "oxofs-a"]);
    assert!(wait_until(10, || sw.dir.join("ofsbr0.mgmt").exists()));
    assert!(wait_until(10, || ofctl_ok(&sw, &["show", "ofsbr0"])
        .contains("(oxofs-a)")));

    // show, OpenFlow 1.0.
    let show = ofctl_ok(&sw, &["show", "ofsbr0"]);
    let lines: Vec<&str> = show.lines().collect();
    assert!(
        lines[0].starts_with("OFPT_FEATURES_REPLY (xid=0x2): dpid:"),
        "{show}"
    );
    assert_eq!(
        lines[0].len(),
        "OFPT_FEATURES_REPLY (xid=0x2): dpid:".len() + 16
    );
    assert_eq!(lines[1], "n_tables:254, n_buffers:0");
    assert_eq!(
        lines[2],
        "capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP"
    );
    assert_eq!(
        lines[3],
        "actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst \
         mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst"
    );
    assert!(lines[4].starts_with(" 1(oxofs-a): addr:"), "{show}");
    assert!(show.contains("\n LOCAL(ofsbr0): addr:"), "{show}");
    assert_eq!(
        *lines.last().unwrap(),
        "OFPT_GET_CONFIG_REPLY (xid=0x4): frags=normal miss_send_len=0"
    );

    // show, OpenFlow 1.3.
    let show13 = ofctl_ok(&sw, &["-O", "OpenFlow13", "show", "ofsbr0"]);
    let l13: Vec<&str> = show13.lines().collect();
    assert!(l13[0].starts_with("OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:"));
    assert_eq!(l13[0][l13[0].len() - 16..], lines[0][lines[0].len() - 16..]);
    assert_eq!(
        l13[2],
        "capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS"
    );
    assert_eq!(l13[3], "OFPST_PORT_DESC reply (OF1.3) (xid=0x3):");
    assert!(show13.contains(" 1(oxofs-a): addr:"));
    assert_eq!(
        *l13.last().unwrap(),
        "OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x5): frags=normal miss_send_len=0"
    );

    // dump-ports.
    let ports = ofctl_ok(&sw, &["dump-ports", "ofsbr0"]);
    assert!(
        ports.starts_with("OFPST_PORT reply (xid=0x2): 2 ports\n"),
        "{ports}"
    );
    assert!(ports.contains("\n  port  1: rx pkts="), "{ports}");
    assert!(ports.contains("\n  port LOCAL: rx pkts="), "{ports}");
    assert!(ports.contains("\n           tx pkts="), "{ports}");
    let ports1 = ofctl_ok(&sw, &["dump-ports", "ofsbr0", "1"]);
    assert!(
        ports1.starts_with("OFPST_PORT reply (xid=0x2): 1 ports\n"),
        "{ports1}"
    );
    let ports13 = ofctl_ok(&sw, &["-O", "OpenFlow13", "dump-ports", "ofsbr0"]);
    assert!(ports13.starts_with("OFPST_PORT reply (OF1.3) (xid=0x2): 2 ports\n"));
    assert!(ports13.contains("           duration="), "{ports13}");

    // dump-ports-desc.
    for (args, head) in [
        (
            vec!["dump-ports-desc", "ofsbr0"],
            "OFPST_PORT_DESC reply (xid=0x2):",
        ),
        (
            vec!["-O", "OpenFlow13", "dump-ports-desc", "ofsbr0"],
            "OFPST_PORT_DESC reply (OF1.3) (xid=0x2):",
        ),
    ] {
        let d = ofctl_ok(&sw, &args);
        assert_eq!(d.lines().next(), Some(head), "{d}");
        assert!(d.contains(" 1(oxofs-a): addr:") && d.contains(" LOCAL(ofsbr0): addr:"));
        assert!(d.contains("     current:    "), "{d}");
    }

    // dump-tables.
    let t = ofctl_ok(&sw, &["dump-tables", "ofsbr0"]);
    assert!(
        t.starts_with("OFPST_TABLE reply (xid=0x2):\n  table 0:\n"),
        "{t}"
    );
    assert!(t.contains("    max_entries=1000000\n"), "{t}");
    let t13 = ofctl_ok(&sw, &["-O", "OpenFlow13", "dump-tables", "ofsbr0"]);
    assert!(
        t13.starts_with("OFPST_TABLE reply (OF1.3) (xid=0x2):\n  table 0:\n"),
        "{t13}"
    );

    // dump-flows / dump-aggregate agree on the count, in both modes.
    let f = ofctl_ok(&sw, &["dump-flows", "ofsbr0"]);
    assert_eq!(f.lines().next(), Some("NXST_FLOW reply (xid=0x4):"), "{f}");
    let n = flows(&f).len();
    let a = ofctl_ok(&sw, &["dump-aggregate", "ofsbr0"]);
    assert!(
        a.starts_with("NXST_AGGREGATE reply (xid=0x4): packet_count="),
        "{a}"
    );
    assert!(
        a.trim_end().ends_with(&format!("flow_count={n}")),
        "{a} vs {f}"
    );
    let f13 = ofctl_ok(&sw, &["-O", "OpenFlow13", "dump-flows", "ofsbr0"]);
    assert_eq!(
        f13.lines().next(),
        Some("OFPST_FLOW reply (OF1.3) (xid=0x2):")
    );
    assert_eq!(flows(&f13).len(), n);
    let a13 = ofctl_ok(&sw, &["-O", "OpenFlow13", "dump-aggregate", "ofsbr0"]);
    assert!(a13.starts_with("OFPST_AGGREGATE reply (OF1.3) (xid=0x2): packet_count="));

    // table features (needed by the map connection of add-flow in 1.3).
    let tf = ofctl_ok(&sw, &["-O", "OpenFlow13", "dump-table-features", "ofsbr0"]);
    assert!(
        tf.contains("  table 0:") && tf.contains("next tables: 1-253"),
        "{tf}"
    );

    // A ptcp: controller target is a service listener like the mgmt socket.
    let port = 20000 + (std::process::id() % 20000);
    let target = format!("ptcp:{port}:127.0.0.1");
    sw.vsctl(&["set-controller", "ofsbr0", &target]);
    let tcp = format!("tcp:127.0.0.1:{port}");
    assert!(
        wait_until(10, || ofctl(&sw, &["show", &tcp]).status.success()),
        "show over {tcp}\n{}",
        sw.log()
    );
    let show_tcp = ofctl_ok(&sw, &["show", &tcp]);
    assert_eq!(show_tcp.lines().nth(1), Some("n_tables:254, n_buffers:0"));
    sw.vsctl(&["del-controller", "ofsbr0"]);
    assert!(wait_until(10, || !ofctl(&sw, &["show", &tcp])
        .status
        .success()));

    // Bridge.protocols restricts the versions of the mgmt socket.
    sw.vsctl(&["set", "bridge", "ofsbr0", "protocols=OpenFlow13"]);
    assert!(wait_until(10, || !ofctl(&sw, &["show", "ofsbr0"])
        .status
        .success()));
    let out = ofctl(&sw, &["show", "ofsbr0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "version negotiation failed (we support version 0x01, peer supports version 0x04)"
        ),
        "{err}"
    );
    ofctl_ok(&sw, &["-O", "OpenFlow13", "show", "ofsbr0"]);

    // Deleting the bridge removes its socket.
    sw.vsctl(&["del-br", "ofsbr0"]);
    assert!(wait_until(10, || !sw.dir.join("ofsbr0.mgmt").exists()));
    let out = ofctl(&sw, &["show", "ofsbr0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a bridge or a socket"));
}

/// The reference flows of compat doc §5/§7 (without the default flow).
const REF_FLOWS: [&str; 4] = [
    "table=0, tcp,tp_dst=80, actions=drop",
    "table=0, tcp,tp_dst=80,nw_dst=192.168.2.2, actions=mod_tp_dst:25,normal",
    "in_port=2,actions=drop",
    "idle_timeout=30,priority=100,dl_type=0x0800,nw_src=10.0.0.1,actions=output:2",
];

#[test]
fn flow_mods_in_both_modes() {
    if !usable() {
        return;
    }
    let sw = Switch::start("off");
    sw.vsctl(&["add-br", "offbr0"]);
    assert!(wait_until(10, || ofctl(&sw, &["show", "offbr0"])
        .status
        .success()));
    ofctl_ok(&sw, &["del-flows", "offbr0"]);
    assert!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).is_empty());

    // Default mode: add-flow for each reference flow.
    for f in REF_FLOWS {
        ofctl_ok(&sw, &["add-flow", "offbr0", f]);
    }
    let dump = ofctl_ok(&sw, &["dump-flows", "offbr0"]);
    let x = "cookie=0x0, duration=X, table=0, n_packets=0, n_bytes=0";
    let mut want = vec![
        format!(" {x}, idle_age=X, tcp,tp_dst=80 actions=drop"),
        format!(" {x}, idle_age=X, tcp,nw_dst=192.168.2.2,tp_dst=80 actions=mod_tp_dst:25,NORMAL"),
        format!(" {x}, idle_age=X, in_port=2 actions=drop"),
        format!(
            " {x}, idle_timeout=30, idle_age=X, priority=100,ip,nw_src=10.0.0.1 actions=output:2"
        ),
    ];
    want.sort();
    assert_eq!(flows(&dump), want, "{dump}");
    let agg = ofctl_ok(&sw, &["dump-aggregate", "offbr0"]);
    assert_eq!(
        agg.trim_end(),
        "NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=4"
    );
    let agg = ofctl_ok(&sw, &["dump-aggregate", "offbr0", "in_port=2"]);
    assert!(agg.trim_end().ends_with("flow_count=1"), "{agg}");
    let one = ofctl_ok(&sw, &["dump-flows", "offbr0", "in_port=2"]);
    assert_eq!(flows(&one).len(), 1, "{one}");

    // mod-flows (OF1.0 modify also covers every table), then del-flows MATCH.
    ofctl_ok(&sw, &["mod-flows", "offbr0", "in_port=2,actions=output:1"]);
    let dump = ofctl_ok(&sw, &["dump-flows", "offbr0", "in_port=2"]);
    assert!(dump.contains(" in_port=2 actions=output:1"), "{dump}");
    ofctl_ok(&sw, &["--strict", "del-flows", "offbr0", "in_port=2"]);
    assert_eq!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).len(), 3);
    ofctl_ok(&sw, &["del-flows", "offbr0"]);
    assert!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).is_empty());

    // add-flows FILE; a bad line adds nothing and names the line.
    let file = sw.dir.join("flows.txt");
    std::fs::write(&file, REF_FLOWS.join("\n") + "\n").unwrap();
    ofctl_ok(&sw, &["add-flows", "offbr0", s(&file)]);
    assert_eq!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).len(), 4);
    ofctl_ok(&sw, &["del-flows", "offbr0"]);
    std::fs::write(&file, "in_port=1,actions=drop\nin_port=3,actions=bogus\n").unwrap();
    let out = ofctl(&sw, &["add-flows", "offbr0", s(&file)]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(":2:"),
        "names line 2"
    );
    assert!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).is_empty());

    // Durations print as OVS's: whole milliseconds.
    ofctl_ok(&sw, &["add-flow", "offbr0", "in_port=9,actions=drop"]);
    std::thread::sleep(Duration::from_millis(30));
    let dump = ofctl_ok(&sw, &["dump-flows", "offbr0"]);
    let d = dump
        .split("duration=")
        .nth(1)
        .unwrap()
        .split('s')
        .next()
        .unwrap();
    let frac = d.split('.').nth(1).unwrap_or("");
    assert!(frac.len() <= 3 && d.parse::<f64>().unwrap() > 0.0, "{dump}");
    ofctl_ok(&sw, &["del-flows", "offbr0"]);

    // OpenFlow 1.4 bundle (`--bundle`): a flow the switch refuses on line 3
    // adds none of the file; a good file is added whole.
    ofctl_ok(
        &sw,
        &["add-flow", "offbr0", "priority=5,in_port=7,actions=drop"],
    );
    std::fs::write(
        &file,
        "in_port=1,actions=drop\nin_port=3,actions=output:1\ntable=254,in_port=2,actions=drop\n",
    )
    .unwrap();
    let out = ofctl(
        &sw,
        &[
            "-O",
            "OpenFlow14",
            "--bundle",
            "add-flows",
            "offbr0",
            s(&file),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // As OVS 3.1: the bundle add of a table-254 flow is refused at once
    // (OFPBRC_EPERM for that flow_mod) and the bundle discarded.
    assert!(
        err.contains("Error OFPBRC_EPERM for: OFPT_FLOW_MOD (OF1.4)") && err.contains("table:254"),
        "{err}"
    );
    let dump = ofctl_ok(&sw, &["dump-flows", "offbr0"]);
    assert_eq!(flows(&dump).len(), 1, "only the flow from before: {dump}");
    std::fs::write(
        &file,
        "in_port=1,actions=drop\nin_port=3,actions=output:1\n",
    )
    .unwrap();
    ofctl_ok(
        &sw,
        &[
            "-O",
            "OpenFlow14",
            "--bundle",
            "add-flows",
            "offbr0",
            s(&file),
        ],
    );
    assert_eq!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).len(), 3);
    ofctl_ok(&sw, &["del-flows", "offbr0"]);

    // OpenFlow 1.3: same flows, 1.3 formatting.
    for f in REF_FLOWS {
        ofctl_ok(&sw, &["-O", "OpenFlow13", "add-flow", "offbr0", f]);
    }
    let dump = ofctl_ok(&sw, &["-O", "OpenFlow13", "dump-flows", "offbr0"]);
    let mut want = vec![
        format!(" {x}, tcp,tp_dst=80 actions=drop"),
        format!(" {x}, tcp,nw_dst=192.168.2.2,tp_dst=80 actions=set_field:25->tcp_dst,NORMAL"),
        format!(" {x}, in_port=2 actions=drop"),
        format!(" {x}, idle_timeout=30, priority=100,ip,nw_src=10.0.0.1 actions=output:2"),
    ];
    want.sort();
    assert_eq!(flows(&dump), want, "{dump}");
    let agg = ofctl_ok(&sw, &["-O", "OpenFlow13", "dump-aggregate", "offbr0"]);
    assert_eq!(
        agg.trim_end(),
        "OFPST_AGGREGATE reply (OF1.3) (xid=0x2): packet_count=0 byte_count=0 flow_count=4"
    );
    ofctl_ok(
        &sw,
        &["-O", "OpenFlow13", "del-flows", "offbr0", "in_port=2"],
    );
    assert_eq!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).len(), 3);
    ofctl_ok(&sw, &["-O", "OpenFlow13", "del-flows", "offbr0"]);
    assert!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).is_empty());

    // A switch-side error: printed with the request, exit 1, nothing added.
    let out = ofctl(
        &sw,
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            "offbr0",
            "table=254,actions=drop",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OFPT_ERROR (OF1.3)"), "{err}");
    assert!(flows(&ofctl_ok(&sw, &["dump-flows", "offbr0"])).is_empty());
}

/// Starts a TCP server on `ip:port` in `host` answering "hi" to every client.
fn tcp_server(host: &Host, ip: &str, port: u16) -> std::process::Child {
    let code = format!(
        "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('{ip}',{port}))\ns.listen(16)\nwhile True:\n c,_=s.accept()\n c.sendall(b'hi')\n c.close()\n"
    );
    Command::new("ip")
        .args(["netns", "exec", &host.ns, "python3", "-c", &code])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Whether `host` can open a TCP connection to `ip:port` and read "hi".
fn tcp_works(host: &Host, ip: &str, port: u16) -> bool {
    let code = format!(
        "import socket\ns=socket.create_connection(('{ip}',{port}),timeout=2)\n\
         assert s.recv(2)==b'hi'\n"
    );
    host.exec(&["python3", "-c", &code]).status.success()
}

#[test]
fn seed_scenario_http_blocked_ping_works() {
    if !usable() || !have("python3") {
        return;
    }
    let sw = Switch::start("ofh");
    let a = Host::new("oxofh-a", "oxofh-a", "10.94.0.1");
    let b = Host::new("oxofh-b", "oxofh-b", "10.94.0.2");
    sw.vsctl(&["add-br", "ofhbr0"]);
    sw.vsctl(&["add-port", "ofhbr0", "oxofh-a"]);
    sw.vsctl(&["add-port", "ofhbr0", "oxofh-b"]);
    // Whatever the default table holds, forward normally.
    assert!(wait_until(10, || ofctl(&sw, &["show", "ofhbr0"])
        .status
        .success()));
    ofctl_ok(&sw, &["add-flow", "ofhbr0", "priority=0,actions=normal"]);
    assert!(a.ping_eventually("10.94.0.2", 10), "ping\n{}", sw.log());
    let mut server = tcp_server(&b, "10.94.0.2", 80);
    assert!(
        wait_until(10, || tcp_works(&a, "10.94.0.2", 80)),
        "TCP 80 before"
    );

    ofctl_ok(&sw, &["add-flow", "ofhbr0", "tcp,tp_dst=80,actions=drop"]);
    assert!(!tcp_works(&a, "10.94.0.2", 80), "TCP 80 must be blocked");
    assert!(a.ping("10.94.0.2", 3), "ping still works");
    let dump = ofctl_ok(&sw, &["dump-flows", "ofhbr0", "tcp,tp_dst=80"]);
    assert!(
        !dump.contains("n_packets=0,"),
        "the drop rule counted packets: {dump}"
    );

    ofctl_ok(&sw, &["del-flows", "ofhbr0", "tcp,tp_dst=80"]);
    assert!(tcp_works(&a, "10.94.0.2", 80), "TCP 80 restored");
    let _ = server.kill();
    let _ = server.wait();
}

/// Starts `ovs-ofctl ARGS` in the background (for `monitor`).
fn ofctl_spawn(sw: &Switch, args: &[&str]) -> std::process::Child {
    Command::new("ovs-ofctl")
        .args(args)
        .envs(sw.env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ovs-ofctl")
}

/// Stops a background ovs-ofctl and returns everything it printed.
fn ofctl_stop(mut child: std::process::Child) -> String {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An ARP request from 02:00:00:00:00:01 (10.10.10.1) for 10.10.10.2.
const ARP_HEX: &str =
    "ffffffffffff020000000001080600010800060400010200000000010a0a0a01000000000000\
                       0a0a0a02";

#[test]
fn monitor_packet_in_flow_removed_and_packet_out() {
    if !usable() {
        return;
    }
    let sw = Switch::start("ofm");
    let a = Host::new("oxofm-a", "oxofm-a", "10.95.0.1");
    sw.vsctl(&["add-br", "ofmbr0"]);
    sw.vsctl(&["add-port", "ofmbr0", "oxofm-a"]);
    assert!(wait_until(10, || ofctl_ok(&sw, &["show", "ofmbr0"])
        .contains(" 1(oxofm-a)")));
    ofctl_ok(&sw, &["del-flows", "ofmbr0"]);
    ofctl_ok(&sw, &["add-flow", "ofmbr0", "in_port=1,actions=controller"]);

    // Three monitors: with a miss_send_len (OF1.0 and OF1.3: packet-in2),
    // and without (a service connection gets no asynchronous message).
    let mon = ofctl_spawn(&sw, &["monitor", "ofmbr0", "65535"]);
    let mon13 = ofctl_spawn(&sw, &["-O", "OpenFlow13", "monitor", "ofmbr0", "65535"]);
    let quiet = ofctl_spawn(&sw, &["monitor", "ofmbr0"]);
    std::thread::sleep(Duration::from_millis(700));
    // An ARP request from the host (ping of an absent address).
    let _ = a.exec(&["ping", "-c", "1", "-W", "1", "10.95.0.9"]);
    // Flow expiry and deletion with send_flow_rem.
    ofctl_ok(
        &sw,
        &[
            "add-flow",
            "ofmbr0",
            "idle_timeout=1,send_flow_rem,in_port=5,actions=drop",
        ],
    );
    ofctl_ok(
        &sw,
        &["add-flow", "ofmbr0", "send_flow_rem,in_port=6,actions=drop"],
    );
    ofctl_ok(&sw, &["del-flows", "ofmbr0", "in_port=6"]);
    assert!(wait_until(10, || !ofctl_ok(&sw, &["dump-flows", "ofmbr0"])
        .contains("in_port=5")));
    std::thread::sleep(Duration::from_millis(300));
    let out = ofctl_stop(mon);
    let out13 = ofctl_stop(mon13);
    let quiet = ofctl_stop(quiet);

    assert!(
        out.contains("NXT_PACKET_IN2 (xid=0x0): cookie=0x0 total_len=42 in_port=1 (via action)"),
        "{out}\n{}",
        sw.log()
    );
    assert!(out.contains("\narp,vlan_tci=0x0000,dl_src="), "{out}");
    assert!(
        out.contains("OFPT_FLOW_REMOVED (xid=0x0): in_port=6 reason=delete"),
        "{out}"
    );
    assert!(
        out.contains("OFPT_FLOW_REMOVED (xid=0x0): in_port=5 reason=idle"),
        "{out}"
    );
    assert!(
        out13.contains("NXT_PACKET_IN2 (OF1.3) (xid=0x0): cookie=0x0 total_len=42"),
        "{out13}"
    );
    assert!(out13.contains("OFPT_FLOW_REMOVED (OF1.3) (xid=0x0): in_port=5 reason=idle"));
    assert!(
        !quiet.contains("PACKET_IN") && !quiet.contains("FLOW_REMOVED"),
        "{quiet}"
    );

    // packet-out: the frame leaves on port 1 (new and legacy syntax, 1.3).
    let rx = a.counter("rx_packets");
    let packet = format!("in_port=LOCAL,packet={ARP_HEX},actions=output:1");
    ofctl_ok(&sw, &["packet-out", "ofmbr0", &packet]);
    assert!(
        wait_until(5, || a.counter("rx_packets") == rx + 1),
        "packet-out arrived"
    );
    ofctl_ok(&sw, &["packet-out", "ofmbr0", "LOCAL", "1", ARP_HEX]);
    ofctl_ok(&sw, &["-O", "OpenFlow13", "packet-out", "ofmbr0", &packet]);
    assert!(
        wait_until(5, || a.counter("rx_packets") == rx + 3),
        "3 packet-outs arrived"
    );
}
