//! `oxvs vsctl`: a drop-in for Open vSwitch's `ovs-vsctl` (3.1): the same
//! command line, the same transactions against an OVSDB server, the same
//! output and error texts (errors keep the `ovs-vsctl: ` prefix so scripts
//! that match on them keep working).
//!
//! Idea (as in `utilities/ovs-vsctl.c` + `lib/db-ctl-base.c`): the command
//! line is split at `--` into commands, each with its own `--option`s; all
//! commands run against one snapshot of the database (the replica of
//! [`conn::Conn`], an `ovsdb::Idl`) and add to one transaction
//! ([`txn::Txn`]); the commands' outputs are printed only once that
//! transaction has committed (or turned out to change nothing). A failed
//! `wait` ("verify") means the snapshot was stale: wait for the next update
//! from the server and run all commands again. Unless
//! `--no-wait`, the transaction also bumps `Open_vSwitch.next_cfg` and the
//! tool waits until the switch reports `cur_cfg >=` that value.
//! Invariant: nothing is printed on stdout unless the transaction succeeded.
//!
//! `--db=ssl:HOST:PORT` takes ovs-vsctl's SSL options: `-p`/`--private-key`,
//! `-c`/`--certificate`, `-C`/`--ca-cert` (or `--bootstrap-ca-cert=FILE`:
//! trust the server's CA on first use and save it to FILE),
//! `--peer-ca-cert`, `--ssl-protocols` (TLSv1.2, TLSv1.3) and
//! `--ssl-ciphers` (OpenSSL syntax); see [`ovsdb::tls`]. Missing or
//! unusable files are reported with ovs-vsctl's log lines and `database
//! connection failed (Protocol not available)`. Unlike ovs-vsctl, the run
//! that bootstraps the CA certificate goes on with its connection instead
//! of failing once.

mod commands;
mod conn;
mod format;
mod txn;

use std::io::Write;
use std::time::Duration;

use ovsdb::text::Symtab;
use ovsdb::{TlsConfig, TlsSettings};
use serde_json::Value;
use uuid::Uuid;

use conn::Conn;
use format::TableStyle;
use txn::{row_name, Txn};

/// How a command run ends other than success.
#[derive(Debug)]
pub(crate) enum Fail {
    /// Print `ovs-vsctl: MSG` on stderr, exit status 1.
    Fatal(String),
    /// Exit with this status, printing nothing (br-exists → 2).
    Exit(i32),
    /// The snapshot does not satisfy the command yet (wait-until): wait for
    /// a change and run again.
    TryAgain,
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail::Fatal(s)
    }
}

pub(crate) type CmdResult<T = ()> = Result<T, Fail>;

/// One parsed command: its name, per-command options and arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    /// Command name, e.g. `add-br`.
    pub name: String,
    /// `--option[=value]` given before the command name.
    pub options: Vec<(String, Option<String>)>,
    /// Arguments after the name.
    pub args: Vec<String>,
}

impl Command {
    pub fn has(&self, opt: &str) -> bool {
        self.options.iter().any(|(k, _)| k == opt)
    }
    pub fn opt(&self, opt: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == opt)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// `--option[=value]` pairs of one command.
type CmdOptions = Vec<(String, Option<String>)>;

/// Syntax of a command (`struct ctl_command_syntax`).
struct Syntax {
    name: &'static str,
    min_args: usize,
    max_args: usize,
    options: &'static str,
}

const MANY: usize = usize::MAX;

const SYNTAX: &[Syntax] = &[
    Syntax {
        name: "init",
        min_args: 0,
        max_args: 0,
        options: "",
    },
    Syntax {
        name: "show",
        min_args: 0,
        max_args: 0,
        options: "",
    },
    Syntax {
        name: "emer-reset",
        min_args: 0,
        max_args: 0,
        options: "",
    },
    Syntax {
        name: "add-br",
        min_args: 1,
        max_args: 3,
        options: "--may-exist",
    },
    Syntax {
        name: "del-br",
        min_args: 1,
        max_args: 1,
        options: "--if-exists",
    },
    Syntax {
        name: "list-br",
        min_args: 0,
        max_args: 0,
        options: "--real,--fake",
    },
    Syntax {
        name: "br-exists",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "list-ports",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "add-port",
        min_args: 2,
        max_args: MANY,
        options: "--may-exist",
    },
    Syntax {
        name: "del-port",
        min_args: 1,
        max_args: 2,
        options: "--if-exists,--with-iface",
    },
    Syntax {
        name: "port-to-br",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "list-ifaces",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "iface-to-br",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "get-controller",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "del-controller",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "set-controller",
        min_args: 1,
        max_args: MANY,
        options: "--inactivity-probe=",
    },
    Syntax {
        name: "get-fail-mode",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "del-fail-mode",
        min_args: 1,
        max_args: 1,
        options: "",
    },
    Syntax {
        name: "set-fail-mode",
        min_args: 2,
        max_args: 2,
        options: "",
    },
    Syntax {
        name: "get-ssl",
        min_args: 0,
        max_args: 0,
        options: "",
    },
    Syntax {
        name: "del-ssl",
        min_args: 0,
        max_args: 0,
        options: "",
    },
    Syntax {
        name: "set-ssl",
        min_args: 3,
        max_args: 3,
        options: "--bootstrap",
    },
    Syntax {
        name: "br-set-external-id",
        min_args: 2,
        max_args: 3,
        options: "",
    },
    Syntax {
        name: "br-get-external-id",
        min_args: 1,
        max_args: 2,
        options: "",
    },
    Syntax {
        name: "comment",
        min_args: 0,
        max_args: MANY,
        options: "",
    },
    Syntax {
        name: "get",
        min_args: 2,
        max_args: MANY,
        options: "--if-exists,--id=",
    },
    Syntax {
        name: "list",
        min_args: 1,
        max_args: MANY,
        options: "--if-exists,--columns=",
    },
    Syntax {
        name: "find",
        min_args: 1,
        max_args: MANY,
        options: "--columns=",
    },
    Syntax {
        name: "set",
        min_args: 3,
        max_args: MANY,
        options: "--if-exists",
    },
    Syntax {
        name: "add",
        min_args: 4,
        max_args: MANY,
        options: "--if-exists",
    },
    Syntax {
        name: "remove",
        min_args: 4,
        max_args: MANY,
        options: "--if-exists",
    },
    Syntax {
        name: "clear",
        min_args: 3,
        max_args: MANY,
        options: "--if-exists",
    },
    Syntax {
        name: "create",
        min_args: 2,
        max_args: MANY,
        options: "--id=",
    },
    Syntax {
        name: "destroy",
        min_args: 1,
        max_args: MANY,
        options: "--if-exists,--all",
    },
    Syntax {
        name: "wait-until",
        min_args: 2,
        max_args: MANY,
        options: "",
    },
];

/// Options every command accepts somewhere; before the first command they
/// become that command's options (ovs-vsctl's "local options").
fn is_command_option(name: &str) -> Option<bool> {
    // Returns Some(takes_argument).
    for s in SYNTAX {
        for o in s.options.split(',').filter(|o| !o.is_empty()) {
            let (n, arg) = match o.strip_suffix('=') {
                Some(n) => (n, true),
                None => (o, false),
            };
            if n == name {
                return Some(arg);
            }
        }
    }
    None
}

/// Global options.
pub(crate) struct Globals {
    db: String,
    wait_for_reload: bool,
    timeout: u64,
    dry_run: bool,
    oneline: bool,
    pub style: TableStyle,
    /// SSL options (`-p`, `-c`, `-C`, `--bootstrap-ca-cert`, ...).
    tls: TlsSettings,
}

/// Sequence number of ovs-vsctl's log messages (one counter for all).
static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// Emit an Open vSwitch style log line on stderr
/// (`TIME|SEQ|MODULE|LEVEL|TEXT`, LEVEL `ERR`, `WARN`...), as ovs-vsctl's
/// console log does.
pub(crate) fn vlog(module: &str, level: &str, text: &str) {
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _ = writeln!(
        std::io::stderr(),
        "{}|{:05}|{}|{}|{}",
        utc_now(),
        seq,
        module,
        level,
        text
    );
}

/// [`vlog`] at WARN for messages after the connection is up: ovs-vsctl
/// has numbered one message (not shown on the console) by then, so these
/// start at 2.
pub(crate) fn vlog_warn(module: &str, text: &str) {
    SEQ.fetch_max(2, std::sync::atomic::Ordering::Relaxed);
    vlog(module, "WARN", text);
}

/// Console log lines for the `stream_ssl` events of the ovsdb crate (TLS
/// handshake failures, CA bootstrap), formatted by [`vlog`]'s rules.
struct ConsoleLog;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for ConsoleLog
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "ERR",
            tracing::Level::WARN => "WARN",
            tracing::Level::INFO => "INFO",
            _ => "DBG",
        };
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        write!(
            w,
            "{}|{:05}|{}|{}|",
            utc_now(),
            seq,
            event.metadata().target(),
            level
        )?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Shows `stream_ssl` warnings and errors on stderr (ovs-vsctl's console
/// level is WARN).
fn init_console_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("stream_ssl=warn"))
        .with_writer(std::io::stderr)
        .event_format(ConsoleLog)
        .try_init();
}

/// The TLS configuration for `g.db`, as ovs-vsctl sets up stream-ssl: the
/// SSL options are read whenever given (their file errors are logged even
/// for a `tcp:` or `unix:` database); for `ssl:` every one must be usable,
/// else `REMOTE: database connection failed (Protocol not available)`.
fn tls_config(g: &Globals) -> CmdResult<Option<TlsConfig>> {
    let is_ssl = g.db.starts_with("ssl:");
    let t = &g.tls;
    if !is_ssl && !t.is_configured() && t.protocols.is_none() && t.ciphers.is_none() {
        return Ok(None);
    }
    match TlsConfig::from_settings(t) {
        Ok(cfg) => {
            for w in cfg.warnings() {
                vlog("stream_ssl", "WARN", w);
            }
            Ok(is_ssl.then_some(cfg))
        }
        Err(e) => {
            let text = match e {
                ovsdb::Error::Tls(text) => text,
                other => other.to_string(),
            };
            for line in text.lines() {
                if is_ssl || !line.ends_with("must be configured to use SSL") {
                    vlog("stream_ssl", "ERR", line);
                }
            }
            if is_ssl {
                Err(Fail::Fatal(format!(
                    "{}: database connection failed (Protocol not available)",
                    g.db
                )))
            } else {
                Ok(None)
            }
        }
    }
}

fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d, hh, mm, ss) = ovsdb::tool::utc_fields(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

fn default_db() -> String {
    let rundir = std::env::var("OVS_RUNDIR").unwrap_or_else(|_| "/var/run/openvswitch".into());
    format!("unix:{rundir}/db.sock")
}

fn logdir() -> String {
    std::env::var("OVS_LOGDIR").unwrap_or_else(|_| "/var/log/openvswitch".into())
}

/// Parse global options; returns them, the options that belong to the first
/// command, and the index of the first non-option argument.
fn parse_globals(args: &[String]) -> Result<(Globals, CmdOptions, usize), String> {
    let mut g = Globals {
        db: default_db(),
        wait_for_reload: true,
        timeout: 0,
        dry_run: false,
        oneline: false,
        style: TableStyle::default(),
        tls: TlsSettings::default(),
    };
    let mut local = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        // Split --name=value; required arguments may also be the next word.
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n.to_string(), Some(v.to_string())),
            // getopt's attached short-option argument: -pFILE.
            _ if !a.starts_with("--")
                && a.len() > 2
                && a.is_char_boundary(2)
                && matches!(&a[..2], "-p" | "-c" | "-C") =>
            {
                (a[..2].to_string(), Some(a[2..].to_string()))
            }
            _ => (a.clone(), None),
        };
        let value = |i: &mut usize| -> Result<String, String> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            *i += 1;
            args.get(*i)
                .cloned()
                .ok_or_else(|| match name.strip_prefix('-') {
                    // getopt's wording for a short option.
                    Some(c) if c.len() == 1 => format!("option requires an argument -- '{c}'"),
                    _ => format!("option '{name}' requires an argument"),
                })
        };
        match name.as_str() {
            "--db" => g.db = value(&mut i)?,
            "-p" | "--private-key" => g.tls.private_key = Some(value(&mut i)?.into()),
            "-c" | "--certificate" => g.tls.certificate = Some(value(&mut i)?.into()),
            "-C" | "--ca-cert" => {
                g.tls.ca_cert = Some(value(&mut i)?.into());
                g.tls.bootstrap_ca_cert = false;
            }
            "--bootstrap-ca-cert" => {
                g.tls.ca_cert = Some(value(&mut i)?.into());
                g.tls.bootstrap_ca_cert = true;
            }
            "--peer-ca-cert" => g.tls.peer_ca_cert = Some(value(&mut i)?.into()),
            "--ssl-protocols" => g.tls.protocols = Some(value(&mut i)?),
            "--ssl-ciphers" => g.tls.ciphers = Some(value(&mut i)?),
            "--no-wait" => g.wait_for_reload = false,
            "--dry-run" => g.dry_run = true,
            "--oneline" => g.oneline = true,
            "--retry" | "--no-syslog" | "--pretty" => {
                if name == "--pretty" {
                    g.style.pretty = true;
                }
            }
            "-t" | "--timeout" => {
                let v = value(&mut i)?;
                g.timeout = v
                    .parse::<u64>()
                    .map_err(|_| format!("value {v} on -t or --timeout is invalid"))?;
            }
            "-f" | "--format" => {
                let v = value(&mut i)?;
                g.style.set_format(&v)?;
            }
            "-d" | "--data" => {
                let v = value(&mut i)?;
                g.style.set_data(&v)?;
            }
            "--bare" => {
                g.style.set_format("list")?;
                g.style.set_data("bare")?;
                g.style.headings = false;
            }
            "--no-headings" => g.style.headings = false,
            "-v" | "--verbose" | "--log-file" => {}
            "-h" | "--help" => {
                println!("oxvs vsctl: ovs-vsctl compatible Open vSwitch configuration utility\nusage: oxvs vsctl [OPTIONS] COMMAND [ARG...] [-- [OPTIONS] COMMAND [ARG...]]...");
                return Err(String::new());
            }
            "-V" | "--version" => {
                println!("ovs-vsctl (oxvs) 3.1.0\nDB Schema 8.3.1");
                return Err(String::new());
            }
            _ => {
                if let Some(stripped) = name.strip_prefix("--") {
                    let _ = stripped;
                    match is_command_option(&name) {
                        Some(true) => {
                            let v = value(&mut i)?;
                            if local
                                .iter()
                                .any(|(k, _): &(String, Option<String>)| *k == name)
                            {
                                return Err(format!("'{name}' option specified multiple times"));
                            }
                            local.push((name.clone(), Some(v)));
                        }
                        Some(false) => {
                            if inline.is_some() {
                                return Err(format!("option '{name}' doesn't allow an argument"));
                            }
                            if local.iter().any(|(k, _)| *k == name) {
                                return Err(format!("'{name}' option specified multiple times"));
                            }
                            local.push((name.clone(), None));
                        }
                        None => return Err(format!("unrecognized option '{a}'")),
                    }
                } else {
                    return Err(format!("invalid option -- '{}'", a.trim_start_matches('-')));
                }
            }
        }
        i += 1;
    }
    Ok((g, local, i))
}

fn parse_command(
    words: &[String],
    mut options: Vec<(String, Option<String>)>,
) -> Result<Command, String> {
    let mut i = 0;
    while i < words.len() && words[i].starts_with('-') {
        let w = &words[i];
        let (k, v) = match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (w.clone(), None),
        };
        if options.iter().any(|(o, _)| *o == k) {
            return Err(format!("'{w}' option specified multiple times"));
        }
        options.push((k, v));
        i += 1;
    }
    if i == words.len() {
        return Err("missing command name (use --help for help)".into());
    }
    let name = &words[i];
    let syn = SYNTAX
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("unknown command '{name}'; use --help for help"))?;
    for (k, v) in &options {
        let end = syn
            .options
            .find(k.as_str())
            .map(|p| syn.options[p + k.len()..].chars().next());
        let end = match end {
            Some(Some(c)) => Some(c),
            Some(None) => Some('\0'),
            None => None,
        };
        if !matches!(end, Some('=') | Some(',') | Some(' ') | Some('\0')) {
            return Err(format!("'{name}' command has no '{k}' option"));
        }
        if (end == Some('=')) != v.is_some() {
            return Err(if end == Some('=') {
                format!("missing argument to '{k}' option on '{name}' command")
            } else {
                format!("'{k}' option on '{name}' does not accept an argument")
            });
        }
    }
    let args: Vec<String> = words[i + 1..].to_vec();
    if args.len() < syn.min_args {
        return Err(format!(
            "'{}' command requires at least {} arguments",
            syn.name, syn.min_args
        ));
    }
    if args.len() > syn.max_args {
        if args.iter().any(|a| a.starts_with('-')) {
            return Err(format!(
                "'{}' command takes at most {} arguments (note that options must precede command names and follow a \"--\" argument)",
                syn.name, syn.max_args
            ));
        }
        return Err(format!(
            "'{}' command takes at most {} arguments",
            syn.name, syn.max_args
        ));
    }
    Ok(Command {
        name: name.clone(),
        options,
        args,
    })
}

/// Split the words after the global options into commands at `--`.
fn parse_commands(
    words: &[String],
    local: Vec<(String, Option<String>)>,
) -> Result<Vec<Command>, String> {
    let mut cmds = Vec::new();
    let mut local = Some(local);
    for chunk in words.split(|w| w == "--") {
        if chunk.is_empty() {
            if local.as_ref().is_some_and(|l| !l.is_empty()) {
                return Err("missing command name (use --help for help)".into());
            }
            continue;
        }
        cmds.push(parse_command(chunk, local.take().unwrap_or_default())?);
    }
    if cmds.is_empty() {
        return Err("missing command name (use --help for help)".into());
    }
    Ok(cmds)
}

/// Entry point: `args` is everything after `oxvs vsctl`; returns the exit
/// status (0 ok, 1 error, 2 `br-exists` miss, 142 `--timeout` expiry).
pub fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(Fail::Fatal(msg)) => {
            if !msg.is_empty() {
                let _ = writeln!(std::io::stderr(), "ovs-vsctl: {msg}");
                1
            } else {
                0
            }
        }
        Err(Fail::Exit(code)) => code,
        Err(Fail::TryAgain) => 1,
    }
}

fn run(args: &[String]) -> CmdResult<i32> {
    let (g, local, first) = parse_globals(args)?;
    let cmds = parse_commands(&args[first..], local)?;
    if g.timeout > 0 {
        let secs = g.timeout;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            vlog_warn("fatal_signal", "terminating with signal 14 (Alarm clock)");
            std::process::exit(142);
        });
    }
    if g.db.starts_with("ssl:") {
        init_console_log();
    }
    let tls = tls_config(&g)?;
    let mut conn = Conn::open(&g.db, tls)?;
    // Prerequisite checks (tables, columns), as ovs-vsctl does before running.
    for c in &cmds {
        commands::prerequisites(conn.schema(), c)?;
    }
    let comment = format!("oxvs vsctl: {}", args.join(" "));
    loop {
        let seq = conn.seqno;
        match do_vsctl(&mut conn, &g, &cmds, &comment)? {
            Some(code) => return Ok(code),
            None => conn.wait_for_change(seq)?,
        }
    }
}

/// Result of running all commands once against the replica.
struct Prepared {
    outputs: Vec<commands::Output>,
    ops: Option<Vec<Value>>,
    /// uuid-name → temporary UUID of every inserted row.
    names: Vec<(String, Uuid)>,
    /// Temporary UUIDs of Interfaces inserted by add-br/add-port.
    new_ifaces: Vec<Uuid>,
}

fn prepare(conn: &Conn, g: &Globals, cmds: &[Command], comment: &str) -> CmdResult<Prepared> {
    let mut txn = Txn::new(conn.schema(), conn.replica());
    let mut symtab = Symtab::new();
    let ovs_rows = txn.rows("Open_vSwitch");
    let ovs = match ovs_rows.first() {
        Some(u) => *u,
        None => {
            txn.ovs_table_was_empty = true;
            txn.insert("Open_vSwitch", None)
        }
    };
    let mut ctx = commands::Ctx {
        txn: &mut txn,
        symtab: &mut symtab,
        ovs,
        new_ifaces: Vec::new(),
    };
    let mut outputs = Vec::new();
    for c in cmds {
        outputs.push(commands::run(&mut ctx, c, &g.style)?);
    }
    let new_ifaces = std::mem::take(&mut ctx.new_ifaces);
    for (name, sym) in symtab.iter() {
        if !sym.created {
            return Err(Fail::Fatal(format!(
                "row id \"{name}\" is referenced but never created (e.g. with \"-- --id={name} create ...\")"
            )));
        }
        if !sym.strong_ref {
            if !sym.weak_ref {
                vlog_warn("vsctl", &format!("row id \"{name}\" was created but no reference to it was inserted, so it will not actually appear in the database"));
            } else {
                vlog_warn("vsctl", &format!("row id \"{name}\" was created but only a weak reference to it was inserted, so it will not actually appear in the database"));
            }
        }
    }
    let ops = txn.ops(Some(ovs), g.wait_for_reload, comment);
    let names = txn.inserted.keys().map(|u| (row_name(u), *u)).collect();
    Ok(Prepared {
        outputs,
        ops,
        names,
        new_ifaces,
    })
}

/// Run all commands and commit. `Ok(None)` = try again after a change.
fn do_vsctl(
    conn: &mut Conn,
    g: &Globals,
    cmds: &[Command],
    comment: &str,
) -> CmdResult<Option<i32>> {
    let p = match prepare(conn, g, cmds, comment) {
        Ok(p) => p,
        Err(Fail::TryAgain) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(ops) = p.ops.filter(|_| !g.dry_run) else {
        print_outputs(&p.outputs, &[], g);
        return Ok(Some(0));
    };
    let reply = conn.transact(ops.clone());
    let results = match reply {
        Ok(Value::Array(r)) => r,
        Ok(other) => return Err(Fail::Fatal(format!("transaction error: {other}"))),
        Err(e) => {
            if e.contains("canceled") {
                return Ok(None);
            }
            return Err(Fail::Fatal(format!("transaction error: {e}")));
        }
    };
    // Classify errors as the IDL does.
    let mut hard = None;
    let mut soft = false;
    for (i, op) in ops.iter().enumerate() {
        match results.get(i) {
            None | Some(Value::Null) => soft = true,
            Some(r) => {
                if let Some(e) = r.get("error").and_then(Value::as_str) {
                    match e {
                        "timed out" => soft = true,
                        "aborted" => {}
                        _ => {
                            if hard.is_none() {
                                hard = Some(sorted_json(r));
                            }
                        }
                    }
                }
            }
        }
        let _ = op;
    }
    if let Some(h) = hard {
        let text = h.to_string();
        vlog_warn("ovsdb_idl", &format!("transaction error: {text}"));
        return Err(Fail::Fatal(format!("transaction error: {text}")));
    }
    if soft {
        return Ok(None);
    }
    // Map inserted rows to the UUIDs the server assigned.
    let mut real: Vec<(Uuid, Uuid)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if op["op"] == "insert" {
            let name = op["uuid-name"].as_str().unwrap_or("");
            let temp = p.names.iter().find(|(n, _)| n == name).map(|(_, u)| *u);
            let assigned = results
                .get(i)
                .and_then(|r| r.get("uuid"))
                .and_then(|u| u.get(1))
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok());
            if let (Some(t), Some(a)) = (temp, assigned) {
                real.push((t, a));
            }
        }
    }
    let mut next_cfg = None;
    if g.wait_for_reload {
        let n = ops.len();
        if n >= 2 {
            next_cfg = results
                .get(n - 2)
                .and_then(|r| r.get("rows"))
                .and_then(|r| r.get(0))
                .and_then(|r| r.get("next_cfg"))
                .and_then(Value::as_i64);
            if next_cfg.is_none() {
                return Err(Fail::Fatal(
                    "transaction error: next_cfg not returned".into(),
                ));
            }
        }
    }
    print_outputs(&p.outputs, &real, g);
    if let Some(want) = next_cfg {
        loop {
            let reached = conn.replica().table("Open_vSwitch").is_some_and(|t| {
                t.iter()
                    .any(|r| r.get("cur_cfg").and_then(|d| d.as_integer()).unwrap_or(0) >= want)
            });
            if reached {
                break;
            }
            let seq = conn.seqno;
            conn.wait_for_change(seq)?;
        }
        post_reload_checks(conn, &p.new_ifaces, &real);
    }
    Ok(Some(0))
}

fn post_reload_checks(conn: &Conn, new_ifaces: &[Uuid], real: &[(Uuid, Uuid)]) {
    let mut any = false;
    for temp in new_ifaces {
        let Some((_, u)) = real.iter().find(|(t, _)| t == temp) else {
            continue;
        };
        let Some(row) = conn.replica().row("Interface", u) else {
            continue;
        };
        let ofport = row.get("ofport").and_then(|d| d.as_integer());
        if ofport.is_none() || ofport == Some(-1) {
            let name = row.get("name").and_then(|d| d.as_str()).unwrap_or("");
            let err = row.get("error").and_then(|d| d.as_str()).unwrap_or("");
            if err.is_empty() {
                eprintln!("ovs-vsctl: Error detected while setting up '{name}'.  See ovs-vswitchd log for details.");
            } else {
                eprintln!("ovs-vsctl: Error detected while setting up '{name}': {err}.  See ovs-vswitchd log for details.");
            }
            any = true;
        }
    }
    if any {
        eprintln!("ovs-vsctl: The default log directory is \"{}\".", logdir());
    }
}

fn sorted_json(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sorted_json(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted_json).collect()),
        other => other.clone(),
    }
}

fn print_outputs(outputs: &[commands::Output], real: &[(Uuid, Uuid)], g: &Globals) {
    let mut out = String::new();
    for o in outputs {
        match o {
            commands::Output::Table(t) => out.push_str(&g.style.render(t)),
            commands::Output::Created(temp) => {
                let u = real
                    .iter()
                    .find(|(t, _)| t == temp)
                    .map(|(_, r)| *r)
                    .unwrap_or(*temp);
                out.push_str(&format!("{u}\n"));
            }
            commands::Output::Text(s) => {
                if g.oneline {
                    let body = s.strip_suffix('\n').unwrap_or(s);
                    for ch in body.chars() {
                        match ch {
                            '\n' => out.push_str("\\n"),
                            '\\' => out.push_str("\\\\"),
                            c => out.push(c),
                        }
                    }
                    out.push('\n');
                } else {
                    out.push_str(s);
                }
            }
        }
    }
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.as_bytes());
    let _ = so.flush();
}
