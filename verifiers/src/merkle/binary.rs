//! Trees built by `rs_merkle`, with the tree size pinned.
//!
//! rs_merkle hashes leaves and nodes alike and carries an odd last node up
//! unhashed. Both let a proof for a smaller tree pass inner nodes off as
//! leaves; fixing the leaf count to the trusted tree's and checking every index
//! against it closes that door. The number of sibling hashes must also be
//! exactly what the indices need: rs_merkle ignores extras.
//!
//! rs_merkle's own folding cannot be interrupted; the leaves are hashed here,
//! testing the verification's deadline, and what rs_merkle folds after them
//! is bounded by the sibling count checked above it.

use alloy_primitives::{B256, Bytes, keccak256};
use rs_merkle::{Hasher, MerkleProof, algorithms::Sha256, utils::indices::proof_indices_by_layers};
use taskproof_core::deadline;

use super::Refusal;

/// The leaf and node hash of a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Keccak256,
}

/// keccak-256 for rs_merkle, via alloy.
#[derive(Clone)]
pub(crate) struct Keccak256;

impl Hasher for Keccak256 {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        keccak256(data).0
    }
}

pub(super) fn root(
    hash: Hash,
    indices: &[u64],
    leaves: &[Bytes],
    proof: &[B256],
    tree_size: usize,
) -> Result<B256, Refusal> {
    let mut seen = std::collections::BTreeSet::new();
    let mut idx = Vec::with_capacity(indices.len());
    for &i in indices {
        let i = usize::try_from(i)
            .ok()
            .filter(|&i| i < tree_size)
            .ok_or_else(|| {
                format!("index {i} is outside the trusted tree of {tree_size} leaves")
            })?;
        if !seen.insert(i) {
            return Err(Refusal::Invalid(format!("index {i} is listed twice")));
        }
        idx.push(i);
    }
    let mut sorted = idx.clone();
    sorted.sort_unstable();
    let needed: usize = proof_indices_by_layers(&sorted, tree_size)
        .iter()
        .map(Vec::len)
        .sum();
    if proof.len() != needed {
        return Err(Refusal::Invalid(format!(
            "these indices need exactly {needed} sibling hashes in a tree of {tree_size} leaves, the proof has {}",
            proof.len()
        )));
    }
    let siblings: Vec<[u8; 32]> = proof.iter().map(|h| h.0).collect();
    let root = match hash {
        Hash::Sha256 => fold::<Sha256>(&idx, leaves, siblings, tree_size),
        Hash::Keccak256 => fold::<Keccak256>(&idx, leaves, siblings, tree_size),
    }?;
    Ok(B256::from(root))
}

fn fold<H: Hasher<Hash = [u8; 32]>>(
    indices: &[usize],
    leaves: &[Bytes],
    siblings: Vec<[u8; 32]>,
    tree_size: usize,
) -> Result<[u8; 32], Refusal> {
    let hashes = leaves
        .iter()
        .map(|l| deadline::check().map(|()| H::hash(l)))
        .collect::<Result<Vec<[u8; 32]>, _>>()?;
    MerkleProof::<H>::new(siblings)
        .root(indices, &hashes, tree_size)
        .map_err(|e| Refusal::Invalid(format!("the proof does not fold to a root: {e}")))
}
