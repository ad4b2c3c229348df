//! Fail modes (OVS `ofproto/fail-open.c` and the fail-mode parts of
//! `connmgr.c`): what a bridge does about its flow table when it has, or
//! loses, its controllers.
//!
//! Idea: `Bridge.fail_mode=standalone` (the default) with primary
//! controllers configured enables fail-open. Once no controller has been
//! admitted (see [`super::rconn`]) for three times the longest inactivity
//! probe interval (one interval idle, one waiting for the probe's answer,
//! one to reconnect: 15 s with the default 5 s probe), the switch flushes
//! its flows and turns fail-open on: table 0 acts as if the hidden flow
//! `priority=15790320 actions=NORMAL` were installed, so the bridge is a
//! learning switch. While fail-open is on and a controller is connected
//! but not yet admitted, a probe packet-in (a RARP frame from a random
//! locally administered address, in_port LOCAL) goes to the controllers
//! every 2 s to prompt them into action. The first admitted message from
//! any controller turns fail-open off before that message is handled; the
//! controller then fills the (flushed) table. `fail_mode=secure` never
//! touches the flows because of a controller's absence.
//!
//! The transitions of [`FlushPlan`] (OVS `connmgr_set_controllers`,
//! `connmgr_set_fail_mode`, `connmgr_flushed`): gaining the first primary
//! controller or losing the last one flushes the flows; changing the fail
//! mode of a bridge without controllers flushes them too; after a flush, a
//! standalone bridge without controllers gets `priority=0 actions=NORMAL`.
//! So a bridge with no controller forwards as a learning switch in
//! standalone mode and drops everything in secure mode until flows are
//! added.
//!
//! Unlike OVS, whose fail-open with `inactivity_probe=0` (trigger 0 s)
//! flushes the flows even while a controller is admitted, fail-open only
//! starts while no controller is admitted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openflow::msg::{PacketIn, NO_BUFFER};
use openflow::Match;

use super::ops::{AsyncEvent, SwitchOps};
use super::rconn::Link;

/// Interval between fail-open probe packet-ins.
const BOGUS_INTERVAL: Duration = Duration::from_secs(2);

/// `Bridge.fail_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailMode {
    /// Act as a learning switch when no controller is reachable (default).
    #[default]
    Standalone,
    /// Never add flows on the controllers' behalf.
    Secure,
}

impl FailMode {
    /// `standalone` / `secure` (the column's values); anything else,
    /// including an empty column, is standalone.
    pub fn parse(s: Option<&str>) -> FailMode {
        match s {
            Some("secure") => FailMode::Secure,
            _ => FailMode::Standalone,
        }
    }
}

/// The flushes a configuration change calls for, computed from the
/// bridge's previous and new (primary controllers, fail mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushPlan {
    /// Flush because the bridge gained its first or lost its last
    /// controller; `Some(normal)`: then add the NORMAL flow or not.
    pub controllers: Option<bool>,
    /// Flush because the fail mode changed without controllers.
    pub fail_mode: Option<bool>,
}

impl FlushPlan {
    /// What changes from (`had`, `old`) to (`has`, `new`) call for, in
    /// OVS's order (controllers first, judged with the old fail mode).
    pub fn new(had: bool, old: FailMode, has: bool, new: FailMode) -> FlushPlan {
        FlushPlan {
            controllers: (had != has).then_some(!has && old == FailMode::Standalone),
            fail_mode: (old != new && !has).then_some(new == FailMode::Standalone),
        }
    }
}

/// One bridge's fail-open state.
#[derive(Debug, Default)]
pub struct FailOpen {
    /// Standalone with primary controllers.
    enabled: bool,
    /// Fail-open is on.
    active: bool,
    /// Failure duration when last logged (OVS `last_disconn_secs`).
    logged: Duration,
    /// When the next probe packet-in goes out.
    next_bogus: Option<Instant>,
}

/// The longest probe interval of `links` (OVS `connmgr_get_max_probe_interval`).
fn max_probe(links: &[Arc<Link>]) -> Duration {
    links
        .iter()
        .filter_map(|l| l.probe_interval())
        .max()
        .unwrap_or(Duration::ZERO)
}

/// How long no controller of `links` has been admitted (OVS
/// `connmgr_failure_duration`); `None` without controllers.
fn failure_duration(links: &[Arc<Link>], now: Instant) -> Option<Duration> {
    links.iter().map(|l| l.failure_duration(now)).min()
}

impl FailOpen {
    /// Whether fail-open is on.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Enables or disables fail-open (standalone with primary controllers,
    /// OVS `update_fail_open`); disabling while on turns it off.
    pub fn set_enabled(&mut self, enabled: bool, ops: &dyn SwitchOps, bridge: &str) {
        self.enabled = enabled;
        if !enabled && self.active {
            self.recover(ops, bridge);
        }
    }

    fn recover(&mut self, ops: &dyn SwitchOps, bridge: &str) {
        tracing::warn!("{bridge}: No longer in fail-open mode");
        self.active = false;
        self.logged = Duration::ZERO;
        self.next_bogus = None;
        ops.set_fail_open(bridge, false);
    }

    /// Turns fail-open off if some controller of `links` is admitted (OVS
    /// `fail_open_maybe_recover`); called before handling each admitting
    /// message.
    pub fn maybe_recover(&mut self, links: &[Arc<Link>], ops: &dyn SwitchOps, bridge: &str) {
        if self.active && links.iter().any(|l| l.is_admitted()) {
            self.recover(ops, bridge);
        }
    }

    /// Periodic work at `now` (OVS `fail_open_run`): enters fail-open when
    /// due, and sends probe packet-ins while in it.
    pub fn run(&mut self, links: &[Arc<Link>], ops: &dyn SwitchOps, bridge: &str, now: Instant) {
        if !self.enabled {
            return;
        }
        let Some(failed) = failure_duration(links, now) else {
            return;
        };
        let admitted = links.iter().any(|l| l.is_admitted());
        if !admitted && failed >= max_probe(links) * 3 {
            if !self.active {
                tracing::warn!(
                    "{bridge}: Could not connect to controller (or switch failed controller's \
                     post-connection admission control policy) for {} seconds, failing open",
                    failed.as_secs()
                );
                self.active = true;
                self.logged = failed;
                ops.flush_flows(bridge, false);
                ops.set_fail_open(bridge, true);
            } else if failed > self.logged + Duration::from_secs(60) {
                tracing::info!(
                    "{bridge}: Still in fail-open mode after {} seconds disconnected from controller",
                    failed.as_secs()
                );
                self.logged = failed;
            }
        }
        if self.active {
            if links.iter().any(|l| l.is_connected()) {
                match self.next_bogus {
                    Some(t) if now >= t => {
                        ops.send_async(bridge, AsyncEvent::PacketIn(bogus_packet_in()));
                        self.next_bogus = Some(now + BOGUS_INTERVAL);
                    }
                    Some(_) => {}
                    None => self.next_bogus = Some(now + BOGUS_INTERVAL),
                }
            } else {
                self.next_bogus = None;
            }
        }
    }
}

/// Fail-open's probe packet-in (OVS `send_bogus_packet_ins`): a RARP
/// request from a random Nicira-range address, in_port LOCAL, reason
/// OFPR_NO_MATCH, cookie all-ones, not buffered.
pub fn bogus_packet_in() -> PacketIn {
    let r = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        .to_be_bytes();
    // 00:23:20 (Nicira's OUI) with random low bits, as eth_addr_nicira_random.
    let mac = [0x00, 0x23, 0x20, r[1] & 0x7f, r[2], r[3]];
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x80, 0x35]); // ETH_TYPE_RARP
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 3]); // Ethernet/IPv4, REVERSE_REQUEST
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0; 4]);
    f.resize(60, 0);
    let mut metadata = Match::catchall();
    metadata.set(
        openflow::Field::InPort,
        u128::from(openflow::port::OFPP_LOCAL),
    );
    PacketIn {
        buffer_id: NO_BUFFER,
        total_len: f.len() as u32,
        reason: openflow::actions::OFPR_NO_MATCH,
        table_id: 0,
        cookie: u64::MAX,
        metadata,
        data: f,
        userdata: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connmgr::conn::ConnKind;
    use crate::connmgr::rconn::LinkSettings;
    use parking_lot::Mutex;
    use tokio::sync::Notify;

    #[derive(Default)]
    struct Rec(Mutex<Vec<String>>);
    impl SwitchOps for Rec {
        fn datapath_id(&self, _: &str) -> Option<u64> {
            None
        }
        fn flow_mod(&self, _: &str, _: &openflow::msg::FlowMod) -> Result<(), openflow::OfpError> {
            Ok(())
        }
        fn flow_stats(
            &self,
            _: &str,
            _: &openflow::msg::FlowStatsRequest,
        ) -> Result<Vec<openflow::msg::FlowStats>, openflow::OfpError> {
            Ok(Vec::new())
        }
        fn aggregate_stats(
            &self,
            _: &str,
            _: &openflow::msg::FlowStatsRequest,
        ) -> Result<openflow::msg::AggregateStats, openflow::OfpError> {
            Ok(Default::default())
        }
        fn table_stats(&self, _: &str) -> Option<Vec<openflow::msg::TableStats>> {
            None
        }
        fn port_descs(&self, _: &str) -> Option<Vec<openflow::msg::PortDesc>> {
            None
        }
        fn port_stats(&self, _: &str, _: u16) -> Option<Vec<openflow::msg::PortStats>> {
            None
        }
        fn port_mod(&self, _: &str, _: &openflow::msg::PortMod) -> Result<(), openflow::OfpError> {
            Ok(())
        }
        fn packet_out(
            &self,
            _: &str,
            _: &openflow::msg::PacketOut,
        ) -> Result<(), openflow::OfpError> {
            Ok(())
        }
        fn subscribe(&self, _: &str) -> Option<tokio::sync::broadcast::Receiver<AsyncEvent>> {
            None
        }
        fn barrier(&self) {}
        fn flush_flows(&self, b: &str, normal: bool) {
            self.0.lock().push(format!("flush {b} normal={normal}"));
        }
        fn set_fail_open(&self, b: &str, on: bool) {
            self.0.lock().push(format!("fail_open {b} {on}"));
        }
        fn send_async(&self, b: &str, ev: AsyncEvent) {
            assert!(matches!(&ev, AsyncEvent::PacketIn(pi) if pi.data[12..14] == [0x80, 0x35]));
            self.0.lock().push(format!("bogus {b}"));
        }
    }

    fn link(probe: u64, now: Instant) -> Arc<Link> {
        Link::new(
            "tcp:127.0.0.1",
            LinkSettings {
                kind: ConnKind::Primary,
                probe: (probe > 0).then(|| Duration::from_secs(probe)),
                max_backoff: Duration::from_secs(8),
                rate: None,
                enable_async: true,
                dscp: 48,
                queue_len: 100,
            },
            Arc::new(Notify::new()),
            now,
        )
    }

    #[test]
    fn flush_plans_as_ovs() {
        use FailMode::*;
        // Nothing changes: nothing to do.
        assert_eq!(
            FlushPlan::new(false, Standalone, false, Standalone),
            FlushPlan {
                controllers: None,
                fail_mode: None
            }
        );
        // First controller: flush, no NORMAL flow.
        assert_eq!(
            FlushPlan::new(false, Standalone, true, Standalone).controllers,
            Some(false)
        );
        // Last controller gone: flush, NORMAL back in standalone only.
        assert_eq!(
            FlushPlan::new(true, Standalone, false, Standalone).controllers,
            Some(true)
        );
        assert_eq!(
            FlushPlan::new(true, Secure, false, Secure).controllers,
            Some(false)
        );
        // set-fail-mode secure without controllers empties the table;
        // del-fail-mode brings the NORMAL flow back.
        assert_eq!(
            FlushPlan::new(false, Standalone, false, Secure),
            FlushPlan {
                controllers: None,
                fail_mode: Some(false)
            }
        );
        assert_eq!(
            FlushPlan::new(false, Secure, false, Standalone).fail_mode,
            Some(true)
        );
        // With controllers a fail-mode change keeps the flows.
        assert_eq!(
            FlushPlan::new(true, Standalone, true, Secure),
            FlushPlan {
                controllers: None,
                fail_mode: None
            }
        );
        assert_eq!(FailMode::parse(Some("secure")), Secure);
        assert_eq!(FailMode::parse(Some("standalone")), Standalone);
        assert_eq!(FailMode::parse(None), Standalone);
    }

    #[test]
    fn fails_open_after_three_probe_intervals_and_recovers_on_admission() {
        let t0 = Instant::now();
        let l = link(5, t0);
        let links = vec![l.clone()];
        let ops = Rec::default();
        let mut fo = FailOpen::default();
        fo.set_enabled(true, &ops, "br0");
        fo.run(&links, &ops, "br0", t0 + Duration::from_secs(14));
        assert!(!fo.is_active());
        assert!(ops.0.lock().is_empty());
        fo.run(&links, &ops, "br0", t0 + Duration::from_secs(15));
        assert!(fo.is_active());
        assert_eq!(
            *ops.0.lock(),
            vec!["flush br0 normal=false", "fail_open br0 true"]
        );
        // A controller connects but sends only hello/features: still open,
        // probe packet-ins every 2 s.
        let t1 = t0 + Duration::from_secs(20);
        l.connected(t1);
        l.on_message(0, t1);
        fo.maybe_recover(&links, &ops, "br0");
        assert!(fo.is_active());
        fo.run(&links, &ops, "br0", t1);
        fo.run(&links, &ops, "br0", t1 + Duration::from_secs(1));
        fo.run(&links, &ops, "br0", t1 + Duration::from_secs(2));
        assert_eq!(ops.0.lock().last().unwrap(), "bogus br0");
        assert_eq!(ops.0.lock().len(), 3);
        // A flow_mod admits it: fail-open ends at once.
        assert!(l.on_message(14, t1 + Duration::from_secs(3)));
        fo.maybe_recover(&links, &ops, "br0");
        assert!(!fo.is_active());
        assert_eq!(ops.0.lock().last().unwrap(), "fail_open br0 false");
        // Admitted: never fails open.
        fo.run(&links, &ops, "br0", t1 + Duration::from_secs(100));
        assert!(!fo.is_active());
        // Disabled (secure) while open: recovers; disabled never fails open.
        l.disconnected(t1 + Duration::from_secs(4), Some("End of file".into()));
        fo.run(&links, &ops, "br0", t1 + Duration::from_secs(20));
        assert!(fo.is_active());
        fo.set_enabled(false, &ops, "br0");
        assert!(!fo.is_active());
        fo.run(&links, &ops, "br0", t1 + Duration::from_secs(200));
        assert!(!fo.is_active());
    }

    #[test]
    fn longest_probe_counts_and_probes_off_mean_no_wait() {
        let t0 = Instant::now();
        let links = vec![link(5, t0), link(10, t0)];
        let ops = Rec::default();
        let mut fo = FailOpen::default();
        fo.set_enabled(true, &ops, "br0");
        fo.run(&links, &ops, "br0", t0 + Duration::from_secs(29));
        assert!(!fo.is_active());
        fo.run(&links, &ops, "br0", t0 + Duration::from_secs(30));
        assert!(fo.is_active());
        let links = vec![link(0, t0)];
        let mut fo = FailOpen::default();
        fo.set_enabled(true, &ops, "br0");
        fo.run(&links, &ops, "br0", t0);
        assert!(fo.is_active());
    }
}
