//! One helper that runs a SQL statement inside an OpenTelemetry CLIENT span following the
//! stable database semantic conventions, so no query is traced by hand.

use std::future::Future;

use opentelemetry::KeyValue;
use opentelemetry::trace::Status;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::DbError;

/// Everything static about one SQL statement that its span reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement {
    /// `db.operation.name`, e.g. `SELECT`.
    pub operation: &'static str,
    /// `db.collection.name`: the schema-qualified table the statement is about, if any.
    pub collection: Option<&'static str>,
    /// `db.query.text`: parameterised, so it never carries values.
    pub text: &'static str,
}

impl Statement {
    /// Span name per the database conventions: `{db.operation.name} {target}`, where the
    /// target is the collection, or the namespace when the statement names no table.
    pub fn span_name(&self, namespace: &str) -> String {
        format!(
            "{} {}",
            self.operation,
            self.collection.unwrap_or(namespace)
        )
    }
}

/// Where the statements go: the connection-level attributes of every database span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbTarget {
    /// `db.namespace`: the database name.
    pub namespace: String,
    /// `server.address`
    pub server_address: String,
    /// `server.port`
    pub server_port: u16,
}

/// How many rows a statement's result holds (`db.response.returned_rows`), when that means
/// something.
pub trait ReturnedRows {
    fn returned_rows(&self) -> Option<usize>;
}

impl<T> ReturnedRows for Vec<T> {
    fn returned_rows(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// Creates the CLIENT span for `statement` as a child of the current span.
pub fn db_span(statement: &Statement, target: &DbTarget) -> tracing::Span {
    tracing::info_span!(
        target: "stock::db",
        "db.statement",
        otel.name = statement.span_name(&target.namespace),
        otel.kind = "client",
        db.system.name = "postgresql",
        db.namespace = target.namespace.as_str(),
        db.operation.name = statement.operation,
        db.collection.name = statement.collection,
        db.query.text = statement.text,
        server.address = target.server_address.as_str(),
        server.port = i64::from(target.server_port),
        db.response.returned_rows = Empty,
        db.response.status_code = Empty,
        error.type = Empty,
    )
}

/// Runs `query` (a sqlx future for `statement`) inside its database span and classifies the
/// outcome: on failure the span gets status ERROR, `error.type`, the SQLSTATE when there is one
/// and an `exception` event.
pub async fn traced<T, F>(statement: &Statement, target: &DbTarget, query: F) -> Result<T, DbError>
where
    T: ReturnedRows,
    F: Future<Output = Result<T, sqlx::Error>>,
{
    let span = db_span(statement, target);
    let result = query.instrument(span.clone()).await.map_err(DbError::from);
    match &result {
        Ok(value) => {
            if let Some(rows) = value.returned_rows() {
                span.record("db.response.returned_rows", rows as i64);
            }
        }
        Err(err) => record_db_error(&span, err),
    }
    result
}

fn record_db_error(span: &tracing::Span, err: &DbError) {
    span.record("error.type", err.error_type());
    if let Some(code) = err.sqlstate() {
        span.record("db.response.status_code", code.as_str());
    }
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", err.error_type()),
            KeyValue::new("exception.message", err.to_string()),
        ],
    );
    span.set_status(Status::error(err.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::testing::{attr, capture};
    use opentelemetry::trace::SpanKind;

    const JOIN: Statement = Statement {
        operation: "SELECT",
        collection: Some("stock.stock_level"),
        text: "SELECT 1 FROM stock.stock_level WHERE product_id = $1",
    };

    fn target() -> DbTarget {
        DbTarget {
            namespace: "polytrace".into(),
            server_address: "127.0.0.1".into(),
            server_port: 55432,
        }
    }

    #[test]
    fn span_name_follows_db_semconv() {
        assert_eq!(JOIN.span_name("polytrace"), "SELECT stock.stock_level");
        let ping = Statement {
            operation: "SELECT",
            collection: None,
            text: "SELECT 1",
        };
        assert_eq!(ping.span_name("polytrace"), "SELECT polytrace");
    }

    #[tokio::test]
    async fn success_emits_client_span_with_db_attributes() {
        let (_, spans) = capture(async {
            let rows = traced(&JOIN, &target(), async { Ok(vec![1, 2, 3]) }).await;
            assert_eq!(rows.unwrap(), vec![1, 2, 3]);
        })
        .await;
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.name, "SELECT stock.stock_level");
        assert_eq!(span.span_kind, SpanKind::Client);
        assert_eq!(span.status, Status::Unset);
        for (key, value) in [
            ("db.system.name", "postgresql"),
            ("db.namespace", "polytrace"),
            ("db.operation.name", "SELECT"),
            ("db.collection.name", "stock.stock_level"),
            ("db.query.text", JOIN.text),
            ("server.address", "127.0.0.1"),
        ] {
            assert_eq!(
                attr(span, key).map(|v| v.to_string()).as_deref(),
                Some(value),
                "{key}"
            );
        }
        assert_eq!(
            attr(span, "server.port"),
            Some(opentelemetry::Value::I64(55432))
        );
        assert_eq!(
            attr(span, "db.response.returned_rows"),
            Some(opentelemetry::Value::I64(3))
        );
        assert_eq!(attr(span, "error.type"), None);
    }

    #[tokio::test]
    async fn failure_marks_the_span_as_error() {
        let (_, spans) = capture(async {
            let res: Result<Vec<i32>, _> =
                traced(&JOIN, &target(), async { Err(sqlx::Error::PoolTimedOut) }).await;
            assert!(matches!(res, Err(DbError::Unavailable(_))));
        })
        .await;
        let span = &spans[0];
        assert!(matches!(span.status, Status::Error { .. }));
        assert_eq!(
            attr(span, "error.type").map(|v| v.to_string()).as_deref(),
            Some("pool_timed_out")
        );
        assert!(span.events.iter().any(|e| e.name == "exception"));
    }
}
