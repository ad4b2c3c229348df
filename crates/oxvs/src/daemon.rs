//! `oxvs daemon`: command-line front end of [`vswitchd::daemon`].

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    #[arg(long, requires_all = ["certificate", "ca_cert"])]
    private_key: Option<PathBuf>,
    /// SSL certificate (PEM) presented to peers.
    #[arg(long, requires_all = ["private_key", "ca_cert"])]
    certificate: Option<PathBuf>,
    /// CA certificate (PEM) that peers' certificates must be signed by.
    #[arg(long, requires_all = ["private_key", "certificate"])]
    ca_cert: Option<PathBuf>,
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
    let paths = Paths::from_env();
    if args.detach {
        return detach(argv, &paths, args.log_file.as_deref());
    }
    init_logging(&paths, args.log_file.as_deref());
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
        tls: match (args.private_key, args.certificate, args.ca_cert) {
            (Some(private_key), Some(certificate), Some(ca_cert)) => Some(ovsdb::TlsFiles {
                private_key,
                certificate,
                ca_cert,
            }),
            _ => None,
        },
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

fn init_logging(paths: &Paths, log_file: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match log_file {
        Some(f) => {
            let path = if f.is_empty() {
                paths.logdir.join("ovs-vswitchd.log")
            } else {
                PathBuf::from(f)
            };
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                Ok(file) => builder.with_writer(std::sync::Mutex::new(file)).init(),
                Err(e) => {
                    builder.init();
                    tracing::warn!("{}: {e}; logging to stderr", path.display());
                }
            }
        }
        None => builder.init(),
    }
}

/// Starts the daemon again in the background (own session, no terminal)
/// and returns once it answers on its control socket, as OVS's --detach
/// does; status 1 if it did not come up within 15 s.
fn detach(argv: &[String], paths: &Paths, log_file: Option<&str>) -> i32 {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("oxvs daemon: {e}");
            return 1;
        }
    };
    let mut child_args: Vec<String> = vec!["daemon".into()];
    child_args.extend(argv.iter().filter(|a| *a != "--detach").cloned());
    if log_file.is_none() {
        child_args.push("--log-file".into());
    }
    let mut cmd = Command::new(exe);
    cmd.args(&child_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and only detaches the child from
    // our session and terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("oxvs daemon: {e}");
            return 1;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let pidfile = paths.pidfile("ovs-vswitchd");
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!(
                "oxvs daemon: failed to start ({status}); see {}",
                paths.logdir.join("ovs-vswitchd.log").display()
            );
            return 1;
        }
        if let Ok(pid) = vswitchd::pidfile::read_pidfile(&pidfile) {
            if pid == child.id()
                && paths.ctl_socket("ovs-vswitchd", pid).exists()
                && paths.db_sock().exists()
            {
                return 0;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("oxvs daemon: did not come up within 15 s");
    1
}
