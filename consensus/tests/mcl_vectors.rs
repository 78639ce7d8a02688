//! Every vector mcl-wasm made (`fixtures/bls/gen.mjs`, configured as
//! Othentic's examples configure it): our keys, points and signatures must be
//! byte-identical.

use alloy_primitives::{B256, U256};
use ark_bn254::G2Affine;
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use serde::Deserialize;
use taskproof_consensus::bls::{self, PublicKey, SecretKey, Signature};

#[derive(Deserialize)]
struct Vectors {
    g2: [U256; 4],
    domains: std::collections::BTreeMap<String, B256>,
    cases: Vec<Case>,
    map: Vec<MapCase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    key: String,
    reduction: String,
    message: alloy_primitives::Bytes,
    domain: String,
    secret_key: B256,
    public_key: [U256; 4],
    field_elements: [U256; 2],
    hash_to_point: Point,
    signature: Point,
}

#[derive(Deserialize)]
struct MapCase {
    t: U256,
    point: Option<Point>,
}

#[derive(Deserialize)]
struct Point {
    x: U256,
    y: U256,
}

fn vectors() -> Vectors {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/bls/vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn json(p: &Point) -> String {
    format!(r#"{{"x":"{}","y":"{}"}}"#, B256::from(p.x), B256::from(p.y))
}

#[test]
fn enough_vectors_on_each_side_of_the_key_mask() {
    let v = vectors();
    assert!(v.cases.len() >= 50, "{} cases", v.cases.len());
    for reduction in ["below-r", "masked-to-254-bits", "masked-to-253-bits"] {
        let n = v.cases.iter().filter(|c| c.reduction == reduction).count();
        assert!(n >= 5, "{n} keys {reduction}");
    }
    assert!(
        v.cases
            .iter()
            .any(|c| c.key.bytes().any(|b| b.is_ascii_uppercase()))
    );
    assert!(v.cases.iter().any(|c| !c.key.starts_with("0x")));
    assert!(v.cases.iter().any(|c| c.key.starts_with("0x00")));
}

#[test]
fn the_generator_is_ethereums_g2_generator() {
    let g2 = PublicKey::from_point(G2Affine::generator()).unwrap();
    assert_eq!(g2.to_words(), vectors().g2);
}

#[test]
fn secret_keys_match_mcl_set_hash_of() {
    for c in vectors().cases {
        let sk = SecretKey::from_operator_key(&c.key).unwrap();
        assert_eq!(
            B256::from(sk.to_be_bytes()),
            c.secret_key,
            "key {:?}",
            c.key
        );
    }
}

#[test]
fn public_keys_match_mcl() {
    for c in vectors().cases {
        let pk = SecretKey::from_operator_key(&c.key).unwrap().public_key();
        assert_eq!(pk.to_words(), c.public_key, "key {:?}", c.key);
        assert_eq!(PublicKey::from_words(&c.public_key).unwrap(), pk);
    }
}

#[test]
fn hash_to_point_matches_mcl() {
    let v = vectors();
    for c in &v.cases {
        let domain = v.domains[&c.domain];
        let [u0, u1] = bls::hash_to_field(&c.message, &domain);
        let words = [u0, u1].map(|u| U256::from_limbs(u.into_bigint().0));
        assert_eq!(words, c.field_elements, "message {}", c.message);
        let point = bls::hash_to_point(&c.message, &domain);
        assert_eq!(
            bls::point_to_json(&point),
            json(&c.hash_to_point),
            "message {} domain {}",
            c.message,
            c.domain
        );
    }
}

#[test]
fn signatures_match_mcl_byte_for_byte_and_verify() {
    let v = vectors();
    for c in &v.cases {
        let domain = v.domains[&c.domain];
        let sk = SecretKey::from_operator_key(&c.key).unwrap();
        let signature = sk.sign(&c.message, &domain);
        assert_eq!(signature.to_json(), json(&c.signature), "key {:?}", c.key);
        let theirs = Signature::from_json(&json(&c.signature)).unwrap();
        let pk = PublicKey::from_words(&c.public_key).unwrap();
        assert!(pk.verify(&c.message, &theirs, &domain), "key {:?}", c.key);
    }
}

#[test]
fn the_map_matches_mcl_on_every_branch_and_boundary() {
    for m in vectors().map {
        let t = ark_bn254::Fq::from_bigint(ark_ff::BigInt(m.t.into_limbs())).unwrap();
        let ours = bls::map_to_g1(t);
        let theirs = m.point.as_ref().map(json);
        assert_eq!(Some(bls::point_to_json(&ours)), theirs, "t = {}", m.t);
    }
}
