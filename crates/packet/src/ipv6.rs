//! IPv6 headers (RFC 8200) and the walk over extension headers.
//!
//! [`Packet::new_checked`] enforces: at least 40 bytes and a payload length
//! within the bytes present (trailing Ethernet padding is allowed and excluded
//! from [`Packet::payload`]). [`walk_ext_headers`] skips hop-by-hop, routing,
//! destination-options, AH and fragment headers to find the upper-layer
//! protocol and the fragment bits, with Open vSwitch's semantics
//! (`parse_ipv6_ext_hdrs` in lib/flow.c): a non-first fragment stops the walk
//! and reports protocol 44 (fragment).

use core::fmt;
use std::net::Ipv6Addr;

use crate::bytes::{arr16, be16, be32, put16, put32};
use crate::flow::{FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER};
use crate::ip::{protocol, Ipv6Text};
use crate::Malformed;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// Length of the fixed IPv6 header, in bytes.
pub const HEADER_LEN: usize = 40;
/// Flow label bits of the first word.
pub const LABEL_MASK: u32 = 0x000f_ffff;

/// A checked view of an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` and checks its lengths. Errors:
    /// [`Malformed::Ipv6Truncated`] (< 40 bytes), [`Malformed::Ipv6PayloadLen`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Malformed> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The length checks of [`new_checked`](Self::new_checked).
    pub fn check_len(&self) -> Result<(), Malformed> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::Ipv6Truncated);
        }
        if self.payload_len() as usize > b.len() - HEADER_LEN {
            return Err(Malformed::Ipv6PayloadLen);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn word0(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::VER_TC_FLOW])
    }
    /// Version (6).
    pub fn version(&self) -> u8 {
        (self.word0() >> 28) as u8
    }
    /// Traffic class (DSCP/ECN), as OVS's `nw_tos`.
    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }
    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        self.word0() & LABEL_MASK
    }
    /// Payload length in bytes (extension headers included).
    pub fn payload_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }
    /// Next header of the fixed header.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }
    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(arr16(&self.buffer.as_ref()[field::SRC_ADDR]))
    }
    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(arr16(&self.buffer.as_ref()[field::DST_ADDR]))
    }
    /// The payload (40 .. 40 + payload length; padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + self.payload_len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version, traffic class and flow label at once.
    pub fn set_version_tc_label(&mut self, version: u8, tc: u8, label: u32) {
        let w = ((version as u32) << 28) | ((tc as u32) << 20) | (label & LABEL_MASK);
        put32(&mut self.buffer.as_mut()[field::VER_TC_FLOW], w)
    }
    /// Sets the payload length.
    pub fn set_payload_len(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::LENGTH], v)
    }
    /// Sets the next header.
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[field::NXT_HDR] = v
    }
    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v
    }
    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets())
    }
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets())
    }
    /// The mutable payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let e = HEADER_LEN + self.payload_len() as usize;
        &mut self.buffer.as_mut()[HEADER_LEN..e]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "IPv6 src={} dst={} nxt={} tclass=0x{:02x} label=0x{:05x} hlim={} plen={}",
            Ipv6Text(&self.src_addr().octets()),
            Ipv6Text(&self.dst_addr().octets()),
            self.next_header(),
            self.traffic_class(),
            self.flow_label(),
            self.hop_limit(),
            self.payload_len()
        )
    }
}

/// A parsed fixed IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header of the fixed header.
    pub next_header: u8,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Repr {
    /// Reads the fixed header. Errors: those of `new_checked`, and
    /// [`Malformed::Ipv6Version`].
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Malformed> {
        p.check_len()?;
        if p.version() != 6 {
            return Err(Malformed::Ipv6Version);
        }
        Ok(Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: p.payload_len() as usize,
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
        })
    }

    /// Header length emitted (40 bytes).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 40-byte fixed header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_version_tc_label(6, self.traffic_class, self.flow_label);
        p.set_payload_len(self.payload_len as u16);
        p.set_next_header(self.next_header);
        p.set_hop_limit(self.hop_limit);
        p.set_src_addr(self.src_addr);
        p.set_dst_addr(self.dst_addr);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "IPv6 src={} dst={} nxt={} hlim={} plen={}",
            Ipv6Text(&self.src_addr.octets()),
            Ipv6Text(&self.dst_addr.octets()),
            self.next_header,
            self.hop_limit,
            self.payload_len
        )
    }
}

/// A checked view of a generic extension header (hop-by-hop, routing,
/// destination options: next header, then length in 8-byte units not
/// counting the first 8).
#[derive(Debug, Clone)]
pub struct ExtHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ExtHeader<T> {
    /// Wraps `buffer`, checking it holds the whole header.
    /// Errors: [`Malformed::Ipv6ExtTruncated`].
    pub fn new_checked(buffer: T) -> Result<ExtHeader<T>, Malformed> {
        let h = ExtHeader { buffer };
        let b = h.buffer.as_ref();
        if b.len() < 8 || b.len() < h.header_len() {
            return Err(Malformed::Ipv6ExtTruncated);
        }
        Ok(h)
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    /// Whole header length in bytes ((len + 1) * 8).
    pub fn header_len(&self) -> usize {
        (self.buffer.as_ref()[1] as usize + 1) * 8
    }
    /// Option bytes after the first two.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[2..self.header_len()]
    }
}

/// Length of the IPv6 fragment header, in bytes.
pub const FRAG_HEADER_LEN: usize = 8;

/// A checked view of the IPv6 fragment header (RFC 8200 §4.5).
#[derive(Debug, Clone)]
pub struct FragmentHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> FragmentHeader<T> {
    /// Wraps `buffer`, checking it holds 8 bytes. Errors: [`Malformed::Ipv6ExtTruncated`].
    pub fn new_checked(buffer: T) -> Result<FragmentHeader<T>, Malformed> {
        if buffer.as_ref().len() < FRAG_HEADER_LEN {
            return Err(Malformed::Ipv6ExtTruncated);
        }
        Ok(FragmentHeader { buffer })
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    /// The raw offset/flags word (offset << 3 | M).
    pub fn offset_flags(&self) -> u16 {
        be16(&self.buffer.as_ref()[2..4])
    }
    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        self.offset_flags() & 0xfff8
    }
    /// M (more fragments) flag.
    pub fn more_frags(&self) -> bool {
        self.offset_flags() & 1 != 0
    }
    /// Identification.
    pub fn ident(&self) -> u32 {
        be32(&self.buffer.as_ref()[4..8])
    }
}

/// Result of [`walk_ext_headers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    /// The upper-layer protocol (or the first header not understood; 44 for a
    /// non-first fragment, as OVS reports).
    pub protocol: u8,
    /// `FLOW_NW_FRAG_*` bits.
    pub frag: u8,
    /// Offset of the upper-layer header from the start of the IPv6 payload.
    pub offset: usize,
}

/// Walks the extension headers at the start of `payload` (the IPv6 payload),
/// starting from the fixed header's `next_header`.
///
/// Skips hop-by-hop, routing and destination options ((len+1)*8 bytes), AH
/// ((len+2)*4 bytes) and fragment headers (8 bytes). A fragment header with a
/// non-zero offset sets `FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER` and stops with
/// protocol 44; with offset 0 and M set it sets `FLOW_NW_FRAG_ANY` and goes on;
/// an all-zero offset/M word (atomic fragment) sets nothing (OVS semantics).
///
/// Errors: [`Malformed::Ipv6ExtTruncated`] when a header runs past `payload`.
pub fn walk_ext_headers(next_header: u8, payload: &[u8]) -> Result<UpperLayer, Malformed> {
    let mut proto = next_header;
    let mut ofs = 0usize;
    let mut frag = 0u8;
    loop {
        let len = match proto {
            protocol::HOPOPTS
            | protocol::ROUTING
            | protocol::DSTOPTS
            | protocol::AH
            | protocol::FRAGMENT => {
                let rest = payload.get(ofs..).unwrap_or(&[]);
                if rest.len() < 8 {
                    return Err(Malformed::Ipv6ExtTruncated);
                }
                match proto {
                    protocol::AH => (rest[1] as usize + 2) * 4,
                    protocol::FRAGMENT => FRAG_HEADER_LEN,
                    _ => (rest[1] as usize + 1) * 8,
                }
            }
            _ => {
                return Ok(UpperLayer {
                    protocol: proto,
                    frag,
                    offset: ofs,
                })
            }
        };
        let rest = &payload[ofs..];
        if rest.len() < len {
            return Err(Malformed::Ipv6ExtTruncated);
        }
        let is_frag = proto == protocol::FRAGMENT;
        proto = rest[0];
        ofs += len;
        if is_frag {
            let offlg = be16(&rest[2..4]);
            if offlg != 0 {
                frag = FLOW_NW_FRAG_ANY;
                if offlg & 0xfff8 != 0 {
                    frag |= FLOW_NW_FRAG_LATER;
                    return Ok(UpperLayer {
                        protocol: protocol::FRAGMENT,
                        frag,
                        offset: ofs,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk() {
        // hop-by-hop (8 bytes, next = dstopts), dstopts (16 bytes, next = TCP).
        let mut p = vec![60u8, 0, 0, 0, 0, 0, 0, 0, 6, 1];
        p.resize(24, 0);
        p.extend_from_slice(&[0u8; 20]);
        let u = walk_ext_headers(protocol::HOPOPTS, &p).unwrap();
        assert_eq!(
            u,
            UpperLayer {
                protocol: 6,
                frag: 0,
                offset: 24
            }
        );
        assert_eq!(
            walk_ext_headers(protocol::HOPOPTS, &p[..20]),
            Err(Malformed::Ipv6ExtTruncated)
        );
        assert_eq!(
            walk_ext_headers(protocol::HOPOPTS, &p[..7]),
            Err(Malformed::Ipv6ExtTruncated)
        );

        // First fragment (offset 0, M=1) of UDP, then a later one.
        let first = [17u8, 0, 0, 1, 0, 0, 0, 9];
        assert_eq!(
            walk_ext_headers(44, &first).unwrap(),
            UpperLayer {
                protocol: 17,
                frag: 1,
                offset: 8
            }
        );
        let later = [17u8, 0, 0x05, 0xa8, 0, 0, 0, 9];
        assert_eq!(
            walk_ext_headers(44, &later).unwrap(),
            UpperLayer {
                protocol: 44,
                frag: 3,
                offset: 8
            }
        );
        let atomic = [17u8, 0, 0, 0, 0, 0, 0, 9];
        assert_eq!(
            walk_ext_headers(44, &atomic).unwrap(),
            UpperLayer {
                protocol: 17,
                frag: 0,
                offset: 8
            }
        );
        let fh = FragmentHeader::new_checked(&later[..]).unwrap();
        assert_eq!(
            (fh.frag_offset(), fh.more_frags(), fh.ident()),
            (1448, false, 9)
        );
    }

    #[test]
    fn lengths_and_roundtrip() {
        let r = Repr {
            src_addr: "fe80::1".parse().unwrap(),
            dst_addr: "ff02::1:ff00:2".parse().unwrap(),
            next_header: 58,
            payload_len: 32,
            hop_limit: 255,
            traffic_class: 0xb8,
            flow_label: 0x12345,
        };
        let mut b = [0u8; 72];
        r.emit(&mut Packet::new_unchecked(&mut b[..]));
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), r);
        assert_eq!(
            Packet::new_checked(&b[..39]).unwrap_err(),
            Malformed::Ipv6Truncated
        );
        assert_eq!(
            Packet::new_checked(&b[..71]).unwrap_err(),
            Malformed::Ipv6PayloadLen
        );
    }
}
