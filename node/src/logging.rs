//! Logs that stay bounded whatever the traffic.
//!
//! The default filter shows this project's `info` lines and only warnings
//! from dependencies (geometry, HTTP and TLS crates log every step at
//! `debug`). Lines about individual requests (invalid and undecided
//! verdicts, refusals) go through a [`RateLimit`]: a burst of hostile
//! requests costs at most a few lines per second, and the next line that is
//! written says how many were left out.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The crates whose `info` lines the default filter shows.
const OWN_CRATES: [&str; 3] = ["taskproof_node", "taskproof_core", "taskproof_verifiers"];

/// The filter used when `RUST_LOG` is not set: `level` for this project's
/// crates, `warn` for every dependency.
pub fn default_filter(level: &str) -> String {
    let mut directives = vec!["warn".to_owned()];
    directives.extend(OWN_CRATES.iter().map(|c| format!("{c}={level}")));
    directives.join(",")
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's JSON format), for log
    /// collectors.
    Json,
}

/// Logs to stderr. `RUST_LOG` replaces the default filter
/// ([`default_filter`] of `level`).
pub fn init(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter(level)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// At most `per_second` events a second pass; the rest are counted.
#[derive(Debug)]
pub struct RateLimit {
    per_second: u32,
    second: AtomicU64,
    passed: AtomicU32,
    suppressed: AtomicU64,
}

impl RateLimit {
    /// A limiter passing `per_second` events a second.
    pub const fn new(per_second: u32) -> Self {
        Self {
            per_second,
            second: AtomicU64::new(0),
            passed: AtomicU32::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this event may be logged, `n` being the number of
    /// events left out since the last one that was; `None` when it must not.
    pub fn admit(&self) -> Option<u64> {
        let now = coarse_second();
        if self.second.swap(now, Ordering::Relaxed) != now {
            self.passed.store(0, Ordering::Relaxed);
        }
        if self.passed.fetch_add(1, Ordering::Relaxed) < self.per_second {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn coarse_second() -> u64 {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs()
}

/// Cuts a message for a log line (verdict messages are already bounded; a
/// log line is shorter still).
pub fn for_log(message: &str) -> &str {
    const MAX: usize = 300;
    if message.len() <= MAX {
        return message;
    }
    let mut cut = MAX;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    &message[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_filter_keeps_dependencies_at_warn() {
        let f = default_filter("debug");
        assert!(f.starts_with("warn,"), "{f}");
        assert!(f.contains("taskproof_node=debug"));
        assert!(!f.contains("geo"));
        assert!(tracing_subscriber::EnvFilter::try_new(&f).is_ok());
    }

    #[test]
    fn a_burst_passes_a_few_events_and_counts_the_rest() {
        let limit = RateLimit::new(5);
        let passed: Vec<_> = (0..10_000).filter_map(|_| limit.admit()).collect();
        // The burst may straddle a second boundary.
        assert!((5..=10).contains(&passed.len()), "{}", passed.len());
        assert_eq!(passed[0], 0);
    }

    #[test]
    fn log_lines_are_cut_at_a_character_boundary() {
        let long = "é".repeat(1000);
        let cut = for_log(&long);
        assert!(cut.len() <= 300);
        assert!(long.starts_with(cut));
    }
}
