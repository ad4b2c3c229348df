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

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use datapath::{FlowStats, UpcallHandler, Xlated};
use packet::FlowKey;
use parking_lot::Mutex;

use crate::clock::{Clock, MonotonicClock};
use crate::config::BridgeConfig;
use crate::mac_learning::{EthAddr, MacLearning};
use crate::xlate::{self, XBundle, XConfig, OFPP_LOCAL};

/// Every bridge of the switch; the datapath's upcall handler.
pub struct Backer {
    xcfg: ArcSwap<XConfig>,
    /// The configuration last applied; its lock also serializes
    /// [`Backer::reconfigure`].
    last: Mutex<Vec<BridgeConfig>>,
    generation: AtomicU64,
    clock: Arc<dyn Clock>,
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
    pub fn reconfigure(&self, bridges: &[BridgeConfig]) {
        let mut last = self.last.lock();
        if last.as_slice() == bridges {
            return;
        }
        let old = self.xcfg.load_full();
        let new = XConfig::new(bridges, |bc| {
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
        });
        let new = Arc::new(new);
        self.xcfg.store(new.clone());

        // Flush what no longer holds, now that no new upcall uses `old`.
        let now = self.now();
        for nb in &new.bridges {
            let Some(ob) = old.bridge(&nb.name) else {
                continue;
            };
            let by_name: std::collections::HashMap<&str, &XBundle> =
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
        *last = bridges.to_vec();
        self.bump();
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
        let mut changed = false;
        for b in &cfg.bridges {
            changed |= b.ml.lock().run(now);
        }
        if changed {
            self.bump();
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
        let cfg = self.xcfg.load();
        let mut out = Xlated::default();
        let outcome = xlate::xlate(&cfg, key, self.now(), may_learn, &mut out);
        if outcome.ml_changed {
            self.bump();
        }
        out
    }
}

impl UpcallHandler for Backer {
    /// Translates a missed packet, learning its source MAC.
    fn upcall(&self, key: &FlowKey, _packet: &[u8]) -> Xlated {
        self.xlate_with(key, true)
    }

    /// Re-translates a megaflow; when it saw traffic (`stats.packets > 0`)
    /// the source MAC is refreshed (or re-learned, or moved) as a packet would.
    fn revalidate(&self, key: &FlowKey, stats: &FlowStats) -> Xlated {
        self.xlate_with(key, stats.packets > 0)
    }

    fn generation(&self) -> u64 {
        Backer::generation(self)
    }
}

#[cfg(test)]
#[path = "backer_tests.rs"]
mod tests;
