//! The SERVER span of every request: continued from the incoming W3C `traceparent` (a missing
//! or malformed one starts a new trace), named after the route template, with the stable HTTP
//! semantic-convention attributes, and a `request.completed` log line inside it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, Uri, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::{Status, TraceContextExt as _};
use opentelemetry_http::HeaderExtractor;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Where this server listens: the fallback for `server.address`/`server.port` when the request
/// names no authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub host: String,
    pub port: u16,
}

/// The request-side attributes of the server span, computed from the request alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAttributes {
    /// `http.request.method`: the method, or `_OTHER` for a non-standard one.
    pub method: &'static str,
    /// `http.route`: the matched route template, if any route matched.
    pub route: Option<String>,
    pub path: String,
    pub server_address: String,
    pub server_port: u16,
    pub protocol_version: &'static str,
    pub user_agent: Option<String>,
    pub client_address: Option<String>,
}

impl RequestAttributes {
    pub fn new(
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
        route: Option<&str>,
        client: Option<SocketAddr>,
        server: &ServerInfo,
    ) -> Self {
        let (server_address, server_port) = authority(uri, headers)
            .map(|(host, port)| (host, port.unwrap_or(80)))
            .unwrap_or_else(|| (server.host.clone(), server.port));
        Self {
            method: known_method(method),
            route: route.map(str::to_owned),
            path: uri.path().to_owned(),
            server_address,
            server_port,
            protocol_version: match version {
                Version::HTTP_09 => "0.9",
                Version::HTTP_10 => "1.0",
                Version::HTTP_2 => "2",
                Version::HTTP_3 => "3",
                _ => "1.1",
            },
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            client_address: client.map(|addr| addr.ip().to_string()),
        }
    }

    /// `{method} {route}`, or `{method}` alone when no route matched; `HTTP` for `_OTHER`.
    pub fn span_name(&self) -> String {
        let method = if self.method == "_OTHER" {
            "HTTP"
        } else {
            self.method
        };
        match &self.route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        }
    }

    /// The span, its response-side fields declared empty to be recorded by [`record_response`].
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "http.request",
            otel.name = self.span_name(),
            otel.kind = "server",
            http.request.method = self.method,
            http.route = self.route.as_deref(),
            url.path = self.path.as_str(),
            url.scheme = "http",
            server.address = self.server_address.as_str(),
            server.port = i64::from(self.server_port),
            network.protocol.version = self.protocol_version,
            user_agent.original = self.user_agent.as_deref(),
            client.address = self.client_address.as_deref(),
            http.response.status_code = Empty,
            error.type = Empty,
            app.product.id = Empty,
        )
    }
}

/// Records the response status; a 5xx marks the span as an error with `error.type` set to the
/// status code (4xx are the client's errors and leave a server span's status unset).
pub fn record_response(span: &tracing::Span, status: axum::http::StatusCode) {
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("error.type", status.as_str());
        span.set_status(Status::error(
            status.canonical_reason().unwrap_or("server error"),
        ));
    }
}

/// Axum middleware wrapping every route (and the fallback).
pub async fn trace_request(
    State(server): State<Arc<ServerInfo>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let attributes = RequestAttributes::new(
        request.method(),
        request.uri(),
        request.version(),
        request.headers(),
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0),
        &server,
    );
    let span = attributes.span();
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    if parent.span().span_context().is_valid() || parent.has_active_span() {
        // An error here only means tracing is disabled (no OpenTelemetry layer).
        let _ = span.set_parent(parent);
    }

    let response = next.run(request).instrument(span.clone()).await;

    let status = response.status();
    record_response(&span, status);
    span.in_scope(|| {
        tracing::info!(
            event = "request.completed",
            method = attributes.method,
            route = attributes.route.as_deref().unwrap_or(""),
            path = attributes.path.as_str(),
            status = status.as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        )
    });
    response
}

fn known_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

/// Host and port the client addressed: the URI authority (HTTP/2, absolute form), else `Host`.
fn authority(uri: &Uri, headers: &HeaderMap) -> Option<(String, Option<u16>)> {
    if let Some(authority) = uri.authority() {
        return Some((
            authority.host().trim_matches(['[', ']']).to_owned(),
            authority.port_u16(),
        ));
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let authority: axum::http::uri::Authority = host.parse().ok()?;
    Some((
        authority.host().trim_matches(['[', ']']).to_owned(),
        authority.port_u16(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> ServerInfo {
        ServerInfo {
            host: "127.0.0.1".into(),
            port: 8082,
        }
    }

    #[test]
    fn attributes_from_a_typical_request() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "localhost:8082".parse().unwrap());
        headers.insert(header::USER_AGENT, "curl/8".parse().unwrap());
        let uri: Uri = "/stocks/1?x=1".parse().unwrap();
        let attrs = RequestAttributes::new(
            &Method::GET,
            &uri,
            Version::HTTP_11,
            &headers,
            Some("/stocks/{product_id}"),
            Some("127.0.0.1:50000".parse().unwrap()),
            &server(),
        );
        assert_eq!(attrs.span_name(), "GET /stocks/{product_id}");
        assert_eq!(attrs.path, "/stocks/1");
        assert_eq!(attrs.server_address, "localhost");
        assert_eq!(attrs.server_port, 8082);
        assert_eq!(attrs.protocol_version, "1.1");
        assert_eq!(attrs.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(attrs.client_address.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn fallbacks_without_route_host_or_standard_method() {
        let uri: Uri = "/nope".parse().unwrap();
        let method = Method::from_bytes(b"PURGE").unwrap();
        let attrs = RequestAttributes::new(
            &method,
            &uri,
            Version::HTTP_10,
            &HeaderMap::new(),
            None,
            None,
            &server(),
        );
        assert_eq!(attrs.method, "_OTHER");
        assert_eq!(attrs.span_name(), "HTTP");
        assert_eq!(
            (attrs.server_address.as_str(), attrs.server_port),
            ("127.0.0.1", 8082)
        );
        assert_eq!(attrs.protocol_version, "1.0");
        assert_eq!(attrs.user_agent, None);
    }

    #[test]
    fn ipv6_host_header_without_brackets() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "[::1]:9000".parse().unwrap());
        let attrs = RequestAttributes::new(
            &Method::GET,
            &"/health".parse().unwrap(),
            Version::HTTP_11,
            &headers,
            Some("/health"),
            None,
            &server(),
        );
        assert_eq!(
            (attrs.server_address.as_str(), attrs.server_port),
            ("::1", 9000)
        );
    }
}
