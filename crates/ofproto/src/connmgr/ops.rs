//! What the connection manager needs from the switch: the narrow
//! [`SwitchOps`] interface (as OVS's connmgr calls into `ofproto.c`), the
//! asynchronous events it relays, and its implementation over the backer
//! and the datapath ([`BackerOps`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datapath::Datapath;
use openflow::msg::{
    AggregateStats, FlowMod, FlowModCommand, FlowRemoved, FlowStats, FlowStatsRequest, PacketIn,
    PacketOut, PortDesc, PortMod, PortStats, PortStatus, TableStats,
};
use openflow::port::{OfpPort, OFPP_NONE};
use openflow::OfpError;
use parking_lot::Mutex;
use tokio::sync::broadcast;

pub use crate::ofbridge::ConnToken;
pub use crate::xlate::{PacketInInterest, OFPR_EXPLICIT_MISS, OFPR_IMPLICIT_MISS};
use crate::Backer;

/// An asynchronous event of one bridge, relayed to every eligible
/// connection (OpenFlow 1.5.1 §7.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsyncEvent {
    /// A packet sent to the controller (table miss or `controller` action);
    /// `data` is already cut to the action's `max_len`; a miss
    /// (`reason` OFPR_NO_MATCH = 0) is cut further to each connection's
    /// `miss_send_len`.
    PacketIn(PacketIn),
    /// A rule with `send_flow_rem` expired or was deleted.
    FlowRemoved(FlowRemoved),
    /// A port was added, deleted or modified.
    PortStatus(PortStatus),
}

/// The operations of one switch (all bridges) used by OpenFlow connections.
/// Implemented by [`BackerOps`] and by test fakes. All calls are
/// control-plane calls from tokio tasks; they must not block for long
/// (`barrier` is run on a blocking thread).
pub trait SwitchOps: Send + Sync + 'static {
    /// The bridge's datapath id (`Bridge.datapath_id`), `None` if there is
    /// no such bridge.
    fn datapath_id(&self, bridge: &str) -> Option<u64>;

    /// Applies one flow_mod (add/modify/delete) to `bridge`. `fm.table_id`
    /// is resolved by the caller: [`openflow::msg::OFPTT_ALL`] means every
    /// table for modify/delete. Errors: the OpenFlow error to send back.
    fn flow_mod(&self, bridge: &str, fm: &FlowMod) -> Result<(), OfpError>;

    /// Applies `fms` all or nothing (OpenFlow 1.4 atomic bundle commit).
    /// Errors: the index of the failing flow_mod and its error; then nothing
    /// changed. The default applies them one by one and is only atomic when
    /// every one succeeds (implementations should override it).
    fn flow_mods_atomic(&self, bridge: &str, fms: &[FlowMod]) -> Result<(), (usize, OfpError)> {
        for (i, fm) in fms.iter().enumerate() {
            self.flow_mod(bridge, fm).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    /// The flows matching `req` (non-strict match, table, out_port, cookie).
    fn flow_stats(&self, bridge: &str, req: &FlowStatsRequest) -> Result<Vec<FlowStats>, OfpError>;

    /// Packet, byte and flow counts over the flows matching `req`.
    fn aggregate_stats(
        &self,
        bridge: &str,
        req: &FlowStatsRequest,
    ) -> Result<AggregateStats, OfpError>;

    /// Per-table statistics, one entry per table (OVS: 254), `None` if no
    /// such bridge.
    fn table_stats(&self, bridge: &str) -> Option<Vec<TableStats>>;

    /// The bridge's ports (OFPP_LOCAL included), `None` if no such bridge.
    fn port_descs(&self, bridge: &str) -> Option<Vec<PortDesc>>;

    /// Counters of port `port` or of every port (`OFPP_NONE`); an unknown
    /// port gives an empty list. `None` if no such bridge.
    fn port_stats(&self, bridge: &str, port: OfpPort) -> Option<Vec<PortStats>>;

    /// Changes a port's configuration bits (OFPPC_*). Errors: OFPPMFC_*.
    fn port_mod(&self, bridge: &str, pm: &PortMod) -> Result<(), OfpError>;

    /// Records what packet-ins connection `conn` (alive while the `Weak`
    /// upgrades) can receive, so that translation sends table misses and
    /// invalid-TTL packets to userspace only when someone wants them.
    /// Called by a connection whenever its settings may have changed;
    /// cheap when nothing changed. The default ignores it.
    fn set_packet_in_interest(&self, bridge: &str, conn: &ConnToken, interest: PacketInInterest) {
        let _ = (bridge, conn, interest);
    }

    /// Executes a packet_out on `bridge`. Errors: the OpenFlow error.
    fn packet_out(&self, bridge: &str, po: &PacketOut) -> Result<(), OfpError>;

    /// A receiver of `bridge`'s asynchronous events, `None` if no such
    /// bridge (or no events are produced yet).
    fn subscribe(&self, bridge: &str) -> Option<broadcast::Receiver<AsyncEvent>>;

    /// Returns once no packet can be forwarded any more by a rule state
    /// older than the call (the barrier guarantee). Blocking.
    fn barrier(&self);

    /// Whether [`SwitchOps::barrier`] has anything to wait for; when false
    /// the connection answers the barrier at once, without a blocking call.
    fn barrier_pending(&self) -> bool {
        true
    }

    /// Deletes every flow of `bridge` (OVS `ofproto_flush_flows`), then adds
    /// `priority=0 actions=NORMAL` to table 0 when `normal` (OVS
    /// `connmgr_flushed`: a standalone bridge without controllers). Used
    /// when the bridge gains its first controller or loses its last one,
    /// when its fail mode changes without controllers, and on entering
    /// fail-open. The default does nothing.
    fn flush_flows(&self, bridge: &str, normal: bool) {
        let _ = (bridge, normal);
    }

    /// Turns `bridge`'s fail-open mode on or off: while on, table 0 acts
    /// as if OVS's hidden `priority=15790320 actions=NORMAL` flow were
    /// installed. The default does nothing.
    fn set_fail_open(&self, bridge: &str, on: bool) {
        let _ = (bridge, on);
    }

    /// Sends `ev` to `bridge`'s connections as if the switch had produced
    /// it (fail-open's probe packet-ins). The default does nothing.
    fn send_async(&self, bridge: &str, ev: AsyncEvent) {
        let _ = (bridge, ev);
    }
}

/// [`SwitchOps`] over the real switch: OpenFlow state in the [`Backer`],
/// port counters and revalidation in the [`Datapath`].
pub struct BackerOps {
    backer: Arc<Backer>,
    datapath: Arc<Datapath>,
    /// Count of changes a barrier must wait for (flow_mods, packet-outs).
    changes: AtomicU64,
    /// `changes` as of the start of the last completed revalidation; the
    /// lock serializes revalidations so that a barrier never returns while
    /// another connection's revalidation that covers it is still running.
    revalidated: Mutex<u64>,
}

impl BackerOps {
    /// Operations on `backer`'s bridges, revalidating `datapath` at barriers.
    pub fn new(backer: Arc<Backer>, datapath: Arc<Datapath>) -> Arc<BackerOps> {
        Arc::new(BackerOps {
            backer,
            datapath,
            changes: AtomicU64::new(0),
            revalidated: Mutex::new(0),
        })
    }

    fn touched(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Makes `bridge`'s flows equal to `before` again, touching only the
    /// flows that differ (identity: table, priority, match).
    fn roll_back(&self, bridge: &str, before: &[FlowStats]) {
        let key = |f: &FlowStats| (f.table_id, f.priority, f.match_);
        let same = |a: &FlowStats, b: &FlowStats| {
            (
                a.cookie,
                &a.ofpacts,
                a.idle_timeout,
                a.hard_timeout,
                a.flags,
            ) == (
                b.cookie,
                &b.ofpacts,
                b.idle_timeout,
                b.hard_timeout,
                b.flags,
            )
        };
        let old: HashMap<_, &FlowStats> = before.iter().map(|f| (key(f), f)).collect();
        let Ok(now) = self.backer.flow_stats(bridge, &FlowStatsRequest::default()) else {
            return;
        };
        let mut keep = HashSet::new();
        for f in &now {
            match old.get(&key(f)) {
                Some(o) if same(o, f) => {
                    keep.insert(key(f));
                }
                _ => {
                    let del = FlowMod {
                        command: FlowModCommand::DeleteStrict,
                        table_id: f.table_id,
                        priority: f.priority,
                        match_: f.match_,
                        ..FlowMod::default()
                    };
                    let _ = self.backer.flow_mod(bridge, &del);
                }
            }
        }
        for f in before.iter().filter(|f| !keep.contains(&key(f))) {
            let add = FlowMod {
                cookie: f.cookie,
                table_id: f.table_id,
                command: FlowModCommand::Add,
                idle_timeout: f.idle_timeout,
                hard_timeout: f.hard_timeout,
                priority: f.priority,
                flags: f.flags,
                importance: f.importance,
                match_: f.match_,
                ofpacts: f.ofpacts.clone(),
                ..FlowMod::default()
            };
            if let Err(e) = self.backer.flow_mod(bridge, &add) {
                tracing::warn!("{bridge}: bundle roll-back could not restore a flow: {e}");
            }
        }
    }
}

impl SwitchOps for BackerOps {
    fn datapath_id(&self, bridge: &str) -> Option<u64> {
        self.backer.datapath_id(bridge)
    }

    fn flow_mod(&self, bridge: &str, fm: &FlowMod) -> Result<(), OfpError> {
        self.touched();
        self.backer.flow_mod(bridge, fm)
    }

    /// All or nothing by rollback: the bridge's flows are read first; if a
    /// flow_mod fails, flows the bundle added or changed are deleted and
    /// the flows it deleted or changed are added back as they were
    /// (counters restart). A concurrent change from another connection
    /// during the commit may be undone too; the datapath may forward with
    /// the intermediate rules until the commit's barrier.
    fn flow_mods_atomic(&self, bridge: &str, fms: &[FlowMod]) -> Result<(), (usize, OfpError)> {
        self.touched();
        let before = self
            .backer
            .flow_stats(bridge, &FlowStatsRequest::default())
            .map_err(|e| (0, e))?;
        for (i, fm) in fms.iter().enumerate() {
            if let Err(e) = self.backer.flow_mod(bridge, fm) {
                self.roll_back(bridge, &before);
                return Err((i, e));
            }
        }
        Ok(())
    }

    /// Durations are cut to milliseconds, OVS's clock resolution, so that
    /// clients print them as OVS's (`duration=0.759s`).
    fn flow_stats(&self, bridge: &str, req: &FlowStatsRequest) -> Result<Vec<FlowStats>, OfpError> {
        let mut flows = self.backer.flow_stats(bridge, req)?;
        for f in &mut flows {
            f.duration_nsec -= f.duration_nsec % 1_000_000;
        }
        Ok(flows)
    }

    fn aggregate_stats(
        &self,
        bridge: &str,
        req: &FlowStatsRequest,
    ) -> Result<AggregateStats, OfpError> {
        self.backer.aggregate_stats(bridge, req)
    }

    fn table_stats(&self, bridge: &str) -> Option<Vec<TableStats>> {
        self.backer.table_stats(bridge)
    }

    fn port_descs(&self, bridge: &str) -> Option<Vec<PortDesc>> {
        self.backer.port_descs(bridge)
    }

    fn port_stats(&self, bridge: &str, port: OfpPort) -> Option<Vec<PortStats>> {
        let cfg = self.backer.xconfig();
        let b = cfg.bridge(bridge)?;
        Some(
            b.ofports
                .iter()
                .filter(|p| port == OFPP_NONE || **p == port)
                .filter_map(|p| b.port(*p).map(|(_, xp)| (*p, xp.odp_port)))
                .map(|(ofport, odp)| {
                    let s = odp
                        .and_then(|p| self.datapath.port_stats(p))
                        .unwrap_or_default();
                    PortStats {
                        port_no: ofport,
                        rx_packets: s.rx_packets,
                        tx_packets: s.tx_packets,
                        rx_bytes: s.rx_bytes,
                        tx_bytes: s.tx_bytes,
                        rx_dropped: s.rx_dropped,
                        tx_dropped: s.tx_dropped,
                        rx_errors: s.rx_errors,
                        tx_errors: s.tx_errors,
                        rx_frame_err: s.rx_frame_err,
                        ..PortStats::default()
                    }
                })
                .collect(),
        )
    }

    fn port_mod(&self, bridge: &str, pm: &PortMod) -> Result<(), OfpError> {
        self.touched();
        self.backer.port_mod(bridge, pm)
    }

    fn set_packet_in_interest(&self, bridge: &str, conn: &ConnToken, interest: PacketInInterest) {
        self.backer.set_packet_in_interest(bridge, conn, interest);
    }

    fn packet_out(&self, bridge: &str, po: &PacketOut) -> Result<(), OfpError> {
        self.touched();
        self.backer.packet_out(bridge, po)
    }

    fn subscribe(&self, bridge: &str) -> Option<broadcast::Receiver<AsyncEvent>> {
        self.backer.subscribe(bridge)
    }

    fn flush_flows(&self, bridge: &str, normal: bool) {
        self.touched();
        self.backer.flush_flows(bridge, normal);
    }

    fn set_fail_open(&self, bridge: &str, on: bool) {
        self.touched();
        self.backer.set_fail_open(bridge, on);
    }

    fn send_async(&self, bridge: &str, ev: AsyncEvent) {
        self.backer.publish(bridge, ev);
    }

    fn barrier_pending(&self) -> bool {
        let target = self.changes.load(Ordering::Acquire);
        match self.revalidated.try_lock() {
            // Nothing changed since the last revalidation, or no megaflow
            // that could still forward with the old rules.
            Some(done) => *done < target && self.datapath.stats().flows > 0,
            // Another connection's revalidation is running: wait for it.
            None => true,
        }
    }

    fn barrier(&self) {
        let target = self.changes.load(Ordering::Acquire);
        let mut done = self.revalidated.lock();
        if *done >= target {
            // A revalidation that started after our changes has finished.
            return;
        }
        let snapshot = self.changes.load(Ordering::Acquire);
        // No megaflow installed: nothing can forward with old rules.
        if self.datapath.stats().flows > 0 {
            self.datapath.revalidate_now();
        }
        *done = snapshot;
    }
}

/// The common port_mod checks (OpenFlow 1.5.1 §7.3.4.3): the port must
/// exist (OFPPMFC_BAD_PORT), have `hw_addr` (OFPPMFC_BAD_HW_ADDR), and the
/// mask may only name OpenFlow 1.0 OFPPC_* bits (OFPPMFC_BAD_CONFIG).
/// Applying the change is [`Backer::port_mod`]; test fakes use this alone.
#[cfg(test)]
pub fn port_mod_check(ports: Option<Vec<PortDesc>>, pm: &PortMod) -> Result<(), OfpError> {
    let ports = ports.ok_or(OfpError::PORT_MOD_FAILED_BAD_PORT)?;
    crate::backer::check_port_mod(&ports, pm)
}

/// OFPC_INVALID_TTL_TO_CONTROLLER, a SET_CONFIG flag of OpenFlow 1.1 and
/// 1.2 (§A.3.2) that OVS also honours in 1.0: send packets whose TTL
/// `dec_ttl` found invalid to this controller.
pub const OFPC_INVALID_TTL_TO_CONTROLLER: u16 = 1 << 2;

/// Table misses go to controllers only up to OpenFlow 1.2 (OpenFlow 1.3.5
/// §5.4 makes a miss without a table-miss flow a drop).
use openflow::msg::OFP12_VERSION;

/// What one connection's settings say about packet-ins (OVS
/// `ofconn_receives_async_msg`, `ofconn_wants_packet_in_on_miss`).
#[derive(Clone, Copy, Debug)]
pub struct PacketInSettings {
    /// Whether the connection takes asynchronous messages at all (a
    /// service connection does only with `miss_send_len` > 0).
    pub async_on: bool,
    /// Negotiated wire version.
    pub version: u8,
    /// SET_CONFIG `miss_send_len`.
    pub miss_send_len: u16,
    /// SET_CONFIG flags (OFPC_*).
    pub flags: u16,
    /// The async configuration set with SET_ASYNC, if any.
    pub explicit: Option<openflow::msg::AsyncConfig>,
    /// The effective async configuration (explicit or defaults).
    pub effective: openflow::msg::AsyncConfig,
    /// Whether the connection's role is slave.
    pub slave: bool,
}

impl PacketInSettings {
    fn mask(&self) -> u32 {
        self.effective.packet_in_mask[usize::from(self.slave)]
    }

    /// OFPR_INVALID_TTL is off by default (OVS `ofputil_async_cfg_default`):
    /// on with OFPC_INVALID_TTL_TO_CONTROLLER (OpenFlow 1.0–1.2) or when an
    /// explicit async configuration allows it.
    fn invalid_ttl(&self) -> bool {
        let slot = usize::from(self.slave);
        match self.explicit {
            Some(c) => c.packet_in_mask[slot] & (1 << openflow::actions::OFPR_INVALID_TTL) != 0,
            None => {
                self.version <= OFP12_VERSION
                    && !self.slave
                    && self.flags & OFPC_INVALID_TTL_TO_CONTROLLER != 0
            }
        }
    }

    /// The packet-ins translation must produce for this connection.
    pub fn interest(&self) -> PacketInInterest {
        if !self.async_on {
            return PacketInInterest::default();
        }
        PacketInInterest {
            table_miss: self.version <= OFP12_VERSION
                && self.miss_send_len > 0
                && self.mask() & 1 != 0,
            invalid_ttl: self.invalid_ttl(),
        }
    }

    /// The OFPR_* reason to send a packet-in of internal reason `reason`
    /// with, or `None` if this connection must not get it: a table miss
    /// without a table-miss flow ([`OFPR_IMPLICIT_MISS`]) only to OpenFlow
    /// 1.0–1.2 connections with `miss_send_len` > 0, as OFPR_NO_MATCH;
    /// OFPR_INVALID_TTL only when asked for; other reasons by the async
    /// mask.
    pub fn wire_reason(&self, reason: u8) -> Option<u8> {
        if !self.async_on {
            return None;
        }
        match reason {
            OFPR_IMPLICIT_MISS => self.interest().table_miss.then_some(0),
            // A table-miss flow's `controller`: a miss from OpenFlow 1.3 on.
            OFPR_EXPLICIT_MISS => {
                let r = if self.version >= openflow::msg::OFP13_VERSION {
                    openflow::actions::OFPR_NO_MATCH
                } else {
                    openflow::actions::OFPR_ACTION
                };
                (self.mask() & (1 << r) != 0).then_some(r)
            }
            openflow::actions::OFPR_INVALID_TTL => self.invalid_ttl().then_some(reason),
            r if r < 32 && self.mask() & (1 << r) != 0 => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod packet_in_settings_tests {
    use super::*;
    use openflow::actions::{OFPR_ACTION, OFPR_INVALID_TTL, OFPR_NO_MATCH};
    use openflow::msg::AsyncConfig;

    const DEFAULT: AsyncConfig = AsyncConfig {
        packet_in_mask: [0x7, 0],
        port_status_mask: [0x7, 0x7],
        flow_removed_mask: [0xf, 0],
    };

    fn settings(version: u8, miss_send_len: u16, flags: u16) -> PacketInSettings {
        PacketInSettings {
            async_on: true,
            version,
            miss_send_len,
            flags,
            explicit: None,
            effective: DEFAULT,
            slave: false,
        }
    }

    #[test]
    fn table_miss_only_up_to_openflow_1_2_with_miss_send_len() {
        for (version, len, want) in [
            (1, 128, true),
            (3, 1, true),
            (1, 0, false),
            (4, 128, false),
            (6, 128, false),
        ] {
            let s = settings(version, len, 0);
            assert_eq!(s.interest().table_miss, want, "version {version} len {len}");
            assert_eq!(
                s.wire_reason(OFPR_IMPLICIT_MISS),
                want.then_some(OFPR_NO_MATCH)
            );
            // Explicit no_match/action packet-ins follow the mask in every version.
            assert_eq!(s.wire_reason(OFPR_NO_MATCH), Some(OFPR_NO_MATCH));
            assert_eq!(s.wire_reason(OFPR_ACTION), Some(OFPR_ACTION));
        }
        let mut s = settings(1, 128, 0);
        s.effective.packet_in_mask = [0x2, 0];
        assert!(!s.interest().table_miss, "the async mask forbids no_match");
        s.async_on = false;
        assert_eq!(s.wire_reason(OFPR_ACTION), None);
        assert_eq!(s.interest(), PacketInInterest::default());
    }

    #[test]
    fn a_table_miss_flows_packet_in_is_no_match_from_1_3() {
        use crate::xlate::OFPR_EXPLICIT_MISS;
        assert_eq!(
            settings(1, 128, 0).wire_reason(OFPR_EXPLICIT_MISS),
            Some(OFPR_ACTION)
        );
        assert_eq!(
            settings(4, 0, 0).wire_reason(OFPR_EXPLICIT_MISS),
            Some(OFPR_NO_MATCH),
            "not subject to miss_send_len"
        );
        let mut s = settings(4, 128, 0);
        s.effective.packet_in_mask = [1 << OFPR_ACTION, 0];
        assert_eq!(s.wire_reason(OFPR_EXPLICIT_MISS), None);
    }

    #[test]
    fn invalid_ttl_needs_the_flag_or_an_explicit_mask() {
        let flag = OFPC_INVALID_TTL_TO_CONTROLLER;
        assert_eq!(settings(1, 128, 0).wire_reason(OFPR_INVALID_TTL), None);
        assert_eq!(
            settings(1, 128, flag).wire_reason(OFPR_INVALID_TTL),
            Some(OFPR_INVALID_TTL)
        );
        assert!(settings(3, 128, flag).interest().invalid_ttl);
        assert!(
            !settings(4, 128, flag).interest().invalid_ttl,
            "no such flag in 1.3"
        );
        let mut s = settings(4, 128, 0);
        s.explicit = Some(AsyncConfig {
            packet_in_mask: [1 << OFPR_INVALID_TTL, 0],
            ..DEFAULT
        });
        s.effective = s.explicit.unwrap();
        assert!(s.interest().invalid_ttl);
        assert_eq!(s.wire_reason(OFPR_INVALID_TTL), Some(OFPR_INVALID_TTL));
        s.slave = true;
        assert!(!s.interest().invalid_ttl, "slave mask is empty");
    }
}
