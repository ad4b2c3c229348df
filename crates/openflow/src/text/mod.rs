//! `ovs-ofctl` flow syntax: parsing flow specifications (`add-flow`,
//! `del-flows`, `dump-flows` arguments) and printing flows the way
//! `ovs-ofctl dump-flows` does, byte for byte.
//!
//! Idea: follow Open vSwitch's own pipeline. A flow string is split into
//! `key=value` items ([`lex::KeyValues`]); match fields go through a field
//! table ([`crate::mf::Field`]: names, widths, spellings, prerequisites)
//! into a [`Match`]; everything after `actions=` becomes the crate's
//! ordered list of actions and instructions ([`OfpAct`], like OVS's
//! ofpacts). [`FlowSpec::to_flow_mod`] turns the result into the message
//! the codec sends. Fields whose
//! prerequisites are not met are dropped (OVS normalizes them away rather
//! than failing). Printing is the exact inverse order of OVS's
//! `match_format`/`ofpacts_format`/`ofputil_flow_stats_format`.
//!
//! Invariants: parse never panics on any input; every error string is the
//! text `ovs-ofctl` prints after `ovs-ofctl: `. Not on a fast path: strings
//! are allocated freely.
//!
//! Reference: ovs-fields(7), ovs-actions(7), ovs-ofctl(8) "Flow Syntax";
//! fixtures in `tests/fixtures/ofctl_flows.txt` record OVS 3.1's output.

pub mod act;
pub mod lex;
pub mod matching;
pub mod port;

pub use crate::actions::OfpAct;
pub use crate::mf::{Field, Subfield};
pub use act::{format_actions, parse_actions};
pub use matching::{format_match, normalize, Match};
pub use port::{PortNames, PortNumbers};

use lex::KeyValues;

/// What a flow string is for; decides which keywords are allowed (OVS
/// `parse_ofp_str` `command`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowUsage {
    /// `add-flow`: actions required, timeouts, priority, flags, importance.
    Add,
    /// `mod-flows`: actions required.
    Modify,
    /// `mod-flows --strict`.
    ModifyStrict,
    /// `del-flows`: no actions; `out_port`, `out_group`, cookie mask.
    Delete,
    /// `del-flows --strict`: adds `priority`.
    DeleteStrict,
    /// `dump-flows`/`dump-aggregate` match argument.
    MatchOnly,
}

/// Flow-mod flags (OFPFF_*), as OVS keeps them.
pub mod flags {
    /// `send_flow_rem`.
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    /// `check_overlap`.
    pub const CHECK_OVERLAP: u16 = 1 << 1;
    /// `reset_counts`.
    pub const RESET_COUNTS: u16 = 1 << 2;
    /// `no_packet_counts`.
    pub const NO_PKT_COUNTS: u16 = 1 << 3;
    /// `no_byte_counts`.
    pub const NO_BYT_COUNTS: u16 = 1 << 4;
}

/// A parsed flow specification (OVS `struct ofputil_flow_mod`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    /// The match (normalized: fields lacking prerequisites removed).
    pub r#match: Match,
    /// Priority (default 32768).
    pub priority: u16,
    /// Table, 255 = not given ("any" / all tables).
    pub table_id: u8,
    /// Cookie to match (with `cookie_mask`) for modify/delete.
    pub cookie: u64,
    /// Cookie mask; nonzero only for modify/delete with `cookie=V/M`.
    pub cookie_mask: u64,
    /// New cookie for add/modify; `None` = keep (modify) / 0 (add).
    pub new_cookie: Option<u64>,
    /// Idle timeout in seconds (0 = none).
    pub idle_timeout: u16,
    /// Hard timeout in seconds (0 = none).
    pub hard_timeout: u16,
    /// Eviction importance (OF1.4+).
    pub importance: u16,
    /// [`flags`] bits.
    pub flags: u16,
    /// `out_port` filter of delete (OFPP_NONE = any).
    pub out_port: u16,
    /// `out_group` filter of delete (OFPG_ANY = 0xffffffff).
    pub out_group: u32,
    /// Actions and instructions (empty = drop).
    pub actions: Vec<OfpAct>,
    /// Protocols this flow can be sent with ([`act::proto`] bits).
    pub usable_protocols: u32,
    /// OVS's INFO log lines when normalization changed the match.
    pub warnings: Vec<String>,
}

impl FlowSpec {
    /// The flow_mod that sends this spec as `command` on a connection
    /// speaking wire `version` (1 = OpenFlow 1.0 … 6 = 1.5), as
    /// `ovs-ofctl` builds it (OVS `ofputil_encode_flow_mod` inputs):
    /// `cookie=V` is the new cookie of an add (or of a modify without a
    /// cookie mask), `cookie=V/M` the filter of a modify/delete; a table not
    /// given is table 0 for an OpenFlow 1.1+ add and "all tables"
    /// (`OFPTT_ALL`) otherwise; no buffer. Encode the result with
    /// [`crate::encode`] (as `NxFlowMod` when the OF1.0 match needs NXM, see
    /// [`crate::codec::of10_expressible`]).
    pub fn to_flow_mod(&self, command: crate::FlowModCommand, version: u8) -> crate::FlowMod {
        use crate::FlowModCommand as C;
        let (cookie, cookie_mask) = if self.cookie_mask != 0 && command != C::Add {
            (self.cookie, self.cookie_mask)
        } else {
            (self.new_cookie.unwrap_or(0), 0)
        };
        // Without `table=`: OF1.0 sends "all tables" (the switch adds to
        // table 0); OF1.1+ ovs-ofctl sends table 0 for add and modify and
        // "all tables" only for delete (compat doc §6).
        let deleting = matches!(command, C::Delete | C::DeleteStrict);
        let table_id = if self.table_id == 255 && !deleting && version >= 2 {
            0
        } else {
            self.table_id
        };
        crate::FlowMod {
            cookie,
            cookie_mask,
            table_id,
            command,
            idle_timeout: self.idle_timeout,
            hard_timeout: self.hard_timeout,
            priority: self.priority,
            buffer_id: crate::msg::NO_BUFFER,
            out_port: self.out_port,
            out_group: self.out_group,
            flags: self.flags,
            importance: self.importance,
            match_: self.r#match,
            ofpacts: self.actions.clone(),
        }
    }
}

/// OpenFlow wire version numbers.
pub const OFP10_VERSION: u8 = 1;
/// OpenFlow 1.3.
pub const OFP13_VERSION: u8 = 4;
/// OpenFlow 1.4.
pub const OFP14_VERSION: u8 = 5;

fn allowed_protocols(version: u8) -> u32 {
    use act::proto::*;
    match version {
        1 => OF10_ANY,
        2 => OF11,
        3 => OF12,
        4 => OF13,
        5 => OF14,
        6 => OF15,
        _ => ANY,
    }
}

/// Parses a flow specification as `ovs-ofctl` does for `usage`, for a
/// connection speaking wire `version` (1 = OpenFlow 1.0 with NXM, 4 =
/// OpenFlow 1.3; 0 = any). `ports` resolves port names.
///
/// Errors: the text `ovs-ofctl` prints after `ovs-ofctl: `, e.g. `unknown
/// keyword foo`, `must specify an action`, `none of the usable flow
/// formats (OpenFlow10,NXM) is among the allowed flow formats
/// (OXM-OpenFlow13)`.
pub fn parse_flow(
    s: &str,
    usage: FlowUsage,
    version: u8,
    ports: Option<&PortNumbers>,
) -> Result<FlowSpec, String> {
    let (f_out_port, f_actions, f_importance, f_timeout, f_priority, f_flags) = match usage {
        FlowUsage::Add => (false, true, true, true, true, true),
        FlowUsage::Modify | FlowUsage::ModifyStrict => (false, true, false, true, true, true),
        FlowUsage::Delete | FlowUsage::MatchOnly => (true, false, false, false, false, false),
        FlowUsage::DeleteStrict => (true, false, false, false, true, false),
    };
    let mut fs = FlowSpec {
        r#match: Match::default(),
        priority: 32768,
        table_id: 255,
        cookie: 0,
        cookie_mask: 0,
        new_cookie: None,
        idle_timeout: 0,
        hard_timeout: 0,
        importance: 0,
        flags: 0,
        out_port: crate::port::OFPP_NONE,
        out_group: 0xffff_ffff,
        actions: Vec::new(),
        usable_protocols: act::proto::ANY,
        warnings: Vec::new(),
    };
    let (match_part, act_str) = if f_actions {
        match s.find("action") {
            Some(i) => match s[i + 1..].find('=') {
                Some(j) => (&s[..i], &s[i + 1 + j + 1..]),
                None => return Err("must specify an action".into()),
            },
            None => return Err("must specify an action".into()),
        }
    } else {
        (s, "")
    };
    let mut usable = act::proto::ANY;
    for (name, value) in KeyValues::new(match_part) {
        if let Some((dl_type, nw_proto)) = protocol_shorthand(name) {
            let m = &mut fs.r#match;
            matching::set_field(m, Field::EthType, u128::from(dl_type), 0xffff);
            if let Some(p) = nw_proto {
                matching::set_field(m, Field::IpProto, u128::from(p), 0xff);
            }
            continue;
        }
        match name {
            "send_flow_rem" if f_flags => fs.flags |= flags::SEND_FLOW_REM,
            "check_overlap" if f_flags => fs.flags |= flags::CHECK_OVERLAP,
            "reset_counts" if f_flags => {
                fs.flags |= flags::RESET_COUNTS;
                usable &= act::proto::OXM;
            }
            "no_packet_counts" if f_flags => {
                fs.flags |= flags::NO_PKT_COUNTS;
                usable &= act::proto::OF13 | act::proto::OF14 | act::proto::OF15;
            }
            "no_byte_counts" if f_flags => {
                fs.flags |= flags::NO_BYT_COUNTS;
                usable &= act::proto::OF13 | act::proto::OF14 | act::proto::OF15;
            }
            "no_readonly_table" | "allow_hidden_fields" => {}
            _ => {
                if let Some(field) = Field::from_name(name).map(act::tcp_alias) {
                    let (v, m) = matching::parse_field_value(field, value, ports)?;
                    matching::set_field(&mut fs.r#match, field, v, m);
                    continue;
                }
                if name.contains('[') {
                    parse_subfield_match(&mut fs.r#match, name, value)?;
                    continue;
                }
                if value.is_empty() {
                    return Err(format!("field {name} missing value"));
                }
                match name {
                    "table" => {
                        fs.table_id = match lex::str_to_uint(value) {
                            Some(t) if t <= 255 => t as u8,
                            _ => return Err(format!("unknown table \"{value}\"")),
                        }
                    }
                    "out_port" if f_out_port => {
                        fs.out_port = port::parse_port(value, ports)
                            .ok_or_else(|| format!("{value} is not a valid OpenFlow port"))?
                    }
                    "out_group" if f_out_port => {
                        usable &= act::proto::OF11 | act::proto::OXM;
                        fs.out_group = lex::str_to_uint(value)
                            .ok_or_else(|| format!("{value} is not a valid OpenFlow group"))?
                    }
                    "priority" if f_priority => fs.priority = lex::str_to_u16(value, name)?,
                    "idle_timeout" if f_timeout => fs.idle_timeout = lex::str_to_u16(value, name)?,
                    "hard_timeout" if f_timeout => fs.hard_timeout = lex::str_to_u16(value, name)?,
                    "importance" if f_importance => fs.importance = lex::str_to_u16(value, name)?,
                    "cookie" => {
                        if let Some((v, m)) = value.split_once('/') {
                            if usage == FlowUsage::Add {
                                return Err("flow additions cannot use a cookie mask".into());
                            }
                            fs.cookie = lex::str_to_u64(v)?;
                            fs.cookie_mask = lex::str_to_u64(m)?;
                        } else {
                            if !matches!(
                                usage,
                                FlowUsage::Add | FlowUsage::Modify | FlowUsage::ModifyStrict
                            ) {
                                return Err("cannot set cookie".into());
                            }
                            fs.new_cookie = Some(lex::str_to_u64(value)?);
                        }
                    }
                    "duration" | "n_packets" | "n_bytes" | "idle_age" | "hard_age" => {}
                    _ => return Err(format!("unknown keyword {name}")),
                }
            }
        }
    }
    let pre = format_match(&fs.r#match, 32768, None);
    if normalize(&mut fs.r#match) {
        fs.warnings
            .push("normalization changed ofp_match, details:".into());
        fs.warnings.push(format!(" pre: {pre}"));
        fs.warnings
            .push(format!("post: {}", format_match(&fs.r#match, 32768, None)));
    }
    if f_actions {
        let (acts, act_usable) = act::parse_actions(act_str, ports)?;
        usable &= act_usable;
        let mut u = usable;
        let check = act::check_actions(&acts, &fs.r#match, fs.table_id, &mut u);
        let check = match check {
            Ok(()) if u == 0 => Err("OFPBAC_MATCH_INCONSISTENT"),
            other => other,
        };
        if let Err(e) = check {
            return Err(format!("actions are invalid with specified match ({e})"));
        }
        usable = u;
        fs.actions = acts;
    }
    fs.usable_protocols = usable;
    let allowed = allowed_protocols(version);
    if usable & allowed == 0 {
        return Err(format!(
            "none of the usable flow formats ({}) is among the allowed flow formats ({})",
            act::proto::to_string(usable),
            act::proto::to_string(allowed)
        ));
    }
    Ok(fs)
}

/// Parses an exact flow, `FIELD=VALUE[,FIELD=VALUE]...` plus the protocol
/// shorthands (OVS `parse_ofp_exact_flow`, what `ofproto/trace BRIDGE
/// FLOW` takes): a packet description, not a match, so every field not
/// given is 0, `in_port` not given is `OFPP_NONE`, and no keyword other
/// than a field name is accepted. Fields must come in an order that meets
/// their prerequisites (`tcp,tp_dst=80`, not `tp_dst=80,tcp`). `ports`
/// resolves port names.
///
/// Returns the flow as a [`Match`]: `flow` holds the values, `mask` the
/// bits that were given (`in_port` only if given).
///
/// Errors (OVS's text, `s` being the whole input): `S: unknown field K`,
/// `S: prerequisites not met for setting K`, `S: field K set multiple
/// times`, `S: bad value for K (REASON)`, `S: Ethernet type set multiple
/// times`, `S: network protocol set multiple times`.
pub fn parse_exact_flow(s: &str, ports: Option<&PortNumbers>) -> Result<Match, String> {
    let mut m = Match::default();
    for (key, value) in KeyValues::new(s) {
        if let Some((dl_type, nw_proto)) = protocol_shorthand(key) {
            if m.flow.key.dl_type != 0 {
                return Err(format!("{s}: Ethernet type set multiple times"));
            }
            matching::set_field(&mut m, Field::EthType, u128::from(dl_type), 0xffff);
            if let Some(p) = nw_proto {
                if m.flow.key.nw_proto != 0 {
                    return Err(format!("{s}: network protocol set multiple times"));
                }
                matching::set_field(&mut m, Field::IpProto, u128::from(p), 0xff);
            }
            continue;
        }
        // `tp_src`/`tp_dst` are OVS's names for `tcp_src`/`tcp_dst` (TCP
        // prerequisite: `udp,tp_dst=53` is refused, as by OVS).
        let Some(field) = Field::from_name(key).map(act::tcp_alias) else {
            return Err(format!("{s}: unknown field {key}"));
        };
        if !m.prereqs_ok(field) {
            return Err(format!("{s}: prerequisites not met for setting {key}"));
        }
        if m.is_set(field) {
            return Err(format!("{s}: field {key} set multiple times"));
        }
        let (v, mask) = match matching::parse_field_value(field, value, ports) {
            Ok(vm) if !value.is_empty() && !value.contains('/') => vm,
            Ok(_) => {
                let why = format!("{value}: wildcards not allowed here");
                return Err(format!("{s}: bad value for {key} ({why})"));
            }
            Err(e) => return Err(format!("{s}: bad value for {key} ({e})")),
        };
        matching::set_field(&mut m, field, v, mask);
    }
    if m.mask.key.in_port == 0 {
        m.flow.key.in_port = u32::from(crate::port::OFPP_NONE);
    }
    Ok(m)
}

/// `ip`, `tcp`, … → (dl_type, nw_proto).
fn protocol_shorthand(name: &str) -> Option<(u16, Option<u8>)> {
    Some(match name {
        "ip" | "ipv4" => (0x0800, None),
        "ipv6" => (0x86dd, None),
        "icmp" => (0x0800, Some(1)),
        "icmp6" => (0x86dd, Some(58)),
        "tcp" => (0x0800, Some(6)),
        "tcp6" => (0x86dd, Some(6)),
        "udp" => (0x0800, Some(17)),
        "udp6" => (0x86dd, Some(17)),
        "sctp" => (0x0800, Some(132)),
        "sctp6" => (0x86dd, Some(132)),
        "arp" => (0x0806, None),
        "rarp" => (0x8035, None),
        "mpls" => (0x8847, None),
        "mplsm" => (0x8848, None),
        _ => return None,
    })
}

fn parse_subfield_match(m: &mut Match, name: &str, value: &str) -> Result<(), String> {
    let (sf, _) = act::parse_subfield(name)?;
    let v = match lex::parse_int(value, 16) {
        Ok((v, "")) => v,
        _ => return Err(format!("{name}: cannot parse integer value: {value}")),
    };
    if sf.n_bits < 128 && v >> sf.n_bits != 0 {
        return Err(format!(
            "{name}: value {v} does not fit into {} bits",
            sf.n_bits
        ));
    }
    let ones = crate::mf::low_bits(u32::from(sf.n_bits));
    let old_v = sf.field.get(&m.flow);
    let old_m = sf.field.get(&m.mask);
    let mask = old_m | (ones << sf.ofs);
    let val = (old_v & !(ones << sf.ofs)) | (v << sf.ofs);
    matching::set_raw(m, sf.field, val, mask);
    Ok(())
}

/// One flow as a flow-stats reply describes it (OVS `struct
/// ofputil_flow_stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowStatsEntry {
    /// Table.
    pub table_id: u8,
    /// Time since the flow was added: seconds and nanoseconds.
    pub duration_sec: u32,
    /// Nanoseconds part of the duration.
    pub duration_nsec: u32,
    /// Priority.
    pub priority: u16,
    /// Idle timeout (s), 0 = none.
    pub idle_timeout: u16,
    /// Hard timeout (s), 0 = none.
    pub hard_timeout: u16,
    /// Importance (OF1.4+), 0 = none.
    pub importance: u16,
    /// [`flags`] bits (OF1.3+ replies only).
    pub flags: u16,
    /// Seconds since the last packet (NXST_FLOW only), `None` if unknown.
    pub idle_age: Option<u32>,
    /// Seconds since the last modification, `None` if unknown.
    pub hard_age: Option<u32>,
    /// Cookie.
    pub cookie: u64,
    /// Packet count.
    pub packet_count: u64,
    /// Byte count.
    pub byte_count: u64,
    /// Match.
    pub r#match: Match,
    /// Actions.
    pub actions: Vec<OfpAct>,
}

/// OVS `ofp_print_duration`: seconds, with 3 decimals when the fraction is
/// whole milliseconds, otherwise as many as needed; then `s`.
pub fn format_duration(sec: u32, nsec: u32) -> String {
    let mut s = sec.to_string();
    if nsec > 0 {
        if nsec.is_multiple_of(1_000_000) {
            s.push_str(&format!(".{:03}", nsec / 1_000_000));
        } else {
            let f = format!("{nsec:09}");
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
    }
    s.push('s');
    s
}

/// Formats one flow as `ovs-ofctl dump-flows` prints it (OVS
/// `ofputil_flow_stats_format`), without the leading space:
/// `cookie=0x0, duration=1.5s, table=0, n_packets=0, n_bytes=0,
/// idle_timeout=30, idle_age=0, priority=100,ip,nw_src=10.0.0.1
/// actions=output:2`. With `show_stats` false (`--no-stats`) cookie 0,
/// table 0, duration, counters and ages are left out. The actions are
/// printed as they are: give the entry the list decoded from the reply.
pub fn format_flow_stats_entry(
    e: &FlowStatsEntry,
    show_stats: bool,
    names: Option<&PortNames>,
) -> String {
    let mut s = String::new();
    if show_stats || e.cookie != 0 {
        s.push_str(&format!("cookie={:#x}, ", e.cookie));
        if e.cookie == 0 {
            s.truncate(s.len() - 5);
            s.push_str("0x0, ");
        }
    }
    if show_stats {
        s.push_str(&format!(
            "duration={}, ",
            format_duration(e.duration_sec, e.duration_nsec)
        ));
    }
    if show_stats || e.table_id != 0 {
        s.push_str(&format!("table={}, ", e.table_id));
    }
    if show_stats {
        s.push_str(&format!(
            "n_packets={}, n_bytes={}, ",
            e.packet_count, e.byte_count
        ));
    }
    if e.idle_timeout != 0 {
        s.push_str(&format!("idle_timeout={}, ", e.idle_timeout));
    }
    if e.hard_timeout != 0 {
        s.push_str(&format!("hard_timeout={}, ", e.hard_timeout));
    }
    for (bit, name) in [
        (flags::SEND_FLOW_REM, "send_flow_rem "),
        (flags::CHECK_OVERLAP, "check_overlap "),
        (flags::RESET_COUNTS, "reset_counts "),
        (flags::NO_PKT_COUNTS, "no_packet_counts "),
        (flags::NO_BYT_COUNTS, "no_byte_counts "),
    ] {
        if e.flags & bit != 0 {
            s.push_str(name);
        }
    }
    if e.importance != 0 {
        s.push_str(&format!("importance={}, ", e.importance));
    }
    if show_stats {
        if let Some(a) = e.idle_age {
            s.push_str(&format!("idle_age={a}, "));
        }
        if let Some(a) = e.hard_age {
            if a != e.duration_sec {
                s.push_str(&format!("hard_age={a}, "));
            }
        }
    }
    let m = format_match(&e.r#match, e.priority, names);
    if !m.is_empty() {
        s.push_str(&m);
        s.push(' ');
    }
    s.push_str("actions=");
    s.push_str(&format_actions(&e.actions, names));
    s
}
