//! `oxvs ovsdb-server`: the OVSDB server alone, for deployments that run
//! the database as its own process (as Open vSwitch's `ovs-ctl` does), with
//! ovsdb-server's flags.
//!
//! ```text
//! oxvs ovsdb-server [DATABASE] [--remote=REMOTE]... [--pidfile[=FILE]]
//!     [--detach] [--no-chdir] [--monitor] [--log-file[=FILE]]
//!     [--unixctl=SOCKET] [-vSPEC]...
//! ```
//! DATABASE defaults to `<OVS_DBDIR>/conf.db` and is created with the
//! built-in Open_vSwitch schema if missing. REMOTE: `punix:PATH`,
//! `ptcp:PORT[:IP]`, `pssl:PORT[:IP]`, and the active `unix:`, `tcp:`,
//! `ssl:`; any `db:DB,TABLE,COLUMN` (as ovs-ctl passes for
//! `manager_options`) applies the Manager table's targets at run time.
//! SSL: `-p`/`--private-key`, `-c`/`--certificate`, `-C`/`--ca-cert` or
//! `--bootstrap-ca-cert` (PEM files, as made by ovs-pki), or the database's
//! SSL row (`--private-key=db:Open_vSwitch,SSL,private_key` and the like, as
//! ovs-ctl passes them); `--peer-ca-cert` (certificates sent after ours, so
//! that clients can bootstrap their CA), `--ssl-protocols` (TLSv1.2,
//! TLSv1.3), `--ssl-ciphers` (OpenSSL syntax). Control
//! socket `<rundir>/ovsdb-server.<pid>.ctl` (so `ovs-appctl -t
//! ovsdb-server` works) answering `exit`, `version`,
//! `ovsdb-server/compact`, `ovsdb-server/list-dbs`,
//! `ovsdb-server/list-remotes`, `ovsdb-server/add-remote`,
//! `ovsdb-server/remove-remote`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ovsdb::remote::Remote;
use ovsdb::{DatabaseSchema, Idl, Journal, RemoteHandle, Server, TlsConfig, TlsSettings};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use vswitchd::manager::Managers;
use vswitchd::paths::Paths;
use vswitchd::pidfile::Pidfile;
use vswitchd::unixctl::Commands;

use crate::detach;

/// Parsed command line.
#[derive(Debug, Default)]
struct Args {
    db_file: Option<PathBuf>,
    remotes: Vec<String>,
    pidfile: Option<PathBuf>,
    detach: bool,
    log_file: Option<String>,
    unixctl: Option<PathBuf>,
    /// SSL options; files given as `db:…` are left out (the SSL row).
    tls: TlsSettings,
}

const USAGE: &str = "\
oxvs ovsdb-server: Open vSwitch-compatible database server
usage: oxvs ovsdb-server [DATABASE] [OPTIONS]
DATABASE is a database file in ovsdb-server format
(default: <OVS_DBDIR>/conf.db, created if missing).

Remotes:
  --remote=REMOTE         connect or listen to REMOTE: punix:PATH, ptcp:PORT[:IP],
                          pssl:PORT[:IP], unix:PATH, tcp:IP:PORT, ssl:IP:PORT,
                          db:DB,TABLE,COLUMN (the Manager table's targets)
  -p, --private-key=FILE  SSL private key (PEM)
  -c, --certificate=FILE  SSL certificate (PEM)
  -C, --ca-cert=FILE      CA certificate that peers must be signed by (PEM)
  --bootstrap-ca-cert=FILE  CA certificate to read, or to create from the
                          first peer that an ssl: remote connects to
  --peer-ca-cert=FILE     CA certificate(s) sent to peers after ours
  --ssl-protocols=LIST    TLSv1.2,TLSv1.3 (default: both)
  --ssl-ciphers=LIST      OpenSSL cipher list (default: HIGH:!aNULL:!MD5)
  (each FILE may be db:Open_vSwitch,SSL,COLUMN: the SSL row's files)
Daemon options:
  --detach                run in background as daemon
  --pidfile[=FILE]        create pidfile (default: <OVS_RUNDIR>/ovsdb-server.pid)
  --no-chdir, --monitor   accepted for compatibility
  --log-file[=FILE]       log to FILE (default: <OVS_LOGDIR>/ovsdb-server.log)
  --unixctl=SOCKET        override default control socket name
";

fn parse(argv: &[String], paths: &Paths) -> Result<Option<Args>, String> {
    let mut a = Args::default();
    let mut dbs = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (arg.as_str(), None),
        };
        // SSL options take FILE/LIST as `--opt=V`, `--opt V`, `-p V`, `-pV`.
        let short = |o: &str| match o {
            "-p" => Some("--private-key"),
            "-c" => Some("--certificate"),
            "-C" => Some("--ca-cert"),
            _ => None,
        };
        let ssl: Option<(&str, Option<String>)> = match name {
            "--private-key"
            | "--certificate"
            | "--ca-cert"
            | "--bootstrap-ca-cert"
            | "--peer-ca-cert"
            | "--ssl-protocols"
            | "--ssl-ciphers" => Some((name, value.map(str::to_string))),
            _ if !arg.starts_with("--") && arg.len() >= 2 && arg.is_char_boundary(2) => {
                short(&arg[..2]).map(|o| (o, (arg.len() > 2).then(|| arg[2..].to_string())))
            }
            _ => None,
        };
        if let Some((opt, inline)) = ssl {
            let v = match inline {
                Some(v) => v,
                None => {
                    let v = argv
                        .get(i)
                        .ok_or_else(|| format!("option '{name}' requires an argument"))?;
                    i += 1;
                    v.clone()
                }
            };
            set_ssl_option(&mut a.tls, opt, v);
            continue;
        }
        match (name, value) {
            ("-h" | "--help", _) => return Ok(None),
            ("--remote", Some(v)) => a.remotes.push(v.to_string()),
            ("--pidfile", v) => {
                a.pidfile = Some(v.map_or_else(|| paths.pidfile("ovsdb-server"), PathBuf::from));
            }
            ("--detach", None) => a.detach = true,
            ("--no-chdir" | "--monitor" | "--overwrite-pidfile", None) => {}
            ("--log-file", v) => a.log_file = Some(v.unwrap_or("").to_string()),
            ("--unixctl", Some(v)) => a.unixctl = Some(PathBuf::from(v)),
            (n, _) if n.starts_with("-v") || n.starts_with("--verbose") => {}
            (n, _) if n.starts_with('-') => {
                return Err(format!("unrecognized option '{arg}'"));
            }
            _ => dbs.push(PathBuf::from(arg)),
        }
    }
    for (list, what) in [(&a.tls.protocols, "protocols"), (&a.tls.ciphers, "ciphers")] {
        if let Some(l) = list {
            let warnings = if what == "protocols" {
                ovsdb::tls::parse_protocols(l).map(|(_, w)| w)?
            } else {
                ovsdb::tls::parse_ciphers(l).map(|(_, w)| w)?
            };
            for w in warnings {
                eprintln!("oxvs ovsdb-server: warning: {w}");
            }
        }
    }
    if dbs.len() > 1 {
        return Err("only one database is supported".into());
    }
    a.db_file = dbs.pop();
    Ok(Some(a))
}

/// Records one SSL option (`opt` is its long name). A `db:DB,TABLE,COLUMN`
/// file means the database's SSL row, which [`Managers`] applies; only
/// `--bootstrap-ca-cert=db:…` leaves a trace (bootstrap that row's CA).
fn set_ssl_option(tls: &mut TlsSettings, opt: &str, v: String) {
    let from_db = v.starts_with("db:");
    let file = (!from_db).then(|| PathBuf::from(&v));
    match opt {
        "--private-key" => tls.private_key = file,
        "--certificate" => tls.certificate = file,
        "--ca-cert" => {
            tls.ca_cert = file;
            tls.bootstrap_ca_cert = false;
        }
        "--bootstrap-ca-cert" => {
            tls.ca_cert = file;
            tls.bootstrap_ca_cert = true;
        }
        "--peer-ca-cert" => tls.peer_ca_cert = file,
        "--ssl-protocols" => tls.protocols = Some(v),
        _ => tls.ciphers = Some(v),
    }
}

/// Entry point; returns the exit status.
pub fn main(argv: &[String]) -> i32 {
    let paths = Paths::from_env();
    let args = match parse(argv, &paths) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("oxvs ovsdb-server: {e}");
            return 1;
        }
    };
    if args.detach {
        let pidfile = args
            .pidfile
            .clone()
            .unwrap_or_else(|| paths.pidfile("ovsdb-server"));
        let child = detach::child_args(
            argv,
            args.pidfile.is_none().then_some(pidfile.as_path()),
            args.log_file.is_some(),
        );
        let ctl = args.unixctl.clone();
        let rundir = paths.rundir.clone();
        return detach::spawn_and_wait("ovsdb-server", &child, &pidfile, move |pid| {
            ctl.clone()
                .unwrap_or_else(|| rundir.join(format!("ovsdb-server.{pid}.ctl")))
                .exists()
        });
    }
    detach::init_logging(&paths, args.log_file.as_deref(), "ovsdb-server.log");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oxvs ovsdb-server: {e}");
            return 1;
        }
    };
    match runtime.block_on(run(paths, args)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("oxvs ovsdb-server: {e}");
            1
        }
    }
}

/// The remotes opened from `--remote` and `ovsdb-server/add-remote`
/// (`None` for a `db:` remote, which the Manager logic serves).
type Listeners = Arc<Mutex<BTreeMap<String, Option<RemoteHandle>>>>;

/// Opens `remote` on `server`. Errors: a malformed remote, an SSL remote
/// without SSL configuration, or a socket that cannot be bound.
fn open_remote(server: &Server, remote: &str) -> Result<Option<RemoteHandle>, String> {
    if remote.starts_with("db:") {
        return Ok(None);
    }
    let r = Remote::parse(remote).map_err(|e| format!("{remote}: {e}"))?;
    let h = server
        .add_remote(&r, r.default_options())
        .map_err(|e| format!("{remote}: {e}"))?;
    if let Some(addr) = h.local_addr() {
        tracing::info!("{remote}: listening on {addr}");
    }
    Ok(Some(h))
}

async fn run(paths: Paths, args: Args) -> Result<(), String> {
    let _pidfile = match &args.pidfile {
        Some(p) => Some(Pidfile::create(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let db_file = args.db_file.clone().unwrap_or_else(|| paths.db_file());
    if let Some(dir) = db_file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let schema_json: serde_json::Value = serde_json::from_str(vswitchd::daemon::VSWITCH_SCHEMA)
        .map_err(|e| format!("built-in schema: {e}"))?;
    let schema = DatabaseSchema::from_json(&schema_json).map_err(|e| e.to_string())?;
    let (journal, db) = Journal::open_or_create(&db_file, &schema).map_err(|e| e.to_string())?;
    tracing::info!("{}: opened database {}", db_file.display(), db.name());
    let server = Server::new(db, Some(journal));
    let tls = args.tls.clone();
    if tls.is_configured() {
        if tls.files().is_none() {
            return Err(
                "--private-key, --certificate and --ca-cert (or --bootstrap-ca-cert) go together"
                    .into(),
            );
        }
        let cfg = TlsConfig::from_settings(&tls).map_err(|e| e.to_string())?;
        for w in cfg.warnings() {
            tracing::warn!("SSL: {w}");
        }
        server.set_tls(Some(cfg));
    }
    let listeners: Listeners = Arc::new(Mutex::new(BTreeMap::new()));
    for r in &args.remotes {
        let h = open_remote(&server, r)?;
        listeners.lock().insert(r.clone(), h);
    }
    let managers = Managers::new(server.clone(), tls);
    let idl = Idl::connect(server.connect_local(), "Open_vSwitch", None)
        .await
        .map_err(|e| e.to_string())?;
    let manager_task = tokio::spawn(manager_loop(idl, managers));
    std::fs::create_dir_all(&paths.rundir).map_err(|e| e.to_string())?;
    let ctl = args
        .unixctl
        .clone()
        .unwrap_or_else(|| paths.ctl_socket("ovsdb-server", std::process::id()));
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel::<()>();
    let commands = Arc::new(commands(&server, &listeners, exit_tx));
    let ctl_task = {
        let ctl = ctl.clone();
        tokio::spawn(async move {
            if let Err(e) = vswitchd::unixctl::serve(&ctl, commands).await {
                tracing::error!("{}: control socket: {e}", ctl.display());
            }
        })
    };
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tracing::info!("oxvs ovsdb-server {} started", env!("CARGO_PKG_VERSION"));
    tokio::select! {
        _ = sigterm.recv() => tracing::info!("SIGTERM: exiting"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: exiting"),
        _ = exit_rx.recv() => tracing::info!("exit requested"),
    }
    ctl_task.abort();
    manager_task.abort();
    // Dropping a handle closes its listener (and removes a punix socket).
    listeners.lock().clear();
    let _ = std::fs::remove_file(&ctl);
    Ok(())
}

/// Applies the Manager table (targets, probes, SSL row) on every database
/// change and writes Manager status back, as ovsdb-server does for
/// `--remote=db:Open_vSwitch,Open_vSwitch,manager_options`.
async fn manager_loop(mut idl: Idl, mut managers: Managers) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ops = managers.reconfigure(idl.replica());
    loop {
        if !ops.is_empty() {
            if let Err(e) = idl.transact(std::mem::take(&mut ops)).await {
                tracing::warn!("Manager status update failed: {e}");
            }
            if vswitchd::daemon::config_changed(&idl.take_unseen()) {
                ops = managers.reconfigure(idl.replica());
                continue;
            }
        }
        tokio::select! {
            changes = idl.wait_for_change() => {
                if let Err(e) = changes.and_then(|_| idl.poll_changes()) {
                    tracing::error!("database connection lost: {e}");
                    return;
                }
                ops = managers.reconfigure(idl.replica());
            }
            () = managers.changed() => ops = managers.status_ops(idl.replica(), false),
            _ = tick.tick() => ops = managers.refresh(idl.replica()),
        }
    }
}

fn commands(
    server: &Server,
    listeners: &Listeners,
    exit_tx: mpsc::UnboundedSender<()>,
) -> Commands {
    let mut c = Commands::new();
    c.register_version_and_exit("ovsdb-server", "", 0, exit_tx);
    let s = server.clone();
    c.register(
        "ovsdb-server/compact",
        "[DB]",
        0,
        1,
        Box::new(move |a| {
            let name = s.snapshot().name().to_string();
            match a.first() {
                Some(db) if *db != name => Err(format!("{db}: no database by that name\n")),
                _ => s
                    .compact()
                    .map(|()| String::new())
                    .map_err(|e| format!("{e}\n")),
            }
        }),
    );
    let s = server.clone();
    c.register(
        "ovsdb-server/list-dbs",
        "",
        0,
        0,
        Box::new(move |_| Ok(format!("{}\n", s.snapshot().name()))),
    );
    let l = listeners.clone();
    c.register(
        "ovsdb-server/list-remotes",
        "",
        0,
        0,
        Box::new(move |_| Ok(l.lock().keys().map(|r| format!("{r}\n")).collect())),
    );
    let l = listeners.clone();
    let s = server.clone();
    let rt = tokio::runtime::Handle::current();
    c.register(
        "ovsdb-server/add-remote",
        "REMOTE",
        1,
        1,
        Box::new(move |a| {
            let remote = a[0].clone();
            if l.lock().contains_key(&remote) {
                return Ok(String::new());
            }
            // Handlers run on a blocking thread; binding needs the runtime.
            let _guard = rt.enter();
            let h = open_remote(&s, &remote).map_err(|e| format!("{e}\n"))?;
            l.lock().insert(remote, h);
            Ok(String::new())
        }),
    );
    let l = listeners.clone();
    c.register(
        "ovsdb-server/remove-remote",
        "REMOTE",
        1,
        1,
        Box::new(move |a| match l.lock().remove(&a[0]) {
            // Dropping the handle closes the remote and its sessions.
            Some(_) => Ok(String::new()),
            None => Err("can't find remote\n".into()),
        }),
    );
    c
}
