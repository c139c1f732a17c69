"""The old Node server's SQLite `orders` rows, read and put into our terms (no PostgreSQL).

The old server wrote whatever it was given: ids with spaces, phones stored as numbers, amounts
as "Rp 99.000", statuses in any case. Each row is cleaned with the checkout's own rules, or
rejected with a reason that names the field.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from models.statuses import OrderStatus
from web.validation import InvalidField, clean_email, clean_name, clean_phone

LEGACY_COLUMNS = ("id", "customerName", "email", "phone", "amount", "status", "created_at")
NAMELESS_CUSTOMER = "Pelanggan"
MAX_AMOUNT = 2**31 - 1
MONEY_RECEIVED = (OrderStatus.PAID, OrderStatus.REFUNDED)
# The old server's statuses, in any case, and what each one means here.
STATUS_MAP = {
    "PAID": OrderStatus.PAID,
    "SUCCESS": OrderStatus.PAID,
    "SETTLEMENT": OrderStatus.PAID,
    "PENDING": OrderStatus.PENDING_PAYMENT,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRE": OrderStatus.EXPIRED,
    "FAILED": OrderStatus.FAILED,
    "FAILURE": OrderStatus.FAILED,
    "CANCEL": OrderStatus.FAILED,
    "CANCELED": OrderStatus.FAILED,
    "CANCELLED": OrderStatus.FAILED,
    "REFUND": OrderStatus.REFUNDED,
    "REFUNDED": OrderStatus.REFUNDED,
}
_MIDTRANS_SAFE_ID = re.compile(r"^[A-Za-z0-9_~.-]{1,50}$")
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_~.-]+")
_PLAIN_AMOUNT = re.compile(r"^(\d+)(?:[.,]0{1,2})?$")
_GROUPED_AMOUNT = re.compile(r"^\d{1,3}(?:\.\d{3})+$")  # Indonesian "99.000"


class RowRejected(ValueError):
    """A legacy row cannot become an order; the message names the field and the problem."""


class LegacyFileError(Exception):
    """The file is not an old orders database."""


@dataclass(frozen=True)
class LegacyOrder:
    """One old row in our terms, ready to insert."""

    legacy_id: str
    order_id: str
    customer_name: str
    customer_email: str
    customer_phone: str
    amount: int
    status: str
    created_at: datetime | None
    flag_reason: str | None = None


def read_legacy_rows(path: Path) -> list[dict]:
    """Every row of the old `orders` table (read-only); absent columns read as None."""
    if not path.is_file():
        raise LegacyFileError(f"{path} does not exist")
    try:
        with closing(
            sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        ) as source:
            present = _present_columns(source)
            rows = source.execute(_select_present(present)).fetchall()
    except sqlite3.DatabaseError as error:
        raise LegacyFileError(f"{path} is not a readable SQLite database: {error}") from None
    return [_with_all_columns(list(present), values) for values in rows]


def _select_present(present: dict[str, str]) -> str:
    """Only our known column names reach the SQL (in the file's spelling, which differs from
    ours by letter case alone), so nothing from the file is interpolated unchecked."""
    selected = ", ".join(f'"{spelling}"' for spelling in present.values())
    return f"SELECT {selected or 'NULL'} FROM orders"  # noqa: S608 - whitelisted names


def _with_all_columns(present: list[str], values: tuple) -> dict:
    row = dict.fromkeys(LEGACY_COLUMNS)
    row.update(zip(present, values, strict=False))
    return row


def _present_columns(source: sqlite3.Connection) -> dict[str, str]:
    """Our column names -> the file's spelling (matched case-insensitively)."""
    columns = [row[1] for row in source.execute("PRAGMA table_info(orders)")]
    if not columns:
        raise LegacyFileError("the file has no `orders` table")
    by_lower = {column.lower(): column for column in columns}
    return {name: by_lower[name.lower()] for name in LEGACY_COLUMNS if name.lower() in by_lower}


def map_row(row: dict, price: int) -> LegacyOrder:
    """The old row as one of our orders, or RowRejected with the first problem found."""
    legacy_id = _legacy_id_text(row["id"])
    customer_name = _field("customerName", _customer_name, row["customerName"])
    customer_email = _field("email", clean_email, row["email"])
    customer_phone = _field("phone", clean_phone, _as_text(row["phone"]))
    status = map_status(row["status"])
    amount, flag_reason = checked_amount(row["amount"], status, price)
    return LegacyOrder(
        legacy_id=legacy_id,
        order_id=legacy_order_id(legacy_id),
        customer_name=customer_name,
        customer_email=customer_email,
        customer_phone=customer_phone,
        amount=amount,
        status=status,
        created_at=parse_created_at(row["created_at"]),
        flag_reason=flag_reason,
    )


def checked_amount(raw: object, status: str, price: int) -> tuple[int, str | None]:
    """The amount to store and, for money received, why it needs a person: the old server
    wrote amounts without checks, so a paid row may hold Rp 1 or nothing at all."""
    if status in MONEY_RECEIVED and _is_blank(raw):
        return price, f"legacy amount missing; recorded at the course price {price}"
    amount = parse_amount(raw)
    if status in MONEY_RECEIVED and amount != price:
        return amount, f"legacy amount {amount} differs from the course price {price}"
    return amount, None


def _legacy_id_text(raw: object) -> str:
    text = str(_as_text(raw)).strip() if raw is not None else ""
    if not text:
        raise RowRejected("id: missing")
    return text


def legacy_order_id(legacy_id: str) -> str:
    """The old id when Midtrans accepts it (so late notifications still match), else a safe
    spelling plus a hash of the original, so two old ids never collapse into one."""
    if _MIDTRANS_SAFE_ID.match(legacy_id):
        return legacy_id
    safe = _UNSAFE_ID_CHARS.sub("-", legacy_id).strip("-")[:41] or "LEGACY"
    return f"{safe}-{hashlib.sha256(legacy_id.encode()).hexdigest()[:8]}"


def _as_text(raw: object) -> str | object:
    """SQLite may hold a phone or id as a number (a phone then lost its leading 0)."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw


def _field(name: str, cleaner, raw: object) -> str:
    try:
        return cleaner(raw)
    except InvalidField as error:
        raise RowRejected(f"{name}: {error}") from None


def _customer_name(raw: object) -> str:
    """Old rows often lack a name; a neutral one keeps the paid order importable."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return NAMELESS_CUSTOMER
    return clean_name(raw)


def parse_amount(raw: object) -> int:
    """Whole rupiah from 99000, 99000.0, "99000", "99000.00", "Rp 99.000"."""
    if _is_blank(raw):
        raise RowRejected("amount: missing")
    amount = None if isinstance(raw, bool) else _amount_number(raw)
    if amount is None:
        raise RowRejected(f"amount: unreadable {str(raw)[:30]!r}")
    if not 0 < amount <= MAX_AMOUNT:
        raise RowRejected(f"amount: must be positive, got {amount}")
    return amount


def _is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _amount_number(raw: object) -> int | None:
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() else None
    text = str(raw).strip().removeprefix("Rp").removeprefix("IDR").strip().replace(" ", "")
    if _GROUPED_AMOUNT.match(text):
        return int(text.replace(".", ""))
    plain = _PLAIN_AMOUNT.match(text)
    return int(plain[1]) if plain else None


def map_status(raw: object) -> str:
    if raw is None or not str(raw).strip():
        raise RowRejected("status: missing")
    status = STATUS_MAP.get(str(raw).strip().upper())
    if status is None:
        raise RowRejected(f"status: unknown {str(raw)[:30]!r}")
    return status


def parse_created_at(raw: object) -> datetime | None:
    """ISO text, SQLite's `YYYY-MM-DD HH:MM:SS` (UTC), or epoch seconds / milliseconds."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
            return datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise RowRejected(f"created_at: unreadable {text[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
