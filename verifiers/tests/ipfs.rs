//! The `ipfs` kind against fixtures made by the JS reference importer and
//! `@ipld/car`, and against a local gateway that serves correct, tampered,
//! truncated, endless, slow and missing content.

#![cfg(feature = "ipfs")]

use std::{
    collections::HashMap,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use multihash_codetable::{Code, MultihashDigest};
use taskproof_core::{Address, BuildContext, ConfigError, Task, Verdict, Verifier};
use taskproof_verifiers::ipfs::{
    BytesCheck, CarError, CarLimits, CarReader, ContentMatch, ImportProfile, IpfsCid, cid_of,
    cid_of_reader, verify_car,
};

mod support;
use support::Reply;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/ipfs");

/// byte[i] = ((i * 0x9E3779B1 mod 2^32) XOR seed) >> 24, as generate.mjs makes it.
fn content(size: usize, seed: u32) -> Vec<u8> {
    (0..size)
        .map(|i| (((i as u32).wrapping_mul(0x9E37_79B1) ^ seed) >> 24) as u8)
        .collect()
}

fn json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn car_bytes(file: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{file}")).unwrap()
}

fn cid(text: &str) -> IpfsCid {
    IpfsCid::try_from(text).unwrap()
}

#[test]
fn cids_match_the_js_importer_for_every_profile_and_size() {
    let vectors = json("cids.json");
    let mut checked = 0;
    for v in vectors["vectors"].as_array().unwrap() {
        if v["heavy"].as_bool().unwrap() {
            // Over 1 GiB: streamed by the_over_1_gib_vector_matches_the_js_importer.
            continue;
        }
        let profile: ImportProfile = v["profile"].as_str().unwrap().parse().unwrap();
        let size = v["size"].as_u64().unwrap() as usize;
        let data = content(size, v["seed"].as_u64().unwrap() as u32);
        let expected = v["cid"].as_str().unwrap();
        let got = cid_of(&data, profile).unwrap();
        assert_eq!(got.to_string(), expected, "{profile} size {size}");

        // Plain bytes against the CID, trying every profile, name the right one.
        let mut check = BytesCheck::new(cid(expected), &ImportProfile::ALL, 2).unwrap();
        check.write(&data);
        let matched = check.finish().unwrap();
        if got.codec() == 0x55 {
            assert_eq!(matched, ContentMatch::RawBlock);
        } else if profile == ImportProfile::UnixfsV0_2015 {
            assert_eq!(matched, ContentMatch::Profile(profile));
        } else {
            assert!(matches!(matched, ContentMatch::Profile(p) if p.raw_leaves()));
        }
        checked += 1;
    }
    // 7 sizes for unixfs-v0-2015 and helia-default (the last needs a second
    // tree level), 6 for unixfs-v1-2025, and one other seed.
    assert_eq!(checked, 21);
}

/// The content of `content()`, generated as it is read: a gigabyte without
/// a gigabyte of memory.
struct Generated {
    at: usize,
    size: usize,
    seed: u32,
}

impl std::io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.size - self.at);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = (((self.at + i) as u32).wrapping_mul(0x9E37_79B1) ^ self.seed).to_be_bytes()[0];
        }
        self.at += n;
        Ok(n)
    }
}

#[test]
fn the_over_1_gib_vector_matches_the_js_importer() {
    // unixfs-v1-2025 at 1 MiB × 1024 links + 1 byte: the first size whose
    // root needs a second tree level.
    let vectors = json("cids.json");
    let heavy: Vec<&serde_json::Value> = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["heavy"].as_bool().unwrap())
        .collect();
    assert_eq!(heavy.len(), 1);
    let v = heavy[0];
    assert_eq!(v["profile"], "unixfs-v1-2025");
    let size = v["size"].as_u64().unwrap() as usize;
    assert_eq!(size, 1024 * 1024 * 1024 + 1);
    let mut reader = Generated {
        at: 0,
        size,
        seed: v["seed"].as_u64().unwrap() as u32,
    };
    // The generator matches content() where both are cheap to compare.
    let mut start = vec![0u8; 300_000];
    std::io::Read::read_exact(&mut reader, &mut start).unwrap();
    assert_eq!(start, content(300_000, 0x5eed));
    reader.at = 0;
    let started = Instant::now();
    let (got, read) = cid_of_reader(&mut reader, ImportProfile::UnixfsV1_2025, 2, |_| {}).unwrap();
    eprintln!(
        "{size} bytes under unixfs-v1-2025 in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(read, size as u64);
    assert_eq!(got.to_string(), v["cid"].as_str().unwrap());
}

#[test]
fn rejects_bytes_that_differ_by_one_byte() {
    let mut data = content(300_000, 0x5eed);
    let expected = cid_of(&data, ImportProfile::UnixfsV0_2015).unwrap();
    data[299_999] ^= 1;
    let mut check = BytesCheck::new(expected, &ImportProfile::ALL, 0).unwrap();
    check.write(&data);
    let err = check.finish().unwrap_err().to_string();
    assert!(err.contains("unixfs-v0-2015 gives"), "{err}");
}

fn verify(car: &[u8], root: Option<&IpfsCid>) -> Result<(Vec<u8>, u64), CarError> {
    let mut out = Vec::new();
    let limits = CarLimits {
        threads: 2,
        ..CarLimits::default()
    };
    let verified = verify_car(car, root, &limits, &mut |d| {
        out.extend_from_slice(d);
        Ok(())
    })?;
    assert_eq!(verified.file_size, out.len() as u64);
    Ok((out, verified.blocks))
}

#[test]
fn every_js_car_fixture_verifies_and_reassembles() {
    for car in json("cars.json").as_array().unwrap() {
        let bytes = car_bytes(car["file"].as_str().unwrap());
        let root = cid(car["root"].as_str().unwrap());
        let (out, _) = verify(&bytes, Some(&root)).unwrap();
        let size = car["size"].as_u64().unwrap() as usize;
        let expected = match car["seed"].as_u64() {
            Some(seed) => content(size, seed as u32),
            None => b"{\"answer\":42,\"source\":\"ipfs\"}\n".to_vec(),
        };
        assert_eq!(out, expected, "{car}");
        // The same root under its other CID version is the same DAG.
        if let Ok(v1) = root.into_v1() {
            assert!(verify(&bytes, Some(&v1)).is_ok());
        }
    }
}

/// Offset of the last block's data (the last byte of the file belongs to it).
fn multi_car() -> (Vec<u8>, IpfsCid) {
    (
        car_bytes("car/multi-helia-default.car"),
        cid("bafybeicnyxlrhx7wftzawhf5smdmz2qm5kycai3ffvnawhxgchsypllqiu"),
    )
}

#[test]
fn rejects_a_car_with_a_tampered_block() {
    let (mut bytes, root) = multi_car();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    assert!(matches!(
        verify(&bytes, Some(&root)),
        Err(CarError::HashMismatch(_))
    ));
}

#[test]
fn a_tampered_size_field_is_reported_as_tampering() {
    // DAGs a performer could publish (fixtures/ipfs/generate.mjs): nodes
    // rebuilt by ipfs-unixfs and @ipld/dag-pb with lying UnixFS sizes and
    // every CID above them recomputed. No hash check can refuse them.
    let lying = json("lying-sizes.json");
    let lying = lying.as_array().unwrap();
    assert_eq!(lying.len(), 4);
    for l in lying {
        let bytes = car_bytes(l["file"].as_str().unwrap());
        let root = cid(l["root"].as_str().unwrap());
        let leaves: Vec<IpfsCid> = l["leaves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| cid(c.as_str().unwrap()))
            .collect();
        let mut reader = CarReader::new(&bytes[..], 4 << 20).unwrap();
        let mut blocks = 0;
        while let Some((block_cid, data)) = reader.next_block().unwrap() {
            assert_eq!(
                &Code::Sha2_256.digest(&data),
                block_cid.hash(),
                "{l}: every block matches its CID"
            );
            blocks += 1;
        }
        assert_eq!(blocks, 3);
        let err = verify(&bytes, Some(&root)).unwrap_err();
        let (block, expected, actual, reason) = match l["lie"].as_str().unwrap() {
            "understated" => (
                leaves[0],
                1,
                Some(262_144),
                "holds 262144 file bytes where its parent says 1",
            ),
            "blocksizes" => (
                leaves[1],
                999,
                Some(1000),
                "holds 1000 file bytes where its parent says 999",
            ),
            "filesize" => (
                root,
                0,
                None,
                "claims a filesize that is not its data plus its blocksizes",
            ),
            "leaf-filesize" => (
                leaves[1],
                1001,
                None,
                "claims a filesize that is not its data plus its blocksizes",
            ),
            other => panic!("unknown lie {other}"),
        };
        match &err {
            CarError::SizeMismatch {
                cid: got,
                expected: e,
                actual: a,
            } => assert_eq!((**got, *e, *a), (block, expected, actual), "{l}"),
            other => panic!("{l}: refused for another reason: {other}"),
        }
        assert_eq!(err.to_string(), format!("block {block} {reason}"));
    }
    // A root that understates the file passes a size limit checked at the
    // root; the first leaf gives it away before any byte reaches the sink.
    let understated = &lying[0];
    assert_eq!(understated["lie"], "understated");
    let limits = CarLimits {
        max_file_size: 1000,
        ..CarLimits::default()
    };
    let mut written = 0;
    let err = verify_car(
        &car_bytes(understated["file"].as_str().unwrap())[..],
        Some(&cid(understated["root"].as_str().unwrap())),
        &limits,
        &mut |d| {
            written += d.len();
            Ok(())
        },
    )
    .unwrap_err();
    assert!(matches!(err, CarError::SizeMismatch { .. }), "{err}");
    assert_eq!(written, 0);
}

#[test]
fn rejects_a_truncated_car() {
    let (bytes, root) = multi_car();
    for cut in [bytes.len() - 1, bytes.len() - 1200, 200] {
        let err = verify(&bytes[..cut], Some(&root)).unwrap_err();
        assert!(
            matches!(err, CarError::MalformedBlock(_) | CarError::MissingBlock(_)),
            "{err}"
        );
    }
}

#[test]
fn rejects_an_extra_block_not_in_the_dag() {
    let (mut bytes, root) = multi_car();
    let raw = car_bytes("car/raw-block.car");
    // The raw CAR's only block section follows its 59-byte header.
    let header_len = 1 + raw[0] as usize;
    bytes.extend_from_slice(&raw[header_len..]);
    assert!(matches!(
        verify(&bytes, Some(&root)),
        Err(CarError::ExtraBlock(_))
    ));
}

#[test]
fn rejects_a_car_for_another_root() {
    let (bytes, _) = multi_car();
    let other = cid("bafkreiftqcn5vnequfopcrkatooakx2lbe5wcgfmgsp2nal3v3prapfmdm");
    assert!(matches!(
        verify(&bytes, Some(&other)),
        Err(CarError::RootNotInHeader { .. })
    ));
}

#[test]
fn rejects_blocks_swapped_out_of_dag_order() {
    // Put the root's block last: the walk needs it first.
    let (bytes, root) = multi_car();
    let header_len = 1 + bytes[0] as usize;
    let mut sections = Vec::new();
    let mut at = header_len;
    while at < bytes.len() {
        let (len, n) = varint(&bytes[at..]);
        sections.push(bytes[at..at + n + len].to_vec());
        at += n + len;
    }
    assert_eq!(sections.len(), 3);
    let mut swapped = bytes[..header_len].to_vec();
    for s in sections[1..].iter().chain(&sections[..1]) {
        swapped.extend_from_slice(s);
    }
    assert!(matches!(
        verify(&swapped, Some(&root)),
        Err(CarError::UnexpectedBlock { .. })
    ));
}

fn varint(bytes: &[u8]) -> (usize, usize) {
    let mut v = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        v |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    panic!("bad varint")
}

#[test]
fn reads_a_carv2_wrapping_the_carv1() {
    let (v1, root) = multi_car();
    let mut v2 = vec![
        0x0a, 0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x02,
    ];
    v2.extend_from_slice(&[0u8; 16]);
    v2.extend_from_slice(&(51u64 + 5).to_le_bytes());
    v2.extend_from_slice(&(v1.len() as u64).to_le_bytes());
    v2.extend_from_slice(&0u64.to_le_bytes());
    v2.extend_from_slice(&[0u8; 5]);
    v2.extend_from_slice(&v1);
    let (out, _) = verify(&v2, Some(&root)).unwrap();
    assert_eq!(out, content(263_144, 0x5eed));
}

#[test]
fn rejects_a_file_larger_than_the_limit_before_reading_it() {
    let (bytes, root) = multi_car();
    let limits = CarLimits {
        max_file_size: 1000,
        ..CarLimits::default()
    };
    let err = verify_car(&bytes[..], Some(&root), &limits, &mut |_| Ok(())).unwrap_err();
    assert!(matches!(err, CarError::TooLarge(1000)));
}

// ---------------------------------------------------------------------------
// A local gateway.

struct Content {
    car: Vec<u8>,
    plain: Vec<u8>,
}

/// Serves `/{mode}/ipfs/{cid}[?format=car]`: `mode` picks the misbehaviour.
async fn gateway(content: HashMap<String, Content>) -> String {
    support::serve(move |path| {
        let mut parts = path.trim_start_matches('/').splitn(3, '/');
        let mode = parts.next().unwrap_or("");
        let rest = parts.nth(1).unwrap_or("");
        let (cid, car) = match rest.split_once("?format=car") {
            Some((cid, _)) => (cid, true),
            None => (rest, false),
        };
        let body = match (mode, content.get(cid)) {
            (_, None) | ("missing", _) => None,
            ("plain-only", Some(_)) if car => None,
            (_, Some(c)) => Some(if car { c.car.clone() } else { c.plain.clone() }),
        };
        let Some(mut body) = body else {
            return Reply::NotFound;
        };
        match mode {
            "tampered" => {
                let last = body.len() - 1;
                body[last] ^= 0xff;
                Reply::Body(body)
            }
            "truncated" => {
                body.truncate(body.len() / 2);
                Reply::Truncated(body)
            }
            "slow" => Reply::Slow(Duration::from_secs(5), body),
            "endless" => Reply::Endless(body),
            _ => Reply::Body(body),
        }
    })
    .await
}

const JSON_V0: &str = "QmYKZqb8jF6nmbTxRPrKtgYjiTg44dSwaTBKrcarRnhQsr";
const JSON_TEXT: &[u8] = b"{\"answer\":42,\"source\":\"ipfs\"}\n";

async fn fixture_gateway() -> String {
    let mut map = HashMap::new();
    map.insert(
        JSON_V0.to_owned(),
        Content {
            car: car_bytes("car/json-v0.car"),
            plain: JSON_TEXT.to_vec(),
        },
    );
    let (car, root) = multi_car();
    map.insert(
        root.to_string(),
        Content {
            car,
            plain: content(263_144, 0x5eed),
        },
    );
    let binary = vec![0xffu8, 0xfe, 0x00];
    let binary_cid = cid_of(&binary, ImportProfile::UnixfsV0_2015).unwrap();
    map.insert(
        binary_cid.to_string(),
        Content {
            car: Vec::new(),
            plain: binary,
        },
    );
    gateway(map).await
}

/// A test-only inner verifier: Valid when the proof of task equals `expected`.
fn build(params: &str) -> Result<Arc<dyn Verifier>, ConfigError> {
    let mut registry = taskproof_verifiers::builtin_registry();
    registry.register(support::TextEqualsFactory).unwrap();
    let table: toml::Table = params.parse().unwrap();
    let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
    registry.get("ipfs").unwrap().build(&ctx)
}

fn task(proof: &str) -> Task {
    Task::new(proof, Vec::<u8>::new(), Address::ZERO, 40)
}

async fn run(params: &str, proof: &str) -> Verdict {
    let verifier = build(params).unwrap();
    tokio::time::timeout(Duration::from_secs(20), verifier.verify(&task(proof)))
        .await
        .expect("the verifier keeps its own time limit")
}

#[tokio::test]
async fn a_trustless_gateway_serving_the_car_is_valid() {
    let gw = fixture_gateway().await;
    let params = format!("gateways = [\"{gw}/good\"]");
    assert_eq!(run(&params, JSON_V0).await, Verdict::Valid);
    assert_eq!(
        run(&params, &format!("ipfs://{JSON_V0}")).await,
        Verdict::Valid
    );
    let (_, root) = multi_car();
    assert_eq!(run(&params, &root.to_string()).await, Verdict::Valid);
}

#[tokio::test]
async fn plain_bytes_are_rebuilt_when_the_gateway_has_no_car() {
    let gw = fixture_gateway().await;
    let params = format!("gateways = [\"{gw}/plain-only\"]");
    assert_eq!(run(&params, JSON_V0).await, Verdict::Valid);
    // Without the matching profile, the bytes cannot be proven.
    let params = format!("gateways = [\"{gw}/plain-only\"]\nprofiles = [\"helia-default\"]");
    let verdict = run(&params, JSON_V0).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.contains("helia-default gives")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_lying_gateway_is_undecided_and_the_next_one_is_tried() {
    let gw = fixture_gateway().await;
    let (_, root) = multi_car();
    let params = format!("gateways = [\"{gw}/tampered\"]");
    let verdict = run(&params, &root.to_string()).await;
    match &verdict {
        Verdict::Undecided { cause } => {
            assert!(cause.contains("/tampered"), "{cause}");
            assert!(cause.contains("does not match its hash"), "{cause}");
            assert!(cause.contains("plain: the bytes do not give"), "{cause}");
        }
        other => panic!("{other:?}"),
    }
    let params = format!("gateways = [\"{gw}/tampered\", \"{gw}/good\"]");
    assert_eq!(run(&params, &root.to_string()).await, Verdict::Valid);
}

#[tokio::test]
async fn a_truncated_response_is_undecided() {
    let gw = fixture_gateway().await;
    let (_, root) = multi_car();
    let params = format!("gateways = [\"{gw}/truncated\"]");
    let verdict = run(&params, &root.to_string()).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.contains("/truncated: CAR: the response broke off")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn an_endless_response_stops_at_the_size_limit() {
    let gw = fixture_gateway().await;
    let params = format!("gateways = [\"{gw}/endless\"]\nmax_size_bytes = 100000");
    let started = Instant::now();
    let verdict = run(&params, JSON_V0).await;
    match &verdict {
        // The CAR's zeros are no block; the plain bytes stop at the cap.
        Verdict::Undecided { cause } => assert!(
            cause.contains("/endless: CAR: malformed block section")
                && cause.contains("; plain: the response exceeds the 100000-byte limit"),
            "{cause}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_slow_gateway_times_out_undecided() {
    let gw = fixture_gateway().await;
    let params = format!("gateways = [\"{gw}/slow\"]\nretrieval = {{ total_timeout_ms = 400 }}");
    let started = Instant::now();
    let verdict = run(&params, JSON_V0).await;
    assert!(
        matches!(&verdict, Verdict::Undecided { cause } if cause.contains("/slow: CAR: timed out after 400 ms (total_timeout_ms)")),
        "{verdict:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn missing_content_is_undecided_unless_unavailability_is_invalid() {
    let gw = fixture_gateway().await;
    let params = format!("gateways = [\"{gw}/missing\", \"http://127.0.0.1:9\"]");
    let verdict = run(&params, JSON_V0).await;
    match &verdict {
        Verdict::Undecided { cause } => {
            assert!(
                cause.contains("/missing: CAR: HTTP 404; plain: HTTP 404"),
                "{cause}"
            );
            assert!(
                cause.contains("http://127.0.0.1:9/: CAR: cannot connect"),
                "{cause}"
            );
        }
        other => panic!("{other:?}"),
    }
    let params =
        format!("gateways = [\"{gw}/missing\"]\ndanger = {{ unavailable_is_invalid = true }}");
    let verdict = run(&params, JSON_V0).await;
    assert!(
        matches!(&verdict, Verdict::Invalid { reason } if reason.starts_with(&format!("the content of {JSON_V0} could not be retrieved ("))),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_gateway_secret_never_appears_in_the_cause() {
    let gw = fixture_gateway()
        .await
        .replace("http://", "http://user:hunter2@");
    let params = format!("gateways = [\"{gw}/missing?key=SECRET\"]");
    let verdict = run(&params, JSON_V0).await;
    let Verdict::Undecided { cause } = &verdict else {
        panic!("{verdict:?}")
    };
    assert!(
        !cause.contains("SECRET") && !cause.contains("hunter2"),
        "{cause}"
    );
    assert!(cause.contains("/missing?key=…: CAR: HTTP 404"), "{cause}");
}

#[tokio::test]
async fn a_deadline_stops_the_hashing_of_an_endless_response() {
    // A gateway that never stops sending, under limits that would let it go
    // on for a gigabyte or a minute: the verification's deadline stops the
    // blocking thread that hashes it.
    let gw = fixture_gateway().await;
    let params = format!(
        "gateways = [\"{gw}/endless\"]\nmax_size_bytes = 4294967296\nretrieval = {{ total_timeout_ms = 60000, attempt_timeout_ms = 60000 }}"
    );
    let verifier = build(&params).unwrap();
    let started = Instant::now();
    let deadline = taskproof_core::Deadline::after(Duration::from_millis(300));
    let verdict = tokio::time::timeout(
        Duration::from_secs(20),
        deadline.scope(verifier.verify(&task(JSON_V0))),
    )
    .await
    .expect("the deadline stops the work");
    assert_eq!(
        verdict,
        Verdict::from(taskproof_core::Expired),
        "{verdict:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_total_retrieval_timeout_is_what_the_node_must_allow() {
    let v = build("gateways = [\"http://x\"]").unwrap();
    assert_eq!(v.time_needed(), Some(Duration::from_secs(8)));
    let v = build("gateways = [\"http://x\"]\nretrieval = { total_timeout_ms = 1500 }").unwrap();
    assert_eq!(v.time_needed(), Some(Duration::from_millis(1500)));
}

#[tokio::test]
async fn the_content_becomes_the_inner_verifiers_proof_of_task() {
    let gw = fixture_gateway().await;
    let expected = String::from_utf8(JSON_TEXT.to_vec()).unwrap();
    let params = format!(
        "gateways = [\"{gw}/good\"]\nthen = {{ verifier = \"text-equals\", params = {{ expected = {expected:?} }} }}"
    );
    assert_eq!(run(&params, JSON_V0).await, Verdict::Valid);
    let params = format!(
        "gateways = [\"{gw}/good\"]\nthen = {{ verifier = \"text-equals\", params = {{ expected = \"other\" }} }}"
    );
    assert_eq!(
        run(&params, JSON_V0).await,
        Verdict::invalid(format!("the content of {JSON_V0}: unexpected text"))
    );
}

#[tokio::test]
async fn non_utf8_content_is_invalid_for_an_inner_verifier() {
    let gw = fixture_gateway().await;
    let binary_cid = cid_of(&[0xff, 0xfe, 0x00], ImportProfile::UnixfsV0_2015).unwrap();
    let params = format!(
        "gateways = [\"{gw}/plain-only\"]\nthen = {{ verifier = \"text-equals\", params = {{ expected = \"x\" }} }}"
    );
    let verdict = run(&params, &binary_cid.to_string()).await;
    assert!(
        matches!(&verdict, Verdict::Invalid { reason } if reason.contains("not UTF-8")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_proof_of_task_that_is_not_a_cid_is_invalid() {
    let params = "gateways = [\"http://127.0.0.1:9\"]";
    let verdict = run(params, "not a cid").await;
    assert!(
        matches!(&verdict, Verdict::Invalid { reason } if reason.starts_with("proofOfTask: \"not a cid\" is not a CID")),
        "{verdict:?}"
    );
    // A dag-cbor CID names no file.
    let verdict = run(
        params,
        "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
    )
    .await;
    assert!(
        matches!(&verdict, Verdict::Invalid { reason } if reason.ends_with("has codec 0x71: it names no file (raw or dag-pb)")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn an_identity_cid_needs_no_gateway() {
    // bafkqaaa... is the identity CID of "hello".
    let identity = IpfsCid::new_v1(0x55, multihash::Multihash::wrap(0, b"hello").unwrap());
    let params = "gateways = [\"http://127.0.0.1:9\"]\nthen = { verifier = \"text-equals\", params = { expected = \"hello\" } }";
    assert_eq!(run(params, &identity.to_string()).await, Verdict::Valid);
}

#[test]
fn config_mistakes_name_their_key() {
    let e = build("gateways = []").err().unwrap();
    assert_eq!(e.key, "params.gateways");
    let e = build("gateways = [\"ftp://x\"]").err().unwrap();
    assert_eq!(e.key, "params.gateways[0]");
    let e = build("gateways = [\"http://x\"]\nprofiles = [\"unixfs-v9\"]")
        .err()
        .unwrap();
    assert!(e.message.contains("unknown import profile"), "{e}");
    let e = build("gateways = [\"http://x\"]\nthen = { verifier = \"ghost\" }")
        .err()
        .unwrap();
    assert_eq!(e.key, "params.then.verifier");
    let e = build("gateways = [\"http://x\"]\nretrieval = { connect_timeout_ms = 0 }")
        .err()
        .unwrap();
    assert_eq!(e.key, "params.retrieval.connect_timeout_ms");
    let e = build("gateways = [\"http://x\"]\ndanger = { unavailable_is_valid = true }")
        .err()
        .unwrap();
    assert_eq!(e.key, "params.danger.unavailable_is_valid", "{e}");
}

#[test]
fn a_key_that_moved_is_refused_with_its_new_place() {
    for (old, new) in [
        ("timeout_ms = 400", "retrieval.total_timeout_ms"),
        ("connect_timeout_ms = 400", "retrieval.connect_timeout_ms"),
        (
            "unavailable_is_invalid = false",
            "danger = { unavailable_is_invalid = true }",
        ),
    ] {
        let e = build(&format!("gateways = [\"http://x\"]\n{old}"))
            .err()
            .unwrap();
        let key = old.split(' ').next().unwrap();
        assert_eq!(e.key, format!("params.{key}"), "{e}");
        assert!(e.message.contains(new), "{e}");
    }
}
