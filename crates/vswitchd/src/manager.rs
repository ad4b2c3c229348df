//! OVSDB managers: the `Manager` rows referenced by
//! `Open_vSwitch.manager_options` become remotes of the daemon's OVSDB
//! server at run time, and the `SSL` row referenced by `Open_vSwitch.ssl`
//! gives the keys and certificates of `pssl:`/`ssl:` remotes — what
//! ovsdb-server does when started, as Open vSwitch's `ovs-ctl` starts it,
//! with `--remote=db:Open_vSwitch,Open_vSwitch,manager_options` and
//! `--private-key=db:Open_vSwitch,SSL,private_key` (and the like). The `SSL`
//! row's `bootstrap_ca_cert` (or `--bootstrap-ca-cert`) lets an `ssl:`
//! manager learn its CA certificate on the first connection; the command
//! line's `--ssl-protocols`, `--ssl-ciphers` and `--peer-ca-cert` apply to
//! the `SSL` row's files too.
//!
//! Per-manager options: `inactivity_probe`, `max_backoff`, and
//! `other_config:dscp` (IP_TOS/IPV6_TCLASS of the manager's sockets,
//! default 48 as ovsdb-server; a listener reopens its socket when it
//! changes). `connection_mode` is accepted and has no effect: oxvs reaches
//! its managers out-of-band only (it installs no hidden in-band flows), so
//! `in-band` behaves as `out-of-band`.
//!
//! Idea: [`Managers::reconfigure`] compares the wanted targets with the
//! running ones: a new target starts a remote (listening, or connecting out
//! with backoff), a removed one drops its handle (closing the listener and
//! its sessions), a changed `inactivity_probe`/`max_backoff` is applied in
//! place. A target that cannot start (bad syntax, port in use, SSL not yet
//! configured) is retried on every reconfigure and refresh. Status goes back
//! into `Manager.is_connected` and `Manager.status` with the keys
//! ovsdb-server writes (see [`ovsdb::RemoteStatus::to_map`]): at once when
//! a connection opens or closes ([`Managers::status_ops`] without the
//! `sec_since_*` counters, so a write does not cause another), and with the
//! counters on the periodic refresh. Invariant: one running remote per
//! target text. Performance: a handful of managers, reconfigured on
//! database changes only.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use ovsdb::datum::Atom;
use ovsdb::{
    Database, Datum, Remote, RemoteHandle, RemoteOptions, Row, Server, TlsConfig, TlsFiles,
    TlsSettings,
};
use serde_json::{json, Value};

/// A running manager remote.
struct Running {
    handle: RemoteHandle,
}

/// The daemon's OVSDB managers and SSL settings (see the module comment).
pub struct Managers {
    server: Server,
    /// SSL options from the command line (`--private-key` ...): the files
    /// are used when no `SSL` row is configured, the other options always.
    cli_tls: TlsSettings,
    /// Settings of the TLS configuration in use, with the modification
    /// times of its files at load (a change reloads them).
    tls_loaded: Option<(TlsSettings, Vec<Option<SystemTime>>)>,
    /// Last TLS load error (logged once).
    tls_error: Option<String>,
    running: BTreeMap<String, Running>,
    /// Targets that could not start, with the reason (logged once).
    failed: BTreeMap<String, String>,
    /// Notes about manager options already logged (target, text).
    noted: BTreeSet<(String, String)>,
}

fn mtimes(s: &TlsSettings) -> Vec<Option<SystemTime>> {
    [&s.private_key, &s.certificate, &s.ca_cert, &s.peer_ca_cert]
        .iter()
        .map(|p| {
            p.as_ref()
                .and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        })
        .collect()
}

fn opt_int(row: &Row, column: &str) -> Option<i64> {
    row.get(column).and_then(Datum::as_integer)
}

fn opt_str<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(Datum::as_str)
}

/// The remote options of a `Manager` row: `inactivity_probe` (ms, 0 = no
/// probes, absent = the remote's default), `max_backoff` (ms, at least
/// 1000, absent = 8000), `other_config:dscp` (0..=63, absent =
/// [`ovsdb::remote::MANAGER_DSCP`], 48). A `dscp` that is not an integer
/// in range keeps the default (logged by [`Managers::reconfigure`]).
pub fn manager_options(remote: &Remote, row: &Row) -> RemoteOptions {
    let mut o = remote.default_options();
    if let Some(ms) = opt_int(row, "inactivity_probe") {
        o.probe_interval = (ms > 0).then(|| Duration::from_millis(ms as u64));
    }
    if let Some(ms) = opt_int(row, "max_backoff") {
        o.max_backoff = Duration::from_millis(ms.max(1000) as u64);
    }
    o.dscp = manager_dscp(row).unwrap_or(ovsdb::remote::MANAGER_DSCP);
    o
}

/// `other_config:dscp` when it is an integer 0..=63.
fn manager_dscp(row: &Row) -> Option<u8> {
    let v = row.get("other_config")?.map_get_str("dscp")?;
    v.trim().parse::<u8>().ok().filter(|d| *d <= 63)
}

impl Managers {
    /// Managers of `server`; `cli_tls` = the daemon's SSL options
    /// (`--private-key`, `--certificate`, `--ca-cert` or
    /// `--bootstrap-ca-cert`, `--peer-ca-cert`, `--ssl-protocols`,
    /// `--ssl-ciphers`), whose files the caller has already loaded into
    /// the server if all are given. `bootstrap_ca_cert` without a CA file
    /// (`--bootstrap-ca-cert=db:…`) bootstraps the `SSL` row's CA.
    pub fn new(server: Server, cli_tls: TlsSettings) -> Managers {
        let tls_loaded = cli_tls
            .files()
            .is_some()
            .then(|| (cli_tls.clone(), mtimes(&cli_tls)));
        Managers {
            server,
            cli_tls,
            tls_loaded,
            tls_error: None,
            running: BTreeMap::new(),
            failed: BTreeMap::new(),
            noted: BTreeSet::new(),
        }
    }

    /// Resolves when a manager connection opened or closed (then call
    /// [`Managers::status_ops`]).
    pub async fn changed(&self) {
        self.server.remote_changed().await
    }

    /// The targets currently served.
    pub fn targets(&self) -> Vec<String> {
        self.running.keys().cloned().collect()
    }

    /// The `Manager` rows referenced by the `Open_vSwitch` row.
    fn wanted(db: &Database) -> Vec<&Row> {
        let (Some(ovs), Some(mt)) = (db.table("Open_vSwitch"), db.table("Manager")) else {
            return Vec::new();
        };
        let Some(root) = ovs.iter().next() else {
            return Vec::new();
        };
        root.get("manager_options")
            .map(|d| d.uuids().filter_map(|u| mt.get(&u)).map(|r| &**r).collect())
            .unwrap_or_default()
    }

    /// The SSL settings wanted: the `SSL` row's files (when all three
    /// columns are set; bootstrapped if its `bootstrap_ca_cert` is true)
    /// with the command line's other options, else the command line's.
    fn wanted_tls(&self, db: &Database) -> Option<TlsSettings> {
        let row = db
            .table("Open_vSwitch")
            .and_then(|t| t.iter().next())
            .and_then(|r| r.get("ssl").and_then(Datum::as_uuid))
            .and_then(|u| db.row("SSL", &u));
        if let Some(r) = row {
            if let (Some(k), Some(c), Some(ca)) = (
                opt_str(r, "private_key"),
                opt_str(r, "certificate"),
                opt_str(r, "ca_cert"),
            ) {
                let files = TlsFiles {
                    private_key: k.into(),
                    certificate: c.into(),
                    ca_cert: ca.into(),
                };
                let bootstrap = r
                    .get("bootstrap_ca_cert")
                    .and_then(Datum::as_bool)
                    .unwrap_or(false);
                let mut s = self.cli_tls.with_files(&files);
                s.bootstrap_ca_cert = bootstrap || self.cli_tls.bootstrap_ca_cert;
                return Some(s);
            }
        }
        self.cli_tls.files().map(|_| self.cli_tls.clone())
    }

    /// Loads the wanted SSL files when they differ from (or changed on disk
    /// since) the loaded ones.
    fn apply_tls(&mut self, db: &Database) {
        let want = self.wanted_tls(db);
        let current = self.tls_loaded.as_ref();
        let up_to_date = match (&want, current) {
            (None, None) => true,
            (Some(w), Some((f, t))) => w == f && mtimes(w) == *t,
            _ => false,
        };
        if up_to_date {
            return;
        }
        match want {
            None => {
                self.server.set_tls(None);
                self.tls_loaded = None;
                self.tls_error = None;
            }
            Some(settings) => {
                let times = mtimes(&settings);
                match TlsConfig::from_settings(&settings) {
                    Ok(cfg) => {
                        let files = cfg.files();
                        tracing::info!(
                            "SSL: using {} / {} / {}{}",
                            files.private_key.display(),
                            files.certificate.display(),
                            files.ca_cert.display(),
                            if cfg.is_bootstrapping() {
                                " (CA certificate to be bootstrapped)"
                            } else {
                                ""
                            }
                        );
                        for w in cfg.warnings() {
                            tracing::warn!("SSL: {w}");
                        }
                        self.server.set_tls(Some(cfg));
                        self.tls_loaded = Some((settings, times));
                        self.tls_error = None;
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        if self.tls_error.as_deref() != Some(msg.as_str()) {
                            tracing::warn!("{msg}");
                            self.tls_error = Some(msg);
                        }
                    }
                }
            }
        }
    }

    /// Applies `db`'s managers and SSL settings; returns the status updates
    /// to write (connection-state changes only).
    pub fn reconfigure(&mut self, db: &Database) -> Vec<Value> {
        self.apply_tls(db);
        let rows = Self::wanted(db);
        let mut want: BTreeMap<String, &Row> = BTreeMap::new();
        for r in &rows {
            if let Some(t) = opt_str(r, "target") {
                want.insert(t.to_string(), r);
            }
        }
        // Removed managers: close.
        let gone: Vec<String> = self
            .running
            .keys()
            .filter(|t| !want.contains_key(*t))
            .cloned()
            .collect();
        for t in gone {
            tracing::info!("{t}: manager removed");
            self.running.remove(&t);
        }
        let want_set: BTreeSet<&String> = want.keys().collect();
        self.failed.retain(|t, _| want_set.contains(t));
        self.noted.retain(|(t, _)| want_set.contains(t));
        // New or changed managers.
        for (target, row) in &want {
            let remote = match Remote::parse(target) {
                Ok(r) => r,
                Err(e) => {
                    self.note_failure(target, e.to_string());
                    continue;
                }
            };
            let options = manager_options(&remote, row);
            let bad_dscp = row
                .get("other_config")
                .and_then(|m| m.map_get_str("dscp"))
                .filter(|_| manager_dscp(row).is_none());
            if let Some(bad) = bad_dscp {
                let note = format!(
                    "other_config:dscp={bad:?} is not an integer 0..63, using {}",
                    options.dscp
                );
                if self.noted.insert((target.clone(), note.clone())) {
                    tracing::warn!("{target}: {note}");
                }
            }
            if opt_str(row, "connection_mode") == Some("in-band") {
                let note = "connection_mode=in-band: oxvs reaches managers out-of-band only";
                if self.noted.insert((target.clone(), note.to_string())) {
                    tracing::info!("{target}: {note}");
                }
            }
            if let Some(r) = self.running.get(target) {
                if r.handle.options() != options {
                    r.handle.set_options(options);
                }
                continue;
            }
            match self.server.add_remote(&remote, options) {
                Ok(handle) => {
                    match handle.local_addr() {
                        Some(a) => tracing::info!("{target}: listening on {a}"),
                        None => tracing::info!("{target}: manager added"),
                    }
                    self.failed.remove(target);
                    self.running.insert(target.clone(), Running { handle });
                }
                Err(e) => self.note_failure(target, e.to_string()),
            }
        }
        self.status_ops(db, false)
    }

    fn note_failure(&mut self, target: &str, why: String) {
        if self.failed.get(target) != Some(&why) {
            tracing::warn!("{target}: {why}");
            self.failed.insert(target.to_string(), why);
        }
    }

    /// Periodic work: retries failed targets, reloads changed SSL files,
    /// and returns every status update including the `sec_since_*`
    /// counters.
    pub fn refresh(&mut self, db: &Database) -> Vec<Value> {
        let _ = self.reconfigure(db);
        self.status_ops(db, true)
    }

    /// `Manager.is_connected`/`status` updates for rows whose values differ
    /// from the database; with `with_times` false, differences only in the
    /// `sec_since_connect`/`sec_since_disconnect` counters are ignored.
    pub fn status_ops(&self, db: &Database, with_times: bool) -> Vec<Value> {
        let mut ops = Vec::new();
        for row in Self::wanted(db) {
            let Some(target) = opt_str(row, "target") else {
                continue;
            };
            let status = self
                .running
                .get(target)
                .map(|r| r.handle.status())
                .unwrap_or_default();
            let map = status.to_map();
            let new_status = Datum::map(
                map.iter()
                    .map(|(k, v)| (Atom::from(*k), Atom::from(v.clone()))),
            );
            let new_conn = Datum::scalar(status.is_connected);
            let old_conn = row.get("is_connected");
            let old_status = row.get("status");
            let strip = |d: &Datum| -> Vec<(String, String)> {
                d.pairs()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                    .filter(|(k, _)| with_times || !k.starts_with("sec_since_"))
                    .collect()
            };
            let status_same = old_status.map(strip) == Some(strip(&new_status));
            let conn_same = old_conn == Some(&new_conn);
            if status_same && conn_same {
                continue;
            }
            ops.push(json!({
                "op": "update",
                "table": "Manager",
                "where": [["_uuid", "==", ["uuid", row.uuid.to_string()]]],
                "row": {"is_connected": new_conn.to_json(), "status": new_status.to_json()},
            }));
        }
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::DatabaseSchema;

    fn server() -> Server {
        let schema = DatabaseSchema::from_json(
            &serde_json::from_str(crate::daemon::VSWITCH_SCHEMA).unwrap(),
        )
        .unwrap();
        let s = Server::new(Database::new(schema), None);
        let r = s.transact(&[json!({"op":"insert","table":"Open_vSwitch","row":{}})]);
        assert!(r[0].get("error").is_none(), "{r}");
        s
    }

    fn set_managers(s: &Server, rows: &[Value]) {
        let mut ops = Vec::new();
        let mut refs = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let name = format!("m{i}");
            ops.push(json!({"op":"insert","table":"Manager","uuid-name":name,"row":row}));
            refs.push(json!(["named-uuid", name]));
        }
        ops.push(json!({"op":"update","table":"Open_vSwitch","where":[],
            "row":{"manager_options":["set", refs]}}));
        let r = s.transact(&ops);
        assert!(
            r.as_array()
                .unwrap()
                .iter()
                .all(|x| x.get("error").is_none()),
            "{r}"
        );
    }

    /// Applies `ops` (status updates) to the server.
    fn apply(s: &Server, ops: Vec<Value>) {
        if !ops.is_empty() {
            let r = s.transact(&ops);
            assert!(
                r.as_array()
                    .unwrap()
                    .iter()
                    .all(|x| x.get("error").is_none()),
                "{r}"
            );
        }
    }

    #[test]
    fn options_from_row() {
        let s = server();
        set_managers(
            &s,
            &[
                json!({"target":"ptcp:0:127.0.0.1","inactivity_probe":0,"max_backoff":2500,
                       "other_config":["map",[["dscp","46"]]]}),
                json!({"target":"tcp:127.0.0.1:1","inactivity_probe":1500,
                       "other_config":["map",[["dscp","64"]]], "connection_mode":"in-band"}),
                json!({"target":"punix:/tmp/x"}),
            ],
        );
        let db = s.snapshot();
        let rows = Managers::wanted(&db);
        assert_eq!(rows.len(), 3);
        for row in rows {
            let t = opt_str(row, "target").unwrap();
            let r = Remote::parse(t).unwrap();
            let o = manager_options(&r, row);
            match t {
                "ptcp:0:127.0.0.1" => {
                    assert_eq!(o.probe_interval, None);
                    assert_eq!(o.max_backoff, Duration::from_millis(2500));
                    assert_eq!(o.dscp, 46);
                }
                "tcp:127.0.0.1:1" => {
                    assert_eq!(o.probe_interval, Some(Duration::from_millis(1500)));
                    assert_eq!(o.max_backoff, Duration::from_secs(8));
                    // Out of range: the default.
                    assert_eq!(o.dscp, 48);
                }
                _ => {
                    assert_eq!(o.probe_interval, None);
                    assert_eq!(o.dscp, 48);
                }
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn managers_follow_the_database() {
        let s = server();
        let mut m = Managers::new(s.clone(), TlsSettings::default());
        assert!(m.reconfigure(&s.snapshot()).is_empty());
        set_managers(
            &s,
            &[
                json!({"target":"ptcp:0:127.0.0.1"}),
                json!({"target":"bogus:1"}),
                json!({"target":"pssl:0:127.0.0.1"}),
            ],
        );
        let ops = m.reconfigure(&s.snapshot());
        // Only the ptcp: target runs (bogus: does not parse, pssl: has no
        // SSL configuration); the others get ovsdb-server's zeroed status
        // (only counters, so written on the periodic refresh).
        assert_eq!(m.targets(), vec!["ptcp:0:127.0.0.1".to_string()]);
        assert_eq!(ops.len(), 1, "{ops:?}");
        apply(&s, ops);
        let ops = m.refresh(&s.snapshot());
        assert_eq!(ops.len(), 2, "{ops:?}");
        apply(&s, ops);
        let db = s.snapshot();
        let port = m.running["ptcp:0:127.0.0.1"]
            .handle
            .local_addr()
            .unwrap()
            .port();
        let row = Managers::wanted(&db)
            .into_iter()
            .find(|r| opt_str(r, "target") == Some("ptcp:0:127.0.0.1"))
            .unwrap();
        assert_eq!(
            row.get("status").unwrap().map_get_str("bound_port"),
            Some(port.to_string().as_str())
        );
        // Written status is stable: nothing more to write.
        assert!(m.status_ops(&db, false).is_empty());
        assert!(m.status_ops(&db, true).is_empty());
        // A session: is_connected.
        let c = ovsdb::Client::connect(&format!("tcp:127.0.0.1:{port}"))
            .await
            .unwrap();
        c.request("echo", json!([])).await.unwrap();
        let ops = m.status_ops(&s.snapshot(), false);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0]["row"]["is_connected"], json!(true));
        apply(&s, ops);
        // inactivity_probe applied in place.
        let r = s.transact(&[json!({"op":"update","table":"Manager",
            "where":[["target","==","ptcp:0:127.0.0.1"]],"row":{"inactivity_probe":0}})]);
        assert!(r[0].get("error").is_none());
        m.reconfigure(&s.snapshot());
        assert_eq!(
            m.running["ptcp:0:127.0.0.1"]
                .handle
                .options()
                .probe_interval,
            None
        );
        // Removed: listener and session closed.
        let r = s.transact(&[json!({"op":"update","table":"Open_vSwitch","where":[],
            "row":{"manager_options":["set",[]]}})]);
        assert!(r[0].get("error").is_none());
        m.reconfigure(&s.snapshot());
        assert!(m.targets().is_empty());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(c.request("echo", json!([])).await.is_err());
        assert!(ovsdb::Client::connect(&format!("tcp:127.0.0.1:{port}"))
            .await
            .is_err());
    }
}
