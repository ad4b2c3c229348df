//! ARP packets (RFC 826) over Ethernet for IPv4.
//!
//! [`Packet`] views any ARP packet (hardware and protocol address lengths are
//! read from the header and checked once in `new_checked`); [`Repr`] models
//! only the Ethernet/IPv4 form (htype 1, ptype 0x0800, hlen 6, plen 4), which
//! is the only one the flow key carries.

use core::fmt;
use std::net::Ipv4Addr;

use crate::bytes::{arr4, arr6, be16, put16};
use crate::ethernet::{ethertype, EthernetAddress};
use crate::Malformed;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    pub const SHA: usize = 8;
}

/// Fixed part of an ARP header, in bytes (before the addresses).
pub const FIXED_LEN: usize = field::SHA;
/// Length of an Ethernet/IPv4 ARP packet, in bytes.
pub const ETH_IPV4_LEN: usize = 28;

/// ARP hardware type for Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;
/// Opcode: request.
pub const OP_REQUEST: u16 = 1;
/// Opcode: reply.
pub const OP_REPLY: u16 = 2;

/// A checked view of an ARP packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking it holds the fixed part and all four addresses
    /// (8 + 2*(hlen+plen) bytes). Errors: [`Malformed::Truncated`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Malformed> {
        let p = Self::new_unchecked(buffer);
        let b = p.buffer.as_ref();
        if b.len() < FIXED_LEN {
            return Err(Malformed::Truncated);
        }
        let need = FIXED_LEN + 2 * (b[field::HLEN] as usize + b[field::PLEN] as usize);
        if b.len() < need {
            return Err(Malformed::Truncated);
        }
        Ok(p)
    }

    /// Hardware type (1 = Ethernet).
    pub fn hardware_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::HTYPE])
    }
    /// Protocol type (0x0800 = IPv4).
    pub fn protocol_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::PTYPE])
    }
    /// Hardware address length in bytes.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }
    /// Protocol address length in bytes.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }
    /// Opcode (1 request, 2 reply, ...).
    pub fn operation(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::OPER])
    }
    fn spa_start(&self) -> usize {
        FIXED_LEN + self.hardware_len() as usize
    }
    fn tha_start(&self) -> usize {
        self.spa_start() + self.protocol_len() as usize
    }
    fn tpa_start(&self) -> usize {
        self.tha_start() + self.hardware_len() as usize
    }
    /// Sender hardware address bytes.
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[FIXED_LEN..self.spa_start()]
    }
    /// Sender protocol address bytes.
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.spa_start()..self.tha_start()]
    }
    /// Target hardware address bytes.
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.tha_start()..self.tpa_start()]
    }
    /// Target protocol address bytes.
    pub fn target_protocol_addr(&self) -> &[u8] {
        let s = self.tpa_start();
        &self.buffer.as_ref()[s..s + self.protocol_len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::HTYPE], v)
    }
    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::PTYPE], v)
    }
    /// Sets the hardware address length (does not move the addresses).
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v
    }
    /// Sets the protocol address length (does not move the addresses).
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v
    }
    /// Sets the opcode.
    pub fn set_operation(&mut self, v: u16) {
        put16(&mut self.buffer.as_mut()[field::OPER], v)
    }
    /// Sets the sender hardware address (length must equal hlen).
    pub fn set_source_hardware_addr(&mut self, a: &[u8]) {
        let (s, e) = (FIXED_LEN, self.spa_start());
        self.buffer.as_mut()[s..e].copy_from_slice(a)
    }
    /// Sets the sender protocol address (length must equal plen).
    pub fn set_source_protocol_addr(&mut self, a: &[u8]) {
        let (s, e) = (self.spa_start(), self.tha_start());
        self.buffer.as_mut()[s..e].copy_from_slice(a)
    }
    /// Sets the target hardware address (length must equal hlen).
    pub fn set_target_hardware_addr(&mut self, a: &[u8]) {
        let (s, e) = (self.tha_start(), self.tpa_start());
        self.buffer.as_mut()[s..e].copy_from_slice(a)
    }
    /// Sets the target protocol address (length must equal plen).
    pub fn set_target_protocol_addr(&mut self, a: &[u8]) {
        let s = self.tpa_start();
        let e = s + self.protocol_len() as usize;
        self.buffer.as_mut()[s..e].copy_from_slice(a)
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match Repr::parse(self) {
            Ok(r) => write!(f, "{r}"),
            Err(_) => write!(
                f,
                "ARP htype={} ptype=0x{:04x} op={}",
                self.hardware_type(),
                self.protocol_type(),
                self.operation()
            ),
        }
    }
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Opcode (1 request, 2 reply).
    pub operation: u16,
    /// Sender hardware address.
    pub source_hardware_addr: EthernetAddress,
    /// Sender protocol address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware_addr: EthernetAddress,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Reads an Ethernet/IPv4 ARP packet. Errors: [`Malformed::Truncated`];
    /// [`Malformed::Unsupported`] for other hardware/protocol types or lengths.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Malformed> {
        if p.buffer.as_ref().len() < ETH_IPV4_LEN {
            return Err(Malformed::Truncated);
        }
        if p.hardware_type() != HTYPE_ETHERNET
            || p.protocol_type() != ethertype::IPV4
            || p.hardware_len() != 6
            || p.protocol_len() != 4
        {
            return Err(Malformed::Unsupported);
        }
        Ok(Repr {
            operation: p.operation(),
            source_hardware_addr: EthernetAddress(arr6(p.source_hardware_addr())),
            source_protocol_addr: Ipv4Addr::from(arr4(p.source_protocol_addr())),
            target_hardware_addr: EthernetAddress(arr6(p.target_hardware_addr())),
            target_protocol_addr: Ipv4Addr::from(arr4(p.target_protocol_addr())),
        })
    }

    /// Length of the emitted packet (28 bytes).
    pub const fn buffer_len(&self) -> usize {
        ETH_IPV4_LEN
    }

    /// Writes the packet into the first 28 bytes of `p`'s buffer.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_hardware_type(HTYPE_ETHERNET);
        p.set_protocol_type(ethertype::IPV4);
        p.set_hardware_len(6);
        p.set_protocol_len(4);
        p.set_operation(self.operation);
        p.set_source_hardware_addr(&self.source_hardware_addr.0);
        p.set_source_protocol_addr(&self.source_protocol_addr.octets());
        p.set_target_hardware_addr(&self.target_hardware_addr.0);
        p.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "ARP op={} sha={} spa={} tha={} tpa={}",
            self.operation,
            self.source_hardware_addr,
            self.source_protocol_addr,
            self.target_hardware_addr,
            self.target_protocol_addr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-built ARP request body (10.10.10.1 asks for 10.10.10.2); captured frames are in tests/.
    const REQ: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10, 10,
        10, 1, 0, 0, 0, 0, 0, 0, 10, 10, 10, 2,
    ];

    #[test]
    fn roundtrip() {
        let p = Packet::new_checked(&REQ[..]).unwrap();
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.operation, OP_REQUEST);
        assert_eq!(r.source_protocol_addr, Ipv4Addr::new(10, 10, 10, 1));
        assert_eq!(r.target_protocol_addr, Ipv4Addr::new(10, 10, 10, 2));
        let mut out = [0u8; 28];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, REQ);
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(
            Packet::new_checked(&REQ[..27]).unwrap_err(),
            Malformed::Truncated
        );
        let mut odd = REQ;
        odd[4] = 8; // hlen 8 needs 8+2*12 = 32 bytes
        assert_eq!(
            Packet::new_checked(&odd[..]).unwrap_err(),
            Malformed::Truncated
        );
        let mut other = REQ;
        other[1] = 6; // IEEE 802 hardware
        assert_eq!(
            Repr::parse(&Packet::new_checked(&other[..]).unwrap()).unwrap_err(),
            Malformed::Unsupported
        );
    }
}
