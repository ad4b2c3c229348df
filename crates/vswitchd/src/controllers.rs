//! OpenFlow controllers in the database: the `Controller` rows and
//! `Bridge.fail_mode` become [`OfBridgeConfig`]s for the connection
//! manager, and what it reports comes back as `Controller.is_connected`,
//! `role` and `status` (ovs-vswitchd.conf.db(5)).
//!
//! Idea: [`openflow_configs`] reads each bridge's controllers (target,
//! `type`, `inactivity_probe`, `max_backoff`, `controller_rate_limit`,
//! `controller_burst_limit`, `enable_async_messages`, `other_config:dscp`)
//! on every reconfiguration; the connection manager applies only what
//! changed. [`status_ops`] compares what the manager reports with the rows
//! and returns updates for those that differ: at once when a controller
//! connects, disconnects or changes role (without the `sec_since_*`
//! counters, so a write does not cause another), and with the counters on
//! the periodic refresh (every 5 s; OVS writes all of it only then).
//! Passive targets (`ptcp:`, `punix:`) and targets that cannot be used
//! have `is_connected=false` and empty `role` and `status`, as in OVS.
//! `ssl:` controllers use the daemon's SSL settings (the `SSL` table, else
//! `--private-key`/`--certificate`/`--ca-cert`): [`ssl_connect`].

use std::sync::Arc;

use ofproto::connmgr::{
    ConnKind, ConnMgr, ControllerConfig, ControllerStatus, FailMode, OfBridgeConfig, SslConnect,
};
use ovsdb::datum::Atom;
use ovsdb::{Database, Datum, Row, Table, TlsConfig};
use serde_json::{json, Value};
use uuid::Uuid;

fn uuids(row: &Row, column: &str) -> Vec<Uuid> {
    row.get(column)
        .map(|d| d.uuids().collect())
        .unwrap_or_default()
}

fn opt_int(row: &Row, column: &str) -> Option<i64> {
    row.get(column).and_then(Datum::as_integer)
}

fn opt_str<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(Datum::as_str)
}

/// One Controller row's settings.
pub fn controller_config(row: &Row) -> ControllerConfig {
    ControllerConfig {
        target: opt_str(row, "target").unwrap_or("").to_string(),
        kind: match opt_str(row, "type") {
            Some("primary") => Some(ConnKind::Primary),
            Some("service") => Some(ConnKind::Service),
            _ => None,
        },
        inactivity_probe: opt_int(row, "inactivity_probe"),
        max_backoff: opt_int(row, "max_backoff"),
        rate_limit: opt_int(row, "controller_rate_limit"),
        burst_limit: opt_int(row, "controller_burst_limit"),
        enable_async_messages: row.get("enable_async_messages").and_then(Datum::as_bool),
        dscp: row
            .get("other_config")
            .and_then(|m| m.map_get_str("dscp"))
            .and_then(|v| v.trim().parse::<u8>().ok())
            .filter(|d| *d <= 63),
        queue_size: opt_int(row, "controller_queue_size"),
    }
}

/// The OpenFlow settings of every bridge in `bridge_rows`: controllers,
/// `protocols`, `fail_mode`.
pub fn openflow_configs(db: &Database, bridge_rows: &[&Row]) -> Vec<OfBridgeConfig> {
    let empty = Table::default();
    let controllers_t = db.table("Controller").unwrap_or(&empty);
    bridge_rows
        .iter()
        .map(|brow| OfBridgeConfig {
            name: opt_str(brow, "name").unwrap_or("").to_string(),
            controllers: uuids(brow, "controller")
                .iter()
                .filter_map(|u| controllers_t.get(u))
                .map(|r| controller_config(r))
                .collect(),
            protocols: brow
                .get("protocols")
                .map(|d| {
                    d.keys
                        .iter()
                        .filter_map(|a| a.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            fail_mode: FailMode::parse(opt_str(brow, "fail_mode")),
        })
        .collect()
}

/// `Controller.is_connected`/`role`/`status` updates for the controllers of
/// every bridge of the `Open_vSwitch` row whose values differ from what
/// `connmgr` reports; with `with_times` false, differences only in the
/// `sec_since_*` counters are ignored.
pub fn status_ops(db: &Database, connmgr: &ConnMgr, with_times: bool) -> Vec<Value> {
    let empty = Table::default();
    let bridges_t = db.table("Bridge").unwrap_or(&empty);
    let controllers_t = db.table("Controller").unwrap_or(&empty);
    let Some(ovs_row) = db.table("Open_vSwitch").and_then(|t| t.iter().next()) else {
        return Vec::new();
    };
    let mut ops = Vec::new();
    for b in uuids(ovs_row, "bridges") {
        let Some(brow) = bridges_t.get(&b) else {
            continue;
        };
        let reported = connmgr.controller_status(opt_str(brow, "name").unwrap_or(""));
        for c in uuids(brow, "controller") {
            let Some(crow) = controllers_t.get(&c) else {
                continue;
            };
            let target = opt_str(crow, "target").unwrap_or("");
            let st = reported.iter().find(|s| s.target == target);
            ops.extend(row_update(crow, st, with_times));
        }
    }
    ops
}

/// The update making `row` show `st` (`None`: not connected, no role, no
/// status), or `None` if it already does.
fn row_update(row: &Row, st: Option<&ControllerStatus>, with_times: bool) -> Option<Value> {
    let is_connected = Datum::scalar(st.is_some_and(|s| s.is_connected));
    let role = match st.and_then(|s| s.role) {
        Some(r) => Datum::scalar(Atom::from(r)),
        None => Datum::empty_set(),
    };
    let status = Datum::map(
        st.map(|s| s.status.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (Atom::from(k), Atom::from(v))),
    );
    let comparable = |d: &Datum| -> Vec<(String, String)> {
        d.pairs()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
            .filter(|(k, _)| with_times || !k.starts_with("sec_since_"))
            .collect()
    };
    let same = row.get("is_connected") == Some(&is_connected)
        && row.get("role").unwrap_or(&Datum::empty_set()) == &role
        && row.get("status").map(comparable).unwrap_or_default() == comparable(&status);
    if same {
        return None;
    }
    Some(json!({
        "op": "update",
        "table": "Controller",
        "where": [["_uuid", "==", ["uuid", row.uuid.to_string()]]],
        "row": {
            "is_connected": is_connected.to_json(),
            "role": role.to_json(),
            "status": status.to_json(),
        },
    }))
}

/// The TLS client of `ssl:` controllers from the daemon's SSL
/// configuration (`None`: SSL not configured, such targets fail with
/// "Protocol not available"). A failed handshake reads "Protocol error",
/// as Open vSwitch reports it.
pub fn ssl_connect(tls: Option<TlsConfig>) -> Option<SslConnect> {
    let connector = tls?.connector();
    Some(Arc::new(move |tcp, host: String| {
        let connector = connector.clone();
        Box::pin(async move {
            let name = host.try_into().map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "invalid host")
            })?;
            match connector.connect(name, tcp).await {
                Ok(s) => Ok(Box::new(s) as ofproto::connmgr::BoxStream),
                Err(e) if e.raw_os_error().is_some() => Err(e),
                Err(e) => {
                    tracing::warn!(target: "stream_ssl", "SSL_connect: {e}");
                    Err(std::io::Error::from_raw_os_error(libc::EPROTO))
                }
            }
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::{DatabaseSchema, Server};

    fn server() -> Server {
        let schema = DatabaseSchema::from_json(
            &serde_json::from_str(crate::daemon::VSWITCH_SCHEMA).unwrap(),
        )
        .unwrap();
        let s = Server::new(Database::new(schema), None);
        let r = s.transact(&[
            json!({"op":"insert","table":"Controller","uuid-name":"c1","row":{
                "target":"tcp:127.0.0.1:6653","inactivity_probe":1500,"max_backoff":2000,
                "controller_rate_limit":100,"enable_async_messages":false,"type":"service",
                "other_config":["map",[["dscp","10"]]]}}),
            json!({"op":"insert","table":"Controller","uuid-name":"c2","row":{"target":"ptcp:0"}}),
            json!({"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0",
                "fail_mode":"secure","protocols":["set",["OpenFlow13"]],
                "controller":["set",[["named-uuid","c1"],["named-uuid","c2"]]]}}),
            json!({"op":"insert","table":"Open_vSwitch","row":{
                "bridges":["set",[["named-uuid","b"]]]}}),
        ]);
        assert!(
            r.as_array()
                .unwrap()
                .iter()
                .all(|x| x.get("error").is_none()),
            "{r}"
        );
        s
    }

    #[test]
    fn configs_from_rows() {
        let s = server();
        let db = s.snapshot();
        let rows: Vec<&Row> = db.table("Bridge").unwrap().iter().map(|r| &**r).collect();
        let cfgs = openflow_configs(&db, &rows);
        assert_eq!(cfgs.len(), 1);
        let b = &cfgs[0];
        assert_eq!(b.fail_mode, FailMode::Secure);
        assert_eq!(b.protocols, ["OpenFlow13"]);
        let mut cs = b.controllers.clone();
        cs.sort_by(|a, b| a.target.cmp(&b.target));
        assert_eq!(cs[0].target, "ptcp:0");
        assert_eq!(cs[0].kind, None);
        let c = &cs[1];
        assert_eq!(c.kind, Some(ConnKind::Service));
        assert_eq!(c.inactivity_probe, Some(1500));
        assert_eq!(c.dscp, Some(10));
        let st = c.settings();
        // OVS: whole seconds, at least 5 s of probe, at least 1 s of backoff.
        assert_eq!(st.probe, Some(std::time::Duration::from_secs(5)));
        assert_eq!(st.max_backoff, std::time::Duration::from_secs(2));
        assert_eq!(st.rate, Some((100, 25)));
        assert!(!st.enable_async);
    }

    #[test]
    fn status_rows() {
        let s = server();
        let db = s.snapshot();
        let row = db.table("Controller").unwrap().iter().next().unwrap();
        // Never written: the defaults differ from the row's empty status?
        // is_connected defaults to false, role and status are empty: same.
        assert_eq!(row_update(row, None, true), None);
        let mut st = ControllerStatus {
            target: "tcp:127.0.0.1:6653".into(),
            is_connected: true,
            role: Some("other"),
            status: [("state", "ACTIVE"), ("sec_since_connect", "0")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let op = row_update(row, Some(&st), false).unwrap();
        assert_eq!(op["row"]["is_connected"], json!(true));
        assert_eq!(op["row"]["role"], json!("other"));
        let r = s.transact(&[op]);
        assert!(r[0].get("error").is_none(), "{r}");
        let db = s.snapshot();
        let row = db.table("Controller").unwrap().get(&row.uuid).unwrap();
        assert_eq!(row_update(row, Some(&st), true), None);
        // Only the counter moved: written on the periodic refresh only.
        st.status.insert("sec_since_connect".into(), "5".into());
        assert_eq!(row_update(row, Some(&st), false), None);
        assert!(row_update(row, Some(&st), true).is_some());
        // Disconnected: role cleared.
        st.is_connected = false;
        st.role = None;
        let op = row_update(row, Some(&st), false).unwrap();
        assert_eq!(op["row"]["role"], json!(["set", []]));
    }
}
