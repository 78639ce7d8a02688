//! Fuzzes the `tls` verifier's `format = "reclaim"` claim check.
//!
//!     cd fuzz && cargo +nightly fuzz run tls_reclaim
//!
//! The input is the proofOfTask. No input may panic or outrun its bounds,
//! and a claim judged valid must be one the fixture attestors signed: its
//! identifier, owner, time and epoch those of a fixture claim (a forgery
//! would need a secp256k1 signature). Seed the corpus with
//! fixtures/tls/reclaim/*.json to start from signed claims.
//! verifiers/tests/tls_reclaim.rs runs the same property over seeded
//! mutations of the fixtures on stable, in CI.

#![no_main]

use std::{path::Path, sync::OnceLock};

use libfuzzer_sys::fuzz_target;
use taskproof_core::{Address, BuildContext, Task};
use taskproof_verifiers::{
    builtin_registry,
    tls::reclaim::{ReclaimError, ReclaimVerifier, VerifiedClaim},
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tls/reclaim");
/// Signed claims: every valid verdict must repeat one of them.
const SIGNED: [&str; 3] = [
    include_str!("../../fixtures/tls/reclaim/valid.json"),
    include_str!("../../fixtures/tls/reclaim/valid-onchain.json"),
    include_str!("../../fixtures/tls/reclaim/valid-two-attestors.json"),
];
/// The fixtures' performer and `timestampS` (2026-01-01T00:00:00Z).
const PERFORMER: Address = Address::new([
    0x9f, 0x63, 0x78, 0x41, 0x86, 0xf3, 0xef, 0x98, 0x70, 0xb9, 0xb0, 0xc7, 0x8b, 0xcd, 0x39, 0xb1,
    0x7f, 0x7e, 0xba, 0x53,
]);
const NOW: u64 = 1_767_225_600 + 60;

/// Loose rules (any owner, any URL), so that fuzzed claims reach the
/// signature checks, and the same rules with `context_message` and a small
/// `max_signatures`.
fn verifiers() -> &'static [ReclaimVerifier; 2] {
    static V: OnceLock<[ReclaimVerifier; 2]> = OnceLock::new();
    V.get_or_init(|| {
        let registry = builtin_registry();
        let build = |extra: &str| {
            let table: toml::Table = format!(
                "format = \"reclaim\"\n\
                 attestors = [\"0xE7fe416892C3CB84598045c5cde74a99241Aa057\", \"0x1D72B2B9f1D15fAE18aC51d835b82460A7bc0885\"]\n\
                 owner = \"any\"\nurl = \"*\"\n{extra}"
            )
            .parse()
            .expect("fuzz params");
            ReclaimVerifier::from_context(&BuildContext::standalone(
                &table,
                Path::new(FIXTURES),
                &registry,
            ))
            .expect("fuzz params build")
        };
        [
            build(""),
            build("context_message = \"keccak256(data)\"\nmax_signatures = 4"),
        ]
    })
}

fn task(proof: String) -> Task {
    Task::new(
        proof,
        b"taskproof reclaim fixture: ETH/USD on 2026-01-01".to_vec(),
        PERFORMER,
        60,
    )
}

/// The claims the fixture attestors signed (checked once).
fn signed() -> &'static Vec<VerifiedClaim> {
    static S: OnceLock<Vec<VerifiedClaim>> = OnceLock::new();
    S.get_or_init(|| {
        SIGNED
            .iter()
            .map(|proof| {
                verifiers()[0]
                    .check_claim_at(&task((*proof).to_owned()), NOW)
                    .expect("a signed fixture")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let proof = String::from_utf8_lossy(data).into_owned();
    let task = task(proof);
    for v in verifiers() {
        match v.check_claim_at(&task, NOW) {
            Ok(claim) => assert!(
                signed().iter().any(|s| s.identifier == claim.identifier
                    && s.owner == claim.owner
                    && s.timestamp_s == claim.timestamp_s
                    && s.epoch == claim.epoch
                    && claim.attestors.iter().all(|a| s.attestors.contains(a))),
                "judged valid: a claim no fixture attestor signed"
            ),
            Err(e) => {
                // No deadline is installed: nothing may report one expired.
                assert!(!matches!(e, ReclaimError::Expired(_)));
                // The reason is bounded whatever the input.
                assert!(
                    e.to_string().len() <= 2048,
                    "a reason of {} bytes",
                    e.to_string().len()
                );
            }
        }
    }
});
