//! Actions and instructions in text (OVS lib/ofp-actions.c `ofpacts_parse`
//! and `ofpacts_format`) over the crate's action list
//! ([`crate::actions::OfpAct`]): actions and instructions in one ordered
//! list, as OVS's ofpacts.
//!
//! Spelling follows the action's own variant, so a list printed after a
//! wire round trip reads as OVS prints it for that version (e.g.
//! `mod_tp_dst:25` in OpenFlow 1.0 becomes `set_field:25->tcp_dst` in 1.3,
//! because the codec sends it as a set-field and decodes it as one).

use super::lex::{parse_hex_bytes, str_to_u16, str_to_u64, KeyValues};
use super::matching::{c_hex, fmt_ipv6, parse_field_value, Match};
use super::port::{format_port, parse_port, PortNames, PortNumbers};
pub use crate::actions::OfpAct;
use crate::mf::{low_bits, Field, Spelling, Subfield};
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
            if k == "mod_vlan_vid" {
                OfpAct::SetVlanVid(vid)
            } else {
                OfpAct::SetVlanVidNoPush(vid)
            }
        }
        "mod_vlan_pcp" | "set_vlan_pcp" => {
            let pcp = parse_u8_arg(value, "VLAN PCP")?;
            if pcp & !7 != 0 {
                return Err(format!("{value}: not a valid VLAN PCP"));
            }
            if k == "mod_vlan_pcp" {
                OfpAct::SetVlanPcp(pcp)
            } else {
                OfpAct::SetVlanPcpNoPush(pcp)
            }
        }
        "strip_vlan" => OfpAct::StripVlan,
        "pop_vlan" => OfpAct::PopVlan,
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
        "mod_tp_src" => OfpAct::SetL4SrcPort(str_to_u16(value, "source port")?),
        "mod_tp_dst" => OfpAct::SetL4DstPort(str_to_u16(value, "destination port")?),
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
            if ids.is_empty() {
                OfpAct::DecTtl
            } else {
                OfpAct::DecTtlIds(ids)
            }
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
    if userdata.is_empty() && !pause {
        Ok(OfpAct::Controller {
            max_len,
            reason,
            controller_id: id,
        })
    } else {
        Ok(OfpAct::Controller2 {
            max_len,
            reason,
            controller_id: id,
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
    let in_port = (in_port != OFPP_IN_PORT).then_some(in_port);
    let table = (table != 255).then_some(table);
    Ok(if ct {
        OfpAct::ResubmitCt { in_port, table }
    } else {
        OfpAct::Resubmit { in_port, table }
    })
}

fn parse_set_field(value: &str, ports: Option<&PortNumbers>) -> Result<OfpAct, String> {
    let (v, f) = value
        .split_once("->")
        .ok_or_else(|| format!("{value}: missing `->'"))?;
    let field = Field::from_name(f)
        .filter(|f| !matches!(f, Field::DlVlan | Field::DlVlanPcp | Field::Xxreg(_)))
        .map(tcp_alias);
    let field = field.ok_or_else(|| format!("{f} is not a valid OXM field name"))?;
    if !field.writable() {
        return Err(format!("{f} is read-only"));
    }
    let (val, mask) = parse_field_value(field, v, ports)?;
    Ok(OfpAct::SetField {
        field,
        value: val & mask,
        mask,
    })
}

/// `tp_src`/`tp_dst` are OVS's other names for `tcp_src`/`tcp_dst` (the
/// meta-flow table keeps them as protocol-generic fields for the classifier).
pub(crate) fn tcp_alias(f: Field) -> Field {
    match f {
        Field::TpSrc => Field::TcpSrc,
        Field::TpDst => Field::TcpDst,
        f => f,
    }
}

/// Parses `FIELD[]`, `FIELD[a..b]`, `FIELD[a]` or `FIELD` (OVS
/// `mf_parse_subfield`).
pub fn parse_subfield(s: &str) -> Result<(Subfield, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let name = &s[..end];
    let field = Field::from_nxm_name(name)
        .or_else(|| Field::from_name(name).map(tcp_alias))
        .filter(|f| !matches!(f, Field::DlVlan | Field::DlVlanPcp))
        .ok_or_else(|| format!("{s}: unknown field `{name}'"))?;
    let bits = field.n_bits();
    let width = (field.n_bytes() * 8) as u32;
    let rest = &s[end..];
    let Some(r) = rest.strip_prefix('[') else {
        return Ok((Subfield::whole(field), rest));
    };
    let close = r
        .find(']')
        .ok_or_else(|| format!("{s}: syntax error expecting field name"))?;
    let inner = &r[..close];
    let tail = &r[close + 1..];
    let num = |x: &str| {
        x.parse::<u32>()
            .map_err(|_| format!("{s}: syntax error in subfield"))
    };
    let (start, endb) = if inner.is_empty() {
        (0, bits - 1)
    } else if let Some((a, b)) = inner.split_once("..") {
        (num(a)?, num(b)?)
    } else {
        let a = num(inner)?;
        (a, a)
    };
    if start > endb {
        return Err(format!(
            "{s}: starting bit {start} is after ending bit {endb}"
        ));
    }
    if start >= width.max(bits) {
        return Err(format!(
            "{s}: starting bit {start} is not valid because field is only {bits} bits wide"
        ));
    }
    if endb >= bits.max(1) && endb >= width.min(bits.max(width)) {
        return Err(format!(
            "{s}: ending bit {endb} is not valid because field is only {bits} bits wide"
        ));
    }
    // Bits past n_bits but inside the wire width (e.g. vlan_vid[13..15])
    // are accepted by OVS; keep them within the u16 range here.
    Ok((
        Subfield {
            field,
            ofs: start as u16,
            n_bits: (endb - start + 1) as u16,
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
    Ok(OfpAct::RegLoad {
        dst: sf,
        value: val,
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
            OfpAct::StripVlan | OfpAct::PopVlan => {
                if !vlan {
                    *usable &= proto::OF10_ANY;
                }
                vlan = false;
            }
            OfpAct::SetIpv4Src(_) | OfpAct::SetIpv4Dst(_) if !ip4 => *usable &= proto::OF10_ANY,
            OfpAct::SetIpDscp(_)
            | OfpAct::SetIpEcn(_)
            | OfpAct::SetIpTtl(_)
            | OfpAct::DecTtl
            | OfpAct::DecTtlIds(_)
                if !ipany =>
            {
                *usable &= proto::OF10_ANY
            }
            OfpAct::SetL4SrcPort(_) | OfpAct::SetL4DstPort(_) if !l4 => *usable &= proto::OF10_ANY,
            OfpAct::SetField { field, .. }
            | OfpAct::RegLoad {
                dst: Subfield { field, .. },
                ..
            } if (matches!(field, Field::VlanVid | Field::VlanPcp) && !vlan)
                || (!matches!(field, Field::VlanVid | Field::VlanPcp) && !m.prereqs_ok(*field)) =>
            {
                return Err("OFPBAC_MATCH_INCONSISTENT")
            }
            OfpAct::RegMove { src, dst }
                if !m.prereqs_ok(src.field) || !m.prereqs_ok(dst.field) =>
            {
                return Err("OFPBAC_MATCH_INCONSISTENT")
            }
            OfpAct::ResubmitCt { .. } => return Err("OFPBAC_MATCH_INCONSISTENT"),
            OfpAct::GotoTable(t) if table != 255 && *t <= table => {
                return Err("OFPBIC_BAD_TABLE_ID")
            }
            OfpAct::WriteActions(inner) => check_actions(inner, m, table, usable)?,
            _ => {}
        }
    }
    Ok(())
}

/// Formats a field value as OVS `mf_format` does (decimal, hex, MAC, IP…),
/// with `/mask` when the mask is not all-ones.
pub fn format_field_value(
    field: Field,
    value: u128,
    mask: u128,
    names: Option<&PortNames>,
) -> String {
    // Full when every meaningful bit is set: parsed masks span the wire
    // bytes, decoded ones the field's bits (0x3f for ip_dscp).
    let bits = low_bits(field.n_bits());
    let full = mask & bits == bits;
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
    if !full {
        let _ = write!(s, "/{}", c_hex128(mask));
    }
    s
}

fn fmt_subfield(s: &mut String, sf: &Subfield) {
    s.push_str(sf.field.nxm_name());
    if sf.is_whole() {
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
                ofs: ofs as u16,
                n_bits: n_eff as u16,
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
/// (OVS `ofpacts_format`): `drop` for an empty list. To print what a
/// switch speaking some version reports, format the list decoded from that
/// version's wire form.
pub fn format_actions(acts: &[OfpAct], names: Option<&PortNames>) -> String {
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
            reason: 1,
            controller_id: 0,
        } => {
            let _ = write!(s, "CONTROLLER:{max_len}");
        }
        OfpAct::Controller {
            max_len,
            reason,
            controller_id,
        } => fmt_controller(s, *max_len, *reason, *controller_id, &[], false),
        OfpAct::Controller2 {
            max_len,
            reason,
            controller_id,
            userdata,
            pause,
        } => fmt_controller(s, *max_len, *reason, *controller_id, userdata, *pause),
        OfpAct::Enqueue { port, queue } => {
            let _ = write!(s, "enqueue:{}:{queue}", format_port(*port, names));
        }
        OfpAct::SetVlanVid(vid) => {
            let _ = write!(s, "mod_vlan_vid:{vid}");
        }
        OfpAct::SetVlanVidNoPush(vid) => {
            let _ = write!(s, "set_vlan_vid:{vid}");
        }
        OfpAct::SetVlanPcp(pcp) => {
            let _ = write!(s, "mod_vlan_pcp:{pcp}");
        }
        OfpAct::SetVlanPcpNoPush(pcp) => {
            let _ = write!(s, "set_vlan_pcp:{pcp}");
        }
        OfpAct::StripVlan => s.push_str("strip_vlan"),
        OfpAct::PopVlan => s.push_str("pop_vlan"),
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
        OfpAct::SetL4SrcPort(p) => {
            let _ = write!(s, "mod_tp_src:{p}");
        }
        OfpAct::SetL4DstPort(p) => {
            let _ = write!(s, "mod_tp_dst:{p}");
        }
        OfpAct::SetField { field, value, mask } => {
            let _ = write!(
                s,
                "set_field:{}->{}",
                format_field_value(*field, *value, *mask, names),
                field.name()
            );
        }
        OfpAct::RegLoad { dst, value } => {
            let ofs = u32::from(dst.ofs).min(127);
            fmt_load(s, dst.field, value << ofs, dst.mask());
        }
        OfpAct::RegMove { src, dst } => {
            s.push_str("move:");
            fmt_subfield(s, src);
            s.push_str("->");
            fmt_subfield(s, dst);
        }
        OfpAct::DecTtl => s.push_str("dec_ttl"),
        OfpAct::DecTtlIds(ids) => {
            let v: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            let _ = write!(s, "dec_ttl({})", v.join(","));
        }
        OfpAct::Resubmit {
            in_port,
            table: None,
        } => {
            let port = in_port.unwrap_or(OFPP_IN_PORT);
            let _ = write!(s, "resubmit:{}", format_port(port, names));
        }
        OfpAct::Resubmit { in_port, table } => fmt_resubmit(s, *in_port, *table, false, names),
        OfpAct::ResubmitCt { in_port, table } => fmt_resubmit(s, *in_port, *table, true, names),
        OfpAct::SetQueue(q) => {
            let _ = write!(s, "set_queue:{q}");
        }
        OfpAct::PopQueue => s.push_str("pop_queue"),
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
            s.push_str(&format_actions(inner, names));
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
        // A variant added to the crate's list after this printer: OVS has
        // no spelling we know, so say what it is rather than guess.
        #[allow(unreachable_patterns)]
        other => {
            let _ = write!(s, "<{other:?}>");
        }
    }
}

fn fmt_controller(s: &mut String, max_len: u16, reason: u8, id: u16, userdata: &[u8], pause: bool) {
    s.push_str("controller(");
    let start = s.len();
    if reason != 1 {
        match CONTROLLER_REASONS.get(usize::from(reason)) {
            Some(r) => {
                let _ = write!(s, "reason={r},");
            }
            None => {
                let _ = write!(s, "reason={reason},");
            }
        }
    }
    if max_len != 65535 {
        let _ = write!(s, "max_len={max_len},");
    }
    if id != 0 {
        let _ = write!(s, "id={id},");
    }
    if !userdata.is_empty() {
        s.push_str("userdata=");
        s.push_str(&hex_dots(userdata));
        s.push(',');
    }
    if pause {
        s.push_str("pause,");
    }
    if s.len() > start {
        s.pop();
    }
    s.push(')');
}

fn fmt_resubmit(
    s: &mut String,
    in_port: Option<u16>,
    table: Option<u8>,
    ct: bool,
    names: Option<&PortNames>,
) {
    s.push_str("resubmit(");
    if let Some(p) = in_port {
        s.push_str(&format_port(p, names));
    }
    s.push(',');
    if let Some(t) = table {
        let _ = write!(s, "{t}");
    }
    if ct {
        s.push_str(",ct");
    }
    s.push(')');
}

fn hex_dots(b: &[u8]) -> String {
    let v: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    v.join(".")
}
