//! The map from verifier kind names to their factories.

use std::{collections::BTreeMap, fmt, sync::Arc};

use serde::de::DeserializeOwned;

use crate::{BuildContext, ConfigError, Task, Verdict, Verifier, VerifierFactory};

/// Kind name → factory. Built-in kinds are registered by
/// `taskproof_verifiers::builtin_registry()`; users add their own with
/// [`Registry::register`].
#[derive(Clone, Default)]
pub struct Registry {
    factories: BTreeMap<String, Arc<dyn VerifierFactory>>,
}

/// A kind name was registered twice.
#[derive(Debug, thiserror::Error)]
#[error("verifier kind `{0}` is already registered")]
pub struct DuplicateKind(pub String);

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a kind. A kind name may be registered only once, so a custom kind
    /// cannot silently replace a built-in one.
    pub fn register(&mut self, factory: impl VerifierFactory) -> Result<(), DuplicateKind> {
        let kind = factory.kind().to_owned();
        if self.factories.contains_key(&kind) {
            return Err(DuplicateKind(kind));
        }
        self.factories.insert(kind, Arc::new(factory));
        Ok(())
    }

    /// Adds a kind built by a closure from its typed params: the params
    /// table is deserialized into `P` first (use `#[serde(deny_unknown_fields)]`
    /// on it), with errors located by file, task definition and key as for
    /// any factory.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use serde::Deserialize;
    /// use taskproof_core::{Registry, Verdict, verify_fn};
    ///
    /// #[derive(Deserialize)]
    /// #[serde(deny_unknown_fields)]
    /// struct Params { prefix: String }
    ///
    /// let mut registry = Registry::new();
    /// registry
    ///     .register_fn("prefixed", |p: Params, _ctx| {
    ///         Ok(verify_fn(move |task| {
    ///             if task.proof_of_task.starts_with(&p.prefix) {
    ///                 Verdict::Valid
    ///             } else {
    ///                 Verdict::invalid(format!("proofOfTask does not start with {:?}", p.prefix))
    ///             }
    ///         }))
    ///     })
    ///     .unwrap();
    /// assert!(registry.get("prefixed").is_some());
    /// ```
    pub fn register_fn<P, F>(&mut self, kind: &str, build: F) -> Result<(), DuplicateKind>
    where
        P: DeserializeOwned,
        F: Fn(P, &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError>
            + Send
            + Sync
            + 'static,
    {
        self.register(FnFactory {
            kind: kind.to_owned(),
            build: move |ctx: &BuildContext<'_>| build(ctx.params()?, ctx),
        })
    }

    /// The factory of a kind.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn VerifierFactory>> {
        self.factories.get(kind)
    }

    /// The registered kind names, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.kinds()).finish()
    }
}

/// A factory made of a closure (see [`Registry::register_fn`]).
struct FnFactory<F> {
    kind: String,
    build: F,
}

impl<F> VerifierFactory for FnFactory<F>
where
    F: Fn(&BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> + Send + Sync + 'static,
{
    fn kind(&self) -> &str {
        &self.kind
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        (self.build)(ctx)
    }
}

/// A verifier made of a function, for checks that need no state, no I/O and
/// no batching. It runs inline: keep it to microseconds, or write a
/// [`Verifier`] that uses [`crate::cpu::run`].
pub fn verify_fn<F>(check: F) -> Arc<dyn Verifier>
where
    F: Fn(&Task) -> Verdict + Send + Sync + 'static,
{
    Arc::new(FnVerifier(check))
}

struct FnVerifier<F>(F);

#[async_trait::async_trait]
impl<F> Verifier for FnVerifier<F>
where
    F: Fn(&Task) -> Verdict + Send + Sync + 'static,
{
    async fn verify(&self, task: &Task) -> Verdict {
        (self.0)(task)
    }
}

/// Params for a kind that takes none: any key is refused.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}
