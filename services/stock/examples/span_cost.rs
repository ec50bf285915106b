//! The span-cost benchmark's Rust side (polytrace/bench/spancost/): stock's own configuration
//! and telemetry modules, compiled into this program, set up the SDK, and the spans go through
//! the same `tracing` → OpenTelemetry layer as stock's.
//!
//! Each line on stdin is a number of spans to make; "ok" on stdout once they have ended. The
//! harness measures this process's CPU and counts the spans its receiver gets. The span is the
//! one every language makes (polytrace/bench/spancost/programs.py, SPAN): a database CLIENT span
//! with seven attributes, like stock's `db.statement` spans, a root span each time.

// Only the telemetry settings of the configuration are used here.
#[allow(dead_code)]
#[path = "../src/config.rs"]
mod config;
#[path = "../src/telemetry.rs"]
mod telemetry;

use std::io::{BufRead as _, Write as _};

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let guard = telemetry::init(&config::TelemetryConfig::from_env()?)?;
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading a command from stdin")?;
        let count: u32 = line
            .trim()
            .parse()
            .with_context(|| format!("{line:?} is not a number of spans"))?;
        for _ in 0..count {
            // Created and closed at once: the layer starts the span on creation, ends it on close.
            drop(tracing::info_span!(
                target: "span_cost::db",
                "db.statement",
                otel.name = "SELECT stock.stock",
                otel.kind = "client",
                db.system.name = "postgresql",
                db.namespace = "polytrace",
                db.operation.name = "SELECT",
                db.collection.name = "stock.stock",
                db.query.text = "SELECT product_id, quantity FROM stock.stock WHERE product_id = $1",
                server.address = "127.0.0.1",
                server.port = 55432_i64,
            ));
        }
        writeln!(out, "ok").context("writing to stdout")?;
        out.flush().context("writing to stdout")?;
    }
    guard.shutdown();
    Ok(())
}
