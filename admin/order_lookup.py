"""The order an operator means: any unique part of its number, in any case, as read out on the
phone or pasted from a message. Every command that takes ORDER_ID resolves it here."""

from __future__ import annotations

import sys

from models.order_story import order_ids_containing

# Shorter pieces name an order by luck (a blank one matches every order): a resend would then
# message a customer the operator did not mean, in a shop that holds one order or a few.
SHORTEST_PART = 4


def order_ids_meant(part: str) -> list[str]:
    """The orders `part` may mean; none for a piece too short to name one on purpose."""
    return order_ids_containing(part) if len(part.strip()) >= SHORTEST_PART else []


def one_order_id(part: str) -> str | None:
    """The one order number `part` names, or None after saying on stderr why not (several
    matches are listed so that the operator can give more of the number)."""
    found = order_ids_meant(part)
    if len(found) == 1:
        return found[0]
    lines = [f"{part!r}: {not_one_order(part, found)}"] + [f"  {order_id}" for order_id in found]
    print("\n".join(lines), file=sys.stderr)
    return None


def not_one_order(part: str, found: list[str]) -> str:
    """Why `part` names no single order, in one line."""
    if len(part.strip()) < SHORTEST_PART:
        return f"too short: give at least {SHORTEST_PART} characters of the number"
    if not found:
        return "no order matches"
    return "matches several orders; give more of the number"
