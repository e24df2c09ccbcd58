//! Progress for per-file work: an indicatif bar on a terminal, plain log lines otherwise (cron,
//! CI, redirected output), so schedulers get a readable log instead of carriage returns.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar when stderr is a terminal, log lines otherwise.
    Auto,
    /// Nothing but the stage's own summary line.
    Off,
}

pub struct Progress {
    stage: &'static str,
    total: usize,
    done: AtomicUsize,
    bar: Option<ProgressBar>,
    /// Log a line each time `done` crosses a multiple of this (log-line mode).
    log_every: usize,
}

impl Progress {
    pub fn new(stage: &'static str, total: usize, mode: Mode) -> Progress {
        let bar = (mode == Mode::Auto && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>8} [{elapsed_precise}] {wide_bar} {pos}/{len} files ({per_sec}, eta {eta})",
                )
                .expect("static template"),
            );
            bar.set_prefix(stage);
            bar
        });
        let log_every = if mode == Mode::Off || bar.is_some() {
            usize::MAX
        } else {
            (total / 10).max(1)
        };
        Progress {
            stage,
            total,
            done: AtomicUsize::new(0),
            bar,
            log_every,
        }
    }

    /// One more item done.
    pub fn inc(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        } else if done.is_multiple_of(self.log_every)
            || (done == self.total && self.log_every != usize::MAX)
        {
            log::info!("{}: {done}/{} files", self.stage, self.total);
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
