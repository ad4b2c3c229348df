//! The crate's one error type: why bytes could not be read as a packet.

/// Why a frame (or a header inside it) is malformed.
///
/// [`FlowKey::extract`](crate::FlowKey::extract) returns only the variants
/// marked "drop": frames the switch should drop and count. The views'
/// `new_checked` and `Repr::parse` use the rest as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Malformed {
    /// Drop: the frame is shorter than an Ethernet header (14 bytes).
    #[error("frame shorter than an Ethernet header")]
    EthernetTruncated,
    /// Drop: an 802.1Q tag whose TCI or inner Ethernet type is cut short.
    #[error("802.1Q VLAN header cut short")]
    VlanTruncated,
    /// Drop: fewer bytes than the IPv4 header (20 bytes, or IHL*4) needs.
    #[error("IPv4 header cut short")]
    Ipv4Truncated,
    /// Drop: the IPv4 version field is not 4.
    #[error("IPv4 version field is not 4")]
    Ipv4Version,
    /// Drop: IPv4 IHL below 5 (header shorter than 20 bytes).
    #[error("IPv4 IHL below 5")]
    Ipv4HeaderLen,
    /// Drop: IPv4 total length below the header length.
    #[error("IPv4 total length below the header length")]
    Ipv4TotalLenShort,
    /// Drop: IPv4 total length beyond the bytes present.
    #[error("IPv4 total length beyond the bytes present")]
    Ipv4TotalLenLong,
    /// Drop: fewer than 40 bytes for the IPv6 header.
    #[error("IPv6 header cut short")]
    Ipv6Truncated,
    /// Drop: IPv6 payload length beyond the bytes present.
    #[error("IPv6 payload length beyond the bytes present")]
    Ipv6PayloadLen,
    /// The IPv6 version field is not 6 (`Repr::parse` only; extraction follows
    /// OVS and does not check it).
    #[error("IPv6 version field is not 6")]
    Ipv6Version,
    /// An IPv6 extension header is cut short (extraction keeps the addresses
    /// and stops, as OVS does; it does not drop).
    #[error("IPv6 extension header cut short")]
    Ipv6ExtTruncated,
    /// Drop: TCP data offset below 5 words.
    #[error("TCP data offset below 5")]
    TcpDataOffset,
    /// Drop: fewer bytes than the TCP header (20 bytes, or data offset*4) needs.
    #[error("TCP header cut short")]
    TcpTruncated,
    /// Drop: fewer than 8 bytes for the UDP header.
    #[error("UDP header cut short")]
    UdpTruncated,
    /// Drop: UDP length field below 8 or beyond the bytes present (not
    /// checked on fragments).
    #[error("UDP length field inconsistent")]
    UdpLength,
    /// A header other than those above is cut short (ARP, ICMP, ICMPv6...).
    #[error("header cut short")]
    Truncated,
    /// The header is well-formed but of a kind `Repr::parse` does not model
    /// (e.g. ARP for a hardware type other than Ethernet).
    #[error("unsupported header format")]
    Unsupported,
    /// A checksum offset points outside the frame.
    #[error("checksum offset outside the frame")]
    CsumOffset,
}
