//! Request handling: redirect plain HTTP to HTTPS, or forward to a replica with `X-Forwarded-*`
//! headers, retrying idempotent requests on another replica when a connection fails or a small
//! response is cut short.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::pool::Pool;
use super::response::ReplicaBody;
use super::{BoxBody, ProxyClient};

/// The sticky-session cookie.
pub const STICKY_COOKIE: &str = "SCALING_REPLICA";

/// The response header naming the replica that served a request (for debugging stickiness and spread).
pub const REPLICA_HEADER: &str = "x-scaling-replica";

/// The largest idempotent request body kept in memory so it can be retried.
const RETRY_BODY_LIMIT: usize = 1 << 20;

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn full(body: impl Into<Bytes>) -> BoxBody {
    Full::new(body.into()).map_err(|never| match never {}).boxed()
}

/// An empty body.
pub(super) fn empty() -> BoxBody {
    full(Bytes::new())
}

pub(super) fn plain(status: StatusCode, text: &str) -> Response<BoxBody> {
    let mut response = Response::new(full(text.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

pub(super) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().map(|n| HeaderName::from_static(n)).chain(listed) {
        headers.remove(name);
    }
}

/// `host:port` without the port (IPv6 literals keep their brackets).
fn strip_port(raw: &str) -> &str {
    if raw.starts_with('[') {
        return raw.find(']').map_or(raw, |i| &raw[..=i]);
    }
    match raw.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => raw,
    }
}

/// The request's host without port (from `Host` or, for HTTP/2, the authority).
fn host(request: &Request<Incoming>) -> Option<String> {
    let from_header = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
    let raw = from_header.or_else(|| request.uri().authority().map(|a| a.to_string()))?;
    Some(strip_port(&raw).to_string())
}

/// Where an ACME authority asks for the answer to an HTTP-01 challenge (RFC 8555 §8.3).
pub const ACME_CHALLENGE_PATH: &str = "/.well-known/acme-challenge/";

/// The answer to HTTP-01 token `token` from `answers`: 200 with the key authorization, 404 for a
/// token no pending order has, 503 when the answers cannot be read (the authority retries).
pub async fn acme_challenge(answers: &dyn scaling_core::Certificate, token: &str) -> Response<BoxBody> {
    match answers.http_challenge(token).await {
        Ok(Some(key_authorization)) => {
            let mut response = Response::new(full(key_authorization));
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            response
        }
        Ok(None) => plain(StatusCode::NOT_FOUND, "no such challenge\n"),
        Err(error) => {
            tracing::warn!(%error, "reading an ACME challenge answer");
            plain(StatusCode::SERVICE_UNAVAILABLE, "challenge answers unavailable\n")
        }
    }
}

/// 301 to the same URL on HTTPS at `https_port`.
pub fn redirect(request: &Request<Incoming>, https_port: u16) -> Response<BoxBody> {
    let Some(host) = host(request) else { return plain(StatusCode::BAD_REQUEST, "missing Host header\n") };
    let port = if https_port == 443 { String::new() } else { format!(":{https_port}") };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{host}{port}{path}");
    let mut response = plain(StatusCode::MOVED_PERMANENTLY, &format!("moved to {location}\n"));
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

pub(super) fn sticky_replica(headers: &HeaderMap) -> Option<u64> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == STICKY_COOKIE)
        .and_then(|(_, value)| value.parse().ok())
}

/// What a forwarded request needs from its connection.
pub struct Origin {
    /// The client's address.
    pub peer: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
}

pub(super) fn upstream_request(
    parts: &http::request::Parts,
    body: BoxBody,
    target: SocketAddr,
    origin: &Origin,
) -> Option<Request<BoxBody>> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri = format!("http://{target}{path}").parse().ok()?;
    let mut request = Request::new(body);
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    if !headers.contains_key(header::HOST) {
        if let Some(authority) = parts.uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
            headers.insert(header::HOST, authority);
        }
    }
    let client_ip = origin.peer.ip().to_string();
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(previous) => format!("{previous}, {client_ip}"),
        None => client_ip,
    };
    headers.insert("x-forwarded-for", HeaderValue::from_str(&forwarded_for).ok()?);
    headers.insert("x-forwarded-proto", HeaderValue::from_static(origin.scheme));
    if let Some(host) = headers.get(header::HOST).cloned() {
        headers.insert("x-forwarded-host", host);
    }
    *request.headers_mut() = headers;
    Some(request)
}

/// Forwards `request` to a replica of `pool` (an upgrade, such as a WebSocket, is joined through).
pub async fn forward(
    client: &ProxyClient,
    pool: &Arc<Pool>,
    request: Request<Incoming>,
    origin: Origin,
) -> Response<BoxBody> {
    if super::upgrade::wants_upgrade(&request) {
        return super::upgrade::forward_upgrade(client, pool, request, origin).await;
    }
    let idempotent =
        matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE);
    let sticky = sticky_replica(request.headers());
    let stickiness = pool.settings().stickiness;
    let (parts, body) = request.into_parts();
    // Idempotent requests keep their (small) body so they can be sent again to another replica.
    let (mut once, kept) = if idempotent {
        match http_body_util::Limited::new(body, RETRY_BODY_LIMIT).collect().await {
            Ok(collected) => (None, Some(collected.to_bytes())),
            Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large to retry\n"),
        }
    } else {
        (Some(body.boxed()), None)
    };
    let attempts = if idempotent { 3 } else { 1 };
    let mut tried = Vec::new();
    for _ in 0..attempts {
        let Some(lease) = pool.acquire(sticky, &tried).await else {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "no healthy replica is available\n");
        };
        let body = match (&kept, once.take()) {
            (Some(bytes), _) => full(bytes.clone()),
            (None, Some(body)) => body,
            (None, None) => break,
        };
        let Some(upstream) = upstream_request(&parts, body, lease.target.addr, &origin) else {
            return plain(StatusCode::BAD_REQUEST, "bad request\n");
        };
        let target = lease.target.clone();
        let failure = match client.request(upstream).await {
            Ok(response) => {
                let replica = target.id;
                let (mut head, body) = response.into_parts();
                strip_hop_by_hop(&mut head.headers);
                head.headers.insert(REPLICA_HEADER, HeaderValue::from(replica));
                if let (Some(duration), false) = (stickiness, sticky == Some(replica)) {
                    let cookie = format!(
                        "{STICKY_COOKIE}={replica}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax",
                        duration.as_secs()
                    );
                    if let Ok(value) = HeaderValue::from_str(&cookie) {
                        head.headers.append(header::SET_COOKIE, value);
                    }
                }
                match ReplicaBody::read_ahead(body, lease).await {
                    Ok(body) => return Response::from_parts(head, body.boxed()),
                    Err(error) => format!("the response was cut short: {error}"),
                }
            }
            Err(error) => error.to_string(),
        };
        pool.mark_failed(&target, &failure);
        tried.push(target.id);
    }
    plain(StatusCode::BAD_GATEWAY, "the replica closed the connection\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("close, x-secret-hop"));
        headers.insert("x-secret-hop", HeaderValue::from_static("1"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::ACCEPT));
    }

    #[test]
    fn forwarded_requests_say_who_asked_and_how() {
        let incoming = http::Request::builder()
            .method("POST")
            .uri("/_dash-update-component?x=1")
            .header(header::HOST, "dashmath.localhost:8443")
            .header("x-forwarded-for", "203.0.113.7")
            .header(header::CONNECTION, "keep-alive")
            .body(())
            .unwrap();
        let (parts, ()) = incoming.into_parts();
        let origin = Origin { peer: "127.0.0.1:50000".parse().unwrap(), scheme: "https" };
        let upstream = upstream_request(&parts, full(""), "127.0.0.1:9001".parse().unwrap(), &origin).unwrap();
        assert_eq!(upstream.uri(), "http://127.0.0.1:9001/_dash-update-component?x=1");
        let h = upstream.headers();
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, 127.0.0.1", "the client's address is appended");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "dashmath.localhost:8443");
        assert_eq!(h[header::HOST], "dashmath.localhost:8443", "the host is kept for the app");
        assert!(!h.contains_key(header::CONNECTION));
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("app.localhost:8080"), "app.localhost");
        assert_eq!(strip_port("app.localhost"), "app.localhost");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
    }

    #[test]
    fn the_sticky_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; SCALING_REPLICA=7; b=2"));
        assert_eq!(sticky_replica(&headers), Some(7));
    }
}
