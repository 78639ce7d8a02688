//! The `tls13-handshake` params, as written in a task definition, and their
//! checks at load time. Suites and groups are written with their IANA names.

use std::{path::PathBuf, sync::Arc};

use rustls::{
    RootCertStore,
    client::WebPkiServerVerifier,
    pki_types::{CertificateDer, DnsName, pem::PemObject},
};
use serde::{Deserialize, Deserializer};
use taskproof_core::{BuildContext, ConfigError};

/// The TLS 1.3 cipher suites (RFC 8446 §B.4), by IANA name, with the hash
/// of their transcript.
pub(crate) const CIPHER_SUITES: &[(&str, u16, Hash)] = &[
    ("TLS_AES_128_GCM_SHA256", 0x1301, Hash::Sha256),
    ("TLS_AES_256_GCM_SHA384", 0x1302, Hash::Sha384),
    ("TLS_CHACHA20_POLY1305_SHA256", 0x1303, Hash::Sha256),
    ("TLS_AES_128_CCM_SHA256", 0x1304, Hash::Sha256),
    ("TLS_AES_128_CCM_8_SHA256", 0x1305, Hash::Sha256),
];

/// Key-exchange groups usable in TLS 1.3, by IANA name; `true` for those
/// some rustls crypto provider implements (the default of `groups`).
pub(crate) const GROUPS: &[(&str, u16, bool)] = &[
    ("secp256r1", 0x0017, true),
    ("secp384r1", 0x0018, true),
    ("secp521r1", 0x0019, false),
    ("x25519", 0x001d, true),
    ("x448", 0x001e, false),
    ("ffdhe2048", 0x0100, false),
    ("ffdhe3072", 0x0101, false),
    ("ffdhe4096", 0x0102, false),
    ("ffdhe6144", 0x0103, false),
    ("ffdhe8192", 0x0104, false),
    ("MLKEM512", 0x0200, false),
    ("MLKEM768", 0x0201, true),
    ("MLKEM1024", 0x0202, true),
    ("SecP256r1MLKEM768", 0x11eb, true),
    ("X25519MLKEM768", 0x11ec, true),
    ("SecP384r1MLKEM1024", 0x11ed, false),
];

/// The transcript hash of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
}

/// The name of a cipher suite, or its number.
pub(crate) fn suite_name(id: u16) -> String {
    CIPHER_SUITES
        .iter()
        .find(|s| s.1 == id)
        .map_or_else(|| format!("{id:#06x}"), |s| s.0.to_owned())
}

/// The name of a group, or its number.
pub(crate) fn group_name(id: u16) -> String {
    GROUPS
        .iter()
        .find(|g| g.1 == id)
        .map_or_else(|| format!("{id:#06x}"), |g| g.0.to_owned())
}

/// The default `max_proof_bytes`: a handshake with a chain of a few
/// certificates takes 5 to 20 KiB of base64.
pub const DEFAULT_MAX_PROOF_BYTES: usize = 64 * 1024;
/// The default `max_certificates`: real chains send 2 to 4. It bounds path
/// building: with n certificates whose issuers share one name, webpki may
/// try every order of the n - 1 others, 15 signature checks for 4.
pub const DEFAULT_MAX_CERTIFICATES: usize = 4;
/// The default `max_age_secs`.
pub const DEFAULT_MAX_AGE_SECS: u64 = 86_400;
/// The most bytes read from a `roots` PEM file.
const MAX_ROOTS_FILE_BYTES: u64 = 16 << 20;

/// The params of a `tls` task definition of format `tls13-handshake`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeParams {
    /// `"tls13-handshake"` (read by the `tls` factory).
    pub format: String,
    /// The server the session must be with: a DNS name, or `*.example.com`
    /// for any name one label below `example.com`.
    pub server_name: String,
    /// `"webpki"` for the bundled Mozilla roots (webpki-roots), or a PEM
    /// file of root certificates, relative to the config file.
    #[serde(default)]
    pub roots: Option<String>,
    /// Accepted cipher suites, by IANA name; default: all TLS 1.3 suites.
    #[serde(default, deserialize_with = "suites")]
    pub cipher_suites: Option<Vec<u16>>,
    /// Accepted key-exchange groups, by IANA name; default: every group a
    /// rustls crypto provider implements.
    #[serde(default, deserialize_with = "groups")]
    pub groups: Option<Vec<u16>>,
    /// The proof's `time` may be at most this old.
    #[serde(default = "default_max_age")]
    pub max_age_secs: u64,
    /// How far in the future the proof's `time` may be.
    #[serde(default = "default_skew")]
    pub max_clock_skew_secs: u64,
    /// The largest proof of task accepted, in bytes.
    #[serde(default = "default_max_proof_bytes")]
    pub max_proof_bytes: usize,
    /// The most certificates the server's Certificate message may carry.
    #[serde(default = "default_max_certificates")]
    pub max_certificates: usize,
}

fn default_max_age() -> u64 {
    DEFAULT_MAX_AGE_SECS
}
fn default_skew() -> u64 {
    60
}
fn default_max_proof_bytes() -> usize {
    DEFAULT_MAX_PROOF_BYTES
}
fn default_max_certificates() -> usize {
    DEFAULT_MAX_CERTIFICATES
}

fn names<'de, D: Deserializer<'de>>(
    d: D,
    table: &[(&str, u16)],
    what: &str,
) -> Result<Option<Vec<u16>>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    if list.is_empty() {
        return Err(serde::de::Error::custom(format!(
            "an empty list accepts no {what}"
        )));
    }
    let mut ids = Vec::with_capacity(list.len());
    for name in &list {
        let Some((_, id)) = table.iter().find(|(n, _)| n == name) else {
            let known: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            return Err(serde::de::Error::custom(format!(
                "unknown TLS 1.3 {what} {} (expected one of {})",
                taskproof_core::quote(name),
                known.join(", ")
            )));
        };
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    Ok(Some(ids))
}

fn suites<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u16>>, D::Error> {
    let table: Vec<(&str, u16)> = CIPHER_SUITES.iter().map(|s| (s.0, s.1)).collect();
    names(d, &table, "cipher suite")
}

fn groups<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u16>>, D::Error> {
    let table: Vec<(&str, u16)> = GROUPS.iter().map(|g| (g.0, g.1)).collect();
    names(d, &table, "group")
}

/// A `server_name` param: one name, or every name one label below a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NamePattern {
    Exact(String),
    /// `*.example.com`, held as `example.com`.
    OneLabelBelow(String),
}

impl NamePattern {
    fn parse(pattern: &str) -> Result<Self, String> {
        let lower = pattern.to_ascii_lowercase();
        let (base, wildcard) = match lower.strip_prefix("*.") {
            Some(base) => (base, true),
            None => (lower.as_str(), false),
        };
        if DnsName::try_from(base).is_err() || base.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!(
                "{} is not a DNS name or `*.` followed by one",
                taskproof_core::quote(pattern)
            ));
        }
        if wildcard && !base.contains('.') {
            return Err("a wildcard must stand below a domain of two labels or more".into());
        }
        Ok(if wildcard {
            Self::OneLabelBelow(base.to_owned())
        } else {
            Self::Exact(base.to_owned())
        })
    }

    /// Whether `name` (any case) is named by the pattern.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        match self {
            Self::Exact(exact) => name == *exact,
            Self::OneLabelBelow(base) => name
                .strip_suffix(base.as_str())
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        }
    }
}

impl std::fmt::Display for NamePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(name) => f.write_str(name),
            Self::OneLabelBelow(base) => write!(f, "*.{base}"),
        }
    }
}

/// The params, checked and prepared.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) server_name: NamePattern,
    pub(crate) chain_verifier: Arc<WebPkiServerVerifier>,
    pub(crate) cipher_suites: Vec<u16>,
    pub(crate) groups: Vec<u16>,
    pub(crate) max_age_secs: u64,
    pub(crate) max_clock_skew_secs: u64,
    pub(crate) max_proof_bytes: usize,
    pub(crate) max_certificates: usize,
}

impl Checked {
    /// Defaults for everything but the name and the roots (the recorder's
    /// own check).
    pub(crate) fn with_defaults(
        server_name: &str,
        roots: Arc<RootCertStore>,
    ) -> Result<Self, String> {
        Ok(Self {
            server_name: NamePattern::parse(server_name)?,
            chain_verifier: chain_verifier(roots)?,
            cipher_suites: CIPHER_SUITES.iter().map(|s| s.1).collect(),
            groups: default_groups(),
            max_age_secs: DEFAULT_MAX_AGE_SECS,
            max_clock_skew_secs: 60,
            max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
            max_certificates: DEFAULT_MAX_CERTIFICATES,
        })
    }
}

fn default_groups() -> Vec<u16> {
    GROUPS.iter().filter(|g| g.2).map(|g| g.1).collect()
}

fn chain_verifier(roots: Arc<RootCertStore>) -> Result<Arc<WebPkiServerVerifier>, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.signature_verification_algorithms =
        super::sigcache::algorithms(provider.signature_verification_algorithms.mapping);
    WebPkiServerVerifier::builder_with_provider(roots, Arc::new(provider))
        .build()
        .map_err(|e| format!("cannot build the certificate verifier: {e}"))
}

/// The bundled Mozilla roots (webpki-roots).
pub(crate) fn webpki_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// Root certificates from PEM text; at least one, each a usable anchor.
pub(crate) fn pem_roots(pem: &[u8]) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = cert.map_err(|e| format!("certificate {i} is not valid PEM: {e}"))?;
        store
            .add(cert)
            .map_err(|e| format!("certificate {i} is not a usable root: {e}"))?;
    }
    if store.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    Ok(store)
}

impl HandshakeParams {
    pub(crate) fn check(self, ctx: &BuildContext<'_>) -> Result<Checked, ConfigError> {
        let server_name =
            NamePattern::parse(&self.server_name).map_err(|e| ctx.error("server_name", e))?;
        let roots = match self.roots.as_deref() {
            None | Some("webpki") => webpki_roots(),
            Some(path) => {
                let pem =
                    ctx.read_file_capped("roots", PathBuf::from(path), MAX_ROOTS_FILE_BYTES)?;
                pem_roots(&pem).map_err(|e| {
                    ctx.error("roots", format!("{} {e}", ctx.resolve_path(path).display()))
                })?
            }
        };
        if self.max_certificates == 0 {
            return Err(ctx.error("max_certificates", "must be at least 1"));
        }
        if self.max_proof_bytes == 0 {
            return Err(ctx.error("max_proof_bytes", "must be at least 1"));
        }
        Ok(Checked {
            server_name,
            chain_verifier: chain_verifier(Arc::new(roots)).map_err(|e| ctx.error("roots", e))?,
            cipher_suites: self
                .cipher_suites
                .unwrap_or_else(|| CIPHER_SUITES.iter().map(|s| s.1).collect()),
            groups: self.groups.unwrap_or_else(default_groups),
            max_age_secs: self.max_age_secs,
            max_clock_skew_secs: self.max_clock_skew_secs,
            max_proof_bytes: self.max_proof_bytes,
            max_certificates: self.max_certificates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_names_one_label_only() {
        let p = NamePattern::parse("*.Example.com").unwrap();
        assert!(p.matches("api.example.com"));
        assert!(p.matches("API.example.COM"));
        assert!(!p.matches("example.com"));
        assert!(!p.matches("a.b.example.com"));
        assert!(!p.matches("evilexample.com"));
        assert!(!p.matches(".example.com"));
        assert!(NamePattern::parse("*.com").is_err());
        assert!(NamePattern::parse("127.0.0.1").is_err());
        assert!(NamePattern::parse("a b").is_err());
    }
}
