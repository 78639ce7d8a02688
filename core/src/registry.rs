//! The map from verifier kind names to their factories.

use std::{collections::BTreeMap, fmt, sync::Arc};

use crate::VerifierFactory;

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
