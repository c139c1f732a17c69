"""`./run.sh chaos [options]`: one hostile-world run; exit 1 when an invariant fails."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.chaos.profile import PROFILES
from harness.chaos.run import run_chaos


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./run.sh chaos", description=__doc__)
    parser.add_argument("--profile", choices=PROFILES, default="full", help="default: full")
    parser.add_argument("--orders", type=int, help="orders created through the checkout")
    parser.add_argument("--notifications", type=int, help="notifications sent (first sends)")
    parser.add_argument("--worker-kills", type=int, help="kill -9 of a worker process")
    parser.add_argument("--redis-restarts", type=int)
    parser.add_argument("--postgres-restarts", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--mix",
        choices=("safe", "hostile"),
        help="hostile also plays refunds before the payment was seen and relabels into a later "
        "real status (the holes reported in issue 9); safe keeps clear of them",
    )
    parser.add_argument("--json", type=Path, help="write the report as JSON here")
    parser.add_argument("--work-dir", type=Path, help="keep data and process logs here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    arguments = parser.parse_args(argv)
    for name in ("orders", "notifications"):
        if (getattr(arguments, name) or 1) < 1:
            parser.error(f"--{name} must be at least 1")
    for name in ("worker_kills", "redis_restarts", "postgres_restarts"):
        if (getattr(arguments, name) or 0) < 0:
            parser.error(f"--{name.replace('_', '-')} cannot be negative")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    profile = PROFILES[arguments.profile].with_overrides(
        orders=arguments.orders,
        notifications=arguments.notifications,
        worker_kills=arguments.worker_kills,
        redis_restarts=arguments.redis_restarts,
        postgres_restarts=arguments.postgres_restarts,
        seed=arguments.seed,
        mix=arguments.mix,
    )
    report = run_chaos(profile, arguments.work_dir, keep=arguments.keep)
    if arguments.json:
        report.write_json(arguments.json)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
