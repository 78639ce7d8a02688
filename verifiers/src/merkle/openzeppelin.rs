//! @openzeppelin/merkle-tree's `StandardMerkleTree`, folded directly.
//!
//! Leaves are `keccak256(keccak256(abi.encode(values...)))`; inner nodes hash
//! the sorted pair of their children. The double hash keeps a leaf from ever
//! being read as an inner node, and the sorted pairs mean proofs carry no
//! index. Multiproofs follow the library's `processMultiProof`, including the
//! consistency checks whose absence once let forged multiproofs through
//! (every flag consumes exactly one sibling or one queued node, and every
//! sibling is consumed).
//!
//! Folding costs one keccak per sibling or flag, so the loops test the
//! verification's deadline ([`taskproof_core::deadline::check`]).

use alloy_dyn_abi::{DynSolType, DynSolValue};
use alloy_primitives::{B256, keccak256};
use serde_json::Value;
use taskproof_core::{
    deadline::{self, Expired},
    quote,
};

use super::Refusal;

/// Parses a `leafEncoding` such as `["address", "uint256"]`.
pub fn parse_leaf_encoding(encoding: &[String]) -> Result<Vec<DynSolType>, String> {
    if encoding.is_empty() {
        return Err("the leaf encoding lists no types".into());
    }
    encoding
        .iter()
        .map(|t| {
            // The parser's message repeats the whole type: not worth its length.
            DynSolType::parse(t).map_err(|_| format!("{} is not a Solidity type", quote(t)))
        })
        .collect()
}

/// Checks that a proof's `leafEncoding` names the attester's leaf types.
pub(super) fn check_leaf_encoding(
    expected: &[DynSolType],
    claimed: &[String],
) -> Result<(), String> {
    let claimed_types = parse_leaf_encoding(claimed).map_err(|e| format!("leafEncoding: {e}"))?;
    if claimed_types != expected {
        let expected: Vec<String> = expected
            .iter()
            .map(DynSolType::sol_type_name)
            .map(Into::into)
            .collect();
        return Err(format!(
            "the proof's leafEncoding {} differs from the task definition's {expected:?}",
            quote(&format!("{claimed:?}"))
        ));
    }
    Ok(())
}

/// The leaf hash of one value (a JSON array with one entry per leaf type).
pub fn leaf_hash(types: &[DynSolType], value: &Value) -> Result<B256, String> {
    let Some(items) = value.as_array() else {
        return Err(format!("a leaf must be an array of {} values", types.len()));
    };
    if items.len() != types.len() {
        return Err(format!(
            "a leaf must have {} values (one per leaf type), this one has {}",
            types.len(),
            items.len()
        ));
    }
    let values = types
        .iter()
        .zip(items)
        .enumerate()
        .map(|(i, (ty, item))| {
            ty.coerce_json(item).map_err(|_| {
                let shown = match item.as_str() {
                    Some(text) => quote(text).to_string(),
                    None => quote(&item.to_string()).to_string(),
                };
                format!("value {i} ({shown}) is not a valid {}", ty.sol_type_name())
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let encoded = DynSolValue::Tuple(values).abi_encode_params();
    Ok(keccak256(keccak256(encoded)))
}

/// The hash of an inner node: keccak256 of the sorted pair.
pub fn hash_pair(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// Folds a single-leaf proof (`getProof`) to its root; stops when the
/// verification's deadline has passed.
pub fn process_proof(leaf: B256, proof: &[B256]) -> Result<B256, Expired> {
    proof.iter().try_fold(leaf, |acc, sibling| {
        deadline::check()?;
        Ok(hash_pair(acc, *sibling))
    })
}

/// Folds a multiproof (`getMultiProof`) to its root; stops when the
/// verification's deadline has passed.
pub fn process_multi_proof(
    leaves: &[B256],
    proof: &[B256],
    flags: &[bool],
) -> Result<B256, Refusal> {
    if leaves.is_empty() {
        return Err("a multiproof with no leaves proves nothing".into());
    }
    if leaves.len() + proof.len() != flags.len() + 1 {
        return Err(Refusal::Invalid(format!(
            "a multiproof needs leaves + proof = proofFlags + 1, got {} + {} against {}",
            leaves.len(),
            proof.len(),
            flags.len()
        )));
    }
    // The queue holds the leaves, then every hash computed so far; `next`
    // is its head. Each flag consumes one queued node and either a second
    // queued node (true) or the next sibling from the proof (false).
    let mut queue: Vec<B256> = Vec::with_capacity(leaves.len() + flags.len());
    queue.extend_from_slice(leaves);
    let mut next = 0usize;
    let mut siblings = proof.iter();
    for flag in flags {
        deadline::check()?;
        let a = *queue.get(next).ok_or("the multiproof runs out of nodes")?;
        next += 1;
        let b = if *flag {
            let b = *queue.get(next).ok_or("the multiproof runs out of nodes")?;
            next += 1;
            b
        } else {
            *siblings
                .next()
                .ok_or("the multiproof runs out of sibling hashes")?
        };
        queue.push(hash_pair(a, b));
    }
    if siblings.next().is_some() {
        return Err("the multiproof leaves sibling hashes unused".into());
    }
    if flags.is_empty() {
        // A single leaf and no proof: the leaf is the root.
        return Ok(leaves[0]);
    }
    if next != queue.len() - 1 {
        return Err("the multiproof leaves nodes unused".into());
    }
    queue
        .last()
        .copied()
        .ok_or_else(|| "empty multiproof".into())
}

/// A refusal's reason, for the unit tests.
#[cfg(test)]
fn reason(r: Refusal) -> String {
    match r {
        Refusal::Invalid(reason) => reason,
        Refusal::Expired(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_hash_is_order_independent() {
        let a = keccak256(b"a");
        let b = keccak256(b"b");
        assert_eq!(hash_pair(a, b), hash_pair(b, a));
        assert_ne!(hash_pair(a, b), hash_pair(a, a));
    }

    #[test]
    fn rejects_multiproof_with_unused_siblings() {
        let leaf = keccak256(b"leaf");
        let err = reason(process_multi_proof(&[leaf], &[leaf, leaf], &[false]).unwrap_err());
        assert!(err.contains("proofFlags"), "{err}");
    }

    #[test]
    fn folding_stops_once_the_deadline_has_passed() {
        use std::time::Instant;
        use taskproof_core::deadline::Deadline;

        let leaf = keccak256(b"leaf");
        let leaves = vec![leaf; 500];
        let flags = vec![true; 499];
        let siblings = vec![leaf; 500];
        let passed = Deadline::at(Instant::now());
        passed.enter(|| {
            assert_eq!(
                process_multi_proof(&leaves, &[], &flags),
                Err(Refusal::Expired(Expired))
            );
            assert_eq!(process_proof(leaf, &siblings), Err(Expired));
        });
        // Without a deadline the same folds finish.
        assert!(process_multi_proof(&leaves, &[], &flags).is_ok());
        assert!(process_proof(leaf, &siblings).is_ok());
    }

    #[test]
    fn rejects_multiproof_flag_that_reads_past_the_queue() {
        let leaf = keccak256(b"leaf");
        // counts balance (2 + 0 = 1 + 1) but the flags ask for a node that does not exist yet
        let err = process_multi_proof(&[leaf, leaf], &[], &[true]).map(|_| ());
        assert!(err.is_ok(), "two leaves, one true flag is a valid shape");
        let err = reason(process_multi_proof(&[leaf], &[leaf, leaf], &[true, true]).unwrap_err());
        assert!(err.contains("runs out"), "{err}");
    }
}
