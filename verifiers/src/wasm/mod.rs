//! # `wasm`: verifiers loaded at run time, as sandboxed WebAssembly components
//!
//! A task definition names a WebAssembly component (`module`: a path, or
//! `ipfs://CID`) implementing a world of `plugins/wit/verifier.wit`:
//!
//! - `mode = "verify"`: the `verifier` world. The plugin's `verify(params,
//!   task)` returns the verdict; it may call the host's keccak256, sha256,
//!   ecrecover, log and an HTTP GET of the URLs `allow_http` lists.
//! - `mode = "reexecute"`: the `task-program` world, the performer's own
//!   program. The attester runs `execute(data)` and compares the output with
//!   proofOfTask (`compare = "bytes"` or `"json"`).
//!
//! What it trusts: the attester's configuration and wasmtime's sandbox. What
//! it does not trust: the plugin. A plugin sees nothing but its imports (no
//! WASI: no files, environment, clock, randomness or sockets); a component
//! importing anything else is refused at load, naming the import. Every call
//! runs in a fresh instance, on the CPU pool, under fuel, an epoch deadline
//! tied to the task's deadline, and limits on linear memory, tables,
//! instances, output and log lines; running out of any of them, a trap or a
//! host failure is [`Verdict::Undecided`] with the cause. Only the plugin's
//! own `invalid` (or a re-executed output that differs from the claim) is
//! [`Verdict::Invalid`].
//!
//! A `verify` plugin that keeps no state of its own may set
//! `reuse_instances = true`: its instances are then kept between calls
//! (skipping the instantiation that dominates a small plugin's call), and
//! one that failed in any way is dropped, never entered again.
//!
//! A module named by a CID is fetched through the gateways like any `ipfs`
//! content, proven against the CID, and kept on disk by CID; compiled code is
//! kept on disk keyed by the module's hash, the engine's settings and
//! wasmtime's version, and compiled once per process however many task
//! definitions name the module.

mod allow;
mod engine;
mod host;
mod source;

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::Deserialize;
use taskproof_core::{
    BuildContext, ConfigError, Task, Verdict, Verifier, VerifierFactory, async_trait, cpu,
    deadline::Deadline, quote,
};
use wasmtime::{
    Engine, Store, Trap, UpdateDeadline,
    component::{
        Component, ComponentExportIndex, ComponentType, Func, InstancePre, Lift, Linker, TypedFunc,
        WasmList, WasmStr, types::ComponentItem,
    },
};

use self::{
    allow::AllowHttp,
    host::{HOST_INTERFACE, HostState, HttpAccess, Stop, TYPES_INTERFACE, WitTask},
    source::ModuleSource,
};
use crate::retrieval::{Defaults, Fetcher, RetrievalParams};

pub use engine::MAX_MEMORY_BYTES;

/// The `wasm` kind's params.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WasmParams {
    /// A path (relative to the config file) or `ipfs://CID`.
    module: String,
    #[serde(default)]
    mode: Mode,
    /// `reexecute` only: how the output is compared with proofOfTask.
    #[serde(default)]
    compare: Option<Compare>,
    /// Handed to `verify` as JSON.
    #[serde(default)]
    plugin_params: toml::Table,
    /// URL patterns the plugin may GET.
    #[serde(default)]
    allow_http: Vec<String>,
    /// For `http-get` and for fetching an `ipfs://` module.
    #[serde(default)]
    retrieval: RetrievalParams,
    /// Gateways for an `ipfs://` module.
    #[serde(default)]
    gateways: Vec<String>,
    /// The largest module accepted, in bytes.
    #[serde(default = "default_max_module_bytes")]
    max_module_bytes: u64,
    /// Where fetched modules and compiled code are kept.
    #[serde(default)]
    cache_dir: Option<PathBuf>,
    /// Calls of this plugin running at once (default: all CPU pool threads
    /// but one, so a hostile plugin never holds the whole pool).
    #[serde(default)]
    max_concurrent_calls: Option<usize>,
    /// Keeps instances between calls instead of making a fresh one per call:
    /// faster, but the plugin's state outlives a task. `verify` mode only.
    #[serde(default)]
    reuse_instances: bool,
    #[serde(default)]
    limits: Limits,
}

fn default_max_module_bytes() -> u64 {
    64 << 20
}

/// Which world the component implements.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// The `verifier` world: the plugin judges.
    #[default]
    Verify,
    /// The `task-program` world: the attester re-runs the performer's program.
    Reexecute,
}

impl Mode {
    fn world(self) -> &'static str {
        match self {
            Self::Verify => "verifier",
            Self::Reexecute => "task-program",
        }
    }

    fn export(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reexecute => "execute",
        }
    }
}

/// How a re-executed output is compared with proofOfTask.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Compare {
    /// proofOfTask is the 0x-hex of exactly the output's bytes.
    #[default]
    Bytes,
    /// proofOfTask and the output parse to the same JSON document (key order
    /// and whitespace aside).
    Json,
}

/// The limits of one call, all optional in the `limits` table.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Fuel (about one unit per WebAssembly instruction): the same on every
    /// attester, so a re-execution stops at the same point everywhere.
    pub fuel: u64,
    /// A call's own time limit, inside the task's deadline (none: the task's).
    pub timeout_ms: Option<u64>,
    /// Linear memory per instance, in bytes.
    pub max_memory_bytes: u64,
    /// Elements per table.
    pub max_table_elements: u32,
    /// Core and component instances, memories and tables per call.
    pub max_instances: u32,
    /// The largest verdict message or program output, in bytes.
    pub max_output_bytes: u64,
    /// Log lines per call; one more stops the call.
    pub max_log_lines: u32,
    /// Bytes of one log line kept (the rest is cut).
    pub max_log_bytes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 2_000_000_000,
            timeout_ms: None,
            max_memory_bytes: 256 << 20,
            max_table_elements: 100_000,
            max_instances: 64,
            max_output_bytes: 1 << 20,
            max_log_lines: 100,
            max_log_bytes: 1024,
        }
    }
}

impl Limits {
    fn check(&self, ctx: &BuildContext<'_>) -> Result<(), ConfigError> {
        let positive = |key: &str, value: u64| {
            if value == 0 {
                Err(ctx.error(&format!("limits.{key}"), "must be greater than 0"))
            } else {
                Ok(())
            }
        };
        positive("fuel", self.fuel)?;
        positive("max_memory_bytes", self.max_memory_bytes)?;
        positive("max_output_bytes", self.max_output_bytes)?;
        positive("max_instances", self.max_instances.into())?;
        positive("max_log_bytes", self.max_log_bytes.into())?;
        if let Some(t) = self.timeout_ms {
            positive("timeout_ms", t)?;
        }
        if self.max_memory_bytes > MAX_MEMORY_BYTES {
            return Err(ctx.error(
                "limits.max_memory_bytes",
                format!("at most {MAX_MEMORY_BYTES} (1 GiB)"),
            ));
        }
        if self.max_table_elements > engine::MAX_TABLE_ELEMENTS {
            return Err(ctx.error(
                "limits.max_table_elements",
                format!("at most {}", engine::MAX_TABLE_ELEMENTS),
            ));
        }
        Ok(())
    }
}

/// The `retrieval` defaults of `wasm`, for its plugins' HTTP GETs and for
/// fetching an `ipfs://` module: short, small, no retries.
fn defaults(max_module_bytes: u64) -> Defaults {
    Defaults {
        connect_timeout_ms: 1_000,
        attempt_timeout_ms: host::HTTP_TOTAL_TIMEOUT.as_millis() as u64,
        total_timeout_ms: host::HTTP_TOTAL_TIMEOUT.as_millis() as u64,
        retries: 0,
        backoff_ms: 200,
        max_redirects: 3,
        max_response_bytes: max_module_bytes.min(1 << 20),
    }
}

/// Builds `wasm` verifiers.
pub struct WasmFactory;

impl VerifierFactory for WasmFactory {
    fn kind(&self) -> &str {
        "wasm"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        Ok(Arc::new(WasmVerifier::build(ctx)?))
    }
}

impl WasmVerifier {
    /// Builds a `wasm` verifier from its params (what [`WasmFactory`] does).
    pub fn build(ctx: &BuildContext<'_>) -> Result<Self, ConfigError> {
        let p: WasmParams = ctx.params()?;
        p.limits.check(ctx)?;
        if p.max_module_bytes == 0 {
            return Err(ctx.error("max_module_bytes", "must be greater than 0"));
        }
        match (p.mode, p.compare) {
            (Mode::Verify, Some(_)) => {
                return Err(ctx.error(
                    "compare",
                    "only for mode = \"reexecute\" (a verify plugin gives its own verdict)",
                ));
            }
            (Mode::Reexecute, _) if !p.allow_http.is_empty() => {
                return Err(ctx.error(
                    "allow_http",
                    "a re-executed program has no imports, so no HTTP: it must give the same output on every attester",
                ));
            }
            (Mode::Reexecute, _) if p.reuse_instances => {
                return Err(ctx.error(
                    "reuse_instances",
                    "only for mode = \"verify\": a re-executed program runs in a fresh instance, or its output would depend on the tasks this attester ran before",
                ));
            }
            (Mode::Reexecute, _) if !p.plugin_params.is_empty() => {
                return Err(ctx.error(
                    "plugin_params",
                    "only for mode = \"verify\" (execute takes the task's data alone)",
                ));
            }
            _ => {}
        }
        let allow = AllowHttp::parse(&p.allow_http)
            .map_err(|(i, e)| ctx.error(&format!("allow_http[{i}]"), e))?;
        let plugin_params = serde_json::to_string(&p.plugin_params)
            .map_err(|e| ctx.error("plugin_params", format!("cannot be written as JSON: {e}")))?;
        let source = ModuleSource::parse(ctx, &p.module, &p.gateways)?;
        let cache_dir = source::cache_dir(ctx, p.cache_dir.as_deref());
        let policy = p.retrieval.check(ctx, defaults(p.max_module_bytes))?;
        let bytes = source.load(ctx, cache_dir.as_deref(), policy, p.max_module_bytes)?;
        let compiled_dir = cache_dir.map(|d| d.join("compiled"));
        let engine =
            engine::engine(compiled_dir.as_deref()).map_err(|e| ctx.error("cache_dir", e))?;
        let http = if allow.is_empty() {
            None
        } else {
            let fetcher = Fetcher::new(policy).map_err(|e| {
                ctx.error("allow_http", format!("cannot build the HTTP client: {e}"))
            })?;
            Some(Arc::new(HttpAccess {
                allow,
                fetcher,
                runtime: None,
            }))
        };
        // A plugin that carries an interpreter (SpiderMonkey, CPython) takes
        // tens of seconds to compile cold: say so, rather than look hung.
        let began = Instant::now();
        if bytes.len() > 1 << 20 {
            tracing::info!(
                task_definition = ctx.task_definition_id(),
                "loading a {:.1} MB WebAssembly plugin: the first start compiles it (up to a minute), later starts read it from {}",
                bytes.len() as f64 / 1e6,
                compiled_dir.as_deref().map_or_else(
                    || "nowhere (no cache folder)".into(),
                    |d| d.display().to_string()
                ),
            );
        }
        let plugin = Plugin::compile(
            &engine,
            compiled_dir.as_deref(),
            &bytes,
            p.mode,
            p.compare.unwrap_or_default(),
            p.limits,
            plugin_params,
            http,
            ctx.task_definition_id(),
            p.reuse_instances,
        )
        .map_err(|e| ctx.error("module", e))?;
        if began.elapsed() > Duration::from_secs(1) {
            tracing::info!(
                task_definition = ctx.task_definition_id(),
                "WebAssembly plugin ready in {:.1} s",
                began.elapsed().as_secs_f64()
            );
        }
        let calls = match p.max_concurrent_calls {
            Some(0) => return Err(ctx.error("max_concurrent_calls", "must be at least 1")),
            Some(n) => n,
            None => cpu::parallelism().saturating_sub(1).max(1),
        };
        Ok(WasmVerifier {
            plugin: Arc::new(plugin),
            queue: Arc::new(CallQueue {
                inner: Mutex::default(),
                max_drainers: calls,
            }),
        })
    }
}

/// A compiled, checked plugin, ready to be instantiated once per call (or,
/// with `reuse_instances`, to keep its instances between calls).
pub struct Plugin {
    engine: Engine,
    pre: InstancePre<HostState>,
    export: ComponentExportIndex,
    mode: Mode,
    compare: Compare,
    limits: Limits,
    params_json: String,
    http: Option<Arc<HttpAccess>>,
    task_definition: u16,
    /// With `reuse_instances`: the instances waiting for a call.
    idle: Option<Mutex<Vec<Kept>>>,
}

/// An instance kept between calls, with its store and its `verify`.
struct Kept {
    store: Store<HostState>,
    func: Func,
    /// Its place in the pool's share for kept instances; none until the
    /// first call returns and one is free.
    resident: Option<engine::Resident>,
}

/// The verdict variant as a plugin returns it, lifted lazily: its message is
/// measured in the plugin's memory before a byte of it is copied out.
#[derive(ComponentType, Lift)]
#[component(variant)]
enum LazyVerdict {
    #[component(name = "valid")]
    Valid,
    #[component(name = "invalid")]
    Invalid(WasmStr),
    #[component(name = "undecided")]
    Undecided(WasmStr),
}

type VerifyFn = (LazyVerdict,);
type ExecuteFn = (Result<WasmList<u8>, WasmStr>,);

impl Plugin {
    /// Compiles `bytes` (through the engine's disk cache, if it has one),
    /// checks that the component imports nothing outside its world and
    /// exports its world's function with the right type, and prepares the
    /// instance template. The error is the `module` key's message.
    #[allow(clippy::too_many_arguments)]
    fn compile(
        engine: &Engine,
        compiled_dir: Option<&std::path::Path>,
        bytes: &[u8],
        mode: Mode,
        compare: Compare,
        limits: Limits,
        params_json: String,
        http: Option<Arc<HttpAccess>>,
        task_definition: u16,
        reuse_instances: bool,
    ) -> Result<Self, String> {
        let component = engine::component(engine, compiled_dir, bytes)?;
        check_imports(engine, &component, mode)?;
        let export = check_export(engine, &component, mode)?;
        let mut linker = Linker::<HostState>::new(engine);
        if mode == Mode::Verify {
            type Direct = wasmtime::component::HasSelf<HostState>;
            host::add_to_linker::<HostState, Direct>(&mut linker, |state| state)
                .and_then(|()| {
                    host::add_types_to_linker::<HostState, Direct>(&mut linker, |state| state)
                })
                .map_err(|e| format!("cannot link the host interface: {e:#}"))?;
        }
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            format!(
                "the component's imports do not match the `{}` world: {e:#}",
                mode.world()
            )
        })?;
        let plugin = Self {
            engine: engine.clone(),
            pre,
            export,
            mode,
            compare,
            limits,
            params_json,
            http,
            task_definition,
            idle: reuse_instances.then(Mutex::default),
        };
        plugin.check_signature()?;
        Ok(plugin)
    }

    /// Instantiates once, at load, to check the export's type (and that the
    /// component instantiates within its limits at all).
    fn check_signature(&self) -> Result<(), String> {
        let mut store = self.store(Deadline::after(Duration::from_secs(60)), None);
        let instance = self.pre.instantiate(&mut store).map_err(|e| {
            format!(
                "cannot be instantiated: {}",
                cause(&e, store.data(), &self.limits)
            )
        })?;
        let typed = match self.mode {
            Mode::Verify => instance
                .get_typed_func::<(&str, WitTask), VerifyFn>(&mut store, &self.export)
                .map(drop),
            Mode::Reexecute => instance
                .get_typed_func::<(&[u8],), ExecuteFn>(&mut store, &self.export)
                .map(drop),
        };
        typed.map_err(|e| {
            format!(
                "`{}` does not have the type the `{}` world gives it: {e:#}",
                self.mode.export(),
                self.mode.world()
            )
        })
    }

    /// A store for one call: limits, fuel, and an epoch deadline that checks
    /// the task's deadline (and the call's own limit) at every tick.
    fn store(
        &self,
        deadline: Deadline,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Store<HostState> {
        let state = self.host_state(deadline, runtime);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state);
        // Cannot fail: the engine consumes fuel.
        let _ = store.set_fuel(self.limits.fuel);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            if ctx.data().past_deadline() {
                ctx.data_mut().stopped = Some(Stop::Deadline);
                return Err(wasmtime::Error::new(Trap::Interrupt));
            }
            Ok(UpdateDeadline::Continue(1))
        });
        store
    }

    /// Readies a kept instance's store for the next call: the new task's
    /// deadline, full fuel, no log lines, no failure carried over.
    fn renew(
        &self,
        store: &mut Store<HostState>,
        deadline: Deadline,
        runtime: Option<tokio::runtime::Handle>,
    ) {
        let largest_memory = store.data().largest_memory;
        *store.data_mut() = self.host_state(deadline, runtime);
        store.data_mut().largest_memory = largest_memory;
        let _ = store.set_fuel(self.limits.fuel);
        store.set_epoch_deadline(1);
    }

    /// What one call may reach and must stay within.
    fn host_state(&self, deadline: Deadline, runtime: Option<tokio::runtime::Handle>) -> HostState {
        let http = self.http.as_ref().map(|h| {
            Arc::new(HttpAccess {
                allow: h.allow.clone(),
                fetcher: h.fetcher.clone(),
                runtime,
            })
        });
        let own = self
            .limits
            .timeout_ms
            .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
        let until = match (deadline.instant(), own) {
            (Some(task), Some(own)) => Some(task.min(own)),
            (task, own) => task.or(own),
        };
        HostState::new(self.limits, http, deadline, until, self.task_definition)
    }

    /// A new instance in `store`; undecided, with the cause, when the pool
    /// or a limit refuses it.
    fn instantiate(
        &self,
        store: &mut Store<HostState>,
    ) -> Result<wasmtime::component::Instance, Verdict> {
        self.pre.instantiate(&mut *store).map_err(|e| {
            Verdict::undecided(format!(
                "the plugin could not be instantiated: {}",
                cause(&e, store.data(), &self.limits)
            ))
        })
    }

    /// One call, on the calling thread: a fresh instance, the export called,
    /// the result judged.
    pub fn call(&self, task: &Task, runtime: Option<tokio::runtime::Handle>) -> Verdict {
        if let Some(idle) = &self.idle {
            return self.call_kept(idle, task, runtime);
        }
        let mut store = self.store(Deadline::current(), runtime);
        let instance = match self.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(failed) => return failed,
        };
        match self.mode {
            Mode::Verify => self.call_verify(&mut store, instance, task),
            Mode::Reexecute => self.call_execute(&mut store, instance, task),
        }
    }

    /// One call in a kept instance, or in a new one kept afterwards. An
    /// instance whose call failed in any way (a trap, a limit, the deadline,
    /// its post-return) is dropped and never entered again, as is one whose
    /// memory passed half its limit (a slow leak never fails a task).
    fn call_kept(
        &self,
        idle: &Mutex<Vec<Kept>>,
        task: &Task,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Verdict {
        let deadline = Deadline::current();
        let kept = idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut kept = match kept {
            Some(mut kept) => {
                self.renew(&mut kept.store, deadline, runtime);
                kept
            }
            None => {
                let mut store = self.store(deadline, runtime);
                let instance = match self.instantiate(&mut store) {
                    Ok(instance) => instance,
                    Err(failed) => return failed,
                };
                let Some(func) = instance.get_func(&mut store, self.export) else {
                    return Verdict::undecided("the plugin's export is missing");
                };
                Kept {
                    store,
                    func,
                    resident: None,
                }
            }
        };
        let func = match kept.func.typed::<(&str, WitTask), VerifyFn>(&kept.store) {
            Ok(f) => f,
            Err(e) => return Verdict::undecided(format!("the plugin's export: {e:#}")),
        };
        let verdict = match self.verify_with(&mut kept.store, &func, task) {
            Ok(verdict) => verdict,
            Err(failed) => return failed,
        };
        let healthy = func.post_return(&mut kept.store).is_ok()
            && kept.store.data().stopped.is_none()
            && kept.store.data().largest_memory <= self.limits.max_memory_bytes / 2;
        if healthy {
            if kept.resident.is_none() {
                kept.resident = engine::Resident::take();
            }
            if kept.resident.is_some() {
                idle.lock().unwrap_or_else(|p| p.into_inner()).push(kept);
            }
        }
        verdict
    }

    fn call_verify(
        &self,
        store: &mut Store<HostState>,
        instance: wasmtime::component::Instance,
        task: &Task,
    ) -> Verdict {
        let func =
            match instance.get_typed_func::<(&str, WitTask), VerifyFn>(&mut *store, &self.export) {
                Ok(f) => f,
                Err(e) => return Verdict::undecided(format!("the plugin's export: {e:#}")),
            };
        // A fresh instance is dropped after one call: no post-return needed.
        self.verify_with(store, &func, task)
            .unwrap_or_else(|failed| failed)
    }

    /// Calls `verify` and judges what it returned (reading the plugin's
    /// memory, so before any post-return); `Err` when the call itself failed.
    fn verify_with<'p>(
        &'p self,
        store: &mut Store<HostState>,
        func: &TypedFunc<(&'p str, WitTask), VerifyFn>,
        task: &Task,
    ) -> Result<Verdict, Verdict> {
        let arg = WitTask {
            proof_of_task: task.proof_of_task.clone(),
            data: task.data.to_vec(),
            performer: task.performer.to_vec(),
            task_definition_id: task.task_definition_id,
        };
        let (verdict,) = match func.call(&mut *store, (self.params_json.as_str(), arg)) {
            Ok(v) => v,
            Err(e) => return Err(Verdict::undecided(cause(&e, store.data(), &self.limits))),
        };
        let http_failure = store.data().http_failure.clone();
        Ok(match verdict {
            LazyVerdict::Valid => Verdict::Valid,
            LazyVerdict::Invalid(reason) => match self.message(store, &reason) {
                Err(v) => v,
                Ok(reason) => match http_failure {
                    Some(failure) => Verdict::undecided(format!(
                        "the plugin said invalid ({reason}) after an HTTP GET failed: {failure}"
                    )),
                    None => Verdict::invalid(reason),
                },
            },
            LazyVerdict::Undecided(cause) => match self.message(store, &cause) {
                Err(v) => v,
                Ok(cause) => Verdict::undecided(format!("the plugin is undecided: {cause}")),
            },
        })
    }

    fn call_execute(
        &self,
        store: &mut Store<HostState>,
        instance: wasmtime::component::Instance,
        task: &Task,
    ) -> Verdict {
        let func = match instance.get_typed_func::<(&[u8],), ExecuteFn>(&mut *store, &self.export) {
            Ok(f) => f,
            Err(e) => return Verdict::undecided(format!("the program's export: {e:#}")),
        };
        let (result,) = match func.call(&mut *store, (task.data.as_ref(),)) {
            Ok(v) => v,
            Err(e) => return Verdict::undecided(cause(&e, store.data(), &self.limits)),
        };
        match result {
            Ok(output) => {
                if output.len() as u64 > self.limits.max_output_bytes {
                    return Verdict::undecided(format!(
                        "the program's output is {} bytes, more than limits.max_output_bytes ({})",
                        output.len(),
                        self.limits.max_output_bytes
                    ));
                }
                let output = output.as_le_slice(&*store);
                compare(self.compare, output, &task.proof_of_task)
            }
            // The program is deterministic and runs within its limits here:
            // failing on the task's data is the performer's claim failing.
            Err(message) => match self.message(store, &message) {
                Err(v) => v,
                Ok(message) => {
                    Verdict::invalid(format!("the program failed on the task's data: {message}"))
                }
            },
        }
    }

    /// A message of the plugin's, measured before it is copied; too long is
    /// undecided (the attester's limit), not cut.
    fn message(&self, store: &Store<HostState>, text: &WasmStr) -> Result<String, Verdict> {
        let text = text.to_str(store).map_err(|e| {
            Verdict::undecided(format!("the plugin's message is not a string: {e:#}"))
        })?;
        if text.len() as u64 > self.limits.max_output_bytes {
            return Err(Verdict::undecided(format!(
                "the plugin's message is {} bytes, more than limits.max_output_bytes ({})",
                text.len(),
                self.limits.max_output_bytes
            )));
        }
        let mut cut = text.len().min(taskproof_core::MAX_MESSAGE_BYTES);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        Ok(text[..cut].to_owned())
    }
}

/// Refuses any import outside the mode's world, naming it.
fn check_imports(engine: &Engine, component: &Component, mode: Mode) -> Result<(), String> {
    let allowed: &[&str] = match mode {
        Mode::Verify => &[HOST_INTERFACE, TYPES_INTERFACE],
        Mode::Reexecute => &[],
    };
    for (name, _) in component.component_type().imports(engine) {
        // Any 0.1.x of the package: later 0.1 releases only add.
        let same_minor = |allowed: &&str| {
            allowed
                .rsplit_once('.')
                .is_some_and(|(minor, _)| name.starts_with(&format!("{minor}.")))
        };
        if !allowed.iter().any(same_minor) {
            let world = match mode {
                Mode::Verify => {
                    format!("a plugin may import only `{HOST_INTERFACE}` (and its types); no WASI")
                }
                Mode::Reexecute => "a re-executed program may import nothing".to_owned(),
            };
            return Err(format!(
                "the component imports `{}`, outside the `{}` world: {world}",
                quote(name).to_string().trim_matches('"'),
                mode.world()
            ));
        }
    }
    Ok(())
}

/// Finds the mode's export, or says which is missing and what there is.
fn check_export(
    engine: &Engine,
    component: &Component,
    mode: Mode,
) -> Result<ComponentExportIndex, String> {
    let name = mode.export();
    let ty = component.component_type();
    match ty.get_export(engine, name) {
        Some(ComponentItem::ComponentFunc(_)) => {}
        Some(_) => return Err(format!("the component's export `{name}` is not a function")),
        None => {
            let exports: Vec<String> = ty
                .exports(engine)
                .map(|(n, _)| format!("`{}`", quote(n).to_string().trim_matches('"')))
                .take(16)
                .collect();
            let exports = if exports.is_empty() {
                "nothing".to_owned()
            } else {
                exports.join(", ")
            };
            return Err(format!(
                "the component does not export `{name}` (the `{}` world of taskproof:verifier@0.1.0, mode = \"{}\"); it exports {exports}",
                mode.world(),
                match mode {
                    Mode::Verify => "verify",
                    Mode::Reexecute => "reexecute",
                }
            ));
        }
    }
    component
        .get_export_index(None, name)
        .ok_or_else(|| format!("the component does not export `{name}`"))
}

/// Why a call stopped, in the attester's terms.
fn cause(error: &wasmtime::Error, state: &HostState, limits: &Limits) -> String {
    if let Some(stop) = &state.stopped {
        return match stop {
            Stop::Deadline => "the plugin ran past the verification deadline".to_owned(),
            other => other.to_string(),
        };
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => {
                format!("the plugin ran out of fuel (limits.fuel = {})", limits.fuel)
            }
            Trap::Interrupt => "the plugin ran past the verification deadline".to_owned(),
            Trap::StackOverflow => "the plugin overflowed its stack".to_owned(),
            other => {
                let text = other.to_string();
                format!(
                    "the plugin trapped: {}",
                    text.strip_prefix("wasm trap: ").unwrap_or(&text)
                )
            }
        };
    }
    format!("the plugin failed: {error:#}")
}

/// Judges a re-executed output against proofOfTask.
fn compare(how: Compare, output: &[u8], proof_of_task: &str) -> Verdict {
    match how {
        Compare::Bytes => {
            let Some(claimed) = proof_of_task
                .strip_prefix("0x")
                .and_then(|h| hex::decode(h).ok())
            else {
                return Verdict::invalid(format!(
                    "proofOfTask {} is not the 0x-hex of the program's output",
                    quote(proof_of_task)
                ));
            };
            if claimed == output {
                Verdict::Valid
            } else {
                Verdict::invalid(format!(
                    "the program's output ({} bytes, 0x{}) differs from proofOfTask ({} bytes)",
                    output.len(),
                    hex::encode(&output[..output.len().min(32)]),
                    claimed.len()
                ))
            }
        }
        Compare::Json => {
            let output: serde_json::Value = match serde_json::from_slice(output) {
                Ok(v) => v,
                Err(e) => {
                    return Verdict::invalid(format!("the program's output is not JSON: {e}"));
                }
            };
            let claimed: serde_json::Value = match serde_json::from_str(proof_of_task) {
                Ok(v) => v,
                Err(e) => {
                    return Verdict::invalid(format!("proofOfTask is not JSON: {e}"));
                }
            };
            if claimed == output {
                Verdict::Valid
            } else {
                let shown = output.to_string();
                Verdict::invalid(format!(
                    "the program's output {} differs from proofOfTask {}",
                    quote(&shown),
                    quote(proof_of_task)
                ))
            }
        }
    }
}

/// A `wasm` verifier: one compiled plugin, called on the CPU pool.
///
/// Calls wait in the plugin's own queue, and at most `max_concurrent_calls`
/// drainers, each on a CPU pool thread, take them in turn. A drainer keeps
/// its pool thread for a turn of [`TURN`] (or one call, if longer), then
/// queues again for the pool, so other kinds get their share. Handing calls
/// over one at a time (a pool job and two thread wake-ups per call) cost
/// four times a small plugin's own call.
pub struct WasmVerifier {
    plugin: Arc<Plugin>,
    queue: Arc<CallQueue>,
}

/// How long a drainer keeps its pool thread while calls wait.
const TURN: Duration = Duration::from_millis(1);

/// The calls of one task definition waiting for a drainer.
struct CallQueue {
    inner: Mutex<Queued>,
    max_drainers: usize,
}

#[derive(Default)]
struct Queued {
    waiting: std::collections::VecDeque<Waiting>,
    drainers: usize,
}

/// One call waiting: its task, deadline (cancelled when its caller gave
/// up) and where its verdict goes.
struct Waiting {
    task: Task,
    deadline: Deadline,
    runtime: Option<tokio::runtime::Handle>,
    answer: tokio::sync::oneshot::Sender<Verdict>,
}

impl CallQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Cancels a waiting call's deadline when its caller stops waiting, so that
/// a drainer skips it (or the plugin stops at its next epoch tick).
struct CancelOnDrop(Option<Deadline>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(deadline) = self.0.take() {
            deadline.cancel();
        }
    }
}

impl WasmVerifier {
    /// The compiled plugin (benches call it directly).
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }
}

/// Takes calls from the queue on a pool thread until it is empty (false)
/// or the turn is over with calls still waiting (true).
fn drain(plugin: &Plugin, queue: &CallQueue) -> bool {
    let began = Instant::now();
    loop {
        let next = {
            let mut queued = queue.lock();
            match queued.waiting.pop_front() {
                Some(next) => next,
                None => {
                    // Under the lock: a call queued from now on starts a
                    // drainer of its own.
                    queued.drainers -= 1;
                    return false;
                }
            }
        };
        if next.deadline.is_cancelled() || next.answer.is_closed() {
            continue;
        }
        if next.deadline.expired() {
            let _ = next.answer.send(Verdict::undecided(
                "the verification deadline passed while the call waited for the plugin",
            ));
            continue;
        }
        let verdict = next
            .deadline
            .enter(|| plugin.call(&next.task, next.runtime.clone()));
        let _ = next.answer.send(verdict);
        if began.elapsed() >= TURN && !queue.lock().waiting.is_empty() {
            return true;
        }
    }
}

/// Starts a drainer on the CPU pool (the caller has counted it). It needs
/// no task or runtime to carry it on: a turn that ends with calls waiting
/// queues the next turn from the pool thread itself, behind other pool work.
fn start_drainer(plugin: Arc<Plugin>, queue: Arc<CallQueue>) {
    let (p, q) = (Arc::clone(&plugin), Arc::clone(&queue));
    let started = cpu::spawn(move || {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drain(&p, &q))) {
            Ok(false) => {}
            Ok(true) => start_drainer(p, q),
            Err(_) => fail_waiting(&q, "the plugin's call panicked in the host"),
        }
    });
    if let Err(e) = started {
        fail_waiting(&queue, &e.to_string());
    }
}

/// A drainer that cannot go on: it stops counting, and every waiting call is
/// answered rather than left to its deadline.
fn fail_waiting(queue: &CallQueue, cause: &str) {
    let waiting = {
        let mut queued = queue.lock();
        queued.drainers -= 1;
        std::mem::take(&mut queued.waiting)
    };
    for w in waiting {
        let _ = w.answer.send(Verdict::undecided(cause));
    }
}

#[async_trait]
impl Verifier for WasmVerifier {
    async fn verify(&self, task: &Task) -> Verdict {
        let deadline = Deadline::current();
        let runtime = tokio::runtime::Handle::try_current().ok();
        let (answer, answered) = tokio::sync::oneshot::channel();
        let mut cancel = CancelOnDrop(Some(deadline.clone()));
        let start = {
            let mut queued = self.queue.lock();
            queued.waiting.push_back(Waiting {
                task: task.clone(),
                deadline,
                runtime,
                answer,
            });
            let start = queued.drainers < self.queue.max_drainers;
            if start {
                queued.drainers += 1;
            }
            start
        };
        if start {
            start_drainer(Arc::clone(&self.plugin), Arc::clone(&self.queue));
        }
        // Waiting here spends the task's deadline, like any queue.
        let verdict = answered
            .await
            .unwrap_or_else(|_| Verdict::undecided("the plugin's call was dropped unanswered"));
        cancel.0 = None;
        verdict
    }

    fn time_needed(&self) -> Option<Duration> {
        self.plugin
            .http
            .as_ref()
            .map(|h| h.fetcher.policy().total_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_compare_wants_the_hex_of_the_output() {
        assert_eq!(compare(Compare::Bytes, b"hi", "0x6869"), Verdict::Valid);
        assert!(matches!(
            compare(Compare::Bytes, b"hi", "0x6868"),
            Verdict::Invalid { .. }
        ));
        assert!(matches!(
            compare(Compare::Bytes, b"hi", "hi"),
            Verdict::Invalid { .. }
        ));
    }

    #[test]
    fn json_compare_ignores_key_order_and_spaces() {
        assert_eq!(
            compare(
                Compare::Json,
                br#"{"a":1,"b":[2]}"#,
                r#"{ "b": [2], "a": 1 }"#
            ),
            Verdict::Valid
        );
        assert!(matches!(
            compare(Compare::Json, br#"{"a":1}"#, r#"{"a":2}"#),
            Verdict::Invalid { .. }
        ));
    }
}
