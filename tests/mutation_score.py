"""The mutation score of the pure money rules, per module, from the last `mutmut run`.

Run by `./run.sh test --mutation` after mutmut. models/delivery.py counts only DeliveryPolicy:
the rest of that module writes to PostgreSQL and is proven by the delivery tests instead.
Exits 1 when fewer than GOAL of the mutants in scope are killed.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

GOAL = 0.90
DETECTED = {"killed", "timeout", "caught by type check"}
VENV_BIN = Path(sys.executable).parent


def in_scope(module: str, mutant: str) -> bool:
    return module != "models.delivery" or "ǁDeliveryPolicyǁ" in mutant


def mutant_statuses() -> dict[str, str]:
    """Every mutant's name and status, as `mutmut results --all true` prints them."""
    listing = subprocess.run(
        [str(VENV_BIN / "mutmut"), "results", "--all", "true"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    statuses = {}
    for line in listing.splitlines():
        name, _, status = line.strip().partition(": ")
        if status:
            statuses[name] = status
    return statuses


def main() -> int:
    by_module: dict[str, Counter] = defaultdict(Counter)
    survivors = []
    for name, status in sorted(mutant_statuses().items()):
        module = name.split(".x", 1)[0]
        if not in_scope(module, name):
            continue
        detected = status in DETECTED
        by_module[module]["killed" if detected else "survived"] += 1
        if not detected:
            survivors.append(f"{name} ({status})")
    total = Counter()
    for module, counts in sorted(by_module.items()):
        total += counts
        print(f"{module:28} {_score(counts)}")
    print(f"{'total':28} {_score(total)}")
    for survivor in survivors:
        print(f"  survived: {survivor}")
    killed = total["killed"] / max(1, total["killed"] + total["survived"])
    return 0 if killed >= GOAL else 1


def _score(counts: Counter) -> str:
    killed, all_mutants = counts["killed"], counts["killed"] + counts["survived"]
    return f"{killed:4}/{all_mutants:<4} killed ({100 * killed / all_mutants:.1f}%)"


if __name__ == "__main__":
    sys.exit(main())
