//! The embedded balancer against hand-made replicas that misbehave on purpose: one that dies in the
//! middle of a reply, and one that streams.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use scaling_core::HealthCheckSpec;
use scaling_local::balancer::{Balancer, ListenerConfig, Pool, PoolSettings, Route};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BODY_LENGTH: usize = 100;

/// How a hand-made replica answers `/data` (`/health` always answers 200).
#[derive(Clone, Copy)]
enum Replica {
    /// The whole body.
    Whole,
    /// Headers promising the body, a tenth of it, then the connection closes.
    DiesMidBody,
    /// A chunked body: one chunk, a pause of four seconds, the last chunk.
    Streams,
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

async fn answer(mut stream: TcpStream, behaviour: Replica) {
    while let Some(head) = read_head(&mut stream).await {
        let whole = format!("HTTP/1.1 200 OK\r\ncontent-length: {BODY_LENGTH}\r\n\r\n{}", "g".repeat(BODY_LENGTH));
        let reply = match (head.contains(" /data "), behaviour) {
            (false, _) | (true, Replica::Whole) => whole,
            (true, Replica::DiesMidBody) => {
                let cut = format!("HTTP/1.1 200 OK\r\ncontent-length: {BODY_LENGTH}\r\n\r\n{}", "c".repeat(10));
                let _ = stream.write_all(cut.as_bytes()).await;
                return;
            }
            (true, Replica::Streams) => {
                let first = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n";
                let _ = stream.write_all(first.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(4)).await;
                "4\r\nlast\r\n0\r\n\r\n".to_string()
            }
        };
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn replica(behaviour: Replica) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, behaviour));
        }
    });
    addr
}

/// A balancer listening on loopback in front of `replicas`, all healthy.
async fn balancer(replicas: &[Replica]) -> (Balancer, SocketAddr) {
    let balancer = Balancer::new();
    let pool: Arc<Pool> = balancer.pool("tg");
    let health = HealthCheckSpec { path: "/health".into(), ..HealthCheckSpec::default() };
    pool.configure(PoolSettings { health, ..PoolSettings::default() });
    let mut targets = Vec::new();
    for (id, behaviour) in replicas.iter().enumerate() {
        targets.push(pool.add(id as u64 + 1, replica(*behaviour).await));
    }
    let config = ListenerConfig { route: Route::Forward(pool), tls: None, challenges: None };
    let addr = balancer.ensure_listener(80, 0, config).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !targets.iter().all(|t| t.is_healthy()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the replicas pass their health checks");
    (balancer, addr)
}

/// Sends one request and reads the reply to its end.
async fn send(addr: SocketAddr, method: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("{method} /data HTTP/1.1\r\nhost: app.localhost\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut reply)).await.unwrap().unwrap();
    reply
}

#[tokio::test]
async fn a_reply_cut_short_by_a_dying_replica_is_sent_again_from_another() {
    let (_balancer, addr) = balancer(&[Replica::DiesMidBody, Replica::Whole]).await;
    for attempt in 0..6 {
        let reply = send(addr, "GET").await;
        assert!(reply.starts_with("HTTP/1.1 200"), "attempt {attempt}: {reply}");
        assert!(reply.contains("x-scaling-replica: 2"), "attempt {attempt}: served by the whole replica: {reply}");
        assert!(reply.ends_with(&"g".repeat(BODY_LENGTH)), "attempt {attempt}: the whole body: {reply}");
    }
}

#[tokio::test]
async fn a_post_cut_short_is_a_bad_gateway_not_a_truncated_success() {
    let (_balancer, addr) = balancer(&[Replica::DiesMidBody]).await;
    let reply = send(addr, "POST").await;
    assert!(reply.starts_with("HTTP/1.1 502"), "{reply}");
    assert!(!reply.contains("cccc"), "no part of the cut reply reaches the client: {reply}");
}

#[tokio::test]
async fn a_streamed_reply_reaches_the_client_before_it_ends() {
    let (_balancer, addr) = balancer(&[Replica::Streams]).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /data HTTP/1.1\r\nhost: app.localhost\r\nconnection: close\r\n\r\n").await.unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    let first_chunk = tokio::time::timeout(Duration::from_secs(3), async {
        while !String::from_utf8_lossy(&seen).contains("first") {
            let n = stream.read(&mut buffer).await.unwrap();
            assert_ne!(n, 0, "the reply ended early: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buffer[..n]);
        }
    })
    .await;
    assert!(first_chunk.is_ok(), "the first chunk arrives while the replica still writes");
    let mut rest = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut rest)).await.unwrap().unwrap();
    assert!(rest.contains("last"), "then the rest: {rest}");
}

#[tokio::test]
async fn the_listener_queues_a_burst_of_new_connections_as_haproxy_does() {
    let (_balancer, addr) = balancer(&[Replica::Whole]).await;
    // `ss` shows a listening socket's accept backlog as its Send-Q.
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{}", addr.port())])
        .output()
        .expect("ss (iproute2) is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let backlog: u32 = text.split_whitespace().nth(2).and_then(|q| q.parse().ok()).unwrap_or_else(|| panic!("{text}"));
    let cap: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn").unwrap().trim().parse().unwrap();
    assert_eq!(backlog, scaling_local::balancer::ACCEPT_BACKLOG.min(cap), "{text}");
}
