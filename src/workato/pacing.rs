//! Pacing: the client spaces its requests evenly per endpoint family, so that it stays within
//! `rate_share` of every published window and normally never sees a 429 (docs/workato-api.md).
//!
//! Each family gets one interval: the largest of `window / (limit × share)` over its windows.
//! Requests at that spacing can never put more than `limit × share` requests into any window of
//! any length, so one spacing honours every window at once (imports' 1,000 a minute and 500 an
//! hour alike). This is a GCRA with a burst of one: each request reserves the next free slot of
//! its family and sleeps until it. A 429 pushes the family's next slot past the wait Workato
//! asked for, so that concurrent requests of that family wait too instead of piling on.
//!
//! It is a few lines on tokio's clock (which tests can pause) rather than `governor`, which would
//! bring its own clock and a handful of crates for the same arithmetic.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::limits::EndpointFamily;

/// The next free slot of every family.
#[derive(Debug)]
pub(crate) struct Pacer {
    intervals: BTreeMap<EndpointFamily, Duration>,
    next_slot: Mutex<BTreeMap<EndpointFamily, Instant>>,
}

impl Pacer {
    /// A pacer using `share` of each limit, with windows divided by `time_scale`.
    pub(crate) fn new(share: f64, time_scale: f64) -> Self {
        let intervals = EndpointFamily::ALL
            .into_iter()
            .map(|family| (family, family.spacing(share, time_scale)))
            .collect();
        Self {
            intervals,
            next_slot: Mutex::new(BTreeMap::new()),
        }
    }

    /// Waits for the family's next slot and reserves the one after it.
    pub(crate) async fn wait_turn(&self, family: EndpointFamily) {
        let interval = self.intervals.get(&family).copied().unwrap_or_default();
        let slot = {
            let mut next_slot = self.lock();
            let now = Instant::now();
            let slot = next_slot.get(&family).copied().unwrap_or(now).max(now);
            next_slot.insert(family, slot + interval);
            slot
        };
        // A slot already due is taken at once: the timer would round even a zero wait up to its
        // next tick (a millisecond).
        if slot > Instant::now() {
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Keeps the family quiet for `pause` from now (after a 429).
    pub(crate) fn hold(&self, family: EndpointFamily, pause: Duration) {
        let until = Instant::now() + pause;
        let mut next_slot = self.lock();
        let slot = next_slot.entry(family).or_insert(until);
        *slot = (*slot).max(until);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<EndpointFamily, Instant>> {
        // The map holds only instants; a panic elsewhere cannot leave it inconsistent.
        self.next_slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_of_one_family_are_spaced_evenly() {
        // Connections: 60 a minute; the minute divided by 60, half the share → every 33 ms.
        let pacer = Pacer::new(0.5, 60.0);
        let mut times = Vec::new();
        for _ in 0..4 {
            pacer.wait_turn(EndpointFamily::Connections).await;
            times.push(Instant::now());
        }
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= Duration::from_millis(33), "{gap:?}");
            assert!(gap < Duration::from_millis(500), "{gap:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn families_do_not_wait_for_each_other() {
        let pacer = Pacer::new(1.0, 1.0);
        let start = Instant::now();
        pacer.wait_turn(EndpointFamily::Customers).await;
        pacer.wait_turn(EndpointFamily::ConnectionsList).await;
        pacer.wait_turn(EndpointFamily::RecipesRead).await;
        // Customers alone allow one a second; three different families go at once.
        assert!(Instant::now() - start < Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_delays_the_next_request() {
        let pacer = Pacer::new(1.0, 600.0);
        let start = Instant::now();
        pacer.hold(EndpointFamily::Folders, Duration::from_millis(80));
        pacer.wait_turn(EndpointFamily::Folders).await;
        assert!(Instant::now() - start >= Duration::from_millis(80));
    }
}
