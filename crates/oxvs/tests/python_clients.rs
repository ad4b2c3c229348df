//! The Python OVSDB libraries against the oxvs daemon: Open vSwitch's own
//! `ovs` IDL (PyPI `ovs` 3.1) and OpenStack's `ovsdbapp`, installed in the
//! repo's `.venv` by scripts/install-deps.sh. Each script creates a bridge
//! and ports through its library and reads them back; the test checks the
//! result with the real ovs-vsctl too.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{have, Switch};
use serde_json::Value;

fn venv_python() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        p.exists(),
        "{} missing: run scripts/install-deps.sh (it creates the venv)",
        p.display()
    );
    p
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

fn run_py(sw: &Switch, name: &str, args: &[&str]) -> Value {
    let remote = format!("unix:{}", sw.dir.join("db.sock").display());
    let out = Command::new(venv_python())
        .arg(script(name))
        .arg(&remote)
        .args(args)
        .envs(sw.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}\n{}\ndaemon log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        sw.log()
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().unwrap_or_default().to_string();
    serde_json::from_str(&last).unwrap_or_else(|e| panic!("{name} printed {text:?}: {e}"))
}

#[test]
fn ovs_python_idl_and_ovsdbapp_work_against_oxvs() {
    if !have("ovs-vsctl") {
        eprintln!("skipped: ovs-vsctl not installed");
        return;
    }
    let sw = Switch::start("py");
    // As ovs-ctl does before anything else.
    sw.vsctl(&["--no-wait", "init"]);

    let idl = run_py(&sw, "ovs_idl_client.py", &["pyidlbr0", "pyidlp0"]);
    assert_eq!(idl["bridges"], serde_json::json!(["pyidlbr0"]));
    assert_eq!(idl["ports"], serde_json::json!(["pyidlp0"]));
    assert_eq!(idl["external_ids"]["created-by"], "python-ovs-idl");
    assert!(idl["ofport"].as_i64().unwrap() >= 1, "{idl}");
    assert_eq!(sw.vsctl(&["list-ports", "pyidlbr0"]), "pyidlp0\n");
    assert_eq!(
        sw.vsctl(&["get", "interface", "pyidlp0", "type"]),
        "internal\n"
    );

    let app = run_py(&sw, "ovsdbapp_client.py", &["appbr0", "appp0"]);
    assert_eq!(app["br_exists"], true, "{app}");
    assert_eq!(app["list_ports"], serde_json::json!(["appp0"]), "{app}");
    assert_eq!(app["port_to_br"], "appbr0", "{app}");
    assert_eq!(app["external_ids"]["owner"], "ovsdbapp", "{app}");
    assert_eq!(app["datapath_type"], "netdev", "{app}");
    assert_eq!(app["ports_after_del"], serde_json::json!([]), "{app}");
    assert_eq!(app["br_exists_after_del"], false, "{app}");
    let mut list = app["list_br"].as_array().unwrap().clone();
    list.sort_by_key(|v| v.as_str().unwrap_or_default().to_string());
    assert_eq!(list, vec![Value::from("appbr0"), Value::from("pyidlbr0")]);
    // What ovsdbapp deleted is gone for ovs-vsctl too; the IDL's bridge stays.
    assert_eq!(sw.vsctl(&["list-br"]), "pyidlbr0\n");
}
