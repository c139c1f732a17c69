"""The outbox page: notification rows filtered by status, newest first, with counts per status."""

from __future__ import annotations

import falcon
from peewee import fn

from models.order_rows import outbox_row
from models.outbox import OutboxMessage
from models.outbox_admin import STATUSES as OUTBOX_STATUSES
from web.admin.paging import page_count
from web.admin.params import refuse_unknown, text_param

PAGE_SIZE = 50
FILTER_PARAMS = ("status", "page")


def status_filter(req: falcon.Request) -> str:
    """The status asked for, checked; a bad or unknown parameter is a 400 naming it."""
    refuse_unknown(req, FILTER_PARAMS)
    status = text_param(req, "status", 20).upper()
    if status and status not in OUTBOX_STATUSES:
        raise falcon.HTTPBadRequest(title=f"status must be one of {', '.join(OUTBOX_STATUSES)}")
    return status


def outbox_counts() -> dict[str, int]:
    counted = dict(
        OutboxMessage.select(OutboxMessage.status, fn.COUNT(1))
        .group_by(OutboxMessage.status)
        .tuples()
    )
    return {status: counted.get(status, 0) for status in OUTBOX_STATUSES}


def list_outbox(status: str, page: int) -> dict:
    query = OutboxMessage.select()
    if status:
        query = query.where(OutboxMessage.status == status)
    total = query.count()
    rows = query.order_by(OutboxMessage.id.desc()).paginate(page, PAGE_SIZE)
    return {
        "messages": [outbox_row(row) for row in rows],
        "total": total,
        "page": page,
        "pages": page_count(total, PAGE_SIZE),
        "status": status,
        "statuses": list(OUTBOX_STATUSES),
        "counts": outbox_counts(),
    }
