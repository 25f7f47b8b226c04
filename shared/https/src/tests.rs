//! TLS still verifies: an endpoint whose certificate no trusted CA signed
//! is refused, and one signed by the CA in `KLAXON_EXTRA_CA_FILE`'s file is
//! trusted. The endpoint is a local HTTPS server answering DynamoDB's
//! `ListTables`; the SDK's real client calls it.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// A private CA and a certificate it signed for `localhost`.
struct Pki {
    ca_pem: String,
    server_cert: CertificateDer<'static>,
    server_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Klaxon test private CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server_cert: server.der().clone(),
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// Serves HTTPS on a free port: every request is answered as DynamoDB
/// answers `ListTables` with one table.
async fn serve(pki: &Pki) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A refused handshake is the client's verdict, not a failure here.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 16 * 1024];
                let _ = tls.read(&mut buf).await;
                let body = r#"{"TableNames":["trusted"]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

async fn list_tables(http: SharedHttpClient, addr: SocketAddr) -> Result<Vec<String>, String> {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
        .endpoint_url(format!("https://localhost:{}", addr.port()))
        .http_client(http)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
        .list_tables()
        .send()
        .await
        .map(|out| out.table_names().to_vec())
        .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
}

#[tokio::test]
async fn an_endpoint_whose_certificate_no_trusted_ca_signed_is_refused() {
    // GIVEN an HTTPS endpoint with a certificate from a CA nobody trusts
    let pki = pki();
    let addr = serve(&pki).await;
    // WHEN the SDK calls it trusting Mozilla's roots only
    let tls = build(None).unwrap();
    let e = list_tables(SdkHttps::trusting(tls), addr)
        .await
        .unwrap_err();
    // THEN the handshake is refused for the unknown issuer
    assert!(e.contains("UnknownIssuer"), "{e}");
}

#[tokio::test]
async fn the_ca_in_the_extra_ca_file_is_trusted() {
    // GIVEN the same kind of endpoint, and its CA's certificate in a PEM file
    let pki = pki();
    let addr = serve(&pki).await;
    let dir = std::env::temp_dir().join(format!("klaxon-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("private-ca-{}.pem", addr.port()));
    std::fs::write(&file, &pki.ca_pem).unwrap();
    // WHEN the SDK calls it trusting Mozilla's roots and that file
    let tls = build(Some(&file)).unwrap();
    let tables = list_tables(SdkHttps::trusting(tls), addr).await;
    // THEN the call goes through
    assert_eq!(tables.unwrap(), ["trusted"]);
    let _ = std::fs::remove_file(&file);
}

#[test]
fn an_extra_ca_file_that_is_missing_or_holds_no_certificate_is_an_error_naming_it() {
    let missing = std::path::Path::new("/nonexistent/klaxon-ca.pem");
    let e = build(Some(missing)).unwrap_err().to_string();
    assert!(
        e.starts_with("KLAXON_EXTRA_CA_FILE: /nonexistent/klaxon-ca.pem"),
        "{e}"
    );
    let empty = std::env::temp_dir().join(format!("klaxon-empty-ca-{}.pem", std::process::id()));
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let e = build(Some(&empty)).unwrap_err().to_string();
    assert!(e.contains("holds no PEM certificate"), "{e}");
    let _ = std::fs::remove_file(&empty);
}

#[test]
fn mozillas_roots_are_compiled_in() {
    let tls = build(None).unwrap();
    // Nothing is read from the machine: the count is the crate's.
    assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
    assert!(tls.alpn_protocols.is_empty());
}
