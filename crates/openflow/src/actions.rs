//! OpenFlow actions and instructions in one list, as OVS's "ofpacts".
//!
//! Idea: a rule's behaviour is one `Vec<OfpAct>` whatever the version it
//! came in: OpenFlow 1.0 actions are the list itself; an OpenFlow 1.1+
//! Apply-Actions instruction contributes its actions in order, and the other
//! instructions (Clear-Actions, Write-Actions, Write-Metadata, Meter,
//! Goto-Table) appear as their own entries. Invariant of a valid list
//! ([`check_instruction_order`]): instructions come in the OpenFlow pipeline
//! order Meter, apply-actions, ClearActions, WriteActions, WriteMetadata,
//! GotoTable, each at most once (OpenFlow 1.3.5 §5.9).
//!
//! Ports are 16-bit OVS `ofp_port` values (see [`crate::port`]).

use crate::error::OfpError;
use crate::mf::{Field, Subfield};
use crate::port::OfpPort;

/// `ofp_controller_reason` of a packet-in: no matching flow (table miss).
pub const OFPR_NO_MATCH: u8 = 0;
/// `ofp_controller_reason`: an explicit output to the controller.
pub const OFPR_ACTION: u8 = 1;
/// `ofp_controller_reason`: invalid TTL (dec_ttl).
pub const OFPR_INVALID_TTL: u8 = 2;
/// Default `max_len` of an output to the controller (OFPCML_NO_BUFFER = whole packet is 0xffff).
pub const OFPCML_NO_BUFFER: u16 = 0xffff;

/// One action or instruction.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum OfpAct {
    /// Output to `port` (may be reserved: NORMAL, FLOOD, ALL, IN_PORT, LOCAL,
    /// TABLE). `max_len` matters only for CONTROLLER (bytes to send).
    Output { port: OfpPort, max_len: u16 },
    /// Send to controller(s) as a packet-in (`controller(max_len=…,reason=…,id=…)`).
    Controller {
        max_len: u16,
        reason: u8,
        controller_id: u16,
    },
    /// OF1.0 enqueue / OF1.1+ set_queue+output.
    Enqueue { port: OfpPort, queue: u32 },
    /// Set the 802.1Q VID (12 bits), pushing a tag if none (OF1.0 semantics).
    SetVlanVid(u16),
    /// Set the 802.1Q PCP (3 bits), pushing a tag if none.
    SetVlanPcp(u8),
    /// OF1.0 strip_vlan.
    StripVlan,
    /// Push a VLAN header with this TPID (0x8100 or 0x88a8).
    PushVlan(u16),
    /// Pop the outer VLAN header (OF1.1+ name of strip_vlan).
    PopVlan,
    /// mod_dl_src.
    SetEthSrc([u8; 6]),
    /// mod_dl_dst.
    SetEthDst([u8; 6]),
    /// mod_nw_src.
    SetIpv4Src([u8; 4]),
    /// mod_nw_dst.
    SetIpv4Dst([u8; 4]),
    /// mod_nw_tos: the DSCP in the TOS byte's high 6 bits (low 2 bits 0).
    SetIpDscp(u8),
    /// mod_nw_ecn: the 2 ECN bits.
    SetIpEcn(u8),
    /// mod_nw_ttl.
    SetIpTtl(u8),
    /// dec_ttl (packet-in with reason INVALID_TTL when it reaches 0).
    DecTtl,
    /// mod_tp_src.
    SetL4SrcPort(u16),
    /// mod_tp_dst.
    SetL4DstPort(u16),
    /// OF1.2+ set_field (`mask` all ones unless OF1.5 masked set-field).
    SetField {
        field: Field,
        value: u128,
        mask: u128,
    },
    /// NXAST_REG_LOAD / `load:value->dst`.
    RegLoad { dst: Subfield, value: u128 },
    /// NXAST_REG_MOVE / `move:src->dst` (same `n_bits`).
    RegMove { src: Subfield, dst: Subfield },
    /// NXAST_RESUBMIT(_TABLE): `in_port` None = keep; `table` None = current table.
    Resubmit {
        in_port: Option<OfpPort>,
        table: Option<u8>,
    },
    /// NXAST_NOTE: opaque bytes.
    Note(Vec<u8>),
    /// OF1.1+ group action.
    Group(u32),
    /// OF1.3+ meter instruction (OF1.5: action).
    Meter(u32),
    /// Clear-Actions instruction.
    ClearActions,
    /// Write-Actions instruction (action set).
    WriteActions(Vec<OfpAct>),
    /// Write-Metadata instruction.
    WriteMetadata { value: u64, mask: u64 },
    /// Goto-Table instruction.
    GotoTable(u8),
    /// `output(port=P,max_len=N)`: output only the first `max_len` bytes
    /// (NXAST_OUTPUT_TRUNC, any version).
    OutputTrunc { port: OfpPort, max_len: u32 },
    /// `controller(...)` with `userdata` bytes or `pause` (NXAST_CONTROLLER2
    /// properties); without them [`OfpAct::Controller`] is the same action.
    Controller2 {
        max_len: u16,
        reason: u8,
        controller_id: u16,
        userdata: Vec<u8>,
        pause: bool,
    },
    /// `set_queue:Q`: queue for later outputs (OF1.1+ OFPAT_SET_QUEUE, OF1.0 NXAST_SET_QUEUE).
    SetQueue(u32),
    /// `pop_queue`: back to the queue the packet came with (NXAST_POP_QUEUE).
    PopQueue,
    /// `set_vlan_vid:VID`: set the VID of an existing 802.1Q tag, never
    /// pushing one (OpenFlow 1.1 semantics; [`OfpAct::SetVlanVid`] pushes).
    SetVlanVidNoPush(u16),
    /// `set_vlan_pcp:PCP`: set the PCP of an existing tag, never pushing one.
    SetVlanPcpNoPush(u8),
    /// `dec_ttl(id,…)`: dec_ttl sending the INVALID_TTL packet-in to these
    /// controller ids (NXAST_DEC_TTL_CNT_IDS).
    DecTtlIds(Vec<u16>),
    /// `resubmit(port,table,ct)`: resubmit with the conntrack original
    /// direction tuple as the flow (NXAST_RESUBMIT_TABLE_CT).
    ResubmitCt {
        in_port: Option<OfpPort>,
        table: Option<u8>,
    },
    /// `push_mpls:ETHERTYPE` (0x8847/0x8848).
    PushMpls(u16),
    /// `pop_mpls:ETHERTYPE`: the Ethertype after the pop.
    PopMpls(u16),
    /// `exit`: stop executing actions (NXAST_EXIT).
    Exit,
}

impl OfpAct {
    /// Whether this entry is an OpenFlow 1.1+ instruction rather than an
    /// action inside Apply-Actions.
    pub fn is_instruction(&self) -> bool {
        matches!(
            self,
            OfpAct::Meter(_)
                | OfpAct::ClearActions
                | OfpAct::WriteActions(_)
                | OfpAct::WriteMetadata { .. }
                | OfpAct::GotoTable(_)
        )
    }

    /// Pipeline rank of an instruction (0 for plain actions = apply-actions):
    /// Meter < apply < Clear < Write < WriteMetadata < Goto.
    fn rank(&self) -> u8 {
        match self {
            OfpAct::Meter(_) => 0,
            OfpAct::ClearActions => 2,
            OfpAct::WriteActions(_) => 3,
            OfpAct::WriteMetadata { .. } => 4,
            OfpAct::GotoTable(_) => 5,
            _ => 1,
        }
    }
}

/// Checks that instructions appear at most once each and in pipeline order
/// (actions of the single Apply-Actions are contiguous after any Meter).
///
/// Errors: `OFPBIC_UNSUP_INST` for a repeated or misplaced instruction.
pub fn check_instruction_order(acts: &[OfpAct]) -> Result<(), OfpError> {
    let mut last: Option<u8> = None;
    let mut seen_apply_end = false;
    for a in acts {
        let r = a.rank();
        if last.is_some_and(|l| r < l || (r == l && r != 1)) {
            return Err(OfpError::BAD_INSTRUCTION_UNSUP_INST);
        }
        if r == 1 && seen_apply_end {
            return Err(OfpError::BAD_INSTRUCTION_UNSUP_INST);
        }
        if r > 1 {
            seen_apply_end = true;
        }
        last = Some(r);
    }
    Ok(())
}

/// The output ports named by `acts` (outputs and enqueues, including inside
/// Write-Actions), for flow_mod `out_port` filtering.
pub fn outputs_to(acts: &[OfpAct], port: OfpPort) -> bool {
    acts.iter().any(|a| match a {
        OfpAct::Output { port: p, .. }
        | OfpAct::Enqueue { port: p, .. }
        | OfpAct::OutputTrunc { port: p, .. } => *p == port,
        OfpAct::Controller { .. } | OfpAct::Controller2 { .. } => {
            port == crate::port::OFPP_CONTROLLER
        }
        OfpAct::WriteActions(inner) => outputs_to(inner, port),
        _ => false,
    })
}

/// Whether `acts` contain a Group action with id `group` (for `out_group`).
pub fn outputs_to_group(acts: &[OfpAct], group: u32) -> bool {
    acts.iter().any(|a| match a {
        OfpAct::Group(g) => *g == group,
        OfpAct::WriteActions(inner) => outputs_to_group(inner, group),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order() {
        let ok = [
            OfpAct::Meter(1),
            OfpAct::DecTtl,
            OfpAct::Output {
                port: 1,
                max_len: 0,
            },
            OfpAct::ClearActions,
            OfpAct::WriteMetadata { value: 1, mask: 1 },
            OfpAct::GotoTable(2),
        ];
        assert!(check_instruction_order(&ok).is_ok());
        let bad = [
            OfpAct::GotoTable(1),
            OfpAct::Output {
                port: 1,
                max_len: 0,
            },
        ];
        assert!(check_instruction_order(&bad).is_err());
        let bad = [OfpAct::GotoTable(1), OfpAct::GotoTable(2)];
        assert!(check_instruction_order(&bad).is_err());
        assert!(outputs_to(&ok, 1));
        assert!(!outputs_to(&ok, 2));
    }
}
