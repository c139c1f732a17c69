"""The outbox page's filter: the status asked for, checked (the rows: models/outbox_admin.py)."""

from __future__ import annotations

import falcon

from models.statuses import OUTBOX_STATUSES
from web.admin.params import refuse_unknown, text_param

FILTER_PARAMS = ("status", "page")


def status_filter(req: falcon.Request) -> str:
    """The status asked for, checked; a bad or unknown parameter is a 400 naming it."""
    refuse_unknown(req, FILTER_PARAMS)
    status = text_param(req, "status", 20).upper()
    if status and status not in OUTBOX_STATUSES:
        allowed = ", ".join(OUTBOX_STATUSES)
        raise falcon.HTTPBadRequest(title=f"status harus salah satu dari {allowed}")
    return status
