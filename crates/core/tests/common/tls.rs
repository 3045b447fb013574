//! A TLS client as a browser guest is one after accepting the certificate
//! warning: it takes any certificate, and notes which one it was shown.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::{Answer, PATIENCE, connect_from, parse_answer};

/// Takes any certificate (as a person who clicked "proceed" does) and keeps
/// the last one shown.
#[derive(Debug)]
struct AcceptAny {
    algorithms: WebPkiSupportedAlgorithms,
    seen: Arc<Mutex<Option<Vec<u8>>>>,
}

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TLS connection from `127.0.0.{host}` to `to`.
pub struct Tls {
    pub stream: TlsStream<TcpStream>,
    /// SHA-256 of the certificate shown, `AB:CD:…` (as the node prints it).
    pub fingerprint: String,
    /// The protocol the handshake agreed on (ALPN).
    pub alpn: Option<Vec<u8>>,
}

/// Connects and completes the handshake; panics if it fails.
pub async fn tls_from(host: u8, to: SocketAddr) -> Tls {
    let tcp = connect_from(host, to).await;
    tls_over(tcp).await.expect("TLS handshake")
}

/// The handshake over `tcp`.
pub async fn tls_over(tcp: TcpStream) -> std::io::Result<Tls> {
    let provider = rustls::crypto::ring::default_provider();
    let seen = Arc::new(Mutex::new(None));
    let verifier = AcceptAny {
        algorithms: provider.signature_verification_algorithms,
        seen: seen.clone(),
    };
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // As browsers offer.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = ServerName::try_from("lanmeet.invalid").expect("name");
    let stream = tokio::time::timeout(
        PATIENCE,
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .map_err(|_| std::io::Error::other("handshake timed out"))??;
    let cert = seen
        .lock()
        .unwrap()
        .take()
        .expect("a certificate was shown");
    let digest = ring::digest::digest(&ring::digest::SHA256, &cert);
    let fingerprint = digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    Ok(Tls {
        stream,
        fingerprint,
        alpn,
    })
}

/// One HTTPS request with `Connection: close` from `127.0.0.1`; `headers` as
/// in [`super::http`].
pub async fn https(
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut tls = tls_from(1, to).await;
    let request = super::request_text(to, method, path, headers, body);
    tls.stream
        .write_all(request.as_bytes())
        .await
        .expect("write");
    let mut raw = Vec::new();
    // A peer that closes without close_notify is an error to rustls; what came
    // before it is the answer all the same.
    let _ = tokio::time::timeout(PATIENCE, tls.stream.read_to_end(&mut raw))
        .await
        .expect("answer in time");
    parse_answer(&raw)
}

/// A peer socket over TLS (`wss://`), as a guest's page opens one.
pub type Wss = WebSocketStream<TlsStream<TcpStream>>;

/// `wss://{to}/ws` from `127.0.0.{host}`.
pub async fn wss_from(host: u8, to: SocketAddr) -> Wss {
    let tls = tls_from(host, to).await;
    let (ws, _) = tokio_tungstenite::client_async(format!("wss://{to}/ws"), tls.stream)
        .await
        .expect("wss upgrade");
    ws
}

pub async fn wss_send(ws: &mut Wss, value: Value) {
    ws.send(Message::text(value.to_string()))
        .await
        .expect("send");
}

/// The next text frame as JSON; panics on close or after [`PATIENCE`].
pub async fn wss_recv(ws: &mut Wss) -> Value {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).expect("JSON");
            }
            Ok(Some(Ok(Message::Close(frame)))) => panic!("socket closed: {frame:?}"),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}
