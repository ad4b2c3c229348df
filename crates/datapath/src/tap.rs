//! `internal` and `tap` ports: a Linux tap device created through
//! `/dev/net/tun` (as OVS's netdev-linux tap class; `internal` is the
//! bridge's own port, a device named like the bridge).
//!
//! Idea: `IFF_TAP | IFF_NO_PI | IFF_VNET_HDR` with a 12-byte virtio-net
//! header (`TUNSETVNETHDRSZ`) and `TUNSETOFFLOAD(CSUM|TSO4|TSO6)`, so the host
//! stack hands us GSO super-frames with partial checksums and accepts them
//! back. One `readv`/`writev` per frame (the tun driver has no batch call).
//! The device is not persistent: it disappears when this fd closes. Its link
//! state is left as the kernel or the user sets it (OVS leaves it down).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::netdev::{DpPacket, Netdev, OffloadMeta, PacketBatch, TxResult, BATCH_SIZE};
use crate::sys::{cvt, if_mac, if_mtu, ifreq_named};
use crate::Error;

/// `struct virtio_net_hdr_mrg_rxbuf` size used on the tap fd, bytes.
const TAP_VNET_HDR_LEN: usize = 12;
const TUN_F_TSO4: u32 = 0x02;
const TUN_F_TSO6: u32 = 0x04;

/// A tap device owned by this process.
#[derive(Debug)]
pub struct Tap {
    name: String,
    type_: String,
    fd: OwnedFd,
}

impl Tap {
    /// Creates (or attaches to a persistent) tap device `name`; `type_` is
    /// `internal` or `tap` (reported by [`Netdev::type_`]). Errors: `could not
    /// open network device NAME (strerror)`, e.g. `Device or resource busy`
    /// when another process holds it.
    pub fn open(name: &str, type_: &str) -> Result<Tap, Error> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(Error::open(name, libc::EINVAL));
        }
        let path = c"/dev/net/tun";
        // SAFETY: `path` is NUL-terminated.
        let fd = cvt(unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        })
        .map_err(|e| Error::open_io(name, &e))?;
        // SAFETY: fresh fd.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        let err = |e: io::Error| Error::open_io(name, &e);
        let mut ifr = ifreq_named(name);
        ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR) as i16;
        // SAFETY: TUNSETIFF reads/writes the ifreq we own.
        cvt(unsafe { libc::ioctl(raw, libc::TUNSETIFF, &mut ifr) }).map_err(err)?;
        let sz: libc::c_int = TAP_VNET_HDR_LEN as libc::c_int;
        // SAFETY: TUNSETVNETHDRSZ reads an int through the pointer.
        cvt(unsafe { libc::ioctl(raw, libc::TUNSETVNETHDRSZ, &sz) }).map_err(err)?;
        let off = (libc::TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) as libc::c_ulong;
        // SAFETY: TUNSETOFFLOAD takes the flags by value.
        cvt(unsafe { libc::ioctl(raw, libc::TUNSETOFFLOAD, off) }).map_err(err)?;
        Ok(Tap {
            name: name.to_string(),
            type_: type_.to_string(),
            fd,
        })
    }
}

impl Netdev for Tap {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_(&self) -> &str {
        &self.type_
    }

    fn rx_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        batch.clear();
        let mut n = 0;
        while n < BATCH_SIZE {
            let mut hdr = [0u8; TAP_VNET_HDR_LEN];
            let p = &mut batch.slots_mut()[n];
            let area = p.rx_area();
            let iov = [
                libc::iovec {
                    iov_base: hdr.as_mut_ptr() as *mut libc::c_void,
                    iov_len: TAP_VNET_HDR_LEN,
                },
                libc::iovec {
                    iov_base: area.as_mut_ptr() as *mut libc::c_void,
                    iov_len: area.len(),
                },
            ];
            // SAFETY: both iovecs point at buffers we own for the call.
            let r = unsafe { libc::readv(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if n > 0
                    || matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    )
                {
                    break;
                }
                return Err(e);
            }
            let r = r as usize;
            if r < TAP_VNET_HDR_LEN {
                continue;
            }
            p.set_received(r - TAP_VNET_HDR_LEN, OffloadMeta::from_vnet_bytes(&hdr));
            n += 1;
            batch.set_len(n);
        }
        batch.set_len(n);
        Ok(n)
    }

    fn send_batch(&self, pkts: &[&DpPacket]) -> TxResult {
        let mut r = TxResult::default();
        for p in pkts {
            let mut hdr = [0u8; TAP_VNET_HDR_LEN];
            hdr[..10].copy_from_slice(&p.offload.to_vnet_bytes());
            let d = p.data();
            let iov = [
                libc::iovec {
                    iov_base: hdr.as_mut_ptr() as *mut libc::c_void,
                    iov_len: TAP_VNET_HDR_LEN,
                },
                libc::iovec {
                    iov_base: d.as_ptr() as *mut libc::c_void,
                    iov_len: d.len(),
                },
            ];
            // SAFETY: the iovecs point at live buffers; the kernel only reads.
            let w = unsafe { libc::writev(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
            if w < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    // EIO: the device is down (no carrier); EAGAIN: queue full.
                    Some(libc::EAGAIN) | Some(libc::EIO) | Some(libc::ENOBUFS) => r.dropped += 1,
                    _ => r.errors += 1,
                }
            } else {
                r.packets += 1;
                r.bytes += d.len() as u64;
            }
        }
        r
    }

    fn accepts_vnet_hdr(&self) -> bool {
        true
    }

    fn mtu(&self) -> io::Result<u32> {
        if_mtu(&self.name)
    }

    fn mac(&self) -> io::Result<[u8; 6]> {
        if_mac(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_opens_and_goes_away() {
        if !std::path::Path::new("/dev/net/tun").exists() || unsafe { libc::geteuid() } != 0 {
            return; // needs root and the tun driver
        }
        let t = Tap::open("oxvstaptest0", "internal").unwrap();
        assert!(crate::sys::if_index("oxvstaptest0").is_some());
        assert_eq!(t.type_(), "internal");
        let mut b = PacketBatch::new();
        assert_eq!(t.recv_batch(&mut b).unwrap(), 0);
        drop(t);
        assert!(crate::sys::if_index("oxvstaptest0").is_none());
    }
}
