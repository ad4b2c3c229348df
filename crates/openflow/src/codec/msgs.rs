//! Message bodies per version (OpenFlow 1.0.0 §5, 1.3.5 §7, 1.4.1 §7,
//! 1.5.1 §7; Nicira extensions as in OVS's nicira-ext.h and the compat doc).

use super::actions::*;
use super::buf::{parse_str, round8, Rd, Wr};
use super::matches::*;
use super::oxs::{decode_stats, encode_stats, OxsStats};
use super::CodecOptions;
use crate::error::{
    OfpError, WireError, NXET_VENDOR, NX_VENDOR_ID, OFPET12_EXPERIMENTER, ONF_VENDOR_ID,
};
use crate::matching::Match;
use crate::msg::*;
use crate::port::*;

const OFP10: u8 = 1;
/// OpenFlow 1.3: bundles as ONF experimenter messages.
const OFP13: u8 = 4;
/// OpenFlow 1.5: statistics as OXS TLVs (`ofp_stats`).
const OFP15: u8 = 6;

// Message types, OF1.0 numbering where it differs.
const T_HELLO: u8 = 0;
const T_ERROR: u8 = 1;
const T_ECHO_REQ: u8 = 2;
const T_ECHO_REP: u8 = 3;
const T_VENDOR: u8 = 4;
const T_FEAT_REQ: u8 = 5;
const T_FEAT_REP: u8 = 6;
const T_GET_CFG_REQ: u8 = 7;
const T_GET_CFG_REP: u8 = 8;
const T_SET_CFG: u8 = 9;
const T_PKT_IN: u8 = 10;
const T_FLOW_REM: u8 = 11;
const T_PORT_STATUS: u8 = 12;
const T_PKT_OUT: u8 = 13;
const T_FLOW_MOD: u8 = 14;

// NX subtypes.
const NXT_ROLE_REQUEST: u32 = 10;
const NXT_ROLE_REPLY: u32 = 11;
const NXT_SET_FLOW_FORMAT: u32 = 12;
const NXT_FLOW_MOD: u32 = 13;
const NXT_FLOW_REMOVED: u32 = 14;
const NXT_FLOW_MOD_TABLE_ID: u32 = 15;
const NXT_SET_PACKET_IN_FORMAT: u32 = 16;
const NXT_PACKET_IN2: u32 = 30;
const NXST_FLOW: u32 = 0;

// Table-mod / table-desc property types (OpenFlow 1.4.1 §7.3.3).
const OFPTMPT_EVICTION: u16 = 2;
const OFPTMPT_VACANCY: u16 = 3;
const OFPT_TABLE_MOD: u8 = 17;

// ONF experimenter types (OpenFlow 1.3 bundle extension).
const ONFT_BUNDLE_CONTROL: u32 = 2300;
const ONFT_BUNDLE_ADD_MESSAGE: u32 = 2301;
const NXST_AGGREGATE: u32 = 1;

// Multipart types.
const MP_DESC: u16 = 0;
const MP_FLOW: u16 = 1;
const MP_AGGREGATE: u16 = 2;
const MP_TABLE: u16 = 3;
const MP_PORT: u16 = 4;
const MP_QUEUE: u16 = 5;
const MP_GROUP: u16 = 6;
const MP_GROUP_DESC: u16 = 7;
const MP_GROUP_FEATURES: u16 = 8;
const MP_METER: u16 = 9;
const MP_METER_CONFIG: u16 = 10;
const MP_METER_FEATURES: u16 = 11;
const MP_TABLE_FEATURES: u16 = 12;
const MP_PORT_DESC: u16 = 13;
const MP_TABLE_DESC: u16 = 14;
const MP_VENDOR: u16 = 0xffff;

fn bad_len() -> OfpError {
    OfpError::BAD_REQUEST_BAD_LEN
}

fn done(r: &Rd) -> Result<(), OfpError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(bad_len())
    }
}

/// Decodes an OF1.0 `ofp_match` from exactly 40 bytes.
pub fn decode_match_of10(bytes: &[u8]) -> Result<Match, OfpError> {
    decode_of10_match(&mut Rd::new(bytes, OfpError::BAD_REQUEST_BAD_LEN))
}

/// Encodes an OF1.0 `ofp_match` (40 bytes).
pub fn encode_match_of10(m: &Match, out: &mut Vec<u8>) {
    encode_of10_match(m, out)
}

// ---- feature / port conversions ----

fn features_to10(f: u32) -> u32 {
    (f & 0x7f) | ((f >> 4) & 0xf80)
}

fn features_from10(f: u32) -> u32 {
    (f & 0x7f) | ((f & 0xf80) << 4)
}

fn decode_port(r: &mut Rd, version: u8) -> Result<PortDesc, OfpError> {
    let mut p = PortDesc::default();
    if version == OFP10 {
        p.port_no = r.u16()?;
        p.hw_addr = r.arr()?;
        p.name = parse_str(r.take(16)?);
        p.config = r.u32()?;
        p.state = r.u32()? & 1;
        p.curr = features_from10(r.u32()?);
        p.advertised = features_from10(r.u32()?);
        p.supported = features_from10(r.u32()?);
        p.peer = features_from10(r.u32()?);
        return Ok(p);
    }
    p.port_no = port_from_ofp11(r.u32()?).map_err(|_| OfpError::BAD_REQUEST_BAD_PORT)?;
    if version >= 5 {
        let len = usize::from(r.u16()?);
        if len < 40 {
            return Err(bad_len());
        }
        r.skip(2)?;
        p.hw_addr = r.arr()?;
        r.skip(2)?;
        p.name = parse_str(r.take(16)?);
        p.config = r.u32()?;
        p.state = r.u32()?;
        let mut props = r.sub(len - 40, bad_len())?;
        while !props.is_empty() {
            let (t, mut b) = props.property()?;
            if t == 0 && b.len() >= 28 {
                b.skip(4)?;
                p.curr = b.u32()?;
                p.advertised = b.u32()?;
                p.supported = b.u32()?;
                p.peer = b.u32()?;
                p.curr_speed = b.u32()?;
                p.max_speed = b.u32()?;
            }
        }
        return Ok(p);
    }
    r.skip(4)?;
    p.hw_addr = r.arr()?;
    r.skip(2)?;
    p.name = parse_str(r.take(16)?);
    p.config = r.u32()?;
    p.state = r.u32()?;
    p.curr = r.u32()?;
    p.advertised = r.u32()?;
    p.supported = r.u32()?;
    p.peer = r.u32()?;
    p.curr_speed = r.u32()?;
    p.max_speed = r.u32()?;
    Ok(p)
}

fn encode_port(p: &PortDesc, version: u8, out: &mut Vec<u8>) {
    if version == OFP10 {
        out.u16(p.port_no);
        out.extend_from_slice(&p.hw_addr);
        out.fixed_str(&p.name, 16);
        out.u32(p.config);
        out.u32(p.state & 1);
        for f in [p.curr, p.advertised, p.supported, p.peer] {
            out.u32(features_to10(f));
        }
        return;
    }
    out.u32(port_to_ofp11(p.port_no));
    if version >= 5 {
        out.u16(72);
        out.u16(0);
    } else {
        out.u32(0);
    }
    out.extend_from_slice(&p.hw_addr);
    out.u16(0);
    out.fixed_str(&p.name, 16);
    out.u32(p.config);
    out.u32(p.state);
    if version >= 5 {
        out.u16(0);
        out.u16(32);
        out.u32(0);
    }
    for v in [
        p.curr,
        p.advertised,
        p.supported,
        p.peer,
        p.curr_speed,
        p.max_speed,
    ] {
        out.u32(v);
    }
}

// ---- flow_mod ----

fn decode_flow_mod(r: &mut Rd, version: u8, opts: &CodecOptions) -> Result<FlowMod, OfpError> {
    let mut fm = FlowMod::default();
    if version == OFP10 {
        fm.match_ = decode_of10_match(r)?;
        fm.cookie = r.u64()?;
        let command = r.u16()?;
        fm.idle_timeout = r.u16()?;
        fm.hard_timeout = r.u16()?;
        fm.priority = r.u16()?;
        fm.buffer_id = r.u32()?;
        fm.out_port = r.u16()?;
        fm.flags = r.u16()?;
        set_command10(&mut fm, command, version, opts)?;
        fm.out_group = OFPG_ANY;
        fm.ofpacts = decode_actions(r.rest(), version)?;
        return Ok(fm);
    }
    fm.cookie = r.u64()?;
    fm.cookie_mask = r.u64()?;
    fm.table_id = r.u8()?;
    fm.command = FlowModCommand::from_wire(r.u8()?).ok_or(OfpError::FLOW_MOD_FAILED_BAD_COMMAND)?;
    fm.idle_timeout = r.u16()?;
    fm.hard_timeout = r.u16()?;
    fm.priority = r.u16()?;
    fm.buffer_id = r.u32()?;
    fm.out_port = port_from_ofp11(r.u32()?).map_err(|_| OfpError::FLOW_MOD_FAILED_EPERM)?;
    fm.out_group = r.u32()?;
    fm.flags = r.u16()?;
    let imp = r.u16()?;
    if version >= 5 {
        fm.importance = imp;
    }
    if fm.flags & !0x1f != 0 {
        return Err(OfpError::FLOW_MOD_FAILED_BAD_FLAGS);
    }
    fm.match_ = decode_oxm_match(r)?;
    fm.ofpacts = decode_instructions(r.rest(), version)?;
    Ok(fm)
}

/// Command, table id (with the NX table-id extension) and flags of an
/// OF1.0-style flow_mod (OFPT_FLOW_MOD 1.0, NXT_FLOW_MOD). In OpenFlow
/// 1.0/1.1 "add" always resets the counters (a replaced flow starts from
/// zero) and no other command does: the rule gets OFPFF_RESET_COUNTS as in
/// OVS (shown by an OF1.3 dump as `reset_counts`).
fn set_command10(
    fm: &mut FlowMod,
    command: u16,
    version: u8,
    opts: &CodecOptions,
) -> Result<(), OfpError> {
    fm.command =
        FlowModCommand::from_wire(command as u8).ok_or(OfpError::FLOW_MOD_FAILED_BAD_COMMAND)?;
    fm.table_id = if opts.flow_mod_table_id {
        (command >> 8) as u8
    } else {
        OFPTT_ALL
    };
    if fm.flags & !3 != 0 {
        return Err(OfpError::FLOW_MOD_FAILED_BAD_FLAGS);
    }
    if version <= 2 && fm.command == FlowModCommand::Add {
        fm.flags |= OFPFF_RESET_COUNTS;
    }
    Ok(())
}

fn command10(fm: &FlowMod, opts: &CodecOptions) -> u16 {
    let table = if opts.flow_mod_table_id {
        u16::from(fm.table_id) << 8
    } else {
        0
    };
    table | u16::from(fm.command.to_wire())
}

fn ctx_for(version: u8, m: &Match) -> ActCtx {
    ActCtx::for_match(version, m)
}

fn encode_flow_mod(fm: &FlowMod, version: u8, opts: &CodecOptions, out: &mut Vec<u8>) {
    let ctx = ctx_for(version, &fm.match_);
    if version == OFP10 {
        encode_of10_match(&fm.match_, out);
        out.u64(fm.cookie);
        out.u16(command10(fm, opts));
        out.u16(fm.idle_timeout);
        out.u16(fm.hard_timeout);
        out.u16(fm.priority);
        out.u32(fm.buffer_id);
        out.u16(fm.out_port);
        out.u16(fm.flags & 3);
        encode_actions(&fm.ofpacts, ctx, out);
        return;
    }
    out.u64(fm.cookie);
    out.u64(fm.cookie_mask);
    out.u8(fm.table_id);
    out.u8(fm.command.to_wire());
    out.u16(fm.idle_timeout);
    out.u16(fm.hard_timeout);
    out.u16(fm.priority);
    out.u32(fm.buffer_id);
    out.u32(port_to_ofp11(fm.out_port));
    out.u32(fm.out_group);
    out.u16(fm.flags);
    out.u16(if version >= 5 { fm.importance } else { 0 });
    encode_oxm_match(&fm.match_, version, out);
    encode_instructions(&fm.ofpacts, ctx, out);
}

fn decode_nx_flow_mod(r: &mut Rd, version: u8, opts: &CodecOptions) -> Result<FlowMod, OfpError> {
    let mut fm = FlowMod {
        cookie: r.u64()?,
        ..FlowMod::default()
    };
    let command = r.u16()?;
    fm.idle_timeout = r.u16()?;
    fm.hard_timeout = r.u16()?;
    fm.priority = r.u16()?;
    fm.buffer_id = r.u32()?;
    fm.out_port = r.u16()?;
    fm.flags = r.u16()?;
    let match_len = usize::from(r.u16()?);
    r.skip(6)?;
    set_command10(&mut fm, command, version, opts)?;
    fm.match_ = decode_nxm_padded(r, match_len)?;
    fm.ofpacts = decode_actions(r.rest(), OFP10)?;
    Ok(fm)
}

fn encode_nx_flow_mod(fm: &FlowMod, opts: &CodecOptions, out: &mut Vec<u8>) {
    out.u64(fm.cookie);
    out.u16(command10(fm, opts));
    out.u16(fm.idle_timeout);
    out.u16(fm.hard_timeout);
    out.u16(fm.priority);
    out.u32(fm.buffer_id);
    out.u16(fm.out_port);
    out.u16(fm.flags & 3);
    let at = out.len();
    out.u16(0);
    out.zeros(6);
    let n = encode_nxm_padded(&fm.match_, out);
    out.set_u16(at, n);
    encode_actions(&fm.ofpacts, ctx_for(OFP10, &fm.match_), out);
}

// ---- packet-in / packet-out / flow-removed ----

fn in_port_match(port: u16) -> Match {
    let mut m = Match::catchall();
    m.set(crate::mf::Field::InPort, port.into());
    m
}

fn decode_packet_in(r: &mut Rd, version: u8) -> Result<PacketIn, OfpError> {
    let mut p = PacketIn {
        buffer_id: r.u32()?,
        total_len: u32::from(r.u16()?),
        ..PacketIn::default()
    };
    if version == OFP10 {
        p.metadata = in_port_match(r.u16()?);
        p.reason = r.u8()?;
        r.skip(1)?;
        p.cookie = u64::MAX;
    } else {
        p.reason = r.u8()?;
        p.table_id = r.u8()?;
        p.cookie = r.u64()?;
        p.metadata = decode_oxm_match(r)?;
        r.skip(2)?;
    }
    p.data = r.rest().to_vec();
    Ok(p)
}

fn encode_packet_in(p: &PacketIn, version: u8, out: &mut Vec<u8>) {
    out.u32(p.buffer_id);
    out.u16(p.total_len.min(0xffff) as u16);
    if version == OFP10 {
        out.u16(p.metadata.flow.in_port());
        out.u8(p.reason);
        out.u8(0);
    } else {
        out.u8(p.reason);
        out.u8(p.table_id);
        out.u64(p.cookie);
        encode_oxm_match(&p.metadata, version, out);
        out.u16(0);
    }
    out.extend_from_slice(&p.data);
}

fn put_prop(out: &mut Vec<u8>, type_: u16, body: &[u8]) {
    let s = out.len();
    out.u16(type_);
    out.u16((4 + body.len()) as u16);
    out.extend_from_slice(body);
    out.pad8_from(s);
}

fn decode_packet_in2(r: &mut Rd) -> Result<PacketIn, OfpError> {
    let mut p = PacketIn {
        buffer_id: NO_BUFFER,
        cookie: u64::MAX,
        ..PacketIn::default()
    };
    let mut full_len = None;
    while !r.is_empty() {
        let (t, mut b) = r.property()?;
        match t {
            0 => p.data = b.rest().to_vec(),
            1 => full_len = Some(b.u32()?),
            2 => p.buffer_id = b.u32()?,
            3 => p.table_id = b.u8()?,
            4 => {
                b.skip(4)?;
                p.cookie = b.u64()?;
            }
            5 => p.reason = b.u8()?,
            6 => p.metadata = decode_tlvs(b.rest())?,
            7 => p.userdata = Some(b.rest().to_vec()),
            _ => {}
        }
    }
    p.total_len = full_len.unwrap_or(p.data.len() as u32);
    Ok(p)
}

fn encode_packet_in2(p: &PacketIn, out: &mut Vec<u8>) {
    put_prop(out, 0, &p.data);
    if p.total_len as usize != p.data.len() {
        put_prop(out, 1, &p.total_len.to_be_bytes());
    }
    if p.buffer_id != NO_BUFFER {
        put_prop(out, 2, &p.buffer_id.to_be_bytes());
    }
    put_prop(out, 3, &[p.table_id]);
    let mut c = vec![0u8; 4];
    c.u64(p.cookie);
    put_prop(out, 4, &c);
    put_prop(out, 5, &[p.reason]);
    let mut m = Vec::new();
    encode_tlvs(&p.metadata, MatchFormat::Oxm(4), &mut m);
    put_prop(out, 6, &m);
    if let Some(u) = &p.userdata {
        put_prop(out, 7, u);
    }
}

fn decode_packet_out(r: &mut Rd, version: u8) -> Result<PacketOut, OfpError> {
    let mut p = PacketOut {
        buffer_id: r.u32()?,
        ..PacketOut::default()
    };
    let actions_len;
    if version == OFP10 {
        p.in_port = r.u16()?;
        actions_len = usize::from(r.u16()?);
    } else if version >= 6 {
        actions_len = usize::from(r.u16()?);
        r.skip(2)?;
        let m = decode_oxm_match(r)?;
        p.in_port = m
            .exact(crate::mf::Field::InPort)
            .map(|v| v as u16)
            .unwrap_or(OFPP_CONTROLLER);
    } else {
        p.in_port = port_from_ofp11(r.u32()?).map_err(|_| OfpError::BAD_REQUEST_BAD_PORT)?;
        actions_len = usize::from(r.u16()?);
        r.skip(6)?;
    }
    let acts = r.take(actions_len)?;
    p.ofpacts = decode_actions(acts, version)?;
    p.data = r.rest().to_vec();
    Ok(p)
}

fn encode_packet_out(p: &PacketOut, version: u8, out: &mut Vec<u8>) {
    out.u32(p.buffer_id);
    let at;
    if version == OFP10 {
        out.u16(p.in_port);
        at = out.len();
        out.u16(0);
    } else if version >= 6 {
        at = out.len();
        out.u16(0);
        out.u16(0);
        encode_oxm_match(&in_port_match(p.in_port), version, out);
    } else {
        out.u32(port_to_ofp11(p.in_port));
        at = out.len();
        out.u16(0);
        out.zeros(6);
    }
    let s = out.len();
    encode_actions(
        &p.ofpacts,
        ActCtx {
            version,
            ip_proto: None,
            match_has_vlan: false,
        },
        out,
    );
    let n = (out.len() - s) as u16;
    out.set_u16(at, n);
    out.extend_from_slice(&p.data);
}

/// The 40 bytes every flow_removed but OpenFlow 1.5's shares (OF1.0
/// `ofp_flow_removed` after its match, OF1.3 `ofp_flow_removed` before its
/// match, NX `nx_flow_removed`): cookie, priority, reason, a table byte
/// (OF1.0: pad; NX: table + 1), duration, idle timeout, a u16 (OF1.0: pad;
/// OF1.3: hard timeout; NX: match_len), packet and byte counts. Returns the
/// flow_removed without table or hard timeout, the table byte and the u16.
fn decode_flow_removed_fixed(r: &mut Rd) -> Result<(FlowRemoved, u8, u16), OfpError> {
    let mut f = FlowRemoved {
        cookie: r.u64()?,
        priority: r.u16()?,
        reason: r.u8()?,
        ..FlowRemoved::default()
    };
    let table_byte = r.u8()?;
    f.duration_sec = r.u32()?;
    f.duration_nsec = r.u32()?;
    f.idle_timeout = r.u16()?;
    let word = r.u16()?;
    f.packet_count = r.u64()?;
    f.byte_count = r.u64()?;
    Ok((f, table_byte, word))
}

/// Writes the fixed part read by [`decode_flow_removed_fixed`]; returns the
/// offset of the u16 after the idle timeout (for a later patch).
fn encode_flow_removed_fixed(
    f: &FlowRemoved,
    table_byte: u8,
    word: u16,
    out: &mut Vec<u8>,
) -> usize {
    out.u64(f.cookie);
    out.u16(f.priority);
    out.u8(f.reason);
    out.u8(table_byte);
    out.u32(f.duration_sec);
    out.u32(f.duration_nsec);
    out.u16(f.idle_timeout);
    let at = out.len();
    out.u16(word);
    out.u64(f.packet_count);
    out.u64(f.byte_count);
    at
}

fn decode_flow_removed(r: &mut Rd, version: u8) -> Result<FlowRemoved, OfpError> {
    if version == OFP10 {
        let match_ = decode_of10_match(r)?;
        let (f, _, _) = decode_flow_removed_fixed(r)?;
        return Ok(FlowRemoved { match_, ..f });
    }
    if version >= OFP15 {
        // OpenFlow 1.5.1 §7.4.2: table, reason, priority, timeouts,
        // cookie, match, then the counters as OXS.
        let mut f = FlowRemoved {
            table_id: r.u8()?,
            reason: r.u8()?,
            priority: r.u16()?,
            idle_timeout: r.u16()?,
            hard_timeout: r.u16()?,
            cookie: r.u64()?,
            ..FlowRemoved::default()
        };
        f.match_ = decode_oxm_match(r)?;
        let st = decode_stats(r)?;
        (f.duration_sec, f.duration_nsec) = st.duration.unwrap_or_default();
        f.packet_count = st.packet_count.unwrap_or_default();
        f.byte_count = st.byte_count.unwrap_or_default();
        done(r)?;
        return Ok(f);
    }
    let (f, table_id, hard_timeout) = decode_flow_removed_fixed(r)?;
    let match_ = decode_oxm_match(r)?;
    Ok(FlowRemoved {
        table_id,
        hard_timeout,
        match_,
        ..f
    })
}

fn encode_flow_removed(f: &FlowRemoved, version: u8, out: &mut Vec<u8>) {
    if version == OFP10 {
        encode_of10_match(&f.match_, out);
        encode_flow_removed_fixed(f, 0, 0, out);
        return;
    }
    if version >= OFP15 {
        out.u8(f.table_id);
        out.u8(f.reason);
        out.u16(f.priority);
        out.u16(f.idle_timeout);
        out.u16(f.hard_timeout);
        out.u64(f.cookie);
        encode_oxm_match(&f.match_, version, out);
        let st = OxsStats {
            duration: Some((f.duration_sec, f.duration_nsec)),
            packet_count: Some(f.packet_count),
            byte_count: Some(f.byte_count),
            ..OxsStats::default()
        };
        encode_stats(&st, out);
        return;
    }
    encode_flow_removed_fixed(f, f.table_id, f.hard_timeout, out);
    encode_oxm_match(&f.match_, version, out);
}

/// NXT_FLOW_REMOVED body (OVS nicira-ext.h `nx_flow_removed`, 40 bytes
/// then the NXM match padded to 8): the shared fixed part with the table
/// id plus one (0 = unknown) and `match_len` in place of the hard timeout.
///
/// Errors: `OFPBRC_BAD_LEN` for a body shorter than 40 bytes or bytes after
/// the padded match; `OFPBMC_BAD_LEN` when `match_len` runs past the end.
fn decode_nx_flow_removed(r: &mut Rd) -> Result<FlowRemoved, OfpError> {
    let (f, table_byte, match_len) = decode_flow_removed_fixed(r)?;
    let match_ = decode_nxm_padded(r, usize::from(match_len))?;
    done(r)?;
    Ok(FlowRemoved {
        table_id: table_byte.checked_sub(1).unwrap_or(OFPTT_ALL),
        match_,
        ..f
    })
}

fn encode_nx_flow_removed(f: &FlowRemoved, out: &mut Vec<u8>) {
    let at = encode_flow_removed_fixed(f, f.table_id.wrapping_add(1), 0, out);
    let n = encode_nxm_padded(&f.match_, out);
    out.set_u16(at, n);
}

// ---- stats / multipart ----

fn decode_flow_stats_request(r: &mut Rd, version: u8) -> Result<FlowStatsRequest, OfpError> {
    let mut q = FlowStatsRequest::default();
    if version == OFP10 {
        q.match_ = decode_of10_match(r)?;
        q.table_id = r.u8()?;
        r.skip(1)?;
        q.out_port = r.u16()?;
    } else {
        q.table_id = r.u8()?;
        r.skip(3)?;
        q.out_port = port_from_ofp11(r.u32()?).map_err(|_| OfpError::BAD_REQUEST_BAD_PORT)?;
        q.out_group = r.u32()?;
        r.skip(4)?;
        q.cookie = r.u64()?;
        q.cookie_mask = r.u64()?;
        q.match_ = decode_oxm_match(r)?;
    }
    done(r)?;
    Ok(q)
}

fn encode_flow_stats_request(q: &FlowStatsRequest, version: u8, out: &mut Vec<u8>) {
    if version == OFP10 {
        encode_of10_match(&q.match_, out);
        out.u8(q.table_id);
        out.u8(0);
        out.u16(q.out_port);
    } else {
        out.u8(q.table_id);
        out.zeros(3);
        out.u32(port_to_ofp11(q.out_port));
        out.u32(q.out_group);
        out.zeros(4);
        out.u64(q.cookie);
        out.u64(q.cookie_mask);
        encode_oxm_match(&q.match_, version, out);
    }
}

fn decode_nx_flow_stats_request(r: &mut Rd) -> Result<FlowStatsRequest, OfpError> {
    let out_port = r.u16()?;
    let match_len = usize::from(r.u16()?);
    let table_id = r.u8()?;
    r.skip(3)?;
    let match_ = decode_nxm_padded(r, match_len)?;
    done(r)?;
    Ok(FlowStatsRequest {
        table_id,
        out_port,
        match_,
        ..FlowStatsRequest::default()
    })
}

fn encode_nx_flow_stats_request(q: &FlowStatsRequest, out: &mut Vec<u8>) {
    out.u16(q.out_port);
    let at = out.len();
    out.u16(0);
    out.u8(q.table_id);
    out.zeros(3);
    let n = encode_nxm_padded(&q.match_, out);
    out.set_u16(at, n);
}

/// The 40 bytes shared by a flow stats entry of OF1.0 (after its match),
/// OF1.3/1.4 (`ofp_flow_stats`, before its match) and NXST_FLOW
/// (`nx_flow_stats`): duration, priority, idle and hard timeouts, three
/// version-specific u16s (OF1.0: pad; OF1.3+: flags, importance, pad; NX:
/// match_len, idle_age + 1, hard_age + 1), cookie, packet and byte counts.
/// Fills those fields of `s` and returns the three u16s.
fn decode_flow_stats_fixed(e: &mut Rd, s: &mut FlowStats) -> Result<[u16; 3], OfpError> {
    s.duration_sec = e.u32()?;
    s.duration_nsec = e.u32()?;
    s.priority = e.u16()?;
    s.idle_timeout = e.u16()?;
    s.hard_timeout = e.u16()?;
    let mid = [e.u16()?, e.u16()?, e.u16()?];
    s.cookie = e.u64()?;
    s.packet_count = e.u64()?;
    s.byte_count = e.u64()?;
    Ok(mid)
}

/// Writes the fixed part read by [`decode_flow_stats_fixed`] with `mid`
/// as the three version-specific u16s; returns the offset of the first.
fn encode_flow_stats_fixed(s: &FlowStats, mid: [u16; 3], out: &mut Vec<u8>) -> usize {
    out.u32(s.duration_sec);
    out.u32(s.duration_nsec);
    out.u16(s.priority);
    out.u16(s.idle_timeout);
    out.u16(s.hard_timeout);
    let at = out.len();
    for v in mid {
        out.u16(v);
    }
    out.u64(s.cookie);
    out.u64(s.packet_count);
    out.u64(s.byte_count);
    at
}

fn decode_flow_stats(r: &mut Rd, version: u8, nx: bool) -> Result<Vec<FlowStats>, OfpError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        let len = usize::from(r.peek_u16(0)?);
        let mut e = r.sub(len, bad_len())?;
        e.skip(2)?;
        if version >= OFP15 && !nx {
            e.skip(2)?; // ofp_flow_desc pad2
        }
        let mut s = FlowStats {
            table_id: e.u8()?,
            ..FlowStats::default()
        };
        e.skip(1)?;
        if nx {
            let [match_len, idle_age, hard_age] = decode_flow_stats_fixed(&mut e, &mut s)?;
            s.idle_age = idle_age.checked_sub(1);
            s.hard_age = hard_age.checked_sub(1);
            s.match_ = decode_nxm_padded(&mut e, usize::from(match_len))?;
            s.ofpacts = decode_actions(e.rest(), OFP10)?;
        } else if version == OFP10 {
            s.match_ = decode_of10_match(&mut e)?;
            decode_flow_stats_fixed(&mut e, &mut s)?;
            s.ofpacts = decode_actions(e.rest(), OFP10)?;
        } else if version >= OFP15 {
            // OpenFlow 1.5.1 §7.3.5.2 `ofp_flow_desc`: the counters follow
            // the match as OXS; idle_time gives the idle age.
            s.priority = e.u16()?;
            s.idle_timeout = e.u16()?;
            s.hard_timeout = e.u16()?;
            s.flags = e.u16()?;
            s.importance = e.u16()?;
            s.cookie = e.u64()?;
            s.match_ = decode_oxm_match(&mut e)?;
            let st = decode_stats(&mut e)?;
            (s.duration_sec, s.duration_nsec) = st.duration.unwrap_or_default();
            s.idle_age = st
                .idle_time
                .map(|(sec, _)| u16::try_from(sec).unwrap_or(u16::MAX));
            s.packet_count = st.packet_count.unwrap_or_default();
            s.byte_count = st.byte_count.unwrap_or_default();
            s.ofpacts = decode_instructions(e.rest(), version)?;
        } else {
            let [flags, importance, _] = decode_flow_stats_fixed(&mut e, &mut s)?;
            s.flags = flags;
            if version >= 5 {
                s.importance = importance;
            }
            s.match_ = decode_oxm_match(&mut e)?;
            s.ofpacts = decode_instructions(e.rest(), version)?;
        }
        v.push(s);
    }
    Ok(v)
}

fn encode_flow_stats(v: &[FlowStats], version: u8, nx: bool, out: &mut Vec<u8>) {
    for s in v {
        let start = out.len();
        out.u16(0);
        if version >= OFP15 && !nx {
            out.u16(0); // ofp_flow_desc pad2
        }
        out.u8(s.table_id);
        out.u8(0);
        let ctx = ctx_for(version, &s.match_);
        if nx {
            let age = |a: Option<u16>| a.map_or(0, |a| a.saturating_add(1));
            let at = encode_flow_stats_fixed(s, [0, age(s.idle_age), age(s.hard_age)], out);
            let n = encode_nxm_padded(&s.match_, out);
            out.set_u16(at, n);
            encode_actions(
                &s.ofpacts,
                ActCtx {
                    version: OFP10,
                    ..ctx
                },
                out,
            );
        } else if version == OFP10 {
            encode_of10_match(&s.match_, out);
            encode_flow_stats_fixed(s, [0; 3], out);
            encode_actions(&s.ofpacts, ctx, out);
        } else if version >= OFP15 {
            out.u16(s.priority);
            out.u16(s.idle_timeout);
            out.u16(s.hard_timeout);
            out.u16(s.flags);
            out.u16(s.importance);
            out.u64(s.cookie);
            encode_oxm_match(&s.match_, version, out);
            let st = OxsStats {
                duration: Some((s.duration_sec, s.duration_nsec)),
                idle_time: s.idle_age.map(|a| (u32::from(a), 0)),
                packet_count: Some(s.packet_count),
                byte_count: Some(s.byte_count),
                flow_count: None,
            };
            encode_stats(&st, out);
            encode_instructions(&s.ofpacts, ctx, out);
        } else {
            let importance = if version >= 5 { s.importance } else { 0 };
            encode_flow_stats_fixed(s, [s.flags, importance, 0], out);
            encode_oxm_match(&s.match_, version, out);
            encode_instructions(&s.ofpacts, ctx, out);
        }
        let len = (out.len() - start) as u16;
        out.set_u16(start, len);
    }
}

/// An aggregate reply body: fixed fields, or (`oxs`, OpenFlow 1.5.1
/// §7.3.5.3) one `ofp_stats`.
fn decode_aggregate(r: &mut Rd, oxs: bool) -> Result<AggregateStats, OfpError> {
    if oxs {
        let st = decode_stats(r)?;
        done(r)?;
        return Ok(AggregateStats {
            packet_count: st.packet_count.unwrap_or_default(),
            byte_count: st.byte_count.unwrap_or_default(),
            flow_count: st.flow_count.unwrap_or_default(),
        });
    }
    let a = AggregateStats {
        packet_count: r.u64()?,
        byte_count: r.u64()?,
        flow_count: r.u32()?,
    };
    r.skip(4)?;
    done(r)?;
    Ok(a)
}

fn encode_aggregate(a: &AggregateStats, oxs: bool, out: &mut Vec<u8>) {
    if oxs {
        let st = OxsStats {
            packet_count: Some(a.packet_count),
            byte_count: Some(a.byte_count),
            flow_count: Some(a.flow_count),
            ..OxsStats::default()
        };
        encode_stats(&st, out);
        return;
    }
    out.u64(a.packet_count);
    out.u64(a.byte_count);
    out.u32(a.flow_count);
    out.u32(0);
}

fn decode_port_no(r: &mut Rd, version: u8) -> Result<u16, OfpError> {
    if version == OFP10 {
        r.u16()
    } else {
        port_from_ofp11(r.u32()?).map_err(|_| OfpError::BAD_REQUEST_BAD_PORT)
    }
}

fn encode_port_no(p: u16, version: u8, out: &mut Vec<u8>) {
    if version == OFP10 {
        out.u16(p);
    } else {
        out.u32(port_to_ofp11(p));
    }
}

fn decode_table_features(r: &mut Rd) -> Result<Vec<TableFeatures>, OfpError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        let len = usize::from(r.peek_u16(0)?);
        if len < 64 {
            return Err(bad_len());
        }
        let mut e = r.sub(len, bad_len())?;
        e.skip(2)?;
        let mut t = TableFeatures {
            table_id: e.u8()?,
            ..TableFeatures::default()
        };
        e.skip(5)?;
        t.name = parse_str(e.take(32)?);
        t.metadata_match = e.u64()?;
        t.metadata_write = e.u64()?;
        t.config = e.u32()?;
        t.max_entries = e.u32()?;
        while !e.is_empty() {
            let (pt, mut body) = e.property()?;
            t.properties.push((pt, body.rest().to_vec()));
        }
        v.push(t);
    }
    Ok(v)
}

fn encode_table_features(v: &[TableFeatures], out: &mut Vec<u8>) {
    for t in v {
        let start = out.len();
        out.u16(0);
        out.u8(t.table_id);
        out.zeros(5);
        out.fixed_str(&t.name, 32);
        out.u64(t.metadata_match);
        out.u64(t.metadata_write);
        out.u32(t.config);
        out.u32(t.max_entries);
        for (pt, body) in &t.properties {
            put_prop(out, *pt, body);
        }
        let len = (out.len() - start) as u16;
        out.set_u16(start, len);
    }
}

fn decode_port_stats(r: &mut Rd, version: u8) -> Result<Vec<PortStats>, OfpError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        let mut s = PortStats::default();
        if version >= 5 {
            let len = usize::from(r.peek_u16(0)?);
            let mut e = r.sub(len, bad_len())?;
            e.skip(4)?;
            s.port_no = decode_port_no(&mut e, version)?;
            s.duration_sec = e.u32()?;
            s.duration_nsec = e.u32()?;
            for x in [
                &mut s.rx_packets,
                &mut s.tx_packets,
                &mut s.rx_bytes,
                &mut s.tx_bytes,
                &mut s.rx_dropped,
                &mut s.tx_dropped,
                &mut s.rx_errors,
                &mut s.tx_errors,
            ] {
                *x = e.u64()?;
            }
            while !e.is_empty() {
                let (pt, mut b) = e.property()?;
                if pt == 0 && b.len() >= 36 {
                    b.skip(4)?;
                    s.rx_frame_err = b.u64()?;
                    s.rx_over_err = b.u64()?;
                    s.rx_crc_err = b.u64()?;
                    s.collisions = b.u64()?;
                }
            }
        } else {
            s.port_no = decode_port_no(r, version)?;
            r.skip(if version == OFP10 { 6 } else { 4 })?;
            for x in [
                &mut s.rx_packets,
                &mut s.tx_packets,
                &mut s.rx_bytes,
                &mut s.tx_bytes,
                &mut s.rx_dropped,
                &mut s.tx_dropped,
                &mut s.rx_errors,
                &mut s.tx_errors,
                &mut s.rx_frame_err,
                &mut s.rx_over_err,
                &mut s.rx_crc_err,
                &mut s.collisions,
            ] {
                *x = r.u64()?;
            }
            if version != OFP10 {
                s.duration_sec = r.u32()?;
                s.duration_nsec = r.u32()?;
            }
        }
        v.push(s);
    }
    Ok(v)
}

fn encode_port_stats(v: &[PortStats], version: u8, out: &mut Vec<u8>) {
    for s in v {
        if version >= 5 {
            out.u16(120);
            out.u16(0);
            encode_port_no(s.port_no, version, out);
            out.u32(s.duration_sec);
            out.u32(s.duration_nsec);
            for x in [
                s.rx_packets,
                s.tx_packets,
                s.rx_bytes,
                s.tx_bytes,
                s.rx_dropped,
                s.tx_dropped,
                s.rx_errors,
                s.tx_errors,
            ] {
                out.u64(x);
            }
            out.u16(0);
            out.u16(40);
            out.u32(0);
            for x in [s.rx_frame_err, s.rx_over_err, s.rx_crc_err, s.collisions] {
                out.u64(x);
            }
        } else {
            encode_port_no(s.port_no, version, out);
            out.zeros(if version == OFP10 { 6 } else { 4 });
            for x in [
                s.rx_packets,
                s.tx_packets,
                s.rx_bytes,
                s.tx_bytes,
                s.rx_dropped,
                s.tx_dropped,
                s.rx_errors,
                s.tx_errors,
                s.rx_frame_err,
                s.rx_over_err,
                s.rx_crc_err,
                s.collisions,
            ] {
                out.u64(x);
            }
            if version != OFP10 {
                out.u32(s.duration_sec);
                out.u32(s.duration_nsec);
            }
        }
    }
}

fn decode_queue_stats(r: &mut Rd, version: u8) -> Result<Vec<QueueStats>, OfpError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        let mut q = QueueStats::default();
        if version >= 5 {
            let len = usize::from(r.peek_u16(0)?);
            if len < 48 {
                return Err(bad_len());
            }
            let mut e = r.sub(len, bad_len())?;
            e.skip(8)?;
            q.port_no = decode_port_no(&mut e, version)?;
            q.queue_id = e.u32()?;
            q.tx_bytes = e.u64()?;
            q.tx_packets = e.u64()?;
            q.tx_errors = e.u64()?;
            q.duration_sec = e.u32()?;
            q.duration_nsec = e.u32()?;
        } else {
            q.port_no = decode_port_no(r, version)?;
            if version == OFP10 {
                r.skip(2)?;
            }
            q.queue_id = r.u32()?;
            q.tx_bytes = r.u64()?;
            q.tx_packets = r.u64()?;
            q.tx_errors = r.u64()?;
            if version != OFP10 {
                q.duration_sec = r.u32()?;
                q.duration_nsec = r.u32()?;
            }
        }
        v.push(q);
    }
    Ok(v)
}

fn encode_queue_stats(v: &[QueueStats], version: u8, out: &mut Vec<u8>) {
    for q in v {
        if version >= 5 {
            out.u16(48);
            out.zeros(6);
        }
        encode_port_no(q.port_no, version, out);
        if version == OFP10 {
            out.u16(0);
        }
        out.u32(q.queue_id);
        out.u64(q.tx_bytes);
        out.u64(q.tx_packets);
        out.u64(q.tx_errors);
        if version != OFP10 {
            out.u32(q.duration_sec);
            out.u32(q.duration_nsec);
        }
    }
}

fn decode_mp_request(r: &mut Rd, version: u8) -> Result<MultipartRequest, OfpError> {
    let type_ = r.u16()?;
    let flags = r.u16()?;
    if version != OFP10 {
        r.skip(4)?;
    }
    let body = match type_ {
        MP_DESC => MultipartRequestBody::Desc,
        MP_FLOW => MultipartRequestBody::Flow(decode_flow_stats_request(r, version)?),
        MP_AGGREGATE => MultipartRequestBody::Aggregate(decode_flow_stats_request(r, version)?),
        MP_TABLE => MultipartRequestBody::Table,
        MP_PORT => {
            let port_no = decode_port_no(r, version)?;
            r.skip(if version == OFP10 { 6 } else { 4 })?;
            MultipartRequestBody::PortStats { port_no }
        }
        MP_QUEUE => {
            let port_no = decode_port_no(r, version)?;
            if version == OFP10 {
                r.skip(2)?;
            }
            MultipartRequestBody::Queue {
                port_no,
                queue_id: r.u32()?,
            }
        }
        MP_PORT_DESC => {
            // OpenFlow 1.5 (§7.3.5.7) adds a body: port_no + 4 pad. The
            // port filter is not applied (every port is described).
            if version >= OFP15 && r.len() >= 8 {
                r.skip(8)?;
            }
            MultipartRequestBody::PortDesc
        }
        MP_GROUP if version != OFP10 => {
            let group_id = r.u32()?;
            r.skip(4)?;
            MultipartRequestBody::Group { group_id }
        }
        MP_GROUP_DESC if version != OFP10 => MultipartRequestBody::GroupDesc,
        MP_GROUP_FEATURES if version != OFP10 => MultipartRequestBody::GroupFeatures,
        MP_METER | MP_METER_CONFIG if version != OFP10 => {
            let meter_id = r.u32()?;
            r.skip(4)?;
            if type_ == MP_METER {
                MultipartRequestBody::Meter { meter_id }
            } else {
                MultipartRequestBody::MeterConfig { meter_id }
            }
        }
        MP_METER_FEATURES if version != OFP10 => MultipartRequestBody::MeterFeatures,
        MP_TABLE_FEATURES if version != OFP10 => {
            MultipartRequestBody::TableFeatures(decode_table_features(r)?)
        }
        MP_TABLE_DESC if version >= 5 => MultipartRequestBody::TableDesc,
        MP_VENDOR => {
            let vendor = r.u32()?;
            if vendor != NX_VENDOR_ID {
                return Err(OfpError::BAD_REQUEST_BAD_EXPERIMENTER);
            }
            let subtype = r.u32()?;
            if version == OFP10 {
                r.skip(4)?;
            }
            match subtype {
                NXST_FLOW => MultipartRequestBody::NxFlow(decode_nx_flow_stats_request(r)?),
                NXST_AGGREGATE => {
                    MultipartRequestBody::NxAggregate(decode_nx_flow_stats_request(r)?)
                }
                _ => return Err(OfpError::BAD_REQUEST_BAD_EXP_TYPE),
            }
        }
        _ => return Err(OfpError::BAD_REQUEST_BAD_MULTIPART),
    };
    done(r)?;
    Ok(MultipartRequest { flags, body })
}

fn nx_stats_header(out: &mut Vec<u8>, version: u8, subtype: u32) {
    out.u32(NX_VENDOR_ID);
    out.u32(subtype);
    if version == OFP10 {
        out.u32(0);
    }
}

fn encode_mp_request(q: &MultipartRequest, version: u8, out: &mut Vec<u8>) {
    use MultipartRequestBody as B;
    let type_ = match &q.body {
        B::Desc => MP_DESC,
        B::Flow(_) => MP_FLOW,
        B::Aggregate(_) => MP_AGGREGATE,
        B::Table => MP_TABLE,
        B::PortStats { .. } => MP_PORT,
        B::Queue { .. } => MP_QUEUE,
        B::Group { .. } => MP_GROUP,
        B::GroupDesc => MP_GROUP_DESC,
        B::GroupFeatures => MP_GROUP_FEATURES,
        B::Meter { .. } => MP_METER,
        B::MeterConfig { .. } => MP_METER_CONFIG,
        B::MeterFeatures => MP_METER_FEATURES,
        B::TableFeatures(_) => MP_TABLE_FEATURES,
        B::PortDesc => MP_PORT_DESC,
        B::TableDesc => MP_TABLE_DESC,
        B::NxFlow(_) | B::NxAggregate(_) => MP_VENDOR,
    };
    out.u16(type_);
    out.u16(q.flags);
    if version != OFP10 {
        out.u32(0);
    }
    match &q.body {
        B::Flow(f) | B::Aggregate(f) => encode_flow_stats_request(f, version, out),
        B::PortStats { port_no } => {
            encode_port_no(*port_no, version, out);
            out.zeros(if version == OFP10 { 6 } else { 4 });
        }
        B::Queue { port_no, queue_id } => {
            encode_port_no(*port_no, version, out);
            if version == OFP10 {
                out.u16(0);
            }
            out.u32(*queue_id);
        }
        B::Group { group_id: id } | B::Meter { meter_id: id } | B::MeterConfig { meter_id: id } => {
            out.u32(*id);
            out.u32(0);
        }
        B::TableFeatures(v) => encode_table_features(v, out),
        // OpenFlow 1.5's body: every port (OFPP_ANY), 4 pad.
        B::PortDesc if version >= OFP15 => {
            out.u32(0xffff_ffff);
            out.u32(0);
        }
        B::NxFlow(f) => {
            nx_stats_header(out, version, NXST_FLOW);
            encode_nx_flow_stats_request(f, out);
        }
        B::NxAggregate(f) => {
            nx_stats_header(out, version, NXST_AGGREGATE);
            encode_nx_flow_stats_request(f, out);
        }
        _ => {}
    }
}

fn decode_mp_reply(r: &mut Rd, version: u8) -> Result<MultipartReply, OfpError> {
    let type_ = r.u16()?;
    let flags = r.u16()?;
    if version != OFP10 {
        r.skip(4)?;
    }
    let body = match type_ {
        MP_DESC => {
            let d = DescStats {
                mfr_desc: parse_str(r.take(256)?),
                hw_desc: parse_str(r.take(256)?),
                sw_desc: parse_str(r.take(256)?),
                serial_num: parse_str(r.take(32)?),
                dp_desc: parse_str(r.take(256)?),
            };
            MultipartReplyBody::Desc(d)
        }
        MP_FLOW => MultipartReplyBody::Flow(decode_flow_stats(r, version, false)?),
        MP_AGGREGATE => MultipartReplyBody::Aggregate(decode_aggregate(r, version >= OFP15)?),
        MP_TABLE => {
            let mut v = Vec::new();
            while !r.is_empty() {
                let mut t = TableStats {
                    table_id: r.u8()?,
                    ..TableStats::default()
                };
                r.skip(3)?;
                if version == OFP10 {
                    t.name = parse_str(r.take(32)?);
                    t.wildcards = r.u32()?;
                    t.max_entries = r.u32()?;
                }
                t.active_count = r.u32()?;
                t.lookup_count = r.u64()?;
                t.matched_count = r.u64()?;
                v.push(t);
            }
            MultipartReplyBody::Table(v)
        }
        MP_PORT => MultipartReplyBody::PortStats(decode_port_stats(r, version)?),
        MP_QUEUE => MultipartReplyBody::Queue(decode_queue_stats(r, version)?),
        MP_PORT_DESC => {
            let mut v = Vec::new();
            while !r.is_empty() {
                v.push(decode_port(r, version)?);
            }
            MultipartReplyBody::PortDesc(v)
        }
        MP_TABLE_FEATURES if version != OFP10 => {
            MultipartReplyBody::TableFeatures(decode_table_features(r)?)
        }
        MP_TABLE_DESC if version >= 5 => MultipartReplyBody::TableDesc(decode_table_descs(r)?),
        MP_GROUP..=MP_METER_FEATURES if version != OFP10 => {
            r.rest();
            MultipartReplyBody::Empty(type_)
        }
        MP_VENDOR => {
            if r.u32()? != NX_VENDOR_ID {
                return Err(OfpError::BAD_REQUEST_BAD_EXPERIMENTER);
            }
            let subtype = r.u32()?;
            if version == OFP10 {
                r.skip(4)?;
            }
            match subtype {
                NXST_FLOW => MultipartReplyBody::NxFlow(decode_flow_stats(r, version, true)?),
                NXST_AGGREGATE => MultipartReplyBody::NxAggregate(decode_aggregate(r, false)?),
                _ => return Err(OfpError::BAD_REQUEST_BAD_EXP_TYPE),
            }
        }
        _ => return Err(OfpError::BAD_REQUEST_BAD_MULTIPART),
    };
    done(r)?;
    Ok(MultipartReply { flags, body })
}

fn encode_mp_reply(q: &MultipartReply, version: u8, out: &mut Vec<u8>) {
    use MultipartReplyBody as B;
    let type_ = match &q.body {
        B::Desc(_) => MP_DESC,
        B::Flow(_) => MP_FLOW,
        B::Aggregate(_) => MP_AGGREGATE,
        B::Table(_) => MP_TABLE,
        B::PortStats(_) => MP_PORT,
        B::Queue(_) => MP_QUEUE,
        B::PortDesc(_) => MP_PORT_DESC,
        B::TableFeatures(_) => MP_TABLE_FEATURES,
        B::TableDesc(_) => MP_TABLE_DESC,
        B::Empty(t) => *t,
        B::NxFlow(_) | B::NxAggregate(_) => MP_VENDOR,
    };
    out.u16(type_);
    out.u16(q.flags);
    if version != OFP10 {
        out.u32(0);
    }
    match &q.body {
        B::Desc(d) => {
            out.fixed_str(&d.mfr_desc, 256);
            out.fixed_str(&d.hw_desc, 256);
            out.fixed_str(&d.sw_desc, 256);
            out.fixed_str(&d.serial_num, 32);
            out.fixed_str(&d.dp_desc, 256);
        }
        B::Flow(v) => encode_flow_stats(v, version, false, out),
        B::Aggregate(a) => encode_aggregate(a, version >= OFP15, out),
        B::Table(v) => {
            for t in v {
                out.u8(t.table_id);
                out.zeros(3);
                if version == OFP10 {
                    out.fixed_str(&t.name, 32);
                    out.u32(t.wildcards);
                    out.u32(t.max_entries);
                }
                out.u32(t.active_count);
                out.u64(t.lookup_count);
                out.u64(t.matched_count);
            }
        }
        B::PortStats(v) => encode_port_stats(v, version, out),
        B::Queue(v) => encode_queue_stats(v, version, out),
        B::PortDesc(v) => {
            for p in v {
                encode_port(p, version, out);
            }
        }
        B::TableFeatures(v) => encode_table_features(v, out),
        B::TableDesc(v) => {
            for d in v {
                let start = out.len();
                out.u16(0);
                out.u8(d.table_id);
                out.u8(0);
                out.u32(d.config);
                encode_table_props(d.eviction_flags, d.vacancy, out);
                let len = (out.len() - start) as u16;
                out.set_u16(start, len);
            }
        }
        B::Empty(_) => {}
        B::NxFlow(v) => {
            nx_stats_header(out, version, NXST_FLOW);
            encode_flow_stats(v, version, true, out);
        }
        B::NxAggregate(a) => {
            nx_stats_header(out, version, NXST_AGGREGATE);
            encode_aggregate(a, false, out);
        }
    }
}

// ---- top level ----

fn decode_hello(r: &mut Rd) -> Result<Hello, OfpError> {
    let mut h = Hello::default();
    while r.len() >= 4 {
        let t = r.u16()?;
        let l = usize::from(r.u16()?);
        if l < 4 {
            return Err(bad_len());
        }
        if l - 4 > r.len() {
            return Err(bad_len());
        }
        let all = r.take((round8(l) - 4).min(r.len()))?;
        if t == 1 && l >= 8 {
            let b = &all[..4];
            h.version_bitmap = Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        }
    }
    Ok(h)
}

fn decode_error(r: &mut Rd, version: u8) -> Result<ErrorMsg, OfpError> {
    let t = r.u16()?;
    let c = r.u16()?;
    let error = if version <= 2 && t == NXET_VENDOR {
        let _vendor = r.u32()?;
        let (nt, nc) = (r.u16()?, r.u16()?);
        crate::error::OfpError::from_nx_vendor(nt, nc).unwrap_or(OfpError {
            type_: nt,
            code: nc,
        })
    } else if t == OFPET12_EXPERIMENTER {
        let exp = r.u32()?;
        if exp == crate::error::ONF_VENDOR_ID && (2300..2316).contains(&c) {
            OfpError {
                type_: 17,
                code: c - 2300,
            }
        } else {
            OfpError { type_: t, code: c }
        }
    } else {
        OfpError::from_wire(version, t, c)
    };
    Ok(ErrorMsg {
        error,
        data: r.rest().to_vec(),
    })
}

fn encode_error(e: &ErrorMsg, version: u8, out: &mut Vec<u8>) {
    match e.error.to_wire(version) {
        WireError::Standard { type_, code } => {
            out.u16(type_);
            out.u16(code);
        }
        WireError::NxVendor { type_, code } => {
            out.u16(NXET_VENDOR);
            out.u16(0);
            out.u32(NX_VENDOR_ID);
            out.u16(type_);
            out.u16(code);
        }
        WireError::Experimenter {
            exp_code,
            experimenter,
        } => {
            out.u16(OFPET12_EXPERIMENTER);
            out.u16(exp_code);
            out.u32(experimenter);
        }
    }
    out.extend_from_slice(&e.data);
}

fn decode_async(r: &mut Rd, version: u8) -> Result<AsyncConfig, OfpError> {
    let mut a = AsyncConfig::default();
    if version >= 5 {
        while !r.is_empty() {
            let t = r.u16()?;
            let l = usize::from(r.u16()?);
            if l != 8 {
                return Err(OfpError::BAD_PROPERTY_BAD_LEN);
            }
            let v = r.u32()?;
            // OFPACPT_*: even = slave, odd = master.
            let idx = if t % 2 == 1 { 0 } else { 1 };
            match t {
                0 | 1 => a.packet_in_mask[idx] = v,
                2 | 3 => a.port_status_mask[idx] = v,
                4 | 5 => a.flow_removed_mask[idx] = v,
                _ => {}
            }
        }
        return Ok(a);
    }
    for m in [
        &mut a.packet_in_mask,
        &mut a.port_status_mask,
        &mut a.flow_removed_mask,
    ] {
        m[0] = r.u32()?;
        m[1] = r.u32()?;
    }
    done(r)?;
    Ok(a)
}

fn encode_async(a: &AsyncConfig, version: u8, out: &mut Vec<u8>) {
    if version >= 5 {
        for (t, v) in [
            (0u16, a.packet_in_mask[1]),
            (1, a.packet_in_mask[0]),
            (2, a.port_status_mask[1]),
            (3, a.port_status_mask[0]),
            (4, a.flow_removed_mask[1]),
            (5, a.flow_removed_mask[0]),
        ] {
            out.u16(t);
            out.u16(8);
            out.u32(v);
        }
        return;
    }
    for m in [a.packet_in_mask, a.port_status_mask, a.flow_removed_mask] {
        out.u32(m[0]);
        out.u32(m[1]);
    }
}

fn decode_vendor(r: &mut Rd, version: u8, opts: &CodecOptions) -> Result<OfpMessage, OfpError> {
    let vendor = r.u32()?;
    if vendor == ONF_VENDOR_ID {
        return decode_onf(r, version);
    }
    if vendor != NX_VENDOR_ID {
        return Err(OfpError::BAD_REQUEST_BAD_EXPERIMENTER);
    }
    let subtype = r.u32()?;
    let m = match subtype {
        NXT_SET_FLOW_FORMAT => {
            let f = r.u32()?;
            if f != NXFF_OPENFLOW10 && f != NXFF_NXM {
                return Err(OfpError::BAD_REQUEST_EPERM);
            }
            OfpMessage::NxSetFlowFormat(f)
        }
        NXT_FLOW_MOD_TABLE_ID => {
            let set = r.u8()?;
            r.skip(7)?;
            OfpMessage::NxFlowModTableId(set != 0)
        }
        NXT_SET_PACKET_IN_FORMAT => {
            let f = r.u32()?;
            if f > NXPIF_NXT_PACKET_IN2 {
                return Err(OfpError::BAD_REQUEST_EPERM);
            }
            OfpMessage::NxSetPacketInFormat(f)
        }
        NXT_FLOW_MOD => OfpMessage::NxFlowMod(decode_nx_flow_mod(r, version, opts)?),
        NXT_PACKET_IN2 => OfpMessage::NxPacketIn2(decode_packet_in2(r)?),
        NXT_FLOW_REMOVED => OfpMessage::NxFlowRemoved(decode_nx_flow_removed(r)?),
        NXT_ROLE_REQUEST => OfpMessage::NxRoleRequest(r.u32()?),
        NXT_ROLE_REPLY => OfpMessage::NxRoleReply(r.u32()?),
        _ => return Err(OfpError::BAD_REQUEST_BAD_EXP_TYPE),
    };
    done(r)?;
    Ok(m)
}

/// The message type byte for (`version`, message) and writes the body.
pub(super) fn encode_body(
    version: u8,
    msg: &OfpMessage,
    opts: &CodecOptions,
    out: &mut Vec<u8>,
) -> u8 {
    let of10 = version == OFP10;
    let nx = |out: &mut Vec<u8>, subtype: u32| {
        out.u32(NX_VENDOR_ID);
        out.u32(subtype);
        T_VENDOR
    };
    match msg {
        OfpMessage::Hello(h) => {
            if let Some(b) = h.version_bitmap {
                out.u16(1);
                out.u16(8);
                out.u32(b);
            }
            T_HELLO
        }
        OfpMessage::Error(e) => {
            encode_error(e, version, out);
            T_ERROR
        }
        OfpMessage::EchoRequest(d) => {
            out.extend_from_slice(d);
            T_ECHO_REQ
        }
        OfpMessage::EchoReply(d) => {
            out.extend_from_slice(d);
            T_ECHO_REP
        }
        OfpMessage::FeaturesRequest => T_FEAT_REQ,
        OfpMessage::FeaturesReply(f) => {
            out.u64(f.datapath_id);
            out.u32(f.n_buffers);
            out.u8(f.n_tables);
            if of10 {
                out.zeros(3);
                out.u32(f.capabilities);
                out.u32(f.actions);
                for p in &f.ports {
                    encode_port(p, version, out);
                }
            } else {
                out.u8(f.auxiliary_id);
                out.zeros(2);
                out.u32(f.capabilities);
                out.u32(0);
            }
            T_FEAT_REP
        }
        OfpMessage::GetConfigRequest => T_GET_CFG_REQ,
        OfpMessage::GetConfigReply(c) | OfpMessage::SetConfig(c) => {
            out.u16(c.flags);
            out.u16(c.miss_send_len);
            if matches!(msg, OfpMessage::SetConfig(_)) {
                T_SET_CFG
            } else {
                T_GET_CFG_REP
            }
        }
        OfpMessage::PacketIn(p) => {
            encode_packet_in(p, version, out);
            T_PKT_IN
        }
        OfpMessage::FlowRemoved(f) => {
            encode_flow_removed(f, version, out);
            T_FLOW_REM
        }
        OfpMessage::PortStatus(s) => {
            out.u8(s.reason);
            out.zeros(7);
            encode_port(&s.desc, version, out);
            T_PORT_STATUS
        }
        OfpMessage::PacketOut(p) => {
            encode_packet_out(p, version, out);
            T_PKT_OUT
        }
        OfpMessage::FlowMod(f) => {
            encode_flow_mod(f, version, opts, out);
            T_FLOW_MOD
        }
        OfpMessage::GroupMod(b) => {
            out.extend_from_slice(b);
            15
        }
        OfpMessage::MeterMod(b) => {
            out.extend_from_slice(b);
            29
        }
        OfpMessage::PortMod(p) => {
            if of10 {
                out.u16(p.port_no);
                out.extend_from_slice(&p.hw_addr);
                out.u32(p.config);
                out.u32(p.mask);
                out.u32(features_to10(p.advertise));
                out.u32(0);
                return 15;
            }
            out.u32(port_to_ofp11(p.port_no));
            out.u32(0);
            out.extend_from_slice(&p.hw_addr);
            out.u16(0);
            out.u32(p.config);
            out.u32(p.mask);
            if version >= 5 {
                out.u16(0);
                out.u16(8);
                out.u32(p.advertise);
            } else {
                out.u32(p.advertise);
                out.u32(0);
            }
            16
        }
        OfpMessage::MultipartRequest(q) => {
            encode_mp_request(q, version, out);
            if of10 {
                16
            } else {
                18
            }
        }
        OfpMessage::MultipartReply(q) => {
            encode_mp_reply(q, version, out);
            if of10 {
                17
            } else {
                19
            }
        }
        OfpMessage::BarrierRequest => {
            if of10 {
                18
            } else {
                20
            }
        }
        OfpMessage::BarrierReply => {
            if of10 {
                19
            } else {
                21
            }
        }
        OfpMessage::RoleRequest(r) | OfpMessage::RoleReply(r) => {
            out.u32(r.role);
            out.u32(0);
            out.u64(r.generation_id);
            if matches!(msg, OfpMessage::RoleRequest(_)) {
                24
            } else {
                25
            }
        }
        OfpMessage::GetAsyncRequest => 26,
        OfpMessage::GetAsyncReply(a) => {
            encode_async(a, version, out);
            27
        }
        OfpMessage::SetAsync(a) => {
            encode_async(a, version, out);
            28
        }
        OfpMessage::TableMod(tm) => {
            encode_table_mod(tm, version, out);
            OFPT_TABLE_MOD
        }
        OfpMessage::BundleControl(b) => {
            if version == OFP13 {
                out.u32(ONF_VENDOR_ID);
                out.u32(ONFT_BUNDLE_CONTROL);
                encode_bundle_ctrl(b, out);
                return T_VENDOR;
            }
            encode_bundle_ctrl(b, out);
            33
        }
        OfpMessage::BundleAdd(b) => {
            if version == OFP13 {
                out.u32(ONF_VENDOR_ID);
                out.u32(ONFT_BUNDLE_ADD_MESSAGE);
                encode_bundle_add(b, out);
                return T_VENDOR;
            }
            encode_bundle_add(b, out);
            34
        }
        OfpMessage::NxSetFlowFormat(f) => {
            let t = nx(out, NXT_SET_FLOW_FORMAT);
            out.u32(*f);
            t
        }
        OfpMessage::NxFlowModTableId(e) => {
            let t = nx(out, NXT_FLOW_MOD_TABLE_ID);
            out.u8(u8::from(*e));
            out.zeros(7);
            t
        }
        OfpMessage::NxSetPacketInFormat(f) => {
            let t = nx(out, NXT_SET_PACKET_IN_FORMAT);
            out.u32(*f);
            t
        }
        OfpMessage::NxFlowMod(f) => {
            let t = nx(out, NXT_FLOW_MOD);
            encode_nx_flow_mod(f, opts, out);
            t
        }
        OfpMessage::NxPacketIn2(p) => {
            let t = nx(out, NXT_PACKET_IN2);
            encode_packet_in2(p, out);
            t
        }
        OfpMessage::NxFlowRemoved(f) => {
            let t = nx(out, NXT_FLOW_REMOVED);
            encode_nx_flow_removed(f, out);
            t
        }
        OfpMessage::NxRoleRequest(role) | OfpMessage::NxRoleReply(role) => {
            let subtype = if matches!(msg, OfpMessage::NxRoleRequest(_)) {
                NXT_ROLE_REQUEST
            } else {
                NXT_ROLE_REPLY
            };
            let t = nx(out, subtype);
            out.u32(*role);
            t
        }
    }
}

pub(super) fn decode_body(
    h: &OfpHeader,
    mut r: Rd,
    opts: &CodecOptions,
) -> Result<OfpMessage, OfpError> {
    let v = h.version;
    let of10 = v == OFP10;
    let r = &mut r;
    let m = match h.type_ {
        T_HELLO => return Ok(OfpMessage::Hello(decode_hello(r)?)),
        T_ERROR => return Ok(OfpMessage::Error(decode_error(r, v)?)),
        T_ECHO_REQ => return Ok(OfpMessage::EchoRequest(r.rest().to_vec())),
        T_ECHO_REP => return Ok(OfpMessage::EchoReply(r.rest().to_vec())),
        T_VENDOR => return decode_vendor(r, v, opts),
        T_FEAT_REQ => OfpMessage::FeaturesRequest,
        T_FEAT_REP => {
            let mut f = FeaturesReply {
                datapath_id: r.u64()?,
                n_buffers: r.u32()?,
                n_tables: r.u8()?,
                ..Default::default()
            };
            if of10 {
                r.skip(3)?;
                f.capabilities = r.u32()?;
                f.actions = r.u32()?;
                while !r.is_empty() {
                    f.ports.push(decode_port(r, v)?);
                }
            } else {
                f.auxiliary_id = r.u8()?;
                r.skip(2)?;
                f.capabilities = r.u32()?;
                r.skip(4)?;
            }
            OfpMessage::FeaturesReply(f)
        }
        T_GET_CFG_REQ => OfpMessage::GetConfigRequest,
        T_GET_CFG_REP | T_SET_CFG => {
            let c = SwitchConfig {
                flags: r.u16()?,
                miss_send_len: r.u16()?,
            };
            if h.type_ == T_SET_CFG {
                OfpMessage::SetConfig(c)
            } else {
                OfpMessage::GetConfigReply(c)
            }
        }
        T_PKT_IN => return Ok(OfpMessage::PacketIn(decode_packet_in(r, v)?)),
        T_FLOW_REM => OfpMessage::FlowRemoved(decode_flow_removed(r, v)?),
        T_PORT_STATUS => {
            let reason = r.u8()?;
            r.skip(7)?;
            OfpMessage::PortStatus(PortStatus {
                reason,
                desc: decode_port(r, v)?,
            })
        }
        T_PKT_OUT => return Ok(OfpMessage::PacketOut(decode_packet_out(r, v)?)),
        T_FLOW_MOD => return Ok(OfpMessage::FlowMod(decode_flow_mod(r, v, opts)?)),
        15 if of10 => OfpMessage::PortMod(decode_port_mod(r, v)?),
        16 if of10 => OfpMessage::MultipartRequest(decode_mp_request(r, v)?),
        17 if of10 => OfpMessage::MultipartReply(decode_mp_reply(r, v)?),
        18 if of10 => OfpMessage::BarrierRequest,
        19 if of10 => OfpMessage::BarrierReply,
        _ if of10 => return Err(OfpError::BAD_REQUEST_BAD_TYPE),
        15 => return Ok(OfpMessage::GroupMod(r.rest().to_vec())),
        16 => OfpMessage::PortMod(decode_port_mod(r, v)?),
        OFPT_TABLE_MOD => OfpMessage::TableMod(decode_table_mod(r, v)?),
        18 => OfpMessage::MultipartRequest(decode_mp_request(r, v)?),
        19 => OfpMessage::MultipartReply(decode_mp_reply(r, v)?),
        20 => OfpMessage::BarrierRequest,
        21 => OfpMessage::BarrierReply,
        24 | 25 => {
            let role = RoleMsg {
                role: r.u32()?,
                generation_id: {
                    r.skip(4)?;
                    r.u64()?
                },
            };
            if h.type_ == 24 {
                OfpMessage::RoleRequest(role)
            } else {
                OfpMessage::RoleReply(role)
            }
        }
        26 => OfpMessage::GetAsyncRequest,
        27 => OfpMessage::GetAsyncReply(decode_async(r, v)?),
        28 => OfpMessage::SetAsync(decode_async(r, v)?),
        29 => return Ok(OfpMessage::MeterMod(r.rest().to_vec())),
        33 if v >= 5 => OfpMessage::BundleControl(decode_bundle_ctrl(r)?),
        34 if v >= 5 => OfpMessage::BundleAdd(decode_bundle_add(r)?),
        _ => return Err(OfpError::BAD_REQUEST_BAD_TYPE),
    };
    done(r)?;
    Ok(m)
}

/// OFPT_TABLE_MOD body: table id, 3 pad, config (OpenFlow 1.3.5 §7.3.3,
/// exactly 8 bytes); in 1.4+ followed by properties (§7.3.3), of which
/// only OFPTMPT_EVICTION and OFPTMPT_VACANCY exist.
///
/// Errors (as OVS 3.1 `ofputil_decode_table_mod`): `OFPBRC_BAD_LEN` for a
/// short body or (1.3) trailing bytes; `OFPBPC_BAD_LEN` for a malformed
/// property or one of the wrong size; `OFPBRC_BAD_TYPE` for another
/// property type; `OFPBPC_BAD_VALUE` for vacancy thresholds over 100, down
/// above up, or a non-zero current vacancy.
fn decode_table_mod(r: &mut Rd, version: u8) -> Result<TableMod, OfpError> {
    let mut tm = TableMod {
        table_id: r.u8()?,
        ..TableMod::default()
    };
    r.skip(3)?;
    tm.config = r.u32()?;
    if version < 5 {
        done(r)?;
        return Ok(tm);
    }
    while !r.is_empty() {
        let t = r.u16()?;
        let l = usize::from(r.u16()?);
        if l < 4 {
            return Err(OfpError::BAD_PROPERTY_BAD_LEN);
        }
        let all = r
            .take(round8(l) - 4)
            .map_err(|_| OfpError::BAD_PROPERTY_BAD_LEN)?;
        let mut b = Rd::new(&all[..l - 4], OfpError::BAD_PROPERTY_BAD_LEN);
        match t {
            OFPTMPT_EVICTION if l == 8 => tm.eviction_flags = Some(b.u32()?),
            OFPTMPT_VACANCY if l == 8 => {
                let v = TableVacancy {
                    vacancy_down: b.u8()?,
                    vacancy_up: b.u8()?,
                    vacancy: b.u8()?,
                };
                if v.vacancy_down > v.vacancy_up || v.vacancy_up > 100 || v.vacancy != 0 {
                    return Err(OfpError::BAD_PROPERTY_BAD_VALUE);
                }
                tm.vacancy = Some(v);
            }
            OFPTMPT_EVICTION | OFPTMPT_VACANCY => return Err(OfpError::BAD_PROPERTY_BAD_LEN),
            _ => return Err(OfpError::BAD_REQUEST_BAD_TYPE),
        }
    }
    Ok(tm)
}

/// The eviction and vacancy properties shared by table_mod and table_desc.
fn encode_table_props(
    eviction_flags: Option<u32>,
    vacancy: Option<TableVacancy>,
    out: &mut Vec<u8>,
) {
    if let Some(f) = eviction_flags {
        put_prop(out, OFPTMPT_EVICTION, &f.to_be_bytes());
    }
    if let Some(v) = vacancy {
        put_prop(
            out,
            OFPTMPT_VACANCY,
            &[v.vacancy_down, v.vacancy_up, v.vacancy, 0],
        );
    }
}

fn encode_table_mod(tm: &TableMod, version: u8, out: &mut Vec<u8>) {
    out.u8(tm.table_id);
    out.zeros(3);
    out.u32(tm.config);
    if version >= 5 {
        encode_table_props(tm.eviction_flags, tm.vacancy, out);
    }
}

/// OFPMP_TABLE_DESC reply entries (`ofp_table_desc`: length, table id,
/// pad, config, properties). Unknown properties are skipped.
///
/// Errors: `OFPBRC_BAD_LEN` for an entry shorter than 8 bytes or running
/// past the end; `OFPBPC_BAD_LEN` for a malformed property.
fn decode_table_descs(r: &mut Rd) -> Result<Vec<TableDesc>, OfpError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        let len = usize::from(r.peek_u16(0)?);
        if len < 8 {
            return Err(bad_len());
        }
        let mut e = r.sub(len, bad_len())?;
        e.skip(2)?;
        let mut d = TableDesc {
            table_id: e.u8()?,
            ..TableDesc::default()
        };
        e.skip(1)?;
        d.config = e.u32()?;
        while !e.is_empty() {
            let (t, mut b) = e.property()?;
            match t {
                OFPTMPT_EVICTION => d.eviction_flags = Some(b.u32()?),
                OFPTMPT_VACANCY => {
                    d.vacancy = Some(TableVacancy {
                        vacancy_down: b.u8()?,
                        vacancy_up: b.u8()?,
                        vacancy: b.u8()?,
                    })
                }
                _ => {}
            }
        }
        v.push(d);
    }
    Ok(v)
}

/// OFPT_BUNDLE_CONTROL body (OpenFlow 1.4.1 §7.3.9.1; also the body of
/// ONFT_BUNDLE_CONTROL): bundle id, type, flags, properties (ignored).
///
/// Errors: `OFPBRC_BAD_LEN` if shorter than 8 bytes.
fn decode_bundle_ctrl(r: &mut Rd) -> Result<BundleCtrl, OfpError> {
    let b = BundleCtrl {
        bundle_id: r.u32()?,
        type_: r.u16()?,
        flags: r.u16()?,
    };
    r.rest(); // properties ignored
    Ok(b)
}

fn encode_bundle_ctrl(b: &BundleCtrl, out: &mut Vec<u8>) {
    out.u32(b.bundle_id);
    out.u16(b.type_);
    out.u16(b.flags);
}

/// OFPT_BUNDLE_ADD_MESSAGE body (OpenFlow 1.4.1 §7.3.9.6; also the body
/// of ONFT_BUNDLE_ADD_MESSAGE): bundle id, 2 pad, flags, the inner message
/// (whole, its own header gives its length), then padding and properties
/// (ignored).
///
/// Errors: `OFPBRC_BAD_LEN` if the fixed part is short;
/// `OFPBFC_MSG_BAD_LEN` if the inner message's length is below 8 or runs
/// past the end.
fn decode_bundle_add(r: &mut Rd) -> Result<BundleAdd, OfpError> {
    let bundle_id = r.u32()?;
    r.skip(2)?;
    let flags = r.u16()?;
    let inner_len = usize::from(
        r.peek_u16(2)
            .map_err(|_| OfpError::BUNDLE_FAILED_MSG_BAD_LEN)?,
    );
    if inner_len < OFP_HEADER_LEN {
        return Err(OfpError::BUNDLE_FAILED_MSG_BAD_LEN);
    }
    let message = r
        .take(inner_len)
        .map_err(|_| OfpError::BUNDLE_FAILED_MSG_BAD_LEN)?
        .to_vec();
    r.rest(); // padding and properties
    Ok(BundleAdd {
        bundle_id,
        flags,
        message,
    })
}

fn encode_bundle_add(b: &BundleAdd, out: &mut Vec<u8>) {
    out.u32(b.bundle_id);
    out.u16(0);
    out.u16(b.flags);
    out.extend_from_slice(&b.message);
}

/// ONF extensions (experimenter [`ONF_VENDOR_ID`]): the OpenFlow 1.4
/// bundles back-ported to OpenFlow 1.3 as ONFT_BUNDLE_CONTROL (2300) and
/// ONFT_BUNDLE_ADD_MESSAGE (2301) (ONF extension EXT-230; OVS
/// openflow-1.3.h), with the 1.4 bodies.
///
/// Errors: `OFPBRC_BAD_SUBTYPE` for another type or another version (as
/// OVS 3.1 answers), the body's errors.
fn decode_onf(r: &mut Rd, version: u8) -> Result<OfpMessage, OfpError> {
    let exp_type = r.u32()?;
    if version != OFP13 {
        return Err(OfpError::BAD_REQUEST_BAD_EXP_TYPE);
    }
    match exp_type {
        ONFT_BUNDLE_CONTROL => Ok(OfpMessage::BundleControl(decode_bundle_ctrl(r)?)),
        ONFT_BUNDLE_ADD_MESSAGE => Ok(OfpMessage::BundleAdd(decode_bundle_add(r)?)),
        _ => Err(OfpError::BAD_REQUEST_BAD_EXP_TYPE),
    }
}

fn decode_port_mod(r: &mut Rd, v: u8) -> Result<PortMod, OfpError> {
    let mut p = PortMod::default();
    if v == OFP10 {
        p.port_no = r.u16()?;
        p.hw_addr = r.arr()?;
        p.config = r.u32()?;
        p.mask = r.u32()?;
        p.advertise = features_from10(r.u32()?);
        r.skip(4)?;
        return Ok(p);
    }
    p.port_no = port_from_ofp11(r.u32()?).map_err(|_| OfpError::PORT_MOD_FAILED_BAD_PORT)?;
    r.skip(4)?;
    p.hw_addr = r.arr()?;
    r.skip(2)?;
    p.config = r.u32()?;
    p.mask = r.u32()?;
    if v >= 5 {
        while !r.is_empty() {
            let t = r.u16()?;
            let l = usize::from(r.u16()?);
            if l < 4 {
                return Err(OfpError::BAD_PROPERTY_BAD_LEN);
            }
            let mut b = r.sub(round8(l) - 4, OfpError::BAD_PROPERTY_BAD_LEN)?;
            if t == 0 && l >= 8 {
                p.advertise = b.u32()?;
            }
        }
    } else {
        p.advertise = r.u32()?;
        r.skip(4)?;
    }
    Ok(p)
}
