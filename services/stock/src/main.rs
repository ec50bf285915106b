//! stock: stock levels per warehouse over HTTP, traced with OpenTelemetry.
//! Order of events: telemetry → config → app → serve → shutdown (flush spans last).

mod client;
mod config;
mod db;
mod error;
mod flags;
mod http;
mod telemetry;
mod types;

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;

use config::{Config, TelemetryConfig};
use db::PgRepository;
use http::server_span::ServerInfo;

fn main() -> ExitCode {
    let telemetry = match TelemetryConfig::from_env()
        .map_err(anyhow::Error::from)
        .and_then(|cfg| telemetry::init(&cfg))
    {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("stock: cannot start telemetry: {err:#}");
            return ExitCode::from(2);
        }
    };
    let outcome = run();
    if let Err(err) = &outcome {
        tracing::error!(
            event = "service.failed",
            error = format!("{err:#}"),
            "stock failed"
        );
    }
    telemetry.shutdown();
    if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let repo = PgRepository::connect_lazy(&config.db);
    let server = ServerInfo {
        host: config.host.clone(),
        port: config.port,
    };
    let flags = match &config.flags_file {
        Some(path) => flags::Flags::from_file(path).await?,
        None => flags::Flags::off(),
    };
    let app = http::router(repo.clone(), flags, server, config.debug_endpoints);

    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}:{} (set HOST/PORT)",
                config.host, config.port
            )
        })?;
    tracing::info!(event = "service.listening", address = %listener.local_addr()?, "stock listening");

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(http::shutdown_signal())
    .await
    .context("serving HTTP")?;
    repo.close().await;
    tracing::info!(event = "service.stopped", "in-flight requests finished");
    Ok(())
}
