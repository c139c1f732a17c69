"""Course access: exactly one entitlement per paid order, revoked on refund or reversal."""

import secrets

from peewee import CharField, ForeignKeyField, TextField
from playhouse.postgres_ext import DateTimeTZField

from models.base import BaseModel, utcnow
from models.catalog import Package
from models.orders import Order
from models.statuses import EntitlementStatus


def new_access_token() -> str:
    """An unguessable bearer token for the /access/{token} link (256 bits)."""
    return secrets.token_urlsafe(32)


class Entitlement(BaseModel):
    order = ForeignKeyField(Order, column_name="order_id", unique=True, backref="entitlements")
    package = ForeignKeyField(Package, column_name="package_id")
    access_token = CharField(unique=True, default=new_access_token)
    status = CharField(default=EntitlementStatus.ACTIVE)
    granted_at = DateTimeTZField(default=utcnow)
    revoked_at = DateTimeTZField(null=True)
    revoke_reason = TextField(null=True)

    class Meta:
        table_name = "entitlements"


def reactivate_entitlement(entitlement: Entitlement) -> None:
    """A revoked entitlement active again, keeping its token (the link the customer has)."""
    Entitlement.update(status=EntitlementStatus.ACTIVE, revoked_at=None, revoke_reason=None).where(
        Entitlement.id == entitlement.id
    ).execute()
    entitlement.status, entitlement.revoked_at, entitlement.revoke_reason = (
        EntitlementStatus.ACTIVE,
        None,
        None,
    )


def has_active_access(order_id: str) -> bool:
    return (
        Entitlement.select()
        .where((Entitlement.order == order_id) & (Entitlement.status == EntitlementStatus.ACTIVE))
        .exists()
    )


def revoked_for_a_refund(entitlement: Entitlement) -> bool:
    """True when Midtrans reported the money returned (refund or chargeback, also partial),
    which the access page may say; an owner's revoke or a card void says something neutral.
    Midtrans' reasons are written as "midtrans <transaction_status>" (models/payments.py)."""
    reason = entitlement.revoke_reason or ""
    return reason.startswith("midtrans ") and reason.endswith(("refund", "chargeback"))


def revoke_entitlement(order_id: str, reason: str) -> bool:
    """Ends the order's active access, with why; False when there was none to end."""
    revoked = (
        Entitlement.update(
            status=EntitlementStatus.REVOKED, revoked_at=utcnow(), revoke_reason=reason
        )
        .where((Entitlement.order == order_id) & (Entitlement.status == EntitlementStatus.ACTIVE))
        .execute()
    )
    return bool(revoked)
