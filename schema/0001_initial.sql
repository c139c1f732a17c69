-- The whole contract with PostgreSQL: every table of architecture.md, with the constraints
-- that make invalid states unrepresentable. Money is whole rupiah (IDR has no cents).

CREATE TABLE packages (
    package_id   text PRIMARY KEY CHECK (package_id ~ '^[a-z0-9-]{1,50}$'),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    description  text NOT NULL DEFAULT '',
    price_idr    integer NOT NULL CHECK (price_idr > 0),
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE discount_codes (
    code          text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_-]{2,32}$'),
    package_id    text REFERENCES packages (package_id),
    percent_off   integer CHECK (percent_off BETWEEN 1 AND 100),
    amount_off    integer CHECK (amount_off > 0),
    active        boolean NOT NULL DEFAULT true,
    valid_until   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((percent_off IS NULL) <> (amount_off IS NULL))
);

CREATE TABLE orders (
    order_id          text PRIMARY KEY
                      CHECK (char_length(order_id) <= 50 AND order_id ~ '^[A-Za-z0-9_~.-]+$'),
    order_token_hash  text NOT NULL,
    package_id        text NOT NULL REFERENCES packages (package_id),
    customer_name     text NOT NULL CHECK (char_length(customer_name) BETWEEN 1 AND 100),
    customer_email    text NOT NULL,
    customer_phone    text NOT NULL,
    discount_code     text REFERENCES discount_codes (code),
    base_amount       integer NOT NULL CHECK (base_amount > 0),
    discount_amount   integer NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    final_amount      integer NOT NULL CHECK (final_amount > 0),
    status            text NOT NULL DEFAULT 'CREATED' CHECK (status IN
                      ('CREATED', 'PENDING_PAYMENT', 'PAID', 'FAILED', 'EXPIRED', 'REFUNDED')),
    redirect_url      text,
    snap_token        text,
    failure_reason    text,
    flagged           boolean NOT NULL DEFAULT false,
    source            text NOT NULL DEFAULT 'web' CHECK (source IN ('web', 'legacy')),
    expires_at        timestamptz,
    paid_at           timestamptz,
    last_checked_at   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (final_amount = base_amount - discount_amount),
    CHECK ((status = 'PAID') <= (paid_at IS NOT NULL))
);
CREATE INDEX orders_status_created_idx ON orders (status, created_at);
CREATE INDEX orders_email_idx ON orders (lower(customer_email));
CREATE INDEX orders_phone_idx ON orders (customer_phone);
CREATE INDEX orders_awaiting_idx ON orders (last_checked_at NULLS FIRST)
    WHERE status IN ('CREATED', 'PENDING_PAYMENT');

CREATE TABLE payment_attempts (
    id                  bigserial PRIMARY KEY,
    order_id            text NOT NULL REFERENCES orders (order_id),
    kind                text NOT NULL CHECK (kind IN ('SNAP_CREATED', 'DENIED', 'FAILED')),
    snap_token          text,
    redirect_url        text,
    transaction_id      text,
    transaction_status  text,
    payment_type        text,
    detail              text,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_attempts_order_idx ON payment_attempts (order_id);

CREATE TABLE payment_events (
    id                  bigserial PRIMARY KEY,
    idempotency_key     text NOT NULL UNIQUE,
    order_id            text NOT NULL,   -- no foreign key: notifications for unknown orders are kept
    transaction_id      text,
    transaction_status  text NOT NULL,
    fraud_status        text,
    status_code         text,
    gross_amount        text,
    payment_type        text,
    source              text NOT NULL CHECK (source IN ('webhook', 'reconciliation')),
    raw                 jsonb NOT NULL,
    verified_status     text,
    processed           boolean NOT NULL DEFAULT false,
    processed_at        timestamptz,
    outcome             text,
    flag_reason         text,
    received_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (processed = (processed_at IS NOT NULL))
);
CREATE INDEX payment_events_order_idx ON payment_events (order_id);
CREATE INDEX payment_events_unprocessed_idx ON payment_events (received_at) WHERE NOT processed;

CREATE TABLE entitlements (
    id            bigserial PRIMARY KEY,
    order_id      text NOT NULL UNIQUE REFERENCES orders (order_id),
    package_id    text NOT NULL REFERENCES packages (package_id),
    access_token  text NOT NULL UNIQUE CHECK (char_length(access_token) >= 32),
    status        text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'REVOKED')),
    granted_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    revoke_reason text,
    CHECK ((status = 'REVOKED') = (revoked_at IS NOT NULL))
);

CREATE TABLE notification_outbox (
    id                   bigserial PRIMARY KEY,
    order_id             text NOT NULL REFERENCES orders (order_id),
    channel              text NOT NULL CHECK (channel IN ('EMAIL', 'WHATSAPP')),
    template_name        text NOT NULL,
    recipient            text NOT NULL,
    payload              jsonb NOT NULL DEFAULT '{}',
    status               text NOT NULL DEFAULT 'PENDING' CHECK (status IN
                         ('PENDING', 'SENDING', 'SENT', 'RETRYING', 'FAILED', 'DLQ')),
    attempt_count        integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    next_retry_at        timestamptz,
    last_error           text,
    error_history        jsonb NOT NULL DEFAULT '[]',
    claimed_at           timestamptz,
    sent_at              timestamptz,
    provider_message_id  text,
    resend_of            bigint REFERENCES notification_outbox (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'SENT') = (sent_at IS NOT NULL)),
    CHECK ((status = 'SENDING') <= (claimed_at IS NOT NULL))
);
-- A message is queued at most once per order, channel and template; an operator's resend is a
-- new row pointing at the original.
CREATE UNIQUE INDEX notification_outbox_once_idx
    ON notification_outbox (order_id, channel, template_name) WHERE resend_of IS NULL;
CREATE INDEX notification_outbox_due_idx ON notification_outbox (status, next_retry_at)
    WHERE status IN ('PENDING', 'RETRYING', 'SENDING');

CREATE TABLE system_audit_log (
    id           bigserial PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,
    order_id     text,
    old_status   text,
    new_status   text,
    event_id     bigint REFERENCES payment_events (id),
    flagged      boolean NOT NULL DEFAULT false,
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX system_audit_log_order_idx ON system_audit_log (order_id, occurred_at);
CREATE INDEX system_audit_log_flagged_idx ON system_audit_log (occurred_at) WHERE flagged;

INSERT INTO packages (package_id, name, description, price_idr)
VALUES ('ai-movie-course', 'Buat Film Pakai AI',
        'Kursus video: membuat film pendek dengan alat AI, dari ide sampai rilis.', 99000);
