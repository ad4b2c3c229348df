//! `oxvs controller` (issue 5 item 4), end to end: two hosts in network
//! namespaces ping each other through a bridge in `fail_mode=secure` whose
//! table was emptied, so every forwarding decision comes from the
//! controller (packet-ins in its `-v` log, its flows in `ovs-ofctl
//! dump-flows`).
//!
//! Switches: the real Open vSwitch 3.1 (`Ovs` lab, with the controller run
//! inside the lab's namespace) — including a side-by-side check against
//! Debian's `ovs-testcontroller` — and `oxvs daemon` (through a `ptcp:`
//! Controller target the controller connects to, and, once the daemon
//! makes active controller connections, `set-controller br tcp:…`). A
//! switch played by the test itself checks the protocol details (handshake
//! messages, echo, inactivity probe, flow_mod/packet_out contents), and
//! fake switches sending garbage must lose only their own connection.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use openflow::codec;
use openflow::msg::{
    FeaturesReply, Hello, OfpHeader, OfpMessage, PacketIn, NO_BUFFER, OFP13_VERSION,
};
use openflow::{Match, OfpAct};

/// A running `oxvs controller` (inside `netns` if given) logging to a file.
struct Controller {
    child: Child,
    dir: PathBuf,
}

impl Controller {
    fn start(tag: &str, netns: Option<&str>, args: &[&str]) -> Controller {
        let dir = std::env::temp_dir().join(format!("oxvs-ctl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("controller.log")).unwrap();
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, oxvs_bin()]);
                c
            }
            None => Command::new(oxvs_bin()),
        };
        let child = cmd
            .arg("controller")
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn oxvs controller");
        Controller { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("controller.log")).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str) -> bool {
        wait_until(20, || self.log().contains(needle))
    }

    /// The port of its (single) `ptcp:` listener, from the log.
    fn port(&self) -> u16 {
        assert!(self.wait_log("listening on"), "{}", self.log());
        let log = self.log();
        let line = log.lines().find(|l| l.contains("listening on")).unwrap();
        line.rsplit(':').next().unwrap().trim().parse().unwrap()
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        // SAFETY: SIGTERM to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("controller log:\n{}", self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Brings up the loopback of the OVS lab's namespace, where the
/// controller listens.
fn lab_loopback(ovs: &Ovs) {
    ovs.ns_must(&["ip", "link", "set", "lo", "up"]);
}

/// Moves a host's switch-side port into the OVS lab's namespace.
fn attach_to_lab(ovs: &Ovs, h: &Host) {
    must("ip", &["link", "set", &h.port, "netns", &ovs.ns]);
    ovs.ns_must(&["ip", "link", "set", &h.port, "up"]);
}

/// Flow lines of `dump-flows` without counters and ages (comparable).
fn flow_lines(dump: &str) -> Vec<String> {
    let mut v: Vec<String> = dump
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(|l| {
            l.split(", ")
                .filter(|f| {
                    ![
                        "cookie=",
                        "duration=",
                        "n_packets=",
                        "n_bytes=",
                        "idle_age=",
                    ]
                    .iter()
                    .any(|p| f.trim_start().starts_with(p))
                })
                .collect::<Vec<_>>()
                .join(", ")
                .trim()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

/// `ovs-vsctl get …` value without quotes.
fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

/// Checks that the controller switched the hosts' ping: the connection
/// line with the datapath id and version, both MACs learned, and the
/// flows it set up.
fn check_learning(
    ctl: &Controller,
    dpid: &str,
    version: &str,
    hosts: [(&Host, &str); 2],
    flows: &str,
) {
    let log = ctl.log();
    assert!(
        log.contains(&format!("{dpid}: switch connected on tcp:127.0.0.1:"))
            && log.contains(&format!("({version})")),
        "{log}"
    );
    for (h, ofport) in hosts {
        let line = format!("{dpid}: learned that {} is on port {ofport}", h.mac());
        assert!(log.contains(&line), "{line}\n{log}");
    }
    let (a, b) = (hosts[0].0.mac(), hosts[1].0.mac());
    let learned = flow_lines(flows);
    let to_b = format!("dl_src={a},dl_dst={b}");
    let to_a = format!("dl_src={b},dl_dst={a}");
    // OpenFlow 1.0 makes a flow without wildcards the highest priority.
    let has = |dir: &str, out: &str| {
        learned.iter().any(|l| {
            l.contains("idle_timeout=60")
                && (l.contains("priority=1,") || l.contains("priority=65535,"))
                && l.contains(dir)
                && l.ends_with(&format!("actions=output:{out}"))
        })
    };
    assert!(has(&to_b, hosts[1].1), "{flows}");
    assert!(has(&to_a, hosts[0].1), "{flows}");
}

#[test]
fn real_ovs_learning_switch_in_each_version() {
    if !have_root() {
        return;
    }
    let Some(ovs) = Ovs::start("oxct", "1", "ct1br") else {
        return;
    };
    lab_loopback(&ovs);
    ovs.must("ovs-vsctl", &["set-fail-mode", "ct1br", "secure"]);
    let h1 = Host::new("oxct1a", "oxct1a", "10.93.1.1");
    let h2 = Host::new("oxct1b", "oxct1b", "10.93.1.2");
    for h in [&h1, &h2] {
        attach_to_lab(&ovs, h);
        ovs.must("ovs-vsctl", &["add-port", "ct1br", &h.port]);
    }
    let p1 = unquote(&ovs.must("ovs-vsctl", &["get", "interface", "oxct1a", "ofport"]));
    let p2 = unquote(&ovs.must("ovs-vsctl", &["get", "interface", "oxct1b", "ofport"]));
    let dpid = unquote(&ovs.must("ovs-vsctl", &["get", "bridge", "ct1br", "datapath_id"]));
    ovs.must("ovs-ofctl", &["del-flows", "ct1br"]);
    // Without a controller a secure bridge with no flows forwards nothing.
    assert!(!h1.ping(&h2.ip, 1));
    for (args, version) in [
        (&[][..], "OpenFlow15"),
        (&["-O", "OpenFlow13"][..], "OpenFlow13"),
        (&["-O", "OpenFlow10"][..], "OpenFlow10"),
    ] {
        for h in [&h1, &h2] {
            h.must(&["ip", "neigh", "flush", "all"]);
        }
        let mut all = vec!["-v", "ptcp:0:127.0.0.1"];
        all.extend_from_slice(args);
        let ctl = Controller::start("ovs1", Some(&ovs.ns), &all);
        let target = format!("tcp:127.0.0.1:{}", ctl.port());
        ovs.must("ovs-vsctl", &["set-controller", "ct1br", &target]);
        assert!(ctl.wait_log("switch connected"), "{}", ctl.log());
        // Datapath flows cached under the previous controller (OVS keeps a
        // dropping megaflow across a controller change) must not decide.
        ovs.must("ovs-appctl", &["dpctl/del-flows"]);
        assert!(h1.ping_eventually(&h2.ip, 30), "{version}\n{}", ctl.log());
        assert!(h2.ping(&h1.ip, 2), "{version}");
        let flows = ovs.must("ovs-ofctl", &["dump-flows", "ct1br"]);
        check_learning(&ctl, &dpid, version, [(&h1, &p1), (&h2, &p2)], &flows);
        if version != "OpenFlow10" {
            assert!(
                flows.contains("priority=0 actions=CONTROLLER:65535"),
                "{flows}"
            );
        }
        ovs.must("ovs-vsctl", &["del-controller", "ct1br"]);
    }
}

/// The flows `oxvs controller` sets up for the same traffic are those of
/// Debian's `ovs-testcontroller` (learning, hub, `-w`), over OpenFlow 1.3
/// (ovs-testcontroller 3.1's OpenFlow 1.5 packet-outs are refused by OVS,
/// its default negotiation is therefore not compared).
#[test]
fn real_ovs_same_flows_as_ovs_testcontroller() {
    if !have_root() {
        return;
    }
    if !have("ovs-testcontroller") {
        eprintln!("skipping: ovs-testcontroller (openvswitch-testcontroller) not installed");
        return;
    }
    let Some(ovs) = Ovs::start("oxct", "2", "ct2br") else {
        return;
    };
    lab_loopback(&ovs);
    ovs.must("ovs-vsctl", &["set-fail-mode", "ct2br", "secure"]);
    let h1 = Host::new("oxct2a", "oxct2a", "10.93.2.1");
    let h2 = Host::new("oxct2b", "oxct2b", "10.93.2.2");
    for h in [&h1, &h2] {
        attach_to_lab(&ovs, h);
        ovs.must("ovs-vsctl", &["add-port", "ct2br", &h.port]);
    }
    ovs.must("ovs-ofctl", &["del-flows", "ct2br"]);
    let run = |program: &str, args: &[&str]| -> Vec<String> {
        for h in [&h1, &h2] {
            h.must(&["ip", "neigh", "flush", "all"]);
        }
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ovs.ns, program])
            .args(args)
            .arg("ptcp:6653:127.0.0.1")
            // ovs-testcontroller's unixctl socket goes in the lab's run directory.
            .envs(ovs.env())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        ovs.must(
            "ovs-vsctl",
            &["set-controller", "ct2br", "tcp:127.0.0.1:6653"],
        );
        // Connected once its table-miss flow is in.
        assert!(
            wait_until(20, || ovs
                .must("ovs-ofctl", &["dump-flows", "ct2br"])
                .contains("actions=CONTROLLER:")),
            "{program} did not connect"
        );
        ovs.must("ovs-appctl", &["dpctl/del-flows"]);
        assert!(h1.ping_eventually(&h2.ip, 30), "{program} {args:?}");
        let flows = ovs.must("ovs-ofctl", &["dump-flows", "ct2br"]);
        ovs.must("ovs-vsctl", &["del-controller", "ct2br"]);
        // SAFETY: SIGTERM to our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let _ = child.wait();
        flow_lines(&flows)
            .into_iter()
            .filter(|l| !l.contains("actions=CONTROLLER:"))
            .collect()
    };
    for args in [
        &["-O", "OpenFlow13"][..],
        &["-O", "OpenFlow13", "-H"][..],
        &["-O", "OpenFlow13", "-w"][..],
    ] {
        let theirs = run("ovs-testcontroller", args);
        let mut with_controller = vec!["controller"];
        with_controller.extend_from_slice(args);
        let ours = run(oxvs_bin(), &with_controller);
        assert!(!ours.is_empty(), "{args:?}: no flows set up");
        assert_eq!(ours, theirs, "{args:?}");
    }
}

/// `oxvs daemon` as the switch, with a `ptcp:` Controller target that the
/// controller connects to (`oxvs controller tcp:…`).
#[test]
fn oxvs_daemon_through_passive_target() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("ctd");
    let h1 = Host::new("oxctda", "oxctda", "10.93.3.1");
    let h2 = Host::new("oxctdb", "oxctdb", "10.93.3.2");
    sw.vsctl(&[
        "add-br",
        "ctdbr0",
        "--",
        "set-fail-mode",
        "ctdbr0",
        "secure",
    ]);
    sw.vsctl(&["add-port", "ctdbr0", "oxctda"]);
    sw.vsctl(&["add-port", "ctdbr0", "oxctdb"]);
    let p1 = unquote(&sw.vsctl(&["get", "interface", "oxctda", "ofport"]));
    let p2 = unquote(&sw.vsctl(&["get", "interface", "oxctdb", "ofport"]));
    let dpid = unquote(&sw.vsctl(&["get", "bridge", "ctdbr0", "datapath_id"]));
    let port = free_port();
    sw.vsctl(&[
        "set-controller",
        "ctdbr0",
        &format!("ptcp:{port}:127.0.0.1"),
    ]);
    assert!(wait_until(20, || TcpStream::connect(("127.0.0.1", port)).is_ok()));
    let flows_file = std::env::temp_dir().join(format!("oxvs-ctd-flows-{}", std::process::id()));
    std::fs::write(&flows_file, "priority=50,udp,tp_dst=9,actions=drop\n").unwrap();
    let target = format!("tcp:127.0.0.1:{port}");
    let dump = || -> String {
        let out = if have("ovs-ofctl") {
            Command::new("ovs-ofctl")
                .args(["-O", "OpenFlow13", "dump-flows", "ctdbr0"])
                .envs(sw.env())
                .output()
                .unwrap()
        } else {
            sw.oxvs("ofctl", &["-O", "OpenFlow13", "dump-flows", "ctdbr0"])
        };
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let del_flows = || {
        let out = sw.oxvs("ofctl", &["del-flows", "ctdbr0"]);
        assert!(out.status.success());
    };

    for (args, version) in [
        (&[][..], "OpenFlow15"),
        (&["-O", "OpenFlow13"][..], "OpenFlow13"),
        (&["-O", "OpenFlow10"][..], "OpenFlow10"),
    ] {
        del_flows();
        for h in [&h1, &h2] {
            h.must(&["ip", "neigh", "flush", "all"]);
        }
        let mut all = vec!["-v", &target];
        all.extend_from_slice(args);
        let with_flows = format!("--with-flows={}", flows_file.display());
        all.push(&with_flows);
        let ctl = Controller::start("ctd", None, &all);
        assert!(ctl.wait_log("switch connected"), "{}", ctl.log());
        assert!(
            h1.ping_eventually(&h2.ip, 30),
            "{version}\n{}\n{}",
            ctl.log(),
            sw.log()
        );
        assert!(h2.ping(&h1.ip, 2), "{version}");
        let flows = dump();
        check_learning(&ctl, &dpid, version, [(&h1, &p1), (&h2, &p2)], &flows);
        assert!(
            flows.contains("priority=50,udp,tp_dst=9 actions=drop"),
            "{flows}"
        );
    }

    // A hub that sets up no flows: every packet goes through the controller.
    del_flows();
    let ctl = Controller::start(
        "ctd",
        None,
        &["-v", "-H", "-n", "-O", "OpenFlow13", &target],
    );
    assert!(ctl.wait_log("switch connected"), "{}", ctl.log());
    assert!(h1.ping_eventually(&h2.ip, 30), "{}", ctl.log());
    assert!(h2.ping(&h1.ip, 3));
    let flows = flow_lines(&dump());
    assert_eq!(
        flows,
        vec!["table=0, priority=0 actions=CONTROLLER:65535".to_string()],
        "only the table-miss flow"
    );
    assert!(!ctl.log().contains("learned that"), "{}", ctl.log());
    let _ = std::fs::remove_file(&flows_file);
}

/// `oxvs daemon` connecting to the controller (`set-controller br
/// tcp:IP:PORT`, the usual deployment).
#[test]
fn oxvs_daemon_connects_to_the_controller() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("cta");
    let h1 = Host::new("oxctaa", "oxctaa", "10.93.4.1");
    let h2 = Host::new("oxctab", "oxctab", "10.93.4.2");
    sw.vsctl(&[
        "add-br",
        "ctabr0",
        "--",
        "set-fail-mode",
        "ctabr0",
        "secure",
    ]);
    sw.vsctl(&["add-port", "ctabr0", "oxctaa"]);
    sw.vsctl(&["add-port", "ctabr0", "oxctab"]);
    let p1 = unquote(&sw.vsctl(&["get", "interface", "oxctaa", "ofport"]));
    let p2 = unquote(&sw.vsctl(&["get", "interface", "oxctab", "ofport"]));
    let dpid = unquote(&sw.vsctl(&["get", "bridge", "ctabr0", "datapath_id"]));
    let out = sw.oxvs("ofctl", &["del-flows", "ctabr0"]);
    assert!(out.status.success());
    let ctl = Controller::start("cta", None, &["-v", "-O", "OpenFlow13", "ptcp:0:127.0.0.1"]);
    let target = format!("tcp:127.0.0.1:{}", ctl.port());
    sw.vsctl(&["set-controller", "ctabr0", &target]);
    assert!(
        ctl.wait_log("switch connected"),
        "{}\n{}",
        ctl.log(),
        sw.log()
    );
    assert!(
        h1.ping_eventually(&h2.ip, 30),
        "{}\n{}",
        ctl.log(),
        sw.log()
    );
    assert!(h2.ping(&h1.ip, 2));
    let out = sw.oxvs("ofctl", &["-O", "OpenFlow13", "dump-flows", "ctabr0"]);
    let flows = String::from_utf8_lossy(&out.stdout).into_owned();
    check_learning(&ctl, &dpid, "OpenFlow13", [(&h1, &p1), (&h2, &p2)], &flows);
}

// ---- a switch played by the test ----

/// Sends `msg` as wire `version`.
fn send(s: &mut TcpStream, version: u8, xid: u32, msg: &OfpMessage) {
    s.write_all(&codec::encode(version, xid, msg)).unwrap();
}

/// Receives one message (panics after 10 s of silence or on EOF).
fn recv(s: &mut TcpStream) -> (OfpHeader, OfpMessage) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut hdr = [0u8; 8];
    s.read_exact(&mut hdr).expect("message from the controller");
    let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
    let mut bytes = hdr.to_vec();
    bytes.resize(len, 0);
    s.read_exact(&mut bytes[8..]).unwrap();
    codec::decode(&bytes).unwrap()
}

/// Receives the next message that is not an echo request (those are
/// answered: the inactivity probe may fire on a slow machine).
fn recv_data(s: &mut TcpStream) -> (OfpHeader, OfpMessage) {
    loop {
        match recv(s) {
            (h, OfpMessage::EchoRequest(p)) => send(s, h.version, h.xid, &OfpMessage::EchoReply(p)),
            other => return other,
        }
    }
}

/// Whether the controller closes the connection (EOF, or a reset) within
/// 10 s; everything received before is returned.
fn closed_by_peer(s: &mut TcpStream) -> (bool, Vec<u8>) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (true, got),
            Err(_) => return (false, got),
        }
    }
}

/// An OpenFlow 1.3 switch connecting to the controller: HELLO exchange,
/// then the three handshake messages are checked and answered.
fn fake_switch(port: u16, dpid: u64) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (h, m) = recv(&mut s);
    let OfpMessage::Hello(hello) = m else {
        panic!("{m:?}")
    };
    assert_eq!(
        codec::negotiate(1 << OFP13_VERSION, h.version, &hello),
        Ok(4)
    );
    send(
        &mut s,
        OFP13_VERSION,
        1,
        &OfpMessage::Hello(Hello {
            version_bitmap: Some(1 << OFP13_VERSION),
        }),
    );
    let (fx, m) = recv_data(&mut s);
    assert_eq!(m, OfpMessage::FeaturesRequest);
    let (_, m) = recv_data(&mut s);
    assert!(
        matches!(&m, OfpMessage::SetConfig(c) if c.miss_send_len == 0xffff),
        "{m:?}"
    );
    let (_, m) = recv_data(&mut s);
    let OfpMessage::FlowMod(miss) = m else {
        panic!("{m:?}")
    };
    assert_eq!(miss.priority, 0);
    assert!(miss.match_.is_catchall());
    // output:CONTROLLER, which the codec reads back as a controller action.
    assert!(
        matches!(
            &miss.ofpacts[..],
            [OfpAct::Controller {
                max_len: 0xffff,
                ..
            }]
        ),
        "{:?}",
        miss.ofpacts
    );
    send(
        &mut s,
        OFP13_VERSION,
        fx.xid,
        &OfpMessage::FeaturesReply(FeaturesReply {
            datapath_id: dpid,
            n_tables: 254,
            ..FeaturesReply::default()
        }),
    );
    s
}

fn frame(src: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
    // An ARP request (broadcast) or reply, 42 bytes.
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[10, 0, 0, 1]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&[10, 0, 0, 2]);
    f
}

fn packet_in(in_port: u16, data: Vec<u8>) -> OfpMessage {
    let mut metadata = Match::catchall();
    metadata.set(openflow::Field::InPort, in_port.into());
    OfpMessage::PacketIn(PacketIn {
        buffer_id: NO_BUFFER,
        total_len: data.len() as u32,
        reason: openflow::actions::OFPR_NO_MATCH,
        table_id: 0,
        cookie: 0,
        metadata,
        data,
        userdata: None,
    })
}

#[test]
fn protocol_with_a_scripted_switch_echo_and_inactivity_probe() {
    let ctl = Controller::start(
        "proto",
        None,
        &["-v", "--inactivity-probe=1", "ptcp:0:127.0.0.1"],
    );
    let mut s = fake_switch(ctl.port(), 0xabc);
    assert!(ctl.wait_log("0000000000000abc: switch connected on tcp:127.0.0.1:"));

    // Echo request → reply with the same xid and payload.
    send(&mut s, 4, 77, &OfpMessage::EchoRequest(b"ping".to_vec()));
    let (h, m) = recv_data(&mut s);
    assert_eq!((h.xid, m), (77, OfpMessage::EchoReply(b"ping".to_vec())));

    // An error from the switch is logged.
    send(
        &mut s,
        4,
        9,
        &OfpMessage::Error(openflow::msg::ErrorMsg {
            error: openflow::OfpError::BAD_REQUEST_BAD_TYPE,
            data: Vec::new(),
        }),
    );
    assert!(
        ctl.wait_log("switch sent error OFPBRC_BAD_TYPE"),
        "{}",
        ctl.log()
    );

    // A broadcast from port 3: flooded, no flow.
    let (a, b) = ([2, 0, 0, 0, 0, 0xa], [2, 0, 0, 0, 0, 0xb]);
    send(&mut s, 4, 0, &packet_in(3, frame(a, [0xff; 6])));
    let (_, m) = recv_data(&mut s);
    let OfpMessage::PacketOut(po) = m else {
        panic!("{m:?}")
    };
    assert_eq!(po.in_port, 3);
    assert_eq!(po.data, frame(a, [0xff; 6]));
    assert_eq!(
        po.ofpacts,
        vec![OfpAct::Output {
            port: openflow::port::OFPP_FLOOD,
            max_len: 0
        }]
    );
    // The answer from port 4 to the learned address: an exact flow and the packet.
    send(&mut s, 4, 0, &packet_in(4, frame(b, a)));
    let (_, m) = recv_data(&mut s);
    let OfpMessage::FlowMod(fm) = m else {
        panic!("{m:?}")
    };
    assert_eq!((fm.priority, fm.idle_timeout, fm.table_id), (1, 60, 0));
    assert_eq!(fm.match_.exact(openflow::Field::InPort), Some(4));
    assert_eq!(fm.match_.exact(openflow::Field::EthType), Some(0x0806));
    assert_eq!(fm.match_.get(openflow::Field::ArpOp).0, 1);
    assert!(fm.match_.is_set(openflow::Field::ArpOp));
    let out3 = vec![OfpAct::Output {
        port: 3,
        max_len: 0,
    }];
    assert_eq!(fm.ofpacts, out3);
    let (_, m) = recv_data(&mut s);
    assert!(matches!(&m, OfpMessage::PacketOut(p) if p.ofpacts == out3 && p.in_port == 4));
    assert!(ctl.wait_log("0000000000000abc: learned that 02:00:00:00:00:0a is on port 3"));
    assert!(ctl.wait_log("0000000000000abc: learned that 02:00:00:00:00:0b is on port 4"));

    // Silence: an echo request after the probe interval, then the
    // controller gives up on a switch that does not answer it.
    let (_, m) = recv(&mut s);
    assert!(matches!(m, OfpMessage::EchoRequest(_)), "{m:?}");
    let (closed, _) = closed_by_peer(&mut s);
    assert!(closed, "{}", ctl.log());
    assert!(
        ctl.wait_log("no response to inactivity probe"),
        "{}",
        ctl.log()
    );
}

/// `--mute`: the handshake is sent, then nothing is answered. The
/// controller's own inactivity probe is the first message after the
/// switch's echo request and packet-in, so neither got a reply.
#[test]
fn mute_answers_nothing() {
    let ctl = Controller::start(
        "mute",
        None,
        &["-v", "--mute", "--inactivity-probe=1", "ptcp:0:127.0.0.1"],
    );
    let mut s = fake_switch(ctl.port(), 0xdef);
    send(&mut s, 4, 500, &OfpMessage::EchoRequest(Vec::new()));
    let a = [2, 0, 0, 0, 0, 0xa];
    send(&mut s, 4, 0, &packet_in(3, frame(a, [0xff; 6])));
    let (h, m) = recv(&mut s);
    assert!(
        matches!(m, OfpMessage::EchoRequest(_)) && h.xid != 500,
        "{m:?}"
    );
    assert!(!ctl.log().contains("learned that"), "{}", ctl.log());
}

/// Switches that send garbage lose their own connection (with a log
/// line); the controller keeps serving the real switch, which still needs
/// it for new flows.
#[test]
fn garbage_from_a_switch_drops_only_that_connection() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("ctg");
    let h1 = Host::new("oxctga", "oxctga", "10.93.5.1");
    let h2 = Host::new("oxctgb", "oxctgb", "10.93.5.2");
    sw.vsctl(&[
        "add-br",
        "ctgbr0",
        "--",
        "set-fail-mode",
        "ctgbr0",
        "secure",
    ]);
    sw.vsctl(&["add-port", "ctgbr0", "oxctga"]);
    sw.vsctl(&["add-port", "ctgbr0", "oxctgb"]);
    let port = free_port();
    sw.vsctl(&[
        "set-controller",
        "ctgbr0",
        &format!("ptcp:{port}:127.0.0.1"),
    ]);
    assert!(wait_until(20, || TcpStream::connect(("127.0.0.1", port)).is_ok()));
    let del_flows = || assert!(sw.oxvs("ofctl", &["del-flows", "ctgbr0"]).status.success());
    del_flows();
    // OpenFlow 1.0: misses go to the controller without a table-miss flow,
    // so emptying the table later hands every decision back to it.
    let mut ctl = Controller::start(
        "ctg",
        None,
        &[
            "-v",
            "-O",
            "OpenFlow10",
            &format!("tcp:127.0.0.1:{port}"),
            "ptcp:0:127.0.0.1",
        ],
    );
    let listen = ctl.port();
    assert!(ctl.wait_log("switch connected"), "{}", ctl.log());
    assert!(
        h1.ping_eventually(&h2.ip, 30),
        "{}\n{}",
        ctl.log(),
        sw.log()
    );

    let connect = || {
        let mut s = TcpStream::connect(("127.0.0.1", listen)).unwrap();
        let (h, m) = recv(&mut s);
        assert!(matches!(m, OfpMessage::Hello(_)) && h.version == 1);
        s
    };
    let hello10 = codec::encode(1, 1, &OfpMessage::Hello(Hello::default()));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "length below the header",
            vec![1, 0, 0, 4, 0, 0, 0, 1],
            "shorter than the 8-byte header",
        ),
        (
            "no HELLO first",
            codec::encode(1, 5, &OfpMessage::FeaturesRequest),
            "while expecting HELLO",
        ),
        (
            "message in another version",
            // An OpenFlow 1.3 BARRIER_REPLY on an OpenFlow 1.0 connection.
            [hello10.clone(), vec![4, 21, 0, 8, 0, 0, 0, 6]].concat(),
            "received OpenFlow version 0x04 != expected 0x01",
        ),
        (
            "truncated packet-in",
            [hello10.clone(), vec![1, 10, 0, 12, 0, 0, 0, 7, 0, 0, 0, 0]].concat(),
            "undecodable message type 10",
        ),
        (
            "no common version",
            codec::encode(
                2,
                1,
                &OfpMessage::Hello(Hello {
                    version_bitmap: Some(1 << 2),
                }),
            ),
            "version negotiation failed",
        ),
    ];
    for (what, bytes, log) in &cases {
        let mut s = connect();
        s.write_all(bytes).unwrap();
        let (closed, got) = closed_by_peer(&mut s);
        assert!(closed, "{what}: connection not closed\n{}", ctl.log());
        assert!(ctl.wait_log(log), "{what}: {log}\n{}", ctl.log());
        if *what == "no common version" {
            // OFPT_ERROR HELLO_FAILED/INCOMPATIBLE before the close.
            assert!(got.len() > 12 && got[1] == 1, "{got:?}");
            assert_eq!(&got[8..12], &[0, 0, 0, 0]);
        }
    }
    // A long stream of pseudo-random bytes after a valid HELLO.
    let mut s = connect();
    s.write_all(&hello10).unwrap();
    let mut x: u32 = 0x1234_5678;
    let noise: Vec<u8> = (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let _ = s.write_all(&noise);
    let (closed, _) = closed_by_peer(&mut s);
    assert!(closed, "noise: connection not closed\n{}", ctl.log());

    // The controller lives on and still switches for the real bridge: with
    // the table emptied, traffic needs it again, and its flows come back.
    assert!(ctl.running(), "{}", ctl.log());
    del_flows();
    for h in [&h1, &h2] {
        h.must(&["ip", "neigh", "flush", "all"]);
    }
    assert!(
        h1.ping_eventually(&h2.ip, 30),
        "{}\n{}",
        ctl.log(),
        sw.log()
    );
    let out = sw.oxvs("ofctl", &["dump-flows", "ctgbr0"]);
    let flows = String::from_utf8_lossy(&out.stdout);
    assert!(
        flows.contains(&format!("dl_src={},dl_dst={}", h1.mac(), h2.mac())),
        "{flows}"
    );
}

#[test]
fn bad_command_lines_are_refused() {
    let dir = std::env::temp_dir().join(format!("oxvs-ctl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_flows = dir.join("flows");
    std::fs::write(
        &bad_flows,
        "priority=1,actions=drop\nin_port=1,bogus=3,actions=drop\n",
    )
    .unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_method = format!("ptcp:{}:127.0.0.1", busy.local_addr().unwrap().port());
    let with_flows = format!("--with-flows={}", bad_flows.display());
    for (args, err) in [
        (
            vec!["--max-idle=0"],
            "--max-idle argument must be between 1 and 65535",
        ),
        (vec!["ssl:127.0.0.1:6653"], "SSL is not supported"),
        (
            vec!["bogus:1"],
            "bogus:1: unknown or malformed connection method",
        ),
        (vec!["-O", "OpenFlow99"], "Unknown OpenFlow version"),
        (vec![with_flows.as_str()], "flows:2: unknown keyword bogus"),
        (vec!["--frobnicate"], "unrecognized option '--frobnicate'"),
        (vec![busy_method.as_str()], "listen failed"),
        (vec!["tcp:127.0.0.1:1"], ""),
    ] {
        let out = Command::new(oxvs_bin())
            .arg("controller")
            .args(&args)
            .env("OVS_RUNDIR", &dir)
            .env("OVS_LOGDIR", &dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if err.is_empty() {
            // Nothing to connect to and nothing to listen on: it ends.
            assert!(stderr.contains("connect failed"), "{args:?}: {stderr}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(stderr.contains(err), "{args:?}: {stderr}");
        }
    }
    drop(busy);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn detach_and_pidfile() {
    let dir = std::env::temp_dir().join(format!("oxvs-ctl-det-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("c.pid");
    let out = Command::new(oxvs_bin())
        .arg("controller")
        .arg("--detach")
        .arg(format!("--pidfile={}", pidfile.display()))
        .arg("-v")
        .arg("ptcp:0:127.0.0.1")
        .env("OVS_RUNDIR", &dir)
        .env("OVS_LOGDIR", &dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = vswitchd::pidfile::read_pidfile(&pidfile).expect("locked pid file");
    let log = std::fs::read_to_string(dir.join("oxvs-controller.log")).unwrap();
    assert!(log.contains("listening on 127.0.0.1:"), "{log}");
    // SAFETY: SIGTERM to the daemon this test started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert!(wait_until(10, || !pidfile.exists()), "pid file left behind");
    let _ = std::fs::remove_dir_all(&dir);
}
