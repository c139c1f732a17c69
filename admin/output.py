"""How the admin command line prints. `--json` on its listings and reports: one JSON document
on stdout for a script, built from the rows the console shows (models/order_rows.py, times ISO
8601 in WIB, `+07:00`). Logs and "not found" lines stay on stderr, so stdout always parses as a
whole. Text for people counts in words that agree ("1 order")."""

from __future__ import annotations

import argparse
import json


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="one JSON document on stdout (ISO times, +07:00)"
    )


def print_json(document: object) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=1))


def print_document(document: dict | None, as_json: bool, lines_of) -> int:
    """A found document as JSON or as the lines `lines_of` makes of it: exit 0; None (not
    found, already said on stderr): exit 1."""
    if document is None:
        return 1
    if as_json:
        print_json(document)
    else:
        print("\n".join(lines_of(document)))
    return 0


def counted(count: int, noun: str) -> str:
    """`1 order`, `2 orders`: what an operator reads, never "1 orders"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
