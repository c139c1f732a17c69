"""Times as the Indonesian operator reads them: `1 Des 2026 09:01 WIB` (Jakarta time)."""

from __future__ import annotations

from datetime import UTC, datetime

from models.base import SHOP_TIMEZONE

_SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


def wib_text(value: str | datetime | None) -> str:
    """An ISO timestamp or aware datetime in WIB; empty for none. A naive value is taken as UTC,
    as the database stores it."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(SHOP_TIMEZONE)
    return f"{local.day} {_SHORT_MONTHS[local.month - 1]} {local.year} {local:%H:%M} WIB"
