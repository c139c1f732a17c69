-- What Meta's status callbacks told us about a WhatsApp message after the Cloud API accepted it:
-- sent, delivered, read (only ever forwards) or failed (undelivered; the row becomes FAILED).
ALTER TABLE notification_outbox
    ADD COLUMN delivery_status text
        CHECK (delivery_status IN ('sent', 'delivered', 'read', 'failed')),
    ADD COLUMN delivery_status_at timestamptz;
-- A callback names the message by the id the Cloud API returned (`wamid...`).
CREATE INDEX notification_outbox_provider_message_idx
    ON notification_outbox (provider_message_id) WHERE provider_message_id IS NOT NULL;
