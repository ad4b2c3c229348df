//! Thin safe wrappers over the few Linux calls the datapath needs outside the
//! netdev providers: epoll, eventfd, socket/interface ioctls and errno text.
//!
//! Every `unsafe` block here is a direct system call on a file descriptor this
//! module owns (an [`OwnedFd`]) or on plain-old-data buffers it sizes itself.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `strerror(errno)` without Rust's " (os error N)" suffix, as OVS prints it
/// (`ovs_strerror`), e.g. `No such device` for ENODEV.
pub fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The last OS error as an `io::Error`.
pub(crate) fn last_err() -> io::Error {
    io::Error::last_os_error()
}

/// Turns a `-1` return into the errno.
pub(crate) fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(last_err())
    } else {
        Ok(r)
    }
}

/// An epoll instance (level-triggered), owned.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`.
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall, no pointers.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `fd` for readability; `token` comes back in [`Epoll::wait`].
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
        Ok(())
    }

    /// Stops watching `fd` (errors ignored: the fd may already be closed).
    pub fn del(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: `ev` is valid; a stale fd only yields an error.
        unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Waits up to `timeout_ms` (−1 = forever) and writes the ready tokens
    /// into `out`; returns how many. EINTR returns 0.
    pub fn wait(&self, out: &mut [u64], timeout_ms: i32) -> io::Result<usize> {
        const MAX: usize = 64;
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; MAX];
        let n = out.len().min(MAX) as libc::c_int;
        // SAFETY: `evs` has room for `n` events.
        let r = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), evs.as_mut_ptr(), n, timeout_ms) };
        if r < 0 {
            let e = last_err();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        for (o, ev) in out.iter_mut().zip(evs.iter()).take(r as usize) {
            *o = ev.u64;
        }
        Ok(r as usize)
    }
}

/// A non-blocking eventfd used as a wake-up doorbell.
#[derive(Debug)]
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// `eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)`.
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: plain syscall.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: fresh fd owned by nobody else.
        Ok(EventFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Adds 1 to the counter (makes the fd readable). Errors (counter
    /// overflow) are ignored: the fd is readable anyway.
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64.
        unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                &one as *const u64 as *const libc::c_void,
                8,
            )
        };
    }

    /// Resets the counter to 0 (non-blocking; no-op if already 0).
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                &mut v as *mut u64 as *mut libc::c_void,
                8,
            )
        };
    }

    /// The fd, for epoll.
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Builds an `ifreq` carrying `name` (truncated to IFNAMSIZ-1 bytes).
pub(crate) fn ifreq_named(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr
        .ifr_name
        .iter_mut()
        .zip(name.bytes().take(libc::IFNAMSIZ - 1))
    {
        *d = s as libc::c_char;
    }
    ifr
}

/// An AF_INET datagram socket for interface ioctls.
fn ioctl_sock() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The MTU of interface `name` (SIOCGIFMTU), in bytes of L3 payload.
pub fn if_mtu(name: &str) -> io::Result<u32> {
    let s = ioctl_sock()?;
    let mut ifr = ifreq_named(name);
    // SAFETY: SIOCGIFMTU reads the name and writes ifru_mtu inside `ifr`.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFMTU, &mut ifr) })?;
    // SAFETY: the kernel filled the mtu member of the union.
    Ok(unsafe { ifr.ifr_ifru.ifru_mtu } as u32)
}

/// The Ethernet address of interface `name` (SIOCGIFHWADDR).
pub fn if_mac(name: &str) -> io::Result<[u8; 6]> {
    let s = ioctl_sock()?;
    let mut ifr = ifreq_named(name);
    // SAFETY: SIOCGIFHWADDR reads the name and writes ifru_hwaddr inside `ifr`.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFHWADDR, &mut ifr) })?;
    // SAFETY: the kernel filled the hwaddr member of the union.
    let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok(mac)
}

/// Brings interface `name` administratively up or down (IFF_UP through
/// SIOCGIFFLAGS/SIOCSIFFLAGS, as OVS's `netdev_turn_flags_on/off`).
/// Errors: the ioctl's (ENODEV for no such interface, EPERM…).
pub fn if_set_up(name: &str, up: bool) -> io::Result<()> {
    let s = ioctl_sock()?;
    let mut ifr = ifreq_named(name);
    // SAFETY: SIOCGIFFLAGS reads the name and writes ifru_flags inside `ifr`.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) })?;
    // SAFETY: the kernel filled the flags member of the union.
    let flags = unsafe { ifr.ifr_ifru.ifru_flags };
    let want = if up {
        flags | libc::IFF_UP as libc::c_short
    } else {
        flags & !(libc::IFF_UP as libc::c_short)
    };
    if want == flags {
        return Ok(());
    }
    ifr.ifr_ifru.ifru_flags = want;
    // SAFETY: SIOCSIFFLAGS reads the name and flags from `ifr`.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) })?;
    Ok(())
}

/// `if_nametoindex`; `None` if there is no such interface.
pub fn if_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// `setsockopt` with an integer value.
pub(crate) fn setsockopt_int(fd: RawFd, level: i32, opt: i32, val: i32) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            &val as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_matches_ovs_text() {
        assert_eq!(strerror(libc::ENODEV), "No such device");
        assert_eq!(
            strerror(libc::EAFNOSUPPORT),
            "Address family not supported by protocol"
        );
    }

    #[test]
    fn eventfd_wakes_epoll() {
        let ep = Epoll::new().unwrap();
        let ev = EventFd::new().unwrap();
        ep.add(ev.raw(), 7).unwrap();
        let mut out = [0u64; 4];
        assert_eq!(ep.wait(&mut out, 0).unwrap(), 0);
        ev.notify();
        assert_eq!(ep.wait(&mut out, 0).unwrap(), 1);
        assert_eq!(out[0], 7);
        ev.drain();
        assert_eq!(ep.wait(&mut out, 0).unwrap(), 0);
    }
}
