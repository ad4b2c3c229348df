//! `oxvs appctl`: sends one command to a running daemon, like `ovs-appctl`.
//!
//! `oxvs appctl [-t TARGET] [--timeout=SECS] COMMAND [ARG...]`. TARGET
//! defaults to `ovs-vswitchd`; a name is resolved through
//! `<rundir>/TARGET.pid` to `<rundir>/TARGET.<pid>.ctl`, a path starting with
//! `/` is the socket itself. Exit status as ovs-appctl's: 0 on success, 2 if
//! the daemon returned an error, 1 if it could not be reached.

use std::path::PathBuf;

use vswitchd::paths::Paths;
use vswitchd::pidfile::read_pidfile;

/// Runs `oxvs appctl` with `args` (everything after `appctl`); returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let mut target = "ovs-vswitchd".to_string();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if rest.is_empty() && (a == "-t" || a == "--target") {
            i += 1;
            match args.get(i) {
                Some(t) => target = t.clone(),
                None => {
                    eprintln!("ovs-appctl: option '{a}' requires an argument");
                    return 1;
                }
            }
        } else if rest.is_empty() && a.starts_with("--target=") {
            target = a["--target=".len()..].to_string();
        } else if rest.is_empty() && a.starts_with("--timeout=") {
            // Accepted for compatibility; replies are local and prompt.
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    let Some((command, cmd_args)) = rest.split_first() else {
        eprintln!("ovs-appctl: at least one non-option argument is required (use --help for help)");
        return 1;
    };
    let socket = if target.starts_with('/') {
        PathBuf::from(&target)
    } else {
        let paths = Paths::from_env();
        let pidfile = paths.pidfile(&target);
        match read_pidfile(&pidfile) {
            Ok(pid) => paths.ctl_socket(&target, pid),
            Err(e) => {
                eprintln!(
                    "ovs-appctl: cannot read pidfile \"{}\" ({})",
                    pidfile.display(),
                    strerror(&e)
                );
                return 1;
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ovs-appctl: {e}");
            return 1;
        }
    };
    match runtime.block_on(vswitchd::unixctl::call(&socket, command, cmd_args)) {
        Ok(Ok(text)) => {
            print!("{text}");
            0
        }
        Ok(Err(text)) => {
            eprint!("{text}");
            eprintln!("ovs-appctl: {target}: server returned an error");
            2
        }
        Err(e) => {
            eprintln!(
                "ovs-appctl: cannot connect to \"{}\" ({})",
                socket.display(),
                strerror(&e)
            );
            1
        }
    }
}

/// The C library's text for an I/O error, without Rust's " (os error N)".
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
