//! Bridge to the `packet` crate's extraction, checksum and ODP formatting.
//!
//! TODO(packet): `packet::FlowKey::extract`, `packet::checksum` and
//! `packet::odp::format_odp_flow` are being written by another helper; until
//! they land these are minimal local stand-ins with the same signatures.
//! Replace each body with a call into `packet` once `git log` shows it.

use packet::FlowKey;

/// The frame could not be parsed (drop and count as rx_errors/rx_frame_err).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// TODO(packet): stand-in for `FlowKey::extract(frame, in_port)`.
pub fn extract(frame: &[u8], in_port: u32) -> Result<FlowKey, Malformed> {
    let mut k = FlowKey {
        in_port,
        ..FlowKey::default()
    };
    if frame.len() < 14 {
        return Err(Malformed);
    }
    k.dl_dst.copy_from_slice(&frame[0..6]);
    k.dl_src.copy_from_slice(&frame[6..12]);
    let mut off = 12;
    let mut et = u16::from_be_bytes([frame[12], frame[13]]);
    if et == 0x8100 || et == 0x88a8 {
        if frame.len() < 18 {
            return Err(Malformed);
        }
        k.vlan_tci = u16::from_be_bytes([frame[14], frame[15]]) | packet::flow::VLAN_CFI;
        off = 16;
        et = u16::from_be_bytes([frame[16], frame[17]]);
    }
    off += 2;
    k.dl_type = if et < 0x600 {
        packet::flow::FLOW_DL_TYPE_NONE
    } else {
        et
    };
    let l3 = &frame[off..];
    match et {
        0x0800 => {
            if l3.len() < 20 {
                return Err(Malformed);
            }
            let ihl = (l3[0] & 0xf) as usize * 4;
            if ihl < 20 || l3.len() < ihl {
                return Err(Malformed);
            }
            k.nw_tos = l3[1];
            k.nw_ttl = l3[8];
            k.nw_proto = l3[9];
            k.nw_src.copy_from_slice(&l3[12..16]);
            k.nw_dst.copy_from_slice(&l3[16..20]);
            let frag = u16::from_be_bytes([l3[6], l3[7]]);
            if frag & 0x3fff != 0 {
                k.nw_frag = packet::flow::FLOW_NW_FRAG_ANY;
                if frag & 0x1fff != 0 {
                    k.nw_frag |= packet::flow::FLOW_NW_FRAG_LATER;
                    return Ok(k);
                }
            }
            let l4 = &l3[ihl..];
            match k.nw_proto {
                6 if l4.len() >= 20 => {
                    k.tp_src = u16::from_be_bytes([l4[0], l4[1]]);
                    k.tp_dst = u16::from_be_bytes([l4[2], l4[3]]);
                    k.tcp_flags = u16::from_be_bytes([l4[12], l4[13]]) & 0x0fff;
                }
                17 if l4.len() >= 8 => {
                    k.tp_src = u16::from_be_bytes([l4[0], l4[1]]);
                    k.tp_dst = u16::from_be_bytes([l4[2], l4[3]]);
                }
                1 if l4.len() >= 2 => {
                    k.tp_src = l4[0] as u16;
                    k.tp_dst = l4[1] as u16;
                }
                _ => {}
            }
        }
        0x0806 if l3.len() >= 28 => {
            k.nw_proto = l3[7];
            k.arp_sha.copy_from_slice(&l3[8..14]);
            k.nw_src.copy_from_slice(&l3[14..18]);
            k.arp_tha.copy_from_slice(&l3[18..24]);
            k.nw_dst.copy_from_slice(&l3[24..28]);
        }
        0x86dd => {
            if l3.len() < 40 {
                return Err(Malformed);
            }
            k.nw_proto = l3[6];
            k.nw_ttl = l3[7];
            k.ipv6_src.copy_from_slice(&l3[8..24]);
            k.ipv6_dst.copy_from_slice(&l3[24..40]);
        }
        _ => {}
    }
    Ok(k)
}

/// TODO(packet): stand-in for `packet::checksum::complete_partial_csum`:
/// finishes a partial (pseudo-header seeded) checksum over
/// `frame[csum_start..]` and stores it at `csum_start + csum_offset`.
/// Out-of-range offsets leave the frame unchanged.
pub fn complete_partial_csum(frame: &mut [u8], csum_start: usize, csum_offset: usize) {
    let at = csum_start + csum_offset;
    if csum_start >= frame.len() || at + 2 > frame.len() {
        return;
    }
    let mut sum: u32 = 0;
    let data = &frame[csum_start..];
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = chunks.remainder() {
        sum += (*b as u32) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let mut c = !(sum as u16);
    if c == 0 {
        c = 0xffff; // UDP: 0 means "no checksum"; 0xffff is equivalent for TCP
    }
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

/// TODO(packet): stand-in for `packet::odp::format_odp_flow`.
pub fn format_odp_flow(
    key: &FlowKey,
    mask: &FlowKey,
    port_name: &dyn Fn(u32) -> Option<String>,
) -> String {
    let _ = port_name;
    let mac = |m: &[u8; 6]| {
        m.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let mut s = format!(
        "recirc_id({}),in_port({}),packet_type(ns=0,id=0)",
        key.recirc_id, key.in_port
    );
    if mask.dl_src != [0; 6] || mask.dl_dst != [0; 6] {
        s += &format!(",eth(src={},dst={})", mac(&key.dl_src), mac(&key.dl_dst));
    }
    if mask.dl_type != 0 {
        s += &format!(",eth_type(0x{:04x})", key.dl_type);
    }
    s
}
