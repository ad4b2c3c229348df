//! IPv4 headers (RFC 791).
//!
//! [`Packet::new_checked`] enforces the rules a switch drops on: at least 20
//! bytes, IHL ≥ 5 and within the buffer, total length ≥ IHL*4 and ≤ the bytes
//! present (trailing Ethernet padding is allowed and excluded from
//! [`Packet::payload`]). The version is checked by [`Repr::parse`].

use core::fmt;
use std::net::Ipv4Addr;

use crate::bytes::{arr4, be16, put16};
use crate::checksum;
use crate::Malformed;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// Length of an IPv4 header without options, in bytes.
pub const HEADER_LEN: usize = 20;
/// "More fragments" flag in the flags/fragment-offset word.
pub const FLAG_MF: u16 = 0x2000;
/// "Don't fragment" flag in the flags/fragment-offset word.
pub const FLAG_DF: u16 = 0x4000;
/// Fragment offset bits (in 8-byte units) of the flags/fragment-offset word.
pub const FRAG_OFF_MASK: u16 = 0x1fff;

/// A checked view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` and checks its lengths.
    ///
    /// Errors: [`Malformed::Ipv4Truncated`] (< 20 bytes or < IHL*4),
    /// [`Malformed::Ipv4HeaderLen`] (IHL < 5), [`Malformed::Ipv4TotalLenShort`],
    /// [`Malformed::Ipv4TotalLenLong`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Malformed> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The length checks of [`new_checked`](Self::new_checked).
    pub fn check_len(&self) -> Result<(), Malformed> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::Ipv4Truncated);
        }
        let ihl = self.header_len() as usize;
        if ihl < HEADER_LEN {
            return Err(Malformed::Ipv4HeaderLen);
        }
        if b.len() < ihl {
            return Err(Malformed::Ipv4Truncated);
        }
        let tot = self.total_len() as usize;
        if tot < ihl {
            return Err(Malformed::Ipv4TotalLenShort);
        }
        if tot > b.len() {
            return Err(Malformed::Ipv4TotalLenLong);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field (4 for IPv4).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }
    /// Header length in bytes (IHL * 4).
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }
    /// The TOS byte (DSCP << 2 | ECN).
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }
    /// DSCP (6 bits).
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }
    /// ECN (2 bits).
    pub fn ecn(&self) -> u8 {
        self.tos() & 3
    }
    /// Total length in bytes (header + payload).
    pub fn total_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }
    /// Identification.
    pub fn ident(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::IDENT])
    }
    /// The raw flags/fragment-offset word.
    pub fn flags_frag_off(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::FLG_OFF])
    }
    /// DF flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_frag_off() & FLAG_DF != 0
    }
    /// MF flag.
    pub fn more_frags(&self) -> bool {
        self.flags_frag_off() & FLAG_MF != 0
    }
    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (self.flags_frag_off() & FRAG_OFF_MASK) << 3
    }
    /// Whether this is a fragment (MF set or offset ≠ 0).
    pub fn is_fragment(&self) -> bool {
        self.flags_frag_off() & (FLAG_MF | FRAG_OFF_MASK) != 0
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }
    /// Protocol number ([`crate::ip::protocol`]).
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }
    /// Header checksum as stored.
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }
    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(arr4(&self.buffer.as_ref()[field::SRC_ADDR]))
    }
    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(arr4(&self.buffer.as_ref()[field::DST_ADDR]))
    }
    /// Options bytes (between byte 20 and IHL*4).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len() as usize]
    }
    /// Whether the header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::sum16(&self.buffer.as_ref()[..self.header_len() as usize]) == 0xffff
    }
    /// The payload: from IHL*4 to the total length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len() as usize..self.total_len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version (4 bits) and header length in bytes (multiple of 4).
    pub fn set_version_and_header_len(&mut self, version: u8, header_len: u8) {
        self.buffer.as_mut()[field::VER_IHL] = (version << 4) | ((header_len / 4) & 0x0f)
    }
    /// Sets the TOS byte.
    pub fn set_tos(&mut self, v: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = v
    }
    /// Sets the total length.
    pub fn set_total_len(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::LENGTH], v)
    }
    /// Sets the identification.
    pub fn set_ident(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::IDENT], v)
    }
    /// Sets the raw flags/fragment-offset word.
    pub fn set_flags_frag_off(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::FLG_OFF], v)
    }
    /// Sets the TTL.
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v
    }
    /// Sets the protocol.
    pub fn set_protocol(&mut self, v: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = v
    }
    /// Sets the stored checksum.
    pub fn set_checksum(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::CHECKSUM], v)
    }
    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets())
    }
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets())
    }
    /// Recomputes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hl = self.header_len() as usize;
        let c = checksum::checksum(&self.buffer.as_ref()[..hl]);
        self.set_checksum(c)
    }
    /// The mutable payload (IHL*4 .. total length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (s, e) = (self.header_len() as usize, self.total_len() as usize);
        &mut self.buffer.as_mut()[s..e]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "IPv4 src={} dst={} proto={} tos=0x{:02x} ttl={} len={} id={} off={}{}{}",
            self.src_addr(),
            self.dst_addr(),
            self.protocol(),
            self.tos(),
            self.ttl(),
            self.total_len(),
            self.ident(),
            self.frag_offset(),
            if self.more_frags() { " MF" } else { "" },
            if self.dont_frag() { " DF" } else { "" },
        )
    }
}

/// A parsed IPv4 header (options are not modelled; emit writes IHL 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol number.
    pub protocol: u8,
    /// Payload length in bytes (total length − header length).
    pub payload_len: usize,
    /// TTL.
    pub ttl: u8,
    /// TOS byte (DSCP/ECN).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Raw flags/fragment-offset word (DF/MF and offset in 8-byte units).
    pub flags_frag_off: u16,
}

impl Repr {
    /// Reads the header. Errors: those of `new_checked`, and
    /// [`Malformed::Ipv4Version`]. The checksum is not verified (see
    /// [`Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Malformed> {
        p.check_len()?;
        if p.version() != 4 {
            return Err(Malformed::Ipv4Version);
        }
        Ok(Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            protocol: p.protocol(),
            payload_len: p.total_len() as usize - p.header_len() as usize,
            ttl: p.ttl(),
            tos: p.tos(),
            ident: p.ident(),
            flags_frag_off: p.flags_frag_off(),
        })
    }

    /// Header length emitted (20 bytes).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header with a correct checksum. The buffer must hold
    /// at least 20 bytes; the payload is not touched.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_version_and_header_len(4, HEADER_LEN as u8);
        p.set_tos(self.tos);
        p.set_total_len((HEADER_LEN + self.payload_len) as u16);
        p.set_ident(self.ident);
        p.set_flags_frag_off(self.flags_frag_off);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src_addr(self.src_addr);
        p.set_dst_addr(self.dst_addr);
        p.fill_checksum();
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "IPv4 src={} dst={} proto={} tos=0x{:02x} ttl={} payload_len={}",
            self.src_addr, self.dst_addr, self.protocol, self.tos, self.ttl, self.payload_len
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // IPv4 header of an ICMP echo request (10.10.10.1 → .2, DF, TTL 64).
    fn sample() -> Vec<u8> {
        let mut v = hex_bytes("4500005421a240004001f0f00a0a0a010a0a0a02");
        v.extend_from_slice(&[0u8; 64]);
        v
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn parse_emit() {
        let b = sample();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum());
        let r = Repr::parse(&p).unwrap();
        assert_eq!((r.protocol, r.ttl, r.payload_len), (1, 64, 64));
        assert!(p.dont_frag() && !p.is_fragment());
        let mut out = [0u8; 84];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..20], &b[..20]);
    }

    #[test]
    fn length_rules() {
        let b = sample();
        assert_eq!(
            Packet::new_checked(&b[..19]).unwrap_err(),
            Malformed::Ipv4Truncated
        );
        assert_eq!(
            Packet::new_checked(&b[..83]).unwrap_err(),
            Malformed::Ipv4TotalLenLong
        );
        let mut c = b.clone();
        c[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&c[..]).unwrap_err(),
            Malformed::Ipv4HeaderLen
        );
        let mut c = b.clone();
        c[2..4].copy_from_slice(&[0, 19]);
        assert_eq!(
            Packet::new_checked(&c[..]).unwrap_err(),
            Malformed::Ipv4TotalLenShort
        );
        let mut c = b.clone();
        c[0] = 0x65;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&c[..]).unwrap()).unwrap_err(),
            Malformed::Ipv4Version
        );
        let mut pad = b.clone();
        pad.extend_from_slice(&[0; 6]);
        assert_eq!(Packet::new_checked(&pad[..]).unwrap().payload().len(), 64);
    }
}
