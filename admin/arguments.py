"""argparse types shared by the admin commands: a number out of range is a one-line usage error
(exit 2), never a traceback from deep inside a query or a date calculation."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from config.readers import ascii_digits


def whole_number(minimum: int, maximum: int) -> Callable[[str], int]:
    """A type for `add_argument` that takes only whole numbers from `minimum` to `maximum`,
    written in ASCII digits."""

    def parse(text: str) -> int:
        if not ascii_digits(text.removeprefix("-")):
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
        number = int(text)
        if not minimum <= number <= maximum:
            raise argparse.ArgumentTypeError(f"must be from {minimum} to {maximum}, got {number}")
        return number

    return parse


def plain_choices(values) -> list[str]:
    """Enum members as their plain values: argparse names a refused choice by its repr, and an
    operator should read `'PAID'`, not `<OrderStatus.PAID: 'PAID'>`."""
    return [str(value) for value in values]


row_limit = whole_number(1, 10_000)
# A dead letter younger than a day may be the one an operator is still looking into: never purged.
purge_age_days = whole_number(1, 3_650)
