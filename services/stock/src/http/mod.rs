//! The HTTP interface: routes, handlers and the SERVER span of every request.

pub mod handlers;
pub mod server_span;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{any, get, post};
use axum_tracing_opentelemetry::middleware::OtelAxumLayer;

use crate::client::TracedClient;
use crate::db::StockRepository;
use crate::flags::Flags;
use server_span::ServerInfo;

/// Builds the application. The path parameter is named `product_id` so the route template
/// (and so `http.route` and the span name) reads `/stocks/{product_id}`.
/// `debug_endpoints` adds `POST /debug/tracecontext`.
pub fn router<R: StockRepository>(
    repo: R,
    flags: Flags,
    server: ServerInfo,
    debug_endpoints: bool,
) -> Router {
    let mut routes = Router::new()
        .route(
            "/stocks/{product_id}",
            get(handlers::get_stocks::<R>).layer(axum::Extension(flags)),
        )
        .route("/health", get(handlers::health::<R>));
    if debug_endpoints {
        // One client for the whole process (connection pool), used only by this endpoint.
        let client = TracedClient::new(std::time::Duration::from_secs(5))
            .expect("building the debug endpoint's HTTP client");
        routes = routes.route(
            "/debug/tracecontext",
            post(handlers::debug_tracecontext).layer(axum::Extension(client)),
        );
    }
    routes
        // Routes, not only a fallback, so that an unknown path's span has a route template
        // (the library records an empty `http.route` when none matched); `/{*path}` does not
        // match the root itself.
        .route("/", any(handlers::not_found))
        .route("/{*path}", any(handlers::not_found))
        .fallback(handlers::not_found)
        // The last layer is the outermost: the request is made effective, then the span opens.
        .layer(middleware::from_fn(server_span::complete))
        // Health checks are not traced: `polytrace up`, supervisord and Kubernetes poll them every
        // few seconds, and each poll would be a trace of its own with nothing to learn from.
        .layer(OtelAxumLayer::default().filter(|path| path != "/health"))
        .layer(middleware::from_fn_with_state(
            Arc::new(server),
            server_span::effective_request,
        ))
        .with_state(repo)
}

/// Resolves on SIGTERM or SIGINT; axum then stops accepting and drains open requests.
pub async fn shutdown_signal() {
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = sigterm.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!(event = "service.stopping", "shutdown signal received");
}
