//! The node's `[consensus]` table: the operator set, the BLS domain votes
//! and performer signatures are signed under, and the vote journal.
//!
//! Everything is read and checked at load: the operator set file (each BLS
//! key on the curve and in the subgroup, indexes, addresses and keys
//! unique), the task definitions' `restricted_operators` against it, and
//! this attester's own entry against its key. The journal is built in one
//! place, [`journal_from_config`].

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use alloy_primitives::B256;
use serde::Deserialize;
use taskproof_consensus::{
    bls,
    journal::{Journal, PostgresJournal, RedbJournal},
    operators::OperatorSet,
};
use taskproof_core::ConfigError;

use crate::Config;

/// The `[consensus]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsensusTable {
    #[serde(default)]
    operators: Option<PathBuf>,
    #[serde(default, deserialize_with = "optional_bytes32")]
    domain: Option<B256>,
    #[serde(default)]
    journal: Option<String>,
}

fn optional_bytes32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<B256>, D::Error> {
    taskproof_core::deserialize_bytes32(d).map(Some)
}

/// The `[consensus]` table, loaded: the operator set read and checked.
#[derive(Debug, Clone)]
pub struct Consensus {
    /// The operator set and the file it was read from, when configured.
    pub operators: Option<(PathBuf, Arc<OperatorSet>)>,
    /// The domain of performer BLS signatures and of votes (default
    /// `keccak256("TasksManager")`).
    pub domain: B256,
    /// Where votes are recorded before they are signed, as written.
    pub journal: Option<String>,
}

impl Default for Consensus {
    fn default() -> Self {
        Self {
            operators: None,
            domain: bls::TASKS_MANAGER_DOMAIN,
            journal: None,
        }
    }
}

/// The most bytes read from an operator set file.
const MAX_OPERATORS_FILE_BYTES: u64 = taskproof_core::MAX_CONFIG_BYTES;

impl Consensus {
    /// Reads the `[consensus]` table of the config file `path` (`None` when
    /// it has none) and the operator set file it names.
    pub(crate) fn load(value: Option<&toml::Value>, path: &Path) -> Result<Self, ConfigError> {
        let error = |file: &Path, key: String, message: String| ConfigError {
            file: file.to_owned(),
            task_definition: None,
            key,
            message,
        };
        let Some(value) = value else {
            return Ok(Self::default());
        };
        let table: ConsensusTable =
            serde_path_to_error::deserialize(value.clone()).map_err(|e| {
                let key = format!("consensus.{}", e.path());
                error(
                    path,
                    key.trim_end_matches('.').to_owned(),
                    e.into_inner().to_string(),
                )
            })?;
        let operators = match table.operators {
            None => None,
            Some(file) => {
                let resolved = match path.parent() {
                    Some(dir) if file.is_relative() => dir.join(&file),
                    _ => file,
                };
                let bytes = taskproof_core::read_capped(&resolved, MAX_OPERATORS_FILE_BYTES)
                    .map_err(|e| {
                        error(
                            path,
                            "consensus.operators".into(),
                            format!("cannot read {}: {e}", resolved.display()),
                        )
                    })?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    error(
                        path,
                        "consensus.operators".into(),
                        format!("{} is not UTF-8 text", resolved.display()),
                    )
                })?;
                let set = OperatorSet::from_toml_str(&text).map_err(|e| {
                    let message = match e.operator {
                        Some(index) => format!("operator {index}: {}", e.message),
                        None => e.message,
                    };
                    error(&resolved, e.key, message)
                })?;
                Some((resolved, Arc::new(set)))
            }
        };
        Ok(Self {
            operators,
            domain: table.domain.unwrap_or(bls::TASKS_MANAGER_DOMAIN),
            journal: table.journal,
        })
    }

    /// The operator set, when configured.
    pub fn operator_set(&self) -> Option<&OperatorSet> {
        self.operators.as_ref().map(|(_, set)| &**set)
    }
}

/// Where votes are recorded when `[consensus] journal` is not set: a redb
/// file next to the config.
pub const DEFAULT_JOURNAL: &str = "taskproof-journal.redb";

/// The journal votes are recorded in before they are signed, as the config
/// names it: `postgres://…` (or `postgresql://…`) for a PostgreSQL journal
/// shared by replicas, else a redb file (relative to the config file's
/// folder). Unset, it is [`DEFAULT_JOURNAL`] for a node that can sign votes
/// (it has an attester key), and none for one that only validates. Opening
/// it is part of start-up: a journal that cannot be opened stops the node.
///
/// The one place a journal is built from config, so that every backend is
/// chosen here.
pub async fn journal_from_config(
    config: &Config,
    signs_votes: bool,
) -> Result<Option<Arc<dyn Journal>>, ConfigError> {
    let error = |message: String| ConfigError {
        file: config.path.clone(),
        task_definition: None,
        key: "consensus.journal".into(),
        message,
    };
    let named = match &config.consensus.journal {
        Some(named) => named.as_str(),
        None if signs_votes => DEFAULT_JOURNAL,
        None => return Ok(None),
    };
    if named.starts_with("postgres://") || named.starts_with("postgresql://") {
        let journal = PostgresJournal::connect(named)
            .await
            .map_err(|e| error(e.to_string()))?;
        tracing::info!(journal = %journal.target(), "vote journal: PostgreSQL");
        return Ok(Some(Arc::new(journal)));
    }
    if named.trim().is_empty() {
        return Err(error(
            "is empty: name a redb file or a postgres:// URL".into(),
        ));
    }
    let path = config
        .path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(named);
    let journal = RedbJournal::open(&path).map_err(|e| error(e.to_string()))?;
    tracing::info!(journal = %path.display(), "vote journal: redb");
    Ok(Some(Arc::new(journal)))
}
