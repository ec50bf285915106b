//! What `axum-tracing-opentelemetry` (which makes every request's SERVER span: W3C extraction,
//! name `{method} {route}`, the stable HTTP attributes, status ERROR on 5xx) leaves to us, in two
//! small middlewares around its layer:
//!
//! - [`effective_request`], before the span is made: the target URI as RFC 9112 §3.3
//!   reconstructs it (hyper hands an HTTP/1.1 origin-form target, so the library would record an
//!   empty `url.scheme`), and repeated `traceparent`/`tracestate`/`baggage` field lines combined
//!   into one as RFC 9110 §5.3 allows (the library's header extractor reads only the first line,
//!   and W3C Trace Context needs all of them: two traceparents are no valid parent, several
//!   tracestates are one list).
//! - [`complete`], inside the span: `client.address` (the library records the socket address
//!   under a field its span does not declare, so it is lost), `error.type` (on 5xx, or named by
//!   the handler), and the `request.completed` log line.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::uri::{Authority, Scheme, Uri};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::Status;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::error::ErrorType;

/// Where this server listens: the authority of the target URI when a request sends no `Host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub host: String,
    pub port: u16,
}

/// Propagation fields whose repeated lines are combined into one, in order.
const COMBINED: [&str; 3] = ["traceparent", "tracestate", "baggage"];

/// Runs before the span is made: see the module documentation.
pub async fn effective_request(
    State(server): State<Arc<ServerInfo>>,
    mut request: Request,
    next: Next,
) -> Response {
    *request.uri_mut() = effective_uri(request.uri(), request.headers(), &server);
    let headers = request.headers_mut();
    for name in COMBINED {
        let values: Vec<&[u8]> = headers
            .get_all(name)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect();
        if values.len() > 1 {
            let combined = HeaderValue::from_bytes(&values.join(&b","[..]))
                .expect("values that were valid header values, joined by commas");
            headers.insert(name, combined);
        }
    }
    next.run(request).await
}

/// `http://{Host}{path?query}`; the URI unchanged when it already is absolute or when neither
/// `Host` nor the listening address makes an authority.
fn effective_uri(uri: &Uri, headers: &axum::http::HeaderMap, server: &ServerInfo) -> Uri {
    if uri.scheme().is_some() {
        return uri.clone();
    }
    let authority = headers
        .get(header::HOST)
        .and_then(|host| Authority::try_from(host.as_bytes()).ok())
        .or_else(|| Authority::try_from(format!("{}:{}", server.host, server.port)).ok());
    let mut parts = uri.clone().into_parts();
    let Some(authority) = authority else {
        return uri.clone();
    };
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(authority);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some("/".parse().expect("a valid path"));
    }
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

/// Runs inside the SERVER span: see the module documentation.
pub async fn complete(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let span = tracing::Span::current();
    if let Some(ConnectInfo(client)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        span.set_attribute("client.address", client.ip().to_string());
    }
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let path = request.uri().path().to_owned();

    let response = next.run(request).await;

    let status = response.status();
    // The library sets status ERROR on a 5xx; the conventions also want `error.type`: the code,
    // or what the handler named (a flag that bit, even on a 200).
    let error_type = match response.extensions().get::<ErrorType>() {
        Some(ErrorType(named)) => Some((*named).to_owned()),
        None => status.is_server_error().then(|| status.as_str().to_owned()),
    };
    if let Some(error_type) = error_type {
        span.set_status(Status::error(error_type.clone()));
        span.set_attribute("error.type", error_type);
    }
    tracing::info!(
        event = "request.completed",
        method = method.as_str(),
        route = route.as_deref().unwrap_or(""),
        path,
        status = status.as_u16(),
        // Microsecond precision, as pricing logs it: f64 milliseconds print 3.2012009999999997.
        duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn server() -> ServerInfo {
        ServerInfo {
            host: "127.0.0.1".into(),
            port: 8082,
        }
    }

    #[test]
    fn origin_form_gets_the_scheme_and_the_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "localhost:8082".parse().unwrap());
        let uri = effective_uri(&"/stocks/1?x=1".parse().unwrap(), &headers, &server());
        assert_eq!(uri.to_string(), "http://localhost:8082/stocks/1?x=1");
    }

    #[test]
    fn without_host_the_listening_address_is_the_authority() {
        let uri = effective_uri(&"/health".parse().unwrap(), &HeaderMap::new(), &server());
        assert_eq!(uri.to_string(), "http://127.0.0.1:8082/health");
    }

    #[test]
    fn an_absolute_uri_is_kept() {
        let uri: Uri = "https://example.com/x".parse().unwrap();
        assert_eq!(effective_uri(&uri, &HeaderMap::new(), &server()), uri);
    }
}
