//! BLS signatures on BN254 as Othentic computes them: signatures and message
//! points on G1, public keys on G2, hash-to-point by `expand_message_xmd`
//! (SHA-256) and the Fouque–Tibouchi map, secret keys derived from an
//! operator's ECDSA private key string by mcl's `Fr.setHashOf`.
//!
//! Trusts its own secret key and the domain it is given; trusts no point
//! from outside. [`PublicKey`] and [`Signature`] can only be built through
//! the checks (field, infinity, curve, subgroup), so a [`PublicKey::verify`]
//! never pairs an unchecked point. Byte-for-byte agreement with mcl-wasm, as
//! Othentic's JavaScript configures it, is pinned by the vectors in
//! `fixtures/bls/`.

mod map;
mod wire;

use std::{fmt, sync::LazyLock};

use alloy_primitives::{B256, U256, b256};
use ark_bn254::{Bn254, Fq, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{
    AffineRepr, CurveGroup,
    pairing::{Pairing, PairingOutput},
};
use ark_ff::{AdditiveGroup, BigInteger, PrimeField, Zero};
use elliptic_curve::hash2curve::{ExpandMsg, ExpandMsgXmd, Expander};
use sha2::{Digest, Sha256};

pub use map::map_to_g1;
pub use wire::{DecodeError, PointError};

/// `keccak256("TasksManager")`: the domain of performer signatures and
/// attester votes in Othentic's contracts.
pub const TASKS_MANAGER_DOMAIN: B256 =
    b256!("b110049506439a07d78731efed3c809a6b13e0bab7cc9805f3bb45fb1e9a67e8");

/// `keccak256("OthenticBLSAuth")`: the domain an operator signs under when it
/// registers its BLS key.
pub const OTHENTIC_BLS_AUTH_DOMAIN: B256 =
    b256!("536e32096d745cb431ecc9c1df62d1566bc52bb6b2e3c32cf4666bcae127fc6d");

/// Bytes `expand_message_xmd` produces: two field elements of 48 bytes each
/// (254 bits of p plus 128 bits of security, rounded up to bytes), so that
/// reducing them mod p is close to uniform.
const EXPANDED_BYTES: usize = 96;

/// Hashes `message` to a point of G1 under `domain`, as Othentic's BLS
/// library does: `expand_message_xmd` with SHA-256 and `domain` as the DST to
/// 96 bytes, two 48-byte big-endian integers each reduced mod p, each mapped
/// with the Fouque–Tibouchi map (mcl's original `mapToG1`), the points added.
///
/// Othentic's messages are 32-byte hashes (`abi.encode(bytes32)`).
pub fn hash_to_point(message: &[u8], domain: &B256) -> G1Affine {
    let [u0, u1] = hash_to_field(message, domain);
    (G1Projective::from(map::map_to_g1(u0)) + map::map_to_g1(u1)).into_affine()
}

/// The two field elements [`hash_to_point`] maps.
pub fn hash_to_field(message: &[u8], domain: &B256) -> [Fq; 2] {
    let mut bytes = [0u8; EXPANDED_BYTES];
    let dst = [domain.as_slice()];
    // Fails only for a zero length, a DST over 255 bytes or more than 255
    // hash blocks; none of these can happen with a 32-byte DST and 96 bytes.
    if let Ok(mut expander) =
        ExpandMsgXmd::<Sha256>::expand_message(&[message], &dst, EXPANDED_BYTES)
    {
        expander.fill_bytes(&mut bytes);
    }
    let (u0, u1) = bytes.split_at(EXPANDED_BYTES / 2);
    [
        Fq::from_be_bytes_mod_order(u0),
        Fq::from_be_bytes_mod_order(u1),
    ]
}

/// An operator's BLS secret key.
///
/// Debug output never shows it; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Fr);

/// What stops [`SecretKey::from_operator_key`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// mcl-wasm hashes the low byte of each UTF-16 unit of a string, not its
    /// UTF-8 bytes, so a non-ASCII key would give a key no one else derives;
    /// an ECDSA private key is hex anyway.
    #[error("the key has characters other than ASCII; an ECDSA private key is hex")]
    NotAscii,
    /// The digest masked to zero: not a usable key (never seen in practice).
    #[error("the key derives the zero scalar")]
    Zero,
}

impl SecretKey {
    /// The BLS key Othentic derives from an operator's ECDSA private key
    /// string (as the operator keeps it: `0x` and hex digits).
    ///
    /// As mcl's `Fr.setHashOf` does it: SHA-256 of the string's bytes, with
    /// `0x` prepended only when the string does not start with it (an
    /// upper-case `0X` counts as missing), case kept (an upper-case key is
    /// another BLS key); the digest read as a **little-endian** integer,
    /// masked to the 254 bits of r and, if it is still ≥ r, masked to 253
    /// bits. It is not reduced mod r: a reduction gives another key for about
    /// a quarter of all inputs, and the key would not match the operator's
    /// registration.
    pub fn from_operator_key(key: &str) -> Result<SecretKey, KeyError> {
        if !key.is_ascii() {
            return Err(KeyError::NotAscii);
        }
        let mut hasher = Sha256::new();
        if !key.starts_with("0x") {
            hasher.update(b"0x");
        }
        hasher.update(key.as_bytes());
        let digest: [u8; 32] = hasher.finalize().into();
        let scalar = set_array_mask(U256::from_le_bytes(digest));
        if scalar.is_zero() {
            return Err(KeyError::Zero);
        }
        Ok(SecretKey(scalar))
    }

    /// The public key, on G2: `g2 · sk`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey((G2Affine::generator() * self.0).into_affine())
    }

    /// Signs `message` under `domain`: `hash_to_point(message, domain) · sk`.
    pub fn sign(&self, message: &[u8], domain: &B256) -> Signature {
        self.sign_point(&hash_to_point(message, domain))
    }

    /// Signs a message point already hashed with [`hash_to_point`].
    pub fn sign_point(&self, point: &G1Affine) -> Signature {
        Signature((*point * self.0).into_affine())
    }

    /// The scalar, 32 bytes big-endian. It is the secret: never log it.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.0.into_bigint().to_bytes_be());
        out
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// mcl's `FpT::setArrayMask` for Fr: keep the low 254 bits, and if that is
/// still ≥ r keep the low 253 bits (then below r, as r > 2^253).
fn set_array_mask(value: U256) -> Fr {
    let bits = Fr::MODULUS_BIT_SIZE as usize;
    let r = U256::from_limbs(Fr::MODULUS.0);
    let mut masked = value & low_bits(bits);
    if masked >= r {
        masked &= low_bits(bits - 1);
    }
    // Below r by construction, so from_bigint succeeds; zero otherwise keeps
    // this total (and is refused by the caller).
    Fr::from_bigint(ark_ff::BigInt(masked.into_limbs())).unwrap_or_default()
}

/// The `n` lowest bits set.
fn low_bits(n: usize) -> U256 {
    U256::MAX >> (256 - n)
}

/// A BLS public key on G2, checked: coordinates below p, not infinity, on
/// the twist, in the subgroup of order r.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey(G2Affine);

impl PublicKey {
    /// A checked key from a point the caller already trusts to be one (its
    /// own, or one it checked); returns the point's own error otherwise.
    pub fn from_point(point: G2Affine) -> Result<PublicKey, PointError> {
        wire::check_g2(point).map(PublicKey)
    }

    /// From the contracts' `uint256[4] = [x.c0, x.c1, y.c0, y.c1]`.
    pub fn from_words(words: &[U256; 4]) -> Result<PublicKey, PointError> {
        wire::g2_from_words(words).map(PublicKey)
    }

    /// From a JSON array of four `0x`-hex strings, `[x.c0, x.c1, y.c0, y.c1]`.
    pub fn from_json(json: &str) -> Result<PublicKey, DecodeError> {
        let words = wire::words_from_json(json)?;
        Ok(PublicKey::from_words(&words)?)
    }

    /// The contracts' `uint256[4] = [x.c0, x.c1, y.c0, y.c1]`.
    pub fn to_words(&self) -> [U256; 4] {
        wire::g2_to_words(&self.0)
    }

    /// A JSON array of four `0x`-hex strings, each 32 bytes.
    pub fn to_json(&self) -> String {
        wire::words_to_json(&self.to_words())
    }

    /// The point.
    pub fn point(&self) -> &G2Affine {
        &self.0
    }

    /// Whether `signature` signs `message` under `domain`:
    /// `e(σ, −g2) · e(H(m), pk) = 1`, one Miller loop over both pairs and
    /// one final exponentiation. Prepares the key for the pairing each time;
    /// [`PublicKey::prepare`] once for a key that verifies many signatures.
    pub fn verify(&self, message: &[u8], signature: &Signature, domain: &B256) -> bool {
        self.prepare().verify(message, signature, domain)
    }

    /// [`PublicKey::verify`] for a message point already hashed.
    pub fn verify_point(&self, point: &G1Affine, signature: &Signature) -> bool {
        self.prepare().verify_point(point, signature)
    }

    /// The key with its pairing line coefficients computed, for a key that
    /// verifies many signatures (an operator set's): a tenth of a
    /// verification saved each time.
    pub fn prepare(&self) -> PreparedPublicKey {
        PreparedPublicKey {
            key: *self,
            prepared: self.0.into(),
        }
    }
}

/// A [`PublicKey`] prepared for pairings once.
#[derive(Clone, Debug)]
pub struct PreparedPublicKey {
    key: PublicKey,
    prepared: <Bn254 as Pairing>::G2Prepared,
}

impl PreparedPublicKey {
    /// The key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// [`PublicKey::verify`], without preparing the key again.
    pub fn verify(&self, message: &[u8], signature: &Signature, domain: &B256) -> bool {
        self.verify_point(&hash_to_point(message, domain), signature)
    }

    /// [`PublicKey::verify_point`], without preparing the key again.
    pub fn verify_point(&self, point: &G1Affine, signature: &Signature) -> bool {
        static NEG_G2: LazyLock<<Bn254 as Pairing>::G2Prepared> =
            LazyLock::new(|| (-G2Affine::generator()).into());
        let loop_output = Bn254::multi_miller_loop(
            [signature.0, *point],
            [NEG_G2.clone(), self.prepared.clone()],
        );
        // A zero Miller loop output has no final exponentiation; arkworks'
        // multi_pairing would panic on it.
        Bn254::final_exponentiation(loop_output).is_some_and(|out| out == PairingOutput::ZERO)
    }
}

/// A BLS signature (or any point of G1 that arrives from outside), checked:
/// coordinates below p, not infinity, on the curve (G1's cofactor is 1, so
/// on the curve is in the subgroup).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature(G1Affine);

impl Signature {
    /// From Othentic's JSON string `{"x":"0x…","y":"0x…"}`.
    pub fn from_json(json: &str) -> Result<Signature, DecodeError> {
        let [x, y] = wire::xy_from_json(json)?;
        Ok(Signature::from_words(&x, &y)?)
    }

    /// From the contracts' `uint256[2]`.
    pub fn from_words(x: &U256, y: &U256) -> Result<Signature, PointError> {
        wire::g1_from_words(x, y).map(Signature)
    }

    /// `{"x":"0x…","y":"0x…"}`, each coordinate 32 bytes.
    pub fn to_json(&self) -> String {
        point_to_json(&self.0)
    }

    /// The contracts' `uint256[2]`.
    pub fn to_words(&self) -> [U256; 2] {
        wire::g1_to_words(&self.0)
    }

    /// The point.
    pub fn point(&self) -> &G1Affine {
        &self.0
    }
}

/// A point of G1 as Othentic's JSON `{"x":"0x…","y":"0x…"}`, each coordinate
/// 32 bytes; infinity is `(0, 0)`, as on Ethereum.
pub fn point_to_json(point: &G1Affine) -> String {
    let [x, y] = wire::g1_to_words(point);
    format!(r#"{{"x":"{}","y":"{}"}}"#, B256::from(x), B256::from(y))
}

#[cfg(test)]
mod tests {
    use alloy_primitives::keccak256;

    use super::*;

    #[test]
    fn domains_are_the_keccak_of_their_names() {
        assert_eq!(TASKS_MANAGER_DOMAIN, keccak256("TasksManager"));
        assert_eq!(OTHENTIC_BLS_AUTH_DOMAIN, keccak256("OthenticBLSAuth"));
    }

    #[test]
    fn secret_key_mask_keeps_253_bits_when_254_are_not_below_r() {
        let r = U256::from_limbs(Fr::MODULUS.0);
        // 2^254 - 1 masks to itself in 254 bits, which is ≥ r: 253 bits stay.
        let all_ones = U256::MAX;
        let want = low_bits(253);
        assert_eq!(
            set_array_mask(all_ones),
            Fr::from_bigint(ark_ff::BigInt(want.into_limbs())).unwrap()
        );
        // r itself is not reduced to zero, as `mod r` would do.
        assert_eq!(
            set_array_mask(r),
            Fr::from_bigint(ark_ff::BigInt((r & low_bits(253)).into_limbs())).unwrap()
        );
        // r - 1 is below r: kept.
        assert_eq!(set_array_mask(r - U256::from(1u8)), -Fr::from(1u8));
    }

    #[test]
    fn secret_key_debug_hides_the_scalar() {
        let sk = SecretKey::from_operator_key("0x01").unwrap();
        assert_eq!(format!("{sk:?}"), "SecretKey(..)");
    }

    #[test]
    fn non_ascii_operator_key_is_refused() {
        assert_eq!(
            SecretKey::from_operator_key("0xé1"),
            Err(KeyError::NotAscii)
        );
    }

    #[test]
    fn signs_and_verifies_and_refuses_another_message_or_domain() {
        let sk = SecretKey::from_operator_key("0xabc").unwrap();
        let pk = sk.public_key();
        let sig = sk.sign(&[1; 32], &TASKS_MANAGER_DOMAIN);
        assert!(pk.verify(&[1; 32], &sig, &TASKS_MANAGER_DOMAIN));
        assert!(!pk.verify(&[2; 32], &sig, &TASKS_MANAGER_DOMAIN));
        assert!(!pk.verify(&[1; 32], &sig, &OTHENTIC_BLS_AUTH_DOMAIN));
        let other = SecretKey::from_operator_key("0xABC").unwrap().public_key();
        assert!(!other.verify(&[1; 32], &sig, &TASKS_MANAGER_DOMAIN));
    }
}
