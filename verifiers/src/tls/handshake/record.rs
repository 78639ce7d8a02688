//! The recorder: a performer's side of `tls13-handshake`.
//!
//! [`record`] connects to an HTTPS server with rustls (TLS 1.3 only, no
//! resumption, no early data), offers the task's nonce in ALPN beside
//! `http/1.1`, and records every byte of the handshake from the socket. The
//! ClientHello and the ServerHello travel in the clear; the server's
//! EncryptedExtensions, Certificate and CertificateVerify are decrypted with
//! the server handshake traffic secret, which rustls hands out through its
//! `KeyLog`, using the HKDF and AEAD of the crypto provider's crate (ring).
//! The proof is then checked with the verifier itself before it is returned.
//!
//! It is blocking (one handshake needs no reactor): call it from
//! `tokio::task::spawn_blocking` in async code.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream, ToSocketAddrs},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy_primitives::Address;
use ring::{aead, hkdf};
use rustls::{
    AlertDescription, ClientConfig, ClientConnection, DigitallySignedStruct, KeyLog, RootCertStore,
    SignatureScheme,
    client::{
        Resumption,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    pki_types::{CertificateDer, ServerName, UnixTime},
};
use taskproof_core::Task;

use super::{
    HandshakeVerifier, Negotiated,
    params::{self, CIPHER_SUITES, Hash},
    proof::HandshakeProof,
    wire,
};

/// Which roots the recorder trusts (and the recorded proof is checked under).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Roots {
    /// The bundled Mozilla roots (webpki-roots): `roots = "webpki"`.
    Webpki,
    /// These root certificates only (a PEM file's, e.g. a test CA).
    Certificates(Vec<CertificateDer<'static>>),
}

impl Roots {
    /// The roots of a PEM file's text.
    pub fn from_pem(pem: &[u8]) -> Result<Self, RecordError> {
        // Refuse what the verifier's `roots` param would refuse.
        params::pem_roots(pem).map_err(RecordError::Roots)?;
        let certs = rustls::pki_types::pem::PemObject::pem_slice_iter(pem)
            .collect::<Result<Vec<CertificateDer<'static>>, _>>()
            .map_err(|e| RecordError::Roots(e.to_string()))?;
        Ok(Self::Certificates(certs))
    }

    fn store(&self) -> Result<RootCertStore, RecordError> {
        match self {
            Self::Webpki => Ok(params::webpki_roots()),
            Self::Certificates(certs) => {
                let mut store = RootCertStore::empty();
                for cert in certs {
                    store
                        .add(cert.clone())
                        .map_err(|e| RecordError::Roots(e.to_string()))?;
                }
                Ok(store)
            }
        }
    }
}

/// What to record: the server and the task the handshake is bound to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordRequest {
    /// `https://host[:port][/…]`; the host must be a DNS name.
    pub url: String,
    /// The task's performer.
    pub performer: Address,
    /// The task's taskDefinitionId.
    pub task_definition_id: u16,
    /// The task's data.
    pub data: Vec<u8>,
    /// The roots to trust.
    pub roots: Roots,
    /// Connect here instead of the host's addresses (the name still goes
    /// in the SNI and is checked against the certificate).
    pub connect_to: Option<SocketAddr>,
    /// The most the whole recording may take: connection and handshake.
    pub timeout: Duration,
    /// Dangerous: accept any certificate and skip the verifier's check of
    /// the result, so that a proof can be recorded from a server whose
    /// chain is expired, for another name or from an unknown root. Such a
    /// proof is refused by any verifier; this exists to test that it is.
    pub danger_accept_any_certificate: bool,
}

impl RecordRequest {
    /// A request with no data, the bundled roots and a 10 s timeout.
    pub fn new(url: impl Into<String>, performer: Address, task_definition_id: u16) -> Self {
        Self {
            url: url.into(),
            performer,
            task_definition_id,
            data: Vec::new(),
            roots: Roots::Webpki,
            connect_to: None,
            timeout: Duration::from_secs(10),
            danger_accept_any_certificate: false,
        }
    }
}

/// A recorded, checked handshake.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The proof.
    pub proof: HandshakeProof,
    /// What the handshake negotiated, as the verifier found it; `None`
    /// when the request skipped the check
    /// ([`RecordRequest::danger_accept_any_certificate`]).
    pub negotiated: Option<Negotiated>,
}

impl Recording {
    /// The proof of task: the JSON document of version 1.
    pub fn to_json(&self) -> String {
        self.proof.to_json()
    }
}

/// Why no proof was recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The URL is not `https://` with a DNS host name.
    #[error("bad URL: {0}")]
    Url(String),
    /// The roots cannot be used.
    #[error("bad roots: {0}")]
    Roots(String),
    /// No TCP connection could be made.
    #[error("cannot connect to {0}")]
    Connect(String),
    /// The server does not speak TLS 1.3.
    #[error("{0} does not speak TLS 1.3 ({1}); only TLS 1.3 handshakes can be proven")]
    NotTls13(String, String),
    /// The TLS handshake failed (certificate, alert, protocol).
    #[error("the TLS handshake with {0} failed: {1}")]
    Handshake(String, rustls::Error),
    /// Reading or writing the socket failed, or took too long.
    #[error("talking to {0}: {1}")]
    Io(String, std::io::Error),
    /// The recorded bytes do not hold what a TLS 1.3 handshake should.
    #[error("the handshake could not be recorded: {0}")]
    Recording(String),
    /// The recorded proof does not pass the verifier.
    #[error("the recorded handshake does not verify: {0}")]
    SelfCheck(String),
}

/// The most bytes a server may send before its handshake is complete.
const MAX_SERVER_BYTES: usize = 1 << 20;

/// Captures the server handshake traffic secret rustls logs.
#[derive(Debug, Default)]
struct Secrets(Mutex<Vec<(Vec<u8>, Vec<u8>)>>);

impl KeyLog for Secrets {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if label == "SERVER_HANDSHAKE_TRAFFIC_SECRET" {
            let mut secrets = self.0.lock().unwrap_or_else(|p| p.into_inner());
            secrets.push((client_random.to_vec(), secret.to_vec()));
        }
    }

    fn will_log(&self, label: &str) -> bool {
        label == "SERVER_HANDSHAKE_TRAFFIC_SECRET"
    }
}

/// Makes a TLS 1.3 handshake bound to the task and returns its proof,
/// checked by the verifier under the same roots at the current time.
pub fn record(request: &RecordRequest) -> Result<Recording, RecordError> {
    let began = Instant::now();
    let url = url::Url::parse(&request.url).map_err(|e| RecordError::Url(e.to_string()))?;
    if url.scheme() != "https" {
        return Err(RecordError::Url(format!(
            "the scheme is {}, expected https",
            url.scheme()
        )));
    }
    let host = match url.host() {
        Some(url::Host::Domain(host)) => host.to_owned(),
        Some(_) => {
            return Err(RecordError::Url(
                "the host is an IP address; a TLS server name (SNI) must be a DNS name".into(),
            ));
        }
        None => return Err(RecordError::Url("no host".into())),
    };
    let port = url.port().unwrap_or(443);
    let peer = format!("{host}:{port}");
    let roots = Arc::new(request.roots.store()?);

    let nonce = super::alpn_nonce(request.performer, request.task_definition_id, &request.data);
    let secrets = Arc::new(Secrets::default());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| RecordError::Recording(e.to_string()))?;
    let mut config = if request.danger_accept_any_certificate {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(Arc::clone(&roots))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec(), nonce.into_bytes()];
    config.resumption = Resumption::disabled();
    config.enable_early_data = false;
    config.cert_decompressors = Vec::new();
    config.key_log = Arc::clone(&secrets) as Arc<dyn KeyLog>;
    let name =
        ServerName::try_from(host.clone()).map_err(|e| RecordError::Url(format!("{host}: {e}")))?;
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| RecordError::Handshake(peer.clone(), e))?;

    let deadline = began + request.timeout;
    let mut sock = connect(request, &host, port, deadline)?;
    let io = |e: std::io::Error| RecordError::Io(peer.clone(), e);
    let mut client_bytes = Vec::new();
    let mut server_bytes = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    while conn.is_handshaking() {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the handshake took longer than the timeout",
                ))
            })?;
        sock.set_read_timeout(Some(left)).map_err(io)?;
        sock.set_write_timeout(Some(left)).map_err(io)?;
        if conn.wants_write() {
            let mut out = Vec::new();
            conn.write_tls(&mut out).map_err(io)?;
            client_bytes.extend_from_slice(&out);
            sock.write_all(&out).map_err(io)?;
            continue;
        }
        let n = sock.read(&mut buf).map_err(io)?;
        if n == 0 {
            return Err(RecordError::Recording(format!(
                "{peer} closed the connection during the handshake"
            )));
        }
        if server_bytes.len() + n > MAX_SERVER_BYTES {
            return Err(RecordError::Recording(format!(
                "{peer} sent more than {MAX_SERVER_BYTES} bytes without completing the handshake"
            )));
        }
        server_bytes.extend_from_slice(&buf[..n]);
        let mut incoming = &buf[..n];
        while !incoming.is_empty() {
            conn.read_tls(&mut incoming).map_err(io)?;
            if let Err(e) = conn.process_new_packets() {
                // Let the server know, as rustls would.
                let mut out = Vec::new();
                let _ = conn.write_tls(&mut out);
                let _ = sock.write_all(&out);
                return Err(classify(peer, e));
            }
        }
    }
    // The client's Finished, then a polite goodbye.
    conn.send_close_notify();
    let mut out = Vec::new();
    while conn.wants_write() {
        if conn.write_tls(&mut out).is_err() {
            break;
        }
    }
    let _ = sock.write_all(&out);

    let secrets = secrets.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let messages = transcript(&client_bytes, &server_bytes, &secrets)?;
    let time = super::unix_now();
    let proof = HandshakeProof {
        server_name: host.clone(),
        time,
        messages,
    };
    if request.danger_accept_any_certificate {
        return Ok(Recording {
            proof,
            negotiated: None,
        });
    }
    let checked = params::Checked::with_defaults(&host, roots).map_err(RecordError::Url)?;
    let verifier = HandshakeVerifier::from_checked(checked);
    let task = Task::new(
        proof.to_json(),
        request.data.clone(),
        request.performer,
        request.task_definition_id,
    );
    let negotiated = verifier
        .negotiated_at(&task, time)
        .map_err(|v| RecordError::SelfCheck(v.message().unwrap_or_default().to_owned()))?;
    Ok(Recording {
        proof,
        negotiated: Some(negotiated),
    })
}

/// Accepts any certificate, still checking the handshake signatures
/// against it (only for [`RecordRequest::danger_accept_any_certificate`]).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn connect(
    request: &RecordRequest,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<TcpStream, RecordError> {
    let addrs: Vec<SocketAddr> = match request.connect_to {
        Some(addr) => vec![addr],
        None => (host, port)
            .to_socket_addrs()
            .map_err(|e| RecordError::Connect(format!("{host}:{port}: {e}")))?
            .collect(),
    };
    let mut last = None;
    for addr in &addrs {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        match TcpStream::connect_timeout(addr, left) {
            Ok(sock) => return Ok(sock),
            Err(e) => last = Some(format!("{addr}: {e}")),
        }
    }
    Err(RecordError::Connect(last.unwrap_or_else(|| {
        format!("{host}:{port}: no address (or no time) left")
    })))
}

/// A server that does not speak TLS 1.3 says so with a protocol_version
/// alert, or answers a version rustls was not told to accept.
fn classify(peer: String, e: rustls::Error) -> RecordError {
    match e {
        rustls::Error::AlertReceived(AlertDescription::ProtocolVersion)
        | rustls::Error::PeerIncompatible(_) => RecordError::NotTls13(peer, e.to_string()),
        other => RecordError::Handshake(peer, other),
    }
}

/// One TLS record: its 5-byte header and its fragment.
struct Record<'a> {
    header: &'a [u8],
    kind: u8,
    fragment: &'a [u8],
}

/// The complete records of a byte stream, in order (an incomplete last one
/// is left out: it came after the handshake).
fn records(bytes: &[u8]) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest.len() < 5 + len {
            break;
        }
        out.push(Record {
            header: &rest[..5],
            kind: rest[0],
            fragment: &rest[5..5 + len],
        });
        rest = &rest[5 + len..];
    }
    out
}

const RECORD_CHANGE_CIPHER_SPEC: u8 = 20;
const RECORD_ALERT: u8 = 21;
const RECORD_HANDSHAKE: u8 = 22;
const RECORD_APPLICATION_DATA: u8 = 23;

/// Reassembles handshake messages from record fragments.
#[derive(Default)]
struct Reassembler {
    pending: Vec<u8>,
}

impl Reassembler {
    fn push(&mut self, fragment: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(fragment);
        let mut out = Vec::new();
        loop {
            if self.pending.len() < 4 {
                break;
            }
            let len = usize::from(self.pending[1]) << 16
                | usize::from(self.pending[2]) << 8
                | usize::from(self.pending[3]);
            if self.pending.len() < 4 + len {
                break;
            }
            out.push(self.pending.drain(..4 + len).collect());
        }
        out
    }
}

/// The handshake messages of one direction's plaintext records, up to the
/// first record that is neither handshake nor change_cipher_spec: a
/// client's hellos, or a TLS 1.2 server's flight up to ServerHelloDone.
pub fn plaintext_handshake_messages(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reassembler = Reassembler::default();
    let mut hellos = Vec::new();
    for record in records(bytes) {
        match record.kind {
            RECORD_HANDSHAKE => hellos.extend(reassembler.push(record.fragment)),
            RECORD_CHANGE_CIPHER_SPEC => {}
            _ => break,
        }
    }
    hellos
}

/// Rebuilds the proof's messages from both directions of the socket.
fn transcript(
    client_bytes: &[u8],
    server_bytes: &[u8],
    secrets: &[(Vec<u8>, Vec<u8>)],
) -> Result<Vec<Vec<u8>>, RecordError> {
    let fail = |what: &str| RecordError::Recording(what.to_owned());
    let hellos = plaintext_handshake_messages(client_bytes);
    let first = hellos
        .first()
        .ok_or_else(|| fail("no ClientHello was sent"))?;
    let client_random = first
        .get(6..38)
        .ok_or_else(|| fail("the ClientHello is too short"))?;
    let secret = secrets
        .iter()
        .find(|(random, _)| random == client_random)
        .map(|(_, secret)| secret.as_slice())
        .ok_or_else(|| fail("rustls logged no server handshake traffic secret"))?;

    let mut plain = Reassembler::default();
    let mut encrypted = Reassembler::default();
    let mut server_hellos: Vec<Vec<u8>> = Vec::new();
    let mut protected: Vec<Vec<u8>> = Vec::new();
    let mut keys: Option<RecordKeys> = None;
    for record in records(server_bytes) {
        match record.kind {
            RECORD_HANDSHAKE => server_hellos.extend(plain.push(record.fragment)),
            RECORD_CHANGE_CIPHER_SPEC => {}
            RECORD_APPLICATION_DATA => {
                if keys.is_none() {
                    let hello = server_hellos
                        .iter()
                        .rev()
                        .find_map(|m| {
                            let (kind, body) = wire::split_message(m).ok()?;
                            let hello = wire::server_hello(body).ok()?;
                            (kind == wire::SERVER_HELLO && !hello.retry_request)
                                .then_some(hello.cipher_suite)
                        })
                        .ok_or_else(|| fail("encrypted records before a ServerHello"))?;
                    keys = Some(RecordKeys::new(hello, secret)?);
                }
                let Some(keys) = keys.as_mut() else { break };
                let (kind, content) = keys.open(record.header, record.fragment)?;
                if kind != RECORD_HANDSHAKE {
                    return Err(fail(
                        "the server sent something other than handshake messages",
                    ));
                }
                protected.extend(encrypted.push(&content));
                if protected.iter().any(|m| m.first() == Some(&wire::FINISHED)) {
                    break;
                }
            }
            RECORD_ALERT => return Err(fail("the server sent an alert")),
            _ => return Err(fail("a record of unknown type")),
        }
    }
    // The transcript: the client's and the server's hellos in turn, then the
    // server's protected messages up to CertificateVerify.
    let mut messages = Vec::new();
    let mut hellos = hellos.into_iter();
    for server_hello in server_hellos {
        messages.push(
            hellos
                .next()
                .ok_or_else(|| fail("a ServerHello answered no ClientHello"))?,
        );
        messages.push(server_hello);
    }
    for message in protected {
        if message.first() == Some(&wire::FINISHED) {
            break;
        }
        messages.push(message);
    }
    Ok(messages)
}

/// The server's handshake record protection (RFC 8446 §5.2, §7.3).
struct RecordKeys {
    key: aead::LessSafeKey,
    iv: [u8; 12],
    sequence: u64,
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label(secret, label, "", len) (RFC 8446 §7.1).
fn expand_label(prk: &hkdf::Prk, label: &[u8], len: usize) -> Result<Vec<u8>, RecordError> {
    let full = [b"tls13 ".as_slice(), label].concat();
    let length = u16::try_from(len).unwrap_or(0).to_be_bytes();
    let full_len = [u8::try_from(full.len()).unwrap_or(0)];
    let info: [&[u8]; 4] = [&length, &full_len, &full, &[0]];
    let mut out = vec![0; len];
    prk.expand(&info, Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| RecordError::Recording("HKDF-Expand-Label failed".into()))?;
    Ok(out)
}

impl RecordKeys {
    fn new(suite: u16, secret: &[u8]) -> Result<Self, RecordError> {
        let (hash, aead_alg): (Hash, &'static aead::Algorithm) = match suite {
            0x1301 => (Hash::Sha256, &aead::AES_128_GCM),
            0x1302 => (Hash::Sha384, &aead::AES_256_GCM),
            0x1303 => (Hash::Sha256, &aead::CHACHA20_POLY1305),
            other => {
                return Err(RecordError::Recording(format!(
                    "cannot decrypt cipher suite {}",
                    params::suite_name(other)
                )));
            }
        };
        debug_assert!(CIPHER_SUITES.iter().any(|s| s.1 == suite && s.2 == hash));
        let prk = hkdf::Prk::new_less_safe(
            match hash {
                Hash::Sha256 => hkdf::HKDF_SHA256,
                Hash::Sha384 => hkdf::HKDF_SHA384,
            },
            secret,
        );
        let key = expand_label(&prk, b"key", aead_alg.key_len())?;
        let iv = expand_label(&prk, b"iv", aead::NONCE_LEN)?;
        let key = aead::UnboundKey::new(aead_alg, &key)
            .map_err(|_| RecordError::Recording("bad traffic key".into()))?;
        let mut iv_bytes = [0u8; 12];
        iv_bytes.copy_from_slice(&iv);
        Ok(Self {
            key: aead::LessSafeKey::new(key),
            iv: iv_bytes,
            sequence: 0,
        })
    }

    /// Decrypts one record: its inner content type and content.
    fn open(&mut self, header: &[u8], fragment: &[u8]) -> Result<(u8, Vec<u8>), RecordError> {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.sequence.to_be_bytes()) {
            *n ^= s;
        }
        self.sequence += 1;
        let mut data = fragment.to_vec();
        let plain = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(header),
                &mut data,
            )
            .map_err(|_| RecordError::Recording("a server record does not decrypt".into()))?;
        let end = plain
            .iter()
            .rposition(|b| *b != 0)
            .ok_or_else(|| RecordError::Recording("a record with no content type".into()))?;
        Ok((plain[end], plain[..end].to_vec()))
    }
}
