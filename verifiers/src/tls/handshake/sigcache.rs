//! Remembered signature checks inside certificate chains.
//!
//! A server's chain is the same in every handshake it makes, so an attester
//! that judges many proofs of one server would check the same two or three
//! chain signatures every time; they are most of a verification's cost
//! (the CertificateVerify, new in every session, is the one that remains).
//! Each algorithm webpki uses for chains is wrapped so that a signature
//! that verified is remembered by the SHA-256 of everything it covered (the
//! algorithm's identifiers, the public key, the signed message and the
//! signature, each length-prefixed), and the same four inputs are then
//! accepted without the curve arithmetic. A signature check is a pure
//! function of those inputs, so the answer cannot differ; everything else
//! webpki checks (validity times at the attester's clock, names, path
//! building, constraints) runs every time. Only successes are remembered,
//! in a bounded LRU shared by every `tls13-handshake` definition.
//!
//! rustls-webpki has no such cache (it is a stateless library), hence this
//! thin wrapper around its own algorithms.

use std::{
    num::NonZeroUsize,
    sync::{Mutex, OnceLock},
};

use lru::LruCache;
use ring::digest;
use rustls::{
    SignatureScheme,
    crypto::WebPkiSupportedAlgorithms,
    pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm},
};
use webpki::ring as alg;

/// Chain signatures remembered: a few hundred servers' chains.
const CAPACITY: usize = 4096;

fn cache() -> &'static Mutex<LruCache<[u8; 32], ()>> {
    static CACHE: OnceLock<Mutex<LruCache<[u8; 32], ()>>> = OnceLock::new();
    CACHE.get_or_init(|| {
        Mutex::new(LruCache::new(
            NonZeroUsize::new(CAPACITY).expect("non-zero capacity"),
        ))
    })
}

/// Forgets every remembered signature (benchmarks of the first check).
#[doc(hidden)]
pub fn clear() {
    cache().lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// One of webpki's algorithms, remembering its successes.
#[derive(Debug)]
pub(crate) struct Remembered(&'static dyn SignatureVerificationAlgorithm);

fn key(
    algorithm: &dyn SignatureVerificationAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in [
        algorithm.public_key_alg_id().as_ref(),
        algorithm.signature_alg_id().as_ref(),
        public_key,
        message,
        signature,
    ] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl SignatureVerificationAlgorithm for Remembered {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = key(self.0, public_key, message, signature);
        if cache()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .is_some()
        {
            return Ok(());
        }
        self.0.verify_signature(public_key, message, signature)?;
        cache()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key, ());
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.0.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.0.fips()
    }
}

macro_rules! remembered {
    ($($name:ident = $alg:expr;)*) => {
        $(static $name: Remembered = Remembered($alg);)*
        /// The algorithms rustls's ring provider gives webpki for chains,
        /// each remembered.
        static ALL: &[&dyn SignatureVerificationAlgorithm] = &[$(&$name),*];
    };
}

remembered! {
    P256_SHA256 = alg::ECDSA_P256_SHA256;
    P256_SHA384 = alg::ECDSA_P256_SHA384;
    P384_SHA256 = alg::ECDSA_P384_SHA256;
    P384_SHA384 = alg::ECDSA_P384_SHA384;
    ED25519 = alg::ED25519;
    PSS_SHA256 = alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY;
    PSS_SHA384 = alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY;
    PSS_SHA512 = alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY;
    PKCS1_SHA256 = alg::RSA_PKCS1_2048_8192_SHA256;
    PKCS1_SHA384 = alg::RSA_PKCS1_2048_8192_SHA384;
    PKCS1_SHA512 = alg::RSA_PKCS1_2048_8192_SHA512;
    PKCS1_SHA256_ABSENT = alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS;
    PKCS1_SHA384_ABSENT = alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS;
    PKCS1_SHA512_ABSENT = alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS;
}

/// What the chain verifier is given: the remembered algorithms for
/// certificate chains; `mapping` (the TLS signature schemes, which the
/// chain check does not use) as rustls's ring provider has it.
pub(crate) fn algorithms(
    mapping: &'static [(
        SignatureScheme,
        &'static [&'static dyn SignatureVerificationAlgorithm],
    )],
) -> WebPkiSupportedAlgorithms {
    WebPkiSupportedAlgorithms { all: ALL, mapping }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::{
        rand::SystemRandom,
        signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair},
    };

    fn key_pair() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn remembered(key: [u8; 32]) -> bool {
        cache().lock().unwrap().peek(&key).is_some()
    }

    #[test]
    fn a_remembered_signature_vouches_for_nothing_but_its_own_message_and_key() {
        let pair = key_pair();
        let other = key_pair();
        let rng = SystemRandom::new();
        let message = b"tbsCertificate of a test".to_vec();
        let signature = pair.sign(&rng, &message).unwrap();
        let (public, signature) = (pair.public_key().as_ref(), signature.as_ref());

        assert!(
            P256_SHA256
                .verify_signature(public, &message, signature)
                .is_ok()
        );
        assert!(remembered(key(&P256_SHA256, public, &message, signature)));
        // Again: from the cache, same answer.
        assert!(
            P256_SHA256
                .verify_signature(public, &message, signature)
                .is_ok()
        );

        // Any change of message, key, signature or algorithm is checked
        // afresh, and refused.
        let mut edited = message.clone();
        edited[0] ^= 1;
        assert!(
            P256_SHA256
                .verify_signature(public, &edited, signature)
                .is_err()
        );
        assert!(
            P256_SHA256
                .verify_signature(other.public_key().as_ref(), &message, signature)
                .is_err()
        );
        let mut forged = signature.to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(
            P256_SHA256
                .verify_signature(public, &message, &forged)
                .is_err()
        );
        assert!(
            P256_SHA384
                .verify_signature(public, &message, signature)
                .is_err()
        );
        // Failures are not remembered.
        assert!(!remembered(key(&P256_SHA256, public, &edited, signature)));
        assert!(!remembered(key(&P256_SHA384, public, &message, signature)));
    }

    #[test]
    fn the_key_separates_its_parts() {
        // Moving a byte from the message to the signature changes the key.
        let a = key(&P256_SHA256, b"pk", b"message!", b"sig");
        let b = key(&P256_SHA256, b"pk", b"message", b"!sig");
        assert_ne!(a, b);
    }
}
