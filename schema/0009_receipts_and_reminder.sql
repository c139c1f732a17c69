-- Receipts (kuitansi): every paid order gets a number, sequential per WIB year of payment and
-- gap-free. The year's counter row is locked (upserted) in the transaction that makes the order
-- PAID, so a rolled-back payment never burns a number; an order paid again keeps its own.
CREATE TABLE receipt_counters (
    year        integer PRIMARY KEY,
    last_number integer NOT NULL CHECK (last_number > 0)
);
ALTER TABLE orders ADD COLUMN receipt_number text UNIQUE;

-- Orders paid before this migration get their numbers in the order they were paid.
WITH numbered AS (
    SELECT order_id,
           EXTRACT(YEAR FROM paid_at AT TIME ZONE 'Asia/Jakarta')::integer AS year,
           row_number() OVER (
               PARTITION BY EXTRACT(YEAR FROM paid_at AT TIME ZONE 'Asia/Jakarta')
               ORDER BY paid_at, order_id
           )::integer AS number
    FROM orders
    WHERE paid_at IS NOT NULL
), numbered_orders AS (
    UPDATE orders
    SET receipt_number = 'KW/' || numbered.year || '/' || lpad(numbered.number::text, 6, '0')
    FROM numbered
    WHERE orders.order_id = numbered.order_id
)
INSERT INTO receipt_counters (year, last_number)
SELECT year, max(number) FROM numbered GROUP BY year;

-- The payment reminder is an unpaid-order message too: the hourly budget's count keeps using
-- its partial index.
DROP INDEX notification_outbox_unpaid_sent_idx;
CREATE INDEX notification_outbox_unpaid_sent_idx ON notification_outbox (sent_at)
    WHERE status = 'SENT'
      AND template_name IN ('payment_instructions', 'order_expired', 'payment_reminder');
