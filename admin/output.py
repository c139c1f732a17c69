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
