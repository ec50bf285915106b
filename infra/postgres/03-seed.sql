\set ON_ERROR_STOP on

INSERT INTO catalog.product (id, name, description) VALUES
    (1, 'Stickers pack', 'A pack of rad stickers to display on your laptop or anywhere you like'),
    (2, 'Lapel pin', 'A small pin to show your love for distributed tracing'),
    (3, 'Tee-shirt', 'A comfy tee-shirt with a trace waterfall printed on the front')
ON CONFLICT (id) DO NOTHING;

INSERT INTO pricing.price (product_id, base, jitter) VALUES
    (1, 0.50, 0.05),
    (2, 3.00, 0.25),
    (3, 12.50, 1.50)
ON CONFLICT (product_id) DO NOTHING;

INSERT INTO stock.warehouse (id, city, state, country) VALUES
    (1, 'Lausanne', 'Vaud', 'Switzerland'),
    (2, 'Geneva', 'Geneva', 'Switzerland'),
    (3, 'Lyon', 'Auvergne-Rhône-Alpes', 'France'),
    (4, 'Portland', 'Oregon', 'USA')
ON CONFLICT (id) DO NOTHING;

-- Product 3 has no stock anywhere: stock answers [] for it.
INSERT INTO stock.stock_level (product_id, warehouse_id, quantity) VALUES
    (1, 1, 5), (1, 2, 12), (1, 4, 3),
    (2, 1, 1), (2, 3, 8)
ON CONFLICT (product_id, warehouse_id) DO NOTHING;
