//! The wasmtime engines plugins are compiled and run by: one per compiled-code
//! cache folder, shared by every task definition that uses it, each with a
//! pooling allocator and an epoch that one ticker thread advances.
//!
//! What it trusts: wasmtime's sandbox and its on-disk cache (which keys
//! compiled code by the module's hash, the engine's settings and wasmtime's
//! version, and which only this attester writes).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
    time::Duration,
};

use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
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

/// The engine for a compiled-code cache folder (`None`: no disk cache).
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
    let engine = new_engine(cache_dir)?;
    tick(&engine);
    engines.insert(key, engine.clone());
    Ok(engine)
}

/// Every setting that makes a plugin's result the same on every attester
/// (fuel, NaN canonicalization, deterministic relaxed SIMD, no threads) is
/// set here, for both modes: one engine serves both.
fn new_engine(cache_dir: Option<&Path>) -> Result<Engine, String> {
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
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if let Some(dir) = cache_dir {
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        let cache = Cache::new(cache).map_err(|e| {
            format!(
                "cannot use {} as the compiled-code cache: {e:#}",
                dir.display()
            )
        })?;
        config.cache(Some(cache));
    }
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
