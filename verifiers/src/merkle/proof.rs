//! The JSON document a performer sends as proofOfTask.
//!
//! One shape for every scheme, a superset of @openzeppelin/merkle-tree's
//! outputs: `{value, proof}` (getProof), `{leaves, proof, proofFlags}`
//! (getMultiProof), and for index-based trees `{index | indices, leaf |
//! leaves, proof, treeSize}`. State updates carry `oldLeaves`, `newLeaves` and
//! `newRoot`. Unknown keys are refused so a typo cannot silently drop a check.

use alloy_primitives::{B256, Bytes};
use serde::Deserialize;
use serde_json::Value;

/// A Merkle proof of task, as parsed from JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProofDocument {
    /// A single leaf (OpenZeppelin `value`).
    #[serde(default)]
    pub value: Option<Value>,
    /// A single leaf (index-based schemes: 0x-hex bytes).
    #[serde(default)]
    pub leaf: Option<Value>,
    /// Several leaves.
    #[serde(default)]
    pub leaves: Option<Vec<Value>>,
    /// State update: the leaves before.
    #[serde(default)]
    pub old_leaves: Option<Vec<Value>>,
    /// State update: the leaves after.
    #[serde(default)]
    pub new_leaves: Option<Vec<Value>>,
    /// Sibling hashes.
    pub proof: Vec<B256>,
    /// OpenZeppelin multiproof flags.
    #[serde(default)]
    pub proof_flags: Option<Vec<bool>>,
    /// The index of a single leaf.
    #[serde(default)]
    pub index: Option<u64>,
    /// The indices of several leaves, in the order of `leaves`.
    #[serde(default)]
    pub indices: Option<Vec<u64>>,
    /// The number of leaves in the tree.
    #[serde(default, alias = "totalLeaves")]
    pub tree_size: Option<u64>,
    /// The root the performer claims; must equal the trusted root.
    #[serde(default)]
    pub root: Option<B256>,
    /// State update: the old root the performer claims; must equal the trusted root.
    #[serde(default)]
    pub old_root: Option<B256>,
    /// State update: the new root.
    #[serde(default)]
    pub new_root: Option<B256>,
    /// OpenZeppelin: the leaf types; must equal the task definition's.
    #[serde(default)]
    pub leaf_encoding: Option<Vec<String>>,
}

impl ProofDocument {
    pub(super) fn membership_leaves(&self) -> Result<&[Value], String> {
        match (&self.value, &self.leaf, &self.leaves) {
            (Some(v), None, None) | (None, Some(v), None) => Ok(std::slice::from_ref(v)),
            (None, None, Some(v)) => Ok(v),
            (None, None, None) => Err("the proof has no `value`, `leaf` or `leaves`".into()),
            _ => Err("give exactly one of `value`, `leaf` and `leaves`".into()),
        }
    }

    pub(super) fn update_leaves(&self) -> Result<(&[Value], &[Value]), String> {
        if self.value.is_some() || self.leaf.is_some() || self.leaves.is_some() {
            return Err(
                "a state update lists `oldLeaves` and `newLeaves`, not `value`/`leaf`/`leaves`"
                    .into(),
            );
        }
        match (&self.old_leaves, &self.new_leaves) {
            (Some(old), Some(new)) if old.len() == new.len() => Ok((old, new)),
            (Some(old), Some(new)) => Err(format!(
                "`oldLeaves` has {} entries but `newLeaves` has {}",
                old.len(),
                new.len()
            )),
            _ => Err("a state update needs both `oldLeaves` and `newLeaves`".into()),
        }
    }

    pub(super) fn single_index(&self) -> Result<u64, String> {
        match (&self.index, &self.indices) {
            (Some(i), None) => Ok(*i),
            (None, Some(v)) if v.len() == 1 => Ok(v[0]),
            (None, None) => Err("the proof has no `index`".into()),
            _ => Err("give exactly one index".into()),
        }
    }

    pub(super) fn indices_for(&self, leaves: usize) -> Result<Vec<u64>, String> {
        let indices = match (&self.index, &self.indices) {
            (Some(i), None) => vec![*i],
            (None, Some(v)) => v.clone(),
            (None, None) => return Err("the proof has no `index` or `indices`".into()),
            _ => return Err("give `index` or `indices`, not both".into()),
        };
        if indices.len() != leaves {
            return Err(format!("{} indices for {leaves} leaves", indices.len()));
        }
        Ok(indices)
    }
}

/// The bytes of an index-based leaf: a 0x-prefixed hex string.
pub(super) fn leaf_bytes(value: &Value) -> Result<Bytes, String> {
    let Some(s) = value.as_str() else {
        return Err("must be a 0x-hex string".into());
    };
    if !s.starts_with("0x") {
        return Err("must be a 0x-hex string".into());
    }
    s.parse::<Bytes>().map_err(|e| format!("not hex: {e}"))
}
