//! What the connection manager needs from the switch: the narrow
//! [`SwitchOps`] interface (as OVS's connmgr calls into `ofproto.c`), the
//! asynchronous events it relays, and its implementation over the backer
//! and the datapath ([`BackerOps`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use datapath::Datapath;
use openflow::msg::{
    AggregateStats, FlowMod, FlowRemoved, FlowStats, FlowStatsRequest, PacketIn, PacketOut,
    PortDesc, PortMod, PortStats, PortStatus, TableStats,
};
use openflow::port::{OfpPort, OFPP_NONE};
use openflow::OfpError;
use tokio::sync::broadcast;

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

    /// Executes a packet_out on `bridge`. Errors: the OpenFlow error.
    fn packet_out(&self, bridge: &str, po: &PacketOut) -> Result<(), OfpError>;

    /// A receiver of `bridge`'s asynchronous events, `None` if no such
    /// bridge (or no events are produced yet).
    fn subscribe(&self, bridge: &str) -> Option<broadcast::Receiver<AsyncEvent>>;

    /// Returns once no packet can be forwarded any more by a rule state
    /// older than the call (the barrier guarantee). Blocking.
    fn barrier(&self);
}

/// [`SwitchOps`] over the real switch: OpenFlow state in the [`Backer`],
/// port counters and revalidation in the [`Datapath`].
pub struct BackerOps {
    backer: Arc<Backer>,
    datapath: Arc<Datapath>,
    /// Set by every change a barrier must wait for; cleared by `barrier`.
    dirty: AtomicBool,
}

impl BackerOps {
    /// Operations on `backer`'s bridges, revalidating `datapath` at barriers.
    pub fn new(backer: Arc<Backer>, datapath: Arc<Datapath>) -> Arc<BackerOps> {
        Arc::new(BackerOps {
            backer,
            datapath,
            dirty: AtomicBool::new(false),
        })
    }

    fn bridge_ports(&self, bridge: &str) -> Option<Vec<(String, u16, Option<u32>)>> {
        let cfg = self.backer.xconfig();
        let b = cfg.bridge(bridge)?;
        let mut ports: Vec<(String, u16, Option<u32>)> = b
            .bundles
            .iter()
            .flat_map(|bundle| bundle.ifaces.iter())
            .map(|p| (p.name.clone(), p.ofport, p.odp_port))
            .collect();
        ports.sort_by_key(|p| p.1);
        Some(ports)
    }
}

/// OFPPF_10GB_FD | OFPPF_COPPER (OpenFlow 1.1+ layout), what OVS reports
/// for ports whose speed it cannot read.
const DEFAULT_CURR: u32 = (1 << 6) | (1 << 11);

impl SwitchOps for BackerOps {
    fn datapath_id(&self, bridge: &str) -> Option<u64> {
        let ports = self.bridge_ports(bridge)?;
        // The local port's address, as OVS's default datapath id.
        let mac = ports
            .iter()
            .find(|p| p.1 == openflow::port::OFPP_LOCAL)
            .and_then(|p| read_mac(&p.0))
            .unwrap_or([0; 6]);
        Some(mac.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn flow_mod(&self, _bridge: &str, _fm: &FlowMod) -> Result<(), OfpError> {
        // Flow tables are not wired into the backer yet.
        self.dirty.store(true, Ordering::Release);
        Err(OfpError::FLOW_MOD_FAILED_EPERM)
    }

    fn flow_stats(
        &self,
        bridge: &str,
        _req: &FlowStatsRequest,
    ) -> Result<Vec<FlowStats>, OfpError> {
        self.bridge_ports(bridge)
            .map(|_| Vec::new())
            .ok_or(OfpError::BAD_REQUEST_EPERM)
    }

    fn aggregate_stats(
        &self,
        bridge: &str,
        _req: &FlowStatsRequest,
    ) -> Result<AggregateStats, OfpError> {
        self.bridge_ports(bridge)
            .map(|_| AggregateStats::default())
            .ok_or(OfpError::BAD_REQUEST_EPERM)
    }

    fn table_stats(&self, bridge: &str) -> Option<Vec<TableStats>> {
        self.bridge_ports(bridge)?;
        Some(
            (0..crate::connmgr::features::N_TABLES)
                .map(|t| TableStats {
                    table_id: t,
                    name: String::new(),
                    wildcards: 0x003f_ffff,
                    max_entries: 1_000_000,
                    active_count: 0,
                    lookup_count: 0,
                    matched_count: 0,
                })
                .collect(),
        )
    }

    fn port_descs(&self, bridge: &str) -> Option<Vec<PortDesc>> {
        let ports = self.bridge_ports(bridge)?;
        Some(
            ports
                .into_iter()
                .map(|(name, ofport, _)| {
                    let (up, link) = read_flags(&name);
                    PortDesc {
                        port_no: ofport,
                        hw_addr: read_mac(&name).unwrap_or([0; 6]),
                        config: if up { 0 } else { 1 },
                        state: if link { 4 } else { 1 },
                        curr: DEFAULT_CURR,
                        curr_speed: 10_000_000,
                        name,
                        ..PortDesc::default()
                    }
                })
                .collect(),
        )
    }

    fn port_stats(&self, bridge: &str, port: OfpPort) -> Option<Vec<PortStats>> {
        let ports = self.bridge_ports(bridge)?;
        Some(
            ports
                .into_iter()
                .filter(|p| port == OFPP_NONE || p.1 == port)
                .map(|(_, ofport, odp)| {
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
        port_mod_check(self.port_descs(bridge), pm)
    }

    fn packet_out(&self, _bridge: &str, _po: &PacketOut) -> Result<(), OfpError> {
        Err(OfpError::BAD_REQUEST_EPERM)
    }

    fn subscribe(&self, _bridge: &str) -> Option<broadcast::Receiver<AsyncEvent>> {
        None
    }

    fn barrier(&self) {
        // Nothing changed since the last barrier, or no megaflow to fix:
        // skip the round trip to the forwarding threads.
        if self.dirty.swap(false, Ordering::AcqRel) && self.datapath.stats().flows > 0 {
            self.datapath.revalidate_now();
        }
    }
}

/// The common port_mod checks (OpenFlow 1.5.1 §7.3.4.3): the port must
/// exist (OFPPMFC_BAD_PORT) and have `hw_addr` (OFPPMFC_BAD_HW_ADDR). A
/// request that changes no bit (`mask` 0) is a no-op; changing
/// configuration bits is not implemented and answers OFPPMFC_EPERM.
pub fn port_mod_check(ports: Option<Vec<PortDesc>>, pm: &PortMod) -> Result<(), OfpError> {
    let ports = ports.ok_or(OfpError::PORT_MOD_FAILED_BAD_PORT)?;
    let port = ports
        .iter()
        .find(|p| p.port_no == pm.port_no)
        .ok_or(OfpError::PORT_MOD_FAILED_BAD_PORT)?;
    if port.hw_addr != pm.hw_addr {
        return Err(OfpError::PORT_MOD_FAILED_BAD_HW_ADDR);
    }
    if pm.mask & (pm.config ^ port.config) != 0 {
        return Err(OfpError::PORT_MOD_FAILED_EPERM);
    }
    Ok(())
}

fn sysfs(name: &str, file: &str) -> Option<String> {
    if name.contains('/') || name.is_empty() {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/{file}")).ok()
}

/// The interface's Ethernet address from sysfs.
fn read_mac(name: &str) -> Option<[u8; 6]> {
    let s = sysfs(name, "address")?;
    let mut mac = [0u8; 6];
    let mut parts = s.trim().split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    Some(mac)
}

/// (administratively up, carrier up) from sysfs.
fn read_flags(name: &str) -> (bool, bool) {
    let up = sysfs(name, "flags")
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|f| f & 1 != 0);
    let carrier = sysfs(name, "carrier").is_some_and(|c| c.trim() == "1");
    (up, up && carrier)
}
