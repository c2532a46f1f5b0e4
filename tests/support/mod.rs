//! A tiny scriptable HTTP/1.1 server on loopback for transport tests: it records every
//! request body and answers each request with the next scripted [`Reply`], including the
//! broken answers a flaky front-end or proxy produces. Hand-written on purpose: the point is to
//! send bytes no well-behaved HTTP stack would send.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response with this status, content type and body.
    Full {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// Headers announcing `declared` bytes, then only `body`, then close.
    Truncated { declared: usize, body: Vec<u8> },
    /// Read the request and never answer (the connection stays open).
    Silence,
    /// Answer slowly: wait, then send the response.
    Slow { delay: Duration, body: Vec<u8> },
    /// A chunked response streaming `chunks` chunks of `chunk` bytes each.
    Chunked { chunk: Vec<u8>, chunks: usize },
    /// Close the connection right after reading the request, sending nothing.
    Close,
    /// A redirect (`301`, `302`, `307`, `308`) to `location`, with an empty body.
    Redirect { status: u16, location: String },
}

impl Reply {
    /// A 200 text/xml response.
    pub fn xml(body: impl Into<Vec<u8>>) -> Self {
        Reply::Full {
            status: 200,
            content_type: "text/xml",
            body: body.into(),
        }
    }
}

/// A running scripted server.
pub struct FakeServer {
    pub url: String,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Requests being answered right now, and the most seen at once.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static MAX_ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// The largest number of requests any fake server answered at the same time (process-wide:
/// only meaningful in a test binary whose other tests do not overlap, see its users).
pub fn max_concurrent_requests() -> usize {
    MAX_ACTIVE.load(Ordering::SeqCst)
}

impl FakeServer {
    /// Starts a server answering the n-th request with `replies[n]` (the last one repeats).
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/RPC2", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let recorded = recorded.clone();
                let replies = replies.clone();
                held.push(tokio::spawn(async move {
                    serve(stream, recorded, replies).await;
                }));
            }
        });
        FakeServer {
            url,
            requests,
            task,
        }
    }

    /// Starts an HTTPS server with a fresh self-signed certificate valid for `names`
    /// (e.g. `localhost`); returns the server (its URL uses `host`) and the certificate PEM.
    pub async fn start_tls(replies: Vec<Reply>, names: &[&str], host: &str) -> (Self, String) {
        let certified = rcgen::generate_simple_self_signed(
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        )
        .unwrap();
        let cert_pem = certified.cert.pem();
        let key_pem = certified.signing_key.serialize_pem();
        let identity =
            native_tls::Identity::from_pkcs8(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
        let acceptor =
            tokio_native_tls::TlsAcceptor::from(native_tls::TlsAcceptor::new(identity).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://{host}:{}/RPC2",
            listener.local_addr().unwrap().port()
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let recorded = recorded.clone();
                let replies = replies.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake is the client's verdict: nothing to serve.
                    if let Ok(tls) = acceptor.accept(stream).await {
                        serve(tls, recorded, replies).await;
                    }
                });
            }
        });
        (
            FakeServer {
                url,
                requests,
                task,
            },
            cert_pem,
        )
    }

    /// The bodies of the requests received so far.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    recorded: Arc<Mutex<Vec<Vec<u8>>>>,
    replies: Vec<Reply>,
) {
    loop {
        let Some(body) = read_request(&mut stream).await else {
            return;
        };
        let index = {
            let mut all = recorded.lock().unwrap();
            all.push(body);
            all.len() - 1
        };
        let reply = replies[index.min(replies.len() - 1)].clone();
        let now = ACTIVE.fetch_add(1, Ordering::SeqCst) + 1;
        MAX_ACTIVE.fetch_max(now, Ordering::SeqCst);
        let keep_going = match reply {
            Reply::Full {
                status,
                content_type,
                body,
            } => write_response(&mut stream, status, content_type, &body).await,
            Reply::Redirect { status, location } => {
                let head = format!(
                    "HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.shutdown().await;
                false
            }
            Reply::Truncated { declared, body } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {declared}\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
                false
            }
            Reply::Silence => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                false
            }
            Reply::Slow { delay, body } => {
                tokio::time::sleep(delay).await;
                write_response(&mut stream, 200, "text/xml", &body).await
            }
            Reply::Chunked { chunk, chunks } => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..chunks {
                    let frame = format!("{:x}\r\n", chunk.len());
                    if stream.write_all(frame.as_bytes()).await.is_err()
                        || stream.write_all(&chunk).await.is_err()
                        || stream.write_all(b"\r\n").await.is_err()
                    {
                        return;
                    }
                }
                let _ = stream.write_all(b"0\r\n\r\n").await;
                true
            }
            Reply::Close => false,
        };
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
        if !keep_going {
            return;
        }
    }
}

async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> bool {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(body).await.is_ok()
}

/// Reads one HTTP/1.1 request with a Content-Length body; `None` at EOF.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf[header_end..header_end + length].to_vec())
}

/// An oned-shaped successful response carrying `payload` (already encoded `<value>` content).
pub fn one_success(payload: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n<value><boolean>1</boolean></value>\r\n<value>{payload}</value>\r\n<value><i4>0</i4></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n"
    )
    .into_bytes()
}

/// An oned-shaped failure response.
pub fn one_failure(message: &str, code: i32, object_id: i32) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n<value><boolean>0</boolean></value>\r\n<value><string>{message}</string></value>\r\n<value><i4>{code}</i4></value>\r\n<value><i4>{object_id}</i4></value>\r\n<value><i8>-1</i8></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n"
    )
    .into_bytes()
}
