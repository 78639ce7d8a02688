//! The three outcomes of a verification.
//!
//! A reason or cause is meant for a log line and a reply, so it is bounded:
//! every constructor cuts it to [`MAX_MESSAGE_BYTES`], and verifiers that
//! repeat what the performer sent do it through [`quote`], which keeps a short
//! prefix. A megabyte of hostile input never becomes a megabyte of reply or
//! of log.

use std::fmt;

/// The longest reason or cause a verdict carries, in bytes; longer ones are
/// cut at a character boundary and end with `…`.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// The most characters of attacker-controlled text [`quote`] repeats.
pub const QUOTE_CHARS: usize = 64;

/// Cuts `message` to [`MAX_MESSAGE_BYTES`].
fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES - '…'.len_utf8();
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// Text from the task, quoted for a reason: escaped like a Rust string and
/// cut to [`QUOTE_CHARS`] characters, with its full length when cut.
///
/// ```
/// let long = "x".repeat(1_000_000);
/// let shown = taskproof_core::quote(&long).to_string();
/// assert!(shown.len() < 100, "{shown}");
/// assert!(shown.ends_with("(1000000 bytes)"));
/// assert_eq!(taskproof_core::quote("0xzz").to_string(), "\"0xzz\"");
/// ```
pub fn quote(text: &str) -> Quoted<'_> {
    Quoted(text)
}

/// See [`quote`].
#[derive(Clone, Copy, Debug)]
pub struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(QUOTE_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(f, "{:?}… ({} bytes)", &self.0[..cut], self.0.len()),
        }
    }
}

/// What a verifier concluded about a task.
///
/// There are three outcomes, never two: an attester must never vote *invalid*
/// because of its own trouble (a data source down, a gateway timing out, an
/// overloaded node). Those are [`Verdict::Undecided`], and the attester
/// abstains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The proof of task holds: vote valid.
    Valid,
    /// The proof of task is wrong: vote invalid.
    Invalid {
        /// Why, in terms the performer can act on.
        reason: String,
    },
    /// The attester could not decide: abstain.
    Undecided {
        /// What went wrong on the attester's side.
        cause: String,
    },
}

/// A verdict without its explanation, for metrics and exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// See [`Verdict::Valid`].
    Valid,
    /// See [`Verdict::Invalid`].
    Invalid,
    /// See [`Verdict::Undecided`].
    Undecided,
}

impl Outcome {
    /// Lower-case name: `valid`, `invalid`, `undecided`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Undecided => "undecided",
        }
    }
}

impl Verdict {
    /// An [`Verdict::Invalid`] verdict; the reason is cut to
    /// [`MAX_MESSAGE_BYTES`].
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid {
            reason: bounded(reason.into()),
        }
    }

    /// An [`Verdict::Undecided`] verdict; the cause is cut to
    /// [`MAX_MESSAGE_BYTES`].
    pub fn undecided(cause: impl Into<String>) -> Self {
        Self::Undecided {
            cause: bounded(cause.into()),
        }
    }

    /// The same verdict with its message cut to [`MAX_MESSAGE_BYTES`], for
    /// verdicts built from the variants directly.
    pub fn bounded(self) -> Self {
        match self {
            Self::Valid => Self::Valid,
            Self::Invalid { reason } => Self::invalid(reason),
            Self::Undecided { cause } => Self::undecided(cause),
        }
    }

    /// The outcome without its explanation.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Valid => Outcome::Valid,
            Self::Invalid { .. } => Outcome::Invalid,
            Self::Undecided { .. } => Outcome::Undecided,
        }
    }

    /// True for [`Verdict::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid)
    }

    /// The reason or cause, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Valid => None,
            Self::Invalid { reason } => Some(reason),
            Self::Undecided { cause } => Some(cause),
        }
    }

    /// Prefixes the reason or cause with context, e.g. the inner verifier's
    /// position in a composition.
    pub fn context(self, what: impl fmt::Display) -> Self {
        match self {
            Self::Valid => Self::Valid,
            Self::Invalid { reason } => Self::invalid(format!("{what}: {reason}")),
            Self::Undecided { cause } => Self::undecided(format!("{what}: {cause}")),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("valid"),
            Self::Invalid { reason } => write!(f, "invalid: {reason}"),
            Self::Undecided { cause } => write!(f, "undecided: {cause}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_megabyte_reason_is_cut_at_a_character_boundary() {
        let huge = "é".repeat(1 << 20);
        let v = Verdict::invalid(format!("bad value {huge}"));
        let reason = v.message().unwrap();
        assert!(reason.len() <= MAX_MESSAGE_BYTES, "{}", reason.len());
        assert!(reason.ends_with('…'));
        let direct = Verdict::Undecided { cause: huge }.bounded();
        assert!(direct.message().unwrap().len() <= MAX_MESSAGE_BYTES);
        let nested = Verdict::invalid("x".repeat(MAX_MESSAGE_BYTES)).context("inner");
        assert!(nested.message().unwrap().len() <= MAX_MESSAGE_BYTES);
        assert!(nested.message().unwrap().starts_with("inner: x"));
    }

    #[test]
    fn quote_escapes_and_keeps_a_short_prefix() {
        assert_eq!(quote("a\"b\n").to_string(), r#""a\"b\n""#);
        let shown = quote(&"ab".repeat(10_000)).to_string();
        assert!(shown.starts_with("\"abab"));
        assert!(shown.ends_with("… (20000 bytes)"), "{shown}");
        assert!(shown.chars().count() < QUOTE_CHARS + 30);
    }
}
