-- What the worker verified with the Midtrans Status API (status, payment type, amount, when) is
-- kept as a payment attempt, so the order page shows it beside the Snap link.
ALTER TABLE payment_attempts DROP CONSTRAINT payment_attempts_kind_check;
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_kind_check
    CHECK (kind IN ('SNAP_CREATED', 'DENIED', 'FAILED', 'VERIFIED'));
