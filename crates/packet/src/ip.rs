//! IP protocol numbers (IANA "Assigned Internet Protocol Numbers") and address
//! text forms shared by IPv4 and IPv6.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol / IPv6 next-header values.
pub mod protocol {
    /// IPv6 hop-by-hop options (RFC 8200 §4.3).
    pub const HOPOPTS: u8 = 0;
    /// ICMP for IPv4 (RFC 792).
    pub const ICMP: u8 = 1;
    /// IGMP (RFC 3376).
    pub const IGMP: u8 = 2;
    /// TCP (RFC 9293).
    pub const TCP: u8 = 6;
    /// UDP (RFC 768).
    pub const UDP: u8 = 17;
    /// IPv6 routing header (RFC 8200 §4.4).
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header (RFC 8200 §4.5).
    pub const FRAGMENT: u8 = 44;
    /// Authentication header (RFC 4302).
    pub const AH: u8 = 51;
    /// ICMPv6 (RFC 4443).
    pub const ICMPV6: u8 = 58;
    /// IPv6 no next header.
    pub const NONE: u8 = 59;
    /// IPv6 destination options (RFC 8200 §4.6).
    pub const DSTOPTS: u8 = 60;
    /// SCTP (RFC 9260).
    pub const SCTP: u8 = 132;
}

/// Formats an IPv6 address exactly as glibc's `inet_ntop(AF_INET6)` does
/// (which is what OVS prints): lowercase hex, the longest run of two or more
/// zero groups (the first on a tie) becomes `::`, and IPv4-compatible
/// (`::a.b.c.d`) and IPv4-mapped (`::ffff:a.b.c.d`) addresses end in dotted
/// quad.
pub struct Ipv6Text<'a>(pub &'a [u8; 16]);

impl fmt::Display for Ipv6Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let b = self.0;
        let mut w = [0u16; 8];
        for (i, x) in w.iter_mut().enumerate() {
            *x = u16::from_be_bytes([b[2 * i], b[2 * i + 1]]);
        }
        // Longest run of zero words.
        let (mut best_base, mut best_len) = (usize::MAX, 0usize);
        let (mut cur_base, mut cur_len) = (usize::MAX, 0usize);
        for (i, &x) in w.iter().enumerate() {
            if x == 0 {
                if cur_base == usize::MAX {
                    cur_base = i;
                    cur_len = 1;
                } else {
                    cur_len += 1;
                }
            } else if cur_base != usize::MAX {
                if best_base == usize::MAX || cur_len > best_len {
                    best_base = cur_base;
                    best_len = cur_len;
                }
                cur_base = usize::MAX;
            }
        }
        if cur_base != usize::MAX && (best_base == usize::MAX || cur_len > best_len) {
            best_base = cur_base;
            best_len = cur_len;
        }
        if best_base != usize::MAX && best_len < 2 {
            best_base = usize::MAX;
        }
        let mut i = 0;
        while i < 8 {
            if best_base != usize::MAX && i >= best_base && i < best_base + best_len {
                if i == best_base {
                    f.write_str(":")?;
                }
                i += 1;
                continue;
            }
            if i != 0 {
                f.write_str(":")?;
            }
            if i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
                return write!(f, "{}.{}.{}.{}", b[12], b[13], b[14], b[15]);
            }
            write!(f, "{:x}", w[i])?;
            i += 1;
        }
        if best_base != usize::MAX && best_base + best_len == 8 {
            f.write_str(":")?;
        }
        Ok(())
    }
}

/// An IPv4 address from wire-order bytes.
pub fn ipv4(b: [u8; 4]) -> Ipv4Addr {
    Ipv4Addr::from(b)
}

/// An IPv6 address from wire-order bytes.
pub fn ipv6(b: [u8; 16]) -> Ipv6Addr {
    Ipv6Addr::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        let a: Ipv6Addr = s.parse().unwrap();
        Ipv6Text(&a.octets()).to_string()
    }

    #[test]
    fn glibc_forms() {
        assert_eq!(t("::"), "::");
        assert_eq!(t("::1"), "::1");
        assert_eq!(t("fe80::1"), "fe80::1");
        assert_eq!(t("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(t("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert_eq!(t("ff02::1:ff00:2"), "ff02::1:ff00:2");
        assert_eq!(t("ffff:ffff:ffff:ffff::"), "ffff:ffff:ffff:ffff::");
        assert_eq!(t("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
        assert_eq!(t("::10.0.0.1"), "::10.0.0.1");
        assert_eq!(t("1::"), "1::");
    }
}
