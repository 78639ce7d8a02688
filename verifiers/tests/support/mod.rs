//! What the tests of the kinds that fetch (oracle, ipfs, eigenda) share: a
//! local HTTP peer that misbehaves on request and shows what it was sent,
//! and an inner verifier to compose with.
//!
//! The peer speaks just enough HTTP/1.1 by hand (one request per
//! connection) to lie in ways a real server framework would not let it: a
//! body shorter than its `content-length`, a body that never ends, a
//! redirect anywhere.

#![allow(dead_code)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use taskproof_core::{
    BuildContext, ConfigError, Task, Verdict, Verifier, VerifierFactory, async_trait,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What the peer answers to one request.
pub enum Reply {
    /// `404 Not Found`, empty.
    NotFound,
    /// `200 OK` with this body.
    Body(Vec<u8>),
    /// `200 OK` with this body, after a pause.
    Slow(Duration, Vec<u8>),
    /// `200 OK` announcing twice this body's length, then closing early.
    Truncated(Vec<u8>),
    /// `200 OK` with no length: this body, then zeros until the client hangs up.
    Endless(Vec<u8>),
    /// A redirect with this status to this `location`.
    Redirect(u16, String),
    /// This status, empty.
    Status(u16),
}

/// One request as the peer received it.
#[derive(Clone, Debug)]
pub struct Request {
    /// The path, with its query.
    pub path: String,
    /// The headers, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The value of header `name` (lowercase), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every request a peer received, in order.
pub type Log = Arc<Mutex<Vec<Request>>>;

/// Starts a peer on 127.0.0.1 that answers each request's path (with its
/// query) by `route`; returns its base URL. It stops with the test's runtime.
pub async fn serve<F>(route: F) -> String
where
    F: Fn(&str) -> Reply + Send + Sync + 'static,
{
    serve_logged(move |request| route(&request.path)).await.0
}

/// [`serve`], routing on the whole request and keeping a log of them.
pub async fn serve_logged<F>(route: F) -> (String, Log)
where
    F: Fn(&Request) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let route = Arc::new(route);
    let log = Log::default();
    let seen = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let route = Arc::clone(&route);
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let _ = answer(socket, &*route, &seen).await;
            });
        }
    });
    (format!("http://{addr}"), log)
}

/// The request on `socket`, or `None` if it ends before its head.
async fn read_request(socket: &mut TcpStream) -> Option<Request> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let path = lines
        .next()?
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Request { path, headers })
}

async fn answer(
    mut socket: TcpStream,
    route: &(dyn Fn(&Request) -> Reply + Sync),
    log: &Log,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut socket).await else {
        return Ok(());
    };
    log.lock().unwrap().push(request.clone());
    let ok = |len: usize| {
        format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n")
    };
    match route(&request) {
        Reply::NotFound => {
            socket
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await
        }
        Reply::Body(body) => {
            socket.write_all(ok(body.len()).as_bytes()).await?;
            socket.write_all(&body).await
        }
        Reply::Slow(pause, body) => {
            tokio::time::sleep(pause).await;
            socket.write_all(ok(body.len()).as_bytes()).await?;
            socket.write_all(&body).await
        }
        Reply::Truncated(body) => {
            socket.write_all(ok(body.len() * 2).as_bytes()).await?;
            socket.write_all(&body).await
        }
        Reply::Endless(prefix) => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
                .await?;
            socket.write_all(&prefix).await?;
            let zeros = vec![0u8; 64 * 1024];
            loop {
                socket.write_all(&zeros).await?;
            }
        }
        Reply::Redirect(status, location) => {
            socket
                .write_all(
                    format!(
                        "HTTP/1.1 {status} Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await
        }
        Reply::Status(status) => {
            socket
                .write_all(
                    format!(
                        "HTTP/1.1 {status} Status\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await
        }
    }
}

/// An inner verifier for `then`: valid when the content it is handed is
/// exactly the text of its `expected` param.
pub struct TextEquals(String);

#[async_trait]
impl Verifier for TextEquals {
    async fn verify(&self, task: &Task) -> Verdict {
        if task.proof_of_task == self.0 {
            Verdict::Valid
        } else {
            Verdict::invalid("unexpected text")
        }
    }
}

/// Builds [`TextEquals`] as the kind `text-equals`.
pub struct TextEqualsFactory;

impl VerifierFactory for TextEqualsFactory {
    fn kind(&self) -> &str {
        "text-equals"
    }
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Verifier>, ConfigError> {
        let expected = ctx
            .raw_params()
            .get("expected")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ctx.error("expected", "missing"))?;
        Ok(Arc::new(TextEquals(expected.to_owned())))
    }
}

/// The events logged while `work` runs on this thread, as `level message
/// field=value…` lines.
pub fn logged<R>(work: impl FnOnce() -> R) -> (R, Vec<String>) {
    use tracing::{
        Event, Metadata, Subscriber,
        field::{Field, Visit},
        span::{Attributes, Id, Record},
    };

    #[derive(Default)]
    struct Capture(Arc<Mutex<Vec<String>>>);

    struct Line(String);

    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0.push_str(&format!(" {value:?}"));
            } else {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = Line(event.metadata().level().to_string());
            event.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    let capture = Capture::default();
    let lines = Arc::clone(&capture.0);
    let result = tracing::subscriber::with_default(capture, work);
    let lines = lines.lock().unwrap().clone();
    (result, lines)
}
