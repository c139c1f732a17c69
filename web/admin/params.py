"""Checks on what an operator's URL carries, shared by the console's screens: every value the
database sees is one it can hold, and a parameter a list does not know is refused with its
name rather than silently ignored (a filter that did nothing looks like "no orders")."""

from __future__ import annotations

import re
from datetime import date

import falcon

from config.readers import ascii_digits
from models.wib import EARLIEST_DAY, LATEST_DAY

MAX_PAGE = 10_000  # 500,000 rows deep at 50 a page; beyond it OFFSET only wastes the database
_ORDER_ID = re.compile(r"[A-Za-z0-9_~.-]{1,50}")  # the orders table's own CHECK


def refuse_unknown(req: falcon.Request, known: tuple[str, ...]) -> None:
    """400 naming the first parameter this screen does not take, and the ones it does."""
    unknown = sorted(set(req.params) - set(known))
    if unknown:
        raise falcon.HTTPBadRequest(
            title=f"Parameter {unknown[0]!r} tidak dikenal",
            description=f"Daftar ini menerima: {', '.join(known)}.",
        )


def whole_param(req: falcon.Request, name: str, low: int, high: int, default: int) -> int:
    """A whole number in ASCII digits from `low` to `high`, or `default` when absent (falcon's
    get_param_as_int, like int(), also reads other scripts' digits such as `١`)."""
    text = req.get_param(name)
    if text is None:
        return default
    if not ascii_digits(text) or not low <= int(text) <= high:
        raise falcon.HTTPBadRequest(title=f"{name} harus bilangan bulat {low} sampai {high}")
    return int(text)


def page_param(req: falcon.Request) -> int:
    return whole_param(req, "page", 1, MAX_PAGE, default=1)


def text_param(req: falcon.Request, name: str, max_length: int) -> str:
    """The trimmed value; PostgreSQL cannot hold a NUL in text, so one is refused here."""
    text = (req.get_param(name) or "").strip()
    if "\x00" in text:
        raise falcon.HTTPBadRequest(title=f"{name} tidak boleh berisi karakter NUL")
    return text[:max_length]


def day_param(req: falcon.Request, name: str) -> date | None:
    """A WIB day `YYYY-MM-DD` within the years the shop can have orders, or None."""
    text = text_param(req, name, 40)
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not EARLIEST_DAY <= day <= LATEST_DAY:
        raise falcon.HTTPBadRequest(
            title=f"{name} harus tanggal seperti 2026-01-31 "
            f"(antara {EARLIEST_DAY} dan {LATEST_DAY}), bukan {text!r}"
        )
    return day


def order_id_or_404(order_id: str) -> str:
    """An id no order can have is simply not found (and never reaches the database)."""
    if not _ORDER_ID.fullmatch(order_id):
        raise falcon.HTTPNotFound(title="Pesanan tidak ditemukan")
    return order_id
