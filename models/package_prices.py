"""A package's price, changed only by an operator and audited (who, old, new) in the same
transaction. An order keeps the amounts it was priced with (orders.base_amount, final_amount),
so a new price applies to orders made after it, never to one already waiting for payment."""

from __future__ import annotations

from models.audit import record_audit
from models.catalog import Package
from models.db import transaction
from models.pricing import MINIMUM_PAYABLE_IDR

MAXIMUM_PRICE_IDR = 100_000_000  # a typo's extra zeros stop here, not at the customer


class PriceRefused(Exception):
    """The price cannot be set as asked; the message says why."""


def price_problem(price_idr: int) -> str | None:
    """Why `price_idr` cannot be a price, or None when it can (Midtrans' minimum to our cap)."""
    if not MINIMUM_PAYABLE_IDR <= price_idr <= MAXIMUM_PRICE_IDR:
        return f"a price must be from {MINIMUM_PAYABLE_IDR} to {MAXIMUM_PRICE_IDR} rupiah"
    return None


def set_package_price(package_id: str, price_idr: int, actor: str) -> int | None:
    """The package's old price, or None when it already had this one (nothing written)."""
    if problem := price_problem(price_idr):
        raise PriceRefused(problem)
    with transaction():
        package = Package.select().where(Package.package_id == package_id).for_update().first()
        if package is None:
            raise PriceRefused(f"no package {package_id!r} (see: ./run.sh admin packages list)")
        old_price = package.price_idr
        if old_price == price_idr:
            return None
        Package.update(price_idr=price_idr).where(Package.package_id == package_id).execute()
        record_audit(
            actor, "package_price_set", package_id=package_id, old=old_price, new=price_idr
        )
    return old_price
