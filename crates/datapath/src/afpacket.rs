//! `system` ports: an existing Linux interface through an AF_PACKET socket
//! (as OVS's netdev-linux `rxq_recv_sock` path, with batching).
//!
//! Idea: one `SOCK_RAW`/`ETH_P_ALL` socket bound to the interface, in
//! promiscuous mode, with `PACKET_VNET_HDR` so GSO super-frames and partial
//! checksums from veth/TSO stacks arrive whole with their virtio-net header
//! and can be sent on whole; `PACKET_AUXDATA` to recover 802.1Q tags the
//! kernel moved into skb metadata (re-inserted into the frame here);
//! `PACKET_IGNORE_OUTGOING` so our own transmissions do not come back.
//! Receive is one `recvmmsg` per batch of 32 and transmit one `sendmmsg` per
//! 32 frames; the message headers, iovecs and control buffers live on the
//! stack, so the hot path does no heap allocation.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::netdev::{
    DpPacket, Netdev, OffloadMeta, PacketBatch, TxResult, BATCH_SIZE, VNET_HDR_LEN,
};
use crate::sys::{cvt, if_index, if_mac, if_mtu, setsockopt_int};
use crate::Error;

const ETH_P_ALL: u16 = 0x0003;
const PACKET_ADD_MEMBERSHIP: i32 = 1;
const PACKET_MR_PROMISC: u16 = 1;
const PACKET_AUXDATA: i32 = 8;
const PACKET_VNET_HDR: i32 = 15;
const PACKET_IGNORE_OUTGOING: i32 = 23;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// Socket buffer size requested with SO_{RCV,SND}BUFFORCE, bytes.
const SOCK_BUF: i32 = 8 << 20;

/// `struct tpacket_auxdata` (linux/if_packet.h).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TpacketAuxdata {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
}

/// An AF_PACKET socket bound to one interface.
#[derive(Debug)]
pub struct AfPacket {
    name: String,
    fd: OwnedFd,
    ifindex: u32,
    mtu: AtomicU32,
}

impl AfPacket {
    /// Opens interface `name`. Errors: `could not open network device NAME
    /// (No such device)` if it does not exist, else the failing call's errno.
    pub fn open(name: &str) -> Result<AfPacket, Error> {
        let ifindex = if_index(name).ok_or_else(|| Error::open(name, libc::ENODEV))?;
        // Protocol 0 until bound, so nothing from other interfaces queues up.
        // SAFETY: plain syscall.
        let fd = cvt(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })
        .map_err(|e| Error::open_io(name, &e))?;
        // SAFETY: fresh fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        let err = |e: io::Error| Error::open_io(name, &e);
        setsockopt_int(raw, libc::SOL_PACKET, PACKET_VNET_HDR, 1).map_err(err)?;
        setsockopt_int(raw, libc::SOL_PACKET, PACKET_AUXDATA, 1).map_err(err)?;
        // Linux ≥ 4.20; without it our own frames would loop back (ignored on failure).
        let _ = setsockopt_int(raw, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
        if setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, SOCK_BUF).is_err() {
            let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, SOCK_BUF);
        }
        if setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, SOCK_BUF).is_err() {
            let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, SOCK_BUF);
        }
        // SAFETY: sockaddr_ll is POD; zero is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: passes a valid sockaddr_ll and its size.
        cvt(unsafe {
            libc::bind(
                raw,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        })
        .map_err(err)?;
        // SAFETY: packet_mreq is POD.
        let mut mreq: libc::packet_mreq = unsafe { std::mem::zeroed() };
        mreq.mr_ifindex = ifindex as i32;
        mreq.mr_type = PACKET_MR_PROMISC;
        // SAFETY: passes a valid packet_mreq and its size.
        cvt(unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_PACKET,
                PACKET_ADD_MEMBERSHIP,
                &mreq as *const libc::packet_mreq as *const libc::c_void,
                std::mem::size_of::<libc::packet_mreq>() as u32,
            )
        })
        .map_err(err)?;
        let mtu = if_mtu(name).unwrap_or(1500);
        Ok(AfPacket {
            name: name.to_string(),
            fd,
            ifindex,
            mtu: AtomicU32::new(mtu),
        })
    }

    /// The kernel interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Whether a non-GSO frame fits the device (MTU + Ethernet header, plus
    /// 4 for an 802.1Q tag, as `packet_snd` checks).
    fn fits(&self, p: &DpPacket) -> bool {
        let d = p.data();
        let tagged = d.len() >= 14 && matches!(u16::from_be_bytes([d[12], d[13]]), 0x8100 | 0x88a8);
        let limit = self.mtu.load(Ordering::Relaxed) as usize + 14 + if tagged { 4 } else { 0 };
        p.len() <= limit
    }
}

/// Reads the `PACKET_AUXDATA` control message of `msg`, if any.
fn auxdata(msg: &libc::msghdr) -> Option<TpacketAuxdata> {
    // SAFETY: `msg` was filled by recvmmsg; the CMSG_* macros stay within
    // msg_control/msg_controllen, and the payload is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_PACKET
                && (*c).cmsg_type == PACKET_AUXDATA
                && (*c).cmsg_len as usize
                    >= libc::CMSG_LEN(std::mem::size_of::<TpacketAuxdata>() as u32) as usize
            {
                return Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(c) as *const TpacketAuxdata
                ));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

impl Netdev for AfPacket {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_(&self) -> &str {
        "system"
    }

    fn rx_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        batch.clear();
        let mut hdrs = [[0u8; VNET_HDR_LEN]; BATCH_SIZE];
        let mut ctl = [[0u64; 8]; BATCH_SIZE]; // 64 bytes ≥ CMSG_SPACE(20), 8-aligned
                                               // SAFETY: iovec/mmsghdr are POD; zero is valid.
        let mut iovs: [[libc::iovec; 2]; BATCH_SIZE] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; BATCH_SIZE] = unsafe { std::mem::zeroed() };
        {
            let slots = batch.slots_mut();
            for i in 0..BATCH_SIZE {
                let area = slots[i].rx_area();
                iovs[i][0] = libc::iovec {
                    iov_base: hdrs[i].as_mut_ptr() as *mut libc::c_void,
                    iov_len: VNET_HDR_LEN,
                };
                iovs[i][1] = libc::iovec {
                    iov_base: area.as_mut_ptr() as *mut libc::c_void,
                    iov_len: area.len(),
                };
                let h = &mut msgs[i].msg_hdr;
                h.msg_iov = iovs[i].as_mut_ptr();
                h.msg_iovlen = 2;
                h.msg_control = ctl[i].as_mut_ptr() as *mut libc::c_void;
                h.msg_controllen = std::mem::size_of_val(&ctl[i]) as _;
            }
        }
        // SAFETY: every mmsghdr points at live iovecs/control buffers on this
        // stack frame and at packet buffers owned by `batch`, all of which
        // outlive the call; the batch is not otherwise touched meanwhile.
        let n = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH_SIZE as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        let mut valid = 0;
        for i in 0..n as usize {
            let m = &msgs[i];
            let total = m.msg_len as usize;
            if total < VNET_HDR_LEN || m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                continue; // truncated: cannot be forwarded faithfully
            }
            let offload = OffloadMeta::from_vnet_bytes(&hdrs[i]);
            let aux = auxdata(&m.msg_hdr);
            let slots = batch.slots_mut();
            slots.swap(valid, i);
            let p = &mut slots[valid];
            p.set_received(total - VNET_HDR_LEN, offload);
            if let Some(a) = aux {
                if a.tp_status & TP_STATUS_VLAN_VALID != 0 {
                    let tpid =
                        if a.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 && a.tp_vlan_tpid != 0 {
                            a.tp_vlan_tpid
                        } else {
                            0x8100
                        };
                    p.push_vlan(tpid, a.tp_vlan_tci);
                }
            }
            valid += 1;
        }
        batch.set_len(valid);
        Ok(valid)
    }

    fn send_batch(&self, pkts: &[&DpPacket]) -> TxResult {
        let mut r = TxResult::default();
        for chunk in pkts.chunks(BATCH_SIZE) {
            let mut hdrs = [[0u8; VNET_HDR_LEN]; BATCH_SIZE];
            // SAFETY: POD, zero valid.
            let mut iovs: [[libc::iovec; 2]; BATCH_SIZE] = unsafe { std::mem::zeroed() };
            // SAFETY: POD, zero valid.
            let mut msgs: [libc::mmsghdr; BATCH_SIZE] = unsafe { std::mem::zeroed() };
            let mut lens = [0usize; BATCH_SIZE];
            let mut cnt = 0;
            for p in chunk {
                if !p.offload.is_gso() && !self.fits(p) {
                    r.dropped += 1;
                    continue;
                }
                hdrs[cnt] = p.offload.to_vnet_bytes();
                let d = p.data();
                iovs[cnt][0] = libc::iovec {
                    iov_base: hdrs[cnt].as_mut_ptr() as *mut libc::c_void,
                    iov_len: VNET_HDR_LEN,
                };
                iovs[cnt][1] = libc::iovec {
                    iov_base: d.as_ptr() as *mut libc::c_void,
                    iov_len: d.len(),
                };
                msgs[cnt].msg_hdr.msg_iov = iovs[cnt].as_mut_ptr();
                msgs[cnt].msg_hdr.msg_iovlen = 2;
                lens[cnt] = d.len();
                cnt += 1;
            }
            let mut k = 0;
            while k < cnt {
                // SAFETY: msgs[k..cnt] point at live iovecs and headers on this
                // stack frame and at packet data borrowed for the call; the
                // kernel only reads them.
                let s = unsafe {
                    libc::sendmmsg(
                        self.fd.as_raw_fd(),
                        msgs[k..].as_mut_ptr(),
                        (cnt - k) as u32,
                        libc::MSG_DONTWAIT,
                    )
                };
                if s < 0 {
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EAGAIN) | Some(libc::ENOBUFS) => {
                            r.dropped += (cnt - k) as u64;
                            break;
                        }
                        Some(libc::EINTR) => continue,
                        Some(libc::EMSGSIZE) => r.dropped += 1,
                        _ => r.errors += 1,
                    }
                    k += 1; // skip the frame that failed
                } else {
                    for len in &lens[k..k + s as usize] {
                        r.packets += 1;
                        r.bytes += *len as u64;
                    }
                    k += s as usize;
                    if s == 0 {
                        r.dropped += (cnt - k) as u64;
                        break;
                    }
                }
            }
        }
        r
    }

    fn accepts_vnet_hdr(&self) -> bool {
        true
    }

    fn mtu(&self) -> io::Result<u32> {
        let m = if_mtu(&self.name)?;
        self.mtu.store(m, Ordering::Relaxed);
        Ok(m)
    }

    fn mac(&self) -> io::Result<[u8; 6]> {
        if_mac(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_device_error_text() {
        let e = AfPacket::open("oxvs-nodev0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not open network device oxvs-nodev0 (No such device)"
        );
    }
}
