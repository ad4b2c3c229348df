//! `oxvs controller`: a simple OpenFlow controller that makes the switches
//! connected to it behave as MAC-learning switches or hubs, like Open
//! vSwitch's `ovs-testcontroller` (same options) and POX's
//! `forwarding.l2_learning`.
//!
//! ```text
//! oxvs controller [OPTIONS] [METHOD]...
//!   METHOD: ptcp:[PORT][:IP] (default ptcp:6653) | punix:PATH   (listen)
//!           tcp:IP[:PORT] | unix:PATH                            (connect)
//!   -n, --noflow            never set up flows: every packet goes through the controller
//!   --max-idle=SECS|permanent   idle timeout of the flows set up (default 60)
//!   -H, --hub               flood every packet (no MAC learning)
//!   -w[MASK], --wildcards[=MASK]  OpenFlow 1.0 wildcards of the flows (default exact;
//!                           without MASK 0x3820f0: L2 only)
//!   -N, --normal            output known destinations to NORMAL
//!   -q, --queue=ID          output through queue ID
//!   --with-flows FILE       add these flows (ovs-ofctl add-flows syntax) to each switch
//!   --mute                  after the handshake, answer nothing (fail-open tests)
//!   -O, --protocols=LIST    OpenFlow versions to accept (default OpenFlow10,13,14,15)
//!   --inactivity-probe=SECS echo probe after SECS idle (default 60; 0 = off)
//!   --pidfile[=FILE] --detach --log-file[=FILE] -v/-vv (info/debug logging)
//! ```
//!
//! On each connection: HELLO (version negotiation), FEATURES_REQUEST
//! (learns the datapath id), SET_CONFIG (`miss_send_len` = whole packet),
//! for OpenFlow 1.3 and later a table-miss flow `priority=0,
//! actions=CONTROLLER:65535` (those versions drop misses without one),
//! then the `--with-flows` flows. Flows already in the switch are left
//! alone, as ovs-testcontroller does (Open vSwitch flushes a bridge's flows
//! itself when its first controller is configured). Then every packet-in
//! is switched by [`lswitch`]; echo requests are answered, an idle
//! connection is probed, errors the switch reports are logged, and a
//! switch that breaks the protocol is disconnected (only that one).
//!
//! With `-v` the log has one line per switch connection (with its datapath
//! id) and one per learned MAC address:
//! `0000aa015d1d2c44: switch connected on tcp:127.0.0.1:40480 (OpenFlow13)`,
//! `0000aa015d1d2c44: learned that 02:00:00:00:00:01 is on port 1`.
//!
//! Differences from ovs-testcontroller: no SSL (`pssl:`/`ssl:`), no
//! `--port-queue`, no unixctl socket; the default method is `ptcp:6653`;
//! packet-ins from an output to the controller are switched too (not only
//! table misses); `--normal` learns (OVS 3.1's floods everything); the
//! whole packet is asked for instead of 128 bytes. Like ovs-testcontroller,
//! an active (`tcp:`/`unix:`) connection is not retried, and the program
//! ends when no listener and no connection is left.
//!
//! Out-of-band only: the controller reaches switches through the host's
//! own network stack, never through a bridge it controls.

mod conn;
mod lswitch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openflow::codec::ofpfw10;
use openflow::msg::SUPPORTED_VERSIONS;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use vswitchd::paths::Paths;
use vswitchd::pidfile::Pidfile;

use crate::detach;
use crate::ofctl::parse_protocols;
use conn::ConnConfig;
use lswitch::{Config, Mode};

/// Default OpenFlow port (IANA).
const OFP_PORT: u16 = 6653;
/// ovs-testcontroller's inactivity probe interval.
const DEFAULT_PROBE: u64 = 60;
/// `-w` without a mask: L2 switching only (OVS learning-switch.c; its man
/// page's 0x2820F0 omits DL_VLAN_PCP, which the code wildcards too).
const L2_WILDCARDS: u32 = ofpfw10::DL_TYPE
    | ofpfw10::DL_VLAN_PCP
    | (32 << ofpfw10::NW_SRC_SHIFT)
    | (32 << ofpfw10::NW_DST_SHIFT)
    | ofpfw10::NW_TOS
    | ofpfw10::NW_PROTO
    | ofpfw10::TP_SRC
    | ofpfw10::TP_DST;

const USAGE: &str = "oxvs controller: OpenFlow controller (as ovs-testcontroller)
usage: oxvs controller [OPTIONS] [METHOD]...
where METHOD is any OpenFlow connection method (default ptcp:6653):
  ptcp:[PORT][:IP]        listen for switches on TCP PORT (default 6653)
  punix:FILE              listen for switches on Unix domain socket FILE
  tcp:IP[:PORT]           connect to a switch listening on TCP (default 6653)
  unix:FILE               connect to a switch listening on Unix socket FILE

Options:
  -n, --noflow            pass traffic, but don't add flows
  --max-idle=SECS         max idle time for new flows (or 'permanent'; default 60)
  -H, --hub               act as hub instead of learning switch
  -w, --wildcards[=MASK]  wildcard (specified) bits in flows
  -N, --normal            use OFPP_NORMAL action
  -q, --queue=QUEUE-ID    OpenFlow queue ID to use for output
  --with-flows FILE       use the flows from FILE
  --mute                  do not respond to messages from switches
  -O, --protocols=LIST    allowed OpenFlow versions (OpenFlow10,OpenFlow13,...)
  --inactivity-probe=SECS probe idle connections after SECS (0 = never; default 60)

Daemon options:
  --detach                run in background as daemon
  --pidfile[=FILE]        create pidfile (default: <OVS_RUNDIR>/oxvs-controller.pid)
  --log-file[=FILE]       log to FILE (default: <OVS_LOGDIR>/oxvs-controller.log)
  -v, --verbose           log connections and learned addresses (-vv: every message)
  -h, --help              display this help message
  -V, --version           display version information
";

/// A connection method from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Method {
    /// `ptcp:`: listen on TCP.
    PTcp(SocketAddr),
    /// `punix:`: listen on a unix socket.
    PUnix(PathBuf),
    /// `tcp:`: connect to a switch.
    Tcp(SocketAddr),
    /// `unix:`: connect to a switch's unix socket.
    Unix(PathBuf),
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::PTcp(a) => write!(f, "ptcp:{}:{}", a.port(), bracket(a)),
            Method::PUnix(p) => write!(f, "punix:{}", p.display()),
            Method::Tcp(a) => write!(f, "tcp:{a}"),
            Method::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

fn bracket(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => v.ip().to_string(),
        SocketAddr::V6(v) => format!("[{}]", v.ip()),
    }
}

fn parse_ip(s: &str) -> Option<std::net::IpAddr> {
    s.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Parses a METHOD; relative unix paths are under the run directory, as OVS's.
fn parse_method(s: &str, paths: &Paths) -> Result<Method, String> {
    let bad = || format!("{s}: unknown or malformed connection method");
    let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
    let port = |p: &str| -> Result<u16, String> {
        if p.is_empty() {
            Ok(OFP_PORT)
        } else {
            p.parse()
                .map_err(|_| format!("{s}: bad port number \"{p}\""))
        }
    };
    match kind {
        "punix" | "unix" if !rest.is_empty() => {
            let p = paths.rundir.join(rest);
            Ok(if kind == "punix" {
                Method::PUnix(p)
            } else {
                Method::Unix(p)
            })
        }
        "ptcp" => {
            let (p, ip) = rest.split_once(':').unwrap_or((rest, "0.0.0.0"));
            let ip = parse_ip(ip).ok_or_else(bad)?;
            Ok(Method::PTcp(SocketAddr::new(ip, port(p)?)))
        }
        "tcp" => {
            // IP[:PORT], the IP bracketed when it is IPv6 with a port.
            let (ip, p) = if let Some(r) = rest.strip_prefix('[') {
                let (ip, after) = r.split_once(']').ok_or_else(bad)?;
                (ip, after.strip_prefix(':').unwrap_or(after))
            } else if rest.matches(':').count() == 1 {
                rest.split_once(':').unwrap_or((rest, ""))
            } else {
                (rest, "")
            };
            let ip = parse_ip(ip).ok_or_else(bad)?;
            Ok(Method::Tcp(SocketAddr::new(ip, port(p)?)))
        }
        "ssl" | "pssl" => Err(format!("{s}: SSL is not supported by oxvs controller")),
        _ => Err(bad()),
    }
}

/// Everything the command line says.
#[derive(Debug)]
struct Args {
    methods: Vec<Method>,
    conn: ConnConfig,
    pidfile: Option<PathBuf>,
    detach: bool,
    log_file: Option<String>,
    verbosity: u32,
}

enum Parsed {
    Run(Box<Args>),
    Help,
    Version,
}

/// `-v[SPEC]` / `--verbose[=SPEC]`: the level named in SPEC (OVS vlog
/// words `dbg`, `info`, `warn`, `err`, `emer`, `off`), or one step more.
fn verbosity(spec: Option<&str>, current: u32) -> u32 {
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return current + 1;
    };
    let mut level = None;
    for w in spec.split([' ', ',', ':']) {
        level = match w {
            "dbg" => Some(2),
            "info" => Some(1),
            "warn" | "err" | "emer" | "off" => Some(0),
            _ => level,
        };
    }
    level.unwrap_or(current + 1)
}

fn read_flows(file: &str) -> Result<Vec<openflow::text::FlowSpec>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let mut flows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let spec = openflow::text::parse_flow(line, openflow::text::FlowUsage::Add, 0, None)
            .map_err(|e| format!("{file}:{}: {e}", n + 1))?;
        flows.push(spec);
    }
    Ok(flows)
}

fn parse(argv: &[String], paths: &Paths) -> Result<Parsed, String> {
    let mut switch = Config {
        mode: Mode::Learn,
        wildcards: 0,
        max_idle: Some(60),
        queue: None,
        default_flows: Vec::new(),
        mute: false,
    };
    let (mut hub, mut normal, mut noflow) = (false, false, false);
    let mut max_idle = 60u16;
    let mut a = Args {
        methods: Vec::new(),
        conn: ConnConfig {
            allowed: SUPPORTED_VERSIONS,
            probe_interval: Some(Duration::from_secs(DEFAULT_PROBE)),
            switch: switch.clone(),
        },
        pidfile: None,
        detach: false,
        log_file: None,
        verbosity: 0,
    };
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        // Long options: --name, --name=value, or --name value when required.
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let required = |i: &mut usize| -> Result<String, String> {
                if let Some(v) = &inline {
                    return Ok(v.clone());
                }
                let v = argv
                    .get(*i)
                    .cloned()
                    .ok_or_else(|| format!("option '--{name}' requires an argument"))?;
                *i += 1;
                Ok(v)
            };
            match name {
                "noflow" => noflow = true,
                "hub" => hub = true,
                "normal" => normal = true,
                "mute" => switch.mute = true,
                "max-idle" => max_idle = parse_max_idle(&required(&mut i)?)?,
                "wildcards" => switch.wildcards = parse_wildcards(inline.as_deref())?,
                "queue" => switch.queue = Some(parse_queue(&required(&mut i)?)?),
                "with-flows" => switch.default_flows.extend(read_flows(&required(&mut i)?)?),
                "protocols" => a.conn.allowed = parse_protocols(&required(&mut i)?)?,
                "inactivity-probe" => a.conn.probe_interval = parse_probe(&required(&mut i)?)?,
                "pidfile" => {
                    a.pidfile = Some(match inline {
                        Some(f) if f.starts_with('/') => PathBuf::from(f),
                        Some(f) => paths.rundir.join(f),
                        None => paths.pidfile("oxvs-controller"),
                    })
                }
                "detach" => a.detach = true,
                "log-file" => a.log_file = Some(inline.unwrap_or_default()),
                "verbose" => a.verbosity = verbosity(inline.as_deref(), a.verbosity),
                "no-chdir" | "monitor" | "overwrite-pidfile" => {}
                "help" => return Ok(Parsed::Help),
                "version" => return Ok(Parsed::Version),
                "private-key" | "certificate" | "ca-cert" | "peer-ca-cert" => {
                    return Err(format!("--{name}: SSL is not supported by oxvs controller"))
                }
                _ => return Err(format!("unrecognized option '{arg}'")),
            }
            continue;
        }
        let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) else {
            a.methods.push(parse_method(arg, paths)?);
            continue;
        };
        // Short options, clustered as getopt allows (-Hn, -wMASK, -qID, -q ID).
        for (at, c) in shorts.char_indices() {
            let attached = &shorts[at + c.len_utf8()..];
            match c {
                'n' => noflow = true,
                'H' => hub = true,
                'N' => normal = true,
                'h' => return Ok(Parsed::Help),
                'V' => return Ok(Parsed::Version),
                'w' | 'v' | 'q' | 'O' => {
                    let value = if !attached.is_empty() {
                        Some(attached.to_string())
                    } else if matches!(c, 'q' | 'O') {
                        let v = argv
                            .get(i)
                            .cloned()
                            .ok_or_else(|| format!("option requires an argument -- '{c}'"))?;
                        i += 1;
                        Some(v)
                    } else {
                        None
                    };
                    match c {
                        'w' => switch.wildcards = parse_wildcards(value.as_deref())?,
                        'v' => {
                            // `-vv`: each further `v` is one more step.
                            a.verbosity = if value
                                .as_deref()
                                .is_some_and(|v| v.chars().all(|x| x == 'v'))
                            {
                                a.verbosity + 1 + value.as_deref().map_or(0, str::len) as u32
                            } else {
                                verbosity(value.as_deref(), a.verbosity)
                            }
                        }
                        'q' => switch.queue = Some(parse_queue(value.as_deref().unwrap_or(""))?),
                        _ => a.conn.allowed = parse_protocols(value.as_deref().unwrap_or(""))?,
                    }
                    break;
                }
                'p' | 'c' | 'C' => {
                    return Err(format!("-{c}: SSL is not supported by oxvs controller"))
                }
                _ => return Err(format!("invalid option -- '{c}'")),
            }
        }
    }
    switch.mode = if normal {
        Mode::Normal
    } else if hub {
        Mode::Hub
    } else {
        Mode::Learn
    };
    switch.max_idle = (!noflow).then_some(max_idle);
    if a.methods.is_empty() {
        a.methods
            .push(Method::PTcp(SocketAddr::from(([0, 0, 0, 0], OFP_PORT))));
    }
    a.conn.switch = switch;
    Ok(Parsed::Run(Box::new(a)))
}

fn parse_max_idle(s: &str) -> Result<u16, String> {
    if s == "permanent" {
        return Ok(0);
    }
    match s.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err("--max-idle argument must be between 1 and 65535 or the word 'permanent'".into()),
    }
}

fn parse_wildcards(s: Option<&str>) -> Result<u32, String> {
    match s {
        None | Some("") => Ok(L2_WILDCARDS),
        Some(v) => {
            let hex = v
                .strip_prefix("0x")
                .or_else(|| v.strip_prefix("0X"))
                .unwrap_or(v);
            u32::from_str_radix(hex, 16)
                .map(|w| w & ofpfw10::ALL)
                .map_err(|_| format!("\"{v}\" is not a valid wildcard mask (hexadecimal)"))
        }
    }
}

fn parse_queue(s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("\"{s}\" is not a valid queue id"))
}

fn parse_probe(s: &str) -> Result<Option<Duration>, String> {
    match s.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(Duration::from_secs(n))),
        Err(_) => Err(format!("\"{s}\" is not a number of seconds")),
    }
}

/// Entry point; returns the exit status.
pub fn main(argv: &[String]) -> i32 {
    let paths = Paths::from_env();
    let args = match parse(argv, &paths) {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return 0;
        }
        Ok(Parsed::Version) => {
            println!("oxvs controller {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Err(e) => {
            eprintln!("oxvs controller: {e}");
            return 1;
        }
    };
    if args.detach {
        let pidfile = args
            .pidfile
            .clone()
            .unwrap_or_else(|| paths.pidfile("oxvs-controller"));
        let child = detach::child_args(
            argv,
            args.pidfile.is_none().then_some(pidfile.as_path()),
            args.log_file.is_some(),
        );
        return detach::spawn_and_wait("controller", &child, &pidfile, |_| true);
    }
    if std::env::var_os("RUST_LOG").is_none() {
        let level = ["warn", "info", "debug"][args.verbosity.min(2) as usize];
        // Still single-threaded here: nothing else reads the environment.
        std::env::set_var("RUST_LOG", level);
    }
    match &args.log_file {
        Some(f) => detach::init_logging(&paths, Some(f), "oxvs-controller.log"),
        // The console log goes to stderr, as ovs-testcontroller's.
        None => tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oxvs controller: {e}");
            return 1;
        }
    };
    match runtime.block_on(run(*args)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("oxvs controller: {e}");
            1
        }
    }
}

/// A bound listener.
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

/// Removes a `punix:` socket file when the controller ends.
struct Unlink(Vec<PathBuf>);

impl Drop for Unlink {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let cfg = Arc::new(args.conn);
    // Before the pid file exists (which tells `--detach` we are up), so
    // that a SIGTERM from then on removes it on the way out.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    // Bind every listener first: a method that cannot be opened is fatal.
    let mut listeners = Vec::new();
    let mut unlink = Unlink(Vec::new());
    for m in &args.methods {
        match m {
            Method::PTcp(addr) => {
                let l = TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("{m}: listen failed ({e})"))?;
                // The bound address (with port 0, the port the kernel chose).
                let local = l.local_addr().map_err(|e| format!("{m}: {e}"))?;
                tracing::info!("{m}: listening on {local}");
                listeners.push(Listener::Tcp(l));
            }
            Method::PUnix(path) => {
                let _ = std::fs::remove_file(path);
                let l =
                    UnixListener::bind(path).map_err(|e| format!("{m}: listen failed ({e})"))?;
                unlink.0.push(path.clone());
                tracing::info!("{m}: listening");
                listeners.push(Listener::Unix(l, path.clone()));
            }
            Method::Tcp(_) | Method::Unix(_) => {}
        }
    }
    let _pidfile = match &args.pidfile {
        Some(p) => Some(Pidfile::create(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for l in listeners {
        tasks.spawn(accept_loop(l, cfg.clone()));
    }
    for m in &args.methods {
        let (m, cfg) = (m.clone(), cfg.clone());
        match m {
            Method::Tcp(addr) => {
                tasks.spawn(async move {
                    match TcpStream::connect(addr).await {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            conn::run(s, format!("tcp:{addr}"), cfg).await
                        }
                        Err(e) => tracing::error!("{m}: connect failed ({e})"),
                    }
                });
            }
            Method::Unix(ref path) => {
                let path = path.clone();
                tasks.spawn(async move {
                    match UnixStream::connect(&path).await {
                        Ok(s) => conn::run(s, m.to_string(), cfg).await,
                        Err(e) => tracing::error!("{m}: connect failed ({e})"),
                    }
                });
            }
            Method::PTcp(_) | Method::PUnix(_) => {}
        }
    }
    loop {
        tokio::select! {
            r = tasks.join_next() => match r {
                Some(_) => {}
                None => {
                    tracing::info!("no listener or switch connection left, exiting");
                    return Ok(());
                }
            },
            _ = term.recv() => return Ok(()),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Accepts switches on `l` forever, one task each.
async fn accept_loop(l: Listener, cfg: Arc<ConnConfig>) {
    let mut n = 0u64;
    loop {
        match &l {
            Listener::Tcp(t) => match t.accept().await {
                Ok((s, peer)) => {
                    let _ = s.set_nodelay(true);
                    tokio::spawn(conn::run(s, format!("tcp:{peer}"), cfg.clone()));
                }
                Err(e) => accept_error(e).await,
            },
            Listener::Unix(u, path) => match u.accept().await {
                Ok((s, _)) => {
                    n += 1;
                    let name = format!("unix:{}#{n}", path.display());
                    tokio::spawn(conn::run(s, name, cfg.clone()));
                }
                Err(e) => accept_error(e).await,
            },
        }
    }
}

/// An accept error (such as EMFILE) is logged and retried after a pause.
async fn accept_error(e: std::io::Error) {
    tracing::warn!("accept failed ({e})");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        let mut p = Paths::from_env();
        p.rundir = PathBuf::from("/run/x");
        p
    }

    fn args(v: &[&str]) -> Result<Args, String> {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        match parse(&v, &paths())? {
            Parsed::Run(a) => Ok(*a),
            _ => Err("help/version".into()),
        }
    }

    #[test]
    fn methods() {
        let p = paths();
        let m = |s| parse_method(s, &p);
        assert_eq!(
            m("ptcp:"),
            Ok(Method::PTcp("0.0.0.0:6653".parse().unwrap()))
        );
        assert_eq!(
            m("ptcp:6699:127.0.0.1"),
            Ok(Method::PTcp("127.0.0.1:6699".parse().unwrap()))
        );
        assert_eq!(
            m("ptcp:6699:[::1]"),
            Ok(Method::PTcp("[::1]:6699".parse().unwrap()))
        );
        assert_eq!(
            m("tcp:10.0.0.1"),
            Ok(Method::Tcp("10.0.0.1:6653".parse().unwrap()))
        );
        assert_eq!(
            m("tcp:[::1]:7000"),
            Ok(Method::Tcp("[::1]:7000".parse().unwrap()))
        );
        assert_eq!(m("punix:ctl"), Ok(Method::PUnix("/run/x/ctl".into())));
        assert_eq!(m("unix:/tmp/s"), Ok(Method::Unix("/tmp/s".into())));
        assert!(m("ssl:1.2.3.4").unwrap_err().contains("SSL"));
        assert!(m("tcp:nohost").is_err());
        assert!(m("ptcp:99999").is_err());
        assert!(m("bogus").is_err());
        assert!(m("punix:").is_err());
    }

    #[test]
    fn options_as_ovs_testcontroller() {
        let a = args(&[]).unwrap();
        assert_eq!(
            a.methods,
            vec![Method::PTcp("0.0.0.0:6653".parse().unwrap())]
        );
        assert_eq!(a.conn.switch.mode, Mode::Learn);
        assert_eq!(a.conn.switch.max_idle, Some(60));
        assert_eq!(a.conn.switch.wildcards, 0);
        let a = args(&[
            "-Hn",
            "-w",
            "--max-idle=permanent",
            "-O",
            "OpenFlow13",
            "ptcp:1",
        ])
        .unwrap();
        assert_eq!(a.conn.switch.mode, Mode::Hub);
        assert_eq!(a.conn.switch.max_idle, None);
        assert_eq!(a.conn.switch.wildcards, 0x3820f0);
        assert_eq!(a.conn.allowed, 1 << 4);
        let a = args(&["-w0x2000EC", "--max-idle", "5", "-q", "7", "-vv"]).unwrap();
        assert_eq!(a.conn.switch.wildcards, 0x2000ec);
        assert_eq!(a.conn.switch.queue, Some(7));
        assert_eq!(a.verbosity, 2);
        let a = args(&["--normal", "--mute", "--inactivity-probe=0", "-v"]).unwrap();
        assert_eq!(a.conn.switch.mode, Mode::Normal);
        assert!(a.conn.switch.mute);
        assert_eq!(a.conn.probe_interval, None);
        assert_eq!(a.verbosity, 1);
        assert!(args(&["--max-idle=0"])
            .unwrap_err()
            .contains("between 1 and 65535"));
        assert!(args(&["-wxyz"]).is_err());
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["-O", "OpenFlow99"]).is_err());
        assert!(args(&["--with-flows", "/nonexistent/flows"]).is_err());
        assert!(args(&["-q"]).is_err());
    }
}
