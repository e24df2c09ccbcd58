//! Progress for per-file work (and the bytes of a download): an indicatif bar on a terminal,
//! plain log lines otherwise (cron, CI, redirected output), so schedulers get a readable log
//! instead of carriage returns.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar when stderr is a terminal, log lines otherwise.
    Auto,
    /// Nothing but the stage's own summary line.
    Off,
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Files,
    Bytes,
}

pub struct Progress {
    stage: &'static str,
    unit: Unit,
    total: u64,
    done: AtomicU64,
    bar: Option<ProgressBar>,
    /// Log a line each time `done` crosses a multiple of this (log-line mode).
    log_every: u64,
}

impl Progress {
    /// Counts files: `inc` once per file.
    pub fn new(stage: &'static str, total: usize, mode: Mode) -> Progress {
        Progress::with_unit(stage, Unit::Files, total as u64, 0, mode)
    }

    /// Counts the bytes of a download of `total` bytes, `start` of which are already there (a
    /// resumed download): `add` as bytes arrive.
    pub fn bytes(stage: &'static str, total: u64, start: u64, mode: Mode) -> Progress {
        Progress::with_unit(stage, Unit::Bytes, total, start, mode)
    }

    fn with_unit(stage: &'static str, unit: Unit, total: u64, start: u64, mode: Mode) -> Progress {
        let bar = (mode == Mode::Auto && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = match unit {
                Unit::Files => {
                    "{prefix:>8} [{elapsed_precise}] {wide_bar} {pos}/{len} files ({per_sec}, eta {eta})"
                }
                Unit::Bytes => {
                    "{prefix:>8} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})"
                }
            };
            bar.set_style(ProgressStyle::with_template(template).expect("static template"));
            bar.set_prefix(stage);
            bar.set_position(start);
            // A resumed download's rate and eta count only the bytes fetched now.
            bar.reset_eta();
            bar
        });
        let log_every = if mode == Mode::Off || bar.is_some() {
            u64::MAX
        } else {
            (total / 10).max(1)
        };
        Progress {
            stage,
            unit,
            total,
            done: AtomicU64::new(start),
            bar,
            log_every,
        }
    }

    /// One more item done.
    pub fn inc(&self) {
        self.add(1);
    }

    /// `n` more items (bytes) done.
    pub fn add(&self, n: u64) {
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        let done = before + n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
        } else if self.log_every != u64::MAX
            && (done / self.log_every > before / self.log_every
                || (done == self.total && before < self.total))
        {
            match self.unit {
                Unit::Files => log::info!("{}: {done}/{} files", self.stage, self.total),
                Unit::Bytes => log::info!(
                    "{}: {}/{}",
                    self.stage,
                    HumanBytes(done),
                    HumanBytes(self.total)
                ),
            }
        }
    }

    /// Prints a log line without tearing the bar.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
