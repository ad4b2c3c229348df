//! The switch daemon: the OVSDB server, the datapath, the bridges and the
//! control socket in one process (the "embedded default" of ARCHITECTURE.md).
//!
//! Start-up order: pid file (refuse to run twice) → database journal (replayed)
//! → OVSDB server on `<rundir>/db.sock` (+ extra remotes) → datapath and
//! backer → control socket → reconciler. The reconciler is a client of the
//! database like any other (an in-process connection speaking the same
//! JSON-RPC), so a separate `--db=unix:…` server would work the same way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use datapath::route::RouteTable;
use datapath::Datapath;
use ofproto::Backer;
use ovsdb::{DatabaseSchema, Idl, Journal, Remote, Server, TlsConfig, TlsSettings};
use tokio::sync::mpsc;

use crate::bridge::Reconciler;
use crate::manager::Managers;
use crate::paths::Paths;
use crate::pidfile::Pidfile;
use crate::unixctl::Commands;

/// The Open_vSwitch schema served by the daemon (Open vSwitch 8.3.1).
pub const VSWITCH_SCHEMA: &str = include_str!("../../ovsdb/schemas/vswitch.ovsschema");

/// Daemon settings.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Database journal file (default `<dbdir>/conf.db`).
    pub db_file: Option<PathBuf>,
    /// Extra OVSDB remotes: `ptcp:`, `pssl:`, `punix:` (listen) and `tcp:`,
    /// `ssl:`, `unix:` (connect out); `db:…` names are accepted and ignored
    /// (the `Manager` table is always applied).
    pub remotes: Vec<String>,
    /// SSL options: `--private-key`, `--certificate`, `--ca-cert` (or
    /// `--bootstrap-ca-cert`) for SSL remotes (the `SSL` table overrides
    /// these files when set), `--peer-ca-cert`, `--ssl-protocols`,
    /// `--ssl-ciphers`.
    pub tls: TlsSettings,
    /// Forwarding threads (default 1).
    pub n_threads: usize,
}

/// Errors that stop the daemon from starting.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A file or socket could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The database could not be opened or served.
    #[error("{0}")]
    Ovsdb(#[from] ovsdb::Error),
    /// A remote is not understood.
    #[error("{0}: unknown remote (expected ptcp:, pssl:, punix:, tcp:, ssl: or unix:)")]
    BadRemote(String),
}

/// Runs the daemon until SIGTERM/SIGINT or `ovs-appctl exit`.
pub async fn run(paths: Paths, opts: Options) -> Result<(), DaemonError> {
    std::fs::create_dir_all(&paths.rundir)?;
    let db_file = opts.db_file.clone().unwrap_or_else(|| paths.db_file());
    if let Some(dir) = db_file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _pidfile = Pidfile::create(&paths.pidfile("ovs-vswitchd"))?;

    let schema = DatabaseSchema::from_json(
        &serde_json::from_str(VSWITCH_SCHEMA).expect("built-in schema is JSON"),
    )?;
    let (journal, db) = Journal::open_or_create(&db_file, &schema)?;
    tracing::info!("{}: opened database", db_file.display());
    let server = Server::new(db, Some(journal));
    let _unix = server.listen_unix(paths.db_sock())?;
    if opts.tls.files().is_some() {
        let cfg = TlsConfig::from_settings(&opts.tls)?;
        for w in cfg.warnings() {
            tracing::warn!("SSL: {w}");
        }
        server.set_tls(Some(cfg));
    }
    let mut static_remotes = Vec::new();
    for name in &opts.remotes {
        if name.starts_with("db:") {
            continue;
        }
        let remote = Remote::parse(name).map_err(|_| DaemonError::BadRemote(name.clone()))?;
        let h = server.add_remote(&remote, remote.default_options())?;
        match h.local_addr() {
            Some(a) => tracing::info!("OVSDB listening on {a} ({remote})"),
            None => tracing::info!("OVSDB remote {remote}"),
        }
        static_remotes.push(h);
    }
    let managers = Managers::new(server.clone(), opts.tls.clone());

    let backer = Backer::new();
    let datapath = Arc::new(Datapath::with_threads(
        backer.clone(),
        opts.n_threads.max(1),
    ));
    backer.set_datapath(Arc::downgrade(&datapath));
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel::<()>();
    let commands = Arc::new(commands(&backer, &datapath, &server, exit_tx));
    let ctl = paths.ctl_socket("ovs-vswitchd", std::process::id());
    let ctl_task = {
        let ctl = ctl.clone();
        let commands = commands.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::unixctl::serve(&ctl, commands).await {
                tracing::error!("{}: control socket: {e}", ctl.display());
            }
        })
    };

    let connmgr = ofproto::connmgr::ConnMgr::new(
        ofproto::connmgr::BackerOps::new(backer.clone(), datapath.clone()),
        paths.rundir.clone(),
    )?;
    let idl = Idl::connect(server.connect_local(), "Open_vSwitch", None).await?;
    let reconciler =
        Reconciler::new(datapath.clone(), backer.clone()).with_connmgr(connmgr.clone());
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tracing::info!("oxvs {} started", env!("CARGO_PKG_VERSION"));
    tokio::select! {
        r = reconcile_loop(idl, reconciler, managers, backer.clone(), server.clone(), connmgr.clone()) => {
            if let Err(e) = r {
                tracing::error!("database connection lost: {e}");
            }
        }
        _ = sigterm.recv() => tracing::info!("SIGTERM: exiting"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: exiting"),
        _ = exit_rx.recv() => tracing::info!("exit requested"),
    }
    ctl_task.abort();
    drop(static_remotes);
    // Closes OpenFlow connections and removes the management sockets.
    connmgr.reconfigure(&[]);
    // The devices the switch made go with it, in one kernel batch (letting
    // the process exit close them costs ~20 ms each).
    let ports: Vec<u32> = datapath.ports().iter().map(|p| p.0).collect();
    datapath.del_ports(&ports);
    let _ = std::fs::remove_file(&ctl);
    let _ = std::fs::remove_file(paths.db_sock());
    Ok(())
}

/// Applies every database change, writes status back, and ages MAC tables.
/// `ssl:` controllers follow the SSL settings the managers load into
/// `server`.
async fn reconcile_loop(
    mut idl: Idl,
    mut reconciler: Reconciler,
    mut managers: Managers,
    backer: Arc<Backer>,
    server: Server,
    connmgr: Arc<ofproto::connmgr::ConnMgr>,
) -> Result<(), ovsdb::Error> {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    let mut ops = managers.reconfigure(idl.replica());
    connmgr.set_ssl(crate::controllers::ssl_connect(server.tls()));
    ops.extend(reconciler.reconfigure(idl.replica()));
    loop {
        if !ops.is_empty() {
            match idl.transact(std::mem::take(&mut ops)).await {
                Ok(results) => {
                    if let Some(err) = results.iter().find(|r| r.get("error").is_some()) {
                        tracing::warn!("status update failed: {err}");
                        reconciler.forget_status();
                    }
                }
                Err(e) => {
                    tracing::warn!("status update failed: {e}");
                    reconciler.forget_status();
                }
            }
            // A client's change that arrived while we waited for our reply
            // was applied to the replica already: act on it now.
            if config_changed(&idl.take_unseen()) {
                ops = managers.reconfigure(idl.replica());
                connmgr.set_ssl(crate::controllers::ssl_connect(server.tls()));
                ops.extend(reconciler.reconfigure(idl.replica()));
                continue;
            }
        }
        tokio::select! {
            changes = idl.wait_for_change() => {
                changes?;
                // Take every change already queued before reconfiguring.
                idl.poll_changes()?;
                ops = managers.reconfigure(idl.replica());
                connmgr.set_ssl(crate::controllers::ssl_connect(server.tls()));
                ops.extend(reconciler.reconfigure(idl.replica()));
            }
            () = managers.changed() => ops = managers.status_ops(idl.replica(), false),
            () = connmgr.status_changed() => {
                ops = reconciler.controller_status(idl.replica(), false);
            }
            _ = tick.tick() => {
                backer.run_periodic();
                ticks += 1;
                if ticks.is_multiple_of(5) {
                    ops = managers.refresh(idl.replica());
                    connmgr.set_ssl(crate::controllers::ssl_connect(server.tls()));
                    ops.extend(reconciler.refresh(idl.replica()));
                }
            }
        }
    }
}

/// Columns the switch itself writes (status), as OVS marks them with
/// `ovsdb_idl_omit_alert`: a change to these alone is not configuration.
const STATUS_COLUMNS: &[(&str, &str)] = &[
    ("Open_vSwitch", "cur_cfg"),
    ("Open_vSwitch", "datapath_types"),
    ("Open_vSwitch", "iface_types"),
    ("Open_vSwitch", "statistics"),
    ("Bridge", "datapath_id"),
    ("Bridge", "datapath_version"),
    ("Bridge", "status"),
    ("Bridge", "rstp_status"),
    ("Port", "statistics"),
    ("Port", "status"),
    ("Port", "rstp_status"),
    ("Port", "rstp_statistics"),
    ("Interface", "ofport"),
    ("Interface", "error"),
    ("Interface", "mac_in_use"),
    ("Interface", "mtu"),
    ("Interface", "ifindex"),
    ("Interface", "admin_state"),
    ("Interface", "link_state"),
    ("Interface", "link_speed"),
    ("Interface", "link_resets"),
    ("Interface", "duplex"),
    ("Interface", "status"),
    ("Interface", "statistics"),
    ("Interface", "lacp_current"),
    ("Interface", "bfd_status"),
    ("Manager", "is_connected"),
    ("Manager", "status"),
    ("Controller", "is_connected"),
    ("Controller", "status"),
    ("Controller", "role"),
];

/// Whether `changes` touch configuration: a row inserted or deleted, or a
/// column other than [`STATUS_COLUMNS`] modified.
pub fn config_changed(changes: &ovsdb::Changes) -> bool {
    changes.tables.iter().any(|(table, rows)| {
        rows.values().any(|rc| match (&rc.old, &rc.new) {
            (Some(old), Some(new)) => new.columns.iter().any(|(col, v)| {
                old.columns.get(col) != Some(v)
                    && !STATUS_COLUMNS.contains(&(table.as_str(), col.as_str()))
            }),
            _ => true,
        })
    })
}

fn commands(
    backer: &Arc<Backer>,
    datapath: &Arc<Datapath>,
    server: &Server,
    exit_tx: mpsc::UnboundedSender<()>,
) -> Commands {
    let mut c = Commands::new();
    c.register_version_and_exit("ovs-vswitchd", "[--cleanup]", 1, exit_tx);
    register_route_commands(&mut c);
    let b = backer.clone();
    c.register(
        "fdb/show",
        "bridge",
        1,
        1,
        Box::new(move |a| {
            b.fdb_show(&a[0])
                .ok_or_else(|| "no such bridge\n".to_string())
        }),
    );
    let b = backer.clone();
    c.register(
        "fdb/flush",
        "[bridge]",
        0,
        1,
        Box::new(move |a| b.fdb_flush(a.first().map(String::as_str))),
    );
    let b = backer.clone();
    c.register(
        "ofproto/trace",
        "{[dp_name] odp_flow | bridge br_flow} [OPTIONS] [-generate|packet]",
        1,
        usize::MAX,
        Box::new(move |a| match a {
            [bridge, flow, ..] => b.trace(bridge, flow),
            _ => Err(
                "oxvs: ofproto/trace with a datapath flow is not supported; \
                      use BRIDGE BR_FLOW\n"
                    .to_string(),
            ),
        }),
    );
    let dp = datapath.clone();
    c.register(
        "dpctl/dump-flows",
        "[-m] [--names | --no-names] [dp] [filter=..] [type=..] [pmd=..]",
        0,
        6,
        Box::new(move |a| {
            check_dp(a)?;
            Ok(dp.dump_flows())
        }),
    );
    let dp = datapath.clone();
    c.register(
        "dpctl/show",
        "[-s] [--names | --no-names] [dp...]",
        0,
        6,
        Box::new(move |a| {
            check_dp(a)?;
            let stats = a.iter().any(|x| x == "-s" || x == "--statistics");
            Ok(dp.show(stats))
        }),
    );
    let dp = datapath.clone();
    c.register(
        "dpctl/del-flows",
        "[dp]",
        0,
        1,
        Box::new(move |a| {
            check_dp(a)?;
            dp.flush_flows();
            Ok(String::new())
        }),
    );
    let s = server.clone();
    c.register(
        "ovsdb-server/compact",
        "[db...]",
        0,
        1,
        Box::new(move |_| {
            s.compact()
                .map(|_| String::new())
                .map_err(|e| format!("{e}\n"))
        }),
    );
    c
}

/// `ovs/route/{show,lookup,add,del}` on the switch's route table
/// ([`datapath::route`]), re-read from the kernel before each command so it
/// follows the host's routes (user routes are kept).
fn register_route_commands(c: &mut Commands) {
    type Table = parking_lot::Mutex<RouteTable>;
    fn fresh(t: &Table) -> parking_lot::MutexGuard<'_, RouteTable> {
        let mut g = t.lock();
        if let Err(e) = g.reload() {
            tracing::warn!("reading the kernel's routes: {e}");
        }
        g
    }
    fn nl(r: Result<String, String>) -> Result<String, String> {
        r.map_err(|e| format!("{e}\n"))
    }
    let table = Arc::new(Table::new(RouteTable::new()));
    let t = table.clone();
    c.register(
        "ovs/route/show",
        "",
        0,
        0,
        Box::new(move |_| Ok(fresh(&t).show())),
    );
    let t = table.clone();
    c.register(
        "ovs/route/lookup",
        "ip_addr",
        1,
        1,
        Box::new(move |a| nl(fresh(&t).lookup_text(&a[0]))),
    );
    let t = table.clone();
    c.register(
        "ovs/route/add",
        "ip_addr/prefix_len out_br_name [gw]",
        2,
        3,
        Box::new(move |a| nl(fresh(&t).add_user(a))),
    );
    c.register(
        "ovs/route/del",
        "ip_addr/prefix_len",
        1,
        1,
        Box::new(move |a| nl(fresh(&table).del(a))),
    );
}

/// Rejects a datapath name other than ours (`ovs-netdev`, `netdev@ovs-netdev`).
fn check_dp(args: &[String]) -> Result<(), String> {
    for a in args
        .iter()
        .filter(|a| !a.starts_with('-') && !a.contains('='))
    {
        if a != "ovs-netdev" && a != "netdev@ovs-netdev" {
            return Err(format!("datapath not found ({a})\n"));
        }
    }
    Ok(())
}
