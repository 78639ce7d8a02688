//! The node's own settings: the `[node]` table of the config file, and who
//! this attester is ([`Attester`]: its key, index and voting power, from the
//! operator set when `[consensus]` names one).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy_primitives::{Address, B256, U256};
use serde::Deserialize;
use taskproof_core::{ConfigError, Registry, TaskDefinitions};

/// The `[node]` table. Every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Address to listen on (default `127.0.0.1:4002`, Othentic's validation port).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// A second address serving only `/healthz` and `/metrics`, which keeps
    /// answering when the validation listener is saturated (default: none).
    #[serde(default)]
    pub admin_listen: Option<SocketAddr>,
    /// Most connections open at once on the validation listener (default
    /// 512); past it only `/healthz` and `/metrics` are answered.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Largest accepted request body, in bytes (default 1 MiB).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Request bytes held in memory at once, all connections together
    /// (default 64 MiB); past it requests get 503.
    #[serde(default = "default_max_buffered_body_bytes")]
    pub max_buffered_body_bytes: usize,
    /// Time from a request's first byte to its last header line (default
    /// 5000 ms).
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Time for a request body to arrive once its headers have (default
    /// 10000 ms).
    #[serde(default = "default_body_read_timeout_ms")]
    pub body_read_timeout_ms: u64,
    /// A connection with no request in progress and no bytes moving is closed
    /// after this long (default 30000 ms).
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// After a shutdown signal, connections still open this long are closed
    /// (default 10000 ms).
    #[serde(default = "default_shutdown_timeout_ms")]
    pub shutdown_timeout_ms: u64,
    /// Most verifications admitted at once; beyond it requests get 503
    /// (default 4096).
    #[serde(default = "default_max_pending")]
    pub max_pending: usize,
    /// How long a request may wait for one of the `max_pending` slots before
    /// it is refused with 503 (default 100 ms).
    #[serde(default = "default_admission_wait_ms")]
    pub admission_wait_ms: u64,
    /// Per-verification time limit in milliseconds; past it the verdict is
    /// undecided (default 10000). A task definition's `timeout_ms` overrides it.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Group concurrent requests for verifiers that batch (default true).
    #[serde(default = "default_true")]
    pub batching: bool,
    /// The AttestationCenter contract votes are signed for (`sendTask`).
    #[serde(default)]
    pub attestation_center: Option<Address>,
    /// The chain id votes are signed for (`sendTask`).
    #[serde(default)]
    pub chain_id: Option<u64>,
    /// A file holding the attester's hex private key.
    #[serde(default)]
    pub attester_key_file: Option<PathBuf>,
    /// The environment variable holding the attester's hex private key, used
    /// when `attester_key_file` is not set (default `TASKPROOF_ATTESTER_KEY`).
    #[serde(default = "default_key_env")]
    pub attester_key_env: String,
    /// This attester's operator index, checked against task definitions'
    /// `restricted_operators` (with an operator set, it must agree with it).
    #[serde(default)]
    pub operator_index: Option<u64>,
    /// This attester's voting power, checked against task definitions'
    /// `minimum_voting_power`: an integer, or a decimal string up to uint256
    /// (with an operator set, it must agree with it).
    #[serde(default, deserialize_with = "optional_uint256")]
    pub voting_power: Option<U256>,
}

fn optional_uint256<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<U256>, D::Error> {
    taskproof_core::deserialize_uint256(d).map(Some)
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 4002))
}
fn default_max_body_bytes() -> usize {
    1 << 20
}
fn default_max_connections() -> usize {
    512
}
fn default_max_buffered_body_bytes() -> usize {
    64 << 20
}
fn default_header_read_timeout_ms() -> u64 {
    5_000
}
fn default_body_read_timeout_ms() -> u64 {
    10_000
}
fn default_idle_timeout_ms() -> u64 {
    30_000
}
fn default_shutdown_timeout_ms() -> u64 {
    10_000
}
fn default_max_pending() -> usize {
    4096
}
fn default_admission_wait_ms() -> u64 {
    100
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_true() -> bool {
    true
}
fn default_key_env() -> String {
    "TASKPROOF_ATTESTER_KEY".into()
}

impl Default for NodeConfig {
    fn default() -> Self {
        toml::from_str("").expect("every [node] key has a default")
    }
}

impl NodeConfig {
    /// The per-verification time limit.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The checks serde cannot make: `(key, message)` of the first mistake.
    fn check(&self) -> Result<(), (&'static str, String)> {
        let positive = [
            ("node.max_body_bytes", self.max_body_bytes as u64),
            ("node.max_pending", self.max_pending as u64),
            ("node.max_connections", self.max_connections as u64),
            ("node.timeout_ms", self.timeout_ms),
            ("node.header_read_timeout_ms", self.header_read_timeout_ms),
            ("node.body_read_timeout_ms", self.body_read_timeout_ms),
            ("node.idle_timeout_ms", self.idle_timeout_ms),
            ("node.shutdown_timeout_ms", self.shutdown_timeout_ms),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err((key, "must be greater than 0".into()));
            }
        }
        if self.max_buffered_body_bytes < self.max_body_bytes {
            return Err((
                "node.max_buffered_body_bytes",
                format!(
                    "must be at least node.max_body_bytes ({}), or no body of the largest size could ever be read",
                    self.max_body_bytes
                ),
            ));
        }
        if self.listen.port() != 0 && self.admin_listen == Some(self.listen) {
            return Err(("node.admin_listen", "must differ from node.listen".into()));
        }
        Ok(())
    }
}

/// A whole config file: the node's settings and its task definitions.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// The `[node]` table.
    pub node: NodeConfig,
    /// The task definitions, verifiers built.
    pub task_definitions: TaskDefinitions,
    /// The `[consensus]` table: the operator set, the domain, the journal.
    #[cfg(feature = "bls")]
    pub consensus: crate::consensus::Consensus,
}

/// Who this attester is: its key, and its operator index and voting power
/// (from the operator set when there is one, else from `[node]`).
#[derive(Debug, Clone, Default)]
pub struct Attester {
    /// The attester's key, when configured.
    pub key: Option<AttesterKey>,
    /// Its operator index.
    pub operator_index: Option<u64>,
    /// Its voting power.
    pub voting_power: Option<U256>,
}

impl Config {
    /// Reads a config file and builds every verifier in it.
    pub fn load(path: &Path, registry: &Registry) -> Result<Self, ConfigError> {
        let error = |key: &str, message: String| ConfigError {
            file: path.to_owned(),
            task_definition: None,
            key: key.into(),
            message,
        };
        let text = taskproof_core::read_config_text(path)?;
        // Parsed once: the node reads `[node]`, core the task definitions.
        let document = taskproof_core::parse_document(&text, path)?;
        if let Some(key) = document
            .keys()
            .find(|k| !matches!(k.as_str(), "node" | "task_definitions" | "consensus"))
        {
            return Err(error(
                key,
                "unknown top-level key (expected `node`, `consensus` or `task_definitions`)".into(),
            ));
        }
        #[cfg(not(feature = "bls"))]
        if document.contains_key("consensus") {
            return Err(error(
                "consensus",
                "this taskproof was built without the `bls` cargo feature (the consensus crate: operator set, BLS, vote journal); build it with `--features bls` or remove the table".into(),
            ));
        }
        #[cfg(feature = "bls")]
        let consensus = crate::consensus::Consensus::load(document.get("consensus"), path)?;
        let task_definitions =
            TaskDefinitions::from_value(document.get("task_definitions"), path, registry)?;
        let node = match document.get("node") {
            None => NodeConfig::default(),
            Some(value) => serde_path_to_error::deserialize(value.clone()).map_err(|e| {
                let key = format!("node.{}", e.path());
                error(key.trim_end_matches('.'), e.into_inner().to_string())
            })?,
        };
        node.check().map_err(|(key, message)| error(key, message))?;
        if task_definitions.is_empty() {
            return Err(error(
                "task_definitions",
                "no task definitions: the node would answer every task with TaskDefinitionNotFound; add a [[task_definitions]] table".into(),
            ));
        }
        for def in task_definitions.iter() {
            let deadline = def.timeout.unwrap_or(node.timeout());
            if let Some(needed) = def.verifier.time_needed()
                && needed > deadline
            {
                let whose = if def.timeout.is_some() {
                    "its `timeout_ms`"
                } else {
                    "`node.timeout_ms`"
                };
                return Err(ConfigError {
                    file: path.to_owned(),
                    task_definition: Some(def.id),
                    key: "timeout_ms".into(),
                    message: format!(
                        "the verifier's own limits allow {} ms (its retrieval timeouts), more than the {} ms deadline of {whose}: the verifier's limits could never act; raise the deadline or lower them",
                        needed.as_millis(),
                        deadline.as_millis()
                    ),
                });
            }
        }
        #[cfg(feature = "bls")]
        if let Some((file, set)) = &consensus.operators {
            for def in task_definitions.iter() {
                if let Some(index) = def
                    .restricted_operators
                    .iter()
                    .find(|&&i| set.by_index(i).is_none())
                {
                    return Err(ConfigError {
                        file: path.to_owned(),
                        task_definition: Some(def.id),
                        key: "restricted_operators".into(),
                        message: format!(
                            "operator {index} is not in the operator set {}",
                            file.display()
                        ),
                    });
                }
            }
        }
        Ok(Self {
            path: path.to_owned(),
            node,
            task_definitions,
            #[cfg(feature = "bls")]
            consensus,
        })
    }

    /// Who this attester is: its key ([`Config::attester_key`]) and, when
    /// the config has an operator set, its entry there, found by the key's
    /// address. With a set, the attester must be in it, its key must derive
    /// the BLS key registered there, and `node.operator_index` and
    /// `node.voting_power`, when given, must agree with it.
    pub fn attester(&self) -> Result<Attester, ConfigError> {
        let key = self.attester_key()?;
        let from_node = Attester {
            key: key.clone(),
            operator_index: self.node.operator_index,
            voting_power: self.node.voting_power,
        };
        #[cfg(feature = "bls")]
        if let (Some(key), Some((file, set))) = (&key, &self.consensus.operators) {
            let error = |key: &str, message: String| ConfigError {
                file: self.path.clone(),
                task_definition: None,
                key: key.into(),
                message,
            };
            let Some(operator) = set.by_address(&key.address()) else {
                return Err(error(
                    "consensus.operators",
                    format!(
                        "the attester {} is not in the operator set {}",
                        key.address(),
                        file.display()
                    ),
                ));
            };
            if key.bls_key().public_key() != operator.bls_public_key {
                return Err(error(
                    "consensus.operators",
                    format!(
                        "operator {}'s BLS key in {} is not the one the attester key derives (Othentic derives it from the key as kept: `0x` and the case of the digits count; `taskproof bls public-key --key-file` prints the derived key)",
                        operator.index,
                        file.display()
                    ),
                ));
            }
            if let Some(index) = self.node.operator_index.filter(|&i| i != operator.index) {
                return Err(error(
                    "node.operator_index",
                    format!(
                        "is {index}, but the operator set {} gives the attester {} index {}; remove the key or make it agree",
                        file.display(),
                        key.address(),
                        operator.index
                    ),
                ));
            }
            if let Some(power) = self
                .node
                .voting_power
                .filter(|&p| p != operator.voting_power)
            {
                return Err(error(
                    "node.voting_power",
                    format!(
                        "is {power}, but the operator set {} gives operator {} a voting power of {}; remove the key or make it agree",
                        file.display(),
                        operator.index,
                        operator.voting_power
                    ),
                ));
            }
            return Ok(Attester {
                key: Some(key.clone()),
                operator_index: Some(operator.index),
                voting_power: Some(operator.voting_power),
            });
        }
        Ok(from_node)
    }

    /// Resolves a path relative to the config file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_owned(),
        }
    }

    /// Loads the attester key from `attester_key_file` or the environment
    /// variable `attester_key_env`; `None` when neither is set. The key's
    /// text never appears in an error.
    pub fn attester_key(&self) -> Result<Option<AttesterKey>, ConfigError> {
        let error = |key: &str, message: String| ConfigError {
            file: self.path.clone(),
            task_definition: None,
            key: key.into(),
            message,
        };
        if let Some(file) = &self.node.attester_key_file {
            let resolved = self.resolve(file);
            let text = taskproof_core::read_capped(&resolved, 4096)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .map_err(|e| {
                    error(
                        "node.attester_key_file",
                        format!("cannot read {}: {e}", resolved.display()),
                    )
                })?;
            return AttesterKey::parse(&text)
                .map(Some)
                .map_err(|NotAPrivateKey| {
                    error(
                        "node.attester_key_file",
                        format!(
                            "{} does not hold a 32-byte hex private key",
                            resolved.display()
                        ),
                    )
                });
        }
        match std::env::var(&self.node.attester_key_env) {
            Ok(text) => AttesterKey::parse(&text)
                .map(Some)
                .map_err(|NotAPrivateKey| {
                    error(
                        "node.attester_key_env",
                        format!(
                            "${} does not hold a 32-byte hex private key",
                            self.node.attester_key_env
                        ),
                    )
                }),
            Err(_) => Ok(None),
        }
    }
}

/// A text that is not a secp256k1 private key. Deliberately says nothing of
/// the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a 32-byte hex secp256k1 private key")]
pub struct NotAPrivateKey;

/// The attester's signing key (and the BLS key Othentic derives from it).
/// Its `Debug` shows only the address.
#[derive(Clone)]
pub struct AttesterKey {
    secret: secp256k1::SecretKey,
    address: Address,
    #[cfg(feature = "bls")]
    bls: taskproof_consensus::bls::SecretKey,
}

impl AttesterKey {
    /// Parses a hex private key (with or without `0x`, surrounding whitespace
    /// ignored). The error carries nothing of the input.
    pub fn parse(text: &str) -> Result<Self, NotAPrivateKey> {
        let kept = text.trim();
        let hex = kept.strip_prefix("0x").unwrap_or(kept);
        let bytes: B256 = hex.parse().map_err(|_| NotAPrivateKey)?;
        let secret = secp256k1::SecretKey::from_byte_array(bytes.0).map_err(|_| NotAPrivateKey)?;
        let point = secret
            .public_key(secp256k1::SECP256K1)
            .serialize_uncompressed();
        Ok(Self {
            secret,
            address: Address::from_raw_public_key(&point[1..]),
            // Othentic hashes the key string as the operator keeps it (its
            // `0x` and the case of its digits change the BLS key), so the
            // trimmed text is used, not the parsed bytes.
            #[cfg(feature = "bls")]
            bls: taskproof_consensus::bls::SecretKey::from_operator_key(kept)
                .map_err(|_| NotAPrivateKey)?,
        })
    }

    /// The attester's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest raw, as `eth_sign`'s inner step and alloy's
    /// `sign_hash` do: RFC 6979 nonces, low s, 65 bytes r‖s‖v with v = 27 or
    /// 28. libsecp256k1 (already the node's recovery backend) rather than
    /// alloy's local signer, whose transaction and network types would
    /// double the build of this crate's dependencies for one call.
    pub fn sign_hash(&self, hash: &B256) -> [u8; 65] {
        let message = secp256k1::Message::from_digest(hash.0);
        let (id, rs) = secp256k1::SECP256K1
            .sign_ecdsa_recoverable(message, &self.secret)
            .serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&rs);
        out[64] = 27 + i32::from(id) as u8;
        out
    }

    /// The attester's BLS key, derived from its ECDSA key string as
    /// Othentic derives it (`taskproof bls public-key` prints its public key).
    #[cfg(feature = "bls")]
    pub fn bls_key(&self) -> &taskproof_consensus::bls::SecretKey {
        &self.bls
    }
}

impl std::fmt::Debug for AttesterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AttesterKey({})", self.address())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attester_key_debug_and_errors_never_show_the_key() {
        let secret = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
        let key = AttesterKey::parse(secret).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("4c0883a6"), "{shown}");
        assert!(shown.contains(&key.address().to_string()));
        assert!(AttesterKey::parse("0x1234").is_err());
    }

    /// The attester's address and signatures are alloy's local signer's, bit
    /// for bit (both use RFC 6979 nonces and low s), so a vote verifies
    /// wherever an alloy-signed one would.
    #[test]
    fn attester_key_signs_exactly_as_alloys_local_signer() {
        use alloy_primitives::keccak256;
        use alloy_signer::SignerSync;
        let keys = [
            "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
            "0000000000000000000000000000000000000000000000000000000000000001",
            "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140",
            "0x00000000000000000000000000000000000000000000000000000000deadbeef",
        ];
        for text in keys {
            let ours = AttesterKey::parse(text).unwrap();
            let hex = text.trim_start_matches("0x");
            let bytes: B256 = hex.parse().unwrap();
            let alloy = alloy_signer_local::PrivateKeySigner::from_bytes(&bytes).unwrap();
            assert_eq!(ours.address(), alloy.address(), "{text}");
            for i in 0u32..64 {
                let hash = keccak256(i.to_be_bytes());
                let expected = alloy.sign_hash_sync(&hash).unwrap().as_bytes();
                assert_eq!(ours.sign_hash(&hash), expected, "{text} #{i}");
            }
        }
        // Zero and the group order are not keys.
        assert!(AttesterKey::parse(&format!("0x{}", "0".repeat(64))).is_err());
        assert!(
            AttesterKey::parse(
                "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
            )
            .is_err()
        );
    }

    #[test]
    fn node_defaults_match_othentic_port() {
        let n = NodeConfig::default();
        assert_eq!(n.listen.port(), 4002);
        assert_eq!(n.max_body_bytes, 1 << 20);
        assert!(n.batching);
    }
}
