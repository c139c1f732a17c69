"""Times in Jakarta as Indonesians read them: `1 Desember 2026` and `1 Desember 2026 pukul
09.01 WIB` for customers, `1 Des 2026 09:01 WIB` for the operator."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from models.base import SHOP_TIMEZONE

# The days an operator may name (a filter, a code's validity, an export's start): wide enough for
# any real order, narrow enough that a day after the last one or the UTC moment of a WIB midnight
# still exists (year 9999 or 0001 overflows).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)

_MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_SHORT_MONTHS = tuple(month[:3] for month in _MONTHS)  # Jan ... Agu ... Des
_ISO_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def indonesian_date(moment: datetime) -> str:
    """A moment as the day it was in Jakarta: `1 Desember 2026`."""
    return indonesian_day(moment.astimezone(SHOP_TIMEZONE).date())


def wib_midnight(day: date) -> datetime:
    """The moment a calendar day starts in Jakarta."""
    return datetime.combine(day, time(), SHOP_TIMEZONE)


def indonesian_day(day: date) -> str:
    """A calendar day as Indonesians write it: `1 Desember 2026`."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def indonesian_time(moment_iso: str) -> str:
    """'2025-01-13T07:30:00+00:00' -> '13 Januari 2025 pukul 14.30 WIB' (Jakarta time)."""
    local = datetime.fromisoformat(moment_iso).astimezone(SHOP_TIMEZONE)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} pukul {local:%H.%M} WIB"


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


def wib_values(value: object) -> object:
    """JSON data (an audit entry's details) with every ISO timestamp in it as `wib_text` writes
    it, so the console never shows an operator a UTC time; anything else is left as it is."""
    if isinstance(value, dict):
        return {key: wib_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wib_values(item) for item in value]
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            return wib_text(value)
        except ValueError:
            return value
    return value
