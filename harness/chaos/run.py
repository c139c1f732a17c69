"""One hostile-world run: start the system, let the world and the faults loose, wait for calm,
check every invariant, report."""

from __future__ import annotations

import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

from harness.chaos.faults import FaultInjector, fault_timeline
from harness.chaos.invariants import check_all, stream_shares
from harness.chaos.observe import progress as system_progress
from harness.chaos.observe import read_database, read_inbox
from harness.chaos.profile import Profile
from harness.chaos.report import Report, render_table
from harness.chaos.system import System, Tuning
from harness.chaos.traffic import GATE_WAIT_SECONDS, LINK_WAIT_SECONDS, RESEND_DELAYS, Traffic
from harness.chaos.truth import Mix, plan_orders

PROGRESS_SECONDS = 15
SETTLE_POLL_SECONDS = 2


def run_chaos(
    profile: Profile,
    work_dir: Path | None = None,
    keep: bool = False,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Report:
    """The whole run; the system is stopped (and a temporary folder removed) however it ends."""
    rng = random.Random(profile.seed)
    plans = plan_orders(
        profile.orders,
        profile.notifications,
        Mix.named(profile.mix),
        rng,
        profile.step_gap,
        profile.variant_spread,
    )
    own_dir = work_dir is None
    # Not under pytest's tmp root: PostgreSQL's own user must reach it again after a restart.
    # A given folder gets a fresh run folder inside: a run never inherits another's data.
    if own_dir:
        work_dir = Path(tempfile.mkdtemp(prefix="bfa-chaos-"))
    else:
        work_dir = work_dir.resolve() / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        work_dir.mkdir(parents=True)
    system = System(work_dir, Tuning())
    started, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")
    traffic = injector = None
    try:
        say(f"chaos: starting the system in {work_dir}")
        system.start()
        traffic = Traffic(system.web_url, system.sandbox_url, plans)
        timeline = fault_timeline(profile.fault_counts(), profile.window_seconds, profile.span, rng)
        injector = FaultInjector(
            system,
            timeline,
            profile.outage_seconds,
            profile.redelivery_limit_seconds,
            rng,
            shelter_deliveries=Mix.named(profile.mix).shelter_deliveries,
        )
        say(f"chaos: {len(plans)} orders, {len(timeline)} fault events over {profile.span:.0f} s")
        traffic.start(profile.arrival_seconds)
        injector.start()
        _wait_for_the_world(traffic, injector, profile, started, say)
        injector.stop()
        settle = _settle(system.database_url, traffic, profile, say)
        observed = read_database(system.database_url)
        read_inbox(system.sandbox_url, observed)
        invariants = check_all(
            traffic.runs,
            observed,
            traffic.answers,
            injector.kills,
            profile.redelivery_limit_seconds,
        )
        report = Report(
            profile=profile.as_dict(),
            started_at=started_at,
            duration_seconds=time.monotonic() - started,
            figures=_figures(traffic, injector, observed, system),
            settle=settle,
            faults=injector.log,
            kills=[kill.as_dict() for kill in injector.kills],
            invariants=invariants,
        )
    finally:
        if injector is not None:
            injector.stop()
        if traffic is not None:
            traffic.stop()
        system.stop()
        if own_dir and not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    say(render_table(report))
    return report


def _wait_for_the_world(
    traffic: Traffic,
    injector: FaultInjector,
    profile: Profile,
    started: float,
    say: Callable[[str], None],
) -> None:
    """Until every order played its timeline, every notification was answered or given up on,
    and every fault was carried out (bounded: the slowest order could wait for its link, a gate
    and every re-send)."""
    limit = profile.span + LINK_WAIT_SECONDS + GATE_WAIT_SECONDS + sum(RESEND_DELAYS) + 120
    deadline = time.monotonic() + limit
    next_line = time.monotonic() + PROGRESS_SECONDS
    while not (traffic.done() and injector.done()) and time.monotonic() < deadline:
        time.sleep(0.5)
        if time.monotonic() >= next_line:
            next_line += PROGRESS_SECONDS
            say(_progress_line(traffic, injector, started))
    say(_progress_line(traffic, injector, started) + " - the world is calm")


def _progress_line(traffic: Traffic, injector: FaultInjector, started: float) -> str:
    linked = sum(run.link_seconds is not None for run in traffic.runs)
    sent = sum(traffic.answers.sent.values())
    return (
        f"chaos: {time.monotonic() - started:5.0f} s  orders linked {linked}/{len(traffic.runs)}"
        f"  notifications sent {sent}  faults {len(injector.log)}/{len(injector.faults)}"
        f"  kills {len(injector.kills)}"
    )


def _settle(database_url: str, traffic: Traffic, profile: Profile, say) -> dict:
    """Waits until nothing is left to do and every order matches its truth; or until nothing
    changed for `stable_seconds` (a hole does not heal); or `settle_seconds`."""
    expected = {run.order_id: run.plan.expected.status for run in traffic.runs if run.order_id}
    began = last_change = time.monotonic()
    last_seen = None
    state = {}
    while True:
        try:
            state = system_progress(database_url)
        except psycopg2.Error:
            time.sleep(SETTLE_POLL_SECONDS)
            continue
        statuses = state.pop("statuses")
        state["mismatched"] = sum(statuses.get(o) != status for o, status in expected.items())
        left = ("unprocessed_events", "outbox_active", "orders_created")
        quiet = not any(state[name] for name in left)
        seen = (tuple(sorted(statuses.items())), tuple(state.values()))
        now = time.monotonic()
        if seen != last_seen:
            last_seen, last_change = seen, now
        outcome = None
        if quiet and not state["mismatched"]:
            outcome = "converged"
        elif quiet and now - last_change > profile.stable_seconds:
            outcome = f"stable for {profile.stable_seconds:.0f} s with mismatches"
        elif now - began > profile.settle_seconds:
            outcome = "timed out"
        if outcome:
            say(f"chaos: settle {outcome}: {state}")
            return {"outcome": outcome, "seconds": round(now - began, 1), **state}
        time.sleep(SETTLE_POLL_SECONDS)


def _figures(traffic: Traffic, injector: FaultInjector, observed, system: System) -> dict:
    runs = traffic.runs
    answers = traffic.answers.as_dict()
    sent = answers["notifications_sent"]
    link_waits = sorted(run.link_seconds for run in runs if run.link_seconds is not None)
    delivered = Counter()
    for (_, channel, _), count in observed.delivered.items():
        delivered[channel] += count
    counts = injector.counts()
    windows = [kind.partition(":")[0] for kind in counts if kind.endswith(":open")]
    return {
        "orders": (
            f"{len(runs)} planned, {sum(r.order_id is not None for r in runs)} created, "
            f"{len(link_waits)} with a payment link"
            + (f" (median wait {statistics.median(link_waits):.1f} s)" if link_waits else "")
        ),
        "notifications": (
            f"{sum(sent.values())} sent ("
            + ", ".join(f"{kind} {n}" for kind, n in sorted(sent.items()))
            + f"), {answers['notifications_resent']} re-sent after a 5xx or no answer, "
            f"{answers['notifications_given_up']} given up"
        ),
        "faults": (
            f"{counts.get('worker_kill', 0)} worker kills, "
            f"{counts.get('redis_restart', 0)} Redis restarts, "
            f"{counts.get('postgres_restart', 0)} PostgreSQL restarts; "
            + ", ".join(f"{window} for {_window_length(injector, window)}" for window in windows)
        ),
        "timelines": dict(Counter(run.plan.timeline for run in runs)),
        "stream_shares": stream_shares(traffic.answers),
        "answers": answers,
        "messages_delivered": dict(delivered),
        "outbox": dict(observed.outbox_statuses()),
        "gate_timeouts": sum(run.gate_timeouts for run in runs),
        "unplanned_exits": system.unplanned_exits(),
        "harness_errors": traffic.agenda.errors[:20],
    }


def _window_length(injector: FaultInjector, window: str) -> str:
    opened = [e["at"] for e in injector.log if e["kind"] == f"{window}:open"]
    closed = [e["at"] for e in injector.log if e["kind"] == f"{window}:close"]
    if opened and closed:
        return f"{closed[0] - opened[0]:.0f} s"
    return "?"
