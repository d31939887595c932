//! Progress bars: drawn on stderr when it is a terminal, nothing otherwise.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether long operations (import, build, the copy fallback of provisioning)
/// show a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A bar on stderr when stderr is a terminal; quiet otherwise.
    #[default]
    Auto,
    /// Never draw anything.
    Quiet,
}

/// A bar, or nothing.
#[derive(Debug)]
pub(crate) struct Bar(Option<ProgressBar>);

impl Bar {
    fn enabled(p: Progress) -> bool {
        p == Progress::Auto && std::io::stderr().is_terminal()
    }

    /// A byte counter; with a total, a bar with an ETA.
    pub(crate) fn bytes(p: Progress, total: Option<u64>, message: &str) -> Self {
        if !Self::enabled(p) {
            return Self(None);
        }
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(Some(bar))
    }

    /// A spinner with a changing message (a recipe's latest output line).
    pub(crate) fn spinner(p: Progress, message: &str) -> Self {
        if !Self::enabled(p) {
            return Self(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg:.dim}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(Some(bar))
    }

    /// True when something is drawn.
    pub(crate) fn is_visible(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    pub(crate) fn set_message(&self, m: String) {
        if let Some(b) = &self.0 {
            b.set_message(m);
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}
