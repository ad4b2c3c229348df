//! An OpenFlow client connection as `ovs-ofctl` opens it (OVS `vconn`):
//! target resolution, HELLO exchange with version negotiation, framed
//! send/receive, transactions matched by xid.
//!
//! Idea: one [`Session`] per `oxvs ofctl` run owns the xid counter, so that
//! xids count 1, 2, 3… across every connection of the run exactly as
//! ovs-ofctl's (the HELLO takes one too). A [`Vconn`] is a blocking stream
//! (unix or TCP); messages are read by their 8-byte header's length field,
//! so a short or oversized frame is an error, never a panic.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::wire::{self, Msg, OFPT_ECHO_REPLY, OFPT_ECHO_REQUEST, OFPT_ERROR, OFPT_HELLO};
use super::Fatal;

/// Per-run state shared by every connection: the xid counter, the allowed
/// versions (bitmap, bit n = wire version n) and the timeout.
pub struct Session {
    next_xid: u32,
    /// Allowed versions (bit n = wire version n).
    pub allowed: u32,
    /// `--timeout`, if given.
    pub timeout: Option<Duration>,
}

/// Sequence number of the last log line (OVS numbers them per process).
static LOG_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Prints a log line in OVS's console format (`TIME|SEQ|MODULE|LEVEL|TEXT`)
/// to stderr; callable from any thread (the fatal-signal thread too).
pub fn log_line(module: &str, level: &str, text: &str) {
    let seq = LOG_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    eprintln!("{}|{seq:05}|{module}|{level}|{text}", utc_now());
}

impl Session {
    /// A session allowing the versions in `allowed`.
    pub fn new(allowed: u32, timeout: Option<Duration>) -> Session {
        Session {
            next_xid: 1,
            allowed,
            timeout,
        }
    }

    /// The next transaction id (1, 2, 3… across all connections).
    pub fn alloc_xid(&mut self) -> u32 {
        let x = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1);
        x
    }

    /// Prints a log line in OVS's console format (`TIME|SEQ|MODULE|LEVEL|TEXT`) to stderr.
    pub fn log(&mut self, module: &str, level: &str, text: &str) {
        log_line(module, level, text);
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for now (UTC), as OVS's console log.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Stream::Unix(s) => s,
            Stream::Tcp(s) => s,
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// One negotiated OpenFlow connection.
pub struct Vconn {
    stream: Stream,
    /// The name given on the command line (used in error messages).
    pub name: String,
    /// The connection's own name (OVS `vconn_get_name`): `unix:PATH` of
    /// the socket actually opened for a bridge name, else the target.
    pub vconn_name: String,
    /// Negotiated wire version.
    pub version: u8,
}

fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        // SAFETY: strerror returns a pointer to a static or thread-local
        // NUL-terminated string for any errno value.
        Some(code) => unsafe {
            std::ffi::CStr::from_ptr(libc::strerror(code))
                .to_string_lossy()
                .into_owned()
        },
        None => e.to_string(),
    }
}

fn rundir() -> String {
    std::env::var("OVS_RUNDIR").unwrap_or_else(|_| "/var/run/openvswitch".into())
}

/// `path` as OVS resolves a unix socket name (relative to the rundir).
fn unix_path(path: &str) -> String {
    if Path::new(path).is_absolute() {
        path.to_string()
    } else {
        format!("{}/{path}", rundir())
    }
}

fn open_unix(path: &str) -> std::io::Result<Stream> {
    UnixStream::connect(unix_path(path)).map(Stream::Unix)
}

/// Opens a stream for an explicit target `unix:PATH` / `tcp:IP[:PORT]`.
fn open_stream(name: &str, s: &mut Session) -> Result<Stream, std::io::Error> {
    if let Some(path) = name.strip_prefix("unix:") {
        return open_unix(path);
    }
    if let Some(rest) = name.strip_prefix("tcp:") {
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !rest.starts_with('[') || rest.contains("]:") => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                p.to_string(),
            ),
            _ => {
                s.log(
                    "stream",
                    "WARN",
                    "The default OpenFlow port number has changed from 6633 to 6653",
                );
                (
                    rest.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string(),
                    "6653".to_string(),
                )
            }
        };
        let port: u16 = port
            .parse()
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        let ip: std::net::IpAddr = host
            .parse()
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        return TcpStream::connect((ip, port)).map(Stream::Tcp);
    }
    Err(std::io::Error::from_raw_os_error(libc::EAFNOSUPPORT))
}

impl Vconn {
    /// Opens the connection ovs-ofctl would for `name` (OVS `open_vconn`):
    /// a name with `:` is a target; a bare name tries `<rundir>/NAME`, then
    /// `<rundir>/NAME.mgmt`. Then exchanges HELLOs and negotiates.
    ///
    /// Errors (the text after `ovs-ofctl: `): `NAME is not a bridge or a
    /// socket`, `connecting to TARGET (REASON)`, `NAME: failed to connect to
    /// socket (REASON)`.
    pub fn open(name: &str, s: &mut Session) -> Result<Vconn, Fatal> {
        let (stream, vconn_name) = if name.contains(':') {
            let st = open_stream(name, s)
                .map_err(|e| Fatal::msg(format!("connecting to {name} ({})", strerror(&e))))?;
            (st, name.to_string())
        } else {
            let mgmt = format!("{name}.mgmt");
            match open_unix(name) {
                Ok(st) => (st, format!("unix:{}", unix_path(name))),
                Err(_) => match open_unix(&mgmt) {
                    Ok(st) => (st, format!("unix:{}", unix_path(&mgmt))),
                    Err(_) => {
                        return Err(Fatal::msg(format!("{name} is not a bridge or a socket")))
                    }
                },
            }
        };
        let mut v = Vconn {
            stream,
            name: name.to_string(),
            vconn_name,
            version: 0,
        };
        if let Some(t) = s.timeout {
            match &v.stream {
                Stream::Unix(u) => {
                    let _ = u.set_read_timeout(Some(t));
                }
                Stream::Tcp(u) => {
                    let _ = u.set_read_timeout(Some(t));
                }
            }
        }
        v.handshake(s)?;
        Ok(v)
    }

    fn fail(&self, why: &str) -> Fatal {
        Fatal::msg(format!(
            "{}: failed to connect to socket ({why})",
            self.name
        ))
    }

    fn handshake(&mut self, s: &mut Session) -> Result<(), Fatal> {
        let max = 31 - s.allowed.leading_zeros();
        let xid = s.alloc_xid();
        let hello = wire::hello(max as u8, s.allowed, xid);
        self.send_raw(&hello)
            .map_err(|e| self.fail(&strerror(&e)))?;
        let m = match self.recv_raw() {
            Ok(m) => m,
            Err(e) => return Err(self.fail(&strerror(&e))),
        };
        if m.type_ != OFPT_HELLO {
            return Err(self.fail("Protocol error"));
        }
        let peer = wire::hello_bitmap(&m);
        let common = peer & s.allowed;
        if common == 0 {
            let (ours, theirs) = (version_bitmap_text(s.allowed), version_bitmap_text(peer));
            s.log(
                "vconn",
                "WARN",
                &format!(
                    "{}: version negotiation failed (we support {ours}, peer supports {theirs})",
                    self.vconn_name
                ),
            );
            // As OVS's vcs_send_error: tell the peer, in its highest
            // version; the run fails with the send error if that fails
            // (typically EPIPE: the switch has already hung up).
            let text = format!("We support {ours}, you support {theirs}, no common versions.");
            let mut body = vec![0, 0, 0, 0]; // OFPET_HELLO_FAILED, OFPHFC_INCOMPATIBLE
            body.extend_from_slice(text.as_bytes());
            let peer_max = (31 - peer.leading_zeros()) as u8;
            let err = wire::message(peer_max, OFPT_ERROR, m.xid, &body);
            return Err(match self.send_raw(&err) {
                Ok(()) => self.fail("Protocol error"),
                Err(e) => self.fail(&strerror(&e)),
            });
        }
        self.version = (31 - common.leading_zeros()) as u8;
        Ok(())
    }

    fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.io().write_all(bytes)
    }

    fn recv_raw(&mut self) -> std::io::Result<Msg> {
        let mut hdr = [0u8; 8];
        self.stream.io().read_exact(&mut hdr)?;
        let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
        if len < 8 {
            return Err(std::io::Error::from_raw_os_error(libc::EPROTO));
        }
        let mut bytes = vec![0u8; len];
        bytes[..8].copy_from_slice(&hdr);
        self.stream.io().read_exact(&mut bytes[8..])?;
        Ok(Msg::new(bytes))
    }

    /// Sends one message (already encoded, xid included).
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), Fatal> {
        self.send_raw(bytes)
            .map_err(|e| Fatal::msg(format!("{}: send failed ({})", self.name, strerror(&e))))
    }

    /// Receives the next message, whatever it is (echo requests included).
    pub fn recv_any(&mut self) -> Result<Msg, Fatal> {
        self.recv_raw().map_err(|e| self.recv_error(&e))
    }

    fn recv_error(&self, e: &std::io::Error) -> Fatal {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Fatal::msg(format!("{}: connection closed by peer", self.name))
        } else if e.kind() == std::io::ErrorKind::WouldBlock
            || e.kind() == std::io::ErrorKind::TimedOut
        {
            Fatal::msg("timeout expired".to_string())
        } else {
            Fatal::msg(format!("{}: receive failed ({})", self.name, strerror(e)))
        }
    }

    /// Receives the next message, answering echo requests on the way.
    ///
    /// Errors: `NAME: receive failed (REASON)`, or end of file.
    pub fn recv(&mut self) -> Result<Msg, Fatal> {
        loop {
            let m = self.recv_any()?;
            if m.type_ == OFPT_ECHO_REQUEST {
                let mut reply = m.bytes.clone();
                reply[1] = OFPT_ECHO_REPLY;
                self.send(&reply)?;
                continue;
            }
            return Ok(m);
        }
    }

    /// Whether a message (or end of file) is waiting to be read, without
    /// blocking (OVS's non-blocking `vconn_recv` check).
    pub fn readable(&self) -> bool {
        use std::os::fd::AsRawFd;
        let fd = match &self.stream {
            Stream::Unix(u) => u.as_raw_fd(),
            Stream::Tcp(t) => t.as_raw_fd(),
        };
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd for an fd this Vconn owns; a
        // zero timeout never blocks.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        n > 0 && pfd.revents != 0
    }

    /// Receives until a message with `xid` arrives (others are dropped, as
    /// OVS's `vconn_recv_xid`).
    pub fn recv_xid(&mut self, xid: u32) -> Result<Msg, Fatal> {
        loop {
            let m = self.recv()?;
            if m.xid == xid {
                return Ok(m);
            }
        }
    }

    /// Sends a request and returns its single reply.
    pub fn transact(&mut self, req: &[u8]) -> Result<Msg, Fatal> {
        let xid = wire::xid_of(req);
        self.send(req)?;
        self.recv_xid(xid)
    }

    /// Sends a stats/multipart request and collects every reply part (until
    /// one without the MORE flag). An OFPT_ERROR reply ends the dump.
    pub fn dump(&mut self, req: &[u8]) -> Result<Vec<Msg>, Fatal> {
        let xid = wire::xid_of(req);
        self.send(req)?;
        let mut parts = Vec::new();
        loop {
            let m = self.recv_xid(xid)?;
            let more = m.type_ != OFPT_ERROR && wire::stats_flags(&m) & 1 != 0;
            parts.push(m);
            if !more {
                return Ok(parts);
            }
        }
    }

    /// Sends `reqs` each followed by… nothing: the caller sends a barrier
    /// afterwards with [`Vconn::barrier`]. Returns the first OFPT_ERROR whose
    /// xid is one of the requests', received before the barrier reply.
    pub fn barrier(&mut self, s: &mut Session, sent: &[u32]) -> Result<Option<Msg>, Fatal> {
        let xid = s.alloc_xid();
        self.send(&wire::barrier_request(self.version, xid))?;
        let mut err = None;
        loop {
            let m = self.recv()?;
            if m.xid == xid && m.type_ != OFPT_ERROR {
                return Ok(err);
            }
            if m.type_ == OFPT_ERROR && (sent.contains(&m.xid) || m.xid == xid) && err.is_none() {
                err = Some(m);
                if m_is_barrier_err(xid, err.as_ref()) {
                    return Ok(err);
                }
            }
        }
    }
}

/// A version bitmap as OVS's `version_bitmap_to_string`: `version 0x04`,
/// `version 0x06 and earlier` (every version from 0x01 up), `versions
/// 0x01, 0x04`, or `no versions`.
fn version_bitmap_text(bitmap: u32) -> String {
    if bitmap == 0 {
        return "no versions".into();
    }
    let top = 31 - bitmap.leading_zeros();
    if bitmap.is_power_of_two() {
        format!("version 0x{top:02x}")
    } else if ((bitmap >> 1) + 1).is_power_of_two() {
        format!("version 0x{top:02x} and earlier")
    } else {
        let v: Vec<String> = (0..32)
            .filter(|i| bitmap & (1 << i) != 0)
            .map(|i| format!("0x{i:02x}"))
            .collect();
        format!("versions {}", v.join(", "))
    }
}

fn m_is_barrier_err(xid: u32, m: Option<&Msg>) -> bool {
    m.is_some_and(|m| m.xid == xid)
}

#[cfg(test)]
mod tests {
    use super::version_bitmap_text;

    #[test]
    fn version_bitmaps_as_ovs_prints_them() {
        assert_eq!(version_bitmap_text(0), "no versions");
        assert_eq!(version_bitmap_text(1 << 5), "version 0x05");
        assert_eq!(version_bitmap_text(0x7e), "version 0x06 and earlier");
        assert_eq!(version_bitmap_text(0x12), "versions 0x01, 0x04");
    }
}
