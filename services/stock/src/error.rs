//! Typed errors and how they map to HTTP responses (`{"error": "..."}`, never internals).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failed database call, classified so an outage is a 503 and nothing else is.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached (no connection within the acquire timeout, I/O
    /// failure, server shutting down): retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database answered but the statement failed (a bug or a schema/permission problem).
    #[error("database query failed: {0}")]
    Query(#[source] sqlx::Error),
}

impl DbError {
    /// A low-cardinality identifier for `error.type` on the database span.
    pub fn error_type(&self) -> &'static str {
        let source = match self {
            DbError::Unavailable(e) | DbError::Query(e) => e,
        };
        match source {
            sqlx::Error::PoolTimedOut => "pool_timed_out",
            sqlx::Error::PoolClosed => "pool_closed",
            sqlx::Error::Io(_) => "io",
            sqlx::Error::Tls(_) => "tls",
            sqlx::Error::Protocol(_) => "protocol",
            sqlx::Error::Database(_) => "database",
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => "decode",
            sqlx::Error::RowNotFound => "row_not_found",
            sqlx::Error::WorkerCrashed => "worker_crashed",
            _ => "other",
        }
    }

    /// The SQLSTATE when the server sent one (`db.response.status_code`).
    pub fn sqlstate(&self) -> Option<String> {
        match self {
            DbError::Unavailable(sqlx::Error::Database(e))
            | DbError::Query(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        let unavailable = match &err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            // Class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now),
            // 53300 (too many connections).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
            _ => false,
        };
        if unavailable {
            DbError::Unavailable(err)
        } else {
            DbError::Query(err)
        }
    }
}

/// The `error.type` a response stands for, when it is not its status code (a flag that bit);
/// carried in the response's extensions to the SERVER span (`http::server_span::complete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorType(pub &'static str);

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid product id {0:?}: expected a positive integer up to 9223372036854775807")]
    InvalidProductId(String),
    /// The `stockFailure` flag is on.
    #[error("failure injected by the stockFailure flag")]
    FlagFailure,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::InvalidProductId(_) => StatusCode::BAD_REQUEST,
            AppError::FlagFailure => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Db(DbError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(DbError::Query(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client sees: user errors verbatim, infrastructure errors without details.
    pub fn public_message(&self) -> String {
        match self {
            AppError::InvalidProductId(_) | AppError::FlagFailure => self.to_string(),
            AppError::Db(DbError::Unavailable(_)) => "stock database unavailable".into(),
            AppError::Db(DbError::Query(_)) => "internal error".into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // Details go to the log (with trace_id/span_id), not to the client.
            tracing::error!(event = "request.failed", error = %self, "request failed");
        }
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.public_message() })),
        )
            .into_response();
        if let AppError::FlagFailure = self {
            response
                .extensions_mut()
                .insert(ErrorType(crate::flags::FAILURE));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_id_is_400_and_names_the_input() {
        let err = AppError::InvalidProductId("abc".into());
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(err.public_message().contains("\"abc\""));
    }

    #[test]
    fn outage_is_503_without_details() {
        let err = AppError::from(DbError::from(sqlx::Error::PoolTimedOut));
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.public_message(), "stock database unavailable");
    }

    #[test]
    fn io_failure_is_unavailable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = DbError::from(sqlx::Error::Io(io));
        assert!(matches!(err, DbError::Unavailable(_)));
        assert_eq!(err.error_type(), "io");
    }

    #[test]
    fn other_failures_are_500() {
        let err = AppError::from(DbError::from(sqlx::Error::RowNotFound));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.public_message(), "internal error");
    }

    #[tokio::test]
    async fn response_body_is_json_error() {
        use http_body_util::BodyExt;
        let resp = AppError::InvalidProductId("-1".into()).into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("\"-1\""));
    }
}
