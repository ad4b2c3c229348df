//! Meta-flow: the table of OpenFlow match fields (as Open vSwitch's
//! lib/meta-flow and ovs-fields(7)).
//!
//! Idea: every field a rule can match or an action can set is a [`Field`]
//! with its OVS name and aliases, width, NXM and OXM codes (OpenFlow 1.3.5
//! §7.2.3.7; NXM codes from OVS's nicira-ext / ovs-fields(7)), maskability,
//! writability and prerequisites, plus `get`/`set` of its value in a
//! [`Flow`]. Values are carried as `u128` holding the field's big-endian
//! bytes as an unsigned number (every field is at most 16 bytes), so
//! `0x0800` is `eth_type` IPv4 and `0x0a000001` is `ip_src` 10.0.0.1.
//!
//! Several fields share storage in the flow, as in OVS: `tcp_src`,
//! `udp_src`, `sctp_src`, `tp_src` and `icmp_type` all live in
//! `key.tp_src`; `arp_spa` in `nw_src`; `arp_op` in `nw_proto`; `nd_sll` in
//! `arp_sha`; `dl_vlan`, `vlan_vid`, `vlan_pcp` in `vlan_tci`; `nw_tos`,
//! `ip_dscp`, `ip_ecn` in `nw_tos`. `set` changes only the field's own bits.

use crate::error::OfpError;
use crate::flow::{Flow, FLOW_N_REGS};
use packet::flow::VLAN_CFI;

/// OXM class of the Nicira NXM_OF_* fields (NXM_0).
pub const OFPXMC_NXM_0: u16 = 0x0000;
/// OXM class of the Nicira NXM_NX_* fields (NXM_1).
pub const OFPXMC_NXM_1: u16 = 0x0001;
/// OXM class of the OpenFlow basic fields (OpenFlow 1.3.5 §7.2.3.7).
pub const OFPXMC_OPENFLOW_BASIC: u16 = 0x8000;
/// OXM class of experimenter fields (a 32-bit experimenter id follows the header).
pub const OFPXMC_EXPERIMENTER: u16 = 0xffff;

/// What must hold in a match (or packet) before a field may be matched or set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Prereq {
    /// Always applicable.
    None,
    /// An 802.1Q header is present (`vlan_tci` CFI bit matched as 1).
    Vlan,
    /// `eth_type` is ARP (0x0806) or RARP (0x8035).
    Arp,
    /// `eth_type` is IPv4.
    Ipv4,
    /// `eth_type` is IPv6.
    Ipv6,
    /// `eth_type` is IPv4 or IPv6.
    IpAny,
    /// IPv4/IPv6 with `ip_proto` 6.
    Tcp,
    /// IPv4/IPv6 with `ip_proto` 17.
    Udp,
    /// IPv4/IPv6 with `ip_proto` 132.
    Sctp,
    /// IPv4/IPv6 with `ip_proto` TCP, UDP or SCTP (the generic `tp_src`/`tp_dst`).
    L4,
    /// IPv4 with `ip_proto` 1.
    Icmpv4,
    /// IPv6 with `ip_proto` 58.
    Icmpv6,
    /// ICMPv6 type 135 or 136, code 0 (neighbor discovery).
    Nd,
    /// ICMPv6 type 135 (neighbor solicitation).
    NdSolicit,
    /// ICMPv6 type 136 (neighbor advertisement).
    NdAdvert,
}

/// One OpenFlow match/set field (OVS `enum mf_field_id`, the supported subset).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Field {
    /// `in_port`: OpenFlow ingress port, 16 bits (OXM carries it as 32 bits).
    InPort,
    /// `metadata`: 64-bit pipeline metadata.
    Metadata,
    /// `reg0`…`reg15`: 32-bit Nicira registers (index 0–15; larger indices wrap).
    Reg(u8),
    /// `eth_src` (`dl_src`).
    EthSrc,
    /// `eth_dst` (`dl_dst`).
    EthDst,
    /// `eth_type` (`dl_type`).
    EthType,
    /// `vlan_tci`: the whole TCI with the CFI bit as "VLAN present".
    VlanTci,
    /// `dl_vlan`: OpenFlow 1.0 12-bit VLAN id (matching it implies a VLAN header).
    DlVlan,
    /// `dl_vlan_pcp`: OpenFlow 1.0 3-bit priority (implies a VLAN header).
    DlVlanPcp,
    /// `vlan_vid`: OXM 12+1 bits, VID | 0x1000 (OFPVID_PRESENT) when tagged.
    VlanVid,
    /// `vlan_pcp`: OXM 3-bit priority, needs a VLAN.
    VlanPcp,
    /// `ip_src` (`nw_src`): IPv4 source.
    IpSrc,
    /// `ip_dst` (`nw_dst`): IPv4 destination.
    IpDst,
    /// `ipv6_src`.
    Ipv6Src,
    /// `ipv6_dst`.
    Ipv6Dst,
    /// `ipv6_label`: 20-bit flow label.
    Ipv6Label,
    /// `nw_proto` (`ip_proto`).
    IpProto,
    /// `nw_tos`: TOS byte with the ECN bits 0 (DSCP << 2).
    NwTos,
    /// `ip_dscp`: DSCP, 6 bits.
    IpDscp,
    /// `nw_ecn` (`ip_ecn`): 2 bits.
    IpEcn,
    /// `nw_ttl`.
    IpTtl,
    /// `ip_frag` (`nw_frag`): 2 bits, FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER.
    IpFrag,
    /// `arp_op` (stored in `nw_proto`, so only values 0–255 are kept).
    ArpOp,
    /// `arp_spa`.
    ArpSpa,
    /// `arp_tpa`.
    ArpTpa,
    /// `arp_sha`.
    ArpSha,
    /// `arp_tha`.
    ArpTha,
    /// `tcp_src`.
    TcpSrc,
    /// `tcp_dst`.
    TcpDst,
    /// `tcp_flags`: 12 bits.
    TcpFlags,
    /// `udp_src`.
    UdpSrc,
    /// `udp_dst`.
    UdpDst,
    /// `sctp_src`.
    SctpSrc,
    /// `sctp_dst`.
    SctpDst,
    /// `tp_src`: L4 source port of whichever of TCP/UDP/SCTP the match names.
    TpSrc,
    /// `tp_dst`: L4 destination port of whichever of TCP/UDP/SCTP the match names.
    TpDst,
    /// `icmp_type` (ICMPv4).
    IcmpType,
    /// `icmp_code` (ICMPv4).
    IcmpCode,
    /// `icmpv6_type`.
    Icmpv6Type,
    /// `icmpv6_code`.
    Icmpv6Code,
    /// `nd_target`.
    NdTarget,
    /// `nd_sll`: ND source link-layer address (solicitations).
    NdSll,
    /// `nd_tll`: ND target link-layer address (advertisements).
    NdTll,
    /// `xxreg0`…`xxreg3`: 128-bit views of `reg0`–`reg3`, `reg4`–`reg7`, …
    /// (index 0–3; larger indices wrap), `reg4n` most significant.
    Xxreg(u8),
}

/// How a field's value is written in text (OVS `enum mf_string`): what
/// `ovs-ofctl` parses and prints for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Spelling {
    /// Decimal (`tcp_dst=80`); masks in hex.
    Decimal,
    /// Hexadecimal (`reg0=0x1`).
    Hex,
    /// `xx:xx:xx:xx:xx:xx`.
    Ethernet,
    /// Dotted quad, masks as CIDR prefix or dotted quad.
    Ipv4,
    /// RFC 5952 text, masks as prefix length or address.
    Ipv6,
    /// An OpenFlow port number or name (`in_port=LOCAL`).
    OfpPort,
    /// `no|yes|first|later|not_later` (`ip_frag`).
    Frag,
    /// `+syn-ack` or `syn|ack` (`tcp_flags`).
    TcpFlags,
}

/// An NXM/OXM field code: class, field number, and the payload length in bytes
/// (without mask). `experimenter` is non-zero only for class 0xffff.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MfCode {
    /// OXM class (0x0000/0x0001 NXM, 0x8000 basic, 0xffff experimenter).
    pub class: u16,
    /// 7-bit field number.
    pub field: u8,
    /// Payload length in bytes (without mask).
    pub len: u8,
    /// Experimenter id for class 0xffff, else 0.
    pub experimenter: u32,
}

impl MfCode {
    const fn new(class: u16, field: u8, len: u8) -> MfCode {
        MfCode {
            class,
            field,
            len,
            experimenter: 0,
        }
    }

    /// The 32-bit NXM/OXM header: class(16) field(7) hasmask(1) length(8);
    /// with `masked` the length covers value and mask.
    pub fn header(&self, masked: bool) -> u32 {
        let len = if masked {
            u32::from(self.len) * 2
        } else {
            u32::from(self.len)
        };
        (u32::from(self.class) << 16)
            | (u32::from(self.field) << 9)
            | (u32::from(masked) << 8)
            | len
    }
}

/// Every field except the registers, in a stable order (registers: [`Field::Reg`] 0–15).
pub const FIELDS: &[Field] = &[
    Field::InPort,
    Field::Metadata,
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
    Field::Ipv6Src,
    Field::Ipv6Dst,
    Field::Ipv6Label,
    Field::IpProto,
    Field::NwTos,
    Field::IpDscp,
    Field::IpEcn,
    Field::IpTtl,
    Field::IpFrag,
    Field::ArpOp,
    Field::ArpSpa,
    Field::ArpTpa,
    Field::ArpSha,
    Field::ArpTha,
    Field::TcpSrc,
    Field::TcpDst,
    Field::TcpFlags,
    Field::UdpSrc,
    Field::UdpDst,
    Field::SctpSrc,
    Field::SctpDst,
    Field::TpSrc,
    Field::TpDst,
    Field::IcmpType,
    Field::IcmpCode,
    Field::Icmpv6Type,
    Field::Icmpv6Code,
    Field::NdTarget,
    Field::NdSll,
    Field::NdTll,
];

const XXREG_NAMES: [&str; 4] = ["xxreg0", "xxreg1", "xxreg2", "xxreg3"];
const XXREG_NXM: [&str; 4] = [
    "NXM_NX_XXREG0",
    "NXM_NX_XXREG1",
    "NXM_NX_XXREG2",
    "NXM_NX_XXREG3",
];

const REG_NAMES: [&str; FLOW_N_REGS] = [
    "reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6", "reg7", "reg8", "reg9", "reg10",
    "reg11", "reg12", "reg13", "reg14", "reg15",
];

/// A mask with the low `n` bits set (`n` ≥ 128 gives all ones).
#[inline]
pub fn low_bits(n: u32) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

fn be(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

fn put_be(dst: &mut [u8], v: u128) {
    let n = dst.len();
    for (i, b) in dst.iter_mut().enumerate() {
        *b = (v >> (8 * (n - 1 - i))) as u8;
    }
}

impl Field {
    /// OVS's canonical name (`eth_src`, `nw_proto`, `reg3`…), as ovs-fields(7).
    pub fn name(self) -> &'static str {
        use Field::*;
        match self {
            InPort => "in_port",
            Metadata => "metadata",
            Reg(i) => REG_NAMES[usize::from(i) % FLOW_N_REGS],
            Xxreg(i) => XXREG_NAMES[usize::from(i) % 4],
            EthSrc => "eth_src",
            EthDst => "eth_dst",
            EthType => "eth_type",
            VlanTci => "vlan_tci",
            DlVlan => "dl_vlan",
            DlVlanPcp => "dl_vlan_pcp",
            VlanVid => "vlan_vid",
            VlanPcp => "vlan_pcp",
            IpSrc => "ip_src",
            IpDst => "ip_dst",
            Ipv6Src => "ipv6_src",
            Ipv6Dst => "ipv6_dst",
            Ipv6Label => "ipv6_label",
            IpProto => "nw_proto",
            NwTos => "nw_tos",
            IpDscp => "ip_dscp",
            IpEcn => "nw_ecn",
            IpTtl => "nw_ttl",
            IpFrag => "ip_frag",
            ArpOp => "arp_op",
            ArpSpa => "arp_spa",
            ArpTpa => "arp_tpa",
            ArpSha => "arp_sha",
            ArpTha => "arp_tha",
            TcpSrc => "tcp_src",
            TcpDst => "tcp_dst",
            TcpFlags => "tcp_flags",
            UdpSrc => "udp_src",
            UdpDst => "udp_dst",
            SctpSrc => "sctp_src",
            SctpDst => "sctp_dst",
            TpSrc => "tp_src",
            TpDst => "tp_dst",
            IcmpType => "icmp_type",
            IcmpCode => "icmp_code",
            Icmpv6Type => "icmpv6_type",
            Icmpv6Code => "icmpv6_code",
            NdTarget => "nd_target",
            NdSll => "nd_sll",
            NdTll => "nd_tll",
        }
    }

    /// Other names OVS accepts for the field (`dl_src`, `nw_dst`, `ip_proto`…).
    pub fn aliases(self) -> &'static [&'static str] {
        use Field::*;
        match self {
            EthSrc => &["dl_src"],
            EthDst => &["dl_dst"],
            EthType => &["dl_type"],
            IpSrc => &["nw_src"],
            IpDst => &["nw_dst"],
            IpProto => &["ip_proto"],
            IpEcn => &["ip_ecn"],
            IpTtl => &["ip_ttl"],
            IpFrag => &["nw_frag"],
            IcmpType => &["icmpv4_type"],
            IcmpCode => &["icmpv4_code"],
            _ => &[],
        }
    }

    /// The field named `name` (canonical name, alias, `NXM_*`/`OXM_OF_*` names
    /// are not accepted here; see [`Field::from_nxm_name`]).
    pub fn from_name(name: &str) -> Option<Field> {
        if let Some(rest) = name.strip_prefix("reg") {
            if let Ok(i) = rest.parse::<u8>() {
                if usize::from(i) < FLOW_N_REGS && (rest == "0" || !rest.starts_with('0')) {
                    return Some(Field::Reg(i));
                }
            }
            return None;
        }
        if let Some(rest) = name.strip_prefix("xxreg") {
            return match rest {
                "0" | "1" | "2" | "3" => Some(Field::Xxreg(rest.as_bytes()[0] - b'0')),
                _ => None,
            };
        }
        FIELDS
            .iter()
            .copied()
            .find(|f| f.name() == name || f.aliases().contains(&name))
    }

    /// The field for an NXM/OXM symbolic name as ovs-ofctl writes them in
    /// `load:`/`move:` (`NXM_NX_REG0`, `NXM_OF_ETH_DST`, `OXM_OF_METADATA`…).
    pub fn from_nxm_name(name: &str) -> Option<Field> {
        use Field::*;
        if let Some(rest) = name.strip_prefix("NXM_NX_REG") {
            return rest
                .parse::<u8>()
                .ok()
                .filter(|&i| usize::from(i) < FLOW_N_REGS)
                .map(Reg);
        }
        if let Some(i) = XXREG_NXM.iter().position(|n| *n == name) {
            return Some(Xxreg(i as u8));
        }
        Some(match name {
            "NXM_OF_IN_PORT" | "OXM_OF_IN_PORT" => InPort,
            "OXM_OF_METADATA" => Metadata,
            "NXM_OF_ETH_SRC" | "OXM_OF_ETH_SRC" => EthSrc,
            "NXM_OF_ETH_DST" | "OXM_OF_ETH_DST" => EthDst,
            "NXM_OF_ETH_TYPE" | "OXM_OF_ETH_TYPE" => EthType,
            "NXM_OF_VLAN_TCI" => VlanTci,
            "OXM_OF_VLAN_VID" => VlanVid,
            "OXM_OF_VLAN_PCP" => VlanPcp,
            "NXM_OF_IP_TOS" => NwTos,
            "OXM_OF_IP_DSCP" => IpDscp,
            "NXM_NX_IP_ECN" | "OXM_OF_IP_ECN" => IpEcn,
            "NXM_NX_IP_TTL" => IpTtl,
            "NXM_NX_IP_FRAG" => IpFrag,
            "NXM_OF_IP_PROTO" | "OXM_OF_IP_PROTO" => IpProto,
            "NXM_OF_IP_SRC" | "OXM_OF_IPV4_SRC" => IpSrc,
            "NXM_OF_IP_DST" | "OXM_OF_IPV4_DST" => IpDst,
            "NXM_NX_IPV6_SRC" | "OXM_OF_IPV6_SRC" => Ipv6Src,
            "NXM_NX_IPV6_DST" | "OXM_OF_IPV6_DST" => Ipv6Dst,
            "NXM_NX_IPV6_LABEL" | "OXM_OF_IPV6_FLABEL" => Ipv6Label,
            "NXM_OF_TCP_SRC" | "OXM_OF_TCP_SRC" => TcpSrc,
            "NXM_OF_TCP_DST" | "OXM_OF_TCP_DST" => TcpDst,
            "NXM_NX_TCP_FLAGS" | "OXM_OF_TCP_FLAGS" => TcpFlags,
            "NXM_OF_UDP_SRC" | "OXM_OF_UDP_SRC" => UdpSrc,
            "NXM_OF_UDP_DST" | "OXM_OF_UDP_DST" => UdpDst,
            "OXM_OF_SCTP_SRC" => SctpSrc,
            "OXM_OF_SCTP_DST" => SctpDst,
            "NXM_OF_ICMP_TYPE" | "OXM_OF_ICMPV4_TYPE" => IcmpType,
            "NXM_OF_ICMP_CODE" | "OXM_OF_ICMPV4_CODE" => IcmpCode,
            "NXM_NX_ICMPV6_TYPE" | "OXM_OF_ICMPV6_TYPE" => Icmpv6Type,
            "NXM_NX_ICMPV6_CODE" | "OXM_OF_ICMPV6_CODE" => Icmpv6Code,
            "NXM_OF_ARP_OP" | "OXM_OF_ARP_OP" => ArpOp,
            "NXM_OF_ARP_SPA" | "OXM_OF_ARP_SPA" => ArpSpa,
            "NXM_OF_ARP_TPA" | "OXM_OF_ARP_TPA" => ArpTpa,
            "NXM_NX_ARP_SHA" | "OXM_OF_ARP_SHA" => ArpSha,
            "NXM_NX_ARP_THA" | "OXM_OF_ARP_THA" => ArpTha,
            "NXM_NX_ND_TARGET" | "OXM_OF_IPV6_ND_TARGET" => NdTarget,
            "NXM_NX_ND_SLL" | "OXM_OF_IPV6_ND_SLL" => NdSll,
            "NXM_NX_ND_TLL" | "OXM_OF_IPV6_ND_TLL" => NdTll,
            _ => return None,
        })
    }

    /// The name ovs-ofctl prints for the field in `load:`/`move:` actions
    /// (NXM name if the field has an NXM code, else the OXM name).
    pub fn nxm_name(self) -> &'static str {
        use Field::*;
        const REGS: [&str; FLOW_N_REGS] = [
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
        match self {
            InPort => "NXM_OF_IN_PORT",
            Metadata => "OXM_OF_METADATA",
            Reg(i) => REGS[usize::from(i) % FLOW_N_REGS],
            Xxreg(i) => XXREG_NXM[usize::from(i) % 4],
            EthSrc => "NXM_OF_ETH_SRC",
            EthDst => "NXM_OF_ETH_DST",
            EthType => "NXM_OF_ETH_TYPE",
            VlanTci | DlVlan | DlVlanPcp => "NXM_OF_VLAN_TCI",
            VlanVid => "OXM_OF_VLAN_VID",
            VlanPcp => "OXM_OF_VLAN_PCP",
            IpSrc => "NXM_OF_IP_SRC",
            IpDst => "NXM_OF_IP_DST",
            Ipv6Src => "NXM_NX_IPV6_SRC",
            Ipv6Dst => "NXM_NX_IPV6_DST",
            Ipv6Label => "NXM_NX_IPV6_LABEL",
            IpProto => "NXM_OF_IP_PROTO",
            NwTos => "NXM_OF_IP_TOS",
            IpDscp => "OXM_OF_IP_DSCP",
            IpEcn => "NXM_NX_IP_ECN",
            IpTtl => "NXM_NX_IP_TTL",
            IpFrag => "NXM_NX_IP_FRAG",
            ArpOp => "NXM_OF_ARP_OP",
            ArpSpa => "NXM_OF_ARP_SPA",
            ArpTpa => "NXM_OF_ARP_TPA",
            ArpSha => "NXM_NX_ARP_SHA",
            ArpTha => "NXM_NX_ARP_THA",
            TcpSrc | TpSrc => "NXM_OF_TCP_SRC",
            TcpDst | TpDst => "NXM_OF_TCP_DST",
            TcpFlags => "NXM_NX_TCP_FLAGS",
            UdpSrc => "NXM_OF_UDP_SRC",
            UdpDst => "NXM_OF_UDP_DST",
            SctpSrc => "OXM_OF_SCTP_SRC",
            SctpDst => "OXM_OF_SCTP_DST",
            IcmpType => "NXM_OF_ICMP_TYPE",
            IcmpCode => "NXM_OF_ICMP_CODE",
            Icmpv6Type => "NXM_NX_ICMPV6_TYPE",
            Icmpv6Code => "NXM_NX_ICMPV6_CODE",
            NdTarget => "NXM_NX_ND_TARGET",
            NdSll => "NXM_NX_ND_SLL",
            NdTll => "NXM_NX_ND_TLL",
        }
    }

    /// Width in bits of the meaningful part of the value (e.g. 6 for `ip_dscp`,
    /// 13 for `vlan_vid`, 20 for `ipv6_label`).
    pub fn n_bits(self) -> u32 {
        use Field::*;
        match self {
            InPort | EthType | VlanTci | ArpOp | TcpSrc | TcpDst | UdpSrc | UdpDst | SctpSrc
            | SctpDst | TpSrc | TpDst => 16,
            Metadata => 64,
            Reg(_) | IpSrc | IpDst | ArpSpa | ArpTpa => 32,
            EthSrc | EthDst | ArpSha | ArpTha | NdSll | NdTll => 48,
            DlVlan | TcpFlags => 12,
            VlanVid => 13,
            DlVlanPcp | VlanPcp => 3,
            Ipv6Src | Ipv6Dst | NdTarget | Xxreg(_) => 128,
            Ipv6Label => 20,
            IpProto | NwTos | IpTtl | IcmpType | IcmpCode | Icmpv6Type | Icmpv6Code => 8,
            IpDscp => 6,
            IpEcn | IpFrag => 2,
        }
    }

    /// Width in bytes of the value on the wire (NXM/OXM payload without mask;
    /// `in_port` is 2 here and 4 in OXM).
    pub fn n_bytes(self) -> usize {
        use Field::*;
        match self {
            InPort | EthType | VlanTci | DlVlan | VlanVid | ArpOp | TcpSrc | TcpDst | UdpSrc
            | UdpDst | SctpSrc | SctpDst | TpSrc | TpDst | TcpFlags => 2,
            Metadata => 8,
            Reg(_) | IpSrc | IpDst | ArpSpa | ArpTpa | Ipv6Label => 4,
            EthSrc | EthDst | ArpSha | ArpTha | NdSll | NdTll => 6,
            Ipv6Src | Ipv6Dst | NdTarget | Xxreg(_) => 16,
            DlVlanPcp | VlanPcp | IpProto | NwTos | IpDscp | IpEcn | IpTtl | IpFrag | IcmpType
            | IcmpCode | Icmpv6Type | Icmpv6Code => 1,
        }
    }

    /// Whether arbitrary bitwise masks are allowed (ovs-fields(7) "Masking").
    pub fn maskable(self) -> bool {
        use Field::*;
        !matches!(
            self,
            InPort
                | EthType
                | DlVlan
                | DlVlanPcp
                | VlanPcp
                | IpProto
                | NwTos
                | IpDscp
                | IpEcn
                | IpTtl
                | ArpOp
                | IcmpType
                | IcmpCode
                | Icmpv6Type
                | Icmpv6Code
        )
    }

    /// Whether actions may write the field (`eth_type`, `nw_proto`, `ip_frag`,
    /// `tcp_flags` are read-only, ovs-fields(7) "Access").
    pub fn writable(self) -> bool {
        !matches!(
            self,
            Field::EthType | Field::IpProto | Field::IpFrag | Field::TcpFlags
        )
    }

    /// How the field's value is written in `ovs-ofctl` text (ovs-fields(7)
    /// "Formatting"): e.g. `eth_type` hex, `tcp_dst` decimal, `ip_src` dotted quad.
    pub fn spelling(self) -> Spelling {
        use Field::*;
        match self {
            InPort => Spelling::OfpPort,
            EthSrc | EthDst | ArpSha | ArpTha | NdSll | NdTll => Spelling::Ethernet,
            IpSrc | IpDst | ArpSpa | ArpTpa => Spelling::Ipv4,
            Ipv6Src | Ipv6Dst | NdTarget => Spelling::Ipv6,
            Metadata | Reg(_) | Xxreg(_) | EthType | VlanTci | Ipv6Label => Spelling::Hex,
            IpFrag => Spelling::Frag,
            TcpFlags => Spelling::TcpFlags,
            DlVlan | DlVlanPcp | VlanVid | VlanPcp | IpProto | NwTos | IpDscp | IpEcn | IpTtl
            | ArpOp | TcpSrc | TcpDst | UdpSrc | UdpDst | SctpSrc | SctpDst | TpSrc | TpDst
            | IcmpType | IcmpCode | Icmpv6Type | Icmpv6Code => Spelling::Decimal,
        }
    }

    /// The field's prerequisite.
    pub fn prereq(self) -> Prereq {
        use Field::*;
        match self {
            InPort | Metadata | Reg(_) | Xxreg(_) | EthSrc | EthDst | EthType | VlanTci
            | DlVlan | DlVlanPcp | VlanVid => Prereq::None,
            VlanPcp => Prereq::Vlan,
            IpSrc | IpDst => Prereq::Ipv4,
            Ipv6Src | Ipv6Dst | Ipv6Label => Prereq::Ipv6,
            IpProto | NwTos | IpDscp | IpEcn | IpTtl | IpFrag => Prereq::IpAny,
            ArpOp | ArpSpa | ArpTpa | ArpSha | ArpTha => Prereq::Arp,
            TcpSrc | TcpDst | TcpFlags => Prereq::Tcp,
            UdpSrc | UdpDst => Prereq::Udp,
            SctpSrc | SctpDst => Prereq::Sctp,
            TpSrc | TpDst => Prereq::L4,
            IcmpType | IcmpCode => Prereq::Icmpv4,
            Icmpv6Type | Icmpv6Code => Prereq::Icmpv6,
            NdTarget => Prereq::Nd,
            NdSll => Prereq::NdSolicit,
            NdTll => Prereq::NdAdvert,
        }
    }

    /// The NXM code (class 0/1, or the OXM basic code for fields NXM never had,
    /// as OVS also accepts OXM classes inside NXM matches). `None` for
    /// fields with no wire code (`dl_vlan`, `dl_vlan_pcp`, `tp_src`, `tp_dst`).
    pub fn nxm_code(self) -> Option<MfCode> {
        use Field::*;
        let n0 = |f: u8| Some(MfCode::new(OFPXMC_NXM_0, f, self.n_bytes() as u8));
        let n1 = |f: u8| Some(MfCode::new(OFPXMC_NXM_1, f, self.n_bytes() as u8));
        match self {
            InPort => n0(0),
            EthDst => n0(1),
            EthSrc => n0(2),
            EthType => n0(3),
            VlanTci => n0(4),
            NwTos => n0(5),
            IpProto => n0(6),
            IpSrc => n0(7),
            IpDst => n0(8),
            TcpSrc => n0(9),
            TcpDst => n0(10),
            UdpSrc => n0(11),
            UdpDst => n0(12),
            IcmpType => n0(13),
            IcmpCode => n0(14),
            ArpOp => n0(15),
            ArpSpa => n0(16),
            ArpTpa => n0(17),
            Reg(i) => n1(i % FLOW_N_REGS as u8),
            Xxreg(i) => n1(111 + i % 4),
            ArpSha => n1(17),
            ArpTha => n1(18),
            Ipv6Src => n1(19),
            Ipv6Dst => n1(20),
            Icmpv6Type => n1(21),
            Icmpv6Code => n1(22),
            NdTarget => n1(23),
            NdSll => n1(24),
            NdTll => n1(25),
            IpFrag => n1(26),
            Ipv6Label => n1(27),
            IpEcn => n1(28),
            IpTtl => n1(29),
            TcpFlags => n1(34),
            Metadata | VlanVid | VlanPcp | IpDscp | SctpSrc | SctpDst => self.oxm_basic_code(),
            DlVlan | DlVlanPcp | TpSrc | TpDst => None,
        }
    }

    fn oxm_basic_code(self) -> Option<MfCode> {
        use Field::*;
        let b = |f: u8, len: u8| Some(MfCode::new(OFPXMC_OPENFLOW_BASIC, f, len));
        let n = self.n_bytes() as u8;
        match self {
            InPort => b(0, 4),
            Metadata => b(2, n),
            EthDst => b(3, n),
            EthSrc => b(4, n),
            EthType => b(5, n),
            VlanVid => b(6, n),
            VlanPcp => b(7, n),
            IpDscp => b(8, n),
            IpEcn => b(9, n),
            IpProto => b(10, n),
            IpSrc => b(11, n),
            IpDst => b(12, n),
            TcpSrc => b(13, n),
            TcpDst => b(14, n),
            UdpSrc => b(15, n),
            UdpDst => b(16, n),
            SctpSrc => b(17, n),
            SctpDst => b(18, n),
            IcmpType => b(19, n),
            IcmpCode => b(20, n),
            ArpOp => b(21, n),
            ArpSpa => b(22, n),
            ArpTpa => b(23, n),
            ArpSha => b(24, n),
            ArpTha => b(25, n),
            Ipv6Src => b(26, n),
            Ipv6Dst => b(27, n),
            Ipv6Label => b(28, n),
            Icmpv6Type => b(29, n),
            Icmpv6Code => b(30, n),
            NdTarget => b(31, n),
            NdSll => b(32, n),
            NdTll => b(33, n),
            _ => None,
        }
    }

    /// The code OpenFlow `version` (3 = 1.2 … 6 = 1.5) uses for the field in an
    /// OXM match or set-field: the basic class where one exists, `tcp_flags`
    /// as ONF experimenter 42 before 1.5, otherwise the NXM code (registers,
    /// `nw_tos`, `nw_ttl`, `ip_frag`, `vlan_tci`), as OVS does.
    pub fn oxm_code(self, version: u8) -> Option<MfCode> {
        if self == Field::TcpFlags {
            return Some(if version >= 6 {
                MfCode::new(OFPXMC_OPENFLOW_BASIC, 42, 2)
            } else {
                MfCode {
                    class: OFPXMC_EXPERIMENTER,
                    field: 42,
                    len: 2,
                    experimenter: crate::error::ONF_VENDOR_ID,
                }
            });
        }
        self.oxm_basic_code().or_else(|| self.nxm_code())
    }

    /// The field with wire code (`class`, `field`, `experimenter`), accepting
    /// NXM, OXM basic and the ONF `tcp_flags` code in any version (as OVS).
    pub fn from_code(class: u16, field: u8, experimenter: u32) -> Option<Field> {
        use Field::*;
        match class {
            OFPXMC_EXPERIMENTER => {
                (experimenter == crate::error::ONF_VENDOR_ID && field == 42).then_some(TcpFlags)
            }
            OFPXMC_OPENFLOW_BASIC if field == 42 => Some(TcpFlags),
            OFPXMC_NXM_1 if usize::from(field) < FLOW_N_REGS => Some(Reg(field)),
            OFPXMC_NXM_1 if (111..115).contains(&field) => Some(Xxreg(field - 111)),
            _ => FIELDS.iter().copied().find(|f| {
                let same =
                    |c: Option<MfCode>| c.is_some_and(|c| c.class == class && c.field == field);
                same(f.nxm_code()) || same(f.oxm_basic_code())
            }),
        }
    }

    /// The field's value in `flow`, as its big-endian bytes read as a number.
    pub fn get(self, flow: &Flow) -> u128 {
        use Field::*;
        let k = &flow.key;
        match self {
            InPort => u128::from(k.in_port as u16),
            Metadata => u128::from(flow.metadata),
            Reg(i) => u128::from(flow.regs[usize::from(i) % FLOW_N_REGS]),
            Xxreg(i) => {
                let b = usize::from(i % 4) * 4;
                flow.regs[b..b + 4]
                    .iter()
                    .fold(0u128, |acc, &r| (acc << 32) | u128::from(r))
            }
            EthSrc => be(&k.dl_src),
            EthDst => be(&k.dl_dst),
            EthType => u128::from(k.dl_type),
            VlanTci => u128::from(k.vlan_tci),
            DlVlan => u128::from(k.vlan_tci & 0x0fff),
            VlanVid => u128::from(k.vlan_tci & 0x1fff),
            DlVlanPcp | VlanPcp => u128::from(k.vlan_tci >> 13),
            IpSrc | ArpSpa => be(&k.nw_src),
            IpDst | ArpTpa => be(&k.nw_dst),
            Ipv6Src => be(&k.ipv6_src),
            Ipv6Dst => be(&k.ipv6_dst),
            Ipv6Label => u128::from(k.ipv6_label & 0xf_ffff),
            IpProto | ArpOp => u128::from(k.nw_proto),
            NwTos => u128::from(k.nw_tos & 0xfc),
            IpDscp => u128::from(k.nw_tos >> 2),
            IpEcn => u128::from(k.nw_tos & 3),
            IpTtl => u128::from(k.nw_ttl),
            IpFrag => u128::from(k.nw_frag & 3),
            TcpSrc | UdpSrc | SctpSrc | TpSrc => u128::from(k.tp_src),
            TcpDst | UdpDst | SctpDst | TpDst => u128::from(k.tp_dst),
            TcpFlags => u128::from(k.tcp_flags & 0x0fff),
            IcmpType | Icmpv6Type => u128::from(k.tp_src & 0xff),
            IcmpCode | Icmpv6Code => u128::from(k.tp_dst & 0xff),
            ArpSha | NdSll => be(&k.arp_sha),
            ArpTha | NdTll => be(&k.arp_tha),
            NdTarget => be(&k.nd_target),
        }
    }

    /// Stores `v` (truncated to [`Field::n_bits`]) as the field's value in
    /// `flow`, leaving bits of shared storage that belong to other fields.
    pub fn set(self, flow: &mut Flow, v: u128) {
        use Field::*;
        let v = v & low_bits(self.n_bits());
        let k = &mut flow.key;
        let rmw16 = |x: &mut u16, mask: u16, bits: u16| *x = (*x & !mask) | (bits & mask);
        let rmw8 = |x: &mut u8, mask: u8, bits: u8| *x = (*x & !mask) | (bits & mask);
        match self {
            InPort => k.in_port = v as u32,
            Metadata => flow.metadata = v as u64,
            Reg(i) => flow.regs[usize::from(i) % FLOW_N_REGS] = v as u32,
            Xxreg(i) => {
                let b = usize::from(i % 4) * 4;
                for (j, r) in flow.regs[b..b + 4].iter_mut().enumerate() {
                    *r = (v >> (96 - 32 * j)) as u32;
                }
            }
            EthSrc => put_be(&mut k.dl_src, v),
            EthDst => put_be(&mut k.dl_dst, v),
            EthType => k.dl_type = v as u16,
            VlanTci => k.vlan_tci = v as u16,
            DlVlan => rmw16(&mut k.vlan_tci, 0x0fff, v as u16),
            VlanVid => rmw16(&mut k.vlan_tci, 0x1fff, v as u16),
            DlVlanPcp | VlanPcp => rmw16(&mut k.vlan_tci, 0xe000, (v as u16) << 13),
            IpSrc | ArpSpa => put_be(&mut k.nw_src, v),
            IpDst | ArpTpa => put_be(&mut k.nw_dst, v),
            Ipv6Src => put_be(&mut k.ipv6_src, v),
            Ipv6Dst => put_be(&mut k.ipv6_dst, v),
            Ipv6Label => k.ipv6_label = v as u32,
            IpProto | ArpOp => k.nw_proto = v as u8,
            NwTos => rmw8(&mut k.nw_tos, 0xfc, v as u8),
            IpDscp => rmw8(&mut k.nw_tos, 0xfc, (v as u8) << 2),
            IpEcn => rmw8(&mut k.nw_tos, 0x03, v as u8),
            IpTtl => k.nw_ttl = v as u8,
            IpFrag => k.nw_frag = v as u8,
            TcpSrc | UdpSrc | SctpSrc | TpSrc => k.tp_src = v as u16,
            TcpDst | UdpDst | SctpDst | TpDst => k.tp_dst = v as u16,
            TcpFlags => k.tcp_flags = v as u16,
            IcmpType | Icmpv6Type => k.tp_src = v as u16,
            IcmpCode | Icmpv6Code => k.tp_dst = v as u16,
            ArpSha | NdSll => put_be(&mut k.arp_sha, v),
            ArpTha | NdTll => put_be(&mut k.arp_tha, v),
            NdTarget => put_be(&mut k.nd_target, v),
        }
    }

    /// Whether `v` fits the field (no bits above [`Field::n_bits`]); a wire
    /// value that does not is `OFPBMC_BAD_VALUE` (or `OFPBAC_BAD_SET_ARGUMENT`).
    pub fn value_fits(self, v: u128) -> bool {
        v & !low_bits(self.n_bits()) == 0
    }

    /// `v` as the field's [`Field::n_bytes`] big-endian bytes.
    pub fn to_be_bytes(self, v: u128) -> MfBytes {
        MfBytes::new(v, self.n_bytes())
    }
}

/// A field value as big-endian bytes (at most 16), e.g. for the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MfBytes {
    buf: [u8; 16],
    len: u8,
}

impl MfBytes {
    /// The low `len` bytes (≤ 16) of `v`, big-endian.
    pub fn new(v: u128, len: usize) -> MfBytes {
        let len = len.min(16);
        let mut buf = [0u8; 16];
        put_be(&mut buf[..len], v);
        MfBytes {
            buf,
            len: len as u8,
        }
    }
}

impl AsRef<[u8]> for MfBytes {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

/// Reads big-endian bytes (at most 16 are used, the last ones) as a number.
pub fn value_from_be(bytes: &[u8]) -> u128 {
    let start = bytes.len().saturating_sub(16);
    be(&bytes[start..])
}

/// A bit range of a field, as `NXM_NX_REG0[0..15]` / `reg0[0..15]`
/// (OVS `struct mf_subfield`): bits `ofs .. ofs + n_bits` counting from the
/// least-significant bit of the field's value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Subfield {
    /// The field.
    pub field: Field,
    /// Offset of the lowest bit.
    pub ofs: u16,
    /// Number of bits (1…field width).
    pub n_bits: u16,
}

impl Subfield {
    /// Bits `ofs .. ofs+n_bits` of `field`.
    ///
    /// Errors: `OFPBAC_BAD_SET_LEN` if `n_bits` is 0 or the range passes the
    /// end of the field (OVS `mf_check_src`/`mf_check_dst`).
    pub fn new(field: Field, ofs: u16, n_bits: u16) -> Result<Subfield, OfpError> {
        if n_bits == 0 || u32::from(ofs) + u32::from(n_bits) > field.n_bits() {
            return Err(OfpError::BAD_ACTION_BAD_SET_LEN);
        }
        Ok(Subfield { field, ofs, n_bits })
    }

    /// The whole field.
    pub fn whole(field: Field) -> Subfield {
        Subfield {
            field,
            ofs: 0,
            n_bits: field.n_bits() as u16,
        }
    }

    /// Whether the subfield covers the whole field.
    pub fn is_whole(&self) -> bool {
        self.ofs == 0 && u32::from(self.n_bits) == self.field.n_bits()
    }

    /// NXM `ofs_nbits` encoding: `ofs << 6 | (n_bits - 1)`.
    pub fn ofs_nbits(&self) -> u16 {
        (self.ofs << 6) | (self.n_bits.saturating_sub(1) & 0x3f)
    }

    /// The subfield's bits from `flow`, shifted down to bit 0.
    pub fn get(&self, flow: &Flow) -> u128 {
        (self.field.get(flow) >> self.ofs.min(127)) & low_bits(u32::from(self.n_bits))
    }

    /// Stores the low `n_bits` of `v` into the subfield of `flow`.
    pub fn set(&self, flow: &mut Flow, v: u128) {
        let m = low_bits(u32::from(self.n_bits)) << self.ofs.min(127);
        let old = self.field.get(flow);
        self.field
            .set(flow, (old & !m) | ((v << self.ofs.min(127)) & m));
    }

    /// The field's bit mask covered by the subfield (as a field value).
    pub fn mask(&self) -> u128 {
        low_bits(u32::from(self.n_bits)) << self.ofs.min(127)
    }
}

/// Helper for callers: `vlan_tci` CFI ("VLAN present") bit.
pub const VLAN_PRESENT: u16 = VLAN_CFI;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(Field::from_name("dl_src"), Some(Field::EthSrc));
        assert_eq!(Field::from_name("nw_dst"), Some(Field::IpDst));
        assert_eq!(Field::from_name("tp_dst"), Some(Field::TpDst));
        assert_eq!(Field::from_name("reg15"), Some(Field::Reg(15)));
        assert_eq!(Field::from_name("reg16"), None);
        assert_eq!(Field::from_name("reg01"), None);
        assert_eq!(Field::from_nxm_name("NXM_NX_REG3"), Some(Field::Reg(3)));
        for &f in FIELDS {
            assert_eq!(Field::from_name(f.name()), Some(f), "{f:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for f in FIELDS.iter().copied().chain((0..16).map(Field::Reg)) {
            for code in [f.nxm_code(), f.oxm_code(4), f.oxm_code(6)]
                .into_iter()
                .flatten()
            {
                let g = Field::from_code(code.class, code.field, code.experimenter).unwrap();
                // Fields sharing a code (e.g. vlan_tci's NXM code) decode to the primary one.
                assert!(g.nxm_code().or(g.oxm_code(4)).is_some());
                assert!(
                    g.n_bytes() == usize::from(code.len) || g == Field::InPort,
                    "{f:?}"
                );
            }
        }
        assert_eq!(Field::IpDst.oxm_code(4).unwrap().header(false), 0x8000_1804);
        assert_eq!(
            Field::TcpDst.oxm_code(4).unwrap().header(false),
            0x8000_1c02
        );
        assert_eq!(
            Field::EthType.nxm_code().unwrap().header(false),
            0x0000_0602
        );
        assert_eq!(
            Field::InPort.oxm_code(4).unwrap().header(false),
            0x8000_0004
        );
        assert_eq!(Field::Reg(0).nxm_code().unwrap().header(true), 0x0001_0108);
    }

    #[test]
    fn shared_storage_set_keeps_other_bits() {
        let mut f = Flow::default();
        Field::IpEcn.set(&mut f, 3);
        Field::IpDscp.set(&mut f, 0x2e);
        assert_eq!(f.key.nw_tos, 0xbb);
        assert_eq!(Field::NwTos.get(&f), 0xb8);
        Field::VlanVid.set(&mut f, 0x1005);
        Field::VlanPcp.set(&mut f, 5);
        assert_eq!(f.key.vlan_tci, 0xb005);
        Field::IpSrc.set(&mut f, 0x0a00_0001);
        assert_eq!(f.key.nw_src, [10, 0, 0, 1]);
        Field::EthDst.set(&mut f, 0x0102_0304_0506);
        assert_eq!(f.key.dl_dst, [1, 2, 3, 4, 5, 6]);
        assert_eq!(Field::EthDst.get(&f), 0x0102_0304_0506);
    }

    #[test]
    fn subfields() {
        let mut f = Flow::default();
        let sf = Subfield::new(Field::Reg(0), 4, 8).unwrap();
        sf.set(&mut f, 0x1ab);
        assert_eq!(f.regs[0], 0xab0);
        assert_eq!(sf.get(&f), 0xab);
        assert_eq!(sf.ofs_nbits(), (4 << 6) | 7);
        assert!(Subfield::new(Field::Reg(0), 30, 3).is_err());
        assert!(Subfield::new(Field::Reg(0), 0, 0).is_err());
        assert!(Subfield::whole(Field::Ipv6Src).is_whole());
    }
}
