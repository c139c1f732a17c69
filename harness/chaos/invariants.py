"""The checks a run ends with: what must hold however hostile the world was."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harness.chaos.observe import Observed
from harness.chaos.redelivery import Kill
from harness.chaos.traffic import Answers, OrderRun
from harness.chaos.truth import SHARES, Expectation

CHANNELS = ("EMAIL", "WHATSAPP")
REVERSALS = {"refund", "chargeback", "partial_refund", "partial_chargeback", "deny"}
LEFT_BEHIND = ("SENDING", "RETRYING")


@dataclass
class Invariant:
    name: str
    passed: bool
    summary: str
    failures: list[dict] = field(default_factory=list)

    def as_dict(self, limit: int = 200) -> dict:
        return {
            "name": self.name,
            "passed": self.passed,
            "summary": self.summary,
            "failures": self.failures[:limit],
            "failures_total": len(self.failures),
        }


def _check(name: str, failures: list[dict], summary: str) -> Invariant:
    return Invariant(name, not failures, summary, failures)


def _known(runs: list[OrderRun]) -> list[OrderRun]:
    return [run for run in runs if run.order_id is not None]


def final_statuses(runs: list[OrderRun], observed: Observed) -> Invariant:
    failures = []
    for run in _known(runs):
        expected = run.plan.expected
        actual = observed.orders.get(run.order_id, {}).get("status")
        if actual != expected.status:
            failures.append(_story(run, expected, actual, observed))
    checked = len(_known(runs))
    return _check(
        "final status equals the truth",
        failures,
        f"{checked - len(failures)}/{checked} orders",
    )


def _story(run: OrderRun, expected: Expectation, actual: str | None, observed: Observed) -> dict:
    """Everything needed to find the code path: the truth, what arrived, what the system did."""
    steps = [
        step.transaction_status + (f"/{step.fraud_status}" if step.fraud_status else "")
        for step in run.plan.steps
    ]
    events = [
        {name: event[name] for name in ("transaction_status", "verified_status", "outcome")}
        | ({"flag": event["flag_reason"]} if event["flag_reason"] else {})
        | ({"source": event["source"]} if event["source"] != "webhook" else {})
        for event in observed.events.get(run.order_id, [])
    ]
    story = {
        "order_id": run.order_id,
        "timeline": run.plan.timeline,
        "truth": steps,
        "unseen_steps": [
            k for k, gap in enumerate(run.plan.gaps) if gap < 0.1 and not run.plan.gated[k]
        ],
        "relabelled_to": [v.relabel_to for vs in run.plan.variants for v in vs if v.relabel_to],
        "expected": expected.status,
        "actual": actual,
        "flagged": observed.orders.get(run.order_id, {}).get("flagged"),
        "events": events,
    }
    story["likely_hole"] = likely_hole(story)
    return story


def likely_hole(story: dict) -> str:
    """Names the reported hole a wrong final status matches, from the events the system kept."""
    relabel_hits = set(story["relabelled_to"]) & REVERSALS
    seen = [event["transaction_status"] for event in story["events"]]
    if story["actual"] == "PAID" and relabel_hits & set(seen):
        return (
            "relabelled body took the idempotency key of a later real status; the real one was "
            "dropped as a duplicate and PAID orders are never re-checked"
        )
    verified = {event.get("verified_status") for event in story["events"]}
    if story["actual"] in ("PENDING_PAYMENT", "CREATED") and verified & REVERSALS:
        return (
            "Status API already reported a reversal when the first payment notification was "
            "processed: the state machine keeps the order awaiting payment"
        )
    return "unclassified"


def entitlements(runs: list[OrderRun], observed: Observed) -> Invariant:
    failures = []
    for run in _known(runs):
        rows = observed.entitlements.get(run.order_id, [])
        active = rows.count("ACTIVE")
        wanted = 1 if run.plan.expected.paid else 0
        if active != wanted or len(rows) > 1:
            failures.append(
                {"order_id": run.order_id, "expected_active": wanted, "entitlements": rows}
            )
    paid = sum(run.plan.expected.paid for run in _known(runs))
    return _check(
        "one active entitlement per paid order, none otherwise",
        failures,
        f"{paid} paid orders expected",
    )


def messages(runs: list[OrderRun], observed: Observed) -> list[Invariant]:
    doubled, missing, unexpected = [], [], []
    delivered_total = 0
    for run in _known(runs):
        expected = run.plan.expected
        for channel, recipient in (("EMAIL", run.email), ("WHATSAPP", run.phone)):
            for template in sorted(expected.allowed_templates | _templates(observed)):
                count = observed.delivered.get((recipient, channel, template), 0)
                delivered_total += count
                where = {"order_id": run.order_id, "channel": channel, "template": template}
                if count > 1:
                    doubled.append(where | {"delivered": count} | _double_story(observed, where))
                if count == 0 and template in expected.required_templates:
                    missing.append(where | _outbox_state(observed, run.order_id, channel, template))
                if count and template not in expected.allowed_templates:
                    unexpected.append(where | {"expected_status": expected.status})
    summary = f"{delivered_total} messages delivered to the harness's customers"
    return [
        _check("no message delivered twice (order, channel, template)", doubled, summary),
        _check("no message lost (every template the truth calls for)", missing, summary),
        _check("no message the truth does not call for", unexpected, summary),
    ]


def _templates(observed: Observed) -> set[str]:
    return {template for (_, _, template) in observed.delivered}


def _double_story(observed: Observed, where: dict) -> dict:
    """The row's history says how a message went out twice."""
    for row_id, row in observed.outbox.items():
        if (row["order_id"], row["channel"], row["template"]) == tuple(where.values()):
            kinds = [entry.get("kind") for entry in row["error_history"] or []]
            hole = "unclassified"
            if "interrupted" in kinds:
                hole = (
                    "accepted by the provider, then not recorded as SENT (worker killed or "
                    "PostgreSQL down before mark_sent); recovered as interrupted and sent again"
                )
            return {"outbox_id": row_id, "attempts": row["attempt_count"], "history": kinds} | {
                "likely_hole": hole
            }
    return {"outbox_id": None}


def _outbox_state(observed: Observed, order_id: str, channel: str, template: str) -> dict:
    for row in observed.outbox.values():
        if (row["order_id"], row["channel"], row["template"]) == (order_id, channel, template):
            return {"outbox_status": row["status"], "last_error": row["last_error"]}
    return {"outbox_status": None}


def outbox_left_behind(observed: Observed) -> Invariant:
    statuses = observed.outbox_statuses()
    failures = [
        {"outbox_id": row_id} | {k: v for k, v in row.items() if k != "error_history"}
        for row_id, row in observed.outbox.items()
        if row["status"] in LEFT_BEHIND
    ]
    summary = ", ".join(f"{status} {count}" for status, count in sorted(statuses.items()))
    return _check("no outbox row left in SENDING or RETRYING", failures, summary)


def answers_500(answers: Answers) -> Invariant:
    counts = answers.as_dict()["by_endpoint"]
    total = sum(sum(by_status.values()) for by_status in counts.values())
    failures = [
        {"endpoint": endpoint, "answers_500": by_status["500"]}
        for endpoint, by_status in counts.items()
        if by_status.get("500")
    ]
    others = Counter()
    for by_status in counts.values():
        others.update(by_status)
    shown = ", ".join(f"{status}: {count}" for status, count in sorted(others.items()))
    return _check("no answer of 500", failures, f"{total} answers ({shown})")


def answers_expected(answers: Answers) -> Invariant:
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(answers.sent.items()))
    return _check(
        "forged and tampered refused (401), real ones accepted (200)",
        answers.unexpected,
        kinds,
    )


def redelivery(kills: list[Kill], limit_seconds: float) -> Invariant:
    failures = [
        kill.as_dict()
        for kill in kills
        if kill.outcome not in ("redelivered", "held nothing")
        or (kill.redelivered_after or 0) > limit_seconds
    ]
    times = sorted(kill.redelivered_after for kill in kills if kill.redelivered_after is not None)
    holding = [kill for kill in kills if kill.held]
    messages_held = sum(len(ids) for kill in holding for ids in kill.held.values())
    summary = f"{len(kills)} kills, {len(holding)} holding {messages_held} messages"
    if times:
        median, longest = times[len(times) // 2], times[-1]
        summary += f"; redelivered after {median:.1f} s median, {longest:.1f} s max"
    return _check(f"redelivery within {limit_seconds:.0f} s of each kill", failures, summary)


def events_processed(observed: Observed) -> Invariant:
    failures = [
        {"order_id": order_id} | event
        for order_id, events in observed.events.items()
        for event in events
        if not event["processed"]
    ]
    total = sum(len(events) for events in observed.events.values())
    return _check("every stored notification processed", failures, f"{total} stored")


def orders_reached(runs: list[OrderRun]) -> Invariant:
    failures = [
        {"order": run.plan.index, "order_id": run.order_id, "problems": run.problems}
        for run in runs
        if run.problems
    ]
    linked = sum(run.link_seconds is not None for run in runs)
    return _check(
        "every order checked out and got its payment link", failures, f"{linked}/{len(runs)}"
    )


def check_all(
    runs: list[OrderRun],
    observed: Observed,
    answers: Answers,
    kills: list[Kill],
    redelivery_limit_seconds: float,
) -> list[Invariant]:
    return [
        final_statuses(runs, observed),
        entitlements(runs, observed),
        *messages(runs, observed),
        outbox_left_behind(observed),
        events_processed(observed),
        answers_500(answers),
        answers_expected(answers),
        redelivery(kills, redelivery_limit_seconds),
        orders_reached(runs),
    ]


def stream_shares(answers: Answers) -> dict[str, float]:
    """The stream's real composition, to compare with truth.SHARES."""
    total = sum(answers.sent.values()) or 1
    return {kind: round(answers.sent[kind] / total, 3) for kind in ("genuine", *SHARES)}
