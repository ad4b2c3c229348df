//! The netdev provider interface (as Open vSwitch's `netdev-provider.h`), the
//! packet buffer [`DpPacket`] and the reusable [`PacketBatch`].
//!
//! Idea: a port type is one file implementing [`Netdev`]: receive a batch of
//! up to [`BATCH_SIZE`] frames into preallocated buffers with one system call
//! where the kernel allows, send a batch the same way, and report whether it
//! can carry virtio-net offload metadata (GSO super-frames, partial
//! checksums) so the datapath knows when it must finish a checksum in software.
//!
//! Invariants: a [`PacketBatch`] is allocated once per rx queue and reused for
//! ever; a [`DpPacket`] never reallocates (its buffer holds a 64 KiB GSO frame
//! plus [`HEADROOM`] bytes in front, so pushing a VLAN header moves 12 bytes
//! of MAC addresses, never the payload). Offload offsets (`csum_start`,
//! `hdr_len`) are relative to the first byte of the Ethernet header, as in
//! `struct virtio_net_hdr`.
//!
//! Both `recv_batch` and `send_batch` take `&self`: a netdev is shared
//! (`Arc`) between the one forwarding thread that polls its rx queue and the
//! threads that transmit to it; all per-call scratch state lives in the batch
//! or on the stack. The datapath guarantees a single rx poller per netdev.

use std::io;
use std::os::fd::RawFd;

use crate::Error;

/// Packets per receive/transmit batch (as `NETDEV_MAX_BURST` in OVS).
pub const BATCH_SIZE: usize = 32;
/// Bytes reserved in front of each frame for header pushes (VLAN, tunnels).
pub const HEADROOM: usize = 128;
/// Largest frame a [`DpPacket`] holds: a 64 KiB IP datagram (GSO) plus an
/// Ethernet header and two VLAN tags.
pub const MAX_FRAME: usize = 65535 + 14 + 8;
/// Size of `struct virtio_net_hdr` (AF_PACKET `PACKET_VNET_HDR`), bytes.
pub const VNET_HDR_LEN: usize = 10;

/// `virtio_net_hdr.flags`: the L4 checksum is partial; finish it from
/// `csum_start` and store it at `csum_start + csum_offset` (virtio spec 5.1.6).
pub const VIRTIO_NET_HDR_F_NEEDS_CSUM: u8 = 1;
/// `virtio_net_hdr.flags`: the checksum was already validated.
pub const VIRTIO_NET_HDR_F_DATA_VALID: u8 = 2;
/// `virtio_net_hdr.gso_type`: not a GSO frame.
pub const VIRTIO_NET_HDR_GSO_NONE: u8 = 0;
/// `virtio_net_hdr.gso_type`: TCP over IPv4 segmentation.
pub const VIRTIO_NET_HDR_GSO_TCPV4: u8 = 1;
/// `virtio_net_hdr.gso_type`: UDP fragmentation offload.
pub const VIRTIO_NET_HDR_GSO_UDP: u8 = 3;
/// `virtio_net_hdr.gso_type`: TCP over IPv6 segmentation.
pub const VIRTIO_NET_HDR_GSO_TCPV6: u8 = 4;
/// `virtio_net_hdr.gso_type` flag bit: ECN (CWR) set on the super-frame.
pub const VIRTIO_NET_HDR_GSO_ECN: u8 = 0x80;

/// Offload metadata of one frame: the fields of `struct virtio_net_hdr`
/// (linux/virtio_net.h), host byte order. All zero = a plain frame with a
/// complete checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OffloadMeta {
    /// `VIRTIO_NET_HDR_F_*` bits.
    pub flags: u8,
    /// `VIRTIO_NET_HDR_GSO_*` value (plus the ECN bit).
    pub gso_type: u8,
    /// Length of all headers up to the end of L4, bytes from frame start.
    pub hdr_len: u16,
    /// Payload bytes per segment when `gso_type` is not NONE.
    pub gso_size: u16,
    /// Where checksumming starts, bytes from frame start (with NEEDS_CSUM).
    pub csum_start: u16,
    /// Where the checksum goes, bytes after `csum_start`.
    pub csum_offset: u16,
}

impl OffloadMeta {
    /// Whether the L4 checksum still has to be completed.
    #[inline]
    pub fn needs_csum(&self) -> bool {
        self.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM != 0
    }

    /// Whether this is a GSO super-frame (to be segmented by the receiver).
    #[inline]
    pub fn is_gso(&self) -> bool {
        self.gso_type & !VIRTIO_NET_HDR_GSO_ECN != VIRTIO_NET_HDR_GSO_NONE
    }

    /// Parses the first 10 bytes of a little-endian `virtio_net_hdr`
    /// (x86/arm hosts; the tun/packet default is native endian).
    /// Short input yields the all-zero header.
    pub fn from_vnet_bytes(b: &[u8]) -> OffloadMeta {
        if b.len() < VNET_HDR_LEN {
            return OffloadMeta::default();
        }
        let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        OffloadMeta {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        }
    }

    /// Writes the header as the 10-byte `virtio_net_hdr` (native endian).
    pub fn to_vnet_bytes(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }

    /// Moves the header-relative offsets by `delta` bytes (±4 for a VLAN
    /// push/pop in front of the L3 header).
    #[inline]
    pub fn shift(&mut self, delta: i32) {
        if self.needs_csum() {
            self.csum_start = (self.csum_start as i32 + delta).clamp(0, u16::MAX as i32) as u16;
        }
        if self.hdr_len != 0 {
            self.hdr_len = (self.hdr_len as i32 + delta).clamp(0, u16::MAX as i32) as u16;
        }
    }
}

/// One packet buffer: `HEADROOM + MAX_FRAME` bytes allocated once, the frame
/// at `[start, start + len)`, plus offload metadata.
#[derive(Clone)]
pub struct DpPacket {
    buf: Box<[u8]>,
    start: usize,
    len: usize,
    /// Offload metadata (virtio-net header) of the frame.
    pub offload: OffloadMeta,
}

impl std::fmt::Debug for DpPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpPacket")
            .field("len", &self.len)
            .field("offload", &self.offload)
            .finish()
    }
}

impl Default for DpPacket {
    fn default() -> Self {
        Self::new()
    }
}

impl DpPacket {
    /// An empty packet with a full-size buffer (the only allocation).
    pub fn new() -> DpPacket {
        DpPacket {
            buf: vec![0u8; HEADROOM + MAX_FRAME].into_boxed_slice(),
            start: HEADROOM,
            len: 0,
            offload: OffloadMeta::default(),
        }
    }

    /// A packet holding a copy of `frame` (truncated to [`MAX_FRAME`]).
    pub fn from_frame(frame: &[u8]) -> DpPacket {
        let mut p = DpPacket::new();
        p.set_frame(frame);
        p
    }

    /// The frame (Ethernet header first).
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }

    /// The frame, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.len]
    }

    /// Frame length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the frame is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Resets to an empty frame at the default headroom, no offloads.
    #[inline]
    pub fn reset(&mut self) {
        self.start = HEADROOM;
        self.len = 0;
        self.offload = OffloadMeta::default();
    }

    /// Replaces the frame with a copy of `frame` (truncated to [`MAX_FRAME`]);
    /// offloads are cleared.
    pub fn set_frame(&mut self, frame: &[u8]) {
        self.reset();
        let n = frame.len().min(MAX_FRAME);
        self.buf[HEADROOM..HEADROOM + n].copy_from_slice(&frame[..n]);
        self.len = n;
    }

    /// Copies frame and metadata of `other` into `self` (no allocation).
    pub fn copy_from(&mut self, other: &DpPacket) {
        self.start = HEADROOM;
        self.len = other.len;
        self.buf[HEADROOM..HEADROOM + other.len].copy_from_slice(other.data());
        self.offload = other.offload;
    }

    /// The whole receive area (from the default headroom to the end of the
    /// buffer) for a provider to read a frame into; then call
    /// [`DpPacket::set_received`].
    #[inline]
    pub fn rx_area(&mut self) -> &mut [u8] {
        self.start = HEADROOM;
        &mut self.buf[HEADROOM..]
    }

    /// Records that `len` bytes were written into [`DpPacket::rx_area`].
    #[inline]
    pub fn set_received(&mut self, len: usize, offload: OffloadMeta) {
        self.start = HEADROOM;
        self.len = len.min(MAX_FRAME);
        self.offload = offload;
    }

    /// Inserts an 802.1Q/802.1ad header (`tpid`, `tci`) after the MAC
    /// addresses, outermost. Moves 12 bytes into the headroom and shifts the
    /// offload offsets by +4. Returns false (packet unchanged) if the frame is
    /// shorter than 12 bytes or the headroom or buffer is exhausted.
    pub fn push_vlan(&mut self, tpid: u16, tci: u16) -> bool {
        if self.len < 12 || self.start < 4 || self.len + 4 > MAX_FRAME {
            return false;
        }
        let s = self.start;
        self.buf.copy_within(s..s + 12, s - 4);
        self.start -= 4;
        self.len += 4;
        let s = self.start;
        self.buf[s + 12..s + 14].copy_from_slice(&tpid.to_be_bytes());
        self.buf[s + 14..s + 16].copy_from_slice(&tci.to_be_bytes());
        self.offload.shift(4);
        true
    }

    /// Removes the outermost VLAN header (TPID 0x8100 or 0x88a8) if there is
    /// one; shifts the offload offsets by −4. Returns whether a tag was removed.
    pub fn pop_vlan(&mut self) -> bool {
        if self.len < 18 {
            return false;
        }
        let d = self.data();
        let tpid = u16::from_be_bytes([d[12], d[13]]);
        if tpid != 0x8100 && tpid != 0x88a8 {
            return false;
        }
        let s = self.start;
        self.buf.copy_within(s..s + 12, s + 4);
        self.start += 4;
        self.len -= 4;
        self.offload.shift(-4);
        true
    }

    /// Rewrites the Ethernet source and destination (no-op on a runt frame).
    pub fn set_eth(&mut self, src: &[u8; 6], dst: &[u8; 6]) {
        if self.len >= 12 {
            let d = self.data_mut();
            d[0..6].copy_from_slice(dst);
            d[6..12].copy_from_slice(src);
        }
    }
}

/// Up to [`BATCH_SIZE`] packets: allocated once per rx queue, reused for
/// every receive (the first `count` packets are valid).
#[derive(Debug)]
pub struct PacketBatch {
    pkts: Vec<DpPacket>,
    count: usize,
}

impl Default for PacketBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl PacketBatch {
    /// Allocates [`BATCH_SIZE`] full-size packets (about 2 MiB).
    pub fn new() -> PacketBatch {
        PacketBatch {
            pkts: (0..BATCH_SIZE).map(|_| DpPacket::new()).collect(),
            count: 0,
        }
    }

    /// Number of valid packets.
    #[inline]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no packet is valid.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Marks every packet invalid (buffers are kept).
    #[inline]
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// Sets the number of valid packets (providers, after filling
    /// [`PacketBatch::slots_mut`]); clamped to [`BATCH_SIZE`].
    #[inline]
    pub fn set_len(&mut self, n: usize) {
        self.count = n.min(BATCH_SIZE);
    }

    /// All [`BATCH_SIZE`] buffers, for a provider to receive into.
    #[inline]
    pub fn slots_mut(&mut self) -> &mut [DpPacket] {
        &mut self.pkts
    }

    /// The valid packets.
    #[inline]
    pub fn packets(&self) -> &[DpPacket] {
        &self.pkts[..self.count]
    }

    /// The valid packets, writable.
    #[inline]
    pub fn packets_mut(&mut self) -> &mut [DpPacket] {
        &mut self.pkts[..self.count]
    }

    /// Appends a copy of `frame` with `offload`; false if the batch is full.
    pub fn push_frame(&mut self, frame: &[u8], offload: OffloadMeta) -> bool {
        if self.count >= BATCH_SIZE {
            return false;
        }
        let p = &mut self.pkts[self.count];
        p.set_frame(frame);
        p.offload = offload;
        self.count += 1;
        true
    }
}

/// What one [`Netdev::send_batch`] call did, for the port's tx counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxResult {
    /// Frames handed to the device.
    pub packets: u64,
    /// Bytes of those frames (Ethernet header included).
    pub bytes: u64,
    /// Frames dropped on purpose (too big for the MTU, queue full).
    pub dropped: u64,
    /// Frames that failed with an unexpected error.
    pub errors: u64,
}

impl TxResult {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &TxResult) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.dropped += o.dropped;
        self.errors += o.errors;
    }
}

/// A network device the datapath can receive from and send to
/// (`struct netdev_class` in OVS's `netdev-provider.h`).
pub trait Netdev: Send + Sync {
    /// Device name (e.g. `veth-a`, `br0`).
    fn name(&self) -> &str;

    /// Interface type as configured in OVSDB: `system`, `internal`, `tap`, `dummy`.
    fn type_(&self) -> &str;

    /// A file descriptor that is readable (epoll, level-triggered) when
    /// [`Netdev::recv_batch`] may return packets.
    fn rx_fd(&self) -> RawFd;

    /// Receives up to [`BATCH_SIZE`] frames into `batch` (replacing its
    /// contents), without blocking. Returns the count (0 = nothing pending).
    /// Errors other than EAGAIN are returned (the caller counts rx_errors).
    fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize>;

    /// Sends `pkts` (any number; providers chunk by [`BATCH_SIZE`]). Offload
    /// metadata is passed on if [`Netdev::accepts_vnet_hdr`], otherwise the
    /// caller has already completed checksums. Never blocks: a full queue is
    /// counted as `dropped`.
    fn send_batch(&self, pkts: &[&DpPacket]) -> TxResult;

    /// Whether sent frames may carry virtio-net offload metadata (GSO,
    /// NEEDS_CSUM). If false the datapath completes checksums in software
    /// and drops GSO frames larger than the MTU.
    fn accepts_vnet_hdr(&self) -> bool;

    /// Device MTU (L3 bytes).
    fn mtu(&self) -> io::Result<u32>;

    /// Device Ethernet address.
    fn mac(&self) -> io::Result<[u8; 6]>;
}

/// Opens a netdev of OVSDB interface type `type_` named `name`:
/// `""`/`"system"` → AF_PACKET on an existing interface, `"internal"`/`"tap"`
/// → a tap device, `"dummy"` → an in-memory device.
///
/// Errors: [`Error::Open`] with OVS's text, e.g. `could not open network
/// device veth9 (No such device)`; an unknown type gives
/// `(Address family not supported by protocol)` as `netdev_open()` does.
pub fn open_netdev(name: &str, type_: &str) -> Result<Box<dyn Netdev>, Error> {
    match type_ {
        "" | "system" => Ok(Box::new(crate::afpacket::AfPacket::open(name)?)),
        "internal" | "tap" => Ok(Box::new(crate::tap::Tap::open(name, type_)?)),
        "dummy" => Ok(Box::new(crate::dummy::DummyNetdev::new(name).0)),
        _ => Err(Error::open(name, libc::EAFNOSUPPORT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        for (i, b) in f[14..].iter_mut().enumerate() {
            *b = i as u8;
        }
        f
    }

    #[test]
    fn vlan_push_pop_bytes() {
        let f = frame();
        let mut p = DpPacket::from_frame(&f);
        assert!(p.push_vlan(0x8100, 10));
        assert_eq!(p.len(), f.len() + 4);
        assert_eq!(&p.data()[..12], &f[..12]);
        assert_eq!(&p.data()[12..16], &[0x81, 0x00, 0x00, 0x0a]);
        assert_eq!(&p.data()[16..], &f[12..]);
        assert!(p.push_vlan(0x88a8, 0x2005));
        assert_eq!(
            &p.data()[12..20],
            &[0x88, 0xa8, 0x20, 0x05, 0x81, 0x00, 0x00, 0x0a]
        );
        assert!(p.pop_vlan());
        assert!(p.pop_vlan());
        assert_eq!(p.data(), &f[..]);
        assert!(!p.pop_vlan());
    }

    #[test]
    fn vlan_push_adjusts_csum_start_and_hdr_len() {
        let mut p = DpPacket::from_frame(&frame());
        p.offload = OffloadMeta {
            flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
            gso_type: VIRTIO_NET_HDR_GSO_TCPV4,
            hdr_len: 54,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        p.push_vlan(0x8100, 5);
        assert_eq!(
            (
                p.offload.csum_start,
                p.offload.hdr_len,
                p.offload.csum_offset
            ),
            (38, 58, 16)
        );
        p.pop_vlan();
        assert_eq!((p.offload.csum_start, p.offload.hdr_len), (34, 54));
    }

    #[test]
    fn runt_frames_do_not_panic() {
        let mut p = DpPacket::from_frame(&[1, 2, 3]);
        assert!(!p.push_vlan(0x8100, 1));
        assert!(!p.pop_vlan());
        p.set_eth(&[0; 6], &[0; 6]);
        assert_eq!(p.data(), &[1, 2, 3]);
    }

    #[test]
    fn vnet_header_roundtrip() {
        let m = OffloadMeta {
            flags: 1,
            gso_type: 4,
            hdr_len: 74,
            gso_size: 1428,
            csum_start: 54,
            csum_offset: 16,
        };
        assert_eq!(OffloadMeta::from_vnet_bytes(&m.to_vnet_bytes()), m);
        assert_eq!(
            OffloadMeta::from_vnet_bytes(&[1, 2]),
            OffloadMeta::default()
        );
    }

    #[test]
    fn unknown_type_error_text() {
        let e = open_netdev("p1", "bogus").err().unwrap();
        assert_eq!(
            e.to_string(),
            "could not open network device p1 (Address family not supported by protocol)"
        );
    }
}
