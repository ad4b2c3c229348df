//! Ethernet II frames (IEEE 802.3 clause 3) and the 802.1Q VLAN tag (IEEE
//! 802.1Q §9.6).
//!
//! [`Frame`] is a checked view of the 14-byte MAC header; [`VlanHeader`] is a
//! checked view of the 4 bytes that follow a TPID of 0x8100 (TCI, then the
//! inner Ethernet type). Both validate their length once in `new_checked`, so
//! no accessor can panic afterwards.

use core::fmt;

use crate::bytes::{arr6, be16, put16};
use crate::Malformed;

/// A 48-bit MAC address, in wire order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);
    /// 00:00:00:00:00:00.
    pub const ZERO: EthernetAddress = EthernetAddress([0; 6]);

    /// Whether the group (I/G) bit is set: multicast or broadcast.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }

    /// Whether this is ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// The address bytes.
    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }
}

impl fmt::Display for EthernetAddress {
    /// Lowercase, colon-separated: `02:00:00:00:00:01` (as OVS's ETH_ADDR_FMT).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Ethernet types (host order) the crate knows by name (IEEE registry).
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP (RFC 826).
    pub const ARP: u16 = 0x0806;
    /// Reverse ARP (RFC 903).
    pub const RARP: u16 = 0x8035;
    /// 802.1Q VLAN tag (C-tag TPID).
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service tag (S-tag TPID).
    pub const QINQ: u16 = 0x88a8;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MCAST: u16 = 0x8848;
    /// Smallest value that is an Ethernet type rather than an 802.3 length.
    pub const ETH_TYPE_MIN: u16 = 0x0600;
}

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// Length of the Ethernet MAC header without VLAN tags, in bytes.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A checked read (and, for `T: AsMut<[u8]>`, write) view of an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps `buffer` without checking its length (accessors may then panic).
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps `buffer`, checking that it holds a full 14-byte header.
    ///
    /// Errors: [`Malformed::EthernetTruncated`].
    pub fn new_checked(buffer: T) -> Result<Frame<T>, Malformed> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// Checks that the buffer holds a full header.
    pub fn check_len(&self) -> Result<(), Malformed> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Malformed::EthernetTruncated)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC.
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress(arr6(&self.buffer.as_ref()[field::DESTINATION]))
    }

    /// Source MAC.
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress(arr6(&self.buffer.as_ref()[field::SOURCE]))
    }

    /// The Ethernet type (or 802.3 length when < 0x0600, or a TPID), host order.
    pub fn ethertype(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::ETHERTYPE])
    }

    /// The bytes after the 14-byte header (a VLAN tag comes first when
    /// [`ethertype`](Self::ethertype) is 0x8100).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC.
    pub fn set_dst_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a.0)
    }

    /// Sets the source MAC.
    pub fn set_src_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a.0)
    }

    /// Sets the Ethernet type (host order).
    pub fn set_ethertype(&mut self, t: u16) {
        put16(&mut self.buffer.as_mut()[field::ETHERTYPE], t)
    }

    /// The mutable bytes after the 14-byte header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Frame<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "EthernetII src={} dst={} type=0x{:04x}",
            self.src_addr(),
            self.dst_addr(),
            self.ethertype()
        )
    }
}

/// A parsed Ethernet II header (without VLAN tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Source MAC.
    pub src_addr: EthernetAddress,
    /// Destination MAC.
    pub dst_addr: EthernetAddress,
    /// Ethernet type, host order.
    pub ethertype: u16,
}

impl Repr {
    /// Reads the header from a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr, Malformed> {
        frame.check_len()?;
        Ok(Repr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Header length in bytes (14).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into the first 14 bytes of `frame`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "EthernetII src={} dst={} type=0x{:04x}",
            self.src_addr, self.dst_addr, self.ethertype
        )
    }
}

mod vlan_field {
    pub type Field = core::ops::Range<usize>;
    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
}

/// Length of an 802.1Q tag after its TPID (TCI + inner Ethernet type), in bytes.
pub const VLAN_HEADER_LEN: usize = 4;

/// A checked view of the 4 bytes following an 802.1Q TPID: TCI then the inner
/// Ethernet type (IEEE 802.1Q §9.6).
#[derive(Debug, Clone)]
pub struct VlanHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanHeader<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> VlanHeader<T> {
        VlanHeader { buffer }
    }

    /// Wraps `buffer`, checking it holds 4 bytes. Errors: [`Malformed::VlanTruncated`].
    pub fn new_checked(buffer: T) -> Result<VlanHeader<T>, Malformed> {
        let v = Self::new_unchecked(buffer);
        if v.buffer.as_ref().len() < VLAN_HEADER_LEN {
            return Err(Malformed::VlanTruncated);
        }
        Ok(v)
    }

    /// The raw 16-bit TCI (PCP:3, DEI:1, VID:12), host order.
    pub fn tci(&self) -> u16 {
        be16(&self.buffer.as_ref()[vlan_field::TCI])
    }

    /// Priority code point (0..=7).
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop-eligible indicator (formerly CFI).
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier (0..=4095).
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// The Ethernet type of the encapsulated frame, host order.
    pub fn ethertype(&self) -> u16 {
        be16(&self.buffer.as_ref()[vlan_field::ETHERTYPE])
    }

    /// The bytes after the tag.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[VLAN_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanHeader<T> {
    /// Sets the raw TCI.
    pub fn set_tci(&mut self, tci: u16) {
        put16(&mut self.buffer.as_mut()[vlan_field::TCI], tci)
    }

    /// Sets the inner Ethernet type.
    pub fn set_ethertype(&mut self, t: u16) {
        put16(&mut self.buffer.as_mut()[vlan_field::ETHERTYPE], t)
    }
}

impl<T: AsRef<[u8]>> fmt::Display for VlanHeader<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "802.1Q vid={} pcp={} dei={} type=0x{:04x}",
            self.vid(),
            self.pcp(),
            self.dei() as u8,
            self.ethertype()
        )
    }
}

/// A parsed 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanRepr {
    /// VLAN identifier (0..=4095).
    pub vid: u16,
    /// Priority code point (0..=7).
    pub pcp: u8,
    /// Drop-eligible indicator.
    pub dei: bool,
    /// Inner Ethernet type, host order.
    pub ethertype: u16,
}

impl VlanRepr {
    /// Reads the tag.
    pub fn parse<T: AsRef<[u8]>>(h: &VlanHeader<T>) -> Result<VlanRepr, Malformed> {
        if h.buffer.as_ref().len() < VLAN_HEADER_LEN {
            return Err(Malformed::VlanTruncated);
        }
        Ok(VlanRepr {
            vid: h.vid(),
            pcp: h.pcp(),
            dei: h.dei(),
            ethertype: h.ethertype(),
        })
    }

    /// The TCI this tag encodes.
    pub fn tci(&self) -> u16 {
        ((self.pcp as u16 & 7) << 13) | ((self.dei as u16) << 12) | (self.vid & 0x0fff)
    }

    /// Writes the tag (4 bytes).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, h: &mut VlanHeader<T>) {
        h.set_tci(self.tci());
        h.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for VlanRepr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "802.1Q vid={} pcp={} dei={} type=0x{:04x}",
            self.vid, self.pcp, self.dei as u8, self.ethertype
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-built header of a broadcast ARP frame; captured frames are in tests/.
    const HDR: [u8; 14] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
    ];

    #[test]
    fn parse_and_emit_roundtrip() {
        let f = Frame::new_checked(&HDR[..]).unwrap();
        let r = Repr::parse(&f).unwrap();
        assert_eq!(r.dst_addr, EthernetAddress::BROADCAST);
        assert_eq!(r.src_addr.to_string(), "02:00:00:00:00:01");
        assert_eq!(r.ethertype, ethertype::ARP);
        let mut buf = [0u8; 14];
        r.emit(&mut Frame::new_unchecked(&mut buf[..]));
        assert_eq!(buf, HDR);
    }

    #[test]
    fn truncated() {
        assert_eq!(
            Frame::new_checked(&HDR[..13]).unwrap_err(),
            Malformed::EthernetTruncated
        );
        assert_eq!(
            VlanHeader::new_checked(&[0u8; 3][..]).unwrap_err(),
            Malformed::VlanTruncated
        );
    }

    #[test]
    fn vlan_fields() {
        let b = [0xa0, 0x0a, 0x08, 0x00];
        let v = VlanHeader::new_checked(&b[..]).unwrap();
        assert_eq!(
            (v.pcp(), v.dei(), v.vid(), v.ethertype()),
            (5, false, 10, 0x0800)
        );
        let r = VlanRepr::parse(&v).unwrap();
        let mut out = [0u8; 4];
        r.emit(&mut VlanHeader::new_unchecked(&mut out[..]));
        assert_eq!(out, b);
    }
}
