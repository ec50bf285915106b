//! Persistence: the repository the handlers depend on, and its PostgreSQL implementation.

pub mod traced;

use std::future::Future;
use std::sync::Arc;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DbConfig;
use crate::error::DbError;
use crate::types::{ProductId, StockLevel, Warehouse};
use traced::{DbTarget, Statement, traced};

/// What the HTTP layer needs from storage; faked in handler tests.
pub trait StockRepository: Clone + Send + Sync + 'static {
    /// Stock of one product in every warehouse that holds it, ordered by warehouse id.
    fn stock_levels(
        &self,
        product: ProductId,
    ) -> impl Future<Output = Result<Vec<StockLevel>, DbError>> + Send;

    /// Succeeds when the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), DbError>> + Send;
}

const STOCK_LEVELS: Statement = Statement {
    operation: "SELECT",
    collection: Some("stock.stock_level"),
    text: "SELECT s.product_id, s.quantity, w.id, w.city, w.state, w.country \
           FROM stock.stock_level s JOIN stock.warehouse w ON w.id = s.warehouse_id \
           WHERE s.product_id = $1 ORDER BY w.id",
};

/// Not traced: `/health` is not (see `http::router`), and a lone database span per poll would
/// be a root span of its own.
const PING: &str = "SELECT 1";

type StockRow = (i64, i32, i32, String, String, String);

/// The PostgreSQL repository: a lazily connecting pool with a short acquire timeout, so an
/// outage turns into quick 503s and the service recovers by itself when the database returns.
#[derive(Clone)]
pub struct PgRepository {
    pool: PgPool,
    target: Arc<DbTarget>,
}

impl PgRepository {
    /// Builds the pool without connecting: the first query opens the first connection.
    pub fn connect_lazy(cfg: &DbConfig) -> Self {
        let options = PgConnectOptions::new_without_pgpass()
            .host(&cfg.host)
            .port(cfg.port)
            .database(&cfg.database)
            .username(&cfg.user)
            .password(&cfg.password)
            .application_name("stock");
        let pool = PgPoolOptions::new()
            .max_connections(cfg.pool_max)
            .min_connections(0)
            .acquire_timeout(cfg.acquire_timeout)
            .test_before_acquire(true)
            .connect_lazy_with(options);
        let target = DbTarget {
            namespace: cfg.database.clone(),
            server_address: cfg.host.clone(),
            server_port: cfg.port,
        };
        Self {
            pool,
            target: Arc::new(target),
        }
    }

    /// Closes the pool's connections (on shutdown, after the last request).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl StockRepository for PgRepository {
    async fn stock_levels(&self, product: ProductId) -> Result<Vec<StockLevel>, DbError> {
        let rows = traced(
            &STOCK_LEVELS,
            &self.target,
            sqlx::query_as::<_, StockRow>(STOCK_LEVELS.text)
                .bind(product.get())
                .fetch_all(&self.pool),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(product_id, quantity, id, city, state, country)| StockLevel {
                    product_id,
                    quantity,
                    warehouse: Warehouse {
                        id,
                        city,
                        state,
                        country,
                    },
                },
            )
            .collect())
    }

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query_scalar::<_, i32>(PING)
            .fetch_one(&self.pool)
            .await
            .map(drop)
            .map_err(DbError::from)
    }
}
