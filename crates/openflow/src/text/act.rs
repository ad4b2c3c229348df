//! Actions and instructions in text (OVS lib/ofp-actions.c `ofpacts_parse`
//! and `ofpacts_format`), over a local action list type that mirrors OVS's
//! ofpacts: actions and instructions in one ordered list.

use super::field::{Field, Spelling};
use super::lex::{parse_hex_bytes, str_to_u16, str_to_u64, KeyValues};
use super::matching::{c_hex, fmt_ipv6, parse_field_value, Match};
use super::port::{format_port, parse_port, PortNames, PortNumbers};
use crate::port::{OFPP_CONTROLLER, OFPP_IN_PORT, OFPP_NONE};
use std::fmt::Write;

/// Why a `controller` action sends a packet (OFPR_*).
pub const CONTROLLER_REASONS: [&str; 6] = [
    "no_match",
    "action",
    "invalid_ttl",
    "action_set",
    "group",
    "packet_out",
];

/// A field range `FIELD[ofs..ofs+n_bits-1]` (OVS `struct mf_subfield`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subfield {
    /// The field.
    pub field: Field,
    /// First bit (0 = least significant).
    pub ofs: u32,
    /// Number of bits.
    pub n_bits: u32,
}

/// One action or instruction (OVS `struct ofpact`, the subset oxvs knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfpAct {
    /// `output:PORT` (also NORMAL, FLOOD, ALL, LOCAL, IN_PORT); `max_len` is
    /// used only for CONTROLLER (`CONTROLLER:max_len`).
    Output { port: u16, max_len: u16 },
    /// `output(port=P,max_len=N)`: output truncated to N bytes.
    OutputTrunc { port: u16, max_len: u32 },
    /// `controller(...)` with non-default options.
    Controller {
        max_len: u16,
        reason: u8,
        id: u16,
        userdata: Vec<u8>,
        pause: bool,
    },
    /// `enqueue:PORT:QUEUE`.
    Enqueue { port: u16, queue: u32 },
    /// `set_queue:Q`.
    SetQueue(u32),
    /// `pop_queue`.
    PopQueue,
    /// `mod_vlan_vid:VID` (pushes a tag if needed in OF1.1+).
    SetVlanVid { vid: u16, push_if_needed: bool },
    /// `mod_vlan_pcp:PCP`.
    SetVlanPcp { pcp: u8, push_if_needed: bool },
    /// `strip_vlan` / `pop_vlan`.
    StripVlan,
    /// `push_vlan:ETHERTYPE`.
    PushVlan(u16),
    /// `mod_dl_src:MAC`.
    SetEthSrc([u8; 6]),
    /// `mod_dl_dst:MAC`.
    SetEthDst([u8; 6]),
    /// `mod_nw_src:IP`.
    SetIpv4Src([u8; 4]),
    /// `mod_nw_dst:IP`.
    SetIpv4Dst([u8; 4]),
    /// `mod_nw_tos:TOS` (DSCP bits in TOS position).
    SetIpDscp(u8),
    /// `mod_nw_ecn:ECN`.
    SetIpEcn(u8),
    /// `mod_nw_ttl:TTL`.
    SetIpTtl(u8),
    /// `mod_tp_src:PORT`.
    SetL4Src(u16),
    /// `mod_tp_dst:PORT`.
    SetL4Dst(u16),
    /// `set_field:V[/M]->F` or `load:V->F[..]` (`load` = written as load /
    /// sent as NXAST_REG_LOAD). Value and mask in the field's units.
    SetField {
        field: Field,
        value: u128,
        mask: u128,
        load: bool,
    },
    /// `move:SRC->DST`.
    RegMove { src: Subfield, dst: Subfield },
    /// `dec_ttl` / `dec_ttl(ids)`; `ids` empty = default (controller 0).
    DecTtl { ids: Vec<u16> },
    /// `resubmit(port,table[,ct])`; port OFPP_IN_PORT = unchanged, table 255 = same.
    Resubmit { in_port: u16, table: u8, ct: bool },
    /// `push_mpls:ETHERTYPE`.
    PushMpls(u16),
    /// `pop_mpls:ETHERTYPE`.
    PopMpls(u16),
    /// `exit`.
    Exit,
    /// `note:HEX`, bytes as written (padding is added on the wire).
    Note(Vec<u8>),
    /// `group:ID`.
    Group(u32),
    /// `meter:ID` (instruction).
    Meter(u32),
    /// `clear_actions` (instruction).
    ClearActions,
    /// `write_actions(...)` (instruction).
    WriteActions(Vec<OfpAct>),
    /// `write_metadata:V[/M]` (instruction).
    WriteMetadata { value: u64, mask: u64 },
    /// `goto_table:N` (instruction).
    GotoTable(u8),
}

/// OpenFlow instruction kinds in their required order (OVS
/// `ovs_instruction_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Inst {
    Meter,
    Apply,
    Clear,
    Write,
    WriteMetadata,
    Goto,
}

impl Inst {
    fn name(self) -> &'static str {
        match self {
            Inst::Meter => "meter",
            Inst::Apply => "apply_actions",
            Inst::Clear => "clear_actions",
            Inst::Write => "write_actions",
            Inst::WriteMetadata => "write_metadata",
            Inst::Goto => "goto_table",
        }
    }
}

fn inst_of(a: &OfpAct) -> Inst {
    match a {
        OfpAct::Meter(_) => Inst::Meter,
        OfpAct::ClearActions => Inst::Clear,
        OfpAct::WriteActions(_) => Inst::Write,
        OfpAct::WriteMetadata { .. } => Inst::WriteMetadata,
        OfpAct::GotoTable(_) => Inst::Goto,
        _ => Inst::Apply,
    }
}

/// Protocol bits ("usable flow formats") an action list restricts to.
pub mod proto {
    /// OpenFlow 1.0 standard match (with and without table-id extension).
    pub const OF10_STD: u32 = 0b11;
    /// OpenFlow 1.0 with NXM.
    pub const OF10_NXM: u32 = 0b1100;
    /// Either OpenFlow 1.0 form.
    pub const OF10_ANY: u32 = OF10_STD | OF10_NXM;
    /// OpenFlow 1.1.
    pub const OF11: u32 = 1 << 4;
    /// OpenFlow 1.2 OXM.
    pub const OF12: u32 = 1 << 5;
    /// OpenFlow 1.3 OXM.
    pub const OF13: u32 = 1 << 6;
    /// OpenFlow 1.4 OXM.
    pub const OF14: u32 = 1 << 7;
    /// OpenFlow 1.5 OXM.
    pub const OF15: u32 = 1 << 8;
    /// Every OXM version.
    pub const OXM: u32 = OF12 | OF13 | OF14 | OF15;
    /// Everything.
    pub const ANY: u32 = OF10_ANY | OF11 | OXM;

    /// OVS `ofputil_protocols_to_string`.
    pub fn to_string(mut p: u32) -> String {
        let abbrevs = [
            (ANY, "any"),
            (OF10_STD, "OpenFlow10"),
            (OF10_NXM, "NXM"),
            (OXM, "OXM"),
        ];
        let bits = [
            (1, "OpenFlow10-table_id"),
            (2, "OpenFlow10+table_id"),
            (4, "NXM-table_id"),
            (8, "NXM+table_id"),
            (OF11, "OpenFlow11"),
            (OF12, "OXM-OpenFlow12"),
            (OF13, "OXM-OpenFlow13"),
            (OF14, "OXM-OpenFlow14"),
            (OF15, "OXM-OpenFlow15"),
        ];
        let mut out = Vec::new();
        'outer: while p != 0 {
            for (m, n) in abbrevs {
                if p & m == m {
                    out.push(n);
                    p &= !m;
                    continue 'outer;
                }
            }
            for (m, n) in bits {
                if p & m != 0 {
                    out.push(n);
                    p &= !m;
                    continue 'outer;
                }
            }
            break;
        }
        out.join(",")
    }
}

/// Parses an action list (OVS `ofpacts_parse_instructions`). Returns the
/// list and the protocols it can be sent with; errors in OVS's words.
pub fn parse_actions(s: &str, ports: Option<&PortNumbers>) -> Result<(Vec<OfpAct>, u32), String> {
    let mut out = Vec::new();
    let mut usable = proto::ANY;
    parse_into(s, ports, true, &mut out, &mut usable)?;
    Ok((out, usable))
}

fn parse_into(
    s: &str,
    ports: Option<&PortNumbers>,
    allow_inst: bool,
    out: &mut Vec<OfpAct>,
    usable: &mut u32,
) -> Result<(), String> {
    let mut drop = false;
    let mut prev = Inst::Meter;
    let mut first = true;
    for (key, value) in KeyValues::new(s) {
        let act = parse_one(key, value, ports, usable)?;
        let Some(act) = act else {
            if key.eq_ignore_ascii_case("drop") {
                drop = true;
            }
            continue;
        };
        let inst = inst_of(&act);
        if inst != Inst::Apply && !allow_inst {
            return Err(format!("{} instruction not allowed here", inst.name()));
        }
        if !first {
            if inst == prev && inst != Inst::Apply {
                return Err(format!(
                    "duplicate {} instruction not allowed, for OpenFlow 1.1+ compatibility",
                    inst.name()
                ));
            }
            if inst < prev {
                return Err(format!(
                    "invalid instruction ordering: {} must appear before {}, for OpenFlow 1.1+ compatibility",
                    inst.name(),
                    prev.name()
                ));
            }
        }
        first = false;
        prev = inst;
        out.push(act);
    }
    if drop && !out.is_empty() {
        return Err("\"drop\" must not be accompanied by any other action or instruction".into());
    }
    Ok(())
}

fn parse_u8_arg(v: &str, what: &str) -> Result<u8, String> {
    match str_to_u16(v, what) {
        Ok(x) if x <= 255 => Ok(x as u8),
        _ => Err(format!("invalid {what} \"{v}\"")),
    }
}

fn parse_table(v: &str) -> Result<u8, String> {
    match super::lex::str_to_uint(v) {
        Some(t) if t <= 255 => Ok(t as u8),
        _ => Err(format!("unknown table \"{v}\"")),
    }
}

fn parse_one(
    key: &str,
    value: &str,
    ports: Option<&PortNumbers>,
    usable: &mut u32,
) -> Result<Option<OfpAct>, String> {
    let k = key.to_ascii_lowercase();
    let a = match k.as_str() {
        "drop" => return Ok(None),
        "output" => {
            if value.contains('=') {
                let (mut port, mut max_len) = (None, None);
                for (k2, v2) in KeyValues::new(value) {
                    match k2 {
                        "port" => port = parse_port(v2, ports),
                        "max_len" => max_len = Some(str_to_u64(v2)? as u32),
                        _ => return Err(format!("{value}: output to unknown port")),
                    }
                }
                match (port, max_len) {
                    (Some(port), Some(max_len)) => OfpAct::OutputTrunc { port, max_len },
                    _ => return Err(format!("{value}: output to unknown port")),
                }
            } else {
                let port = parse_port(value, ports)
                    .ok_or_else(|| format!("{value}: output to unknown port"))?;
                OfpAct::Output {
                    port,
                    max_len: if port == OFPP_CONTROLLER { 65535 } else { 0 },
                }
            }
        }
        "controller" => parse_controller(value)?,
        "enqueue" => {
            let parts: Vec<&str> = if value.contains(':') {
                value.split(':').collect()
            } else {
                value.split(',').collect()
            };
            let syntax = || {
                "\"enqueue\" syntax is \"enqueue:PORT:QUEUE\" or \"enqueue(PORT,QUEUE)\""
                    .to_string()
            };
            if parts.len() != 2 {
                return Err(syntax());
            }
            let port = parse_port(parts[0], ports).ok_or_else(syntax)?;
            let queue = super::lex::str_to_uint(parts[1]).ok_or_else(syntax)?;
            OfpAct::Enqueue { port, queue }
        }
        "set_queue" => OfpAct::SetQueue(str_to_u64(value)? as u32),
        "pop_queue" => OfpAct::PopQueue,
        "mod_vlan_vid" | "set_vlan_vid" => {
            let vid = str_to_u16(value, "VLAN VID")
                .map_err(|_| format!("invalid VLAN VID \"{value}\""))?;
            if vid & !0x0fff != 0 {
                return Err(format!("{value}: not a valid VLAN VID"));
            }
            OfpAct::SetVlanVid {
                vid,
                push_if_needed: k == "mod_vlan_vid",
            }
        }
        "mod_vlan_pcp" | "set_vlan_pcp" => {
            let pcp = parse_u8_arg(value, "VLAN PCP")?;
            if pcp & !7 != 0 {
                return Err(format!("{value}: not a valid VLAN PCP"));
            }
            OfpAct::SetVlanPcp {
                pcp,
                push_if_needed: k == "mod_vlan_pcp",
            }
        }
        "strip_vlan" | "pop_vlan" => OfpAct::StripVlan,
        "push_vlan" => {
            let et = str_to_u16(value, "ethertype")?;
            if et != 0x8100 && et != 0x88a8 {
                return Err(format!("{value}: not a valid VLAN ethertype"));
            }
            *usable &= proto::OF11 | proto::OXM;
            OfpAct::PushVlan(et)
        }
        "mod_dl_src" | "mod_dl_dst" => {
            let mac = match super::lex::parse_eth(value) {
                Some((m, "")) => m,
                _ => return Err(format!("invalid mac address {value}")),
            };
            if k == "mod_dl_src" {
                OfpAct::SetEthSrc(mac)
            } else {
                OfpAct::SetEthDst(mac)
            }
        }
        "mod_nw_src" | "mod_nw_dst" => {
            let ip = match super::lex::parse_ipv4(value) {
                Some((ip, "")) => ip,
                _ => return Err(format!("{value}: invalid IP address")),
            };
            if k == "mod_nw_src" {
                OfpAct::SetIpv4Src(ip)
            } else {
                OfpAct::SetIpv4Dst(ip)
            }
        }
        "mod_nw_tos" => {
            let tos = parse_u8_arg(value, "TOS")?;
            if tos & 3 != 0 {
                return Err(format!("{value}: not a valid TOS"));
            }
            OfpAct::SetIpDscp(tos)
        }
        "mod_nw_ecn" => {
            let ecn = parse_u8_arg(value, "ECN")?;
            if ecn > 3 {
                return Err(format!("{value}: not a valid ECN"));
            }
            OfpAct::SetIpEcn(ecn)
        }
        "mod_nw_ttl" | "set_nw_ttl" => OfpAct::SetIpTtl(parse_u8_arg(value, "TTL")?),
        "mod_tp_src" => OfpAct::SetL4Src(str_to_u16(value, "source port")?),
        "mod_tp_dst" => OfpAct::SetL4Dst(str_to_u16(value, "destination port")?),
        "set_field" => parse_set_field(value, ports)?,
        "load" => parse_load(value)?,
        "move" => parse_move(value)?,
        "dec_ttl" => {
            let mut ids = Vec::new();
            if !value.is_empty() {
                for id in value.split(',') {
                    ids.push(str_to_u16(id.trim(), "controller id")?);
                }
                if ids.is_empty() {
                    return Err("dec_ttl_cnt_ids: expected at least one controller id.".into());
                }
            }
            OfpAct::DecTtl { ids }
        }
        "resubmit" => parse_resubmit(value, ports)?,
        "push_mpls" => OfpAct::PushMpls(str_to_u16(value, "ethertype")?),
        "pop_mpls" => OfpAct::PopMpls(str_to_u16(value, "ethertype")?),
        "exit" => OfpAct::Exit,
        "note" => OfpAct::Note(parse_hex_bytes(value).ok_or("bad hex digit in `note' argument")?),
        "group" => OfpAct::Group(
            super::lex::str_to_uint(value).ok_or_else(|| format!("invalid group \"{value}\""))?,
        ),
        "meter" => {
            *usable &= proto::OF13 | proto::OF14 | proto::OF15;
            OfpAct::Meter(
                super::lex::str_to_uint(value)
                    .ok_or_else(|| format!("invalid meter \"{value}\""))?,
            )
        }
        "clear_actions" => OfpAct::ClearActions,
        "write_actions" => {
            let mut inner = Vec::new();
            parse_into(value, ports, false, &mut inner, usable)?;
            if inner.is_empty() {
                return Ok(None);
            }
            OfpAct::WriteActions(inner)
        }
        "write_metadata" => {
            if value.is_empty() {
                return Err("missing required numeric argument".into());
            }
            let (v, m) = match value.split_once('/') {
                Some((v, m)) => (str_to_u64(v)?, str_to_u64(m)?),
                None => (str_to_u64(value)?, u64::MAX),
            };
            OfpAct::WriteMetadata { value: v, mask: m }
        }
        "goto_table" => OfpAct::GotoTable(parse_table(value)?),
        "apply_actions" => return Err("apply_actions is the default instruction".into()),
        _ => match parse_port(key, ports) {
            Some(port) => OfpAct::Output {
                port,
                max_len: if port == OFPP_CONTROLLER { 65535 } else { 0 },
            },
            None => return Err(format!("unknown action {key}")),
        },
    };
    Ok(Some(a))
}

fn parse_controller(value: &str) -> Result<OfpAct, String> {
    let (mut max_len, mut reason, mut id, mut userdata, mut pause) =
        (65535u16, 1u8, 0u16, Vec::new(), false);
    if value.is_empty() {
    } else if value.bytes().all(|c| c.is_ascii_digit()) || value.starts_with("0x") {
        max_len = str_to_u16(value, "max_len")
            .map_err(|_| format!("unknown key \"{value}\" parsing controller action"))?;
    } else {
        for (k, v) in KeyValues::new(value) {
            match k {
                "reason" => {
                    reason = CONTROLLER_REASONS
                        .iter()
                        .position(|r| *r == v)
                        .ok_or_else(|| format!("unknown reason \"{v}\""))?
                        as u8;
                }
                "max_len" => max_len = str_to_u16(v, "max_len")?,
                "id" => id = str_to_u16(v, "id")?,
                "userdata" => {
                    userdata = parse_hex_bytes(v).ok_or("bad hex digit in `controller' argument")?
                }
                "pause" => pause = true,
                _ => return Err(format!("unknown key \"{k}\" parsing controller action")),
            }
        }
    }
    if reason == 1 && id == 0 && userdata.is_empty() && !pause {
        Ok(OfpAct::Output {
            port: OFPP_CONTROLLER,
            max_len,
        })
    } else {
        Ok(OfpAct::Controller {
            max_len,
            reason,
            id,
            userdata,
            pause,
        })
    }
}

fn parse_resubmit(value: &str, ports: Option<&PortNumbers>) -> Result<OfpAct, String> {
    let (mut in_port, mut table, mut ct) = (OFPP_IN_PORT, 255u8, false);
    if value.contains(',') {
        let parts: Vec<&str> = value.split(',').collect();
        if parts.len() > 3 {
            return Err(format!("{}: unknown parameter", parts[3]));
        }
        if !parts[0].is_empty() {
            in_port = parse_port(parts[0], ports)
                .ok_or_else(|| format!("{}: resubmit to unknown port", parts[0]))?;
        }
        if parts.len() > 1 && !parts[1].is_empty() {
            table = match super::lex::str_to_uint(parts[1]) {
                Some(t) if t < 255 => t as u8,
                _ => return Err(format!("{}: resubmit to unknown table", parts[1])),
            };
        }
        if parts.len() > 2 {
            if parts[2] != "ct" {
                return Err(format!("{}: unknown parameter", parts[2]));
            }
            ct = true;
        }
    } else if !value.is_empty() {
        in_port =
            parse_port(value, ports).ok_or_else(|| format!("{value}: resubmit to unknown port"))?;
    }
    if in_port == OFPP_IN_PORT && table == 255 {
        return Err("at least one \"in_port\" or \"table\" must be specified on resubmit".into());
    }
    Ok(OfpAct::Resubmit { in_port, table, ct })
}

fn parse_set_field(value: &str, ports: Option<&PortNumbers>) -> Result<OfpAct, String> {
    let (v, f) = value
        .split_once("->")
        .ok_or_else(|| format!("{value}: missing `->'"))?;
    let field = Field::from_name(f)
        .filter(|f| !matches!(f, Field::DlVlan | Field::DlVlanPcp | Field::Xxreg(_)));
    let field = field.ok_or_else(|| format!("{f} is not a valid OXM field name"))?;
    if !field.writable() {
        return Err(format!("{f} is read-only"));
    }
    let (val, mask) = parse_field_value(field, v, ports)?;
    Ok(OfpAct::SetField {
        field,
        value: val & mask,
        mask,
        load: false,
    })
}

/// Parses `FIELD[]`, `FIELD[a..b]`, `FIELD[a]` or `FIELD` (OVS
/// `mf_parse_subfield`).
pub fn parse_subfield(s: &str) -> Result<(Subfield, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let name = &s[..end];
    let field = Field::from_nxm_or_name(name)
        .filter(|f| !f.nxm_name().is_empty())
        .ok_or_else(|| format!("{s}: unknown field `{name}'"))?;
    let width = (field.n_bytes() * 8) as u32;
    let rest = &s[end..];
    let Some(r) = rest.strip_prefix('[') else {
        return Ok((
            Subfield {
                field,
                ofs: 0,
                n_bits: field.n_bits(),
            },
            rest,
        ));
    };
    let close = r
        .find(']')
        .ok_or_else(|| format!("{s}: syntax error expecting field name"))?;
    let inner = &r[..close];
    let tail = &r[close + 1..];
    let (start, endb) = if inner.is_empty() {
        (0, field.n_bits() - 1)
    } else if let Some((a, b)) = inner.split_once("..") {
        let a: u32 = a
            .parse()
            .map_err(|_| format!("{s}: syntax error in subfield"))?;
        let b: u32 = b
            .parse()
            .map_err(|_| format!("{s}: syntax error in subfield"))?;
        (a, b)
    } else {
        let a: u32 = inner
            .parse()
            .map_err(|_| format!("{s}: syntax error in subfield"))?;
        (a, a)
    };
    if start > endb {
        return Err(format!(
            "{s}: starting bit {start} is after ending bit {endb}"
        ));
    }
    if start >= width.max(field.n_bits()) {
        return Err(format!(
            "{s}: starting bit {start} is not valid because field is only {} bits wide",
            field.n_bits()
        ));
    }
    if endb >= field.n_bits().max(1) && endb >= width.min(field.n_bits().max(width)) {
        return Err(format!(
            "{s}: ending bit {endb} is not valid because field is only {} bits wide",
            field.n_bits()
        ));
    }
    Ok((
        Subfield {
            field,
            ofs: start,
            n_bits: endb - start + 1,
        },
        tail,
    ))
}

fn parse_load(value: &str) -> Result<OfpAct, String> {
    let (v, dst) = value
        .split_once("->")
        .ok_or_else(|| format!("{value}: missing `->'"))?;
    let (sf, _) = parse_subfield(dst)?;
    let (val, tail) =
        super::lex::parse_int(v, 16).map_err(|_| format!("{value}: cannot parse integer value"))?;
    if !tail.is_empty() {
        return Err(format!("{value}: cannot parse integer value"));
    }
    if sf.n_bits < 128 && val >> sf.n_bits != 0 {
        return Err(format!(
            "{value}: value {} does not fit into {} bits",
            c_hex128(val),
            sf.n_bits
        ));
    }
    let ones = if sf.n_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << sf.n_bits) - 1
    };
    Ok(OfpAct::SetField {
        field: sf.field,
        value: val << sf.ofs,
        mask: ones << sf.ofs,
        load: true,
    })
}

fn parse_move(value: &str) -> Result<OfpAct, String> {
    let (src, rest) = parse_subfield(value)?;
    let dst_s = rest
        .strip_prefix("->")
        .ok_or_else(|| format!("{value}: missing `->' following source"))?;
    let (dst, _) = parse_subfield(dst_s)?;
    if src.n_bits != dst.n_bits {
        return Err(format!(
            "{value}: source field is {} bits wide but destination is {} bits wide",
            src.n_bits, dst.n_bits
        ));
    }
    Ok(OfpAct::RegMove { src, dst })
}

fn c_hex128(v: u128) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// Checks actions against the match (OVS `ofpacts_check`): set_field,
/// load and move need their fields' prerequisites (else
/// `OFPBAC_MATCH_INCONSISTENT`); rewrite actions without them restrict
/// the usable protocols to OpenFlow 1.0; goto_table must go forward.
/// Returns the OpenFlow error name on failure.
pub fn check_actions(
    acts: &[OfpAct],
    m: &Match,
    table: u8,
    usable: &mut u32,
) -> Result<(), &'static str> {
    let f = &m.flow.key;
    let ip4 = f.dl_type == 0x0800;
    let ipany = ip4 || f.dl_type == 0x86dd;
    let l4 = ipany && matches!(f.nw_proto, 6 | 17 | 132);
    let mut vlan = f.vlan_tci & 0x1000 != 0;
    for a in acts {
        match a {
            OfpAct::PushVlan(_) => vlan = true,
            OfpAct::StripVlan => {
                if !vlan {
                    *usable &= proto::OF10_ANY;
                }
                vlan = false;
            }
            OfpAct::SetIpv4Src(_) | OfpAct::SetIpv4Dst(_) if !ip4 => *usable &= proto::OF10_ANY,
            OfpAct::SetIpDscp(_)
            | OfpAct::SetIpEcn(_)
            | OfpAct::SetIpTtl(_)
            | OfpAct::DecTtl { .. }
                if !ipany =>
            {
                *usable &= proto::OF10_ANY
            }
            OfpAct::SetL4Src(_) | OfpAct::SetL4Dst(_) if !l4 => *usable &= proto::OF10_ANY,
            OfpAct::SetField { field, .. }
                if (matches!(field, Field::VlanVid | Field::VlanPcp) && !vlan)
                    || (!matches!(field, Field::VlanVid | Field::VlanPcp)
                        && !field.prereqs_ok(&m.flow)) =>
            {
                return Err("OFPBAC_MATCH_INCONSISTENT")
            }
            OfpAct::RegMove { src, dst }
                if !src.field.prereqs_ok(&m.flow) || !dst.field.prereqs_ok(&m.flow) =>
            {
                return Err("OFPBAC_MATCH_INCONSISTENT")
            }
            OfpAct::Resubmit { ct: true, .. } => return Err("OFPBAC_MATCH_INCONSISTENT"),
            OfpAct::GotoTable(t) if table != 255 && *t <= table => {
                return Err("OFPBIC_BAD_TABLE_ID")
            }
            OfpAct::WriteActions(inner) => check_actions(inner, m, table, usable)?,
            _ => {}
        }
    }
    Ok(())
}

/// The OpenFlow 1.0 action that `set_field` of `field` is sent as, if any.
fn of10_rewrite(field: Field, value: u128, mask: u128) -> Option<OfpAct> {
    let full = field.n_bytes() >= 16 || mask == (1u128 << (8 * field.n_bytes())) - 1;
    let mut eth = [0u8; 6];
    eth.copy_from_slice(&value.to_be_bytes()[10..]);
    let ip = (value as u32).to_be_bytes();
    Some(match field {
        Field::EthSrc if full => OfpAct::SetEthSrc(eth),
        Field::EthDst if full => OfpAct::SetEthDst(eth),
        Field::IpSrc => OfpAct::SetIpv4Src(ip),
        Field::IpDst => OfpAct::SetIpv4Dst(ip),
        Field::TcpSrc | Field::UdpSrc => OfpAct::SetL4Src(value as u16),
        Field::TcpDst | Field::UdpDst => OfpAct::SetL4Dst(value as u16),
        Field::IpDscp if full => OfpAct::SetIpDscp((value as u8) << 2),
        Field::NwTos if full => OfpAct::SetIpDscp(value as u8),
        _ => return None,
    })
}

/// The action list as a switch speaking wire `version` (1 = OF1.0, 4 =
/// OF1.3, …) reports it back, i.e. after OVS's encode/decode at that
/// version: OF1.0 turns `set_field` into `mod_*` or `load` and drops
/// instructions it cannot carry; OF1.1+ turns `mod_*` into `set_field`,
/// masked `set_field` (before 1.5) into `load`, and `mod_vlan_vid` into
/// `push_vlan` + `set_field` when `match_has_vlan` is false. `version` 0
/// returns the list unchanged. Idempotent.
pub fn actions_at_version(acts: &[OfpAct], version: u8, match_has_vlan: bool) -> Vec<OfpAct> {
    let mut out = Vec::new();
    let mut vlan = match_has_vlan;
    for a in acts {
        conv(a, version, &mut vlan, &mut out);
    }
    out
}

fn sf(field: Field, value: u128) -> OfpAct {
    OfpAct::SetField {
        field,
        value,
        mask: full_mask(field),
        load: false,
    }
}

fn full_mask(field: Field) -> u128 {
    if field.n_bytes() >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * field.n_bytes())) - 1
    }
}

fn conv(a: &OfpAct, v: u8, vlan: &mut bool, out: &mut Vec<OfpAct>) {
    if v == 0 {
        out.push(a.clone());
        return;
    }
    if let OfpAct::Note(b) = a {
        // NXAST_NOTE: a 10-byte header plus the bytes, padded to 8 bytes.
        let mut bytes = b.clone();
        bytes.resize((10 + b.len()).div_ceil(8) * 8 - 10, 0);
        out.push(OfpAct::Note(bytes));
        return;
    }
    if v == 1 {
        match a {
            OfpAct::SetField {
                field,
                value,
                mask,
                load: false,
            } => match of10_rewrite(*field, *value, *mask) {
                Some(x) => out.push(x),
                None => out.push(OfpAct::SetField {
                    field: *field,
                    value: *value,
                    mask: *mask,
                    load: true,
                }),
            },
            OfpAct::SetIpEcn(e) => out.push(OfpAct::SetField {
                field: Field::NwEcn,
                value: u128::from(*e),
                mask: 3,
                load: true,
            }),
            OfpAct::SetIpTtl(t) => out.push(OfpAct::SetField {
                field: Field::NwTtl,
                value: u128::from(*t),
                mask: 0xff,
                load: true,
            }),
            OfpAct::GotoTable(t) => out.push(OfpAct::Resubmit {
                in_port: OFPP_IN_PORT,
                table: *t,
                ct: false,
            }),
            OfpAct::ClearActions | OfpAct::WriteActions(_) | OfpAct::Meter(_) => {}
            OfpAct::PushVlan(_) => *vlan = true,
            OfpAct::SetVlanVid { vid, .. } => out.push(OfpAct::SetVlanVid {
                vid: *vid,
                push_if_needed: true,
            }),
            OfpAct::SetVlanPcp { pcp, .. } => out.push(OfpAct::SetVlanPcp {
                pcp: *pcp,
                push_if_needed: true,
            }),
            other => out.push(other.clone()),
        }
        return;
    }
    match a {
        OfpAct::SetEthSrc(m) => out.push(sf(Field::EthSrc, be(m))),
        OfpAct::SetEthDst(m) => out.push(sf(Field::EthDst, be(m))),
        OfpAct::SetIpv4Src(ip) => out.push(sf(Field::IpSrc, be(ip))),
        OfpAct::SetIpv4Dst(ip) => out.push(sf(Field::IpDst, be(ip))),
        OfpAct::SetIpDscp(t) => out.push(sf(Field::IpDscp, u128::from(*t >> 2))),
        OfpAct::SetIpEcn(e) => out.push(sf(Field::NwEcn, u128::from(*e))),
        OfpAct::SetL4Src(p) | OfpAct::SetL4Dst(p) => {
            // The field depends on the match's protocol; the caller's match
            // decides, TCP is the common case. See `set_l4_field`.
            let dst = matches!(a, OfpAct::SetL4Dst(_));
            out.push(OfpAct::SetField {
                field: if dst { Field::TcpDst } else { Field::TcpSrc },
                value: u128::from(*p),
                mask: 0xffff,
                load: false,
            });
        }
        OfpAct::SetVlanVid {
            vid,
            push_if_needed,
        } => {
            if *push_if_needed && !*vlan {
                out.push(OfpAct::PushVlan(0x8100));
                *vlan = true;
            }
            out.push(sf(Field::VlanVid, u128::from(*vid | 0x1000)));
        }
        OfpAct::SetVlanPcp {
            pcp,
            push_if_needed,
        } => {
            if *push_if_needed && !*vlan {
                out.push(OfpAct::PushVlan(0x8100));
                *vlan = true;
            }
            out.push(sf(Field::VlanPcp, u128::from(*pcp)));
        }
        OfpAct::PushVlan(t) => {
            *vlan = true;
            out.push(OfpAct::PushVlan(*t));
        }
        OfpAct::Enqueue { port, queue } if v >= 2 => {
            out.push(OfpAct::SetQueue(*queue));
            out.push(OfpAct::Output {
                port: *port,
                max_len: 0,
            });
            out.push(OfpAct::PopQueue);
        }
        OfpAct::SetField {
            field,
            value,
            mask,
            load: false,
        } if v < 6 && *mask != full_mask(*field) => out.push(OfpAct::SetField {
            field: *field,
            value: *value,
            mask: *mask,
            load: true,
        }),
        OfpAct::WriteActions(inner) => {
            let mut o = Vec::new();
            let mut vl = *vlan;
            for x in inner {
                conv(x, v, &mut vl, &mut o);
            }
            out.push(OfpAct::WriteActions(o));
        }
        other => out.push(other.clone()),
    }
}

/// Rewrites `SetField` of `tcp_*` to the `udp_*`/`sctp_*` field the
/// match's protocol implies (OF1.1+ `mod_tp_*` conversion).
pub fn set_l4_field(acts: &mut [OfpAct], nw_proto: u8) {
    for a in acts {
        match a {
            OfpAct::SetField {
                field, load: false, ..
            } => {
                *field = match (*field, nw_proto) {
                    (Field::TcpSrc, 17) => Field::UdpSrc,
                    (Field::TcpDst, 17) => Field::UdpDst,
                    (Field::TcpSrc, 132) => Field::SctpSrc,
                    (Field::TcpDst, 132) => Field::SctpDst,
                    (f, _) => f,
                }
            }
            OfpAct::WriteActions(inner) => set_l4_field(inner, nw_proto),
            _ => {}
        }
    }
}

fn be(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |a, &x| (a << 8) | u128::from(x))
}

/// Formats a field value as OVS `mf_format` does (decimal, hex, MAC, IP…),
/// with `/mask` when the mask is not all-ones.
pub fn format_field_value(
    field: Field,
    value: u128,
    mask: u128,
    names: Option<&PortNames>,
) -> String {
    let full = full_mask(field);
    let mut s = match field.spelling() {
        Spelling::Decimal => format!("{value}"),
        Spelling::Hex | Spelling::Frag | Spelling::TcpFlags => c_hex128(value),
        Spelling::Ethernet => {
            let b = value.to_be_bytes();
            format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                b[10], b[11], b[12], b[13], b[14], b[15]
            )
        }
        Spelling::Ipv4 => {
            let b = (value as u32).to_be_bytes();
            format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
        }
        Spelling::Ipv6 => fmt_ipv6(value.to_be_bytes()),
        Spelling::OfpPort => format_port(value as u16, names),
    };
    if mask != full {
        let _ = write!(s, "/{}", c_hex128(mask));
    }
    s
}

fn fmt_subfield(s: &mut String, sf: &Subfield) {
    s.push_str(sf.field.nxm_name());
    if sf.ofs == 0 && sf.n_bits == sf.field.n_bits() {
        s.push_str("[]");
    } else if sf.n_bits == 1 {
        let _ = write!(s, "[{}]", sf.ofs);
    } else {
        let _ = write!(s, "[{}..{}]", sf.ofs, sf.ofs + sf.n_bits - 1);
    }
}

fn fmt_load(s: &mut String, field: Field, value: u128, mask: u128) {
    // One `load` per contiguous run of mask bits, at most 64 bits each.
    let width = field.n_bits().max(1);
    let mut ofs = 0u32;
    let mut first = true;
    while ofs < 128 {
        if mask >> ofs & 1 == 0 {
            ofs += 1;
            continue;
        }
        let mut n = 0u32;
        while ofs + n < 128 && mask >> (ofs + n) & 1 == 1 && n < 64 {
            n += 1;
        }
        let v = (value >> ofs)
            & if n >= 128 {
                u128::MAX
            } else {
                (1u128 << n) - 1
            };
        if !first {
            s.push(',');
        }
        first = false;
        let _ = write!(s, "load:{}->", c_hex(v as u64));
        let n_eff = if ofs == 0 && n >= width { width } else { n };
        fmt_subfield(
            s,
            &Subfield {
                field,
                ofs,
                n_bits: n_eff,
            },
        );
        ofs += n;
    }
}

fn fmt_eth(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// Formats an action list as `ovs-ofctl` prints it after `actions=`
/// (OVS `ofpacts_format`): `drop` for an empty list. `version` applies
/// [`actions_at_version`] first (0 = print as is).
pub fn format_actions(acts: &[OfpAct], version: u8, names: Option<&PortNames>) -> String {
    let conv;
    let acts = if version == 0 {
        acts
    } else {
        conv = actions_at_version(acts, version, true);
        &conv[..]
    };
    if acts.is_empty() {
        return "drop".into();
    }
    let mut s = String::new();
    for (i, a) in acts.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        format_one(&mut s, a, names);
    }
    s
}

fn format_one(s: &mut String, a: &OfpAct, names: Option<&PortNames>) {
    match a {
        OfpAct::Output { port, max_len } => {
            if *port == OFPP_CONTROLLER {
                let _ = write!(s, "CONTROLLER:{max_len}");
            } else if *port >= 0xff00 && *port != OFPP_NONE {
                s.push_str(&format_port(*port, names));
            } else {
                let _ = write!(s, "output:{}", format_port(*port, names));
            }
        }
        OfpAct::OutputTrunc { port, max_len } => {
            let _ = write!(
                s,
                "output(port={},max_len={max_len})",
                format_port(*port, names)
            );
        }
        OfpAct::Controller {
            max_len,
            reason,
            id,
            userdata,
            pause,
        } => {
            s.push_str("controller(");
            let start = s.len();
            if *reason != 1 {
                let _ = write!(
                    s,
                    "reason={},",
                    CONTROLLER_REASONS.get(usize::from(*reason)).unwrap_or(&"?")
                );
            }
            if *max_len != 65535 {
                let _ = write!(s, "max_len={max_len},");
            }
            if *id != 0 {
                let _ = write!(s, "id={id},");
            }
            if !userdata.is_empty() {
                s.push_str("userdata=");
                s.push_str(&hex_dots(userdata));
                s.push(',');
            }
            if *pause {
                s.push_str("pause,");
            }
            if s.len() > start {
                s.pop();
            }
            s.push(')');
        }
        OfpAct::Enqueue { port, queue } => {
            let _ = write!(s, "enqueue:{}:{queue}", format_port(*port, names));
        }
        OfpAct::SetQueue(q) => {
            let _ = write!(s, "set_queue:{q}");
        }
        OfpAct::PopQueue => s.push_str("pop_queue"),
        OfpAct::SetVlanVid {
            vid,
            push_if_needed,
        } => {
            let _ = write!(
                s,
                "{}:{vid}",
                if *push_if_needed {
                    "mod_vlan_vid"
                } else {
                    "set_vlan_vid"
                }
            );
        }
        OfpAct::SetVlanPcp {
            pcp,
            push_if_needed,
        } => {
            let _ = write!(
                s,
                "{}:{pcp}",
                if *push_if_needed {
                    "mod_vlan_pcp"
                } else {
                    "set_vlan_pcp"
                }
            );
        }
        OfpAct::StripVlan => s.push_str("strip_vlan"),
        OfpAct::PushVlan(t) => {
            let _ = write!(s, "push_vlan:{t:#06x}");
        }
        OfpAct::SetEthSrc(m) => {
            let _ = write!(s, "mod_dl_src:{}", fmt_eth(m));
        }
        OfpAct::SetEthDst(m) => {
            let _ = write!(s, "mod_dl_dst:{}", fmt_eth(m));
        }
        OfpAct::SetIpv4Src(ip) => {
            let _ = write!(s, "mod_nw_src:{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
        }
        OfpAct::SetIpv4Dst(ip) => {
            let _ = write!(s, "mod_nw_dst:{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
        }
        OfpAct::SetIpDscp(t) => {
            let _ = write!(s, "mod_nw_tos:{t}");
        }
        OfpAct::SetIpEcn(e) => {
            let _ = write!(s, "mod_nw_ecn:{e}");
        }
        OfpAct::SetIpTtl(t) => {
            let _ = write!(s, "mod_nw_ttl:{t}");
        }
        OfpAct::SetL4Src(p) => {
            let _ = write!(s, "mod_tp_src:{p}");
        }
        OfpAct::SetL4Dst(p) => {
            let _ = write!(s, "mod_tp_dst:{p}");
        }
        OfpAct::SetField {
            field,
            value,
            mask,
            load,
        } => {
            if *load {
                fmt_load(s, *field, *value, *mask);
            } else {
                let _ = write!(
                    s,
                    "set_field:{}->{}",
                    format_field_value(*field, *value, *mask, names),
                    field.name()
                );
            }
        }
        OfpAct::RegMove { src, dst } => {
            s.push_str("move:");
            fmt_subfield(s, src);
            s.push_str("->");
            fmt_subfield(s, dst);
        }
        OfpAct::DecTtl { ids } => {
            if ids.is_empty() {
                s.push_str("dec_ttl");
            } else {
                let v: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                let _ = write!(s, "dec_ttl({})", v.join(","));
            }
        }
        OfpAct::Resubmit { in_port, table, ct } => {
            if *table == 255 && !*ct {
                let _ = write!(s, "resubmit:{}", format_port(*in_port, names));
            } else {
                s.push_str("resubmit(");
                if *in_port != OFPP_IN_PORT {
                    s.push_str(&format_port(*in_port, names));
                }
                s.push(',');
                if *table != 255 {
                    let _ = write!(s, "{table}");
                }
                if *ct {
                    s.push_str(",ct");
                }
                s.push(')');
            }
        }
        OfpAct::PushMpls(t) => {
            let _ = write!(s, "push_mpls:{t:#06x}");
        }
        OfpAct::PopMpls(t) => {
            let _ = write!(s, "pop_mpls:{t:#06x}");
        }
        OfpAct::Exit => s.push_str("exit"),
        OfpAct::Note(b) => {
            let _ = write!(s, "note:{}", hex_dots(b));
        }
        OfpAct::Group(g) => {
            let _ = write!(s, "group:{g}");
        }
        OfpAct::Meter(m) => {
            let _ = write!(s, "meter:{m}");
        }
        OfpAct::ClearActions => s.push_str("clear_actions"),
        OfpAct::WriteActions(inner) => {
            s.push_str("write_actions(");
            s.push_str(&format_actions(inner, 0, names));
            s.push(')');
        }
        OfpAct::WriteMetadata { value, mask } => {
            let _ = write!(s, "write_metadata:{}", c_hex(*value));
            if *mask != u64::MAX {
                let _ = write!(s, "/{}", c_hex(*mask));
            }
        }
        OfpAct::GotoTable(t) => {
            let _ = write!(s, "goto_table:{t}");
        }
    }
}

fn hex_dots(b: &[u8]) -> String {
    let v: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    v.join(".")
}
