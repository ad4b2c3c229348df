//! `oxvs ofctl`: the OpenFlow switch management client, a drop-in for
//! Open vSwitch 3.1's `ovs-ofctl` (same commands, options, message
//! sequences, output text and exit status; see
//! shared/compat/openflow-clients.md).
//!
//! ```text
//! oxvs ofctl [OPTIONS] COMMAND SWITCH [ARGS]
//!   show | dump-flows [MATCH] | dump-aggregate [MATCH] | add-flow FLOW |
//!   add-flows FILE | mod-flows FLOW | del-flows [MATCH] | dump-ports [PORT] |
//!   dump-ports-desc | dump-tables | packet-out ... | monitor [MISS_LEN]
//! ```
//!
//! Idea: one [`vconn::Session`] per run numbers xids across connections as
//! ovs-ofctl does, including the table-map and port-map connections it
//! opens before parsing a flow argument; messages without matches or
//! actions are built/read by [`wire`], flows go through the `openflow`
//! codec and text syntax ([`flows`]); [`print`] reproduces OVS's text.
//! Errors print `ovs-ofctl: …` on stderr and exit 1, as ovs-ofctl.

mod flows;
mod monitor;
mod print;
mod vconn;
mod wire;

use std::time::Duration;

use vconn::{Session, Vconn};
use wire::OFPT_ERROR;

/// A fatal error: printed as `ovs-ofctl: MSG` (unless already printed) and exit status 1.
#[derive(Debug)]
pub struct Fatal {
    msg: Option<String>,
}

impl Fatal {
    /// An error printed as `ovs-ofctl: {msg}`.
    pub fn msg(msg: impl Into<String>) -> Fatal {
        Fatal {
            msg: Some(msg.into()),
        }
    }

    /// An error whose text was already written to stderr.
    pub fn silent() -> Fatal {
        Fatal { msg: None }
    }
}

/// `--sort`/`--rsort` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// Field name (empty = priority order, as OVS's default sort).
    pub field: String,
    /// Descending (`--rsort`).
    pub reverse: bool,
}

/// Command-line options (OVS ovs-ofctl.c globals).
#[derive(Clone, Debug)]
pub struct Opts {
    /// Allowed versions (bit n = wire version n).
    pub allowed: u32,
    /// `--strict`.
    pub strict: bool,
    /// `--names` (Some(true)), `--no-names` (Some(false)), default None.
    pub names: Option<bool>,
    /// `--no-stats`.
    pub no_stats: bool,
    /// `--sort`/`--rsort` keys in order.
    pub sort: Vec<SortKey>,
    /// `--bundle`.
    pub bundle: bool,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `-m`/`--more` count.
    pub verbosity: u32,
    /// `--readd`.
    pub readd: bool,
}

/// Parses an `-O`/`--protocols` list (`OpenFlow10,OpenFlow13`) into a
/// version bitmap (bit n = wire version n); shared with `oxvs controller`.
///
/// Errors: the text printed after `ovs-ofctl: `.
pub(crate) fn parse_protocols(s: &str) -> Result<u32, String> {
    let mut bits = 0;
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        bits |= match name {
            "OpenFlow10" => 1 << 1,
            "OpenFlow13" => 1 << 4,
            "OpenFlow14" => 1 << 5,
            "OpenFlow15" => 1 << 6,
            "OpenFlow11" | "OpenFlow12" => {
                return Err(format!("{name} is not supported by oxvs"));
            }
            _ => return Err(format!("Unknown OpenFlow version: \"{name}\"")),
        };
    }
    if bits == 0 {
        return Err("no usable protocols".into());
    }
    Ok(bits)
}

const HELP: &str = "ovs-ofctl: OpenFlow switch management utility (oxvs)
usage: ovs-ofctl [OPTIONS] COMMAND [ARG...]

For OpenFlow switches:
  show SWITCH                 show OpenFlow information
  dump-tables SWITCH          print table stats
  dump-ports SWITCH [PORT]    print port statistics
  dump-ports-desc SWITCH      print port descriptions
  dump-flows SWITCH           print all flow entries
  dump-flows SWITCH FLOW      print matching FLOWs
  dump-aggregate SWITCH       print aggregate flow statistics
  dump-aggregate SWITCH FLOW  print aggregate stats for FLOWs
  add-flow SWITCH FLOW        add flow described by FLOW
  add-flows SWITCH FILE       add flows from FILE
  mod-flows SWITCH FLOW       modify actions of matching FLOWs
  del-flows SWITCH [FLOW]     delete matching FLOWs
  packet-out SWITCH \"in_port=...,packet=...,actions=...\"
  monitor SWITCH [MISSLEN] [invalid_ttl] [watch:[...]]
                              print packets received from SWITCH

Other options:
  --strict                    use strict match for flow commands
  -O, --protocols             set allowed OpenFlow versions
  --names / --no-names        show port names / numbers
  --no-stats                  do not show flow statistics
  --sort[=field] --rsort[=field]  sort dump-flows output
  --bundle                    execute flow mods as an atomic bundle
                              (OpenFlow 1.4, or the ONF extension in 1.3)
  -t, --timeout=SECS          give up after SECS seconds
  -m, --more                  be more verbose printing OpenFlow messages
  -h, --help                  display this help message
  -V, --version               display version information
";

/// Runs `oxvs ofctl` with `args` (everything after `ofctl`); returns the exit status.
pub fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(f) => {
            if let Some(m) = f.msg {
                eprintln!("ovs-ofctl: {m}");
            }
            1
        }
    }
}

fn run(args: &[String]) -> Result<i32, Fatal> {
    let mut o = Opts {
        allowed: 1 << 1,
        strict: false,
        names: None,
        no_stats: false,
        sort: Vec::new(),
        bundle: false,
        timeout: None,
        verbosity: 0,
        readd: false,
    };
    let mut pos: Vec<String> = Vec::new();
    let mut i = 0;
    let mut only_pos = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if only_pos || !a.starts_with('-') || a == "-" {
            pos.push(a.clone());
            continue;
        }
        if a == "--" {
            only_pos = true;
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, Fatal> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            if let Some(v) = name
                .strip_prefix("-O")
                .or(name.strip_prefix("-t"))
                .filter(|v| !v.is_empty())
            {
                return Ok(v.to_string());
            }
            let v = args
                .get(i)
                .cloned()
                .ok_or_else(|| Fatal::msg(format!("option '{what}' requires an argument")))?;
            i += 1;
            Ok(v)
        };
        match name.as_str() {
            "-O" | "--protocols" => {
                o.allowed = parse_protocols(&value("--protocols")?).map_err(Fatal::msg)?
            }
            n if n.starts_with("-O") => o.allowed = parse_protocols(&n[2..]).map_err(Fatal::msg)?,
            "--strict" => o.strict = true,
            "--names" => o.names = Some(true),
            "--no-names" => o.names = Some(false),
            "--no-stats" => o.no_stats = true,
            "--stats" => o.no_stats = false,
            "--sort" | "--rsort" => o.sort.push(SortKey {
                field: inline.clone().unwrap_or_default(),
                reverse: name == "--rsort",
            }),
            "--bundle" => o.bundle = true,
            "--readd" => o.readd = true,
            "-t" | "--timeout" => {
                let v = value("--timeout")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| Fatal::msg(format!("value {v} on -t or --timeout is invalid")))?;
                if secs > 0 {
                    o.timeout = Some(Duration::from_secs(secs));
                }
            }
            n if n.starts_with("-t") => {
                let secs: u64 = n[2..].parse().map_err(|_| {
                    Fatal::msg(format!("value {} on -t or --timeout is invalid", &n[2..]))
                })?;
                if secs > 0 {
                    o.timeout = Some(Duration::from_secs(secs));
                }
            }
            "-m" | "--more" => o.verbosity += 1,
            "-mm" => o.verbosity += 2,
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(0);
            }
            "-V" | "--version" => {
                println!("ovs-ofctl (oxvs) {}", env!("CARGO_PKG_VERSION"));
                println!("OpenFlow versions 0x1:0x6");
                return Ok(0);
            }
            n if n.starts_with("-v")
                || n.starts_with("--verbose")
                || n.starts_with("--log-file") => {}
            _ => {
                let n = name.trim_start_matches('-');
                return Err(Fatal::msg(if name.starts_with("--") {
                    format!("unrecognized option '{name}'")
                } else {
                    format!("invalid option -- '{n}'")
                }));
            }
        }
    }
    // ovs-ofctl's implicit OpenFlow 1.4 with --bundle: when no version able
    // to carry a bundle (1.3+) is enabled, OpenFlow 1.4 is enabled and
    // every version before 1.3 disabled (so the default becomes 1.4 only).
    const OF13_UP: u32 = (1 << 4) | (1 << 5) | (1 << 6);
    if o.bundle && o.allowed & OF13_UP == 0 {
        o.allowed = 1 << 5;
    }
    let Some((cmd, rest)) = pos.split_first() else {
        return Err(Fatal::msg("missing command name; use --help for help"));
    };
    let (min, max) = match cmd.as_str() {
        "show" | "dump-ports-desc" | "dump-tables" => (1, 2),
        "dump-flows" | "dump-aggregate" | "dump-ports" | "monitor" => (1, 3),
        "add-flow" | "add-flows" | "mod-flows" => (2, 3),
        "del-flows" => (1, usize::MAX),
        "packet-out" => (2, usize::MAX),
        _ => {
            return Err(Fatal::msg(format!(
                "unknown command '{cmd}'; use --help for help"
            )))
        }
    };
    if rest.len() < min {
        return Err(Fatal::msg(format!(
            "'{cmd}' command requires at least {min} arguments"
        )));
    }
    if rest.len() > max {
        return Err(Fatal::msg(format!(
            "'{cmd}' command takes at most {max} arguments"
        )));
    }
    let mut s = Session::new(o.allowed, o.timeout);
    let target = rest[0].as_str();
    let args = &rest[1..];
    match cmd.as_str() {
        "show" => show(&mut s, target),
        "dump-ports-desc" => dump_ports_desc(&mut s, target),
        "dump-tables" => dump_tables(&mut s, target),
        "dump-ports" => dump_ports(&mut s, target, args.first().map(String::as_str)),
        "dump-flows" => {
            flows::dump_flows(&mut s, &o, target, args.first().map(String::as_str), false)
        }
        "dump-aggregate" => {
            flows::dump_flows(&mut s, &o, target, args.first().map(String::as_str), true)
        }
        "add-flow" => flows::flow_mod_cmd(&mut s, &o, target, flows::Cmd::Add, Some(&args[0])),
        "add-flows" => flows::add_flows(&mut s, &o, target, &args[0]),
        "mod-flows" => flows::flow_mod_cmd(&mut s, &o, target, flows::Cmd::Modify, Some(&args[0])),
        "del-flows" => flows::flow_mod_cmd(
            &mut s,
            &o,
            target,
            flows::Cmd::Delete,
            args.first().map(String::as_str),
        ),
        "packet-out" => flows::packet_out(&mut s, &o, target, args),
        "monitor" => monitor::monitor(&mut s, &o, target, args),
        _ => unreachable!("checked above"),
    }
    .map(|()| 0)
}

/// Prints an OFPT_ERROR reply to stderr (`OFPT_ERROR (xid=0x…): NAME` then
/// the offending request) — for replies to requests that expect a reply.
fn print_error(m: &wire::Msg, request: Option<&str>) {
    eprint!("{}", flows::format_error(m, request));
}

/// Checks that `m` is the expected reply; an OFPT_ERROR is printed and fatal.
fn expect_reply(m: &wire::Msg, ok: bool) -> Result<(), Fatal> {
    if m.type_ == OFPT_ERROR {
        print_error(m, None);
        return Err(Fatal::silent());
    }
    if !ok {
        return Err(Fatal::msg(format!(
            "received bad reply: type {} (OpenFlow version 0x{:02x})",
            m.type_, m.version
        )));
    }
    Ok(())
}

/// Fetches the port descriptions for `version` on `v` (FEATURES in OF1.0,
/// PORT_DESC multipart otherwise); returns them and prints nothing.
fn port_descs(
    s: &mut Session,
    v: &mut Vconn,
) -> Result<(Vec<openflow::msg::PortDesc>, Option<wire::Msg>), Fatal> {
    if v.version == 1 {
        let xid = s.alloc_xid();
        let m = v.transact(&wire::message(1, wire::OFPT_FEATURES_REQUEST, xid, &[]))?;
        expect_reply(&m, m.type_ == 6)?;
        let f = wire::features_reply(&m)
            .ok_or_else(|| Fatal::msg("received bad reply: short features reply"))?;
        Ok((f.ports, Some(m)))
    } else {
        let body = wire::port_desc_body(v.version);
        let mut ports = Vec::new();
        for p in stats_parts(s, v, wire::OFPST_PORT_DESC, &body)? {
            ports.extend(wire::ports(p.version, wire::stats_body(&p)));
        }
        Ok((ports, None))
    }
}

/// One stats/multipart transaction on `v` (OVS `dump_transaction`): a
/// request of `type_` with `body`, then every reply part, each checked to
/// be a stats reply (an OFPT_ERROR is printed and fatal).
fn stats_parts(
    s: &mut Session,
    v: &mut Vconn,
    type_: u16,
    body: &[u8],
) -> Result<Vec<wire::Msg>, Fatal> {
    let xid = s.alloc_xid();
    let parts = v.dump(&wire::stats_request(v.version, xid, type_, body))?;
    for p in &parts {
        expect_reply(p, wire::is_stats_reply(p))?;
    }
    Ok(parts)
}

/// The dump commands' common shape: open a connection to `target`, run one
/// stats transaction whose body `body` builds for the negotiated version,
/// and print what `format` makes of each reply part (header included).
fn dump_command(
    s: &mut Session,
    target: &str,
    type_: u16,
    body: impl FnOnce(u8) -> Vec<u8>,
    format: impl Fn(&mut String, &wire::Msg),
) -> Result<(), Fatal> {
    let mut v = Vconn::open(target, s)?;
    let body = body(v.version);
    let mut out = String::new();
    for p in stats_parts(s, &mut v, type_, &body)? {
        format(&mut out, &p);
    }
    print!("{out}");
    Ok(())
}

/// A PORT_DESC reply part: header line, then the ports sorted by number.
fn format_port_desc(out: &mut String, p: &wire::Msg) {
    out.push_str(&print::stats_header(
        "OFPST_PORT_DESC reply",
        p.version,
        p.xid,
        wire::stats_flags(p),
    ));
    out.push('\n');
    print::phy_ports(out, p.version, &wire::ports(p.version, wire::stats_body(p)));
}

fn show(s: &mut Session, target: &str) -> Result<(), Fatal> {
    let mut v = Vconn::open(target, s)?;
    let xid = s.alloc_xid();
    let m = v.transact(&wire::message(
        v.version,
        wire::OFPT_FEATURES_REQUEST,
        xid,
        &[],
    ))?;
    expect_reply(&m, m.type_ == 6)?;
    let f = wire::features_reply(&m)
        .ok_or_else(|| Fatal::msg("received bad reply: short features reply"))?;
    let mut out = print::features(m.version, m.xid, &f);
    if v.version >= 4 {
        let body = wire::port_desc_body(v.version);
        for p in stats_parts(s, &mut v, wire::OFPST_PORT_DESC, &body)? {
            format_port_desc(&mut out, &p);
        }
    }
    print!("{out}");
    drop(v);
    let mut v = Vconn::open(target, s)?;
    let xid = s.alloc_xid();
    let m = v.transact(&wire::message(
        v.version,
        wire::OFPT_GET_CONFIG_REQUEST,
        xid,
        &[],
    ))?;
    expect_reply(&m, m.type_ == 8)?;
    let c = wire::switch_config(&m)
        .ok_or_else(|| Fatal::msg("received bad reply: short config reply"))?;
    print!("{}", print::switch_config(m.version, m.xid, &c));
    Ok(())
}

fn dump_ports_desc(s: &mut Session, target: &str) -> Result<(), Fatal> {
    dump_command(
        s,
        target,
        wire::OFPST_PORT_DESC,
        wire::port_desc_body,
        format_port_desc,
    )
}

fn dump_tables(s: &mut Session, target: &str) -> Result<(), Fatal> {
    dump_command(
        s,
        target,
        wire::OFPST_TABLE,
        |_| Vec::new(),
        |out, p| {
            out.push_str(&print::stats_header(
                "OFPST_TABLE reply",
                p.version,
                p.xid,
                wire::stats_flags(p),
            ));
            let mut tp = print::TablePrinter::new();
            for t in wire::table_stats(p.version, wire::stats_body(p)) {
                tp.table(out, p.version, &t);
            }
            tp.finish(out);
        },
    )
}

/// Resolves a port argument as ovs-ofctl's `str_to_port_no`: a number or
/// reserved name directly, otherwise by name through a port-map connection.
fn port_arg(s: &mut Session, target: &str, arg: &str) -> Result<u16, Fatal> {
    if let Some(p) = openflow::text::port::parse_port(arg, None) {
        return Ok(p);
    }
    let mut v = Vconn::open(target, s)?;
    let (ports, _) = port_descs(s, &mut v)?;
    ports
        .iter()
        .find(|p| p.name == arg)
        .map(|p| p.port_no)
        .ok_or_else(|| Fatal::msg(format!("{target}: unknown port `{arg}'")))
}

fn dump_ports(s: &mut Session, target: &str, port: Option<&str>) -> Result<(), Fatal> {
    let port_no = match port {
        Some(p) => port_arg(s, target, p)?,
        None => openflow::port::OFPP_NONE,
    };
    let body = |version| {
        let mut body = wire::port_bytes(version, port_no);
        body.resize(8, 0);
        body
    };
    dump_command(s, target, wire::OFPST_PORT, body, |out, p| {
        let stats = wire::port_stats(p.version, wire::stats_body(p));
        out.push_str(&print::stats_header(
            "OFPST_PORT reply",
            p.version,
            p.xid,
            wire::stats_flags(p),
        ));
        out.push_str(&format!(" {} ports\n", stats.len()));
        print::port_stats(out, &stats);
    })
}
