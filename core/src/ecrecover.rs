//! Who made an Ethereum secp256k1 signature, under the rules every verifier
//! shares: `r` and `s` in range and `s` in the lower half of the group order
//! (EIP-2; OpenZeppelin's `ECDSA` and Reclaim's attestors refuse the
//! malleable twin too), `v` read as the y parity only. It trusts nothing but
//! the digest it is given: the caller decides what was signed.
//!
//! Recovery is alloy's, built here on libsecp256k1 (alloy-primitives'
//! `secp256k1` feature, the backend reth uses): on this project's two-core
//! machines it recovers a signer about four times faster than the pure-Rust
//! `k256`, and recovery is most of the cost of an attestation or a claim.

use alloy_primitives::{Address, B256, Signature, U256};

/// The order n of the secp256k1 group.
pub const SECP256K1_ORDER: U256 = U256::from_be_bytes([
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

/// n / 2: a signature whose `s` is above it is the malleable twin of one
/// below (EIP-2).
pub const SECP256K1_HALF_ORDER: U256 = U256::from_be_bytes([
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/// Why no signer comes out of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    /// `r` or `s` is zero, or not below the group order.
    #[error("r or s is zero or not below the secp256k1 group order")]
    OutOfRange,
    /// `s` is in the upper half of the group order.
    #[error(
        "s is in the upper half of the group order: the malleable twin of a low-s signature (EIP-2)"
    )]
    HighS,
    /// The scalars are in range but name no point on the curve.
    #[error("no public key recovers from the signature")]
    NoKey,
}

/// Checks that `r` and `s` are in range and `s` is low, before any curve
/// arithmetic.
pub fn check_scalars(signature: &Signature) -> Result<(), RecoverError> {
    let (r, s) = (signature.r(), signature.s());
    if r.is_zero() || r >= SECP256K1_ORDER || s.is_zero() || s >= SECP256K1_ORDER {
        return Err(RecoverError::OutOfRange);
    }
    if s > SECP256K1_HALF_ORDER {
        return Err(RecoverError::HighS);
    }
    Ok(())
}

/// The address whose key made `signature` over the 32-byte `digest`, once
/// [`check_scalars`] passes.
pub fn recover(digest: &B256, signature: &Signature) -> Result<Address, RecoverError> {
    check_scalars(signature)?;
    signature
        .recover_address_from_prehash(digest)
        .map_err(|_| RecoverError::NoKey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use secp256k1::{Message, PublicKey, SECP256K1, SecretKey};

    fn address_of(secret: &SecretKey) -> Address {
        let point = PublicKey::from_secret_key(SECP256K1, secret).serialize_uncompressed();
        Address::from_slice(&keccak256(&point[1..])[12..])
    }

    /// A low-s signature by `secret` over `digest`, as alloy reads it.
    fn sign(secret: &SecretKey, digest: &B256) -> Signature {
        let signed = SECP256K1.sign_ecdsa_recoverable(Message::from_digest(digest.0), secret);
        let (id, compact) = signed.serialize_compact();
        Signature::from_bytes_and_parity(&compact, i32::from(id) == 1)
    }

    #[test]
    fn the_constants_are_the_group_order_and_its_half() {
        // n from SEC 2, written as text so a typo in the bytes shows.
        let n: U256 = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
            .parse()
            .unwrap();
        assert_eq!(SECP256K1_ORDER, n);
        assert_eq!(SECP256K1_HALF_ORDER, n >> 1);
    }

    #[test]
    fn recovers_the_signer_of_a_libsecp256k1_signature() {
        for i in 1u8..=64 {
            let secret = SecretKey::from_byte_array([i; 32]).unwrap();
            let digest = keccak256([i]);
            let signature = sign(&secret, &digest);
            assert_eq!(recover(&digest, &signature), Ok(address_of(&secret)));
            // Another digest, or the other parity, is someone else.
            let other = recover(&keccak256([i, i]), &signature);
            assert_ne!(other, Ok(address_of(&secret)));
            let flipped = Signature::new(signature.r(), signature.s(), !signature.v());
            assert_ne!(recover(&digest, &flipped), Ok(address_of(&secret)));
        }
    }

    #[test]
    fn the_high_s_twin_of_a_valid_signature_is_refused() {
        let secret = SecretKey::from_byte_array([3; 32]).unwrap();
        let digest = keccak256(b"twin");
        let low = sign(&secret, &digest);
        // (r, n - s, !v) recovers the same key: the malleated twin.
        let high = Signature::new(low.r(), SECP256K1_ORDER - low.s(), !low.v());
        assert_eq!(recover(&digest, &low), Ok(address_of(&secret)));
        assert_eq!(recover(&digest, &high), Err(RecoverError::HighS));
    }

    #[test]
    fn scalars_out_of_range_are_refused_before_any_arithmetic() {
        let digest = keccak256(b"range");
        let one = U256::from(1);
        for (r, s) in [
            (U256::ZERO, one),
            (one, U256::ZERO),
            (SECP256K1_ORDER, one),
            (U256::MAX, one),
            (one, SECP256K1_ORDER),
        ] {
            let signature = Signature::new(r, s, false);
            assert_eq!(recover(&digest, &signature), Err(RecoverError::OutOfRange));
        }
        assert_eq!(
            check_scalars(&Signature::new(one, SECP256K1_HALF_ORDER, false)),
            Ok(())
        );
        assert_eq!(
            check_scalars(&Signature::new(one, SECP256K1_HALF_ORDER + one, false)),
            Err(RecoverError::HighS)
        );
    }

    #[test]
    fn an_r_that_is_no_point_recovers_no_key() {
        // x = 5 is not the x of a curve point (5³ + 7 = 132 is no square
        // mod p), so no key recovers, whatever s.
        let digest = keccak256(b"no point");
        let signature = Signature::new(U256::from(5), U256::from(1), false);
        assert_eq!(recover(&digest, &signature), Err(RecoverError::NoKey));
    }
}
