//! Where a plugin's bytes come from: a file beside the config, or a CID
//! fetched through IPFS gateways and kept on disk by CID.
//!
//! What it trusts: the attester's file and the CID it configured. What it
//! does not: gateways, and its own module cache on disk. A module named by a
//! CID is used only once its bytes are proven to be what the CID names,
//! both when fetched and when read back from the cache.

use std::path::{Path, PathBuf};

use cid::Cid;
use taskproof_core::{BuildContext, ConfigError, read_capped};

use crate::{
    ipfs::{Gateways, ImportProfile, check_bytes},
    retrieval::{Endpoint, RetrievalPolicy, endpoints},
};

/// The configured `module`.
pub(crate) enum ModuleSource {
    /// A file, resolved against the config's folder.
    File(PathBuf),
    /// An IPFS CID and the gateways to fetch it from.
    Ipfs { cid: Cid, gateways: Vec<Endpoint> },
}

impl ModuleSource {
    pub(crate) fn parse(
        ctx: &BuildContext<'_>,
        module: &str,
        gateways: &[String],
    ) -> Result<Self, ConfigError> {
        let Some(cid) = module.strip_prefix("ipfs://") else {
            if !gateways.is_empty() {
                return Err(ctx.error("gateways", "only for a module named by `ipfs://CID`"));
            }
            if module.contains("://") {
                return Err(ctx.error(
                    "module",
                    "a path or ipfs://CID; a module is never trusted by URL",
                ));
            }
            return Ok(Self::File(ctx.resolve_path(module)));
        };
        let cid = Cid::try_from(cid.trim_end_matches('/'))
            .map_err(|e| ctx.error("module", format!("not a CID: {e}")))?;
        let gateways = endpoints(ctx, "gateways", gateways).map_err(|e| {
            if gateways.is_empty() {
                ctx.error(
                    "gateways",
                    "a module named by ipfs://CID needs the gateways to fetch it from",
                )
            } else {
                e
            }
        })?;
        Ok(Self::Ipfs { cid, gateways })
    }

    /// The module's bytes, at most `max` of them.
    pub(crate) fn load(
        &self,
        ctx: &BuildContext<'_>,
        cache_dir: Option<&Path>,
        policy: RetrievalPolicy,
        max: u64,
    ) -> Result<Vec<u8>, ConfigError> {
        match self {
            Self::File(path) => ctx.read_file_capped("module", path, max),
            Self::Ipfs { cid, gateways } => {
                let cached = cache_dir.map(|d| d.join("modules").join(cid.to_string()));
                if let Some(path) = &cached
                    && let Ok(bytes) = read_capped(path, max)
                {
                    match check_bytes(&bytes, cid, &ImportProfile::ALL) {
                        Ok(_) => return Ok(bytes),
                        Err(e) => tracing::warn!(
                            task_definition = ctx.task_definition_id(),
                            "the cached module {} is not what {cid} names ({e}); fetching it again",
                            path.display()
                        ),
                    }
                }
                let bytes = fetch(*cid, gateways.clone(), policy, max)
                    .map_err(|e| ctx.error("module", e))?;
                if let Some(path) = &cached
                    && let Err(e) = keep(path, &bytes)
                {
                    tracing::warn!(
                        task_definition = ctx.task_definition_id(),
                        "cannot keep the module in {}: {e}",
                        path.display()
                    );
                }
                Ok(bytes)
            }
        }
    }
}

/// Fetches and proves `cid` on a thread of its own with its own runtime:
/// a config is loaded before, or outside, the node's runtime.
fn fetch(
    cid: Cid,
    gateways: Vec<Endpoint>,
    policy: RetrievalPolicy,
    max: u64,
) -> Result<Vec<u8>, String> {
    let work = move || -> Result<Vec<u8>, String> {
        let gateways = Gateways::new(gateways, ImportProfile::ALL.to_vec(), policy, max, true)
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime to fetch the module: {e}"))?;
        let retrieved = runtime
            .block_on(gateways.retrieve(cid, true))
            .map_err(|failures| {
                let detail: Vec<String> = failures.iter().map(ToString::to_string).collect();
                format!("{cid} could not be retrieved ({})", detail.join("; "))
            })?;
        retrieved
            .content
            .ok_or_else(|| format!("{cid}: the gateway kept no content"))
    };
    std::thread::scope(|s| {
        s.spawn(work)
            .join()
            .unwrap_or_else(|_| Err("the module fetch panicked".into()))
    })
}

/// Writes the module so that a reader never sees half of it.
fn keep(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    super::engine::write_whole(path, &[bytes])
}

/// The folder fetched modules and compiled code are kept in: the param
/// `cache_dir` (relative to the config), else `$TASKPROOF_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/taskproof`, else `~/.cache/taskproof`; none when there is
/// no home either.
pub(crate) fn cache_dir(ctx: &BuildContext<'_>, param: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = param {
        return Some(ctx.resolve_path(dir));
    }
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("TASKPROOF_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("taskproof")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("taskproof")))
}
