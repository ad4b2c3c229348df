//! Controllers end to end (issue 5, items 1 and 3 and the bad-input rules):
//! `oxvs daemon` connecting out to OpenFlow controllers set with
//! `set-controller BR tcp:…`/`ssl:…`, two hosts in network namespaces
//! pinging through the bridge.
//!
//! The controllers are small ones written here, speaking OpenFlow with the
//! `openflow` crate's codec on real TCP sockets (a hub that floods every
//! packet-in, a "wire" that installs two flows, one that sends garbage, one
//! that stops reading, one that accepts and hangs up, one that never
//! answers echo requests), and Debian's `ovs-testcontroller` for TLS with
//! `ovs-pki` certificates. Each test checks what the switch writes in the
//! Controller row (`is_connected`, `role`, `status`), what the controllers
//! receive, and forwarding: a standalone bridge falls back to a learning
//! switch (fail-open) when its controller goes away and hands back to the
//! controller when it returns; a secure bridge keeps its flows and adds
//! none.
//!
//! Timing: OVS's inactivity probe is at least 5 s, so fail-open starts
//! 15 s after the controller is lost; waits are polls with generous bounds,
//! never assertions on how fast something happened (except lower bounds of
//! the reconnection backoff, which load can only lengthen).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{have, have_root, run, s, wait_until, Host, Switch};
use openflow::codec;
use openflow::msg::*;
use openflow::port::{OFPP_CONTROLLER, OFPP_FLOOD};
use openflow::{Field, Match, OfpAct, OfpError};

/// What a test controller does with its sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// OpenFlow 1.3: installs the table-miss flow `priority=0
    /// actions=CONTROLLER:65535` and floods every packet-in back out with a
    /// packet-out (a hub: traffic flows only through the controller).
    Hub13,
    /// OpenFlow 1.0, no flow at first (table misses come as packet-ins);
    /// on the first packet-in installs `in_port=A,actions=output:B` and the
    /// reverse, and floods that packet.
    Wire10 { a: u16, b: u16 },
    /// After the hello exchange: a message of an unknown type, then a
    /// header whose length is below 8.
    Garbage,
    /// Completes hello and features, then never reads again.
    Deaf,
    /// Reads everything and answers nothing (not even echo requests).
    Mute,
    /// Reads the switch's HELLO and hangs up.
    HangUp,
}

/// What a test controller saw.
#[derive(Default, Debug)]
struct Seen {
    /// When each connection was accepted.
    accepts: Vec<Instant>,
    /// Packet-ins received.
    packet_ins: Vec<PacketIn>,
    /// OFPT_ERRORs received.
    errors: Vec<OfpError>,
    /// Echo requests received.
    echo_requests: usize,
    /// Sessions the switch closed (EOF seen).
    closed_by_switch: usize,
    /// Features replies received.
    features: usize,
}

/// A controller listening on 127.0.0.1 (see [`Mode`]).
struct TestController {
    port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestController {
    fn start(mode: Mode) -> TestController {
        Self::start_on(0, mode)
    }

    /// Listens on `port` (0: any free port).
    fn start_on(port: u16, mode: Mode) -> TestController {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (st, sn) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let mut sessions = Vec::new();
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((sock, _)) => {
                        sn.lock().unwrap().accepts.push(Instant::now());
                        if mode == Mode::HangUp {
                            // Read the switch's HELLO first: closing with
                            // unread data would reset the connection.
                            let mut sock = sock;
                            let _ = sock.set_nonblocking(false);
                            let _ = sock.set_read_timeout(Some(Duration::from_secs(1)));
                            let _ = sock.read(&mut [0u8; 64]);
                            drop(sock);
                            continue;
                        }
                        let (st, sn) = (st.clone(), sn.clone());
                        sessions.push(std::thread::spawn(move || session(sock, mode, &st, &sn)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            for s in sessions {
                let _ = s.join();
            }
        });
        TestController {
            port,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn target(&self) -> String {
        format!("tcp:127.0.0.1:{}", self.port)
    }

    fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap())
    }

    /// Stops listening and closes every session (the controller dies).
    fn kill(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestController {
    fn drop(&mut self) {
        self.kill();
    }
}

fn send(sock: &mut TcpStream, version: u8, xid: u32, m: &OfpMessage) -> bool {
    sock.write_all(&codec::encode(version, xid, m)).is_ok()
}

/// One controller session: HELLO for the mode's version, then messages
/// handled as the mode says until the switch closes or the test stops.
fn session(mut sock: TcpStream, mode: Mode, stop: &AtomicBool, seen: &Mutex<Seen>) {
    let _ = sock.set_nodelay(true);
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    let version = match mode {
        Mode::Wire10 { .. } => OFP10_VERSION,
        _ => OFP13_VERSION,
    };
    if sock
        .write_all(&ofproto::connmgr::wire::encode_hello(1 << version, 1))
        .is_err()
    {
        return;
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut tmp = vec![0u8; 65536];
    let mut xid = 100;
    let mut wired = false;
    let mut deaf = false;
    while !stop.load(Ordering::Relaxed) {
        if deaf {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        match sock.read(&mut tmp) {
            Ok(0) => {
                seen.lock().unwrap().closed_by_switch += 1;
                return;
            }
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => {
                seen.lock().unwrap().closed_by_switch += 1;
                return;
            }
        }
        while let Some(len) = codec::message_len(&buf).filter(|l| *l >= 8 && buf.len() >= *l) {
            let raw: Vec<u8> = buf.drain(..len).collect();
            let Ok((h, m)) = codec::decode(&raw) else {
                continue;
            };
            xid += 1;
            let ok = match m {
                OfpMessage::Hello(_) => match mode {
                    Mode::Garbage => {
                        // An unknown message type, then lost framing.
                        let _ = sock.write_all(&[version, 0xee, 0, 8, 0, 0, 0, 7]);
                        std::thread::sleep(Duration::from_millis(100));
                        sock.write_all(&[version, 0, 0, 3, 0, 0, 0, 8]).is_ok()
                    }
                    Mode::Mute => true,
                    _ => {
                        let mut ok = send(&mut sock, version, xid, &OfpMessage::FeaturesRequest)
                            && send(
                                &mut sock,
                                version,
                                xid + 1,
                                &OfpMessage::SetConfig(SwitchConfig {
                                    flags: 0,
                                    miss_send_len: 0xffff,
                                }),
                            );
                        if mode == Mode::Hub13 {
                            let fm = FlowMod {
                                priority: 0,
                                ofpacts: vec![OfpAct::Output {
                                    port: OFPP_CONTROLLER,
                                    max_len: 0xffff,
                                }],
                                ..FlowMod::default()
                            };
                            ok &= send(&mut sock, version, xid + 2, &OfpMessage::FlowMod(fm));
                        }
                        xid += 2;
                        ok
                    }
                },
                OfpMessage::EchoRequest(d) => {
                    seen.lock().unwrap().echo_requests += 1;
                    mode == Mode::Mute || send(&mut sock, version, h.xid, &OfpMessage::EchoReply(d))
                }
                OfpMessage::FeaturesReply(_) => {
                    seen.lock().unwrap().features += 1;
                    if mode == Mode::Deaf {
                        deaf = true;
                    }
                    true
                }
                OfpMessage::Error(e) => {
                    seen.lock().unwrap().errors.push(e.error);
                    true
                }
                OfpMessage::PacketIn(pi) => {
                    let in_port = pi.metadata.flow.in_port();
                    let data = pi.data.clone();
                    seen.lock().unwrap().packet_ins.push(pi);
                    let mut ok = true;
                    if let Mode::Wire10 { a, b } = mode {
                        if !wired {
                            wired = true;
                            for (from, to) in [(a, b), (b, a)] {
                                let mut m = Match::catchall();
                                m.set(Field::InPort, u128::from(from));
                                let fm = FlowMod {
                                    match_: m,
                                    ofpacts: vec![OfpAct::Output {
                                        port: to,
                                        max_len: 0,
                                    }],
                                    ..FlowMod::default()
                                };
                                ok &= send(&mut sock, version, xid, &OfpMessage::FlowMod(fm));
                            }
                        }
                    }
                    if matches!(mode, Mode::Hub13 | Mode::Wire10 { .. }) {
                        let po = PacketOut {
                            buffer_id: NO_BUFFER,
                            in_port,
                            ofpacts: vec![OfpAct::Output {
                                port: OFPP_FLOOD,
                                max_len: 0,
                            }],
                            data,
                        };
                        ok &= send(&mut sock, version, xid, &OfpMessage::PacketOut(po));
                    }
                    ok
                }
                _ => true,
            };
            if !ok {
                return;
            }
        }
    }
    let _ = sock.shutdown(Shutdown::Both);
}

/// A switch with bridge `br` and two hosts on it (10.<net>.0.1 and .2).
struct Lab {
    sw: Switch,
    br: String,
    h1: Host,
    h2: Host,
}

impl Lab {
    /// `tag`: 2-3 characters, unique per test (names are tag-prefixed).
    fn new(tag: &str, net: u8) -> Lab {
        let sw = Switch::start(&format!("ctls-{tag}"));
        let br = format!("{tag}br");
        let h1 = Host::new(
            &format!("{tag}h1"),
            &format!("{tag}p1"),
            &format!("10.{net}.0.1"),
        );
        let h2 = Host::new(
            &format!("{tag}h2"),
            &format!("{tag}p2"),
            &format!("10.{net}.0.2"),
        );
        sw.vsctl(&[
            "add-br", &br, "--", "add-port", &br, &h1.port, "--", "add-port", &br, &h2.port,
        ]);
        Lab { sw, br, h1, h2 }
    }

    fn ofport(&self, port: &str) -> u16 {
        self.sw
            .vsctl(&["get", "Interface", port, "ofport"])
            .trim()
            .parse()
            .unwrap()
    }

    /// `Controller` column of the row with `target`.
    fn controller(&self, target: &str, column: &str) -> String {
        let uuid = self.sw.vsctl(&[
            "--bare",
            "--columns=_uuid",
            "find",
            "Controller",
            &format!("target=\"{target}\""),
        ]);
        let out = self
            .sw
            .oxvs("vsctl", &["get", "Controller", uuid.trim(), column]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn connected(&self, target: &str) -> bool {
        self.controller(target, "is_connected") == "true"
    }

    fn flows(&self) -> String {
        let out = self.sw.oxvs("ofctl", &["dump-flows", &self.br]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn trace(&self) -> String {
        self.sw.appctl(&["ofproto/trace", &self.br, "in_port=1"])
    }

    /// One ping from h1 to h2 answered.
    fn ping(&self) -> bool {
        self.h1.ping(&self.h2.ip, 2)
    }
}

/// OpenFlow 1.3 controller at work, status in the database, then lost
/// (standalone: fail-open after three probe intervals, learning switch)
/// and back (fail-open ends, its table-miss flow rules again).
#[test]
fn standalone_bridge_fails_open_and_hands_back_to_its_controller() {
    if !have_root() {
        return;
    }
    let lab = Lab::new("cta", 81);
    assert!(lab.ping(), "no controller: NORMAL");
    let mut ctl = TestController::start(Mode::Hub13);
    let target = ctl.target();
    lab.sw.vsctl(&["set-controller", &lab.br, &target]);
    assert!(
        wait_until(20, || lab.connected(&target)),
        "{}",
        lab.sw.log()
    );
    assert_eq!(lab.controller(&target, "role"), "other");
    assert_eq!(lab.controller(&target, "status:state"), "ACTIVE");
    // The first controller flushed the NORMAL flow; its table-miss flow
    // sends everything to it, and it floods: ping works through it.
    assert!(wait_until(10, || lab
        .flows()
        .contains("actions=CONTROLLER")));
    assert!(!lab.flows().contains("NORMAL"), "{}", lab.flows());
    assert!(lab.h1.ping_eventually(&lab.h2.ip, 10));
    let n = ctl.seen(|s| s.packet_ins.len());
    assert!(n > 0);
    ctl.seen(|s| {
        let pi = &s.packet_ins[0];
        assert_eq!(
            pi.reason, 0,
            "a table-miss flow's packet-in is OFPR_NO_MATCH (1.3)"
        );
        assert_eq!(pi.table_id, 0);
        assert!(matches!(pi.metadata.flow.in_port(), 1 | 2));
    });

    // Killed: disconnected (the session ends at once), then fail-open.
    ctl.kill();
    assert!(wait_until(10, || !lab.connected(&target)));
    assert!(wait_until(10, || lab.controller(&target, "status:state") != "ACTIVE"));
    assert!(
        lab.h1.ping_eventually(&lab.h2.ip, 40),
        "standalone: learning switch after the probe window\n{}",
        lab.sw.log()
    );
    assert!(
        lab.trace().contains(" 0. priority 15790320"),
        "{}",
        lab.trace()
    );
    assert!(
        !lab.flows().contains("CONTROLLER"),
        "entering fail-open flushed the flows: {}",
        lab.flows()
    );
    let log = lab.sw.log();
    assert!(log.contains("failing open"), "{log}");

    // Back on the same port: reconnects within the backoff, fail-open ends,
    // the controller's flow rules again.
    let ctl = TestController::start_on(ctl.port, Mode::Hub13);
    assert!(
        wait_until(30, || lab.connected(&target)),
        "{}",
        lab.sw.log()
    );
    assert!(wait_until(10, || !lab.trace().contains("15790320")));
    assert!(wait_until(10, || lab
        .flows()
        .contains("actions=CONTROLLER")));
    assert!(lab.h1.ping_eventually(&lab.h2.ip, 10));
    assert!(ctl.seen(|s| s.packet_ins.len()) > 0, "packet-ins again");
    assert!(lab.sw.log().contains("No longer in fail-open mode"));
    let status = lab.controller(&target, "status");
    assert!(status.contains("sec_since_disconnect"), "{status}");
}

/// OpenFlow 1.0 controller on a secure bridge: table misses reach it, its
/// flows forward; lost, the bridge keeps exactly its flows and never fails
/// open; emptied, it drops; the controller back, its flows rule.
#[test]
fn secure_bridge_keeps_only_its_flows() {
    if !have_root() {
        return;
    }
    let lab = Lab::new("ctb", 82);
    lab.sw.vsctl(&["set-fail-mode", &lab.br, "secure"]);
    assert!(
        wait_until(10, || !lab.flows().contains("NORMAL")),
        "secure without controllers: no flow"
    );
    assert!(!lab.ping(), "secure, no flows: drop");
    let (a, b) = (lab.ofport(&lab.h1.port), lab.ofport(&lab.h2.port));
    let mut ctl = TestController::start(Mode::Wire10 { a, b });
    let target = ctl.target();
    lab.sw.vsctl(&["set-controller", &lab.br, &target]);
    assert!(wait_until(20, || lab.connected(&target)));
    assert!(lab.h1.ping_eventually(&lab.h2.ip, 10), "{}", lab.sw.log());
    ctl.seen(|s| {
        assert!(!s.packet_ins.is_empty());
        assert_eq!(s.packet_ins[0].reason, 0, "OF1.0 table miss: OFPR_NO_MATCH");
        assert_eq!(s.features, 1);
    });
    let flows = lab.flows();
    assert!(
        flows.contains(&format!("in_port={a} actions=output:{b}")),
        "{flows}"
    );

    ctl.kill();
    assert!(wait_until(10, || !lab.connected(&target)));
    // Past the fail-open window: still exactly the controller's flows.
    std::thread::sleep(Duration::from_secs(17));
    assert_eq!(lab.flows().lines().count(), 3, "{}", lab.flows());
    assert!(!lab.trace().contains("15790320"));
    assert!(lab.ping(), "its flows still forward");
    lab.sw.oxvs("ofctl", &["del-flows", &lab.br]);
    assert!(!lab.ping(), "emptied: drops, no learning switch");
    assert!(!lab.sw.log().contains("failing open"));

    let ctl = TestController::start_on(ctl.port, Mode::Wire10 { a, b });
    assert!(wait_until(30, || lab.connected(&target)));
    assert!(lab.h1.ping_eventually(&lab.h2.ip, 10));
    assert!(ctl.seen(|s| !s.packet_ins.is_empty()));
}

/// Reconnection backoff (1, 2, 4 s, then max_backoff), last_error, and the
/// inactivity probe dropping a controller that does not answer.
#[test]
fn backoff_and_inactivity_probe() {
    if !have_root() {
        return;
    }
    let lab = Lab::new("ctc", 83);
    let hangup = TestController::start(Mode::HangUp);
    let mute = TestController::start(Mode::Mute);
    let (t1, t2) = (hangup.target(), mute.target());
    lab.sw.vsctl(&["set-controller", &lab.br, &t1, &t2]);
    let uuid = lab.sw.vsctl(&[
        "--bare",
        "--columns=_uuid",
        "find",
        "Controller",
        &format!("target=\"{t1}\""),
    ]);
    lab.sw
        .vsctl(&["set", "Controller", uuid.trim(), "max_backoff=4000"]);
    // Accepts at t, t+1, t+3, t+7, t+11, t+15 (each session ends at once).
    assert!(wait_until(40, || hangup.seen(|s| s.accepts.len()) >= 6));
    let times = hangup.seen(|s| s.accepts.clone());
    let gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    for (gap, want) in gaps.iter().zip([1.0, 2.0, 4.0, 4.0, 4.0]) {
        assert!(*gap >= want - 0.3, "gaps {gaps:?}");
    }
    assert!(gaps[3] < 8.0, "max_backoff 4 s applies: {gaps:?}");
    assert_eq!(lab.controller(&t1, "status:last_error"), "\"End of file\"");
    // The mute one: a probe after 5 s idle, dropped 5 s later.
    assert!(wait_until(30, || mute.seen(|s| s.closed_by_switch) >= 1));
    assert!(mute.seen(|s| s.echo_requests) >= 1);
    assert!(wait_until(10, || lab.controller(&t2, "status:last_error")
        == "\"Connection timed out\""));
    assert!(lab.sw.log().contains("no response to inactivity probe"));
}

/// Several controllers: one works, one sends garbage, one stops reading.
/// The bad ones get OFPT_ERRORs and are disconnected; the good one keeps
/// its session and ping keeps working throughout.
#[test]
fn bad_controllers_do_not_disturb_the_good_one() {
    if !have_root() {
        return;
    }
    let lab = Lab::new("ctd", 84);
    let good = TestController::start(Mode::Hub13);
    let garbage = TestController::start(Mode::Garbage);
    let deaf = TestController::start(Mode::Deaf);
    let targets = [good.target(), garbage.target(), deaf.target()];
    let mut args = vec!["set-controller", lab.br.as_str()];
    args.extend(targets.iter().map(String::as_str));
    lab.sw.vsctl(&args);
    assert!(wait_until(20, || lab.connected(&targets[0])));
    assert!(lab.h1.ping_eventually(&lab.h2.ip, 10));
    // Garbage: OFPBRC_BAD_TYPE, then OFPBRC_BAD_LEN and the session closed.
    assert!(wait_until(10, || garbage.seen(|s| s.closed_by_switch) >= 1));
    garbage.seen(|s| {
        assert_eq!(
            s.errors[..2],
            [
                OfpError::BAD_REQUEST_BAD_TYPE,
                OfpError::BAD_REQUEST_BAD_LEN
            ]
        );
    });
    assert!(wait_until(10, || lab
        .controller(&targets[1], "status:last_error")
        == "\"Protocol error\""));
    // Deaf: flooded with packet-ins it never reads, dropped by the probe.
    let flood = std::thread::spawn({
        let ns = lab.h1.ns.clone();
        let ip = lab.h2.ip.clone();
        move || {
            run(
                "ip",
                &[
                    "netns", "exec", &ns, "ping", "-q", "-i", "0.002", "-c", "3000", "-W", "1", &ip,
                ],
            )
        }
    });
    // It never sees the close (it does not read): the switch reconnecting
    // to it shows the first session was dropped.
    assert!(
        wait_until(30, || deaf.seen(|s| s.accepts.len()) >= 2),
        "{}",
        lab.sw.log()
    );
    assert!(lab.sw.log().contains("no response to inactivity probe"));
    let _ = flood.join();
    // The good controller stayed connected and kept forwarding.
    assert!(lab.connected(&targets[0]));
    assert_eq!(good.seen(|s| s.accepts.len()), 1, "never reconnected");
    assert!(lab.ping());
    assert!(good.seen(|s| s.packet_ins.len()) > 100);
    // Each controller has its own row status.
    assert_eq!(lab.controller(&targets[0], "role"), "other");
}

/// controller_rate_limit/controller_burst_limit: a burst of table misses
/// beyond the limits is queued and dropped, and the counters appear in the
/// row's status.
#[test]
fn packet_in_rate_limit() {
    if !have_root() {
        return;
    }
    let lab = Lab::new("cte", 85);
    let ctl = TestController::start(Mode::Hub13);
    let target = ctl.target();
    lab.sw.vsctl(&["set-controller", &lab.br, &target]);
    let uuid = lab.sw.vsctl(&[
        "--bare",
        "--columns=_uuid",
        "find",
        "Controller",
        &format!("target=\"{target}\""),
    ]);
    lab.sw.vsctl(&[
        "set",
        "Controller",
        uuid.trim(),
        "controller_rate_limit=100",
        "controller_burst_limit=25",
    ]);
    assert!(wait_until(20, || lab.connected(&target)));
    assert!(lab.h1.ping_eventually(&lab.h2.ip, 10));
    // 300 echo requests at once: far above 100/s with room for 25.
    lab.h1.exec(&[
        "ping", "-q", "-c", "300", "-l", "300", "-i", "0.2", "-W", "2", &lab.h2.ip,
    ]);
    let dropped = |k: &str| -> u64 {
        lab.controller(&target, &format!("status:packet-in-miss-{k}"))
            .trim_matches('"')
            .parse()
            .unwrap_or(0)
    };
    assert!(
        wait_until(10, || dropped("dropped") > 0),
        "{}",
        lab.controller(&target, "status")
    );
    assert!(dropped("queued") >= dropped("dropped"));
    assert!(dropped("bypassed") > 0);
}

/// `set-fail-mode`, `del-fail-mode` and `emer-reset` at run time, without
/// and with controllers (OVS: the flows are flushed when the fail mode of a
/// bridge without controllers changes, and when the first controller comes
/// or the last goes; NORMAL only in standalone).
#[test]
fn fail_mode_changes_apply_at_run_time() {
    if !have_root() {
        return;
    }
    let lab = Lab::new("ctf", 86);
    assert!(lab.flows().contains("priority=0 actions=NORMAL"));
    lab.sw.vsctl(&["set-fail-mode", &lab.br, "secure"]);
    assert!(wait_until(10, || !lab.flows().contains("NORMAL")));
    assert!(!lab.ping());
    lab.sw
        .oxvs("ofctl", &["add-flow", &lab.br, "priority=7,actions=drop"]);
    lab.sw.vsctl(&["del-fail-mode", &lab.br]);
    assert!(wait_until(10, || lab
        .flows()
        .contains("priority=0 actions=NORMAL")));
    assert!(
        !lab.flows().contains("priority=7"),
        "flushed: {}",
        lab.flows()
    );
    assert!(lab.ping());
    // A controller nobody answers: flushed, nothing forwards until
    // fail-open (not waited for here).
    lab.sw
        .vsctl(&["set-controller", &lab.br, "tcp:127.0.0.1:1"]);
    assert!(wait_until(10, || !lab.flows().contains("NORMAL")));
    assert!(!lab.ping());
    assert!(wait_until(10, || lab
        .controller("tcp:127.0.0.1:1", "status:last_error")
        == "\"Connection refused\""));
    // del-controller: NORMAL back (standalone).
    lab.sw.vsctl(&["del-controller", &lab.br]);
    assert!(wait_until(10, || lab
        .flows()
        .contains("priority=0 actions=NORMAL")));
    assert!(lab.ping());
    // emer-reset (the real ovs-vsctl) clears controllers and fail_mode.
    if have("ovs-vsctl") {
        lab.sw.vsctl(&[
            "set-fail-mode",
            &lab.br,
            "secure",
            "--",
            "set-controller",
            &lab.br,
            "tcp:127.0.0.1:1",
        ]);
        assert!(wait_until(10, || !lab.flows().contains("NORMAL")));
        let out = std::process::Command::new("ovs-vsctl")
            .arg("emer-reset")
            .envs(lab.sw.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(wait_until(10, || lab
            .flows()
            .contains("priority=0 actions=NORMAL")));
        assert!(lab.ping());
    }
}

/// An `ssl:` controller (Debian's `ovs-testcontroller --private-key …
/// pssl:`) with certificates made by `ovs-pki`; the switch uses the SSL
/// table (`ovs-vsctl set-ssl`), applied without a restart.
#[test]
fn tls_controller_with_ovs_pki_certificates() {
    if !have_root() {
        return;
    }
    if !have("ovs-pki") || !have("ovs-testcontroller") || !have("ovs-vsctl") {
        eprintln!("skipping: ovs-pki, ovs-testcontroller or ovs-vsctl not installed");
        return;
    }
    let lab = Lab::new("ctg", 87);
    let dir = lab.sw.dir.join("pki-work");
    std::fs::create_dir_all(&dir).unwrap();
    let pki = format!("--dir={}", s(&dir.join("pki")));
    for args in [
        vec![pki.as_str(), "init"],
        vec![pki.as_str(), "req+sign", "sc", "switch"],
        vec![pki.as_str(), "req+sign", "ctl", "controller"],
    ] {
        let out = std::process::Command::new("ovs-pki")
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ovs-pki {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let f = |n: &str| s(&dir.join(n)).to_string();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pidfile = dir.join("tc.pid");
    // Its control socket goes in the switch's run directory.
    let out = std::process::Command::new("ovs-testcontroller")
        .args([
            "--detach".to_string(),
            format!("--pidfile={}", s(&pidfile)),
            format!("--log-file={}", f("tc.log")),
            format!("--private-key={}", f("ctl-privkey.pem")),
            format!("--certificate={}", f("ctl-cert.pem")),
            format!("--ca-cert={}", f("pki/switchca/cacert.pem")),
            // OVS 3.1's lswitch fills an OpenFlow 1.5 packet-out's match
            // with junk (its own decoder calls it OFPBMC_BAD_MASK).
            "-O".to_string(),
            "OpenFlow13".to_string(),
            format!("pssl:{port}:127.0.0.1"),
        ])
        .envs(lab.sw.env())
        // The detached daemon keeps no pipe of ours (it would die writing
        // to it once we stop reading).
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(out.success(), "ovs-testcontroller failed to start");
    struct Kill(std::path::PathBuf);
    impl Drop for Kill {
        fn drop(&mut self) {
            if let Ok(pid) = std::fs::read_to_string(&self.0) {
                let _ = run("kill", &[pid.trim()]);
            }
        }
    }
    let _kill = Kill(pidfile);
    let target = format!("ssl:127.0.0.1:{port}");
    // SSL not configured yet: the attempt fails, and is retried.
    lab.sw.vsctl(&["set-controller", &lab.br, &target]);
    assert!(wait_until(10, || lab
        .controller(&target, "status:last_error")
        == "\"Protocol not available\""));
    // (`oxvs vsctl` has no set-ssl: the real ovs-vsctl.)
    let out = std::process::Command::new("ovs-vsctl")
        .args([
            "set-ssl".to_string(),
            f("sc-privkey.pem"),
            f("sc-cert.pem"),
            f("pki/controllerca/cacert.pem"),
        ])
        .envs(lab.sw.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        wait_until(30, || lab.connected(&target)),
        "{}",
        lab.sw.log()
    );
    assert_eq!(lab.controller(&target, "role"), "other");
    // ovs-testcontroller is a learning switch: ping through it.
    assert!(lab.h1.ping_eventually(&lab.h2.ip, 15), "{}", lab.sw.log());
    assert!(
        wait_until(10, || lab.flows().contains("idle_timeout=")),
        "{}",
        lab.flows()
    );
}
