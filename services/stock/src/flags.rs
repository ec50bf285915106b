//! The failure flags this service reads (`infra/flags/flags.json`), evaluated on every request
//! through the OpenFeature SDK with the flagd provider in file mode: the provider watches the
//! file's folder, so a file replaced by a rename applies without a restart. Every evaluation is
//! recorded on the current span as a `feature_flag.evaluation` event (semantic conventions for
//! feature flags); the Rust SDK has no OpenTelemetry hook, so [`SpanEvents`] is that hook.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use open_feature::provider::FeatureProvider;
use open_feature::{
    EvaluationDetails, EvaluationError, EvaluationReason, Hook, HookContext, HookHints,
    OpenFeature, Value,
};
use open_feature_flagd::{FlagdOptions, FlagdProvider, ResolverType};
use opentelemetry::KeyValue;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Integer, milliseconds: stock waits that long before answering.
pub const LATENCY: &str = "stockLatencyMs";
/// Boolean: every stock request fails with 500.
pub const FAILURE: &str = "stockFailure";

/// The flags client, built once; cheap to clone.
#[derive(Clone)]
pub struct Flags(Option<Arc<open_feature::Client>>);

impl Flags {
    /// No provider: every flag is off and nothing is evaluated (no flags file configured).
    pub fn off() -> Self {
        Self(None)
    }

    /// The flagd provider in file mode, reading `path`.
    pub async fn from_file(path: &Path) -> anyhow::Result<Self> {
        let provider = FlagdProvider::new(FlagdOptions {
            resolver_type: ResolverType::File,
            source_configuration: Some(path.display().to_string()),
            ..Default::default()
        })
        .await
        .with_context(|| {
            format!(
                "reading the flags file {} (FLAGD_OFFLINE_FLAG_SOURCE_PATH)",
                path.display()
            )
        })?;
        Ok(Self::with_provider(provider).await)
    }

    async fn with_provider(provider: impl FeatureProvider) -> Self {
        // An API instance of our own rather than the process-wide singleton: one provider per
        // `Flags`, so tests can hold several side by side.
        let mut api = OpenFeature::default();
        api.set_provider(provider).await;
        Self(Some(Arc::new(api.create_client().with_hook(SpanEvents))))
    }

    /// `stockLatencyMs`, zero when off, negative or not evaluable.
    pub async fn latency(&self) -> Duration {
        let Some(client) = &self.0 else {
            return Duration::ZERO;
        };
        let millis = client.get_int_value(LATENCY, None, None).await.unwrap_or(0);
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }

    /// `stockFailure`, false when off or not evaluable.
    pub async fn failure(&self) -> bool {
        match &self.0 {
            Some(client) => client
                .get_bool_value(FAILURE, None, None)
                .await
                .unwrap_or(false),
            None => false,
        }
    }
}

/// Records that a flag changed this request's outcome: a span event naming it (status ERROR and
/// `error.type` come from the response, see `http::server_span::complete`).
pub fn applied(flag: &'static str, value: impl Into<opentelemetry::Value>) {
    tracing::Span::current().add_event(
        "app.feature_flag.applied",
        vec![
            KeyValue::new("feature_flag.key", flag),
            KeyValue::new("feature_flag.result.value", value.into()),
        ],
    );
}

/// The OpenFeature hook that puts each evaluation on the current span.
struct SpanEvents;

impl SpanEvents {
    fn common(context: &HookContext<'_>) -> Vec<KeyValue> {
        vec![
            KeyValue::new("feature_flag.key", context.flag_key.to_owned()),
            KeyValue::new(
                "feature_flag.provider.name",
                context.provider_metadata.name.clone(),
            ),
        ]
    }
}

#[open_feature::async_trait]
impl Hook for SpanEvents {
    async fn before<'a>(
        &self,
        _context: &HookContext<'a>,
        _hints: Option<&'a HookHints>,
    ) -> Result<Option<open_feature::EvaluationContext>, EvaluationError> {
        Ok(None)
    }

    async fn after<'a>(
        &self,
        context: &HookContext<'a>,
        details: &EvaluationDetails<Value>,
        _hints: Option<&'a HookHints>,
    ) -> Result<(), EvaluationError> {
        let mut attributes = Self::common(context);
        if let Some(variant) = &details.variant {
            attributes.push(KeyValue::new(
                "feature_flag.result.variant",
                variant.clone(),
            ));
        }
        if let Some(reason) = &details.reason {
            attributes.push(KeyValue::new(
                "feature_flag.result.reason",
                reason_name(reason),
            ));
        }
        let value = match &details.value {
            Value::Bool(b) => Some(opentelemetry::Value::from(*b)),
            Value::Int(i) => Some((*i).into()),
            Value::Float(f) => Some((*f).into()),
            Value::String(s) => Some(s.clone().into()),
            _ => None,
        };
        if let Some(value) = value {
            attributes.push(KeyValue::new("feature_flag.result.value", value));
        }
        tracing::Span::current().add_event("feature_flag.evaluation", attributes);
        Ok(())
    }

    async fn error<'a>(
        &self,
        context: &HookContext<'a>,
        error: &EvaluationError,
        _hints: Option<&'a HookHints>,
    ) {
        let mut attributes = Self::common(context);
        attributes.push(KeyValue::new(
            "error.type",
            error.code.to_string().to_ascii_lowercase(),
        ));
        if let Some(message) = &error.message {
            attributes.push(KeyValue::new("error.message", message.clone()));
        }
        attributes.push(KeyValue::new("feature_flag.result.reason", "error"));
        tracing::Span::current().add_event("feature_flag.evaluation", attributes);
    }

    async fn finally<'a>(
        &self,
        _context: &HookContext<'a>,
        _details: &EvaluationDetails<Value>,
        _hints: Option<&'a HookHints>,
    ) {
    }
}

/// The conventions' lower-case reason values (`static`, `targeting_match`, ...).
fn reason_name(reason: &EvaluationReason) -> String {
    reason.to_string().to_ascii_lowercase()
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::io::Write as _;

    /// A flags file in flagd's format with these two flags set, written the way `polytrace
    /// flags set` does: a temporary file in the same folder, renamed over the old one.
    pub fn write_flags(dir: &Path, latency_ms: i64, failure: bool) -> std::path::PathBuf {
        let path = dir.join("flags.json");
        let body = serde_json::json!({"flags": {
            LATENCY: {"state": "ENABLED", "variants": {"on": latency_ms}, "defaultVariant": "on"},
            FAILURE: {"state": "ENABLED", "variants": {"on": true, "off": false},
                      "defaultVariant": if failure { "on" } else { "off" }},
        }});
        let tmp = dir.join(".flags.json.tmp");
        let mut file = std::fs::File::create(&tmp).unwrap();
        file.write_all(body.to_string().as_bytes()).unwrap();
        file.sync_all().unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }

    /// A fresh folder under the system's temporary one.
    pub fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("stock-flags-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn off_without_a_file() {
        let flags = Flags::off();
        assert_eq!(flags.latency().await, Duration::ZERO);
        assert!(!flags.failure().await);
    }

    #[tokio::test]
    async fn a_replaced_file_applies_within_two_seconds() {
        let dir = temp_dir("replace");
        let path = write_flags(&dir, 0, false);
        let flags = Flags::from_file(&path).await.unwrap();
        assert_eq!(flags.latency().await, Duration::ZERO);
        assert!(!flags.failure().await);

        write_flags(&dir, 25, true);
        let changed = std::time::Instant::now();
        while !(flags.failure().await && flags.latency().await == Duration::from_millis(25)) {
            assert!(
                changed.elapsed() < Duration::from_secs(2),
                "the change did not apply within 2 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
