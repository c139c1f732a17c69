"""The audit log: who changed what and why, written in the same transaction as the change."""

from peewee import BigIntegerField, BooleanField, CharField
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField
from psycopg2.extras import Json

from models.base import BaseModel, utcnow
from models.db import database


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


# Three entries per paid order: written out once rather than composed by peewee for each call.
_INSERT_SQL = """
INSERT INTO system_audit_log
    (occurred_at, actor, action, order_id, old_status, new_status, event_id, flagged, details)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


def record_audit(actor: str, action: str, order_id: str | None = None, **fields) -> None:
    """Appends one audit row; extra keyword arguments go to the matching columns or `details`."""
    old_status, new_status = fields.pop("old_status", None), fields.pop("new_status", None)
    database.execute_sql(
        _INSERT_SQL,
        (
            utcnow(),
            actor,
            action,
            order_id,
            None if old_status is None else str(old_status),
            None if new_status is None else str(new_status),
            fields.pop("event_id", None),
            bool(fields.pop("flagged", False)),
            Json(fields),
        ),
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
