//! `format = "reclaim"`: what an HTTPS API returned, attested by Reclaim
//! Protocol's attestors, who watched the TLS session and signed a claim.
//!
//! What it trusts: the task definition's list of attestor addresses
//! (`attestors`), its rules for what may have been fetched, and the
//! attester's clock. Nothing in the proof is taken on its word: the claim's
//! identifier is recomputed from what was fetched and the context, every
//! signer is recovered from its signature, the `witnesses` list in the proof
//! is never read, nothing is looked up over the network, and `publicData`
//! (which Reclaim documents as unverified) is ignored.
//!
//! The checks, in order: size; shape (the SDK's `{identifier, claimData,
//! signatures}` or the on-chain `{claimInfo, signedClaim}`); the context is a
//! JSON object; every identifier field equals keccak256(provider, parameters,
//! canonical context); owner; freshness of `timestampS`; provider, URL and
//! method; `contextMessage`; then the signatures — each well formed (65
//! bytes, v in {27, 28, 0, 1}, low s), each signer recovered, distinct
//! allowed signers counted against `min_signatures`. Last, with `then`, the
//! extracted values (`context.extractedParameters`) go to an inner verifier as
//! its proof of task.
//!
//! A claim says what the attestors saw, not that it is true: a server that
//! lies lies to the attestors too. Pair the claim with `then` (an `oracle`
//! check of an extracted price against the attester's own sources) where it
//! matters.
//!
//! ```toml
//! [[task_definitions]]
//! id = 60
//! name = "eth-price-seen-by-reclaim"
//! verifier = "tls"
//! [task_definitions.params]
//! format = "reclaim"
//! attestors = ["0x244897572368eadf65bfbc5aec98d8e5443a9072"]
//! url = "https://api.coingecko.com/api/v3/simple/price?*"
//! method = "GET"
//! context_message = "keccak256(data)"
//! ```

mod claim;
mod fetched;
mod params;
mod proof;

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy_primitives::{Address, B256, Signature, keccak256};
use serde_json::Value;
use taskproof_core::{
    BuildContext, ConfigError, Task, Verdict, Verifier, async_trait, cpu, deadline::Expired, quote,
};

pub use params::{ContextMessage, DEFAULT_MAX_PROOF_BYTES, DEFAULT_MAX_SIGNATURES, OwnerRule};

use params::{Checked, ReclaimParams};

/// Proofs up to this size are parsed on the async reactor: a few tens of
/// microseconds. Larger ones go to the CPU pool.
const INLINE_PROOF_BYTES: usize = 16 * 1024;

/// Up to this many signatures are recovered on the reactor (about 30 µs
/// each); more go to the CPU pool.
const INLINE_SIGNATURES: usize = 2;

/// Builds a `tls` verifier of format `reclaim`.
pub(crate) fn build(ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
    Ok(Arc::new(ReclaimVerifier::from_context(ctx)?))
}

/// Why a claim is refused. Each variant but [`ReclaimError::Expired`] makes
/// the verdict invalid; its text is the reason, with performer text quoted
/// through [`quote`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReclaimError {
    /// The proof of task is larger than `max_proof_bytes`.
    #[error("proofOfTask is {size} bytes, more than max_proof_bytes ({limit})")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or a field has the wrong type.
    #[error("proofOfTask is not a Reclaim proof: {0}")]
    Malformed(String),
    /// Both JSON shapes at once.
    #[error(
        "proofOfTask mixes the SDK shape (identifier, claimData, signatures) with the on-chain shape (claimInfo, signedClaim)"
    )]
    TwoShapes,
    /// Neither shape.
    #[error(
        "proofOfTask is not a Reclaim proof: it has neither `claimData` (the SDK's shape) nor `claimInfo` and `signedClaim` (the on-chain shape)"
    )]
    NoShape,
    /// The context is not JSON.
    #[error("the claim's context is not JSON: {0}")]
    ContextNotJson(String),
    /// The context is JSON but not an object.
    #[error("the claim's context is not a JSON object")]
    ContextNotObject,
    /// An identifier field disagrees with what the claim holds.
    #[error(
        "{field} is {found}, but keccak256(provider, parameters, context) is {expected}: what was fetched, the extracted values or the context were edited"
    )]
    IdentifierMismatch {
        /// Which field.
        field: &'static str,
        /// Its value, quoted.
        found: String,
        /// The identifier of the claim's content.
        expected: B256,
    },
    /// The owner is not an address.
    #[error("the claim's owner {0} is not an address (0x and 40 hex digits)")]
    BadOwner(String),
    /// The owner is not who the task definition requires.
    #[error("the claim's owner is {found}, not the {role} {expected}")]
    OwnerMismatch {
        /// The claim's owner.
        found: Address,
        /// Who it must be.
        expected: Address,
        /// `performer` or `configured owner`.
        role: &'static str,
    },
    /// Older than `max_age_secs`.
    #[error(
        "the claim is stale: timestampS {timestamp} is {age} s before now ({now}), more than max_age_secs ({max_age})"
    )]
    Stale {
        /// The claim's time.
        timestamp: u64,
        /// The attester's clock.
        now: u64,
        /// now − timestamp.
        age: u64,
        /// The limit.
        max_age: u64,
    },
    /// In the future by more than `max_clock_skew_secs`.
    #[error(
        "the claim is from the future: timestampS {timestamp} is after now ({now}) by more than max_clock_skew_secs ({skew})"
    )]
    Future {
        /// The claim's time.
        timestamp: u64,
        /// The attester's clock.
        now: u64,
        /// The tolerance.
        skew: u64,
    },
    /// Another provider.
    #[error("the claim's provider is {found}, not {expected:?}")]
    ProviderMismatch {
        /// The claim's provider, quoted.
        found: String,
        /// The configured one.
        expected: String,
    },
    /// `parameters` is not JSON (needed for `url` and `method`).
    #[error("the claim's parameters are not JSON: {0}")]
    ParametersNotJson(String),
    /// `parameters` has no `url`.
    #[error("the claim's parameters have no url")]
    NoUrl,
    /// `parameters` has no `method`.
    #[error("the claim's parameters have no method")]
    NoMethod,
    /// A template value is not a string.
    #[error("the claim's parameters.paramValues.{0} is not a string")]
    TemplateValueNotString(String),
    /// A secret template value stands where it could change the host or path.
    #[error(
        "the claim's url {0} has a secret part (a {{{{name}}}} without a public value) before its query, or where `url` is exact: what was fetched cannot be known"
    )]
    SecretInUrl(String),
    /// The URL does not parse.
    #[error("the claim's url {url} is not a URL: {why}")]
    UrlNotParsable {
        /// The URL, quoted.
        url: String,
        /// Why.
        why: String,
    },
    /// The URL is not the configured one.
    #[error("the claim's url {found} is not {expected}")]
    UrlMismatch {
        /// The normalised URL, quoted.
        found: String,
        /// The rule.
        expected: String,
    },
    /// Another method.
    #[error("the claim's method is {found}, not {expected:?}")]
    MethodMismatch {
        /// The claim's method, quoted.
        found: String,
        /// The configured one.
        expected: String,
    },
    /// No `contextMessage` although `context_message` is set.
    #[error(
        "the claim's context has no contextMessage (a string), and context_message = \"{0}\" requires one"
    )]
    NoContextMessage(ContextMessage),
    /// `contextMessage` is not the task's.
    #[error("the claim's contextMessage is {found}, not {expected} (context_message = \"{rule}\")")]
    ContextMessageMismatch {
        /// The claim's message, quoted.
        found: String,
        /// What it must be.
        expected: String,
        /// The rule.
        rule: ContextMessage,
    },
    /// No extracted values for `then`.
    #[error(
        "the claim's context has no extractedParameters object to hand to the inner verifier (then)"
    )]
    NoExtractedParameters,
    /// No signatures at all.
    #[error("the claim carries no signatures ({0} is empty)")]
    NoSignatures(&'static str),
    /// More signatures than `max_signatures`.
    #[error("the claim carries {count} signatures, more than max_signatures ({limit})")]
    TooManySignatures {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A signature that is not a well-formed, low-s, recoverable signature.
    #[error("{path}[{index}] is malformed: {fault}")]
    BadSignature {
        /// Where the signatures are.
        path: &'static str,
        /// Which one.
        index: usize,
        /// What is wrong.
        fault: SignatureFault,
    },
    /// Too few distinct allowed attestors signed.
    #[error(
        "{found} of the attestors signed the claim, {required} required (min_signatures){}",
        ignored_note(.ignored, *.ignored_count)
    )]
    NotEnoughSignatures {
        /// Distinct allowed attestors who signed.
        found: usize,
        /// `min_signatures`.
        required: usize,
        /// Up to four recovered signers not in `attestors`.
        ignored: Vec<Address>,
        /// How many signers (distinct) were not in `attestors`.
        ignored_count: usize,
    },
    /// The verification's deadline passed (undecided, not invalid).
    #[error("{0}")]
    Expired(#[from] Expired),
}

fn ignored_note(ignored: &[Address], count: usize) -> String {
    if count == 0 {
        return String::new();
    }
    let list: Vec<String> = ignored.iter().map(ToString::to_string).collect();
    let more = if count > ignored.len() { ", …" } else { "" };
    format!(
        "; signed by {count} address(es) not in attestors, ignored: {}{more}",
        list.join(", ")
    )
}

/// What is wrong with one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureFault {
    /// Not 0x-prefixed hex.
    #[error("not 0x-prefixed hex")]
    NotHex,
    /// Not 65 bytes.
    #[error("{0} bytes, not 65 (r‖s‖v)")]
    Length(usize),
    /// v is not 27, 28, 0 or 1.
    #[error("v = {0}, not 27, 28, 0 or 1")]
    V(u8),
    /// s is in the upper half of the group order.
    #[error("high s (the malleated twin of a low-s signature, EIP-2)")]
    HighS,
    /// r or s is 0 or not below the group order.
    #[error("r or s is out of range")]
    OutOfRange,
    /// No public key recovers from it.
    #[error("no public key recovers from it")]
    NoKey,
}

impl ReclaimError {
    /// The verdict this refusal stands for.
    pub fn verdict(self) -> Verdict {
        match self {
            ReclaimError::Expired(e) => Verdict::from(e),
            other => Verdict::invalid(other.to_string()),
        }
    }
}

/// A claim that passed every check except the inner verifier's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedClaim {
    /// keccak256(provider, parameters, canonical context).
    pub identifier: B256,
    /// Whose claim it is.
    pub owner: Address,
    /// When the attestors signed it (unix seconds).
    pub timestamp_s: u64,
    /// The attestors' epoch.
    pub epoch: u64,
    /// The allowed attestors who signed, each once, in signature order.
    pub attestors: Vec<Address>,
    /// `context.extractedParameters` in canonical JSON, when there is an
    /// inner verifier to hand it to.
    pub extracted_parameters: Option<String>,
}

/// A claim whose cheap checks passed, waiting for its signers to be
/// recovered.
struct Prepared {
    claim: VerifiedClaim,
    digest: B256,
    signatures: Vec<Signature>,
    signatures_path: &'static str,
}

/// A built `tls` verifier of format `reclaim`.
#[derive(Clone)]
pub struct ReclaimVerifier {
    params: Arc<Checked>,
    inner: Option<Arc<dyn Verifier>>,
}

impl std::fmt::Debug for ReclaimVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReclaimVerifier")
            .field("attestors", &self.params.attestors.len())
            .field("min_signatures", &self.params.min_signatures)
            .field("inner", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl ReclaimVerifier {
    /// Builds from a task definition's params (including `format`).
    pub fn from_context(ctx: &BuildContext<'_>) -> Result<Self, ConfigError> {
        let raw: ReclaimParams = ctx.params()?;
        let (params, then) = raw.check(ctx)?;
        let inner = then
            .as_ref()
            .map(|inner| ctx.build_inner("then", inner))
            .transpose()?;
        Ok(Self {
            params: Arc::new(params),
            inner,
        })
    }

    /// Runs every check but the inner verifier's, as of `now` (unix
    /// seconds), on the calling thread. Tests and benches pin the clock.
    pub fn check_claim_at(&self, task: &Task, now: u64) -> Result<VerifiedClaim, ReclaimError> {
        let prepared = self.prepare(task, now)?;
        finish(&self.params, prepared)
    }

    /// Judges a task as of `now` (unix seconds), inner verifier included.
    /// [`Verifier::verify`] calls it with the system clock.
    pub async fn verify_at(&self, task: &Task, now: u64) -> Verdict {
        let claim = match self.check_off_reactor(task, now).await {
            Ok(claim) => claim,
            Err(verdict) => return verdict,
        };
        let Some(inner) = &self.inner else {
            return Verdict::Valid;
        };
        let Some(extracted) = claim.extracted_parameters else {
            return ReclaimError::NoExtractedParameters.verdict();
        };
        let mut inner_task = task.clone();
        inner_task.proof_of_task = extracted;
        match inner.verify(&inner_task).await {
            Verdict::Invalid { reason } => {
                Verdict::invalid(format!("context.extractedParameters: {reason}"))
            }
            other => other,
        }
    }

    /// The claim checks, on the reactor when they are cheap and on the CPU
    /// pool otherwise.
    async fn check_off_reactor(&self, task: &Task, now: u64) -> Result<VerifiedClaim, Verdict> {
        if task.proof_of_task.len() > INLINE_PROOF_BYTES {
            let this = self.clone();
            let task = task.clone();
            return match cpu::run(move || this.check_claim_at(&task, now)).await {
                Ok(result) => result.map_err(ReclaimError::verdict),
                Err(e) => Err(Verdict::undecided(e.to_string())),
            };
        }
        let prepared = self.prepare(task, now).map_err(ReclaimError::verdict)?;
        if prepared.signatures.len() <= INLINE_SIGNATURES {
            return finish(&self.params, prepared).map_err(ReclaimError::verdict);
        }
        let params = Arc::clone(&self.params);
        match cpu::run(move || finish(&params, prepared)).await {
            Ok(result) => result.map_err(ReclaimError::verdict),
            Err(e) => Err(Verdict::undecided(e.to_string())),
        }
    }

    /// Every check before the signers are recovered.
    fn prepare(&self, task: &Task, now: u64) -> Result<Prepared, ReclaimError> {
        let p = &self.params;
        let size = task.proof_of_task.len();
        if size > p.max_proof_bytes {
            return Err(ReclaimError::TooLarge {
                size,
                limit: p.max_proof_bytes,
            });
        }
        let raw = proof::parse(&task.proof_of_task)?;
        let context = claim::context(&raw.context)?;
        let identifier = claim::identifier(&raw.provider, &raw.parameters, &context.canonical);
        for (field, found) in &raw.identifiers {
            if claim::parse_identifier(found) != Some(identifier) {
                return Err(ReclaimError::IdentifierMismatch {
                    field,
                    found: quote_hex(found),
                    expected: identifier,
                });
            }
        }

        let owner = claim::parse_owner(&raw.owner)?;
        let required = match p.owner {
            OwnerRule::Performer => Some((task.performer, "performer")),
            OwnerRule::Address(a) => Some((a, "configured owner")),
            OwnerRule::Any => None,
        };
        if let Some((expected, role)) = required
            && owner != expected
        {
            return Err(ReclaimError::OwnerMismatch {
                found: owner,
                expected,
                role,
            });
        }

        let ts = raw.timestamp_s;
        if ts > now.saturating_add(p.max_clock_skew_secs) {
            return Err(ReclaimError::Future {
                timestamp: ts,
                now,
                skew: p.max_clock_skew_secs,
            });
        }
        let age = now.saturating_sub(ts);
        if age > p.max_age_secs {
            return Err(ReclaimError::Stale {
                timestamp: ts,
                now,
                age,
                max_age: p.max_age_secs,
            });
        }

        if raw.provider != p.provider {
            return Err(ReclaimError::ProviderMismatch {
                found: quote(&raw.provider).to_string(),
                expected: p.provider.clone(),
            });
        }
        fetched::check(&raw.parameters, p.url.as_ref(), p.method.as_deref())?;

        if let Some(rule) = p.context_message {
            check_context_message(rule, context.fields.get("contextMessage"), task)?;
        }

        let extracted_parameters = if self.inner.is_some() {
            match context.fields.get("extractedParameters") {
                Some(value @ Value::Object(_)) => Some(
                    serde_json_canonicalizer::to_string(value)
                        .map_err(|e| ReclaimError::ContextNotJson(e.to_string()))?,
                ),
                _ => return Err(ReclaimError::NoExtractedParameters),
            }
        } else {
            None
        };

        let path = raw.shape.signatures_path();
        if raw.signatures.is_empty() {
            return Err(ReclaimError::NoSignatures(path));
        }
        if raw.signatures.len() > p.max_signatures {
            return Err(ReclaimError::TooManySignatures {
                count: raw.signatures.len(),
                limit: p.max_signatures,
            });
        }
        let signatures = raw
            .signatures
            .iter()
            .enumerate()
            .map(|(index, text)| {
                claim::parse_signature(text).map_err(|fault| ReclaimError::BadSignature {
                    path,
                    index,
                    fault,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let digest = claim::signed_digest(identifier, owner, ts, raw.epoch);
        Ok(Prepared {
            claim: VerifiedClaim {
                identifier,
                owner,
                timestamp_s: ts,
                epoch: raw.epoch,
                attestors: Vec::new(),
                extracted_parameters,
            },
            digest,
            signatures,
            signatures_path: path,
        })
    }
}

/// Recovers the signers and counts the distinct allowed ones.
fn finish(p: &Checked, prepared: Prepared) -> Result<VerifiedClaim, ReclaimError> {
    let signers = claim::recover(
        &prepared.digest,
        &prepared.signatures,
        prepared.signatures_path,
    )?;
    let mut allowed: Vec<Address> = Vec::new();
    let mut ignored: Vec<Address> = Vec::new();
    for signer in signers {
        let list = if p.attestors.contains(&signer) {
            &mut allowed
        } else {
            &mut ignored
        };
        // At most max_signatures entries: a linear search is cheaper than a set.
        if !list.contains(&signer) {
            list.push(signer);
        }
    }
    if allowed.len() < p.min_signatures {
        let ignored_count = ignored.len();
        ignored.truncate(4);
        return Err(ReclaimError::NotEnoughSignatures {
            found: allowed.len(),
            required: p.min_signatures,
            ignored,
            ignored_count,
        });
    }
    let mut claim = prepared.claim;
    claim.attestors = allowed;
    Ok(claim)
}

fn check_context_message(
    rule: ContextMessage,
    message: Option<&Value>,
    task: &Task,
) -> Result<(), ReclaimError> {
    let Some(Value::String(found)) = message else {
        return Err(ReclaimError::NoContextMessage(rule));
    };
    let (ok, expected) = match rule {
        ContextMessage::Performer => {
            let ok = claim::parse_owner(found).is_ok_and(|a| a == task.performer);
            (ok, task.performer.to_string())
        }
        ContextMessage::Keccak256Data => {
            let expected = format!("0x{}", hex::encode(keccak256(&task.data)));
            (*found == expected, expected)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ReclaimError::ContextMessageMismatch {
            found: quote_hex(found),
            expected,
            rule,
        })
    }
}

/// Performer text for a reason: a 0x-hex string of up to 32 bytes in full
/// (an identifier or a hash is worth reading whole), anything else through
/// [`quote`].
fn quote_hex(text: &str) -> String {
    let short_hex = text.len() <= 66
        && text
            .strip_prefix("0x")
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if short_hex {
        format!("{text:?}")
    } else {
        quote(text).to_string()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[async_trait]
impl Verifier for ReclaimVerifier {
    async fn verify(&self, task: &Task) -> Verdict {
        self.verify_at(task, unix_now()).await
    }

    fn time_needed(&self) -> Option<Duration> {
        self.inner.as_ref().and_then(|inner| inner.time_needed())
    }
}
