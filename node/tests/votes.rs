//! Votes: BLS performer signatures checked with the operator set, the
//! attester's BLS vote, and the journal that never lets the node sign both
//! answers to one task. Nodes run in this process, with a journal in memory
//! and a verifier whose answer the test sets.

#![cfg(feature = "bls")]

mod support;

use std::sync::{
    Arc,
    atomic::{AtomicU8, Ordering},
};

use alloy_primitives::{Address, B256, U256};
use serde_json::{Value, json};
use support::{InProcess, InProcessNode, ROOT, fixture, post, start_in_process};
use taskproof_consensus::{
    bls::{self, PublicKey, SecretKey, Signature},
    journal::MemoryJournal,
    operators::OperatorSet,
};
use taskproof_core::{NoParams, Registry, Verdict, verify_fn};

/// Hardhat's development account 1: operator 2 of the example set, the
/// performer here.
const PERFORMER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const PERFORMER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
/// Account 0: operator 1.
const OTHER_OPERATOR_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Account 2: operator 3, this attester (the signature vectors' attester).
const ATTESTER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const ATTESTATION_CENTER: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
/// BN254's base field modulus.
const P: &str = "0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";

const VALID: u8 = 0;
const INVALID: u8 = 1;
const UNDECIDED: u8 = 2;

fn operators() -> String {
    std::fs::read_to_string(format!("{ROOT}/fixtures/operators/operators.toml")).unwrap()
}

/// Task definition 1 answers what `answer` holds; 2 is restricted to
/// operator 1; 3 needs more voting power than operator 3 has.
fn config(consensus: &str) -> String {
    format!(
        r#"[node]
listen = "127.0.0.1:0"
attestation_center = "{ATTESTATION_CENTER}"
chain_id = 17000

{consensus}

[[task_definitions]]
id = 1
name = "set-by-the-test"
verifier = "set-by-the-test"

[[task_definitions]]
id = 2
name = "restricted"
verifier = "set-by-the-test"
restricted_operators = [1]

[[task_definitions]]
id = 3
name = "big-stake"
verifier = "set-by-the-test"
minimum_voting_power = "2000000000000000000001"
"#
    )
}

const WITH_OPERATORS: &str = "[consensus]\noperators = \"operators.toml\"";

/// A registry whose one kind answers what `answer` holds.
fn registry(answer: &Arc<AtomicU8>) -> Registry {
    let mut registry = Registry::new();
    let answer = Arc::clone(answer);
    registry
        .register_fn("set-by-the-test", move |_: NoParams, _ctx| {
            let answer = Arc::clone(&answer);
            Ok(verify_fn(move |_task| {
                match answer.load(Ordering::SeqCst) {
                    VALID => Verdict::Valid,
                    INVALID => Verdict::invalid("the test says invalid"),
                    _ => Verdict::undecided("the test says undecided"),
                }
            }))
        })
        .unwrap();
    registry
}

struct Voting {
    node: InProcess,
    answer: Arc<AtomicU8>,
}

async fn voting_node(consensus: &str) -> Voting {
    let answer = Arc::new(AtomicU8::new(VALID));
    let operators = operators();
    let node = start_in_process(InProcessNode {
        config: &config(consensus),
        files: &[("operators.toml", &operators)],
        attester_key: Some(ATTESTER_KEY),
        registry: &registry(&answer),
        journal: Some(Arc::new(MemoryJournal::default())),
    })
    .await
    .unwrap();
    Voting { node, answer }
}

fn task_hash(proof: &str, performer: &str, id: u16) -> B256 {
    taskproof_node::signing::task_hash(proof, b"", performer.parse().unwrap(), id)
}

/// `{"x","y"}` as Othentic's performers send it: a JSON string.
fn bls_signed(key: &str, message: B256) -> String {
    SecretKey::from_operator_key(key)
        .unwrap()
        .sign(message.as_slice(), &bls::TASKS_MANAGER_DOMAIN)
        .to_json()
}

fn send_task(proof: &str, id: u16, performer: &str, signature: &str) -> String {
    json!({"jsonrpc": "2.0", "method": "sendTask", "id": 1,
           "params": [proof, "0x", id, performer, signature, "bls"]})
    .to_string()
}

fn signed_by_performer(proof: &str, id: u16) -> String {
    send_task(
        proof,
        id,
        PERFORMER,
        &bls_signed(PERFORMER_KEY, task_hash(proof, PERFORMER, id)),
    )
}

fn error(answer: &Value) -> (i64, String, String) {
    (
        answer["error"]["code"].as_i64().unwrap_or(0),
        answer["error"]["data"]["error"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        answer["error"]["message"].as_str().unwrap_or("").to_owned(),
    )
}

/// Asserts an answer is the error `name` whose message contains `why`,
/// and that it carries no signature.
fn refused(answer: &Value, code: i64, name: &str, why: &str) {
    let (got_code, got_name, message) = error(answer);
    assert_eq!((got_code, got_name.as_str()), (code, name), "{answer}");
    assert!(message.contains(why), "expected {why:?} in {answer}");
    assert!(answer.get("result").is_none(), "nothing signed: {answer}");
}

#[tokio::test]
async fn a_bls_performer_signature_from_the_operator_set_is_accepted_and_the_vote_signed_with_bls()
{
    let Voting { node, .. } = voting_node(WITH_OPERATORS).await;
    let (status, answer) = post(&node, "/", signed_by_performer("proof", 1)).await;
    assert_eq!(status, 200);
    let result = &answer["result"];
    assert_eq!(result["approved"], json!(true), "{answer}");
    // Every field the ECDSA vote had is still there.
    for field in [
        "reason",
        "voteHash",
        "signature",
        "attester",
        "attestationCenter",
        "chainId",
        "taskDefinitionId",
    ] {
        assert!(result.get(field).is_some(), "{field}: {answer}");
    }
    let vote = taskproof_node::signing::Vote {
        proof_of_task: "proof",
        data: b"",
        performer: PERFORMER.parse().unwrap(),
        task_definition_id: 1,
        attestation_center: ATTESTATION_CENTER.parse().unwrap(),
        chain_id: 17000,
        is_approved: true,
    };
    assert_eq!(result["voteHash"], json!(vote.hash()));
    // The BLS vote verifies with the attester's public key, derived here,
    // over the vote hash.
    let attester = SecretKey::from_operator_key(ATTESTER_KEY)
        .unwrap()
        .public_key();
    let signature = Signature::from_json(&result["blsSignature"].to_string()).unwrap();
    assert!(attester.verify(
        vote.hash().as_slice(),
        &signature,
        &bls::TASKS_MANAGER_DOMAIN
    ));
    assert!(!attester.verify(
        vote.task_key().as_slice(),
        &signature,
        &bls::TASKS_MANAGER_DOMAIN
    ));
    // It is the public key operator 3 registered.
    let set = OperatorSet::from_toml_str(&operators()).unwrap();
    assert_eq!(set.by_index(3).unwrap().bls_public_key, attester);
}

#[tokio::test]
async fn rejects_a_bls_signature_made_with_another_operators_key() {
    let Voting { node, .. } = voting_node(WITH_OPERATORS).await;
    // Operator 1 signs the task, claiming to be operator 2 (the performer).
    let forged = bls_signed(OTHER_OPERATOR_KEY, task_hash("proof", PERFORMER, 1));
    let (_, answer) = post(&node, "/", send_task("proof", 1, PERFORMER, &forged)).await;
    refused(
        &answer,
        -32002,
        "InvalidPerformerSignature",
        "the BLS signature does not verify with the BLS key of the performer 0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    );
}

#[tokio::test]
async fn rejects_a_bls_signature_over_another_task() {
    let Voting { node, .. } = voting_node(WITH_OPERATORS).await;
    let replayed = bls_signed(PERFORMER_KEY, task_hash("another proof", PERFORMER, 1));
    let (_, answer) = post(&node, "/", send_task("proof", 1, PERFORMER, &replayed)).await;
    refused(
        &answer,
        -32002,
        "InvalidPerformerSignature",
        "does not verify",
    );
    // Signed for another task definition.
    let other_definition = bls_signed(PERFORMER_KEY, task_hash("proof", PERFORMER, 3));
    let (_, answer) = post(
        &node,
        "/",
        send_task("proof", 1, PERFORMER, &other_definition),
    )
    .await;
    refused(
        &answer,
        -32002,
        "InvalidPerformerSignature",
        "does not verify",
    );
}

#[tokio::test]
async fn rejects_bls_signatures_that_are_not_points_before_any_pairing() {
    let Voting { node, .. } = voting_node(WITH_OPERATORS).await;
    let good: Value =
        serde_json::from_str(&bls_signed(PERFORMER_KEY, task_hash("proof", PERFORMER, 1))).unwrap();
    let p: U256 = P.parse().unwrap();
    let x: U256 = good["x"].as_str().unwrap().parse().unwrap();
    // x + p is the same field element as x: a second encoding of the very
    // signature that verifies.
    let aliased = json!({"x": format!("{:#066x}", x + p), "y": good["y"]}).to_string();
    let cases = [
        (aliased, "x is not below the field modulus p"),
        (
            json!({"x": "0x0", "y": "0x0"}).to_string(),
            "the point is the point at infinity",
        ),
        (
            json!({"x": "0x1", "y": "0x3"}).to_string(),
            "the point is not on the curve",
        ),
        (
            json!({"x": good["x"], "y": P}).to_string(),
            "y is not below the field modulus p",
        ),
    ];
    for (signature, why) in cases {
        let (_, answer) = post(&node, "/", send_task("proof", 1, PERFORMER, &signature)).await;
        refused(
            &answer,
            -32002,
            "InvalidPerformerSignature",
            &format!("the BLS signature is refused: {why}"),
        );
    }
    // G1's cofactor is 1: every point on the curve is in the subgroup, so
    // there is no point outside it to send. The generator is on the curve
    // and gets as far as the pairing.
    let (_, answer) = post(
        &node,
        "/",
        send_task("proof", 1, PERFORMER, r#"{"x":"0x1","y":"0x2"}"#),
    )
    .await;
    refused(
        &answer,
        -32002,
        "InvalidPerformerSignature",
        "does not verify",
    );
}

#[tokio::test]
async fn rejects_a_bls_performer_outside_the_operator_set() {
    let Voting { node, .. } = voting_node(WITH_OPERATORS).await;
    // A key of the performer's own making, and an address in no set.
    let stranger = "0x0000000000000000000000000000000000001234";
    let signature = bls_signed("0x1234", task_hash("proof", stranger, 1));
    let (_, answer) = post(&node, "/", send_task("proof", 1, stranger, &signature)).await;
    refused(
        &answer,
        -32002,
        "InvalidPerformerSignature",
        "the performer 0x0000000000000000000000000000000000001234 is not in the operator set",
    );
}

#[tokio::test]
async fn bls_performer_signatures_need_an_operator_set() {
    let Voting { node, .. } = voting_node("").await;
    let (_, answer) = post(&node, "/", signed_by_performer("proof", 1)).await;
    refused(
        &answer,
        -32005,
        "UnsupportedSignatureType",
        "configure `[consensus] operators`",
    );
}

#[tokio::test]
async fn the_same_task_twice_gets_the_same_vote() {
    let Voting { node, .. } = voting_node(WITH_OPERATORS).await;
    let (_, first) = post(&node, "/", signed_by_performer("proof", 1)).await;
    let (_, second) = post(&node, "/", signed_by_performer("proof", 1)).await;
    assert!(first["result"]["blsSignature"]["x"].is_string(), "{first}");
    assert_eq!(first, second);
}

#[tokio::test]
async fn refuses_to_sign_the_opposite_vote_on_a_task_it_voted_on() {
    let Voting { node, answer } = voting_node(WITH_OPERATORS).await;
    let (_, approved) = post(&node, "/", signed_by_performer("proof", 1)).await;
    assert_eq!(approved["result"]["approved"], json!(true), "{approved}");
    // The verifier now says invalid (a source changed, a bug, an attacker
    // racing two requests): the node must not sign a reject as well.
    answer.store(INVALID, Ordering::SeqCst);
    let (_, opposite) = post(&node, "/", signed_by_performer("proof", 1)).await;
    refused(
        &opposite,
        -32010,
        "MessageAlreadySigned",
        "MessageAlreadySigned: this attester already voted to approve task 0x",
    );
    // The first vote still stands and is given again.
    answer.store(VALID, Ordering::SeqCst);
    let (_, again) = post(&node, "/", signed_by_performer("proof", 1)).await;
    assert_eq!(again, approved);
    // Another task is another key: a reject is signed there.
    answer.store(INVALID, Ordering::SeqCst);
    let (_, other) = post(&node, "/", signed_by_performer("other proof", 1)).await;
    assert_eq!(other["result"]["approved"], json!(false), "{other}");
}

#[tokio::test]
async fn an_undecided_verdict_records_and_signs_nothing() {
    let Voting { node, answer } = voting_node(WITH_OPERATORS).await;
    answer.store(UNDECIDED, Ordering::SeqCst);
    let (_, abstained) = post(&node, "/", signed_by_performer("proof", 1)).await;
    refused(
        &abstained,
        -32006,
        "Undecided",
        "no vote: this attester abstains: the test says undecided",
    );
    // Nothing was recorded: either answer can still be given.
    answer.store(INVALID, Ordering::SeqCst);
    let (_, rejected) = post(&node, "/", signed_by_performer("proof", 1)).await;
    assert_eq!(rejected["result"]["approved"], json!(false), "{rejected}");
}

/// A journal whose disk is gone.
struct Unavailable;

#[taskproof_core::async_trait]
impl taskproof_consensus::journal::Journal for Unavailable {
    async fn record(
        &self,
        _task: B256,
        _approve: bool,
    ) -> Result<taskproof_consensus::journal::Recorded, taskproof_consensus::journal::JournalError>
    {
        Err(taskproof_consensus::journal::JournalError::Unavailable(
            "disk full".into(),
        ))
    }
}

#[tokio::test]
async fn a_vote_the_journal_cannot_keep_is_not_signed() {
    let answer = Arc::new(AtomicU8::new(VALID));
    let operators = operators();
    let node = start_in_process(InProcessNode {
        config: &config(WITH_OPERATORS),
        files: &[("operators.toml", &operators)],
        attester_key: Some(ATTESTER_KEY),
        registry: &registry(&answer),
        journal: Some(Arc::new(Unavailable)),
    })
    .await
    .unwrap();
    let (_, answer) = post(&node, "/", signed_by_performer("proof", 1)).await;
    refused(
        &answer,
        -32006,
        "Undecided",
        "no vote: this attester abstains: the vote journal is unavailable, so nothing was signed: disk full",
    );
}

#[tokio::test]
async fn without_a_durable_journal_no_vote_is_signed() {
    let answer = Arc::new(AtomicU8::new(VALID));
    let operators = operators();
    let node = start_in_process(InProcessNode {
        config: &config(WITH_OPERATORS),
        files: &[("operators.toml", &operators)],
        attester_key: Some(ATTESTER_KEY),
        registry: &registry(&answer),
        journal: None,
    })
    .await
    .unwrap();
    let (_, answer) = post(&node, "/", signed_by_performer("proof", 1)).await;
    refused(
        &answer,
        -32007,
        "JournalNotConfigured",
        "no durable vote journal (`[consensus] journal`), so it signs no votes",
    );
}

#[tokio::test]
async fn restricted_operators_and_minimum_voting_power_are_checked_with_the_set() {
    let Voting { node, .. } = voting_node(WITH_OPERATORS).await;
    // This attester is operator 3 by its address in the set.
    let (_, answer) = post(&node, "/", signed_by_performer("proof", 2)).await;
    refused(
        &answer,
        -32004,
        "InvalidRestrictedOperator",
        "InvalidRestrictedOperator(2, 3)",
    );
    let (_, answer) = post(&node, "/", signed_by_performer("proof", 3)).await;
    refused(
        &answer,
        -32003,
        "OperatorDoesNotHaveMinimumVotingPower",
        "OperatorDoesNotHaveMinimumVotingPower(3)",
    );
}

/// Loads `config` with the example set (or `set`) and the attester key,
/// as the node would; the error's text.
async fn load_error(config: &str, set: Option<&str>, attester_key: &str) -> String {
    let answer = Arc::new(AtomicU8::new(VALID));
    let operators = set.map_or_else(operators, str::to_owned);
    match start_in_process(InProcessNode {
        config,
        files: &[("operators.toml", &operators)],
        attester_key: Some(attester_key),
        registry: &registry(&answer),
        journal: None,
    })
    .await
    {
        Ok(_) => panic!("the config loaded"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn an_operator_set_with_a_bad_key_is_refused_at_load_naming_the_entry() {
    let set = operators();
    let second_key: Vec<String> = serde_json::from_str(
        &SecretKey::from_operator_key(PERFORMER_KEY)
            .unwrap()
            .public_key()
            .to_json(),
    )
    .unwrap();
    // y.c0 of operator 2 changed: off the twist.
    let off_curve = set.replacen(&second_key[2], &format!("{:#066x}", 5), 1);
    let e = load_error(&config(WITH_OPERATORS), Some(&off_curve), ATTESTER_KEY).await;
    assert!(
        e.ends_with(
            "operators.toml: `operators[1].bls_public_key`: operator 2: the point is not on the curve"
        ),
        "{e}"
    );
    let duplicate = set.replace("index = 4", "index = 2");
    let e = load_error(&config(WITH_OPERATORS), Some(&duplicate), ATTESTER_KEY).await;
    assert!(
        e.ends_with("`operators[3].index`: operator 2: the index is also operators[1]'s"),
        "{e}"
    );
}

#[tokio::test]
async fn an_attester_outside_the_set_or_disagreeing_with_it_is_refused_at_load() {
    let stranger = "0x0000000000000000000000000000000000000000000000000000000000000007";
    let e = load_error(&config(WITH_OPERATORS), None, stranger).await;
    assert!(e.contains("`consensus.operators`: the attester 0x"), "{e}");
    assert!(e.contains("is not in the operator set"), "{e}");

    let e = load_error(
        &config(WITH_OPERATORS).replace("[node]\n", "[node]\noperator_index = 4\n"),
        None,
        ATTESTER_KEY,
    )
    .await;
    assert!(
        e.contains("`node.operator_index`: is 4, but the operator set"),
        "{e}"
    );
    let e = load_error(
        &config(WITH_OPERATORS).replace("[node]\n", "[node]\nvoting_power = 1000\n"),
        None,
        ATTESTER_KEY,
    )
    .await;
    assert!(e.contains("`node.voting_power`: is 1000, but"), "{e}");
    // Agreeing values are fine.
    let agreeing = config(WITH_OPERATORS).replace(
        "[node]\n",
        "[node]\noperator_index = 3\nvoting_power = \"2000000000000000000000\"\n",
    );
    let answer = Arc::new(AtomicU8::new(VALID));
    let operators = operators();
    start_in_process(InProcessNode {
        config: &agreeing,
        files: &[("operators.toml", &operators)],
        attester_key: Some(ATTESTER_KEY),
        registry: &registry(&answer),
        journal: None,
    })
    .await
    .unwrap();
}

/// The same ECDSA key written in upper case is the same address but, as
/// Othentic derives it, another BLS key: its votes would not aggregate with
/// the key operator 3 registered.
#[tokio::test]
async fn an_attester_key_deriving_another_bls_key_than_registered_is_refused_at_load() {
    let upper = format!("0x{}", ATTESTER_KEY[2..].to_uppercase());
    let e = load_error(&config(WITH_OPERATORS), None, &upper).await;
    assert!(
        e.contains("operator 3's BLS key in")
            && e.contains("is not the one the attester key derives"),
        "{e}"
    );
}

#[tokio::test]
async fn restricted_operators_outside_the_set_are_refused_at_load() {
    let text = config(WITH_OPERATORS).replace(
        "restricted_operators = [1]",
        "restricted_operators = [1, 9]",
    );
    let e = load_error(&text, None, ATTESTER_KEY).await;
    assert!(
        e.contains(
            "task definition 2: `restricted_operators`: operator 9 is not in the operator set"
        ),
        "{e}"
    );
}

/// The example set's keys are the ones mcl-wasm (what Othentic's
/// JavaScript uses) derived from the same development keys.
#[test]
fn the_example_operator_set_holds_the_keys_mcl_wasm_derives() {
    let set = OperatorSet::from_toml_str(&operators()).unwrap();
    let vectors = fixture("bls/vectors.json");
    let accounts = [
        (1, OTHER_OPERATOR_KEY),
        (2, PERFORMER_KEY),
        (3, ATTESTER_KEY),
        (
            4,
            "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        ),
        (
            5,
            "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        ),
    ];
    assert_eq!(set.len(), accounts.len());
    for (index, key) in accounts {
        let case = vectors["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == json!(key))
            .unwrap();
        let from_mcl = PublicKey::from_json(&case["publicKey"].to_string()).unwrap();
        let operator = set.by_index(index).unwrap();
        assert_eq!(operator.bls_public_key, from_mcl, "operator {index}");
        let address = alloy_signer_local::PrivateKeySigner::from_bytes(&key.parse().unwrap())
            .unwrap()
            .address();
        assert_eq!(operator.address, address, "operator {index}");
    }
    let attester: Address = fixture("signatures/vectors.json")["attester"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(set.by_address(&attester).unwrap().index, 3);
}
