//! Starting the real `taskproof` binary on 127.0.0.1 for the node's tests,
//! and reading what it logs.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader, Read},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

pub fn fixture(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{ROOT}/fixtures/{path}")).unwrap())
        .unwrap()
}

/// What the node wrote to stderr, line by line, and how many bytes in all.
#[derive(Default)]
pub struct Logs {
    pub lines: Vec<String>,
    pub bytes: usize,
}

/// A node on a free port, killed on drop.
pub struct Node {
    pub child: Child,
    /// `http://127.0.0.1:PORT` of the validation listener.
    pub base: String,
    pub addr: String,
    /// The admin listener's address, when the config has one.
    pub admin: Option<String>,
    pub logs: Arc<Mutex<Logs>>,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`) or a count
    /// (`Threads`).
    pub fn status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().lines.join("\n")
    }

    pub fn log_bytes(&self) -> usize {
        self.logs.lock().unwrap().bytes
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn terminate(&self) {
        assert!(
            Command::new("kill")
                .args(["-TERM", &self.pid().to_string()])
                .status()
                .unwrap()
                .success()
        );
    }
}

/// How to start a node.
#[derive(Default)]
pub struct Start<'a> {
    pub env: &'a [(&'a str, &'a str)],
    /// `RUST_LOG` (default `info`).
    pub log: Option<&'a str>,
    /// An address-space limit (`setrlimit(RLIMIT_AS)`) for the process.
    pub memory_cap_bytes: Option<u64>,
}

pub fn start(config_text: &str, env: &[(&str, &str)]) -> Node {
    start_with(
        config_text,
        Start {
            env,
            ..Start::default()
        },
    )
}

pub fn start_with(config_text: &str, how: Start<'_>) -> Node {
    start_program(
        std::path::Path::new(env!("CARGO_BIN_EXE_taskproof")),
        config_text,
        how,
    )
}

/// A node from another binary built on `taskproof_node::main_with`.
pub fn start_binary(binary: &std::path::Path, config_text: &str, env: &[(&str, &str)]) -> Node {
    start_program(
        binary,
        config_text,
        Start {
            env,
            ..Start::default()
        },
    )
}

fn start_program(binary: &std::path::Path, config_text: &str, how: Start<'_>) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("taskproof.toml");
    std::fs::write(&path, config_text).unwrap();
    let mut cmd = Command::new(binary);
    cmd.args(["serve", "--config"])
        .arg(&path)
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    cmd.env_remove("TASKPROOF_ATTESTER_KEY")
        .env("RUST_LOG", how.log.unwrap_or("info"))
        // Fewer malloc arenas: the address-space cap measures the heap, not
        // per-thread reservations.
        .env("MALLOC_ARENA_MAX", "2");
    for (k, v) in how.env {
        cmd.env(k, v);
    }
    if let Some(cap) = how.memory_cap_bytes {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between
        // fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: cap,
                    rlim_max: cap,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let logs = Arc::new(Mutex::new(Logs::default()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = Arc::clone(&logs);
    std::thread::spawn(move || {
        let mut sent = false;
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        loop {
            line.clear();
            // Lines are read whole but kept cut, so a runaway line cannot
            // exhaust the test's memory either.
            match (&mut reader).take(1 << 20).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let text = String::from_utf8_lossy(&line[..n.min(4096)]).into_owned();
                    if !sent && text.contains("listening") {
                        let field = |name: &str| {
                            text.split(&format!("{name}="))
                                .nth(1)
                                .and_then(|v| v.split_whitespace().next())
                                .map(str::to_owned)
                        };
                        let admin = field("admin").and_then(|a| {
                            a.strip_prefix("Some(")
                                .map(|a| a.trim_end_matches(')').to_owned())
                        });
                        let _ = tx.send((field("addr").unwrap_or_default(), admin));
                        sent = true;
                    }
                    let mut logs = sink.lock().unwrap();
                    logs.bytes += n;
                    logs.lines.push(text.trim_end().to_owned());
                }
            }
        }
    });
    let (addr, admin) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the node did not start listening");
    Node {
        child,
        base: format!("http://{addr}"),
        addr,
        admin,
        logs,
        _dir: dir,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Something serving the node's HTTP API.
pub trait Served {
    /// `http://127.0.0.1:PORT`.
    fn base(&self) -> &str;
}

impl Served for Node {
    fn base(&self) -> &str {
        &self.base
    }
}

pub async fn post(node: &impl Served, path: &str, body: String) -> (u16, Value) {
    let r = client()
        .post(format!("{}{path}", node.base()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub async fn get(base: &str, path: &str) -> (u16, String) {
    let r = client().get(format!("{base}{path}")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A factory made of a closure, for verifiers defined in a test.
pub struct Factory<F>(pub &'static str, pub F);

impl<F> taskproof_core::VerifierFactory for Factory<F>
where
    F: Fn() -> std::sync::Arc<dyn taskproof_core::Verifier> + Send + Sync + 'static,
{
    fn kind(&self) -> &str {
        self.0
    }
    fn build(
        &self,
        _ctx: &taskproof_core::BuildContext<'_>,
    ) -> Result<std::sync::Arc<dyn taskproof_core::Verifier>, taskproof_core::ConfigError> {
        Ok((self.1)())
    }
}

/// An engine with one task definition (id 1) of a verifier made in a test.
pub fn engine(
    kind: &'static str,
    verifier: std::sync::Arc<dyn taskproof_core::Verifier>,
    options: taskproof_node::EngineOptions,
) -> taskproof_node::Engine {
    let mut registry = taskproof_core::Registry::new();
    registry
        .register(Factory(kind, move || verifier.clone()))
        .unwrap();
    let text = format!("[[task_definitions]]\nid = 1\nname = \"t\"\nverifier = \"{kind}\"\n");
    let defs = taskproof_core::TaskDefinitions::from_toml_str(
        &text,
        std::path::Path::new("t.toml"),
        &registry,
    )
    .unwrap();
    let metrics = std::sync::Arc::new(taskproof_node::Metrics::new(&defs));
    taskproof_node::Engine::new(defs, options, metrics)
}

/// A node served inside the test's own process, for what the binary cannot
/// be given: a journal in memory, a registry of the test's kinds. It stops
/// when dropped.
#[cfg(feature = "bls")]
pub struct InProcess {
    pub base: String,
    pub addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

#[cfg(feature = "bls")]
impl Served for InProcess {
    fn base(&self) -> &str {
        &self.base
    }
}

#[cfg(feature = "bls")]
impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What an in-process node is made of.
#[cfg(feature = "bls")]
pub struct InProcessNode<'a> {
    /// The config file's text; `[node]` gets `attester_key_file` when a key
    /// is given.
    pub config: &'a str,
    /// Files beside the config: `(name, content)`.
    pub files: &'a [(&'a str, &'a str)],
    /// The attester's key, written to `attester.key`.
    pub attester_key: Option<&'a str>,
    pub registry: &'a taskproof_core::Registry,
    /// The journal; `None` leaves the one the config names (none).
    pub journal: Option<std::sync::Arc<dyn taskproof_consensus::journal::Journal>>,
}

/// Serves a node in this process on a free port.
#[cfg(feature = "bls")]
pub async fn start_in_process(
    how: InProcessNode<'_>,
) -> Result<InProcess, taskproof_core::ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = how.config.to_owned();
    if let Some(key) = how.attester_key {
        std::fs::write(dir.path().join("attester.key"), key).unwrap();
        assert!(config.contains("[node]\n"), "the config has a [node] table");
        config = config.replacen(
            "[node]\n",
            "[node]\nattester_key_file = \"attester.key\"\n",
            1,
        );
    }
    for (name, content) in how.files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let path = dir.path().join("taskproof.toml");
    std::fs::write(&path, &config).unwrap();
    let config = taskproof_node::Config::load(&path, how.registry)?;
    let mut state = taskproof_node::http::AppState::from_config(&config).await?;
    state = match how.journal {
        Some(journal) => state.with_journal(journal),
        None => state.without_journal(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(taskproof_node::http::serve(
        listener,
        None,
        std::sync::Arc::new(state),
        async move {
            let _ = stopped.await;
        },
    ));
    Ok(InProcess {
        base: format!("http://{addr}"),
        addr,
        stop: Some(stop),
        _dir: dir,
    })
}
