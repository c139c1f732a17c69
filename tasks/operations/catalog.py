"""What is on sale: discount codes (create, disable), a package's price and its course content."""

from __future__ import annotations

from messaging.redis import Sender
from models.db import transaction
from models.discounts import DiscountRefused, NewDiscount, create_discount, disable_discount
from models.package_content import UnknownPackage, set_package_content
from models.package_prices import PriceRefused, set_package_price
from models.pricing import format_idr
from tasks.operations import Outcome, audited_unchanged, done, refused


def create_discount_code(sender: Sender, operator: str, new: NewDiscount) -> Outcome:
    """A new code (audited); refused when it exists already or does not add up."""
    try:
        with transaction():
            created = create_discount(new, operator)
    except DiscountRefused as refusal:
        message = f"discounts create: {refusal}"
        return refused(operator, "discount_create_refused", None, str(refusal), message)
    return done(f"created {created.code}", code=created.code)


def disable_discount_code(sender: Sender, operator: str, code: str) -> Outcome:
    """Stops a code being used (audited)."""
    with transaction():
        disabled = disable_discount(code, operator)
    if not disabled:
        reason = f"no active discount code {code!r}"
        return refused(operator, "discount_disable_refused", None, reason, code=code)
    return done(f"disabled {code.upper()}", code=code.upper())


def set_course_content(
    sender: Sender,
    operator: str,
    package_id: str,
    content_url: str | None,
    lessons: list[str] | None,
) -> Outcome:
    """Where the package's course lives and its lessons (None keeps the current value)."""
    try:
        set_package_content(package_id, content_url, lessons, operator)
    except UnknownPackage:
        reason = f"No package {package_id!r} (see: ./run.sh admin packages list)"
        return refused(operator, "package_content_refused", None, reason, package_id=package_id)
    return done("Updated (audited):", package_id=package_id)


def set_price(sender: Sender, operator: str, package_id: str, price_idr: int) -> Outcome:
    """The package's new price for the orders made from now on (audited: who, old, new)."""
    try:
        old_price = set_package_price(package_id, price_idr, operator)
    except PriceRefused as refusal:
        return refused(operator, "package_price_refused", None, str(refusal), package_id=package_id)
    if old_price is None:
        reason = f"{package_id} costs {format_idr(price_idr)} already"
        return audited_unchanged(
            operator, "package_price_unchanged", None, reason, package_id=package_id
        )
    message = f"{package_id}: {format_idr(old_price)} -> {format_idr(price_idr)} for new orders"
    return done(message, package_id=package_id, old=old_price, new=price_idr)
