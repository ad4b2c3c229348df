//! Translation of a flow through the OpenFlow tables of the bridges into
//! datapath actions (Open vSwitch `ofproto/ofproto-dpif-xlate.c`).
//!
//! Idea: translation walks one flow (an [`openflow::Flow`]: the packet's
//! [`FlowKey`] with `in_port` = the OpenFlow port of the bridge being
//! walked, plus metadata and registers, which start at 0) through a
//! bridge's OpenFlow tables (goto_table, resubmit, action list and action
//! set) and executes the OpenFlow actions symbolically on it. Every field the walk reads
//! is recorded in the wildcard mask (`wc`), so that the resulting megaflow
//! `(key & wc) -> actions` is valid for every packet that agrees on those
//! bits (table lookups add the classifier's wildcard tracking; actions add
//! what they read or write). Two header states are tracked: `flow`, the
//! headers the next output wants, and `base`, the headers the packet in the
//! datapath carries now; just before each datapath `Output` or `Userspace`
//! the difference is committed as masked `set` actions and `pop_vlan` /
//! `push_vlan` (OVS `commit_odp_actions`), so only changed headers are
//! rewritten and a flood to ports of different VLAN modes emits the minimal
//! action list in port order. Rules hit are credited with the packets given
//! in [`XlateParams`] (an upcall's packet, a packet-out), and every table
//! lookup can be recorded in a [`RuleCache`] (OVS `xlate_cache`) that the
//! megaflow keeps, so its later hits are credited to the rules this
//! translation hit, whatever the tables hold by then.
//!
//! The NORMAL action follows OVS's `xlate_normal`: input VLAN from the
//! port's `vlan_mode`/`tag`/`trunks`, drop of disallowed VLANs and reserved
//! multicast destinations, learning of the unicast source, output to the
//! learned port or flood to every other port carrying the VLAN, each output
//! tagged or untagged as that port's mode requires (`output_normal`).
//!
//! Patch ports (an interface with a peer and no datapath port) continue the
//! walk in the peer's bridge with `in_port` = the peer's OpenFlow port, with
//! no datapath hop, as OVS's userspace patch ports do. Depth (64) and total
//! bridge entries (64 × 64) are bounded as OVS bounds resubmits; exceeding
//! either makes the whole translation a drop.
//!
//! Invariants: `in_port`, `recirc_id` and `dl_type` are always in the mask
//! (OVS `xlate_wc_init`), plus `nw_frag` for IP; NORMAL adds `dl_src`,
//! `dl_dst` and the VLAN VID+CFI; a `pop_vlan` adds the whole TCI (its PCP is
//! dropped with it). Nothing else is consulted, except the ARP fields OVS's
//! gratuitous-ARP check reads for broadcast ARP.
//!
//! Performance: the configuration ([`XConfig`]) is immutable and shared
//! (read through an `ArcSwap` by the [`crate::Backer`]); translation takes
//! one short recursive read lock of the bridge's tables per table lookup
//! (released before the actions run; the rule's actions are an `Arc`), one
//! short MAC-table lock per NORMAL action, and allocates nothing but the
//! actions vector (and an action set when Write-Actions is used).

use std::collections::HashMap;
use std::sync::Arc;

use datapath::{ControllerUserdata, DpAction, EthKey, Ipv4Key, Ipv6Key, L4Proto, PortsKey, Xlated};
use openflow::flow::Flow;
use openflow::mf::{Field, Prereq};
use openflow::port::{
    OFPP_ALL, OFPP_CONTROLLER, OFPP_FLOOD, OFPP_IN_PORT, OFPP_NONE, OFPP_NORMAL, OFPP_TABLE,
};
use openflow::OfpAct;
use packet::flow::{
    FlowKey, FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER, VLAN_CFI, VLAN_PCP_MASK, VLAN_VID_MASK,
};
use parking_lot::Mutex;

use crate::config::{BridgeConfig, PortConfig, VlanMode};
use crate::mac_learning::{EthAddr, MacLearning};
use crate::ofbridge::{CtlContext, CtlRegistry, OfBridge};
use crate::table::{RuleStats, TableCounters};
use crate::trace::{NodeKind, TraceTree};

/// OpenFlow port number of a bridge's local (internal) port, `OFPP_LOCAL`.
pub const OFPP_LOCAL: u16 = 0xfffe;
/// Maximum nesting of bridge entries through patch ports (OVS `MAX_DEPTH`).
pub const MAX_DEPTH: u32 = 64;
/// Maximum total bridge entries in one translation (OVS `MAX_RESUBMITS`).
pub const MAX_RESUBMITS: u32 = MAX_DEPTH * MAX_DEPTH;

/// 802.1Q TPID.
pub const ETH_TYPE_VLAN_8021Q: u16 = 0x8100;
/// 802.1ad TPID.
pub const ETH_TYPE_VLAN_8021AD: u16 = 0x88a8;
/// ARP Ethernet type.
pub const ETH_TYPE_ARP: u16 = 0x0806;
/// IPv4 Ethernet type.
pub const ETH_TYPE_IP: u16 = 0x0800;
/// IPv6 Ethernet type.
pub const ETH_TYPE_IPV6: u16 = 0x86dd;

const ARP_OP_REQUEST: u8 = 1;
const ARP_OP_REPLY: u8 = 2;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_ICMPV6: u8 = 58;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_SCTP: u8 = 132;

/// Whether `mac` is an address a bridge must never forward (OVS
/// `eth_addr_is_reserved`): IEEE 802.1D reserved 01:80:c2:00:00:00–0f
/// (STP, pause, LACP, 802.1X, LLDP…), Extreme EDP/EAPS and Cisco
/// ISL/CDP/VTP/PVST+/UplinkFast/CFM addresses. NORMAL drops frames to them
/// because `other_config:forward-bpdu` is false by default.
pub fn eth_addr_is_reserved(mac: &EthAddr) -> bool {
    match *mac {
        [0x01, 0x80, 0xc2, 0x00, 0x00, x] => x <= 0x0f,
        [0x00, 0xe0, 0x2b, 0x00, 0x00, x] => matches!(x, 0x00 | 0x04 | 0x06),
        [0x01, 0x00, 0x0c, 0x00, 0x00, 0x00] => true,
        [0x01, 0x00, 0x0c, 0xcc, 0xcc, x] => matches!(x, 0xcc | 0xcd | 0xc0..=0xc7),
        [0x01, 0x00, 0x0c, 0xcd, 0xcd, 0xcd] => true,
        _ => false,
    }
}

/// A set of VLAN IDs (0–4095) as a 4096-bit bitmap.
#[derive(Clone, PartialEq, Eq)]
pub struct VlanBitmap(Box<[u64; 64]>);

impl VlanBitmap {
    /// No VLAN.
    pub fn empty() -> Self {
        VlanBitmap(Box::new([0; 64]))
    }

    /// Every VLAN, 0–4095.
    pub fn all() -> Self {
        VlanBitmap(Box::new([u64::MAX; 64]))
    }

    /// The VLANs in `vids`; values above 4095 are ignored (as OVS's
    /// `vlan_bitmap_from_array` does).
    pub fn from_vids(vids: &[u16]) -> Self {
        let mut b = Self::empty();
        for &v in vids {
            b.insert(v);
        }
        b
    }

    /// Whether `vid` is in the set (false above 4095).
    #[inline]
    pub fn contains(&self, vid: u16) -> bool {
        vid <= VLAN_VID_MASK && self.0[usize::from(vid >> 6)] & (1 << (vid & 63)) != 0
    }

    /// Adds `vid` (ignored above 4095).
    pub fn insert(&mut self, vid: u16) {
        if vid <= VLAN_VID_MASK {
            self.0[usize::from(vid >> 6)] |= 1 << (vid & 63);
        }
    }

    /// Removes `vid`.
    pub fn remove(&mut self, vid: u16) {
        if vid <= VLAN_VID_MASK {
            self.0[usize::from(vid >> 6)] &= !(1 << (vid & 63));
        }
    }
}

impl std::fmt::Debug for VlanBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n: u32 = self.0.iter().map(|w| w.count_ones()).sum();
        write!(f, "VlanBitmap({n} VLANs)")
    }
}

/// A reference to an interface of another (or the same) bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerRef {
    /// Index of the bridge in [`XConfig::bridges`].
    pub bridge: usize,
    /// OpenFlow port number of the peer interface in that bridge.
    pub ofport: u16,
}

/// One interface of a bundle as translation sees it (OVS `xport`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XPort {
    /// Interface name.
    pub name: String,
    /// OpenFlow port number.
    pub ofport: u16,
    /// Datapath port number, if open in the datapath.
    pub odp_port: Option<u32>,
    /// For a patch port whose peer exists and points back: the peer.
    pub peer: Option<PeerRef>,
    /// Ethernet address (port descriptions).
    pub mac: [u8; 6],
    /// Administratively up.
    pub admin_up: bool,
    /// Carrier up.
    pub link_up: bool,
    /// Speed in Mb/s, 0 = unknown.
    pub speed_mbps: u32,
    /// OpenFlow-only OFPPC_* bits set by port_mod (all but
    /// [`OFPPC_PORT_DOWN`], which follows `admin_up`): [`OFPPC_NO_RECV`],
    /// [`OFPPC_NO_FLOOD`], [`OFPPC_NO_FWD`], [`OFPPC_NO_PACKET_IN`]…
    pub config: u32,
}

/// OFPPC_PORT_DOWN: administratively down (OpenFlow 1.0 §5.2.1; same bit in 1.1+).
pub const OFPPC_PORT_DOWN: u32 = 1 << 0;
/// OFPPC_NO_STP (OpenFlow 1.0 only): no 802.1D spanning tree on the port.
pub const OFPPC_NO_STP: u32 = 1 << 1;
/// OFPPC_NO_RECV: drop every packet received on the port.
pub const OFPPC_NO_RECV: u32 = 1 << 2;
/// OFPPC_NO_RECV_STP (OpenFlow 1.0 only): drop received 802.1D STP packets.
pub const OFPPC_NO_RECV_STP: u32 = 1 << 3;
/// OFPPC_NO_FLOOD (OpenFlow 1.0 only; OVS honours it in every version):
/// leave the port out of OFPP_FLOOD and of NORMAL's flooding.
pub const OFPPC_NO_FLOOD: u32 = 1 << 4;
/// OFPPC_NO_FWD: drop every packet forwarded to the port.
pub const OFPPC_NO_FWD: u32 = 1 << 5;
/// OFPPC_NO_PACKET_IN: no table-miss packet-in for packets received on the port.
pub const OFPPC_NO_PACKET_IN: u32 = 1 << 6;
/// Every OpenFlow 1.0 OFPPC_* bit (OVS `OFPPC10_ALL`).
pub const OFPPC10_ALL: u32 = 0x7f;

/// Internal packet-in reason of a table miss without a table-miss flow
/// (OVS `OFPR_IMPLICIT_MISS`): sent as OFPR_NO_MATCH, only to OpenFlow
/// 1.0–1.2 connections (OpenFlow 1.3.5 §5.4: a 1.3 table miss drops).
/// Never on the wire.
pub const OFPR_IMPLICIT_MISS: u8 = 7;

/// Internal packet-in reason of a `controller` action in a table-miss flow
/// (priority 0, matching everything; OVS `OFPR_EXPLICIT_MISS`; the
/// datapath action says OFPR_ACTION, the action's context says it is a
/// table-miss flow, see [`crate::ofbridge::CtlContext`]): sent as
/// OFPR_NO_MATCH to OpenFlow 1.3+ connections (OpenFlow 1.3.5 §7.4.1: "no
/// matching flow (table-miss flow entry)") and as OFPR_ACTION to earlier
/// ones. Never on the wire.
pub const OFPR_EXPLICIT_MISS: u8 = 8;

/// Which packet-ins some connection of a bridge can receive; translation
/// emits a datapath `userspace` action for a table miss or an invalid TTL
/// only when someone wants it, and a drop otherwise (OVS
/// `connmgr_wants_packet_in_on_miss`, `no_packet_in_rule`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PacketInInterest {
    /// Table misses ([`OFPR_IMPLICIT_MISS`]): an OpenFlow 1.0–1.2
    /// connection with `miss_send_len` > 0 whose async mask allows
    /// OFPR_NO_MATCH.
    pub table_miss: bool,
    /// `dec_ttl` on a TTL of 0 or 1 (OFPR_INVALID_TTL): a connection that
    /// set OFPC_INVALID_TTL_TO_CONTROLLER (OpenFlow 1.0–1.2) or allows the
    /// reason in its async config (1.3+).
    pub invalid_ttl: bool,
}

/// One port (OVSDB `Port`, OVS `xbundle`) with its VLAN settings resolved
/// as OVS's `bundle_set` resolves them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XBundle {
    /// Port name.
    pub name: String,
    /// VLAN mode.
    pub vlan_mode: VlanMode,
    /// OVS `bundle->vlan`: `None` for trunk ports; otherwise `tag`, or 0
    /// when `tag` is unset or out of range.
    pub vlan: Option<u16>,
    /// VLANs trunked; `None` = all. For native modes with a nonzero native
    /// VLAN, the native VLAN is forced in and VLAN 0 out (OVS `bundle_set`).
    /// Unused for access ports.
    pub trunks: Option<VlanBitmap>,
    /// Member interfaces; output uses the first.
    pub ifaces: Vec<XPort>,
}

impl XBundle {
    /// Resolves a port's configuration (peers are filled in later by
    /// [`XConfig::new`]).
    pub fn from_config(p: &PortConfig) -> XBundle {
        let tag = p.tag.filter(|&t| t <= VLAN_VID_MASK);
        let vlan = match p.vlan_mode {
            VlanMode::Trunk => None,
            _ => Some(tag.unwrap_or(0)),
        };
        let listed = (!p.trunks.is_empty()).then(|| VlanBitmap::from_vids(&p.trunks));
        let trunks = match p.vlan_mode {
            VlanMode::Access => None,
            VlanMode::Trunk => listed,
            VlanMode::NativeTagged | VlanMode::NativeUntagged => {
                let native = vlan.unwrap_or(0);
                let needs_fix = native != 0
                    && match &listed {
                        None => true,
                        Some(t) => !t.contains(native) || t.contains(0),
                    };
                if needs_fix {
                    let mut t = listed.unwrap_or_else(VlanBitmap::all);
                    t.insert(native);
                    t.remove(0);
                    Some(t)
                } else {
                    listed
                }
            }
        };
        XBundle {
            name: p.name.clone(),
            vlan_mode: p.vlan_mode,
            vlan,
            trunks,
            ifaces: p
                .interfaces
                .iter()
                .map(|i| XPort {
                    name: i.name.clone(),
                    ofport: i.ofport,
                    odp_port: if i.patch_peer.is_some() {
                        None
                    } else {
                        i.odp_port
                    },
                    peer: None,
                    mac: i.mac,
                    admin_up: i.admin_up,
                    link_up: i.link_up,
                    speed_mbps: i.speed_mbps,
                    config: 0,
                })
                .collect(),
        }
    }

    /// The port's identity in the MAC table: the OpenFlow port number of its
    /// first interface (also what `fdb/show` prints). `None` if it has no
    /// interface.
    pub fn mac_key(&self) -> Option<u16> {
        self.ifaces.first().map(|i| i.ofport)
    }

    /// Whether the VLAN behaviour of `self` and `other` is the same (a
    /// difference flushes the port's MAC entries).
    pub fn same_vlan_config(&self, other: &XBundle) -> bool {
        self.vlan_mode == other.vlan_mode && self.vlan == other.vlan && self.trunks == other.trunks
    }

    /// Whether NORMAL may flood to this port: no member has
    /// OFPPC_NO_FLOOD (OVS `bundle->floodable`).
    pub fn floodable(&self) -> bool {
        self.ifaces.iter().all(|i| i.config & OFPPC_NO_FLOOD == 0)
    }

    /// OVS `xbundle_trunks_vlan`.
    fn trunks_vlan(&self, vid: u16) -> bool {
        self.vlan_mode != VlanMode::Access
            && match &self.trunks {
                None => true,
                Some(t) => t.contains(vid),
            }
    }

    /// Whether frames in VLAN `vlan` may leave through this port (OVS
    /// `xbundle_includes_vlan`).
    pub fn includes_vlan(&self, vlan: u16) -> bool {
        match self.vlan_mode {
            VlanMode::Access => self.vlan == Some(vlan),
            _ => self.trunks_vlan(vlan),
        }
    }

    /// Whether a frame received with 802.1Q VID `vid` (0 if untagged or
    /// priority-tagged) may enter (OVS `input_vid_is_valid`).
    pub fn input_vid_is_valid(&self, vid: u16) -> bool {
        match self.vlan_mode {
            VlanMode::Access => vid == 0,
            VlanMode::NativeTagged | VlanMode::NativeUntagged if vid == 0 => true,
            _ => self.trunks_vlan(vid),
        }
    }

    /// The (VLAN, PCP) a valid input frame belongs to inside the bridge,
    /// from its received VID and PCP bits (OVS `xvlan_input_translate`).
    pub fn input_vlan(&self, vid: u16, pcp: u16) -> (u16, u16) {
        match self.vlan_mode {
            VlanMode::Access => (self.vlan.unwrap_or(0), pcp),
            VlanMode::Trunk => (vid, pcp),
            VlanMode::NativeTagged | VlanMode::NativeUntagged => {
                if vid == 0 {
                    (self.vlan.unwrap_or(0), pcp)
                } else {
                    (vid, pcp)
                }
            }
        }
    }

    /// The `vlan_tci` (with `VLAN_CFI` if tagged, 0 if untagged) a frame in
    /// VLAN `vlan` with priority bits `pcp` must carry when it leaves through
    /// this port (OVS `xvlan_output_translate` then `xvlan_put`: a tag whose
    /// VID and PCP are both 0 is no tag).
    pub fn output_tci(&self, vlan: u16, pcp: u16) -> u16 {
        let (vid, pcp) = match self.vlan_mode {
            VlanMode::Access => (0, 0),
            VlanMode::Trunk | VlanMode::NativeTagged => (vlan, pcp),
            VlanMode::NativeUntagged => {
                if self.vlan == Some(vlan) {
                    (0, 0)
                } else {
                    (vlan, pcp)
                }
            }
        };
        let tci = (vid & VLAN_VID_MASK) | (pcp & VLAN_PCP_MASK);
        if tci != 0 {
            tci | VLAN_CFI
        } else {
            0
        }
    }
}

/// One bridge as translation sees it (OVS `xbridge`).
#[derive(Debug)]
pub struct XBridge {
    /// Bridge name.
    pub name: String,
    /// Ports, in configuration order (the flood order).
    pub bundles: Vec<XBundle>,
    /// OpenFlow datapath id.
    pub datapath_id: u64,
    /// The bridge's MAC learning table (kept across reconfigurations).
    pub ml: Arc<Mutex<MacLearning>>,
    /// Flow tables and controller queues (kept across reconfigurations).
    pub of: Arc<OfBridge>,
    /// Every OpenFlow port, ascending (FLOOD/ALL order).
    pub ofports: Vec<u16>,
    /// OpenFlow port → (bundle index, interface index).
    by_ofport: HashMap<u16, (usize, usize)>,
    /// MAC-table port key → bundle index.
    by_mac_key: HashMap<u16, usize>,
}

impl XBridge {
    /// The bundle index and interface of OpenFlow port `ofport`.
    pub fn port(&self, ofport: u16) -> Option<(usize, &XPort)> {
        let &(b, i) = self.by_ofport.get(&ofport)?;
        Some((b, &self.bundles[b].ifaces[i]))
    }

    /// The interface of OpenFlow port `ofport`, mutable (while the
    /// snapshot is being built).
    pub fn port_mut(&mut self, ofport: u16) -> Option<&mut XPort> {
        let &(b, i) = self.by_ofport.get(&ofport)?;
        self.bundles.get_mut(b)?.ifaces.get_mut(i)
    }

    /// The bundle whose MAC-table key is `key`.
    pub fn bundle_by_mac_key(&self, key: u16) -> Option<usize> {
        self.by_mac_key.get(&key).copied()
    }
}

/// Every bridge, resolved for translation. Immutable once built.
#[derive(Debug, Default)]
pub struct XConfig {
    /// The bridges, in configuration order.
    pub bridges: Vec<XBridge>,
    by_name: HashMap<String, usize>,
    /// Datapath port → (bridge index, OpenFlow port).
    by_odp: HashMap<u32, (usize, u16)>,
}

impl XConfig {
    /// Builds the translation view of `configs`. `ml_for` supplies each
    /// bridge's MAC table (the caller reuses existing tables).
    ///
    /// Configuration errors are tolerated, first one wins, with a warning:
    /// duplicate bridge names, duplicate OpenFlow ports within a bridge,
    /// duplicate datapath ports. A patch port is connected only if its peer
    /// exists and names it back (as OVS requires); otherwise output to it
    /// drops.
    pub fn new(
        configs: &[BridgeConfig],
        ml_for: impl FnMut(&BridgeConfig) -> Arc<Mutex<MacLearning>>,
    ) -> XConfig {
        Self::with_state(configs, ml_for, |_| Arc::new(OfBridge::new(0)))
    }

    /// As [`XConfig::new`], with `of_for` supplying each bridge's OpenFlow
    /// state (flow tables, event queues) as well.
    pub fn with_state(
        configs: &[BridgeConfig],
        mut ml_for: impl FnMut(&BridgeConfig) -> Arc<Mutex<MacLearning>>,
        mut of_for: impl FnMut(&BridgeConfig) -> Arc<OfBridge>,
    ) -> XConfig {
        let mut cfg = XConfig::default();
        // Interface name -> (bridge, ofport, patch peer name).
        let mut ifaces: HashMap<&str, (usize, u16, Option<&str>)> = HashMap::new();
        for bc in configs {
            if cfg.by_name.contains_key(&bc.name) {
                tracing::warn!(bridge = %bc.name, "duplicate bridge name ignored");
                continue;
            }
            let bi = cfg.bridges.len();
            let bundles: Vec<XBundle> = bc.ports.iter().map(XBundle::from_config).collect();
            let mut by_ofport = HashMap::new();
            let mut by_mac_key = HashMap::new();
            for (pi, (pc, bundle)) in bc.ports.iter().zip(&bundles).enumerate() {
                if let Some(k) = bundle.mac_key() {
                    by_mac_key.entry(k).or_insert(pi);
                }
                for (ii, ic) in pc.interfaces.iter().enumerate() {
                    if by_ofport.contains_key(&ic.ofport) {
                        tracing::warn!(bridge = %bc.name, ofport = ic.ofport, "duplicate ofport ignored");
                        continue;
                    }
                    by_ofport.insert(ic.ofport, (pi, ii));
                    ifaces.entry(ic.name.as_str()).or_insert((
                        bi,
                        ic.ofport,
                        ic.patch_peer.as_deref(),
                    ));
                    if let (Some(odp), None) = (ic.odp_port, &ic.patch_peer) {
                        match cfg.by_odp.entry(odp) {
                            std::collections::hash_map::Entry::Occupied(_) => {
                                tracing::warn!(odp_port = odp, "duplicate datapath port ignored");
                            }
                            std::collections::hash_map::Entry::Vacant(v) => {
                                v.insert((bi, ic.ofport));
                            }
                        }
                    }
                }
            }
            cfg.by_name.insert(bc.name.clone(), bi);
            let mut ofports: Vec<u16> = by_ofport.keys().copied().collect();
            ofports.sort_unstable();
            cfg.bridges.push(XBridge {
                name: bc.name.clone(),
                datapath_id: bc.datapath_id.unwrap_or_else(|| default_dpid(&bc.name)),
                bundles,
                ml: ml_for(bc),
                of: of_for(bc),
                ofports,
                by_ofport,
                by_mac_key,
            });
        }
        // Connect patch ports whose peers name them back.
        for bridge in &mut cfg.bridges {
            for bundle in &mut bridge.bundles {
                for port in &mut bundle.ifaces {
                    let Some(&(_, _, Some(peer_name))) = ifaces.get(port.name.as_str()) else {
                        continue;
                    };
                    match ifaces.get(peer_name) {
                        Some(&(pb, pof, Some(back))) if back == port.name => {
                            port.peer = Some(PeerRef {
                                bridge: pb,
                                ofport: pof,
                            });
                        }
                        _ => {
                            tracing::warn!(interface = %port.name, peer = peer_name, "patch peer missing or not pointing back");
                        }
                    }
                }
            }
        }
        cfg
    }

    /// The index of the bridge named `name`.
    pub fn bridge_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The bridge named `name`.
    pub fn bridge(&self, name: &str) -> Option<&XBridge> {
        self.by_name.get(name).map(|&i| &self.bridges[i])
    }

    /// The (bridge index, OpenFlow port) of datapath port `odp_port`.
    pub fn odp_to_ofport(&self, odp_port: u32) -> Option<(usize, u16)> {
        self.by_odp.get(&odp_port).copied()
    }
}

/// A datapath id for a bridge without one: `0000` + 48 bits of a hash of
/// its name with the locally administered bit set (OVS picks a random
/// local MAC; a stable value keeps restarts consistent).
pub fn default_dpid(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    ((h & 0xffff_ffff_ffff) | 0x0200_0000_0000) & !0x0100_0000_0000
}

/// What a translation did besides producing actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XlateOutcome {
    /// A MAC table changed (new entry, move or eviction): other megaflows
    /// need revalidation.
    pub ml_changed: bool,
    /// The translation hit the depth or resubmit limit and became a drop.
    pub too_deep: bool,
}

/// One table lookup of a translation (OVS `xlate_cache` entries
/// `XC_TABLE` + `XC_RULE`): the table's counters and, if a rule matched,
/// the rule's.
#[derive(Debug, Clone)]
pub struct XcLookup {
    /// Lookup counters of the table.
    pub table: Arc<TableCounters>,
    /// Counters of the rule that matched (`None`: a miss).
    pub rule: Option<Arc<RuleStats>>,
}

/// Every table lookup of one translation, in order, kept with the megaflow
/// it produced: its hits are credited to these rules and tables at
/// revalidation and deletion (OVS `xlate_push_stats`), even after a
/// flow_mod changed or deleted the rules. A rule hit twice (a resubmit
/// loop) is credited twice, as a translation that credits directly does.
#[derive(Debug, Default)]
pub struct RuleCache {
    /// The lookups.
    pub lookups: Vec<XcLookup>,
}

impl RuleCache {
    /// Credits `packets`/`bytes` hits at `now_ns` to every lookup: the
    /// table's lookup count, and its matched count and rule if one matched.
    pub fn credit(&self, packets: u64, bytes: u64, now_ns: u64) {
        if packets == 0 {
            return;
        }
        use std::sync::atomic::Ordering::Relaxed;
        for l in &self.lookups {
            l.table.lookups.fetch_add(packets, Relaxed);
            if let Some(r) = &l.rule {
                l.table.matched.fetch_add(packets, Relaxed);
                r.credit(packets, bytes, now_ns);
            }
        }
    }
}

/// Inputs of one translation besides the flow.
#[derive(Default)]
pub struct XlateParams<'a> {
    /// Time in seconds (MAC learning).
    pub now: u64,
    /// Time in nanoseconds (rule `used` times).
    pub now_ns: u64,
    /// Side effects allowed (MAC learning).
    pub may_learn: bool,
    /// Packets to credit to every rule the flow goes through (0 = none).
    pub packets: u64,
    /// Bytes to credit with `packets`.
    pub bytes: u64,
    /// Where `controller` actions register their context (None: controller
    /// actions become userspace actions with context id 0).
    pub ctl: Option<&'a CtlRegistry>,
    /// Metadata the pipeline starts with (0 for a packet; `ofproto/trace`
    /// passes the one given in its flow).
    pub metadata: u64,
    /// Registers reg0–reg15 the pipeline starts with (as `metadata`).
    pub regs: [u32; openflow::flow::FLOW_N_REGS],
    /// When tracing: the `ofproto/trace` lines are appended here.
    pub trace: Option<&'a mut Vec<String>>,
    /// Set when tracing: the flow at the end of translation.
    pub final_flow: Option<Flow>,
    /// When set, every table lookup is recorded here (see [`RuleCache`]).
    pub xcache: Option<&'a mut RuleCache>,
}

/// Translates datapath flow `key` (whose `in_port` is a datapath port)
/// into `out`: datapath actions and the mask of every field consulted.
///
/// `now` is the time in seconds for MAC learning; `may_learn` allows side
/// effects (learning) — true for upcalls and for revalidation of flows that
/// saw traffic. A packet from an unknown datapath port, or with a nonzero
/// `recirc_id` (no recirculation yet), is dropped.
pub fn xlate(
    cfg: &XConfig,
    key: &FlowKey,
    now: u64,
    may_learn: bool,
    out: &mut Xlated,
) -> XlateOutcome {
    let mut p = XlateParams {
        now,
        now_ns: now.saturating_mul(1_000_000_000),
        may_learn,
        ..XlateParams::default()
    };
    xlate_with(cfg, key, &mut p, out)
}

/// The initial megaflow mask of a key (OVS `xlate_wc_init`): `in_port`,
/// `recirc_id`, `dl_type`, and `nw_frag` for IP.
fn wc_init(key: &FlowKey) -> Flow {
    let mut wc = Flow::default();
    wc.key.in_port = u32::MAX;
    wc.key.recirc_id = u32::MAX;
    wc.key.dl_type = u16::MAX;
    if is_ip_any(key) {
        wc.key.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    }
    wc
}

/// [`xlate`] with every option (stats crediting, controller registry, tracing).
pub fn xlate_with(
    cfg: &XConfig,
    key: &FlowKey,
    p: &mut XlateParams<'_>,
    out: &mut Xlated,
) -> XlateOutcome {
    out.actions.clear();
    let mut wc = wc_init(key);
    let mut outcome = XlateOutcome::default();
    let entry = if key.recirc_id == 0 {
        cfg.odp_to_ofport(key.in_port)
    } else {
        None
    };
    if let Some((bridge, ofport)) = entry {
        let mut ctx = Ctx::new(
            cfg,
            Flow::from_key(key, ofport),
            key,
            wc,
            &mut out.actions,
            p,
        );
        let node = ctx.trace_bridge(bridge);
        ctx.enter(node);
        let no_recv = cfg.bridges[bridge]
            .port(ofport)
            .is_some_and(|(_, p)| p.config & OFPPC_NO_RECV != 0);
        if no_recv {
            // OVS `may_receive`: the rule lookup happens (and counts), its
            // actions do not run.
            ctx.lookup_only = true;
            xlate_table(&mut ctx, bridge, 0, false);
        } else {
            xlate_pipeline(&mut ctx, bridge, 0, None);
        }
        if ctx.tracing() {
            ctx.p.final_flow = Some(ctx.flow);
        }
        ctx.finish_trace();
        wc = ctx.wc;
        outcome = XlateOutcome {
            ml_changed: ctx.ml_changed,
            too_deep: ctx.error,
        };
        if ctx.error {
            out.actions.clear();
        }
    }
    out.mask = finish_mask(key, &wc);
    outcome
}

/// Translates OpenFlow `acts` for a packet with key `key` entering bridge
/// `bridge` on OpenFlow port `in_port` (OpenFlow packet-out, OVS
/// `ofproto_packet_out`): the actions run as if they were a rule's in table
/// 0; output to TABLE runs the pipeline.
pub fn xlate_actions(
    cfg: &XConfig,
    bridge: usize,
    key: &FlowKey,
    in_port: u16,
    acts: &[OfpAct],
    p: &mut XlateParams<'_>,
    out: &mut Xlated,
) -> XlateOutcome {
    out.actions.clear();
    let wc = wc_init(key);
    if bridge >= cfg.bridges.len() {
        return XlateOutcome::default();
    }
    let mut ctx = Ctx::new(
        cfg,
        Flow::from_key(key, in_port),
        key,
        wc,
        &mut out.actions,
        p,
    );
    ctx.rule_cookie = u64::MAX;
    let node = ctx.trace_bridge(bridge);
    ctx.enter(node);
    xlate_pipeline(&mut ctx, bridge, 0, Some(acts));
    if ctx.tracing() {
        ctx.p.final_flow = Some(ctx.flow);
    }
    ctx.finish_trace();
    let outcome = XlateOutcome {
        ml_changed: ctx.ml_changed,
        too_deep: ctx.error,
    };
    let wc = ctx.wc;
    if ctx.error {
        out.actions.clear();
    }
    out.mask = finish_mask(key, &wc);
    outcome
}

/// The datapath mask of translation wildcards `wc` (pipeline-only fields
/// dropped, `in_port`/`recirc_id` exact), after OVS `xlate_wc_finish`.
fn finish_mask(key: &FlowKey, wc: &Flow) -> FlowKey {
    let mut m = wc.key;
    m.in_port = u32::MAX;
    m.recirc_id = u32::MAX;
    m.pad1 = [0; 2];
    m.pad2 = [0; 2];
    m.pad3 = [0; 2];
    wc_finish(key, &mut m);
    m
}

/// Translation state (OVS `xlate_ctx`, reduced).
struct Ctx<'a, 'p> {
    cfg: &'a XConfig,
    /// The flow as the current bridge sees it; `in_port` is an OpenFlow port.
    flow: Flow,
    /// The packet's headers in the datapath after the actions so far
    /// (OVS `base_flow`); `vlan_tci` 0 when untagged.
    base: FlowKey,
    wc: Flow,
    actions: &'a mut Vec<DpAction>,
    depth: u32,
    resubmits: u32,
    error: bool,
    /// Stop executing actions (dec_ttl on TTL ≤ 1).
    exit: bool,
    /// The next table lookup only counts: the input port has
    /// OFPPC_NO_RECV.
    lookup_only: bool,
    ml_changed: bool,
    /// Table of the rule being executed, and its cookie.
    table_id: u8,
    rule_cookie: u64,
    /// The rule being executed is a table-miss flow.
    rule_table_miss: bool,
    /// OpenFlow 1.1+ action set of the current bridge.
    action_set: Vec<OfpAct>,
    /// When tracing: the tree of trace nodes (OVS `oftrace_node`s).
    tree: Option<TraceTree>,
    p: &'a mut XlateParams<'p>,
}

impl<'a, 'p> Ctx<'a, 'p> {
    fn new(
        cfg: &'a XConfig,
        flow: Flow,
        key: &FlowKey,
        wc: Flow,
        actions: &'a mut Vec<DpAction>,
        p: &'a mut XlateParams<'p>,
    ) -> Self {
        let mut flow = flow;
        flow.metadata = p.metadata;
        flow.regs = p.regs;
        let mut base = *key;
        // A TCI without CFI is no header (OVS never produces one).
        if base.vlan_tci & VLAN_CFI == 0 {
            base.vlan_tci = 0;
        }
        Ctx {
            cfg,
            flow,
            base,
            wc,
            actions,
            depth: 0,
            resubmits: 0,
            error: false,
            exit: false,
            lookup_only: false,
            ml_changed: false,
            table_id: 0,
            rule_cookie: 0,
            rule_table_miss: false,
            action_set: Vec::new(),
            tree: p.trace.is_some().then(TraceTree::default),
            p,
        }
    }

    fn tracing(&self) -> bool {
        self.tree.is_some()
    }

    /// Appends a trace node to the current list (when tracing).
    fn report(&mut self, kind: NodeKind, text: &str) -> Option<usize> {
        self.tree.as_mut().map(|t| t.report(kind, text))
    }

    /// Makes trace node `node` the current list; returns what to pass to
    /// [`Ctx::leave`].
    fn enter(&mut self, node: Option<usize>) -> Option<Option<usize>> {
        let (t, n) = (self.tree.as_mut()?, node?);
        Some(t.enter(n))
    }

    fn leave(&mut self, saved: Option<Option<usize>>) {
        if let (Some(t), Some(s)) = (self.tree.as_mut(), saved) {
            t.leave(s);
        }
    }

    /// An explanation (` -> TEXT` after the action), OVS `OFT_DETAIL`.
    fn note(&mut self, text: &str) {
        self.report(NodeKind::Detail, text);
    }

    /// A warning (` >> TEXT`), OVS `OFT_WARN`.
    fn warn(&mut self, text: &str) {
        self.report(NodeKind::Warn, text);
    }

    /// A `bridge("NAME")` node in the current list; returns it for
    /// [`Ctx::enter`].
    fn trace_bridge(&mut self, bridge: usize) -> Option<usize> {
        if !self.tracing() {
            return None;
        }
        let head = format!("bridge(\"{}\")", self.cfg.bridges[bridge].name);
        self.report(NodeKind::Bridge, &head)
    }

    /// Writes the trace tree out as lines into `p.trace`.
    fn finish_trace(&mut self) {
        if let (Some(tree), Some(lines)) = (self.tree.take(), self.p.trace.as_deref_mut()) {
            tree.render(lines);
        }
    }
}

fn is_ip_any(flow: &FlowKey) -> bool {
    flow.dl_type == ETH_TYPE_IP || flow.dl_type == ETH_TYPE_IPV6
}

/// OVS `xlate_wc_finish`, the parts that apply: CFI goes with any TCI bit;
/// ICMP type/code are 8 bits; later fragments have no L4 ports.
fn wc_finish(key: &FlowKey, wc: &mut FlowKey) {
    if wc.vlan_tci != 0 {
        wc.vlan_tci |= VLAN_CFI;
    }
    let icmp = (key.dl_type == ETH_TYPE_IP && key.nw_proto == IPPROTO_ICMP)
        || (key.dl_type == ETH_TYPE_IPV6 && key.nw_proto == IPPROTO_ICMPV6);
    if icmp {
        wc.tp_src &= 0xff;
        wc.tp_dst &= 0xff;
    }
    if is_ip_any(key) && key.nw_frag & FLOW_NW_FRAG_LATER != 0 {
        wc.tp_src = 0;
        wc.tp_dst = 0;
    }
}

/// ORs `bits` (a value of `field`'s width) into the field in `wc`.
fn wc_field(wc: &mut Flow, field: Field, bits: u128) {
    let old = field.get(wc);
    field.set(wc, old | bits);
}

/// Whether prerequisite `p` holds for the flow now, un-wildcarding what it
/// reads (OVS `mf_are_prereqs_ok` with a `wc`).
fn prereq_ok(ctx: &mut Ctx<'_, '_>, p: Prereq) -> bool {
    let k = ctx.flow.key;
    let ip = is_ip_any(&k);
    let proto = |ctx: &mut Ctx<'_, '_>, want: u8| {
        ctx.wc.key.nw_proto = u8::MAX;
        ip && k.nw_proto == want
    };
    match p {
        Prereq::None => true,
        Prereq::Vlan => {
            ctx.wc.key.vlan_tci |= VLAN_CFI;
            k.vlan_tci & VLAN_CFI != 0
        }
        Prereq::Arp => k.dl_type == ETH_TYPE_ARP || k.dl_type == 0x8035,
        Prereq::Ipv4 => k.dl_type == ETH_TYPE_IP,
        Prereq::Ipv6 => k.dl_type == ETH_TYPE_IPV6,
        Prereq::IpAny => ip,
        Prereq::Tcp => proto(ctx, IPPROTO_TCP),
        Prereq::Udp => proto(ctx, IPPROTO_UDP),
        Prereq::Sctp => proto(ctx, IPPROTO_SCTP),
        Prereq::L4 => {
            ctx.wc.key.nw_proto = u8::MAX;
            ip && matches!(k.nw_proto, IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP)
        }
        Prereq::Icmpv4 => k.dl_type == ETH_TYPE_IP && proto(ctx, IPPROTO_ICMP),
        Prereq::Icmpv6 => k.dl_type == ETH_TYPE_IPV6 && proto(ctx, IPPROTO_ICMPV6),
        Prereq::Nd | Prereq::NdSolicit | Prereq::NdAdvert => {
            if !(k.dl_type == ETH_TYPE_IPV6 && proto(ctx, IPPROTO_ICMPV6)) {
                return false;
            }
            ctx.wc.key.tp_src |= 0xff;
            ctx.wc.key.tp_dst |= 0xff;
            let t = k.tp_src & 0xff;
            k.tp_dst & 0xff == 0
                && match p {
                    Prereq::NdSolicit => t == 135,
                    Prereq::NdAdvert => t == 136,
                    _ => t == 135 || t == 136,
                }
        }
    }
}

/// Runs one bridge's pipeline from `table` (or `acts` as if they were the
/// matched rule's), then its action set (OpenFlow 1.3.5 §5.10).
fn xlate_pipeline(ctx: &mut Ctx<'_, '_>, bridge: usize, table: u8, acts: Option<&[OfpAct]>) {
    let saved_set = std::mem::take(&mut ctx.action_set);
    let first = match acts {
        Some(a) => {
            execute_list(ctx, bridge, a);
            None
        }
        None => xlate_table(ctx, bridge, table, true),
    };
    if !ctx.action_set.is_empty() && !ctx.error && !ctx.exit {
        let set = std::mem::take(&mut ctx.action_set);
        // OVS appends this node to the first table's list (its trace list
        // is still that table's when the pipeline ends).
        let saved = ctx.enter(first);
        let node = ctx.report(NodeKind::Table, "--. Executing action set:");
        let inner = ctx.enter(node);
        execute_list(ctx, bridge, &set);
        ctx.leave(inner);
        ctx.leave(saved);
    }
    ctx.action_set = saved_set;
}

/// Looks the flow up in `table` of `bridge` and executes the winner's
/// actions and instructions. When tracing, the lookup is a table node in
/// the current list and the actions go under it; returns that node.
///
/// A miss with `honor_miss` (the first lookup, goto_table, output:TABLE;
/// not resubmit) goes to the controllers when some OpenFlow 1.0–1.2
/// connection wants table misses and the input port lacks
/// OFPPC_NO_PACKET_IN (OVS `rule_dpif_lookup_from_table` choosing
/// `miss_rule`); otherwise it drops (`no_packet_in_rule`).
fn xlate_table(ctx: &mut Ctx<'_, '_>, bridge: usize, table: u8, honor_miss: bool) -> Option<usize> {
    let cfg = ctx.cfg;
    let b = cfg.bridges.get(bridge)?;
    if table == 0 && b.of.fail_open.load(std::sync::atomic::Ordering::Acquire) {
        return xlate_fail_open(ctx, bridge);
    }
    let (hit, counters) = {
        let t = b.of.tables.read_recursive();
        let hit = t.lookup(
            table,
            &ctx.flow,
            &mut ctx.wc,
            ctx.p.packets,
            ctx.p.bytes,
            ctx.p.now_ns,
        );
        let counters = ctx.p.xcache.is_some().then(|| t.counters(table).cloned());
        (hit, counters.flatten())
    };
    if let (Some(xc), Some(table)) = (ctx.p.xcache.as_deref_mut(), counters) {
        xc.lookups.push(XcLookup {
            table,
            rule: hit.as_ref().map(|h| h.stats.clone()),
        });
    }
    let lookup_only = std::mem::take(&mut ctx.lookup_only);
    let Some(hit) = hit else {
        let node = ctx.report(NodeKind::Table, &format!("{table:2}. No match."));
        let saved = ctx.enter(node);
        let in_port = ctx.flow.in_port();
        let to_controller = honor_miss
            && !lookup_only
            && b.of.packet_in_interest().table_miss
            && b.port(in_port)
                .is_none_or(|(_, p)| p.config & OFPPC_NO_PACKET_IN == 0);
        if to_controller {
            ctx.report(NodeKind::Action, "controller(reason=no_match)");
            let (saved_table, saved_cookie) = (ctx.table_id, ctx.rule_cookie);
            ctx.table_id = table;
            ctx.rule_cookie = 0;
            compose_controller(ctx, bridge, OFPR_IMPLICIT_MISS, 0, u16::MAX);
            ctx.table_id = saved_table;
            ctx.rule_cookie = saved_cookie;
        } else {
            ctx.report(NodeKind::Action, "drop");
        }
        ctx.leave(saved);
        return node;
    };
    let mut node = None;
    if ctx.tracing() {
        let m = crate::trace::format_match(&hit.match_);
        let mut s = format!("{table:2}. ");
        if !m.is_empty() {
            s.push_str(&m);
            s.push_str(", ");
        }
        s.push_str(&format!("priority {}", hit.priority));
        if hit.cookie != 0 {
            s.push_str(&format!(", cookie {:#x}", hit.cookie));
        }
        node = ctx.report(NodeKind::Table, &s);
    }
    let saved = ctx.enter(node);
    if hit.ofpacts.is_empty() {
        ctx.report(NodeKind::Action, "drop");
    }
    if lookup_only {
        ctx.note("OFPPC_NO_RECV set on the input port, dropping");
    } else {
        let (saved_table, saved_cookie) = (ctx.table_id, ctx.rule_cookie);
        let saved_miss = ctx.rule_table_miss;
        ctx.table_id = table;
        ctx.rule_cookie = hit.cookie;
        ctx.rule_table_miss = hit.priority == 0 && hit.match_.is_catchall();
        execute_list(ctx, bridge, &hit.ofpacts);
        ctx.table_id = saved_table;
        ctx.rule_cookie = saved_cookie;
        ctx.rule_table_miss = saved_miss;
    }
    ctx.leave(saved);
    node
}

/// Priority of OVS's hidden fail-open flow (`FAIL_OPEN_PRIORITY`), above
/// every OpenFlow priority.
pub const FAIL_OPEN_PRIORITY: u32 = 0xf0f0f0;

/// Table 0 of a bridge in fail-open mode: the hidden catch-all flow
/// `priority=15790320 actions=NORMAL` wins before any rule is looked at
/// (OVS `fail_open_flushed`), so the bridge is a learning switch.
fn xlate_fail_open(ctx: &mut Ctx<'_, '_>, bridge: usize) -> Option<usize> {
    let node = ctx.report(
        NodeKind::Table,
        &format!(" 0. priority {FAIL_OPEN_PRIORITY}"),
    );
    let saved = ctx.enter(node);
    if std::mem::take(&mut ctx.lookup_only) {
        ctx.note("OFPPC_NO_RECV set on the input port, dropping");
    } else {
        let (saved_table, saved_cookie) = (ctx.table_id, ctx.rule_cookie);
        ctx.table_id = 0;
        ctx.rule_cookie = 0;
        let normal = [OfpAct::Output {
            port: openflow::port::OFPP_NORMAL,
            max_len: 0,
        }];
        execute_list(ctx, bridge, &normal);
        ctx.table_id = saved_table;
        ctx.rule_cookie = saved_cookie;
    }
    ctx.leave(saved);
    node
}

/// The action-set slot of an action (one action per slot; OpenFlow 1.3.5
/// §5.10) and its execution rank.
fn set_slot(a: &OfpAct) -> (u8, Option<Field>) {
    match a {
        OfpAct::StripVlan | OfpAct::PopVlan => (1, None),
        OfpAct::PushVlan(_) => (2, None),
        OfpAct::DecTtl => (3, None),
        OfpAct::SetField { field, .. } => (4, Some(*field)),
        OfpAct::RegLoad { dst, .. } => (4, Some(dst.field)),
        OfpAct::SetVlanVid(_) => (4, Some(Field::VlanVid)),
        OfpAct::SetVlanPcp(_) => (4, Some(Field::VlanPcp)),
        OfpAct::SetEthSrc(_) => (4, Some(Field::EthSrc)),
        OfpAct::SetEthDst(_) => (4, Some(Field::EthDst)),
        OfpAct::SetIpv4Src(_) => (4, Some(Field::IpSrc)),
        OfpAct::SetIpv4Dst(_) => (4, Some(Field::IpDst)),
        OfpAct::SetIpDscp(_) => (4, Some(Field::IpDscp)),
        OfpAct::SetIpEcn(_) => (4, Some(Field::IpEcn)),
        OfpAct::SetIpTtl(_) => (4, Some(Field::IpTtl)),
        OfpAct::SetL4SrcPort(_) => (4, Some(Field::TpSrc)),
        OfpAct::SetL4DstPort(_) => (4, Some(Field::TpDst)),
        OfpAct::Group(_) => (6, None),
        OfpAct::Output { .. } | OfpAct::Enqueue { .. } | OfpAct::Controller { .. } => (7, None),
        _ => (5, None),
    }
}

/// Merges Write-Actions `acts` into the action set: an action replaces the
/// one already in its slot; the set stays sorted by execution rank.
fn write_actions(set: &mut Vec<OfpAct>, acts: &[OfpAct]) {
    for a in acts {
        let slot = set_slot(a);
        set.retain(|x| set_slot(x) != slot);
        set.push(a.clone());
    }
    set.sort_by_key(|a| set_slot(a).0);
}

/// Executes an action list (OVS `do_xlate_actions`).
fn execute_list(ctx: &mut Ctx<'_, '_>, bridge: usize, acts: &[OfpAct]) {
    for a in acts {
        if ctx.error || ctx.exit {
            return;
        }
        if ctx.tracing() {
            let text = crate::trace::format_action(a);
            ctx.report(NodeKind::Action, &text);
        }
        execute_one(ctx, bridge, a);
    }
}

fn execute_one(ctx: &mut Ctx<'_, '_>, bridge: usize, a: &OfpAct) {
    match a {
        OfpAct::Output { port, max_len } => xlate_output(ctx, bridge, *port, *max_len),
        OfpAct::Enqueue { port, .. } => xlate_output(ctx, bridge, *port, 0),
        OfpAct::Controller {
            max_len,
            reason,
            controller_id,
        } => compose_controller(ctx, bridge, *reason, *controller_id, *max_len),
        OfpAct::SetVlanVid(vid) => {
            ctx.wc.key.vlan_tci |= VLAN_VID_MASK | VLAN_CFI;
            // OpenFlow 1.0 semantics: push a tag (PCP 0) when there is none.
            let t = tci_or_zero(ctx.flow.key.vlan_tci);
            ctx.flow.key.vlan_tci = (t & !VLAN_VID_MASK) | (vid & VLAN_VID_MASK) | VLAN_CFI;
        }
        OfpAct::SetVlanPcp(pcp) => {
            ctx.wc.key.vlan_tci |= VLAN_PCP_MASK | VLAN_CFI;
            let t = tci_or_zero(ctx.flow.key.vlan_tci);
            ctx.flow.key.vlan_tci = (t & !VLAN_PCP_MASK) | ((u16::from(*pcp) & 7) << 13) | VLAN_CFI;
        }
        OfpAct::StripVlan | OfpAct::PopVlan => {
            ctx.wc.key.vlan_tci |= VLAN_CFI;
            ctx.flow.key.vlan_tci = 0;
        }
        OfpAct::PushVlan(_) => {
            ctx.wc.key.vlan_tci |= VLAN_CFI;
            if ctx.flow.key.vlan_tci & VLAN_CFI == 0 {
                ctx.flow.key.vlan_tci = VLAN_CFI;
            } else {
                // The datapath key has one VLAN header: a second tag is not
                // representable, so the packet keeps its single tag.
                ctx.note("push_vlan on a tagged packet is not supported, ignored");
            }
        }
        OfpAct::SetEthSrc(m) => set_field(ctx, Field::EthSrc, be_u128(m), u128::MAX),
        OfpAct::SetEthDst(m) => set_field(ctx, Field::EthDst, be_u128(m), u128::MAX),
        OfpAct::SetIpv4Src(a) => {
            if ctx.flow.key.dl_type == ETH_TYPE_IP {
                set_field(ctx, Field::IpSrc, be_u128(a), u128::MAX)
            }
        }
        OfpAct::SetIpv4Dst(a) => {
            if ctx.flow.key.dl_type == ETH_TYPE_IP {
                set_field(ctx, Field::IpDst, be_u128(a), u128::MAX)
            }
        }
        OfpAct::SetIpDscp(d) => {
            if is_ip_any(&ctx.flow.key) {
                set_field(ctx, Field::IpDscp, u128::from(*d >> 2), u128::MAX)
            }
        }
        OfpAct::SetIpEcn(e) => {
            if is_ip_any(&ctx.flow.key) {
                set_field(ctx, Field::IpEcn, u128::from(*e), u128::MAX)
            }
        }
        OfpAct::SetIpTtl(t) => {
            if is_ip_any(&ctx.flow.key) {
                set_field(ctx, Field::IpTtl, u128::from(*t), u128::MAX)
            }
        }
        OfpAct::SetL4SrcPort(p) => {
            if prereq_ok(ctx, Prereq::L4) {
                set_field(ctx, Field::TpSrc, u128::from(*p), u128::MAX)
            }
        }
        OfpAct::SetL4DstPort(p) => {
            if prereq_ok(ctx, Prereq::L4) {
                set_field(ctx, Field::TpDst, u128::from(*p), u128::MAX)
            }
        }
        OfpAct::DecTtl => {
            if !is_ip_any(&ctx.flow.key) {
                return;
            }
            ctx.wc.key.nw_ttl = u8::MAX;
            if ctx.flow.key.nw_ttl > 1 {
                ctx.flow.key.nw_ttl -= 1;
            } else {
                // OVS `compose_dec_ttl`: an invalid-TTL packet-in to the
                // controllers that asked for one (only then a userspace
                // action: nobody asking means a plain drop), and stop.
                let of = &ctx.cfg.bridges[bridge].of;
                of.invalid_ttl
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if of.packet_in_interest().invalid_ttl {
                    compose_controller(
                        ctx,
                        bridge,
                        openflow::actions::OFPR_INVALID_TTL,
                        0,
                        u16::MAX,
                    );
                }
                ctx.note("TTL exceeded, dropping");
                ctx.exit = true;
            }
        }
        OfpAct::SetField { field, value, mask } => {
            if prereq_ok(ctx, field.prereq()) {
                set_field(ctx, *field, *value, *mask);
            }
        }
        OfpAct::RegLoad { dst, value } => {
            if prereq_ok(ctx, dst.field.prereq()) {
                let m = dst.mask();
                let v = (value << dst.ofs.min(127)) & m;
                set_field(ctx, dst.field, v, m);
            }
        }
        OfpAct::RegMove { src, dst } => {
            if prereq_ok(ctx, src.field.prereq()) && prereq_ok(ctx, dst.field.prereq()) {
                let v = src.get(&ctx.flow);
                wc_field(&mut ctx.wc, src.field, src.mask());
                let m = dst.mask();
                set_field(ctx, dst.field, (v << dst.ofs.min(127)) & m, m);
            }
        }
        OfpAct::Resubmit { in_port, table } => {
            xlate_resubmit(ctx, bridge, *in_port, table.unwrap_or(ctx.table_id))
        }
        OfpAct::Note(_) | OfpAct::Group(_) | OfpAct::Meter(_) => {}
        OfpAct::ClearActions => {
            if ctx.tracing() {
                let note = if ctx.action_set.is_empty() {
                    "action set was empty".to_string()
                } else {
                    let set = openflow::text::format_actions(&ctx.action_set, None);
                    format!("action set was: {set}")
                };
                ctx.note(&note);
            }
            ctx.action_set.clear();
        }
        OfpAct::WriteActions(acts) => {
            write_actions(&mut ctx.action_set, acts);
            if ctx.tracing() {
                let set = openflow::text::format_actions(&ctx.action_set, None);
                ctx.note(&format!("action set is: {set}"));
            }
        }
        OfpAct::WriteMetadata { value, mask } => {
            ctx.flow.metadata = (ctx.flow.metadata & !mask) | (value & mask);
        }
        OfpAct::GotoTable(t) => {
            if *t > ctx.table_id {
                xlate_table(ctx, bridge, *t, true);
            }
        }
        _ => ctx.note("unsupported action, ignored"),
    }
}

/// `tci` if it has a VLAN header (CFI), else 0 (no bits of an absent tag).
fn tci_or_zero(tci: u16) -> u16 {
    if tci & VLAN_CFI != 0 {
        tci
    } else {
        0
    }
}

fn be_u128(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0, |a, &b| (a << 8) | u128::from(b))
}

/// Writes `value` under `mask` into `field` of the flow and un-wildcards
/// the written bits (OVS `xlate_set_field`: a rewrite is decided by the
/// packet's old value, so the megaflow matches it exactly).
fn set_field(ctx: &mut Ctx<'_, '_>, field: Field, value: u128, mask: u128) {
    let mask = mask & openflow::mf::low_bits(field.n_bits());
    let old = field.get(&ctx.flow);
    field.set(&mut ctx.flow, (old & !mask) | (value & mask));
    wc_field(&mut ctx.wc, field, mask);
}

/// `resubmit(port,table)` (OVS `xlate_resubmit_resource_check` +
/// `xlate_table_action`): bounded by [`MAX_DEPTH`] nesting and
/// [`MAX_RESUBMITS`] in total; exceeding either drops the packet.
fn xlate_resubmit(ctx: &mut Ctx<'_, '_>, bridge: usize, in_port: Option<u16>, table: u8) {
    if ctx.depth >= MAX_DEPTH || ctx.resubmits >= MAX_RESUBMITS {
        tracing::warn!(
            depth = ctx.depth,
            "over max translation depth (resubmit loop?), dropping"
        );
        ctx.report(
            NodeKind::Error,
            &format!("over max translation depth {MAX_DEPTH}"),
        );
        ctx.error = true;
        return;
    }
    // Only a resubmit to the same or an earlier table can loop, so only
    // it deepens (OVS `xlate_recursively`'s `deepens`).
    let deepens = table <= ctx.table_id;
    ctx.depth += u32::from(deepens);
    ctx.resubmits += 1;
    let saved_in = ctx.flow.key.in_port;
    if let Some(p) = in_port.filter(|&p| p != OFPP_IN_PORT) {
        ctx.flow.key.in_port = u32::from(p);
    }
    xlate_table(ctx, bridge, table, false);
    ctx.flow.key.in_port = saved_in;
    ctx.depth -= u32::from(deepens);
}

/// `output:PORT` with OpenFlow's reserved ports (OVS `xlate_output_action`).
fn xlate_output(ctx: &mut Ctx<'_, '_>, bridge: usize, port: u16, max_len: u16) {
    let in_port = ctx.flow.in_port();
    match port {
        OFPP_NORMAL => xlate_normal(ctx, bridge),
        OFPP_FLOOD | OFPP_ALL => {
            let b = &ctx.cfg.bridges[bridge];
            for &p in &b.ofports {
                let no_flood = port == OFPP_FLOOD
                    && b.port(p)
                        .is_some_and(|(_, x)| x.config & OFPPC_NO_FLOOD != 0);
                if p != in_port && !no_flood {
                    compose_output(ctx, bridge, p);
                    if ctx.error {
                        return;
                    }
                }
            }
        }
        OFPP_IN_PORT => compose_output(ctx, bridge, in_port),
        OFPP_CONTROLLER => {
            compose_controller(ctx, bridge, openflow::actions::OFPR_ACTION, 0, max_len)
        }
        OFPP_TABLE => {
            if ctx.depth < MAX_DEPTH {
                ctx.depth += 1;
                xlate_table(ctx, bridge, 0, true);
                ctx.depth -= 1;
            }
        }
        OFPP_NONE => {}
        p => {
            if p != in_port {
                compose_output(ctx, bridge, p);
            } else {
                ctx.warn("skipping output to input port");
            }
        }
    }
}

/// Sends the packet to the controllers: pending header changes are
/// committed, then a datapath `userspace` action carries the reason,
/// controller id, `max_len` and a registry id for (bridge, table, cookie).
fn compose_controller(ctx: &mut Ctx<'_, '_>, bridge: usize, reason: u8, id: u16, max_len: u16) {
    commit(ctx);
    let ctx_id = match ctx.p.ctl {
        Some(reg) => reg.intern(&CtlContext {
            bridge: ctx.cfg.bridges[bridge].name.clone(),
            table_id: ctx.table_id,
            cookie: ctx.rule_cookie,
            // The datapath action keeps OFPR_ACTION (as OVS prints it);
            // the packet-in becomes OFPR_EXPLICIT_MISS.
            table_miss: ctx.rule_table_miss && reason == openflow::actions::OFPR_ACTION,
        }),
        None => 0,
    };
    let ud = ControllerUserdata {
        reason,
        controller_id: id,
        max_len,
        recirc_id: ctx_id,
    };
    ctx.actions.push(DpAction::Userspace {
        userdata: ud.to_userdata(),
    });
}

/// Emits whatever datapath actions turn the packet's headers (`base`) into
/// the flow's (OVS `commit_odp_actions`): Ethernet addresses, VLAN
/// pop/push, IPv4/IPv6 fields, L4 ports, each as a masked set whose mask is
/// the megaflow mask of that header (so it covers every written bit).
fn commit(ctx: &mut Ctx<'_, '_>) {
    // Keys carry only masked bits, so equal megaflows get equal actions.
    let f = ctx.flow.key.masked(&ctx.wc.key);
    let full = ctx.flow.key;
    let b = ctx.base;
    let wc = ctx.wc.key;
    if full.dl_src != b.dl_src || full.dl_dst != b.dl_dst {
        ctx.actions.push(DpAction::SetEthMasked {
            key: EthKey {
                src: f.dl_src,
                dst: f.dl_dst,
            },
            mask: EthKey {
                src: wc.dl_src,
                dst: wc.dl_dst,
            },
        });
        ctx.base.dl_src = full.dl_src;
        ctx.base.dl_dst = full.dl_dst;
    }
    commit_vlan(ctx);
    // OVS `commit_set_nw_action`: an IP packet whose `nw_proto` is 0 is
    // taken to have no L3 header to rewrite (the rewrite then depends on
    // `nw_proto`, which joins the megaflow).
    let l3_changed = full.nw_src != b.nw_src
        || full.nw_dst != b.nw_dst
        || full.ipv6_src != b.ipv6_src
        || full.ipv6_dst != b.ipv6_dst
        || full.ipv6_label != b.ipv6_label
        || full.nw_tos != b.nw_tos
        || full.nw_ttl != b.nw_ttl;
    if is_ip_any(&full) && l3_changed {
        ctx.wc.key.nw_proto = u8::MAX;
        if full.nw_proto == 0 {
            return;
        }
    }
    if full.dl_type == ETH_TYPE_IP
        && (full.nw_src != b.nw_src
            || full.nw_dst != b.nw_dst
            || full.nw_tos != b.nw_tos
            || full.nw_ttl != b.nw_ttl)
    {
        ctx.actions.push(DpAction::SetIpv4 {
            key: Ipv4Key {
                src: f.nw_src,
                dst: f.nw_dst,
                tos: f.nw_tos,
                ttl: f.nw_ttl,
            },
            mask: Ipv4Key {
                src: wc.nw_src,
                dst: wc.nw_dst,
                tos: wc.nw_tos,
                ttl: wc.nw_ttl,
            },
        });
        ctx.base.nw_src = full.nw_src;
        ctx.base.nw_dst = full.nw_dst;
        ctx.base.nw_tos = full.nw_tos;
        ctx.base.nw_ttl = full.nw_ttl;
    }
    if full.dl_type == ETH_TYPE_IPV6
        && (full.ipv6_src != b.ipv6_src
            || full.ipv6_dst != b.ipv6_dst
            || full.ipv6_label != b.ipv6_label
            || full.nw_tos != b.nw_tos
            || full.nw_ttl != b.nw_ttl)
    {
        ctx.actions.push(DpAction::SetIpv6 {
            key: Ipv6Key {
                src: f.ipv6_src,
                dst: f.ipv6_dst,
                label: f.ipv6_label,
                tclass: f.nw_tos,
                hlimit: f.nw_ttl,
            },
            mask: Ipv6Key {
                src: wc.ipv6_src,
                dst: wc.ipv6_dst,
                label: wc.ipv6_label,
                tclass: wc.nw_tos,
                hlimit: wc.nw_ttl,
            },
        });
        ctx.base.ipv6_src = full.ipv6_src;
        ctx.base.ipv6_dst = full.ipv6_dst;
        ctx.base.ipv6_label = full.ipv6_label;
        ctx.base.nw_tos = full.nw_tos;
        ctx.base.nw_ttl = full.nw_ttl;
    }
    if is_ip_any(&full) && (full.tp_src != b.tp_src || full.tp_dst != b.tp_dst) {
        ctx.wc.key.nw_proto = u8::MAX;
        let proto = match full.nw_proto {
            IPPROTO_TCP => Some(L4Proto::Tcp),
            IPPROTO_UDP => Some(L4Proto::Udp),
            IPPROTO_SCTP => Some(L4Proto::Sctp),
            _ => None,
        };
        if let Some(proto) = proto {
            ctx.actions.push(DpAction::SetTransport {
                proto,
                key: PortsKey {
                    src: f.tp_src,
                    dst: f.tp_dst,
                },
                mask: PortsKey {
                    src: wc.tp_src,
                    dst: wc.tp_dst,
                },
            });
            ctx.base.tp_src = full.tp_src;
            ctx.base.tp_dst = full.tp_dst;
        }
    }
}

/// Emits whatever VLAN actions turn the datapath packet's VLAN into the
/// one the flow wants (OVS `commit_vlan_action`).
fn commit_vlan(ctx: &mut Ctx<'_, '_>) {
    let want = ctx.flow.key.vlan_tci;
    let have = ctx.base.vlan_tci;
    if want == have {
        return;
    }
    if have & VLAN_CFI != 0 {
        ctx.actions.push(DpAction::PopVlan);
        ctx.wc.key.vlan_tci = u16::MAX;
    }
    if want & VLAN_CFI != 0 {
        ctx.actions.push(DpAction::PushVlan {
            tpid: ETH_TYPE_VLAN_8021Q,
            tci: want & !VLAN_CFI,
        });
    }
    ctx.base.vlan_tci = want;
}

/// Sends the flow, as it is now, to OpenFlow port `ofport` of `bridge`
/// (OVS `compose_output_action__`): a datapath output, or a walk into the
/// peer bridge for a patch port. Unknown or unopened ports drop.
fn compose_output(ctx: &mut Ctx<'_, '_>, bridge: usize, ofport: u16) {
    let cfg = ctx.cfg;
    let Some((_, port)) = cfg.bridges[bridge].port(ofport) else {
        return;
    };
    if port.config & OFPPC_NO_FWD != 0 {
        ctx.warn("OFPPC_NO_FWD set, skipping output");
        return;
    }
    if let Some(peer) = port.peer {
        patch_output(ctx, peer);
    } else if let Some(odp) = port.odp_port {
        commit(ctx);
        ctx.actions.push(DpAction::Output(odp));
    }
}

/// Continues translation in the peer bridge (OVS `patch_port_output`):
/// pipeline from table 0 with `in_port` = the peer, metadata and registers
/// cleared, a fresh action set; the flow is restored afterwards.
fn patch_output(ctx: &mut Ctx<'_, '_>, peer: PeerRef) {
    if ctx.depth >= MAX_DEPTH || ctx.resubmits >= MAX_RESUBMITS {
        tracing::warn!(
            depth = ctx.depth,
            resubmits = ctx.resubmits,
            "over max translation depth (patch port loop?), dropping"
        );
        ctx.error = true;
        return;
    }
    ctx.depth += 1;
    ctx.resubmits += 1;
    let saved = ctx.flow;
    let (saved_table, saved_cookie) = (ctx.table_id, ctx.rule_cookie);
    ctx.flow.key.in_port = u32::from(peer.ofport);
    ctx.flow.metadata = 0;
    ctx.flow.regs = [0; openflow::flow::FLOW_N_REGS];
    let node = ctx.trace_bridge(peer.bridge);
    let saved_trace = ctx.enter(node);
    let no_recv = ctx.cfg.bridges[peer.bridge]
        .port(peer.ofport)
        .is_some_and(|(_, p)| p.config & OFPPC_NO_RECV != 0);
    if no_recv {
        ctx.note("OFPPC_NO_RECV set on the peer, dropping");
    } else {
        xlate_pipeline(ctx, peer.bridge, 0, None);
    }
    ctx.leave(saved_trace);
    ctx.flow = saved;
    ctx.table_id = saved_table;
    ctx.rule_cookie = saved_cookie;
    ctx.exit = false;
    ctx.depth -= 1;
}

/// OVS `is_gratuitous_arp`: its answer only matters for bonds (not yet
/// supported), but the fields it reads belong in the megaflow mask so that
/// oxvs installs the same megaflows as OVS.
fn is_gratuitous_arp(flow: &FlowKey, wc: &mut FlowKey) -> bool {
    if flow.dl_type != ETH_TYPE_ARP {
        return false;
    }
    wc.dl_dst = [0xff; 6];
    if flow.dl_dst != [0xff; 6] {
        return false;
    }
    wc.nw_proto = u8::MAX;
    match flow.nw_proto {
        ARP_OP_REPLY => true,
        ARP_OP_REQUEST => {
            wc.nw_src = [0xff; 4];
            wc.nw_dst = [0xff; 4];
            flow.nw_src == flow.nw_dst
        }
        _ => false,
    }
}

/// The NORMAL action (OVS `xlate_normal`, without mirrors, bonds and
/// multicast snooping).
fn xlate_normal(ctx: &mut Ctx<'_, '_>, bridge: usize) {
    let cfg = ctx.cfg;
    let b = &cfg.bridges[bridge];
    ctx.wc.key.dl_src = [0xff; 6];
    ctx.wc.key.dl_dst = [0xff; 6];
    ctx.wc.key.vlan_tci |= VLAN_VID_MASK | VLAN_CFI;

    let Ok(in_ofport) = u16::try_from(ctx.flow.key.in_port) else {
        return;
    };
    let Some((in_bundle_idx, _)) = b.port(in_ofport) else {
        ctx.note("no input bundle, dropping");
        return;
    };
    let in_bundle = &b.bundles[in_bundle_idx];

    // Drop malformed frames (a VLAN ethertype without a complete tag).
    let tci = ctx.flow.key.vlan_tci;
    if (ctx.flow.key.dl_type == ETH_TYPE_VLAN_8021Q || ctx.flow.key.dl_type == ETH_TYPE_VLAN_8021AD)
        && tci & VLAN_CFI == 0
    {
        return;
    }

    // Check the VLAN.
    let (in_vid, in_pcp) = if tci & VLAN_CFI != 0 {
        (tci & VLAN_VID_MASK, tci & VLAN_PCP_MASK)
    } else {
        (0, 0)
    };
    if !in_bundle.input_vid_is_valid(in_vid) {
        ctx.note("disallowed VLAN VID for this input port, dropping");
        return;
    }
    let (vlan, pcp) = in_bundle.input_vlan(in_vid, in_pcp);

    // Admissibility: reserved destinations (forward-bpdu is off).
    if eth_addr_is_reserved(&ctx.flow.key.dl_dst) {
        ctx.note("packet has reserved destination MAC, dropping");
        return;
    }

    let _is_grat_arp = is_gratuitous_arp(&ctx.flow.key, &mut ctx.wc.key);

    // Learn the source, then look the destination up (one short lock).
    let Some(in_key) = in_bundle.mac_key() else {
        return;
    };
    let dst = {
        let mut ml = b.ml.lock();
        if ctx.p.may_learn && ml.learn(&ctx.flow.key.dl_src, vlan, in_key, ctx.p.now) {
            ctx.ml_changed = true;
        }
        ml.lookup(&ctx.flow.key.dl_dst, vlan)
    };

    match dst {
        Some(key) => match b.bundle_by_mac_key(key) {
            Some(out) if out != in_bundle_idx => {
                ctx.note("forwarding to learned port");
                output_normal(ctx, bridge, out, vlan, pcp)
            }
            Some(_) => ctx.note("learned port is input port, dropping"),
            None => ctx.note("learned port is unknown, dropping"),
        },
        None => {
            ctx.note("no learned MAC for destination, flooding");
            for (i, out) in b.bundles.iter().enumerate() {
                if i != in_bundle_idx && out.includes_vlan(vlan) && out.floodable() {
                    output_normal(ctx, bridge, i, vlan, pcp);
                    if ctx.error {
                        return;
                    }
                }
            }
        }
    }
}

/// Outputs to bundle `out` of `bridge` in VLAN `vlan` with priority `pcp`,
/// tagged as the port's mode requires (OVS `output_normal`).
fn output_normal(ctx: &mut Ctx<'_, '_>, bridge: usize, out: usize, vlan: u16, pcp: u16) {
    let cfg = ctx.cfg;
    let bundle = &cfg.bridges[bridge].bundles[out];
    let Some(port) = bundle.ifaces.first() else {
        return; // partially configured bundle
    };
    let saved = ctx.flow.key.vlan_tci;
    // In VLAN 0 a tag with priority 0 is no tag at all: whether a tagged
    // (priority-tagged) input leaves tagged depends on its PCP wherever the
    // port can send tags.
    if vlan == 0 && saved & VLAN_CFI != 0 && bundle.vlan_mode != VlanMode::Access {
        ctx.wc.key.vlan_tci |= VLAN_PCP_MASK;
    }
    ctx.flow.key.vlan_tci = bundle.output_tci(vlan, pcp);
    compose_output(ctx, bridge, port.ofport);
    ctx.flow.key.vlan_tci = saved;
}

#[cfg(test)]
#[path = "xlate_tests.rs"]
mod tests;
