//! The wasmtime engines plugins are compiled and run by: one per compiled-code
//! cache folder, shared by every task definition that uses it, each with a
//! pooling allocator and an epoch that one ticker thread advances.
//!
//! Compiled code is kept on disk here rather than by wasmtime's `cache`
//! feature, which would add zstd and a configuration layer to every build
//! for what is one file per module.
//!
//! What it trusts: wasmtime's sandbox and the compiled-code folder (whose
//! files are keyed by the module's hash, the engine's settings and wasmtime's
//! version, checked by a checksum, and written only by this attester).

use std::{
    collections::{BTreeMap, HashMap},
    hash::{Hash, Hasher},
    io::{Read, Write},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sha2::{Digest, Sha256};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, component::Component,
};

/// How often the epoch advances. A plugin past its deadline stops within a
/// tick or two; each tick costs every running plugin one callback.
pub(crate) const TICK: Duration = Duration::from_millis(2);

/// The most linear memory a task definition may give a plugin instance; the
/// pool reserves this much address space per memory slot.
pub const MAX_MEMORY_BYTES: u64 = 1 << 30;

/// The most table elements a task definition may allow per table.
pub(crate) const MAX_TABLE_ELEMENTS: u32 = 1 << 20;

/// Native stack a plugin may use before it traps with a stack overflow (the
/// CPU pool's threads have wasmtime's default 2 MiB stacks and more).
const MAX_WASM_STACK: usize = 512 << 10;

/// Plugin instances alive at once, across all task definitions: a few per
/// CPU pool thread (instances live only during a call) plus the ones made at
/// load to check a component. An instantiation past it is undecided.
fn concurrent_instances() -> u32 {
    let threads = u32::try_from(taskproof_core::cpu::parallelism()).unwrap_or(64);
    threads.saturating_mul(4).saturating_add(16).min(1024)
}

/// A place for one instance kept between calls (`reuse_instances`). Kept
/// instances hold pool slots while idle, so all of them together, across
/// task definitions, may hold at most a quarter of the pool: fresh instances
/// for every other plugin always find a slot.
pub(crate) struct Resident(());

static RESIDENT: AtomicU64 = AtomicU64::new(0);

impl Resident {
    /// A place, if the quarter of the pool is not all taken.
    pub(crate) fn take() -> Option<Self> {
        let most = u64::from(concurrent_instances() / 4);
        RESIDENT
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < most).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(()))
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        RESIDENT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The engine for a compiled-code cache folder (one engine per folder keeps
/// the module-to-component memo of [`component`] simple).
pub(crate) fn engine(cache_dir: Option<&Path>) -> Result<Engine, String> {
    static ENGINES: OnceLock<Mutex<BTreeMap<Option<PathBuf>, Engine>>> = OnceLock::new();
    let engines = ENGINES.get_or_init(|| {
        start_ticker();
        Mutex::default()
    });
    let mut engines = engines.lock().unwrap_or_else(|p| p.into_inner());
    let key = cache_dir.map(Path::to_path_buf);
    if let Some(engine) = engines.get(&key) {
        return Ok(engine.clone());
    }
    let engine = new_engine()?;
    tick(&engine);
    engines.insert(key, engine.clone());
    Ok(engine)
}

/// Every setting that makes a plugin's result the same on every attester
/// (fuel, NaN canonicalization, deterministic relaxed SIMD, no threads) is
/// set here, for both modes: one engine serves both.
fn new_engine() -> Result<Engine, String> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .parallel_compilation(true);
    let instances = concurrent_instances();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        // Componentize-js and componentize-py components hold a handful of
        // core instances (the engine, shims, adapters) and a couple of memories.
        .max_core_instances_per_component(64)
        .total_core_instances(instances.saturating_mul(8))
        .max_memories_per_component(8)
        .total_memories(instances.saturating_mul(2))
        .max_tables_per_component(16)
        .total_tables(instances.saturating_mul(4))
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .max_memory_size(MAX_MEMORY_BYTES as usize)
        // Large interpreters (SpiderMonkey, CPython) carry big instance state.
        .max_component_instance_size(4 << 20)
        .max_core_instance_size(4 << 20);
    // Keeping each memory's first MiB resident (`linear_memory_keep_resident`,
    // a memset per call instead of returning the pages) was measured and
    // made the Rust plugin's call slower (52 to 66 µs idle), the JavaScript
    // plugin's a little faster (3.1 to 2.7 ms): left at wasmtime's default.
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| format!("cannot start the WebAssembly engine: {e:#}"))
}

/// One thread for the life of the process advances every engine's epoch:
/// a plugin that never calls the host and never returns is still stopped
/// at its deadline, and its CPU pool slot freed.
fn start_ticker() {
    let spawned = std::thread::Builder::new()
        .name("taskproof-wasm-epoch".into())
        .spawn(|| {
            loop {
                std::thread::sleep(TICK);
                let engines: Vec<Engine> = match ENGINES_FOR_TICKER.get() {
                    Some(all) => all.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                    None => Vec::new(),
                };
                for engine in &engines {
                    engine.increment_epoch();
                }
            }
        });
    // Without the ticker, plugins are still bounded by their fuel.
    if let Err(e) = spawned {
        tracing::error!("cannot start the WebAssembly epoch thread: {e}");
    }
}

static ENGINES_FOR_TICKER: OnceLock<Mutex<Vec<Engine>>> = OnceLock::new();

/// Makes the ticker advance `engine`'s epoch.
fn tick(engine: &Engine) {
    let all = ENGINES_FOR_TICKER.get_or_init(Mutex::default);
    let mut all = all.lock().unwrap_or_else(|p| p.into_inner());
    if !all.iter().any(|e| Engine::same(e, engine)) {
        all.push(engine.clone());
    }
}

/// The most compiled code a cache file may hold before it is ignored (a
/// JavaScript plugin's is tens of megabytes).
const MAX_COMPILED_BYTES: u64 = 1 << 30;

/// The component for `bytes`, compiled once per process and cache folder:
/// task definitions naming one module share one compilation, even when they
/// load at the same time. With a cache folder, compiled code is read from
/// and written to it.
pub(crate) fn component(
    engine: &Engine,
    cache_dir: Option<&Path>,
    bytes: &[u8],
) -> Result<Component, String> {
    type Slot = Arc<OnceLock<Result<Component, String>>>;
    type Compiled = HashMap<(Option<PathBuf>, [u8; 32]), Slot>;
    static COMPILED: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let module_hash: [u8; 32] = Sha256::digest(bytes).into();
    let slot = {
        let mut compiled = COMPILED
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        compiled
            .entry((cache_dir.map(Path::to_path_buf), module_hash))
            .or_default()
            .clone()
    };
    slot.get_or_init(|| match cache_dir {
        Some(dir) => compile_through(engine, dir, bytes, &module_hash),
        None => compile(engine, bytes),
    })
    .clone()
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
    Component::new(engine, bytes)
        .map_err(|e| format!("not a WebAssembly component this engine can compile: {e:#}"))
}

/// Compiles through the disk cache. A file is named by the module's SHA-256
/// and the engine's compatibility hash (its settings and wasmtime's
/// version) and ends with the SHA-256 of the code before it; a file that is
/// torn, rotten or refused by this wasmtime is compiled again and replaced.
/// Failing to write the cache costs the next start a compilation, nothing
/// more.
fn compile_through(
    engine: &Engine,
    dir: &Path,
    bytes: &[u8],
    module_hash: &[u8; 32],
) -> Result<Component, String> {
    let mut engine_hash = Sha256Hasher(Sha256::new());
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let engine_hash = engine_hash.0.finalize();
    let path = dir.join(format!(
        "{}-{}.cwasm",
        hex::encode(module_hash),
        hex::encode(&engine_hash[..8])
    ));
    match read_compiled(engine, &path) {
        Ok(Some(component)) => return Ok(component),
        Ok(None) => {}
        Err(e) => tracing::warn!(
            "compiled code {} is unusable ({e}); compiling the plugin again",
            path.display()
        ),
    }
    let component = compile(engine, bytes)?;
    let kept = component
        .serialize()
        .map_err(|e| format!("{e:#}"))
        .and_then(|code| {
            write_whole(&path, &[&code, &Sha256::digest(&code)]).map_err(|e| e.to_string())
        });
    if let Err(e) = kept {
        tracing::warn!(
            "cannot keep compiled code in {} ({e}); the next start compiles again",
            path.display()
        );
    }
    Ok(component)
}

/// `None` when there is no file.
fn read_compiled(engine: &Engine, path: &Path) -> Result<Option<Component>, String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut contents = Vec::new();
    file.take(MAX_COMPILED_BYTES + 1)
        .read_to_end(&mut contents)
        .map_err(|e| e.to_string())?;
    if contents.len() as u64 > MAX_COMPILED_BYTES {
        return Err("larger than 1 GiB".into());
    }
    let Some(split) = contents.len().checked_sub(32) else {
        return Err("truncated".into());
    };
    let (code, sum) = contents.split_at(split);
    if Sha256::digest(code)[..] != *sum {
        return Err("its checksum does not match".into());
    }
    // SAFETY: wasmtime runs deserialized code as is, so it must be code
    // wasmtime serialized. These bytes are: this attester wrote them from
    // `Component::serialize`, and the checksum has just shown them whole and
    // unchanged since (a torn write or bit rot never reaches wasmtime, which
    // itself refuses code from another version or settings). Like wasmtime's
    // own cache, this trusts that only the attester writes its cache folder.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, code) };
    component.map(Some).map_err(|e| format!("{e:#}"))
}

/// Writes `parts` to `path` so that a reader never sees half of them: a
/// temporary file of its own (two threads may keep the same module at
/// once), synced, then renamed over `path`.
pub(crate) fn write_whole(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    static PARTIALS: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let partial = path.with_extension(format!(
        "partial-{}-{}",
        std::process::id(),
        PARTIALS.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&partial)?;
        for part in parts {
            file.write_all(part)?;
        }
        file.sync_all()?;
        std::fs::rename(&partial, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Feeds a `Hash` into SHA-256, for a cache key that stays the same from one
/// run to the next (std's hashers promise no such thing).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
    }
}
