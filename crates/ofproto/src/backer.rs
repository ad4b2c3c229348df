//! The backer: every bridge of the switch behind one datapath (OVS
//! `struct dpif_backer` plus the `ofproto-dpif` pieces around it).
//!
//! Idea: the configuration lives in an immutable [`XConfig`] snapshot behind
//! an `ArcSwap`; forwarding threads load it without locking, translate, and
//! drop it. A reconfiguration builds a new snapshot, reusing each surviving
//! bridge's MAC table (an `Arc<Mutex<MacLearning>>`), swaps it in, flushes
//! the MAC entries of ports that went away or changed VLAN, and bumps the
//! generation so that the datapath revalidates its megaflows.
//!
//! Invariants: the generation changes whenever a translation could change:
//! after a reconfiguration that changed anything, a MAC-table change caused
//! by learning (new address, move, eviction), aging, and flushes.
//!
//! Performance: an upcall costs one snapshot load, one clock read and, per
//! NORMAL action, one short MAC-table lock (parking_lot); no I/O, no
//! allocation beyond the returned actions. Reconfiguration and the unixctl
//! helpers are control-plane operations and may allocate.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use arc_swap::ArcSwap;
use datapath::{ControllerUserdata, Datapath, FlowStats, UpcallHandler, XlateCache, Xlated};
use openflow::msg::{
    AggregateStats, FlowMod, FlowStats as OfFlowStats, FlowStatsRequest, PacketIn, PacketOut,
    PortDesc, PortMod, PortStatus, TableStats, NO_BUFFER,
};
use openflow::{Match, OfpError};
use packet::FlowKey;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::clock::{Clock, MonotonicClock};
use crate::config::BridgeConfig;
use crate::mac_learning::{EthAddr, MacLearning};
use crate::ofbridge::ConnToken;
use crate::ofbridge::{AsyncEvent, CtlRegistry, OfBridge};
use crate::table::valid_output_port;
use crate::xlate::{
    self, PacketInInterest, RuleCache, XBridge, XBundle, XConfig, XPort, XlateParams, OFPPC10_ALL,
    OFPPC_PORT_DOWN, OFPP_LOCAL, OFPR_IMPLICIT_MISS,
};

/// Every bridge of the switch; the datapath's upcall handler.
pub struct Backer {
    xcfg: ArcSwap<XConfig>,
    /// The configuration last applied; its lock also serializes
    /// [`Backer::reconfigure`].
    last: Mutex<Vec<BridgeConfig>>,
    generation: AtomicU64,
    clock: Arc<dyn Clock>,
    /// Contexts of `controller` actions (userdata → bridge/table/cookie).
    ctl: CtlRegistry,
    /// The datapath, for packet-out (set after both exist).
    datapath: Mutex<Option<Weak<Datapath>>>,
}

impl std::fmt::Debug for Backer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backer")
            .field("bridges", &self.xcfg.load().bridges.len())
            .field("generation", &self.generation())
            .finish()
    }
}

/// Formats an Ethernet address as `xx:xx:xx:xx:xx:xx` (OVS `ETH_ADDR_FMT`).
pub fn format_eth_addr(mac: &EthAddr) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

/// An OpenFlow port number as OVS prints it with no port-name map
/// (`ofputil_port_to_string`): reserved ports by name, others as decimal.
fn ofport_to_string(port: u16) -> String {
    match port {
        OFPP_LOCAL => "LOCAL".to_string(),
        0xfff8 => "IN_PORT".to_string(),
        0xfff9 => "TABLE".to_string(),
        0xfffa => "NORMAL".to_string(),
        0xfffb => "FLOOD".to_string(),
        0xfffc => "ALL".to_string(),
        0xfffd => "CONTROLLER".to_string(),
        0xffff => "NONE".to_string(),
        p => p.to_string(),
    }
}

impl Backer {
    /// A backer with no bridges, aging MAC entries on the real monotonic clock.
    pub fn new() -> Arc<Backer> {
        Self::with_clock(Arc::new(MonotonicClock::new()))
    }

    /// A backer with no bridges reading time from `clock` (tests inject a
    /// [`crate::ManualClock`]).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Arc<Backer> {
        Arc::new(Backer {
            xcfg: ArcSwap::from_pointee(XConfig::default()),
            last: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            clock,
            ctl: CtlRegistry::default(),
            datapath: Mutex::new(None),
        })
    }

    /// The current time of the backer's clock, seconds.
    pub fn now(&self) -> u64 {
        self.clock.now_secs()
    }

    /// The current translation snapshot (for `ofproto/trace`-like tools).
    pub fn xconfig(&self) -> Arc<XConfig> {
        self.xcfg.load_full()
    }

    /// Makes `bridges` the whole configuration: creates, updates and deletes
    /// bridges and ports. MAC tables survive for bridges that stay (with
    /// `mac_aging_time`/`mac_table_size` applied, clamped as OVS does); the
    /// entries of a port that was removed, whose first interface changed, or
    /// whose VLAN settings changed are flushed (OVS `bundle_flush_macs`).
    /// Bumps the generation unless `bridges` equals the previous
    /// configuration. Tolerates duplicate names/ports (first wins, logged).
    ///
    /// Sends OFPT_PORT_STATUS to each surviving bridge's controllers for
    /// every port added (OFPPR_ADD), removed (OFPPR_DELETE, with its last
    /// description) or whose description changed (OFPPR_MODIFY: link state,
    /// admin state, address, speed), as OVS's `update_port` does.
    pub fn reconfigure(&self, bridges: &[BridgeConfig]) {
        let mut last = self.last.lock();
        if last.as_slice() == bridges {
            return;
        }
        *last = bridges.to_vec();
        self.apply(&last);
    }

    /// Builds and installs the snapshot of `bridges` (the caller holds
    /// `last`, which equals `bridges`), flushes stale MAC entries, applies
    /// port_mod bits, announces port changes, bumps the generation.
    fn apply(&self, bridges: &[BridgeConfig]) {
        let old = self.xcfg.load_full();
        let now_ns = self.clock.now_nanos();
        let new = XConfig::with_state(
            bridges,
            |bc| {
                let ml = old
                    .bridge(&bc.name)
                    .map(|b| b.ml.clone())
                    .unwrap_or_else(|| {
                        Arc::new(Mutex::new(MacLearning::new(
                            bc.mac_aging_time,
                            bc.mac_table_size,
                        )))
                    });
                {
                    let mut ml = ml.lock();
                    ml.set_idle_time(bc.mac_aging_time);
                    ml.set_max_entries(bc.mac_table_size);
                }
                ml
            },
            |bc| {
                old.bridge(&bc.name)
                    .map(|b| b.of.clone())
                    .unwrap_or_else(|| Arc::new(OfBridge::new(now_ns)))
            },
        );
        let mut new = new;
        for nb in &mut new.bridges {
            let of = nb.of.clone();
            let mut pc = of.port_config.lock();
            pc.retain(|ofport, (name, _)| nb.port(*ofport).is_some_and(|(_, p)| p.name == *name));
            for (ofport, (_, bits)) in pc.iter() {
                if let Some(p) = nb.port_mut(*ofport) {
                    p.config = *bits;
                }
            }
        }
        let new = Arc::new(new);
        self.xcfg.store(new.clone());
        for nb in &new.bridges {
            if let Some(ob) = old.bridge(&nb.name) {
                if Arc::ptr_eq(&ob.of, &nb.of) {
                    publish_port_changes(ob, nb);
                }
            }
        }

        // Flush what no longer holds, now that no new upcall uses `old`.
        let now = self.now();
        for nb in &new.bridges {
            let Some(ob) = old.bridge(&nb.name) else {
                continue;
            };
            let by_name: HashMap<&str, &XBundle> =
                nb.bundles.iter().map(|b| (b.name.as_str(), b)).collect();
            let mut ml = nb.ml.lock();
            for obundle in &ob.bundles {
                let Some(key) = obundle.mac_key() else {
                    continue;
                };
                let keep = by_name
                    .get(obundle.name.as_str())
                    .is_some_and(|n| n.mac_key() == Some(key) && n.same_vlan_config(obundle));
                if !keep {
                    ml.flush_port(key);
                }
            }
            ml.run(now);
        }
        self.bump();
    }

    /// OpenFlow port_mod (OpenFlow 1.0 §5.3.3; OVS `update_port_config`):
    /// changes `pm.config` bits under `pm.mask` of port `pm.port_no`.
    /// OFPPC_PORT_DOWN brings the interface administratively down or up
    /// (SIOCSIFFLAGS; a port without a network device, or a failure,
    /// leaves the bit unchanged, as OVS); the other OFPPC_* bits are kept
    /// per port until it is removed. A change is announced as
    /// OFPPR_MODIFY and revalidates the megaflows. `advertise` is ignored.
    ///
    /// Errors: OFPPMFC_BAD_PORT (no such bridge or port),
    /// OFPPMFC_BAD_HW_ADDR, OFPPMFC_BAD_CONFIG (a bit outside OpenFlow
    /// 1.0's OFPPC_*).
    pub fn port_mod(&self, bridge: &str, pm: &PortMod) -> Result<(), OfpError> {
        let mut last = self.last.lock();
        let cfg = self.xcfg.load_full();
        let b = cfg
            .bridge(bridge)
            .ok_or(OfpError::PORT_MOD_FAILED_BAD_PORT)?;
        check_port_mod(&port_descs_of(b), pm)?;
        let Some((_, xp)) = b.port(pm.port_no) else {
            return Err(OfpError::PORT_MOD_FAILED_BAD_PORT);
        };
        let cur = port_config_bits(xp);
        let mut toggle = (pm.config ^ cur) & pm.mask & OFPPC10_ALL;
        if toggle & OFPPC_PORT_DOWN != 0 {
            let up = pm.config & OFPPC_PORT_DOWN == 0;
            let r = match xp.odp_port {
                Some(_) => datapath::sys::if_set_up(&xp.name, up).map_err(|e| e.to_string()),
                None => Err("no network device".to_string()),
            };
            match r {
                Ok(()) => {
                    for i in last
                        .iter_mut()
                        .filter(|bc| bc.name == bridge)
                        .flat_map(|bc| bc.ports.iter_mut())
                        .flat_map(|p| p.interfaces.iter_mut())
                        .filter(|i| i.ofport == pm.port_no && i.name == xp.name)
                    {
                        i.admin_up = up;
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        "{bridge}: {}: could not bring port {}: {e}",
                        xp.name,
                        if up { "up" } else { "down" }
                    );
                    toggle &= !OFPPC_PORT_DOWN;
                }
            }
        }
        let of_bits = toggle & !OFPPC_PORT_DOWN;
        if of_bits != 0 {
            let mut pc = b.of.port_config.lock();
            let e = pc
                .entry(pm.port_no)
                .or_insert_with(|| (xp.name.clone(), xp.config));
            e.1 ^= of_bits;
        }
        if toggle != 0 {
            drop(cfg);
            self.apply(&last);
        }
        Ok(())
    }

    /// Records what packet-ins connection `conn` of `bridge` can receive
    /// (see [`PacketInInterest`]); revalidates the megaflows when the
    /// bridge's union changes. Unknown bridge: ignored.
    pub fn set_packet_in_interest(
        &self,
        bridge: &str,
        conn: &ConnToken,
        interest: PacketInInterest,
    ) {
        if let Some(of) = self.of_bridge(bridge) {
            if of.set_packet_in_interest(conn, interest) {
                self.bump();
            }
        }
    }

    /// What packet-ins some connection of `bridge` wants (default if no
    /// such bridge).
    pub fn packet_in_interest(&self, bridge: &str) -> PacketInInterest {
        self.of_bridge(bridge)
            .map(|of| of.packet_in_interest())
            .unwrap_or_default()
    }

    /// The text of `ovs-appctl fdb/show BRIDGE`, or `None` if there is no
    /// such bridge (the caller replies `no such bridge`).
    ///
    /// Format (OVS `ofproto_unixctl_fdb_show`): the header
    /// ` port  VLAN  MAC                Age`, then one line per entry, least
    /// recently used first: port (OpenFlow number of the port's first
    /// interface, `LOCAL` for 65534) right-aligned in 5, VLAN in 4, the
    /// address, age in seconds in 3.
    pub fn fdb_show(&self, bridge: &str) -> Option<String> {
        let cfg = self.xcfg.load();
        let b = cfg.bridge(bridge)?;
        let now = self.now();
        let rows: Vec<(u16, u16, EthAddr, i64)> = {
            let ml = b.ml.lock();
            ml.iter()
                .map(|e| (e.port, e.vlan, e.mac, ml.age(e, now)))
                .collect()
        };
        let mut s = String::with_capacity(40 * (rows.len() + 1));
        s.push_str(" port  VLAN  MAC                Age\n");
        for (port, vlan, mac, age) in rows {
            let _ = writeln!(
                s,
                "{:>5}  {:>4}  {}  {:>3}",
                ofport_to_string(port),
                vlan,
                format_eth_addr(&mac),
                age
            );
        }
        Some(s)
    }

    /// `ovs-appctl fdb/flush [BRIDGE]`: empties one bridge's MAC table, or
    /// every bridge's. Returns OVS's reply text, `table successfully
    /// flushed\n`, or `Err("no such bridge\n")`.
    pub fn fdb_flush(&self, bridge: Option<&str>) -> Result<String, String> {
        let cfg = self.xcfg.load();
        let mut changed = false;
        match bridge {
            Some(name) => {
                let Some(b) = cfg.bridge(name) else {
                    return Err("no such bridge\n".to_string());
                };
                changed |= b.ml.lock().flush();
            }
            None => {
                for b in &cfg.bridges {
                    changed |= b.ml.lock().flush();
                }
            }
        }
        if changed {
            self.bump();
        }
        Ok("table successfully flushed\n".to_string())
    }

    /// Periodic work: ages the MAC tables at the clock's current time
    /// (OVS `mac_learning_run`). Call about once a second. Bumps the
    /// generation if an entry expired.
    pub fn run_periodic(&self) {
        let cfg = self.xcfg.load();
        let now = self.now();
        let now_ns = self.clock.now_nanos();
        let mut changed = false;
        let mut all_removed = Vec::new();
        for b in &cfg.bridges {
            changed |= b.of.purge_listeners();
            changed |= b.ml.lock().run(now);
            let mut removed = Vec::new();
            changed |= b.of.tables.write().expire_tracked(now_ns, &mut removed);
            all_removed.push((b.of.clone(), removed));
        }
        if changed {
            self.bump();
        }
        drop(cfg);
        for (of, removed) in all_removed {
            self.publish_removed(&of, removed);
        }
    }

    /// Translates `key` without side effects (no learning), as
    /// `ofproto/trace` would without `-generate`.
    pub fn translate(&self, key: &FlowKey) -> Xlated {
        let cfg = self.xcfg.load();
        let mut out = Xlated::default();
        xlate::xlate(&cfg, key, self.now(), false, &mut out);
        out
    }

    /// [`UpcallHandler::revalidate`] with only a "was used" flag: `used`
    /// stands for `stats.packets > 0`.
    pub fn revalidate(&self, key: &FlowKey, used: bool) -> Xlated {
        self.xlate_with(key, used)
    }

    /// The generation counter (see [`UpcallHandler::generation`]).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn xlate_with(&self, key: &FlowKey, may_learn: bool) -> Xlated {
        self.xlate_credit(key, may_learn, 0, 0)
    }

    /// Translates `key`, crediting `packets`/`bytes` to every rule it
    /// hits; the result carries the [`RuleCache`] of its lookups.
    fn xlate_credit(&self, key: &FlowKey, may_learn: bool, packets: u64, bytes: u64) -> Xlated {
        let cfg = self.xcfg.load();
        let mut out = Xlated::default();
        let mut rc = RuleCache::default();
        let mut p = XlateParams {
            now: self.now(),
            now_ns: self.clock.now_nanos(),
            may_learn,
            packets,
            bytes,
            ctl: Some(&self.ctl),
            xcache: Some(&mut rc),
            ..XlateParams::default()
        };
        let outcome = xlate::xlate_with(&cfg, key, &mut p, &mut out);
        if outcome.ml_changed {
            self.bump();
        }
        out.xcache = XlateCache::new(rc);
        out
    }

    /// Credits a megaflow's hits since its last push (`stats`) to the rules
    /// its translation hit (`xcache`). A megaflow without a cache (none is
    /// expected) is credited by translating it now.
    fn push_stats(&self, key: &FlowKey, stats: &FlowStats, xcache: &XlateCache) {
        if stats.packets == 0 {
            return;
        }
        match xcache.get::<RuleCache>() {
            Some(rc) => rc.credit(stats.packets, stats.bytes, self.clock.now_nanos()),
            None => {
                let _ = self.xlate_credit(key, false, stats.packets, stats.bytes);
            }
        }
    }

    /// Publishes flow_removed messages. Hits of the removed rules may still
    /// be pending in megaflows (credited at the next revalidation through
    /// their translation caches): when there are messages and a datapath,
    /// it revalidates first (which pushes them to the rules' counters) and
    /// the messages carry the counters as they are then.
    fn publish_removed(&self, of: &OfBridge, removed: Vec<crate::table::Removed>) {
        if removed.is_empty() {
            return;
        }
        let dp = self.datapath.lock().as_ref().and_then(Weak::upgrade);
        if let Some(dp) = dp {
            dp.revalidate_now();
        }
        for (mut fr, stats) in removed {
            fr.packet_count = stats.packets.load(Ordering::Relaxed);
            fr.byte_count = stats.bytes.load(Ordering::Relaxed);
            of.publish(AsyncEvent::FlowRemoved(fr));
        }
    }

    /// Gives the backer the datapath it serves (for packet-out), which is
    /// created after the backer.
    pub fn set_datapath(&self, dp: Weak<Datapath>) {
        *self.datapath.lock() = Some(dp);
    }

    /// Names of the bridges, in configuration order.
    pub fn bridges(&self) -> Vec<String> {
        self.xcfg
            .load()
            .bridges
            .iter()
            .map(|b| b.name.clone())
            .collect()
    }

    /// The OpenFlow datapath id of `bridge` (FEATURES_REPLY), `None` if no
    /// such bridge.
    pub fn datapath_id(&self, bridge: &str) -> Option<u64> {
        self.xcfg.load().bridge(bridge).map(|b| b.datapath_id)
    }

    /// The OpenFlow state of `bridge` (tables, event queues).
    pub fn of_bridge(&self, bridge: &str) -> Option<Arc<OfBridge>> {
        self.xcfg.load().bridge(bridge).map(|b| b.of.clone())
    }

    /// Applies an OpenFlow flow_mod to `bridge` (OpenFlow 1.3.5 §6.4; the
    /// semantics are those of [`crate::table::OfTables::flow_mod`]), sends
    /// FlowRemoved events for deleted rules with send_flow_rem, and bumps
    /// the generation if a rule changed so that the datapath revalidates
    /// (the caller's barrier then calls `Datapath::revalidate_now`).
    ///
    /// Errors: the flow_mod's OpenFlow error; `OFPBRC_BAD_TABLE_ID`… as
    /// documented there; `OFPFMFC_UNKNOWN` if there is no such bridge;
    /// `OFPBRC_BUFFER_UNKNOWN` for a `buffer_id` (oxvs buffers nothing).
    pub fn flow_mod(&self, bridge: &str, fm: &FlowMod) -> Result<(), OfpError> {
        let ofb = self
            .of_bridge(bridge)
            .ok_or(OfpError::FLOW_MOD_FAILED_UNKNOWN)?;
        let now = self.clock.now_nanos();
        let mut removed = Vec::new();
        let changed = ofb.tables.write().flow_mod_tracked(fm, now, &mut removed)?;
        if changed {
            self.bump();
        }
        self.publish_removed(&ofb, removed);
        if fm.buffer_id != NO_BUFFER {
            return Err(OfpError::BAD_REQUEST_BUFFER_UNKNOWN);
        }
        Ok(())
    }

    /// Deletes every flow of `bridge` in every table but the hidden one
    /// (OVS `ofproto_flush_flows`; flow_removed with OFPRR_DELETE for rules
    /// that asked), then, when `normal`, adds OVS's default
    /// `priority=0 actions=NORMAL` to table 0 (`connmgr_flushed`: a
    /// standalone bridge without controllers). No such bridge: nothing.
    pub fn flush_flows(&self, bridge: &str, normal: bool) {
        let delete = FlowMod {
            command: openflow::msg::FlowModCommand::Delete,
            table_id: openflow::msg::OFPTT_ALL,
            ..FlowMod::default()
        };
        if let Err(e) = self.flow_mod(bridge, &delete) {
            tracing::warn!("{bridge}: flushing flows: {e}");
            return;
        }
        if normal {
            let add = FlowMod {
                priority: 0,
                ofpacts: vec![openflow::OfpAct::Output {
                    port: openflow::port::OFPP_NORMAL,
                    max_len: 0,
                }],
                ..FlowMod::default()
            };
            if let Err(e) = self.flow_mod(bridge, &add) {
                tracing::warn!("{bridge}: adding the NORMAL flow: {e}");
            }
        }
    }

    /// Turns `bridge`'s fail-open mode on or off (see
    /// [`OfBridge::fail_open`]); a change revalidates the megaflows.
    pub fn set_fail_open(&self, bridge: &str, on: bool) {
        if let Some(ofb) = self.of_bridge(bridge) {
            if ofb.fail_open.swap(on, Ordering::AcqRel) != on {
                self.bump();
            }
        }
    }

    /// Sends `ev` to `bridge`'s OpenFlow connections (no such bridge:
    /// nothing).
    pub fn publish(&self, bridge: &str, ev: AsyncEvent) {
        if let Some(ofb) = self.of_bridge(bridge) {
            ofb.publish(ev);
        }
    }

    /// Flow stats of `bridge` (OFPMP_FLOW / NXST_FLOW), ordered by table,
    /// then priority (highest first), then age; durations from the backer's
    /// clock in seconds + nanoseconds.
    ///
    /// Errors: `OFPBRC_BAD_TABLE_ID` for a table above 254 other than 0xff
    /// (none exists), `OFPBRC_EPERM`-free otherwise; unknown bridge →
    /// `OFPBRC_BAD_TABLE_ID`.
    pub fn flow_stats(
        &self,
        bridge: &str,
        req: &FlowStatsRequest,
    ) -> Result<Vec<OfFlowStats>, OfpError> {
        let ofb = self
            .of_bridge(bridge)
            .ok_or(OfpError::BAD_REQUEST_BAD_TABLE_ID)?;
        let now = self.clock.now_nanos();
        let t = ofb.tables.read();
        Ok(t.flow_stats(req, now))
    }

    /// Aggregate stats of `bridge` (OFPMP_AGGREGATE). Errors as [`Backer::flow_stats`].
    pub fn aggregate_stats(
        &self,
        bridge: &str,
        req: &FlowStatsRequest,
    ) -> Result<AggregateStats, OfpError> {
        let ofb = self
            .of_bridge(bridge)
            .ok_or(OfpError::BAD_REQUEST_BAD_TABLE_ID)?;
        let t = ofb.tables.read();
        Ok(t.aggregate_stats(req))
    }

    /// Table stats of `bridge` (tables 0–253), `None` if no such bridge.
    pub fn table_stats(&self, bridge: &str) -> Option<Vec<TableStats>> {
        let ofb = self.of_bridge(bridge)?;
        let t = ofb.tables.read();
        Some(t.table_stats())
    }

    /// Port descriptions of `bridge` (OFPMP_PORT_DESC, FEATURES_REPLY in
    /// OF1.0), in OpenFlow port order; `None` if no such bridge. Config
    /// OFPPC_PORT_DOWN (1) when administratively down, plus the port_mod
    /// bits (OFPPC_NO_RECV, NO_FLOOD, NO_FWD, NO_PACKET_IN…); state
    /// OFPPS_LINK_DOWN (1) when the carrier is down, else OFPPS_LIVE (4);
    /// features from the speed (10 Gb/s full duplex copper when unknown, as
    /// OVS reports tap and internal devices); speeds in kb/s.
    pub fn port_descs(&self, bridge: &str) -> Option<Vec<PortDesc>> {
        let cfg = self.xcfg.load();
        Some(port_descs_of(cfg.bridge(bridge)?))
    }

    /// A receiver of `bridge`'s asynchronous messages (packet-ins from
    /// `controller` actions, flow-removed, port-status), bounded to
    /// [`crate::ofbridge::EVENT_QUEUE_LEN`] (a receiver that falls behind
    /// gets `Lagged(n)`, the count of events it lost). `None` if no such
    /// bridge. The subscription survives reconfigurations but not the
    /// bridge's deletion.
    pub fn subscribe(&self, bridge: &str) -> Option<broadcast::Receiver<AsyncEvent>> {
        Some(self.of_bridge(bridge)?.subscribe())
    }

    /// OpenFlow packet-out (OpenFlow 1.3.5 §7.3.7): translates `po`'s actions
    /// on its packet as if it had arrived on `po.in_port` (output:TABLE runs
    /// the pipeline, crediting rules with one packet) and executes the
    /// result with `Datapath::execute`.
    ///
    /// Errors: `OFPBRC_BUFFER_UNKNOWN` for a buffer id (nothing is
    /// buffered); `OFPBRC_BAD_PORT` for an invalid `in_port`;
    /// `OFPBAC_BAD_OUT_PORT` for an invalid output port; `OFPBRC_BAD_LEN`
    /// for an empty or oversized frame; `OFPBRC_EPERM` with no such bridge
    /// or datapath.
    pub fn packet_out(&self, bridge: &str, po: &PacketOut) -> Result<(), OfpError> {
        if po.buffer_id != NO_BUFFER {
            return Err(OfpError::BAD_REQUEST_BUFFER_UNKNOWN);
        }
        if !(po.in_port < openflow::OFPP_MAX
            || matches!(
                po.in_port,
                openflow::OFPP_LOCAL | openflow::port::OFPP_CONTROLLER | openflow::port::OFPP_NONE
            ))
        {
            return Err(OfpError::BAD_REQUEST_BAD_PORT);
        }
        crate::table::check_ofpacts(&po.ofpacts, &Match::catchall(), 0).map_err(|e| {
            if e == OfpError::BAD_INSTRUCTION_BAD_TABLE_ID {
                OfpError::BAD_ACTION_BAD_OUT_PORT
            } else {
                e
            }
        })?;
        for a in &po.ofpacts {
            if let openflow::OfpAct::Output { port, .. } = a {
                if !valid_output_port(*port) {
                    return Err(OfpError::BAD_ACTION_BAD_OUT_PORT);
                }
            }
        }
        if po.data.is_empty() || po.data.len() > usize::from(u16::MAX) {
            return Err(OfpError::BAD_REQUEST_BAD_LEN);
        }
        let cfg = self.xcfg.load_full();
        let bi = cfg
            .bridge_index(bridge)
            .ok_or(OfpError::BAD_REQUEST_EPERM)?;
        let odp_in = cfg.bridges[bi]
            .port(po.in_port)
            .and_then(|(_, p)| p.odp_port);
        let mut key = FlowKey::extract(&po.data, odp_in.unwrap_or(u32::MAX)).unwrap_or_default();
        key.in_port = odp_in.unwrap_or(u32::MAX);
        let mut out = Xlated::default();
        let mut p = XlateParams {
            now: self.now(),
            now_ns: self.clock.now_nanos(),
            may_learn: true,
            packets: 1,
            bytes: po.data.len() as u64,
            ctl: Some(&self.ctl),
            ..XlateParams::default()
        };
        let outcome =
            xlate::xlate_actions(&cfg, bi, &key, po.in_port, &po.ofpacts, &mut p, &mut out);
        drop(cfg);
        if outcome.ml_changed {
            self.bump();
        }
        if out.actions.is_empty() {
            return Ok(());
        }
        let dp = self.datapath.lock().as_ref().and_then(Weak::upgrade);
        let Some(dp) = dp else {
            return Err(OfpError::BAD_REQUEST_EPERM);
        };
        dp.execute(odp_in, &po.data, &out.actions).map_err(|e| {
            tracing::warn!("packet-out: {e}");
            OfpError::BAD_REQUEST_BAD_LEN
        })
    }

    /// Number of events published on `bridge` while nobody listened.
    pub fn events_unheard(&self, bridge: &str) -> Option<u64> {
        Some(
            self.of_bridge(bridge)?
                .events_unheard
                .load(Ordering::Relaxed),
        )
    }

    /// `ofproto/trace BRIDGE FLOW`: the explanation of `flow_text`'s path
    /// through `bridge`'s tables in OVS's format (see [`crate::trace`]).
    /// No side effects (no learning, no counters).
    ///
    /// Errors: the message OVS prints, e.g. `unknown bridge` or a flow
    /// syntax error.
    pub fn trace(&self, bridge: &str, flow_text: &str) -> Result<String, String> {
        let cfg = self.xcfg.load_full();
        let bi = cfg
            .bridge_index(bridge)
            .ok_or_else(|| format!("{bridge}: unknown bridge\n"))?;
        let b = &cfg.bridges[bi];
        let port_by_name = |name: &str| {
            b.bundles
                .iter()
                .flat_map(|bundle| &bundle.ifaces)
                .find(|i| i.name == name)
                .map(|i| i.ofport)
        };
        let flow =
            crate::trace::parse_flow(flow_text, Some(&port_by_name)).map_err(|e| e + "\n")?;
        let in_port = flow.in_port();
        let mut key = flow.key;
        key.in_port = b
            .port(in_port)
            .and_then(|(_, p)| p.odp_port)
            .unwrap_or(u32::MAX);
        let mut lines = Vec::new();
        let mut out = Xlated::default();
        let mut p = XlateParams {
            now: self.now(),
            now_ns: self.clock.now_nanos(),
            metadata: flow.metadata,
            regs: flow.regs,
            ctl: Some(&self.ctl),
            trace: Some(&mut lines),
            ..XlateParams::default()
        };
        let outcome = if key.in_port == u32::MAX {
            // A port with no datapath port (or none at all): translate as
            // OVS does, through the OpenFlow port only.
            xlate::xlate_actions(
                &cfg,
                bi,
                &key,
                in_port,
                &[openflow::OfpAct::Output {
                    port: openflow::port::OFPP_TABLE,
                    max_len: 0,
                }],
                &mut p,
                &mut out,
            )
        } else {
            xlate::xlate_with(&cfg, &key, &mut p, &mut out)
        };
        let final_flow = p.final_flow;
        let mut s = format!(
            "Flow: {}
",
            crate::trace::format_flow(&flow)
        );
        for l in lines {
            s.push_str(l.trim_end());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&crate::trace::format_tail(&flow, final_flow.as_ref(), &out));
        if outcome.too_deep {
            s.push_str("Translation failed (Recursion too deep), packet is dropped.\n");
        }
        Ok(s)
    }

    fn deliver_packet_in(&self, packet: &[u8], key: &FlowKey, userdata: u64) {
        let Some(ud) = ControllerUserdata::from_userdata(userdata) else {
            return;
        };
        let cfg = self.xcfg.load();
        if matches!(
            ud.reason,
            OFPR_IMPLICIT_MISS | openflow::actions::OFPR_INVALID_TTL
        ) && ud.recirc_id != 0
        {
            // Translated while someone wanted it: if they all left since,
            // revalidate now so that the megaflow becomes a plain drop.
            if let Some(c) = self.ctl.get(ud.recirc_id) {
                if let Some(b) = cfg.bridge(&c.bridge) {
                    if b.of.purge_listeners() {
                        self.bump();
                    }
                }
            }
        }
        let ctx = self.ctl.get(ud.recirc_id);
        let by_port = cfg.odp_to_ofport(key.in_port);
        let (bi, in_port) = match (&ctx, by_port) {
            (_, Some((bi, ofport))) => (bi, ofport),
            (Some(c), None) => match cfg.bridge_index(&c.bridge) {
                Some(bi) => (bi, openflow::port::OFPP_CONTROLLER),
                None => return,
            },
            (None, None) => return,
        };
        let b = &cfg.bridges[bi];
        let mut metadata = Match::catchall();
        metadata.set(openflow::Field::InPort, u128::from(in_port));
        let len = if ud.max_len == openflow::actions::OFPCML_NO_BUFFER {
            packet.len()
        } else {
            packet.len().min(usize::from(ud.max_len))
        };
        let table_miss_flow = ctx.as_ref().is_some_and(|c| c.table_miss)
            && ud.reason == openflow::actions::OFPR_ACTION;
        let pi = PacketIn {
            buffer_id: NO_BUFFER,
            total_len: packet.len() as u32,
            reason: if table_miss_flow {
                crate::xlate::OFPR_EXPLICIT_MISS
            } else {
                ud.reason
            },
            table_id: ctx.as_ref().map_or(0, |c| c.table_id),
            cookie: ctx.as_ref().map_or(u64::MAX, |c| c.cookie),
            metadata,
            data: packet[..len].to_vec(),
            userdata: None,
        };
        b.of.publish(AsyncEvent::PacketIn(pi));
    }
}

/// The OFPPC_* bits of a port: OFPPC_PORT_DOWN from its admin state plus
/// the port_mod bits.
fn port_config_bits(p: &XPort) -> u32 {
    p.config | if p.admin_up { 0 } else { OFPPC_PORT_DOWN }
}

/// The OpenFlow description of one port (see [`Backer::port_descs`]).
fn port_desc(ofport: u16, p: &XPort) -> PortDesc {
    let mbps = if p.speed_mbps == 0 {
        10_000
    } else {
        p.speed_mbps
    };
    let speed_bit = match mbps {
        0..=10 => 1 << 1,
        11..=100 => 1 << 3,
        101..=1000 => 1 << 5,
        1001..=10_000 => 1 << 6,
        10_001..=40_000 => 1 << 7,
        40_001..=100_000 => 1 << 8,
        100_001..=1_000_000 => 1 << 9,
        _ => 1 << 10,
    };
    const OFPPF_COPPER: u32 = 1 << 11;
    PortDesc {
        port_no: ofport,
        hw_addr: p.mac,
        name: p.name.chars().take(15).collect(),
        config: port_config_bits(p),
        state: if p.link_up { 4 } else { 1 },
        curr: speed_bit | OFPPF_COPPER,
        advertised: 0,
        supported: 0,
        peer: 0,
        curr_speed: mbps.saturating_mul(1000),
        max_speed: 0,
    }
}

/// Descriptions of every port of `b`, in OpenFlow port order.
fn port_descs_of(b: &XBridge) -> Vec<PortDesc> {
    b.ofports
        .iter()
        .filter_map(|&ofport| b.port(ofport).map(|(_, p)| port_desc(ofport, p)))
        .collect()
}

/// The common port_mod checks (OpenFlow 1.5.1 §7.3.4.3) against the
/// bridge's `ports`: the port must exist (OFPPMFC_BAD_PORT), `hw_addr`
/// must be its address (OFPPMFC_BAD_HW_ADDR), and the mask may only name
/// OpenFlow 1.0 OFPPC_* bits (OFPPMFC_BAD_CONFIG).
pub(crate) fn check_port_mod(ports: &[PortDesc], pm: &PortMod) -> Result<(), OfpError> {
    let port = ports
        .iter()
        .find(|p| p.port_no == pm.port_no)
        .ok_or(OfpError::PORT_MOD_FAILED_BAD_PORT)?;
    if port.hw_addr != pm.hw_addr {
        return Err(OfpError::PORT_MOD_FAILED_BAD_HW_ADDR);
    }
    if pm.mask & !OFPPC10_ALL != 0 {
        return Err(OfpError::PORT_MOD_FAILED_BAD_CONFIG);
    }
    Ok(())
}

/// OFPPR_ADD.
const OFPPR_ADD: u8 = 0;
/// OFPPR_DELETE.
const OFPPR_DELETE: u8 = 1;
/// OFPPR_MODIFY.
const OFPPR_MODIFY: u8 = 2;

/// Publishes OFPT_PORT_STATUS for the differences between two snapshots
/// of one bridge: deletions first, then modifications, then additions,
/// each in port order. A port whose number now names another interface
/// is deleted and added.
fn publish_port_changes(old: &XBridge, new: &XBridge) {
    let before = port_descs_of(old);
    let after = port_descs_of(new);
    // By (number, name): a bridge has thousands of ports at times.
    let index = |v: &[PortDesc]| -> HashMap<(openflow::OfpPort, String), usize> {
        v.iter()
            .enumerate()
            .map(|(i, d)| ((d.port_no, d.name.clone()), i))
            .collect()
    };
    let (before_ix, after_ix) = (index(&before), index(&after));
    let key = |d: &PortDesc| (d.port_no, d.name.clone());
    let mut events = Vec::new();
    for d in &before {
        if !after_ix.contains_key(&key(d)) {
            events.push((OFPPR_DELETE, d.clone()));
        }
    }
    for d in &after {
        if let Some(&i) = before_ix.get(&key(d)) {
            if before[i] != *d {
                events.push((OFPPR_MODIFY, d.clone()));
            }
        }
    }
    for d in &after {
        if !before_ix.contains_key(&key(d)) {
            events.push((OFPPR_ADD, d.clone()));
        }
    }
    for (reason, desc) in events {
        new.of
            .publish(AsyncEvent::PortStatus(PortStatus { reason, desc }));
    }
}

impl UpcallHandler for Backer {
    /// Translates a missed packet, learning its source MAC and counting it
    /// in the rules it hits.
    fn upcall(&self, key: &FlowKey, packet: &[u8]) -> Xlated {
        self.xlate_credit(key, true, 1, packet.len() as u64)
    }

    /// Credits the megaflow's hits since the last push to the rules its
    /// previous translation hit (`xcache`: what OpenFlow rules it went
    /// through when those packets were forwarded, even if a flow_mod changed
    /// the tables since), then re-translates it. When it saw traffic
    /// (`stats.packets > 0`) the source MAC is refreshed (or re-learned, or
    /// moved) as a packet would.
    fn revalidate(&self, key: &FlowKey, stats: &FlowStats, xcache: &XlateCache) -> Xlated {
        self.push_stats(key, stats, xcache);
        self.xlate_credit(key, stats.packets > 0, 0, 0)
    }

    /// Credits a deleted megaflow's last hits to the rules its last
    /// translation hit.
    fn flow_deleted(&self, key: &FlowKey, stats: &FlowStats, xcache: &XlateCache) {
        self.push_stats(key, stats, xcache);
    }

    /// Queues an OpenFlow PACKET_IN for a `controller` action.
    fn packet_in(&self, packet: &[u8], key: &FlowKey, userdata: u64) {
        self.deliver_packet_in(packet, key, userdata);
    }

    fn generation(&self) -> u64 {
        Backer::generation(self)
    }
}

#[cfg(test)]
#[path = "backer_tests.rs"]
mod tests;
