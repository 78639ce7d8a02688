//! TLS 1.3 handshake messages (RFC 8446 §4) as they enter the transcript,
//! parsed strictly: every length must match what follows, nothing may trail,
//! no extension may appear twice, and vectors respect their bounds.
//!
//! Written by hand rather than with `tls-parser`: that crate parses the
//! TLS 1.2 shape of Certificate (no request context, no per-entry
//! extensions), leaves CertificateVerify and key_share as raw bytes, accepts
//! a ClientHello without extensions or cipher suites, and lets duplicate
//! extensions through. The few structures needed here are length-prefixed
//! vectors, and a strict reader for them is short.
//!
//! Nothing here is trusted: the parser only says what the bytes claim. The
//! checks against the task, the params and the signatures are in the parent
//! module.

use std::fmt;

/// Handshake message types (RFC 8446 §4).
pub(crate) const CLIENT_HELLO: u8 = 1;
pub(crate) const SERVER_HELLO: u8 = 2;
pub(crate) const ENCRYPTED_EXTENSIONS: u8 = 8;
pub(crate) const CERTIFICATE: u8 = 11;
pub(crate) const CERTIFICATE_VERIFY: u8 = 15;
pub(crate) const FINISHED: u8 = 20;
/// The synthetic message that replaces ClientHello1 in the transcript after
/// a HelloRetryRequest (RFC 8446 §4.4.1).
pub(crate) const MESSAGE_HASH: u8 = 254;

/// The ServerHello.random that marks a HelloRetryRequest (RFC 8446 §4.1.3):
/// SHA-256 of "HelloRetryRequest".
pub(crate) const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// TLS 1.3 on the wire.
pub(crate) const TLS13: u16 = 0x0304;
/// `legacy_version` of every TLS 1.3 hello.
pub(crate) const LEGACY_VERSION: u16 = 0x0303;

// Extension types (RFC 8446 §4.2, RFC 6066, RFC 7301).
const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_PRE_SHARED_KEY: u16 = 41;
const EXT_EARLY_DATA: u16 = 42;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_COOKIE: u16 = 44;
const EXT_KEY_SHARE: u16 = 51;

/// Why bytes are not the message they claim to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn malformed(what: impl Into<String>) -> Malformed {
    Malformed(what.into())
}

/// A cursor over bytes that fails, never panics, when they run out.
struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.bytes.len() {
            return Err(malformed(format!(
                "{}: truncated ({n} bytes needed, {} left)",
                self.what,
                self.bytes.len()
            )));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Result<usize, Malformed> {
        let b = self.take(3)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    /// A vector with a `len_bytes`-byte length, its length within `min..=max`.
    fn vec(&mut self, len_bytes: u8, min: usize, max: usize) -> Result<&'a [u8], Malformed> {
        let len = match len_bytes {
            1 => usize::from(self.u8()?),
            2 => usize::from(self.u16()?),
            _ => self.u24()?,
        };
        if len < min || len > max {
            return Err(malformed(format!(
                "{}: a vector of {len} bytes, outside {min}..={max}",
                self.what
            )));
        }
        self.take(len)
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(malformed(format!(
                "{}: {} unexpected bytes at the end",
                self.what,
                self.bytes.len()
            )))
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Splits one whole handshake message into its type and body; the 24-bit
/// length must be exactly the body's.
pub(crate) fn split_message(message: &[u8]) -> Result<(u8, &[u8]), Malformed> {
    let mut r = Reader::new(message, "handshake message");
    let kind = r.u8()?;
    let len = r.u24()?;
    if len != r.bytes.len() {
        return Err(malformed(format!(
            "its header announces {len} bytes but {} follow",
            r.bytes.len()
        )));
    }
    Ok((kind, r.bytes))
}

/// The name of a handshake message type, for reasons.
pub(crate) fn message_name(kind: u8) -> String {
    match kind {
        0 => "HelloRequest".into(),
        CLIENT_HELLO => "ClientHello".into(),
        SERVER_HELLO => "ServerHello".into(),
        4 => "NewSessionTicket".into(),
        5 => "EndOfEarlyData".into(),
        ENCRYPTED_EXTENSIONS => "EncryptedExtensions".into(),
        CERTIFICATE => "Certificate".into(),
        12 => "ServerKeyExchange".into(),
        13 => "CertificateRequest".into(),
        14 => "ServerHelloDone".into(),
        CERTIFICATE_VERIFY => "CertificateVerify".into(),
        16 => "ClientKeyExchange".into(),
        FINISHED => "Finished".into(),
        24 => "KeyUpdate".into(),
        25 => "CompressedCertificate".into(),
        MESSAGE_HASH => "message_hash".into(),
        other => format!("an unknown message type ({other})"),
    }
}

/// An extension list: `Extension extensions<min..2^16-1>`, each type at most once.
fn extensions<'a>(
    r: &mut Reader<'a>,
    min: usize,
    what: &'static str,
) -> Result<Vec<(u16, &'a [u8])>, Malformed> {
    let block = r.vec(2, min, 0xffff)?;
    let mut list = Reader::new(block, what);
    let mut out: Vec<(u16, &'a [u8])> = Vec::new();
    while !list.is_empty() {
        let kind = list.u16()?;
        let data = list.vec(2, 0, 0xffff)?;
        if out.iter().any(|(k, _)| *k == kind) {
            return Err(malformed(format!("{what}: extension {kind} appears twice")));
        }
        out.push((kind, data));
    }
    Ok(out)
}

fn u16_list(
    data: &[u8],
    min: usize,
    max: usize,
    what: &'static str,
) -> Result<Vec<u16>, Malformed> {
    let mut r = Reader::new(data, what);
    let block = r.vec(2, min, max)?;
    r.end()?;
    if block.len() % 2 != 0 {
        return Err(malformed(format!("{what}: odd length {}", block.len())));
    }
    Ok(block
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect())
}

/// A ClientHello, with the extensions the checks read.
#[derive(Debug, Clone)]
pub(crate) struct ClientHello<'a> {
    pub(crate) random: &'a [u8],
    pub(crate) session_id: &'a [u8],
    pub(crate) cipher_suites: Vec<u16>,
    /// The one `host_name` of the server_name extension.
    pub(crate) server_name: Option<&'a [u8]>,
    /// ALPN protocol names, in order; `None` without the extension.
    pub(crate) alpn: Option<Vec<&'a [u8]>>,
    pub(crate) supported_versions: Vec<u16>,
    /// The groups of the key shares offered.
    pub(crate) key_shares: Vec<u16>,
    pub(crate) signature_algorithms: Vec<u16>,
    pub(crate) pre_shared_key: bool,
    pub(crate) early_data: bool,
    pub(crate) cookie: Option<&'a [u8]>,
}

/// Parses a ClientHello body (RFC 8446 §4.1.2).
pub(crate) fn client_hello(body: &[u8]) -> Result<ClientHello<'_>, Malformed> {
    let mut r = Reader::new(body, "ClientHello");
    let version = r.u16()?;
    if version != LEGACY_VERSION {
        return Err(malformed(format!(
            "ClientHello: legacy_version {version:#06x}, expected 0x0303"
        )));
    }
    let random = r.take(32)?;
    let session_id = r.vec(1, 0, 32)?;
    let suites = r.vec(2, 2, 0xfffe)?;
    if suites.len() % 2 != 0 {
        return Err(malformed("ClientHello: cipher_suites has an odd length"));
    }
    let compression = r.vec(1, 1, 0xff)?;
    if compression != [0] {
        return Err(malformed(
            "ClientHello: legacy_compression_methods must be exactly [null] in TLS 1.3",
        ));
    }
    let exts = extensions(&mut r, 8, "ClientHello extensions")?;
    r.end()?;
    let mut hello = ClientHello {
        random,
        session_id,
        cipher_suites: suites
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect(),
        server_name: None,
        alpn: None,
        supported_versions: Vec::new(),
        key_shares: Vec::new(),
        signature_algorithms: Vec::new(),
        pre_shared_key: false,
        early_data: false,
        cookie: None,
    };
    for (kind, data) in exts {
        match kind {
            EXT_SERVER_NAME => hello.server_name = Some(server_name(data)?),
            EXT_ALPN => hello.alpn = Some(alpn(data)?),
            EXT_SUPPORTED_VERSIONS => {
                let mut v = Reader::new(data, "ClientHello supported_versions");
                let list = v.vec(1, 2, 254)?;
                v.end()?;
                if list.len() % 2 != 0 {
                    return Err(malformed("ClientHello supported_versions: odd length"));
                }
                hello.supported_versions = list
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
            }
            EXT_KEY_SHARE => hello.key_shares = client_key_shares(data)?,
            EXT_SIGNATURE_ALGORITHMS => {
                hello.signature_algorithms =
                    u16_list(data, 2, 0xfffe, "ClientHello signature_algorithms")?;
            }
            EXT_SUPPORTED_GROUPS => {
                u16_list(data, 2, 0xfffe, "ClientHello supported_groups")?;
            }
            EXT_PRE_SHARED_KEY => hello.pre_shared_key = true,
            EXT_EARLY_DATA => hello.early_data = true,
            EXT_COOKIE => hello.cookie = Some(cookie(data, "ClientHello cookie")?),
            _ => {}
        }
    }
    Ok(hello)
}

/// `ServerNameList`: exactly one entry, of type host_name, an ASCII name.
fn server_name(data: &[u8]) -> Result<&[u8], Malformed> {
    let mut r = Reader::new(data, "ClientHello server_name");
    let list = r.vec(2, 1, 0xffff)?;
    r.end()?;
    let mut l = Reader::new(list, "ClientHello server_name");
    let name_type = l.u8()?;
    if name_type != 0 {
        return Err(malformed(format!(
            "ClientHello server_name: name type {name_type}, expected host_name (0)"
        )));
    }
    let name = l.vec(2, 1, 0xffff)?;
    if !l.is_empty() {
        return Err(malformed(
            "ClientHello server_name: more than one name (RFC 6066 allows one host_name)",
        ));
    }
    if !name.iter().all(|b| b.is_ascii_graphic()) {
        return Err(malformed(
            "ClientHello server_name: the host name is not printable ASCII",
        ));
    }
    Ok(name)
}

/// `ProtocolNameList protocol_name_list<2..2^16-1>` of `opaque ProtocolName<1..2^8-1>`.
fn alpn(data: &[u8]) -> Result<Vec<&[u8]>, Malformed> {
    let mut r = Reader::new(data, "ALPN");
    let list = r.vec(2, 2, 0xffff)?;
    r.end()?;
    let mut l = Reader::new(list, "ALPN");
    let mut names = Vec::new();
    while !l.is_empty() {
        names.push(l.vec(1, 1, 0xff)?);
    }
    Ok(names)
}

/// `KeyShareEntry client_shares<0..2^16-1>`: the groups, each at most once.
fn client_key_shares(data: &[u8]) -> Result<Vec<u16>, Malformed> {
    let mut r = Reader::new(data, "ClientHello key_share");
    let list = r.vec(2, 0, 0xffff)?;
    r.end()?;
    let mut l = Reader::new(list, "ClientHello key_share");
    let mut groups = Vec::new();
    while !l.is_empty() {
        let group = l.u16()?;
        l.vec(2, 1, 0xffff)?;
        if groups.contains(&group) {
            return Err(malformed(format!(
                "ClientHello key_share: group {group:#06x} offered twice"
            )));
        }
        groups.push(group);
    }
    Ok(groups)
}

fn cookie<'a>(data: &'a [u8], what: &'static str) -> Result<&'a [u8], Malformed> {
    let mut r = Reader::new(data, what);
    let c = r.vec(2, 1, 0xffff)?;
    r.end()?;
    Ok(c)
}

/// A ServerHello or a HelloRetryRequest (the same structure, told apart by
/// its random).
#[derive(Debug, Clone)]
pub(crate) struct ServerHello<'a> {
    pub(crate) retry_request: bool,
    pub(crate) session_id_echo: &'a [u8],
    pub(crate) cipher_suite: u16,
    /// The supported_versions extension's one version; `None` without it
    /// (TLS 1.2 or older).
    pub(crate) selected_version: Option<u16>,
    /// The key share's group (the selected_group of a HelloRetryRequest).
    pub(crate) key_share_group: Option<u16>,
    pub(crate) pre_shared_key: bool,
}

/// Parses a ServerHello body (RFC 8446 §4.1.3).
pub(crate) fn server_hello(body: &[u8]) -> Result<ServerHello<'_>, Malformed> {
    let mut r = Reader::new(body, "ServerHello");
    let version = r.u16()?;
    let random = r.take(32)?;
    let retry_request = random == HRR_RANDOM;
    let session_id_echo = r.vec(1, 0, 32)?;
    let cipher_suite = r.u16()?;
    let compression = r.u8()?;
    // A TLS 1.2 ServerHello may end here (no extensions): report it as what
    // it is rather than as truncated.
    let exts = if r.is_empty() {
        Vec::new()
    } else {
        extensions(&mut r, 6, "ServerHello extensions")?
    };
    r.end()?;
    let mut hello = ServerHello {
        retry_request,
        session_id_echo,
        cipher_suite,
        selected_version: None,
        key_share_group: None,
        pre_shared_key: false,
    };
    for (kind, data) in exts {
        match kind {
            EXT_SUPPORTED_VERSIONS => {
                let mut v = Reader::new(data, "ServerHello supported_versions");
                hello.selected_version = Some(v.u16()?);
                v.end()?;
            }
            EXT_KEY_SHARE => {
                let mut k = Reader::new(data, "ServerHello key_share");
                hello.key_share_group = Some(k.u16()?);
                if !retry_request {
                    k.vec(2, 1, 0xffff)?;
                }
                k.end()?;
            }
            EXT_PRE_SHARED_KEY => hello.pre_shared_key = true,
            EXT_COOKIE => {
                cookie(data, "HelloRetryRequest cookie")?;
            }
            _ => {}
        }
    }
    // Checked after the extensions so that a TLS 1.2 hello is reported by
    // its missing supported_versions, the more useful reason.
    if hello.selected_version.is_some() {
        if version != LEGACY_VERSION {
            return Err(malformed(format!(
                "ServerHello: legacy_version {version:#06x}, expected 0x0303"
            )));
        }
        if compression != 0 {
            return Err(malformed(
                "ServerHello: legacy_compression_method must be null in TLS 1.3",
            ));
        }
    }
    Ok(hello)
}

/// Parses an EncryptedExtensions body (RFC 8446 §4.3.1); returns whether
/// the server accepted early data.
pub(crate) fn encrypted_extensions(body: &[u8]) -> Result<bool, Malformed> {
    let mut r = Reader::new(body, "EncryptedExtensions");
    let exts = extensions(&mut r, 0, "EncryptedExtensions")?;
    r.end()?;
    for (kind, data) in &exts {
        if *kind == EXT_ALPN {
            let names = alpn(data)?;
            if names.len() != 1 {
                return Err(malformed(
                    "EncryptedExtensions: the server must select exactly one ALPN protocol",
                ));
            }
        }
    }
    Ok(exts.iter().any(|(k, _)| *k == EXT_EARLY_DATA))
}

/// Parses a server's Certificate body (RFC 8446 §4.4.2): the DER
/// certificates, end entity first, at least one and at most `max`.
pub(crate) fn certificate(body: &[u8], max: usize) -> Result<Vec<&[u8]>, Malformed> {
    let mut r = Reader::new(body, "Certificate");
    let context = r.vec(1, 0, 0xff)?;
    if !context.is_empty() {
        return Err(malformed(
            "Certificate: a server's certificate_request_context must be empty",
        ));
    }
    let list = r.vec(3, 0, 0xff_ffff)?;
    r.end()?;
    let mut l = Reader::new(list, "Certificate entries");
    let mut certs = Vec::new();
    while !l.is_empty() {
        if certs.len() == max {
            return Err(malformed(format!(
                "Certificate: more than {max} certificates (param max_certificates)"
            )));
        }
        certs.push(l.vec(3, 1, 0xff_ffff)?);
        extensions(&mut l, 0, "CertificateEntry extensions")?;
    }
    if certs.is_empty() {
        return Err(malformed("Certificate: the server sent no certificate"));
    }
    Ok(certs)
}

/// Parses a CertificateVerify body (RFC 8446 §4.4.3): the scheme and the
/// signature.
pub(crate) fn certificate_verify(body: &[u8]) -> Result<(u16, &[u8]), Malformed> {
    let mut r = Reader::new(body, "CertificateVerify");
    let scheme = r.u16()?;
    let signature = r.vec(2, 1, 0xffff)?;
    r.end()?;
    Ok((scheme, signature))
}

/// The header of a handshake message: type and 24-bit length.
pub(crate) fn header(kind: u8, len: usize) -> [u8; 4] {
    let l = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    [kind, l[1], l[2], l[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_that_lies_is_refused_without_panicking() {
        assert!(split_message(&[1, 0, 0, 5, 1, 2]).is_err());
        assert!(split_message(&[1, 0, 0]).is_err());
        assert!(split_message(&[]).is_err());
        assert_eq!(
            split_message(&[8, 0, 0, 2, 0, 0]).unwrap(),
            (8, &[0u8, 0][..])
        );
    }

    #[test]
    fn duplicate_extensions_are_refused() {
        let body = [0, 8, 0, 42, 0, 0, 0, 42, 0, 0];
        let err = encrypted_extensions(&body).unwrap_err();
        assert!(err.0.contains("appears twice"), "{err}");
    }
}
