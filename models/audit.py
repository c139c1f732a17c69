"""The audit log: who changed what and why, written in the same transaction as the change."""

from peewee import BigIntegerField, BooleanField, CharField
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from models.base import BaseModel, utcnow


class AuditEntry(BaseModel):
    occurred_at = DateTimeTZField(default=utcnow)
    actor = CharField()
    action = CharField()
    order_id = CharField(null=True)
    old_status = CharField(null=True)
    new_status = CharField(null=True)
    event_id = BigIntegerField(null=True)
    flagged = BooleanField(default=False)
    details = BinaryJSONField(default=dict)

    class Meta:
        table_name = "system_audit_log"


def record_audit(actor: str, action: str, order_id: str | None = None, **fields) -> AuditEntry:
    """Appends one audit row; extra keyword arguments go to the matching columns or `details`."""
    columns = {
        key: fields.pop(key)
        for key in ("old_status", "new_status", "event_id", "flagged")
        if key in fields
    }
    return AuditEntry.create(
        actor=actor, action=action, order_id=order_id, details=fields, **columns
    )


def recent_operator_actions(limit: int = 20) -> list[AuditEntry]:
    """The newest entries written for an operator (`admin:web`, `admin:cli`, ...)."""
    return list(
        AuditEntry.select()
        .where(AuditEntry.actor.startswith("admin:"))
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )


# Written once per imported PAID order whose id the Status API does not know.
LEGACY_UNKNOWN_AT_MIDTRANS = "legacy_unknown_at_midtrans"


def orders_with_action(action: str, order_ids: list[str]) -> list[str]:
    """Which of these orders have an audit entry for `action`."""
    query = AuditEntry.select(AuditEntry.order_id).where(
        (AuditEntry.action == action) & AuditEntry.order_id.in_(order_ids)
    )
    return sorted({entry.order_id for entry in query.distinct()})
