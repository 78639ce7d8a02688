//! The bodies of the `tls_reclaim` and `tls_handshake` fuzz targets (fuzz/),
//! run on stable over seeded, structure-aware mutations of signed fixtures:
//! no input panics, every refusal is short, and a proof is judged valid only
//! when it carries what was really signed.
//!
//! "Really signed" is decided by construction, never by the verifier under
//! test. For `reclaim`, a valid verdict must name the identifier, owner,
//! time and epoch of a fixture claim that Reclaim's own SDK verified (a
//! forgery would need a secp256k1 signature). For `tls13-handshake`, a valid
//! verdict must carry exactly the committed example's messages and server
//! name: the only handshake its root's server ever signed for this task.
//!
//! CI runs a fixed, seeded number of cases. For a longer run:
//!
//!     TLS_FUZZ_SECS=600 cargo test --release -p taskproof-verifiers --test tls_fuzz -- --nocapture
//!
//! (`TLS_FUZZ_SEED` picks another seed, `TLS_FUZZ_CASES` another count; with
//! `TLS_FUZZ_SECS` each target runs that long.)

#![cfg(feature = "tls")]

use std::{
    path::Path,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::Value;
use taskproof_core::{Address, BuildContext, Registry, Task, Verdict};
use taskproof_verifiers::{
    register_builtins,
    tls::{
        handshake::{HandshakeProof, HandshakeVerifier},
        reclaim::{ReclaimError, ReclaimVerifier},
    },
};

const RECLAIM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tls/reclaim");
const HANDSHAKE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/tls/handshake/example"
);

/// Cases per target by default: a few seconds each in the test profile.
const DEFAULT_CASES: u64 = 3000;

/// How long a target runs: a count of cases, or a time.
struct Budget {
    cases: u64,
    until: Option<Instant>,
    seed: u64,
}

impl Budget {
    fn from_env(default_seed: u64) -> Self {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        let until = var("TLS_FUZZ_SECS").map(|s| Instant::now() + Duration::from_secs(s));
        Budget {
            cases: var("TLS_FUZZ_CASES").unwrap_or(if until.is_some() {
                u64::MAX
            } else {
                DEFAULT_CASES
            }),
            until,
            seed: var("TLS_FUZZ_SEED").unwrap_or(default_seed),
        }
    }

    fn go_on(&self, done: u64) -> bool {
        done < self.cases && self.until.is_none_or(|t| Instant::now() < t)
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    register_builtins(&mut registry).unwrap();
    registry
}

/// Byte-level mutations: what a fuzzer does without knowing the format.
fn mutate_bytes(rng: &mut StdRng, bytes: &mut Vec<u8>, alphabet: &[u8], donors: &[Vec<u8>]) {
    for _ in 0..rng.gen_range(1..=4) {
        let len = bytes.len();
        let at = if len == 0 { 0 } else { rng.gen_range(0..len) };
        match rng.gen_range(0..8) {
            0 if len > 0 => bytes[at] = alphabet[rng.gen_range(0..alphabet.len())],
            1 if len > 0 => bytes[at] ^= 1 << rng.gen_range(0..8),
            2 if len > 0 => {
                bytes.remove(at);
            }
            3 => bytes.insert(at, alphabet[rng.gen_range(0..alphabet.len())]),
            4 if len > 0 => bytes.truncate(at),
            5 if len > 0 => {
                // Duplicate a range in place.
                let end = rng.gen_range(at..=len.min(at + 64));
                let copy = bytes[at..end].to_vec();
                let to = rng.gen_range(0..=len);
                bytes.splice(to..to, copy);
            }
            6 if !donors.is_empty() => {
                // Splice in a piece of another input.
                let donor = &donors[rng.gen_range(0..donors.len())];
                if !donor.is_empty() {
                    let from = rng.gen_range(0..donor.len());
                    let end = rng.gen_range(from..=donor.len().min(from + 128));
                    let to = rng.gen_range(0..=len);
                    bytes.splice(to..to, donor[from..end].iter().copied());
                }
            }
            _ => {
                if len > 0 {
                    bytes[at] = rng.r#gen();
                }
            }
        }
    }
}

// ---- reclaim ---------------------------------------------------------------

/// The fixture performer and `timestampS` (2026-01-01T00:00:00Z), as in
/// tests/tls_reclaim.rs.
const PERFORMER: Address = alloy_primitives::address!("9f63784186F3EF9870b9B0C78bcd39b17F7Eba53");
const T: u64 = 1_767_225_600;
const DATA: &[u8] = b"taskproof reclaim fixture: ETH/USD on 2026-01-01";

/// Values a structure-aware mutation puts in place of a JSON value.
fn odd_value(rng: &mut StdRng) -> Value {
    let strings = [
        "",
        "0x",
        "0x00",
        "0xE7fe416892C3CB84598045c5cde74a99241Aa057",
        "0x1D72B2B9f1D15fAE18aC51d835b82460A7bc0885",
        "0x9f63784186F3EF9870b9B0C78bcd39b17F7Eba53",
        "1767225600",
        "-1",
        "1e400",
        "18446744073709551616",
        "http",
        "{}",
        "{\"contextMessage\":\"0x\"}",
        "https://api.coingecko.com/api/v3/simple/price?ids=ethereum",
        "\u{0}",
        "\u{feff}",
        "é",
    ];
    match rng.gen_range(0..9) {
        0 => Value::Null,
        1 => Value::Bool(rng.r#gen()),
        2 => Value::from(rng.r#gen::<i64>()),
        3 => Value::from(rng.r#gen::<u64>()),
        4 => Value::from(rng.r#gen::<f64>() * 1e300),
        5 => Value::from("A".repeat(rng.gen_range(0..5000))),
        6 => Value::Array(vec![Value::Null; rng.gen_range(0..4)]),
        7 => Value::Object(Default::default()),
        _ => Value::from(strings[rng.gen_range(0..strings.len())]),
    }
}

/// A random path into `doc`'s tree: the visited values, root first.
fn pick<'a>(rng: &mut StdRng, doc: &'a mut Value) -> &'a mut Value {
    let mut at = doc;
    loop {
        let stop = rng.gen_bool(0.3);
        let next_index = match &*at {
            Value::Object(map) if !map.is_empty() && !stop => Some(rng.gen_range(0..map.len())),
            Value::Array(items) if !items.is_empty() && !stop => {
                Some(rng.gen_range(0..items.len()))
            }
            _ => None,
        };
        let Some(i) = next_index else {
            return at;
        };
        at = match at {
            Value::Object(map) => map.values_mut().nth(i).unwrap(),
            Value::Array(items) => &mut items[i],
            _ => unreachable!(),
        };
    }
}

/// Structure-aware mutations of a Reclaim proof document.
fn mutate_reclaim(rng: &mut StdRng, doc: &mut Value, donors: &[Value]) {
    for _ in 0..rng.gen_range(1..=3) {
        match rng.gen_range(0..6) {
            0 => *pick(rng, doc) = odd_value(rng),
            1 => {
                // Remove a member.
                if let Value::Object(map) = pick(rng, doc)
                    && let Some(key) = map.keys().nth(rng.gen_range(0..map.len().max(1))).cloned()
                {
                    map.remove(&key);
                }
            }
            2 => {
                // Add a member: unknown, or a known name in the wrong place.
                let names = [
                    "identifier",
                    "owner",
                    "context",
                    "signatures",
                    "epoch",
                    "timestampS",
                    "extractedParameters",
                    "contextMessage",
                    "publicData",
                    "x",
                ];
                let name = names[rng.gen_range(0..names.len())];
                let value = odd_value(rng);
                if let Value::Object(map) = pick(rng, doc) {
                    map.insert(name.to_owned(), value);
                }
            }
            3 => {
                // A value from another signed proof in place of this one's.
                let mut donor = donors[rng.gen_range(0..donors.len())].clone();
                let value = pick(rng, &mut donor).clone();
                *pick(rng, doc) = value;
            }
            4 => {
                // Edit one character of a string: what an attacker does to a
                // signed claim.
                if let Value::String(s) = pick(rng, doc) {
                    let mut chars: Vec<char> = s.chars().collect();
                    if !chars.is_empty() {
                        let at = rng.gen_range(0..chars.len());
                        chars[at] =
                            char::from(*b"0123456789abcdefABCDEF\"{}:,x ".choose(rng).unwrap());
                    }
                    *s = chars.into_iter().collect();
                }
            }
            _ => {
                // Shuffle an array (signatures, witnesses).
                if let Value::Array(items) = pick(rng, doc) {
                    items.shuffle(rng);
                    if rng.gen_bool(0.5) && !items.is_empty() {
                        let again = items[0].clone();
                        items.push(again);
                    }
                }
            }
        }
    }
}

fn reclaim_verifiers(registry: &Registry) -> [ReclaimVerifier; 2] {
    let build = |extra: &str| {
        let table: toml::Table = format!(
            "format = \"reclaim\"\n\
             attestors = [\"0xE7fe416892C3CB84598045c5cde74a99241Aa057\", \"0x1D72B2B9f1D15fAE18aC51d835b82460A7bc0885\"]\n\
             owner = \"any\"\nurl = \"*\"\n{extra}"
        )
        .parse()
        .unwrap();
        ReclaimVerifier::from_context(&BuildContext::standalone(
            &table,
            Path::new(RECLAIM),
            registry,
        ))
        .unwrap()
    };
    // Loose rules so that mutated claims reach the signature checks, and
    // the same with the binding to the data and few signatures.
    [
        build(""),
        build("context_message = \"keccak256(data)\"\nmax_signatures = 4"),
    ]
}

fn reclaim_task(proof: String) -> Task {
    Task::new(proof, DATA.to_vec(), PERFORMER, 60)
}

/// What a signature covers: identifier, owner, time and epoch.
type Signed = (String, String, u64, u64);

/// The claims Reclaim's SDK verified (`"sdk": true` in the fixtures'
/// manifest) and the on-chain form of the first, read from their JSON:
/// signed by the fixture attestors, by an independent judge.
fn sdk_signed() -> Vec<Signed> {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{RECLAIM}/manifest.json")).unwrap())
            .unwrap();
    let mut signed = Vec::new();
    for case in manifest["cases"].as_array().unwrap() {
        let file = case["file"].as_str().unwrap();
        if case["sdk"] != Value::Bool(true) && file != "valid-onchain.json" {
            continue;
        }
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{RECLAIM}/{file}")).unwrap())
                .unwrap();
        let claim = if doc["claimData"].is_object() {
            &doc["claimData"]
        } else {
            &doc["signedClaim"]["claim"]
        };
        let number = |v: &Value| v.as_u64().or_else(|| v.as_str()?.parse().ok()).unwrap();
        signed.push((
            claim["identifier"].as_str().unwrap().to_lowercase(),
            claim["owner"].as_str().unwrap().to_lowercase(),
            number(&claim["timestampS"]),
            number(&claim["epoch"]),
        ));
    }
    assert!(signed.len() >= 20, "{} SDK-verified claims", signed.len());
    signed
}

/// The property of the `tls_reclaim` fuzz target.
fn judge_reclaim(verifiers: &[ReclaimVerifier], signed: &[Signed], text: &str) -> bool {
    let now = T + 60;
    let task = reclaim_task(text.to_owned());
    let mut valid = false;
    for v in verifiers {
        match v.check_claim_at(&task, now) {
            Ok(claim) => {
                let seen: Signed = (
                    claim.identifier.to_string().to_lowercase(),
                    claim.owner.to_string().to_lowercase(),
                    claim.timestamp_s,
                    claim.epoch,
                );
                assert!(
                    signed.contains(&seen),
                    "judged valid: a claim no fixture attestor signed: {seen:?} {text}"
                );
                valid = true;
            }
            Err(e) => {
                // No deadline is installed: nothing may report one expired.
                assert!(!matches!(e, ReclaimError::Expired(_)), "{e}");
                let why = e.to_string();
                assert!(why.len() <= 2048, "a reason of {} bytes", why.len());
            }
        }
    }
    valid
}

#[test]
fn reclaim_mutations_never_panic_and_are_valid_only_as_signed() {
    let registry = registry();
    let verifiers = reclaim_verifiers(&registry);
    let signed = sdk_signed();
    // Seeds: every fixture proof, the attacks and Reclaim's production
    // proofs included, for the shapes they bring.
    let mut seeds: Vec<String> = Vec::new();
    for dir in [RECLAIM.to_owned(), format!("{RECLAIM}/real")] {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                !name.starts_with("package")
                    && name != "manifest.json"
                    && name != "jcs-vectors.json"
            })
            .collect();
        names.sort();
        seeds.extend(names.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    }
    assert!(seeds.len() > 30, "{} seeds", seeds.len());
    let docs: Vec<Value> = seeds
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let byte_donors: Vec<Vec<u8>> = seeds.iter().map(|s| s.clone().into_bytes()).collect();

    // The seeds themselves: the signed ones are valid, by construction.
    let valid_seeds = seeds
        .iter()
        .filter(|s| judge_reclaim(&verifiers, &signed, s))
        .count();
    assert!(valid_seeds >= 10, "{valid_seeds}");

    let budget = Budget::from_env(0x7e71_2bad);
    let mut rng = StdRng::seed_from_u64(budget.seed);
    let alphabet = b"0123456789abcdefx\"{}[],:\\ \n-.eE";
    let (mut done, mut valid) = (0u64, 0u64);
    let started = Instant::now();
    while budget.go_on(done) {
        let i = rng.gen_range(0..seeds.len());
        let text = if rng.gen_bool(0.5) {
            let mut doc = docs[i].clone();
            mutate_reclaim(&mut rng, &mut doc, &docs);
            if rng.gen_bool(0.5) {
                doc.to_string()
            } else {
                serde_json::to_string_pretty(&doc).unwrap()
            }
        } else {
            let mut bytes = seeds[i].clone().into_bytes();
            mutate_bytes(&mut rng, &mut bytes, alphabet, &byte_donors);
            String::from_utf8_lossy(&bytes).into_owned()
        };
        valid += u64::from(judge_reclaim(&verifiers, &signed, &text));
        done += 1;
    }
    println!(
        "reclaim: {done} cases in {:.1?}, {valid} judged valid (seed {:#x})",
        started.elapsed(),
        budget.seed
    );
}

// ---- tls13-handshake -------------------------------------------------------

/// The performer and data the committed example was recorded for
/// (fixtures/tls/handshake/record-example.sh).
const HS_PERFORMER: Address =
    alloy_primitives::address!("1B146BAE123E9eEd209be03FA0B549EAd00627E3");
const HS_DATA: &[u8] = b"taskproof";

/// The example's messages with a valid type and length header after an
/// edit, so that the edit reaches the checks behind the framing.
fn reframe(message: &mut [u8]) {
    if message.len() >= 4 {
        let body = u32::try_from(message.len() - 4)
            .unwrap_or(u32::MAX)
            .to_be_bytes();
        message[1..4].copy_from_slice(&body[1..]);
    }
}

/// Message-level mutations of a handshake proof.
fn mutate_handshake(rng: &mut StdRng, proof: &mut HandshakeProof, example: &HandshakeProof) {
    for _ in 0..rng.gen_range(1..=3) {
        let n = proof.messages.len();
        match rng.gen_range(0..10) {
            0..=3 if n > 0 => {
                // Flip bits or set bytes inside one message, keeping its
                // framing most of the time.
                let i = rng.gen_range(0..n);
                let m = &mut proof.messages[i];
                if m.is_empty() {
                    continue;
                }
                for _ in 0..rng.gen_range(1..=3) {
                    let at = rng.gen_range(0..m.len());
                    if rng.gen_bool(0.5) {
                        m[at] ^= 1 << rng.gen_range(0..8);
                    } else {
                        m[at] = rng.r#gen();
                    }
                }
                if rng.gen_bool(0.8) {
                    reframe(m);
                }
            }
            4 if n > 0 => {
                // Cut or grow one message.
                let i = rng.gen_range(0..n);
                let m = &mut proof.messages[i];
                if rng.gen_bool(0.5) {
                    m.truncate(rng.gen_range(0..=m.len()));
                } else {
                    let extra = rng.gen_range(1..64);
                    m.extend((0..extra).map(|_| rng.r#gen::<u8>()));
                }
                if rng.gen_bool(0.7) {
                    reframe(m);
                }
            }
            5 if n > 1 => {
                let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
                proof.messages.swap(a, b);
            }
            6 if n > 0 => {
                let i = rng.gen_range(0..n);
                if rng.gen_bool(0.5) {
                    proof.messages.remove(i);
                } else {
                    let copy = proof.messages[i].clone();
                    proof.messages.insert(rng.gen_range(0..=n), copy);
                }
            }
            7 => {
                // A message of the example put in another place, or a random
                // message of a handshake type.
                let m = if rng.gen_bool(0.5) {
                    example.messages[rng.gen_range(0..example.messages.len())].clone()
                } else {
                    let len = rng.gen_range(4..200);
                    let mut m: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
                    m[0] = [1, 2, 4, 8, 11, 13, 15, 20, 24][rng.gen_range(0..9)];
                    reframe(&mut m);
                    m
                };
                let at = rng.gen_range(0..=n);
                proof.messages.insert(at, m);
            }
            8 => {
                let names = [
                    "localhost",
                    "LOCALHOST",
                    "localhost.",
                    "other",
                    "",
                    "*",
                    "a.localhost",
                ];
                proof.server_name = names[rng.gen_range(0..names.len())].to_owned();
            }
            _ => {
                proof.time = match rng.gen_range(0..3) {
                    0 => rng.r#gen(),
                    1 => example.time.wrapping_add(rng.gen_range(0..10)),
                    _ => example.time.wrapping_sub(rng.gen_range(0..10)),
                };
            }
        }
    }
}

#[test]
fn handshake_mutations_never_panic_and_are_valid_only_as_recorded() {
    let registry = registry();
    let table: toml::Table = format!(
        "format = \"tls13-handshake\"\nserver_name = \"localhost\"\nroots = \"{HANDSHAKE}/root.pem\"\nmax_age_secs = 1000000000"
    )
    .parse()
    .unwrap();
    let verifier = HandshakeVerifier::from_context(&BuildContext::standalone(
        &table,
        Path::new("."),
        &registry,
    ))
    .unwrap();
    let text = std::fs::read_to_string(format!("{HANDSHAKE}/proof.json")).unwrap();
    let example = HandshakeProof::from_json(&text).unwrap();
    let now = example.time + 60;
    let judge = |text: String| -> bool {
        let task = Task::new(text, HS_DATA.to_vec(), HS_PERFORMER, 61);
        let verdict = verifier.check_at(&task, now);
        match &verdict {
            Verdict::Valid => {
                let proof = HandshakeProof::from_json(&task.proof_of_task).unwrap();
                assert_eq!(proof.messages, example.messages, "a new valid handshake");
                assert_eq!(proof.server_name, example.server_name);
                true
            }
            Verdict::Invalid { reason } => {
                assert!(reason.len() <= 1024);
                false
            }
            other => panic!("no deadline and no network, yet {other:?}"),
        }
    };
    // The example itself is valid, so the cases below start from a pass.
    assert!(judge(text.clone()), "the example no longer verifies");

    let budget = Budget::from_env(0x5eed_7113);
    let mut rng = StdRng::seed_from_u64(budget.seed);
    let donors = vec![text.clone().into_bytes()];
    let alphabet = b"ABCDEFabcdef0123456789+/=\"{}[],: ";
    let (mut done, mut valid) = (0u64, 0u64);
    let started = Instant::now();
    while budget.go_on(done) {
        let text = if rng.gen_bool(0.8) {
            let mut proof = example.clone();
            mutate_handshake(&mut rng, &mut proof, &example);
            proof.to_json()
        } else {
            let mut bytes = text.clone().into_bytes();
            mutate_bytes(&mut rng, &mut bytes, alphabet, &donors);
            String::from_utf8_lossy(&bytes).into_owned()
        };
        valid += u64::from(judge(text));
        done += 1;
    }
    println!(
        "tls13-handshake: {done} cases in {:.1?}, {valid} judged valid (seed {:#x})",
        started.elapsed(),
        budget.seed
    );
}
