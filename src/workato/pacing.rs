//! Pacing: the client spaces its requests evenly per endpoint family, so that it stays within
//! `rate_share` of every published window and normally never sees a 429 (docs/workato-api.md).
//!
//! Each family gets one interval (`EndpointFamily::spacing`): the largest of
//! `window / (limit × share)` over its windows, widened by a small margin for arrival jitter.
//! Requests at that spacing can never put more than `limit × share` requests into any window of
//! any length, so one spacing honours every window at once (imports' 1,000 a minute and 500 an
//! hour alike). This is a GCRA with a burst of one: each request reserves the next free slot of
//! its family and sleeps until it.
//!
//! A 429 holds the family: nothing of it is sent until the wait Workato asked for is over. That
//! includes requests that reserved a slot before the 429 and wake up during the hold: they take a
//! new slot behind it rather than pile onto a window that Workato just said is full.
//!
//! It is a few lines on tokio's clock (which tests can pause) rather than `governor`, which would
//! bring its own clock and a handful of crates for the same arithmetic.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::limits::EndpointFamily;

/// The next free slot of every family, and how long each is held after a 429.
#[derive(Debug)]
pub(crate) struct Pacer {
    intervals: BTreeMap<EndpointFamily, Duration>,
    slots: Mutex<BTreeMap<EndpointFamily, Slots>>,
}

/// One family's schedule.
#[derive(Clone, Copy, Debug)]
struct Slots {
    /// The first instant not yet reserved.
    next: Instant,
    /// No request of the family leaves before this (set by a 429).
    held_until: Option<Instant>,
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
            slots: Mutex::new(BTreeMap::new()),
        }
    }

    /// Waits for the family's next slot and reserves the one after it. A request whose slot
    /// comes up while the family is held (a 429 arrived meanwhile) waits for a slot behind the
    /// hold.
    pub(crate) async fn wait_turn(&self, family: EndpointFamily) {
        let interval = self.intervals.get(&family).copied().unwrap_or_default();
        loop {
            let slot = {
                let mut slots = self.lock();
                let now = Instant::now();
                let entry = slots.entry(family).or_insert(Slots {
                    next: now,
                    held_until: None,
                });
                let slot = entry.next.max(now);
                entry.next = slot + interval;
                slot
            };
            // A slot already due is taken at once: the timer would round even a zero wait up to
            // its next tick (a millisecond).
            if slot > Instant::now() {
                tokio::time::sleep_until(slot).await;
            }
            let held = self
                .lock()
                .get(&family)
                .and_then(|slots| slots.held_until)
                .is_some_and(|until| until > Instant::now());
            if !held {
                return;
            }
        }
    }

    /// Keeps the family quiet for `pause` from now (after a 429): requests already waiting for
    /// a slot wait past it too.
    pub(crate) fn hold(&self, family: EndpointFamily, pause: Duration) {
        let until = Instant::now() + pause;
        let mut slots = self.lock();
        let entry = slots.entry(family).or_insert(Slots {
            next: until,
            held_until: None,
        });
        entry.next = entry.next.max(until);
        entry.held_until = Some(entry.held_until.map_or(until, |held| held.max(until)));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<EndpointFamily, Slots>> {
        // The map holds only instants; a panic elsewhere cannot leave it inconsistent.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// The instants at which `count` concurrent requests of `family` got their turn, sorted.
    async fn turns(pacer: Arc<Pacer>, family: EndpointFamily, count: usize) -> Vec<Instant> {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..count {
            let pacer = Arc::clone(&pacer);
            tasks.spawn(async move {
                pacer.wait_turn(family).await;
                Instant::now()
            });
        }
        let mut times = tasks.join_all().await;
        times.sort();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn requests_of_one_family_are_spaced_evenly() {
        // Connections: 60 a minute; the minute divided by 60, half the share → every 33 ms.
        let pacer = Pacer::new(0.5, 60.0);
        let mut times = Vec::new();
        for _ in 0..4 {
            pacer.wait_turn(EndpointFamily::Connections).await;
            times.push(Instant::now());
        }
        let spacing = EndpointFamily::Connections.spacing(0.5, 60.0);
        assert!(spacing > Duration::from_millis(33), "{spacing:?}");
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], spacing);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_takes_exactly_the_time_the_budget_quotes() {
        // What the plan promises (`min_seconds`, in Workato's seconds) is what the pacer does.
        let scale = 60.0;
        let start = Instant::now();
        let times = turns(
            Arc::new(Pacer::new(1.0, scale)),
            EndpointFamily::Connections,
            121,
        )
        .await;
        let taken = times[times.len() - 1] - start;
        let quoted = EndpointFamily::Connections.min_seconds(121, 1.0) / scale;
        assert!(
            (taken.as_secs_f64() - quoted).abs() < 1e-3,
            "{taken:?} against {quoted} s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_ever_holds_more_than_the_limit_even_late_by_the_margin() {
        // 60 a minute at ×60: a one-second window. Request i and request i + 60 are never closer
        // than the window plus the margin, so either may arrive that much late without a 429.
        let times = turns(
            Arc::new(Pacer::new(1.0, 60.0)),
            EndpointFamily::Connections,
            200,
        )
        .await;
        let window = Duration::from_secs(1);
        let tolerance = window.mul_f64(crate::workato::limits::PACING_MARGIN);
        for pair in times.windows(61) {
            let span = pair[60] - pair[0];
            assert!(
                span >= window + tolerance - Duration::from_micros(10),
                "{span:?}"
            );
        }
        // Imports: 1,000 a minute, but never more than 500 in an hour.
        let hour = Duration::from_secs(3_600);
        let times = turns(
            Arc::new(Pacer::new(1.0, 1.0)),
            EndpointFamily::ImportsCreate,
            502,
        )
        .await;
        assert!(times[500] - times[0] >= hour, "{:?}", times[500] - times[0]);
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

    #[tokio::test(start_paused = true)]
    async fn requests_already_waiting_do_not_go_during_a_hold() {
        // Connections at ×60: a slot every 17 ms. Eight requests reserve slots up to 120 ms
        // ahead; 20 ms in, a 429 holds the family for 100 ms. None of the eight may go in the
        // hold: they queue behind it, still spaced, instead of drawing more 429s.
        let pacer = Arc::new(Pacer::new(1.0, 60.0));
        let start = Instant::now();
        let waiting = tokio::spawn(turns(Arc::clone(&pacer), EndpointFamily::Connections, 8));
        tokio::time::sleep(Duration::from_millis(20)).await;
        pacer.hold(EndpointFamily::Connections, Duration::from_millis(100));
        let held_from = start + Duration::from_millis(20);
        let held_until = held_from + Duration::from_millis(100);
        let times = waiting.await.expect("the waiting requests finish");
        let during: Vec<_> = times
            .iter()
            .filter(|at| **at > held_from && **at < held_until)
            .collect();
        assert!(during.is_empty(), "sent during the hold: {during:?}");
        let spacing = EndpointFamily::Connections.spacing(1.0, 60.0);
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= spacing, "{:?}", pair[1] - pair[0]);
        }
        // Those the hold caught went right after it, not a backoff later.
        assert!(
            times[7] < held_until + spacing * 8,
            "{:?}",
            times[7] - start
        );
    }
}
