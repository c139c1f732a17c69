-- A refund the owner asked Midtrans for, written BEFORE the call: a repeated command, a retry
-- after a timeout or a double click finds this row and sends the same refund_key again, which
-- Midtrans refunds only once (https://docs.midtrans.com/reference/refund-transaction).
-- REQUESTED: written, Midtrans' answer not known yet; ACCEPTED: Midtrans took it (or already had
-- it: 406); REFUSED: Midtrans said no (412/414); CONFIRMED: a payment notification or the Status
-- API lists it with bank_confirmed_at.
CREATE TABLE refunds (
    id BIGSERIAL PRIMARY KEY,
    order_id text NOT NULL REFERENCES orders (order_id),
    refund_key text NOT NULL UNIQUE,
    amount INTEGER NOT NULL CHECK (amount > 0),
    reason text NOT NULL,
    operator text NOT NULL,
    status text NOT NULL DEFAULT 'REQUESTED'
        CHECK (status IN ('REQUESTED', 'ACCEPTED', 'REFUSED', 'CONFIRMED')),
    answer JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order_idx ON refunds (order_id);
