//! RFC 6962 (Certificate Transparency) Merkle trees: SHA-256 with a 0x00
//! prefix on leaves and 0x01 on inner nodes, and the tree split at the largest
//! power of two below its size.
//!
//! Hand-written: the inclusion-proof check is a dozen lines (RFC 9162
//! §2.1.3.2) and no maintained crate offers it without a log client around it.

use alloy_primitives::B256;
use sha2::{Digest, Sha256};

/// `SHA-256(0x00 || data)`.
pub(super) fn leaf_hash(data: &[u8]) -> B256 {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    B256::from(<[u8; 32]>::from(h.finalize()))
}

/// `SHA-256(0x01 || left || right)`.
pub(super) fn node_hash(left: &B256, right: &B256) -> B256 {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    B256::from(<[u8; 32]>::from(h.finalize()))
}

/// The root implied by an inclusion proof of the leaf at `index` in a tree of
/// `tree_size` leaves (RFC 9162 §2.1.3.2). The proof must have exactly the
/// path's length.
pub(super) fn root_from_inclusion_proof(
    index: u64,
    tree_size: u64,
    leaf: &B256,
    proof: &[B256],
) -> Result<B256, String> {
    if index >= tree_size {
        return Err(format!(
            "index {index} is outside a tree of {tree_size} leaves"
        ));
    }
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err("the proof is longer than the path of this index".into());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err("the proof is shorter than the path of this index".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Certificate Transparency's reference leaves and tree heads (sizes 1..=8).
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn leaves() -> Vec<B256> {
        LEAVES
            .iter()
            .map(|l| leaf_hash(&hex::decode(l).unwrap()))
            .collect()
    }

    /// The RFC 6962 tree head, by the recursive definition: an independent
    /// check of the iterative proof folding above.
    fn mth(leaves: &[B256]) -> B256 {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = leaves.len().next_power_of_two() / 2;
        node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
    }

    fn path(index: usize, leaves: &[B256]) -> Vec<B256> {
        if leaves.len() == 1 {
            return vec![];
        }
        let k = leaves.len().next_power_of_two() / 2;
        if index < k {
            let mut p = path(index, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(index - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    #[test]
    fn matches_certificate_transparency_reference_roots() {
        let leaves = leaves();
        for n in 1..=8 {
            assert_eq!(hex::encode(mth(&leaves[..n])), ROOTS[n - 1], "size {n}");
        }
    }

    #[test]
    fn matches_certificate_transparency_reference_inclusion_proof() {
        let proof: Vec<B256> = [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]
        .iter()
        .map(|h| h.parse().unwrap())
        .collect();
        let root = root_from_inclusion_proof(0, 8, &leaves()[0], &proof).unwrap();
        assert_eq!(hex::encode(root), ROOTS[7]);
    }

    #[test]
    fn every_inclusion_proof_of_every_size_folds_to_the_root() {
        let many: Vec<B256> = (0u8..37)
            .map(|i| leaf_hash(&[i, i.wrapping_mul(7)]))
            .collect();
        for n in 1..=many.len() {
            let root = mth(&many[..n]);
            for i in 0..n {
                let p = path(i, &many[..n]);
                assert_eq!(
                    root_from_inclusion_proof(i as u64, n as u64, &many[i], &p).unwrap(),
                    root
                );
                if n > 1 {
                    let wrong = (i + 1) % n;
                    assert_ne!(
                        root_from_inclusion_proof(wrong as u64, n as u64, &many[i], &p).ok(),
                        Some(root),
                        "index {i} proof accepted at index {wrong} in size {n}"
                    );
                }
                if !p.is_empty() {
                    assert!(
                        root_from_inclusion_proof(i as u64, n as u64, &many[i], &p[..p.len() - 1])
                            .is_err()
                    );
                }
                let mut long = p.clone();
                long.push(root);
                assert!(root_from_inclusion_proof(i as u64, n as u64, &many[i], &long).is_err());
            }
        }
    }
}
