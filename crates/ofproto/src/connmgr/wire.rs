//! The channel's own wire pieces: the OpenFlow header, HELLO with its
//! version bitmap, version negotiation, and OFPT_ERROR encoding.
//!
//! These are the parts of a connection that must work before (or without)
//! a negotiated version, so they are done here with explicit length checks
//! (OpenFlow 1.5.1 §7.1 header, §7.5.1 HELLO, §7.5.4 ERROR; OpenFlow 1.0.0
//! §5.4.4). Everything else goes through the `openflow` codec.

use openflow::error::{OfpError, WireError, NX_VENDOR_ID};
use openflow::msg::{OfpHeader, OFP_HEADER_LEN};

/// OFPT_HELLO type (same number in every version).
pub const OFPT_HELLO: u8 = 0;
/// OFPT_ERROR type (same number in every version).
pub const OFPT_ERROR: u8 = 1;
/// OFPT_ECHO_REQUEST type (same number in every version).
pub const OFPT_ECHO_REQUEST: u8 = 2;
/// OFPT_ECHO_REPLY type (same number in every version).
pub const OFPT_ECHO_REPLY: u8 = 3;
/// OFPHET_VERSIONBITMAP hello element type.
pub const OFPHET_VERSIONBITMAP: u16 = 1;
/// Bytes of the offending request copied into an error reply: the whole
/// request, as Open vSwitch 3.1 sends it (observed: ovs-ofctl decodes the
/// failed request from it), bounded so the reply's 16-bit length fits.
pub const ERROR_DATA_MAX: usize = u16::MAX as usize - 16;

/// Parses the 8-byte OpenFlow header at the start of `buf`; `None` if
/// `buf` is shorter than 8 bytes. The length is not validated here.
pub fn parse_header(buf: &[u8]) -> Option<OfpHeader> {
    let h = buf.get(..OFP_HEADER_LEN)?;
    Some(OfpHeader {
        version: h[0],
        type_: h[1],
        length: u16::from_be_bytes([h[2], h[3]]),
        xid: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
    })
}

fn put_header(out: &mut Vec<u8>, version: u8, type_: u8, xid: u32) {
    out.extend_from_slice(&[version, type_, 0, 0]);
    out.extend_from_slice(&xid.to_be_bytes());
}

/// Sets the header length field of the message in `out` (≤ 65535 bytes).
fn fix_length(out: &mut [u8]) {
    let len = u16::try_from(out.len()).unwrap_or(u16::MAX);
    out[2..4].copy_from_slice(&len.to_be_bytes());
}

/// The highest version in `bitmap` (bit n = wire version n), 0 if empty.
pub fn highest_version(bitmap: u32) -> u8 {
    if bitmap == 0 {
        0
    } else {
        (31 - bitmap.leading_zeros()) as u8
    }
}

/// The bitmap of every version from 1 up to `version` (a HELLO without a
/// bitmap element means this, OpenFlow 1.3.5 §6.3.1).
pub fn versions_up_to(version: u8) -> u32 {
    if version >= 31 {
        !1
    } else {
        ((1u32 << (version + 1)) - 1) & !1
    }
}

/// Encodes our HELLO for the `allowed` versions: the header carries the
/// highest, and a VERSIONBITMAP element is added unless `allowed` is every
/// version from 1.0 up to it (as OVS `ofputil_encode_hello`).
pub fn encode_hello(allowed: u32, xid: u32) -> Vec<u8> {
    let version = highest_version(allowed);
    let mut out = Vec::with_capacity(16);
    put_header(&mut out, version, OFPT_HELLO, xid);
    if allowed != versions_up_to(version) {
        out.extend_from_slice(&OFPHET_VERSIONBITMAP.to_be_bytes());
        out.extend_from_slice(&8u16.to_be_bytes());
        out.extend_from_slice(&allowed.to_be_bytes());
    }
    fix_length(&mut out);
    out
}

/// The versions a peer's HELLO (`msg`, whole message) offers: its bitmap
/// element if present (later elements win, unknown ones are skipped), else
/// every version up to the header version. `None` if the elements are
/// malformed (an element shorter than 4 bytes or running past the end).
pub fn decode_hello_versions(msg: &[u8]) -> Option<u32> {
    let h = parse_header(msg)?;
    let end = usize::from(h.length).min(msg.len());
    let mut body = msg.get(OFP_HEADER_LEN..end)?;
    let mut versions = versions_up_to(h.version);
    while !body.is_empty() {
        if body.len() < 4 {
            return None;
        }
        let type_ = u16::from_be_bytes([body[0], body[1]]);
        let len = usize::from(u16::from_be_bytes([body[2], body[3]]));
        if len < 4 || len > body.len() {
            return None;
        }
        if type_ == OFPHET_VERSIONBITMAP {
            // One or more 32-bit words; we only know versions < 32.
            if let Some(w) = body.get(4..8).filter(|_| len >= 8) {
                versions = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
            } else {
                return None;
            }
        }
        let padded = len.div_ceil(8) * 8;
        body = body.get(padded.min(body.len())..).unwrap_or(&[]);
    }
    Some(versions)
}

/// The version both sides speak: the highest common one, or `None`.
pub fn negotiate(ours: u32, theirs: u32) -> Option<u8> {
    let common = ours & theirs;
    (common != 0).then(|| highest_version(common))
}

/// Formats a version bitmap as OVS does in negotiation messages:
/// `version 0x04` or `versions 0x01, 0x04`.
pub fn format_versions(bitmap: u32) -> String {
    let v: Vec<String> = (0..32)
        .filter(|i| bitmap & (1 << i) != 0)
        .map(|i| format!("0x{i:02x}"))
        .collect();
    match v.len() {
        0 => "no versions".to_string(),
        1 => format!("version {}", v[0]),
        _ => format!("versions {}", v.join(", ")),
    }
}

/// The OFPT_ERROR body text sent when negotiation fails
/// (`We support version 0x04, you support version 0x01, no common versions.`).
pub fn hello_failed_text(ours: u32, theirs: u32) -> String {
    format!(
        "We support {}, you support {}, no common versions.",
        format_versions(ours),
        format_versions(theirs)
    )
}

/// Encodes an OFPT_ERROR of `version` for `error` with `data` (the first
/// bytes of the offending request, already cut, or ASCII text), mapping the
/// error to the version's numbering ([`OfpError::to_wire`]).
pub fn encode_error(version: u8, xid: u32, error: OfpError, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + data.len());
    put_header(&mut out, version, OFPT_ERROR, xid);
    match error.to_wire(version) {
        WireError::Standard { type_, code } => {
            out.extend_from_slice(&type_.to_be_bytes());
            out.extend_from_slice(&code.to_be_bytes());
        }
        WireError::NxVendor { type_, code } => {
            out.extend_from_slice(&openflow::error::NXET_VENDOR.to_be_bytes());
            out.extend_from_slice(&0u16.to_be_bytes());
            out.extend_from_slice(&NX_VENDOR_ID.to_be_bytes());
            out.extend_from_slice(&type_.to_be_bytes());
            out.extend_from_slice(&code.to_be_bytes());
        }
        WireError::Experimenter {
            exp_code,
            experimenter,
        } => {
            out.extend_from_slice(&openflow::error::OFPET12_EXPERIMENTER.to_be_bytes());
            out.extend_from_slice(&exp_code.to_be_bytes());
            out.extend_from_slice(&experimenter.to_be_bytes());
        }
    }
    let room = usize::from(u16::MAX) - out.len();
    out.extend_from_slice(&data[..data.len().min(room)]);
    fix_length(&mut out);
    out
}

/// An error reply to the request `request` (whole message): same version
/// and xid, carrying the request (at most [`ERROR_DATA_MAX`] bytes).
pub fn error_reply(version: u8, request: &[u8], error: OfpError) -> Vec<u8> {
    let xid = parse_header(request).map(|h| h.xid).unwrap_or(0);
    let data = &request[..request.len().min(ERROR_DATA_MAX)];
    encode_error(version, xid, error, data)
}

/// A header-only message (`BARRIER_REPLY`, `FEATURES_REQUEST`…).
pub fn encode_empty(version: u8, type_: u8, xid: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(OFP_HEADER_LEN);
    put_header(&mut out, version, type_, xid);
    fix_length(&mut out);
    out
}

/// An ECHO_REPLY answering the ECHO_REQUEST `request` (payload echoed).
pub fn echo_reply(version: u8, request: &[u8]) -> Vec<u8> {
    let mut out = request.to_vec();
    if out.len() >= OFP_HEADER_LEN {
        out[0] = version;
        out[1] = OFPT_ECHO_REPLY;
        fix_length(&mut out);
    }
    out
}
