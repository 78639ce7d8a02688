//! The three outcomes of a verification.

use std::fmt;

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
    /// An [`Verdict::Invalid`] verdict.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid {
            reason: reason.into(),
        }
    }

    /// An [`Verdict::Undecided`] verdict.
    pub fn undecided(cause: impl Into<String>) -> Self {
        Self::Undecided {
            cause: cause.into(),
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
            Self::Invalid { reason } => Self::Invalid {
                reason: format!("{what}: {reason}"),
            },
            Self::Undecided { cause } => Self::Undecided {
                cause: format!("{what}: {cause}"),
            },
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
