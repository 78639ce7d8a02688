//! The checks of one handshake proof against the task and the params: the
//! message sequence, the nonce, the names, the negotiated version, suite and
//! group, the certificate chain, and the CertificateVerify signature over
//! the transcript.

use std::time::Duration;

use ring::digest;
use rustls::{
    client::danger::ServerCertVerifier,
    pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, UnixTime},
};
use taskproof_core::{Task, Verdict, deadline, quote};

use super::{
    params::{CIPHER_SUITES, Checked, Hash, group_name, suite_name},
    proof::HandshakeProof,
    wire::{self, ClientHello, ServerHello},
};

/// What a valid handshake negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The server's name, as the proof and the certificate say.
    pub server_name: String,
    /// The cipher suite's IANA name.
    pub cipher_suite: String,
    /// The key-exchange group's IANA name.
    pub group: String,
    /// The CertificateVerify signature scheme's IANA name.
    pub signature_scheme: &'static str,
    /// Whether the server asked for a second ClientHello.
    pub hello_retry: bool,
    /// Certificates the server sent, end entity first.
    pub certificates: usize,
}

/// A refusal: `Invalid` with its reason, or `Undecided` (the deadline).
pub(crate) type Refused = Verdict;

fn invalid(reason: impl Into<String>) -> Refused {
    Verdict::invalid(reason.into())
}

/// The context string of a server's CertificateVerify (RFC 8446 §4.4.3).
const SERVER_CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify";

/// The signature schemes TLS 1.3 allows and this verifier checks, with the
/// webpki algorithm for each (the mapping rustls's ring provider uses).
fn scheme(id: u16) -> Result<(&'static str, &'static dyn SignatureVerificationAlgorithm), String> {
    use webpki::ring as alg;
    Ok(match id {
        0x0403 => ("ecdsa_secp256r1_sha256", alg::ECDSA_P256_SHA256),
        0x0503 => ("ecdsa_secp384r1_sha384", alg::ECDSA_P384_SHA384),
        0x0804 => (
            "rsa_pss_rsae_sha256",
            alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        ),
        0x0805 => (
            "rsa_pss_rsae_sha384",
            alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        ),
        0x0806 => (
            "rsa_pss_rsae_sha512",
            alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        ),
        0x0807 => ("ed25519", alg::ED25519),
        0x0201 | 0x0401 | 0x0501 | 0x0601 => {
            return Err(format!(
                "CertificateVerify uses RSA PKCS#1 v1.5 ({id:#06x}), which TLS 1.3 does not allow (RFC 8446 §4.4.3)"
            ));
        }
        0x0203 | 0x0202 | 0x0303 | 0x0301 | 0x0302 | 0x0101..=0x0103 => {
            return Err(format!(
                "CertificateVerify uses a SHA-1 or SHA-224 scheme ({id:#06x}), which TLS 1.3 does not allow"
            ));
        }
        0x0603 | 0x0808 | 0x0809..=0x080b => {
            return Err(format!(
                "CertificateVerify uses scheme {id:#06x} (ECDSA P-521, Ed448 or RSA-PSS with a PSS key), which this verifier does not support"
            ));
        }
        other => {
            return Err(format!(
                "CertificateVerify uses {other:#06x}, not a TLS 1.3 signature scheme"
            ));
        }
    })
}

/// The nonce's ALPN protocol name: `tp1-` and 64 lowercase hex digits.
pub(crate) const NONCE_PREFIX: &[u8] = b"tp1-";

/// Checks a proof of task as of `now` (unix seconds).
pub(crate) fn check(p: &Checked, task: &Task, now: u64) -> Result<Negotiated, Refused> {
    if task.proof_of_task.len() > p.max_proof_bytes {
        return Err(invalid(format!(
            "proofOfTask is larger than {} bytes (param max_proof_bytes)",
            p.max_proof_bytes
        )));
    }
    let proof = HandshakeProof::from_json(&task.proof_of_task).map_err(invalid)?;
    if proof.time > now.saturating_add(p.max_clock_skew_secs) {
        return Err(invalid(format!(
            "the proof's time {} is in the future (now {now})",
            proof.time
        )));
    }
    if now.saturating_sub(proof.time) > p.max_age_secs {
        return Err(invalid(format!(
            "the proof's time {} is {} s before now, more than max_age_secs = {}",
            proof.time,
            now.saturating_sub(proof.time),
            p.max_age_secs
        )));
    }
    if !p.server_name.matches(&proof.server_name) {
        return Err(invalid(format!(
            "serverName {} is not {} (param server_name)",
            quote(&proof.server_name),
            p.server_name
        )));
    }
    let expected_nonce = super::alpn_nonce(task.performer, task.task_definition_id, &task.data);
    let flow = Flow::parse(p, &proof, expected_nonce.as_bytes())?;
    deadline::check()?;

    let end_entity = CertificateDer::from(flow.certificates[0]);
    let intermediates: Vec<CertificateDer<'_>> = flow.certificates[1..]
        .iter()
        .map(|c| CertificateDer::from(*c))
        .collect();
    let name = ServerName::try_from(proof.server_name.as_str()).map_err(|_| {
        invalid(format!(
            "serverName {} is not a DNS name",
            quote(&proof.server_name)
        ))
    })?;
    p.chain_verifier
        .verify_server_cert(
            &end_entity,
            &intermediates,
            &name,
            &[],
            UnixTime::since_unix_epoch(Duration::from_secs(now)),
        )
        .map_err(|e| {
            invalid(format!(
                "the server's certificate chain does not verify for {} now: {e}",
                proof.server_name
            ))
        })?;
    deadline::check()?;

    let transcript = flow.transcript_hash(&proof.messages);
    let mut signed = Vec::with_capacity(64 + SERVER_CONTEXT.len() + 1 + transcript.len());
    signed.extend_from_slice(&[0x20; 64]);
    signed.extend_from_slice(SERVER_CONTEXT);
    signed.push(0);
    signed.extend_from_slice(&transcript);
    let cert = webpki::EndEntityCert::try_from(&end_entity)
        .map_err(|e| invalid(format!("the server's certificate cannot be read: {e}")))?;
    cert.verify_signature(flow.scheme.1, &signed, flow.signature)
        .map_err(|e| {
            invalid(format!(
                "the CertificateVerify signature ({}) does not verify over this transcript with the server's certificate: {e:?}",
                flow.scheme.0
            ))
        })?;
    Ok(Negotiated {
        server_name: proof.server_name.clone(),
        cipher_suite: suite_name(flow.suite),
        group: group_name(flow.group),
        signature_scheme: flow.scheme.0,
        hello_retry: flow.hello_retry,
        certificates: flow.certificates.len(),
    })
}

/// The parsed messages of a full handshake up to CertificateVerify.
struct Flow<'a> {
    hello_retry: bool,
    suite: u16,
    hash: Hash,
    group: u16,
    certificates: Vec<&'a [u8]>,
    scheme: (&'static str, &'static dyn SignatureVerificationAlgorithm),
    signature: &'a [u8],
}

/// The next message, which must be of type `kind`; its body.
fn expect<'a>(
    messages: &'a [Vec<u8>],
    at: &mut usize,
    kind: u8,
    after: &str,
) -> Result<&'a [u8], Refused> {
    let Some(message) = messages.get(*at) else {
        return Err(invalid(format!(
            "the handshake ends after {after}: {} is missing (truncated or missing messages)",
            wire::message_name(kind)
        )));
    };
    let (found, body) = wire::split_message(message).map_err(|e| {
        invalid(format!(
            "handshake[{}] is not a whole handshake message: {e}",
            *at
        ))
    })?;
    if found != kind {
        return Err(invalid(format!(
            "handshake[{}] is {}, expected {} after {after} (reordered, extra or missing messages)",
            *at,
            wire::message_name(found),
            wire::message_name(kind)
        )));
    }
    *at += 1;
    Ok(body)
}

impl<'a> Flow<'a> {
    fn parse(p: &Checked, proof: &'a HandshakeProof, nonce: &[u8]) -> Result<Self, Refused> {
        let m = &proof.messages;
        let mut at = 0;
        let body = expect(m, &mut at, wire::CLIENT_HELLO, "the start")?;
        let hello1 = wire::client_hello(body).map_err(|e| invalid(e.to_string()))?;
        check_client_hello(&hello1, &proof.server_name, nonce, "ClientHello")?;
        let body = expect(m, &mut at, wire::SERVER_HELLO, "ClientHello")?;
        let mut server = wire::server_hello(body).map_err(|e| invalid(e.to_string()))?;
        let mut hello = hello1.clone();
        let mut hello_retry = false;
        if server.retry_request {
            hello_retry = true;
            let retry = server;
            check_version(&retry, "HelloRetryRequest")?;
            let Some(retry_group) = retry.key_share_group else {
                return Err(invalid(
                    "the HelloRetryRequest selects no key-exchange group",
                ));
            };
            let body = expect(m, &mut at, wire::CLIENT_HELLO, "HelloRetryRequest")?;
            let hello2 = wire::client_hello(body).map_err(|e| invalid(e.to_string()))?;
            check_client_hello(&hello2, &proof.server_name, nonce, "ClientHello2")?;
            if hello2.random != hello1.random || hello2.session_id != hello1.session_id {
                return Err(invalid(
                    "ClientHello2 does not repeat ClientHello1's random and session id",
                ));
            }
            if hello2.key_shares != [retry_group] {
                return Err(invalid(format!(
                    "ClientHello2 must offer exactly one key share, for {} as the HelloRetryRequest asked",
                    group_name(retry_group)
                )));
            }
            let body = expect(m, &mut at, wire::SERVER_HELLO, "ClientHello2")?;
            server = wire::server_hello(body).map_err(|e| invalid(e.to_string()))?;
            if server.retry_request {
                return Err(invalid("a second HelloRetryRequest"));
            }
            if server.cipher_suite != retry.cipher_suite {
                return Err(invalid(
                    "the ServerHello's cipher suite differs from the HelloRetryRequest's",
                ));
            }
            hello = hello2;
        }
        check_version(&server, "ServerHello")?;
        if server.pre_shared_key {
            return Err(invalid(
                "the ServerHello accepts a pre-shared key (a resumed or PSK handshake has no CertificateVerify): only full handshakes are accepted",
            ));
        }
        if server.session_id_echo != hello.session_id {
            return Err(invalid(
                "the ServerHello's legacy_session_id_echo is not the ClientHello's session id",
            ));
        }
        let suite = server.cipher_suite;
        let Some(&(_, _, hash)) = CIPHER_SUITES.iter().find(|s| s.1 == suite) else {
            return Err(invalid(format!(
                "the ServerHello selects cipher suite {suite:#06x}, not a TLS 1.3 suite"
            )));
        };
        if !hello.cipher_suites.contains(&suite) {
            return Err(invalid(format!(
                "the ServerHello selects {}, which the ClientHello did not offer",
                suite_name(suite)
            )));
        }
        if !p.cipher_suites.contains(&suite) {
            return Err(invalid(format!(
                "cipher suite {} is not allowed (param cipher_suites)",
                suite_name(suite)
            )));
        }
        let Some(group) = server.key_share_group else {
            return Err(invalid("the ServerHello carries no key share"));
        };
        if !hello.key_shares.contains(&group) {
            return Err(invalid(format!(
                "the ServerHello's key share is for {}, for which the ClientHello sent none",
                group_name(group)
            )));
        }
        if !p.groups.contains(&group) {
            return Err(invalid(format!(
                "key-exchange group {} is not allowed (param groups)",
                group_name(group)
            )));
        }
        let body = expect(m, &mut at, wire::ENCRYPTED_EXTENSIONS, "ServerHello")?;
        if wire::encrypted_extensions(body).map_err(|e| invalid(e.to_string()))? {
            return Err(invalid(
                "the EncryptedExtensions accept early data, which only a PSK handshake has",
            ));
        }
        let body = expect(m, &mut at, wire::CERTIFICATE, "EncryptedExtensions")?;
        let certificates =
            wire::certificate(body, p.max_certificates).map_err(|e| invalid(e.to_string()))?;
        let body = expect(m, &mut at, wire::CERTIFICATE_VERIFY, "Certificate")?;
        let (scheme_id, signature) =
            wire::certificate_verify(body).map_err(|e| invalid(e.to_string()))?;
        let scheme = scheme(scheme_id).map_err(invalid)?;
        if !hello.signature_algorithms.contains(&scheme_id) {
            return Err(invalid(format!(
                "CertificateVerify uses {}, which the ClientHello did not offer",
                scheme.0
            )));
        }
        if let Some(extra) = m.get(at) {
            let kind = extra
                .first()
                .map_or_else(|| "an empty entry".into(), |k| wire::message_name(*k));
            return Err(invalid(format!(
                "handshake[{at}] is {kind} after CertificateVerify: the proof ends with CertificateVerify (extra messages)"
            )));
        }
        Ok(Self {
            hello_retry,
            suite,
            hash,
            group,
            certificates,
            scheme,
            signature,
        })
    }

    /// Transcript-Hash(ClientHello … Certificate), with ClientHello1
    /// replaced by its message_hash after a HelloRetryRequest (RFC 8446
    /// §4.4.1).
    fn transcript_hash(&self, messages: &[Vec<u8>]) -> Vec<u8> {
        let alg = match self.hash {
            Hash::Sha256 => &digest::SHA256,
            Hash::Sha384 => &digest::SHA384,
        };
        let mut ctx = digest::Context::new(alg);
        // Every message but the CertificateVerify, which is last.
        let signed = &messages[..messages.len() - 1];
        let rest = if self.hello_retry {
            let first = digest::digest(alg, &signed[0]);
            ctx.update(&wire::header(wire::MESSAGE_HASH, first.as_ref().len()));
            ctx.update(first.as_ref());
            &signed[1..]
        } else {
            signed
        };
        for message in rest {
            ctx.update(message);
        }
        ctx.finish().as_ref().to_vec()
    }
}

fn check_version(server: &ServerHello<'_>, what: &str) -> Result<(), Refused> {
    match server.selected_version {
        Some(wire::TLS13) => Ok(()),
        None => Err(invalid(format!(
            "the {what} has no supported_versions extension: the server chose TLS 1.2 or older, and only TLS 1.3 handshakes are accepted (TLS 1.2 signs only the randoms, not the transcript)"
        ))),
        Some(other) => Err(invalid(format!(
            "the {what} selects version {other:#06x}, not TLS 1.3"
        ))),
    }
}

fn check_client_hello(
    hello: &ClientHello<'_>,
    server_name: &str,
    nonce: &[u8],
    what: &str,
) -> Result<(), Refused> {
    if !hello.supported_versions.contains(&wire::TLS13) {
        return Err(invalid(format!("the {what} does not offer TLS 1.3")));
    }
    if hello.pre_shared_key || hello.early_data {
        return Err(invalid(format!(
            "the {what} offers a pre-shared key or early data: only full handshakes are accepted (a PSK handshake has no CertificateVerify)"
        )));
    }
    match hello.server_name {
        Some(sni) if sni == server_name.as_bytes() => {}
        Some(sni) => {
            return Err(invalid(format!(
                "the {what}'s server name {} is not serverName {}",
                quote(&String::from_utf8_lossy(sni)),
                quote(server_name)
            )));
        }
        None => return Err(invalid(format!("the {what} carries no server name (SNI)"))),
    }
    let Some(alpn) = &hello.alpn else {
        return Err(invalid(format!(
            "the {what} carries no ALPN extension, so no task nonce"
        )));
    };
    let mut nonces = alpn.iter().filter(|name| name.starts_with(NONCE_PREFIX));
    let (Some(found), None) = (nonces.next(), nonces.next()) else {
        return Err(invalid(format!(
            "the {what} must carry exactly one ALPN protocol name starting with tp1- (the task nonce)"
        )));
    };
    if *found != nonce {
        return Err(invalid(format!(
            "the {what}'s nonce {} is not the task's {}: the handshake was made for another performer, task definition or data",
            quote(&String::from_utf8_lossy(found)),
            String::from_utf8_lossy(nonce)
        )));
    }
    Ok(())
}
