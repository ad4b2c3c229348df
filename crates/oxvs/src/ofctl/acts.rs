//! Local shim: converts between the text syntax's action list
//! (`openflow::text::OfpAct`, what `parse_flow`/`format_actions` use) and
//! the codec's (`openflow::OfpAct`, what goes on the wire). The two models
//! were written side by side; fields are matched by name. Actions one side
//! cannot express are reported as an error string (ovs-ofctl style).

use openflow::actions::OFPR_ACTION;
use openflow::mf::{Field as MfField, Subfield as MfSubfield};
use openflow::port::OFPP_IN_PORT;
use openflow::text::field::Field as TextField;
use openflow::text::{OfpAct as T, Subfield as TextSubfield};
use openflow::OfpAct as W;

fn mf_field(f: TextField) -> Result<MfField, String> {
    MfField::from_name(f.name())
        .ok_or_else(|| format!("field {} is not supported on the wire", f.name()))
}

fn text_field(f: MfField) -> Option<TextField> {
    TextField::from_name(f.name())
}

fn low_bits(n: u32) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

fn mf_subfield(s: &TextSubfield) -> Result<MfSubfield, String> {
    MfSubfield::new(mf_field(s.field)?, s.ofs as u16, s.n_bits as u16)
        .map_err(|e| e.name().to_string())
}

/// Text actions → wire actions.
pub fn to_wire(acts: &[T]) -> Result<Vec<W>, String> {
    acts.iter().map(one_to_wire).collect()
}

fn one_to_wire(a: &T) -> Result<W, String> {
    Ok(match a {
        T::Output { port, max_len } => W::Output {
            port: *port,
            max_len: *max_len,
        },
        T::Controller {
            max_len,
            reason,
            id,
            ..
        } => W::Controller {
            max_len: *max_len,
            reason: *reason,
            controller_id: *id,
        },
        T::Enqueue { port, queue } => W::Enqueue {
            port: *port,
            queue: *queue,
        },
        T::SetVlanVid { vid, .. } => W::SetVlanVid(*vid),
        T::SetVlanPcp { pcp, .. } => W::SetVlanPcp(*pcp),
        T::StripVlan => W::StripVlan,
        T::PushVlan(t) => W::PushVlan(*t),
        T::SetEthSrc(m) => W::SetEthSrc(*m),
        T::SetEthDst(m) => W::SetEthDst(*m),
        T::SetIpv4Src(a) => W::SetIpv4Src(*a),
        T::SetIpv4Dst(a) => W::SetIpv4Dst(*a),
        T::SetIpDscp(v) => W::SetIpDscp(*v),
        T::SetIpEcn(v) => W::SetIpEcn(*v),
        T::SetIpTtl(v) => W::SetIpTtl(*v),
        T::SetL4Src(p) => W::SetL4SrcPort(*p),
        T::SetL4Dst(p) => W::SetL4DstPort(*p),
        T::SetField {
            field,
            value,
            mask,
            load,
        } => {
            let f = mf_field(*field)?;
            let full = low_bits(f.n_bits());
            if *load && *mask != 0 && (*mask & full) != full {
                let ofs = mask.trailing_zeros();
                let n_bits = (mask >> ofs).trailing_ones();
                let dst = MfSubfield::new(f, ofs as u16, n_bits as u16)
                    .map_err(|e| e.name().to_string())?;
                W::RegLoad {
                    dst,
                    value: (value & mask) >> ofs,
                }
            } else if *load {
                W::RegLoad {
                    dst: MfSubfield::whole(f),
                    value: *value,
                }
            } else {
                W::SetField {
                    field: f,
                    value: *value,
                    mask: *mask,
                }
            }
        }
        T::RegMove { src, dst } => W::RegMove {
            src: mf_subfield(src)?,
            dst: mf_subfield(dst)?,
        },
        T::DecTtl { .. } => W::DecTtl,
        T::Resubmit { in_port, table, .. } => W::Resubmit {
            in_port: (*in_port != OFPP_IN_PORT).then_some(*in_port),
            table: (*table != 255).then_some(*table),
        },
        T::Note(b) => W::Note(b.clone()),
        T::Group(g) => W::Group(*g),
        T::Meter(m) => W::Meter(*m),
        T::ClearActions => W::ClearActions,
        T::WriteActions(v) => W::WriteActions(to_wire(v)?),
        T::WriteMetadata { value, mask } => W::WriteMetadata {
            value: *value,
            mask: *mask,
        },
        T::GotoTable(t) => W::GotoTable(*t),
        other => return Err(format!("action {other:?} is not supported by oxvs")),
    })
}

/// Wire actions → text actions (for printing).
pub fn from_wire(acts: &[W]) -> Vec<T> {
    acts.iter().filter_map(one_from_wire).collect()
}

fn one_from_wire(a: &W) -> Option<T> {
    Some(match a {
        W::Output { port, max_len } => T::Output {
            port: *port,
            max_len: *max_len,
        },
        // OVS prints a plain controller output as `CONTROLLER:max_len`.
        W::Controller {
            max_len,
            reason: OFPR_ACTION,
            controller_id: 0,
        } => T::Output {
            port: openflow::port::OFPP_CONTROLLER,
            max_len: *max_len,
        },
        W::Controller {
            max_len,
            reason,
            controller_id,
        } => T::Controller {
            max_len: *max_len,
            reason: *reason,
            id: *controller_id,
            userdata: Vec::new(),
            pause: false,
        },
        W::Enqueue { port, queue } => T::Enqueue {
            port: *port,
            queue: *queue,
        },
        W::SetVlanVid(v) => T::SetVlanVid {
            vid: *v,
            push_if_needed: true,
        },
        W::SetVlanPcp(p) => T::SetVlanPcp {
            pcp: *p,
            push_if_needed: true,
        },
        W::StripVlan | W::PopVlan => T::StripVlan,
        W::PushVlan(t) => T::PushVlan(*t),
        W::SetEthSrc(m) => T::SetEthSrc(*m),
        W::SetEthDst(m) => T::SetEthDst(*m),
        W::SetIpv4Src(a) => T::SetIpv4Src(*a),
        W::SetIpv4Dst(a) => T::SetIpv4Dst(*a),
        W::SetIpDscp(v) => T::SetIpDscp(*v),
        W::SetIpEcn(v) => T::SetIpEcn(*v),
        W::SetIpTtl(v) => T::SetIpTtl(*v),
        W::DecTtl => T::DecTtl { ids: Vec::new() },
        W::SetL4SrcPort(p) => T::SetL4Src(*p),
        W::SetL4DstPort(p) => T::SetL4Dst(*p),
        W::SetField { field, value, mask } => {
            // The two field tables may differ in width (e.g. vlan_vid 12/13
            // bits vs 16): a whole-field mask stays whole.
            let tf = text_field(*field)?;
            let mask = if *mask == low_bits(field.n_bits()) {
                low_bits(tf.n_bits())
            } else {
                *mask
            };
            T::SetField {
                field: tf,
                value: *value,
                mask,
                load: false,
            }
        }
        W::RegLoad { dst, value } => {
            let m = low_bits(u32::from(dst.n_bits)) << dst.ofs;
            T::SetField {
                field: text_field(dst.field)?,
                value: (value << dst.ofs) & m,
                mask: m,
                load: true,
            }
        }
        W::RegMove { src, dst } => T::RegMove {
            src: TextSubfield {
                field: text_field(src.field)?,
                ofs: src.ofs.into(),
                n_bits: src.n_bits.into(),
            },
            dst: TextSubfield {
                field: text_field(dst.field)?,
                ofs: dst.ofs.into(),
                n_bits: dst.n_bits.into(),
            },
        },
        W::Resubmit { in_port, table } => T::Resubmit {
            in_port: in_port.unwrap_or(OFPP_IN_PORT),
            table: table.unwrap_or(255),
            ct: false,
        },
        W::Note(b) => T::Note(b.clone()),
        W::Group(g) => T::Group(*g),
        W::Meter(m) => T::Meter(*m),
        W::ClearActions => T::ClearActions,
        W::WriteActions(v) => T::WriteActions(from_wire(v)),
        W::WriteMetadata { value, mask } => T::WriteMetadata {
            value: *value,
            mask: *mask,
        },
        W::GotoTable(t) => T::GotoTable(*t),
        _ => return None,
    })
}
