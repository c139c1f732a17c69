"""The outside world: customers check out through the real web, Midtrans moves each order along
its truth timeline on the sandbox (notify=false), and the notification stream derived from it is
POSTed to the web; what got a 5xx or no answer is sent again later, as Midtrans does."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from harness.chaos.agenda import Agenda
from harness.chaos.truth import EXPECTED_ANSWER, OrderPlan, Variant, derive, status_so_far
from harness.customers import customer_name

PACKAGE_ID = "ai-movie-course"
RESEND_DELAYS = (2, 5, 10, 20, 40)  # Midtrans waits 2, 10, 30, 90, 210 minutes; scaled down
MIDTRANS_TIMEOUT_SECONDS = 15  # how long Midtrans waits for an answer
CHECKOUT_ATTEMPTS = 10
SANDBOX_ATTEMPTS = 20
LINK_WAIT_SECONDS = 300
GATE_WAIT_SECONDS = 120
POLL_SECONDS = 1.0
HELD_BACK_SECONDS = 0.3  # a reordered notification goes this long after the next one


@dataclass
class OrderRun:
    """One order as the outside world knows it."""

    plan: OrderPlan
    order_id: str | None = None
    token: str | None = None
    email: str | None = None
    phone: str | None = None
    started: float = 0.0
    checkout_attempts: int = 0
    played: int = 0
    held: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    gate_timeouts: int = 0
    link_seconds: float | None = None


class Answers:
    """Every answer the web gave, by endpoint and status (None: no answer), and the surprises."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_endpoint: dict[str, Counter] = {}
        self.sent: Counter = Counter()  # first sends per kind of notification
        self.resent = 0
        self.gave_up: list[dict] = []
        self.unexpected: list[dict] = []

    def record(self, endpoint: str, status: int | None) -> None:
        with self._lock:
            self.by_endpoint.setdefault(endpoint, Counter())[str(status)] += 1

    def count(self, what: str, **details) -> None:
        with self._lock:
            if what == "sent":
                self.sent[details["kind"]] += 1
            elif what == "resent":
                self.resent += 1
            elif what == "gave_up":
                self.gave_up.append(details)
            else:
                self.unexpected.append(details)

    def as_dict(self) -> dict:
        with self._lock:
            return {
                "by_endpoint": {name: dict(c) for name, c in sorted(self.by_endpoint.items())},
                "notifications_sent": dict(self.sent),
                "notifications_resent": self.resent,
                "notifications_given_up": len(self.gave_up),
                "unexpected": list(self.unexpected),
            }


class Traffic:
    """Schedules checkouts over `spread_seconds`; each order then lives its own timeline."""

    def __init__(self, web_url: str, sandbox_url: str, plans: list[OrderPlan], threads: int = 32):
        limits = httpx.Limits(max_connections=threads * 2, max_keepalive_connections=threads)
        self.web = httpx.Client(base_url=web_url, timeout=MIDTRANS_TIMEOUT_SECONDS, limits=limits)
        self.sandbox = httpx.Client(base_url=sandbox_url, timeout=60, limits=limits)
        self.runs = [OrderRun(plan) for plan in plans]
        self.answers = Answers()
        self.agenda = Agenda(threads)
        self._identities = itertools.count(1)
        self._identity_lock = threading.Lock()

    def start(self, spread_seconds: float) -> None:
        self.agenda.start()
        interval = spread_seconds / max(1, len(self.runs))
        for n, run in enumerate(self.runs):
            self.agenda.after(n * interval, lambda run=run: self._checkout(run))

    def done(self) -> bool:
        return self.agenda.idle()

    def stop(self) -> None:
        self.agenda.stop()
        self.web.close()
        self.sandbox.close()

    # --- customers ------------------------------------------------------------------------------

    def _identity(self) -> int:
        with self._identity_lock:
            return next(self._identities)

    def _checkout(self, run: OrderRun) -> None:
        """A checkout that got no 202 may still have made an order: a retry is a new customer,
        so its messages can never be counted against this one."""
        identity = self._identity()
        email, phone = f"chaos.{identity}@example.com", f"0812{identity:08d}"
        body = {
            "package_id": PACKAGE_ID,
            "name": customer_name("Pelanggan", identity),
            "email": email,
        }
        code, answer = self._web("POST", "/api/checkout", "checkout", json=body | {"phone": phone})
        run.checkout_attempts += 1
        if code == 202:
            run.order_id, run.token = answer["order_id"], answer["order_token"]
            run.email, run.phone, run.started = email, "62" + phone[1:], time.monotonic()
            self.agenda.after(POLL_SECONDS, lambda: self._wait_for_link(run))
        elif run.checkout_attempts < CHECKOUT_ATTEMPTS:
            self.agenda.after(2.0 * run.checkout_attempts, lambda: self._checkout(run))
        else:
            run.problems.append(f"checkout not accepted after {CHECKOUT_ATTEMPTS} tries")

    def _order_view(self, run: OrderRun) -> dict | None:
        path = f"/api/orders/{run.order_id}"
        code, view = self._web("GET", path, "order_status", params={"token": run.token})
        return view if code == 200 else None

    def _wait_for_link(self, run: OrderRun) -> None:
        view = self._order_view(run) or {}
        waited = time.monotonic() - run.started
        if view.get("redirect_url"):
            run.link_seconds = waited
            if run.plan.steps:
                self.agenda.after(run.plan.gaps[0], lambda: self._play(run, 0))
        elif view.get("status") == "FAILED":
            run.problems.append("Snap refused the payment link")
        elif waited > LINK_WAIT_SECONDS:
            run.problems.append(f"no payment link within {LINK_WAIT_SECONDS} s")
        else:
            self.agenda.after(POLL_SECONDS, lambda: self._wait_for_link(run))

    # --- Midtrans -------------------------------------------------------------------------------

    def _play(self, run: OrderRun, k: int, gate_since: float | None = None, tries: int = 0) -> None:
        plan = run.plan
        if plan.gated[k] and not self._gate_open(run, k, gate_since):
            since = gate_since or time.monotonic()
            self.agenda.after(POLL_SECONDS, lambda: self._play(run, k, since))
            return
        step = plan.steps[k]
        path = f"/_sandbox/midtrans/transactions/{run.order_id}/transition"
        try:
            response = self.sandbox.post(path, json=step.transition())
            response.raise_for_status()
        except httpx.HTTPError as error:
            if tries + 1 < SANDBOX_ATTEMPTS:
                self.agenda.after(1.0, lambda: self._play(run, k, time.monotonic(), tries + 1))
            else:
                run.problems.append(f"the sandbox refused step {k}: {error}")
            return
        run.played = k + 1
        self._notify(run, plan.variants[k], response.json()["notification"])
        if k + 1 < len(plan.steps):
            self.agenda.after(plan.gaps[k + 1], lambda: self._play(run, k + 1))

    def _gate_open(self, run: OrderRun, k: int, since: float | None) -> bool:
        """A refund comes days after the payment the system saw; gated steps wait for it."""
        view = self._order_view(run) or {}
        if view.get("status") == status_so_far(run.plan.steps[:k]):
            return True
        if since is not None and time.monotonic() - since > GATE_WAIT_SECONDS:
            run.gate_timeouts += 1
            return True
        return False

    def _notify(self, run: OrderRun, variants: list[Variant], body: dict) -> None:
        held, run.held = run.held, []
        for variant in variants:
            if variant.reordered:  # this one and any still held wait for the next step's
                run.held, held = [*held, body], []
                continue
            notification = derive(variant, body)
            self.agenda.after(variant.delay, lambda n=notification, v=variant: self._send(v, n))
            if variant.kind == "genuine":
                for late in held:
                    self.agenda.after(HELD_BACK_SECONDS, lambda n=late, v=variant: self._send(v, n))

    def _send(self, variant: Variant, body: dict, attempt: int = 0) -> None:
        code, _ = self._web("POST", "/webhooks/midtrans", "webhook", json=body)
        self.answers.count("resent" if attempt else "sent", kind=variant.kind)
        if code is None or code >= 500:
            if attempt < len(RESEND_DELAYS):
                delay = RESEND_DELAYS[attempt]
                self.agenda.after(delay, lambda: self._send(variant, body, attempt + 1))
            else:
                self.answers.count("gave_up", kind=variant.kind, order_id=body.get("order_id"))
            return
        if code != EXPECTED_ANSWER[variant.kind]:
            self.answers.count(
                "unexpected",
                kind=variant.kind,
                order_id=body.get("order_id"),
                transaction_status=body.get("transaction_status"),
                expected=EXPECTED_ANSWER[variant.kind],
                answered=code,
            )

    def _web(self, method: str, path: str, endpoint: str, **options) -> tuple[int | None, dict]:
        try:
            response = self.web.request(method, path, **options)
        except httpx.HTTPError:
            self.answers.record(endpoint, None)
            return None, {}
        self.answers.record(endpoint, response.status_code)
        try:
            document = response.json()
        except ValueError:
            document = {}
        return response.status_code, document if isinstance(document, dict) else {}
