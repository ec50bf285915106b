-- Tables are owned by the administrator; services get only the privileges they use.
\set ON_ERROR_STOP on

CREATE TABLE IF NOT EXISTS catalog.product (
    id          bigint PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL
);

-- A price is base ± jitter: pricing draws a value in that range on every request.
CREATE TABLE IF NOT EXISTS pricing.price (
    product_id bigint PRIMARY KEY,
    base       numeric(10, 2) NOT NULL CHECK (base > 0),
    jitter     numeric(10, 2) NOT NULL DEFAULT 0 CHECK (jitter >= 0 AND jitter < base)
);

CREATE TABLE IF NOT EXISTS stock.warehouse (
    id      integer PRIMARY KEY,
    city    text NOT NULL,
    state   text NOT NULL,
    country text NOT NULL
);

CREATE TABLE IF NOT EXISTS stock.stock_level (
    product_id   bigint  NOT NULL,
    warehouse_id integer NOT NULL REFERENCES stock.warehouse (id),
    quantity     integer NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (product_id, warehouse_id)
);

-- id is the event's own UUID: a redelivered message hits the primary key and is stored once.
CREATE TABLE IF NOT EXISTS analytics.page_view (
    id          uuid PRIMARY KEY,
    path        text NOT NULL,
    client_ip   text NOT NULL,
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT ON catalog.product TO catalog;
GRANT SELECT ON pricing.price TO pricing;
GRANT SELECT ON stock.warehouse, stock.stock_level TO stock;
GRANT SELECT, INSERT ON analytics.page_view TO analytics;
