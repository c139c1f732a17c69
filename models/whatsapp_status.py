"""Meta's message status callbacks, read into plain records (pure: no database, no network).

A callback (`object: whatsapp_business_account`) holds `entry[].changes[].value.statuses[]`;
each status names the message by the id the Cloud API returned at send time (`wamid...`), and
echoes `biz_opaque_callback_data`, which our send sets to the outbox row's id: the row is found
even when the worker died before it recorded the wamid.
"""

from __future__ import annotations

from dataclasses import dataclass

# How far a message got; a status never moves a row backwards (callbacks arrive out of order).
PROGRESS = {"sent": 1, "delivered": 2, "read": 3}
FAILED = "failed"
KNOWN_STATUSES = (*PROGRESS, FAILED)


@dataclass(frozen=True)
class WhatsAppStatus:
    """One status of one message, as much as the shop needs of it."""

    message_id: str
    status: str
    outbox_id: int | None
    error: str

    @property
    def reached_meta(self) -> bool:
        """sent, delivered or read: Meta took the message and did not refuse it."""
        return self.status in PROGRESS


def moves_forward(current: str | None, new: str) -> bool:
    """True when `new` tells more than `current`: read after delivered, never back; failed only
    before the message reached the phone, and nothing after failed."""
    if current == FAILED:
        return False
    if new == FAILED:
        return current in (None, "sent")
    return PROGRESS[new] > PROGRESS.get(current or "", 0)


def statuses_in(callback: object) -> list[WhatsAppStatus]:
    """Every readable status of a callback; anything else in it (incoming messages, template
    updates, malformed parts) is skipped."""
    found = []
    for value in _change_values(callback):
        for item in _list(value.get("statuses")):
            status = _status(item)
            if status is not None:
                found.append(status)
    return found


def _change_values(callback: object) -> list[dict]:
    if not isinstance(callback, dict):
        return []
    changes = [
        change
        for entry in _list(callback.get("entry"))
        for change in _list(entry.get("changes") if isinstance(entry, dict) else None)
    ]
    return [
        change["value"]
        for change in changes
        if isinstance(change, dict) and isinstance(change.get("value"), dict)
    ]


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _status(item: object) -> WhatsAppStatus | None:
    if not isinstance(item, dict):
        return None
    message_id, status = item.get("id"), item.get("status")
    if not isinstance(message_id, str) or not message_id or status not in KNOWN_STATUSES:
        return None
    return WhatsAppStatus(
        message_id=message_id[:200],
        status=status,
        outbox_id=_outbox_id(item.get("biz_opaque_callback_data")),
        error=error_text(item.get("errors")) if status == FAILED else "",
    )


def _outbox_id(callback_data: object) -> int | None:
    """Our row id, echoed back by Meta; None when absent or not ours (only digits are)."""
    if isinstance(callback_data, str) and callback_data.isdigit() and len(callback_data) < 19:
        return int(callback_data)
    return None


def error_text(errors: object) -> str:
    """Meta's first error as `title (code N): details`, for the row's last_error."""
    first = next(iter(_list(errors)), None)
    if not isinstance(first, dict):
        return "WhatsApp reported the message as failed (no error given)"
    title = str(first.get("title") or first.get("message") or "failed")[:200]
    details = (
        first.get("error_data", {}).get("details")
        if isinstance(first.get("error_data"), dict)
        else None
    )
    text = f"WhatsApp: {title} (code {first.get('code', '?')})"
    return f"{text}: {str(details)[:300]}" if details else text
