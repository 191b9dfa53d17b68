//! A replica's response body on its way to the client: read ahead while it is small and of known
//! length, so a replica that dies mid-body costs a retry rather than a truncated reply, and held
//! together with the replica's lease until the last byte is sent.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::pool::Lease;

/// The largest response body read ahead before the reply starts; bigger or unsized bodies stream.
pub const READ_AHEAD_LIMIT: u64 = 1 << 20;

/// A response body: the frames already read, then the rest from the replica.
pub struct ReplicaBody {
    read: VecDeque<Frame<Bytes>>,
    rest: Option<Incoming>,
    _lease: Lease,
}

impl ReplicaBody {
    /// Reads `body` to its end when its length is known and at most [`READ_AHEAD_LIMIT`]; streams
    /// anything else (large files, chunked streams such as server-sent events) as it comes.
    ///
    /// An error means the replica failed before the client saw a byte: the request may go elsewhere.
    pub async fn read_ahead(mut body: Incoming, lease: Lease) -> Result<Self, hyper::Error> {
        let small = body.size_hint().exact().is_some_and(|length| length <= READ_AHEAD_LIMIT);
        let mut read = VecDeque::new();
        if small {
            while let Some(frame) = body.frame().await {
                read.push_back(frame?);
            }
        }
        Ok(Self { read, rest: (!small).then_some(body), _lease: lease })
    }
}

impl Body for ReplicaBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(frame) = self.read.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_empty() && self.rest.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.rest {
            // Frames are read ahead only when nothing is left to stream, so the two never add up.
            Some(rest) => rest.size_hint(),
            None => {
                SizeHint::with_exact(self.read.iter().filter_map(Frame::data_ref).map(|data| data.len() as u64).sum())
            }
        }
    }
}
