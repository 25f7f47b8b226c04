//! The one HTTPS stack of a process: one rustls configuration whose root
//! store is Mozilla's roots compiled in (`webpki-roots`), plus the PEM file
//! `KLAXON_EXTRA_CA_FILE` names for a private CA, built on first use; and the
//! AWS SDK's HTTP client over it ([`SdkHttps`]). The HTTP deliveries
//! (`klaxon_http`) connect through the same [`connector`].
//!
//! Why not the SDK's built-in client: it trusts the system's roots, which it
//! reads and parses from `/etc/ssl/certs` (or `SSL_CERT_FILE`) when the
//! client is built, at every cold start: 3 to 5 ms of a Rust function's
//! whole start here. Compiled-in anchors need no parsing, and are the same
//! on every machine.

use std::error::Error as StdError;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::TokioExecutor;

/// The variable naming a PEM file of extra trusted CA certificates (a
/// private CA in front of a webhook, a TLS-inspecting proxy).
pub const ENV_EXTRA_CA_FILE: &str = "KLAXON_EXTRA_CA_FILE";

/// Why the TLS configuration could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{ENV_EXTRA_CA_FILE}: {0}")]
pub struct TlsSetupError(String);

/// The process's TLS client configuration, built once on first use:
/// Mozilla's roots, and the certificates of [`ENV_EXTRA_CA_FILE`] when it
/// is set and not empty. A file that cannot be read or holds no certificate is an error
/// naming the variable, returned by every use: nothing connects trusting
/// less than it was told to.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, TlsSetupError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, TlsSetupError>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let extra = std::env::var_os(ENV_EXTRA_CA_FILE).filter(|v| !v.is_empty());
            build(extra.as_deref().map(std::path::Path::new))
        })
        .clone()
}

/// A configuration trusting Mozilla's roots and the PEM certificates in
/// `extra` (a file), if any.
pub fn build(extra: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, TlsSetupError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let shown = path.display();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| TlsSetupError(format!("{shown}: {e}")))?
            .collect::<Result<_, _>>()
            .map_err(|e| TlsSetupError(format!("{shown}: {e}")))?;
        if certs.is_empty() {
            return Err(TlsSetupError(format!("{shown} holds no PEM certificate")));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| TlsSetupError(format!("{shown}: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The process's HTTPS connector: TCP (no Nagle, `connect_timeout` when
/// given) under rustls with `tls`, HTTP/1.1; plain HTTP allowed (a local
/// emulator's endpoint, a receiver in tests).
pub type Https = HttpsConnector<TcpConnector>;

/// An [`Https`] connector over `tls`: the one kind of connection the SDK's
/// client and the HTTP deliveries (`klaxon_http`) make.
pub fn connector(tls: Arc<rustls::ClientConfig>, connect_timeout: Option<Duration>) -> Https {
    let mut tcp = TcpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(connect_timeout);
    tcp.set_nodelay(true);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*tls).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp)
}

/// The AWS SDK's HTTP client: hyper over rustls with [`tls_config`], plain
/// HTTP allowed (a local emulator's endpoint), one connection pool per
/// distinct connect timeout.
#[derive(Debug, Default)]
pub struct SdkHttps {
    /// `None`: the process's [`tls_config`].
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Connectors by connect timeout: the SDK asks for one per request.
    connectors: Mutex<Vec<(Option<Duration>, SharedHttpConnector)>>,
}

impl SdkHttps {
    /// The client, shared by every SDK client of the process.
    pub fn shared() -> SharedHttpClient {
        SharedHttpClient::new(Self::default())
    }

    /// A client trusting what `tls` trusts instead (tests).
    pub fn trusting(tls: Arc<rustls::ClientConfig>) -> SharedHttpClient {
        SharedHttpClient::new(Self {
            tls: Some(tls),
            connectors: Mutex::default(),
        })
    }
}

impl HttpClient for SdkHttps {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeout = settings.connect_timeout();
        let mut connectors = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, c)) = connectors.iter().find(|(t, _)| *t == timeout) {
            return c.clone();
        }
        let connector = SharedHttpConnector::new(Connector {
            connect_timeout: timeout,
            tls: self.tls.clone(),
            client: OnceLock::new(),
        });
        connectors.push((timeout, connector.clone()));
        connector
    }
}

/// One connection pool. The TLS configuration is taken on its first
/// request, so building the SDK's clients at start reads no certificate.
#[derive(Debug)]
struct Connector {
    connect_timeout: Option<Duration>,
    tls: Option<Arc<rustls::ClientConfig>>,
    client: OnceLock<Result<Client<Https, SdkBody>, TlsSetupError>>,
}

impl Connector {
    fn client(&self) -> Result<Client<Https, SdkBody>, TlsSetupError> {
        self.client
            .get_or_init(|| {
                let tls = match &self.tls {
                    Some(tls) => tls.clone(),
                    None => tls_config()?,
                };
                let https = connector(tls, self.connect_timeout);
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .clone()
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match self.client() {
            Ok(client) => client,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        HttpConnectorFuture::new(async move {
            match client.request(request).await {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

/// Whether the SDK may retry: a connection that failed, closed or timed out
/// can be tried again; anything else is reported as it is.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let timed_out = chain(&error).any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || e.downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_timeout)
            || e.to_string().contains("timed out")
    });
    if timed_out {
        return ConnectorError::timeout(error.into());
    }
    let broken = error.is_connect()
        || chain(&error).any(|e| {
            e.is::<std::io::Error>()
                || e.downcast_ref::<hyper::Error>()
                    .is_some_and(|h| h.is_closed() || h.is_canceled())
        });
    if broken {
        return ConnectorError::io(error.into());
    }
    let incomplete = chain(&error).any(|e| {
        e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
    });
    if incomplete {
        return ConnectorError::other(error.into(), Some(ErrorKind::TransientError));
    }
    ConnectorError::other(error.into(), None)
}

fn chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

#[cfg(test)]
mod tests;
