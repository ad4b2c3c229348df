//! Header rewrites of the masked `set` datapath actions (OVS lib/odp-execute.c
//! and the `packet_set_*` helpers of lib/packets.c), on a frame in place.
//!
//! Idea: every rewrite is `new = (old & !mask) | (value & mask)` on the
//! field's wire bytes; when a field changes, each checksum that covers it is
//! patched with the RFC 1624 incremental update instead of being recomputed:
//! the IPv4 header checksum (addresses, TOS, TTL) and the TCP, UDP and ICMPv6
//! checksums (IP addresses through the pseudo-header; ports directly). SCTP's
//! CRC32c is not linear in the same way, so it is recomputed over the packet
//! before and after and patched (`stored ^ old_crc ^ new_crc`, as OVS does),
//! which keeps a wrong CRC wrong.
//!
//! Offloads: with `VIRTIO_NET_HDR_F_NEEDS_CSUM` the L4 checksum field holds
//! the folded pseudo-header sum (not complemented) and the rest is summed at
//! transmit time: an address change adjusts that partial sum (`p - old +
//! new`), a port change needs nothing. A GSO super-frame is rewritten once;
//! the receiver segments it later from the rewritten headers. A UDP checksum
//! of 0 (none) stays 0.
//!
//! Invariants: no function panics or allocates; offsets come from the flow
//! extraction of the same frame ([`Headers`], shifted by VLAN push/pop) and
//! every access is re-checked against the frame length; a rewrite whose
//! header is absent or cut short leaves the frame unchanged.
//!
//! Performance: O(changed bytes) except SCTP (two CRC passes over the packet).

use packet::checksum::{udp_fixup, update16, update_bytes};
use packet::flow::FLOW_NW_FRAG_LATER;
use packet::ip::protocol;
use packet::{FlowKey, Layers};

use crate::netdev::OffloadMeta;
use crate::upcall::{EthKey, Ipv4Key, Ipv6Key, L4Proto, PortsKey};

const ETH_TYPE_IPV4: u16 = 0x0800;
const ETH_TYPE_IPV6: u16 = 0x86dd;

/// Where the L3 and L4 headers of the frame being executed are, and the
/// protocol facts from its flow key (OVS's `l3_ofs`/`l4_ofs` plus the key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// Ethernet type after the VLAN tag (`FlowKey::dl_type`).
    pub dl_type: u16,
    /// IP protocol of the L4 header (`FlowKey::nw_proto`).
    pub nw_proto: u8,
    /// Fragment bits (`FlowKey::nw_frag`).
    pub nw_frag: u8,
    /// Start of the IP header, bytes from the frame start.
    pub l3: Option<u16>,
    /// Start of the L4 header, bytes from the frame start.
    pub l4: Option<u16>,
}

impl Headers {
    /// The headers of a frame whose extraction gave `key` and `layers`.
    pub fn new(key: &FlowKey, layers: Layers) -> Headers {
        Headers {
            dl_type: key.dl_type,
            nw_proto: key.nw_proto,
            nw_frag: key.nw_frag,
            l3: layers.l3_ofs,
            l4: layers.l4_ofs,
        }
    }

    /// Moves the offsets by `delta` bytes (±4 after a VLAN push/pop); an
    /// offset that would leave the u16 range is dropped.
    pub fn shift(&mut self, delta: i32) {
        let f = |o: Option<u16>| o.and_then(|v| u16::try_from(v as i32 + delta).ok());
        self.l3 = f(self.l3);
        self.l4 = f(self.l4);
    }

    /// The L4 offset, if the frame has an L4 header to rewrite (not a later
    /// fragment).
    fn l4(&self) -> Option<usize> {
        if self.nw_frag & FLOW_NW_FRAG_LATER != 0 {
            return None;
        }
        self.l4.map(usize::from)
    }
}

#[inline]
fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

#[inline]
fn put16(b: &mut [u8], i: usize, v: u16) {
    b[i..i + 2].copy_from_slice(&v.to_be_bytes());
}

/// `(old & !mask) | (value & mask)`, bytewise.
#[inline]
fn masked<const N: usize>(old: &[u8], value: &[u8; N], mask: &[u8; N]) -> [u8; N] {
    let mut out = [0u8; N];
    for i in 0..N {
        out[i] = (old[i] & !mask[i]) | (value[i] & mask[i]);
    }
    out
}

/// Masked rewrite of the Ethernet addresses (`set(eth(...))`). No checksum
/// covers them. Runt frames (< 12 bytes) are left alone.
pub fn set_eth(frame: &mut [u8], key: &EthKey, mask: &EthKey) {
    if frame.len() < 12 {
        return;
    }
    let dst = masked(&frame[0..6], &key.dst, &mask.dst);
    let src = masked(&frame[6..12], &key.src, &mask.src);
    frame[0..6].copy_from_slice(&dst);
    frame[6..12].copy_from_slice(&src);
}

/// Offset of the checksum field inside the L4 header, for L4 checksums that
/// cover the IP pseudo-header.
fn pseudo_csum_field(proto: u8, is_v4: bool) -> Option<usize> {
    match proto {
        protocol::TCP => Some(16),
        protocol::UDP => Some(6),
        protocol::ICMPV6 if !is_v4 => Some(2),
        _ => None,
    }
}

/// Whether the offload metadata says the checksum field at `pos` is partial
/// (holds the pseudo-header sum, finished at transmit time).
#[inline]
fn is_partial(off: &OffloadMeta, pos: usize) -> bool {
    off.needs_csum() && off.csum_start as usize + off.csum_offset as usize == pos
}

/// Patches the L4 checksum for a pseudo-header field (an IP address) that
/// changed from `old` to `new` (same even length).
fn update_l4_pseudo(
    frame: &mut [u8],
    off: &OffloadMeta,
    h: &Headers,
    is_v4: bool,
    old: &[u8],
    new: &[u8],
) {
    let Some(l4) = h.l4() else { return };
    let Some(field) = pseudo_csum_field(h.nw_proto, is_v4) else {
        return;
    };
    let pos = l4 + field;
    if pos + 2 > frame.len() {
        return;
    }
    let c = be16(frame, pos);
    let c = if is_partial(off, pos) {
        // The field is the (uncomplemented) pseudo-header sum: p - old + new.
        !update_bytes(!c, old, new)
    } else if off.needs_csum() {
        // Partial checksum elsewhere (not at this header's field): the
        // field is not ours to patch.
        return;
    } else if h.nw_proto == protocol::UDP {
        if c == 0 {
            return; // "no checksum" stays so
        }
        udp_fixup(update_bytes(c, old, new))
    } else {
        update_bytes(c, old, new)
    };
    put16(frame, pos, c);
}

/// Masked rewrite of the IPv4 source, destination, TOS and TTL
/// (`set(ipv4(...))`), with the header checksum and the TCP/UDP checksum
/// updated incrementally. Does nothing unless `h` says IPv4 and the header
/// (IHL included) is inside `frame`.
pub fn set_ipv4(frame: &mut [u8], off: &OffloadMeta, h: &Headers, key: &Ipv4Key, mask: &Ipv4Key) {
    if h.dl_type != ETH_TYPE_IPV4 {
        return;
    }
    let Some(l3) = h.l3.map(usize::from) else {
        return;
    };
    if l3 + 20 > frame.len() || frame[l3] >> 4 != 4 {
        return;
    }
    let ihl = (frame[l3] & 0x0f) as usize * 4;
    if ihl < 20 || l3 + ihl > frame.len() {
        return;
    }
    let mut hc = be16(frame, l3 + 10);
    for (ofs, v, m) in [(12, &key.src, &mask.src), (16, &key.dst, &mask.dst)] {
        if *m == [0; 4] {
            continue;
        }
        let at = l3 + ofs;
        let new = masked(&frame[at..at + 4], v, m);
        if new[..] == frame[at..at + 4] {
            continue;
        }
        let mut old = [0u8; 4];
        old.copy_from_slice(&frame[at..at + 4]);
        hc = update_bytes(hc, &old, &new);
        update_l4_pseudo(frame, off, h, true, &old, &new);
        frame[at..at + 4].copy_from_slice(&new);
    }
    if mask.tos != 0 {
        let old = be16(frame, l3);
        let tos = (frame[l3 + 1] & !mask.tos) | (key.tos & mask.tos);
        let new = (old & 0xff00) | tos as u16;
        hc = update16(hc, old, new);
        put16(frame, l3, new);
    }
    if mask.ttl != 0 {
        let old = be16(frame, l3 + 8);
        let ttl = (frame[l3 + 8] & !mask.ttl) | (key.ttl & mask.ttl);
        let new = (ttl as u16) << 8 | (old & 0x00ff);
        hc = update16(hc, old, new);
        put16(frame, l3 + 8, new);
    }
    put16(frame, l3 + 10, hc);
}

/// Masked rewrite of the IPv6 addresses, flow label, traffic class and hop
/// limit (`set(ipv6(...))`); address changes update the TCP/UDP/ICMPv6
/// checksum incrementally. Does nothing unless `h` says IPv6 and the fixed
/// header is inside `frame`.
///
/// Like OVS without a routing header: the pseudo-header is assumed to use the
/// destination in the IPv6 header (a routing header's final destination is
/// not consulted).
pub fn set_ipv6(frame: &mut [u8], off: &OffloadMeta, h: &Headers, key: &Ipv6Key, mask: &Ipv6Key) {
    if h.dl_type != ETH_TYPE_IPV6 {
        return;
    }
    let Some(l3) = h.l3.map(usize::from) else {
        return;
    };
    if l3 + 40 > frame.len() || frame[l3] >> 4 != 6 {
        return;
    }
    for (ofs, v, m) in [(8, &key.src, &mask.src), (24, &key.dst, &mask.dst)] {
        if *m == [0; 16] {
            continue;
        }
        let at = l3 + ofs;
        let new = masked(&frame[at..at + 16], v, m);
        if new[..] == frame[at..at + 16] {
            continue;
        }
        let mut old = [0u8; 16];
        old.copy_from_slice(&frame[at..at + 16]);
        update_l4_pseudo(frame, off, h, false, &old, &new);
        frame[at..at + 16].copy_from_slice(&new);
    }
    let m = (mask.tclass as u32) << 20 | (mask.label & 0x000f_ffff);
    if m != 0 {
        let v = (key.tclass as u32) << 20 | (key.label & 0x000f_ffff);
        let w = u32::from_be_bytes([frame[l3], frame[l3 + 1], frame[l3 + 2], frame[l3 + 3]]);
        let w = (w & !m) | (v & m);
        frame[l3..l3 + 4].copy_from_slice(&w.to_be_bytes());
    }
    if mask.hlimit != 0 {
        frame[l3 + 7] = (frame[l3 + 7] & !mask.hlimit) | (key.hlimit & mask.hlimit);
    }
}

/// Masked rewrite of the TCP, UDP or SCTP ports (`set(tcp(...))` etc.) with
/// the TCP/UDP checksum updated incrementally (unless partial: ports are not
/// in the pseudo-header) or the SCTP CRC32c patched. Does nothing unless the
/// packet's L4 protocol is `proto`, it is not a later fragment, and the L4
/// header up to its checksum field is inside `frame`.
pub fn set_transport(
    frame: &mut [u8],
    off: &OffloadMeta,
    h: &Headers,
    proto: L4Proto,
    key: &PortsKey,
    mask: &PortsKey,
) {
    if !matches!(h.dl_type, ETH_TYPE_IPV4 | ETH_TYPE_IPV6) || h.nw_proto != proto.ip_proto() {
        return;
    }
    let Some(l4) = h.l4() else { return };
    let csum_field = match proto {
        L4Proto::Tcp => 16,
        L4Proto::Udp => 6,
        L4Proto::Sctp => 8,
    };
    let csum_len = if proto == L4Proto::Sctp { 4 } else { 2 };
    let pos = l4 + csum_field;
    if pos + csum_len > frame.len() {
        return;
    }
    let (old_src, old_dst) = (be16(frame, l4), be16(frame, l4 + 2));
    let src = (old_src & !mask.src) | (key.src & mask.src);
    let dst = (old_dst & !mask.dst) | (key.dst & mask.dst);
    if (src, dst) == (old_src, old_dst) {
        return;
    }
    let write_ports = |frame: &mut [u8]| {
        put16(frame, l4, src);
        put16(frame, l4 + 2, dst);
    };
    if off.needs_csum() {
        // Partial TCP/UDP sum (ports are not in it) or offloaded SCTP CRC.
        write_ports(frame);
        return;
    }
    match proto {
        L4Proto::Tcp | L4Proto::Udp => {
            let c = be16(frame, pos);
            if proto == L4Proto::Udp && c == 0 {
                write_ports(frame);
                return;
            }
            let mut c = update16(c, old_src, src);
            c = update16(c, old_dst, dst);
            if proto == L4Proto::Udp {
                c = udp_fixup(c);
            }
            put16(frame, pos, c);
            write_ports(frame);
        }
        L4Proto::Sctp => {
            let end = l4_end(frame, h).unwrap_or(frame.len());
            let stored = read_le32(frame, pos);
            frame[pos..pos + 4].fill(0);
            let old_crc = crc32c(&frame[l4..end]);
            write_ports(frame);
            let new_crc = crc32c(&frame[l4..end]);
            frame[pos..pos + 4].copy_from_slice(&(stored ^ old_crc ^ new_crc).to_le_bytes());
        }
    }
}

fn read_le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// End of the IP payload (trailing Ethernet padding excluded), within `frame`.
fn l4_end(frame: &[u8], h: &Headers) -> Option<usize> {
    let l3 = usize::from(h.l3?);
    let end = match h.dl_type {
        ETH_TYPE_IPV4 if l3 + 4 <= frame.len() => l3 + be16(frame, l3 + 2) as usize,
        ETH_TYPE_IPV6 if l3 + 6 <= frame.len() => l3 + 40 + be16(frame, l3 + 4) as usize,
        _ => return None,
    };
    let l4 = usize::from(h.l4?);
    (end >= l4 && end <= frame.len()).then_some(end)
}

/// CRC32c (Castagnoli, reflected polynomial 0x82F63B78) table, built at
/// compile time.
const CRC32C_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// The CRC32c of `data` as SCTP uses it (RFC 4960 appendix B; RFC 3309):
/// initial value all-ones, reflected, final complement. The SCTP checksum
/// field holds this value's little-endian bytes (Linux `sctp_compute_cksum`).
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC32C_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netdev::{VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4};
    use packet::checksum::{complete_partial_csum, fill_l4_csum, verify_l4_csum};
    use proptest::prelude::*;

    /// A frame: optional 802.1Q tag, IPv4 or IPv6, then TCP/UDP/SCTP/ICMPv6
    /// with `payload` bytes; checksums complete (`fill_l4_csum`, SCTP CRC).
    fn frame(v6: bool, vlan: bool, proto: u8, payload: &[u8], seed: u8) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        }
        let l4_len = match proto {
            protocol::TCP => 20,
            protocol::SCTP => 12,
            _ => 8,
        } + payload.len();
        let mut l4 = vec![0u8; l4_len];
        l4[0..2].copy_from_slice(&(1000 + seed as u16).to_be_bytes());
        l4[2..4].copy_from_slice(&80u16.to_be_bytes());
        match proto {
            protocol::TCP => {
                l4[12] = 0x50;
                l4[13] = 0x18;
                l4[20..].copy_from_slice(payload);
            }
            protocol::UDP => {
                l4[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes());
                l4[8..].copy_from_slice(payload);
            }
            protocol::SCTP => l4[12..].copy_from_slice(payload),
            _ => {
                l4[0] = 128; // echo request
                l4[1] = 0;
                l4[8..].copy_from_slice(payload);
            }
        }
        if v6 {
            f.extend_from_slice(&[0x86, 0xdd]);
            let mut ip = vec![0x6a, 0xb0, 0x00, 0x01]; // tclass 0xab, label 1
            ip.extend_from_slice(&(l4_len as u16).to_be_bytes());
            ip.push(proto);
            ip.push(64);
            let mut a = [0u8; 16];
            a[0] = 0xfd;
            a[15] = seed;
            ip.extend_from_slice(&a);
            a[15] = seed.wrapping_add(1);
            ip.extend_from_slice(&a);
            f.extend_from_slice(&ip);
        } else {
            f.extend_from_slice(&[0x08, 0x00]);
            let mut ip = vec![0x45, 0x00];
            ip.extend_from_slice(&((20 + l4_len) as u16).to_be_bytes());
            ip.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0]);
            ip.extend_from_slice(&[10, 0, seed, 1, 10, 0, 0, 2]);
            f.extend_from_slice(&ip);
        }
        f.extend_from_slice(&l4);
        fill_l4_csum(&mut f).unwrap();
        if proto == protocol::SCTP {
            let l4o = f.len() - l4_len;
            let c = crc32c(&f[l4o..]);
            f[l4o + 8..l4o + 12].copy_from_slice(&c.to_le_bytes());
        }
        f
    }

    fn headers(f: &[u8]) -> Headers {
        let (k, l) = FlowKey::extract_with_layers(f, 1).unwrap();
        Headers::new(&k, l)
    }

    fn sctp_ok(f: &[u8]) -> bool {
        let h = headers(f);
        let l4 = h.l4.unwrap() as usize;
        let mut g = f.to_vec();
        let stored = read_le32(&g, l4 + 8);
        g[l4 + 8..l4 + 12].fill(0);
        crc32c(&g[l4..]) == stored
    }

    /// Replaces the L4 checksum with the pseudo-header sum (CHECKSUM_PARTIAL)
    /// and returns the matching offload metadata.
    fn make_partial(f: &mut [u8], gso: bool) -> OffloadMeta {
        let h = headers(f);
        let l4 = h.l4.unwrap() as usize;
        let field = pseudo_csum_field(h.nw_proto, h.dl_type == ETH_TYPE_IPV4).unwrap();
        // Full checksum c = !(p + sum(l4 without csum)); recover p by
        // zeroing the field and summing.
        f[l4 + field..l4 + field + 2].fill(0);
        let s = packet::checksum::sum16(&f[l4..]);
        fill_l4_csum(f).unwrap();
        let c = be16(f, l4 + field);
        // c = !(p + s)  =>  p = !c - s  (one's complement)
        let p = packet::checksum::add16(!c, !s);
        put16(f, l4 + field, p);
        OffloadMeta {
            flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
            gso_type: if gso { VIRTIO_NET_HDR_GSO_TCPV4 } else { 0 },
            hdr_len: if gso { (l4 + 20) as u16 } else { 0 },
            gso_size: if gso { 1448 } else { 0 },
            csum_start: l4 as u16,
            csum_offset: field as u16,
        }
    }

    fn finish(f: &mut [u8], off: &OffloadMeta) {
        complete_partial_csum(f, off.csum_start as usize, off.csum_offset as usize).unwrap();
    }

    const ONES4: [u8; 4] = [0xff; 4];

    #[test]
    fn crc32c_known_vector() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn ipv4_addresses_tcp_udp_full_checksums() {
        for proto in [protocol::TCP, protocol::UDP] {
            for vlan in [false, true] {
                let mut f = frame(false, vlan, proto, b"hello world!", 3);
                assert!(verify_l4_csum(&f));
                let h = headers(&f);
                let key = Ipv4Key {
                    src: [192, 168, 2, 2],
                    dst: [172, 16, 9, 77],
                    tos: 0xb8,
                    ttl: 7,
                };
                let mask = Ipv4Key {
                    src: ONES4,
                    dst: [255, 255, 0, 0],
                    tos: 0xfc,
                    ttl: 0xff,
                };
                set_ipv4(&mut f, &OffloadMeta::default(), &h, &key, &mask);
                assert!(verify_l4_csum(&f), "proto {proto} vlan {vlan}");
                let k = FlowKey::extract(&f, 1).unwrap();
                assert_eq!(k.nw_src, [192, 168, 2, 2]);
                assert_eq!(k.nw_dst, [172, 16, 0, 2]);
                assert_eq!((k.nw_tos, k.nw_ttl), (0xb8, 7));
            }
        }
    }

    #[test]
    fn udp_zero_checksum_stays_zero_on_ipv4() {
        let mut f = frame(false, false, protocol::UDP, b"abc", 1);
        let l4 = headers(&f).l4.unwrap() as usize;
        f[l4 + 6..l4 + 8].fill(0);
        let h = headers(&f);
        let key = Ipv4Key {
            dst: [1, 2, 3, 4],
            ..Ipv4Key::default()
        };
        let mask = Ipv4Key {
            dst: ONES4,
            ..Ipv4Key::default()
        };
        set_ipv4(&mut f, &OffloadMeta::default(), &h, &key, &mask);
        set_transport(
            &mut f,
            &OffloadMeta::default(),
            &h,
            L4Proto::Udp,
            &PortsKey { src: 0, dst: 53 },
            &PortsKey {
                src: 0,
                dst: 0xffff,
            },
        );
        assert_eq!(&f[l4 + 6..l4 + 8], &[0, 0]);
        assert_eq!(be16(&f, l4 + 2), 53);
        assert!(verify_l4_csum(&f));
    }

    #[test]
    fn ports_tcp_udp_sctp() {
        for proto in [protocol::TCP, protocol::UDP, protocol::SCTP] {
            for v6 in [false, true] {
                let mut f = frame(v6, true, proto, b"0123456789abcdef!", 9);
                let h = headers(&f);
                let p = match proto {
                    protocol::TCP => L4Proto::Tcp,
                    protocol::UDP => L4Proto::Udp,
                    _ => L4Proto::Sctp,
                };
                set_transport(
                    &mut f,
                    &OffloadMeta::default(),
                    &h,
                    p,
                    &PortsKey { src: 25, dst: 8080 },
                    &PortsKey {
                        src: 0xffff,
                        dst: 0xffff,
                    },
                );
                let k = FlowKey::extract(&f, 1).unwrap();
                assert_eq!((k.tp_src, k.tp_dst), (25, 8080), "{proto}");
                if proto == protocol::SCTP {
                    assert!(sctp_ok(&f));
                } else {
                    assert!(verify_l4_csum(&f), "{proto} v6={v6}");
                }
            }
        }
    }

    #[test]
    fn sctp_wrong_crc_stays_wrong() {
        let mut f = frame(false, false, protocol::SCTP, b"data", 1);
        let l4 = headers(&f).l4.unwrap() as usize;
        f[l4 + 8] ^= 0x55;
        let h = headers(&f);
        set_transport(
            &mut f,
            &OffloadMeta::default(),
            &h,
            L4Proto::Sctp,
            &PortsKey { src: 1, dst: 2 },
            &PortsKey {
                src: 0xffff,
                dst: 0xffff,
            },
        );
        assert!(!sctp_ok(&f));
        f[l4 + 8] ^= 0x55;
        assert!(sctp_ok(&f));
    }

    #[test]
    fn wrong_protocol_or_later_fragment_unchanged() {
        let orig = frame(false, false, protocol::UDP, b"xyz", 2);
        let mut f = orig.clone();
        let h = headers(&f);
        let all = PortsKey {
            src: 0xffff,
            dst: 0xffff,
        };
        set_transport(
            &mut f,
            &OffloadMeta::default(),
            &h,
            L4Proto::Tcp,
            &PortsKey { src: 1, dst: 1 },
            &all,
        );
        assert_eq!(f, orig);
        set_ipv6(
            &mut f,
            &OffloadMeta::default(),
            &h,
            &Ipv6Key::default(),
            &Ipv6Key {
                hlimit: 0xff,
                ..Ipv6Key::default()
            },
        );
        assert_eq!(f, orig);
        let mut later = h;
        later.nw_frag = packet::flow::FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
        set_transport(
            &mut f,
            &OffloadMeta::default(),
            &later,
            L4Proto::Udp,
            &PortsKey { src: 1, dst: 1 },
            &all,
        );
        assert_eq!(f, orig);
        // Cut-short frames: nothing changes, nothing panics.
        for n in 0..orig.len() {
            let mut s = orig[..n].to_vec();
            let before = s.clone();
            set_ipv4(
                &mut s,
                &OffloadMeta::default(),
                &h,
                &Ipv4Key {
                    ttl: 1,
                    ..Ipv4Key::default()
                },
                &Ipv4Key {
                    src: ONES4,
                    ttl: 0xff,
                    ..Ipv4Key::default()
                },
            );
            set_transport(
                &mut s,
                &OffloadMeta::default(),
                &h,
                L4Proto::Udp,
                &PortsKey { src: 1, dst: 1 },
                &all,
            );
            if n < 14 + 20 {
                assert_eq!(s, before);
            }
        }
    }

    #[test]
    fn partial_checksum_addresses_adjust_pseudo_sum_ports_do_not() {
        for proto in [protocol::TCP, protocol::UDP] {
            for (v6, vlan, gso) in [
                (false, false, false),
                (false, true, true),
                (true, false, false),
                (true, true, true),
            ] {
                let mut f = frame(v6, vlan, proto, &[7u8; 200], 4);
                let off = make_partial(&mut f, gso);
                assert!(!verify_l4_csum(&f) || proto == protocol::UDP);
                let h = headers(&f);
                if v6 {
                    let key = Ipv6Key {
                        src: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9],
                        dst: [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10],
                        tclass: 0x20,
                        ..Ipv6Key::default()
                    };
                    let mask = Ipv6Key {
                        src: [0xff; 16],
                        dst: [0xff; 16],
                        tclass: 0xff,
                        ..Ipv6Key::default()
                    };
                    set_ipv6(&mut f, &off, &h, &key, &mask);
                } else {
                    let key = Ipv4Key {
                        src: [192, 168, 2, 2],
                        dst: [8, 8, 8, 8],
                        ..Ipv4Key::default()
                    };
                    let mask = Ipv4Key {
                        src: ONES4,
                        dst: ONES4,
                        ..Ipv4Key::default()
                    };
                    set_ipv4(&mut f, &off, &h, &key, &mask);
                }
                let p = if proto == protocol::TCP {
                    L4Proto::Tcp
                } else {
                    L4Proto::Udp
                };
                set_transport(
                    &mut f,
                    &off,
                    &h,
                    p,
                    &PortsKey { src: 25, dst: 80 },
                    &PortsKey {
                        src: 0xffff,
                        dst: 0xffff,
                    },
                );
                finish(&mut f, &off);
                assert!(
                    verify_l4_csum(&f),
                    "proto {proto} v6 {v6} vlan {vlan} gso {gso}"
                );
                let k = FlowKey::extract(&f, 1).unwrap();
                assert_eq!(k.tp_src, 25);
            }
        }
    }

    #[test]
    fn icmpv6_checksum_follows_addresses() {
        let mut f = frame(true, false, protocol::ICMPV6, b"ping", 5);
        assert!(verify_l4_csum(&f));
        let h = headers(&f);
        set_ipv6(
            &mut f,
            &OffloadMeta::default(),
            &h,
            &Ipv6Key {
                dst: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                label: 0x12345,
                hlimit: 1,
                ..Ipv6Key::default()
            },
            &Ipv6Key {
                dst: [0xff; 16],
                label: 0xfffff,
                hlimit: 0xff,
                ..Ipv6Key::default()
            },
        );
        assert!(verify_l4_csum(&f));
        let k = FlowKey::extract(&f, 1).unwrap();
        assert_eq!((k.ipv6_label, k.nw_ttl, k.nw_tos), (0x12345, 1, 0xab));
    }

    #[test]
    fn eth_masked() {
        let mut f = frame(false, false, protocol::UDP, b"", 1);
        set_eth(
            &mut f,
            &EthKey {
                src: [0xaa; 6],
                dst: [0xbb; 6],
            },
            &EthKey {
                src: [0xff, 0, 0, 0, 0, 0],
                dst: [0xff; 6],
            },
        );
        assert_eq!(
            &f[0..12],
            &[0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xaa, 0, 0, 0, 0, 1]
        );
        let mut runt = [1u8; 5];
        set_eth(
            &mut runt,
            &EthKey::default(),
            &EthKey {
                src: [0xff; 6],
                dst: [0xff; 6],
            },
        );
        assert_eq!(runt, [1; 5]);
    }

    /// Reference model: write the fields directly, recompute every checksum.
    fn reference(
        f: &[u8],
        h: &Headers,
        k4: &Ipv4Key,
        m4: &Ipv4Key,
        kp: &PortsKey,
        mp: &PortsKey,
    ) -> Vec<u8> {
        let mut g = f.to_vec();
        let l3 = h.l3.unwrap() as usize;
        let l4 = h.l4.unwrap() as usize;
        for i in 0..4 {
            g[l3 + 12 + i] = (g[l3 + 12 + i] & !m4.src[i]) | (k4.src[i] & m4.src[i]);
            g[l3 + 16 + i] = (g[l3 + 16 + i] & !m4.dst[i]) | (k4.dst[i] & m4.dst[i]);
        }
        g[l3 + 1] = (g[l3 + 1] & !m4.tos) | (k4.tos & m4.tos);
        g[l3 + 8] = (g[l3 + 8] & !m4.ttl) | (k4.ttl & m4.ttl);
        let s = (be16(&g, l4) & !mp.src) | (kp.src & mp.src);
        let d = (be16(&g, l4 + 2) & !mp.dst) | (kp.dst & mp.dst);
        put16(&mut g, l4, s);
        put16(&mut g, l4 + 2, d);
        fill_l4_csum(&mut g).unwrap();
        g
    }

    fn v4_strategy() -> impl Strategy<Value = (Ipv4Key, Ipv4Key)> {
        (
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<u8>(),
            any::<u8>(),
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<u8>(),
            any::<u8>(),
        )
            .prop_map(|(s, d, t, l, ms, md, mt, ml)| {
                (
                    Ipv4Key {
                        src: s,
                        dst: d,
                        tos: t,
                        ttl: l,
                    },
                    Ipv4Key {
                        src: ms,
                        dst: md,
                        tos: mt,
                        ttl: ml,
                    },
                )
            })
    }

    proptest! {
        #[test]
        fn incremental_equals_full_recompute(
            (k4, m4) in v4_strategy(),
            kp in any::<(u16, u16)>(), mp in any::<(u16, u16)>(),
            tcp in any::<bool>(), vlan in any::<bool>(), seed in any::<u8>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let proto = if tcp { protocol::TCP } else { protocol::UDP };
            let f = frame(false, vlan, proto, &payload, seed);
            let h = headers(&f);
            let (kp, mp) = (PortsKey { src: kp.0, dst: kp.1 }, PortsKey { src: mp.0, dst: mp.1 });
            let want = reference(&f, &h, &k4, &m4, &kp, &mp);
            let mut got = f.clone();
            let none = OffloadMeta::default();
            set_ipv4(&mut got, &none, &h, &k4, &m4);
            let p = if tcp { L4Proto::Tcp } else { L4Proto::Udp };
            set_transport(&mut got, &none, &h, p, &kp, &mp);
            prop_assert!(verify_l4_csum(&got));
            // Same bytes; checksum fields equal as one's-complement numbers
            // (0x0000 and 0xffff are both zero).
            let l3 = h.l3.unwrap() as usize;
            let l4 = h.l4.unwrap() as usize;
            let field = if tcp { 16 } else { 6 };
            for pos in [l3 + 10, l4 + field] {
                prop_assert_eq!(be16(&got, pos) % 0xffff, be16(&want, pos) % 0xffff);
                put16(&mut got, pos, 0);
            }
            let mut want = want;
            put16(&mut want, l3 + 10, 0);
            put16(&mut want, l4 + field, 0);
            prop_assert_eq!(got, want);

            // Same rewrite on the CHECKSUM_PARTIAL form, completed afterwards.
            let mut part = f.clone();
            let off = make_partial(&mut part, false);
            set_ipv4(&mut part, &off, &h, &k4, &m4);
            set_transport(&mut part, &off, &h, p, &kp, &mp);
            finish(&mut part, &off);
            prop_assert!(verify_l4_csum(&part));
        }

        #[test]
        fn ipv6_incremental_verifies(
            src in any::<[u8; 16]>(), msrc in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), mdst in any::<[u8; 16]>(),
            proto_i in 0usize..3, vlan in any::<bool>(), partial in any::<bool>(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let proto = [protocol::TCP, protocol::UDP, protocol::ICMPV6][proto_i];
            let mut f = frame(true, vlan, proto, &payload, 3);
            let off = if partial && proto != protocol::ICMPV6 { make_partial(&mut f, false) } else { OffloadMeta::default() };
            let h = headers(&f);
            set_ipv6(&mut f, &off, &h, &Ipv6Key { src, dst, ..Ipv6Key::default() }, &Ipv6Key { src: msrc, dst: mdst, ..Ipv6Key::default() });
            if off.needs_csum() {
                finish(&mut f, &off);
            }
            prop_assert!(verify_l4_csum(&f));
            let k = FlowKey::extract(&f, 1).unwrap();
            for i in 0..16 {
                prop_assert_eq!(k.ipv6_src[i] & msrc[i], src[i] & msrc[i]);
                prop_assert_eq!(k.ipv6_dst[i] & mdst[i], dst[i] & mdst[i]);
            }
        }
    }
}
