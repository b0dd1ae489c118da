//! Progress bars on standard error for the slow parts of reading an image: a daemon's pull and
//! export, registry downloads, the walk of a large local image. Drawn only when the caller asked
//! for them (standard error is a terminal and `--quiet` was not given); otherwise every bar is
//! hidden and costs nothing.

use std::io::{self, Read};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress {
            multi: enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// A bar counting bytes, of a known total or, without one, a spinner.
    pub fn bytes(&self, message: impl Into<String>, total: Option<u64>) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg:<30!} [{bar:30}] {binary_bytes:>10}/{binary_total_bytes:<10} {binary_bytes_per_sec:>12}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::no_length().with_style(
                ProgressStyle::with_template(
                    "{spinner} {msg:<30!} {binary_bytes:>10} {binary_bytes_per_sec:>12}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        let bar = multi.add(bar.with_message(label(message)));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A spinner with a message, for work without a measure.
    pub fn spinner(&self, message: impl Into<String>) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let bar = multi.add(
            ProgressBar::new_spinner()
                .with_style(
                    ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                )
                .with_message(label(message)),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A bar counting items (layers).
    pub fn count(&self, message: impl Into<String>, total: u64) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let bar = ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{msg:<30!} [{bar:30}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        multi.add(bar.with_message(label(message)))
    }
}

/// A bar's label, which may quote a server or an image: escaped like everything printed.
pub fn label(message: impl Into<String>) -> String {
    crate::printable::escape(&message.into()).into_owned()
}

/// Advances a bar by the bytes read through it.
pub struct Counted<R> {
    pub inner: R,
    pub bar: ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// Adds the bytes read through it to a caller's counters (the explorer's progress screen).
pub struct Tallied<'a, R> {
    pub inner: R,
    pub counters: Option<&'a super::Counters>,
}

impl<R: Read> Read for Tallied<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(counters) = self.counters {
            counters
                .bytes_done
                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(n)
    }
}
