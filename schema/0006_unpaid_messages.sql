-- The shop-wide budget of unpaid-order messages per hour (UNPAID_MESSAGES_PER_HOUR) counts the
-- ones sent in the last hour before each delivery of such a message: this index keeps that
-- count small however long the outbox grows.
CREATE INDEX notification_outbox_unpaid_sent_idx ON notification_outbox (sent_at)
    WHERE status = 'SENT' AND template_name IN ('payment_instructions', 'order_expired');
