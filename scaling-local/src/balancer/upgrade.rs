//! HTTP/1.1 upgrades (WebSocket) through the balancer, as an ALB passes them: the request goes to one
//! replica with its `Upgrade` and `Connection: upgrade` headers (never retried: an upgrade is not
//! idempotent); when the replica answers 101, the client's connection and the replica's are joined
//! byte for byte until either side closes. The open tunnel does not count as a request in flight, so
//! a replica holding long-lived sockets still gets its share of new requests.

use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::pool::Pool;
use super::proxy::{empty, plain, sticky_replica, strip_hop_by_hop, upstream_request, Origin};
use super::response::ReplicaBody;
use super::{BoxBody, ProxyClient};

/// True for an HTTP/1.1 request asking to switch protocols (`Connection: upgrade` and `Upgrade: …`).
pub fn wants_upgrade<B>(request: &Request<B>) -> bool {
    let connection_upgrade = request
        .headers()
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    request.version() == Version::HTTP_11 && connection_upgrade && request.headers().contains_key(header::UPGRADE)
}

/// Forwards an upgrade request to a replica of `pool` and, on 101, joins the two connections.
pub async fn forward_upgrade(
    client: &ProxyClient,
    pool: &Arc<Pool>,
    mut request: Request<Incoming>,
    origin: Origin,
) -> Response<BoxBody> {
    let from_client = hyper::upgrade::on(&mut request);
    let sticky = sticky_replica(request.headers());
    let (parts, body) = request.into_parts();
    let Some(lease) = pool.acquire(sticky, &[]).await else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "no healthy replica is available\n");
    };
    let Some(mut upstream) = upstream_request(&parts, body.boxed(), lease.target.addr, &origin) else {
        return plain(StatusCode::BAD_REQUEST, "bad request\n");
    };
    // The hop-by-hop headers were stripped; an upgrade is the one hop that must reach the replica.
    if let Some(protocol) = parts.headers.get(header::UPGRADE) {
        upstream.headers_mut().insert(header::UPGRADE, protocol.clone());
        upstream.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    let target = lease.target.clone();
    let mut response = match client.request(upstream).await {
        Ok(response) => response,
        Err(error) => {
            pool.mark_failed(&target, &error.to_string());
            return plain(StatusCode::BAD_GATEWAY, "the replica closed the connection\n");
        }
    };
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        // The replica declined the upgrade: an ordinary answer.
        let (mut head, body) = response.into_parts();
        strip_hop_by_hop(&mut head.headers);
        return match ReplicaBody::read_ahead(body, lease).await {
            Ok(body) => Response::from_parts(head, body.boxed()),
            Err(_) => plain(StatusCode::BAD_GATEWAY, "the replica closed the connection\n"),
        };
    }
    drop(lease);
    let from_replica = hyper::upgrade::on(&mut response);
    tokio::spawn(async move {
        if let (Ok(client_side), Ok(replica_side)) = tokio::join!(from_client, from_replica) {
            let (mut client_side, mut replica_side) = (TokioIo::new(client_side), TokioIo::new(replica_side));
            let _ = tokio::io::copy_bidirectional(&mut client_side, &mut replica_side).await;
        }
    });
    // The 101 as the replica gave it (its `Upgrade`, `Connection` and handshake headers included).
    let (head, _) = response.into_parts();
    Response::from_parts(head, empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_1_1_requests_with_both_headers_ask_to_upgrade() {
        let request = |version, connection: &str, upgrade: Option<&str>| {
            let mut builder = Request::builder().version(version).header(header::CONNECTION, connection);
            if let Some(protocol) = upgrade {
                builder = builder.header(header::UPGRADE, protocol);
            }
            builder.body(()).unwrap()
        };
        assert!(wants_upgrade(&request(Version::HTTP_11, "keep-alive, Upgrade", Some("websocket"))));
        assert!(!wants_upgrade(&request(Version::HTTP_11, "keep-alive", Some("websocket"))));
        assert!(!wants_upgrade(&request(Version::HTTP_11, "upgrade", None)));
        assert!(!wants_upgrade(&request(Version::HTTP_2, "upgrade", Some("websocket"))));
    }
}
