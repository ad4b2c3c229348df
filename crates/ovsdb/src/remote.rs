//! OVSDB remote names (ovsdb-server(1) "Remotes"): the passive forms the
//! server listens on (`punix:PATH`, `ptcp:[PORT][:IP]`, `pssl:[PORT][:IP]`)
//! and the active forms a side connects out with (`unix:PATH`,
//! `tcp:HOST[:PORT]`, `ssl:HOST[:PORT]`), plus per-remote options and the
//! status ovsdb-server writes into the `Manager` table.
//!
//! Idea: a target string parses into a [`Remote`] once; its `Display` gives
//! back the canonical text. IPv6 addresses are written in brackets
//! (`tcp:[::1]:6640`, `ptcp:6640:[::1]`), as Open vSwitch does. The default
//! port is 6640 (IANA's OVSDB port).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::tls::{is_bootstrap_failure, server_name, TlsConfig};
use crate::Error;

/// IANA port of OVSDB (RFC 7047 §6), the default for every TCP/SSL remote.
pub const OVSDB_PORT: u16 = 6640;

/// Default inactivity probe of TCP and SSL remotes (Open vSwitch's
/// `RECONNECT_DEFAULT_PROBE_INTERVAL`, 5 s).
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// Shortest wait between connection attempts of an active remote
/// (`RECONNECT_DEFAULT_MIN_BACKOFF`, 1 s).
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);

/// Default longest wait between connection attempts of an active remote
/// (`RECONNECT_DEFAULT_MAX_BACKOFF`, 8 s; the `Manager.max_backoff` column
/// overrides it).
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Longest a TLS handshake may take, either side.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed remote.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Remote {
    /// `unix:PATH`: connect to a unix socket.
    Unix(PathBuf),
    /// `tcp:HOST[:PORT]`: connect over TCP.
    Tcp {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// `ssl:HOST[:PORT]`: connect over TCP with TLS.
    Ssl {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// `punix:PATH`: listen on a unix socket.
    PUnix(PathBuf),
    /// `ptcp:[PORT][:IP]`: listen on TCP (IP default `0.0.0.0`; port 0 =
    /// any free port).
    PTcp {
        /// Local address (IPv6 without brackets).
        ip: String,
        /// Port.
        port: u16,
    },
    /// `pssl:[PORT][:IP]`: listen on TCP with TLS.
    PSsl {
        /// Local address (IPv6 without brackets).
        ip: String,
        /// Port.
        port: u16,
    },
}

fn unbracket(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s)
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn parse_port(s: &str, remote: &str) -> Result<u16, Error> {
    if s.is_empty() {
        return Ok(OVSDB_PORT);
    }
    s.parse::<u16>()
        .map_err(|_| Error::BadRemote(remote.to_string()))
}

/// `HOST[:PORT]` with an optional bracketed IPv6 host.
fn parse_active(rest: &str, remote: &str) -> Result<(String, u16), Error> {
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, after) = r
            .split_once(']')
            .ok_or_else(|| Error::BadRemote(remote.to_string()))?;
        match after {
            "" => (h, ""),
            a => (
                h,
                a.strip_prefix(':')
                    .ok_or_else(|| Error::BadRemote(remote.to_string()))?,
            ),
        }
    } else {
        match rest.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, p),
            Some(_) => return Err(Error::BadRemote(remote.to_string())),
            None => (rest, ""),
        }
    };
    if host.is_empty() {
        return Err(Error::BadRemote(remote.to_string()));
    }
    Ok((host.to_string(), parse_port(port, remote)?))
}

/// `[PORT][:IP]`; the IP may be a bare or bracketed IPv6 address.
fn parse_passive(rest: &str, remote: &str) -> Result<(String, u16), Error> {
    let (port, ip) = match rest.split_once(':') {
        Some((p, ip)) => (p, unbracket(ip)),
        None => (rest, ""),
    };
    let ip = if ip.is_empty() { "0.0.0.0" } else { ip };
    if ip.parse::<std::net::IpAddr>().is_err() {
        return Err(Error::BadRemote(remote.to_string()));
    }
    Ok((ip.to_string(), parse_port(port, remote)?))
}

impl Remote {
    /// Parses a remote name. Errors: `Error::BadRemote(text)` for an
    /// unknown method, an empty path or host, a bad port, or (passive forms)
    /// a local address that is not an IP address.
    pub fn parse(s: &str) -> Result<Remote, Error> {
        let bad = || Error::BadRemote(s.to_string());
        let (method, rest) = s.split_once(':').ok_or_else(bad)?;
        Ok(match method {
            "unix" | "punix" => {
                if rest.is_empty() {
                    return Err(bad());
                }
                let p = PathBuf::from(rest);
                if method == "unix" {
                    Remote::Unix(p)
                } else {
                    Remote::PUnix(p)
                }
            }
            "tcp" => {
                let (host, port) = parse_active(rest, s)?;
                Remote::Tcp { host, port }
            }
            "ssl" => {
                let (host, port) = parse_active(rest, s)?;
                Remote::Ssl { host, port }
            }
            "ptcp" => {
                let (ip, port) = parse_passive(rest, s)?;
                Remote::PTcp { ip, port }
            }
            "pssl" => {
                let (ip, port) = parse_passive(rest, s)?;
                Remote::PSsl { ip, port }
            }
            _ => return Err(bad()),
        })
    }

    /// True for the listening forms (`punix:`, `ptcp:`, `pssl:`).
    pub fn is_passive(&self) -> bool {
        matches!(
            self,
            Remote::PUnix(_) | Remote::PTcp { .. } | Remote::PSsl { .. }
        )
    }

    /// True for the TLS forms (`ssl:`, `pssl:`).
    pub fn is_ssl(&self) -> bool {
        matches!(self, Remote::Ssl { .. } | Remote::PSsl { .. })
    }

    /// `host:port` / `ip:port` for the socket calls (IPv6 bracketed);
    /// `None` for unix remotes.
    pub fn socket_addr(&self) -> Option<String> {
        match self {
            Remote::Tcp { host, port } | Remote::Ssl { host, port } => {
                Some(format!("{}:{port}", bracket(host)))
            }
            Remote::PTcp { ip, port } | Remote::PSsl { ip, port } => {
                Some(format!("{}:{port}", bracket(ip)))
            }
            Remote::Unix(_) | Remote::PUnix(_) => None,
        }
    }

    /// The options Open vSwitch uses when none are configured: a 5 s probe
    /// on TCP and SSL, none on unix sockets; [`DEFAULT_MAX_BACKOFF`]; DSCP 0
    /// (ovsdb-server's `--remote` remotes; `Manager` rows default to
    /// [`MANAGER_DSCP`]).
    pub fn default_options(&self) -> RemoteOptions {
        RemoteOptions {
            probe_interval: match self {
                Remote::Unix(_) | Remote::PUnix(_) => None,
                _ => Some(DEFAULT_PROBE_INTERVAL),
            },
            max_backoff: DEFAULT_MAX_BACKOFF,
            dscp: 0,
        }
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
            Remote::PUnix(p) => write!(f, "punix:{}", p.display()),
            Remote::Tcp { host, port } => write!(f, "tcp:{}:{port}", bracket(host)),
            Remote::Ssl { host, port } => write!(f, "ssl:{}:{port}", bracket(host)),
            Remote::PTcp { ip, port } => write!(f, "ptcp:{port}:{}", bracket(ip)),
            Remote::PSsl { ip, port } => write!(f, "pssl:{port}:{}", bracket(ip)),
        }
    }
}

/// DSCP of a `Manager` row without `other_config:dscp` (Open vSwitch's
/// `DSCP_DEFAULT`, IP precedence "internetwork control"; ovs-vswitchd.conf.db(5)).
pub const MANAGER_DSCP: u8 = 48;

/// Per-remote connection options (the `Manager` table's
/// `inactivity_probe`, `max_backoff` and `other_config:dscp` columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteOptions {
    /// Idle time after which an echo request is sent, and after which,
    /// with the echo still unanswered, the session is dropped. `None` = no
    /// probes.
    pub probe_interval: Option<Duration>,
    /// Longest wait between connection attempts (active remotes; at least
    /// [`MIN_BACKOFF`]).
    pub max_backoff: Duration,
    /// Differentiated Services Code Point (0..=63) of the remote's TCP
    /// sockets: IP_TOS (IPv4) or IPV6_TCLASS (IPv6) = `dscp << 2`, set on
    /// the listening socket (inherited by accepted sessions) or on each
    /// outgoing connection. Ignored for unix sockets.
    pub dscp: u8,
}

/// Connection state of a remote, as ovsdb-server reports it in
/// `Manager.is_connected` and `Manager.status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteStatus {
    /// A session is up.
    pub is_connected: bool,
    /// Active remotes: the reconnect state (`BACKOFF`, `CONNECTING`,
    /// `ACTIVE`, `IDLE`); `None` for listeners.
    pub state: Option<&'static str>,
    /// Seconds since the last connection was made (`None` = never).
    pub sec_since_connect: Option<u64>,
    /// Seconds since the last connection ended (`None` = never).
    pub sec_since_disconnect: Option<u64>,
    /// Active remotes: why the last established session ended with an
    /// error (`End of file`, an I/O error's strerror text, `Protocol
    /// error`); failed connection attempts are not reported here, as in
    /// ovsdb-server.
    pub last_error: Option<String>,
    /// Locks the (first) session owns.
    pub locks_held: Vec<String>,
    /// Locks the (first) session waits for.
    pub locks_waiting: Vec<String>,
    /// Sessions of this remote.
    pub n_connections: usize,
    /// Listeners on TCP: the bound port.
    pub bound_port: Option<u16>,
}

impl RemoteStatus {
    /// The `Manager.status` map, with the keys ovsdb-server writes
    /// (`update_remote_row` in ovsdb-server.c): `state`,
    /// `sec_since_connect`, `sec_since_disconnect`, `last_error`,
    /// `locks_held`, `locks_waiting`, `n_connections` (only when > 1),
    /// `bound_port`. A listener reports both `sec_since_*` as `0`, as
    /// ovsdb-server does.
    pub fn to_map(&self) -> Vec<(&'static str, String)> {
        let mut m = Vec::new();
        if let Some(s) = self.state {
            m.push(("state", s.to_string()));
        }
        let listener = self.bound_port.is_some() || self.state.is_none();
        let secs = |v: Option<u64>| if listener { Some(v.unwrap_or(0)) } else { v };
        if let Some(s) = secs(self.sec_since_connect) {
            m.push(("sec_since_connect", s.to_string()));
        }
        if let Some(s) = secs(self.sec_since_disconnect) {
            m.push(("sec_since_disconnect", s.to_string()));
        }
        if let Some(e) = &self.last_error {
            m.push(("last_error", e.clone()));
        }
        if !self.locks_held.is_empty() {
            m.push(("locks_held", self.locks_held.join(" ")));
        }
        if !self.locks_waiting.is_empty() {
            m.push(("locks_waiting", self.locks_waiting.join(" ")));
        }
        if self.n_connections > 1 {
            m.push(("n_connections", self.n_connections.to_string()));
        }
        if let Some(p) = self.bound_port {
            m.push(("bound_port", p.to_string()));
        }
        m
    }
}

/// A byte stream a session runs over (unix, TCP or TLS-over-TCP).
pub trait AsyncStream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> AsyncStream for T {}

/// The strerror() text of an I/O error, as Open vSwitch prints it
/// (`Connection refused`, without Rust's ` (os error N)` suffix).
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let s = std::io::Error::from_raw_os_error(code).to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        None => e.to_string(),
    }
}

/// Sets the DSCP of a TCP socket: IP_TOS for IPv4, IPV6_TCLASS for IPv6
/// (value `dscp << 2`, ECN bits zero), as Open vSwitch's `set_dscp`.
fn set_dscp(sock: &tokio::net::TcpSocket, ipv6: bool, dscp: u8) -> std::io::Result<()> {
    let tos = u32::from(dscp & 0x3f) << 2;
    if ipv6 {
        sock.set_tclass_v6(tos)
    } else {
        sock.set_tos_v4(tos)
    }
}

fn tcp_socket(addr: &std::net::SocketAddr, dscp: u8) -> std::io::Result<tokio::net::TcpSocket> {
    let sock = if addr.is_ipv6() {
        tokio::net::TcpSocket::new_v6()?
    } else {
        tokio::net::TcpSocket::new_v4()?
    };
    if dscp != 0 {
        set_dscp(&sock, addr.is_ipv6(), dscp)?;
    }
    Ok(sock)
}

/// Listens on `addr` (SO_REUSEADDR, as Open vSwitch) with `dscp` on the
/// listening socket, which accepted sockets inherit. Must be called inside
/// a tokio runtime. Errors: the socket calls' (`Address already in use`…).
pub(crate) fn bind_tcp(
    addr: std::net::SocketAddr,
    dscp: u8,
) -> std::io::Result<tokio::net::TcpListener> {
    let sock = tcp_socket(&addr, dscp)?;
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(1024)
}

/// Connects to `host:port` (every address the name resolves to, in turn)
/// from a socket with `dscp` set before the SYN is sent.
async fn connect_tcp(addr: &str, dscp: u8) -> std::io::Result<tokio::net::TcpStream> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        match tcp_socket(&a, dscp) {
            Ok(sock) => match sock.connect(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address for host")
    }))
}

/// Opens an active remote's stream: connects (`unix:`, `tcp:`, `ssl:`;
/// TCP sockets with `dscp`, see [`RemoteOptions::dscp`]) and, for `ssl:`,
/// completes the TLS handshake with `tls` (which presents our certificate
/// and verifies the server's against the CA, or bootstraps the CA).
/// Errors: `Error::ConnectionFailed(strerror text)` when connecting fails,
/// `Error::ConnectionFailed("Protocol error")` when the TLS handshake fails
/// (as Open vSwitch reports it; the cause is logged as a warning of target
/// `stream_ssl`: `SSL_connect: REASON`), `Error::Tls` for `ssl:` without
/// `tls`, `Error::BadRemote` for a passive remote.
pub async fn connect_stream(
    remote: &Remote,
    tls: Option<&TlsConfig>,
    dscp: u8,
) -> Result<Box<dyn AsyncStream>, Error> {
    let failed = |e: std::io::Error| Error::ConnectionFailed(io_reason(&e));
    match remote {
        Remote::Unix(path) => {
            let s = tokio::net::UnixStream::connect(path)
                .await
                .map_err(failed)?;
            Ok(Box::new(s))
        }
        Remote::Tcp { .. } | Remote::Ssl { .. } => {
            let tls =
                match (remote, tls) {
                    (Remote::Ssl { .. }, None) => return Err(Error::Tls(
                        "private key, certificate and CA certificate must be configured to use SSL"
                            .into(),
                    )),
                    (Remote::Ssl { host, .. }, Some(t)) => Some((
                        t,
                        server_name(host).ok_or_else(|| Error::BadRemote(remote.to_string()))?,
                    )),
                    _ => None,
                };
            let addr = remote.socket_addr().unwrap_or_default();
            let s = connect_tcp(addr.as_str(), dscp).await.map_err(failed)?;
            let _ = s.set_nodelay(true);
            match tls {
                None => Ok(Box::new(s)),
                Some((t, name)) => {
                    let hs = t.connector().connect(name, s);
                    let ts = tokio::time::timeout(HANDSHAKE_TIMEOUT, hs)
                        .await
                        .map_err(|_| Error::ConnectionFailed("Connection timed out".into()))?
                        .map_err(|e| {
                            if e.raw_os_error().is_some() {
                                return failed(e);
                            }
                            if !is_bootstrap_failure(&e) {
                                tracing::warn!(target: "stream_ssl", "SSL_connect: {e}");
                            }
                            Error::ConnectionFailed("Protocol error".into())
                        })?;
                    Ok(Box::new(ts))
                }
            }
        }
        _ => Err(Error::BadRemote(remote.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let cases = [
            ("ptcp:6640", "ptcp:6640:0.0.0.0"),
            ("ptcp:6641:127.0.0.1", "ptcp:6641:127.0.0.1"),
            ("ptcp:", "ptcp:6640:0.0.0.0"),
            ("ptcp:0:[::1]", "ptcp:0:[::1]"),
            ("ptcp:0:::1", "ptcp:0:[::1]"),
            ("pssl:6640", "pssl:6640:0.0.0.0"),
            ("tcp:10.0.0.1:6641", "tcp:10.0.0.1:6641"),
            ("tcp:10.0.0.1", "tcp:10.0.0.1:6640"),
            ("tcp:[::1]:7", "tcp:[::1]:7"),
            ("ssl:localhost:6640", "ssl:localhost:6640"),
            ("unix:/run/db.sock", "unix:/run/db.sock"),
            ("punix:/x", "punix:/x"),
        ];
        for (text, canon) in cases {
            let r = Remote::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(r.to_string(), canon, "{text}");
            assert_eq!(Remote::parse(canon).unwrap(), r);
        }
    }

    #[test]
    fn bad_remotes() {
        for text in [
            "",
            "tcp",
            "foo:1",
            "tcp:",
            "tcp:1.2.3.4:x",
            "tcp:1.2.3.4:70000",
            "tcp:::1",
            "tcp:[::1",
            "tcp:[::1]x",
            "ptcp:abc",
            "ptcp:1:notanip",
            "unix:",
            "punix:",
        ] {
            assert!(Remote::parse(text).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn kinds_and_defaults() {
        let r = Remote::parse("pssl:0:127.0.0.1").unwrap();
        assert!(r.is_passive() && r.is_ssl());
        assert_eq!(r.socket_addr().unwrap(), "127.0.0.1:0");
        assert_eq!(
            r.default_options().probe_interval,
            Some(DEFAULT_PROBE_INTERVAL)
        );
        let u = Remote::parse("unix:/x").unwrap();
        assert!(!u.is_passive() && !u.is_ssl());
        assert_eq!(u.default_options().probe_interval, None);
        assert_eq!(u.socket_addr(), None);
    }

    /// IP_TOS of a connected socket, read back with getsockopt.
    fn tos(s: tokio::net::TcpStream) -> u32 {
        let sock = tokio::net::TcpSocket::from_std_stream(s.into_std().unwrap());
        sock.tos_v4().unwrap()
    }

    /// DSCP on a listener is inherited by the sessions it accepts; on an
    /// outgoing connection it is set before connecting; 0 leaves the
    /// default (0).
    #[tokio::test]
    async fn dscp_sets_ip_tos() {
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = bind_tcp(any, 46).unwrap();
        let addr = l.local_addr().unwrap();
        let c = connect_tcp(&addr.to_string(), 0).await.unwrap();
        let (accepted, _) = l.accept().await.unwrap();
        assert_eq!(tos(accepted), 46 << 2);
        assert_eq!(tos(c), 0);

        let plain = bind_tcp(any, 0).unwrap();
        let addr = plain.local_addr().unwrap();
        let c = connect_tcp(&addr.to_string(), MANAGER_DSCP).await.unwrap();
        let (accepted, _) = plain.accept().await.unwrap();
        assert_eq!(tos(c), u32::from(MANAGER_DSCP) << 2);
        assert_eq!(tos(accepted), 0);
    }

    #[test]
    fn status_map_keys() {
        let listener = RemoteStatus {
            bound_port: Some(6640),
            n_connections: 2,
            is_connected: true,
            ..Default::default()
        };
        assert_eq!(
            listener.to_map(),
            vec![
                ("sec_since_connect", "0".to_string()),
                ("sec_since_disconnect", "0".to_string()),
                ("n_connections", "2".to_string()),
                ("bound_port", "6640".to_string()),
            ]
        );
        let active = RemoteStatus {
            state: Some("BACKOFF"),
            sec_since_disconnect: Some(3),
            last_error: Some("Connection refused".into()),
            locks_held: vec!["a".into(), "b".into()],
            n_connections: 1,
            ..Default::default()
        };
        assert_eq!(
            active.to_map(),
            vec![
                ("state", "BACKOFF".to_string()),
                ("sec_since_disconnect", "3".to_string()),
                ("last_error", "Connection refused".to_string()),
                ("locks_held", "a b".to_string()),
            ]
        );
    }
}
