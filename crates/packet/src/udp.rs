//! UDP headers (RFC 768).
//!
//! [`Packet::new_checked`] enforces: at least 8 bytes, and a length field of
//! at least 8 that fits in the buffer. Bytes past the length field are
//! excluded from [`Packet::payload`].

use core::fmt;
use std::net::IpAddr;

use crate::bytes::{be16, put16};
use crate::checksum;
use crate::ip::protocol;
use crate::Malformed;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header, in bytes.
pub const HEADER_LEN: usize = 8;

/// A checked view of a UDP datagram.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` and checks it. Errors: [`Malformed::UdpTruncated`],
    /// [`Malformed::UdpLength`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Malformed> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The checks of [`new_checked`](Self::new_checked).
    pub fn check_len(&self) -> Result<(), Malformed> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::UdpTruncated);
        }
        let l = self.len() as usize;
        if l < HEADER_LEN || l > b.len() {
            return Err(Malformed::UdpLength);
        }
        Ok(())
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SRC_PORT])
    }
    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::DST_PORT])
    }
    /// Length field (header + data), in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }
    /// Checksum as stored (0 = none, IPv4 only).
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }
    /// Data (8 .. length).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.len() as usize]
    }
    /// Whether the checksum verifies (a stored 0 counts as valid only for IPv4).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        if self.checksum() == 0 {
            return src.is_ipv4();
        }
        let b = &self.buffer.as_ref()[..self.len() as usize];
        checksum::l4_verify(checksum::pseudo_header(src, dst, protocol::UDP, b.len()), b)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::SRC_PORT], v)
    }
    /// Sets the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::DST_PORT], v)
    }
    /// Sets the length field.
    pub fn set_len(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::LENGTH], v)
    }
    /// Sets the stored checksum.
    pub fn set_checksum(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::CHECKSUM], v)
    }
    /// Computes and stores the checksum over 0 .. length (0 becomes 0xffff).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let b = &self.buffer.as_ref()[..self.len() as usize];
        let c = checksum::l4_checksum(checksum::pseudo_header(src, dst, protocol::UDP, b.len()), b);
        self.set_checksum(checksum::udp_fixup(c))
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "UDP src={} dst={} len={}",
            self.src_port(),
            self.dst_port(),
            self.len()
        )
    }
}

/// A parsed UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Data length in bytes (length field − 8).
    pub payload_len: usize,
}

impl Repr {
    /// Reads the header. Errors: those of `new_checked`.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Malformed> {
        p.check_len()?;
        Ok(Repr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            payload_len: p.len() as usize - HEADER_LEN,
        })
    }

    /// Header length emitted (8 bytes).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with a zero checksum (see [`Packet::fill_checksum`]).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_len((HEADER_LEN + self.payload_len) as u16);
        p.set_checksum(0);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "UDP src={} dst={} payload_len={}",
            self.src_port, self.dst_port, self.payload_len
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_roundtrip() {
        let r = Repr {
            src_port: 5353,
            dst_port: 53,
            payload_len: 4,
        };
        let mut b = [0u8; 14];
        b[8..12].copy_from_slice(b"ping");
        let mut p = Packet::new_unchecked(&mut b[..]);
        r.emit(&mut p);
        let (s, d): (IpAddr, IpAddr) = ("fe80::1".parse().unwrap(), "fe80::2".parse().unwrap());
        p.fill_checksum(s, d);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum(s, d));
        assert_eq!(p.payload(), b"ping");
        assert_eq!(Repr::parse(&p).unwrap(), r);
        assert_eq!(
            Packet::new_checked(&b[..7]).unwrap_err(),
            Malformed::UdpTruncated
        );
        assert_eq!(
            Packet::new_checked(&b[..11]).unwrap_err(),
            Malformed::UdpLength
        );
        let mut c = b;
        c[4..6].copy_from_slice(&[0, 7]);
        assert_eq!(
            Packet::new_checked(&c[..]).unwrap_err(),
            Malformed::UdpLength
        );
    }
}
