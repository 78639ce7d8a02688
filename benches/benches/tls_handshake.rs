//! The `tls13-handshake` verifier on the committed example: a TLS 1.3
//! handshake recorded from `openssl s_server` with a chain of two ECDSA
//! P-256 certificates (target: whole check ≤ 250 µs median), both the first
//! time a server's chain is seen (every signature checked) and afterwards
//! (its chain signatures remembered, the CertificateVerify checked), its parts
//! (the CertificateVerify signature alone is in "whole check" minus "chain
//! refused"), a proof refused before any signature (a nonce for another
//! performer), and the worst chain at the defaults: `max_certificates`
//! certificates whose issuers all share one name, so that path building
//! tries every order before giving up.

use std::{hint::black_box, path::Path};

use alloy_primitives::{Address, address};
use criterion::{Criterion, criterion_group, criterion_main};
use taskproof_core::{BuildContext, Task};
use taskproof_verifiers::{
    builtin_registry,
    tls::handshake::{HandshakeProof, HandshakeVerifier, sigcache},
};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/tls/handshake/example"
);
const PROOF: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/tls/handshake/example/proof.json"
));
const PERFORMER: Address = address!("1B146BAE123E9eEd209be03FA0B549EAd00627E3");
const DATA: &[u8] = b"taskproof";

fn verifier() -> HandshakeVerifier {
    let text = format!(
        "format = \"tls13-handshake\"\nserver_name = \"localhost\"\nroots = {:?}\nmax_age_secs = 1000000000",
        format!("{FIXTURES}/root.pem")
    );
    let table: toml::Table = text.parse().unwrap();
    let registry = builtin_registry();
    let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
    HandshakeVerifier::from_context(&ctx).unwrap()
}

/// A Certificate message carrying `chain`.
fn certificate_message(chain: &[Vec<u8>]) -> Vec<u8> {
    let mut list = Vec::new();
    for cert in chain {
        list.extend_from_slice(&u32::try_from(cert.len()).unwrap().to_be_bytes()[1..]);
        list.extend_from_slice(cert);
        list.extend_from_slice(&[0, 0]);
    }
    let mut body = vec![0];
    body.extend_from_slice(&u32::try_from(list.len()).unwrap().to_be_bytes()[1..]);
    body.extend_from_slice(&list);
    let mut message = vec![11];
    message.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
    message.extend_from_slice(&body);
    message
}

/// A leaf and `intermediates` CAs all named alike and all cross-signed by
/// each other's key, none under the trusted root: the most paths a chain of
/// `max_certificates` can offer.
fn tangled_chain(intermediates: usize) -> Vec<Vec<u8>> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let keys: Vec<KeyPair> = (0..intermediates)
        .map(|_| KeyPair::generate().unwrap())
        .collect();
    let ca = || {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "tangled");
        p
    };
    let mut chain = Vec::new();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let issuer = Issuer::new(ca(), &keys[0]);
    chain.push(leaf.signed_by(&leaf_key, &issuer).unwrap().der().to_vec());
    for (i, key) in keys.iter().enumerate() {
        let signer = Issuer::new(ca(), &keys[(i + 1) % keys.len()]);
        chain.push(ca().signed_by(key, &signer).unwrap().der().to_vec());
    }
    chain
}

fn bench(c: &mut Criterion) {
    let v = verifier();
    let example = HandshakeProof::from_json(PROOF).unwrap();
    let now = example.time + 60;
    let task = Task::new(PROOF.trim(), DATA.to_vec(), PERFORMER, 61);
    assert!(v.check_at(&task, now).is_valid());
    c.bench_function(
        "tls13-handshake: whole check, P-256 chain of two, first sight of the chain",
        |b| {
            b.iter(|| {
                sigcache::clear();
                black_box(v.check_at(black_box(&task), now))
            })
        },
    );
    c.bench_function(
        "tls13-handshake: whole check, P-256 chain of two, chain remembered",
        |b| b.iter(|| black_box(v.check_at(black_box(&task), now))),
    );

    let stolen = Task::new(PROOF.trim(), DATA.to_vec(), Address::ZERO, 61);
    assert!(!v.check_at(&stolen, now).is_valid());
    c.bench_function("tls13-handshake: another performer's nonce, refused", |b| {
        b.iter(|| black_box(v.check_at(black_box(&stolen), now)))
    });

    let mut forged = example.clone();
    let last = forged.messages.len() - 1;
    let sig_end = forged.messages[last].len() - 1;
    forged.messages[last][sig_end] ^= 1;
    let forged = Task::new(forged.to_json(), DATA.to_vec(), PERFORMER, 61);
    assert!(!v.check_at(&forged, now).is_valid());
    c.bench_function("tls13-handshake: chain verified, signature refused", |b| {
        b.iter(|| black_box(v.check_at(black_box(&forged), now)))
    });

    let max = taskproof_verifiers::tls::handshake::DEFAULT_MAX_CERTIFICATES;
    let mut tangled = example.clone();
    tangled.messages[3] = certificate_message(&tangled_chain(max - 1));
    let tangled = Task::new(tangled.to_json(), DATA.to_vec(), PERFORMER, 61);
    let verdict = v.check_at(&tangled, now);
    assert!(!verdict.is_valid(), "{verdict:?}");
    c.bench_function(
        "tls13-handshake: worst chain at the defaults (tangled, refused)",
        |b| b.iter(|| black_box(v.check_at(black_box(&tangled), now))),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
