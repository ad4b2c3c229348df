//! Per-bridge OpenFlow state that outlives reconfigurations: the flow
//! tables, the subscribers to asynchronous messages, and the registry that
//! lets a datapath `userspace` action find its way back to an OpenFlow
//! PACKET_IN.
//!
//! Idea: the [`crate::xlate::XConfig`] snapshot is rebuilt on every
//! reconfiguration, but a bridge's rules and its controllers' event queues
//! must survive it, so they live in an [`OfBridge`] behind an `Arc` that the
//! backer hands from one snapshot to the next (as it does the MAC table).
//!
//! Invariants: events go through one bounded `tokio::sync::broadcast`
//! channel per bridge ([`EVENT_QUEUE_LEN`]); sending never blocks: a slow
//! receiver loses the oldest events and learns how many (`Lagged`). The
//! packet-in interest summary ([`OfBridge::packet_in_interest`]) is the
//! union of the interests of the live registered connections as of the
//! last registration or purge; a connection is identified (and known to
//! be alive) by a `Weak` to an object it owns for its whole life.
//!
//! Performance: publishing is one broadcast `send` (a short internal
//! lock); it runs on the slow path (flow_mod, expiry) or on a forwarding
//! thread for packet-ins (no blocking). Translation reads the interest
//! summary with one atomic load.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Weak;

use parking_lot::{Mutex, RwLock};
use tokio::sync::broadcast;

pub use crate::connmgr::AsyncEvent;
use crate::table::OfTables;
use crate::xlate::PacketInInterest;

/// A connection's identity and liveness token (see [`OfBridge::set_packet_in_interest`]).
pub type ConnToken = Weak<dyn Any + Send + Sync>;

/// Capacity of each bridge's event channel.
pub const EVENT_QUEUE_LEN: usize = 1024;

/// A bridge's OpenFlow state (see the module documentation).
#[derive(Debug)]
pub struct OfBridge {
    /// The 255 flow tables.
    pub tables: RwLock<OfTables>,
    events: broadcast::Sender<AsyncEvent>,
    /// Events published while nobody listened.
    pub events_unheard: AtomicU64,
    /// Packets dropped by `dec_ttl` with a TTL of 0 or 1.
    pub invalid_ttl: AtomicU64,
    /// OpenFlow-only OFPPC_* bits set by port_mod, by OpenFlow port:
    /// (interface name, bits). Forgotten when the port goes away.
    pub port_config: Mutex<HashMap<u16, (String, u32)>>,
    /// Registered connections and what packet-ins they want.
    listeners: Mutex<Vec<(ConnToken, PacketInInterest)>>,
    /// Union of `listeners`' interests (bit 0 table_miss, bit 1 invalid_ttl).
    interest: AtomicU8,
    /// Fail-open mode (OVS `fail-open.c`): while set, every lookup in table
    /// 0 finds the hidden fail-open flow (`priority=15790320
    /// actions=NORMAL`, above every OpenFlow priority) before any rule.
    pub fail_open: AtomicBool,
}

fn interest_bits(i: PacketInInterest) -> u8 {
    u8::from(i.table_miss) | u8::from(i.invalid_ttl) << 1
}

impl OfBridge {
    /// A bridge whose tables were created at `now` (ns) with the default flow.
    pub fn new(now: u64) -> OfBridge {
        OfBridge {
            tables: RwLock::new(OfTables::new(now)),
            events: broadcast::channel(EVENT_QUEUE_LEN).0,
            events_unheard: AtomicU64::new(0),
            invalid_ttl: AtomicU64::new(0),
            port_config: Mutex::new(HashMap::new()),
            listeners: Mutex::new(Vec::new()),
            interest: AtomicU8::new(0),
            fail_open: AtomicBool::new(false),
        }
    }

    /// What packet-ins some live registered connection wants (one atomic
    /// load; may still count a connection that closed since the last
    /// [`OfBridge::purge_listeners`]).
    pub fn packet_in_interest(&self) -> PacketInInterest {
        let bits = self.interest.load(Ordering::Acquire);
        PacketInInterest {
            table_miss: bits & 1 != 0,
            invalid_ttl: bits & 2 != 0,
        }
    }

    /// Records that connection `conn` (alive while the `Weak` upgrades)
    /// wants `interest` (the default, nothing, unregisters it). Returns
    /// whether the bridge's union changed (the caller revalidates).
    pub fn set_packet_in_interest(&self, conn: &ConnToken, interest: PacketInInterest) -> bool {
        let mut l = self.listeners.lock();
        let pos = l.iter().position(|(w, _)| Weak::ptr_eq(w, conn));
        match (pos, interest == PacketInInterest::default()) {
            (Some(i), true) => {
                l.swap_remove(i);
            }
            (Some(i), false) => {
                if l[i].1 == interest {
                    return false;
                }
                l[i].1 = interest;
            }
            (None, true) => return false,
            (None, false) => l.push((conn.clone(), interest)),
        }
        self.recompute(&mut l)
    }

    /// Forgets connections that closed. Returns whether the union changed.
    pub fn purge_listeners(&self) -> bool {
        let mut l = self.listeners.lock();
        self.recompute(&mut l)
    }

    fn recompute(&self, l: &mut Vec<(ConnToken, PacketInInterest)>) -> bool {
        l.retain(|(w, _)| w.strong_count() > 0);
        let bits = l.iter().fold(0, |a, (_, i)| a | interest_bits(*i));
        self.interest.swap(bits, Ordering::AcqRel) != bits
    }

    /// A new receiver of this bridge's events (bounded: a receiver that
    /// falls [`EVENT_QUEUE_LEN`] events behind gets `Lagged(n)`).
    pub fn subscribe(&self) -> broadcast::Receiver<AsyncEvent> {
        self.events.subscribe()
    }

    /// Sends `ev` to every subscriber without blocking.
    pub fn publish(&self, ev: AsyncEvent) {
        if self.events.send(ev).is_err() {
            self.events_unheard.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether anyone listens.
    pub fn has_subscribers(&self) -> bool {
        self.events.receiver_count() > 0
    }
}

/// Maximum contexts in a [`CtlRegistry`] (16-bit ids, 0 reserved).
pub const CTL_REGISTRY_MAX: usize = u16::MAX as usize;

/// Where a `controller` action was: bridge, table and rule cookie, and
/// whether the rule is a table-miss flow.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CtlContext {
    /// Bridge name.
    pub bridge: String,
    /// Table of the rule.
    pub table_id: u8,
    /// Cookie of the rule (all ones if none, e.g. packet-out).
    pub cookie: u64,
    /// The rule is a table-miss flow (priority 0, matching everything;
    /// OVS `OFPROTO_PACKET_IN_MISS_FLOW`): its OFPR_ACTION packet-ins are
    /// [`crate::xlate::OFPR_EXPLICIT_MISS`].
    pub table_miss: bool,
}

/// Interns [`CtlContext`]s as 16-bit ids carried in the datapath's
/// `userspace` userdata (`ControllerUserdata::recirc_id`). Id 0 = unknown
/// (the registry is full). Entries are never freed (bounded by the number
/// of distinct bridge/table/cookie triples, at most 65535).
#[derive(Debug, Default)]
pub struct CtlRegistry {
    inner: Mutex<(HashMap<CtlContext, u16>, Vec<CtlContext>)>,
}

impl CtlRegistry {
    /// The id of `ctx`, allocating one if new (0 if full).
    pub fn intern(&self, ctx: &CtlContext) -> u16 {
        let mut g = self.inner.lock();
        if let Some(&id) = g.0.get(ctx) {
            return id;
        }
        if g.1.len() >= CTL_REGISTRY_MAX {
            return 0;
        }
        g.1.push(ctx.clone());
        let id = g.1.len() as u16;
        g.0.insert(ctx.clone(), id);
        id
    }

    /// The context of `id`, if known.
    pub fn get(&self, id: u16) -> Option<CtlContext> {
        let g = self.inner.lock();
        g.1.get(usize::from(id).checked_sub(1)?).cloned()
    }
}
