"""The names the harnesses give their customers. The shop refuses a name with more than three
digits (a stranger's phone number or link must not ride in a message), so a customer's number is
spelled in letters: 0 -> "A", 25 -> "Z", 26 -> "Ba"."""

from __future__ import annotations

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def customer_name(prefix: str, number: int) -> str:
    """`prefix` and `number` in base-26 letters; distinct numbers give distinct names."""
    spelled = ""
    while True:
        number, digit = divmod(number, len(LETTERS))
        spelled = LETTERS[digit] + spelled
        if number == 0:
            return f"{prefix} {spelled.capitalize()}"
