//! The HTTP interface: routes, handlers and the server-span middleware.

pub mod handlers;
pub mod server_span;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::get;

use crate::db::StockRepository;
use server_span::ServerInfo;

/// Builds the application. The path parameter is named `product_id` so the route template
/// (and so `http.route` and the span name) reads `/stocks/{product_id}`.
pub fn router<R: StockRepository>(repo: R, server: ServerInfo) -> Router {
    Router::new()
        .route("/stocks/{product_id}", get(handlers::get_stocks::<R>))
        .route("/health", get(handlers::health::<R>))
        .fallback(handlers::not_found)
        .layer(middleware::from_fn_with_state(
            Arc::new(server),
            server_span::trace_request,
        ))
        .with_state(repo)
}
