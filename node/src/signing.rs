//! The hashes and signatures Othentic's network exchanges, computed with
//! alloy exactly as the Othentic contracts and examples do.
//!
//! - A performer signs `keccak256(abi.encode(string proofOfTask, bytes data,
//!   address performer, uint16 taskDefinitionId))` raw, with no EIP-191 prefix.
//! - An attester votes on `keccak256(abi.encode(proofOfTask, data, performer,
//!   taskDefinitionId, attestationCenter, chainId, isApproved))`.
//! - The journal knows a task by `keccak256(abi.encode(proofOfTask, data,
//!   performer, taskDefinitionId, attestationCenter, chainId))`: the vote
//!   hash without its answer, so both answers on one task share one key.

use alloy_primitives::{Address, B256, Bytes, Signature, U256, keccak256};
use alloy_sol_types::SolValue;
use taskproof_core::ecrecover::{self, RecoverError};

use crate::AttesterKey;

/// The hash a performer signs.
pub fn task_hash(
    proof_of_task: &str,
    data: &[u8],
    performer: Address,
    task_definition_id: u16,
) -> B256 {
    let encoded = (
        proof_of_task.to_owned(),
        Bytes::copy_from_slice(data),
        performer,
        task_definition_id,
    )
        .abi_encode_params();
    keccak256(encoded)
}

/// Everything an attester's vote commits to.
#[derive(Debug, Clone, Copy)]
pub struct Vote<'a> {
    /// The task's proof.
    pub proof_of_task: &'a str,
    /// The task's data.
    pub data: &'a [u8],
    /// The performer.
    pub performer: Address,
    /// The task definition.
    pub task_definition_id: u16,
    /// The AttestationCenter the vote is for.
    pub attestation_center: Address,
    /// The chain the vote is for.
    pub chain_id: u64,
    /// Approve (true) or reject (false).
    pub is_approved: bool,
}

impl Vote<'_> {
    /// What identifies the task this vote is on, for one AttestationCenter on
    /// one chain: the vote hash's fields without `isApproved`. The journal
    /// records one answer per task key.
    pub fn task_key(&self) -> B256 {
        let encoded = (
            self.proof_of_task.to_owned(),
            Bytes::copy_from_slice(self.data),
            self.performer,
            self.task_definition_id,
            self.attestation_center,
            U256::from(self.chain_id),
        )
            .abi_encode_params();
        keccak256(encoded)
    }

    /// The hash an attester signs.
    pub fn hash(&self) -> B256 {
        let encoded = (
            self.proof_of_task.to_owned(),
            Bytes::copy_from_slice(self.data),
            self.performer,
            self.task_definition_id,
            self.attestation_center,
            U256::from(self.chain_id),
            self.is_approved,
        )
            .abi_encode_params();
        keccak256(encoded)
    }

    /// Signs the vote hash raw with the attester's key; 65 bytes r‖s‖v
    /// (v = 27 or 28).
    pub fn sign(&self, key: &AttesterKey) -> (B256, Bytes) {
        let hash = self.hash();
        (hash, Bytes::copy_from_slice(&key.sign_hash(&hash)))
    }
}

/// Why a performer signature was refused (`InvalidPerformerSignature`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PerformerSignatureError {
    /// Not 65 bytes, or r/s out of range.
    #[error("the signature is not a 65-byte r‖s‖v ECDSA signature")]
    Malformed,
    /// `v` is not 27 or 28.
    #[error("the signature's v is {0}; it must be 27 or 28")]
    BadRecoveryId(u8),
    /// `s` is in the upper half of the curve order: the malleable form.
    #[error(
        "the signature's s is in the upper half of the curve order (malleable); use its low-s form"
    )]
    HighS,
    /// No public key recovers from it.
    #[error("no signer can be recovered from the signature")]
    Unrecoverable,
    /// It recovers to someone else.
    #[error("the signature was made by {recovered}, not the performer {performer}")]
    WrongSigner {
        /// Who signed.
        recovered: Address,
        /// Who should have.
        performer: Address,
    },
}

/// Checks a performer's ECDSA signature over the task.
pub fn check_performer_signature(
    signature: &[u8],
    proof_of_task: &str,
    data: &[u8],
    performer: Address,
    task_definition_id: u16,
) -> Result<(), PerformerSignatureError> {
    let [.., v] = signature else {
        return Err(PerformerSignatureError::Malformed);
    };
    if signature.len() != 65 {
        return Err(PerformerSignatureError::Malformed);
    }
    if !matches!(v, 27 | 28) {
        return Err(PerformerSignatureError::BadRecoveryId(*v));
    }
    let signature =
        Signature::from_raw(signature).map_err(|_| PerformerSignatureError::Malformed)?;
    let hash = task_hash(proof_of_task, data, performer, task_definition_id);
    let recovered = ecrecover::recover(&hash, &signature).map_err(|e| match e {
        RecoverError::HighS => PerformerSignatureError::HighS,
        RecoverError::OutOfRange => PerformerSignatureError::Malformed,
        RecoverError::NoKey => PerformerSignatureError::Unrecoverable,
    })?;
    if recovered != performer {
        return Err(PerformerSignatureError::WrongSigner {
            recovered,
            performer,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_by_the_performer_is_accepted_and_one_by_anyone_else_refused() {
        let performer = AttesterKey::parse(
            "0x0123456789012345678901234567890123456789012345678901234567890123",
        )
        .unwrap();
        let other = AttesterKey::parse(
            "0x1111111111111111111111111111111111111111111111111111111111111111",
        )
        .unwrap();
        let hash = task_hash("proof", b"data", performer.address(), 3);
        let good = performer.sign_hash(&hash);
        assert!(check_performer_signature(&good, "proof", b"data", performer.address(), 3).is_ok());
        // Signed over a different task definition.
        assert!(
            check_performer_signature(&good, "proof", b"data", performer.address(), 4).is_err()
        );
        let bad = other.sign_hash(&hash);
        assert!(matches!(
            check_performer_signature(&bad, "proof", b"data", performer.address(), 3),
            Err(PerformerSignatureError::WrongSigner { .. })
        ));
        assert_eq!(
            check_performer_signature(&good[..64], "proof", b"data", performer.address(), 3),
            Err(PerformerSignatureError::Malformed)
        );
    }

    /// The same signature with `s` replaced by `n - s` and `v` flipped
    /// recovers the same signer: it must be refused as the contracts do.
    #[test]
    fn rejects_the_high_s_twin_of_a_valid_signature() {
        let performer = AttesterKey::parse(
            "0x0123456789012345678901234567890123456789012345678901234567890123",
        )
        .unwrap();
        let hash = task_hash("proof", b"data", performer.address(), 3);
        let good = performer.sign_hash(&hash);
        let order = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .unwrap();
        assert_eq!(ecrecover::SECP256K1_ORDER, order);
        let s = U256::from_be_slice(&good[32..64]);
        let mut twin = good;
        twin[32..64].copy_from_slice(&(order - s).to_be_bytes::<32>());
        twin[64] = if good[64] == 27 { 28 } else { 27 };
        // The twin really is a valid signature of the same key...
        let recovered = Signature::from_raw(&twin)
            .unwrap()
            .recover_address_from_prehash(&hash)
            .unwrap();
        assert_eq!(recovered, performer.address());
        // ...and is refused for its high s.
        assert_eq!(
            check_performer_signature(&twin, "proof", b"data", performer.address(), 3),
            Err(PerformerSignatureError::HighS)
        );
    }

    #[test]
    fn rejects_recovery_ids_other_than_27_and_28() {
        let performer = AttesterKey::parse(
            "0x0123456789012345678901234567890123456789012345678901234567890123",
        )
        .unwrap();
        let hash = task_hash("proof", b"data", performer.address(), 3);
        let good = performer.sign_hash(&hash);
        for v in [0u8, 1, 35, 36, 255] {
            let mut bad = good;
            bad[64] = v;
            assert_eq!(
                check_performer_signature(&bad, "proof", b"data", performer.address(), 3),
                Err(PerformerSignatureError::BadRecoveryId(v)),
                "v = {v}"
            );
        }
    }
}
