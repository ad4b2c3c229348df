//! Action and instruction encodings: OpenFlow 1.0 actions, OpenFlow 1.1+
//! actions inside instructions, and the Nicira extension actions
//! (NXAST_*) that ovs-ofctl uses in both.
//!
//! Each action is a TLV `type(16) len(16) body`, `len` a multiple of 8; a
//! Nicira action is type 0xffff with vendor 0x00002320 and a 16-bit subtype.
//! Encoding follows OVS's choices per version (e.g. `mod_tp_dst` is
//! OFPAT10_SET_TP_DST in 1.0 and a SET_FIELD of tcp/udp/sctp_dst in 1.3).

use super::buf::{Rd, Wr};
use super::matches::put_code;
use crate::actions::{OfpAct, OFPCML_NO_BUFFER, OFPR_ACTION};
use crate::error::{OfpError, NX_VENDOR_ID};
use crate::matching::consts::*;
use crate::mf::{low_bits, value_from_be, Field, MfBytes, MfCode, Subfield, OFPXMC_EXPERIMENTER};
use crate::port::*;

const NXAST_RESUBMIT: u16 = 1;
const NXAST_REG_MOVE: u16 = 6;
const NXAST_REG_LOAD: u16 = 7;
const NXAST_NOTE: u16 = 8;
const NXAST_RESUBMIT_TABLE: u16 = 14;
const NXAST_DEC_TTL: u16 = 18;
const NXAST_CONTROLLER: u16 = 20;
const NXAST_WRITE_METADATA: u16 = 22;
const NXAST_REG_LOAD2: u16 = 33;
const NXAST_SET_QUEUE: u16 = 4;
const NXAST_POP_QUEUE: u16 = 5;
const NXAST_EXIT: u16 = 17;
const NXAST_DEC_TTL_CNT_IDS: u16 = 21;
const NXAST_PUSH_MPLS: u16 = 23;
const NXAST_POP_MPLS: u16 = 24;
const NXAST_CONTROLLER2: u16 = 37;
const NXAST_OUTPUT_TRUNC: u16 = 39;
const NXAST_RESUBMIT_TABLE_CT: u16 = 44;

/// NXAST_CONTROLLER2 property types (OVS `enum nx_action_controller2_prop_type`).
const NXAC2PT_MAX_LEN: u16 = 0;
const NXAC2PT_CONTROLLER_ID: u16 = 1;
const NXAC2PT_REASON: u16 = 2;
const NXAC2PT_USERDATA: u16 = 3;
const NXAC2PT_PAUSE: u16 = 4;

/// Context for encoding: version, the rule's IP protocol (which L4 field
/// `mod_tp_src`/`mod_tp_dst` set in OF1.2+; TCP when unknown) and whether
/// the packet has a VLAN tag at this point (OF1.2+ `mod_vlan_vid` pushes
/// one first when not; [`encode_actions`] updates it as tags are pushed
/// and popped).
#[derive(Clone, Copy, Debug)]
pub struct ActCtx {
    /// Wire version.
    pub version: u8,
    /// `nw_proto` of the rule's match, if exact.
    pub ip_proto: Option<u8>,
    /// The match requires an 802.1Q tag (`vlan_tci` CFI bit matched as 1).
    pub match_has_vlan: bool,
}

impl ActCtx {
    /// The context for encoding the actions of a rule with match `m` as `version`.
    pub fn for_match(version: u8, m: &crate::matching::Match) -> ActCtx {
        ActCtx {
            version,
            ip_proto: m.exact(Field::IpProto).map(|v| v as u8),
            match_has_vlan: m.prereq_ok(crate::mf::Prereq::Vlan),
        }
    }

    /// Tracks whether a tag is present after `a` (OVS `ofpacts_check` flow_has_vlan).
    fn after(&mut self, a: &OfpAct) {
        match a {
            OfpAct::PushVlan(_) | OfpAct::SetVlanVid(_) | OfpAct::SetVlanPcp(_) => {
                self.match_has_vlan = true
            }
            OfpAct::StripVlan | OfpAct::PopVlan => self.match_has_vlan = false,
            _ => {}
        }
    }
}

fn bad_len() -> OfpError {
    OfpError::BAD_ACTION_BAD_LEN
}

fn check_out_port(port: u16) -> Result<(), OfpError> {
    if port < OFPP_MAX
        || matches!(
            port,
            OFPP_IN_PORT
                | OFPP_TABLE
                | OFPP_NORMAL
                | OFPP_FLOOD
                | OFPP_ALL
                | OFPP_CONTROLLER
                | OFPP_LOCAL
        )
    {
        Ok(())
    } else {
        Err(OfpError::BAD_ACTION_BAD_OUT_PORT)
    }
}

/// The NXM/OXM code and bit offset used on the wire for a subfield (fields
/// without their own code are written as bits of the field that holds them).
fn wire_subfield(sf: &Subfield) -> Option<(MfCode, u16)> {
    let (field, extra) = match sf.field {
        Field::DlVlan => (Field::VlanTci, 0),
        Field::DlVlanPcp | Field::VlanPcp => (Field::VlanTci, 13),
        Field::TpSrc => (Field::TcpSrc, 0),
        Field::TpDst => (Field::TcpDst, 0),
        f => (f, 0),
    };
    field.nxm_code().map(|c| (c, sf.ofs + extra))
}

fn header_of(code: MfCode) -> u32 {
    code.header(false)
}

fn subfield_from_header(header: u32, ofs: u16, n_bits: u16) -> Result<Subfield, OfpError> {
    let class = (header >> 16) as u16;
    let field = Field::from_code(class, ((header >> 9) & 0x7f) as u8, 0)
        .ok_or(OfpError::BAD_ACTION_BAD_SET_TYPE)?;
    if header & 0x100 != 0 {
        return Err(OfpError::BAD_ACTION_BAD_SET_TYPE);
    }
    Subfield::new(field, ofs, n_bits)
}

fn nx_header(out: &mut Vec<u8>, subtype: u16) -> usize {
    let start = out.len();
    out.u16(0xffff);
    out.u16(0);
    out.u32(NX_VENDOR_ID);
    out.u16(subtype);
    start
}

fn finish(out: &mut Vec<u8>, start: usize) {
    out.pad8_from(start);
    let len = (out.len() - start) as u16;
    out.set_u16(start + 2, len);
}

fn put_reg_load(out: &mut Vec<u8>, sf: &Subfield, value: u128) {
    let Some((code, ofs)) = wire_subfield(sf) else {
        return;
    };
    // NXAST_REG_LOAD carries at most 64 bits: split wider loads.
    let mut done = 0u16;
    while done < sf.n_bits {
        let n = (sf.n_bits - done).min(64);
        let s = nx_header(out, NXAST_REG_LOAD);
        out.u16(((ofs + done) << 6) | (n - 1));
        out.u32(header_of(code));
        out.u64(((value >> done) & low_bits(u32::from(n))) as u64);
        finish(out, s);
        done += n;
    }
}

fn put_reg_load2(out: &mut Vec<u8>, field: Field, value: u128, mask: u128, version: u8) {
    let code = if version <= 1 {
        field.nxm_code()
    } else {
        field.oxm_code(version)
    };
    let Some(code) = code else { return };
    let s = nx_header(out, NXAST_REG_LOAD2);
    put_code(out, code, true);
    let n = usize::from(code.len);
    out.extend_from_slice(MfBytes::new(value, n).as_ref());
    out.extend_from_slice(MfBytes::new(mask, n).as_ref());
    finish(out, s);
}

/// A set-field as NXAST_REG_LOAD actions, one per contiguous run of mask
/// bits (OVS `set_field_to_nxast`); NXAST_REG_LOAD2 for a field with no
/// NXM/OXM header usable in REG_LOAD.
fn put_set_field_nxast(out: &mut Vec<u8>, field: Field, value: u128, mask: u128, version: u8) {
    if field.nxm_code().is_none() {
        put_reg_load2(out, field, value, mask, version);
        return;
    }
    let mask = mask & low_bits(field.n_bits());
    let mut ofs = 0u32;
    while ofs < 128 {
        if (mask >> ofs) & 1 == 0 {
            ofs += 1;
            continue;
        }
        let n = (mask >> ofs).trailing_ones().min(128 - ofs);
        let sf = Subfield {
            field,
            ofs: ofs as u16,
            n_bits: n as u16,
        };
        put_reg_load(out, &sf, (value >> ofs) & low_bits(n));
        ofs += n;
    }
}

/// OF1.0 has no set-field: OVS `set_field_to_legacy_openflow` sends the
/// fields OF1.0 actions can set as those actions (masks are ignored, as
/// OVS does) and everything else as NXAST_REG_LOAD.
fn put_set_field_of10(out: &mut Vec<u8>, field: Field, value: u128, mask: u128) {
    let b = value.to_be_bytes();
    match field {
        Field::VlanTci if value & 0x1000 != 0 => {
            put_simple(out, 1, &((value as u16) & 0xfff).to_be_bytes());
            put_simple(out, 2, &[(value >> 13) as u8 & 7]);
        }
        Field::VlanTci => put_simple(out, 3, &[]),
        Field::VlanVid => put_simple(out, 1, &((value as u16) & 0xfff).to_be_bytes()),
        Field::VlanPcp => put_simple(out, 2, &[value as u8 & 7]),
        Field::EthSrc => put_simple(out, 4, &b[10..]),
        Field::EthDst => put_simple(out, 5, &b[10..]),
        Field::IpSrc => put_simple(out, 6, &b[12..]),
        Field::IpDst => put_simple(out, 7, &b[12..]),
        Field::NwTos => put_simple(out, 8, &[value as u8 & 0xfc]),
        Field::IpDscp => put_simple(out, 8, &[(value as u8) << 2]),
        Field::TcpSrc | Field::UdpSrc | Field::TpSrc => put_simple(out, 9, &b[14..]),
        Field::TcpDst | Field::UdpDst | Field::TpDst => put_simple(out, 10, &b[14..]),
        _ => put_set_field_nxast(out, field, value, mask, OFP10),
    }
}

fn put_set_field(out: &mut Vec<u8>, ctx: ActCtx, field: Field, value: u128, mask: u128) {
    let full = low_bits(field.n_bits());
    if ctx.version == OFP10 {
        put_set_field_of10(out, field, value, mask);
        return;
    }
    let Some(code) = field.oxm_code(ctx.version) else {
        return;
    };
    let masked = mask & full != full;
    if masked && ctx.version < 6 {
        put_set_field_nxast(out, field, value, mask, ctx.version);
        return;
    }
    let s = out.len();
    out.u16(25);
    out.u16(0);
    put_code(out, code, masked);
    let (v, n) = if field == Field::InPort && code.len == 4 {
        (u128::from(port_to_ofp11(value as u16)), 4)
    } else {
        (value, usize::from(code.len))
    };
    out.extend_from_slice(MfBytes::new(v, n).as_ref());
    if masked {
        out.extend_from_slice(MfBytes::new(mask, n).as_ref());
    }
    finish(out, s);
}

const OFP10: u8 = 1;

fn l4_fields(ip_proto: Option<u8>) -> (Field, Field) {
    match ip_proto {
        Some(IPPROTO_UDP) => (Field::UdpSrc, Field::UdpDst),
        Some(IPPROTO_SCTP) => (Field::SctpSrc, Field::SctpDst),
        _ => (Field::TcpSrc, Field::TcpDst),
    }
}

fn put_simple(out: &mut Vec<u8>, type_: u16, body: &[u8]) {
    let s = out.len();
    out.u16(type_);
    out.u16(0);
    out.extend_from_slice(body);
    finish(out, s);
}

/// Encodes one action (not an instruction) for `ctx.version`. Actions the
/// version cannot carry (OF1.0: group, meter, push_vlan — which OVS also
/// leaves implicit there) are omitted; see [`check_encodable`].
pub fn encode_action(a: &OfpAct, ctx: ActCtx, out: &mut Vec<u8>) {
    let of10 = ctx.version == OFP10;
    match a {
        OfpAct::Output { port, max_len } => {
            if of10 {
                put_simple(
                    out,
                    0,
                    &[
                        (port >> 8) as u8,
                        *port as u8,
                        (max_len >> 8) as u8,
                        *max_len as u8,
                    ],
                );
            } else {
                let mut b = Vec::with_capacity(12);
                b.u32(port_to_ofp11(*port));
                b.u16(*max_len);
                b.zeros(6);
                put_simple(out, 0, &b);
            }
        }
        OfpAct::Controller {
            max_len,
            reason,
            controller_id,
        } => {
            if *reason == OFPR_ACTION && *controller_id == 0 {
                encode_action(
                    &OfpAct::Output {
                        port: OFPP_CONTROLLER,
                        max_len: *max_len,
                    },
                    ctx,
                    out,
                );
            } else {
                let s = nx_header(out, NXAST_CONTROLLER);
                out.u16(*max_len);
                out.u16(*controller_id);
                out.u8(*reason);
                out.u8(0);
                finish(out, s);
            }
        }
        OfpAct::Enqueue { port, queue } => {
            if of10 {
                let mut b = Vec::with_capacity(12);
                b.u16(*port);
                b.zeros(6);
                b.u32(*queue);
                put_simple(out, 11, &b);
            } else {
                put_simple(out, 21, &queue.to_be_bytes());
                encode_action(
                    &OfpAct::Output {
                        port: *port,
                        max_len: 0,
                    },
                    ctx,
                    out,
                );
                let s = nx_header(out, NXAST_POP_QUEUE);
                finish(out, s);
            }
        }
        OfpAct::SetVlanVid(vid) | OfpAct::SetVlanVidNoPush(vid) => {
            if of10 {
                put_simple(out, 1, &(vid & 0xfff).to_be_bytes());
            } else {
                if matches!(a, OfpAct::SetVlanVid(_)) && !ctx.match_has_vlan {
                    put_simple(out, 17, &ETH_TYPE_VLAN.to_be_bytes());
                }
                put_set_field(
                    out,
                    ctx,
                    Field::VlanVid,
                    u128::from((vid & 0xfff) | 0x1000),
                    0x1fff,
                );
            }
        }
        OfpAct::SetVlanPcp(pcp) | OfpAct::SetVlanPcpNoPush(pcp) => {
            if of10 {
                put_simple(out, 2, &[pcp & 7]);
            } else {
                if matches!(a, OfpAct::SetVlanPcp(_)) && !ctx.match_has_vlan {
                    put_simple(out, 17, &ETH_TYPE_VLAN.to_be_bytes());
                }
                put_set_field(out, ctx, Field::VlanPcp, u128::from(pcp & 7), 7);
            }
        }
        OfpAct::StripVlan | OfpAct::PopVlan => put_simple(out, if of10 { 3 } else { 18 }, &[]),
        OfpAct::PushVlan(tpid) => {
            if !of10 {
                put_simple(out, 17, &tpid.to_be_bytes());
            }
        }
        OfpAct::SetEthSrc(mac) | OfpAct::SetEthDst(mac) => {
            let src = matches!(a, OfpAct::SetEthSrc(_));
            if of10 {
                put_simple(out, if src { 4 } else { 5 }, mac);
            } else {
                let f = if src { Field::EthSrc } else { Field::EthDst };
                put_set_field(out, ctx, f, value_from_be(mac), low_bits(48));
            }
        }
        OfpAct::SetIpv4Src(ip) | OfpAct::SetIpv4Dst(ip) => {
            let src = matches!(a, OfpAct::SetIpv4Src(_));
            if of10 {
                put_simple(out, if src { 6 } else { 7 }, ip);
            } else {
                let f = if src { Field::IpSrc } else { Field::IpDst };
                put_set_field(out, ctx, f, value_from_be(ip), low_bits(32));
            }
        }
        OfpAct::SetIpDscp(tos) => {
            if of10 {
                put_simple(out, 8, &[tos & 0xfc]);
            } else {
                put_set_field(out, ctx, Field::IpDscp, u128::from(tos >> 2), 0x3f);
            }
        }
        OfpAct::SetIpEcn(ecn) => put_set_field(out, ctx, Field::IpEcn, u128::from(ecn & 3), 3),
        OfpAct::SetIpTtl(ttl) => {
            if of10 {
                put_reg_load(out, &Subfield::whole(Field::IpTtl), u128::from(*ttl));
            } else {
                put_simple(out, 23, &[*ttl]);
            }
        }
        OfpAct::DecTtl => {
            if of10 {
                let s = nx_header(out, NXAST_DEC_TTL);
                finish(out, s);
            } else {
                put_simple(out, 24, &[]);
            }
        }
        OfpAct::SetL4SrcPort(p) | OfpAct::SetL4DstPort(p) => {
            let src = matches!(a, OfpAct::SetL4SrcPort(_));
            if of10 {
                put_simple(out, if src { 9 } else { 10 }, &p.to_be_bytes());
            } else {
                let (fs, fd) = l4_fields(ctx.ip_proto);
                put_set_field(out, ctx, if src { fs } else { fd }, u128::from(*p), 0xffff);
            }
        }
        OfpAct::SetField { field, value, mask } => put_set_field(out, ctx, *field, *value, *mask),
        OfpAct::RegLoad { dst, value } => put_reg_load(out, dst, *value),
        OfpAct::RegMove { src, dst } => {
            let (Some((sc, sofs)), Some((dc, dofs))) = (wire_subfield(src), wire_subfield(dst))
            else {
                return;
            };
            let s = nx_header(out, NXAST_REG_MOVE);
            out.u16(src.n_bits);
            out.u16(sofs);
            out.u16(dofs);
            out.u32(header_of(sc));
            out.u32(header_of(dc));
            finish(out, s);
        }
        OfpAct::Resubmit { in_port, table } => {
            let s = nx_header(
                out,
                if table.is_some() {
                    NXAST_RESUBMIT_TABLE
                } else {
                    NXAST_RESUBMIT
                },
            );
            out.u16(in_port.unwrap_or(OFPP_IN_PORT));
            out.u8(table.unwrap_or(0xff));
            out.zeros(3);
            finish(out, s);
        }
        OfpAct::Note(bytes) => {
            let s = nx_header(out, NXAST_NOTE);
            out.extend_from_slice(bytes);
            if out.len() - s < 16 {
                out.zeros(16 - (out.len() - s));
            }
            finish(out, s);
        }
        OfpAct::Group(g) => {
            if !of10 {
                put_simple(out, 22, &g.to_be_bytes());
            }
        }
        OfpAct::Meter(m) => {
            if ctx.version >= 6 {
                put_simple(out, 29, &m.to_be_bytes());
            }
        }
        OfpAct::WriteMetadata { value, mask } => {
            if of10 {
                let s = nx_header(out, NXAST_WRITE_METADATA);
                out.zeros(6);
                out.u64(*value);
                out.u64(*mask);
                finish(out, s);
            }
        }
        OfpAct::GotoTable(t) => {
            if of10 {
                encode_action(
                    &OfpAct::Resubmit {
                        in_port: None,
                        table: Some(*t),
                    },
                    ctx,
                    out,
                );
            }
        }
        OfpAct::ClearActions | OfpAct::WriteActions(_) => {}
        OfpAct::OutputTrunc { port, max_len } => {
            let s = nx_header(out, NXAST_OUTPUT_TRUNC);
            out.u16(*port);
            out.u32(*max_len);
            finish(out, s);
        }
        OfpAct::Controller2 {
            max_len,
            reason,
            controller_id,
            userdata,
            pause,
        } => {
            let s = nx_header(out, NXAST_CONTROLLER2);
            out.zeros(6);
            let prop = |out: &mut Vec<u8>, type_: u16, payload: &[u8]| {
                let p = out.len();
                out.u16(type_);
                out.u16((4 + payload.len()).min(0xffff) as u16);
                out.extend_from_slice(payload);
                out.pad8_from(p);
            };
            if *max_len != OFPCML_NO_BUFFER {
                prop(out, NXAC2PT_MAX_LEN, &max_len.to_be_bytes());
            }
            if *controller_id != 0 {
                prop(out, NXAC2PT_CONTROLLER_ID, &controller_id.to_be_bytes());
            }
            if *reason != OFPR_ACTION {
                prop(out, NXAC2PT_REASON, &[*reason]);
            }
            if !userdata.is_empty() {
                prop(out, NXAC2PT_USERDATA, userdata);
            }
            if *pause {
                prop(out, NXAC2PT_PAUSE, &[]);
            }
            finish(out, s);
        }
        OfpAct::SetQueue(q) => {
            if of10 {
                let s = nx_header(out, NXAST_SET_QUEUE);
                out.zeros(2);
                out.u32(*q);
                finish(out, s);
            } else {
                put_simple(out, 21, &q.to_be_bytes());
            }
        }
        OfpAct::PopQueue => {
            let s = nx_header(out, NXAST_POP_QUEUE);
            finish(out, s);
        }
        OfpAct::DecTtlIds(ids) => {
            let s = nx_header(out, NXAST_DEC_TTL_CNT_IDS);
            out.u16(ids.len().min(0xffff) as u16);
            out.zeros(4);
            for id in ids.iter().take(0xffff) {
                out.u16(*id);
            }
            finish(out, s);
        }
        OfpAct::ResubmitCt { in_port, table } => {
            let s = nx_header(out, NXAST_RESUBMIT_TABLE_CT);
            out.u16(in_port.unwrap_or(OFPP_IN_PORT));
            out.u8(table.unwrap_or(0xff));
            out.zeros(3);
            finish(out, s);
        }
        OfpAct::PushMpls(et) | OfpAct::PopMpls(et) => {
            let push = matches!(a, OfpAct::PushMpls(_));
            if of10 {
                let s = nx_header(
                    out,
                    if push {
                        NXAST_PUSH_MPLS
                    } else {
                        NXAST_POP_MPLS
                    },
                );
                out.u16(*et);
                finish(out, s);
            } else {
                put_simple(out, if push { 19 } else { 20 }, &et.to_be_bytes());
            }
        }
        OfpAct::Exit => {
            let s = nx_header(out, NXAST_EXIT);
            finish(out, s);
        }
    }
}

/// Checks that every entry of `acts` has a wire form in `version` (the
/// encoder leaves out what fails here).
///
/// Errors: OF1.0 cannot carry group (`OFPBAC_BAD_TYPE`), meter,
/// clear_actions, write_actions (`OFPBIC_UNSUP_INST`) or push_vlan
/// (`OFPBAC_BAD_TYPE`); no version carries a set-field/load of a field
/// without an NXM/OXM code (`OFPBAC_BAD_SET_TYPE`); a note or
/// dec_ttl id list too long for one action is `OFPBAC_BAD_LEN`.
pub fn check_encodable(acts: &[OfpAct], version: u8) -> Result<(), OfpError> {
    for a in acts {
        match a {
            OfpAct::Group(_) | OfpAct::PushVlan(_) if version == OFP10 => {
                return Err(OfpError::BAD_ACTION_BAD_TYPE)
            }
            OfpAct::Meter(_) | OfpAct::ClearActions | OfpAct::WriteActions(_)
                if version == OFP10 =>
            {
                return Err(OfpError::BAD_INSTRUCTION_UNSUP_INST)
            }
            OfpAct::SetField { field, .. }
            | OfpAct::RegLoad {
                dst: Subfield { field, .. },
                ..
            } if field.nxm_code().is_none()
                && !matches!(
                    field,
                    Field::DlVlan | Field::DlVlanPcp | Field::TpSrc | Field::TpDst
                ) =>
            {
                return Err(OfpError::BAD_ACTION_BAD_SET_TYPE)
            }
            OfpAct::Note(b) if b.len() > 0xfff0 => return Err(OfpError::BAD_ACTION_BAD_LEN),
            OfpAct::DecTtlIds(ids) if ids.len() > 0x7ff0 => {
                return Err(OfpError::BAD_ACTION_BAD_LEN)
            }
            OfpAct::Controller2 { userdata, .. } if userdata.len() > 0xff00 => {
                return Err(OfpError::BAD_ACTION_BAD_LEN)
            }
            OfpAct::WriteActions(inner) => check_encodable(inner, version)?,
            _ => {}
        }
    }
    Ok(())
}

/// Encodes an action list (OF1.0 actions, or the actions inside one OF1.1+ instruction).
pub fn encode_actions(acts: &[OfpAct], ctx: ActCtx, out: &mut Vec<u8>) {
    let mut ctx = ctx;
    for a in acts {
        encode_action(a, ctx, out);
        ctx.after(a);
    }
}

/// Encodes an ofpacts list as OF1.1+ instructions: [Meter], Apply-Actions
/// (omitted when there are no actions), Clear-Actions, Write-Actions,
/// Write-Metadata, Goto-Table (OpenFlow 1.3.5 §7.2.4).
pub fn encode_instructions(acts: &[OfpAct], ctx: ActCtx, out: &mut Vec<u8>) {
    let meter_as_action = ctx.version >= 6;
    for a in acts {
        if let OfpAct::Meter(m) = a {
            if !meter_as_action {
                put_simple(out, 6, &m.to_be_bytes());
            }
        }
    }
    let apply: Vec<&OfpAct> = acts
        .iter()
        .filter(|a| !a.is_instruction() || (meter_as_action && matches!(a, OfpAct::Meter(_))))
        .collect();
    if !apply.is_empty() {
        let s = out.len();
        out.u16(4);
        out.u16(0);
        out.zeros(4);
        let mut c = ctx;
        for a in apply {
            encode_action(a, c, out);
            c.after(a);
        }
        finish(out, s);
    }
    for a in acts {
        match a {
            OfpAct::ClearActions => put_simple(out, 5, &[0; 4]),
            OfpAct::WriteActions(inner) => {
                let s = out.len();
                out.u16(3);
                out.u16(0);
                out.zeros(4);
                encode_actions(inner, ctx, out);
                finish(out, s);
            }
            OfpAct::WriteMetadata { value, mask } => {
                let mut b = vec![0u8; 4];
                b.u64(*value);
                b.u64(*mask);
                put_simple(out, 2, &b);
            }
            OfpAct::GotoTable(t) => put_simple(out, 1, &[*t, 0, 0, 0]),
            _ => {}
        }
    }
}

fn decode_nx_action(body: &mut Rd, out: &mut Vec<OfpAct>) -> Result<(), OfpError> {
    let subtype = body.u16()?;
    let exact = |r: &Rd, n: usize| if r.len() == n { Ok(()) } else { Err(bad_len()) };
    match subtype {
        NXAST_RESUBMIT | NXAST_RESUBMIT_TABLE => {
            exact(body, 6)?;
            let port = body.u16()?;
            let table = body.u8()?;
            let pad = body.rest();
            if subtype == NXAST_RESUBMIT_TABLE && pad.iter().any(|&b| b != 0) {
                return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
            }
            out.push(OfpAct::Resubmit {
                in_port: (port != OFPP_IN_PORT).then_some(port),
                table: (subtype == NXAST_RESUBMIT_TABLE && table != 0xff).then_some(table),
            });
        }
        NXAST_REG_MOVE => {
            exact(body, 14)?;
            let n_bits = body.u16()?;
            let src_ofs = body.u16()?;
            let dst_ofs = body.u16()?;
            let src = subfield_from_header(body.u32()?, src_ofs, n_bits)?;
            let dst = subfield_from_header(body.u32()?, dst_ofs, n_bits)?;
            if !dst.field.writable() {
                return Err(OfpError::BAD_ACTION_BAD_SET_ARGUMENT);
            }
            out.push(OfpAct::RegMove { src, dst });
        }
        NXAST_REG_LOAD => {
            exact(body, 14)?;
            let ofs_nbits = body.u16()?;
            let dst = subfield_from_header(body.u32()?, ofs_nbits >> 6, (ofs_nbits & 0x3f) + 1)?;
            let value = u128::from(body.u64()?);
            if !dst.field.writable() {
                return Err(OfpError::BAD_ACTION_BAD_SET_ARGUMENT);
            }
            if value & !low_bits(u32::from(dst.n_bits)) != 0 {
                return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
            }
            out.push(OfpAct::RegLoad { dst, value });
        }
        NXAST_REG_LOAD2 => {
            let all = body.rest();
            let mut r = Rd::new(all, bad_len());
            let (field, value, mask) = decode_set_field_tlv(&mut r, true)?;
            if r.rest().iter().any(|&b| b != 0) {
                return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
            }
            out.push(OfpAct::SetField { field, value, mask });
        }
        NXAST_NOTE => out.push(OfpAct::Note(body.rest().to_vec())),
        NXAST_DEC_TTL => {
            if body.rest().iter().any(|&b| b != 0) {
                return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
            }
            out.push(OfpAct::DecTtl)
        }
        NXAST_CONTROLLER => {
            exact(body, 6)?;
            let max_len = body.u16()?;
            let controller_id = body.u16()?;
            let reason = body.u8()?;
            out.push(OfpAct::Controller {
                max_len,
                reason,
                controller_id,
            });
        }
        NXAST_SET_QUEUE => {
            exact(body, 6)?;
            body.skip(2)?;
            out.push(OfpAct::SetQueue(body.u32()?));
        }
        NXAST_POP_QUEUE | NXAST_EXIT => {
            exact(body, 6)?;
            out.push(if subtype == NXAST_EXIT {
                OfpAct::Exit
            } else {
                OfpAct::PopQueue
            });
        }
        NXAST_DEC_TTL_CNT_IDS => {
            let n = usize::from(body.u16()?);
            body.skip(4)?;
            let mut ids = Vec::with_capacity(n.min(body.len() / 2));
            for _ in 0..n {
                ids.push(body.u16()?);
            }
            if body.rest().iter().any(|&b| b != 0) {
                return Err(bad_len());
            }
            out.push(OfpAct::DecTtlIds(ids));
        }
        NXAST_PUSH_MPLS | NXAST_POP_MPLS => {
            exact(body, 6)?;
            let et = body.u16()?;
            out.push(if subtype == NXAST_PUSH_MPLS {
                if et != 0x8847 && et != 0x8848 {
                    return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
                }
                OfpAct::PushMpls(et)
            } else {
                OfpAct::PopMpls(et)
            });
        }
        NXAST_OUTPUT_TRUNC => {
            exact(body, 6)?;
            let port = body.u16()?;
            let max_len = body.u32()?;
            check_out_port(port)?;
            out.push(OfpAct::OutputTrunc { port, max_len });
        }
        NXAST_RESUBMIT_TABLE_CT => {
            exact(body, 6)?;
            let port = body.u16()?;
            let table = body.u8()?;
            if body.rest().iter().any(|&b| b != 0) {
                return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
            }
            out.push(OfpAct::ResubmitCt {
                in_port: (port != OFPP_IN_PORT).then_some(port),
                table: (table != 0xff).then_some(table),
            });
        }
        NXAST_CONTROLLER2 => out.push(decode_controller2(body)?),
        NXAST_WRITE_METADATA => {
            exact(body, 22)?;
            body.skip(6)?;
            let value = body.u64()?;
            let mask = body.u64()?;
            out.push(OfpAct::WriteMetadata { value, mask });
        }
        _ => return Err(OfpError::BAD_ACTION_BAD_EXP_TYPE),
    }
    Ok(())
}

/// NXAST_CONTROLLER2: 6 zero bytes, then properties `type(16) len(16)
/// payload`, each padded to 8 bytes (OVS `nx_action_controller2`).
fn decode_controller2(body: &mut Rd) -> Result<OfpAct, OfpError> {
    body.skip(6)?;
    let (mut max_len, mut controller_id, mut reason) = (OFPCML_NO_BUFFER, 0u16, OFPR_ACTION);
    let (mut userdata, mut pause) = (Vec::new(), false);
    while !body.is_empty() {
        let type_ = body.u16()?;
        let len = usize::from(body.u16()?);
        let payload = body.take(len.checked_sub(4).ok_or_else(bad_len)?)?;
        body.take((8 - len % 8) % 8)?;
        let mut p = Rd::new(payload, bad_len());
        match type_ {
            NXAC2PT_MAX_LEN => max_len = p.u16()?,
            NXAC2PT_CONTROLLER_ID => controller_id = p.u16()?,
            NXAC2PT_REASON => reason = p.u8()?,
            NXAC2PT_USERDATA => userdata = payload.to_vec(),
            NXAC2PT_PAUSE => pause = true,
            _ => return Err(OfpError::BAD_ACTION_BAD_ARGUMENT),
        }
    }
    Ok(if userdata.is_empty() && !pause {
        OfpAct::Controller {
            max_len,
            reason,
            controller_id,
        }
    } else {
        OfpAct::Controller2 {
            max_len,
            reason,
            controller_id,
            userdata,
            pause,
        }
    })
}

/// Reads one OXM TLV of a set-field (header, value, optional mask).
fn decode_set_field_tlv(r: &mut Rd, allow_mask: bool) -> Result<(Field, u128, u128), OfpError> {
    let header = r.u32()?;
    let class = (header >> 16) as u16;
    let mut len = (header & 0xff) as usize;
    let mut exp = 0;
    if class == OFPXMC_EXPERIMENTER {
        exp = r.u32()?;
        len = len.checked_sub(4).ok_or(OfpError::BAD_ACTION_BAD_SET_LEN)?;
    }
    let hasmask = header & 0x100 != 0;
    let field = Field::from_code(class, ((header >> 9) & 0x7f) as u8, exp)
        .ok_or(OfpError::BAD_ACTION_BAD_SET_TYPE)?;
    if hasmask && !allow_mask {
        return Err(OfpError::BAD_ACTION_BAD_SET_ARGUMENT);
    }
    let width = if field == Field::InPort && class == crate::mf::OFPXMC_OPENFLOW_BASIC {
        4
    } else {
        field.n_bytes()
    };
    if len != width * if hasmask { 2 } else { 1 } {
        return Err(OfpError::BAD_ACTION_BAD_SET_LEN);
    }
    let payload = r.take(len).map_err(|_| OfpError::BAD_ACTION_BAD_SET_LEN)?;
    let mut value = value_from_be(&payload[..width]);
    let mask = if hasmask {
        value_from_be(&payload[width..])
    } else {
        low_bits(field.n_bits())
    };
    if field == Field::InPort && width == 4 {
        value = u128::from(
            port_from_ofp11(value as u32).map_err(|_| OfpError::BAD_ACTION_BAD_SET_ARGUMENT)?,
        );
    }
    if !field.writable() || !field.value_fits(value) || !field.value_fits(mask) {
        return Err(OfpError::BAD_ACTION_BAD_SET_ARGUMENT);
    }
    // OF1.3 §7.2.3.7: a Set-Field of OXM_OF_VLAN_VID must carry
    // OFPVID_PRESENT (0x1000); OVS refuses it otherwise.
    if field == Field::VlanVid && value & 0x1000 == 0 {
        return Err(OfpError::BAD_ACTION_BAD_SET_ARGUMENT);
    }
    Ok((field, value & mask, mask))
}

/// Decodes an action list of `version` (OF1.0 actions, or the body of an
/// OF1.1+ Apply/Write-Actions instruction).
///
/// Errors: `OFPBAC_BAD_LEN` (length not a multiple of 8, < 8, or past the
/// end, or wrong for the type), `OFPBAC_BAD_TYPE` (unknown/unsupported type),
/// `OFPBAC_BAD_EXPERIMENTER` / `OFPBAC_BAD_EXP_TYPE`, `OFPBAC_BAD_OUT_PORT`,
/// `OFPBAC_BAD_ARGUMENT`, `OFPBAC_BAD_SET_*`.
pub fn decode_actions(bytes: &[u8], version: u8) -> Result<Vec<OfpAct>, OfpError> {
    let mut r = Rd::new(bytes, bad_len());
    let mut out = Vec::new();
    let of10 = version == OFP10;
    while !r.is_empty() {
        let type_ = r.peek_u16(0)?;
        let len = usize::from(r.peek_u16(2)?);
        if len < 8 || len % 8 != 0 || len > r.len() {
            return Err(bad_len());
        }
        let mut a = r.sub(len, bad_len())?;
        a.skip(4)?;
        let exact = |a: &Rd, n: usize| if a.len() == n { Ok(()) } else { Err(bad_len()) };
        let act = match (of10, type_) {
            (_, 0xffff) => {
                let vendor = a.u32()?;
                if vendor != NX_VENDOR_ID {
                    return Err(OfpError::BAD_ACTION_BAD_EXPERIMENTER);
                }
                decode_nx_action(&mut a, &mut out)?;
                continue;
            }
            (true, 0) => {
                exact(&a, 4)?;
                let port = a.u16()?;
                let max_len = a.u16()?;
                output(port, max_len)?
            }
            (false, 0) => {
                exact(&a, 12)?;
                let port = port_from_ofp11(a.u32()?)?;
                let max_len = a.u16()?;
                output(port, max_len)?
            }
            (true, 1) => {
                exact(&a, 4)?;
                let vid = a.u16()?;
                if vid > 0xfff {
                    return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
                }
                OfpAct::SetVlanVid(vid)
            }
            (true, 2) => {
                exact(&a, 4)?;
                let pcp = a.u8()?;
                if pcp > 7 {
                    return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
                }
                OfpAct::SetVlanPcp(pcp)
            }
            (true, 3) => {
                exact(&a, 4)?;
                OfpAct::StripVlan
            }
            (true, 4 | 5) => {
                exact(&a, 12)?;
                let mac: [u8; 6] = a.arr()?;
                if type_ == 4 {
                    OfpAct::SetEthSrc(mac)
                } else {
                    OfpAct::SetEthDst(mac)
                }
            }
            (true, 6 | 7) => {
                exact(&a, 4)?;
                let ip: [u8; 4] = a.arr()?;
                if type_ == 6 {
                    OfpAct::SetIpv4Src(ip)
                } else {
                    OfpAct::SetIpv4Dst(ip)
                }
            }
            (true, 8) => {
                exact(&a, 4)?;
                let tos = a.u8()?;
                if tos & 3 != 0 {
                    return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
                }
                OfpAct::SetIpDscp(tos)
            }
            (true, 9 | 10) => {
                exact(&a, 4)?;
                let p = a.u16()?;
                if type_ == 9 {
                    OfpAct::SetL4SrcPort(p)
                } else {
                    OfpAct::SetL4DstPort(p)
                }
            }
            (true, 11) => {
                exact(&a, 12)?;
                let port = a.u16()?;
                a.skip(6)?;
                let queue = a.u32()?;
                if port != OFPP_IN_PORT && port >= OFPP_MAX && port != OFPP_LOCAL {
                    return Err(OfpError::BAD_ACTION_BAD_OUT_PORT);
                }
                OfpAct::Enqueue { port, queue }
            }
            (false, 17) => {
                exact(&a, 4)?;
                let tpid = a.u16()?;
                if tpid != ETH_TYPE_VLAN && tpid != 0x88a8 {
                    return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
                }
                OfpAct::PushVlan(tpid)
            }
            (false, 18) => {
                exact(&a, 4)?;
                OfpAct::PopVlan
            }
            (false, 21) => {
                exact(&a, 4)?;
                OfpAct::SetQueue(a.u32()?)
            }
            (false, 19 | 20) => {
                exact(&a, 4)?;
                let et = a.u16()?;
                if type_ == 19 {
                    if et != 0x8847 && et != 0x8848 {
                        return Err(OfpError::BAD_ACTION_BAD_ARGUMENT);
                    }
                    OfpAct::PushMpls(et)
                } else {
                    OfpAct::PopMpls(et)
                }
            }
            (false, 22) => {
                exact(&a, 4)?;
                OfpAct::Group(a.u32()?)
            }
            (false, 23) => {
                exact(&a, 4)?;
                OfpAct::SetIpTtl(a.u8()?)
            }
            (false, 24) => {
                exact(&a, 4)?;
                OfpAct::DecTtl
            }
            (false, 25) => {
                let (field, value, mask) = decode_set_field_tlv(&mut a, version >= 6)?;
                if a.rest().iter().any(|&b| b != 0) {
                    return Err(OfpError::BAD_ACTION_BAD_SET_ARGUMENT);
                }
                OfpAct::SetField { field, value, mask }
            }
            (false, 29) if version >= 6 => {
                exact(&a, 4)?;
                OfpAct::Meter(a.u32()?)
            }
            _ => return Err(OfpError::BAD_ACTION_BAD_TYPE),
        };
        out.push(act);
    }
    Ok(out)
}

fn output(port: u16, max_len: u16) -> Result<OfpAct, OfpError> {
    check_out_port(port)?;
    Ok(if port == OFPP_CONTROLLER {
        OfpAct::Controller {
            max_len,
            reason: OFPR_ACTION,
            controller_id: 0,
        }
    } else {
        OfpAct::Output { port, max_len }
    })
}

/// Decodes OF1.1+ instructions into one ofpacts list in pipeline order.
///
/// Errors: `OFPBIC_UNKNOWN_INST`, `OFPBIC_BAD_LEN`, `OFPBIC_UNSUP_INST` for a
/// duplicated instruction or an experimenter instruction, plus the action
/// errors of [`decode_actions`].
pub fn decode_instructions(bytes: &[u8], version: u8) -> Result<Vec<OfpAct>, OfpError> {
    let blen = OfpError::BAD_INSTRUCTION_BAD_LEN;
    let mut r = Rd::new(bytes, blen);
    let mut slots: [Option<Vec<OfpAct>>; 6] = Default::default();
    while !r.is_empty() {
        let type_ = r.peek_u16(0)?;
        let len = usize::from(r.peek_u16(2)?);
        if len < 8 || len % 8 != 0 || len > r.len() {
            return Err(blen);
        }
        let mut i = r.sub(len, blen)?;
        i.skip(4)?;
        let exact = |i: &Rd, n: usize| if i.len() == n { Ok(()) } else { Err(blen) };
        let (slot, acts) = match type_ {
            1 => {
                exact(&i, 4)?;
                (5, vec![OfpAct::GotoTable(i.u8()?)])
            }
            2 => {
                exact(&i, 20)?;
                i.skip(4)?;
                (
                    4,
                    vec![OfpAct::WriteMetadata {
                        value: i.u64()?,
                        mask: i.u64()?,
                    }],
                )
            }
            3 => {
                i.skip(4)?;
                (
                    3,
                    vec![OfpAct::WriteActions(decode_actions(i.rest(), version)?)],
                )
            }
            4 => {
                i.skip(4)?;
                (1, decode_actions(i.rest(), version)?)
            }
            5 => {
                exact(&i, 4)?;
                (2, vec![OfpAct::ClearActions])
            }
            6 => {
                exact(&i, 4)?;
                (0, vec![OfpAct::Meter(i.u32()?)])
            }
            0xffff => return Err(OfpError::BAD_INSTRUCTION_UNSUP_INST),
            _ => return Err(OfpError::BAD_INSTRUCTION_UNKNOWN_INST),
        };
        if slots[slot].is_some() {
            return Err(OfpError::BAD_INSTRUCTION_UNSUP_INST);
        }
        slots[slot] = Some(acts);
    }
    let mut out = Vec::new();
    let mut apply = slots[1].take().unwrap_or_default();
    // OF1.5 meter action inside apply-actions goes first, as the Meter instruction.
    if let Some(pos) = apply.iter().position(|a| matches!(a, OfpAct::Meter(_))) {
        if slots[0].is_none() {
            slots[0] = Some(vec![apply.remove(pos)]);
        }
    }
    slots[1] = Some(apply);
    for s in slots.into_iter().flatten() {
        out.extend(s);
    }
    Ok(out)
}
