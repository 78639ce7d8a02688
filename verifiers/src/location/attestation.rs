//! EAS off-chain attestations (version 2), as `@ethereum-attestation-service/eas-sdk`
//! emits them: `signOffchainAttestation` returns the signed object
//! `{version, uid, domain, primaryType, types, message, signature: {v, r, s}}`,
//! and EAS's attestation "package" wraps it as `{sig, signer}`. Both are
//! accepted; 64-bit numbers may be JSON numbers or decimal / 0x-hex strings
//! (the SDK's bigints serialize as strings).
//!
//! Nothing here is trusted: the EIP-712 digest is rebuilt from the message
//! with the fixed version-2 `Attest` type, the signer is recovered from the
//! signature (Astral's SDK only checks the signature's shape), and the `uid` is
//! recomputed exactly as the SDK computes it.

use alloy_primitives::{Address, B256, Bytes, Signature, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use serde::Deserialize;
use serde_json::Value;
use taskproof_core::ecrecover::RecoverError;

/// The EIP-712 domain name of EAS off-chain attestations.
pub const EAS_DOMAIN_NAME: &str = "EAS Attestation";

/// The off-chain attestation version this module checks.
pub const OFFCHAIN_VERSION: u16 = 2;

#[allow(missing_docs, unreachable_pub)]
mod typed {
    alloy_sol_types::sol! {
        /// EAS's version-2 off-chain `Attest` type.
        struct Attest {
            uint16 version;
            bytes32 schema;
            address recipient;
            uint64 time;
            uint64 expirationTime;
            bool revocable;
            bytes32 refUID;
            bytes data;
            bytes32 salt;
        }
    }
}

/// The fields of the version-2 `Attest` type, in order, as EAS declares them.
const ATTEST_FIELDS: [(&str, &str); 9] = [
    ("version", "uint16"),
    ("schema", "bytes32"),
    ("recipient", "address"),
    ("time", "uint64"),
    ("expirationTime", "uint64"),
    ("revocable", "bool"),
    ("refUID", "bytes32"),
    ("data", "bytes"),
    ("salt", "bytes32"),
];

/// Why an attestation document is rejected before any geography.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// Not JSON, or a field is missing or of the wrong type.
    #[error("malformed attestation: {0}")]
    Malformed(String),
    /// Not an off-chain attestation of version 2.
    #[error("unsupported off-chain attestation version {0} (only version 2)")]
    UnsupportedVersion(u64),
    /// `primaryType` or `types` are not EAS's version-2 `Attest`.
    #[error("the typed data is not EAS's version-2 `Attest` type")]
    WrongType,
    /// The EIP-712 domain is not the configured EAS deployment.
    #[error("wrong EAS domain: {field} is {found}, expected {expected}")]
    WrongDomain {
        /// `name`, `version`, `chainId` or `verifyingContract`.
        field: &'static str,
        /// In the attestation.
        found: String,
        /// In the task definition.
        expected: String,
    },
    /// The signature cannot be parsed, or is malleable (high `s`).
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The `uid` is not the one the message hashes to.
    #[error("uid {found} does not match the message (expected {expected})")]
    UidMismatch {
        /// In the attestation.
        found: B256,
        /// Recomputed.
        expected: B256,
    },
    /// The package's `signer` is not who signed.
    #[error("the package names signer {claimed} but the signature recovers {recovered}")]
    SignerMismatch {
        /// The package's `signer`.
        claimed: Address,
        /// Recovered from the signature.
        recovered: Address,
    },
}

/// The EAS deployment attestations must be signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EasDomain {
    /// The EAS contract's EIP-712 version, e.g. `"1.0.1"` (Sepolia: `"0.26"`).
    pub version: String,
    /// The chain id.
    pub chain_id: u64,
    /// The EAS contract.
    pub verifying_contract: Address,
}

impl EasDomain {
    pub(crate) fn eip712(&self) -> Eip712Domain {
        Eip712Domain::new(
            Some(EAS_DOMAIN_NAME.into()),
            Some(self.version.clone().into()),
            Some(U256::from(self.chain_id)),
            Some(self.verifying_contract),
            None,
        )
    }
}

/// A verified off-chain attestation: signature recovered, uid recomputed,
/// domain checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The attestation's uid.
    pub uid: B256,
    /// Who signed it (recovered, not claimed).
    pub signer: Address,
    /// The schema UID.
    pub schema: B256,
    /// The recipient.
    pub recipient: Address,
    /// When it was made (unix seconds).
    pub time: u64,
    /// When it expires (unix seconds; 0: never).
    pub expiration_time: u64,
    /// The referenced attestation.
    pub ref_uid: B256,
    /// The schema-encoded payload.
    pub data: Bytes,
}

/// EAS's attestation package.
#[derive(Deserialize)]
struct Package {
    sig: Signed,
    #[serde(default)]
    signer: Option<Address>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Signed {
    version: Number,
    uid: B256,
    domain: Domain,
    primary_type: String,
    types: Value,
    message: Message,
    signature: SignatureJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Domain {
    name: String,
    version: String,
    chain_id: Number,
    verifying_contract: Address,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    version: Number,
    // Kept as written: the SDK hashes the schema's hex *text* into the uid.
    schema: String,
    recipient: Address,
    time: Number,
    expiration_time: Number,
    revocable: bool,
    #[serde(rename = "refUID")]
    ref_uid: B256,
    data: Bytes,
    salt: B256,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SignatureJson {
    Parts { v: Number, r: B256, s: B256 },
    Packed(Bytes),
}

/// A u64 written as a JSON number, a decimal string or a 0x-hex string.
#[derive(Clone, Copy)]
struct Number(u64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .map(Number)
                .ok_or_else(|| D::Error::custom("not a u64")),
            Value::String(s) => {
                let parsed = match s.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => s.parse(),
                };
                parsed.map(Number).map_err(|_| {
                    D::Error::custom(format!("{} is not a u64", taskproof_core::quote(&s)))
                })
            }
            _ => Err(D::Error::custom("expected a number or a numeric string")),
        }
    }
}

/// Parses a signed attestation (plain or packaged), checks it against the EAS
/// `domain` and recovers its signer.
pub fn verify(document: &str, domain: &EasDomain) -> Result<Attestation, AttestationError> {
    // Straight into the typed structs: no intermediate JSON tree.
    let (signed, claimed_signer) = match serde_json::from_str::<Package>(document) {
        Ok(package) => (package.sig, package.signer),
        Err(as_package) => match serde_json::from_str::<Signed>(document) {
            Ok(signed) => (signed, None),
            Err(as_signed) => {
                return Err(AttestationError::Malformed(format!(
                    "neither an attestation package ({as_package}) nor a signed attestation ({as_signed})"
                )));
            }
        },
    };
    let m = &signed.message;
    for version in [signed.version.0, m.version.0] {
        if version != u64::from(OFFCHAIN_VERSION) {
            return Err(AttestationError::UnsupportedVersion(version));
        }
    }
    check_type(&signed)?;
    check_domain(&signed.domain, domain)?;
    let schema: B256 = m
        .schema
        .parse()
        .map_err(|e| AttestationError::Malformed(format!("schema: {e}")))?;

    let expected_uid = offchain_uid(m);
    if signed.uid != expected_uid {
        return Err(AttestationError::UidMismatch {
            found: signed.uid,
            expected: expected_uid,
        });
    }

    let typed = typed::Attest {
        version: OFFCHAIN_VERSION,
        schema,
        recipient: m.recipient,
        time: m.time.0,
        expirationTime: m.expiration_time.0,
        revocable: m.revocable,
        refUID: m.ref_uid,
        data: m.data.clone(),
        salt: m.salt,
    };
    let digest = typed.eip712_signing_hash(&domain.eip712());
    let signature = parse_signature(&signed.signature)?;
    let signer = taskproof_core::ecrecover::recover(&digest, &signature)
        .map_err(|e| AttestationError::BadSignature(e.to_string()))?;
    if let Some(claimed) = claimed_signer
        && claimed != signer
    {
        return Err(AttestationError::SignerMismatch {
            claimed,
            recovered: signer,
        });
    }
    Ok(Attestation {
        uid: signed.uid,
        signer,
        schema,
        recipient: m.recipient,
        time: m.time.0,
        expiration_time: m.expiration_time.0,
        ref_uid: m.ref_uid,
        data: m.data.clone(),
    })
}

fn check_type(signed: &Signed) -> Result<(), AttestationError> {
    if signed.primary_type != "Attest" {
        return Err(AttestationError::WrongType);
    }
    let Some(Value::Array(fields)) = signed.types.get("Attest") else {
        return Err(AttestationError::WrongType);
    };
    let matches = fields.len() == ATTEST_FIELDS.len()
        && fields.iter().zip(ATTEST_FIELDS).all(|(f, (name, ty))| {
            f.get("name").and_then(Value::as_str) == Some(name)
                && f.get("type").and_then(Value::as_str) == Some(ty)
        });
    if matches {
        Ok(())
    } else {
        Err(AttestationError::WrongType)
    }
}

fn check_domain(found: &Domain, expected: &EasDomain) -> Result<(), AttestationError> {
    let wrong = |field, found: String, expected: String| {
        Err(AttestationError::WrongDomain {
            field,
            found,
            expected,
        })
    };
    if found.name != EAS_DOMAIN_NAME {
        return wrong("name", found.name.clone(), EAS_DOMAIN_NAME.into());
    }
    if found.version != expected.version {
        return wrong("version", found.version.clone(), expected.version.clone());
    }
    if found.chain_id.0 != expected.chain_id {
        return wrong(
            "chainId",
            found.chain_id.0.to_string(),
            expected.chain_id.to_string(),
        );
    }
    if found.verifying_contract != expected.verifying_contract {
        return wrong(
            "verifyingContract",
            found.verifying_contract.to_string(),
            expected.verifying_contract.to_string(),
        );
    }
    Ok(())
}

fn parse_signature(json: &SignatureJson) -> Result<Signature, AttestationError> {
    let signature = match json {
        SignatureJson::Parts { v, r, s } => {
            let parity = match v.0 {
                27 | 0 => false,
                28 | 1 => true,
                other => return Err(AttestationError::BadSignature(format!("v = {other}"))),
            };
            Signature::from_scalars_and_parity(*r, *s, parity)
        }
        SignatureJson::Packed(bytes) => Signature::try_from(bytes.as_ref())
            .map_err(|e| AttestationError::BadSignature(e.to_string()))?,
    };
    if let Err(RecoverError::HighS) = taskproof_core::ecrecover::check_scalars(&signature) {
        return Err(AttestationError::BadSignature(
            "high s (a malleated signature, EIP-2)".into(),
        ));
    }
    Ok(signature)
}

/// The uid as eas-sdk's `Offchain.getOffchainUID` computes it for version 2:
/// `solidityPackedKeccak256([uint16, bytes, address, address, uint64, uint64,
/// bool, bytes32, bytes, bytes32, uint32], [version, utf8(schema text),
/// recipient, 0x0, time, expirationTime, revocable, refUID, data, salt, 0])`.
/// Note the schema enters as the UTF-8 bytes of its hex text, as in the SDK.
fn offchain_uid(m: &Message) -> B256 {
    let mut packed =
        Vec::with_capacity(2 + m.schema.len() + 20 + 20 + 8 + 8 + 1 + 32 + m.data.len() + 32 + 4);
    packed.extend_from_slice(&OFFCHAIN_VERSION.to_be_bytes());
    packed.extend_from_slice(m.schema.as_bytes());
    packed.extend_from_slice(m.recipient.as_slice());
    packed.extend_from_slice(Address::ZERO.as_slice());
    packed.extend_from_slice(&m.time.0.to_be_bytes());
    packed.extend_from_slice(&m.expiration_time.0.to_be_bytes());
    packed.push(u8::from(m.revocable));
    packed.extend_from_slice(m.ref_uid.as_slice());
    packed.extend_from_slice(&m.data);
    packed.extend_from_slice(m.salt.as_slice());
    packed.extend_from_slice(&0u32.to_be_bytes());
    keccak256(&packed)
}
