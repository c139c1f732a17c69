-- Parked work, paid re-checks and the per-recipient message cap.
-- Work the sweeper gave up on: after a number of sweeps an order still without a payment link,
-- or a stored notification still unprocessed, is parked for an operator (alarm `parked_work`,
-- `./run.sh admin dead-letters list`) instead of being retried silently for ever.
ALTER TABLE orders
    ADD COLUMN sweep_count integer NOT NULL DEFAULT 0 CHECK (sweep_count >= 0),
    ADD COLUMN parked_at timestamptz;
ALTER TABLE payment_events
    ADD COLUMN sweep_count integer NOT NULL DEFAULT 0 CHECK (sweep_count >= 0),
    ADD COLUMN parked_at timestamptz;
CREATE INDEX orders_parked_idx ON orders (parked_at) WHERE parked_at IS NOT NULL;
CREATE INDEX payment_events_parked_idx ON payment_events (parked_at) WHERE parked_at IS NOT NULL;
-- PAID orders are asked about again on a decaying schedule (a lost refund notification).
CREATE INDEX orders_paid_recheck_idx ON orders (paid_at) WHERE status = 'PAID';
-- The daily cap on messages a stranger's checkout can cause counts rows per recipient.
CREATE INDEX notification_outbox_recipient_idx ON notification_outbox (recipient, created_at);
