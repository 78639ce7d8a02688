//! Connections: how many, for how long, and how they end.
//!
//! The accept loop and each connection's lifetime, with the node's
//! connection-level limits:
//!
//! - **Connection cap** (`max_connections`). Past it, a small reserve of
//!   connections is still accepted, but they answer only `GET /healthz` and
//!   `GET /metrics` (anything else is 503 and the connection closes), so an
//!   operator can see a saturated node; past the reserve, connections are
//!   closed at once. Reaching the cap is logged (at most once a second).
//! - **Header read timeout** (`header_read_timeout_ms`): from the first byte
//!   of a request to its last header line. A client trickling bytes
//!   (slowloris) is cut off.
//! - **Idle timeout** (`idle_timeout_ms`): a connection with no request in
//!   progress and no bytes moving is closed. It also ends connections whose
//!   client stopped reading its replies.
//! - **Body read timeout** (`body_read_timeout_ms`) is applied where bodies
//!   are read ([`super::body`]).
//! - **Shutdown**: on the signal, listeners close, idle connections close,
//!   requests in flight finish; after `shutdown_timeout_ms` whatever is still
//!   open is closed.
//! - Accept errors (out of file descriptors) are logged at a bounded rate and
//!   retried after a pause, never a busy loop.
//!
//! hyper's own header timeout is not used: it starts as soon as a connection
//! waits for a request, so it would also be the idle timeout.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::{Pin, pin},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    http::{Request, Response, StatusCode, header},
};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
    task::JoinSet,
};
use tower::ServiceExt;

use crate::{NodeConfig, logging::RateLimit, metrics::Refusal};

use super::AppState;

/// Connections past `max_connections` that may still ask for `/healthz` or
/// `/metrics`.
const RESERVE: usize = 16;

/// The header read timeout of a reserve connection.
const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// The connection-level limits, from `[node]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    /// hyper's read and write buffers (headers included).
    pub(crate) max_buf_size: usize,
}

impl ConnectionLimits {
    pub(crate) fn from_config(node: &NodeConfig) -> Self {
        Self {
            max_connections: node.max_connections,
            header_read_timeout: Duration::from_millis(node.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(node.idle_timeout_ms),
            shutdown_timeout: Duration::from_millis(node.shutdown_timeout_ms),
            max_buf_size: 64 * 1024,
        }
    }
}

/// Milliseconds on a process-wide monotonic clock.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX)
}

const NONE: u64 = u64::MAX;

/// What the watchdog of one connection needs to know.
#[derive(Debug)]
struct Activity {
    /// Requests being answered.
    busy: AtomicUsize,
    /// When the first byte of the next request arrived, or [`NONE`].
    head_started: AtomicU64,
    /// When bytes last moved, or the last request ended.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            busy: AtomicUsize::new(0),
            head_started: AtomicU64::new(NONE),
            last: AtomicU64::new(now_ms()),
        })
    }

    fn on_read(&self) {
        let now = now_ms();
        self.last.store(now, Ordering::Relaxed);
        if self.busy.load(Ordering::Relaxed) == 0 {
            let _ =
                self.head_started
                    .compare_exchange(NONE, now, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn on_write(&self) {
        self.last.store(now_ms(), Ordering::Relaxed);
    }

    fn begin(self: &Arc<Self>) -> RequestGuard {
        self.busy.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(NONE, Ordering::Relaxed);
        RequestGuard(Arc::clone(self))
    }
}

/// A request in progress on its connection.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.last.store(now_ms(), Ordering::Relaxed);
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    HeaderTimeout,
    Idle,
}

/// Resolves when the connection has broken one of its time limits.
async fn watchdog(activity: Arc<Activity>, header: Duration, idle: Duration) -> Expiry {
    let header = u64::try_from(header.as_millis()).unwrap_or(u64::MAX);
    let idle = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
    loop {
        let now = now_ms();
        let wake = if activity.busy.load(Ordering::Relaxed) > 0 {
            // The handlers bound their own work (body timeout, deadline).
            now.saturating_add(1_000)
        } else {
            let head = activity.head_started.load(Ordering::Relaxed);
            if head != NONE {
                let due = head.saturating_add(header);
                if now >= due {
                    return Expiry::HeaderTimeout;
                }
                due
            } else {
                let due = activity.last.load(Ordering::Relaxed).saturating_add(idle);
                if now >= due {
                    return Expiry::Idle;
                }
                // A request may start while we sleep: look again within half
                // a header timeout, so a slow head is cut off in time.
                due.min(now.saturating_add(header / 2))
            }
        };
        tokio::time::sleep(Duration::from_millis(wake.saturating_sub(now).max(5))).await;
    }
}

/// A socket that reports its traffic to the connection's watchdog.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// How a connection is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// A connection within the cap: every route.
    Regular,
    /// A reserve connection past the cap: only `/healthz` and `/metrics`.
    Reserve,
}

fn is_admin_request<B>(request: &Request<B>) -> bool {
    request.method() == axum::http::Method::GET
        && matches!(request.uri().path(), "/healthz" | "/metrics")
}

fn connection_limit_response() -> Response<Body> {
    let mut response = Response::new(Body::from(
        r#"{"data":false,"error":true,"message":"connection limit reached: only /healthz and /metrics are answered"}"#,
    ));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// Serves one connection until it ends, breaks a time limit or shutdown
/// closes it.
async fn serve_connection(
    stream: TcpStream,
    router: Router,
    class: Class,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
    state: Arc<AppState>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let service_activity = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let guard = service_activity.begin();
        let router = router.clone();
        async move {
            let _guard = guard;
            if class == Class::Reserve && !is_admin_request(&request) {
                return Ok::<_, Infallible>(connection_limit_response());
            }
            router.oneshot(request.map(Body::new)).await
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(limits.max_buf_size)
        .writev(false)
        .keep_alive(class == Class::Regular);
    let header_timeout = match class {
        Class::Regular => limits.header_read_timeout,
        Class::Reserve => limits.header_read_timeout.min(RESERVE_HEADER_TIMEOUT),
    };
    let mut connection = pin!(builder.serve_connection(io, service));
    let mut expired = pin!(watchdog(
        Arc::clone(&activity),
        header_timeout,
        limits.idle_timeout
    ));
    let shutting_down = async {
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = connection.as_mut() => return,
        expiry = expired.as_mut() => {
            note_expiry(&state, expiry);
            return;
        }
        () = shutting_down => {}
    }
    // Finish the request in flight, if any, then close; the watchdog and the
    // server's shutdown deadline still apply.
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection.as_mut() => {}
        expiry = expired.as_mut() => note_expiry(&state, expiry),
    }
}

fn note_expiry(state: &AppState, expiry: Expiry) {
    state.engine.metrics().refusal(Refusal::connection_timeout);
    tracing::debug!(?expiry, "connection closed");
}

static CAP_LOG: RateLimit = RateLimit::new(1);
static ACCEPT_ERROR_LOG: RateLimit = RateLimit::new(1);

/// One listener's accept loop.
struct Listener {
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    /// Whether connections past the cap get the reserve.
    reserve: bool,
    name: &'static str,
}

async fn accept_loop(
    l: Listener,
    state: Arc<AppState>,
    mut stop: watch::Receiver<bool>,
    connections: watch::Receiver<bool>,
    tasks: &mut JoinSet<()>,
) {
    let regular = Arc::new(Semaphore::new(l.limits.max_connections));
    let reserve = Arc::new(Semaphore::new(if l.reserve { RESERVE } else { 0 }));
    loop {
        let accepted = tokio::select! {
            accepted = l.listener.accept() => accepted,
            _ = stop.changed() => return,
            // Reap finished connections as we go.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                if let Some(suppressed) = ACCEPT_ERROR_LOG.admit() {
                    tracing::warn!(
                        listener = l.name,
                        error = %e,
                        suppressed,
                        "cannot accept connections (out of file descriptors?); retrying"
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (class, permit) = match Arc::clone(&regular).try_acquire_owned() {
            Ok(permit) => (Class::Regular, permit),
            Err(_) => {
                state.engine.metrics().refusal(Refusal::connection_limit);
                if let Some(suppressed) = CAP_LOG.admit() {
                    tracing::warn!(
                        listener = l.name,
                        max_connections = l.limits.max_connections,
                        suppressed,
                        "connection limit reached: new connections answer only /healthz and /metrics, or are closed"
                    );
                }
                match Arc::clone(&reserve).try_acquire_owned() {
                    Ok(permit) => (Class::Reserve, permit),
                    Err(_) => {
                        drop(stream);
                        continue;
                    }
                }
            }
        };
        let router = l.router.clone();
        let state = Arc::clone(&state);
        let shutdown = connections.clone();
        let limits = l.limits;
        let gauge = (class == Class::Regular && l.reserve)
            .then(|| state.engine.metrics().connections.clone());
        tasks.spawn(async move {
            let _permit = permit;
            if let Some(g) = &gauge {
                g.inc();
            }
            serve_connection(stream, router, class, limits, shutdown, state).await;
            if let Some(g) = &gauge {
                g.dec();
            }
        });
    }
}

/// Serves the validation listener (every route) and, when given, the admin
/// listener (`/healthz` and `/metrics` only) until `shutdown` resolves; then
/// drains connections for at most the shutdown timeout.
pub(crate) async fn run(
    listener: TcpListener,
    admin: Option<TcpListener>,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnectionLimits::from_config(&state.node);
    let addr: SocketAddr = listener.local_addr()?;
    let admin_addr = admin.as_ref().map(TcpListener::local_addr).transpose()?;
    tracing::info!(
        %addr,
        admin = ?admin_addr,
        definitions = state.engine.definitions().len(),
        "listening"
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let (close_tx, close_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut admin_tasks = JoinSet::new();
    let main = accept_loop(
        Listener {
            listener,
            router: super::router(Arc::clone(&state)),
            limits,
            reserve: true,
            name: "validation",
        },
        Arc::clone(&state),
        stop_rx.clone(),
        close_rx.clone(),
        &mut tasks,
    );
    let admin_loop = async {
        if let Some(admin) = admin {
            accept_loop(
                Listener {
                    listener: admin,
                    router: super::admin_router(Arc::clone(&state)),
                    limits: ConnectionLimits {
                        max_connections: 64,
                        ..limits
                    },
                    reserve: false,
                    name: "admin",
                },
                Arc::clone(&state),
                stop_rx.clone(),
                close_rx.clone(),
                &mut admin_tasks,
            )
            .await;
        }
    };
    let signal = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    tokio::join!(main, admin_loop, signal);
    // The listeners are closed (dropped with their loops); let connections
    // finish what they are doing.
    let _ = close_tx.send(true);
    let open = tasks.len() + admin_tasks.len();
    let drain = async {
        while tasks.join_next().await.is_some() {}
        while admin_tasks.join_next().await.is_some() {}
    };
    if tokio::time::timeout(limits.shutdown_timeout, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            open,
            timeout_ms = limits.shutdown_timeout.as_millis() as u64,
            "shutdown timeout: closing the connections still open"
        );
        tasks.abort_all();
        admin_tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        while admin_tasks.join_next().await.is_some() {}
    }
    Ok(())
}
