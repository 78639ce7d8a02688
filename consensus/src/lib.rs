//! # taskproof-consensus
//!
//! What comes after a verdict: [`journal`], which records every vote before
//! it is signed so that an attester never signs both ways, [`operators`],
//! the operator set (indexes, addresses, BLS keys, voting power) as the
//! contracts hold it, and [`bls`], BLS
//! signatures on BN254 exactly
//! as Othentic's performers, attesters and contracts compute them, so that a
//! key derived here is the key an operator already registered and a signature
//! made here is one the AttestationCenter accepts.
//!
//! It trusts nothing it is handed: every point that arrives from outside
//! (a public key, a signature) is checked to be in the field, on the curve,
//! in the subgroup and not infinity, each failure with its own error, before
//! any pairing. It never knows how a verdict was reached.
//!
//! ## Non-features
//!
//! - No key generation of its own: an operator's BLS key is derived from the
//!   ECDSA private key they already hold, as Othentic's tools derive it.
//! - No aggregation of votes: that is the aggregator's work.
//!
//! ```
//! use taskproof_consensus::bls::{self, PublicKey, SecretKey, Signature};
//!
//! let sk = SecretKey::from_operator_key("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
//!     .unwrap();
//! let message = [7u8; 32];
//! let domain = bls::TASKS_MANAGER_DOMAIN;
//! let signature = sk.sign(&message, &domain);
//!
//! // What travels: uint256[4] for the key, {"x","y"} for the signature.
//! let pk = PublicKey::from_json(&sk.public_key().to_json()).unwrap();
//! let signature = Signature::from_json(&signature.to_json()).unwrap();
//! assert!(pk.verify(&message, &signature, &domain));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

pub mod bls;
pub mod journal;
pub mod operators;
