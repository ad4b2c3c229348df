//! Bad input gets the protocol's own error and changes nothing (issue 2).

mod common;

use common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

fn fails_with(sw: &Switch, args: &[&str], stderr: &str) {
    let before = sw.vsctl(&["show"]);
    let out = sw.oxvs("vsctl", args);
    assert_eq!(out.status.code(), Some(1), "{args:?} must exit 1");
    assert_eq!(String::from_utf8_lossy(&out.stderr), stderr, "{args:?}");
    assert_eq!(before, sw.vsctl(&["show"]), "{args:?} changed the database");
}

#[test]
fn vsctl_errors_match_ovs_vsctl_and_change_nothing() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("bi");
    sw.vsctl(&["add-br", "bibr0"]);
    sw.vsctl(&["add-port", "bibr0", "p1"]);
    fails_with(
        &sw,
        &["add-port", "bibr0", "p2", "tag=5000"],
        "ovs-vsctl: constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)\n",
    );
    fails_with(
        &sw,
        &["add-port", "bibr0", "p3", "foo=1"],
        "ovs-vsctl: Port does not contain a column whose name matches \"foo\"\n",
    );
    fails_with(
        &sw,
        &["add-port", "bibr9", "p4"],
        "ovs-vsctl: no bridge named bibr9\n",
    );
    fails_with(
        &sw,
        &["add-port", "bibr0", "p1"],
        "ovs-vsctl: cannot create a port named p1 because a port named p1 already exists on bridge bibr0\n",
    );
    fails_with(
        &sw,
        &["add-br", "bibr0"],
        "ovs-vsctl: cannot create a bridge named bibr0 because a bridge named bibr0 already exists\n",
    );
    fails_with(
        &sw,
        &["set", "port", "p1", "tag=5000"],
        "ovs-vsctl: constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)\n",
    );
    fails_with(
        &sw,
        &["get", "port", "p9", "tag"],
        "ovs-vsctl: no row \"p9\" in table Port\n",
    );
    fails_with(
        &sw,
        &["del-br", "bibr9"],
        "ovs-vsctl: no bridge named bibr9\n",
    );
    fails_with(
        &sw,
        &["del-port", "bibr0", "p9"],
        "ovs-vsctl: no port named p9\n",
    );
    // The misses are fine with --if-exists / --may-exist.
    sw.vsctl(&["--if-exists", "del-br", "bibr9"]);
    sw.vsctl(&["--may-exist", "add-port", "bibr0", "p1"]);
}

fn rpc(sock: &std::path::Path, request: &[u8]) -> serde_json::Value {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = s.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&buf) {
            return v;
        }
    }
    serde_json::from_slice(&buf).unwrap_or(serde_json::Value::Null)
}

#[test]
fn malformed_json_rpc_gets_an_error_and_the_daemon_continues() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("bj");
    sw.vsctl(&["add-br", "bjbr0"]);
    let sock = sw.dir.join("db.sock");
    // Unknown method.
    let r = rpc(&sock, br#"{"id":1,"method":"nosuch","params":[]}"#);
    assert_eq!(r["error"], "unknown method");
    // An unknown operation inside a transaction: RFC 7047 syntax error in the result.
    let r = rpc(
        &sock,
        br#"{"id":2,"method":"transact","params":["Open_vSwitch",{"op":"bogus","table":"Bridge"}]}"#,
    );
    assert_eq!(r["id"], 2);
    let err = &r["result"][0]["error"];
    assert!(err.is_string(), "{r}");
    // An unknown database.
    let r = rpc(
        &sock,
        br#"{"id":3,"method":"get_schema","params":["Nope"]}"#,
    );
    assert_eq!(r["error"]["error"], "unknown database");
    // Not JSON at all: some error reply or a closed connection, never a crash.
    let _ = rpc(&sock, b"}}}not json{{{");
    // Still serving, nothing changed.
    assert_eq!(sw.vsctl(&["list-br"]), "bjbr0\n");
}

#[test]
fn malformed_frames_are_dropped_and_counted() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("mf");
    let a = Host::new("oxmf-a", "oxmf-a", "10.96.0.1");
    let b = Host::new("oxmf-b", "oxmf-b", "10.96.0.2");
    sw.vsctl(&["add-br", "mfbr0"]);
    sw.vsctl(&["add-port", "mfbr0", "oxmf-a"]);
    sw.vsctl(&["add-port", "mfbr0", "oxmf-b"]);
    assert!(a.ping_eventually("10.96.0.2", 10));
    // 300 frames with broken IPv4/TCP headers and random bytes, from a.
    let script = r#"
import os, random, socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
eth = bytes.fromhex("ffffffffffff020000000001") + b"\x08\x00"
def ip(ver_ihl, total, proto=6, extra=b""):
    h = struct.pack("!BBHHHBBH4s4s", ver_ihl, 0, total, 0, 0, 64, proto, 0, bytes(4), bytes(4))
    return eth + h + extra
random.seed(7)
for i in range(100):
    s.send(ip(0x45, 1400))                       # total length beyond the frame
for i in range(100):
    s.send(ip(0x43, 20))                         # IHL < 5
for i in range(100):
    tcp = struct.pack("!HHIIBBHHH", 1, 2, 0, 0, 0x20, 0, 0, 0, 0)  # data offset 2
    s.send(ip(0x45, 40, 6, tcp))
for i in range(200):
    s.send(eth + bytes(random.getrandbits(8) for _ in range(random.randint(1, 200))))
"#;
    a.must(&["python3", "-c", script]);
    // Other traffic is unharmed.
    assert!(a.ping("10.96.0.2", 5));
    assert!(b.ping("10.96.0.1", 2));
    let show = sw.appctl(&["dpctl/show", "-s"]);
    // The port of oxmf-a counted at least the 300 certainly-malformed frames.
    let mut lines = show.lines();
    let mut errors = None;
    while let Some(l) = lines.next() {
        if l.trim_start().starts_with("port ") && l.contains("oxmf-a") {
            let rx = lines.next().unwrap();
            let e = rx
                .split("errors:")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            errors = Some(e.parse::<u64>().unwrap());
        }
    }
    let errors = errors.unwrap_or_else(|| panic!("no port line for oxmf-a:\n{show}"));
    assert!(
        errors >= 300,
        "only {errors} malformed frames counted:\n{show}"
    );
}
