//! How far a run is, for a log without a terminal: the counts kept as events arrive, and a line
//! every [`PROGRESS_INTERVAL`] (`progress: 1,234 done, 2 failed, 98,766 left, ETA 55 min`),
//! printed by a thread of its own so that it comes also while every change waits on Workato's
//! rate limits.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::events::{ApplyEvent, SkipKind};
use crate::render::{count, duration};

/// How often apply prints a progress line when stderr is not a terminal
/// (`EMBEDCTL_PROGRESS_INTERVAL_MS` changes it, for tests).
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

/// The counts of a run so far.
#[derive(Clone, Debug)]
pub struct Progress {
    /// The changes the run has to make.
    total: usize,
    done: usize,
    failed: usize,
    /// Not attempted because something they depend on failed or could not be checked.
    skipped: usize,
    /// Not attempted because the phase-4 gate, read live, was closed.
    blocked: usize,
    /// The least time Workato's limits impose on the whole run (the plan's budget), in seconds.
    min_seconds: f64,
    /// The summary was printed: nothing is to follow it.
    over: bool,
}

impl Progress {
    /// A run of `total` changes that Workato's limits make last at least `min_seconds`.
    pub fn new(total: usize, min_seconds: f64) -> Self {
        Progress {
            total,
            done: 0,
            failed: 0,
            skipped: 0,
            blocked: 0,
            min_seconds,
            over: false,
        }
    }

    /// Counts what `event` says happened to a change.
    pub fn record(&mut self, event: &ApplyEvent) {
        match event {
            ApplyEvent::ChangeDone { .. } => self.done += 1,
            ApplyEvent::ChangeFailed { .. } => self.failed += 1,
            ApplyEvent::ChangeSkipped { because, .. } => match because {
                SkipKind::FailedDependency => self.skipped += 1,
                SkipKind::GateClosed => self.blocked += 1,
            },
            ApplyEvent::Summary(_) => self.over = true,
            _ => {}
        }
    }

    /// `progress: 1,234 done, 2 failed, 98,766 left, ETA 55 min`, `elapsed` after the start.
    /// Skipped and blocked changes are named when there are any; the ETA is left out while
    /// nothing tells it.
    pub fn line(&self, elapsed: Duration) -> String {
        let finished = self.done + self.failed + self.skipped + self.blocked;
        let left = self.total.saturating_sub(finished);
        let mut line = format!(
            "progress: {} done, {} failed",
            count(self.done as u64),
            count(self.failed as u64)
        );
        for (number, what) in [(self.skipped, "skipped"), (self.blocked, "blocked")] {
            if number > 0 {
                line.push_str(&format!(", {} {what}", count(number as u64)));
            }
        }
        line.push_str(&format!(", {} left", count(left as u64)));
        if let Some(seconds) = self.eta(elapsed, finished, left) {
            line.push_str(&format!(", ETA {}", duration(seconds)));
        }
        line
    }

    /// The seconds still to go: the time the changes left take at the rate so far, and never
    /// less than what the limits still impose on the run. At the start, only the latter.
    fn eta(&self, elapsed: Duration, finished: usize, left: usize) -> Option<u64> {
        if left == 0 {
            return None;
        }
        let elapsed = elapsed.as_secs_f64();
        let limits = self.min_seconds - elapsed;
        let at_rate = (finished > 0).then(|| elapsed * left as f64 / finished as f64);
        let seconds = match at_rate {
            Some(at_rate) => at_rate.max(limits),
            None if limits >= 1.0 => limits,
            None => return None,
        };
        // Whole seconds, rounded up: a run with work left is never said to end in 0 s. The cast
        // saturates.
        Some(seconds.ceil() as u64)
    }
}

/// Prints the progress line every interval on a thread of its own, until the run's summary is
/// recorded or the ticker is dropped (which wakes the thread at once and waits for it).
pub struct Ticker {
    progress: Arc<Mutex<Progress>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts printing `progress` with `print` every `every`. Without a thread (the system
    /// refused one) the run goes on and prints no progress lines.
    pub fn start(
        progress: Progress,
        every: Duration,
        print: impl Fn(&str) + Send + 'static,
    ) -> Ticker {
        let started = Instant::now();
        let progress = Arc::new(Mutex::new(progress));
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = Arc::clone(&progress);
        let thread = std::thread::Builder::new()
            .name("apply-progress".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    // Printed under the lock, so that no line can follow the summary.
                    let progress = lock(&shared);
                    if progress.over {
                        break;
                    }
                    print(&progress.line(started.elapsed()));
                }
            })
            .ok();
        Ticker {
            progress,
            stop: Some(stop),
            thread,
        }
    }

    /// Counts `event`. Record the summary before printing it: no progress line comes after.
    pub fn record(&self, event: &ApplyEvent) {
        lock(&self.progress).record(event);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The counts, also after a thread panicked while holding them: they are plain numbers.
fn lock(progress: &Mutex<Progress>) -> MutexGuard<'_, Progress> {
    progress.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done() -> ApplyEvent {
        ApplyEvent::ChangeDone {
            customer: "acme-001".to_owned(),
            phase: 4,
            action: "create".to_owned(),
            kind: "runtime_connection".to_owned(),
            key: "files-sync.dropbox/user-a".to_owned(),
        }
    }

    fn skipped(because: SkipKind) -> ApplyEvent {
        ApplyEvent::ChangeSkipped {
            customer: "acme-001".to_owned(),
            phase: 4,
            key: "files-sync.dropbox/user-a".to_owned(),
            because,
            cause: "the gate is closed".to_owned(),
        }
    }

    #[test]
    fn at_the_start_the_eta_is_what_the_limits_impose() {
        let progress = Progress::new(100_000, 3_300.0);
        assert_eq!(
            progress.line(Duration::ZERO),
            "progress: 0 done, 0 failed, 100,000 left, ETA 55 min"
        );
        // Without a budget nothing tells the time yet.
        assert_eq!(
            Progress::new(3, 0.0).line(Duration::from_secs(10)),
            "progress: 0 done, 0 failed, 3 left"
        );
    }

    #[test]
    fn then_the_eta_follows_the_rate_so_far_but_never_undercuts_the_limits() {
        let mut progress = Progress::new(100_000, 60.0);
        for _ in 0..1_234 {
            progress.record(&done());
        }
        progress.record(&ApplyEvent::ChangeFailed {
            customer: "acme-001".to_owned(),
            phase: 3,
            action: "authorize".to_owned(),
            kind: "connection".to_owned(),
            key: "files-sync.partner_app".to_owned(),
            error: "Workato did not authorize".to_owned(),
        });
        progress.record(&skipped(SkipKind::FailedDependency));
        progress.record(&skipped(SkipKind::GateClosed));
        // 1,237 finished in 40 s: 98,763 left take 3,194 s more at that rate.
        assert_eq!(
            progress.line(Duration::from_secs(40)),
            "progress: 1,234 done, 1 failed, 1 skipped, 1 blocked, 98,763 left, ETA 53 min"
        );
        // A fast first change says little while the limits still impose ten minutes.
        let mut slow_start = Progress::new(10, 600.0);
        slow_start.record(&done());
        assert_eq!(
            slow_start.line(Duration::from_secs(1)),
            "progress: 1 done, 0 failed, 9 left, ETA 9 min 59 s"
        );
    }

    #[test]
    fn nothing_left_has_no_eta() {
        let mut progress = Progress::new(1, 100.0);
        progress.record(&done());
        assert_eq!(
            progress.line(Duration::from_secs(5)),
            "progress: 1 done, 0 failed, 0 left"
        );
    }

    #[test]
    fn the_ticker_prints_until_the_summary_and_stops_when_dropped() {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let printed = Arc::clone(&lines);
        let ticker = Ticker::start(
            Progress::new(2, 0.0),
            Duration::from_millis(1),
            move |line| {
                printed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line.to_owned())
            },
        );
        ticker.record(&done());
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock_lines(&lines).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        ticker.record(&ApplyEvent::Summary(Default::default()));
        let count = lock_lines(&lines).len();
        assert!(count > 0, "no progress line");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(lock_lines(&lines).len(), count, "a line after the summary");
        assert!(lock_lines(&lines)[0].starts_with("progress: "));
        drop(ticker);
    }

    fn lock_lines(lines: &Mutex<Vec<String>>) -> MutexGuard<'_, Vec<String>> {
        lines.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
