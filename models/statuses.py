"""Every status a row can hold, spelled once. The schema's CHECK constraints list the same values
(schema/0001_initial.sql); tests/test_migrations.py checks the two agree."""

from enum import StrEnum


class OrderStatus(StrEnum):
    CREATED = "CREATED"
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"


class OutboxStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    RETRYING = "RETRYING"
    FAILED = "FAILED"
    DLQ = "DLQ"


class EntitlementStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


class RefundStatus(StrEnum):
    REQUESTED = "REQUESTED"  # written before the call to Midtrans
    ACCEPTED = "ACCEPTED"  # Midtrans took it (or already had it)
    REFUSED = "REFUSED"  # Midtrans said no
    CONFIRMED = "CONFIRMED"  # listed with bank_confirmed_at by Midtrans


class Channel(StrEnum):
    EMAIL = "EMAIL"
    WHATSAPP = "WHATSAPP"


ORDER_STATUSES = tuple(OrderStatus)
OUTBOX_STATUSES = tuple(OutboxStatus)
CHANNELS = tuple(Channel)
REFUND_STATUSES = tuple(RefundStatus)
AWAITING_PAYMENT = (OrderStatus.CREATED, OrderStatus.PENDING_PAYMENT)
CLAIMABLE = (OutboxStatus.PENDING, OutboxStatus.RETRYING)  # a delivery may pick these up
REQUEUEABLE = (OutboxStatus.DLQ, OutboxStatus.FAILED)  # only an operator brings these back
