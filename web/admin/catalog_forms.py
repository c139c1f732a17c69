"""What the console's price and discount forms carry, checked before anything is queued: a
clear 422 in Indonesian for what no operation could accept (the operation checks again, with
the rows locked, when the worker runs it)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from config.readers import ascii_digits
from models.discounts import NewDiscount
from models.package_prices import price_problem
from models.wib import EARLIEST_DAY, LATEST_DAY, wib_midnight

CODE = re.compile(r"[A-Z0-9_-]{2,32}")  # the discount_codes table's own CHECK
MAX_AMOUNT_OFF = 100_000_000
MAX_USES = 1_000_000


class FormProblem(Exception):
    """A field the operator must correct; the message says which and how."""


def rupiah_field(form: dict, name: str, label: str) -> int | None:
    """Whole rupiah as typed (`99000`, `99.000`, `Rp 99.000`), or None when left empty."""
    text = re.sub(r"^rp|[\s.]", "", form.get(name, "").strip().lower())
    if not text:
        return None
    if not ascii_digits(text) or len(text) > 12:
        raise FormProblem(f"{label} harus rupiah utuh, misalnya 99000")
    return int(text)


def whole_field(form: dict, name: str, label: str, low: int, high: int) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    if not ascii_digits(text) or not low <= int(text) <= high:
        raise FormProblem(f"{label} harus bilangan bulat {low} sampai {high}")
    return int(text)


def day_field(form: dict, name: str, label: str) -> date | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not EARLIEST_DAY <= day <= LATEST_DAY:
        raise FormProblem(
            f"{label} harus tanggal seperti 2026-12-31 (antara {EARLIEST_DAY} dan {LATEST_DAY})"
        )
    return day


def price_field(form: dict) -> int:
    price = rupiah_field(form, "price", "Harga")
    if price is None:
        raise FormProblem("Harga wajib diisi")
    if price_problem(price):
        raise FormProblem("Harga harus antara Rp 1.000 dan Rp 100.000.000")
    return price


def new_discount(form: dict) -> NewDiscount:
    """A code from the form: the first day from its midnight WIB, the last day through its end,
    as `./run.sh admin discounts create --from --until` reads them."""
    code = form.get("code", "").strip().upper()
    if not CODE.fullmatch(code):
        raise FormProblem("Kode harus 2-32 huruf A-Z, angka, _ atau -")
    percent_off = whole_field(form, "percent_off", "Persen potongan", 1, 100)
    amount_off = rupiah_field(form, "amount_off", "Potongan rupiah")
    if (percent_off is None) == (amount_off is None):
        raise FormProblem("Isi salah satu: persen potongan atau potongan rupiah")
    if amount_off is not None and not 1 <= amount_off <= MAX_AMOUNT_OFF:
        raise FormProblem("Potongan rupiah harus antara Rp 1 dan Rp 100.000.000")
    first_day = day_field(form, "valid_from", "Berlaku mulai")
    last_day = day_field(form, "valid_until", "Berlaku sampai")
    if first_day and last_day and last_day < first_day:
        raise FormProblem("Tanggal akhir tidak boleh sebelum tanggal mulai")
    return NewDiscount(
        code=code,
        percent_off=percent_off,
        amount_off=amount_off,
        package_id=form.get("package_id", "").strip() or None,
        valid_from=wib_midnight(first_day) if first_day else None,
        valid_until=wib_midnight(last_day + timedelta(days=1)) if last_day else None,
        max_uses=whole_field(form, "max_uses", "Batas pemakaian", 1, MAX_USES),
    )
