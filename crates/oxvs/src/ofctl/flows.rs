//! The flow commands of `oxvs ofctl`: dump-flows, dump-aggregate,
//! add-flow(s), mod-flows, del-flows, packet-out, monitor.
//!
//! Message sequences as ovs-ofctl 3.1 (shared/compat/openflow-clients.md
//! §3): a flow argument first costs a table-map and a port-map connection;
//! in OpenFlow 1.0 the connection is switched to NXM / table-id mode with
//! Nicira messages each followed by a barrier; every flow_mod is followed
//! by a barrier, and an OFPT_ERROR carrying its xid before the barrier
//! reply is printed and ends the run with status 1.

use std::io::Read;

use openflow::codec::{self, CodecOptions};
use openflow::msg::{
    FlowMod, FlowModCommand, FlowStats, FlowStatsRequest, MultipartReplyBody, MultipartRequest,
    MultipartRequestBody, PacketOut, NO_BUFFER, NXFF_NXM, OFPTT_ALL,
};
use openflow::text::act::proto;
use openflow::text::{self as oftext, FlowSpec, FlowUsage};
use openflow::OfpMessage;

use super::vconn::{Session, Vconn};
use super::wire::{self, Msg, OFPT_ERROR};
use super::{expect_reply, port_descs, Fatal, Opts};

/// Which flow_mod command a CLI command sends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cmd {
    /// add-flow(s).
    Add,
    /// mod-flows.
    Modify,
    /// del-flows.
    Delete,
}

/// Port names fetched from the switch: (number, name).
type PortMap = Vec<(u16, String)>;

/// The version used to parse flows before connecting: the only allowed
/// version, or 0 (any) when several are allowed.
fn parse_version(o: &Opts) -> u8 {
    if o.allowed.count_ones() == 1 {
        o.allowed.trailing_zeros() as u8
    } else {
        0
    }
}

/// ovs-ofctl's table-map and port-map connections (opened before parsing a
/// flow argument unless `--no-names`). Returns the port names.
pub(super) fn fetch_maps(s: &mut Session, o: &Opts, target: &str) -> Result<PortMap, Fatal> {
    if o.names == Some(false) {
        return Ok(Vec::new());
    }
    {
        let mut v = Vconn::open(target, s)?;
        let xid = s.alloc_xid();
        let type_ = if v.version == 1 {
            wire::OFPST_TABLE
        } else {
            wire::OFPMP_TABLE_FEATURES
        };
        for p in v.dump(&wire::stats_request(v.version, xid, type_, &[]))? {
            if p.type_ == OFPT_ERROR {
                return Err(Fatal::msg(format!(
                    "received bad reply: {}",
                    format_error(&p, None).trim_end()
                )));
            }
        }
    }
    let mut v = Vconn::open(target, s)?;
    let (ports, _) = port_descs(s, &mut v)?;
    Ok(ports.into_iter().map(|p| (p.port_no, p.name)).collect())
}

fn lookup<'a>(map: &'a PortMap) -> impl Fn(&str) -> Option<u16> + 'a {
    move |name: &str| map.iter().find(|(_, n)| n == name).map(|(p, _)| *p)
}

fn parse(text: &str, usage: FlowUsage, version: u8, map: &PortMap) -> Result<FlowSpec, String> {
    let f = lookup(map);
    let spec = oftext::parse_flow(text, usage, version, Some(&f))?;
    Ok(spec)
}

/// Switches an OpenFlow 1.0 connection to what `spec` needs (OVS
/// `set_protocol_for_flow_dump` / `ofputil_encode_set_protocol`): the
/// table-id extension if a table is given, NXM if the match or actions
/// need it; each message followed by a barrier.
struct Of10State {
    table_id: bool,
    nxm: bool,
}

fn set_of10(
    s: &mut Session,
    v: &mut Vconn,
    st: &mut Of10State,
    want_tid: bool,
    want_nxm: bool,
) -> Result<(), Fatal> {
    if want_tid && !st.table_id {
        send_with_barrier(s, v, &OfpMessage::NxFlowModTableId(true), st, None)?;
        st.table_id = true;
    }
    if want_nxm && !st.nxm {
        send_with_barrier(s, v, &OfpMessage::NxSetFlowFormat(NXFF_NXM), st, None)?;
        st.nxm = true;
    }
    Ok(())
}

/// Sends `msg` then a barrier; an error reply to either is printed, fatal.
fn send_with_barrier(
    s: &mut Session,
    v: &mut Vconn,
    msg: &OfpMessage,
    st: &Of10State,
    what: Option<&str>,
) -> Result<(), Fatal> {
    let xid = s.alloc_xid();
    let mut bytes = Vec::new();
    codec::encode_into(
        v.version,
        xid,
        msg,
        &CodecOptions {
            flow_mod_table_id: st.table_id,
        },
        &mut bytes,
    );
    v.send(&bytes)?;
    if let Some(err) = v.barrier(s, &[xid])? {
        eprint!("{}", format_error_opts(&err, what, st.table_id));
        return Err(Fatal::silent());
    }
    Ok(())
}

fn flow_mod_of(spec: &FlowSpec, cmd: Cmd, strict: bool, version: u8) -> Result<FlowMod, String> {
    let command = match (cmd, strict) {
        (Cmd::Add, _) => FlowModCommand::Add,
        (Cmd::Modify, false) => FlowModCommand::Modify,
        (Cmd::Modify, true) => FlowModCommand::ModifyStrict,
        (Cmd::Delete, false) => FlowModCommand::Delete,
        (Cmd::Delete, true) => FlowModCommand::DeleteStrict,
    };
    let fm = spec.to_flow_mod(command, version);
    codec::check_encodable(&fm.ofpacts, version).map_err(|e| e.name().to_string())?;
    Ok(fm)
}

/// One parsed line of add-flows / the argument of add-flow etc.
struct Parsed {
    spec: FlowSpec,
    cmd: Cmd,
    strict: bool,
}

fn usage_of(cmd: Cmd, strict: bool) -> FlowUsage {
    match (cmd, strict) {
        (Cmd::Add, _) => FlowUsage::Add,
        (Cmd::Modify, false) => FlowUsage::Modify,
        (Cmd::Modify, true) => FlowUsage::ModifyStrict,
        (Cmd::Delete, false) => FlowUsage::Delete,
        (Cmd::Delete, true) => FlowUsage::DeleteStrict,
    }
}

fn print_warnings(s: &mut Session, spec: &FlowSpec) {
    for w in &spec.warnings {
        s.log("ofp_match", "INFO", w);
    }
}

/// Sends the parsed flow_mods on one connection, each followed by a barrier
/// (or inside one OpenFlow 1.4 bundle with `--bundle`).
fn send_flow_mods(s: &mut Session, o: &Opts, target: &str, mods: &[Parsed]) -> Result<(), Fatal> {
    let mut v = Vconn::open(target, s)?;
    let version = v.version;
    if o.bundle && version < 4 {
        return Err(Fatal::msg(NO_BUNDLE_FORMAT));
    }
    let mut st = Of10State {
        table_id: false,
        nxm: false,
    };
    if version == 1 {
        let tid = mods.iter().any(|p| p.spec.table_id != OFPTT_ALL);
        let nxm = mods.iter().any(|p| {
            p.spec.usable_protocols & proto::OF10_STD == 0
                || !codec::of10_expressible(&p.spec.r#match)
        });
        set_of10(s, &mut v, &mut st, tid, nxm)?;
    }
    let mut msgs = Vec::with_capacity(mods.len());
    for p in mods {
        let mut fm = flow_mod_of(&p.spec, p.cmd, p.strict, version).map_err(Fatal::msg)?;
        if version == 1 && !st.table_id {
            fm.table_id = OFPTT_ALL;
        }
        msgs.push(if version == 1 && st.nxm {
            OfpMessage::NxFlowMod(fm)
        } else {
            OfpMessage::FlowMod(fm)
        });
    }
    if o.bundle {
        return bundle(s, &mut v, &msgs);
    }
    let opts = CodecOptions {
        flow_mod_table_id: st.table_id,
    };
    let mut buf = Vec::new();
    for m in &msgs {
        let xid = s.alloc_xid();
        buf.clear();
        codec::encode_into(version, xid, m, &opts, &mut buf);
        v.send(&buf)?;
        if let Some(err) = v.barrier(s, &[xid])? {
            eprint!("{}", format_error_opts(&err, None, st.table_id));
            return Err(Fatal::silent());
        }
    }
    Ok(())
}

/// The message ovs-ofctl prints when the negotiated version cannot carry
/// a bundle (OVS `bundle_flow_mod__` restricts the usable protocols to
/// OpenFlow 1.3 and later).
const NO_BUNDLE_FORMAT: &str = "switch does not support any of the usable flow formats \
     (OXM-OpenFlow13,OXM-OpenFlow14,OXM-OpenFlow15)";

/// One atomic, ordered bundle (OVS `vconn_bundle_transact`): the flow_mods
/// are encoded first (taking their xids), then OPEN_REQUEST (waits for the
/// reply), one ADD_MESSAGE per flow_mod carrying that flow_mod's xid, a
/// barrier, and COMMIT_REQUEST — or DISCARD_REQUEST when any error arrived.
/// OpenFlow 1.4+ uses the standard messages, OpenFlow 1.3 the ONF
/// extension (see [`wire::bundle_ctrl`]).
///
/// Errors are printed as `Error NAME for: <the failing request>` and the
/// run fails with `talking to VCONN (Protocol error)`, as ovs-ofctl.
fn bundle(s: &mut Session, v: &mut Vconn, msgs: &[OfpMessage]) -> Result<(), Fatal> {
    let version = v.version;
    let flags = wire::OFPBF_ATOMIC | wire::OFPBF_ORDERED;
    let requests: Vec<Vec<u8>> = msgs
        .iter()
        .map(|m| codec::encode(version, s.alloc_xid(), m))
        .collect();
    let mut errors = Vec::new();
    let mut ok = bundle_ctrl_transact(s, v, OFPBCT_OPEN_REQUEST, flags, &mut errors)?;
    if ok {
        for r in &requests {
            v.send(&wire::bundle_add(version, 0, flags, r))?;
            // Drain errors as they come, so neither side's buffer fills.
            while v.readable() {
                let m = v.recv()?;
                if m.type_ == OFPT_ERROR {
                    errors.push(m);
                }
            }
        }
        let xid = s.alloc_xid();
        v.send(&wire::barrier_request(version, xid))?;
        loop {
            let m = v.recv()?;
            if m.xid == xid {
                break;
            }
            if m.type_ == OFPT_ERROR {
                errors.push(m);
            }
        }
        ok = errors.is_empty();
        if ok {
            ok = bundle_ctrl_transact(s, v, OFPBCT_COMMIT_REQUEST, flags, &mut errors)?;
        } else {
            bundle_ctrl_transact(s, v, OFPBCT_DISCARD_REQUEST, flags, &mut errors)?;
        }
    }
    let mut out = String::new();
    for e in &errors {
        out.push_str(&format_bundle_error(e, &requests));
    }
    eprint!("{out}");
    if ok {
        Ok(())
    } else {
        Err(Fatal::msg(format!(
            "talking to {} (Protocol error)",
            v.vconn_name
        )))
    }
}

/// OFPBCT_OPEN_REQUEST.
const OFPBCT_OPEN_REQUEST: u16 = 0;
/// OFPBCT_COMMIT_REQUEST.
const OFPBCT_COMMIT_REQUEST: u16 = 4;
/// OFPBCT_DISCARD_REQUEST.
const OFPBCT_DISCARD_REQUEST: u16 = 6;

/// Sends a bundle control request (bundle 0) and waits for its reply;
/// errors with other xids received meanwhile are appended to `errors`.
/// Returns whether the reply is the matching `type_ + 1` control reply (an
/// error reply is appended to `errors` too).
fn bundle_ctrl_transact(
    s: &mut Session,
    v: &mut Vconn,
    type_: u16,
    flags: u16,
    errors: &mut Vec<Msg>,
) -> Result<bool, Fatal> {
    let xid = s.alloc_xid();
    v.send(&wire::bundle_ctrl(v.version, xid, 0, type_, flags))?;
    let reply = loop {
        let m = v.recv()?;
        if m.xid == xid {
            break m;
        }
        if m.type_ == OFPT_ERROR {
            errors.push(m);
        }
    };
    if reply.type_ == OFPT_ERROR {
        errors.push(reply);
        return Ok(false);
    }
    Ok(wire::parse_bundle_ctrl(&reply).is_some_and(|c| c.bundle_id == 0 && c.type_ == type_ + 1))
}

/// One bundle error as ovs-ofctl's `bundle_print_errors`: `Error NAME for:
/// ` then the request with the error's xid as `ofp_print` shows it, or
/// what the error carries when no request has that xid.
fn format_bundle_error(e: &Msg, requests: &[Vec<u8>]) -> String {
    let (name, data) = error_name_and_data(e);
    let req = requests
        .iter()
        .find(|r| wire::xid_of(r) == e.xid)
        .map_or(&data[..], |r| &r[..]);
    format!("Error {name} for: {}", format_request(req))
}

/// `ofp_print` of a request ovs-ofctl sends (flow_mod, bundle control),
/// one line per message part, newline-terminated; other messages by type.
fn format_request(bytes: &[u8]) -> String {
    let m = Msg::new(bytes.to_vec());
    if let Some(c) = wire::parse_bundle_ctrl(&m) {
        let name = if m.version >= 5 {
            "OFPT_BUNDLE_CONTROL"
        } else {
            "ONFT_BUNDLE_CONTROL"
        };
        let type_ = [
            "OPEN_REQUEST",
            "OPEN_REPLY",
            "CLOSE_REQUEST",
            "CLOSE_REPLY",
            "COMMIT_REQUEST",
            "COMMIT_REPLY",
            "DISCARD_REQUEST",
            "DISCARD_REPLY",
        ]
        .get(usize::from(c.type_))
        .copied()
        .unwrap_or("???");
        let mut fl = Vec::new();
        if c.flags & wire::OFPBF_ATOMIC != 0 {
            fl.push("atomic");
        }
        if c.flags & wire::OFPBF_ORDERED != 0 {
            fl.push("ordered");
        }
        let fl = if fl.is_empty() {
            "0".to_string()
        } else {
            fl.join(" ")
        };
        return format!(
            "{}\n bundle_id={:#x} type={type_} flags={fl}\n",
            super::print::header(name, m.version, m.xid),
            c.bundle_id
        )
        .replace("bundle_id=0x0 ", "bundle_id=0 ");
    }
    match codec::decode(bytes) {
        Ok((h, OfpMessage::FlowMod(fm))) => format!(
            "{} {}\n",
            super::print::header("OFPT_FLOW_MOD", h.version, h.xid),
            format_flow_mod(&fm, h.version)
        ),
        _ => format!(
            "{}\n",
            super::print::header(&format!("type {}", m.type_), m.version, m.xid)
        ),
    }
}

/// `add-flow`, `mod-flows`, `del-flows`.
pub fn flow_mod_cmd(
    s: &mut Session,
    o: &Opts,
    target: &str,
    cmd: Cmd,
    flow: Option<&str>,
) -> Result<(), Fatal> {
    let parsed = match flow {
        Some(text) => {
            let map = fetch_maps(s, o, target)?;
            let spec =
                parse(text, usage_of(cmd, o.strict), parse_version(o), &map).map_err(Fatal::msg)?;
            print_warnings(s, &spec);
            Parsed {
                spec,
                cmd,
                strict: o.strict,
            }
        }
        None => {
            let spec = oftext::parse_flow("", usage_of(cmd, o.strict), parse_version(o), None)
                .map_err(Fatal::msg)?;
            Parsed {
                spec,
                cmd,
                strict: o.strict,
            }
        }
    };
    send_flow_mods(s, o, target, &[parsed])
}

/// `add-flows SWITCH FILE` (`-` = stdin): every line parsed first (an error
/// names `FILE:LINE` and sends nothing), then sent in order.
pub fn add_flows(s: &mut Session, o: &Opts, target: &str, file: &str) -> Result<(), Fatal> {
    let mut text = String::new();
    let r = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_string(&mut text).map(|_| ()))
    };
    if let Err(e) = r {
        let reason = match e.raw_os_error() {
            Some(libc::ENOENT) => "No such file or directory".to_string(),
            Some(libc::EACCES) => "Permission denied".to_string(),
            _ => e.to_string(),
        };
        return Err(Fatal::msg(format!("{file}: open failed ({reason})")));
    }
    let map = fetch_maps(s, o, target)?;
    let mut mods = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (cmd, strict, rest) = line_command(line);
        let spec = parse(rest, usage_of(cmd, strict), parse_version(o), &map)
            .map_err(|e| Fatal::msg(format!("{file}:{}: {e}", n + 1)))?;
        print_warnings(s, &spec);
        mods.push(Parsed { spec, cmd, strict });
    }
    send_flow_mods(s, o, target, &mods)
}

/// A leading `add`/`modify`/`delete`[`_strict`] keyword of an add-flows line.
fn line_command(line: &str) -> (Cmd, bool, &str) {
    let end = line.find([',', ' ', '\t']).unwrap_or(line.len());
    let (word, rest) = line.split_at(end);
    match word {
        "add" => (Cmd::Add, false, rest),
        "modify" => (Cmd::Modify, false, rest),
        "modify_strict" => (Cmd::Modify, true, rest),
        "delete" => (Cmd::Delete, false, rest),
        "delete_strict" => (Cmd::Delete, true, rest),
        _ => (Cmd::Add, false, line),
    }
}

/// `dump-flows` / `dump-aggregate`.
pub fn dump_flows(
    s: &mut Session,
    o: &Opts,
    target: &str,
    filter: Option<&str>,
    aggregate: bool,
) -> Result<(), Fatal> {
    let client_side = !aggregate && (o.names == Some(true) || !o.sort.is_empty() || o.no_stats);
    let mut map = Vec::new();
    let spec = match filter {
        Some(text) => {
            map = fetch_maps(s, o, target)?;
            Some(parse(text, FlowUsage::MatchOnly, parse_version(o), &map).map_err(Fatal::msg)?)
        }
        None => None,
    };
    if o.names == Some(true) && filter.is_none() {
        map = fetch_maps(s, o, target)?;
    }
    let mut v = Vconn::open(target, s)?;
    let version = v.version;
    let mut q = FlowStatsRequest::default();
    if let Some(sp) = &spec {
        q.match_ = sp.r#match;
        q.table_id = sp.table_id;
        q.out_port = sp.out_port;
        q.out_group = sp.out_group;
        q.cookie = sp.cookie;
        q.cookie_mask = sp.cookie_mask;
    }
    let body = if version == 1 {
        let mut st = Of10State {
            table_id: false,
            nxm: false,
        };
        set_of10(s, &mut v, &mut st, false, true)?;
        if aggregate {
            MultipartRequestBody::NxAggregate(q)
        } else {
            MultipartRequestBody::NxFlow(q)
        }
    } else if aggregate {
        MultipartRequestBody::Aggregate(q)
    } else {
        MultipartRequestBody::Flow(q)
    };
    let xid = s.alloc_xid();
    let req = codec::encode(
        version,
        xid,
        &OfpMessage::MultipartRequest(MultipartRequest { flags: 0, body }),
    );
    let parts = v.dump(&req)?;
    let names_fn = |p: u16| {
        map.iter()
            .find(|(n, _)| *n == p)
            .map(|(_, name)| name.clone())
    };
    let names: Option<&oftext::PortNames> = if o.names == Some(true) {
        Some(&names_fn)
    } else {
        None
    };
    let mut out = String::new();
    let mut collected: Vec<FlowStats> = Vec::new();
    for p in &parts {
        expect_reply(p, wire::is_stats_reply(p))?;
        let (_, msg) = codec::decode(&p.bytes)
            .map_err(|e| Fatal::msg(format!("received bad reply: {}", e.name())))?;
        let OfpMessage::MultipartReply(r) = msg else {
            return Err(Fatal::msg("received bad reply"));
        };
        let nx = version == 1;
        let kind = if aggregate { "AGGREGATE" } else { "FLOW" };
        let name = format!("{}_{kind} reply", if nx { "NXST" } else { "OFPST" });
        match r.body {
            MultipartReplyBody::Aggregate(a) | MultipartReplyBody::NxAggregate(a) => {
                out.push_str(&super::print::stats_header(
                    &name, p.version, p.xid, r.flags,
                ));
                out.push_str(&format!(
                    " packet_count={} byte_count={} flow_count={}\n",
                    a.packet_count, a.byte_count, a.flow_count
                ));
            }
            MultipartReplyBody::Flow(fs) | MultipartReplyBody::NxFlow(fs) => {
                if client_side {
                    collected.extend(fs);
                    continue;
                }
                out.push_str(&super::print::stats_header(
                    &name, p.version, p.xid, r.flags,
                ));
                out.push('\n');
                for f in &fs {
                    out.push(' ');
                    out.push_str(&format_entry(&entry(f, true), true, version, names));
                    out.push('\n');
                }
            }
            _ => return Err(Fatal::msg("received bad reply")),
        }
    }
    if client_side {
        sort_flows(&mut collected, o);
        for f in &collected {
            out.push(' ');
            out.push_str(&format_entry(&entry(f, false), !o.no_stats, version, names));
            out.push('\n');
        }
    }
    print!("{out}");
    Ok(())
}

/// One flow line. The actions are already in the wire version's form, so
/// the text formatter is asked for no version conversion (version 0); in
/// OpenFlow 1.1+ the only VLAN pop is OFPAT_POP_VLAN, printed `pop_vlan`.
fn format_entry(
    e: &oftext::FlowStatsEntry,
    stats: bool,
    version: u8,
    names: Option<&oftext::PortNames>,
) -> String {
    let line = oftext::format_flow_stats_entry(e, stats, names);
    if version == 1 {
        return line;
    }
    match line.rfind("actions=") {
        Some(i) => {
            let (head, acts) = line.split_at(i);
            let acts: Vec<&str> = acts
                .split(',')
                .map(|a| match a {
                    "strip_vlan" => "pop_vlan",
                    "actions=strip_vlan" => "actions=pop_vlan",
                    other => other,
                })
                .collect();
            format!("{head}{}", acts.join(","))
        }
        None => line,
    }
}

/// Flow stats as the text formatter takes them; ages only when printed
/// from the reply (ovs-ofctl omits them when it formats flows itself).
fn entry(f: &FlowStats, ages: bool) -> oftext::FlowStatsEntry {
    oftext::FlowStatsEntry {
        table_id: f.table_id,
        duration_sec: f.duration_sec,
        duration_nsec: f.duration_nsec,
        priority: f.priority,
        idle_timeout: f.idle_timeout,
        hard_timeout: f.hard_timeout,
        importance: f.importance,
        flags: f.flags,
        idle_age: if ages {
            f.idle_age.map(u32::from)
        } else {
            None
        },
        hard_age: if ages {
            f.hard_age.map(u32::from)
        } else {
            None
        },
        cookie: f.cookie,
        packet_count: f.packet_count,
        byte_count: f.byte_count,
        r#match: f.match_,
        actions: f.ofpacts.clone(),
    }
}

/// `--sort`/`--rsort` (OVS `compare_flows`): by priority when no field is
/// named, else by the field's value; flows without the field sort last.
fn sort_flows(flows: &mut [FlowStats], o: &Opts) {
    if o.sort.is_empty() {
        return;
    }
    flows.sort_by(|a, b| {
        for k in &o.sort {
            let ord = if k.field.is_empty() || k.field == "priority" {
                a.priority.cmp(&b.priority)
            } else if let Some(f) = openflow::mf::Field::from_name(&k.field) {
                let va = (f.get(&a.match_.mask) != 0).then(|| f.get(&a.match_.flow));
                let vb = (f.get(&b.match_.mask) != 0).then(|| f.get(&b.match_.flow));
                match (va, vb) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => return std::cmp::Ordering::Less,
                    (None, Some(_)) => return std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
            } else {
                std::cmp::Ordering::Equal
            };
            let ord = if k.reverse { ord.reverse() } else { ord };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
}

/// `packet-out SWITCH "in_port=P,packet=HEX,actions=A"` or the legacy
/// `packet-out SWITCH IN_PORT ACTIONS PACKET...`.
pub fn packet_out(s: &mut Session, o: &Opts, target: &str, args: &[String]) -> Result<(), Fatal> {
    let map = fetch_maps(s, o, target)?;
    let f = lookup(&map);
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let (in_port, actions_text) = if args.len() == 1 {
        let text = &args[0];
        let (head, acts) = match text.find("actions=") {
            Some(i) => (&text[..i], &text[i + 8..]),
            None => return Err(Fatal::msg("must specify an action")),
        };
        let mut in_port = openflow::port::OFPP_CONTROLLER;
        for kv in head.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "in_port" => {
                    in_port = oftext::port::parse_port(v, Some(&f))
                        .ok_or_else(|| Fatal::msg(format!("{v}: port is not valid")))?
                }
                "packet" => packets.push(hex(v).ok_or_else(|| Fatal::msg("packet: invalid hex"))?),
                _ => return Err(Fatal::msg(format!("unknown keyword {k}"))),
            }
        }
        (in_port, acts.to_string())
    } else {
        let in_port = oftext::port::parse_port(&args[0], Some(&f))
            .ok_or_else(|| Fatal::msg(format!("{}: port is not valid", args[0])))?;
        for p in args.get(2..).unwrap_or(&[]) {
            packets.push(hex(p).ok_or_else(|| Fatal::msg("packet: invalid hex"))?);
        }
        (in_port, args.get(1).cloned().unwrap_or_default())
    };
    let (tacts, _) = oftext::parse_actions(&actions_text, Some(&f)).map_err(Fatal::msg)?;
    let ofpacts = tacts;
    let mut v = Vconn::open(target, s)?;
    let st = Of10State {
        table_id: false,
        nxm: false,
    };
    for data in packets {
        let po = OfpMessage::PacketOut(PacketOut {
            buffer_id: NO_BUFFER,
            in_port,
            ofpacts: ofpacts.clone(),
            data,
        });
        send_with_barrier(s, &mut v, &po, &st, None)?;
    }
    Ok(())
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Text of a flow_mod as OVS's `ofputil_flow_mod_format`: `ADD table:1
/// priority=5,ip actions=drop`.
fn format_flow_mod(fm: &FlowMod, version: u8) -> String {
    let mut s = match fm.command {
        FlowModCommand::Add => "ADD",
        FlowModCommand::Modify => "MOD",
        FlowModCommand::ModifyStrict => "MOD_STRICT",
        FlowModCommand::Delete => "DEL",
        FlowModCommand::DeleteStrict => "DEL_STRICT",
    }
    .to_string();
    if fm.table_id != 0 && !(version == 1 && fm.table_id == OFPTT_ALL) {
        s.push_str(&format!(" table:{}", fm.table_id));
    }
    s.push(' ');
    s.push_str(&oftext::format_match(&fm.match_, fm.priority, None));
    if !s.ends_with(' ') {
        s.push(' ');
    }
    if fm.cookie != 0 && fm.cookie_mask == 0 {
        s.push_str(&format!("cookie:{:#x} ", fm.cookie));
    }
    if fm.cookie_mask != 0 {
        s.push_str(&format!("cookie:{:#x}/{:#x} ", fm.cookie, fm.cookie_mask));
    }
    if fm.idle_timeout != 0 {
        s.push_str(&format!("idle:{} ", fm.idle_timeout));
    }
    if fm.hard_timeout != 0 {
        s.push_str(&format!("hard:{} ", fm.hard_timeout));
    }
    if fm.importance != 0 {
        s.push_str(&format!("importance:{} ", fm.importance));
    }
    if fm.buffer_id != NO_BUFFER {
        s.push_str(&format!("buf:{:#x} ", fm.buffer_id));
    }
    if fm.out_port != openflow::port::OFPP_NONE {
        s.push_str(&format!("out_port:{} ", super::print::port(fm.out_port)));
    }
    s.push_str("actions=");
    s.push_str(&oftext::format_actions(&fm.ofpacts, None));
    s
}

/// An OFPT_ERROR as ovs-ofctl prints it: `OFPT_ERROR (xid=0x…): NAME`,
/// then the offending request (decoded) or `request` if it cannot be.
pub fn format_error(m: &Msg, request: Option<&str>) -> String {
    format_error_opts(m, request, false)
}

/// An OFPT_ERROR's name (`OFPBRC_EPERM`…) and the data it carries.
fn error_name_and_data(m: &Msg) -> (String, Vec<u8>) {
    match codec::decode(&m.bytes) {
        Ok((_, OfpMessage::Error(e))) => (e.error.name().to_string(), e.data),
        _ => {
            let t = wire::be16(&m.bytes, 8).unwrap_or(0);
            let c = wire::be16(&m.bytes, 10).unwrap_or(0);
            (
                format!("***unknown error type {t} code {c}***"),
                m.bytes.get(12..).unwrap_or(&[]).to_vec(),
            )
        }
    }
}

fn format_error_opts(m: &Msg, request: Option<&str>, table_id: bool) -> String {
    let mut out = super::print::header("OFPT_ERROR", m.version, m.xid);
    let (name, data) = error_name_and_data(m);
    out.push_str(&format!(" {name}\n"));
    if name.starts_with("OFPHFC") {
        out.push_str(&String::from_utf8_lossy(&data));
        out.push('\n');
        return out;
    }
    let opts = CodecOptions {
        flow_mod_table_id: table_id,
    };
    let decoded = codec::decode_with(&data, &opts).ok();
    match decoded {
        Some((h, OfpMessage::FlowMod(fm))) => {
            out.push_str(&super::print::header("OFPT_FLOW_MOD", h.version, h.xid));
            out.push(' ');
            out.push_str(&format_flow_mod(&fm, h.version));
            out.push('\n');
        }
        Some((h, OfpMessage::NxFlowMod(fm))) => {
            out.push_str(&super::print::header("NXT_FLOW_MOD", h.version, h.xid));
            out.push(' ');
            out.push_str(&format_flow_mod(&fm, h.version));
            out.push('\n');
        }
        _ => {
            if let Some(r) = request {
                out.push_str(r);
                out.push('\n');
            }
        }
    }
    out
}
