//! The `tls` kind, format `tls13-handshake`, against peers nobody here
//! wrote: Debian's `openssl s_server` (a test PKI made at test time by the
//! committed `fixtures/tls/handshake/make-ca.sh`, so its certificates are
//! always current) and a rustls server in-process (certificates from rcgen,
//! with validity windows chosen per test). Every proof is made by the
//! recorder, then attacked; each attack expects its refusal for its reason.
//!
//! `openssl` must be installed: without it these tests fail, they never
//! skip.

#![cfg(feature = "tls")]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Arc, OnceLock, mpsc},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy_primitives::{Address, address};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::{
    ServerConfig, ServerConnection, SupportedProtocolVersion,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};
use taskproof_core::{BuildContext, Deadline, Outcome, Task, Verdict};
use taskproof_verifiers::{
    builtin_registry,
    tls::handshake::{
        self, HandshakeProof, HandshakeVerifier, RecordError, RecordRequest, Recording, Roots,
    },
};

const PERFORMER: Address = address!("1B146BAE123E9eEd209be03FA0B549EAd00627E3");
const OTHER_PERFORMER: Address = address!("00000000000000000000000000000000000000A1");
const TASK_DEF: u16 = 61;
const DATA: &[u8] = b"\x12\x34 block 0xabcdef";

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tls/handshake");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn task(proof: &HandshakeProof) -> Task {
    Task::new(proof.to_json(), DATA.to_vec(), PERFORMER, TASK_DEF)
}

/// A verifier for `server_name` under the PEM roots at `roots`, with extra
/// params (TOML lines).
fn verifier(server_name: &str, roots: &Path, extra: &str) -> HandshakeVerifier {
    let text = format!(
        "format = \"tls13-handshake\"\nserver_name = \"{server_name}\"\nroots = {:?}\n{extra}",
        roots.display().to_string()
    );
    let table: toml::Table = text.parse().unwrap();
    let registry = builtin_registry();
    let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
    HandshakeVerifier::from_context(&ctx).unwrap()
}

#[track_caller]
fn assert_invalid(verdict: &Verdict, needle: &str) {
    assert_eq!(verdict.outcome(), Outcome::Invalid, "{verdict:?}");
    let reason = verdict.message().unwrap_or_default();
    assert!(
        reason.contains(needle),
        "reason {reason:?} does not say {needle:?}"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------
// openssl s_server

fn require_openssl() {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "these tests need the `openssl` command (Debian package `openssl`) for the test PKI \
             and `openssl s_server`; install it: the tests do not skip"
        ),
    }
}

/// The test PKI of make-ca.sh, made once per test run.
fn openssl_pki() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        require_openssl();
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(format!("{FIXTURES}/make-ca.sh"))
            .arg(dir.path())
            .output()
            .expect("bash runs make-ca.sh");
        assert!(
            out.status.success(),
            "make-ca.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

/// `openssl s_server` on 127.0.0.1, stopped when dropped.
struct OpensslServer {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl OpensslServer {
    /// Serves `leaf` (make-ca.sh's name) and the intermediate, with more
    /// `s_server` flags.
    fn start(leaf: &str, flags: &[&str]) -> Self {
        let pki = openssl_pki();
        let port = free_port();
        let mut child = Command::new("openssl")
            .arg("s_server")
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(pki.join(format!("{leaf}.pem")))
            .arg("-key")
            .arg(pki.join(format!("{leaf}.key")))
            .arg("-cert_chain")
            .arg(pki.join("intermediate.pem"))
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (ready, is_ready) = mpsc::channel();
        std::thread::spawn(move || {
            // Reads every line so the pipe never fills.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if line.starts_with("ACCEPT") {
                    let _ = ready.send(());
                }
            }
        });
        if is_ready.recv_timeout(Duration::from_secs(10)).is_err() {
            let _ = child.kill();
            let status = child.wait();
            panic!("openssl s_server {flags:?} did not start listening: {status:?}");
        }
        Self {
            child,
            _stdin: stdin,
            port,
        }
    }

    fn record(&self) -> Result<Recording, RecordError> {
        let root = std::fs::read(openssl_pki().join("root.pem")).unwrap();
        let mut request = RecordRequest::new(
            format!("https://localhost:{}/", self.port),
            PERFORMER,
            TASK_DEF,
        );
        request.data = DATA.to_vec();
        request.roots = Roots::from_pem(&root).unwrap();
        request.connect_to = Some(SocketAddr::from(([127, 0, 0, 1], self.port)));
        handshake::record(&request)
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records from an s_server and checks the proof with a verifier of its own.
fn record_and_verify(leaf: &str, flags: &[&str]) -> (HandshakeProof, handshake::Negotiated) {
    let server = OpensslServer::start(leaf, flags);
    let recording = server
        .record()
        .unwrap_or_else(|e| panic!("{leaf} {flags:?}: {e}"));
    let v = verifier("localhost", &openssl_pki().join("root.pem"), "");
    let negotiated = v
        .negotiated_at(&task(&recording.proof), now())
        .unwrap_or_else(|e| panic!("{leaf} {flags:?}: {e:?}"));
    assert_eq!(recording.negotiated.as_ref(), Some(&negotiated));
    (recording.proof, negotiated)
}

#[test]
fn openssl_ecdsa_p256_leaf_with_each_tls13_suite() {
    for suite in [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    ] {
        let (proof, n) = record_and_verify("leaf-p256", &["-ciphersuites", suite]);
        assert_eq!(n.cipher_suite, suite);
        assert_eq!(n.signature_scheme, "ecdsa_secp256r1_sha256");
        assert_eq!(n.certificates, 2);
        assert!(!n.hello_retry);
        assert_eq!(proof.messages.len(), 5);
    }
}

#[test]
fn openssl_p384_rsa_2048_and_ed25519_leaves() {
    let (_, n) = record_and_verify("leaf-p384", &[]);
    assert_eq!(n.signature_scheme, "ecdsa_secp384r1_sha384");
    let (_, n) = record_and_verify("leaf-rsa2048", &[]);
    assert!(n.signature_scheme.starts_with("rsa_pss_rsae_"), "{n:?}");
    let (_, n) = record_and_verify("leaf-ed25519", &[]);
    assert_eq!(n.signature_scheme, "ed25519");
}

#[test]
fn openssl_x25519_and_p256_groups() {
    let (_, n) = record_and_verify("leaf-p256", &["-groups", "X25519"]);
    assert_eq!(n.group, "x25519");
    assert!(!n.hello_retry);
    // rustls sends its first key share for X25519, so a server that only
    // takes P-256 asks for it again.
    let (proof, n) = record_and_verify("leaf-p256", &["-groups", "P-256"]);
    assert_eq!(n.group, "secp256r1");
    assert!(n.hello_retry);
    assert_eq!(proof.messages.len(), 7);
}

#[test]
fn openssl_hello_retry_request_forced_by_the_servers_group_list() {
    let (proof, n) = record_and_verify("leaf-p256", &["-groups", "P-384"]);
    assert!(n.hello_retry);
    assert_eq!(n.group, "secp384r1");
    // ClientHello1, HelloRetryRequest, ClientHello2, ServerHello, …
    let kinds: Vec<u8> = proof.messages.iter().map(|m| m[0]).collect();
    assert_eq!(kinds, [1, 2, 1, 2, 8, 11, 15]);

    // The transcript starts with message_hash(ClientHello1): a proof that
    // drops the retry and keeps ClientHello2 fails the signature.
    let mut without_retry = proof.clone();
    without_retry.messages.drain(0..2);
    let v = verifier("localhost", &openssl_pki().join("root.pem"), "");
    assert_invalid(
        &v.check_at(&task(&without_retry), now()),
        "CertificateVerify signature",
    );
}

#[test]
fn openssl_with_alpn_still_answers_beside_the_nonce() {
    let (_, n) = record_and_verify("leaf-p256", &["-alpn", "h2,http/1.1"]);
    assert_eq!(n.server_name, "localhost");
}

#[test]
fn the_recorder_refuses_a_tls12_server_with_a_clear_error() {
    let server = OpensslServer::start("leaf-p256", &["-tls1_2"]);
    match server.record() {
        Err(e @ RecordError::NotTls13(..)) => {
            assert!(e.to_string().contains("does not speak TLS 1.3"), "{e}");
        }
        other => panic!("expected NotTls13, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// A rustls server in-process, with rcgen certificates

/// A root, an intermediate and a leaf (ECDSA P-256), all rcgen-made.
struct Pki {
    root_pem: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    _dir: Arc<tempfile::TempDir>,
}

#[derive(Clone, Copy)]
enum Leaf {
    /// Valid now, for api.tls.test and localhost.
    Good,
    Expired,
    NotYetValid,
    /// For other.test only.
    WrongName,
    /// Signed by itself, not by the intermediate.
    SelfSigned,
}

/// A name no other PKI of this run uses, so that one PKI's certificates
/// never look like another's.
fn unique(cn: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{cn} {n}")
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.distinguished_name.push(DnType::CommonName, unique(cn));
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2060, 1, 1);
    p
}

fn rcgen_pki(leaf: Leaf) -> Pki {
    let root_key = KeyPair::generate().unwrap();
    let root = CertifiedIssuer::self_signed(ca_params("test root"), root_key).unwrap();
    let intermediate_key = KeyPair::generate().unwrap();
    let intermediate =
        CertifiedIssuer::signed_by(ca_params("test intermediate"), intermediate_key, &root)
            .unwrap();
    let names = match leaf {
        Leaf::WrongName => vec!["other.test".to_owned()],
        _ => vec!["api.tls.test".to_owned(), "localhost".to_owned()],
    };
    let mut p = CertificateParams::new(names).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "api.tls.test");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    (p.not_before, p.not_after) = match leaf {
        Leaf::Expired => (date_time_ymd(2019, 1, 1), date_time_ymd(2020, 1, 1)),
        Leaf::NotYetValid => (date_time_ymd(2090, 1, 1), date_time_ymd(2091, 1, 1)),
        _ => (date_time_ymd(2020, 1, 1), date_time_ymd(2060, 1, 1)),
    };
    let leaf_key = KeyPair::generate().unwrap();
    let chain = match leaf {
        Leaf::SelfSigned => vec![p.self_signed(&leaf_key).unwrap().der().clone()],
        _ => vec![
            p.signed_by(&leaf_key, &intermediate).unwrap().der().clone(),
            intermediate.der().clone(),
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    let root_pem = dir.path().join("root.pem");
    std::fs::write(&root_pem, root.pem()).unwrap();
    Pki {
        root_pem,
        chain,
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        _dir: Arc::new(dir),
    }
}

fn server_config(pki: &Pki, versions: &[&'static SupportedProtocolVersion]) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(pki.chain.clone(), pki.key.clone_key())
            .unwrap(),
    )
}

/// Serves `connections` TLS connections on 127.0.0.1, each until the client
/// is done, then stops.
fn rustls_server(config: Arc<ServerConfig>, connections: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut sock, _)) = listener.accept() else {
                return;
            };
            let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
            let mut conn = ServerConnection::new(Arc::clone(&config)).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut sock).is_err() {
                    break;
                }
            }
            let mut buf = [0u8; 256];
            let _ = rustls::Stream::new(&mut conn, &mut sock).read(&mut buf);
        }
    });
    port
}

fn record_rustls(port: u16, pki: &Pki, danger: bool) -> Recording {
    let mut request =
        RecordRequest::new(format!("https://api.tls.test:{port}/"), PERFORMER, TASK_DEF);
    request.data = DATA.to_vec();
    request.roots = Roots::from_pem(&std::fs::read(&pki.root_pem).unwrap()).unwrap();
    request.connect_to = Some(SocketAddr::from(([127, 0, 0, 1], port)));
    request.danger_accept_any_certificate = danger;
    handshake::record(&request).unwrap()
}

/// Two sessions with one rustls server (P-256 chain of two), recorded for
/// the same task: the base of the attacks.
struct Base {
    pki: Pki,
    proof: HandshakeProof,
    other_session: HandshakeProof,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let pki = rcgen_pki(Leaf::Good);
        let port = rustls_server(server_config(&pki, &[&rustls::version::TLS13]), 2);
        let proof = record_rustls(port, &pki, false).proof;
        let other_session = record_rustls(port, &pki, false).proof;
        Base {
            pki,
            proof,
            other_session,
        }
    })
}

fn base_verifier() -> HandshakeVerifier {
    verifier("api.tls.test", &base().pki.root_pem, "")
}

fn check(proof: &HandshakeProof) -> Verdict {
    base_verifier().check_at(&task(proof), now())
}

#[test]
fn a_rustls_server_in_process() {
    let b = base();
    let n = base_verifier()
        .negotiated_at(&task(&b.proof), now())
        .unwrap();
    assert_eq!(n.server_name, "api.tls.test");
    assert_eq!(n.cipher_suite, "TLS_AES_256_GCM_SHA384");
    assert_eq!(n.group, "x25519");
    assert_eq!(n.certificates, 2);
    assert!(check(&b.other_session).is_valid());
}

// ---------------------------------------------------------------------------
// The nonce

#[test]
fn a_nonce_of_another_performer_task_definition_or_data_is_refused() {
    let proof = base().proof.to_json();
    let v = base_verifier();
    for other in [
        Task::new(proof.clone(), DATA.to_vec(), OTHER_PERFORMER, TASK_DEF),
        Task::new(proof.clone(), DATA.to_vec(), PERFORMER, TASK_DEF + 1),
        Task::new(proof.clone(), b"other data".to_vec(), PERFORMER, TASK_DEF),
    ] {
        assert_invalid(
            &v.check_at(&other, now()),
            "the handshake was made for another performer, task definition or data",
        );
    }
    assert!(v.check_at(&task(&base().proof), now()).is_valid());
}

/// Replaces every occurrence of `from` by `to` (same length) in a message.
fn replace(message: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut count = 0;
    let mut i = 0;
    while i + from.len() <= message.len() {
        if &message[i..i + from.len()] == from {
            message[i..i + from.len()].copy_from_slice(to);
            count += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    count
}

#[test]
fn an_alpn_edited_to_another_tasks_nonce_is_refused_by_the_signature() {
    let mut proof = base().proof.clone();
    let mine = handshake::alpn_nonce(PERFORMER, TASK_DEF, DATA);
    let theirs = handshake::alpn_nonce(OTHER_PERFORMER, TASK_DEF, DATA);
    assert_eq!(
        replace(&mut proof.messages[0], mine.as_bytes(), theirs.as_bytes()),
        1
    );
    let stolen = Task::new(proof.to_json(), DATA.to_vec(), OTHER_PERFORMER, TASK_DEF);
    assert_invalid(
        &base_verifier().check_at(&stolen, now()),
        "CertificateVerify signature (ecdsa_secp256r1_sha256) does not verify",
    );
}

// ---------------------------------------------------------------------------
// Changed messages

/// The offset of the ServerHello's cipher suite in the whole message.
fn suite_offset(server_hello: &[u8]) -> usize {
    let session_id_len = usize::from(server_hello[4 + 2 + 32]);
    4 + 2 + 32 + 1 + session_id_len
}

#[test]
fn a_cipher_suite_swapped_in_the_server_hello_is_refused() {
    let b = base();
    let at = suite_offset(&b.proof.messages[1]);
    assert_eq!(&b.proof.messages[1][at..at + 2], [0x13, 0x02]);
    for other in [0x01, 0x03] {
        let mut proof = b.proof.clone();
        proof.messages[1][at + 1] = other;
        assert_invalid(&check(&proof), "CertificateVerify signature");
    }
    // A suite the ClientHello did not offer.
    let mut proof = b.proof.clone();
    proof.messages[1][at + 1] = 0x04;
    assert_invalid(&check(&proof), "which the ClientHello did not offer");
}

/// A server Certificate message carrying `chain`.
fn certificate_message(chain: &[CertificateDer<'_>]) -> Vec<u8> {
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

#[test]
fn a_substituted_certificate_is_refused() {
    let b = base();
    // The same certificates, re-encoded by this test: the proof still holds.
    let mut proof = b.proof.clone();
    proof.messages[3] = certificate_message(&b.pki.chain);
    assert!(check(&proof).is_valid(), "{:?}", check(&proof));
    // Another valid leaf for the same name, from the same CA would be the
    // attack; a leaf of another PKI under the base's roots is refused by the
    // chain, and under its own roots by the signature.
    let other = rcgen_pki(Leaf::Good);
    proof.messages[3] = certificate_message(&other.chain);
    assert_invalid(&check(&proof), "certificate chain does not verify");
    let v = verifier("api.tls.test", &other.root_pem, "");
    assert_invalid(
        &v.check_at(&task(&proof), now()),
        "CertificateVerify signature",
    );
}

#[test]
fn a_certificate_verify_from_another_session_is_refused() {
    let b = base();
    let mut proof = b.proof.clone();
    proof.messages[4] = b.other_session.messages[4].clone();
    assert_ne!(proof.messages[4], b.proof.messages[4]);
    assert_invalid(&check(&proof), "CertificateVerify signature");
}

#[test]
fn a_pkcs1_certificate_verify_is_refused() {
    let mut proof = base().proof.clone();
    proof.messages[4][4..6].copy_from_slice(&[0x04, 0x01]);
    assert_invalid(&check(&proof), "RSA PKCS#1 v1.5");
}

/// Every byte of every message, changed, is refused; the reasons fall in
/// the expected families, and nothing panics.
#[test]
fn any_changed_byte_of_any_message_is_refused() {
    let b = base();
    let v = base_verifier();
    let t = now();
    let mut families = std::collections::BTreeMap::<&str, usize>::new();
    for i in 0..b.proof.messages.len() {
        for j in 0..b.proof.messages[i].len() {
            let mut proof = b.proof.clone();
            proof.messages[i][j] ^= 0x01;
            let verdict = v.check_at(&task(&proof), t);
            assert_eq!(
                verdict.outcome(),
                Outcome::Invalid,
                "message {i} byte {j}: {verdict:?}"
            );
            let reason = verdict.message().unwrap();
            let family = [
                "CertificateVerify signature",
                "certificate chain",
                "nonce",
                "server name",
                "handshake[",
                "ClientHello",
                "ServerHello",
                "HelloRetryRequest",
                "EncryptedExtensions",
                "Certificate",
                "CertificateVerify",
                "key share",
                "TLS 1.3",
                "TLS 1.2",
                "pre-shared key",
                "not allowed",
                "not a TLS 1.3",
                "ALPN",
            ]
            .into_iter()
            .find(|f| reason.contains(f))
            .unwrap_or_else(|| panic!("message {i} byte {j}: unexpected reason {reason}"));
            *families.entry(family).or_default() += 1;
        }
    }
    // Most bytes are covered only by the signature.
    assert!(
        families["CertificateVerify signature"] > 100,
        "{families:?}"
    );
}

// ---------------------------------------------------------------------------
// Chains

fn danger_recording(leaf: Leaf) -> (Pki, HandshakeProof) {
    let pki = rcgen_pki(leaf);
    let port = rustls_server(server_config(&pki, &[&rustls::version::TLS13]), 1);
    let proof = record_rustls(port, &pki, true).proof;
    (pki, proof)
}

#[test]
fn an_expired_chain_is_refused() {
    let (pki, proof) = danger_recording(Leaf::Expired);
    let v = verifier("api.tls.test", &pki.root_pem, "");
    assert_invalid(&v.check_at(&task(&proof), now()), "certificate expired");
}

#[test]
fn a_not_yet_valid_chain_is_refused() {
    let (pki, proof) = danger_recording(Leaf::NotYetValid);
    let v = verifier("api.tls.test", &pki.root_pem, "");
    assert_invalid(
        &v.check_at(&task(&proof), now()),
        "certificate not valid yet",
    );
}

#[test]
fn a_wrong_name_chain_is_refused() {
    let (pki, proof) = danger_recording(Leaf::WrongName);
    let v = verifier("api.tls.test", &pki.root_pem, "");
    assert_invalid(
        &v.check_at(&task(&proof), now()),
        "certificate not valid for name \"api.tls.test\"",
    );
}

#[test]
fn a_self_signed_chain_is_refused() {
    let (pki, proof) = danger_recording(Leaf::SelfSigned);
    let v = verifier("api.tls.test", &pki.root_pem, "");
    assert_invalid(&v.check_at(&task(&proof), now()), "UnknownIssuer");
}

#[test]
fn an_unknown_root_is_refused() {
    // A good chain of its own PKI, under the base's roots.
    let (_, proof) = danger_recording(Leaf::Good);
    assert_invalid(&check(&proof), "UnknownIssuer");
}

#[test]
fn the_bundled_mozilla_roots_refuse_a_test_chain() {
    let text = "format = \"tls13-handshake\"\nserver_name = \"api.tls.test\"\nroots = \"webpki\"";
    let table: toml::Table = text.parse().unwrap();
    let registry = builtin_registry();
    let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
    let v = HandshakeVerifier::from_context(&ctx).unwrap();
    assert_invalid(&v.check_at(&task(&base().proof), now()), "UnknownIssuer");
}

// ---------------------------------------------------------------------------
// Versions and modes that prove nothing

/// Drives a rustls client over `sock`, returning what each side sent.
fn tee_handshake(
    config: rustls::ClientConfig,
    name: &str,
    sock: &mut TcpStream,
) -> (Vec<u8>, Vec<u8>) {
    let mut conn = rustls::ClientConnection::new(
        Arc::new(config),
        rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap(),
    )
    .unwrap();
    let (mut sent, mut received) = (Vec::new(), Vec::new());
    let mut buf = [0u8; 16384];
    while conn.is_handshaking() {
        if conn.wants_write() {
            let mut out = Vec::new();
            conn.write_tls(&mut out).unwrap();
            sent.extend_from_slice(&out);
            sock.write_all(&out).unwrap();
            continue;
        }
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed the connection");
        received.extend_from_slice(&buf[..n]);
        let mut incoming = &buf[..n];
        while !incoming.is_empty() {
            conn.read_tls(&mut incoming).unwrap();
            conn.process_new_packets().unwrap();
        }
    }
    (sent, received)
}

#[test]
fn a_tls12_handshake_is_refused() {
    let pki = rcgen_pki(Leaf::Good);
    let port = rustls_server(server_config(&pki, &[&rustls::version::TLS12]), 1);
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_file_iter(&pki.root_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![
        b"http/1.1".to_vec(),
        handshake::alpn_nonce(PERFORMER, TASK_DEF, DATA).into_bytes(),
    ];
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (sent, received) = tee_handshake(config, "api.tls.test", &mut sock);
    let hello = handshake::record::plaintext_handshake_messages(&sent);
    let flight = handshake::record::plaintext_handshake_messages(&received);
    // ServerHello, Certificate, ServerKeyExchange, ServerHelloDone: the only
    // signature, in ServerKeyExchange, covers the randoms and the key, not
    // the transcript.
    let kinds: Vec<u8> = flight.iter().map(|m| m[0]).collect();
    assert_eq!(kinds, [2, 11, 12, 14]);
    let mut messages = vec![hello[0].clone()];
    messages.extend(flight);
    let proof = HandshakeProof {
        server_name: "api.tls.test".into(),
        time: now(),
        messages,
    };
    let v = verifier("api.tls.test", &pki.root_pem, "");
    assert_invalid(
        &v.check_at(&task(&proof), now()),
        "the server chose TLS 1.2 or older",
    );
}

/// Adds an extension at the end of a hello's extension list, fixing the
/// lengths of the list and of the message.
fn add_extension(message: &mut Vec<u8>, extensions_at: usize, kind: u16, data: &[u8]) {
    let mut ext = kind.to_be_bytes().to_vec();
    ext.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
    ext.extend_from_slice(data);
    message.extend_from_slice(&ext);
    let list = u16::from_be_bytes([message[extensions_at], message[extensions_at + 1]]);
    let list = list + u16::try_from(ext.len()).unwrap();
    message[extensions_at..extensions_at + 2].copy_from_slice(&list.to_be_bytes());
    let body = u32::try_from(message.len() - 4).unwrap().to_be_bytes();
    message[1..4].copy_from_slice(&body[1..]);
}

/// Where a ClientHello's extension list starts.
fn client_hello_extensions_at(m: &[u8]) -> usize {
    let mut at = 4 + 2 + 32;
    at += 1 + usize::from(m[at]);
    at += 2 + usize::from(u16::from_be_bytes([m[at], m[at + 1]]));
    at += 1 + usize::from(m[at]);
    at
}

#[test]
fn a_psk_handshake_is_refused() {
    let b = base();
    // A ClientHello offering a pre-shared key (an identity and a binder).
    let mut proof = b.proof.clone();
    let at = client_hello_extensions_at(&proof.messages[0]);
    let psk = [
        0, 7, 0, 1, 0xaa, 0, 0, 0, 0, // identities: one 1-byte identity, age 0
        0, 33, 32, // binders: one 32-byte binder
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
        26, 27, 28, 29, 30, 31, 32,
    ];
    add_extension(&mut proof.messages[0], at, 41, &psk);
    assert_invalid(&check(&proof), "offers a pre-shared key");
    // A ServerHello accepting one (selected_identity 0).
    let mut proof = b.proof.clone();
    let at = suite_offset(&proof.messages[1]) + 3;
    add_extension(&mut proof.messages[1], at, 41, &[0, 0]);
    assert_invalid(&check(&proof), "accepts a pre-shared key");
    // A resumed handshake has no Certificate or CertificateVerify.
    let mut proof = b.proof.clone();
    proof.messages.truncate(3);
    assert_invalid(&check(&proof), "Certificate is missing");
}

// ---------------------------------------------------------------------------
// Truncated, reordered, extra, missing messages; garbage

#[test]
fn truncated_messages_are_refused() {
    let b = base();
    let mut proof = b.proof.clone();
    proof.messages[3].pop();
    assert_invalid(&check(&proof), "its header announces");
    let mut proof = b.proof.clone();
    proof.messages[0].truncate(40);
    assert_invalid(&check(&proof), "its header announces");
    let mut proof = b.proof.clone();
    proof.messages.pop();
    assert_invalid(&check(&proof), "CertificateVerify is missing");
    let mut proof = b.proof.clone();
    proof.messages.clear();
    assert_invalid(&check(&proof), "ClientHello is missing");
}

#[test]
fn reordered_messages_are_refused() {
    let b = base();
    let mut proof = b.proof.clone();
    proof.messages.swap(2, 3);
    assert_invalid(&check(&proof), "expected EncryptedExtensions");
    let mut proof = b.proof.clone();
    proof.messages.swap(0, 1);
    assert_invalid(
        &check(&proof),
        "handshake[0] is ServerHello, expected ClientHello",
    );
}

#[test]
fn extra_messages_are_refused() {
    let b = base();
    let mut proof = b.proof.clone();
    proof.messages.push(vec![20, 0, 0, 2, 0, 0]);
    assert_invalid(&check(&proof), "extra messages");
    let mut proof = b.proof.clone();
    proof.messages.insert(3, proof.messages[2].clone());
    assert_invalid(&check(&proof), "expected Certificate");
    let mut proof = b.proof.clone();
    proof.messages.extend(b.proof.messages[..3].iter().cloned());
    assert_invalid(&check(&proof), "at most 7");
}

#[test]
fn missing_messages_are_refused() {
    let b = base();
    for (i, expected) in [
        (0, "expected ClientHello"),
        (1, "expected ServerHello"),
        (2, "expected EncryptedExtensions"),
        (3, "expected Certificate"),
    ] {
        let mut proof = b.proof.clone();
        proof.messages.remove(i);
        assert_invalid(&check(&proof), expected);
    }
}

#[test]
fn garbage_is_refused_without_panicking() {
    let v = base_verifier();
    let t = now();
    let json = base().proof.to_json();
    let judge = |text: &str| {
        v.check_at(
            &Task::new(text.to_owned(), DATA.to_vec(), PERFORMER, TASK_DEF),
            t,
        )
    };
    assert_invalid(&judge(""), "not a version-1 TLS handshake proof");
    assert_invalid(&judge("null"), "not a version-1 TLS handshake proof");
    assert_invalid(&judge(&"[".repeat(10_000)), "not a version-1");
    assert_invalid(
        &judge(&json.replace("\"version\":1", "\"version\":2")),
        "unsupported proof version 2",
    );
    assert_invalid(
        &judge(&json.replace("\"version\":1", "\"version\":1,\"extra\":0")),
        "unknown field",
    );
    assert_invalid(
        &judge(&json.replace("\"handshake\":[\"", "\"handshake\":[\"*")),
        "not standard base64",
    );
    // Unpadded base64 is not the format.
    let unpadded = json.replace('=', "");
    if unpadded != json {
        assert_invalid(&judge(&unpadded), "not standard base64");
    }
    // Random messages, random sequences.
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..2000 {
        let count = rng.gen_range(0..=7);
        let messages: Vec<Vec<u8>> = (0..count)
            .map(|_| {
                let len = rng.gen_range(0..300);
                let mut m: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
                if rng.gen_bool(0.7) && m.len() >= 4 {
                    m[0] = [1, 2, 8, 11, 15][rng.gen_range(0..5)];
                    let body = u32::try_from(m.len() - 4).unwrap().to_be_bytes();
                    m[1..4].copy_from_slice(&body[1..]);
                }
                m
            })
            .collect();
        let proof = HandshakeProof {
            server_name: "api.tls.test".into(),
            time: t,
            messages,
        };
        assert_eq!(check(&proof).outcome(), Outcome::Invalid);
    }
    // Random bytes in place of each message of the real proof.
    for _ in 0..500 {
        let mut proof = base().proof.clone();
        let i = rng.gen_range(0..proof.messages.len());
        let len = proof.messages[i].len();
        let start = rng.gen_range(4..len);
        for b in &mut proof.messages[i][start..] {
            *b = rng.r#gen();
        }
        if proof == base().proof {
            continue;
        }
        assert_eq!(check(&proof).outcome(), Outcome::Invalid);
    }
}

#[test]
fn a_proof_over_max_proof_bytes_is_refused() {
    let v = verifier(
        "api.tls.test",
        &base().pki.root_pem,
        "max_proof_bytes = 1000",
    );
    assert_invalid(
        &v.check_at(&task(&base().proof), now()),
        "larger than 1000 bytes",
    );
}

// ---------------------------------------------------------------------------
// Names, time, params

#[test]
fn a_server_name_outside_the_param_is_refused() {
    let v = verifier("other.test", &base().pki.root_pem, "");
    assert_invalid(
        &v.check_at(&task(&base().proof), now()),
        "serverName \"api.tls.test\" is not other.test (param server_name)",
    );
    let v = verifier("*.tls.test", &base().pki.root_pem, "");
    assert!(v.check_at(&task(&base().proof), now()).is_valid());
}

#[test]
fn a_server_name_that_is_not_the_sni_is_refused() {
    let mut proof = base().proof.clone();
    proof.server_name = "www.tls.test".into();
    let v = verifier("*.tls.test", &base().pki.root_pem, "");
    assert_invalid(
        &v.check_at(&task(&proof), now()),
        "the ClientHello's server name \"api.tls.test\" is not serverName \"www.tls.test\"",
    );
}

#[test]
fn a_stale_or_future_time_is_refused() {
    let b = base();
    let v = base_verifier();
    let t = b.proof.time;
    assert!(v.check_at(&task(&b.proof), t + 86_400).is_valid());
    assert_invalid(
        &v.check_at(&task(&b.proof), t + 86_401),
        "more than max_age_secs = 86400",
    );
    assert_invalid(&v.check_at(&task(&b.proof), t - 61), "is in the future");
}

#[test]
fn a_suite_or_group_outside_the_params_is_refused() {
    let root = &base().pki.root_pem;
    let v = verifier(
        "api.tls.test",
        root,
        "cipher_suites = [\"TLS_AES_128_GCM_SHA256\"]",
    );
    assert_invalid(
        &v.check_at(&task(&base().proof), now()),
        "cipher suite TLS_AES_256_GCM_SHA384 is not allowed (param cipher_suites)",
    );
    let v = verifier(
        "api.tls.test",
        root,
        "groups = [\"secp256r1\", \"X25519MLKEM768\"]",
    );
    assert_invalid(
        &v.check_at(&task(&base().proof), now()),
        "key-exchange group x25519 is not allowed (param groups)",
    );
}

#[test]
fn a_passed_deadline_is_undecided() {
    let deadline = Deadline::none();
    deadline.cancel();
    let verdict = deadline.enter(|| check(&base().proof));
    assert_eq!(verdict.outcome(), Outcome::Undecided, "{verdict:?}");
}

#[test]
fn config_mistakes_name_the_key() {
    let registry = builtin_registry();
    let build = |text: &str| {
        let table: toml::Table = text.parse().unwrap();
        let ctx = BuildContext::standalone(&table, Path::new("."), &registry);
        HandshakeVerifier::from_context(&ctx).unwrap_err()
    };
    let e = build("format = \"tls13-handshake\"");
    assert!(e.message.contains("server_name"), "{e}");
    let e = build("format = \"tls13-handshake\"\nserver_name = \"a.test\"\nservername = \"x\"");
    assert!(e.message.contains("unknown field `servername`"), "{e}");
    let e = build(
        "format = \"tls13-handshake\"\nserver_name = \"a.test\"\ncipher_suites = [\"TLS_RSA_WITH_AES_128_CBC_SHA\"]",
    );
    assert_eq!(e.key, "params.cipher_suites", "{e}");
    assert!(e.message.contains("unknown TLS 1.3 cipher suite"), "{e}");
    let e = build("format = \"tls13-handshake\"\nserver_name = \"a.test\"\ngroups = [\"p256\"]");
    assert_eq!(e.key, "params.groups", "{e}");
    let e = build("format = \"tls13-handshake\"\nserver_name = \"1.2.3.4\"");
    assert_eq!(e.key, "params.server_name", "{e}");
    let e = build(
        "format = \"tls13-handshake\"\nserver_name = \"a.test\"\nroots = \"/nonexistent.pem\"",
    );
    assert_eq!(e.key, "params.roots", "{e}");
    let e = build("format = \"tls13-handshake\"\nserver_name = \"a.test\"\nroots = \"/dev/null\"");
    assert_eq!(e.key, "params.roots", "{e}");
    assert!(e.message.contains("no PEM certificate"), "{e}");
}

/// The committed example of `taskproof.toml`'s id 61 (recorded by
/// `fixtures/tls/handshake/record-example.sh`) verifies at a pinned time, a
/// minute after it was made, under its test root, and only for its task.
#[test]
fn the_committed_example_verifies_at_a_pinned_time() {
    let text = std::fs::read_to_string(format!("{FIXTURES}/example/proof.json")).unwrap();
    let proof = HandshakeProof::from_json(&text).unwrap();
    let v = verifier(
        "localhost",
        &PathBuf::from(format!("{FIXTURES}/example/root.pem")),
        "",
    );
    let at = proof.time + 60;
    let example = Task::new(text.trim(), b"taskproof".to_vec(), PERFORMER, TASK_DEF);
    let n = v.negotiated_at(&example, at).unwrap();
    assert_eq!(n.certificates, 2);
    assert_eq!(n.signature_scheme, "ecdsa_secp256r1_sha256");
    let other = Task::new(text.trim(), b"other".to_vec(), PERFORMER, TASK_DEF);
    assert_invalid(&v.check_at(&other, at), "is not the task's");
}
