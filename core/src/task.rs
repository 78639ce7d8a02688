//! The task an attester is asked to judge: exactly Othentic's `TaskInfo`, plus
//! the performer's signature when the request carried one.

use alloy_primitives::{Address, Bytes, U256};

/// A task as the performer published it.
///
/// `proof_of_task` is whatever string the performer's execution service
/// produced (a JSON document, a CID, a proof); `data` is the extra bytes the
/// performer put into consensus. Nothing in a `Task` is trusted: verifiers
/// check it against their own configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// The performer's proof, verbatim.
    pub proof_of_task: String,
    /// Additional data added to the consensus (`bytes` on chain).
    pub data: Bytes,
    /// The performer's address.
    pub performer: Address,
    /// Which task definition the task belongs to.
    pub task_definition_id: u16,
    /// The performer's signature over the task, when the request carried one.
    pub signature: Option<PerformerSignature>,
}

impl Task {
    /// A task with no performer signature.
    pub fn new(
        proof_of_task: impl Into<String>,
        data: impl Into<Bytes>,
        performer: Address,
        task_definition_id: u16,
    ) -> Self {
        Self {
            proof_of_task: proof_of_task.into(),
            data: data.into(),
            performer,
            task_definition_id,
            signature: None,
        }
    }
}

/// Which scheme the performer signed with (`signatureType` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SignatureType {
    /// secp256k1 ECDSA, the default.
    #[default]
    Ecdsa,
    /// BLS on BN254 (signatures on G1).
    Bls,
}

impl SignatureType {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ecdsa => "ecdsa",
            Self::Bls => "bls",
        }
    }
}

/// A performer's signature as it travels in `sendTask`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PerformerSignature {
    /// 65 bytes r‖s‖v.
    Ecdsa(Bytes),
    /// A G1 point `{"x": "0x…", "y": "0x…"}`.
    Bls {
        /// x coordinate.
        x: U256,
        /// y coordinate.
        y: U256,
    },
}

impl PerformerSignature {
    /// The scheme of this signature.
    pub fn signature_type(&self) -> SignatureType {
        match self {
            Self::Ecdsa(_) => SignatureType::Ecdsa,
            Self::Bls { .. } => SignatureType::Bls,
        }
    }
}
