//! What a measured function talks to: a stub Lambda Runtime API, and for a
//! run with an event, a stand-in AWS endpoint that speaks HTTPS as AWS does
//! (a certificate from a private CA the function is told to trust through
//! `KLAXON_EXTRA_CA_FILE`, the documented way). Neither ever answers the
//! call it is timing: the child is killed and the next run starts.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
/// The one request id the stub hands out.
const REQUEST_ID: &str = "coldstart-0001";

/// What the stub saw the function do.
pub enum Seen {
    /// A `GET .../invocation/next`, and when it arrived.
    Next(Instant),
    /// The runtime reported an init failure.
    InitError(String),
    /// The function answered the event (`.../invocation/<id>/response`).
    Response(Instant),
    /// The function reported the event failed (`.../invocation/<id>/error`).
    InvocationError(String),
    /// A request reached the stand-in AWS endpoint: when, and which
    /// operation (`X-Amz-Target`, else method and path).
    AwsCall(Instant, String),
}

/// The private CA, written where the function can read it, and the stand-in
/// endpoint's TLS configuration (a certificate for 127.0.0.1 it signed).
pub struct Pki {
    pub ca_file: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

impl Pki {
    pub fn new(dir: &Path) -> Result<Self, String> {
        let fail = |e: &dyn std::fmt::Display| format!("the stand-in endpoint's PKI: {e}");
        let ca_key = KeyPair::generate().map_err(|e| fail(&e))?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail(&e))?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "coldstart stand-in CA");
        let ca_cert = ca.self_signed(&ca_key).map_err(|e| fail(&e))?;
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().map_err(|e| fail(&e))?;
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .and_then(|p| p.signed_by(&key, &issuer))
            .map_err(|e| fail(&e))?;
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(&e))?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .map_err(|e| fail(&e))?;
        let ca_file = dir.join(format!("coldstart-ca-{}.pem", std::process::id()));
        std::fs::write(&ca_file, ca_cert.pem())
            .map_err(|e| format!("{}: {e}", ca_file.display()))?;
        Ok(Self {
            ca_file,
            server: Arc::new(server),
        })
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// One run's stub: the Runtime API's address and, with an event, the
/// stand-in AWS endpoint's; what was seen arrives on `seen`.
pub struct Stub {
    pub api: SocketAddr,
    pub aws: Option<SocketAddr>,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    tasks: JoinSet<()>,
}

impl Stub {
    /// Serves the Runtime API; with `event`, hands it out on the first
    /// `next` and serves the stand-in AWS endpoint with `pki`.
    pub async fn start(event: Option<Arc<String>>, pki: &Pki) -> Result<Self, String> {
        let (tx, seen) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        let runtime = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("binding the stub runtime API: {e}"))?;
        let api = runtime.local_addr().map_err(|e| e.to_string())?;
        let aws = match &event {
            Some(_) => {
                let listener = TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|e| format!("binding the stand-in AWS endpoint: {e}"))?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                let acceptor = tokio_rustls::TlsAcceptor::from(pki.server.clone());
                tasks.spawn(serve_aws(listener, acceptor, tx.clone()));
                Some(addr)
            }
            None => None,
        };
        let runtime_state = Arc::new(Runtime {
            event,
            handed: AtomicBool::new(false),
            seen: tx,
        });
        tasks.spawn(serve_runtime(runtime, runtime_state));
        Ok(Self {
            api,
            aws,
            seen,
            tasks,
        })
    }

    /// Stops serving; every connection is dropped.
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

struct Runtime {
    event: Option<Arc<String>>,
    handed: AtomicBool,
    seen: mpsc::UnboundedSender<Seen>,
}

fn answer(status: u16, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
}

async fn runtime_api(
    req: Request<Incoming>,
    runtime: Arc<Runtime>,
) -> Result<Response<String>, Infallible> {
    let path = req.uri().path().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .to_string()
    };
    if req.method() == Method::GET && path == NEXT {
        let _ = runtime.seen.send(Seen::Next(Instant::now()));
        if let Some(event) = &runtime.event
            && !runtime.handed.swap(true, Ordering::SeqCst)
        {
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() + 60_000)
                .unwrap_or_default();
            let mut response = answer(200, event.to_string());
            let headers = response.headers_mut();
            for (name, value) in [
                ("Lambda-Runtime-Aws-Request-Id", REQUEST_ID.to_string()),
                ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:coldstart".to_string(),
                ),
                (
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-00000000-000000000000000000000000".to_string(),
                ),
            ] {
                if let Ok(value) = value.parse() {
                    headers.insert(name, value);
                }
            }
            return Ok(response);
        }
        // No (further) event: the child is killed before it could run one.
        std::future::pending::<()>().await;
    }
    if req.method() == Method::POST && path == INIT_ERROR {
        let kind = header("Lambda-Runtime-Function-Error-Type");
        let _ = runtime.seen.send(Seen::InitError(kind));
        return Ok(answer(202, r#"{"status":"OK"}"#.into()));
    }
    if req.method() == Method::POST && path.starts_with(INVOCATION) {
        if path.ends_with("/response") {
            let _ = runtime.seen.send(Seen::Response(Instant::now()));
        } else if path.ends_with("/error") {
            let kind = header("Lambda-Runtime-Function-Error-Type");
            let _ = runtime.seen.send(Seen::InvocationError(kind));
        }
        return Ok(answer(202, r#"{"status":"OK"}"#.into()));
    }
    Ok(answer(
        404,
        format!("coldstart stub: no route for {} {path}", req.method()),
    ))
}

/// Accepts runtime connections until stopped.
async fn serve_runtime(listener: TcpListener, runtime: Arc<Runtime>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let runtime = runtime.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| runtime_api(req, runtime.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next() => {}
        }
    }
}

/// The stand-in AWS endpoint: notes each request and never answers it.
async fn serve_aws(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    seen: mpsc::UnboundedSender<Seen>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let seen = seen.clone();
                conns.spawn(async move {
                    // A refused handshake shows as a run without an AWS call.
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let operation = req
                                .headers()
                                .get("x-amz-target")
                                .and_then(|v| v.to_str().ok())
                                .map_or_else(
                                    || format!("{} {}", req.method(), req.uri().path()),
                                    str::to_string,
                                );
                            let _ = seen.send(Seen::AwsCall(Instant::now(), operation));
                            std::future::pending::<()>().await;
                            Ok::<_, Infallible>(Response::new(String::new()))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next() => {}
        }
    }
}
