//! The params of `format = "reclaim"`, as written in a task definition, and
//! their checks at load time.

use std::{collections::HashSet, fmt};

use alloy_primitives::Address;
use serde::{Deserialize, Deserializer, de};
use taskproof_core::{BuildContext, ConfigError, InnerVerifier};

use super::fetched::UrlRule;

/// The largest proof of task accepted by default, in bytes. Real proofs are
/// 2 to 6 KiB; the room above is for large `parameters` (request bodies,
/// many response matches).
pub const DEFAULT_MAX_PROOF_BYTES: usize = 256 * 1024;

/// The most signatures a proof may carry by default. Each costs one
/// secp256k1 recovery (about 30 µs).
pub const DEFAULT_MAX_SIGNATURES: usize = 16;

/// The most `max_signatures` may be set to.
const MAX_SIGNATURES_CEILING: usize = 1024;

/// The params of a `tls` task definition with `format = "reclaim"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReclaimParams {
    /// Read by the `tls` factory to pick this format.
    #[allow(dead_code)]
    format: String,
    attestors: Vec<Address>,
    #[serde(default = "one")]
    min_signatures: usize,
    #[serde(default = "default_max_signatures")]
    max_signatures: usize,
    #[serde(default)]
    owner: OwnerRule,
    #[serde(default = "day")]
    max_age_secs: u64,
    #[serde(default = "minute")]
    max_clock_skew_secs: u64,
    #[serde(default = "http")]
    provider: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    context_message: Option<ContextMessage>,
    #[serde(default = "default_max_proof_bytes")]
    max_proof_bytes: usize,
    #[serde(default)]
    then: Option<InnerVerifier>,
}

fn one() -> usize {
    1
}
fn default_max_signatures() -> usize {
    DEFAULT_MAX_SIGNATURES
}
fn day() -> u64 {
    86_400
}
fn minute() -> u64 {
    60
}
fn http() -> String {
    "http".into()
}
fn default_max_proof_bytes() -> usize {
    DEFAULT_MAX_PROOF_BYTES
}

/// Whose claim it must be (`owner`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OwnerRule {
    /// The claim's owner is the task's performer (`"performer"`, the default).
    #[default]
    Performer,
    /// Anyone's claim (`"any"`).
    Any,
    /// This address's claim.
    Address(Address),
}

impl<'de> Deserialize<'de> for OwnerRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.as_str() {
            "performer" => Ok(OwnerRule::Performer),
            "any" => Ok(OwnerRule::Any),
            other => other.parse().map(OwnerRule::Address).map_err(|_| {
                de::Error::custom(format!(
                    "expected \"performer\", \"any\" or an address, found {other:?}"
                ))
            }),
        }
    }
}

/// What `context.contextMessage` must hold (`context_message`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum ContextMessage {
    /// The task's performer as a 0x-hex address, in any letter case.
    #[serde(rename = "performer")]
    Performer,
    /// keccak256 of the task's data as 0x and 64 lowercase hex digits.
    #[serde(rename = "keccak256(data)")]
    Keccak256Data,
}

impl fmt::Display for ContextMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextMessage::Performer => "performer",
            ContextMessage::Keccak256Data => "keccak256(data)",
        })
    }
}

/// The params after every load-time check.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) attestors: HashSet<Address>,
    pub(crate) min_signatures: usize,
    pub(crate) max_signatures: usize,
    pub(crate) owner: OwnerRule,
    pub(crate) max_age_secs: u64,
    pub(crate) max_clock_skew_secs: u64,
    pub(crate) provider: String,
    pub(crate) url: Option<UrlRule>,
    pub(crate) method: Option<String>,
    pub(crate) context_message: Option<ContextMessage>,
    pub(crate) max_proof_bytes: usize,
}

impl ReclaimParams {
    /// Checks the params; returns them with the `then` table, which the caller
    /// builds through the registry.
    pub(crate) fn check(
        self,
        ctx: &BuildContext<'_>,
    ) -> Result<(Checked, Option<InnerVerifier>), ConfigError> {
        if self.attestors.is_empty() {
            return Err(ctx.error(
                "attestors",
                "at least one attestor address is required: trust comes only from this list",
            ));
        }
        let mut attestors = HashSet::with_capacity(self.attestors.len());
        for (i, a) in self.attestors.iter().enumerate() {
            if !attestors.insert(*a) {
                return Err(ctx.error(&format!("attestors[{i}]"), format!("{a} is listed twice")));
            }
        }
        if self.min_signatures == 0 {
            return Err(ctx.error("min_signatures", "must be at least 1"));
        }
        if self.min_signatures > attestors.len() {
            return Err(ctx.error(
                "min_signatures",
                format!(
                    "{} signatures can never be found among {} attestors",
                    self.min_signatures,
                    attestors.len()
                ),
            ));
        }
        if self.max_signatures < self.min_signatures || self.max_signatures > MAX_SIGNATURES_CEILING
        {
            return Err(ctx.error(
                "max_signatures",
                format!(
                    "must be between min_signatures ({}) and {MAX_SIGNATURES_CEILING}",
                    self.min_signatures
                ),
            ));
        }
        if self.max_proof_bytes == 0 {
            return Err(ctx.error("max_proof_bytes", "must be greater than 0"));
        }
        if self.provider.is_empty() {
            return Err(ctx.error("provider", "must not be empty"));
        }
        let url = match &self.url {
            Some(text) => Some(UrlRule::parse(text).map_err(|m| ctx.error("url", m))?),
            None if self.provider == "http" => {
                return Err(ctx.error(
                    "url",
                    "required with provider \"http\": an exact https URL, a prefix ending in `*` \
                     (https://api.example.com/v1/*), or \"*\" for any URL",
                ));
            }
            None => None,
        };
        if let Some(method) = &self.method
            && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            return Err(ctx.error(
                "method",
                "must be an HTTP method such as \"GET\" or \"POST\"",
            ));
        }
        Ok((
            Checked {
                attestors,
                min_signatures: self.min_signatures,
                max_signatures: self.max_signatures,
                owner: self.owner,
                max_age_secs: self.max_age_secs,
                max_clock_skew_secs: self.max_clock_skew_secs,
                provider: self.provider,
                url,
                method: self.method,
                context_message: self.context_message,
                max_proof_bytes: self.max_proof_bytes,
            },
            self.then,
        ))
    }
}
