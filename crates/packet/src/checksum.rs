//! The Internet checksum (RFC 1071), its incremental update (RFC 1624), and
//! the frame-level helpers the datapath needs: finish a CHECKSUM_PARTIAL
//! packet, recompute L3/L4 checksums from scratch, verify them.
//!
//! Idea: a one's-complement sum is order-independent and byte-order-neutral,
//! so we add the data as big-endian `u64` words into a `u64` accumulator with
//! end-around carry, four words per iteration, then fold to 16 bits. Values
//! returned by [`sum16`] are *folded, not complemented*; the checksum field on
//! the wire holds the complement ([`checksum`]). Sums of even-length pieces can
//! be combined with [`add16`] (an odd-length piece must be last).
//!
//! Performance: no allocation; the inner loop is branch-free apart from the
//! carry, ~8 bytes per add.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ethernet::ethertype;
use crate::flow::{FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER};
use crate::ip::protocol;
use crate::Malformed;

#[inline(always)]
fn add_carry(acc: u64, v: u64) -> u64 {
    let (s, c) = acc.overflowing_add(v);
    s + c as u64
}

#[inline(always)]
fn fold64(mut acc: u64) -> u16 {
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc as u16
}

#[inline(always)]
fn word(c: &[u8]) -> u64 {
    u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
}

/// The folded one's-complement sum of `data` taken as big-endian 16-bit words
/// (an odd last byte is padded with a zero low byte), not complemented.
pub fn sum16(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut big = data.chunks_exact(32);
    for c in &mut big {
        // Two independent chains let the CPU overlap the carries.
        let a = add_carry(word(&c[0..8]), word(&c[8..16]));
        let b = add_carry(word(&c[16..24]), word(&c[24..32]));
        acc = add_carry(acc, a);
        acc = add_carry(acc, b);
    }
    let rest = big.remainder();
    let mut eight = rest.chunks_exact(8);
    for c in &mut eight {
        acc = add_carry(acc, word(c));
    }
    let tail = eight.remainder();
    let mut t = [0u8; 8];
    t[..tail.len()].copy_from_slice(tail);
    acc = add_carry(acc, word(&t));
    fold64(acc)
}

/// One's-complement addition of two folded sums.
#[inline]
pub fn add16(a: u16, b: u16) -> u16 {
    let s = a as u32 + b as u32;
    ((s & 0xffff) + (s >> 16)) as u16
}

/// The RFC 1071 Internet checksum of `data`: the complement of [`sum16`].
/// This is the value to store in a checksum field (host order).
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum16(data)
}

/// Folded sum of the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768): source,
/// destination, zero, protocol, and `l4_len` (bytes of L4 header + data).
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4_len: u16) -> u16 {
    let mut b = [0u8; 12];
    b[0..4].copy_from_slice(&src.octets());
    b[4..8].copy_from_slice(&dst.octets());
    b[9] = proto;
    b[10..12].copy_from_slice(&l4_len.to_be_bytes());
    sum16(&b)
}

/// Folded sum of the IPv6 pseudo-header (RFC 8200 §8.1): source, destination,
/// 32-bit upper-layer length, three zero bytes, next header.
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, l4_len: u32) -> u16 {
    let mut b = [0u8; 40];
    b[0..16].copy_from_slice(&src.octets());
    b[16..32].copy_from_slice(&dst.octets());
    b[32..36].copy_from_slice(&l4_len.to_be_bytes());
    b[39] = proto;
    sum16(&b)
}

/// Folded pseudo-header sum for either family. Mixed families (a caller
/// error) are summed as IPv4-mapped IPv6 addresses.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, proto: u8, l4_len: usize) -> u16 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => pseudo_header_v4(s, d, proto, l4_len as u16),
        (s, d) => pseudo_header_v6(to_v6(s), to_v6(d), proto, l4_len as u32),
    }
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// The checksum to store for an L4 message `data` (its checksum field zeroed)
/// under the given pseudo-header sum (0 for ICMPv4, which has none).
pub fn l4_checksum(pseudo: u16, data: &[u8]) -> u16 {
    !add16(pseudo, sum16(data))
}

/// Whether `data` (checksum field included) verifies under `pseudo`.
pub fn l4_verify(pseudo: u16, data: &[u8]) -> bool {
    add16(pseudo, sum16(data)) == 0xffff
}

/// RFC 1624 eqn. 3: the new checksum field value after a 16-bit word covered
/// by it changes from `old` to `new`. `csum` is the field as stored (host
/// order). For UDP, a result of 0 must be stored as 0xffff by the caller
/// (see [`udp_fixup`]); a stored UDP checksum of 0 means "none" and must not
/// be updated.
#[inline]
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    !add16(add16(!csum, !old), new)
}

/// [`update16`] for a 32-bit field (e.g. an IPv4 address), host order values.
#[inline]
pub fn update32(csum: u16, old: u32, new: u32) -> u16 {
    let c = update16(csum, (old >> 16) as u16, (new >> 16) as u16);
    update16(c, old as u16, new as u16)
}

/// [`update16`] for a field of any even length (MAC pairs, IPv6 addresses),
/// given its old and new wire bytes. `old` and `new` must have the same even
/// length and start at an even offset of the checksummed data.
pub fn update_bytes(csum: u16, old: &[u8], new: &[u8]) -> u16 {
    debug_assert_eq!(old.len(), new.len());
    // ~HC + ~m + m' == ~HC + (sum of new) - (sum of old).
    !add16(add16(!csum, !sum16(old)), sum16(new))
}

/// Maps a computed UDP checksum of 0 to 0xffff (RFC 768: 0 means "no checksum").
#[inline]
pub fn udp_fixup(csum: u16) -> u16 {
    if csum == 0 {
        0xffff
    } else {
        csum
    }
}

/// Finishes a CHECKSUM_PARTIAL packet (virtio-net `VIRTIO_NET_HDR_F_NEEDS_CSUM`,
/// Linux `skb_checksum_help`): the 16-bit field at `csum_start + csum_offset`
/// holds the folded pseudo-header sum; sum from `csum_start` to the end of
/// `frame`, and store the complement there. A result of 0 is stored as 0xffff
/// (harmless for TCP, required for UDP), as Linux does.
///
/// Errors: [`Malformed::CsumOffset`] when the field lies outside `frame`.
pub fn complete_partial_csum(
    frame: &mut [u8],
    csum_start: usize,
    csum_offset: usize,
) -> Result<(), Malformed> {
    let field = csum_start
        .checked_add(csum_offset)
        .ok_or(Malformed::CsumOffset)?;
    match field.checked_add(2) {
        Some(end) if end <= frame.len() => {}
        _ => return Err(Malformed::CsumOffset),
    }
    let c = udp_fixup(checksum(&frame[csum_start..]));
    frame[field..field + 2].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

/// Where the IP and L4 headers of a frame are, for the checksum helpers.
struct IpLayout {
    l3: usize,
    is_v4: bool,
    l4: usize,
    l4_end: usize,
    proto: u8,
    frag: u8,
}

fn layout(frame: &[u8]) -> Result<Option<IpLayout>, Malformed> {
    let (key, layers) = crate::extract::extract_with_layers(frame, 0)?;
    let is_v4 = match key.dl_type {
        ethertype::IPV4 => true,
        ethertype::IPV6 => false,
        _ => return Ok(None),
    };
    let (Some(l3), Some(l4)) = (layers.l3_ofs, layers.l4_ofs) else {
        return Ok(None);
    };
    let (l3, l4) = (l3 as usize, l4 as usize);
    let l4_end = if is_v4 {
        l3 + crate::bytes::be16(&frame[l3 + 2..l3 + 4]) as usize
    } else {
        l3 + crate::ipv6::HEADER_LEN + crate::bytes::be16(&frame[l3 + 4..l3 + 6]) as usize
    };
    Ok(Some(IpLayout {
        l3,
        is_v4,
        l4,
        l4_end,
        proto: key.nw_proto,
        frag: key.nw_frag,
    }))
}

fn l4_csum_field(proto: u8, is_v4: bool) -> Option<usize> {
    match proto {
        protocol::TCP => Some(16),
        protocol::UDP => Some(6),
        protocol::ICMP if is_v4 => Some(2),
        protocol::ICMPV6 if !is_v4 => Some(2),
        _ => None,
    }
}

fn pseudo(frame: &[u8], lay: &IpLayout, len: usize) -> u16 {
    let ip = &frame[lay.l3..];
    if lay.is_v4 {
        let s = Ipv4Addr::from(crate::bytes::arr4(&ip[12..16]));
        let d = Ipv4Addr::from(crate::bytes::arr4(&ip[16..20]));
        pseudo_header_v4(s, d, lay.proto, len as u16)
    } else {
        let s = Ipv6Addr::from(crate::bytes::arr16(&ip[8..24]));
        let d = Ipv6Addr::from(crate::bytes::arr16(&ip[24..40]));
        pseudo_header_v6(s, d, lay.proto, len as u32)
    }
}

/// Recomputes from scratch the IPv4 header checksum and the TCP, UDP, ICMP
/// (IPv4) or ICMPv6 (IPv6) checksum of an Ethernet frame, untagged or with
/// one 802.1Q tag, pseudo-header included. UDP results of 0 become 0xffff.
///
/// Fragments get only the IPv4 header checksum (the L4 checksum covers the
/// reassembled datagram); other L4 protocols and non-IP frames are left
/// as they are. IPv6 routing headers are not consulted: the pseudo-header uses
/// the destination in the IPv6 header.
///
/// Errors: those of [`FlowKey::extract`](crate::FlowKey::extract), and
/// [`Malformed::Truncated`] when the L4 header is too short to hold its
/// checksum field.
pub fn fill_l4_csum(frame: &mut [u8]) -> Result<(), Malformed> {
    let Some(lay) = layout(frame)? else {
        return Ok(());
    };
    if lay.is_v4 {
        let ihl = (frame[lay.l3] & 0x0f) as usize * 4;
        let hdr = &mut frame[lay.l3..lay.l3 + ihl];
        hdr[10] = 0;
        hdr[11] = 0;
        let c = checksum(hdr);
        hdr[10..12].copy_from_slice(&c.to_be_bytes());
    }
    if lay.frag & (FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER) != 0 {
        return Ok(());
    }
    let Some(field) = l4_csum_field(lay.proto, lay.is_v4) else {
        return Ok(());
    };
    let len = lay.l4_end - lay.l4;
    if len < field + 2 {
        return Err(Malformed::Truncated);
    }
    let start = if lay.proto == protocol::ICMP {
        0
    } else {
        pseudo(frame, &lay, len)
    };
    let l4 = &mut frame[lay.l4..lay.l4_end];
    l4[field] = 0;
    l4[field + 1] = 0;
    let mut c = !add16(start, sum16(l4));
    if lay.proto == protocol::UDP {
        c = udp_fixup(c);
    }
    l4[field..field + 2].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

/// Whether the IPv4 header checksum (if IPv4) and the TCP/UDP/ICMP/ICMPv6
/// checksum of `frame` are correct. A UDP-over-IPv4 checksum of 0 ("none")
/// counts as correct; fragments are judged on the IPv4 header only; frames
/// that are not IP, malformed, or carry another L4 protocol return `true` only
/// if they are well-formed.
pub fn verify_l4_csum(frame: &[u8]) -> bool {
    let lay = match layout(frame) {
        Ok(Some(l)) => l,
        Ok(None) => return true,
        Err(_) => return false,
    };
    if lay.is_v4 {
        let ihl = (frame[lay.l3] & 0x0f) as usize * 4;
        if sum16(&frame[lay.l3..lay.l3 + ihl]) != 0xffff {
            return false;
        }
    }
    if lay.frag & FLOW_NW_FRAG_ANY != 0 {
        return true;
    }
    let Some(field) = l4_csum_field(lay.proto, lay.is_v4) else {
        return true;
    };
    let len = lay.l4_end - lay.l4;
    if len < field + 2 {
        return false;
    }
    let l4 = &frame[lay.l4..lay.l4_end];
    if lay.proto == protocol::UDP && lay.is_v4 && l4[6] == 0 && l4[7] == 0 {
        return true;
    }
    let start = if lay.proto == protocol::ICMP {
        0
    } else {
        pseudo(frame, &lay, len)
    };
    add16(start, sum16(l4)) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 1071 §4.1 straight from the text: 16-bit adds into 32 bits, then fold.
    fn naive(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            sum += u16::from_be_bytes([data[i], data[i + 1]]) as u32;
            i += 2;
        }
        if i < data.len() {
            sum += (data[i] as u32) << 8;
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        assert_eq!(
            sum16(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn partial_bad_offsets() {
        let mut f = [0u8; 10];
        assert_eq!(
            complete_partial_csum(&mut f, 8, 1),
            Err(Malformed::CsumOffset)
        );
        assert_eq!(
            complete_partial_csum(&mut f, usize::MAX, 2),
            Err(Malformed::CsumOffset)
        );
        assert!(complete_partial_csum(&mut f, 4, 4).is_ok());
    }

    proptest! {
        #[test]
        fn sum_matches_naive(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            // Equal modulo 0xffff: a one's-complement sum has two zeros.
            let (a, b) = (sum16(&data), naive(&data));
            prop_assert!(a == b || (a % 0xffff == b % 0xffff), "{a:#x} {b:#x}");
        }

        #[test]
        fn split_sums_combine(data in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..100) {
            let cut = (cut * 2).min(data.len() & !1);
            let whole = sum16(&data);
            let parts = add16(sum16(&data[..cut]), sum16(&data[cut..]));
            prop_assert_eq!(whole % 0xffff, parts % 0xffff);
        }

        #[test]
        fn incremental_matches_recompute(mut data in proptest::collection::vec(any::<u8>(), 8..120),
                                         pos in 0usize..50, new16 in any::<u16>(), new32 in any::<u32>()) {
            let n = data.len() & !1;
            data.truncate(n);
            let i = (pos * 2) % (n - 2);
            let before = checksum(&data);
            let old = u16::from_be_bytes([data[i], data[i + 1]]);
            data[i..i + 2].copy_from_slice(&new16.to_be_bytes());
            let inc = update16(before, old, new16);
            let full = checksum(&data);
            prop_assert_eq!(inc % 0xffff, full % 0xffff);

            if n >= 8 {
                let j = (pos * 2) % (n - 4);
                let before = checksum(&data);
                let old = u32::from_be_bytes([data[j], data[j + 1], data[j + 2], data[j + 3]]);
                let old_bytes = data[j..j + 4].to_vec();
                data[j..j + 4].copy_from_slice(&new32.to_be_bytes());
                let full = checksum(&data);
                prop_assert_eq!(update32(before, old, new32) % 0xffff, full % 0xffff);
                prop_assert_eq!(update_bytes(before, &old_bytes, &new32.to_be_bytes()) % 0xffff, full % 0xffff);
            }
        }
    }
}
