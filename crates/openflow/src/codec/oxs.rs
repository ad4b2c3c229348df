//! OpenFlow 1.5 flow statistics as OXS TLVs (`struct ofp_stats`, OpenFlow
//! 1.5.1 §7.2.4): flow descriptions, aggregate replies and flow_removed
//! carry their counters this way instead of fixed fields.
//!
//! Idea: an `ofp_stats` is `reserved:16, length:16` (length counts this
//! 4-byte header and the TLVs, not the padding), then OXS TLVs, then zero
//! padding to a multiple of 8. Each TLV header is `class:16` (0x8002 =
//! OFPXSC_OPENFLOW_BASIC), `field:7, reserved:1`, `length:8`, followed by
//! the value. The fields: duration (0, 64 bits: seconds << 32 |
//! nanoseconds), idle_time (1, same encoding), flow_count (3, 32 bits),
//! packet_count (4, 64 bits), byte_count (5, 64 bits).
//!
//! Invariants: decoding checks every length and rejects unknown classes or
//! fields (`OFPBMC_BAD_FIELD`, as OVS's `oxs_pull_stat`), repeated fields
//! (`OFPBMC_DUP_FIELD`) and a value length other than the field's
//! (`OFPBRC_BAD_LEN`). Encoding writes fields in OVS's order (duration,
//! idle_time, packet_count, byte_count, flow_count is written after the
//! counts for aggregates), so replies are byte-identical to Open vSwitch
//! 3.1's. Not on a fast path.

use super::buf::{round8, Rd, Wr};
use crate::error::OfpError;

/// OXS class OFPXSC_OPENFLOW_BASIC.
const OFPXSC_OPENFLOW_BASIC: u16 = 0x8002;
/// OXS field numbers (OpenFlow 1.5.1 §7.2.4.1, `enum oxs_ofb_stat_fields`).
const OFPXST_OFB_DURATION: u8 = 0;
const OFPXST_OFB_IDLE_TIME: u8 = 1;
const OFPXST_OFB_FLOW_COUNT: u8 = 3;
const OFPXST_OFB_PACKET_COUNT: u8 = 4;
const OFPXST_OFB_BYTE_COUNT: u8 = 5;

/// The statistics an `ofp_stats` may carry; `None` = field absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OxsStats {
    /// Time since the flow was installed: (seconds, nanoseconds).
    pub duration: Option<(u32, u32)>,
    /// Time since the flow last matched a packet: (seconds, nanoseconds).
    pub idle_time: Option<(u32, u32)>,
    /// Number of flows (aggregates).
    pub flow_count: Option<u32>,
    /// Packets.
    pub packet_count: Option<u64>,
    /// Bytes.
    pub byte_count: Option<u64>,
}

fn put_header(out: &mut Vec<u8>, field: u8, len: u8) {
    out.u16(OFPXSC_OPENFLOW_BASIC);
    out.u8(field << 1);
    out.u8(len);
}

fn put_time(out: &mut Vec<u8>, field: u8, (sec, nsec): (u32, u32)) {
    put_header(out, field, 8);
    out.u32(sec);
    out.u32(nsec);
}

/// Appends `s` as an `ofp_stats` with its padding to 8 bytes.
pub(crate) fn encode_stats(s: &OxsStats, out: &mut Vec<u8>) {
    let start = out.len();
    out.u16(0);
    out.u16(0);
    if let Some(d) = s.duration {
        put_time(out, OFPXST_OFB_DURATION, d);
    }
    if let Some(d) = s.idle_time {
        put_time(out, OFPXST_OFB_IDLE_TIME, d);
    }
    if let Some(n) = s.packet_count {
        put_header(out, OFPXST_OFB_PACKET_COUNT, 8);
        out.u64(n);
    }
    if let Some(n) = s.byte_count {
        put_header(out, OFPXST_OFB_BYTE_COUNT, 8);
        out.u64(n);
    }
    if let Some(n) = s.flow_count {
        put_header(out, OFPXST_OFB_FLOW_COUNT, 4);
        out.u32(n);
    }
    let len = out.len() - start;
    // At most 4 + 4 * 12 + 8 bytes: always fits.
    out.set_u16(start + 2, len as u16);
    out.zeros(round8(len) - len);
}

/// Reads an `ofp_stats` and its padding from `r`.
///
/// Errors: `OFPBRC_BAD_LEN` for a length under 4, beyond the message, or a
/// TLV whose length is not its field's; `OFPBMC_BAD_FIELD` for an unknown
/// class or field; `OFPBMC_DUP_FIELD` for a field given twice.
pub(crate) fn decode_stats(r: &mut Rd) -> Result<OxsStats, OfpError> {
    let bad_len = OfpError::BAD_REQUEST_BAD_LEN;
    let len = usize::from(r.peek_u16(2)?);
    if len < 4 || round8(len) > r.len() {
        return Err(bad_len);
    }
    let mut body = r.sub(len, bad_len)?;
    r.skip(round8(len) - len)?;
    body.skip(4)?;
    let mut s = OxsStats::default();
    while !body.is_empty() {
        let class = body.u16()?;
        let field = body.u8()?;
        let n = body.u8()?;
        if class != OFPXSC_OPENFLOW_BASIC || field & 1 != 0 {
            return Err(OfpError::BAD_MATCH_BAD_FIELD);
        }
        let want = match field >> 1 {
            OFPXST_OFB_FLOW_COUNT => 4,
            OFPXST_OFB_DURATION
            | OFPXST_OFB_IDLE_TIME
            | OFPXST_OFB_PACKET_COUNT
            | OFPXST_OFB_BYTE_COUNT => 8,
            _ => return Err(OfpError::BAD_MATCH_BAD_FIELD),
        };
        if n != want {
            return Err(bad_len);
        }
        let dup = OfpError::BAD_MATCH_DUP_FIELD;
        match field >> 1 {
            OFPXST_OFB_DURATION => {
                let v = (body.u32()?, body.u32()?);
                s.duration.replace(v).map_or(Ok(()), |_| Err(dup))?;
            }
            OFPXST_OFB_IDLE_TIME => {
                let v = (body.u32()?, body.u32()?);
                s.idle_time.replace(v).map_or(Ok(()), |_| Err(dup))?;
            }
            OFPXST_OFB_FLOW_COUNT => {
                let v = body.u32()?;
                s.flow_count.replace(v).map_or(Ok(()), |_| Err(dup))?;
            }
            OFPXST_OFB_PACKET_COUNT => {
                let v = body.u64()?;
                s.packet_count.replace(v).map_or(Ok(()), |_| Err(dup))?;
            }
            _ => {
                let v = body.u64()?;
                s.byte_count.replace(v).map_or(Ok(()), |_| Err(dup))?;
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: OxsStats) -> OxsStats {
        let mut out = Vec::new();
        encode_stats(&s, &mut out);
        assert_eq!(out.len() % 8, 0);
        let mut r = Rd::new(&out, OfpError::BAD_REQUEST_BAD_LEN);
        let d = decode_stats(&mut r).unwrap();
        assert!(r.is_empty());
        d
    }

    #[test]
    fn encode_decode_every_field() {
        let s = OxsStats {
            duration: Some((9, 930_000_000)),
            idle_time: Some((4, 0)),
            flow_count: Some(3),
            packet_count: Some(2),
            byte_count: Some(108),
        };
        assert_eq!(roundtrip(s), s);
        assert_eq!(roundtrip(OxsStats::default()), OxsStats::default());
    }

    #[test]
    fn bad_stats_are_refused() {
        let dec = |h: &str| {
            let b = hex::decode(h).unwrap();
            decode_stats(&mut Rd::new(&b, OfpError::BAD_REQUEST_BAD_LEN))
        };
        // Length under the header's 4 bytes, and beyond the buffer.
        assert_eq!(dec("0000000300000000"), Err(OfpError::BAD_REQUEST_BAD_LEN));
        assert_eq!(dec("0000001000000000"), Err(OfpError::BAD_REQUEST_BAD_LEN));
        // Unknown field 2, wrong class, wrong value length, repeated field.
        assert_eq!(
            dec("0000000c800204040000000000000000"),
            Err(OfpError::BAD_MATCH_BAD_FIELD)
        );
        assert_eq!(
            dec("0000000c800306040000000300000000"),
            Err(OfpError::BAD_MATCH_BAD_FIELD)
        );
        assert_eq!(
            dec("0000000c800206080000000300000000"),
            Err(OfpError::BAD_REQUEST_BAD_LEN)
        );
        assert_eq!(
            dec("000000148002060400000003800206040000000300000000"),
            Err(OfpError::BAD_MATCH_DUP_FIELD)
        );
    }
}
