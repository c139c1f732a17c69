-- Discount codes the operator manages (`admin discounts`): a start of validity and a usage cap
-- (orders holding or having used the code: CREATED, PENDING_PAYMENT, PAID).
ALTER TABLE discount_codes
    ADD COLUMN valid_from timestamptz,
    ADD COLUMN max_uses integer CHECK (max_uses > 0),
    ADD CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from);
