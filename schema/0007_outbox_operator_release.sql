-- An operator's requeue or resend of a message vouches for it: such a row is delivered even
-- when the shop-wide budget of unpaid-order messages per hour is spent, so a held message can
-- be released (without this flag it would be held again).
ALTER TABLE notification_outbox
    ADD COLUMN released_by_operator boolean NOT NULL DEFAULT false;
