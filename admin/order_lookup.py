"""The order an operator means: any unique part of its number, in any case, as read out on the
phone or pasted from a message. Every command that takes ORDER_ID resolves it here."""

from __future__ import annotations

import sys

from models.order_story import order_ids_containing


def one_order_id(part: str) -> str | None:
    """The one order number `part` names, or None after saying on stderr why not."""
    found = order_ids_containing(part)
    if len(found) != 1:
        print(not_one_order(part, found), file=sys.stderr)
        return None
    return found[0]


def not_one_order(part: str, found: list[str]) -> str:
    """Why `part` names no single order; several matches are listed so that the operator can
    give more of the number."""
    if not found:
        return f"no order matches {part!r}"
    listed = "\n".join(f"  {order_id}" for order_id in found)
    return f"{part!r} matches several orders; give more of the number:\n{listed}"
