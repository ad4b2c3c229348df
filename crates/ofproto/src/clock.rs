//! Time source for the slow path, in whole seconds.
//!
//! Open vSwitch ages MAC entries with `time_now()`, a monotonic clock in
//! seconds. oxvs injects the clock so that tests can move time by hand
//! instead of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A monotonic clock read in whole seconds.
pub trait Clock: Send + Sync {
    /// Seconds since an arbitrary fixed origin; never decreases.
    fn now_secs(&self) -> u64;

    /// Nanoseconds since the same origin (flow durations, OpenFlow
    /// `duration_nsec`). Default: `now_secs() * 1e9`.
    fn now_nanos(&self) -> u64 {
        self.now_secs().saturating_mul(1_000_000_000)
    }
}

/// The real clock: seconds elapsed since the value was created
/// (`std::time::Instant`, so it does not jump with the wall clock).
#[derive(Debug)]
pub struct MonotonicClock {
    epoch: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        MonotonicClock {
            epoch: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now_secs(&self) -> u64 {
        self.epoch.elapsed().as_secs()
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that only moves when told to (for tests and simulations).
#[derive(Debug, Default)]
pub struct ManualClock {
    secs: AtomicU64,
}

impl ManualClock {
    /// A clock reading `secs`.
    pub fn new(secs: u64) -> Self {
        ManualClock {
            secs: AtomicU64::new(secs),
        }
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.secs.fetch_add(secs, Ordering::Relaxed);
    }

    /// Sets the reading to `secs` (must not go backwards to honour [`Clock`]).
    pub fn set(&self, secs: u64) {
        self.secs.store(secs, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_secs(&self) -> u64 {
        self.secs.load(Ordering::Relaxed)
    }
}
