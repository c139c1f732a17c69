"""Discount codes as the operator manages them: created, listed with their uses, disabled.
Every change is audited; checkout reads the same rows (models/checkout.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from peewee import IntegrityError, fn

from models.audit import record_audit
from models.catalog import DiscountCode, Package
from models.checkout import uses_its_code
from models.order_rows import iso
from models.orders import Order


class DiscountRefused(Exception):
    """The code cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class NewDiscount:
    code: str
    percent_off: int | None = None
    amount_off: int | None = None
    package_id: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_uses: int | None = None

    def as_message(self) -> dict:
        """The code as a queued message carries it (times as ISO text)."""
        return {
            **asdict(self),
            "valid_from": iso(self.valid_from),
            "valid_until": iso(self.valid_until),
        }

    @classmethod
    def from_message(cls, fields: dict) -> NewDiscount:
        moments = {
            name: datetime.fromisoformat(fields[name]) if fields.get(name) else None
            for name in ("valid_from", "valid_until")
        }
        return cls(**{**fields, **moments})


def create_discount(new: NewDiscount, actor: str) -> DiscountCode:
    if (new.percent_off is None) == (new.amount_off is None):
        raise DiscountRefused("give either a percentage or an amount off")
    if new.valid_from and new.valid_until and new.valid_until <= new.valid_from:
        raise DiscountRefused("the end of validity must come after its start")
    if new.package_id and Package.get_or_none(Package.package_id == new.package_id) is None:
        raise DiscountRefused(f"no package {new.package_id!r}")
    code = new.code.upper()
    if DiscountCode.get_or_none(fn.upper(DiscountCode.code) == code) is not None:
        raise DiscountRefused(f"code {code} exists already")
    try:
        discount = DiscountCode.create(
            code=code,
            package=new.package_id,
            percent_off=new.percent_off,
            amount_off=new.amount_off,
            valid_from=new.valid_from,
            valid_until=new.valid_until,
            max_uses=new.max_uses,
        )
    except IntegrityError as error:
        raise DiscountRefused(f"refused by the database: {str(error).splitlines()[0]}") from None
    record_audit(actor, "discount_created", None, **discount_row(discount, uses=0))
    return discount


def disable_discount(code: str, actor: str) -> bool:
    """False when no active code has that name."""
    changed = (
        DiscountCode.update(active=False)
        .where((fn.upper(DiscountCode.code) == code.upper()) & DiscountCode.active)
        .execute()
    )
    if changed:
        record_audit(actor, "discount_disabled", None, code=code.upper())
    return bool(changed)


def listed_discounts() -> list[dict]:
    """Every code, newest first, with how many orders used it or are being paid with it."""
    uses = dict(
        Order.select(Order.discount_code, fn.COUNT(Order.order_id))
        .where(Order.discount_code.is_null(False) & uses_its_code())
        .group_by(Order.discount_code)
        .tuples()
    )
    rows = DiscountCode.select().order_by(DiscountCode.created_at.desc(), DiscountCode.code)
    return [discount_row(row, uses.get(row.code, 0)) for row in rows]


def discount_row(discount: DiscountCode, uses: int) -> dict:
    return {
        "code": discount.code,
        "percent_off": discount.percent_off,
        "amount_off": discount.amount_off,
        "package_id": discount.package_id,
        "active": discount.active,
        "valid_from": iso(discount.valid_from),
        "valid_until": iso(discount.valid_until),
        "max_uses": discount.max_uses,
        "uses": uses,
    }
