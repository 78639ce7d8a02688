//! Points an attacker chooses: each is refused before any pairing, for its
//! own reason.

use alloy_primitives::{B256, U256};
use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::{AffineRepr, pairing::Pairing};
use ark_ff::{AdditiveGroup, Field, PrimeField};
use taskproof_consensus::bls::{
    self, DecodeError, PointError, PublicKey, SecretKey, Signature, TASKS_MANAGER_DOMAIN,
};

const P: U256 = U256::from_limbs(<Fq as PrimeField>::MODULUS.0);
const MESSAGE: [u8; 32] = [0x42; 32];

fn key() -> SecretKey {
    SecretKey::from_operator_key(
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    )
    .unwrap()
}

fn xy_json(x: U256, y: U256) -> String {
    format!(r#"{{"x":"{}","y":"{}"}}"#, B256::from(x), B256::from(y))
}

fn words_json(words: [U256; 4]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("\"{}\"", B256::from(*w)))
        .collect();
    format!("[{}]", quoted.join(","))
}

fn refused(result: Result<impl std::fmt::Debug, DecodeError>) -> PointError {
    match result {
        Err(DecodeError::Point(e)) => e,
        other => panic!("expected a refused point, got {other:?}"),
    }
}

#[test]
fn rejects_signature_coordinate_aliased_by_p() {
    let [x, y] = key().sign(&MESSAGE, &TASKS_MANAGER_DOMAIN).to_words();
    // x + p is the same field element as x: reduced silently, it verifies.
    let e = refused(Signature::from_json(&xy_json(x + P, y)));
    assert_eq!(e, PointError::CoordinateNotInField { coordinate: "x" });
    assert_eq!(e.to_string(), "x is not below the field modulus p");
    let e = refused(Signature::from_json(&xy_json(x, y + P)));
    assert_eq!(e, PointError::CoordinateNotInField { coordinate: "y" });
}

#[test]
fn rejects_public_key_coordinate_aliased_by_p() {
    let words = key().public_key().to_words();
    for (i, name) in ["x.c0", "x.c1", "y.c0", "y.c1"].into_iter().enumerate() {
        let mut aliased = words;
        aliased[i] += P;
        let e = refused(PublicKey::from_json(&words_json(aliased)));
        assert_eq!(e, PointError::CoordinateNotInField { coordinate: name });
        assert_eq!(
            e.to_string(),
            format!("{name} is not below the field modulus p")
        );
    }
}

#[test]
fn infinity_key_and_signature_would_verify_any_message_so_both_are_refused() {
    // The attack: e(∞, −g2) · e(H(m), ∞) = 1 for every m.
    let h = bls::hash_to_point(&MESSAGE, &TASKS_MANAGER_DOMAIN);
    let trivial = Bn254::multi_pairing(
        [G1Affine::zero(), h],
        [-G2Affine::generator(), G2Affine::zero()],
    );
    assert!(trivial.is_zero_like());

    let e = refused(Signature::from_json(&xy_json(U256::ZERO, U256::ZERO)));
    assert_eq!(e, PointError::Infinity);
    assert_eq!(e.to_string(), "the point is the point at infinity");
    let e = refused(PublicKey::from_json(&words_json([U256::ZERO; 4])));
    assert_eq!(e, PointError::Infinity);
    assert_eq!(
        PublicKey::from_point(G2Affine::zero()),
        Err(PointError::Infinity)
    );
}

trait ZeroLike {
    fn is_zero_like(&self) -> bool;
}
impl ZeroLike for ark_ec::pairing::PairingOutput<Bn254> {
    fn is_zero_like(&self) -> bool {
        *self == Self::ZERO
    }
}

#[test]
fn rejects_signature_off_the_curve() {
    let [x, y] = key().sign(&MESSAGE, &TASKS_MANAGER_DOMAIN).to_words();
    let e = refused(Signature::from_json(&xy_json(x, y ^ U256::from(1u8))));
    assert_eq!(e, PointError::NotOnCurve);
    assert_eq!(e.to_string(), "the point is not on the curve");
    // (0, y): one coordinate zero is not infinity.
    let e = refused(Signature::from_json(&xy_json(U256::ZERO, U256::from(2u8))));
    assert_eq!(e, PointError::NotOnCurve);
}

#[test]
fn rejects_public_key_off_the_twist() {
    let mut words = key().public_key().to_words();
    words[3] ^= U256::from(1u8);
    let e = refused(PublicKey::from_json(&words_json(words)));
    assert_eq!(e, PointError::NotOnCurve);
}

/// A point on BN254's twist outside the subgroup of order r: the twist's
/// cofactor is about r, so almost every point found from an x is one.
fn twist_point_outside_the_subgroup() -> G2Affine {
    let mut c0 = Fq::ONE;
    loop {
        if let Some(p) = G2Affine::get_point_from_x_unchecked(Fq2::new(c0, Fq::ONE), false)
            && p.is_on_curve()
            && !p.is_in_correct_subgroup_assuming_on_curve()
        {
            return p;
        }
        c0 += Fq::ONE;
    }
}

#[test]
fn rejects_public_key_outside_the_subgroup() {
    let rogue = twist_point_outside_the_subgroup();
    let (x, y) = rogue.xy().unwrap();
    let words = [x.c0, x.c1, y.c0, y.c1].map(|f| U256::from_limbs(f.into_bigint().0));
    let e = refused(PublicKey::from_json(&words_json(words)));
    assert_eq!(e, PointError::NotInSubgroup);
    assert_eq!(e.to_string(), "the point is not in the subgroup of order r");
    assert_eq!(PublicKey::from_point(rogue), Err(PointError::NotInSubgroup));
}

#[test]
fn signature_of_another_message_key_or_domain_does_not_verify() {
    let sk = key();
    let pk = sk.public_key();
    let sig = sk.sign(&MESSAGE, &TASKS_MANAGER_DOMAIN);
    assert!(pk.verify(&MESSAGE, &sig, &TASKS_MANAGER_DOMAIN));
    assert!(!pk.verify(&[0x43; 32], &sig, &TASKS_MANAGER_DOMAIN));
    assert!(!pk.verify(&MESSAGE, &sig, &bls::OTHENTIC_BLS_AUTH_DOMAIN));
    let other = SecretKey::from_operator_key("0x01").unwrap().public_key();
    assert!(!other.verify(&MESSAGE, &sig, &TASKS_MANAGER_DOMAIN));
    // The negated signature is a valid point and the wrong answer.
    let [x, y] = sig.to_words();
    let neg = Signature::from_json(&xy_json(x, P - y)).unwrap();
    assert!(!pk.verify(&MESSAGE, &neg, &TASKS_MANAGER_DOMAIN));
}

#[test]
fn unparseable_points_are_not_refused_points() {
    let long = format!(r#"{{"x":"0x1","y":"0x2","pad":"{}"}}"#, " ".repeat(2000));
    for bad in [
        "",
        "not json",
        "{}",
        r#"{"x":"0x1"}"#,
        r#"{"x":1,"y":2}"#,
        r#"{"x":"0x1","y":"0x2","z":"0x1"}"#,
        r#"["0x1","0x2"]"#,
        long.as_str(),
    ] {
        let e = Signature::from_json(bad).unwrap_err();
        assert!(e.is_unparseable(), "{bad:?}: {e}");
    }
    let e = Signature::from_json(r#"{"x":"12","y":"0x2"}"#).unwrap_err();
    assert_eq!(e, DecodeError::NotHex { field: "x" });
    let e = PublicKey::from_json(r#"["0x1","0x2","0x3"]"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected 4 words [x.c0, x.c1, y.c0, y.c1], got 3"
    );
    let e = PublicKey::from_json(&format!(r#"["0x1","0x2","0x3","0x{}"]"#, "1".repeat(65)))
        .unwrap_err();
    assert_eq!(e, DecodeError::NotHex { field: "y.c1" });
}

#[test]
fn hostile_words_never_panic() {
    // Boundary words in every position: each is refused or accepted, never a panic.
    let edges = [
        U256::ZERO,
        U256::from(1u8),
        P - U256::from(1u8),
        P,
        P + U256::from(1u8),
        U256::MAX,
    ];
    for &a in &edges {
        for &b in &edges {
            let _ = Signature::from_words(&a, &b);
            for &c in &edges {
                let _ = PublicKey::from_words(&[a, b, c, a]);
            }
        }
    }
}
