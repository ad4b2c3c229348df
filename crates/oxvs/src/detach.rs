//! Daemon plumbing shared by `oxvs daemon`, `oxvs ovsdb-server` and
//! `oxvs controller`:
//! `--detach` (start again in the background and wait until ready, as
//! OVS's daemons return only once they serve) and logging set-up.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vswitchd::paths::Paths;

/// The background child's arguments: `argv` without `--detach`, plus
/// `--pidfile=PIDFILE` when the user gave none (readiness is seen through
/// the pid file, so the child always writes one) and `--log-file` when the
/// user gave none (a detached daemon has no terminal to log to).
pub fn child_args(argv: &[String], pidfile: Option<&Path>, has_log_file: bool) -> Vec<String> {
    let mut child: Vec<String> = argv.iter().filter(|a| *a != "--detach").cloned().collect();
    if let Some(p) = pidfile {
        child.push(format!("--pidfile={}", p.display()));
    }
    if !has_log_file {
        child.push("--log-file".into());
    }
    child
}

/// Starts `oxvs SUBCOMMAND ARGS...` in its own session with no terminal,
/// and waits until `pidfile` names the child and `ready(pid)` holds.
/// Returns the exit status for the parent: 0 once ready, 1 if the child
/// exited or did not become ready within 15 s (message on stderr).
pub fn spawn_and_wait(
    subcommand: &str,
    args: &[String],
    pidfile: &Path,
    ready: impl Fn(u32) -> bool,
) -> i32 {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("oxvs {subcommand}: {e}");
            return 1;
        }
    };
    let mut cmd = Command::new(exe);
    cmd.arg(subcommand)
        .args(args)
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
            eprintln!("oxvs {subcommand}: {e}");
            return 1;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("oxvs {subcommand}: failed to start ({status}); see its log file");
            return 1;
        }
        if let Ok(pid) = vswitchd::pidfile::read_pidfile(pidfile) {
            if pid == child.id() && ready(pid) {
                return 0;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("oxvs {subcommand}: did not come up within 15 s");
    1
}

/// Logs to `log_file` (`Some("")`: `<logdir>/<default_name>`) or, with
/// `None`, to stderr; level from `RUST_LOG` (default info).
pub fn init_logging(paths: &Paths, log_file: Option<&str>, default_name: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match log_file {
        Some(f) => {
            let path = if f.is_empty() {
                paths.logdir.join(default_name)
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
