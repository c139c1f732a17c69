"""How the admin command line prints. `--json` on its listings and reports: one JSON document
on stdout for a script, built from the rows the console shows (models/order_rows.py, times ISO
8601 in WIB, `+07:00`). Logs and "not found" lines stay on stderr, so stdout always parses as a
whole. An operation's outcome is printed by `reported`: a refusal on stderr."""

from __future__ import annotations

import argparse
import json
import sys

from tasks.operations import UNCHANGED, Outcome


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="one JSON document on stdout (ISO times, +07:00)"
    )


def print_json(document: object) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=1))


def reported(outcome: Outcome, unchanged_fails: bool = False) -> int:
    """Prints an operation's outcome (a refusal on stderr) and returns the exit code: 0 done,
    1 refused, and 1 for nothing done where the command promises to do something."""
    if outcome.is_refused:
        print(outcome.message, file=sys.stderr)
        return 1
    print(outcome.message)
    return 1 if unchanged_fails and outcome.state == UNCHANGED else 0


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
