//! The OpenFlow messages `oxvs ofctl` itself builds and reads that carry no
//! match or actions (those go through the `openflow` codec): HELLO, ERROR,
//! FEATURES, GET/SET_CONFIG, BARRIER, and the stats/multipart requests and
//! replies for ports, port descriptions and tables, for OpenFlow 1.0 and
//! 1.3–1.5. Layouts: OpenFlow 1.0.0 §5, 1.3.5 §7, 1.4.1 §7 (ports with
//! properties).
//!
//! Every reader checks lengths: a short body yields `None`/an empty list,
//! never a panic.

use openflow::msg::{FeaturesReply, PortDesc, PortStats, SwitchConfig, TableStats};

/// OFPT_HELLO.
pub const OFPT_HELLO: u8 = 0;
/// OFPT_ERROR.
pub const OFPT_ERROR: u8 = 1;
/// OFPT_ECHO_REQUEST.
pub const OFPT_ECHO_REQUEST: u8 = 2;
/// OFPT_ECHO_REPLY.
pub const OFPT_ECHO_REPLY: u8 = 3;
/// OFPT_VENDOR / OFPT_EXPERIMENTER.
pub const OFPT_VENDOR: u8 = 4;
/// OFPT_FEATURES_REQUEST.
pub const OFPT_FEATURES_REQUEST: u8 = 5;
/// OFPT_GET_CONFIG_REQUEST.
pub const OFPT_GET_CONFIG_REQUEST: u8 = 7;
/// OFPT_SET_CONFIG.
pub const OFPT_SET_CONFIG: u8 = 9;

/// Stats / multipart type: table.
pub const OFPST_TABLE: u16 = 3;
/// Stats / multipart type: port.
pub const OFPST_PORT: u16 = 4;
/// OF1.3 multipart type: table features.
pub const OFPMP_TABLE_FEATURES: u16 = 12;
/// Stats / multipart type: port description (OVS extension in OF1.0).
pub const OFPST_PORT_DESC: u16 = 13;

/// OFPT_BUNDLE_CONTROL (OpenFlow 1.4.1 §7.3.9.1).
pub const OFPT_BUNDLE_CONTROL: u8 = 33;
/// OFPT_BUNDLE_ADD_MESSAGE (OpenFlow 1.4.1 §7.3.9.2).
pub const OFPT_BUNDLE_ADD_MESSAGE: u8 = 34;
/// ONF experimenter id (`ONF_EXPERIMENTER_ID`), used by the OpenFlow 1.3
/// bundle extension (ONF extension 230, "EXT-230").
pub const ONF_EXPERIMENTER_ID: u32 = 0x4f4e_4600;
/// ONF extension message type of the OF1.3 bundle control message.
pub const ONFT_BUNDLE_CONTROL: u32 = 2300;
/// ONF extension message type of the OF1.3 bundle add message.
pub const ONFT_BUNDLE_ADD_MESSAGE: u32 = 2301;
/// Bundle flag OFPBF_ATOMIC.
pub const OFPBF_ATOMIC: u16 = 1;
/// Bundle flag OFPBF_ORDERED.
pub const OFPBF_ORDERED: u16 = 2;

/// A received message: raw bytes plus its decoded header.
#[derive(Clone, Debug)]
pub struct Msg {
    /// The whole message, header included.
    pub bytes: Vec<u8>,
    /// Header version.
    pub version: u8,
    /// Header type.
    pub type_: u8,
    /// Header xid.
    pub xid: u32,
}

impl Msg {
    /// Wraps `bytes` (at least 8 long, checked by the reader).
    pub fn new(bytes: Vec<u8>) -> Msg {
        let version = bytes.first().copied().unwrap_or(0);
        let type_ = bytes.get(1).copied().unwrap_or(0);
        let xid = be32(&bytes, 4).unwrap_or(0);
        Msg {
            bytes,
            version,
            type_,
            xid,
        }
    }

    /// The body after the 8-byte header.
    pub fn body(&self) -> &[u8] {
        self.bytes.get(8..).unwrap_or(&[])
    }
}

/// Big-endian u16 at `off`, if in range.
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

/// Big-endian u32 at `off`, if in range.
pub fn be32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// Big-endian u64 at `off`, if in range.
pub fn be64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// The xid of an encoded message.
pub fn xid_of(b: &[u8]) -> u32 {
    be32(b, 4).unwrap_or(0)
}

/// Builds a header + body message, fixing the length.
pub fn message(version: u8, type_: u8, xid: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + body.len());
    v.push(version);
    v.push(type_);
    v.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
    v.extend_from_slice(&xid.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// HELLO offering `allowed` (bitmap) with header version `max`; the bitmap
/// element is present unless `allowed` is exactly OpenFlow 1.0 (as OVS).
pub fn hello(max: u8, allowed: u32, xid: u32) -> Vec<u8> {
    if allowed == (1 << 1) {
        return message(max, OFPT_HELLO, xid, &[]);
    }
    let mut body = vec![0, 1, 0, 8];
    body.extend_from_slice(&allowed.to_be_bytes());
    message(max, OFPT_HELLO, xid, &body)
}

/// The versions a peer's HELLO offers (bitmap element, else every version
/// up to the header's).
pub fn hello_bitmap(m: &Msg) -> u32 {
    let b = m.body();
    let mut off = 0;
    while off + 4 <= b.len() {
        let (Some(t), Some(l)) = (be16(b, off), be16(b, off + 2)) else {
            break;
        };
        let l = usize::from(l);
        if l < 4 {
            break;
        }
        if t == 1 && l >= 8 {
            if let Some(bm) = be32(b, off + 4) {
                return bm;
            }
        }
        off += l.div_ceil(8) * 8;
    }
    if m.version >= 31 {
        return 0;
    }
    ((1u32 << (m.version + 1)) - 1) & !1
}

/// OFPT_BARRIER_REQUEST.
pub fn barrier_request(version: u8, xid: u32) -> Vec<u8> {
    message(version, if version == 1 { 18 } else { 20 }, xid, &[])
}

/// A stats (1.0) / multipart (1.3+) request of `type_` with `body`.
pub fn stats_request(version: u8, xid: u32, type_: u16, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + body.len());
    b.extend_from_slice(&type_.to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    if version != 1 {
        b.extend_from_slice(&[0; 4]);
    }
    b.extend_from_slice(body);
    message(version, if version == 1 { 16 } else { 18 }, xid, &b)
}

/// Body of a PORT_DESC request: empty before OpenFlow 1.5, which adds
/// `port_no` (OFPP_ANY) and 4 pad bytes (OpenFlow 1.5.1 §7.3.5.8).
pub fn port_desc_body(version: u8) -> Vec<u8> {
    if version >= 6 {
        vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]
    } else {
        Vec::new()
    }
}

/// Whether `m` is a stats/multipart reply.
pub fn is_stats_reply(m: &Msg) -> bool {
    m.type_ == if m.version == 1 { 17 } else { 19 }
}

/// Flags of a stats reply (bit 0 = MORE).
pub fn stats_flags(m: &Msg) -> u16 {
    if !is_stats_reply(m) {
        return 0;
    }
    be16(&m.bytes, 10).unwrap_or(0)
}

/// The body of a stats/multipart reply after its type/flags(/pad).
pub fn stats_body(m: &Msg) -> &[u8] {
    let off = if m.version == 1 { 12 } else { 16 };
    m.bytes.get(off..).unwrap_or(&[])
}

/// Header of a bundle message: OpenFlow 1.4+ uses its own message type,
/// OpenFlow 1.3 the ONF experimenter message (`ofp_experimenter_header`:
/// experimenter id, experimenter type) carrying the same body.
fn bundle_message(version: u8, xid: u32, of14_type: u8, onf_type: u32, body: &[u8]) -> Vec<u8> {
    if version >= 5 {
        return message(version, of14_type, xid, body);
    }
    let mut b = Vec::with_capacity(8 + body.len());
    b.extend_from_slice(&ONF_EXPERIMENTER_ID.to_be_bytes());
    b.extend_from_slice(&onf_type.to_be_bytes());
    b.extend_from_slice(body);
    message(version, OFPT_VENDOR, xid, &b)
}

/// A bundle control message (`ofp14_bundle_ctrl_msg` without properties:
/// `bundle_id(4) type(2) flags(2)`); `type_` is OFPBCT_* (OPEN_REQUEST 0,
/// CLOSE_REQUEST 2, COMMIT_REQUEST 4, DISCARD_REQUEST 6). OpenFlow 1.3
/// gets the ONF extension form (24 bytes), 1.4+ the standard one (16).
pub fn bundle_ctrl(version: u8, xid: u32, bundle_id: u32, type_: u16, flags: u16) -> Vec<u8> {
    let mut body = bundle_id.to_be_bytes().to_vec();
    body.extend_from_slice(&type_.to_be_bytes());
    body.extend_from_slice(&flags.to_be_bytes());
    bundle_message(
        version,
        xid,
        OFPT_BUNDLE_CONTROL,
        ONFT_BUNDLE_CONTROL,
        &body,
    )
}

/// A bundle add message (`ofp14_bundle_add_msg`: `bundle_id(4) pad(2)
/// flags(2)` then the complete inner message) with the inner message's xid,
/// as OVS sends it.
pub fn bundle_add(version: u8, bundle_id: u32, flags: u16, inner: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(8 + inner.len());
    body.extend_from_slice(&bundle_id.to_be_bytes());
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&flags.to_be_bytes());
    body.extend_from_slice(inner);
    bundle_message(
        version,
        xid_of(inner),
        OFPT_BUNDLE_ADD_MESSAGE,
        ONFT_BUNDLE_ADD_MESSAGE,
        &body,
    )
}

/// A decoded bundle control message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleCtrl {
    /// Bundle id.
    pub bundle_id: u32,
    /// OFPBCT_* type (a reply is the request's type + 1).
    pub type_: u16,
    /// OFPBF_* flags.
    pub flags: u16,
}

/// Decodes a bundle control message of either form (standard OpenFlow
/// 1.4+ or ONF OpenFlow 1.3 extension); `None` if `m` is not one or is short.
pub fn parse_bundle_ctrl(m: &Msg) -> Option<BundleCtrl> {
    let off = if m.version >= 5 && m.type_ == OFPT_BUNDLE_CONTROL {
        8
    } else if m.version == 4
        && m.type_ == OFPT_VENDOR
        && be32(&m.bytes, 8)? == ONF_EXPERIMENTER_ID
        && be32(&m.bytes, 12)? == ONFT_BUNDLE_CONTROL
    {
        16
    } else {
        return None;
    };
    Some(BundleCtrl {
        bundle_id: be32(&m.bytes, off)?,
        type_: be16(&m.bytes, off + 4)?,
        flags: be16(&m.bytes, off + 6)?,
    })
}

/// NXST_FLOW_MONITOR request (Nicira vendor stats subtype 2) on every flow:
/// `nx_flow_monitor_request` = id(4) flags(2) out_port(2)=OFPP_NONE
/// match_len(2)=0 table_id(1)=0xff zeros(5), no match. OpenFlow 1.0–1.2.
pub fn nx_flow_monitor_request(version: u8, xid: u32, id: u32, flags: u16) -> Vec<u8> {
    let mut body = 0x2320u32.to_be_bytes().to_vec();
    body.extend_from_slice(&2u32.to_be_bytes());
    body.extend_from_slice(&[0; 4]);
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&flags.to_be_bytes());
    body.extend_from_slice(&0xffffu16.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0xff, 0, 0, 0, 0, 0]);
    stats_request(version, xid, 0xffff, &body)
}

/// 32-bit wire port number (OF1.1+) → 16-bit OVS port.
pub fn port_from_32(p: u32) -> u16 {
    openflow::port::port_from_ofp11(p).unwrap_or(0)
}

/// 16-bit port → wire bytes for `version`.
pub fn port_bytes(version: u8, port: u16) -> Vec<u8> {
    if version == 1 {
        port.to_be_bytes().to_vec()
    } else {
        openflow::port::port_to_ofp11(port).to_be_bytes().to_vec()
    }
}

/// OF1.0 port features → OF1.1+ layout (bits 7–11 move up by 4).
fn features10(f: u32) -> u32 {
    (f & 0x7f) | ((f & 0xf80) << 4)
}

/// Bits-per-second of the fastest speed in `f` (OF1.1+ layout), OVS's
/// `netdev_features_to_bps` with default 0.
fn features_to_kbps(f: u32) -> u32 {
    const S: [(u32, u64); 10] = [
        (1 << 9, 1_000_000_000_000),
        (1 << 8, 100_000_000_000),
        (1 << 7, 40_000_000_000),
        (1 << 6, 10_000_000_000),
        (3 << 4, 1_000_000_000),
        (3 << 2, 100_000_000),
        (3, 10_000_000),
        (0, 0),
        (0, 0),
        (0, 0),
    ];
    for (bit, bps) in S {
        if bit != 0 && f & bit != 0 {
            return (bps / 1000).min(u64::from(u32::MAX)) as u32;
        }
    }
    0
}

fn name16(b: &[u8]) -> String {
    let end = b
        .iter()
        .position(|&c| c == 0 || !(0x20..0x7f).contains(&c))
        .unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end.min(15)]).into_owned()
}

fn mac(b: &[u8]) -> [u8; 6] {
    let mut m = [0u8; 6];
    if let Some(s) = b.get(..6) {
        m.copy_from_slice(s);
    }
    m
}

/// One OF1.0 `ofp_phy_port` (48 bytes).
fn phy_port10(b: &[u8]) -> Option<PortDesc> {
    if b.len() < 48 {
        return None;
    }
    let curr = features10(be32(b, 32)?);
    let supported = features10(be32(b, 40)?);
    Some(PortDesc {
        port_no: be16(b, 0)?,
        hw_addr: mac(&b[2..8]),
        name: name16(&b[8..24]),
        config: be32(b, 24)?,
        state: be32(b, 28)?,
        curr,
        advertised: features10(be32(b, 36)?),
        supported,
        peer: features10(be32(b, 44)?),
        curr_speed: features_to_kbps(curr),
        max_speed: features_to_kbps(supported),
    })
}

/// OF1.1–1.3 `ofp_port` (64 bytes).
fn port13(b: &[u8]) -> Option<PortDesc> {
    if b.len() < 64 {
        return None;
    }
    Some(PortDesc {
        port_no: port_from_32(be32(b, 0)?),
        hw_addr: mac(&b[8..14]),
        name: name16(&b[16..32]),
        config: be32(b, 32)?,
        state: be32(b, 36)?,
        curr: be32(b, 40)?,
        advertised: be32(b, 44)?,
        supported: be32(b, 48)?,
        peer: be32(b, 52)?,
        curr_speed: be32(b, 56)?,
        max_speed: be32(b, 60)?,
    })
}

/// OF1.4+ `ofp_port` with properties: returns the port and its length.
fn port14(b: &[u8]) -> Option<(PortDesc, usize)> {
    let len = usize::from(be16(b, 4)?);
    if len < 40 || len > b.len() {
        return None;
    }
    let mut p = PortDesc {
        port_no: port_from_32(be32(b, 0)?),
        hw_addr: mac(&b[8..14]),
        name: name16(&b[16..32]),
        config: be32(b, 32)?,
        state: be32(b, 36)?,
        ..PortDesc::default()
    };
    let mut off = 40;
    while off + 4 <= len {
        let t = be16(b, off)?;
        let l = usize::from(be16(b, off + 2)?);
        if l < 4 || off + l > len {
            break;
        }
        if t == 0 && l >= 32 {
            p.curr = be32(b, off + 8)?;
            p.advertised = be32(b, off + 12)?;
            p.supported = be32(b, off + 16)?;
            p.peer = be32(b, off + 20)?;
            p.curr_speed = be32(b, off + 24)?;
            p.max_speed = be32(b, off + 28)?;
        }
        off += l.div_ceil(8) * 8;
    }
    Some((p, len))
}

/// Ports in a sequence of `ofp_port`s of `version`.
pub fn ports(version: u8, mut b: &[u8]) -> Vec<PortDesc> {
    let mut out = Vec::new();
    loop {
        match version {
            1 => match phy_port10(b) {
                Some(p) => {
                    out.push(p);
                    b = &b[48..];
                }
                None => break,
            },
            2..=4 => match port13(b) {
                Some(p) => {
                    out.push(p);
                    b = &b[64..];
                }
                None => break,
            },
            _ => match port14(b) {
                Some((p, l)) => {
                    out.push(p);
                    b = &b[l..];
                }
                None => break,
            },
        }
    }
    out
}

/// Decodes a FEATURES_REPLY (OF1.0 ports included).
pub fn features_reply(m: &Msg) -> Option<FeaturesReply> {
    let b = &m.bytes;
    if b.len() < 32 {
        return None;
    }
    let mut f = FeaturesReply {
        datapath_id: be64(b, 8)?,
        n_buffers: be32(b, 16)?,
        n_tables: b[20],
        auxiliary_id: if m.version >= 4 { b[21] } else { 0 },
        capabilities: be32(b, 24)?,
        actions: if m.version == 1 { be32(b, 28)? } else { 0 },
        ports: Vec::new(),
    };
    if m.version <= 3 {
        f.ports = ports(m.version, &b[32..]);
    }
    Some(f)
}

/// Decodes a GET_CONFIG_REPLY.
pub fn switch_config(m: &Msg) -> Option<SwitchConfig> {
    Some(SwitchConfig {
        flags: be16(&m.bytes, 8)?,
        miss_send_len: be16(&m.bytes, 10)?,
    })
}

/// SET_CONFIG with `c`.
pub fn set_config(version: u8, xid: u32, c: SwitchConfig) -> Vec<u8> {
    let mut b = c.flags.to_be_bytes().to_vec();
    b.extend_from_slice(&c.miss_send_len.to_be_bytes());
    message(version, OFPT_SET_CONFIG, xid, &b)
}

/// Port stats entries of a port stats reply body.
pub fn port_stats(version: u8, b: &[u8]) -> Vec<PortStats> {
    let mut out = Vec::new();
    let mut off = 0;
    loop {
        let e = &b[off.min(b.len())..];
        let u = |i: usize, base: usize| be64(e, base + 8 * i);
        let (ps, len) = match version {
            1 if e.len() >= 104 => {
                let c = |i| u(i, 8).unwrap_or(0);
                (
                    PortStats {
                        port_no: be16(e, 0).unwrap_or(0),
                        rx_packets: c(0),
                        tx_packets: c(1),
                        rx_bytes: c(2),
                        tx_bytes: c(3),
                        rx_dropped: c(4),
                        tx_dropped: c(5),
                        rx_errors: c(6),
                        tx_errors: c(7),
                        rx_frame_err: c(8),
                        rx_over_err: c(9),
                        rx_crc_err: c(10),
                        collisions: c(11),
                        duration_sec: u32::MAX,
                        duration_nsec: u32::MAX,
                    },
                    104,
                )
            }
            2..=4 if e.len() >= 104 => {
                let c = |i| u(i, 8).unwrap_or(0);
                let has_dur = version == 4 && e.len() >= 112;
                (
                    PortStats {
                        port_no: port_from_32(be32(e, 0).unwrap_or(0)),
                        rx_packets: c(0),
                        tx_packets: c(1),
                        rx_bytes: c(2),
                        tx_bytes: c(3),
                        rx_dropped: c(4),
                        tx_dropped: c(5),
                        rx_errors: c(6),
                        tx_errors: c(7),
                        rx_frame_err: c(8),
                        rx_over_err: c(9),
                        rx_crc_err: c(10),
                        collisions: c(11),
                        duration_sec: if has_dur {
                            be32(e, 104).unwrap_or(0)
                        } else {
                            u32::MAX
                        },
                        duration_nsec: if has_dur {
                            be32(e, 108).unwrap_or(0)
                        } else {
                            u32::MAX
                        },
                    },
                    if version == 4 { 112 } else { 104 },
                )
            }
            5.. if e.len() >= 80 => {
                let len = usize::from(be16(e, 0).unwrap_or(0));
                if len < 80 || len > e.len() {
                    break;
                }
                let c = |i| u(i, 16).unwrap_or(0);
                let mut ps = PortStats {
                    port_no: port_from_32(be32(e, 4).unwrap_or(0)),
                    duration_sec: be32(e, 8).unwrap_or(0),
                    duration_nsec: be32(e, 12).unwrap_or(0),
                    rx_packets: c(0),
                    tx_packets: c(1),
                    rx_bytes: c(2),
                    tx_bytes: c(3),
                    rx_dropped: c(4),
                    tx_dropped: c(5),
                    rx_errors: c(6),
                    tx_errors: c(7),
                    rx_frame_err: u64::MAX,
                    rx_over_err: u64::MAX,
                    rx_crc_err: u64::MAX,
                    collisions: u64::MAX,
                };
                let mut p = 80;
                while p + 4 <= len {
                    let t = be16(e, p).unwrap_or(0);
                    let l = usize::from(be16(e, p + 2).unwrap_or(0));
                    if l < 4 || p + l > len {
                        break;
                    }
                    if t == 0 && l >= 40 {
                        ps.rx_frame_err = be64(e, p + 8).unwrap_or(0);
                        ps.rx_over_err = be64(e, p + 16).unwrap_or(0);
                        ps.rx_crc_err = be64(e, p + 24).unwrap_or(0);
                        ps.collisions = be64(e, p + 32).unwrap_or(0);
                    }
                    p += l.div_ceil(8) * 8;
                }
                (ps, len)
            }
            _ => break,
        };
        out.push(ps);
        off += len;
    }
    out
}

/// Table stats entries of a table stats reply body.
pub fn table_stats(version: u8, b: &[u8]) -> Vec<TableStats> {
    let mut out = Vec::new();
    let size = if version == 1 { 64 } else { 24 };
    for e in b.chunks_exact(size) {
        if version == 1 {
            out.push(TableStats {
                table_id: e[0],
                name: {
                    let n = &e[4..36];
                    let end = n.iter().position(|&c| c == 0).unwrap_or(32);
                    String::from_utf8_lossy(&n[..end]).into_owned()
                },
                wildcards: be32(e, 36).unwrap_or(0),
                max_entries: be32(e, 40).unwrap_or(0),
                active_count: be32(e, 44).unwrap_or(0),
                lookup_count: be64(e, 48).unwrap_or(0),
                matched_count: be64(e, 56).unwrap_or(0),
            });
        } else {
            out.push(TableStats {
                table_id: e[0],
                active_count: be32(e, 4).unwrap_or(0),
                lookup_count: be64(e, 8).unwrap_or(0),
                matched_count: be64(e, 16).unwrap_or(0),
                ..TableStats::default()
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_bitmaps() {
        assert_eq!(hello(1, 2, 1), vec![1, 0, 0, 8, 0, 0, 0, 1]);
        let h = hello(4, 1 << 4, 1);
        assert_eq!(h, vec![4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10]);
        assert_eq!(hello_bitmap(&Msg::new(h)), 1 << 4);
        assert_eq!(hello_bitmap(&Msg::new(vec![6, 0, 0, 8, 0, 0, 0, 9])), 0x7e);
        // A truncated element is ignored, not a panic.
        assert_eq!(
            hello_bitmap(&Msg::new(vec![4, 0, 0, 10, 0, 0, 0, 9, 0, 1])),
            0x1e
        );
    }

    #[test]
    fn short_bodies_do_not_panic() {
        for n in 0..120 {
            let b = vec![0xffu8; n];
            let _ = ports(1, &b);
            let _ = ports(4, &b);
            let _ = ports(5, &b);
            let _ = port_stats(1, &b);
            let _ = port_stats(4, &b);
            let _ = port_stats(5, &b);
            let _ = table_stats(1, &b);
            let _ = features_reply(&Msg::new(b.clone()));
        }
    }

    /// Byte layouts as Open vSwitch 3.1 sends them (its `-vvconn:dbg`
    /// decode of the same messages: ONF OF1.3 form, standard OF1.4 form).
    #[test]
    fn bundle_messages() {
        let open13 = bundle_ctrl(4, 4, 0, 0, OFPBF_ATOMIC | OFPBF_ORDERED);
        assert_eq!(
            open13,
            [
                4, 4, 0, 24, 0, 0, 0, 4, 0x4f, 0x4e, 0x46, 0, 0, 0, 0x08, 0xfc, 0, 0, 0, 0, 0, 0,
                0, 3
            ]
        );
        let open14 = bundle_ctrl(5, 8, 7, 4, 3);
        assert_eq!(open14, [5, 33, 0, 16, 0, 0, 0, 8, 0, 0, 0, 7, 0, 4, 0, 3]);
        let inner = message(5, 14, 6, &[0xaa; 4]);
        let add = bundle_add(5, 0, 3, &inner);
        assert_eq!(
            &add[..16],
            &[5, 34, 0, 28, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 3]
        );
        assert_eq!(&add[16..], &inner[..]);
        let add13 = bundle_add(4, 0, 3, &message(4, 14, 9, &[]));
        assert_eq!(
            &add13[..16],
            &[4, 4, 0, 32, 0, 0, 0, 9, 0x4f, 0x4e, 0x46, 0, 0, 0, 0x08, 0xfd]
        );
        for (m, want) in [(open13, 0), (open14, 4)] {
            let mut reply = m.clone();
            let n = reply.len();
            reply[n - 3] += 1; // type + 1
            let c = parse_bundle_ctrl(&Msg::new(reply)).unwrap();
            assert_eq!(c.type_, want + 1);
            assert_eq!(c.flags, 3);
            // Truncated: no panic, no decode.
            assert_eq!(parse_bundle_ctrl(&Msg::new(m[..n - 2].to_vec())), None);
        }
        // Some other experimenter message is not a bundle message.
        assert_eq!(parse_bundle_ctrl(&Msg::new(add13)), None);
    }

    #[test]
    fn of10_features_convert() {
        // 10GB-FD (bit 6) + COPPER (OF1.0 bit 7 → OF1.1 bit 11).
        assert_eq!(features10(0xc0), (1 << 6) | (1 << 11));
        assert_eq!(features_to_kbps((1 << 6) | (1 << 11)), 10_000_000);
    }
}
