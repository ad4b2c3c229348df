//! ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861 §4.3, §4.4, §4.6.1).
//!
//! [`Packet`] views the 8-byte header; for neighbor solicitations and
//! advertisements [`Packet::nd_target`] and [`Packet::nd_options`] read the
//! target address (bytes 8..24) and the options that follow. [`Repr`] models
//! NS and NA with their source/target link-layer address options, and any
//! other message as type/code/rest.

use core::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::bytes::{arr16, arr6, be16, be32, put16, put32};
use crate::checksum;
use crate::ethernet::EthernetAddress;
use crate::ip::{protocol, Ipv6Text};
use crate::Malformed;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const REST: Field = 4..8;
    pub const ND_TARGET: Field = 8..24;
    pub const ND_OPTIONS: usize = 24;
}

/// Length of the ICMPv6 header, in bytes.
pub const HEADER_LEN: usize = 8;
/// Length of an NS/NA message without options, in bytes.
pub const ND_LEN: usize = field::ND_OPTIONS;

/// ICMPv6 message types.
pub mod msg_type {
    /// Destination unreachable.
    pub const DST_UNREACHABLE: u8 = 1;
    /// Packet too big.
    pub const PKT_TOO_BIG: u8 = 2;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 3;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 129;
    /// Router solicitation.
    pub const ROUTER_SOLICIT: u8 = 133;
    /// Router advertisement.
    pub const ROUTER_ADVERT: u8 = 134;
    /// Neighbor solicitation.
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    /// Neighbor advertisement.
    pub const NEIGHBOR_ADVERT: u8 = 136;
}

/// ND option: source link-layer address.
pub const OPT_SOURCE_LLADDR: u8 = 1;
/// ND option: target link-layer address.
pub const OPT_TARGET_LLADDR: u8 = 2;

/// NA flag: router (R).
pub const NA_FLAG_ROUTER: u32 = 0x8000_0000;
/// NA flag: solicited (S).
pub const NA_FLAG_SOLICITED: u32 = 0x4000_0000;
/// NA flag: override (O).
pub const NA_FLAG_OVERRIDE: u32 = 0x2000_0000;

/// A checked view of an ICMPv6 message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// One ND option: its type and the bytes after the type/length pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdOption<'a> {
    /// Option type.
    pub kind: u8,
    /// Option body (length*8 − 2 bytes).
    pub data: &'a [u8],
}

/// Iterator over ND options; stops at the end of the message or at the first
/// option whose length is 0 or runs past the end.
#[derive(Debug, Clone)]
pub struct NdOptions<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for NdOptions<'a> {
    type Item = NdOption<'a>;
    fn next(&mut self) -> Option<NdOption<'a>> {
        if self.rest.len() < 8 {
            return None;
        }
        let len = self.rest[1] as usize * 8;
        if len == 0 || len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let opt = NdOption {
            kind: self.rest[0],
            data: &self.rest[2..len],
        };
        self.rest = &self.rest[len..];
        Some(opt)
    }
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
    /// Bytes 4..8 (NA: R/S/O flags in the top bits).
    pub fn rest_of_header(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::REST])
    }
    /// Whether this is an NS or NA with code 0 (OVS's `is_nd`).
    pub fn is_nd(&self) -> bool {
        self.code() == 0
            && (self.msg_type() == msg_type::NEIGHBOR_SOLICIT
                || self.msg_type() == msg_type::NEIGHBOR_ADVERT)
    }
    /// The ND target address, if this is NS/NA and long enough.
    pub fn nd_target(&self) -> Option<Ipv6Addr> {
        let b = self.buffer.as_ref();
        if self.is_nd() && b.len() >= ND_LEN {
            Some(Ipv6Addr::from(arr16(&b[field::ND_TARGET])))
        } else {
            None
        }
    }
    /// The ND options (empty unless NS/NA).
    pub fn nd_options(&self) -> NdOptions<'_> {
        let b = self.buffer.as_ref();
        let rest = if self.is_nd() && b.len() >= ND_LEN {
            &b[ND_LEN..]
        } else {
            &[][..]
        };
        NdOptions { rest }
    }
    /// Whether the checksum over the whole buffer verifies under the
    /// pseudo-header of `src`/`dst`.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        checksum::l4_verify(
            checksum::pseudo_header(IpAddr::V6(src), IpAddr::V6(dst), protocol::ICMPV6, b.len()),
            b,
        )
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
    /// Sets the ND target (buffer must hold 24 bytes).
    pub fn set_nd_target(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::ND_TARGET].copy_from_slice(&a.octets())
    }
    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let ph =
            checksum::pseudo_header(IpAddr::V6(src), IpAddr::V6(dst), protocol::ICMPV6, b.len());
        let c = checksum::l4_checksum(ph, b);
        self.set_checksum(c)
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ICMPv6 type={} code={}", self.msg_type(), self.code())?;
        if let Some(t) = self.nd_target() {
            write!(f, " target={}", Ipv6Text(&t.octets()))?;
        }
        Ok(())
    }
}

/// A parsed ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// Neighbor solicitation (type 135).
    NeighborSolicit {
        /// Target address.
        target: Ipv6Addr,
        /// Source link-layer address option, if present.
        source_lladdr: Option<EthernetAddress>,
    },
    /// Neighbor advertisement (type 136).
    NeighborAdvert {
        /// R/S/O flags (`NA_FLAG_*`) in the top bits of bytes 4..8.
        flags: u32,
        /// Target address.
        target: Ipv6Addr,
        /// Target link-layer address option, if present.
        target_lladdr: Option<EthernetAddress>,
    },
    /// Any other message: its header only.
    Other {
        /// Type.
        msg_type: u8,
        /// Code.
        code: u8,
        /// Bytes 4..8.
        rest_of_header: u32,
    },
}

impl Repr {
    /// Reads the message. NS/NA shorter than 24 bytes give [`Malformed::Truncated`].
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, Malformed> {
        if p.buffer.as_ref().len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        if !p.is_nd() {
            return Ok(Repr::Other {
                msg_type: p.msg_type(),
                code: p.code(),
                rest_of_header: p.rest_of_header(),
            });
        }
        let target = p.nd_target().ok_or(Malformed::Truncated)?;
        let lladdr = |kind| {
            p.nd_options()
                .find(|o| o.kind == kind && o.data.len() == 6)
                .map(|o| EthernetAddress(arr6(o.data)))
        };
        Ok(if p.msg_type() == msg_type::NEIGHBOR_SOLICIT {
            Repr::NeighborSolicit {
                target,
                source_lladdr: lladdr(OPT_SOURCE_LLADDR),
            }
        } else {
            Repr::NeighborAdvert {
                flags: p.rest_of_header(),
                target,
                target_lladdr: lladdr(OPT_TARGET_LLADDR),
            }
        })
    }

    /// Length of the emitted message in bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::NeighborSolicit {
                source_lladdr: l, ..
            }
            | Repr::NeighborAdvert {
                target_lladdr: l, ..
            } => ND_LEN + if l.is_some() { 8 } else { 0 },
            Repr::Other { .. } => HEADER_LEN,
        }
    }

    /// Writes the message (`buffer_len()` bytes; for `Other`, the header only)
    /// and fills the checksum over the whole buffer under `src`/`dst`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut Packet<T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) {
        let opt = |p: &mut Packet<T>, kind: u8, a: Option<EthernetAddress>| {
            if let Some(a) = a {
                let b = &mut p.buffer.as_mut()[ND_LEN..ND_LEN + 8];
                b[0] = kind;
                b[1] = 1;
                b[2..8].copy_from_slice(&a.0);
            }
        };
        match *self {
            Repr::NeighborSolicit {
                target,
                source_lladdr,
            } => {
                p.set_msg_type(msg_type::NEIGHBOR_SOLICIT);
                p.set_code(0);
                p.set_rest_of_header(0);
                p.set_nd_target(target);
                opt(p, OPT_SOURCE_LLADDR, source_lladdr);
            }
            Repr::NeighborAdvert {
                flags,
                target,
                target_lladdr,
            } => {
                p.set_msg_type(msg_type::NEIGHBOR_ADVERT);
                p.set_code(0);
                p.set_rest_of_header(flags);
                p.set_nd_target(target);
                opt(p, OPT_TARGET_LLADDR, target_lladdr);
            }
            Repr::Other {
                msg_type,
                code,
                rest_of_header,
            } => {
                p.set_msg_type(msg_type);
                p.set_code(code);
                p.set_rest_of_header(rest_of_header);
            }
        }
        p.fill_checksum(src, dst);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Repr::NeighborSolicit {
                target,
                source_lladdr,
            } => {
                write!(f, "ICMPv6 NS target={}", Ipv6Text(&target.octets()))?;
                if let Some(a) = source_lladdr {
                    write!(f, " sll={a}")?;
                }
                Ok(())
            }
            Repr::NeighborAdvert {
                flags,
                target,
                target_lladdr,
            } => {
                write!(
                    f,
                    "ICMPv6 NA flags=0x{:08x} target={}",
                    flags,
                    Ipv6Text(&target.octets())
                )?;
                if let Some(a) = target_lladdr {
                    write!(f, " tll={a}")?;
                }
                Ok(())
            }
            Repr::Other { msg_type, code, .. } => write!(f, "ICMPv6 type={msg_type} code={code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nd_roundtrip() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "ff02::1:ff00:2".parse().unwrap();
        let r = Repr::NeighborSolicit {
            target: "fe80::2".parse().unwrap(),
            source_lladdr: Some(EthernetAddress([2, 0, 0, 0, 0, 1])),
        };
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut b[..]), src, dst);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum(src, dst));
        assert_eq!(Repr::parse(&p).unwrap(), r);
        assert_eq!(p.nd_options().count(), 1);
        // A zero-length option stops the walk instead of looping.
        let mut z = b.clone();
        z[25] = 0;
        assert_eq!(Packet::new_checked(&z[..]).unwrap().nd_options().count(), 0);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..20]).unwrap()).unwrap_err(),
            Malformed::Truncated
        );
    }
}
