//! The balancer's share of the process's descriptors ([`crate::fd_limit::FdBudget`]): at most so many
//! client connections accepted at once, and at most so many connections to replicas open at once.
//! A client waits in the kernel's backlog until a place frees; a request waits for a connection to its
//! replica. Neither can take the descriptors that health checks, replica pipes and the control socket
//! need, so running out of descriptors never loses a replica.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

use crate::fd_limit::FdBudget;

/// The two shares, with what is in use now.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    clients: Arc<Semaphore>,
    upstream: Arc<Semaphore>,
    budget: FdBudget,
}

/// Connections open now against their limits, for `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// Client connections open now.
    pub clients: usize,
    /// The most client connections accepted at once.
    pub client_limit: usize,
    /// Connections to replicas open now.
    pub upstream: usize,
    /// The most connections to replicas open at once.
    pub upstream_limit: usize,
}

impl ConnectionLimits {
    /// Limits from `budget`.
    pub fn new(budget: FdBudget) -> Self {
        Self {
            clients: Arc::new(Semaphore::new(budget.clients)),
            upstream: Arc::new(Semaphore::new(budget.upstream)),
            budget,
        }
    }

    /// A place for one more client connection, once one is free.
    pub async fn client(&self) -> OwnedSemaphorePermit {
        // The semaphore is never closed, so acquiring only waits.
        self.clients.clone().acquire_owned().await.expect("the client semaphore is never closed")
    }

    /// What is open now.
    pub fn counts(&self) -> ConnectionCounts {
        ConnectionCounts {
            clients: self.budget.clients - self.clients.available_permits(),
            client_limit: self.budget.clients,
            upstream: self.budget.upstream - self.upstream.available_permits(),
            upstream_limit: self.budget.upstream,
        }
    }

    /// `connector`, each of whose connections holds a place of the replicas' share while it is open.
    pub fn counted(&self, connector: HttpConnector) -> CountedConnector {
        CountedConnector { inner: connector, upstream: self.upstream.clone() }
    }
}

/// An [`HttpConnector`] whose connections count against the replicas' share.
#[derive(Clone)]
pub struct CountedConnector {
    inner: HttpConnector,
    upstream: Arc<Semaphore>,
}

/// A connection holding its place until it closes.
pub struct Counted<T> {
    io: T,
    _place: OwnedSemaphorePermit,
}

impl Service<Uri> for CountedConnector {
    type Response = Counted<<HttpConnector as Service<Uri>>::Response>;
    type Error = <HttpConnector as Service<Uri>>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let (mut inner, upstream) = (self.inner.clone(), self.upstream.clone());
        Box::pin(async move {
            let place = upstream.acquire_owned().await.expect("the upstream semaphore is never closed");
            let io = inner.call(uri).await?;
            Ok(Counted { io, _place: place })
        })
    }
}

impl<T: Connection> Connection for Counted<T> {
    fn connected(&self) -> Connected {
        self.io.connected()
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Counted<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

/// True for an `accept` error that means "no descriptor (or memory) for now": wait, then try again.
pub fn out_of_descriptors(error: &std::io::Error) -> bool {
    use nix::errno::Errno;
    matches!(
        error.raw_os_error().map(Errno::from_raw),
        Some(Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM)
    )
}
