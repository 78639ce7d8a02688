//! Task definitions, loaded from the attester's TOML config.
//!
//! Every verifier is built here, once, at load time; every mistake (an unknown
//! kind, a missing or mistyped param, an unreadable key file, a duplicate id)
//! is reported with the file, the task definition and the key, so a node
//! never starts with a definition that would fail at its first request.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, de::DeserializeOwned};

use crate::{Registry, Verifier};

/// The most bytes read from a config file.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The most bytes [`BuildContext::read_file`] reads from a file a param names;
/// kinds with larger files use [`BuildContext::read_file_capped`].
pub const MAX_PARAM_FILE_BYTES: u64 = 64 << 20;

/// Reads an amount as the contracts hold it (`uint256`): a TOML integer
/// `>= 0`, or a decimal string of digits (`"1000000000000000000000"`) when it
/// does not fit TOML's 64-bit integers. Signs, spaces, leading zeros and
/// values of 2²⁵⁶ or more are refused.
pub fn deserialize_uint256<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Integer(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Integer(i) => u64::try_from(i)
            .map(U256::from)
            .map_err(|_| serde::de::Error::custom("must not be negative")),
        Raw::Text(s) => parse_uint256(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{} is not a decimal integer below 2^256 (digits only, no sign, spaces or leading zeros)",
                crate::quote(&s)
            ))
        }),
    }
}

/// Reads 32 bytes (a root, a hash, a schema UID) written as `0x` and 64 hex
/// digits, with an error that says what was expected and what was given
/// (`expected 32 bytes (0x and 64 hex digits), got 1`).
pub fn deserialize_bytes32<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<alloy_primitives::B256, D::Error> {
    let text = String::deserialize(d)?;
    let hex = text.strip_prefix("0x").ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected 32 bytes as 0x and 64 hex digits, got {} without 0x",
            crate::quote(&text)
        ))
    })?;
    let bytes = alloy_primitives::hex::decode(hex).map_err(|_| {
        serde::de::Error::custom(format!(
            "expected 32 bytes as 0x and 64 hex digits, got {}, which is not hex",
            crate::quote(&text)
        ))
    })?;
    alloy_primitives::B256::try_from(bytes.as_slice()).map_err(|_| {
        serde::de::Error::custom(format!(
            "expected 32 bytes (0x and 64 hex digits), got {}",
            bytes.len()
        ))
    })
}

/// A canonical decimal `uint256`: digits only, no leading zero but `"0"`.
pub(crate) fn parse_uint256(s: &str) -> Option<U256> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical || s.len() > 78 {
        return None;
    }
    U256::from_str_radix(s, 10).ok()
}

/// A configuration mistake, located by file, task definition and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// The task definition id, when the mistake is inside one.
    pub task_definition: Option<u16>,
    /// The dotted key, e.g. `params.verification_key`; empty for syntax errors.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(id) = self.task_definition {
            write!(f, ": task definition {id}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// One task definition with its verifier, ready to judge tasks.
#[derive(Clone)]
pub struct TaskDefinition {
    /// `taskDefinitionId`.
    pub id: u16,
    /// A human-readable name, used in logs and metrics.
    pub name: String,
    /// The verifier kind name.
    pub kind: String,
    /// Operators with less voting power may not attest
    /// (`OperatorDoesNotHaveMinimumVotingPower`).
    pub minimum_voting_power: U256,
    /// When non-empty, only these operator indexes may attest
    /// (`InvalidRestrictedOperator`).
    pub restricted_operators: Vec<u64>,
    /// A per-definition verification timeout overriding the node's.
    pub timeout: Option<Duration>,
    /// The most verifications of this definition admitted at once, below the
    /// node's own bound (so one slow kind cannot take every slot).
    pub max_pending: Option<usize>,
    /// The verifier built from the definition's params.
    pub verifier: Arc<dyn Verifier>,
}

impl fmt::Debug for TaskDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskDefinition")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("minimum_voting_power", &self.minimum_voting_power)
            .field("restricted_operators", &self.restricted_operators)
            .field("timeout", &self.timeout)
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

/// All task definitions of a config file, by id.
#[derive(Clone, Debug, Default)]
pub struct TaskDefinitions {
    definitions: BTreeMap<u16, TaskDefinition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    id: u16,
    name: String,
    verifier: String,
    #[serde(default, deserialize_with = "deserialize_uint256")]
    minimum_voting_power: U256,
    #[serde(default)]
    restricted_operators: Vec<u64>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    max_pending: Option<usize>,
    #[serde(default)]
    params: toml::Table,
}

/// A nested verifier, as a param: `then = { verifier = "oracle", params = { ... } }`.
///
/// Verifiers that produce content (IPFS, EigenDA) hand it to an inner verifier
/// as its proof of task; [`BuildContext::build_inner`] builds it through the
/// same registry, with errors located under the param's key.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InnerVerifier {
    /// The inner verifier's kind.
    pub verifier: String,
    /// The inner verifier's params.
    #[serde(default)]
    pub params: toml::Table,
}

impl TaskDefinitions {
    /// Reads and builds every task definition of a config file.
    pub fn load(file: &Path, registry: &Registry) -> Result<Self, ConfigError> {
        let text = read_config_text(file)?;
        Self::from_toml_str(&text, file, registry)
    }

    /// Builds every task definition of a config text holding only
    /// `[[task_definitions]]` tables. `file` locates errors and anchors
    /// relative paths (they are relative to the file's folder).
    ///
    /// A node's config file, which also holds the node's own tables, is read
    /// by the node, which parses the document once and hands the
    /// `task_definitions` value to [`TaskDefinitions::from_value`].
    pub fn from_toml_str(
        text: &str,
        file: &Path,
        registry: &Registry,
    ) -> Result<Self, ConfigError> {
        let document = parse_document(text, file)?;
        if let Some(key) = document.keys().find(|k| *k != "task_definitions") {
            return Err(ConfigError {
                file: file.to_owned(),
                task_definition: None,
                key: key.clone(),
                message: "unknown top-level key (expected `task_definitions`)".into(),
            });
        }
        Self::from_value(document.get("task_definitions"), file, registry)
    }

    /// Builds the task definitions of a document's `task_definitions` value
    /// (`None` when the document has none).
    pub fn from_value(
        value: Option<&toml::Value>,
        file: &Path,
        registry: &Registry,
    ) -> Result<Self, ConfigError> {
        let error = |task_definition: Option<u16>, key: String, message: String| ConfigError {
            file: file.to_owned(),
            task_definition,
            key,
            message,
        };
        let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let raw = match value {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items.clone(),
            Some(_) => {
                return Err(error(
                    None,
                    "task_definitions".into(),
                    "must be an array of tables ([[task_definitions]])".into(),
                ));
            }
        };
        // Every definition is read and checked first, then all verifiers are
        // built at once: building may compile a plugin or read a large file,
        // and a node with several such definitions should not start one
        // after the other. The first error in file order is reported.
        let mut checked: Vec<(RawDefinition, &Arc<dyn crate::VerifierFactory>)> = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for (position, item) in raw.into_iter().enumerate() {
            let id = item.get("id").and_then(toml::Value::as_integer);
            let id16 = id.and_then(|i| u16::try_from(i).ok());
            let def: RawDefinition = serde_path_to_error::deserialize(item).map_err(|e| {
                let key = e.path().to_string();
                let message = e.into_inner().to_string();
                match (id, id16) {
                    (Some(_), Some(id)) => error(Some(id), key, message),
                    _ => error(
                        None,
                        format!("task_definitions[{position}].{key}"),
                        if id.is_some() {
                            "`id` must be a taskDefinitionId between 0 and 65535".into()
                        } else {
                            message
                        },
                    ),
                }
            })?;
            if !ids.insert(def.id) {
                return Err(error(
                    Some(def.id),
                    "id".into(),
                    "duplicate task definition id".into(),
                ));
            }
            let Some(factory) = registry.get(&def.verifier) else {
                let known: Vec<&str> = registry.kinds().collect();
                return Err(error(
                    Some(def.id),
                    "verifier".into(),
                    format!(
                        "unknown verifier kind `{}` (known kinds: {})",
                        def.verifier,
                        known.join(", ")
                    ),
                ));
            };
            if def.timeout_ms == Some(0) {
                return Err(error(
                    Some(def.id),
                    "timeout_ms".into(),
                    "must be greater than 0".into(),
                ));
            }
            if def.max_pending == Some(0) {
                return Err(error(
                    Some(def.id),
                    "max_pending".into(),
                    "must be at least 1".into(),
                ));
            }
            checked.push((def, factory));
        }
        let build = |(def, factory): &(RawDefinition, &Arc<dyn crate::VerifierFactory>)| {
            factory.build(&BuildContext {
                file,
                base_dir: &base_dir,
                task_definition_id: def.id,
                name: &def.name,
                params: &def.params,
                key_prefix: "params".into(),
                registry,
            })
        };
        let built = build_all(&checked, build);
        let mut definitions = BTreeMap::new();
        for ((def, _), verifier) in checked.into_iter().zip(built) {
            let verifier = verifier?;
            definitions.insert(
                def.id,
                TaskDefinition {
                    id: def.id,
                    name: def.name,
                    kind: def.verifier,
                    minimum_voting_power: def.minimum_voting_power,
                    restricted_operators: def.restricted_operators,
                    timeout: def.timeout_ms.map(Duration::from_millis),
                    max_pending: def.max_pending,
                    verifier,
                },
            );
        }
        Ok(Self { definitions })
    }

    /// A set of definitions assembled in code (tests, embedding).
    pub fn from_definitions(definitions: impl IntoIterator<Item = TaskDefinition>) -> Self {
        Self {
            definitions: definitions.into_iter().map(|d| (d.id, d)).collect(),
        }
    }

    /// The definition for a `taskDefinitionId`.
    pub fn get(&self, id: u16) -> Option<&TaskDefinition> {
        self.definitions.get(&id)
    }

    /// All definitions, by increasing id.
    pub fn iter(&self) -> impl Iterator<Item = &TaskDefinition> {
        self.definitions.values()
    }

    /// The number of definitions.
    pub fn len(&self) -> usize {
        self.definitions.len()
    }

    /// True when there are no definitions.
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
    }
}

/// Runs `build` on every item, on up to [`crate::cpu::parallelism`] threads
/// at once (the calling thread among them), and returns the results in the
/// items' order.
fn build_all<T: Sync, R: Send>(items: &[T], build: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break mine };
            mine.push((i, build(item)));
        }
    };
    let helpers = crate::cpu::parallelism().min(items.len()).saturating_sub(1);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        // A thread that cannot be started leaves its share to the others.
        let handles: Vec<_> = (0..helpers)
            .filter_map(|_| {
                // The main thread's stack size: a build may recurse deeply.
                std::thread::Builder::new()
                    .name("taskproof-load".into())
                    .stack_size(8 << 20)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        let mut results = work();
        for handle in handles {
            results.extend(
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        results
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Parses a config text into its top-level table, errors located in `file`.
pub fn parse_document(text: &str, file: &Path) -> Result<toml::Table, ConfigError> {
    text.parse().map_err(|e: toml::de::Error| ConfigError {
        file: file.to_owned(),
        task_definition: None,
        key: String::new(),
        message: e.to_string().trim_end().to_owned(),
    })
}

/// Reads a config file as UTF-8 text, at most [`MAX_CONFIG_BYTES`].
pub fn read_config_text(file: &Path) -> Result<String, ConfigError> {
    let error = |message: String| ConfigError {
        file: file.to_owned(),
        task_definition: None,
        key: String::new(),
        message,
    };
    let bytes = crate::read_capped(file, MAX_CONFIG_BYTES)
        .map_err(|e| error(format!("cannot read the config file: {e}")))?;
    String::from_utf8(bytes).map_err(|_| error("the config file is not UTF-8 text".into()))
}

/// What a [`crate::VerifierFactory`] sees while building: the params, where
/// they come from, and the registry for nested verifiers.
pub struct BuildContext<'a> {
    file: &'a Path,
    base_dir: &'a Path,
    task_definition_id: u16,
    name: &'a str,
    params: &'a toml::Table,
    key_prefix: String,
    registry: &'a Registry,
}

impl<'a> BuildContext<'a> {
    /// A context for building a verifier outside a config file (tests,
    /// benches, embedding). Relative paths resolve against `base_dir`.
    pub fn standalone(params: &'a toml::Table, base_dir: &'a Path, registry: &'a Registry) -> Self {
        Self {
            file: Path::new("<params>"),
            base_dir,
            task_definition_id: 0,
            name: "standalone",
            params,
            key_prefix: "params".into(),
            registry,
        }
    }

    /// The task definition being built.
    pub fn task_definition_id(&self) -> u16 {
        self.task_definition_id
    }

    /// The task definition's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The raw params table.
    pub fn raw_params(&self) -> &toml::Table {
        self.params
    }

    /// Deserializes the params into the verifier's own type. Use
    /// `#[serde(deny_unknown_fields)]` on it so a misspelt key is an error.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(toml::Value::Table(self.params.clone())).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." { String::new() } else { path };
            self.error(&key, e.into_inner().to_string())
        })
    }

    /// An error about the param `key` (relative to the params table; empty
    /// for the table itself).
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            task_definition: Some(self.task_definition_id),
            key: if key.is_empty() {
                self.key_prefix.clone()
            } else {
                format!("{}.{key}", self.key_prefix)
            },
            message: message.into(),
        }
    }

    /// Resolves a path param relative to the config file's folder.
    pub fn resolve_path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        }
    }

    /// Reads the file named by the path param `key`, at most
    /// [`MAX_PARAM_FILE_BYTES`], with an error naming the key and the resolved
    /// path when it cannot be read.
    pub fn read_file(&self, key: &str, path: impl AsRef<Path>) -> Result<Vec<u8>, ConfigError> {
        self.read_file_capped(key, path, MAX_PARAM_FILE_BYTES)
    }

    /// [`BuildContext::read_file`] with a limit of the kind's choosing.
    pub fn read_file_capped(
        &self,
        key: &str,
        path: impl AsRef<Path>,
        limit: u64,
    ) -> Result<Vec<u8>, ConfigError> {
        let resolved = self.resolve_path(path);
        crate::read_capped(&resolved, limit)
            .map_err(|e| self.error(key, format!("cannot read {}: {e}", resolved.display())))
    }

    /// Builds a nested verifier given as the param `key`, through the same
    /// registry. Its errors are located under `params.{key}.params`.
    pub fn build_inner(
        &self,
        key: &str,
        inner: &InnerVerifier,
    ) -> Result<Arc<dyn Verifier>, ConfigError> {
        let Some(factory) = self.registry.get(&inner.verifier) else {
            let known: Vec<&str> = self.registry.kinds().collect();
            return Err(self.error(
                &format!("{key}.verifier"),
                format!(
                    "unknown verifier kind `{}` (known kinds: {})",
                    inner.verifier,
                    known.join(", ")
                ),
            ));
        };
        let ctx = BuildContext {
            file: self.file,
            base_dir: self.base_dir,
            task_definition_id: self.task_definition_id,
            name: self.name,
            params: &inner.params,
            key_prefix: format!("{}.{key}.params", self.key_prefix),
            registry: self.registry,
        };
        factory.build(&ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Task, Verdict, VerifierFactory};
    use async_trait::async_trait;

    struct Echo(bool);

    #[async_trait]
    impl Verifier for Echo {
        async fn verify(&self, _task: &Task) -> Verdict {
            if self.0 {
                Verdict::Valid
            } else {
                Verdict::invalid("no")
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct EchoParams {
        answer: bool,
        #[serde(default)]
        key_file: Option<PathBuf>,
        #[serde(default)]
        then: Option<InnerVerifier>,
    }

    struct EchoFactory;

    impl VerifierFactory for EchoFactory {
        fn kind(&self) -> &str {
            "echo"
        }
        fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
            let p: EchoParams = ctx.params()?;
            if let Some(path) = &p.key_file {
                ctx.read_file("key_file", path)?;
            }
            if let Some(inner) = &p.then {
                ctx.build_inner("then", inner)?;
            }
            Ok(Arc::new(Echo(p.answer)))
        }
    }

    fn registry() -> Registry {
        let mut r = Registry::new();
        r.register(EchoFactory).unwrap();
        r
    }

    fn load(text: &str) -> Result<TaskDefinitions, ConfigError> {
        TaskDefinitions::from_toml_str(
            text,
            Path::new("/etc/taskproof/taskproof.toml"),
            &registry(),
        )
    }

    /// Definitions whose builds each wait (up to 20 s) for another build
    /// to start: they load only if builds run at the same time. On a
    /// single core, builds must run one at a time instead.
    #[test]
    fn builds_definitions_at_the_same_time() {
        use std::sync::{Condvar, Mutex};
        let overlap = crate::cpu::parallelism() >= 2;
        // (builds started, builds running, most running at once)
        let state = Arc::new((Mutex::new((0usize, 0usize, 0usize)), Condvar::new()));
        let mut r = Registry::new();
        let seen = Arc::clone(&state);
        r.register_fn::<toml::Table, _>("meet", move |_, _| {
            let (lock, changed) = &*seen;
            let mut s = lock.lock().unwrap();
            s.0 += 1;
            s.1 += 1;
            s.2 = s.2.max(s.1);
            changed.notify_all();
            if overlap {
                s = changed
                    .wait_timeout_while(s, Duration::from_secs(20), |s| s.0 < 2)
                    .unwrap()
                    .0;
            }
            s.1 -= 1;
            Ok(Arc::new(Echo(true)) as Arc<dyn Verifier>)
        })
        .unwrap();
        let text: String = (1..=4)
            .map(|id| {
                format!("[[task_definitions]]\nid = {id}\nname = \"m{id}\"\nverifier = \"meet\"\n")
            })
            .collect();
        let defs = TaskDefinitions::from_toml_str(&text, Path::new("/t.toml"), &r).unwrap();
        assert_eq!(defs.iter().map(|d| d.id).collect::<Vec<_>>(), [1, 2, 3, 4]);
        let most = state.0.lock().unwrap().2;
        if overlap {
            assert!(most >= 2, "builds ran one after another");
        } else {
            assert_eq!(most, 1);
        }
    }

    /// With several broken definitions, the error is the first one in the
    /// file, whichever build finishes first.
    #[test]
    fn reports_the_first_broken_definition_in_file_order() {
        let mut r = Registry::new();
        r.register_fn::<EchoParams, _>("slow", |p, _| {
            if p.answer {
                // The first definition fails last.
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(ConfigError {
                file: PathBuf::from("/t.toml"),
                task_definition: None,
                key: String::new(),
                message: format!("broken {}", p.answer),
            })
        })
        .unwrap();
        let text = "[[task_definitions]]\nid = 1\nname = \"a\"\nverifier = \"slow\"\nparams = { answer = true }\n\
                    [[task_definitions]]\nid = 2\nname = \"b\"\nverifier = \"slow\"\nparams = { answer = false }\n";
        for _ in 0..3 {
            let e = TaskDefinitions::from_toml_str(text, Path::new("/t.toml"), &r).unwrap_err();
            assert_eq!(e.message, "broken true");
        }
    }

    #[test]
    fn loads_definitions() {
        let defs = load(
            r#"
            [[task_definitions]]
            id = 7
            name = "seven"
            verifier = "echo"
            restricted_operators = [1, 2]
            params = { answer = true }
            "#,
        )
        .unwrap();
        let def = defs.get(7).unwrap();
        assert_eq!(def.name, "seven");
        assert_eq!(def.restricted_operators, vec![1, 2]);
        assert_eq!(def.minimum_voting_power, U256::ZERO);
        assert!(defs.get(8).is_none());
    }

    #[test]
    fn unknown_kind_names_file_definition_and_key() {
        let e =
            load("[[task_definitions]]\nid = 3\nname = \"x\"\nverifier = \"nope\"\n").unwrap_err();
        assert_eq!(e.task_definition, Some(3));
        assert_eq!(e.key, "verifier");
        let shown = e.to_string();
        assert!(shown.contains("/etc/taskproof/taskproof.toml"), "{shown}");
        assert!(shown.contains("task definition 3"), "{shown}");
        assert!(shown.contains("known kinds: echo"), "{shown}");
    }

    #[test]
    fn missing_param_names_the_key() {
        let e =
            load("[[task_definitions]]\nid = 4\nname = \"x\"\nverifier = \"echo\"\n").unwrap_err();
        assert_eq!(e.task_definition, Some(4));
        assert!(e.message.contains("answer"), "{e}");
    }

    #[test]
    fn mistyped_param_names_the_key() {
        let e = load("[[task_definitions]]\nid = 4\nname = \"x\"\nverifier = \"echo\"\nparams = { answer = 3 }\n")
            .unwrap_err();
        assert_eq!(e.key, "params.answer", "{e}");
    }

    #[test]
    fn unknown_param_is_an_error() {
        let e = load(
            "[[task_definitions]]\nid = 4\nname = \"x\"\nverifier = \"echo\"\nparams = { answer = true, anwser = false }\n",
        )
        .unwrap_err();
        assert!(e.message.contains("anwser"), "{e}");
    }

    #[test]
    fn unreadable_key_file_names_key_and_path() {
        let e = load(
            "[[task_definitions]]\nid = 5\nname = \"x\"\nverifier = \"echo\"\nparams = { answer = true, key_file = \"missing.json\" }\n",
        )
        .unwrap_err();
        assert_eq!(e.key, "params.key_file");
        assert!(e.message.contains("/etc/taskproof/missing.json"), "{e}");
    }

    #[test]
    fn duplicate_id_is_an_error() {
        let def = "[[task_definitions]]\nid = 1\nname = \"x\"\nverifier = \"echo\"\nparams = { answer = true }\n";
        let e = load(&format!("{def}{def}")).unwrap_err();
        assert_eq!(e.task_definition, Some(1));
        assert!(e.message.contains("duplicate"));
    }

    #[test]
    fn voting_power_reads_integers_and_uint256_decimal_strings() {
        let with = |value: &str| {
            load(&format!(
                "[[task_definitions]]\nid = 1\nname = \"x\"\nverifier = \"echo\"\nminimum_voting_power = {value}\nparams = {{ answer = true }}\n"
            ))
            .map(|d| d.get(1).unwrap().minimum_voting_power)
        };
        assert_eq!(with("1000").unwrap(), U256::from(1000));
        assert_eq!(
            with("\"1000000000000000000000000\"").unwrap(),
            U256::from(10).pow(U256::from(24))
        );
        assert_eq!(with(&format!("\"{}\"", U256::MAX)).unwrap(), U256::MAX);
        for bad in [
            "-1", "\"-1\"", "\"+5\"", "\" 5\"", "\"007\"", "\"1e21\"", "\"0x10\"", "\"\"", "1.5",
        ] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.key, "minimum_voting_power", "{bad}: {e}");
        }
        let over = format!("\"{}0\"", U256::MAX);
        assert!(with(&over).is_err());
    }

    #[test]
    fn out_of_range_id_is_an_error() {
        let e = load("[[task_definitions]]\nid = 70000\nname = \"x\"\nverifier = \"echo\"\n")
            .unwrap_err();
        assert!(e.message.contains("65535"), "{e}");
    }

    #[test]
    fn unknown_top_level_key_is_an_error() {
        let e = load("[nodes]\nlisten = 1\n").unwrap_err();
        assert_eq!(e.key, "nodes");
        // The node's own table is the node's to read (taskproof_node::Config).
        let e = load("[node]\nlisten = 1\n").unwrap_err();
        assert_eq!(e.key, "node");
    }

    #[test]
    fn syntax_error_is_reported_with_the_file() {
        let e = load("[[task_definitions]\n").unwrap_err();
        assert!(e.to_string().starts_with("/etc/taskproof/taskproof.toml"));
    }

    #[test]
    fn inner_verifier_errors_are_located_under_their_key() {
        let e = load(
            "[[task_definitions]]\nid = 6\nname = \"x\"\nverifier = \"echo\"\n[task_definitions.params]\nanswer = true\nthen = { verifier = \"echo\", params = { answer = \"yes\" } }\n",
        )
        .unwrap_err();
        assert_eq!(e.key, "params.then.params.answer", "{e}");
        let e = load(
            "[[task_definitions]]\nid = 6\nname = \"x\"\nverifier = \"echo\"\n[task_definitions.params]\nanswer = true\nthen = { verifier = \"ghost\" }\n",
        )
        .unwrap_err();
        assert_eq!(e.key, "params.then.verifier", "{e}");
    }
}
