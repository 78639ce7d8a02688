//! Reading a Reclaim proof in either of its JSON shapes.
//!
//! Trusts nothing: this only reads the fields that the attestors' signatures
//! cover (provider, parameters, context, owner, timestampS, epoch), the
//! identifier fields that must agree with them, and the signatures. Everything
//! else a proof carries (`witnesses`, `publicData`, `extractedParameterValues`,
//! `teeAttestation`, ...) is skipped unread, so no decision can rest on it.

use serde::{Deserialize, Deserializer, de};

use super::ReclaimError;

/// What a proof claims, whichever shape it came in.
#[derive(Debug)]
pub(crate) struct RawClaim {
    pub(crate) shape: Shape,
    pub(crate) provider: String,
    pub(crate) parameters: String,
    /// `""` when the proof has none (or `null`), as the SDK reads it.
    pub(crate) context: String,
    pub(crate) owner: String,
    pub(crate) timestamp_s: u64,
    pub(crate) epoch: u64,
    /// Each identifier field present in the proof: (where, value).
    pub(crate) identifiers: Vec<(&'static str, String)>,
    pub(crate) signatures: Vec<String>,
}

/// The two JSON shapes of a Reclaim proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// What the JS SDK hands to an app: `{identifier, claimData, signatures, ...}`.
    Sdk,
    /// What Reclaim's contracts take: `{claimInfo, signedClaim: {claim, signatures}}`.
    OnChain,
}

impl Shape {
    pub(crate) fn signatures_path(self) -> &'static str {
        match self {
            Shape::Sdk => "signatures",
            Shape::OnChain => "signedClaim.signatures",
        }
    }
}

// Unknown fields are skipped rather than refused: the SDK adds fields to its
// proofs from release to release, none of them signed. Duplicate fields are
// refused by serde's derive, so a proof cannot say two things at once (where
// JavaScript's `JSON.parse` would silently keep the last).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    identifier: Option<String>,
    claim_data: Option<ClaimData>,
    signatures: Option<Vec<String>>,
    claim_info: Option<ClaimInfo>,
    signed_claim: Option<SignedClaim>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimData {
    provider: String,
    parameters: String,
    #[serde(default)]
    context: Option<String>,
    owner: String,
    timestamp_s: Decimal,
    epoch: Decimal,
    identifier: Option<String>,
}

#[derive(Deserialize)]
struct ClaimInfo {
    provider: String,
    parameters: String,
    #[serde(default)]
    context: Option<String>,
}

#[derive(Deserialize)]
struct SignedClaim {
    claim: CompleteClaimData,
    signatures: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompleteClaimData {
    identifier: Option<String>,
    owner: String,
    timestamp_s: Decimal,
    epoch: Decimal,
}

/// A non-negative integer as a JSON number or as a decimal string in
/// canonical form (how contract tooling writes a `uint32`). The signed text
/// holds the number's decimal form, so a string with a sign, leading zeros or
/// an exponent is refused rather than read as a number it does not spell.
struct Decimal(u64);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Decimal;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-negative integer (a JSON number or a decimal string)")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                let canonical = !v.is_empty()
                    && v.bytes().all(|b| b.is_ascii_digit())
                    && (v == "0" || !v.starts_with('0'));
                if !canonical {
                    return Err(E::custom(
                        "a decimal string must be digits only, without leading zeros",
                    ));
                }
                v.parse()
                    .map(Decimal)
                    .map_err(|_| E::custom("the number does not fit in 64 bits"))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Reads a proof of task in either shape.
pub(crate) fn parse(text: &str) -> Result<RawClaim, ReclaimError> {
    let doc: Document =
        serde_json::from_str(text).map_err(|e| ReclaimError::Malformed(json_error(&e)))?;
    let sdk = doc.claim_data.is_some();
    let on_chain = doc.claim_info.is_some() || doc.signed_claim.is_some();
    match (sdk, on_chain) {
        (true, true) => Err(ReclaimError::TwoShapes),
        (false, false) => Err(ReclaimError::NoShape),
        (true, false) => {
            let (Some(data), Some(signatures)) = (doc.claim_data, doc.signatures) else {
                return Err(ReclaimError::Malformed(
                    "the SDK shape needs `signatures` beside `claimData`".into(),
                ));
            };
            let mut identifiers = Vec::new();
            if let Some(id) = doc.identifier {
                identifiers.push(("identifier", id));
            }
            if let Some(id) = data.identifier {
                identifiers.push(("claimData.identifier", id));
            }
            Ok(RawClaim {
                shape: Shape::Sdk,
                provider: data.provider,
                parameters: data.parameters,
                context: data.context.unwrap_or_default(),
                owner: data.owner,
                timestamp_s: data.timestamp_s.0,
                epoch: data.epoch.0,
                identifiers,
                signatures,
            })
        }
        (false, true) => {
            let (Some(info), Some(signed)) = (doc.claim_info, doc.signed_claim) else {
                return Err(ReclaimError::Malformed(
                    "the on-chain shape needs both `claimInfo` and `signedClaim`".into(),
                ));
            };
            if doc.identifier.is_some() || doc.signatures.is_some() {
                return Err(ReclaimError::TwoShapes);
            }
            let mut identifiers = Vec::new();
            if let Some(id) = signed.claim.identifier {
                identifiers.push(("signedClaim.claim.identifier", id));
            }
            Ok(RawClaim {
                shape: Shape::OnChain,
                provider: info.provider,
                parameters: info.parameters,
                context: info.context.unwrap_or_default(),
                owner: signed.claim.owner,
                timestamp_s: signed.claim.timestamp_s.0,
                epoch: signed.claim.epoch.0,
                identifiers,
                signatures: signed.signatures,
            })
        }
    }
}

/// A JSON error as a reason: serde's messages can repeat a whole string of
/// the input ("invalid type: string \"…\""), so the message is quoted (cut,
/// escaped) and located instead.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    // serde_json appends " at line L column C"; keep the message before it.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    format!(
        "{} at line {} column {}",
        taskproof_core::quote(message),
        e.line(),
        e.column()
    )
}
