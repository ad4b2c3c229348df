//! ICMP for IPv4 (RFC 792).
//!
//! [`Packet`] views the 8-byte header (type, code, checksum, 4 bytes whose
//! meaning depends on the type: identifier and sequence number for echo);
//! [`Repr`] keeps those 4 bytes as `rest_of_header`.

use core::fmt;

use crate::bytes::{be16, be32, put16, put32};
use crate::checksum;
use crate::Malformed;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const REST: Field = 4..8;
    pub const IDENT: Field = 4..6;
    pub const SEQ_NO: Field = 6..8;
}

/// Length of the ICMP header, in bytes (OVS's ICMP_HEADER_LEN).
pub const HEADER_LEN: usize = 8;

/// ICMP message types.
pub mod msg_type {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DST_UNREACHABLE: u8 = 3;
    /// Redirect.
    pub const REDIRECT: u8 = 5;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
}

/// A checked view of an ICMP message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }
    /// Wraps `buffer`, checking it holds 8 bytes. Errors: [`Malformed::Truncated`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Malformed> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        Ok(Packet { buffer })
    }
    /// Message type.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    /// Code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }
    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }
    /// Bytes 4..8 as one word.
    pub fn rest_of_header(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::REST])
    }
    /// Echo identifier (bytes 4..6).
    pub fn echo_ident(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::IDENT])
    }
    /// Echo sequence number (bytes 6..8).
    pub fn echo_seq_no(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SEQ_NO])
    }
    /// Data after the header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
    /// Whether the checksum over the whole buffer verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::sum16(self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the type.
    pub fn set_msg_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v
    }
    /// Sets the code.
    pub fn set_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::CODE] = v
    }
    /// Sets the stored checksum.
    pub fn set_checksum(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::CHECKSUM], v)
    }
    /// Sets bytes 4..8.
    pub fn set_rest_of_header(&mut self, v: u32) {
        put32(&mut self.buffer.as_mut()[field::REST], v)
    }
    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(c)
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "ICMP type={} code={} len={}",
            self.msg_type(),
            self.code(),
            self.buffer.as_ref().len()
        )
    }
}

/// A parsed ICMP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Type.
    pub msg_type: u8,
    /// Code.
    pub code: u8,
    /// Bytes 4..8 (echo: identifier << 16 | sequence number).
    pub rest_of_header: u32,
}

impl Repr {
    /// Reads the header. Errors: [`Malformed::Truncated`].
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Malformed> {
        if p.buffer.as_ref().len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        Ok(Repr {
            msg_type: p.msg_type(),
            code: p.code(),
            rest_of_header: p.rest_of_header(),
        })
    }
    /// Header length emitted (8 bytes).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }
    /// Writes the header and fills the checksum over the whole buffer (write
    /// the data first).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_msg_type(self.msg_type);
        p.set_code(self.code);
        p.set_rest_of_header(self.rest_of_header);
        p.fill_checksum();
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ICMP type={} code={}", self.msg_type, self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let r = Repr {
            msg_type: msg_type::ECHO_REQUEST,
            code: 0,
            rest_of_header: 0x1234_0001,
        };
        let mut b = [0u8; 16];
        b[8..].copy_from_slice(b"abcdefgh");
        r.emit(&mut Packet::new_unchecked(&mut b[..]));
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1234, 1));
        assert_eq!(Repr::parse(&p).unwrap(), r);
        assert_eq!(
            Packet::new_checked(&b[..7]).unwrap_err(),
            Malformed::Truncated
        );
    }
}
