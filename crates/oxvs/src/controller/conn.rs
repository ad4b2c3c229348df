//! One switch connection of `oxvs controller` (OVS `rconn` + `vconn` as
//! ovs-testcontroller uses them): HELLO and version negotiation, framing,
//! echo replies, the inactivity probe, and the learning switch's messages.
//!
//! Idea: one task per connection that owns its stream. Reading is
//! cancel-safe (bytes go into the connection's own buffer, and only whole
//! messages are taken out of it), so a `select!` between "more bytes" and
//! "probe timer" never loses data. Writes are awaited in line with a
//! deadline ([`SEND_TIMEOUT`]): a switch that stops reading stalls only its
//! own task and is dropped when the deadline passes, so memory per
//! connection stays bounded (at most one 64 KiB message plus one read
//! chunk buffered, whatever the peer sends).
//!
//! A framing error (length below 8), a first message that is not a HELLO,
//! a failed negotiation, a message in another version than the negotiated
//! one, or a known message that does not decode ends the connection with a
//! log line; messages of unknown types are ignored, as OVS's learning
//! switch ignores what it does not handle.

use std::sync::Arc;
use std::time::Duration;

use openflow::codec::{self, CodecOptions};
use openflow::msg::{ErrorMsg, OfpMessage};
use openflow::OfpError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::lswitch::{fmt_mac, handshake, version_name, Config, LSwitch};

/// How long a write may wait for the switch to read before the connection
/// is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the switch has to send its HELLO.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// Per-connection settings that are not about forwarding.
#[derive(Clone, Debug)]
pub struct ConnConfig {
    /// Versions we accept (bit n = wire version n).
    pub allowed: u32,
    /// Idle time before an echo probe, and then before giving up; `None` = no probes.
    pub probe_interval: Option<Duration>,
    /// The learning switch's configuration.
    pub switch: Config,
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The switch closed it.
    Eof,
    /// A read or write failed.
    Io(std::io::Error),
    /// The switch broke the protocol (the text says how).
    Protocol(String),
    /// No answer to the inactivity probe, or a write that did not complete.
    Timeout(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Eof => write!(f, "connection closed by peer"),
            End::Io(e) => write!(f, "{e}"),
            End::Protocol(s) | End::Timeout(s) => write!(f, "{s}"),
        }
    }
}

struct Conn<S> {
    stream: S,
    /// `tcp:IP:PORT` / `unix:PATH` of the peer.
    name: String,
    cfg: Arc<ConnConfig>,
    version: u8,
    opts: CodecOptions,
    next_xid: u32,
    rbuf: Vec<u8>,
    /// When the last bytes arrived.
    last_rx: Instant,
    /// An echo request is outstanding.
    probing: bool,
    datapath_id: Option<u64>,
}

/// Serves one switch connection until it ends, logging how it ended.
pub async fn run<S>(stream: S, name: String, cfg: Arc<ConnConfig>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut c = Conn {
        stream,
        name,
        cfg,
        version: 0,
        opts: CodecOptions::default(),
        next_xid: 1,
        rbuf: Vec::with_capacity(4096),
        last_rx: Instant::now(),
        probing: false,
        datapath_id: None,
    };
    tracing::debug!("{}: connected", c.name);
    let end = c.serve().await;
    let who = c.label();
    match end {
        End::Eof => tracing::info!("{who}: connection closed by peer"),
        End::Io(e) => tracing::info!("{who}: connection dropped ({e})"),
        e @ (End::Protocol(_) | End::Timeout(_)) => {
            tracing::warn!("{who}: {e}, disconnecting")
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// `DPID (NAME)` once the datapath id is known, else `NAME`.
    fn label(&self) -> String {
        match self.datapath_id {
            Some(d) => format!("{d:016x} ({})", self.name),
            None => self.name.clone(),
        }
    }

    fn alloc_xid(&mut self) -> u32 {
        let x = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1);
        x
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), End> {
        match tokio::time::timeout(SEND_TIMEOUT, self.stream.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(End::Io(e)),
            Err(_) => Err(End::Timeout(format!(
                "switch did not read for {} s",
                SEND_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Sends `msg` in the negotiated version with a new xid (or `xid`).
    async fn send(&mut self, msg: &OfpMessage, xid: Option<u32>) -> Result<(), End> {
        let xid = xid.unwrap_or_else(|| self.alloc_xid());
        let mut bytes = Vec::with_capacity(128);
        codec::encode_into(self.version, xid, msg, &self.opts, &mut bytes);
        tracing::debug!("{}: sent {msg:?}", self.label());
        self.write(&bytes).await?;
        if let OfpMessage::NxFlowModTableId(on) = msg {
            self.opts.flow_mod_table_id = *on;
        }
        Ok(())
    }

    /// Takes one whole message out of the read buffer, if there is one.
    fn take_message(&mut self) -> Result<Option<Vec<u8>>, End> {
        let Some(len) = codec::message_len(&self.rbuf) else {
            return Ok(None);
        };
        if len < openflow::msg::OFP_HEADER_LEN {
            return Err(End::Protocol(format!(
                "received message with length {len} (shorter than the 8-byte header)"
            )));
        }
        if self.rbuf.len() < len {
            return Ok(None);
        }
        Ok(Some(self.rbuf.drain(..len).collect()))
    }

    /// Receives the next message, sending an echo request after
    /// `probe_interval` of silence and giving up after another one
    /// (OVS rconn's inactivity probe). `deadline` bounds the wait instead
    /// when given (the HELLO).
    async fn recv(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>, End> {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(m) = self.take_message()? {
                return Ok(m);
            }
            let probe = self.cfg.probe_interval.filter(|_| deadline.is_none());
            let wake = deadline.or_else(|| probe.map(|p| self.last_rx + p));
            let timer = async {
                match wake {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.stream.read(&mut chunk) => match r {
                    Ok(0) => return Err(End::Eof),
                    Ok(n) => {
                        self.rbuf.extend_from_slice(&chunk[..n]);
                        self.last_rx = Instant::now();
                        self.probing = false;
                    }
                    Err(e) => return Err(End::Io(e)),
                },
                () = timer => {
                    let Some(p) = probe else {
                        return Err(End::Timeout("no HELLO received".into()));
                    };
                    if self.probing {
                        return Err(End::Timeout(format!(
                            "no response to inactivity probe after {} seconds",
                            2 * p.as_secs()
                        )));
                    }
                    tracing::debug!("{}: idle {} seconds, sending inactivity probe", self.label(), p.as_secs());
                    self.send(&OfpMessage::EchoRequest(Vec::new()), None).await?;
                    self.probing = true;
                    // The next deadline counts from now.
                    self.last_rx = Instant::now();
                }
            }
        }
    }

    /// Exchanges HELLOs and settles the version (OpenFlow 1.3.5 §6.3.1).
    async fn negotiate(&mut self) -> Result<(), End> {
        let (top, hello) = codec::hello_for(self.cfg.allowed);
        self.version = top;
        let xid = self.alloc_xid();
        self.send(&hello, Some(xid)).await?;
        let bytes = self.recv(Some(Instant::now() + HELLO_TIMEOUT)).await?;
        let (h, msg) = match codec::decode(&bytes) {
            Ok((h, OfpMessage::Hello(hello))) => (h, hello),
            Ok((h, _)) => {
                return Err(End::Protocol(format!(
                    "received message type {} while expecting HELLO",
                    h.type_
                )))
            }
            Err(e) if bytes.get(1) == Some(&0) => {
                return Err(End::Protocol(format!("received bad HELLO ({})", e.name())))
            }
            Err(_) => {
                return Err(End::Protocol(format!(
                    "received message type {} while expecting HELLO",
                    bytes.get(1).copied().unwrap_or(0)
                )))
            }
        };
        match codec::negotiate(self.cfg.allowed, h.version, &msg) {
            Ok(v) => {
                self.version = v;
                Ok(())
            }
            Err(_) => {
                let text = format!(
                    "We support {}, you support {}, no common versions.",
                    versions_text(self.cfg.allowed),
                    match msg.version_bitmap {
                        Some(b) => versions_text(b),
                        None => format!("version 0x{:02x} and earlier", h.version),
                    }
                );
                // Answer in the peer's version (if the codec speaks it).
                if openflow::msg::SUPPORTED_VERSIONS & (1u32 << (h.version & 31)) != 0 {
                    self.version = h.version;
                }
                let err = OfpMessage::Error(ErrorMsg {
                    error: OfpError::HELLO_FAILED_INCOMPATIBLE,
                    data: text.clone().into_bytes(),
                });
                let _ = self.send(&err, Some(h.xid)).await;
                Err(End::Protocol(format!("version negotiation failed: {text}")))
            }
        }
    }

    async fn serve(&mut self) -> End {
        match self.serve_inner().await {
            Ok(()) => End::Eof,
            Err(e) => e,
        }
    }

    async fn serve_inner(&mut self) -> Result<(), End> {
        self.negotiate().await?;
        tracing::debug!("{}: negotiated {}", self.name, version_name(self.version));
        let (msgs, warnings) = handshake(&self.cfg.switch, self.version);
        for w in warnings {
            tracing::warn!("{}: {w}", self.name);
        }
        for m in &msgs {
            self.send(m, None).await?;
        }
        let mut sw = LSwitch::new(&self.cfg.switch);
        let start = Instant::now();
        loop {
            let bytes = self.recv(None).await?;
            let version = bytes[0];
            let type_ = bytes[1];
            // As OVS's vconn_recv: only these may come in another version.
            if version != self.version && !matches!(type_, 0..=4) {
                return Err(End::Protocol(format!(
                    "received OpenFlow version 0x{version:02x} != expected 0x{:02x}",
                    self.version
                )));
            }
            let (h, msg) = match codec::decode(&bytes) {
                Ok(x) => x,
                Err(e) if is_unknown_type(e) => {
                    tracing::debug!(
                        "{}: ignored message type {type_} ({})",
                        self.label(),
                        e.name()
                    );
                    continue;
                }
                Err(e) => {
                    return Err(End::Protocol(format!(
                        "received undecodable message type {type_} ({})",
                        e.name()
                    )))
                }
            };
            tracing::debug!("{}: received {msg:?}", self.label());
            if let OfpMessage::FeaturesReply(f) = &msg {
                if self.datapath_id.is_none() {
                    self.datapath_id = Some(f.datapath_id);
                    tracing::info!(
                        "{:016x}: switch connected on {} ({})",
                        f.datapath_id,
                        self.name,
                        version_name(self.version)
                    );
                }
                continue;
            }
            if self.cfg.switch.mute {
                continue;
            }
            match msg {
                OfpMessage::EchoRequest(payload) => {
                    self.send(&OfpMessage::EchoReply(payload), Some(h.xid))
                        .await?
                }
                OfpMessage::Error(e) => tracing::warn!(
                    "{}: switch sent error {} (type {}, code {}) for xid 0x{:x}",
                    self.label(),
                    e.error.name(),
                    e.error.type_,
                    e.error.code,
                    h.xid
                ),
                OfpMessage::PacketIn(pi) | OfpMessage::NxPacketIn2(pi) => {
                    let Some(dpid) = self.datapath_id else {
                        // As OVS: nothing is switched before the features reply.
                        continue;
                    };
                    let now = start.elapsed().as_secs();
                    let d = sw.packet_in(&self.cfg.switch, &pi, now);
                    if let Some((mac, port)) = d.learned {
                        tracing::info!(
                            "{dpid:016x}: learned that {} is on port {port}",
                            fmt_mac(&mac)
                        );
                    }
                    for m in &d.msgs {
                        self.send(m, None).await?;
                    }
                }
                _ => {}
            }
        }
    }
}

/// Errors meaning "a message of a type we do not know", not "a broken one".
fn is_unknown_type(e: OfpError) -> bool {
    matches!(
        e,
        OfpError::BAD_REQUEST_BAD_TYPE
            | OfpError::BAD_REQUEST_BAD_EXPERIMENTER
            | OfpError::BAD_REQUEST_BAD_EXP_TYPE
            | OfpError::BAD_REQUEST_BAD_MULTIPART
    )
}

/// A version bitmap as OVS prints it in HELLO_FAILED texts.
fn versions_text(bitmap: u32) -> String {
    let v: Vec<String> = (1..32)
        .filter(|i| bitmap & (1 << i) != 0)
        .map(|i| format!("0x{i:02x}"))
        .collect();
    match v.len() {
        0 => "no versions".into(),
        1 => format!("version {}", v[0]),
        _ => format!("versions {}", v.join(", ")),
    }
}
