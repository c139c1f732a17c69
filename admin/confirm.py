"""The question a destructive command asks before it acts (`--yes` skips it)."""

from __future__ import annotations

import sys


def confirmed(question: str) -> bool:
    """True only for an explicit yes typed at a terminal; without one (a script, a pipe) the
    answer is no, so an unattended run never deletes by accident."""
    if not sys.stdin.isatty():
        print(f"{question} Refused: no terminal to ask; add --yes", file=sys.stderr)
        return False
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes", "ya")
