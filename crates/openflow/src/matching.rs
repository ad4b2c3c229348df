//! A rule's match: a [`Flow`] value and a [`Flow`] mask.
//!
//! Idea: as OVS's `struct match` = `struct flow` + `struct flow_wildcards`.
//! A mask bit 1 means "this bit of the packet must equal the value's bit".
//! Invariant: `flow & mask == flow` (every setter keeps it, so two matches
//! compare equal exactly when they match the same packets, given the
//! same prerequisites). Fields are set through [`Field`] (`set`,
//! `set_masked`), which handles fields sharing storage.

use crate::error::OfpError;
use crate::flow::Flow;
use crate::mf::{low_bits, Field, Prereq, VLAN_PRESENT};

/// Ethernet types and IP protocols used by the prerequisite checks.
pub mod consts {
    /// IPv4 ethertype.
    pub const ETH_TYPE_IP: u16 = 0x0800;
    /// ARP ethertype.
    pub const ETH_TYPE_ARP: u16 = 0x0806;
    /// RARP ethertype.
    pub const ETH_TYPE_RARP: u16 = 0x8035;
    /// IPv6 ethertype.
    pub const ETH_TYPE_IPV6: u16 = 0x86dd;
    /// 802.1Q TPID.
    pub const ETH_TYPE_VLAN: u16 = 0x8100;
    /// ICMP.
    pub const IPPROTO_ICMP: u8 = 1;
    /// TCP.
    pub const IPPROTO_TCP: u8 = 6;
    /// UDP.
    pub const IPPROTO_UDP: u8 = 17;
    /// ICMPv6.
    pub const IPPROTO_ICMPV6: u8 = 58;
    /// SCTP.
    pub const IPPROTO_SCTP: u8 = 132;
}
use consts::*;

/// A flow match: packet bits selected by `mask` must equal `flow`'s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Match {
    /// Values (already masked: `flow & mask == flow`).
    pub flow: Flow,
    /// Significant bits.
    pub mask: Flow,
}

impl Match {
    /// The match that matches every packet.
    pub fn catchall() -> Match {
        Match::default()
    }

    /// A match from a value and a mask (the value is masked to keep the invariant).
    pub fn new(flow: &Flow, mask: &Flow) -> Match {
        Match {
            flow: flow.masked(mask),
            mask: *mask,
        }
    }

    /// Whether every packet matches (mask all zero).
    pub fn is_catchall(&self) -> bool {
        self.mask.is_zero()
    }

    /// Matches `field` exactly against `value`.
    pub fn set(&mut self, field: Field, value: u128) {
        self.set_masked(field, value, low_bits(field.n_bits()));
    }

    /// Matches the bits of `field` set in `mask` against `value`; a zero mask
    /// wildcards the field. `dl_vlan`, `dl_vlan_pcp` and `vlan_pcp` also
    /// require a VLAN header (CFI bit), as OVS's `match_set_dl_vlan`.
    pub fn set_masked(&mut self, field: Field, value: u128, mask: u128) {
        let mask = mask & low_bits(field.n_bits());
        field.set(&mut self.flow, value & mask);
        field.set(&mut self.mask, mask);
        if mask != 0 && matches!(field, Field::DlVlan | Field::DlVlanPcp | Field::VlanPcp) {
            self.flow.key.vlan_tci |= VLAN_PRESENT;
            self.mask.key.vlan_tci |= VLAN_PRESENT;
        }
    }

    /// Stops matching on `field` (wildcards its bits).
    pub fn clear(&mut self, field: Field) {
        field.set(&mut self.flow, 0);
        field.set(&mut self.mask, 0);
    }

    /// The field's (value, mask).
    pub fn get(&self, field: Field) -> (u128, u128) {
        (field.get(&self.flow), field.get(&self.mask))
    }

    /// Whether any bit of `field` is matched.
    pub fn is_set(&self, field: Field) -> bool {
        field.get(&self.mask) != 0
    }

    /// Whether all bits of `field` are matched.
    pub fn is_exact(&self, field: Field) -> bool {
        field.get(&self.mask) == low_bits(field.n_bits())
    }

    /// The exact value of `field` if it is matched exactly.
    pub fn exact(&self, field: Field) -> Option<u128> {
        self.is_exact(field).then(|| field.get(&self.flow))
    }

    fn eth_type(&self) -> Option<u16> {
        (self.mask.key.dl_type == 0xffff).then_some(self.flow.key.dl_type)
    }

    fn ip_proto(&self) -> Option<u8> {
        (self.mask.key.nw_proto == 0xff).then_some(self.flow.key.nw_proto)
    }

    fn is_ip_any(&self) -> bool {
        matches!(self.eth_type(), Some(ETH_TYPE_IP | ETH_TYPE_IPV6))
    }

    /// Whether the match satisfies prerequisite `p` (the fields it depends on
    /// are matched exactly with the right values), OVS's `mf_are_match_prereqs_fulfilled`.
    pub fn prereq_ok(&self, p: Prereq) -> bool {
        let proto = |want: u8| self.is_ip_any() && self.ip_proto() == Some(want);
        let icmpv6 =
            self.eth_type() == Some(ETH_TYPE_IPV6) && self.ip_proto() == Some(IPPROTO_ICMPV6);
        let icmp_type =
            ((self.mask.key.tp_src & 0xff) == 0xff).then_some(self.flow.key.tp_src & 0xff);
        let code0 = self.flow.key.tp_dst == 0;
        match p {
            Prereq::None => true,
            Prereq::Vlan => {
                self.mask.key.vlan_tci & VLAN_PRESENT != 0
                    && self.flow.key.vlan_tci & VLAN_PRESENT != 0
            }
            Prereq::Arp => matches!(self.eth_type(), Some(ETH_TYPE_ARP | ETH_TYPE_RARP)),
            Prereq::Ipv4 => self.eth_type() == Some(ETH_TYPE_IP),
            Prereq::Ipv6 => self.eth_type() == Some(ETH_TYPE_IPV6),
            Prereq::IpAny => self.is_ip_any(),
            Prereq::Tcp => proto(IPPROTO_TCP),
            Prereq::Udp => proto(IPPROTO_UDP),
            Prereq::Sctp => proto(IPPROTO_SCTP),
            Prereq::L4 => proto(IPPROTO_TCP) || proto(IPPROTO_UDP) || proto(IPPROTO_SCTP),
            Prereq::Icmpv4 => {
                self.eth_type() == Some(ETH_TYPE_IP) && self.ip_proto() == Some(IPPROTO_ICMP)
            }
            Prereq::Icmpv6 => icmpv6,
            Prereq::Nd => icmpv6 && matches!(icmp_type, Some(135 | 136)) && code0,
            Prereq::NdSolicit => icmpv6 && icmp_type == Some(135) && code0,
            Prereq::NdAdvert => icmpv6 && icmp_type == Some(136) && code0,
        }
    }

    /// Whether `field`'s prerequisite holds in this match.
    pub fn prereqs_ok(&self, field: Field) -> bool {
        self.prereq_ok(field.prereq())
    }

    /// Checks that every matched bit has its prerequisites, looking at the
    /// flow's storage (so it works however the match was built): e.g.
    /// `tp_dst` needs IPv4/IPv6 and TCP, UDP, SCTP or ICMP; `nw_src` needs
    /// IPv4 or ARP.
    ///
    /// Errors: `OFPBMC_BAD_PREREQ` (OpenFlow 1.3.5 §7.2.3.6).
    pub fn check_prereqs(&self) -> Result<(), OfpError> {
        let m = &self.mask.key;
        let arp = self.prereq_ok(Prereq::Arp);
        let ipv4 = self.prereq_ok(Prereq::Ipv4);
        let ipv6 = self.prereq_ok(Prereq::Ipv6);
        let ip = ipv4 || ipv6;
        let nd = self.prereq_ok(Prereq::Nd);
        let ok = |cond: bool| {
            if cond {
                Ok(())
            } else {
                Err(OfpError::BAD_MATCH_BAD_PREREQ)
            }
        };
        if m.nw_src != [0; 4] || m.nw_dst != [0; 4] {
            ok(ipv4 || arp)?;
        }
        if m.nw_proto != 0 {
            ok(ip || arp)?;
        }
        if m.ipv6_src != [0; 16] || m.ipv6_dst != [0; 16] || m.ipv6_label != 0 {
            ok(ipv6)?;
        }
        if m.nw_tos != 0 || m.nw_ttl != 0 || m.nw_frag != 0 {
            ok(ip)?;
        }
        if m.tp_src != 0 || m.tp_dst != 0 {
            ok(self.prereq_ok(Prereq::L4)
                || self.prereq_ok(Prereq::Icmpv4)
                || self.prereq_ok(Prereq::Icmpv6))?;
        }
        if m.tcp_flags != 0 {
            ok(self.prereq_ok(Prereq::Tcp))?;
        }
        if m.arp_sha != [0; 6] || m.arp_tha != [0; 6] {
            ok(arp || nd)?;
        }
        if m.nd_target != [0; 16] {
            ok(nd)?;
        }
        Ok(())
    }

    /// Drops every matched field whose prerequisites do not hold, as OVS's
    /// `ofputil_normalize_match` does for OpenFlow 1.0 matches (which carry
    /// all fields whether applicable or not). Returns whether anything changed.
    pub fn normalize(&mut self) -> bool {
        let before = *self;
        let arp = self.prereq_ok(Prereq::Arp);
        let ipv4 = self.prereq_ok(Prereq::Ipv4);
        let ipv6 = self.prereq_ok(Prereq::Ipv6);
        let l4 = self.prereq_ok(Prereq::L4)
            || self.prereq_ok(Prereq::Icmpv4)
            || self.prereq_ok(Prereq::Icmpv6);
        let tcp = self.prereq_ok(Prereq::Tcp);
        let nd = self.prereq_ok(Prereq::Nd);
        if !(ipv4 || arp) {
            self.clear(Field::IpSrc);
            self.clear(Field::IpDst);
        }
        if !(ipv4 || ipv6 || arp) {
            self.clear(Field::IpProto);
        }
        if !ipv6 {
            self.clear(Field::Ipv6Src);
            self.clear(Field::Ipv6Dst);
            self.clear(Field::Ipv6Label);
        }
        if !(ipv4 || ipv6) {
            self.clear(Field::NwTos);
            self.clear(Field::IpEcn);
            self.clear(Field::IpTtl);
            self.clear(Field::IpFrag);
        }
        if !l4 {
            self.clear(Field::TpSrc);
            self.clear(Field::TpDst);
        }
        if !tcp {
            self.clear(Field::TcpFlags);
        }
        if !(arp || nd) {
            self.clear(Field::ArpSha);
            self.clear(Field::ArpTha);
        }
        if !nd {
            self.clear(Field::NdTarget);
        }
        *self != before
    }

    /// Whether a packet with flow `flow` matches.
    #[inline]
    pub fn matches(&self, flow: &Flow) -> bool {
        flow.equal_under(&self.flow, &self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp80() -> Match {
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0800);
        m.set(Field::IpProto, 6);
        m.set(Field::TcpDst, 80);
        m
    }

    #[test]
    fn prereqs() {
        assert!(tcp80().check_prereqs().is_ok());
        let mut m = Match::catchall();
        m.set(Field::TpDst, 80);
        assert_eq!(m.check_prereqs(), Err(OfpError::BAD_MATCH_BAD_PREREQ));
        assert!(!m.prereqs_ok(Field::TpDst));
        let mut m = Match::catchall();
        m.set(Field::EthType, 0x0806);
        m.set_masked(Field::ArpSpa, 0x0a00_0000, 0xff00_0000);
        assert!(m.check_prereqs().is_ok());
        assert!(tcp80().prereqs_ok(Field::TcpFlags));
        assert!(!tcp80().prereqs_ok(Field::UdpDst));
        assert!(tcp80().prereqs_ok(Field::TpDst));
    }

    #[test]
    fn invariant_and_normalize() {
        let mut m = Match::catchall();
        m.set_masked(Field::IpSrc, 0x0a00_00ff, 0xffff_ff00);
        assert_eq!(m.flow.key.nw_src, [10, 0, 0, 0]);
        assert!(m.normalize());
        assert!(m.is_catchall());
        let mut m = Match::catchall();
        m.set(Field::DlVlan, 5);
        assert_eq!(m.flow.key.vlan_tci, 0x1005);
        assert_eq!(m.mask.key.vlan_tci, 0x1fff);
        let mut f = Flow::default();
        f.key.vlan_tci = 0x3005;
        assert!(m.matches(&f));
        f.key.vlan_tci = 0x0005;
        assert!(!m.matches(&f));
    }
}
