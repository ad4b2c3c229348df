//! The OpenFlow wire codec: bytes ↔ ([`OfpHeader`], [`OfpMessage`]) for
//! OpenFlow 1.0 (+ Nicira extensions), 1.3, 1.4 and 1.5.
//!
//! Idea: one `decode` that checks the header (length, version, type) and
//! then reads the body through a bounds-checked cursor, so malformed input
//! becomes the spec's `OFPT_ERROR` type/code ([`OfpError`]) and never a
//! panic; one `encode` that writes the body for the requested version and
//! patches the header length. Connection state that changes how bytes are
//! read (OF1.0 `NXT_FLOW_MOD_TABLE_ID`) is passed in [`CodecOptions`].
//! Multipart replies are not split here: a caller with more than ~64 KiB of
//! reply body sends several replies with [`crate::msg::OFPMPF_MORE`].

mod actions;
mod buf;
mod matches;
mod msgs;
mod oxs;

pub use actions::{
    check_encodable, decode_actions, decode_instructions, encode_actions, encode_instructions,
    ActCtx,
};
pub use matches::{
    decode_tlvs, encode_oxm_match, encode_tlvs, of10_expressible, ofpfw10, MatchFormat,
    OFP10_MATCH_LEN, OFP10_VLAN_NONE,
};
pub use msgs::{decode_match_of10, encode_match_of10};

use crate::error::OfpError;
use crate::msg::*;
use buf::Rd;

/// Per-connection settings that change the wire form of some messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodecOptions {
    /// OF1.0 NXT_FLOW_MOD_TABLE_ID enabled: the flow_mod `command` high byte is the table.
    pub flow_mod_table_id: bool,
}

/// Reads the 8-byte header.
///
/// Errors: `OFPBRC_BAD_LEN` if fewer than 8 bytes or `length` < 8.
pub fn decode_header(bytes: &[u8]) -> Result<OfpHeader, OfpError> {
    let mut r = Rd::new(bytes, OfpError::BAD_REQUEST_BAD_LEN);
    let h = OfpHeader {
        version: r.u8()?,
        type_: r.u8()?,
        length: r.u16()?,
        xid: r.u32()?,
    };
    if usize::from(h.length) < OFP_HEADER_LEN {
        return Err(OfpError::BAD_REQUEST_BAD_LEN);
    }
    Ok(h)
}

/// Framing helper: the total length of the message starting at `bytes`
/// once its header is available (`None` if fewer than 8 bytes).
pub fn message_len(bytes: &[u8]) -> Option<usize> {
    (bytes.len() >= OFP_HEADER_LEN).then(|| usize::from(u16::from_be_bytes([bytes[2], bytes[3]])))
}

/// Decodes one complete message (`bytes.len()` must equal the header length)
/// with default options (OF1.0 flow_mod table-id extension off).
pub fn decode(bytes: &[u8]) -> Result<(OfpHeader, OfpMessage), OfpError> {
    decode_with(bytes, &CodecOptions::default())
}

/// Decodes one complete message.
///
/// Errors: `OFPBRC_BAD_LEN` (short, or length field ≠ `bytes.len()`, or a
/// body of the wrong size), `OFPBRC_BAD_VERSION` (not 1.0/1.3/1.4/1.5; HELLO
/// of any version is accepted), `OFPBRC_BAD_TYPE`, `OFPBRC_BAD_MULTIPART`,
/// `OFPBRC_BAD_EXPERIMENTER`/`BAD_EXP_TYPE`, match/action/instruction errors
/// of the body, `OFPFMFC_BAD_COMMAND`, `OFPFMFC_BAD_FLAGS`.
pub fn decode_with(bytes: &[u8], opts: &CodecOptions) -> Result<(OfpHeader, OfpMessage), OfpError> {
    let h = decode_header(bytes)?;
    if usize::from(h.length) != bytes.len() {
        return Err(OfpError::BAD_REQUEST_BAD_LEN);
    }
    if h.type_ != 0 && SUPPORTED_VERSIONS & (1u32 << (h.version & 31)) == 0
        || h.version == 0
        || h.version > 31
    {
        return Err(OfpError::BAD_REQUEST_BAD_VERSION);
    }
    let body = Rd::new(&bytes[OFP_HEADER_LEN..], OfpError::BAD_REQUEST_BAD_LEN);
    let msg = msgs::decode_body(&h, body, opts)?;
    Ok((h, msg))
}

/// Encodes `msg` as OpenFlow `version` with transaction id `xid`.
pub fn encode(version: u8, xid: u32, msg: &OfpMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    encode_into(version, xid, msg, &CodecOptions::default(), &mut out);
    out
}

/// Appends the encoding of `msg` to `out` (allows buffer reuse). Parts of a
/// message the version cannot express are left out (see
/// [`check_encodable`]); the length field is patched at the end (a body
/// over 65535 bytes is the caller's to split).
pub fn encode_into(
    version: u8,
    xid: u32,
    msg: &OfpMessage,
    opts: &CodecOptions,
    out: &mut Vec<u8>,
) {
    use buf::Wr;
    let start = out.len();
    out.u8(version);
    out.u8(0);
    out.u16(0);
    out.u32(xid);
    let type_ = msgs::encode_body(version, msg, opts, out);
    out[start + 1] = type_;
    let len = (out.len() - start).min(0xffff) as u16;
    out.set_u16(start + 2, len);
}

/// Picks the version for a connection from our version bitmap and the
/// peer's HELLO (header version `peer_version`): the highest version in
/// both; a HELLO without bitmap means "every version up to `peer_version`"
/// (OpenFlow 1.3.5 §6.3.1).
///
/// Errors: `OFPHFC_INCOMPATIBLE` when there is no common version.
pub fn negotiate(our_bitmap: u32, peer_version: u8, hello: &Hello) -> Result<u8, OfpError> {
    let peer = match hello.version_bitmap {
        Some(b) => b,
        None => {
            let v = u32::from(peer_version.min(31));
            ((1u32 << (v + 1)) - 1) & !1
        }
    };
    let common = our_bitmap & peer & !1;
    if common == 0 {
        return Err(OfpError::HELLO_FAILED_INCOMPATIBLE);
    }
    Ok((31 - common.leading_zeros()) as u8)
}

/// The HELLO to send for `our_bitmap`: header version = highest version,
/// with a VERSIONBITMAP element unless the bitmap is every version from 1.0
/// up to it (as OVS). Returns (header version, message).
pub fn hello_for(our_bitmap: u32) -> (u8, OfpMessage) {
    let top = (31 - (our_bitmap | 2).leading_zeros()) as u8;
    let all_below = ((1u32 << (top + 1)) - 1) & !1;
    let bitmap = (our_bitmap != all_below).then_some(our_bitmap);
    (
        top,
        OfpMessage::Hello(Hello {
            version_bitmap: bitmap,
        }),
    )
}

#[cfg(test)]
mod tests;
