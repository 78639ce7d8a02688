//! The `merkle` verifier: membership and state-update proofs against a root
//! the attester trusts.
//!
//! The trusted root comes from the task definition, never from the proof: a
//! root inside the proof is only accepted when it equals the trusted one.
//! Four schemes are supported:
//!
//! - `openzeppelin` — @openzeppelin/merkle-tree's `StandardMerkleTree`:
//!   double-keccak leaves of ABI-encoded values, sorted pairs;
//!   [`openzeppelin`] folds its single and multi proofs directly.
//! - `rfc6962` — Certificate Transparency's SHA-256 tree with 0x00 leaf and
//!   0x01 node prefixes (second-preimage safe by construction).
//! - `sha256`, `keccak256` — trees built by `rs_merkle`. rs_merkle has no
//!   leaf/node domain separation and promotes odd nodes unhashed, so the tree
//!   size is pinned by the task definition and every index is checked against
//!   it: a 64-byte "leaf" that is really two child hashes cannot pass.
//!
//! A *state update* proves that a new root differs from the trusted old root
//! only at the listed leaves: the same siblings verify the old leaves under the
//! old root and the new leaves under the claimed new root.
//!
//! Cost: one ABI encoding and hash per leaf (at most [`MAX_LEAVES`]) and one
//! hash per sibling or multiproof flag, linear in the proof's size. Proofs
//! over [`INLINE_LIMIT`] bytes run on the CPU pool, where the folding loops
//! stop at the verification's deadline ([`Verdict::Undecided`]). Reasons
//! quote the performer's values only through [`taskproof_core::quote`].

mod binary;
pub mod openzeppelin;
mod proof;
mod rfc6962;

use std::sync::Arc;

use alloy_dyn_abi::DynSolType;
use alloy_primitives::B256;
use serde::Deserialize;
use taskproof_core::{
    BuildContext, ConfigError, Task, Verdict, Verifier, async_trait, cpu,
    deadline::{self, Deadline, Expired},
};

pub use proof::ProofDocument;

/// Proofs larger than this are checked on the CPU pool rather than inline.
pub const INLINE_LIMIT: usize = 64 * 1024;

/// The most leaves one proof may carry; bounds the work a request can cause.
pub const MAX_LEAVES: usize = 65_536;

/// Why a proof of task is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The proof is wrong: vote invalid.
    Invalid(String),
    /// The verification's deadline passed before the proof was folded.
    Expired(Expired),
}

impl Refusal {
    /// Prefixes an invalid reason with where it arose.
    fn within(self, place: &str) -> Self {
        match self {
            Self::Invalid(reason) => Self::Invalid(format!("{place}: {reason}")),
            expired => expired,
        }
    }
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Self::Invalid(reason)
    }
}

impl From<&str> for Refusal {
    fn from(reason: &str) -> Self {
        Self::Invalid(reason.to_owned())
    }
}

impl From<Expired> for Refusal {
    fn from(e: Expired) -> Self {
        Self::Expired(e)
    }
}

impl From<Refusal> for Verdict {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Invalid(reason) => Verdict::invalid(reason),
            Refusal::Expired(e) => e.into(),
        }
    }
}

/// Cuts a parser's message, which may repeat the performer's text, to a
/// line's worth.
fn bounded_parse_error(e: &serde_json::Error) -> String {
    const MAX: usize = 320;
    let mut text = e.to_string();
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The hash construction of a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemeName {
    /// @openzeppelin/merkle-tree's StandardMerkleTree.
    Openzeppelin,
    /// RFC 6962 (Certificate Transparency).
    Rfc6962,
    /// rs_merkle with SHA-256.
    Sha256,
    /// rs_merkle with keccak-256.
    Keccak256,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Params {
    scheme: SchemeName,
    #[serde(deserialize_with = "taskproof_core::deserialize_bytes32")]
    root: B256,
    #[serde(default)]
    leaf_encoding: Option<Vec<String>>,
    #[serde(default)]
    tree_size: Option<u64>,
    #[serde(default)]
    mode: Mode,
}

/// What a proof of task must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The listed leaves are in the tree with the trusted root.
    #[default]
    Membership,
    /// The claimed new root is the trusted root with the listed leaves replaced.
    StateUpdate,
}

/// A tree scheme with everything the attester pins about it.
#[derive(Debug, Clone)]
pub(crate) enum Scheme {
    OpenZeppelin {
        leaf_types: Vec<DynSolType>,
    },
    Rfc6962 {
        tree_size: u64,
    },
    Binary {
        hash: binary::Hash,
        tree_size: usize,
    },
}

/// Checks Merkle proofs of one task definition.
#[derive(Debug, Clone)]
pub struct MerkleVerifier {
    scheme: Scheme,
    root: B256,
    mode: Mode,
}

/// Builds a `merkle` verifier (registered as a closure factory).
pub(crate) fn build(p: Params, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
    let scheme = match p.scheme {
        SchemeName::Openzeppelin => {
            if p.tree_size.is_some() {
                return Err(ctx.error(
                    "tree_size",
                    "not used by the openzeppelin scheme (its proofs carry no index)",
                ));
            }
            let Some(encoding) = p.leaf_encoding else {
                return Err(ctx.error(
                    "leaf_encoding",
                    "required for the openzeppelin scheme, e.g. [\"address\", \"uint256\"]",
                ));
            };
            let leaf_types = openzeppelin::parse_leaf_encoding(&encoding)
                .map_err(|e| ctx.error("leaf_encoding", e))?;
            Scheme::OpenZeppelin { leaf_types }
        }
        other => {
            if p.leaf_encoding.is_some() {
                return Err(ctx.error("leaf_encoding", "only used by the openzeppelin scheme"));
            }
            let Some(tree_size) = p.tree_size.filter(|&n| n > 0) else {
                return Err(ctx.error(
                    "tree_size",
                    "required (the number of leaves in the trusted tree, at least 1): pinning it stops \
                     second-preimage proofs that pass inner nodes off as leaves",
                ));
            };
            match other {
                SchemeName::Rfc6962 => Scheme::Rfc6962 { tree_size },
                SchemeName::Sha256 | SchemeName::Keccak256 => Scheme::Binary {
                    hash: if other == SchemeName::Sha256 {
                        binary::Hash::Sha256
                    } else {
                        binary::Hash::Keccak256
                    },
                    tree_size: usize::try_from(tree_size)
                        .ok()
                        .filter(|&n| n <= 1 << 40)
                        .ok_or_else(|| ctx.error("tree_size", "too large"))?,
                },
                SchemeName::Openzeppelin => unreachable!("handled above"),
            }
        }
    };
    Ok(Arc::new(MerkleVerifier {
        scheme,
        root: p.root,
        mode: p.mode,
    }))
}

impl MerkleVerifier {
    /// A verifier for `scheme`, checked against the trusted `root`.
    pub fn openzeppelin(leaf_encoding: &[String], root: B256, mode: Mode) -> Result<Self, String> {
        Ok(Self {
            scheme: Scheme::OpenZeppelin {
                leaf_types: openzeppelin::parse_leaf_encoding(leaf_encoding)?,
            },
            root,
            mode,
        })
    }

    /// Checks a proof of task synchronously; the async [`Verifier`] entry
    /// point calls this inline for small proofs and on the CPU pool otherwise.
    pub fn check(&self, proof_of_task: &str) -> Verdict {
        if let Err(e) = Deadline::current().check() {
            return e.into();
        }
        let document: ProofDocument = match serde_json::from_str(proof_of_task) {
            Ok(d) => d,
            Err(e) => {
                return Verdict::invalid(format!(
                    "proofOfTask is not a merkle proof document: {}",
                    bounded_parse_error(&e)
                ));
            }
        };
        match self.check_document(&document) {
            Ok(()) => Verdict::Valid,
            Err(refusal) => refusal.into(),
        }
    }

    fn check_document(&self, doc: &ProofDocument) -> Result<(), Refusal> {
        for claimed in [doc.root, doc.old_root].into_iter().flatten() {
            if claimed != self.root {
                return Err(Refusal::Invalid(format!(
                    "the proof claims root {claimed} but the trusted root is {}",
                    self.root
                )));
            }
        }
        if let Some(size) = doc.tree_size {
            let pinned = self.scheme.tree_size();
            if pinned.is_some_and(|pinned| pinned != size) {
                return Err(Refusal::Invalid(format!(
                    "the proof claims a tree of {size} leaves but the trusted tree has {}",
                    pinned.unwrap_or_default()
                )));
            }
        }
        if let (Scheme::OpenZeppelin { leaf_types }, Some(encoding)) =
            (&self.scheme, &doc.leaf_encoding)
        {
            openzeppelin::check_leaf_encoding(leaf_types, encoding)?;
        }
        match self.mode {
            Mode::Membership => {
                if doc.new_root.is_some() || doc.old_leaves.is_some() || doc.new_leaves.is_some() {
                    return Err(
                        "this task definition expects a membership proof, not a state update"
                            .into(),
                    );
                }
                let leaves = doc.membership_leaves()?;
                let root = self.scheme.root(leaves, doc)?;
                if root != self.root {
                    return Err(Refusal::Invalid(format!(
                        "the proof folds to root {root}, not the trusted root {}",
                        self.root
                    )));
                }
            }
            Mode::StateUpdate => {
                let (old, new) = doc.update_leaves()?;
                let Some(new_root) = doc.new_root else {
                    return Err("a state update needs `newRoot`".into());
                };
                let old_root = self
                    .scheme
                    .root(old, doc)
                    .map_err(|e| e.within("old leaves"))?;
                if old_root != self.root {
                    return Err(Refusal::Invalid(format!(
                        "the old leaves fold to root {old_root}, not the trusted root {}",
                        self.root
                    )));
                }
                let computed = self
                    .scheme
                    .root(new, doc)
                    .map_err(|e| e.within("new leaves"))?;
                if computed != new_root {
                    return Err(Refusal::Invalid(format!(
                        "the new leaves fold to root {computed}, not the claimed new root {new_root}"
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Scheme {
    fn tree_size(&self) -> Option<u64> {
        match self {
            Self::OpenZeppelin { .. } => None,
            Self::Rfc6962 { tree_size } => Some(*tree_size),
            Self::Binary { tree_size, .. } => Some(*tree_size as u64),
        }
    }

    /// Folds `leaves` with the proof's siblings (and flags or indices) to a root.
    fn root(&self, leaves: &[serde_json::Value], doc: &ProofDocument) -> Result<B256, Refusal> {
        if leaves.is_empty() {
            return Err("the proof lists no leaves: it would prove nothing".into());
        }
        if leaves.len() > MAX_LEAVES {
            return Err(Refusal::Invalid(format!(
                "the proof lists {} leaves; at most {MAX_LEAVES} are accepted",
                leaves.len()
            )));
        }
        match self {
            Self::OpenZeppelin { leaf_types } => {
                let hashes = leaves
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        deadline::check()?;
                        openzeppelin::leaf_hash(leaf_types, v)
                            .map_err(|e| Refusal::Invalid(format!("leaf {i}: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                match &doc.proof_flags {
                    None if hashes.len() == 1 => {
                        Ok(openzeppelin::process_proof(hashes[0], &doc.proof)?)
                    }
                    None => {
                        Err("several leaves need `proofFlags` (a getMultiProof document)".into())
                    }
                    Some(flags) => openzeppelin::process_multi_proof(&hashes, &doc.proof, flags),
                }
            }
            Self::Rfc6962 { tree_size } => {
                if doc.proof_flags.is_some() {
                    return Err("`proofFlags` is not used by the rfc6962 scheme".into());
                }
                let [leaf] = leaves else {
                    return Err("the rfc6962 scheme proves one leaf at a time".into());
                };
                let index = doc.single_index()?;
                let data = proof::leaf_bytes(leaf).map_err(|e| format!("leaf: {e}"))?;
                Ok(rfc6962::root_from_inclusion_proof(
                    index,
                    *tree_size,
                    &rfc6962::leaf_hash(&data),
                    &doc.proof,
                )?)
            }
            Self::Binary { hash, tree_size } => {
                if doc.proof_flags.is_some() {
                    return Err("`proofFlags` is not used by this scheme; give `indices`".into());
                }
                let indices = doc.indices_for(leaves.len())?;
                let data = leaves
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        deadline::check()?;
                        proof::leaf_bytes(v).map_err(|e| Refusal::Invalid(format!("leaf {i}: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                binary::root(*hash, &indices, &data, &doc.proof, *tree_size)
            }
        }
    }
}

#[async_trait]
impl Verifier for MerkleVerifier {
    async fn verify(&self, task: &Task) -> Verdict {
        if task.proof_of_task.len() <= INLINE_LIMIT {
            return self.check(&task.proof_of_task);
        }
        let this = self.clone();
        let proof = task.proof_of_task.clone();
        cpu::run(move || this.check(&proof))
            .await
            .unwrap_or_else(|e| Verdict::undecided(e.to_string()))
    }
}
