//! Translation of a flow through the OpenFlow tables of the bridges into
//! datapath actions (Open vSwitch `ofproto/ofproto-dpif-xlate.c`).
//!
//! Idea: translation walks one flow (a [`FlowKey`] whose `in_port` holds the
//! OpenFlow port of the bridge being walked) through a bridge's rule table
//! and executes the OpenFlow actions symbolically. Every field the walk reads
//! is recorded in the wildcard mask (`wc`), so that the resulting megaflow
//! `(key & wc) -> actions` is valid for every packet that agrees on those
//! bits. Two VLAN states are tracked: `flow.vlan_tci`, the VLAN the next
//! output wants, and `base_tci`, the VLAN the packet in the datapath carries
//! now; just before each datapath `Output` the difference is committed as
//! `pop_vlan` / `push_vlan` actions (OVS `commit_vlan_action`), so a flood to
//! ports of different VLAN modes emits the minimal action list in port order.
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
//! one short MAC-table lock per NORMAL action and allocates nothing but the
//! actions vector.

use std::collections::HashMap;
use std::sync::Arc;

use datapath::{DpAction, Xlated};
use packet::flow::{
    FlowKey, FLOW_NW_FRAG_ANY, FLOW_NW_FRAG_LATER, VLAN_CFI, VLAN_PCP_MASK, VLAN_VID_MASK,
};
use parking_lot::Mutex;

use crate::config::{BridgeConfig, PortConfig, VlanMode};
use crate::mac_learning::{EthAddr, MacLearning};

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

/// One OpenFlow action of a rule (the subset oxvs executes so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfAction {
    /// `NORMAL`: L2 learning switch with VLANs.
    Normal,
    /// `output:PORT`: send to an OpenFlow port of the bridge (skipped if it
    /// is the input port, as OpenFlow requires).
    Output(u16),
}

/// One flow-table rule: a masked match, a priority and its actions.
///
/// The match is on the translation flow, whose `in_port` is the *OpenFlow*
/// port number. A placeholder until the classifier crate takes over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Higher wins.
    pub priority: u16,
    /// Field values (already masked by `match_mask`).
    pub match_value: FlowKey,
    /// Significant bits of the match.
    pub match_mask: FlowKey,
    /// Actions; empty = drop.
    pub actions: Vec<OfAction>,
}

impl Rule {
    /// The rule every new bridge starts with: `priority=0 actions=NORMAL`.
    pub fn default_normal() -> Rule {
        Rule {
            priority: 0,
            match_value: FlowKey::default(),
            match_mask: FlowKey::default(),
            actions: vec![OfAction::Normal],
        }
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
    /// Table 0, highest priority first.
    pub rules: Vec<Rule>,
    /// The bridge's MAC learning table (kept across reconfigurations).
    pub ml: Arc<Mutex<MacLearning>>,
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
        mut ml_for: impl FnMut(&BridgeConfig) -> Arc<Mutex<MacLearning>>,
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
            cfg.bridges.push(XBridge {
                name: bc.name.clone(),
                bundles,
                rules: vec![Rule::default_normal()],
                ml: ml_for(bc),
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

    /// The bridge named `name`.
    pub fn bridge(&self, name: &str) -> Option<&XBridge> {
        self.by_name.get(name).map(|&i| &self.bridges[i])
    }

    /// The (bridge index, OpenFlow port) of datapath port `odp_port`.
    pub fn odp_to_ofport(&self, odp_port: u32) -> Option<(usize, u16)> {
        self.by_odp.get(&odp_port).copied()
    }
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
    out.actions.clear();
    let mut wc = FlowKey {
        in_port: u32::MAX,
        recirc_id: u32::MAX,
        dl_type: u16::MAX,
        ..FlowKey::default()
    };
    if is_ip_any(key) {
        wc.nw_frag = FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER;
    }
    let mut outcome = XlateOutcome::default();
    let entry = if key.recirc_id == 0 {
        cfg.odp_to_ofport(key.in_port)
    } else {
        None
    };
    if let Some((bridge, ofport)) = entry {
        let mut flow = *key;
        flow.in_port = u32::from(ofport);
        let mut ctx = Ctx {
            cfg,
            flow,
            // A TCI without CFI is no header (OVS never produces one).
            base_tci: if key.vlan_tci & VLAN_CFI != 0 {
                key.vlan_tci
            } else {
                0
            },
            wc,
            actions: &mut out.actions,
            depth: 0,
            resubmits: 0,
            error: false,
            now,
            may_learn,
            ml_changed: false,
        };
        xlate_table(&mut ctx, bridge);
        wc = ctx.wc;
        outcome = XlateOutcome {
            ml_changed: ctx.ml_changed,
            too_deep: ctx.error,
        };
        if ctx.error {
            out.actions.clear();
        }
    }
    wc_finish(key, &mut wc);
    out.mask = wc;
    outcome
}

/// Translation state (OVS `xlate_ctx`, reduced).
struct Ctx<'a> {
    cfg: &'a XConfig,
    /// The flow as the current bridge sees it; `in_port` is an OpenFlow port.
    flow: FlowKey,
    /// `vlan_tci` of the packet in the datapath after the actions so far.
    base_tci: u16,
    wc: FlowKey,
    actions: &'a mut Vec<DpAction>,
    depth: u32,
    resubmits: u32,
    error: bool,
    now: u64,
    may_learn: bool,
    ml_changed: bool,
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

fn or_mask(wc: &mut FlowKey, m: &FlowKey) {
    for (a, b) in wc.words_mut().iter_mut().zip(m.words()) {
        *a |= *b;
    }
}

/// Looks the flow up in table 0 of `bridge` and executes the winner.
fn xlate_table(ctx: &mut Ctx<'_>, bridge: usize) {
    let cfg = ctx.cfg;
    let Some(b) = cfg.bridges.get(bridge) else {
        return;
    };
    for rule in &b.rules {
        or_mask(&mut ctx.wc, &rule.match_mask);
        if ctx.flow.equal_under(&rule.match_value, &rule.match_mask) {
            for action in &rule.actions {
                match *action {
                    OfAction::Normal => xlate_normal(ctx, bridge),
                    OfAction::Output(port) => {
                        if u32::from(port) != ctx.flow.in_port {
                            compose_output(ctx, bridge, port);
                        }
                    }
                }
                if ctx.error {
                    return;
                }
            }
            return;
        }
    }
    // Table miss: drop.
}

/// Emits whatever VLAN actions turn the datapath packet's VLAN into the
/// one the flow wants (OVS `commit_vlan_action`).
fn commit_vlan(ctx: &mut Ctx<'_>) {
    let want = ctx.flow.vlan_tci;
    let have = ctx.base_tci;
    if want == have {
        return;
    }
    if have & VLAN_CFI != 0 {
        ctx.actions.push(DpAction::PopVlan);
        ctx.wc.vlan_tci = u16::MAX;
    }
    if want & VLAN_CFI != 0 {
        ctx.actions.push(DpAction::PushVlan {
            tpid: ETH_TYPE_VLAN_8021Q,
            tci: want & !VLAN_CFI,
        });
    }
    ctx.base_tci = want;
}

/// Sends the flow, as it is now, to OpenFlow port `ofport` of `bridge`
/// (OVS `compose_output_action__`): a datapath output, or a walk into the
/// peer bridge for a patch port. Unknown or unopened ports drop.
fn compose_output(ctx: &mut Ctx<'_>, bridge: usize, ofport: u16) {
    let cfg = ctx.cfg;
    let Some((_, port)) = cfg.bridges[bridge].port(ofport) else {
        return;
    };
    if let Some(peer) = port.peer {
        patch_output(ctx, peer);
    } else if let Some(odp) = port.odp_port {
        commit_vlan(ctx);
        ctx.actions.push(DpAction::Output(odp));
    }
}

/// Continues translation in the peer bridge (OVS `patch_port_output`).
fn patch_output(ctx: &mut Ctx<'_>, peer: PeerRef) {
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
    ctx.flow.in_port = u32::from(peer.ofport);
    xlate_table(ctx, peer.bridge);
    ctx.flow = saved;
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
fn xlate_normal(ctx: &mut Ctx<'_>, bridge: usize) {
    let cfg = ctx.cfg;
    let b = &cfg.bridges[bridge];
    ctx.wc.dl_src = [0xff; 6];
    ctx.wc.dl_dst = [0xff; 6];
    ctx.wc.vlan_tci |= VLAN_VID_MASK | VLAN_CFI;

    let Ok(in_ofport) = u16::try_from(ctx.flow.in_port) else {
        return;
    };
    let Some((in_bundle_idx, _)) = b.port(in_ofport) else {
        return; // "no input bundle, dropping"
    };
    let in_bundle = &b.bundles[in_bundle_idx];

    // Drop malformed frames (a VLAN ethertype without a complete tag).
    let tci = ctx.flow.vlan_tci;
    if (ctx.flow.dl_type == ETH_TYPE_VLAN_8021Q || ctx.flow.dl_type == ETH_TYPE_VLAN_8021AD)
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
        return; // "disallowed VLAN VID for this input port, dropping"
    }
    let (vlan, pcp) = in_bundle.input_vlan(in_vid, in_pcp);

    // Admissibility: reserved destinations (forward-bpdu is off).
    if eth_addr_is_reserved(&ctx.flow.dl_dst) {
        return; // "packet has reserved destination MAC, dropping"
    }

    let _is_grat_arp = is_gratuitous_arp(&ctx.flow, &mut ctx.wc);

    // Learn the source, then look the destination up (one short lock).
    let Some(in_key) = in_bundle.mac_key() else {
        return;
    };
    let dst = {
        let mut ml = b.ml.lock();
        if ctx.may_learn && ml.learn(&ctx.flow.dl_src, vlan, in_key, ctx.now) {
            ctx.ml_changed = true;
        }
        ml.lookup(&ctx.flow.dl_dst, vlan)
    };

    match dst {
        Some(key) => match b.bundle_by_mac_key(key) {
            Some(out) if out != in_bundle_idx => output_normal(ctx, bridge, out, vlan, pcp),
            Some(_) => {} // "learned port is input port, dropping"
            None => {}    // "learned port is unknown, dropping"
        },
        None => {
            // "no learned MAC for destination, flooding"
            for (i, out) in b.bundles.iter().enumerate() {
                if i != in_bundle_idx && out.includes_vlan(vlan) {
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
fn output_normal(ctx: &mut Ctx<'_>, bridge: usize, out: usize, vlan: u16, pcp: u16) {
    let cfg = ctx.cfg;
    let bundle = &cfg.bridges[bridge].bundles[out];
    let Some(port) = bundle.ifaces.first() else {
        return; // partially configured bundle
    };
    let saved = ctx.flow.vlan_tci;
    ctx.flow.vlan_tci = bundle.output_tci(vlan, pcp);
    compose_output(ctx, bridge, port.ofport);
    ctx.flow.vlan_tci = saved;
}

#[cfg(test)]
#[path = "xlate_tests.rs"]
mod tests;
