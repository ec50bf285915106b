-- One login role per service, each confined to its own schema.
-- Passwords arrive as psql variables (generated locally by `polytrace up`, never committed):
--   psql -v catalog_password=... -v pricing_password=... -v stock_password=... -v analytics_password=...
\set ON_ERROR_STOP on

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE polytrace FROM PUBLIC;

SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['catalog', 'pricing', 'stock', 'analytics']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec

ALTER ROLE catalog   PASSWORD :'catalog_password';
ALTER ROLE pricing   PASSWORD :'pricing_password';
ALTER ROLE stock     PASSWORD :'stock_password';
ALTER ROLE analytics PASSWORD :'analytics_password';

GRANT CONNECT ON DATABASE polytrace TO catalog, pricing, stock, analytics;

CREATE SCHEMA IF NOT EXISTS catalog;
CREATE SCHEMA IF NOT EXISTS pricing;
CREATE SCHEMA IF NOT EXISTS stock;
CREATE SCHEMA IF NOT EXISTS analytics;

GRANT USAGE ON SCHEMA catalog   TO catalog;
GRANT USAGE ON SCHEMA pricing   TO pricing;
GRANT USAGE ON SCHEMA stock     TO stock;
GRANT USAGE ON SCHEMA analytics TO analytics;

ALTER ROLE catalog   SET search_path = catalog;
ALTER ROLE pricing   SET search_path = pricing;
ALTER ROLE stock     SET search_path = stock;
ALTER ROLE analytics SET search_path = analytics;
