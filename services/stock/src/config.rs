//! All configuration, read from the environment once at startup.
//!
//! Variable names follow `docs/CONVENTIONS.md` (libpq `PG*` names, `HOST`, `PORT`) and the
//! OpenTelemetry specification (`OTEL_*`). The SDK itself reads the `OTEL_*` variables it
//! understands (exporter endpoint, headers, timeout, `OTEL_BSP_*`, sampler, resource
//! attributes); this module reads only the ones the Rust SDK leaves to the application.

use std::time::Duration;

/// Logs at info, without sqlx's per-statement lines and the SDK's own chatter.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,opentelemetry=warn";

/// A configuration error: always names the offending variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: &'static str },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// Which propagators `OTEL_PROPAGATORS` asks for (only the two this project uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagators {
    pub tracecontext: bool,
    pub baggage: bool,
}

/// What the telemetry module needs, read before anything else so that later failures are logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `OTEL_SDK_DISABLED=true`: no provider, no exporter (the untraced baseline).
    pub sdk_disabled: bool,
    /// `OTEL_TRACES_EXPORTER`: `otlp` (default) or `none`.
    pub otlp_exporter: bool,
    pub service_name: String,
    pub propagators: Propagators,
    /// `RUST_LOG`-style filter for the structured logs.
    pub log_filter: String,
    /// Unrecognised values that were ignored, reported once logging is up.
    pub warnings: Vec<String>,
}

/// Where the service listens and which database it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub db: DbConfig,
    /// `POLYTRACE_DEBUG_ENDPOINTS=1` enables `POST /debug/tracecontext`.
    pub debug_endpoints: bool,
    /// The flagd flags file (`FLAGD_RESOLVER=file`, `FLAGD_OFFLINE_FLAG_SOURCE_PATH`); without
    /// one every flag is off.
    pub flags_file: Option<std::path::PathBuf>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct DbConfig {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: String,
    pub pool_max: u32,
    pub acquire_timeout: Duration,
}

impl std::fmt::Debug for DbConfig {
    // Never print the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("pool_max", &self.pool_max)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish_non_exhaustive()
    }
}

/// Reads variables through `lookup` so tests can pass a map instead of the process environment.
struct Env<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing { name })
    }

    fn parsed<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
                value,
            }),
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ConfigError::Invalid {
                name,
                value: other.to_owned(),
                reason: "expected true or false".into(),
            }),
        }
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl TelemetryConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let mut warnings = Vec::new();
        let otlp_exporter = match env.or("OTEL_TRACES_EXPORTER", "otlp").as_str() {
            "otlp" => true,
            "none" => false,
            other => {
                return Err(ConfigError::Invalid {
                    name: "OTEL_TRACES_EXPORTER",
                    value: other.to_owned(),
                    reason: "supported values are otlp and none".into(),
                });
            }
        };
        // The exporter is built for OTLP over HTTP with protobuf bodies, nothing else.
        for name in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(value) = env.get(name).filter(|v| v != "http/protobuf") {
                return Err(ConfigError::Invalid {
                    name,
                    value,
                    reason: "only http/protobuf is supported".into(),
                });
            }
        }
        let mut propagators = Propagators {
            tracecontext: false,
            baggage: false,
        };
        for name in env
            .or("OTEL_PROPAGATORS", "tracecontext,baggage")
            .split(',')
        {
            match name.trim() {
                "tracecontext" => propagators.tracecontext = true,
                "baggage" => propagators.baggage = true,
                "none" | "" => {}
                other => warnings.push(format!(
                    "OTEL_PROPAGATORS: unsupported propagator {other:?} ignored"
                )),
            }
        }
        Ok(Self {
            sdk_disabled: env.flag("OTEL_SDK_DISABLED")?,
            otlp_exporter,
            service_name: env.or("OTEL_SERVICE_NAME", "stock"),
            propagators,
            log_filter: env.or("RUST_LOG", DEFAULT_LOG_FILTER),
            warnings,
        })
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(process_env)
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let acquire_ms: u64 = env.parsed("STOCK_DB_ACQUIRE_TIMEOUT_MS", 2000)?;
        let pool_max: u32 = env.parsed("STOCK_DB_POOL_MAX", 4)?;
        if pool_max == 0 {
            return Err(ConfigError::Invalid {
                name: "STOCK_DB_POOL_MAX",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            host: env.or("HOST", "127.0.0.1"),
            port: env.parsed("PORT", 8082)?,
            db: DbConfig {
                host: env.or("PGHOST", "127.0.0.1"),
                port: env.parsed("PGPORT", 55432)?,
                database: env.or("PGDATABASE", "polytrace"),
                user: env.or("PGUSER", "stock"),
                password: env.required("PGPASSWORD")?,
                pool_max,
                acquire_timeout: Duration::from_millis(acquire_ms),
            },
            debug_endpoints: env.get("POLYTRACE_DEBUG_ENDPOINTS").as_deref() == Some("1"),
            flags_file: flags_file(&env)?,
        })
    }
}

/// The flagd provider's own variables: file mode only (no flagd daemon runs locally).
fn flags_file<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<std::path::PathBuf>, ConfigError> {
    let path = env.get("FLAGD_OFFLINE_FLAG_SOURCE_PATH");
    match env
        .get("FLAGD_RESOLVER")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None if path.is_none() => Ok(None),
        None | Some("file" | "offline") => {
            path.map(|p| Some(p.into())).ok_or(ConfigError::Missing {
                name: "FLAGD_OFFLINE_FLAG_SOURCE_PATH",
            })
        }
        Some(other) => Err(ConfigError::Invalid {
            name: "FLAGD_RESOLVER",
            value: other.to_owned(),
            reason: "only file is supported".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_follow_conventions() {
        let cfg = Config::from_lookup(lookup(&[("PGPASSWORD", "pw")])).unwrap();
        assert_eq!(cfg.host, "127.0.0.1");
        assert_eq!(cfg.port, 8082);
        assert_eq!(cfg.db.host, "127.0.0.1");
        assert_eq!(cfg.db.port, 55432);
        assert_eq!(cfg.db.database, "polytrace");
        assert_eq!(cfg.db.user, "stock");
        assert_eq!(cfg.db.acquire_timeout, Duration::from_secs(2));
        assert!(!cfg.debug_endpoints);
        assert_eq!(cfg.flags_file, None);
    }

    #[test]
    fn flags_file_in_file_mode_only() {
        let with = |pairs: &[(&str, &str)]| {
            let mut all = vec![("PGPASSWORD", "pw")];
            all.extend_from_slice(pairs);
            Config::from_lookup(lookup(&all)).map(|c| c.flags_file)
        };
        let file = [
            ("FLAGD_RESOLVER", "file"),
            ("FLAGD_OFFLINE_FLAG_SOURCE_PATH", "/run/flags.json"),
        ];
        assert_eq!(with(&file), Ok(Some("/run/flags.json".into())));
        assert_eq!(
            with(&[("FLAGD_RESOLVER", "file")]),
            Err(ConfigError::Missing {
                name: "FLAGD_OFFLINE_FLAG_SOURCE_PATH"
            })
        );
        let err = with(&[("FLAGD_RESOLVER", "rpc")]).unwrap_err();
        assert!(err.to_string().contains("FLAGD_RESOLVER"), "{err}");
    }

    #[test]
    fn missing_password_names_the_variable() {
        let err = Config::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(err, ConfigError::Missing { name: "PGPASSWORD" });
        assert!(err.to_string().contains("PGPASSWORD"));
    }

    #[test]
    fn invalid_port_names_the_variable() {
        let err =
            Config::from_lookup(lookup(&[("PGPASSWORD", "pw"), ("PORT", "http")])).unwrap_err();
        assert!(err.to_string().contains("PORT=\"http\""), "{err}");
        let err =
            Config::from_lookup(lookup(&[("PGPASSWORD", "pw"), ("PGPORT", "70000")])).unwrap_err();
        assert!(err.to_string().contains("PGPORT"), "{err}");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let cfg = Config::from_lookup(lookup(&[("PGPASSWORD", "s3cret")])).unwrap();
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn telemetry_defaults_and_overrides() {
        let t = TelemetryConfig::from_lookup(lookup(&[])).unwrap();
        assert!(!t.sdk_disabled && t.otlp_exporter);
        assert_eq!(t.service_name, "stock");
        assert_eq!(
            t.propagators,
            Propagators {
                tracecontext: true,
                baggage: true
            }
        );

        let t = TelemetryConfig::from_lookup(lookup(&[
            ("OTEL_SDK_DISABLED", "TRUE"),
            ("OTEL_SERVICE_NAME", "stock-2"),
            ("OTEL_PROPAGATORS", "tracecontext,b3"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ]))
        .unwrap();
        assert!(t.sdk_disabled && !t.otlp_exporter);
        assert_eq!(t.service_name, "stock-2");
        assert!(t.propagators.tracecontext && !t.propagators.baggage);
        assert_eq!(t.warnings.len(), 1);
    }

    #[test]
    fn telemetry_rejects_bad_values() {
        let err = TelemetryConfig::from_lookup(lookup(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]))
            .unwrap_err();
        assert!(err.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"));
        let err =
            TelemetryConfig::from_lookup(lookup(&[("OTEL_SDK_DISABLED", "yes")])).unwrap_err();
        assert!(err.to_string().contains("OTEL_SDK_DISABLED"));
        let err = TelemetryConfig::from_lookup(lookup(&[("OTEL_TRACES_EXPORTER", "zipkin")]))
            .unwrap_err();
        assert!(err.to_string().contains("OTEL_TRACES_EXPORTER"));
    }
}
