//! TCP headers (RFC 9293 §3.1).
//!
//! [`Packet::new_checked`] enforces what a switch drops on: at least 20 bytes,
//! data offset ≥ 5 and the whole header (options included) present.

use core::fmt;
use std::net::IpAddr;

use crate::bytes::{be16, be32, put16, put32};
use crate::checksum;
use crate::ip::protocol;
use crate::Malformed;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const FLAGS: Field = 12..14;
    pub const WIN_SIZE: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
}

/// Length of a TCP header without options, in bytes.
pub const HEADER_LEN: usize = 20;

/// TCP flag bits as they sit in the low 12 bits of the offset/flags word
/// (the form of OVS's `tcp_flags`).
pub mod flags {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
    /// ECE.
    pub const ECE: u16 = 0x040;
    /// CWR.
    pub const CWR: u16 = 0x080;
    /// NS (RFC 3540, historic).
    pub const NS: u16 = 0x100;
    /// All 12 flag bits.
    pub const MASK: u16 = 0x0fff;
}

/// A checked view of a TCP segment.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` and checks the header is whole. Errors:
    /// [`Malformed::TcpTruncated`], [`Malformed::TcpDataOffset`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Malformed> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The checks of [`new_checked`](Self::new_checked).
    pub fn check_len(&self) -> Result<(), Malformed> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::TcpTruncated);
        }
        let hl = self.header_len() as usize;
        if hl < HEADER_LEN {
            return Err(Malformed::TcpDataOffset);
        }
        if hl > b.len() {
            return Err(Malformed::TcpTruncated);
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
    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::SEQ_NUM])
    }
    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::ACK_NUM])
    }
    /// Header length in bytes (data offset * 4).
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::FLAGS.start] >> 4) * 4
    }
    /// The 12 flag bits ([`flags`]).
    pub fn flags(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::FLAGS]) & flags::MASK
    }
    /// SYN set.
    pub fn syn(&self) -> bool {
        self.flags() & flags::SYN != 0
    }
    /// ACK set.
    pub fn ack(&self) -> bool {
        self.flags() & flags::ACK != 0
    }
    /// FIN set.
    pub fn fin(&self) -> bool {
        self.flags() & flags::FIN != 0
    }
    /// RST set.
    pub fn rst(&self) -> bool {
        self.flags() & flags::RST != 0
    }
    /// Window size (unscaled).
    pub fn window_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::WIN_SIZE])
    }
    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }
    /// Urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::URGENT])
    }
    /// Option bytes (20 .. header length).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len() as usize]
    }
    /// Data after the header (to the end of the buffer).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len() as usize..]
    }
    /// Whether the checksum over the whole buffer verifies under the
    /// pseudo-header of `src`/`dst`.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        let b = self.buffer.as_ref();
        checksum::l4_verify(checksum::pseudo_header(src, dst, protocol::TCP, b.len()), b)
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
    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, v: u32) {
        put32(&mut self.buffer.as_mut()[field::SEQ_NUM], v)
    }
    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, v: u32) {
        put32(&mut self.buffer.as_mut()[field::ACK_NUM], v)
    }
    /// Sets header length (bytes, multiple of 4) and the 12 flag bits.
    pub fn set_header_len_and_flags(&mut self, header_len: u8, f: u16) {
        let w = (((header_len / 4) as u16) << 12) | (f & flags::MASK);
        put16(&mut self.buffer.as_mut()[field::FLAGS], w)
    }
    /// Sets the window.
    pub fn set_window_len(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::WIN_SIZE], v)
    }
    /// Sets the stored checksum.
    pub fn set_checksum(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::CHECKSUM], v)
    }
    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::URGENT], v)
    }
    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let c = checksum::l4_checksum(checksum::pseudo_header(src, dst, protocol::TCP, b.len()), b);
        self.set_checksum(c)
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "TCP src={} dst={} seq={} ack={} flags=0x{:03x} win={} len={}",
            self.src_port(),
            self.dst_port(),
            self.seq_number(),
            self.ack_number(),
            self.flags(),
            self.window_len(),
            self.payload().len()
        )
    }
}

/// A parsed TCP header (options are not modelled; emit writes a 20-byte header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: u32,
    /// Acknowledgment number.
    pub ack_number: u32,
    /// The 12 flag bits.
    pub flags: u16,
    /// Window.
    pub window_len: u16,
    /// Urgent pointer.
    pub urgent_at: u16,
}

impl Repr {
    /// Reads the header. Errors: those of `new_checked`.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Malformed> {
        p.check_len()?;
        Ok(Repr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            seq_number: p.seq_number(),
            ack_number: p.ack_number(),
            flags: p.flags(),
            window_len: p.window_len(),
            urgent_at: p.urgent_at(),
        })
    }

    /// Header length emitted (20 bytes).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header with a zero checksum (see [`Packet::fill_checksum`]).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_seq_number(self.seq_number);
        p.set_ack_number(self.ack_number);
        p.set_header_len_and_flags(HEADER_LEN as u8, self.flags);
        p.set_window_len(self.window_len);
        p.set_checksum(0);
        p.set_urgent_at(self.urgent_at);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "TCP src={} dst={} flags=0x{:03x}",
            self.src_port, self.dst_port, self.flags
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_roundtrip() {
        let r = Repr {
            src_port: 40000,
            dst_port: 5201,
            seq_number: 7,
            ack_number: 0,
            flags: flags::SYN,
            window_len: 64240,
            urgent_at: 0,
        };
        let mut b = [0u8; 24];
        let mut p = Packet::new_unchecked(&mut b[..]);
        r.emit(&mut p);
        let (s, d): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        p.fill_checksum(s, d);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum(s, d));
        assert!(!p.verify_checksum(d, "10.0.0.3".parse().unwrap()));
        assert_eq!(Repr::parse(&p).unwrap(), r);
        assert_eq!(
            Packet::new_checked(&b[..19]).unwrap_err(),
            Malformed::TcpTruncated
        );
        let mut c = b;
        c[12] = 0x40;
        assert_eq!(
            Packet::new_checked(&c[..]).unwrap_err(),
            Malformed::TcpDataOffset
        );
        c[12] = 0x70; // 28-byte header in 24 bytes
        assert_eq!(
            Packet::new_checked(&c[..]).unwrap_err(),
            Malformed::TcpTruncated
        );
    }
}
