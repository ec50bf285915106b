//! Request handlers: parse, ask the repository, answer JSON.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::client::TracedClient;
use crate::db::StockRepository;
use crate::error::{AppError, ErrorType};
use crate::flags::{self, Flags};
use crate::types::ProductId;

/// `GET /stocks/{product_id}`: the product's stock in every warehouse, `[]` when none. The
/// failure flags are evaluated on every request: `stockLatencyMs` delays the answer,
/// `stockFailure` turns it into a 500.
pub async fn get_stocks<R: StockRepository>(
    State(repo): State<R>,
    Extension(flags): Extension<Flags>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let raw = match path {
        Ok(Path(raw)) => raw,
        Err(rejection) => return Err(AppError::InvalidProductId(rejection.body_text())),
    };
    let product = ProductId::parse(&raw).ok_or(AppError::InvalidProductId(raw))?;
    // The library's span does not declare our attribute, so it is set on the OpenTelemetry span.
    tracing::Span::current().set_attribute("app.product.id", product.get());
    let mut bit = None;
    let delay = flags.latency().await;
    if !delay.is_zero() {
        flags::applied(flags::LATENCY, delay.as_millis() as i64);
        tokio::time::sleep(delay).await;
        bit = Some(ErrorType(flags::LATENCY));
    }
    if flags.failure().await {
        flags::applied(flags::FAILURE, true);
        return Err(AppError::FlagFailure);
    }
    let mut response = Json(repo.stock_levels(product).await?).into_response();
    if let Some(bit) = bit {
        response.extensions_mut().insert(bit);
    }
    Ok(response)
}

/// `GET /health`: 200 when the database answers, 503 otherwise.
pub async fn health<R: StockRepository>(State(repo): State<R>) -> Response {
    match repo.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err(err) => {
            tracing::warn!(event = "health.unavailable", error = %err, "database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "error": "stock database unavailable"})),
            )
                .into_response()
        }
    }
}

/// One element of the W3C Trace Context test-suite protocol: POST `arguments` to `url`.
#[derive(Debug, serde::Deserialize)]
pub struct TraceContextCall {
    url: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

/// `POST /debug/tracecontext` (only with `POLYTRACE_DEBUG_ENDPOINTS=1`): the service side of
/// the W3C Trace Context test-suite protocol. For each `{url, arguments}` of the JSON array,
/// POSTs `arguments` as JSON to `url` through the traced client (its own CLIENT span per call,
/// child of this request's SERVER span); 200 after every call.
pub async fn debug_tracecontext(
    Extension(client): Extension<TracedClient>,
    body: Result<Json<Vec<TraceContextCall>>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(calls)) = body else {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "body must be a JSON array of {\"url\": ..., \"arguments\": ...}"}),
            ),
        )
            .into_response();
    };
    for call in &calls {
        if let Err(err) = client
            .post_json(&call.url, call.arguments.to_string())
            .await
        {
            // The harness judges what arrived at its end; a failed call is only logged.
            tracing::warn!(event = "debug.tracecontext_call_failed", error = %err, "call failed");
        }
    }
    (StatusCode::OK, Json(json!({"calls": calls.len()}))).into_response()
}

/// Any other path: a JSON 404.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DbError;
    use crate::http::{router, server_span::ServerInfo};
    use crate::telemetry::testing::{attr, capture};
    use crate::types::{StockLevel, Warehouse};
    use axum::body::Body;
    use axum::http::{HeaderMap, Request};
    use http_body_util::BodyExt;
    use opentelemetry::Value;
    use opentelemetry::trace::{SpanKind, Status};
    use opentelemetry_sdk::trace::SpanData;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    /// A repository holding product 1's stock, or one whose database is down.
    #[derive(Clone, Default)]
    struct FakeRepo {
        down: bool,
        asked: Arc<Mutex<Vec<i64>>>,
    }

    impl StockRepository for FakeRepo {
        async fn stock_levels(&self, product: ProductId) -> Result<Vec<StockLevel>, DbError> {
            self.asked.lock().unwrap().push(product.get());
            if self.down {
                return Err(DbError::from(sqlx::Error::PoolTimedOut));
            }
            Ok(if product.get() == 1 {
                vec![StockLevel {
                    product_id: 1,
                    quantity: 5,
                    warehouse: Warehouse {
                        id: 1,
                        city: "Lausanne".into(),
                        state: "Vaud".into(),
                        country: "Switzerland".into(),
                    },
                }]
            } else {
                vec![]
            })
        }

        async fn ping(&self) -> Result<(), DbError> {
            if self.down {
                Err(DbError::from(sqlx::Error::PoolTimedOut))
            } else {
                Ok(())
            }
        }
    }

    fn app(repo: FakeRepo) -> axum::Router {
        app_with(repo, Flags::off())
    }

    fn app_with(repo: FakeRepo, flags: Flags) -> axum::Router {
        router(
            repo,
            flags,
            ServerInfo {
                host: "127.0.0.1".into(),
                port: 8082,
            },
            true,
        )
    }

    async fn send(
        repo: FakeRepo,
        uri: &str,
        traceparent: Option<&str>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = Request::get(uri).header("host", "127.0.0.1:8082");
        if let Some(tp) = traceparent {
            request = request.header("traceparent", tp);
        }
        let response = app(repo)
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    /// `send` under the span capture (every test that creates spans must capture them).
    async fn call(
        repo: FakeRepo,
        uri: &str,
        traceparent: Option<&str>,
    ) -> (StatusCode, serde_json::Value) {
        capture(send(repo, uri, traceparent)).await.0
    }

    /// The spans one request produced.
    async fn spans_of(repo: FakeRepo, uri: &str, traceparent: Option<&str>) -> Vec<SpanData> {
        capture(send(repo, uri, traceparent)).await.1
    }

    fn str_attr(span: &SpanData, key: &str) -> Option<String> {
        attr(span, key).map(|v| v.to_string())
    }

    #[tokio::test]
    async fn stock_of_a_product() {
        let (status, body) = call(FakeRepo::default(), "/stocks/1", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!([{"product_id": 1, "quantity": 5, "warehouse":
                {"id": 1, "city": "Lausanne", "state": "Vaud", "country": "Switzerland"}}])
        );
    }

    #[tokio::test]
    async fn product_without_stock_is_an_empty_list() {
        let (status, body) = call(FakeRepo::default(), "/stocks/3", None).await;
        assert_eq!((status, body), (StatusCode::OK, json!([])));
    }

    #[tokio::test]
    async fn invalid_ids_are_400_and_never_reach_the_database() {
        let repo = FakeRepo::default();
        for uri in [
            "/stocks/abc",
            "/stocks/-1",
            "/stocks/0",
            "/stocks/99999999999999999999",
            "/stocks/%FF",
        ] {
            let (status, body) = call(repo.clone(), uri, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
            assert!(body["error"].is_string(), "{uri}: {body}");
        }
        assert!(repo.asked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn database_outage_is_503() {
        let down = FakeRepo {
            down: true,
            ..Default::default()
        };
        let (status, body) = call(down.clone(), "/stocks/1", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, json!({"error": "stock database unavailable"}));
        let (status, body) = call(down, "/health", None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "unavailable");
    }

    #[tokio::test]
    async fn health_ok_and_unknown_path() {
        let (status, body) = call(FakeRepo::default(), "/health", None).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
        let spans = spans_of(FakeRepo::default(), "/health", None).await;
        assert!(spans.is_empty(), "health checks are not traced: {spans:?}");
        let (status, body) = call(FakeRepo::default(), "/nope", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, json!({"error": "not found"}));
    }

    #[tokio::test]
    async fn server_span_continues_the_incoming_trace() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let spans = spans_of(FakeRepo::default(), "/stocks/1", Some(tp)).await;
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.name, "GET /stocks/{product_id}");
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(
            span.span_context.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(span.parent_span_id.to_string(), "b7ad6b7169203331");
        assert_eq!(span.status, Status::Unset);
        for (key, value) in [
            ("http.request.method", "GET"),
            ("http.route", "/stocks/{product_id}"),
            ("url.path", "/stocks/1"),
            ("url.scheme", "http"),
            ("server.address", "127.0.0.1"),
            ("network.protocol.version", "1.1"),
        ] {
            assert_eq!(str_attr(span, key).as_deref(), Some(value), "{key}");
        }
        assert_eq!(attr(span, "server.port"), Some(Value::I64(8082)));
        assert_eq!(
            attr(span, "http.response.status_code"),
            Some(Value::I64(200))
        );
        assert_eq!(attr(span, "app.product.id"), Some(Value::I64(1)));
        assert_eq!(attr(span, "error.type"), None);
        // axum-tracing-opentelemetry records an empty user agent when the client sends none.
        assert_eq!(str_attr(span, "user_agent.original").as_deref(), Some(""));
    }

    #[tokio::test]
    async fn repeated_trace_context_headers_are_read_as_w3c_says() {
        let tp = |id: &str| format!("00-0af7651916cd43dd8448eb211c80319{id}-b7ad6b7169203331-01");
        let request = |headers: &[(&str, String)]| {
            let mut request = Request::get("/stocks/3");
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            app(FakeRepo::default()).oneshot(request.body(Body::empty()).unwrap())
        };
        let (_, spans) = capture(request(&[
            ("traceparent", tp("c")),
            ("traceparent", tp("d")),
        ]))
        .await;
        assert_eq!(
            spans[0].parent_span_id,
            opentelemetry::trace::SpanId::INVALID
        );

        let (_, spans) = capture(request(&[
            ("traceparent", tp("c")),
            ("tracestate", "a=1".into()),
            ("tracestate", "".into()),
            ("tracestate", "b=2".into()),
        ]))
        .await;
        assert_eq!(spans[0].parent_span_id.to_string(), "b7ad6b7169203331");
        assert_eq!(spans[0].span_context.trace_state().header(), "a=1,b=2");
    }

    #[tokio::test]
    async fn an_unknown_path_has_a_route_template() {
        for (path, route) in [("/nope/deeper", "/{*path}"), ("/", "/")] {
            let spans = spans_of(FakeRepo::default(), path, None).await;
            assert_eq!(spans[0].name, format!("GET {route}"), "{path}");
            assert_eq!(
                str_attr(&spans[0], "http.route").as_deref(),
                Some(route),
                "{path}"
            );
            assert_eq!(
                attr(&spans[0], "http.response.status_code"),
                Some(Value::I64(404)),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn debug_tracecontext_gives_each_call_its_own_client_span() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/callback", listener.local_addr().unwrap());
        type Received = Vec<(Option<String>, String)>;
        let received: Arc<Mutex<Received>> = Arc::default();
        let seen = received.clone();
        let callback = axum::Router::new().route(
            "/callback",
            axum::routing::post(move |headers: HeaderMap, body: String| async move {
                let tp = headers
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_owned());
                seen.lock().unwrap().push((tp, body));
                StatusCode::OK
            }),
        );
        tokio::spawn(async move { axum::serve(listener, callback).await.unwrap() });

        let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let body = json!([{"url": url, "arguments": [1]}, {"url": url, "arguments": {"a": 2}}]);
        let (status, spans) = capture(async {
            let request = Request::post("/debug/tracecontext")
                .header("traceparent", tp)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            app(FakeRepo::default())
                .oneshot(request)
                .await
                .unwrap()
                .status()
        })
        .await;
        assert_eq!(status, StatusCode::OK);
        let server = spans
            .iter()
            .find(|s| s.span_kind == SpanKind::Server)
            .unwrap();
        let clients: Vec<&SpanData> = spans
            .iter()
            .filter(|s| s.span_kind == SpanKind::Client)
            .collect();
        let received = received.lock().unwrap().clone();
        assert_eq!((received.len(), clients.len()), (2, 2));
        for (client, (traceparent, _)) in clients.iter().zip(&received) {
            assert_eq!(client.name, "POST");
            assert_eq!(client.parent_span_id, server.span_context.span_id());
            assert_eq!(str_attr(client, "url.full").as_deref(), Some(url.as_str()));
            assert_eq!(
                attr(client, "http.response.status_code"),
                Some(Value::I64(200))
            );
            let expected = format!(
                "00-0af7651916cd43dd8448eb211c80319c-{}-01",
                client.span_context.span_id()
            );
            assert_eq!(traceparent.as_deref(), Some(expected.as_str()));
        }
        assert_ne!(
            received[0].0, received[1].0,
            "each call has its own parent-id"
        );
        assert_eq!(received[0].1, "[1]");

        let disabled = router(
            FakeRepo::default(),
            Flags::off(),
            ServerInfo {
                host: "h".into(),
                port: 1,
            },
            false,
        );
        let request = Request::post("/debug/tracecontext")
            .body(Body::empty())
            .unwrap();
        let (response, _) = capture(disabled.oneshot(request)).await;
        assert_eq!(response.unwrap().status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn malformed_traceparent_starts_a_new_trace() {
        let spans = spans_of(
            FakeRepo::default(),
            "/stocks/1",
            Some("00-zz-not-a-traceparent"),
        )
        .await;
        let span = &spans[0];
        assert!(span.span_context.is_valid());
        assert_eq!(span.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    }

    #[tokio::test]
    async fn client_error_leaves_status_unset_server_error_sets_it() {
        let spans = spans_of(FakeRepo::default(), "/stocks/abc", None).await;
        assert_eq!(
            attr(&spans[0], "http.response.status_code"),
            Some(Value::I64(400))
        );
        assert_eq!(spans[0].status, Status::Unset);

        let down = FakeRepo {
            down: true,
            ..Default::default()
        };
        let spans = spans_of(down, "/stocks/1", None).await;
        assert_eq!(
            attr(&spans[0], "http.response.status_code"),
            Some(Value::I64(503))
        );
        assert_eq!(str_attr(&spans[0], "error.type").as_deref(), Some("503"));
        assert!(matches!(spans[0].status, Status::Error { .. }));
    }

    #[tokio::test]
    async fn failure_flags_bite_and_show_on_the_server_span() {
        use crate::flags::tests::{temp_dir, write_flags};
        let dir = temp_dir("handlers");
        let flags = Flags::from_file(&write_flags(&dir, 0, true)).await.unwrap();
        let ((status, body), spans) = capture(async {
            let request = Request::get("/stocks/1").body(Body::empty()).unwrap();
            let response = app_with(FakeRepo::default(), flags.clone())
                .oneshot(request)
                .await
                .unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            )
        })
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            body["error"].as_str().unwrap().contains("stockFailure"),
            "{body}"
        );
        let server = &spans[0];
        assert!(matches!(server.status, Status::Error { .. }));
        assert_eq!(
            str_attr(server, "error.type").as_deref(),
            Some("stockFailure")
        );
        let names: Vec<&str> = server.events.iter().map(|e| e.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "feature_flag.evaluation",
                "feature_flag.evaluation",
                "app.feature_flag.applied"
            ]
        );
        let evaluation = &server.events[1];
        let event_attr = |key: &str| {
            evaluation
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.to_string())
        };
        assert_eq!(
            event_attr("feature_flag.key").as_deref(),
            Some("stockFailure")
        );
        assert_eq!(
            event_attr("feature_flag.result.variant").as_deref(),
            Some("on")
        );
        assert_eq!(
            event_attr("feature_flag.provider.name").as_deref(),
            Some("flagd")
        );

        write_flags(&dir, 20, false);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while flags.failure().await || flags.latency().await.is_zero() {
            assert!(
                std::time::Instant::now() < deadline,
                "the change did not apply"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let (response, spans) = capture(async {
            let request = Request::get("/stocks/1").body(Body::empty()).unwrap();
            app_with(FakeRepo::default(), flags)
                .oneshot(request)
                .await
                .unwrap()
        })
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            str_attr(&spans[0], "error.type").as_deref(),
            Some("stockLatencyMs")
        );
        assert!(matches!(spans[0].status, Status::Error { .. }));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
