//! The ovs-vsctl commands: the bridge/port/interface commands of
//! `utilities/ovs-vsctl.c` (over a "cache" of bridges, ports and interfaces
//! rebuilt from the transaction's view whenever needed) and the generic
//! database commands of `lib/db-ctl-base.c` (`get`, `set`, `list`, `find`...).
//! Each command reads through [`Txn`], records verifies for what its decision
//! depends on, and writes into the same transaction; output text is returned
//! and printed only after the commit.

use std::collections::BTreeMap;

use ovsdb::text::{
    atom_from_string, atom_to_string, datum_from_string, datum_to_string, parse_uuid, token_parse,
    Symtab,
};
use ovsdb::{Atom, AtomicType, ColumnSchema, ColumnType, DatabaseSchema, Datum, TableSchema};
use uuid::Uuid;

use super::format::{Cell, Table, TableStyle};
use super::txn::Txn;
use super::{vlog_warn, CmdResult, Command, Fail};

/// What one command prints.
#[derive(Debug)]
pub(crate) enum Output {
    /// Plain text.
    Text(String),
    /// A table (list/find), printed in the chosen style.
    Table(Table),
    /// `create`: the new row's UUID (temporary until the server assigns it).
    Created(Uuid),
}

/// State shared by the commands of one run.
pub(crate) struct Ctx<'t, 'a> {
    pub txn: &'t mut Txn<'a>,
    pub symtab: &'t mut Symtab,
    /// The Open_vSwitch row (possibly inserted by this transaction).
    pub ovs: Uuid,
    /// Interfaces inserted by add-br/add-port (checked after the reload).
    pub new_ifaces: Vec<Uuid>,
}

fn fatal<T>(msg: impl Into<String>) -> CmdResult<T> {
    Err(Fail::Fatal(msg.into()))
}

// ---------------------------------------------------------------------------
// Name matching (db-ctl-base.c score_partial_match / get_table / get_column).

fn score_partial_match(name: &str, s: &str) -> u32 {
    if name == s {
        return u32::MAX;
    }
    let norm = |c: u8| {
        if c == b'-' {
            b'_'
        } else {
            c.to_ascii_lowercase()
        }
    };
    let (n, sb) = (name.as_bytes(), s.as_bytes());
    let mut score = 0u32;
    loop {
        let a = n.get(score as usize).copied().unwrap_or(0);
        let b = sb.get(score as usize).copied().unwrap_or(0);
        if norm(a) != norm(b) {
            break;
        }
        if a == 0 {
            return u32::MAX - 1;
        }
        score += 1;
    }
    if score as usize == sb.len() {
        score
    } else {
        0
    }
}

/// Find a table by (abbreviated, case-insensitive) name.
pub(crate) fn get_table<'s>(schema: &'s DatabaseSchema, name: &str) -> CmdResult<&'s TableSchema> {
    let mut best: Option<&TableSchema> = None;
    let mut best_score = 0;
    for t in schema.tables.values() {
        let score = score_partial_match(&t.name, name);
        if score > best_score {
            best = Some(t);
            best_score = score;
        } else if score == best_score {
            best = None;
        }
    }
    match best {
        Some(t) => Ok(t),
        None if best_score > 0 => fatal(format!("multiple table names match \"{name}\"")),
        None => fatal(format!("unknown table \"{name}\"")),
    }
}

/// Find a column by (abbreviated) name; error texts as ovs-vsctl 3.1.
pub(crate) fn get_column<'s>(t: &'s TableSchema, name: &str) -> Result<&'s ColumnSchema, String> {
    let mut best: Option<&ColumnSchema> = None;
    let mut best_score = 0;
    for c in t.columns.values() {
        let score = score_partial_match(&c.name, name);
        if score > best_score {
            best = Some(c);
            best_score = score;
        } else if score == best_score {
            best = None;
        }
    }
    match best {
        Some(c) => Ok(c),
        None if best_score > 0 => {
            let names: Vec<&str> = t
                .columns
                .values()
                .filter(|c| score_partial_match(&c.name, name) == best_score)
                .map(|c| c.name.as_str())
                .collect();
            Err(format!(
                "{} contains more than one column whose name matches \"{name}\": {}",
                t.name,
                names.join(", ")
            ))
        }
        None => Err(format!(
            "{} does not contain a column whose name matches \"{name}\"",
            t.name
        )),
    }
}

/// `COLUMN[:KEY][OP VALUE]` (db-ctl-base.c `parse_column_key_value`).
struct ColumnKeyValue<'s> {
    column: &'s ColumnSchema,
    key: Option<String>,
    op: usize,
    value: Option<String>,
}

fn parse_column_key_value<'s>(
    arg: &str,
    t: &'s TableSchema,
    operators: Option<&[&str]>,
) -> Result<ColumnKeyValue<'s>, String> {
    let (name, mut p) = token_parse(arg)?;
    if name.is_empty() {
        return Err(format!("{arg}: missing column name"));
    }
    let column = get_column(t, &name)?;
    let mut key = None;
    if let Some(rest) = p.strip_prefix(':') {
        let (k, rest) = token_parse(rest)?;
        key = Some(k);
        p = rest;
    }
    match operators {
        Some(ops) => {
            let mut best: Option<usize> = None;
            let mut best_len = 0;
            for (i, op) in ops.iter().enumerate() {
                if op.len() > best_len && p.starts_with(op) && p.len() > op.len() {
                    best = Some(i);
                    best_len = op.len();
                }
            }
            let Some(b) = best else {
                let mut s = format!("{arg}: argument does not end in \"{}\"", ops[0]);
                if ops.len() == 2 {
                    s.push_str(&format!(" or \"{}\"", ops[1]));
                } else if ops.len() > 2 {
                    for o in &ops[1..ops.len() - 1] {
                        s.push_str(&format!(", \"{o}\""));
                    }
                    s.push_str(&format!(", or \"{}\"", ops[ops.len() - 1]));
                }
                s.push_str(" followed by a value.");
                return Err(s);
            };
            Ok(ColumnKeyValue {
                column,
                key,
                op: b,
                value: Some(p[best_len..].to_string()),
            })
        }
        None => {
            if !p.is_empty() {
                return Err(format!("{arg}: trailing garbage \"{p}\" in argument"));
            }
            Ok(ColumnKeyValue {
                column,
                key,
                op: 0,
                value: None,
            })
        }
    }
}

const RELOPS: &[&str] = &[
    "=", "!=", "<", ">", "<=", ">=", "{=}", "{!=}", "{<}", "{>}", "{<=}", "{>=}",
];

fn parse_column_names<'s>(
    names: Option<&str>,
    t: &'s TableSchema,
) -> CmdResult<Vec<Option<&'s ColumnSchema>>> {
    match names {
        None => {
            let mut v = vec![None];
            v.extend(t.columns.values().map(Some));
            Ok(v)
        }
        Some(s) => {
            let mut v = Vec::new();
            for n in s.split([',', ' ']).filter(|n| !n.is_empty()) {
                if n.eq_ignore_ascii_case("_uuid") {
                    v.push(None);
                } else {
                    v.push(Some(get_column(t, n)?));
                }
            }
            if v.is_empty() {
                return fatal("must specify at least one column name");
            }
            Ok(v)
        }
    }
}

/// Checks ovs-vsctl makes before running any command (its "prerequisites"
/// phase): table names, column names and `--columns`.
pub(crate) fn prerequisites(schema: &DatabaseSchema, c: &Command) -> CmdResult {
    let a = &c.args;
    match c.name.as_str() {
        "get" => {
            let t = get_table(schema, &a[0])?;
            for arg in &a[2..] {
                if arg.eq_ignore_ascii_case("_uuid") || arg.eq_ignore_ascii_case("-uuid") {
                    continue;
                }
                pre_column(t, arg)?;
            }
        }
        "list" => {
            let t = get_table(schema, &a[0])?;
            parse_column_names(c.opt("--columns"), t)?;
        }
        "find" => {
            let t = get_table(schema, &a[0])?;
            parse_column_names(c.opt("--columns"), t)?;
            for arg in &a[1..] {
                pre_column(t, arg)?;
            }
        }
        "set" | "wait-until" => {
            let t = get_table(schema, &a[0])?;
            for arg in &a[2..] {
                pre_column(t, arg)?;
            }
        }
        "add" | "remove" => {
            let t = get_table(schema, &a[0])?;
            get_column(t, &a[2])?;
        }
        "clear" => {
            let t = get_table(schema, &a[0])?;
            for arg in &a[2..] {
                get_column(t, arg)?;
            }
        }
        "create" => {
            let t = get_table(schema, &a[0])?;
            if c.opt("--id").is_none() && !t.is_root {
                vlog_warn(
                    "db_ctl_base",
                    &format!("applying \"create\" command to table {} without --id option will have no effect", t.name),
                );
            }
        }
        "destroy" => {
            get_table(schema, &a[0])?;
        }
        _ => {}
    }
    Ok(())
}

fn pre_column(t: &TableSchema, arg: &str) -> CmdResult {
    let (name, _) = token_parse(arg)?;
    if name.is_empty() {
        return fatal(format!("{arg}: missing column name"));
    }
    get_column(t, &name)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Row lookup (db-ctl-base.c get_row with ovs-vsctl's row-id table).

/// ovs-vsctl's "row ids": (table holding the name, name column, reference
/// column in that table leading to the wanted row).
fn row_ids(table: &str) -> &'static [(&'static str, &'static str, Option<&'static str>)] {
    match table {
        "Bridge" => &[("Bridge", "name", None)],
        "Controller" => &[("Bridge", "name", Some("controller"))],
        "Interface" => &[("Interface", "name", None)],
        "Mirror" => &[("Mirror", "name", None)],
        "Manager" => &[("Manager", "target", None)],
        "NetFlow" => &[("Bridge", "name", Some("netflow"))],
        "Port" => &[("Port", "name", None)],
        "QoS" => &[("Port", "name", Some("qos"))],
        "sFlow" => &[("Bridge", "name", Some("sflow"))],
        "Flow_Table" => &[("Flow_Table", "name", None)],
        "IPFIX" => &[("Bridge", "name", Some("ipfix"))],
        "AutoAttach" => &[("Bridge", "name", Some("auto_attach"))],
        _ => &[],
    }
}

fn get_row(
    ctx: &mut Ctx,
    table: &TableSchema,
    record_id: &str,
    must_exist: bool,
) -> CmdResult<Option<Uuid>> {
    let tname = table.name.as_str();
    let mut row = None;
    if let Some(u) = parse_uuid(record_id) {
        if ctx.txn.exists(tname, &u) {
            row = Some(u);
        }
    }
    if row.is_none() && record_id == "." {
        let rows = ctx.txn.rows(tname);
        if rows.len() == 1 {
            row = Some(rows[0]);
        }
    }
    if row.is_none() {
        for (rt, name_col, uuid_col) in row_ids(tname) {
            let mut referrer = None;
            for r in ctx.txn.rows(rt) {
                let n = ctx.txn.get(rt, &r, name_col);
                if n.len() == 1 && n.keys[0].as_str() == Some(record_id) {
                    if referrer.is_some() {
                        return fatal(format!("multiple rows in {tname} match \"{record_id}\""));
                    }
                    referrer = Some(r);
                }
            }
            let Some(referrer) = referrer else { continue };
            let fin = match uuid_col {
                Some(col) => {
                    ctx.txn.verify(rt, &referrer, col);
                    let d = ctx.txn.get(rt, &referrer, col);
                    match d.keys.as_slice() {
                        [Atom::Uuid(u)] if ctx.txn.exists(tname, u) => Some(*u),
                        _ => None,
                    }
                }
                None => Some(referrer),
            };
            if fin.is_some() {
                row = fin;
                break;
            }
        }
    }
    if row.is_none()
        && record_id.len() >= 4
        && record_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    {
        // Abbreviated UUID.
        let matches: Vec<Uuid> = ctx
            .txn
            .rows(tname)
            .into_iter()
            .filter(|u| u.to_string().starts_with(&record_id.to_ascii_lowercase()))
            .collect();
        if matches.len() > 1 {
            return fatal(format!(
                "{tname} contains 2 or more rows whose UUIDs begin with {record_id}: at least {} and {}",
                matches[0], matches[1]
            ));
        }
        row = matches.first().copied();
    }
    if must_exist && row.is_none() {
        return fatal(format!("no row \"{record_id}\" in table {tname}"));
    }
    Ok(row)
}

// ---------------------------------------------------------------------------
// The bridge cache (ovs-vsctl.c vsctl_context_populate_cache).

struct Cache {
    /// Bridge name → Bridge row.
    bridges: BTreeMap<String, Uuid>,
    /// Port name → (Port row, bridge name).
    ports: BTreeMap<String, (Uuid, String)>,
    /// Interface name → (Interface row, port name, bridge name).
    ifaces: BTreeMap<String, (Uuid, String, String)>,
}

fn populate_cache(ctx: &Ctx) -> Cache {
    let t = &*ctx.txn;
    let mut c = Cache {
        bridges: BTreeMap::new(),
        ports: BTreeMap::new(),
        ifaces: BTreeMap::new(),
    };
    for br in t.get_uuids("Open_vSwitch", &ctx.ovs, "bridges") {
        if !t.exists("Bridge", &br) {
            continue;
        }
        let name = t.get_str("Bridge", &br, "name");
        if c.bridges.contains_key(&name) {
            continue;
        }
        c.bridges.insert(name.clone(), br);
        for p in t.get_uuids("Bridge", &br, "ports") {
            if !t.exists("Port", &p) {
                continue;
            }
            let pname = t.get_str("Port", &p, "name");
            if c.ports.contains_key(&pname) {
                continue;
            }
            c.ports.insert(pname.clone(), (p, name.clone()));
            for i in t.get_uuids("Port", &p, "interfaces") {
                if !t.exists("Interface", &i) {
                    continue;
                }
                let iname = t.get_str("Interface", &i, "name");
                c.ifaces
                    .entry(iname)
                    .or_insert((i, pname.clone(), name.clone()));
            }
        }
    }
    c
}

/// Verify `Open_vSwitch.bridges`, every `Bridge.ports` and `Port.interfaces`.
fn verify_ports(ctx: &mut Ctx) {
    let ovs = ctx.ovs;
    ctx.txn.verify("Open_vSwitch", &ovs, "bridges");
    for br in ctx.txn.get_uuids("Open_vSwitch", &ovs, "bridges") {
        ctx.txn.verify("Bridge", &br, "ports");
        for p in ctx.txn.get_uuids("Bridge", &br, "ports") {
            ctx.txn.verify("Port", &p, "interfaces");
        }
    }
}

fn find_bridge(cache: &Cache, name: &str, must_exist: bool) -> CmdResult<Option<Uuid>> {
    match cache.bridges.get(name) {
        Some(u) => Ok(Some(*u)),
        None if must_exist => fatal(format!("no bridge named {name}")),
        None => Ok(None),
    }
}

fn find_port(cache: &Cache, name: &str, must_exist: bool) -> CmdResult<Option<(Uuid, String)>> {
    match cache.ports.get(name) {
        Some((u, br)) if br != name => Ok(Some((*u, br.clone()))),
        _ if must_exist => fatal(format!("no port named {name}")),
        _ => Ok(None),
    }
}

fn find_iface(
    cache: &Cache,
    name: &str,
    must_exist: bool,
) -> CmdResult<Option<(Uuid, String, String)>> {
    match cache.ifaces.get(name) {
        Some((u, p, br)) if br != name => Ok(Some((*u, p.clone(), br.clone()))),
        _ if must_exist => fatal(format!("no interface named {name}")),
        _ => Ok(None),
    }
}

fn check_conflicts(ctx: &mut Ctx, cache: &Cache, name: &str, msg: &str) -> CmdResult {
    verify_ports(ctx);
    if cache.bridges.contains_key(name) {
        return fatal(format!(
            "{msg} because a bridge named {name} already exists"
        ));
    }
    if let Some((_, br)) = cache.ports.get(name) {
        return fatal(format!(
            "{msg} because a port named {name} already exists on bridge {br}"
        ));
    }
    if let Some((_, _, br)) = cache.ifaces.get(name) {
        return fatal(format!(
            "{msg} because an interface named {name} already exists on bridge {br}"
        ));
    }
    Ok(())
}

fn uuid_set(us: impl IntoIterator<Item = Uuid>) -> Datum {
    Datum::set(us.into_iter().map(Atom::Uuid))
}

/// `emer-reset`, as ovs-vsctl 3.1's `cmd_emer_reset`: clears the manager
/// and SSL settings; for each bridge its controllers, fail mode, mirrors,
/// NetFlow, sFlow, IPFIX, flood VLANs and `other_config` except `hwaddr`;
/// each port's `other_config`; each interface's ingress policing; and
/// deletes every Mirror, Controller, Manager, NetFlow, SSL, sFlow, IPFIX and
/// Flow_Sample_Collector_Set row.
fn cmd_emer_reset(ctx: &mut Ctx) {
    let ovs = ctx.ovs;
    let t = &mut ctx.txn;
    t.write("Open_vSwitch", &ovs, "manager_options", Datum::empty_set());
    t.write("Open_vSwitch", &ovs, "ssl", Datum::empty_set());
    for br in t.rows("Bridge") {
        for col in [
            "controller",
            "fail_mode",
            "mirrors",
            "netflow",
            "sflow",
            "ipfix",
            "flood_vlans",
        ] {
            t.write("Bridge", &br, col, Datum::empty_set());
        }
        let other = t.get("Bridge", &br, "other_config");
        let kept = match other.map_get_str("hwaddr") {
            Some(hw) => Datum::map([(Atom::String("hwaddr".into()), Atom::String(hw.into()))]),
            None => Datum::empty_map(),
        };
        t.write("Bridge", &br, "other_config", kept);
    }
    for port in t.rows("Port") {
        t.write("Port", &port, "other_config", Datum::empty_map());
    }
    for iface in t.rows("Interface") {
        t.write(
            "Interface",
            &iface,
            "ingress_policing_rate",
            Datum::scalar(0i64),
        );
        t.write(
            "Interface",
            &iface,
            "ingress_policing_burst",
            Datum::scalar(0i64),
        );
    }
    for table in [
        "Mirror",
        "Controller",
        "Manager",
        "NetFlow",
        "SSL",
        "sFlow",
        "IPFIX",
        "Flow_Sample_Collector_Set",
    ] {
        if ctx.txn.schema.tables.contains_key(table) {
            for row in ctx.txn.rows(table) {
                ctx.txn.delete(table, &row);
            }
        }
    }
}

fn sorted_lines(mut names: Vec<String>) -> String {
    names.sort();
    names.iter().map(|n| format!("{n}\n")).collect()
}

// ---------------------------------------------------------------------------
// Commands.

/// Run one command.
pub(crate) fn run(ctx: &mut Ctx, c: &Command, style: &TableStyle) -> CmdResult<Output> {
    let _ = style;
    let a = &c.args;
    let text = |s: String| Ok(Output::Text(s));
    match c.name.as_str() {
        "init" | "comment" => text(String::new()),
        "emer-reset" => {
            cmd_emer_reset(ctx);
            text(String::new())
        }
        "show" => text(cmd_show(ctx)),
        "list-br" => {
            let cache = populate_cache(ctx);
            if c.has("--fake") && !c.has("--real") {
                return text(String::new());
            }
            text(sorted_lines(cache.bridges.keys().cloned().collect()))
        }
        "br-exists" => {
            let cache = populate_cache(ctx);
            if cache.bridges.contains_key(&a[0]) {
                text(String::new())
            } else {
                Err(Fail::Exit(2))
            }
        }
        "add-br" => cmd_add_br(ctx, c).map(|_| Output::Text(String::new())),
        "del-br" => {
            let cache = populate_cache(ctx);
            if let Some(br) = find_bridge(&cache, &a[0], !c.has("--if-exists"))? {
                let ovs = ctx.ovs;
                ctx.txn.verify("Open_vSwitch", &ovs, "bridges");
                for p in ctx.txn.get_uuids("Bridge", &br, "ports") {
                    for i in ctx.txn.get_uuids("Port", &p, "interfaces") {
                        ctx.txn.delete("Interface", &i);
                    }
                    ctx.txn.delete("Port", &p);
                }
                ctx.txn.write("Bridge", &br, "ports", Datum::empty_set());
                ctx.txn.delete("Bridge", &br);
                let left = ctx
                    .txn
                    .get_uuids("Open_vSwitch", &ovs, "bridges")
                    .into_iter()
                    .filter(|u| *u != br);
                let d = uuid_set(left);
                ctx.txn.write("Open_vSwitch", &ovs, "bridges", d);
            }
            text(String::new())
        }
        "list-ports" => {
            let cache = populate_cache(ctx);
            find_bridge(&cache, &a[0], true)?;
            verify_ports(ctx);
            let names = cache
                .ports
                .iter()
                .filter(|(n, (_, br))| br == &a[0] && *n != &a[0])
                .map(|(n, _)| n.clone());
            text(sorted_lines(names.collect()))
        }
        "list-ifaces" => {
            let cache = populate_cache(ctx);
            find_bridge(&cache, &a[0], true)?;
            verify_ports(ctx);
            let names = cache
                .ifaces
                .iter()
                .filter(|(n, (_, _, br))| br == &a[0] && *n != &a[0])
                .map(|(n, _)| n.clone());
            text(sorted_lines(names.collect()))
        }
        "port-to-br" => {
            let cache = populate_cache(ctx);
            let (_, br) = find_port(&cache, &a[0], true)?.unwrap_or_default();
            text(format!("{br}\n"))
        }
        "iface-to-br" => {
            let cache = populate_cache(ctx);
            let (_, _, br) = find_iface(&cache, &a[0], true)?.unwrap_or_default();
            text(format!("{br}\n"))
        }
        "add-port" => cmd_add_port(ctx, c).map(|_| Output::Text(String::new())),
        "del-port" => cmd_del_port(ctx, c).map(|_| Output::Text(String::new())),
        "get-controller" => {
            let cache = populate_cache(ctx);
            let br = find_bridge(&cache, &a[0], true)?.unwrap_or_default();
            ctx.txn.verify("Bridge", &br, "controller");
            let targets = ctx
                .txn
                .get_uuids("Bridge", &br, "controller")
                .iter()
                .map(|u| ctx.txn.get_str("Controller", u, "target"))
                .collect();
            text(sorted_lines(targets))
        }
        "del-controller" | "set-controller" => {
            let cache = populate_cache(ctx);
            let br = find_bridge(&cache, &a[0], true)?.unwrap_or_default();
            ctx.txn.verify("Bridge", &br, "controller");
            for u in ctx.txn.get_uuids("Bridge", &br, "controller") {
                ctx.txn.delete("Controller", &u);
            }
            let mut new = Vec::new();
            if c.name == "set-controller" {
                let probe = match c.opt("--inactivity-probe") {
                    Some(p) => Some(p.parse::<i64>().map_err(|_| {
                        Fail::Fatal(format!("--inactivity-probe={p}: invalid integer"))
                    })?),
                    None => None,
                };
                for t in &a[1..] {
                    let u = ctx.txn.insert("Controller", None);
                    ctx.txn
                        .write("Controller", &u, "target", Datum::scalar(t.as_str()));
                    if let Some(p) = probe {
                        ctx.txn
                            .write("Controller", &u, "inactivity_probe", Datum::scalar(p));
                    }
                    new.push(u);
                }
            }
            ctx.txn.write("Bridge", &br, "controller", uuid_set(new));
            text(String::new())
        }
        "get-fail-mode" => {
            let cache = populate_cache(ctx);
            let br = find_bridge(&cache, &a[0], true)?.unwrap_or_default();
            ctx.txn.verify("Bridge", &br, "fail_mode");
            let m = ctx.txn.get_str("Bridge", &br, "fail_mode");
            text(if m.is_empty() {
                String::new()
            } else {
                format!("{m}\n")
            })
        }
        "del-fail-mode" | "set-fail-mode" => {
            let cache = populate_cache(ctx);
            let br = find_bridge(&cache, &a[0], true)?.unwrap_or_default();
            let d = if c.name == "set-fail-mode" {
                if a[1] != "standalone" && a[1] != "secure" {
                    return fatal("fail-mode must be \"standalone\" or \"secure\"");
                }
                Datum::scalar(a[1].as_str())
            } else {
                Datum::empty_set()
            };
            ctx.txn.write("Bridge", &br, "fail_mode", d);
            text(String::new())
        }
        "get-ssl" => {
            let ovs = ctx.ovs;
            ctx.txn.verify("Open_vSwitch", &ovs, "ssl");
            let Some(ssl) = ctx.txn.get_uuids("Open_vSwitch", &ovs, "ssl").pop() else {
                return text(String::new());
            };
            let get = |col: &str| ctx.txn.get_str("SSL", &ssl, col);
            let bootstrap = ctx.txn.get("SSL", &ssl, "bootstrap_ca_cert") == Datum::scalar(true);
            text(format!(
                "Private key: {}\nCertificate: {}\nCA Certificate: {}\nBootstrap: {bootstrap}\n",
                get("private_key"),
                get("certificate"),
                get("ca_cert"),
            ))
        }
        "del-ssl" | "set-ssl" => {
            let ovs = ctx.ovs;
            ctx.txn.verify("Open_vSwitch", &ovs, "ssl");
            for ssl in ctx.txn.get_uuids("Open_vSwitch", &ovs, "ssl") {
                ctx.txn.delete("SSL", &ssl);
            }
            let mut new = Vec::new();
            if c.name == "set-ssl" {
                let u = ctx.txn.insert("SSL", None);
                for (col, v) in ["private_key", "certificate", "ca_cert"].iter().zip(a) {
                    ctx.txn.write("SSL", &u, col, Datum::scalar(v.as_str()));
                }
                ctx.txn.write(
                    "SSL",
                    &u,
                    "bootstrap_ca_cert",
                    Datum::scalar(c.has("--bootstrap")),
                );
                new.push(u);
            }
            ctx.txn.write("Open_vSwitch", &ovs, "ssl", uuid_set(new));
            text(String::new())
        }
        "br-set-external-id" | "br-get-external-id" => {
            let cache = populate_cache(ctx);
            let br = find_bridge(&cache, &a[0], true)?.unwrap_or_default();
            ctx.txn.verify("Bridge", &br, "external_ids");
            let mut ids = ctx.txn.get("Bridge", &br, "external_ids");
            if c.name == "br-set-external-id" {
                ids.remove_key(&Atom::String(a[1].clone()));
                if let Some(v) = a.get(2) {
                    ids.set_pair(Atom::String(a[1].clone()), Atom::String(v.clone()));
                }
                ctx.txn.write("Bridge", &br, "external_ids", ids);
                text(String::new())
            } else if let Some(k) = a.get(1) {
                text(match ids.map_get_str(k) {
                    Some(v) => format!("{v}\n"),
                    None => String::new(),
                })
            } else {
                text(
                    ids.pairs()
                        .map(|(k, v)| {
                            format!(
                                "{}={}\n",
                                k.as_str().unwrap_or(""),
                                v.as_str().unwrap_or("")
                            )
                        })
                        .collect(),
                )
            }
        }
        "get" => cmd_get(ctx, c),
        "list" => cmd_list(ctx, c),
        "find" => cmd_find(ctx, c),
        "set" => {
            let t = get_table(ctx.txn.schema, &a[0])?;
            if let Some(row) = get_row(ctx, t, &a[1], !c.has("--if-exists"))? {
                for arg in &a[2..] {
                    set_column(ctx, t, &row, arg)?;
                }
            }
            text(String::new())
        }
        "add" | "remove" => cmd_add_remove(ctx, c).map(|_| Output::Text(String::new())),
        "clear" => {
            let t = get_table(ctx.txn.schema, &a[0])?;
            if let Some(row) = get_row(ctx, t, &a[1], !c.has("--if-exists"))? {
                for arg in &a[2..] {
                    let col = get_column(t, arg)?;
                    check_mutable(ctx, t, &row, col)?;
                    if col.type_.min > 0 {
                        return fatal(format!(
                            "\"clear\" operation cannot be applied to column {} of table {}, which is not allowed to be empty",
                            col.name, t.name
                        ));
                    }
                    let empty = Datum::default_for(&col.type_);
                    ctx.txn.write(&t.name, &row, &col.name, empty);
                }
            }
            text(String::new())
        }
        "create" => {
            let t = get_table(ctx.txn.schema, &a[0])?;
            let uuid = match c.opt("--id") {
                Some(id) => {
                    let sym = create_symbol(ctx.symtab, id)?;
                    if t.is_root {
                        sym.strong_ref = true;
                    }
                    Some(sym.uuid)
                }
                None => None,
            };
            let row = ctx.txn.insert(&t.name, uuid);
            for arg in &a[1..] {
                set_column(ctx, t, &row, arg)?;
            }
            Ok(Output::Created(row))
        }
        "destroy" => {
            let t = get_table(ctx.txn.schema, &a[0])?;
            let all = c.has("--all");
            let must_exist = !c.has("--if-exists");
            if all && a.len() > 1 {
                return fatal("--all and records argument should not be specified together");
            }
            if all && !must_exist {
                return fatal("--all and --if-exists should not be specified together");
            }
            if all {
                for r in ctx.txn.rows(&t.name) {
                    ctx.txn.delete(&t.name, &r);
                }
            } else {
                for id in &a[1..] {
                    if let Some(r) = get_row(ctx, t, id, must_exist)? {
                        ctx.txn.delete(&t.name, &r);
                    }
                }
            }
            text(String::new())
        }
        "wait-until" => {
            let t = get_table(ctx.txn.schema, &a[0])?;
            let Some(row) = get_row(ctx, t, &a[1], false)? else {
                return Err(Fail::TryAgain);
            };
            for arg in &a[2..] {
                if !is_condition_satisfied(ctx, t, &row, arg)? {
                    return Err(Fail::TryAgain);
                }
            }
            text(String::new())
        }
        other => fatal(format!("unknown command '{other}'; use --help for help")),
    }
}

fn create_symbol<'s>(symtab: &'s mut Symtab, id: &str) -> CmdResult<&'s mut ovsdb::text::Symbol> {
    if !id.starts_with('@') {
        return fatal(format!("row id \"{id}\" does not begin with \"@\""));
    }
    let sym = symtab.insert(id);
    if sym.created {
        return fatal(format!(
            "row id \"{id}\" may only be specified on one --id option"
        ));
    }
    sym.created = true;
    Ok(sym)
}

fn cmd_add_br(ctx: &mut Ctx, c: &Command) -> CmdResult {
    let a = &c.args;
    let name = &a[0];
    match a.len() {
        1 => {}
        3 => {
            let vlan = a[2].parse::<i64>().ok().filter(|v| (0..=4095).contains(v));
            if vlan.is_none() {
                return fatal("add-br: vlan must be between 0 and 4095");
            }
            let cache = populate_cache(ctx);
            if !cache.bridges.contains_key(&a[1]) {
                return fatal(format!("parent bridge {} does not exist", a[1]));
            }
            return fatal("fake (VLAN) bridges are not supported by oxvs vsctl");
        }
        _ => return fatal("'add-br' command takes exactly 1 or 3 arguments"),
    }
    let cache = populate_cache(ctx);
    if c.has("--may-exist") && cache.bridges.contains_key(name) {
        return Ok(());
    }
    check_conflicts(
        ctx,
        &cache,
        name,
        &format!("cannot create a bridge named {name}"),
    )?;
    let iface = ctx.txn.insert("Interface", None);
    ctx.txn
        .write("Interface", &iface, "name", Datum::scalar(name.as_str()));
    ctx.txn
        .write("Interface", &iface, "type", Datum::scalar("internal"));
    let port = ctx.txn.insert("Port", None);
    ctx.txn
        .write("Port", &port, "name", Datum::scalar(name.as_str()));
    ctx.txn
        .write("Port", &port, "interfaces", uuid_set([iface]));
    let br = ctx.txn.insert("Bridge", None);
    ctx.txn
        .write("Bridge", &br, "name", Datum::scalar(name.as_str()));
    ctx.txn.write("Bridge", &br, "ports", uuid_set([port]));
    let ovs = ctx.ovs;
    ctx.txn.verify("Open_vSwitch", &ovs, "bridges");
    let mut bridges = ctx.txn.get_uuids("Open_vSwitch", &ovs, "bridges");
    bridges.push(br);
    ctx.txn
        .write("Open_vSwitch", &ovs, "bridges", uuid_set(bridges));
    ctx.new_ifaces.push(iface);
    Ok(())
}

fn cmd_add_port(ctx: &mut Ctx, c: &Command) -> CmdResult {
    let a = &c.args;
    let (br_name, port_name) = (&a[0], &a[1]);
    let cache = populate_cache(ctx);
    if c.has("--may-exist") {
        if let Some((p, on_br)) = find_port(&cache, port_name, false)? {
            find_bridge(&cache, br_name, true)?;
            if &on_br != br_name {
                return fatal(format!(
                    "\"--may-exist add-port {br_name} {port_name}\" but {port_name} is actually attached to bridge {on_br}"
                ));
            }
            let have: Vec<String> = ctx
                .txn
                .get_uuids("Port", &p, "interfaces")
                .iter()
                .map(|i| ctx.txn.get_str("Interface", i, "name"))
                .collect();
            if have != [port_name.clone()] {
                let mut h = have.clone();
                h.sort();
                return fatal(format!(
                    "\"--may-exist add-port {br_name} {port_name}\" but {port_name} actually has interface(s) {}",
                    h.join(", ")
                ));
            }
            return Ok(());
        }
    }
    check_conflicts(
        ctx,
        &cache,
        port_name,
        &format!("cannot create a port named {port_name}"),
    )?;
    check_conflicts(
        ctx,
        &cache,
        port_name,
        &format!("cannot create an interface named {port_name}"),
    )?;
    let br = find_bridge(&cache, br_name, true)?.unwrap_or_default();
    let iface = ctx.txn.insert("Interface", None);
    ctx.txn.write(
        "Interface",
        &iface,
        "name",
        Datum::scalar(port_name.as_str()),
    );
    ctx.new_ifaces.push(iface);
    let port = ctx.txn.insert("Port", None);
    ctx.txn
        .write("Port", &port, "name", Datum::scalar(port_name.as_str()));
    ctx.txn
        .write("Port", &port, "interfaces", uuid_set([iface]));
    let port_table = get_table(ctx.txn.schema, "Port")?;
    for s in &a[2..] {
        set_column(ctx, port_table, &port, s)?;
    }
    ctx.txn.verify("Bridge", &br, "ports");
    let mut ports = ctx.txn.get_uuids("Bridge", &br, "ports");
    ports.push(port);
    ctx.txn.write("Bridge", &br, "ports", uuid_set(ports));
    Ok(())
}

fn cmd_del_port(ctx: &mut Ctx, c: &Command) -> CmdResult {
    let a = &c.args;
    let must_exist = !c.has("--if-exists");
    let with_iface = c.has("--with-iface");
    let target = &a[a.len() - 1];
    let cache = populate_cache(ctx);
    let port = if !with_iface {
        let p = find_port(&cache, target, false)?;
        if p.is_none() && must_exist {
            if cache.bridges.contains_key(target) {
                return fatal(format!(
                    "cannot delete port {target} because it is the local port for bridge {target} (deleting this port requires deleting the entire bridge)"
                ));
            }
            return fatal(format!("no port named {target}"));
        }
        p
    } else {
        let mut p = find_port(&cache, target, false)?;
        if p.is_none() {
            if let Some((_, pname, br)) = find_iface(&cache, target, false)? {
                p = cache.ports.get(&pname).map(|(u, _)| (*u, br));
            }
        }
        if must_exist && p.is_none() {
            return fatal(format!("no port or interface named {target}"));
        }
        p
    };
    let Some((port, on_br)) = port else {
        return Ok(());
    };
    if a.len() == 2 {
        find_bridge(&cache, &a[0], true)?;
        if on_br != a[0] {
            let pname = ctx.txn.get_str("Port", &port, "name");
            return fatal(format!("bridge {} does not have a port {pname}", a[0]));
        }
    }
    verify_ports(ctx);
    let br = cache.bridges.get(&on_br).copied().unwrap_or_default();
    let left = ctx
        .txn
        .get_uuids("Bridge", &br, "ports")
        .into_iter()
        .filter(|u| *u != port);
    let d = uuid_set(left);
    ctx.txn.write("Bridge", &br, "ports", d);
    for i in ctx.txn.get_uuids("Port", &port, "interfaces") {
        ctx.txn.delete("Interface", &i);
    }
    ctx.txn.delete("Port", &port);
    Ok(())
}

fn check_mutable(ctx: &Ctx, t: &TableSchema, row: &Uuid, col: &ColumnSchema) -> CmdResult {
    if !col.mutable && !ctx.txn.is_inserted(row) {
        return fatal(format!(
            "cannot modify read-only column {} in table {}",
            col.name, t.name
        ));
    }
    Ok(())
}

/// `COLUMN[:KEY]=VALUE` on one row (db-ctl-base.c `set_column`).
fn set_column(ctx: &mut Ctx, t: &TableSchema, row: &Uuid, arg: &str) -> CmdResult {
    let ckv = parse_column_key_value(arg, t, Some(&["="]))?;
    let col = ckv.column;
    let value = ckv.value.unwrap_or_default();
    check_mutable(ctx, t, row, col)?;
    if let Some(key) = ckv.key {
        let Some(vt) = &col.type_.value else {
            return fatal(format!(
                "cannot specify key to set for non-map column {}",
                col.name
            ));
        };
        let k = atom_from_string(&key, &col.type_.key, Some(ctx.symtab))?;
        let v = atom_from_string(&value, vt, Some(ctx.symtab))?;
        let mut d = ctx.txn.get(&t.name, row, &col.name);
        d.set_pair(k, v);
        ctx.txn.verify(&t.name, row, &col.name);
        ctx.txn.write(&t.name, row, &col.name, d);
    } else {
        let d = datum_from_string(&value, &col.type_, Some(ctx.symtab))?;
        ctx.txn.write(&t.name, row, &col.name, d);
    }
    Ok(())
}

fn cmd_get(ctx: &mut Ctx, c: &Command) -> CmdResult<Output> {
    let a = &c.args;
    let must_exist = !c.has("--if-exists");
    let id = c.opt("--id");
    if id.is_some() && !must_exist {
        return fatal("--if-exists and --id may not be specified together");
    }
    let t = get_table(ctx.txn.schema, &a[0])?;
    let Some(row) = get_row(ctx, t, &a[1], must_exist)? else {
        return Ok(Output::Text(String::new()));
    };
    if let Some(id) = id {
        let new = ctx.symtab.get(id).is_none();
        let sym = create_symbol(ctx.symtab, id)?;
        if !new {
            return fatal(format!(
                "row id \"{id}\" specified on \"get\" command was used before it was defined"
            ));
        }
        sym.uuid = row;
        sym.strong_ref = true;
    }
    let mut out = String::new();
    for arg in &a[2..] {
        if arg.eq_ignore_ascii_case("_uuid") || arg.eq_ignore_ascii_case("-uuid") {
            out.push_str(&format!("{row}\n"));
            continue;
        }
        let ckv = parse_column_key_value(arg, t, None)?;
        let col = ckv.column;
        ctx.txn.verify(&t.name, &row, &col.name);
        let d = ctx.txn.get(&t.name, &row, &col.name);
        if let Some(key) = ckv.key {
            if col.type_.value.is_none() {
                return fatal(format!(
                    "cannot specify key to get for non-map column {}",
                    col.name
                ));
            }
            let k = atom_from_string(&key, &col.type_.key, Some(ctx.symtab))?;
            match d.map_get(&k) {
                Some(v) => out.push_str(&atom_to_string(v)),
                None => {
                    if must_exist {
                        return fatal(format!(
                            "no key \"{key}\" in {} record \"{}\" column {}",
                            t.name, a[1], col.name
                        ));
                    }
                }
            }
        } else {
            out.push_str(&datum_to_string(&d, &col.type_));
        }
        out.push('\n');
    }
    Ok(Output::Text(out))
}

fn uuid_type() -> ColumnType {
    ColumnType::scalar(AtomicType::Uuid)
}

fn list_record(
    ctx: &Ctx,
    t: &TableSchema,
    row: &Uuid,
    cols: &[Option<&ColumnSchema>],
) -> Vec<Cell> {
    cols.iter()
        .map(|c| match c {
            None => Cell {
                datum: Datum::scalar(Atom::Uuid(*row)),
                type_: uuid_type(),
            },
            Some(c) => Cell {
                datum: ctx.txn.get(&t.name, row, &c.name),
                type_: c.type_.clone(),
            },
        })
        .collect()
}

fn headings(cols: &[Option<&ColumnSchema>]) -> Vec<String> {
    cols.iter()
        .map(|c| c.map_or("_uuid".to_string(), |c| c.name.clone()))
        .collect()
}

fn cmd_list(ctx: &mut Ctx, c: &Command) -> CmdResult<Output> {
    let a = &c.args;
    let must_exist = !c.has("--if-exists");
    let t = get_table(ctx.txn.schema, &a[0])?;
    let cols = parse_column_names(c.opt("--columns"), t)?;
    let mut table = Table {
        headings: headings(&cols),
        rows: Vec::new(),
    };
    if a.len() > 1 {
        for id in &a[1..] {
            if let Some(r) = get_row(ctx, t, id, must_exist)? {
                table.rows.push(list_record(ctx, t, &r, &cols));
            }
        }
    } else {
        for r in ctx.txn.rows(&t.name) {
            table.rows.push(list_record(ctx, t, &r, &cols));
        }
    }
    Ok(Output::Table(table))
}

fn cmd_find(ctx: &mut Ctx, c: &Command) -> CmdResult<Output> {
    let a = &c.args;
    let t = get_table(ctx.txn.schema, &a[0])?;
    let cols = parse_column_names(c.opt("--columns"), t)?;
    let mut table = Table {
        headings: headings(&cols),
        rows: Vec::new(),
    };
    'rows: for r in ctx.txn.rows(&t.name) {
        for cond in &a[1..] {
            if !is_condition_satisfied(ctx, t, &r, cond)? {
                continue 'rows;
            }
        }
        table.rows.push(list_record(ctx, t, &r, &cols));
    }
    Ok(Output::Table(table))
}

/// ovsdb_datum_compare_3way: by size, then keys, then values.
fn compare_3way(a: &Datum, b: &Datum) -> std::cmp::Ordering {
    a.keys
        .len()
        .cmp(&b.keys.len())
        .then_with(|| a.keys.cmp(&b.keys))
        .then_with(|| a.values.cmp(&b.values))
}

/// Every element (pair) of `a` is in `b`.
fn includes_all(a: &Datum, b: &Datum) -> bool {
    a.keys
        .iter()
        .enumerate()
        .all(|(i, k)| match (&a.values, b.keys.binary_search(k)) {
            (_, Err(_)) => false,
            (None, Ok(_)) => true,
            (Some(av), Ok(j)) => b.values.as_ref().and_then(|bv| bv.get(j)) == av.get(i),
        })
}

fn is_condition_satisfied(
    ctx: &mut Ctx,
    t: &TableSchema,
    row: &Uuid,
    arg: &str,
) -> CmdResult<bool> {
    let ckv = parse_column_key_value(arg, t, Some(RELOPS))?;
    let col = ckv.column;
    let value = ckv.value.unwrap_or_default();
    let op = ckv.op;
    let have = ctx.txn.get(&t.name, row, &col.name);
    let eval = |a: &Datum, b: &Datum| -> bool {
        use std::cmp::Ordering::*;
        let c = compare_3way(a, b);
        match RELOPS[op] {
            "=" | "{=}" => c == Equal,
            "!=" | "{!=}" => c != Equal,
            "<" => c == Less,
            ">" => c == Greater,
            "<=" => c != Greater,
            ">=" => c != Less,
            "{<}" => b.len() > a.len() && includes_all(a, b),
            "{>}" => a.len() > b.len() && includes_all(b, a),
            "{<=}" => includes_all(a, b),
            _ => includes_all(b, a),
        }
    };
    if let Some(key) = ckv.key {
        let Some(vt) = &col.type_.value else {
            return fatal(format!(
                "cannot specify key to check for non-map column {}",
                col.name
            ));
        };
        let want_key = atom_from_string(&key, &col.type_.key, Some(ctx.symtab))?;
        let vtype = ColumnType {
            key: vt.clone(),
            value: None,
            min: col.type_.min,
            max: None,
        };
        let b = datum_from_string(&value, &vtype, Some(ctx.symtab))?;
        let is_set_op = RELOPS[op].starts_with('{');
        match have.map_get(&want_key) {
            None if !is_set_op => Ok(false),
            found => {
                let a = match found {
                    Some(v) => Datum::scalar(v.clone()),
                    None => Datum::empty_set(),
                };
                Ok(eval(&a, &b))
            }
        }
    } else {
        let want = datum_from_string(&value, &col.type_, Some(ctx.symtab))?;
        Ok(eval(&have, &want))
    }
}

fn cmd_add_remove(ctx: &mut Ctx, c: &Command) -> CmdResult {
    let a = &c.args;
    let adding = c.name == "add";
    let t = get_table(ctx.txn.schema, &a[0])?;
    let col = get_column(t, &a[2])?;
    let Some(row) = get_row(ctx, t, &a[1], !c.has("--if-exists"))? else {
        return Ok(());
    };
    check_mutable(ctx, t, &row, col)?;
    let ty = &col.type_;
    let mut cur = ctx.txn.get(&t.name, &row, &col.name);
    let what = if ty.is_map() { "pairs" } else { "values" };
    let loose = ColumnType {
        min: 1,
        max: None,
        ..ty.clone()
    };
    for arg in &a[3..] {
        if adding {
            let add = datum_from_string(arg, &loose, Some(ctx.symtab))?;
            for (i, k) in add.keys.iter().enumerate() {
                let v = add.values.as_ref().and_then(|vs| vs.get(i)).cloned();
                cur.insert(k.clone(), v);
            }
        } else {
            match datum_from_string(arg, &loose, Some(ctx.symtab)) {
                Ok(rm) => {
                    for (i, k) in rm.keys.iter().enumerate() {
                        match rm.values.as_ref().and_then(|vs| vs.get(i)) {
                            Some(v) => {
                                cur.remove_pair(k, v);
                            }
                            None => {
                                cur.remove_key(k);
                            }
                        }
                    }
                }
                Err(e) => {
                    if !ty.is_map() {
                        return fatal(e);
                    }
                    let keys_only = ColumnType {
                        value: None,
                        ..loose.clone()
                    };
                    let rm = datum_from_string(arg, &keys_only, Some(ctx.symtab))?;
                    for k in &rm.keys {
                        cur.remove_key(k);
                    }
                }
            }
        }
    }
    let n = cur.len() as u64;
    if adding {
        if let Some(max) = ty.max.filter(|m| n > *m) {
            return fatal(format!(
                "\"add\" operation would put {n} {what} in column {} of table {} but the maximum number is {max}",
                col.name, t.name
            ));
        }
    } else if n < ty.min {
        return fatal(format!(
            "\"remove\" operation would put {n} {what} in column {} of table {} but the minimum number is {}",
            col.name, t.name, ty.min
        ));
    }
    ctx.txn.verify(&t.name, &row, &col.name);
    ctx.txn.write(&t.name, &row, &col.name, cur);
    Ok(())
}

// ---------------------------------------------------------------------------
// show (db-ctl-base.c cmd_show with ovs-vsctl.c's cmd_show_tables).

/// (table, name column, shown columns in order).
const SHOW_TABLES: &[(&str, Option<&str>, &[&str])] = &[
    (
        "Open_vSwitch",
        None,
        &["manager_options", "bridges", "ovs_version"],
    ),
    (
        "Bridge",
        Some("name"),
        &["controller", "fail_mode", "datapath_type", "ports"],
    ),
    ("Port", Some("name"), &["tag", "trunks", "interfaces"]),
    (
        "Interface",
        Some("name"),
        &["type", "options", "error", "bfd_status"],
    ),
    ("Controller", Some("target"), &["is_connected"]),
    ("Manager", Some("target"), &["is_connected"]),
];

fn cmd_show(ctx: &Ctx) -> String {
    let mut out = String::new();
    let mut shown = Vec::new();
    for r in ctx.txn.rows("Open_vSwitch") {
        show_row(ctx, "Open_vSwitch", &r, 0, &mut shown, &mut out);
    }
    out
}

fn show_row(
    ctx: &Ctx,
    table: &str,
    row: &Uuid,
    level: usize,
    shown: &mut Vec<String>,
    out: &mut String,
) {
    let schema = ctx.txn.schema;
    let show = SHOW_TABLES.iter().find(|(t, _, _)| *t == table);
    out.push_str(&" ".repeat(level * 4));
    match show {
        Some((t, Some(name_col), _)) => {
            let ty = schema
                .table(t)
                .and_then(|ts| ts.columns.get(*name_col))
                .map(|c| c.type_.clone());
            let d = ctx.txn.get(t, row, name_col);
            out.push_str(&format!(
                "{t} {}\n",
                ty.map_or(String::new(), |ty| datum_to_string(&d, &ty))
            ));
        }
        _ => out.push_str(&format!("{row}\n")),
    }
    let Some((t, _, cols)) = show else { return };
    if shown.iter().any(|s| s == t) {
        return;
    }
    shown.push(t.to_string());
    let Some(ts) = schema.table(t) else {
        shown.pop();
        return;
    };
    for col in cols.iter() {
        let Some(cs) = ts.columns.get(*col) else {
            continue;
        };
        let d = ctx.txn.get(t, row, col);
        if let Some(rt) = &cs.type_.key.ref_table {
            if SHOW_TABLES.iter().any(|(n, _, _)| n == rt) {
                for u in d.uuids() {
                    if ctx.txn.exists(rt, &u) {
                        show_row(ctx, rt, &u, level + 1, shown, out);
                    }
                }
                continue;
            }
        }
        if !d.is_default(&cs.type_) {
            out.push_str(&" ".repeat((level + 1) * 4));
            out.push_str(&format!("{col}: {}\n", datum_to_string(&d, &cs.type_)));
        }
    }
    shown.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_match_scores() {
        assert_eq!(
            score_partial_match("external_ids", "external_ids"),
            u32::MAX
        );
        assert_eq!(
            score_partial_match("external_ids", "External-IDs"),
            u32::MAX - 1
        );
        assert_eq!(score_partial_match("external_ids", "ext"), 3);
        assert_eq!(score_partial_match("external_ids", "extx"), 0);
        assert_eq!(score_partial_match("ssl", "s"), 1);
    }

    #[test]
    fn column_key_value_parsing() {
        let schema = DatabaseSchema::from_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ovsdb/schemas/vswitch.ovsschema"
        ))
        .expect("schema");
        let port = schema.table("Port").expect("Port");
        let ckv = parse_column_key_value("external-ids:k=v", port, Some(&["="])).unwrap();
        assert_eq!(ckv.column.name, "external_ids");
        assert_eq!(ckv.key.as_deref(), Some("k"));
        assert_eq!(ckv.value.as_deref(), Some("v"));
        let e = parse_column_key_value("tag=", port, Some(&["="]))
            .err()
            .unwrap();
        assert_eq!(
            e,
            "tag=: argument does not end in \"=\" followed by a value."
        );
        let ckv = parse_column_key_value("tag{>=}[]", port, Some(RELOPS)).unwrap();
        assert_eq!(RELOPS[ckv.op], "{>=}");
        let e = get_column(port, "nosuch").err().unwrap();
        assert_eq!(
            e,
            "Port does not contain a column whose name matches \"nosuch\""
        );
        let ovs = schema.table("Open_vSwitch").unwrap();
        let e = get_column(ovs, "s").err().unwrap();
        assert_eq!(
            e,
            "Open_vSwitch contains more than one column whose name matches \"s\": ssl, statistics, system_type, system_version"
        );
    }
}
