//! The match fields of the `ovs-ofctl` syntax (a local subset of OVS's
//! meta-flow table, lib/meta-flow.xml): names, widths, how a value is
//! spelled, where it lives in a [`Flow`], and its prerequisites.
//!
//! Values travel as `u128` (the field's bytes read big-endian), which covers
//! every field here (≤ 128 bits).

use crate::flow::Flow;
use packet::flow::{FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER};

/// How a field's value is written (OVS `enum mf_string`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// Decimal (`tcp_dst=80`).
    Decimal,
    /// Hexadecimal (`reg0=0x1`).
    Hex,
    /// `xx:xx:xx:xx:xx:xx`.
    Ethernet,
    /// Dotted quad.
    Ipv4,
    /// RFC 5952 text.
    Ipv6,
    /// An OpenFlow port number or name.
    OfpPort,
    /// `no|yes|first|later|not_later`.
    Frag,
    /// `+syn-ack` or numeric.
    TcpFlags,
}

/// A field's prerequisite (OVS `enum mf_prereqs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prereq {
    /// None.
    None,
    /// Has a VLAN header (`vlan_tci` CFI bit matched as 1).
    Vlan,
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// IPv4 or IPv6.
    IpAny,
    /// ARP or RARP.
    Arp,
    /// TCP over IPv4/IPv6.
    Tcp,
    /// UDP over IPv4/IPv6.
    Udp,
    /// SCTP over IPv4/IPv6.
    Sctp,
    /// ICMPv4.
    Icmpv4,
    /// ICMPv6.
    Icmpv6,
    /// ICMPv6 neighbor solicitation or advertisement.
    Nd,
    /// ICMPv6 neighbor solicitation.
    NdSolicit,
    /// ICMPv6 neighbor advertisement.
    NdAdvert,
}

/// One field of the syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `in_port` (16-bit OpenFlow port).
    InPort,
    /// `eth_src` / `dl_src`.
    EthSrc,
    /// `eth_dst` / `dl_dst`.
    EthDst,
    /// `eth_type` / `dl_type`.
    EthType,
    /// `vlan_tci` (TCI with the CFI bit meaning "has a tag").
    VlanTci,
    /// `dl_vlan` (OpenFlow 1.0 VID; 0xffff = no tag).
    DlVlan,
    /// `dl_vlan_pcp`.
    DlVlanPcp,
    /// `vlan_vid` (OXM: VID | OFPVID_PRESENT 0x1000).
    VlanVid,
    /// `vlan_pcp`.
    VlanPcp,
    /// `ip_src` / `nw_src`.
    IpSrc,
    /// `ip_dst` / `nw_dst`.
    IpDst,
    /// `nw_proto` / `ip_proto`.
    NwProto,
    /// `nw_tos`: the DSCP bits in TOS position.
    NwTos,
    /// `ip_dscp`: DSCP shifted right by 2.
    IpDscp,
    /// `nw_ecn` / `ip_ecn`.
    NwEcn,
    /// `nw_ttl`.
    NwTtl,
    /// `ip_frag` / `nw_frag`.
    IpFrag,
    /// `tcp_src` / `tp_src`.
    TcpSrc,
    /// `tcp_dst` / `tp_dst`.
    TcpDst,
    /// `udp_src`.
    UdpSrc,
    /// `udp_dst`.
    UdpDst,
    /// `sctp_src`.
    SctpSrc,
    /// `sctp_dst`.
    SctpDst,
    /// `tcp_flags`.
    TcpFlags,
    /// `icmp_type`.
    IcmpType,
    /// `icmp_code`.
    IcmpCode,
    /// `icmpv6_type`.
    Icmpv6Type,
    /// `icmpv6_code`.
    Icmpv6Code,
    /// `arp_op`.
    ArpOp,
    /// `arp_spa`.
    ArpSpa,
    /// `arp_tpa`.
    ArpTpa,
    /// `arp_sha`.
    ArpSha,
    /// `arp_tha`.
    ArpTha,
    /// `ipv6_src`.
    Ipv6Src,
    /// `ipv6_dst`.
    Ipv6Dst,
    /// `ipv6_label`.
    Ipv6Label,
    /// `nd_target`.
    NdTarget,
    /// `nd_sll`.
    NdSll,
    /// `nd_tll`.
    NdTll,
    /// `metadata`.
    Metadata,
    /// `reg0`…`reg15`.
    Reg(u8),
    /// `xxreg0`…`xxreg3` (128-bit views of reg0–3, reg4–7, …).
    Xxreg(u8),
}

struct Info {
    name: &'static str,
    alias: &'static str,
    nxm: &'static str,
    bytes: u8,
    bits: u8,
    spelling: Spelling,
    maskable: bool,
    prereq: Prereq,
}

#[allow(clippy::too_many_arguments)]
const fn info(
    name: &'static str,
    alias: &'static str,
    nxm: &'static str,
    bytes: u8,
    bits: u8,
    spelling: Spelling,
    maskable: bool,
    prereq: Prereq,
) -> Info {
    Info {
        name,
        alias,
        nxm,
        bytes,
        bits,
        spelling,
        maskable,
        prereq,
    }
}

const REG_NAMES: [&str; 16] = [
    "reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6", "reg7", "reg8", "reg9", "reg10",
    "reg11", "reg12", "reg13", "reg14", "reg15",
];
const REG_NXM: [&str; 16] = [
    "NXM_NX_REG0",
    "NXM_NX_REG1",
    "NXM_NX_REG2",
    "NXM_NX_REG3",
    "NXM_NX_REG4",
    "NXM_NX_REG5",
    "NXM_NX_REG6",
    "NXM_NX_REG7",
    "NXM_NX_REG8",
    "NXM_NX_REG9",
    "NXM_NX_REG10",
    "NXM_NX_REG11",
    "NXM_NX_REG12",
    "NXM_NX_REG13",
    "NXM_NX_REG14",
    "NXM_NX_REG15",
];
const XXREG_NAMES: [&str; 4] = ["xxreg0", "xxreg1", "xxreg2", "xxreg3"];
const XXREG_NXM: [&str; 4] = [
    "NXM_NX_XXREG0",
    "NXM_NX_XXREG1",
    "NXM_NX_XXREG2",
    "NXM_NX_XXREG3",
];

/// Every field, for lookups and property tests.
pub const ALL_FIXED: [Field; 41] = [
    Field::InPort,
    Field::EthSrc,
    Field::EthDst,
    Field::EthType,
    Field::VlanTci,
    Field::DlVlan,
    Field::DlVlanPcp,
    Field::VlanVid,
    Field::VlanPcp,
    Field::IpSrc,
    Field::IpDst,
    Field::NwProto,
    Field::NwTos,
    Field::IpDscp,
    Field::NwEcn,
    Field::NwTtl,
    Field::IpFrag,
    Field::TcpSrc,
    Field::TcpDst,
    Field::UdpSrc,
    Field::UdpDst,
    Field::SctpSrc,
    Field::SctpDst,
    Field::TcpFlags,
    Field::IcmpType,
    Field::IcmpCode,
    Field::Icmpv6Type,
    Field::Icmpv6Code,
    Field::ArpOp,
    Field::ArpSpa,
    Field::ArpTpa,
    Field::ArpSha,
    Field::ArpTha,
    Field::Ipv6Src,
    Field::Ipv6Dst,
    Field::Ipv6Label,
    Field::NdTarget,
    Field::NdSll,
    Field::NdTll,
    Field::Metadata,
    Field::Reg(0),
];

impl Field {
    fn info(self) -> Info {
        use Prereq as P;
        use Spelling as S;
        match self {
            Field::InPort => info(
                "in_port",
                "",
                "NXM_OF_IN_PORT",
                2,
                16,
                S::OfpPort,
                false,
                P::None,
            ),
            Field::EthSrc => info(
                "eth_src",
                "dl_src",
                "NXM_OF_ETH_SRC",
                6,
                48,
                S::Ethernet,
                true,
                P::None,
            ),
            Field::EthDst => info(
                "eth_dst",
                "dl_dst",
                "NXM_OF_ETH_DST",
                6,
                48,
                S::Ethernet,
                true,
                P::None,
            ),
            Field::EthType => info(
                "eth_type",
                "dl_type",
                "NXM_OF_ETH_TYPE",
                2,
                16,
                S::Hex,
                false,
                P::None,
            ),
            Field::VlanTci => info(
                "vlan_tci",
                "",
                "NXM_OF_VLAN_TCI",
                2,
                16,
                S::Hex,
                true,
                P::None,
            ),
            Field::DlVlan => info("dl_vlan", "", "", 2, 12, S::Decimal, false, P::None),
            Field::DlVlanPcp => info("dl_vlan_pcp", "", "", 1, 3, S::Decimal, false, P::None),
            Field::VlanVid => info(
                "vlan_vid",
                "",
                "OXM_OF_VLAN_VID",
                2,
                13,
                S::Decimal,
                true,
                P::None,
            ),
            Field::VlanPcp => info(
                "vlan_pcp",
                "",
                "OXM_OF_VLAN_PCP",
                1,
                3,
                S::Decimal,
                false,
                P::Vlan,
            ),
            Field::IpSrc => info(
                "ip_src",
                "nw_src",
                "NXM_OF_IP_SRC",
                4,
                32,
                S::Ipv4,
                true,
                P::Ipv4,
            ),
            Field::IpDst => info(
                "ip_dst",
                "nw_dst",
                "NXM_OF_IP_DST",
                4,
                32,
                S::Ipv4,
                true,
                P::Ipv4,
            ),
            Field::NwProto => info(
                "nw_proto",
                "ip_proto",
                "NXM_OF_IP_PROTO",
                1,
                8,
                S::Decimal,
                false,
                P::IpAny,
            ),
            Field::NwTos => info(
                "nw_tos",
                "",
                "NXM_OF_IP_TOS",
                1,
                8,
                S::Decimal,
                false,
                P::IpAny,
            ),
            Field::IpDscp => info(
                "ip_dscp",
                "",
                "OXM_OF_IP_DSCP",
                1,
                6,
                S::Decimal,
                false,
                P::IpAny,
            ),
            Field::NwEcn => info(
                "nw_ecn",
                "ip_ecn",
                "NXM_NX_IP_ECN",
                1,
                2,
                S::Decimal,
                false,
                P::IpAny,
            ),
            Field::NwTtl => info(
                "nw_ttl",
                "",
                "NXM_NX_IP_TTL",
                1,
                8,
                S::Decimal,
                false,
                P::IpAny,
            ),
            Field::IpFrag => info(
                "ip_frag",
                "nw_frag",
                "NXM_NX_IP_FRAG",
                1,
                2,
                S::Frag,
                true,
                P::IpAny,
            ),
            Field::TcpSrc => info(
                "tcp_src",
                "tp_src",
                "NXM_OF_TCP_SRC",
                2,
                16,
                S::Decimal,
                true,
                P::Tcp,
            ),
            Field::TcpDst => info(
                "tcp_dst",
                "tp_dst",
                "NXM_OF_TCP_DST",
                2,
                16,
                S::Decimal,
                true,
                P::Tcp,
            ),
            Field::UdpSrc => info(
                "udp_src",
                "",
                "NXM_OF_UDP_SRC",
                2,
                16,
                S::Decimal,
                true,
                P::Udp,
            ),
            Field::UdpDst => info(
                "udp_dst",
                "",
                "NXM_OF_UDP_DST",
                2,
                16,
                S::Decimal,
                true,
                P::Udp,
            ),
            Field::SctpSrc => info(
                "sctp_src",
                "",
                "OXM_OF_SCTP_SRC",
                2,
                16,
                S::Decimal,
                true,
                P::Sctp,
            ),
            Field::SctpDst => info(
                "sctp_dst",
                "",
                "OXM_OF_SCTP_DST",
                2,
                16,
                S::Decimal,
                true,
                P::Sctp,
            ),
            Field::TcpFlags => info(
                "tcp_flags",
                "",
                "NXM_NX_TCP_FLAGS",
                2,
                12,
                S::TcpFlags,
                true,
                P::Tcp,
            ),
            Field::IcmpType => info(
                "icmp_type",
                "",
                "NXM_OF_ICMP_TYPE",
                1,
                8,
                S::Decimal,
                false,
                P::Icmpv4,
            ),
            Field::IcmpCode => info(
                "icmp_code",
                "",
                "NXM_OF_ICMP_CODE",
                1,
                8,
                S::Decimal,
                false,
                P::Icmpv4,
            ),
            Field::Icmpv6Type => info(
                "icmpv6_type",
                "",
                "NXM_NX_ICMPV6_TYPE",
                1,
                8,
                S::Decimal,
                false,
                P::Icmpv6,
            ),
            Field::Icmpv6Code => info(
                "icmpv6_code",
                "",
                "NXM_NX_ICMPV6_CODE",
                1,
                8,
                S::Decimal,
                false,
                P::Icmpv6,
            ),
            Field::ArpOp => info(
                "arp_op",
                "",
                "NXM_OF_ARP_OP",
                2,
                16,
                S::Decimal,
                false,
                P::Arp,
            ),
            Field::ArpSpa => info(
                "arp_spa",
                "",
                "NXM_OF_ARP_SPA",
                4,
                32,
                S::Ipv4,
                true,
                P::Arp,
            ),
            Field::ArpTpa => info(
                "arp_tpa",
                "",
                "NXM_OF_ARP_TPA",
                4,
                32,
                S::Ipv4,
                true,
                P::Arp,
            ),
            Field::ArpSha => info(
                "arp_sha",
                "",
                "NXM_NX_ARP_SHA",
                6,
                48,
                S::Ethernet,
                true,
                P::Arp,
            ),
            Field::ArpTha => info(
                "arp_tha",
                "",
                "NXM_NX_ARP_THA",
                6,
                48,
                S::Ethernet,
                true,
                P::Arp,
            ),
            Field::Ipv6Src => info(
                "ipv6_src",
                "",
                "NXM_NX_IPV6_SRC",
                16,
                128,
                S::Ipv6,
                true,
                P::Ipv6,
            ),
            Field::Ipv6Dst => info(
                "ipv6_dst",
                "",
                "NXM_NX_IPV6_DST",
                16,
                128,
                S::Ipv6,
                true,
                P::Ipv6,
            ),
            Field::Ipv6Label => info(
                "ipv6_label",
                "",
                "NXM_NX_IPV6_LABEL",
                4,
                20,
                S::Hex,
                true,
                P::Ipv6,
            ),
            Field::NdTarget => info(
                "nd_target",
                "",
                "NXM_NX_ND_TARGET",
                16,
                128,
                S::Ipv6,
                true,
                P::Nd,
            ),
            Field::NdSll => info(
                "nd_sll",
                "",
                "NXM_NX_ND_SLL",
                6,
                48,
                S::Ethernet,
                true,
                P::NdSolicit,
            ),
            Field::NdTll => info(
                "nd_tll",
                "",
                "NXM_NX_ND_TLL",
                6,
                48,
                S::Ethernet,
                true,
                P::NdAdvert,
            ),
            Field::Metadata => info(
                "metadata",
                "",
                "OXM_OF_METADATA",
                8,
                64,
                S::Hex,
                true,
                P::None,
            ),
            Field::Reg(i) => {
                let i = usize::from(i & 15);
                info(REG_NAMES[i], "", REG_NXM[i], 4, 32, S::Hex, true, P::None)
            }
            Field::Xxreg(i) => {
                let i = usize::from(i & 3);
                info(
                    XXREG_NAMES[i],
                    "",
                    XXREG_NXM[i],
                    16,
                    128,
                    S::Hex,
                    true,
                    P::None,
                )
            }
        }
    }

    /// OVS's name of the field (`tcp_dst`, `eth_src`, `reg0`, …).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The NXM/OXM name used by `load`/`move` (`NXM_OF_TCP_DST`), or "" when
    /// the field has none (`dl_vlan`).
    pub fn nxm_name(self) -> &'static str {
        self.info().nxm
    }

    /// Width on the wire in bytes.
    pub fn n_bytes(self) -> usize {
        usize::from(self.info().bytes)
    }

    /// Width in bits (significant bits, e.g. 12 for `tcp_flags`).
    pub fn n_bits(self) -> u32 {
        u32::from(self.info().bits)
    }

    /// How values are written.
    pub fn spelling(self) -> Spelling {
        self.info().spelling
    }

    /// Whether arbitrary bitwise masks are allowed in a match.
    pub fn maskable(self) -> bool {
        self.info().maskable
    }

    /// The field's prerequisite.
    pub fn prereq(self) -> Prereq {
        self.info().prereq
    }

    /// Looks a field up by its name or alias (`tp_dst`, `nw_src`, `reg3`).
    pub fn from_name(name: &str) -> Option<Field> {
        if let Some(n) = name.strip_prefix("reg") {
            if let Ok(i) = n.parse::<u8>() {
                if i < 16 && n == i.to_string() {
                    return Some(Field::Reg(i));
                }
            }
            return None;
        }
        if let Some(n) = name.strip_prefix("xxreg") {
            return match n {
                "0" | "1" | "2" | "3" => Some(Field::Xxreg(n.as_bytes()[0] - b'0')),
                _ => None,
            };
        }
        if name == "icmpv4_type" {
            return Some(Field::IcmpType);
        }
        if name == "icmpv4_code" {
            return Some(Field::IcmpCode);
        }
        ALL_FIXED.iter().copied().find(|f| {
            let i = f.info();
            i.name == name || (!i.alias.is_empty() && i.alias == name)
        })
    }

    /// Looks a field up by NXM/OXM name (`NXM_NX_REG0`) or, failing that, by
    /// name (as OVS's `mf_parse_subfield` does).
    pub fn from_nxm_or_name(name: &str) -> Option<Field> {
        for i in 0..16u8 {
            if REG_NXM[usize::from(i)] == name {
                return Some(Field::Reg(i));
            }
        }
        for i in 0..4u8 {
            if XXREG_NXM[usize::from(i)] == name {
                return Some(Field::Xxreg(i));
            }
        }
        let extra = match name {
            "NXM_OF_VLAN_TCI" => Some(Field::VlanTci),
            "OXM_OF_IN_PORT" => Some(Field::InPort),
            "OXM_OF_ETH_SRC" => Some(Field::EthSrc),
            "OXM_OF_ETH_DST" => Some(Field::EthDst),
            "OXM_OF_ETH_TYPE" => Some(Field::EthType),
            "OXM_OF_IPV4_SRC" => Some(Field::IpSrc),
            "OXM_OF_IPV4_DST" => Some(Field::IpDst),
            "OXM_OF_IP_PROTO" => Some(Field::NwProto),
            "OXM_OF_IP_ECN" => Some(Field::NwEcn),
            "OXM_OF_TCP_SRC" => Some(Field::TcpSrc),
            "OXM_OF_TCP_DST" => Some(Field::TcpDst),
            "OXM_OF_UDP_SRC" => Some(Field::UdpSrc),
            "OXM_OF_UDP_DST" => Some(Field::UdpDst),
            "OXM_OF_IPV6_SRC" => Some(Field::Ipv6Src),
            "OXM_OF_IPV6_DST" => Some(Field::Ipv6Dst),
            _ => None,
        };
        if extra.is_some() {
            return extra;
        }
        if let Some(f) = ALL_FIXED
            .iter()
            .copied()
            .find(|f| f.info().nxm == name && !name.is_empty())
        {
            return Some(f);
        }
        Field::from_name(name)
    }

    /// Whether `set_field`/`load` may write this field (OVS `mf_is_writable`).
    pub fn writable(self) -> bool {
        !matches!(
            self,
            Field::EthType | Field::NwProto | Field::IpFrag | Field::TcpFlags
        )
    }

    /// The field's value in `flow` (raw storage view, not OXM-shifted).
    pub fn get(self, flow: &Flow) -> u128 {
        let k = &flow.key;
        match self {
            Field::InPort => u128::from(k.in_port as u16),
            Field::EthSrc => be(&k.dl_src),
            Field::EthDst => be(&k.dl_dst),
            Field::EthType => u128::from(k.dl_type),
            Field::VlanTci => u128::from(k.vlan_tci),
            Field::DlVlan => u128::from(k.vlan_tci & 0x0fff),
            Field::DlVlanPcp | Field::VlanPcp => u128::from(k.vlan_tci >> 13),
            Field::VlanVid => u128::from(k.vlan_tci & 0x1fff),
            Field::IpSrc | Field::ArpSpa => be(&k.nw_src),
            Field::IpDst | Field::ArpTpa => be(&k.nw_dst),
            Field::NwProto => u128::from(k.nw_proto),
            Field::ArpOp => u128::from(k.nw_proto),
            Field::NwTos => u128::from(k.nw_tos & 0xfc),
            Field::IpDscp => u128::from(k.nw_tos >> 2),
            Field::NwEcn => u128::from(k.nw_tos & 3),
            Field::NwTtl => u128::from(k.nw_ttl),
            Field::IpFrag => u128::from(k.nw_frag),
            Field::TcpSrc | Field::UdpSrc | Field::SctpSrc => u128::from(k.tp_src),
            Field::TcpDst | Field::UdpDst | Field::SctpDst => u128::from(k.tp_dst),
            Field::IcmpType | Field::Icmpv6Type => u128::from(k.tp_src & 0xff),
            Field::IcmpCode | Field::Icmpv6Code => u128::from(k.tp_dst & 0xff),
            Field::TcpFlags => u128::from(k.tcp_flags),
            Field::ArpSha | Field::NdSll => be(&k.arp_sha),
            Field::ArpTha | Field::NdTll => be(&k.arp_tha),
            Field::Ipv6Src => be(&k.ipv6_src),
            Field::Ipv6Dst => be(&k.ipv6_dst),
            Field::Ipv6Label => u128::from(k.ipv6_label),
            Field::NdTarget => be(&k.nd_target),
            Field::Metadata => u128::from(flow.metadata),
            Field::Reg(i) => u128::from(flow.regs[usize::from(i & 15)]),
            Field::Xxreg(i) => {
                let b = usize::from(i & 3) * 4;
                let r = &flow.regs;
                (u128::from(r[b]) << 96)
                    | (u128::from(r[b + 1]) << 64)
                    | (u128::from(r[b + 2]) << 32)
                    | u128::from(r[b + 3])
            }
        }
    }

    /// Stores `v` as the field's raw value in `flow` (inverse of [`get`](Self::get)).
    pub fn put(self, flow: &mut Flow, v: u128) {
        let k = &mut flow.key;
        match self {
            Field::InPort => k.in_port = u32::from(v as u16),
            Field::EthSrc => put_be(&mut k.dl_src, v),
            Field::EthDst => put_be(&mut k.dl_dst, v),
            Field::EthType => k.dl_type = v as u16,
            Field::VlanTci => k.vlan_tci = v as u16,
            Field::DlVlan => k.vlan_tci = (k.vlan_tci & !0x0fff) | (v as u16 & 0x0fff),
            Field::DlVlanPcp | Field::VlanPcp => {
                k.vlan_tci = (k.vlan_tci & 0x1fff) | ((v as u16 & 7) << 13)
            }
            Field::VlanVid => k.vlan_tci = (k.vlan_tci & !0x1fff) | (v as u16 & 0x1fff),
            Field::IpSrc | Field::ArpSpa => put_be(&mut k.nw_src, v),
            Field::IpDst | Field::ArpTpa => put_be(&mut k.nw_dst, v),
            Field::NwProto | Field::ArpOp => k.nw_proto = v as u8,
            Field::NwTos => k.nw_tos = (k.nw_tos & 3) | (v as u8 & 0xfc),
            Field::IpDscp => k.nw_tos = (k.nw_tos & 3) | ((v as u8) << 2),
            Field::NwEcn => k.nw_tos = (k.nw_tos & 0xfc) | (v as u8 & 3),
            Field::NwTtl => k.nw_ttl = v as u8,
            Field::IpFrag => k.nw_frag = v as u8 & 3,
            Field::TcpSrc | Field::UdpSrc | Field::SctpSrc => k.tp_src = v as u16,
            Field::TcpDst | Field::UdpDst | Field::SctpDst => k.tp_dst = v as u16,
            Field::IcmpType | Field::Icmpv6Type => k.tp_src = u16::from(v as u8),
            Field::IcmpCode | Field::Icmpv6Code => k.tp_dst = u16::from(v as u8),
            Field::TcpFlags => k.tcp_flags = v as u16 & 0x0fff,
            Field::ArpSha | Field::NdSll => put_be(&mut k.arp_sha, v),
            Field::ArpTha | Field::NdTll => put_be(&mut k.arp_tha, v),
            Field::Ipv6Src => put_be(&mut k.ipv6_src, v),
            Field::Ipv6Dst => put_be(&mut k.ipv6_dst, v),
            Field::Ipv6Label => k.ipv6_label = v as u32,
            Field::NdTarget => put_be(&mut k.nd_target, v),
            Field::Metadata => flow.metadata = v as u64,
            Field::Reg(i) => flow.regs[usize::from(i & 15)] = v as u32,
            Field::Xxreg(i) => {
                let b = usize::from(i & 3) * 4;
                for j in 0..4 {
                    flow.regs[b + j] = (v >> (96 - 32 * j)) as u32;
                }
            }
        }
    }

    /// Whether `flow` (under its mask) satisfies the field's prerequisite
    /// (OVS `mf_are_prereqs_ok`).
    pub fn prereqs_ok(self, flow: &Flow) -> bool {
        prereq_ok(self.prereq(), flow)
    }
}

/// Whether `flow` satisfies `p`.
pub fn prereq_ok(p: Prereq, flow: &Flow) -> bool {
    let k = &flow.key;
    let ip4 = k.dl_type == 0x0800;
    let ip6 = k.dl_type == 0x86dd;
    let ipany = ip4 || ip6;
    match p {
        Prereq::None => true,
        Prereq::Vlan => k.vlan_tci & 0x1000 != 0,
        Prereq::Ipv4 => ip4,
        Prereq::Ipv6 => ip6,
        Prereq::IpAny => ipany,
        Prereq::Arp => k.dl_type == 0x0806 || k.dl_type == 0x8035,
        Prereq::Tcp => ipany && k.nw_proto == 6,
        Prereq::Udp => ipany && k.nw_proto == 17,
        Prereq::Sctp => ipany && k.nw_proto == 132,
        Prereq::Icmpv4 => ip4 && k.nw_proto == 1,
        Prereq::Icmpv6 => ip6 && k.nw_proto == 58,
        Prereq::Nd => {
            ip6 && k.nw_proto == 58 && (k.tp_src == 135 || k.tp_src == 136) && k.tp_dst == 0
        }
        Prereq::NdSolicit => ip6 && k.nw_proto == 58 && k.tp_src == 135 && k.tp_dst == 0,
        Prereq::NdAdvert => ip6 && k.nw_proto == 58 && k.tp_src == 136 && k.tp_dst == 0,
    }
}

fn be(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |a, &x| (a << 8) | u128::from(x))
}

fn put_be(b: &mut [u8], v: u128) {
    let n = b.len();
    for (i, o) in b.iter_mut().enumerate() {
        *o = (v >> (8 * (n - 1 - i))) as u8;
    }
}

/// Fragment spellings: name, value, mask (OVS `mf_from_frag_string`).
pub const FRAG_NAMES: [(&str, u8, u8); 5] = [
    ("no", 0, FLOW_NW_FRAG_ANY),
    ("yes", FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_ANY),
    (
        "first",
        FLOW_NW_FRAG_ANY,
        FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
    ),
    (
        "later",
        FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
        FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER,
    ),
    ("not_later", 0, FLOW_NW_FRAG_LATER),
];

/// TCP flag names by bit (OVS `packet_tcp_flag_to_string`).
pub fn tcp_flag_name(bit: u16) -> Option<&'static str> {
    Some(match bit {
        0x001 => "fin",
        0x002 => "syn",
        0x004 => "rst",
        0x008 => "psh",
        0x010 => "ack",
        0x020 => "urg",
        0x040 => "ece",
        0x080 => "cwr",
        0x100 => "ns",
        0x200 => "[200]",
        0x400 => "[400]",
        0x800 => "[800]",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve() {
        assert_eq!(Field::from_name("tp_dst"), Some(Field::TcpDst));
        assert_eq!(Field::from_name("nw_src"), Some(Field::IpSrc));
        assert_eq!(Field::from_name("reg15"), Some(Field::Reg(15)));
        assert_eq!(Field::from_name("reg16"), None);
        assert_eq!(Field::from_name("reg01"), None);
        assert_eq!(Field::from_nxm_or_name("NXM_NX_REG3"), Some(Field::Reg(3)));
        assert_eq!(
            Field::from_nxm_or_name("OXM_OF_METADATA"),
            Some(Field::Metadata)
        );
        assert_eq!(Field::from_nxm_or_name("tcp_dst"), Some(Field::TcpDst));
    }

    #[test]
    fn get_put_round_trip() {
        let mut f = Flow::default();
        for (fld, v) in [
            (Field::EthSrc, 0x0011_2233_4455u128),
            (Field::Ipv6Dst, 0x2001_0db8 << 96),
            (Field::Reg(7), 0xdead_beef),
            (Field::Xxreg(1), (5u128 << 96) | 9),
            (Field::VlanVid, 0x100a),
        ] {
            fld.put(&mut f, v);
            assert_eq!(fld.get(&f), v, "{fld:?}");
        }
        assert_eq!(f.regs[4], 5);
        assert_eq!(f.regs[7], 9);
    }
}
