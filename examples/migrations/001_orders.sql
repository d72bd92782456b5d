-- 001_orders.sql: the orders table of examples/orders-service.
-- The migration runner wraps each file in a transaction: no BEGIN/COMMIT here.

CREATE TABLE orders (
    id         bigserial   PRIMARY KEY,
    item       text        NOT NULL CHECK (item <> ''),
    qty        integer     NOT NULL CHECK (qty BETWEEN 1 AND 1000000),
    created_at timestamptz NOT NULL DEFAULT now()
);
