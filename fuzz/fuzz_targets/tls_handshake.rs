//! Fuzzes the `tls13-handshake` proof parser and checks.
//!
//!     cd fuzz && cargo +nightly fuzz run tls_handshake
//!
//! The input is used twice: as the proofOfTask text, and cut into up to
//! seven handshake messages (a length byte before each) put into a proof of
//! the committed example's shape. No input may panic, and an input judged
//! valid must carry exactly the committed example's messages, the only
//! handshake its roots' server ever signed for this task.

#![no_main]

use std::{path::Path, sync::OnceLock};

use libfuzzer_sys::fuzz_target;
use taskproof_core::{Address, BuildContext, Task, Verdict};
use taskproof_verifiers::{
    builtin_registry,
    tls::handshake::{HandshakeProof, HandshakeVerifier},
};

const EXAMPLE: &str = include_str!("../../fixtures/tls/handshake/example/proof.json");
const ROOTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/tls/handshake/example/root.pem"
);
const PERFORMER: Address = Address::new([
    0x1B, 0x14, 0x6B, 0xAE, 0x12, 0x3E, 0x9e, 0xEd, 0x20, 0x9b, 0xe0, 0x3F, 0xA0, 0xB5, 0x49, 0xEA,
    0xd0, 0x06, 0x27, 0xE3,
]);
const DATA: &[u8] = b"taskproof";

fn verifier() -> &'static (HandshakeVerifier, HandshakeProof) {
    static V: OnceLock<(HandshakeVerifier, HandshakeProof)> = OnceLock::new();
    V.get_or_init(|| {
        let text = format!(
            "format = \"tls13-handshake\"\nserver_name = \"localhost\"\nroots = {ROOTS:?}\nmax_age_secs = 1000000000"
        );
        let table: toml::Table = text.parse().unwrap();
        let registry = builtin_registry();
        let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
        let v = HandshakeVerifier::from_context(&ctx).unwrap();
        (v, HandshakeProof::from_json(EXAMPLE).unwrap())
    })
}

fn judge(proof_of_task: String, now: u64) {
    let (v, example) = verifier();
    let task = Task::new(proof_of_task, DATA.to_vec(), PERFORMER, 61);
    let verdict = v.check_at(&task, now);
    if verdict == Verdict::Valid {
        let proof = HandshakeProof::from_json(&task.proof_of_task).unwrap();
        assert_eq!(proof.messages, example.messages, "a new valid handshake");
        assert_eq!(proof.server_name, example.server_name);
    }
}

fuzz_target!(|input: &[u8]| {
    let (_, example) = verifier();
    let now = example.time + 60;
    judge(String::from_utf8_lossy(input).into_owned(), now);

    // The input as messages: each preceded by its length (one byte, times 8).
    let mut messages = Vec::new();
    let mut rest = input;
    while let Some((&len, tail)) = rest.split_first() {
        if messages.len() == 7 {
            break;
        }
        let n = (usize::from(len) * 8).min(tail.len());
        messages.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    // Splice: the example's messages with the fuzzed ones in place.
    let mut spliced = example.messages.clone();
    for (i, m) in messages.iter().enumerate() {
        if let Some(slot) = spliced.get_mut(i) {
            if !m.is_empty() {
                *slot = m.clone();
            }
        }
    }
    for messages in [messages, spliced] {
        let proof = HandshakeProof {
            server_name: example.server_name.clone(),
            time: example.time,
            messages,
        };
        judge(proof.to_json(), now);
    }
});
