//! The embedded load balancer: listeners on loopback, or on a public server's addresses (HTTP/1.1 keep-alive and HTTP/2 over TLS via
//! ALPN), each either redirecting to HTTPS or forwarding to a [`Pool`] of replicas; configuration is
//! swapped live, and shutdown lets in-flight requests finish.

pub mod limits;
pub mod pool;
pub mod proxy;
pub mod response;
pub mod upgrade;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

pub use limits::{ConnectionCounts, ConnectionLimits};
pub use pool::{Pool, PoolLoad, PoolSettings};

/// The body type the balancer sends and answers with.
pub type BoxBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;
/// The HTTP client that forwards requests to replicas (keep-alive pooled; its connections count
/// against the replicas' share of descriptors).
pub type ProxyClient = Client<limits::CountedConnector, BoxBody>;
/// The HTTP client of health checks (outside the connections' shares, so a full balancer still checks).
pub type HealthClient = Client<HttpConnector, BoxBody>;

/// What a listener does.
#[derive(Clone)]
pub enum Route {
    /// Forward to the pool's replicas.
    Forward(Arc<Pool>),
    /// 301 to HTTPS on this port.
    Redirect {
        /// The port clients reach HTTPS on.
        https_port: u16,
    },
}

/// A listener's live configuration.
#[derive(Clone)]
pub struct ListenerConfig {
    /// What it does.
    pub route: Route,
    /// TLS, for HTTPS listeners.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where the answers to ACME HTTP-01 challenges come from, for the plain HTTP listener of a
    /// public server: `/.well-known/acme-challenge/<token>` is answered before any redirect or
    /// forward.
    pub challenges: Option<Arc<dyn scaling_core::Certificate>>,
}

struct Running {
    /// The first address bound (every other one has the same port).
    addr: SocketAddr,
    config: watch::Sender<ListenerConfig>,
    stop: watch::Sender<bool>,
    /// One accept loop per bound address.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The balancer: listeners and pools.
pub struct Balancer {
    listeners: Mutex<HashMap<u16, Running>>,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    client: ProxyClient,
    health: HealthClient,
    limits: ConnectionLimits,
}

impl Default for Balancer {
    fn default() -> Self {
        Self::new()
    }
}

/// How long shutdown waits for in-flight requests.
const GRACE: Duration = Duration::from_secs(10);

impl Balancer {
    /// A balancer with no listener, sharing out this process's descriptors (its soft open-file limit
    /// raised to the hard one first: [`crate::fd_limit::raise`]).
    pub fn new() -> Self {
        Self::with_limits(ConnectionLimits::new(crate::fd_limit::FdBudget::here()))
    }

    /// A balancer with no listener, within `limits`.
    pub fn with_limits(limits: ConnectionLimits) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(limits.counted(connector.clone()));
        let health = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1).build(connector);
        Self { listeners: Mutex::new(HashMap::new()), pools: Mutex::new(HashMap::new()), client, health, limits }
    }

    /// Connections open now against their limits.
    pub fn connections(&self) -> ConnectionCounts {
        self.limits.counts()
    }

    /// The pool of target group `id`, created empty on first use.
    pub fn pool(&self, id: &str) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pools.entry(id.to_string()).or_insert_with(|| Pool::new(PoolSettings::default(), self.health.clone())).clone()
    }

    /// Drops the pool of target group `id`.
    pub fn remove_pool(&self, id: &str) {
        self.pools.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
    }

    /// Starts (or reconfigures) the listener known as `port`, bound to `127.0.0.1:bind_port`
    /// (0 picks a free port). Returns the bound address.
    pub async fn ensure_listener(
        &self,
        port: u16,
        bind_port: u16,
        config: ListenerConfig,
    ) -> std::io::Result<SocketAddr> {
        self.ensure_listener_on(port, &[IpAddr::from([127, 0, 0, 1])], bind_port, config).await
    }

    /// [`ensure_listener`](Self::ensure_listener) bound to each of `addresses` on one port (0 picks a
    /// free one on the first, which the others then take too). Returns the first bound address.
    pub async fn ensure_listener_on(
        &self,
        port: u16,
        addresses: &[IpAddr],
        bind_port: u16,
        config: ListenerConfig,
    ) -> std::io::Result<SocketAddr> {
        if let Some(running) = self.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&port) {
            running.config.send_replace(config);
            return Ok(running.addr);
        }
        let Some((first, others)) = addresses.split_first() else {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on"));
        };
        let listener = listen(SocketAddr::new(*first, bind_port))?;
        let addr = listener.local_addr()?;
        let mut listeners = vec![listener];
        for other in others {
            listeners.push(listen(SocketAddr::new(*other, addr.port()))?);
        }
        let (config_tx, config_rx) = watch::channel(config);
        let (stop_tx, stop_rx) = watch::channel(false);
        let tasks = listeners
            .into_iter()
            .map(|listener| {
                let (config, stop) = (config_rx.clone(), stop_rx.clone());
                tokio::spawn(accept(listener, config, stop, self.client.clone(), self.limits.clone()))
            })
            .collect();
        let running = Running { addr, config: config_tx, stop: stop_tx, tasks };
        self.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(port, running);
        Ok(addr)
    }

    /// The address the listener known as `port` is bound to.
    pub fn listener_addr(&self, port: u16) -> Option<SocketAddr> {
        self.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&port).map(|r| r.addr)
    }

    /// Stops the listener known as `port`, letting its requests finish.
    pub async fn remove_listener(&self, port: u16) {
        let running = self.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&port);
        if let Some(running) = running {
            running.stop.send_replace(true);
            let _ = tokio::time::timeout(GRACE, futures::future::join_all(running.tasks)).await;
        }
    }

    /// Stops every listener, letting in-flight requests finish (bounded).
    pub async fn shutdown(&self) {
        let ports: Vec<u16> =
            self.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner).keys().copied().collect();
        futures::future::join_all(ports.into_iter().map(|p| self.remove_listener(p))).await;
    }
}

/// The most connections waiting to be accepted: a burst of new clients queues instead of being refused
/// (the kernel's default of 128 is what HAProxy's 4096 and gunicorn's 2048 avoid).
pub const ACCEPT_BACKLOG: u32 = 4096;

/// A listening socket on `addr` with [`ACCEPT_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv6() { tokio::net::TcpSocket::new_v6()? } else { tokio::net::TcpSocket::new_v4()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// How long accepting pauses after the process ran out of descriptors (or memory) for a connection.
const OUT_OF_DESCRIPTORS_PAUSE: Duration = Duration::from_millis(50);

/// Accepts while a client place is free (at the limit, new clients wait in the kernel's backlog), each
/// connection holding its place until it closes.
async fn accept(
    listener: TcpListener,
    config: watch::Receiver<ListenerConfig>,
    mut stop: watch::Receiver<bool>,
    client: ProxyClient,
    limits: ConnectionLimits,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let place = tokio::select! {
            place = limits.client() => place,
            _ = stop.changed() => break,
        };
        // Finished connections are reaped as we go, so the set holds only open ones.
        while connections.try_join_next().is_some() {}
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let current = config.borrow().clone();
                    let (client, stop) = (client.clone(), stop.clone());
                    connections.spawn(async move {
                        serve(stream, peer, current, client, stop).await;
                        drop(place);
                    });
                }
                Err(error) if limits::out_of_descriptors(&error) => {
                    tracing::warn!(%error, "no descriptor for a new connection; pausing accepts");
                    tokio::time::sleep(OUT_OF_DESCRIPTORS_PAUSE).await;
                }
                Err(_) => {}
            },
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, async { while connections.join_next().await.is_some() {} }).await;
}

async fn serve(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    config: ListenerConfig,
    client: ProxyClient,
    stop: watch::Receiver<bool>,
) {
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let (route, challenges) = (config.route.clone(), config.challenges.clone());
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let (route, client, challenges) = (route.clone(), client.clone(), challenges.clone());
        async move {
            let token = request.uri().path().strip_prefix(proxy::ACME_CHALLENGE_PATH);
            if let (Some(answers), Some(token)) = (&challenges, token) {
                return Ok(proxy::acme_challenge(answers.as_ref(), token).await);
            }
            Ok::<_, std::convert::Infallible>(match route {
                Route::Redirect { https_port } => proxy::redirect(&request, https_port),
                Route::Forward(pool) => proxy::forward(&client, &pool, request, proxy::Origin { peer, scheme }).await,
            })
        }
    });
    match config.tls {
        Some(tls) => {
            let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(10), TlsAcceptor::from(tls).accept(stream)).await
            else {
                return;
            };
            run_connection(TokioIo::new(stream), service, stop).await;
        }
        None => run_connection(TokioIo::new(stream), service, stop).await,
    }
}

async fn run_connection<I, S>(io: I, service: S, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::Service<
            hyper::Request<Incoming>,
            Response = hyper::Response<BoxBody>,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    let builder = auto::Builder::new(TokioExecutor::new());
    // With upgrades, so that a WebSocket's connection can be handed to its tunnel after the 101.
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACE, connection).await;
        }
    }
}

/// A rustls server configuration for `certificate`: TLS 1.3 only for a 1.3 minimum, else 1.3 and 1.2;
/// offering HTTP/2 and HTTP/1.1.
pub fn tls_config(
    certificate: crate::ca::IssuedCertificate,
    min_version: scaling_core::TlsVersion,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    // rustls speaks TLS 1.2 and 1.3 only, so an older minimum still gets 1.2 at the least.
    let versions: &[&rustls::SupportedProtocolVersion] = if min_version >= scaling_core::TlsVersion::V1_3 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_single_cert(certificate.chain, certificate.key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
    use scaling_core::TlsVersion;

    use super::tls_config;
    use crate::ca::LocalCa;

    /// Whether a client speaking only `client_versions` completes a handshake with the server the
    /// balancer builds for `min`, bytes passed in memory.
    fn handshakes(min: TlsVersion, client_versions: &[&'static rustls::SupportedProtocolVersion]) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::open(dir.path()).unwrap();
        let server = tls_config(ca.issue(&["app.localhost".to_string()]).unwrap(), min).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.certificate_pem().as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(client_versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from("app.localhost").unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
        let mut server = rustls::ServerConnection::new(server).unwrap();
        for _ in 0..10 {
            let mut wire = Vec::new();
            client.write_tls(&mut wire).unwrap();
            if server.read_tls(&mut wire.as_slice()).is_err() || server.process_new_packets().is_err() {
                return false;
            }
            let mut wire = Vec::new();
            server.write_tls(&mut wire).unwrap();
            if client.read_tls(&mut wire.as_slice()).is_err() || client.process_new_packets().is_err() {
                return false;
            }
            if !client.is_handshaking() && !server.is_handshaking() {
                return true;
            }
        }
        false
    }

    #[test]
    fn a_tls_1_3_minimum_refuses_tls_1_2_clients() {
        assert!(handshakes(TlsVersion::V1_3, &[&rustls::version::TLS13]));
        assert!(!handshakes(TlsVersion::V1_3, &[&rustls::version::TLS12]));
    }

    #[test]
    fn the_default_minimum_admits_tls_1_2_and_1_3() {
        assert!(handshakes(TlsVersion::V1_2, &[&rustls::version::TLS12]));
        assert!(handshakes(TlsVersion::V1_2, &[&rustls::version::TLS13]));
    }
}
