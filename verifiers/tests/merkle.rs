#![cfg(feature = "merkle")]
//! The `merkle` verifier against proofs made by the real tools:
//! @openzeppelin/merkle-tree (fixtures/merkle/openzeppelin) and rs_merkle.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::{B256, keccak256};
use rs_merkle::{Hasher, MerkleTree, algorithms::Sha256};
use serde_json::{Value, json};
use taskproof_core::{Address, BuildContext, Task, Verdict, Verifier, deadline::Deadline};
use taskproof_verifiers::{
    builtin_registry,
    merkle::{INLINE_LIMIT, openzeppelin},
};

const OZ: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/merkle/openzeppelin"
);

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(OZ).join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn build(params: &str) -> Arc<dyn Verifier> {
    let params: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    let ctx = BuildContext::standalone(&params, Path::new("."), &registry);
    registry.get("merkle").unwrap().build(&ctx).unwrap()
}

fn build_err(params: &str) -> String {
    let params: toml::Table = params.parse().unwrap();
    let registry = builtin_registry();
    let ctx = BuildContext::standalone(&params, Path::new("."), &registry);
    match registry.get("merkle").unwrap().build(&ctx) {
        Ok(_) => panic!("params accepted: {params}"),
        Err(e) => e.to_string(),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn verify(v: &dyn Verifier, proof: &Value) -> Verdict {
    let task = Task::new(proof.to_string(), Vec::new(), Address::ZERO, 1);
    block_on(v.verify(&task))
}

fn assert_invalid(verdict: Verdict, needle: &str) {
    match verdict {
        Verdict::Invalid { reason } => assert!(
            reason.contains(needle),
            "reason {reason:?} lacks {needle:?}"
        ),
        other => panic!("expected invalid ({needle}), got {other:?}"),
    }
}

fn oz_verifier(name: &str) -> (Arc<dyn Verifier>, Value) {
    let f = fixture(name);
    let encoding: Vec<String> = serde_json::from_value(f["leafEncoding"].clone()).unwrap();
    let params = format!(
        "scheme = \"openzeppelin\"\nroot = \"{}\"\nleaf_encoding = {:?}\n",
        f["root"].as_str().unwrap(),
        encoding
    );
    (build(&params), f)
}

// ---- OpenZeppelin StandardMerkleTree -------------------------------------

#[test]
fn openzeppelin_single_proofs_from_get_proof_are_valid() {
    for name in ["airdrop.proofs.json", "mixed.proofs.json"] {
        let (v, f) = oz_verifier(name);
        for single in f["singles"].as_array().unwrap() {
            assert_eq!(verify(&*v, single), Verdict::Valid, "{name}: {single}");
        }
    }
}

#[test]
fn openzeppelin_multiproofs_from_get_multi_proof_are_valid() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    assert_eq!(verify(&*v, &f["multi"]), Verdict::Valid);
    assert_eq!(verify(&*v, &f["multiAll"]), Verdict::Valid);
    let (v, f) = oz_verifier("mixed.proofs.json");
    assert_eq!(verify(&*v, &f["multi"]), Verdict::Valid);
}

#[test]
fn openzeppelin_tampered_value_is_invalid() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let mut p = f["singles"][3].clone();
    p["value"][1] = json!("999000000000000000000");
    assert_invalid(verify(&*v, &p), "not the trusted root");
    let mut m = f["multi"].clone();
    m["leaves"][0][0] = json!("0xab000000000000000000000000000000000000ff");
    assert_invalid(verify(&*v, &m), "not the trusted root");
}

#[test]
fn openzeppelin_tampered_sibling_and_flags_are_invalid() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let mut p = f["singles"][0].clone();
    p["proof"][1] = json!(format!("0x{}", "00".repeat(32)));
    assert_invalid(verify(&*v, &p), "not the trusted root");
    let mut m = f["multi"].clone();
    let flags = m["proofFlags"].as_array_mut().unwrap();
    let i = flags.iter().position(|b| b == &json!(true)).unwrap();
    flags[i] = json!(false);
    assert_invalid(verify(&*v, &m), "the multiproof runs out of sibling hashes");
}

#[test]
fn openzeppelin_truncated_proofs_are_invalid() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let mut p = f["singles"][0].clone();
    p["proof"].as_array_mut().unwrap().pop();
    assert_invalid(verify(&*v, &p), "not the trusted root");
    let mut m = f["multi"].clone();
    m["proof"].as_array_mut().unwrap().pop();
    assert_invalid(verify(&*v, &m), "proofFlags");
}

#[test]
fn openzeppelin_proof_under_a_wrong_root_is_invalid() {
    let f = fixture("airdrop.proofs.json");
    let v = build(&format!(
        "scheme = \"openzeppelin\"\nroot = \"0x{}\"\nleaf_encoding = [\"address\", \"uint256\"]\n",
        "11".repeat(32)
    ));
    assert_invalid(verify(&*v, &f["singles"][0]), "not the trusted root");
}

#[test]
fn rejects_root_claimed_in_the_proof_that_is_not_the_trusted_root() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let mut p = f["singles"][0].clone();
    p["root"] = json!(format!("0x{}", "22".repeat(32)));
    assert_invalid(verify(&*v, &p), "the proof claims root");
    let mut p = f["singles"][0].clone();
    p["root"] = f["root"].clone();
    assert_eq!(verify(&*v, &p), Verdict::Valid);
}

#[test]
fn rejects_leaf_encoding_that_differs_from_the_task_definition() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let mut p = f["singles"][0].clone();
    p["leafEncoding"] = json!(["address", "uint128"]);
    assert_invalid(verify(&*v, &p), "leafEncoding");
    p["leafEncoding"] = json!(["address", "uint"]); // `uint` is uint256
    assert_eq!(verify(&*v, &p), Verdict::Valid);
}

#[test]
fn rejects_inner_node_passed_off_as_a_leaf() {
    // The classic second preimage, built by fixtures/merkle/openzeppelin/gen.mjs
    // over a (bytes32, bytes32) tree: an inner node's two children, sorted,
    // are a well-formed leaf value, and the rest of the node's path is its
    // proof. Hashed once, the value is the inner node and the proof folds to
    // the trusted root; OpenZeppelin's double-hashed leaves fold elsewhere.
    let (v, f) = oz_verifier("pairs.proofs.json");
    let trusted: B256 = f["root"].as_str().unwrap().parse().unwrap();
    for single in f["singles"].as_array().unwrap() {
        assert_eq!(verify(&*v, single), Verdict::Valid, "{single}");
    }
    let attacks = f["secondPreimages"].as_array().unwrap();
    assert_eq!(attacks.len(), 6, "one per inner node of a 7-leaf tree");
    for attack in attacks {
        let proof: Vec<B256> = serde_json::from_value(attack["proof"].clone()).unwrap();
        let value: Vec<B256> = serde_json::from_value(attack["value"].clone()).unwrap();
        // The attack is real: with a single hash it would prove membership.
        let once = keccak256([value[0].as_slice(), value[1].as_slice()].concat());
        assert_eq!(
            openzeppelin::process_proof(once, &proof).unwrap(),
            trusted,
            "{attack}"
        );
        let doc = json!({ "value": attack["value"], "proof": attack["proof"] });
        let mut with_encoding = doc.clone();
        with_encoding["leafEncoding"] = json!(["bytes32", "bytes32"]);
        for doc in [doc, with_encoding] {
            let reason = match verify(&*v, &doc) {
                Verdict::Invalid { reason } => reason,
                other => panic!("{attack}: {other:?}"),
            };
            assert!(
                reason.starts_with("the proof folds to root ")
                    && reason.ends_with(&format!("not the trusted root {trusted}")),
                "refused for another reason than the double hash: {reason}"
            );
        }
    }
}

#[test]
fn rejects_empty_multiproof_that_only_restates_the_root() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let attack = json!({ "leaves": [], "proof": [f["root"]], "proofFlags": [] });
    assert_invalid(verify(&*v, &attack), "no leaves");
}

#[test]
fn openzeppelin_wrong_value_count_and_type_are_invalid() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let mut p = f["singles"][0].clone();
    p["value"] = json!(["0xab00000000000000000000000000000000000001"]);
    assert_invalid(verify(&*v, &p), "must have 2 values");
    p["value"] = json!(["not an address", "1"]);
    assert_invalid(verify(&*v, &p), "not a valid address");
}

#[test]
fn malformed_documents_are_invalid_not_panics() {
    let (v, _) = oz_verifier("airdrop.proofs.json");
    const NOT_A_DOCUMENT: &str = "proofOfTask is not a merkle proof document: ";
    for (bad, needle) in [
        ("", "EOF while parsing a value"),
        ("null", "invalid type: null"),
        ("[]", "invalid length"),
        ("{", "EOF while parsing an object"),
        ("{\"value\": 1}", "missing field `proof`"),
        ("{\"proof\": [\"0x12\"]}", "invalid string length"),
        (
            "{\"value\": [], \"proof\": [], \"extra\": 1}",
            "unknown field `extra`",
        ),
    ] {
        let task = Task::new(bad, Vec::new(), Address::ZERO, 1);
        assert_invalid(
            block_on(v.verify(&task)),
            &format!("{NOT_A_DOCUMENT}{needle}"),
        );
    }
    let flags_without_nodes = "{\"leaves\": [[\"0xab00000000000000000000000000000000000001\", \"1\"]], \"proof\": [], \"proofFlags\": [true, true, true]}";
    let task = Task::new(flags_without_nodes, Vec::new(), Address::ZERO, 1);
    assert_invalid(
        block_on(v.verify(&task)),
        "a multiproof needs leaves + proof = proofFlags + 1, got 1 + 0 against 3",
    );
}

#[test]
fn megabyte_values_are_not_repeated_in_the_reason() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let huge = "x".repeat(1 << 20);
    let short = |verdict: Verdict, needle: &str| {
        let Verdict::Invalid { reason } = verdict else {
            panic!("{verdict:?}")
        };
        assert!(reason.contains(needle), "{reason}");
        assert!(reason.len() < 400, "{} bytes: {reason}", reason.len());
    };
    let mut p = f["singles"][0].clone();
    p["value"][0] = json!(huge);
    short(verify(&*v, &p), "(1048576 bytes)) is not a valid address");
    let mut p = f["singles"][0].clone();
    p["leafEncoding"] = json!([huge, "uint256"]);
    short(verify(&*v, &p), "(1048576 bytes) is not a Solidity type");
    let mut p = f["singles"][0].clone();
    p[huge.as_str()] = json!(1);
    short(
        verify(&*v, &p),
        "proofOfTask is not a merkle proof document: unknown field",
    );
}

#[test]
fn a_large_multiproof_under_a_passed_deadline_is_undecided() {
    let (v, f) = oz_verifier("airdrop.proofs.json");
    let n = 2000;
    let doc = json!({
        "leaves": vec![f["singles"][0]["value"].clone(); n],
        "proof": [],
        "proofFlags": vec![true; n - 1],
    });
    let task = Task::new(doc.to_string(), Vec::new(), Address::ZERO, 1);
    assert!(
        task.proof_of_task.len() > INLINE_LIMIT,
        "runs on the CPU pool"
    );
    assert_invalid(block_on(v.verify(&task)), "not the trusted root");
    let started = Instant::now();
    let verdict = block_on(Deadline::at(Instant::now()).scope(v.verify(&task)));
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.contains("deadline")),
        "{verdict:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[test]
fn openzeppelin_state_update_single_and_multi() {
    let f = fixture("state-update.json");
    let v = build(&format!(
        "scheme = \"openzeppelin\"\nroot = \"{}\"\nleaf_encoding = [\"address\", \"uint256\"]\nmode = \"state_update\"\n",
        f["oldRoot"].as_str().unwrap()
    ));
    assert_eq!(verify(&*v, &f["multi"]), Verdict::Valid);
    assert_eq!(verify(&*v, &f["single"]), Verdict::Valid);

    // A new root that does not follow from the new leaves.
    let mut bad = f["multi"].clone();
    bad["newRoot"] = f["single"]["newRoot"].clone();
    assert_invalid(verify(&*v, &bad), "not the claimed new root");
    // Old leaves that are not in the trusted tree.
    let mut bad = f["multi"].clone();
    bad["oldLeaves"] = bad["newLeaves"].clone();
    assert_invalid(verify(&*v, &bad), "not the trusted root");
    // A membership proof sent to a state-update definition.
    let m = json!({ "value": f["single"]["oldLeaves"][0], "proof": f["single"]["proof"] });
    assert_invalid(
        verify(&*v, &m),
        "a state update lists `oldLeaves` and `newLeaves`, not `value`",
    );
}

// ---- rs_merkle trees (sha256, keccak256) ---------------------------------

fn rs_tree(n: usize) -> (Vec<Vec<u8>>, MerkleTree<Sha256>) {
    let data: Vec<Vec<u8>> = (0..n).map(|i| format!("leaf-{i}").into_bytes()).collect();
    let hashes: Vec<[u8; 32]> = data.iter().map(|d| Sha256::hash(d)).collect();
    (data, MerkleTree::<Sha256>::from_leaves(&hashes))
}

fn hexs(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn rs_proof(data: &[Vec<u8>], tree: &MerkleTree<Sha256>, indices: &[usize]) -> Value {
    let proof = tree.proof(indices);
    json!({
        "indices": indices,
        "leaves": indices.iter().map(|&i| hexs(&data[i])).collect::<Vec<_>>(),
        "proof": proof.proof_hashes().iter().map(|h| hexs(h)).collect::<Vec<_>>(),
        "treeSize": data.len(),
    })
}

fn rs_verifier(tree: &MerkleTree<Sha256>, n: usize) -> Arc<dyn Verifier> {
    build(&format!(
        "scheme = \"sha256\"\nroot = \"{}\"\ntree_size = {n}\n",
        hexs(&tree.root().unwrap())
    ))
}

#[test]
fn rs_merkle_proofs_of_every_size_are_valid() {
    for n in [1, 2, 3, 5, 8, 13] {
        let (data, tree) = rs_tree(n);
        let v = rs_verifier(&tree, n);
        for i in 0..n {
            assert_eq!(
                verify(&*v, &rs_proof(&data, &tree, &[i])),
                Verdict::Valid,
                "n={n} i={i}"
            );
        }
        if n > 2 {
            assert_eq!(
                verify(&*v, &rs_proof(&data, &tree, &[0, n - 1])),
                Verdict::Valid
            );
        }
    }
}

#[test]
fn rs_merkle_tampered_wrong_index_and_truncated_are_invalid() {
    let (data, tree) = rs_tree(13);
    let v = rs_verifier(&tree, 13);
    let good = rs_proof(&data, &tree, &[4]);
    let mut tampered = good.clone();
    tampered["leaves"][0] = json!(hexs(b"leaf-X"));
    assert_invalid(verify(&*v, &tampered), "not the trusted root");
    let mut wrong_index = good.clone();
    wrong_index["indices"] = json!([5]);
    assert_invalid(verify(&*v, &wrong_index), "not the trusted root");
    let mut truncated = good.clone();
    truncated["proof"].as_array_mut().unwrap().pop();
    assert_invalid(verify(&*v, &truncated), "sibling hashes");
    let mut padded = good.clone();
    padded["proof"]
        .as_array_mut()
        .unwrap()
        .push(json!(hexs(&[0; 32])));
    assert_invalid(verify(&*v, &padded), "sibling hashes");
    let mut outside = good;
    outside["indices"] = json!([13]);
    assert_invalid(verify(&*v, &outside), "outside the trusted tree");
}

#[test]
fn rejects_64_byte_leaf_that_is_really_an_inner_node() {
    // In an 8-leaf tree, node(0,1) = H(h0 || h1). Present h0||h1 as the
    // "leaf" at index 0 of a 4-leaf tree whose siblings are the upper path.
    let (data, tree) = rs_tree(8);
    let v = rs_verifier(&tree, 8);
    let h: Vec<[u8; 32]> = data.iter().map(|d| Sha256::hash(d)).collect();
    let mut fake_leaf = h[0].to_vec();
    fake_leaf.extend_from_slice(&h[1]);
    let node = |a: &[u8; 32], b: &[u8; 32]| Sha256::hash(&[a.as_slice(), b.as_slice()].concat());
    let sibling_23 = node(&h[2], &h[3]);
    let sibling_4567 = node(&node(&h[4], &h[5]), &node(&h[6], &h[7]));
    let attack = json!({
        "indices": [0],
        "leaves": [hexs(&fake_leaf)],
        "proof": [hexs(&sibling_23), hexs(&sibling_4567)],
        "treeSize": 4,
    });
    // The attack really folds to the trusted root when the size is not pinned...
    let root = rs_merkle::MerkleProof::<Sha256>::new(vec![sibling_23, sibling_4567])
        .root(&[0], &[Sha256::hash(&fake_leaf)], 4)
        .unwrap();
    assert_eq!(root, tree.root().unwrap());
    // ...and is refused because it is pinned.
    assert_invalid(verify(&*v, &attack), "trusted tree has 8");
    let mut without_size = attack.clone();
    without_size.as_object_mut().unwrap().remove("treeSize");
    assert_invalid(verify(&*v, &without_size), "sibling hashes");
}

#[test]
fn keccak256_scheme_matches_rs_merkle_with_keccak() {
    #[derive(Clone)]
    struct K;
    impl Hasher for K {
        type Hash = [u8; 32];
        fn hash(d: &[u8]) -> [u8; 32] {
            alloy_primitives::keccak256(d).0
        }
    }
    let data: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; 40]).collect();
    let tree = MerkleTree::<K>::from_leaves(&data.iter().map(|d| K::hash(d)).collect::<Vec<_>>());
    let v = build(&format!(
        "scheme = \"keccak256\"\nroot = \"{}\"\ntree_size = 6\n",
        hexs(&tree.root().unwrap())
    ));
    let p = tree.proof(&[2, 5]);
    let doc = json!({
        "indices": [2, 5],
        "leaves": [hexs(&data[2]), hexs(&data[5])],
        "proof": p.proof_hashes().iter().map(|h| hexs(h)).collect::<Vec<_>>(),
    });
    assert_eq!(verify(&*v, &doc), Verdict::Valid);
    let mut dup = doc.clone();
    dup["indices"] = json!([2, 2]);
    assert_invalid(verify(&*v, &dup), "listed twice");
}

#[test]
fn rs_merkle_state_update() {
    let (data, tree) = rs_tree(6);
    let mut new_data = data.clone();
    new_data[3] = b"updated".to_vec();
    let rebuild = |d: &[Vec<u8>]| {
        MerkleTree::<Sha256>::from_leaves(&d.iter().map(|x| Sha256::hash(x)).collect::<Vec<_>>())
    };
    let new_tree = rebuild(&new_data);
    let v = build(&format!(
        "scheme = \"sha256\"\nroot = \"{}\"\ntree_size = 6\nmode = \"state_update\"\n",
        hexs(&tree.root().unwrap())
    ));
    let p = tree.proof(&[3]);
    let doc = json!({
        "indices": [3],
        "oldLeaves": [hexs(&data[3])],
        "newLeaves": [hexs(&new_data[3])],
        "proof": p.proof_hashes().iter().map(|h| hexs(h)).collect::<Vec<_>>(),
        "newRoot": hexs(&new_tree.root().unwrap()),
    });
    assert_eq!(verify(&*v, &doc), Verdict::Valid);
    // A new root that also changes a leaf the proof does not list.
    let mut sneaky = new_data.clone();
    sneaky[0] = b"stolen".to_vec();
    let mut bad = doc.clone();
    bad["newRoot"] = json!(hexs(&rebuild(&sneaky).root().unwrap()));
    assert_invalid(verify(&*v, &bad), "not the claimed new root");
}

// ---- RFC 6962 -------------------------------------------------------------

#[test]
fn rfc6962_reference_inclusion_proof_is_valid_and_refuses_tampering() {
    let v = build(
        "scheme = \"rfc6962\"\nroot = \"0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\"\ntree_size = 8\n",
    );
    let doc = json!({
        "index": 0,
        "leaf": "0x",
        "proof": [
            "0x96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0x5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0x6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
        ],
        "treeSize": 8
    });
    assert_eq!(verify(&*v, &doc), Verdict::Valid);
    let mut tampered = doc.clone();
    tampered["leaf"] = json!("0x00");
    assert_invalid(verify(&*v, &tampered), "not the trusted root");
    let mut wrong_index = doc.clone();
    wrong_index["index"] = json!(1);
    assert_invalid(verify(&*v, &wrong_index), "not the trusted root");
    let mut truncated = doc.clone();
    truncated["proof"].as_array_mut().unwrap().pop();
    assert_invalid(verify(&*v, &truncated), "shorter");
    let mut wrong_size = doc;
    wrong_size["treeSize"] = json!(7);
    assert_invalid(verify(&*v, &wrong_size), "trusted tree has 8");
}

// ---- configuration --------------------------------------------------------

#[test]
fn config_mistakes_are_reported_with_their_key() {
    let root = format!("0x{}", "00".repeat(32));
    assert!(
        build_err(&format!("scheme = \"sha256\"\nroot = \"{root}\"\n"))
            .contains("params.tree_size")
    );
    assert!(
        build_err(&format!("scheme = \"openzeppelin\"\nroot = \"{root}\"\n"))
            .contains("params.leaf_encoding")
    );
    assert!(
        build_err(&format!(
            "scheme = \"openzeppelin\"\nroot = \"{root}\"\nleaf_encoding = [\"uint257\"]\n"
        ))
        .contains("uint257")
    );
    assert!(build_err(&format!("scheme = \"md5\"\nroot = \"{root}\"\n")).contains("params.scheme"));
    assert!(
        build_err("scheme = \"sha256\"\nroot = \"0x1234\"\ntree_size = 2\n")
            .contains("params.root")
    );
}
