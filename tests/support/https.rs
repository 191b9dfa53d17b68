//! A small HTTP(S) client for the local provider's tests: it connects to 127.0.0.1 whatever the host
//! name (as browsers do for `*.localhost`), verifies TLS against a given CA, and keeps one connection.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

/// A response: status, headers, body text.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: String,
}

/// One keep-alive connection to `host` on `127.0.0.1:port`, over TLS when a CA is given.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

/// A TLS client configuration, as [`trusting`] makes it.
pub type TlsConfig = Arc<rustls::ClientConfig>;

/// A TLS client configuration that trusts only `ca_pem`.
pub fn trusting(ca_pem: &str) -> TlsConfig {
    let mut roots = rustls::RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> =
        rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()).collect::<Result<_, _>>().expect("CA PEM");
    for cert in certs {
        roots.add(cert).expect("CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

impl Connection {
    /// Connects; `tls` is `Some` for HTTPS.
    pub async fn open(host: &str, port: u16, tls: Option<Arc<rustls::ClientConfig>>) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let sender = match tls {
            Some(config) => {
                let name = ServerName::try_from(host.to_string()).map_err(std::io::Error::other)?;
                let stream = tokio_rustls::TlsConnector::from(config).connect(name, stream).await?;
                handshake(TokioIo::new(stream)).await?
            }
            None => handshake(TokioIo::new(stream)).await?,
        };
        Ok(Self { sender, host: host.to_string() })
    }

    /// Sends one request on this connection.
    pub async fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Result<Reply, String> {
        self.send_with(method, path, body, &[]).await
    }

    /// Sends one request with extra headers.
    pub async fn send_with(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let mut request = http::Request::builder().method(method).uri(path).header(http::header::HOST, &self.host);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request =
            request.body(Full::new(Bytes::from(body.unwrap_or_default().to_string()))).map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let response = self.sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() })
    }
}

async fn handshake<I>(io: I) -> std::io::Result<SendRequest<Full<Bytes>>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(io).await.map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One request on a fresh connection.
pub async fn once(host: &str, port: u16, tls: Option<Arc<rustls::ClientConfig>>, path: &str) -> Result<Reply, String> {
    let mut connection = Connection::open(host, port, tls).await.map_err(|e| e.to_string())?;
    connection.send("GET", path, None).await
}
