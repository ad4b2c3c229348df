//! `oxvs daemon`: command-line front end of [`vswitchd::daemon`].

use std::path::PathBuf;

use clap::Parser;
use vswitchd::paths::Paths;

/// Runs the OVSDB server and the switch in one process.
#[derive(Parser, Debug)]
#[command(name = "oxvs daemon")]
struct Args {
    /// Run in the background once the database and control sockets are up.
    #[arg(long)]
    detach: bool,
    /// Database journal (default <OVS_DBDIR>/conf.db).
    #[arg(long)]
    db_file: Option<PathBuf>,
    /// Extra OVSDB remote (repeatable): listen with ptcp:[PORT][:IP],
    /// pssl:[PORT][:IP], punix:PATH; connect out with tcp:IP[:PORT],
    /// ssl:IP[:PORT], unix:PATH.
    #[arg(long)]
    remote: Vec<String>,
    /// SSL private key (PEM) for pssl:/ssl: remotes.
    #[arg(short = 'p', long, requires_all = ["certificate"])]
    private_key: Option<PathBuf>,
    /// SSL certificate (PEM) presented to peers.
    #[arg(short = 'c', long, requires_all = ["private_key"])]
    certificate: Option<PathBuf>,
    /// CA certificate (PEM) that peers' certificates must be signed by
    /// (`none`: peers are not verified, a security risk).
    #[arg(short = 'C', long, requires_all = ["private_key", "certificate"])]
    ca_cert: Option<PathBuf>,
    /// CA certificate (PEM) to read, or, if missing, to create from the
    /// CA certificate of the first server an ssl: remote connects to.
    #[arg(long, conflicts_with = "ca_cert", requires_all = ["private_key", "certificate"])]
    bootstrap_ca_cert: Option<PathBuf>,
    /// CA certificate(s) (PEM) sent to peers after ours, so that they can
    /// bootstrap their CA certificate.
    #[arg(long)]
    peer_ca_cert: Option<PathBuf>,
    /// SSL protocols to enable: TLSv1.2, TLSv1.3 (comma-separated;
    /// TLSv1 and TLSv1.1 are not supported and ignored).
    #[arg(long)]
    ssl_protocols: Option<String>,
    /// SSL cipher suites, OpenSSL cipher-list syntax (default
    /// HIGH:!aNULL:!MD5, every suite of rustls).
    #[arg(long)]
    ssl_ciphers: Option<String>,
    /// Log to a file (default <OVS_LOGDIR>/ovs-vswitchd.log) instead of stderr.
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    log_file: Option<String>,
    /// Number of forwarding threads.
    #[arg(long, default_value_t = 1)]
    n_threads: usize,
}

/// Entry point; returns the exit status.
pub fn main(argv: &[String]) -> i32 {
    let args = match Args::try_parse_from(
        std::iter::once("oxvs daemon".to_string()).chain(argv.iter().cloned()),
    ) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    let bootstrap = args.bootstrap_ca_cert.is_some();
    let tls = ovsdb::TlsSettings {
        private_key: args.private_key,
        certificate: args.certificate,
        ca_cert: args.ca_cert.or(args.bootstrap_ca_cert),
        bootstrap_ca_cert: bootstrap,
        peer_ca_cert: args.peer_ca_cert,
        protocols: args.ssl_protocols,
        ciphers: args.ssl_ciphers,
    };
    if tls.is_configured() && tls.files().is_none() {
        eprintln!(
            "oxvs daemon: --private-key, --certificate and --ca-cert (or --bootstrap-ca-cert) go together"
        );
        return 1;
    }
    let checks = [
        tls.protocols
            .as_deref()
            .map(|l| ovsdb::tls::parse_protocols(l).map(|(_, w)| w)),
        tls.ciphers
            .as_deref()
            .map(|l| ovsdb::tls::parse_ciphers(l).map(|(_, w)| w)),
    ];
    for check in checks.into_iter().flatten() {
        match check {
            Ok(warnings) => {
                for w in warnings {
                    eprintln!("oxvs daemon: warning: {w}");
                }
            }
            Err(e) => {
                eprintln!("oxvs daemon: {e}");
                return 1;
            }
        }
    }
    let paths = Paths::from_env();
    if args.detach {
        return detach(argv, &paths, args.log_file.as_deref());
    }
    crate::detach::init_logging(&paths, args.log_file.as_deref(), "ovs-vswitchd.log");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oxvs daemon: {e}");
            return 1;
        }
    };
    let opts = vswitchd::daemon::Options {
        db_file: args.db_file,
        remotes: args.remote,
        tls,
        n_threads: args.n_threads,
    };
    match runtime.block_on(vswitchd::daemon::run(paths, opts)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("oxvs daemon: {e}");
            1
        }
    }
}

/// `--detach`: the same daemon again in the background (logging to its
/// file), returning once its pid file, control socket and database socket
/// are up, as OVS's --detach does.
fn detach(argv: &[String], paths: &Paths, log_file: Option<&str>) -> i32 {
    let child = crate::detach::child_args(argv, None, log_file.is_some());
    let pidfile = paths.pidfile("ovs-vswitchd");
    crate::detach::spawn_and_wait("daemon", &child, &pidfile, |pid| {
        paths.ctl_socket("ovs-vswitchd", pid).exists() && paths.db_sock().exists()
    })
}
