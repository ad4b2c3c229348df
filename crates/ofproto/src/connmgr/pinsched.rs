//! Packet-in rate limiting for one connection (OVS `ofproto/pinsched.c`,
//! `Controller.controller_rate_limit`/`controller_burst_limit`).
//!
//! Idea: a token bucket of `burst` packets refilled at `rate` packets per
//! second. A packet-in goes out at once while the bucket has a token and
//! nothing waits ("bypassed"); otherwise it waits in a queue of its input
//! port ("queued"), and the queues are drained round-robin across ports as
//! tokens come back, so one busy port cannot starve the others. At most
//! `burst` packets wait in all; a packet arriving at a full scheduler
//! pushes out the oldest packet of the longest queue ("dropped").
//!
//! Invariants: `n_queued` equals the packets in `queues` and never exceeds
//! `burst`; no queue in `queues` is empty. Memory is bounded by `burst`
//! messages. Performance: O(log ports) per packet; nothing here blocks.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counters of one scheduler, relative to the connection it belongs to (the
/// `packet-in-TYPE-*` keys of `Controller.status`).
#[derive(Debug, Default)]
pub struct PinStats {
    /// Sent at once because the rate was not exceeded (`bypassed`).
    pub bypassed: AtomicU64,
    /// Put in a queue to send later (`queued`).
    pub queued: AtomicU64,
    /// Dropped from a queue because the scheduler was full (`dropped`).
    pub dropped: AtomicU64,
    /// Packets waiting now (`backlog`).
    pub backlog: AtomicU64,
}

/// Packets drained per [`PinSched::run`] call at most (OVS drains 50 per
/// main-loop iteration).
const RUN_BATCH: usize = 50;

/// A packet-in scheduler (see the module documentation).
#[derive(Debug)]
pub struct PinSched {
    rate: u32,
    burst: u32,
    tokens: f64,
    last_fill: Instant,
    queues: BTreeMap<u16, VecDeque<Vec<u8>>>,
    /// The port served last by the round-robin drain.
    last_port: Option<u16>,
    n_queued: usize,
    stats: Arc<PinStats>,
}

/// The effective (rate, burst) of `controller_rate_limit` and
/// `controller_burst_limit` as OVS `pinsched_set_limits` takes them: a rate
/// of 0 or less means 1000 packets/s, a burst of 0 or less a quarter of the
/// rate, and the burst is at least 1.
pub fn limits(rate: i64, burst: i64) -> (u32, u32) {
    let rate = if rate <= 0 {
        1000
    } else {
        u32::try_from(rate).unwrap_or(u32::MAX)
    };
    let burst = if burst <= 0 {
        rate / 4
    } else {
        u32::try_from(burst).unwrap_or(u32::MAX)
    };
    (rate, burst.clamp(1, i32::MAX as u32 / 1000))
}

impl PinSched {
    /// A scheduler for `rate` packets/s with bursts of `burst` packets
    /// (both at least 1), its bucket full at `now`.
    pub fn new(rate: u32, burst: u32, now: Instant) -> PinSched {
        let burst = burst.max(1);
        PinSched {
            rate: rate.max(1),
            burst,
            tokens: f64::from(burst),
            last_fill: now,
            queues: BTreeMap::new(),
            last_port: None,
            n_queued: 0,
            stats: Arc::new(PinStats::default()),
        }
    }

    /// The (rate, burst) this scheduler enforces.
    pub fn limits(&self) -> (u32, u32) {
        (self.rate, self.burst)
    }

    /// This scheduler's counters (shared with the status report).
    pub fn stats(&self) -> &Arc<PinStats> {
        &self.stats
    }

    fn fill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last_fill).as_secs_f64();
        self.last_fill = self.last_fill.max(now);
        self.tokens = (self.tokens + elapsed * f64::from(self.rate)).min(f64::from(self.burst));
    }

    fn take_token(&mut self, now: Instant) -> bool {
        self.fill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Offers packet-in `msg` that arrived on `in_port` at `now`: returns it
    /// if it may be sent now, or keeps it (possibly pushing out an older
    /// one) for [`PinSched::run`].
    pub fn send(&mut self, in_port: u16, msg: Vec<u8>, now: Instant) -> Option<Vec<u8>> {
        if self.n_queued == 0 && self.take_token(now) {
            self.stats.bypassed.fetch_add(1, Ordering::Relaxed);
            return Some(msg);
        }
        if self.n_queued >= self.burst as usize {
            self.drop_one();
        }
        self.queues.entry(in_port).or_default().push_back(msg);
        self.n_queued += 1;
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        self.publish_backlog();
        None
    }

    /// Drops the oldest packet of the longest queue (the first such port
    /// on a tie).
    fn drop_one(&mut self) {
        let longest = self
            .queues
            .iter()
            .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
            .map(|(p, _)| *p);
        if let Some(port) = longest {
            if let Some(q) = self.queues.get_mut(&port) {
                q.pop_front();
                if q.is_empty() {
                    self.queues.remove(&port);
                }
            }
            self.n_queued -= 1;
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn publish_backlog(&self) {
        self.stats
            .backlog
            .store(self.n_queued as u64, Ordering::Relaxed);
    }

    /// Appends to `out` the waiting packets that the rate allows at `now`
    /// (at most 50), taking ports in turn.
    pub fn run(&mut self, now: Instant, out: &mut Vec<Vec<u8>>) {
        for _ in 0..RUN_BATCH {
            if self.n_queued == 0 || !self.take_token(now) {
                break;
            }
            let port = self
                .last_port
                .and_then(|last| self.queues.range(last + 1..).next().map(|(p, _)| *p))
                .or_else(|| self.queues.keys().next().copied());
            let Some(port) = port else { break };
            if let Some(q) = self.queues.get_mut(&port) {
                if let Some(m) = q.pop_front() {
                    out.push(m);
                }
                if q.is_empty() {
                    self.queues.remove(&port);
                }
            }
            self.n_queued -= 1;
            self.last_port = Some(port);
        }
        self.publish_backlog();
    }

    /// When [`PinSched::run`] can next send something: `None` if nothing
    /// waits.
    pub fn next_wakeup(&mut self, now: Instant) -> Option<Instant> {
        if self.n_queued == 0 {
            return None;
        }
        self.fill(now);
        if self.tokens >= 1.0 {
            return Some(now);
        }
        let secs = (1.0 - self.tokens) / f64::from(self.rate);
        Some(now + Duration::from_secs_f64(secs.max(0.0005)))
    }

    /// Packets waiting.
    pub fn n_queued(&self) -> usize {
        self.n_queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(port: u16, i: u32) -> Vec<u8> {
        let mut v = port.to_be_bytes().to_vec();
        v.extend_from_slice(&i.to_be_bytes());
        v
    }

    #[test]
    fn limits_as_ovs() {
        assert_eq!(limits(100, 0), (100, 25));
        assert_eq!(limits(100, 40), (100, 40));
        assert_eq!(limits(0, 0), (1000, 250));
        assert_eq!(limits(2, 0), (2, 1));
    }

    #[test]
    fn bursts_pass_then_queue_then_drain_at_the_rate() {
        let t0 = Instant::now();
        let mut ps = PinSched::new(100, 25, t0);
        // A full bucket: 25 go at once.
        for i in 0..25 {
            assert!(ps.send(1, msg(1, i), t0).is_some(), "packet {i}");
        }
        // The next 25 wait; 10 more push out the oldest waiting ones.
        for i in 25..60 {
            assert!(ps.send(1, msg(1, i), t0).is_none());
        }
        assert_eq!(ps.n_queued(), 25);
        let s = ps.stats().clone();
        assert_eq!(s.bypassed.load(Ordering::Relaxed), 25);
        assert_eq!(s.queued.load(Ordering::Relaxed), 35);
        assert_eq!(s.dropped.load(Ordering::Relaxed), 10);
        assert_eq!(s.backlog.load(Ordering::Relaxed), 25);
        let mut out = Vec::new();
        ps.run(t0, &mut out);
        assert!(out.is_empty(), "no token left");
        let wake = ps.next_wakeup(t0).unwrap();
        assert!(wake > t0 && wake <= t0 + Duration::from_millis(11));
        // 100 ms later: 10 tokens, the 10 oldest survivors (35..45) in order.
        ps.run(t0 + Duration::from_millis(100), &mut out);
        assert_eq!(out, (35..45).map(|i| msg(1, i)).collect::<Vec<_>>());
        assert_eq!(s.backlog.load(Ordering::Relaxed), 15);
        // While packets wait, a new one queues behind them even with tokens.
        let t1 = t0 + Duration::from_secs(10);
        assert!(ps.send(1, msg(1, 99), t1).is_none());
        out.clear();
        ps.run(t1, &mut out);
        assert_eq!(out.len(), 16);
        assert_eq!(ps.next_wakeup(t1), None);
        assert!(ps.send(1, msg(1, 100), t1).is_some(), "bypass again");
    }

    #[test]
    fn ports_share_the_queue_fairly() {
        let t0 = Instant::now();
        let mut ps = PinSched::new(10, 6, t0);
        for i in 0..6 {
            assert!(ps.send(1, msg(1, i), t0).is_some());
        }
        // Port 1 floods, port 2 sends two.
        for i in 0..10 {
            ps.send(1, msg(1, 10 + i), t0);
        }
        ps.send(2, msg(2, 0), t0);
        ps.send(2, msg(2, 1), t0);
        assert_eq!(ps.n_queued(), 6);
        // Overflow dropped port 1's packets (the longest queue), not port 2's.
        let mut out = Vec::new();
        ps.run(t0 + Duration::from_secs(1), &mut out);
        assert_eq!(out.len(), 6);
        let from2: Vec<_> = out.iter().filter(|m| m[..2] == [0, 2]).collect();
        assert_eq!(from2.len(), 2);
        // Round robin: port 2's packets are not last.
        assert!(out[..4].iter().any(|m| m[..2] == [0, 2]), "{out:?}");
    }
}
