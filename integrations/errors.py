"""The few errors outside services can cause, named by what the caller should do next."""


class ProviderError(Exception):
    """Base for failures talking to Midtrans, SMTP or WhatsApp."""


class RetryableProviderError(ProviderError):
    """Timeouts, connection errors, 5xx, 429, SMTP 4xx: try again later."""


class PermanentProviderError(ProviderError):
    """The request itself is wrong (4xx, SMTP 5xx, invalid recipient): retrying cannot help."""


class RecipientRefused(PermanentProviderError):
    """The provider refused this recipient (an invalid address, one it cannot carry): the row
    fails, and the provider itself is fine (its circuit breaker does not count this)."""


class RecipientDeferred(RetryableProviderError):
    """The provider deferred this recipient (a 4xx on RCPT): try again later; not the
    provider's fault either."""


class ProviderUnavailable(RetryableProviderError):
    """The circuit breaker is open: wait without spending the retry budget."""


class DuplicateOrder(PermanentProviderError):
    """Midtrans already has a transaction for this order_id: ask the Status API instead."""


class TransactionNotFound(ProviderError):
    """Status API 404: the customer has not picked a payment method yet (not a failure)."""


class ActionRefused(PermanentProviderError):
    """Midtrans refused an action on a transaction (412 "Merchant cannot modify the status of
    the transaction", 414 refund amount, a method it cannot refund): a clear no, with its
    message."""


class AlreadyDone(PermanentProviderError):
    """Midtrans already has this refund_key (406): the refund was made earlier, not again."""
