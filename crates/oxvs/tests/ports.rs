//! Port types end to end: internal (the bridge's own device), tap, patch,
//! and an interface that does not exist yet (issue 2, "Ports").

mod common;

use common::*;

#[test]
fn internal_port_gives_the_host_an_address_on_the_bridge() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("in");
    let a = Host::new("oxin-a", "oxin-a", "10.97.0.1");
    sw.vsctl(&["add-br", "inbr0"]);
    sw.vsctl(&["add-port", "inbr0", "oxin-a"]);
    must("ip", &["addr", "add", "10.97.0.254/24", "dev", "inbr0"]);
    must("ip", &["link", "set", "inbr0", "up"]);
    assert!(
        a.ping_eventually("10.97.0.254", 10),
        "host -> bridge IP\n{}",
        sw.log()
    );
    // The Interface row describes the tap device.
    assert_eq!(
        sw.vsctl(&["get", "interface", "inbr0", "ofport"]),
        "65534\n"
    );
    assert_eq!(
        sw.vsctl(&["get", "interface", "inbr0", "type"]),
        "internal\n"
    );
    let mac = std::fs::read_to_string("/sys/class/net/inbr0/address").unwrap();
    assert_eq!(
        sw.vsctl(&["get", "interface", "inbr0", "mac_in_use"]),
        format!("\"{}\"\n", mac.trim())
    );
    let dpid = sw.vsctl(&["get", "bridge", "inbr0", "datapath_id"]);
    assert_eq!(dpid, format!("\"0000{}\"\n", mac.trim().replace(':', "")));
    assert!(wait_until(10, || sw.vsctl(&[
        "get",
        "interface",
        "inbr0",
        "link_state"
    ]) == "up\n"));
}

#[test]
fn tap_port_moved_into_a_namespace_carries_traffic() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("tp");
    let a = Host::new("oxtp-a", "oxtp-a", "10.98.0.1");
    sw.vsctl(&["add-br", "tpbr0"]);
    sw.vsctl(&["add-port", "tpbr0", "oxtp-a"]);
    sw.vsctl(&[
        "add-port",
        "tpbr0",
        "oxtp-t",
        "--",
        "set",
        "interface",
        "oxtp-t",
        "type=tap",
    ]);
    // The switch created the device; hand it to a second host as its NIC.
    let _ = run("ip", &["netns", "del", "oxtp-b"]);
    must("ip", &["netns", "add", "oxtp-b"]);
    must("ip", &["link", "set", "oxtp-t", "netns", "oxtp-b"]);
    must(
        "ip",
        &[
            "-n",
            "oxtp-b",
            "addr",
            "add",
            "10.98.0.2/24",
            "dev",
            "oxtp-t",
        ],
    );
    must("ip", &["-n", "oxtp-b", "link", "set", "oxtp-t", "up"]);
    let ok = a.ping_eventually("10.98.0.2", 10);
    let _ = run("ip", &["netns", "del", "oxtp-b"]);
    assert!(ok, "host -> tap host\n{}", sw.log());
}

#[test]
fn patch_ports_join_two_bridges() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("pa");
    let a = Host::new("oxpa-a", "oxpa-a", "10.99.0.1");
    let b = Host::new("oxpa-b", "oxpa-b", "10.99.0.2");
    sw.vsctl(&["add-br", "pabr0"]);
    sw.vsctl(&["add-br", "pabr1"]);
    sw.vsctl(&["add-port", "pabr0", "oxpa-a", "tag=5"]);
    sw.vsctl(&["add-port", "pabr1", "oxpa-b"]);
    sw.vsctl(&[
        "add-port",
        "pabr0",
        "pa-int",
        "tag=5",
        "--",
        "set",
        "interface",
        "pa-int",
        "type=patch",
        "options:peer=pa-tun",
    ]);
    sw.vsctl(&[
        "add-port",
        "pabr1",
        "pa-tun",
        "--",
        "set",
        "interface",
        "pa-tun",
        "type=patch",
        "options:peer=pa-int",
    ]);
    assert!(
        a.ping_eventually("10.99.0.2", 10),
        "across the patch\n{}",
        sw.log()
    );
    assert!(b.ping("10.99.0.1", 2));
    // Each bridge learned the far host behind its patch port.
    let fdb0 = sw.appctl(&["fdb/show", "pabr0"]);
    let patch_ofport = sw.vsctl(&["get", "interface", "pa-int", "ofport"]);
    let line = fdb0
        .lines()
        .find(|l| l.contains(&b.mac()))
        .expect("b learned on pabr0");
    assert_eq!(
        line.split_whitespace().next(),
        Some(patch_ofport.trim()),
        "{fdb0}"
    );
    // A patch port whose peer is missing reports it.
    sw.vsctl(&[
        "add-port",
        "pabr0",
        "pa-lone",
        "--",
        "set",
        "interface",
        "pa-lone",
        "type=patch",
        "options:peer=nowhere",
    ]);
    assert!(wait_until(5, || {
        sw.vsctl(&["get", "interface", "pa-lone", "error"])
            == "\"No usable peer 'nowhere' exists in 'netdev' datapath.\"\n"
    }));
}

#[test]
fn missing_interface_reports_error_and_is_picked_up_when_it_appears() {
    if !have_root() {
        return;
    }
    let sw = Switch::start("ms");
    let a = Host::new("oxms-a", "oxms-a", "10.100.0.1");
    let b = Host::new("oxms-b", "oxms-b", "10.100.0.2");
    sw.vsctl(&["add-br", "msbr0"]);
    sw.vsctl(&["add-port", "msbr0", "oxms-a"]);
    let out = sw.oxvs("vsctl", &["add-port", "msbr0", "oxms-b-late"]);
    // As ovs-vsctl: success, with a warning naming the error.
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "ovs-vsctl: Error detected while setting up 'oxms-b-late': could not open network device oxms-b-late (No such device).  See ovs-vswitchd log for details.\n"
        ),
        "{stderr}"
    );
    assert_eq!(
        sw.vsctl(&["get", "interface", "oxms-b-late", "ofport"]),
        "-1\n"
    );
    // The rest of the switch works: b plugged into another port.
    sw.vsctl(&["add-port", "msbr0", "oxms-b"]);
    assert!(a.ping_eventually("10.100.0.2", 10));
    // The device appears: the switch opens it and clears the error.
    let _ = run("ip", &["link", "del", "oxms-b-late"]);
    must(
        "ip",
        &[
            "link",
            "add",
            "oxms-b-late",
            "type",
            "veth",
            "peer",
            "name",
            "oxms-b-peer",
        ],
    );
    let picked = wait_until(15, || {
        sw.vsctl(&["get", "interface", "oxms-b-late", "error"]) == "[]\n"
            && sw.vsctl(&["get", "interface", "oxms-b-late", "ofport"]) != "-1\n"
    });
    let _ = run("ip", &["link", "del", "oxms-b-late"]);
    assert!(
        picked,
        "{}",
        sw.vsctl(&["list", "interface", "oxms-b-late"])
    );
    drop(b);
}

#[test]
fn real_ovs_vsctl_and_ovs_appctl_drive_oxvs() {
    if !have_root() {
        return;
    }
    if !have("ovs-vsctl") || !have("ovs-appctl") {
        eprintln!("skipping: Open vSwitch client tools not installed");
        return;
    }
    let sw = Switch::start("ro");
    let a = Host::new("oxro-a", "oxro-a", "10.101.0.1");
    let b = Host::new("oxro-b", "oxro-b", "10.101.0.2");
    let ovs = |tool: &str, args: &[&str]| {
        let out = std::process::Command::new("timeout")
            .arg("20")
            .arg(tool)
            .args(args)
            .envs(sw.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Default (waiting) mode: returns only once the switch applied the change.
    ovs("ovs-vsctl", &["add-br", "robr0"]);
    ovs("ovs-vsctl", &["add-port", "robr0", "oxro-a"]);
    ovs("ovs-vsctl", &["add-port", "robr0", "oxro-b", "tag=0"]);
    assert_eq!(
        ovs("ovs-vsctl", &["list-ports", "robr0"]),
        "oxro-a\noxro-b\n"
    );
    assert!(a.ping_eventually("10.101.0.2", 10));
    assert!(b.ping("10.101.0.1", 2));
    let fdb = ovs("ovs-appctl", &["fdb/show", "robr0"]);
    assert!(
        fdb.starts_with(" port  VLAN  MAC                Age\n"),
        "{fdb}"
    );
    assert!(fdb.contains(&a.mac()), "{fdb}");
    assert!(ovs("ovs-appctl", &["dpctl/dump-flows"]).contains("actions:"));
    assert_eq!(
        ovs("ovs-vsctl", &["get", "interface", "oxro-a", "ofport"]),
        "1\n"
    );
    ovs("ovs-vsctl", &["del-port", "robr0", "oxro-b"]);
    assert!(!a.ping("10.101.0.2", 2), "deleted port still forwards");
    assert_eq!(sw.vsctl(&["list-ports", "robr0"]), "oxro-a\n");
}
