//! A WebSocket through the balancer's TLS listener, as through an ALB: the handshake reaches the
//! replica, the 101 comes back, and messages flow both ways until either side closes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use scaling_core::{HealthCheckSpec, TlsVersion};
use scaling_local::balancer::{tls_config, Balancer, ListenerConfig, Pool, PoolSettings, Route};
use scaling_local::ca::LocalCa;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// A replica that answers `/health` over plain HTTP and echoes every WebSocket message it gets.
async fn echo_replica() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

async fn serve(mut stream: TcpStream) {
    let mut start = [0u8; 11];
    loop {
        match stream.peek(&mut start).await {
            Ok(n) if n >= start.len() => break,
            Ok(0) | Err(_) => return,
            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    if &start == b"GET /health" {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
        return;
    }
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else { return };
    while let Some(Ok(message)) = socket.next().await {
        if message.is_close() {
            break;
        }
        if socket.send(message).await.is_err() {
            break;
        }
    }
}

/// A balancer serving HTTPS for `app.localhost` in front of one echo replica; the CA to trust it by.
async fn tls_balancer(dir: &std::path::Path) -> (Balancer, SocketAddr, LocalCa) {
    let ca = LocalCa::open(dir).unwrap();
    let tls = tls_config(ca.issue(&["app.localhost".to_string()]).unwrap(), TlsVersion::V1_2).unwrap();
    let balancer = Balancer::new();
    let pool: Arc<Pool> = balancer.pool("pool");
    pool.configure(PoolSettings {
        health: HealthCheckSpec { path: "/health".into(), ..HealthCheckSpec::default() },
        ..PoolSettings::default()
    });
    let target = pool.add(1, echo_replica().await);
    let addr = balancer
        .ensure_listener(443, 0, ListenerConfig { route: Route::Forward(pool), tls: Some(tls), challenges: None })
        .await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !target.is_healthy() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the replica passes its health checks");
    (balancer, addr.unwrap(), ca)
}

#[tokio::test]
async fn a_websocket_echo_works_through_the_tls_balancer() {
    let dir = tempfile::tempdir().unwrap();
    let (_balancer, addr, ca) = tls_balancer(dir.path()).await;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.certificate_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("app.localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client)).connect(name, tcp).await.unwrap();
    let (mut socket, response) =
        tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::client_async("wss://app.localhost/ws", tls))
            .await
            .expect("the handshake completes")
            .expect("the replica accepts the WebSocket");
    assert_eq!(response.status(), 101);

    for i in 0..50 {
        let text = format!("message {i}");
        socket.send(Message::text(text.clone())).await.unwrap();
        let echoed = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(echoed, Message::text(text));
    }
    socket.send(Message::binary(vec![0u8, 159, 146, 150])).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(echoed, Message::binary(vec![0u8, 159, 146, 150]));
    socket.close(None).await.unwrap();
}
