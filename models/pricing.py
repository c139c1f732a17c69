"""Server-side pricing: the only place an amount is decided. The client never sends one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.base import SHOP_TIMEZONE


@dataclass(frozen=True)
class Discount:
    code: str
    percent_off: int | None
    amount_off: int | None


@dataclass(frozen=True)
class Price:
    base_amount: int
    discount_amount: int
    final_amount: int

    def snap_items(self, package_id: str, package_name: str, code: str | None) -> list[dict]:
        """Midtrans item_details whose price x quantity sum equals final_amount exactly."""
        items = [
            {"id": package_id, "name": package_name[:50], "price": self.base_amount, "quantity": 1}
        ]
        if self.discount_amount:
            items.append(
                {
                    "id": f"discount-{code}"[:50],
                    "name": f"Diskon {code}"[:50],
                    "price": -self.discount_amount,
                    "quantity": 1,
                }
            )
        return items


MINIMUM_PAYABLE_IDR = 1_000  # Midtrans refuses tiny amounts; a discount never goes below this


def price_order(base_amount: int, discount: Discount | None) -> Price:
    """Applies at most one discount, in whole rupiah, never below the minimum payable."""
    if discount is None:
        return Price(base_amount, 0, base_amount)
    if discount.percent_off is not None:
        off = base_amount * discount.percent_off // 100
    else:
        off = discount.amount_off or 0
    off = max(0, min(off, base_amount - MINIMUM_PAYABLE_IDR))
    return Price(base_amount, off, base_amount - off)


def format_idr(amount: int) -> str:
    """99000 -> 'Rp 99.000' (Indonesian thousands separator)."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def midtrans_time(moment: datetime) -> str:
    """Snap's expiry.start_time format, in Jakarta time: 'YYYY-MM-DD HH:MM:SS +0700'."""
    return moment.astimezone(SHOP_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S %z")
