//! Outbound HTTP. Every call gets its own CLIENT span (stable HTTP client conventions), and the
//! callee receives that span's context, so each call carries its own parent-id.
//!
//! `reqwest-tracing` would do this as a `reqwest-middleware`, but its newest release (0.7.1)
//! speaks opentelemetry 0.32 at most, and this service is on 0.33: the span and the injection
//! are here, in one place every outbound call goes through.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use opentelemetry::trace::Status;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A pooled HTTP client whose calls are traced; built once per process.
#[derive(Debug, Clone)]
pub struct TracedClient(reqwest::Client);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("invalid URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("HTTP call failed: {0}")]
    Http(#[from] reqwest::Error),
}

impl TracedClient {
    pub fn new(timeout: Duration) -> reqwest::Result<Self> {
        reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map(Self)
    }

    /// POSTs `body` (JSON text) to `url` inside a new CLIENT span, child of the current span.
    /// A response of any status is `Ok`; 4xx and 5xx mark the span as an error, as the
    /// conventions ask for client spans.
    pub async fn post_json(&self, url: &str, body: String) -> Result<StatusCode, CallError> {
        let url = reqwest::Url::parse(url).map_err(|err| CallError::Url {
            url: url.to_owned(),
            reason: err.to_string(),
        })?;
        let span = tracing::info_span!(
            "http.client",
            otel.name = "POST",
            otel.kind = "client",
            http.request.method = "POST",
            url.full = redacted(&url).as_str(),
            server.address = url.host_str(),
            server.port = url.port_or_known_default().map(i64::from),
            http.response.status_code = Empty,
            error.type = Empty,
        );
        let mut headers = HeaderMap::new();
        let cx = span.context();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(&mut headers))
        });
        let sent = self
            .0
            .post(url)
            .headers(headers)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .instrument(span.clone())
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                span.record("http.response.status_code", i64::from(status.as_u16()));
                if status.is_client_error() || status.is_server_error() {
                    span.record("error.type", status.as_str());
                    span.set_status(Status::error(status.to_string()));
                }
                Ok(status)
            }
            Err(err) => {
                span.record("error.type", error_type(&err));
                span.set_status(Status::error(err.to_string()));
                Err(err.into())
            }
        }
    }
}

/// `url.full` without credentials, as the conventions require.
fn redacted(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() {
        let _ = shown.set_username("REDACTED");
    }
    if shown.password().is_some() {
        let _ = shown.set_password(Some("REDACTED"));
    }
    shown.to_string()
}

fn error_type(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else if err.is_body() || err.is_decode() {
        "body"
    } else {
        "request"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_span() {
        let url = reqwest::Url::parse("http://user:secret@127.0.0.1:9/x?y=1").unwrap();
        assert_eq!(redacted(&url), "http://REDACTED:REDACTED@127.0.0.1:9/x?y=1");
        let plain = reqwest::Url::parse("http://127.0.0.1:9/x").unwrap();
        assert_eq!(redacted(&plain), "http://127.0.0.1:9/x");
    }
}
