//! The interface between the fast path and the slow path, and the datapath
//! actions ([`DpAction`]) that the slow path compiles for the fast path.
//!
//! On a cache miss the forwarding thread calls [`UpcallHandler::upcall`]
//! synchronously (as dpif-netdev does from its PMD threads). The handler
//! returns the datapath actions for the packet and the mask of every key field
//! it consulted; the datapath installs `(key & mask, mask) -> actions` as a
//! megaflow, so every later packet that agrees on those fields takes the fast
//! path. When slow-path state changes (MAC learning, port or rule changes) the
//! handler bumps [`UpcallHandler::generation`]; forwarding threads notice it
//! at the next batch and revalidate every megaflow through
//! [`UpcallHandler::revalidate`], which also carries the flow's hit counts
//! since the previous call ([`FlowStats`]) so the slow path can credit its
//! rules; [`UpcallHandler::flow_deleted`] delivers the last counts of a
//! megaflow that goes away. Both hand back the [`XlateCache`] the handler
//! returned with the megaflow's translation (OVS's per-datapath-flow
//! `xlate_cache`), so counts are credited to the rules that translation hit,
//! even after the rules changed. A [`DpAction::Userspace`] action hands the packet
//! to [`UpcallHandler::packet_in`] (OpenFlow `controller`).
//!
//! The action set follows Open vSwitch's `enum ovs_action_attr`
//! (include/linux/openvswitch.h): `output`, `push_vlan`, `pop_vlan`,
//! `set`/`set_masked` of the Ethernet, IPv4, IPv6, TCP, UDP and SCTP keys
//! (`struct ovs_key_*`), and `userspace`. Text forms are those of
//! `format_odp_action` in OVS's lib/odp-util.c ([`format_actions`]).

use std::any::Any;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use packet::ip::Ipv6Text;
use packet::{EthernetAddress, FlowKey};

/// The writable Ethernet fields (`struct ovs_key_ethernet`). Used as both
/// value and mask of [`DpAction::SetEthMasked`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EthKey {
    /// Ethernet source address.
    pub src: [u8; 6],
    /// Ethernet destination address.
    pub dst: [u8; 6],
}

/// The writable IPv4 fields (`struct ovs_key_ipv4` without `proto`/`frag`,
/// which a datapath cannot set). Used as both value and mask of
/// [`DpAction::SetIpv4`]. Addresses in wire order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipv4Key {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Type of service byte (DSCP << 2 | ECN).
    pub tos: u8,
    /// Time to live.
    pub ttl: u8,
}

/// The writable IPv6 fields (`struct ovs_key_ipv6` without `proto`/`frag`).
/// Used as both value and mask of [`DpAction::SetIpv6`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipv6Key {
    /// Source address, wire order.
    pub src: [u8; 16],
    /// Destination address, wire order.
    pub dst: [u8; 16],
    /// Flow label (low 20 bits).
    pub label: u32,
    /// Traffic class (DSCP << 2 | ECN).
    pub tclass: u8,
    /// Hop limit.
    pub hlimit: u8,
}

/// Transport ports (`struct ovs_key_tcp` / `ovs_key_udp` / `ovs_key_sctp`),
/// host order. Used as both value and mask of [`DpAction::SetTransport`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortsKey {
    /// Source port.
    pub src: u16,
    /// Destination port.
    pub dst: u16,
}

/// The transport protocol a [`DpAction::SetTransport`] rewrites; the action
/// does nothing to packets of another protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L4Proto {
    /// TCP (IP protocol 6); printed `tcp(...)`.
    Tcp,
    /// UDP (17); printed `udp(...)`.
    Udp,
    /// SCTP (132); printed `sctp(...)`. The CRC32c is recomputed.
    Sctp,
}

impl L4Proto {
    /// The IP protocol number.
    pub fn ip_proto(self) -> u8 {
        match self {
            L4Proto::Tcp => packet::ip::protocol::TCP,
            L4Proto::Udp => packet::ip::protocol::UDP,
            L4Proto::Sctp => packet::ip::protocol::SCTP,
        }
    }

    /// The ODP key attribute name (`tcp`, `udp`, `sctp`).
    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Sctp => "sctp",
        }
    }
}

/// One datapath action (the `actions:` of `ovs-appctl dpctl/dump-flows`).
///
/// Executed in order on the packet; `Output` sends a copy of the packet as it
/// is at that point. The masked `Set*` actions write `(old & !mask) | (key &
/// mask)` into each field (OVS `OVS_ACTION_ATTR_SET_MASKED`), fixing the IPv4
/// header checksum and the TCP/UDP/ICMPv6 checksum incrementally (RFC 1624)
/// and the SCTP CRC32c; a `Set*` whose header the packet does not carry (for
/// example `SetIpv4` on an ARP frame, `SetTransport{Tcp}` on UDP or on a
/// non-first fragment) leaves the packet unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DpAction {
    /// Send to datapath port number (odp port). Printed as the bare number.
    Output(u32),
    /// Push an 802.1Q header. `tci` excludes the CFI bit (printed
    /// `push_vlan(vid=V,pcp=P)`); `tpid` is 0x8100 normally.
    PushVlan { tpid: u16, tci: u16 },
    /// Remove the outermost 802.1Q header. Printed `pop_vlan`.
    PopVlan,
    /// Rewrite the Ethernet source and destination. Printed
    /// `set(eth(src=..,dst=..))`.
    SetEth { src: [u8; 6], dst: [u8; 6] },
    /// Masked rewrite of the Ethernet addresses. Printed
    /// `set(eth(src=..[/mask],dst=..[/mask]))`, fields with a zero mask left out.
    SetEthMasked { key: EthKey, mask: EthKey },
    /// Masked rewrite of IPv4 addresses, TOS and TTL. Printed
    /// `set(ipv4(src=10.0.0.1,dst=10.0.0.2/255.255.255.0,tos=0x10,ttl=9))`,
    /// fields with a zero mask left out.
    SetIpv4 { key: Ipv4Key, mask: Ipv4Key },
    /// Masked rewrite of IPv6 addresses, flow label, traffic class and hop
    /// limit. Printed `set(ipv6(src=..,dst=..,label=..,tclass=..,hlimit=..))`.
    SetIpv6 { key: Ipv6Key, mask: Ipv6Key },
    /// Masked rewrite of the TCP, UDP or SCTP ports. Printed
    /// `set(tcp(src=80,dst=25))`, `set(udp(dst=53/0xff00))`.
    SetTransport {
        proto: L4Proto,
        key: PortsKey,
        mask: PortsKey,
    },
    /// Hand the packet, as it is at this point, to
    /// [`UpcallHandler::packet_in`] with `userdata` (the slow path's cookie,
    /// see [`ControllerUserdata`]). Printed `userspace(pid=0,...)`.
    Userspace { userdata: u64 },
}

impl DpAction {
    /// Whether the action changes the packet's bytes (outputs before it must
    /// send a snapshot).
    pub fn modifies_packet(&self) -> bool {
        !matches!(self, DpAction::Output(_) | DpAction::Userspace { .. })
    }
}

/// The `userdata` of a [`DpAction::Userspace`] that sends a packet to the
/// OpenFlow controllers (OVS `USER_ACTION_COOKIE_CONTROLLER`), packed into 64
/// bits: bits 63–56 = 1 (tag), 55–48 `reason`, 47–32 `controller_id`, 31–16
/// `max_len`, 15–0 `recirc_id`. Other userdata values are opaque to the
/// datapath and print as `userdata(<16 hex digits>)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ControllerUserdata {
    /// `ofp_packet_in_reason` (OpenFlow 1.3 §7.4.1: 0 no_match, 1 action, …).
    pub reason: u8,
    /// Controller connection id (NXAST_CONTROLLER `id`; 0 = all).
    pub controller_id: u16,
    /// Bytes of the packet to send (`max_len`, 65535 = all).
    pub max_len: u16,
    /// A slow-path context id (OVS uses a recirculation id for frozen state;
    /// oxvs's ofproto may use it to find the rule). Printed as `recirc_id`.
    pub recirc_id: u16,
}

const USERDATA_CONTROLLER_TAG: u64 = 1;

impl ControllerUserdata {
    /// Packs into the `userdata` of a [`DpAction::Userspace`].
    pub fn to_userdata(self) -> u64 {
        USERDATA_CONTROLLER_TAG << 56
            | (self.reason as u64) << 48
            | (self.controller_id as u64) << 32
            | (self.max_len as u64) << 16
            | self.recirc_id as u64
    }

    /// Unpacks, or `None` if `userdata` does not carry the controller tag.
    pub fn from_userdata(userdata: u64) -> Option<ControllerUserdata> {
        (userdata >> 56 == USERDATA_CONTROLLER_TAG).then_some(ControllerUserdata {
            reason: (userdata >> 48) as u8,
            controller_id: (userdata >> 32) as u16,
            max_len: (userdata >> 16) as u16,
            recirc_id: userdata as u16,
        })
    }
}

/// What the slow path wants kept with a megaflow (OVS `struct
/// xlate_cache`): opaque to the datapath, stored with the megaflow when it
/// is installed or re-translated, and handed back to
/// [`UpcallHandler::revalidate`] and [`UpcallHandler::flow_deleted`] with
/// the megaflow's counts. Cloning shares it.
#[derive(Clone, Default)]
pub struct XlateCache(Option<Arc<dyn Any + Send + Sync>>);

impl XlateCache {
    /// A cache holding `v`.
    pub fn new<T: Any + Send + Sync>(v: T) -> XlateCache {
        XlateCache(Some(Arc::new(v)))
    }

    /// The value, if there is one of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_deref()?.downcast_ref()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl std::fmt::Debug for XlateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_empty() {
            "XlateCache(empty)"
        } else {
            "XlateCache(..)"
        })
    }
}

/// Always equal: the cache is bookkeeping, not part of what a translation
/// decided, so two [`Xlated`] are equal when their actions and masks are.
impl PartialEq for XlateCache {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for XlateCache {}

/// The slow path's answer for one flow: what to do and what was looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Xlated {
    /// Datapath actions, in order. Empty = drop.
    pub actions: Vec<DpAction>,
    /// Mask of every key field the translation consulted (1 bits matter).
    /// `in_port` and `recirc_id` should always be fully set.
    pub mask: FlowKey,
    /// Kept with the megaflow and handed back with its counts (empty if
    /// the handler needs nothing).
    pub xcache: XlateCache,
}

/// Hits of one megaflow since the previous [`UpcallHandler::revalidate`] or
/// since it was installed (OVS `struct dpif_flow_stats`, as a delta). The
/// packet whose upcall created the megaflow is never included: the handler
/// counts it in [`UpcallHandler::upcall`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Packets that hit the megaflow since the last push.
    pub packets: u64,
    /// Their bytes (Ethernet frames as received).
    pub bytes: u64,
    /// Time of the megaflow's last hit ever (`None` = never hit).
    pub used: Option<Instant>,
    /// OR of the TCP flags of every packet that hit the megaflow (cumulative).
    pub tcp_flags: u16,
}

/// The slow path, as seen from the datapath.
///
/// Implementations must be cheap to call concurrently from forwarding threads
/// and must never block for long (no I/O, no waiting on a thread that may be
/// waiting on the datapath: see [`crate::Datapath::revalidate_now`]).
pub trait UpcallHandler: Send + Sync {
    /// Translate a packet that missed the caches. `key` was extracted from
    /// `packet` (the whole frame as received). May learn (e.g. MAC addresses)
    /// and bump the generation. The returned actions are executed on this
    /// packet too; it is not counted in any [`FlowStats`].
    fn upcall(&self, key: &FlowKey, packet: &[u8]) -> Xlated;

    /// Re-translate an installed megaflow (`key` is the key of the packet
    /// that created it; only its masked bits are the flow's match). Called on
    /// every megaflow when the generation changed or on
    /// [`crate::Datapath::revalidate_now`], and about once a second
    /// ([`crate::dpif::REVALIDATE_PERIOD`]) on megaflows that were hit since
    /// the previous call. `stats` are the hits since that previous call
    /// (credit them to the rules; `stats.packets > 0` means "used", so
    /// refresh what the packets would have refreshed, e.g. MAC-table ages).
    /// Returns the new translation; the datapath replaces the actions if they
    /// differ and deletes the megaflow (then calling
    /// [`UpcallHandler::flow_deleted`]) if the mask differs. `xcache` is the
    /// one kept with the megaflow (from its upcall or last revalidation);
    /// the returned one replaces it.
    fn revalidate(&self, key: &FlowKey, stats: &FlowStats, xcache: &XlateCache) -> Xlated;

    /// A megaflow was deleted (idle for [`crate::dpif::MAX_IDLE`], mask
    /// changed on revalidation, port removed, flush). `stats` are its hits
    /// since the last [`UpcallHandler::revalidate`] (often zero), `xcache`
    /// the one kept with it. Default: nothing.
    fn flow_deleted(&self, key: &FlowKey, stats: &FlowStats, xcache: &XlateCache) {
        let _ = (key, stats, xcache);
    }

    /// A [`DpAction::Userspace`] action ran: `packet` is the frame as it is
    /// at that point of the action list (a partial checksum completed, a GSO
    /// super-frame handed over whole), `key` the key extracted when it was
    /// received (its `in_port` is the arrival port, or `u32::MAX` for
    /// [`crate::Datapath::execute`] without one). Called on the forwarding
    /// thread: must not block (queue the packet in a bounded queue, count
    /// drops). Default: nothing.
    fn packet_in(&self, packet: &[u8], key: &FlowKey, userdata: u64) {
        let _ = (packet, key, userdata);
    }

    /// A counter that changes whenever a translation could change.
    fn generation(&self) -> u64;
}

/// C's `%#x`: `0` for zero, `0x...` otherwise.
fn hex(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// `name=value[/mask]` items of one key attribute, OVS's non-verbose
/// `format_odp_key_attr`: zero-mask fields are omitted.
#[derive(Default)]
struct Fields(String);

impl Fields {
    fn sep(&mut self) {
        if !self.0.is_empty() {
            self.0.push(',');
        }
    }
    fn eth(&mut self, name: &str, v: [u8; 6], m: [u8; 6]) {
        if m != [0; 6] {
            self.sep();
            let _ = write!(self.0, "{name}={}", EthernetAddress(v));
            if m != [0xff; 6] {
                let _ = write!(self.0, "/{}", EthernetAddress(m));
            }
        }
    }
    fn ipv4(&mut self, name: &str, v: [u8; 4], m: [u8; 4]) {
        if m != [0; 4] {
            self.sep();
            let _ = write!(self.0, "{name}={}.{}.{}.{}", v[0], v[1], v[2], v[3]);
            if m != [0xff; 4] {
                let _ = write!(self.0, "/{}.{}.{}.{}", m[0], m[1], m[2], m[3]);
            }
        }
    }
    fn in6(&mut self, name: &str, v: &[u8; 16], m: &[u8; 16]) {
        if *m != [0; 16] {
            self.sep();
            let _ = write!(self.0, "{name}={}", Ipv6Text(v));
            if *m != [0xff; 16] {
                let _ = write!(self.0, "/{}", Ipv6Text(m));
            }
        }
    }
    /// `%PRIu8` value, `/%#x` mask.
    fn dec8(&mut self, name: &str, v: u8, m: u8) {
        if m != 0 {
            self.sep();
            let _ = write!(self.0, "{name}={v}");
            if m != u8::MAX {
                let _ = write!(self.0, "/{}", hex(m as u64));
            }
        }
    }
    /// `%#x` value and mask.
    fn hex8(&mut self, name: &str, v: u8, m: u8) {
        if m != 0 {
            self.sep();
            let _ = write!(self.0, "{name}={}", hex(v as u64));
            if m != u8::MAX {
                let _ = write!(self.0, "/{}", hex(m as u64));
            }
        }
    }
    fn label(&mut self, v: u32, m: u32) {
        let m = m & 0x000f_ffff;
        if m != 0 {
            self.sep();
            let _ = write!(self.0, "label={}", hex((v & 0x000f_ffff) as u64));
            if m != 0x000f_ffff {
                let _ = write!(self.0, "/{}", hex(m as u64));
            }
        }
    }
    fn port(&mut self, name: &str, v: u16, m: u16) {
        if m != 0 {
            self.sep();
            let _ = write!(self.0, "{name}={v}");
            if m != u16::MAX {
                let _ = write!(self.0, "/{}", hex(m as u64));
            }
        }
    }
}

/// Appends one action's text, as OVS 3.1's `format_odp_action` prints it.
///
/// Difference from OVS: a `userspace` action has no netlink pid or cookie
/// here; it prints `pid=0` and, for a [`ControllerUserdata`], OVS's
/// `controller(...)` form with `dont_send=0,continuation=0,rule_cookie=0`
/// (fields our 64-bit userdata does not carry); other userdata prints as
/// `userdata(<8 bytes in hex, big-endian>)`.
pub fn format_action(s: &mut String, a: &DpAction) {
    let mut f = Fields::default();
    match a {
        DpAction::Output(p) => {
            let _ = write!(s, "{p}");
        }
        DpAction::PushVlan { tpid, tci } => {
            let (vid, pcp) = (tci & 0x0fff, tci >> 13);
            if *tpid == 0x8100 {
                let _ = write!(s, "push_vlan(vid={vid},pcp={pcp})");
            } else {
                let _ = write!(s, "push_vlan(tpid=0x{tpid:04x},vid={vid},pcp={pcp})");
            }
        }
        DpAction::PopVlan => s.push_str("pop_vlan"),
        DpAction::SetEth { src, dst } => {
            let _ = write!(
                s,
                "set(eth(src={},dst={}))",
                EthernetAddress(*src),
                EthernetAddress(*dst)
            );
        }
        DpAction::SetEthMasked { key, mask } => {
            f.eth("src", key.src, mask.src);
            f.eth("dst", key.dst, mask.dst);
            let _ = write!(s, "set(eth({}))", f.0);
        }
        DpAction::SetIpv4 { key, mask } => {
            f.ipv4("src", key.src, mask.src);
            f.ipv4("dst", key.dst, mask.dst);
            f.hex8("tos", key.tos, mask.tos);
            f.dec8("ttl", key.ttl, mask.ttl);
            let _ = write!(s, "set(ipv4({}))", f.0);
        }
        DpAction::SetIpv6 { key, mask } => {
            f.in6("src", &key.src, &mask.src);
            f.in6("dst", &key.dst, &mask.dst);
            f.label(key.label, mask.label);
            f.hex8("tclass", key.tclass, mask.tclass);
            f.dec8("hlimit", key.hlimit, mask.hlimit);
            let _ = write!(s, "set(ipv6({}))", f.0);
        }
        DpAction::SetTransport { proto, key, mask } => {
            f.port("src", key.src, mask.src);
            f.port("dst", key.dst, mask.dst);
            let _ = write!(s, "set({}({}))", proto.name(), f.0);
        }
        DpAction::Userspace { userdata } => match ControllerUserdata::from_userdata(*userdata) {
            Some(c) => {
                let _ = write!(
                    s,
                    "userspace(pid=0,controller(reason={},dont_send=0,continuation=0,recirc_id={},rule_cookie=0,controller_id={},max_len={}))",
                    c.reason, c.recirc_id, c.controller_id, c.max_len
                );
            }
            None => {
                let _ = write!(s, "userspace(pid=0,userdata({userdata:016x}))");
            }
        },
    }
}

/// Datapath actions as `dpctl/dump-flows` prints them: comma-separated
/// [`format_action`] texts, `drop` if none.
pub fn format_actions(actions: &[DpAction]) -> String {
    if actions.is_empty() {
        return "drop".into();
    }
    let mut s = String::new();
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        format_action(&mut s, a);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(a: DpAction) -> String {
        format_actions(&[a])
    }

    #[test]
    fn set_actions_text_as_ovs() {
        let full4 = Ipv4Key {
            src: [255; 4],
            dst: [255; 4],
            ..Ipv4Key::default()
        };
        let k4 = Ipv4Key {
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
            tos: 0x10,
            ttl: 9,
        };
        assert_eq!(
            text(DpAction::SetIpv4 {
                key: k4,
                mask: full4
            }),
            "set(ipv4(src=10.0.0.1,dst=10.0.0.2))"
        );
        assert_eq!(
            text(DpAction::SetIpv4 {
                key: k4,
                mask: Ipv4Key {
                    src: [255, 255, 255, 0],
                    ..Ipv4Key::default()
                }
            }),
            "set(ipv4(src=10.0.0.1/255.255.255.0))"
        );
        assert_eq!(
            text(DpAction::SetIpv4 {
                key: k4,
                mask: Ipv4Key {
                    tos: 0xfc,
                    ttl: 0xff,
                    ..Ipv4Key::default()
                }
            }),
            "set(ipv4(tos=0x10/0xfc,ttl=9))"
        );
        assert_eq!(
            text(DpAction::SetTransport {
                proto: L4Proto::Tcp,
                key: PortsKey { src: 0, dst: 25 },
                mask: PortsKey {
                    src: 0,
                    dst: 0xffff
                }
            }),
            "set(tcp(dst=25))"
        );
        assert_eq!(
            text(DpAction::SetTransport {
                proto: L4Proto::Udp,
                key: PortsKey { src: 80, dst: 53 },
                mask: PortsKey {
                    src: 0xffff,
                    dst: 0xff00
                }
            }),
            "set(udp(src=80,dst=53/0xff00))"
        );
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[15] = 1;
        assert_eq!(
            text(DpAction::SetIpv6 {
                key: Ipv6Key {
                    dst: v6,
                    label: 5,
                    hlimit: 3,
                    ..Ipv6Key::default()
                },
                mask: Ipv6Key {
                    dst: [0xff; 16],
                    label: 0xfffff,
                    hlimit: 0xff,
                    ..Ipv6Key::default()
                }
            }),
            "set(ipv6(dst=2001::1,label=0x5,hlimit=3))"
        );
        assert_eq!(
            text(DpAction::SetEthMasked {
                key: EthKey {
                    src: [2, 0, 0, 0, 0, 1],
                    dst: [0; 6]
                },
                mask: EthKey {
                    src: [0xff; 6],
                    dst: [0; 6]
                }
            }),
            "set(eth(src=02:00:00:00:00:01))"
        );
    }

    #[test]
    fn userspace_text_and_userdata_round_trip() {
        let c = ControllerUserdata {
            reason: 1,
            controller_id: 0,
            max_len: 65535,
            recirc_id: 1,
        };
        let u = c.to_userdata();
        assert_eq!(ControllerUserdata::from_userdata(u), Some(c));
        assert_eq!(
            text(DpAction::Userspace { userdata: u }),
            "userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535))"
        );
        assert_eq!(ControllerUserdata::from_userdata(0x1234), None);
        assert_eq!(
            text(DpAction::Userspace { userdata: 0x1234 }),
            "userspace(pid=0,userdata(0000000000001234))"
        );
        assert_eq!(
            format_actions(&[DpAction::Output(2), DpAction::PopVlan]),
            "2,pop_vlan"
        );
        assert_eq!(format_actions(&[]), "drop");
    }

    #[test]
    fn only_rewrites_modify() {
        assert!(!DpAction::Output(1).modifies_packet());
        assert!(!DpAction::Userspace { userdata: 0 }.modifies_packet());
        assert!(DpAction::PopVlan.modifies_packet());
    }
}
