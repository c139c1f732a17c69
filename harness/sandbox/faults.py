"""Injected faults: how a stand-in misbehaves so tests can see retries, timeouts and outages."""

import random
import threading
import time
from dataclasses import asdict, dataclass

FAULT_FIELDS = {
    "fail_next",
    "status",
    "delay_ms",
    "fail_fraction",
    "down",
    "error_code",
    "body",
    "fail_after_accept",
}


class InvalidFaultPlan(ValueError):
    """A fault request the sandbox cannot honour; answered with 400."""


@dataclass
class FaultPlan:
    """One endpoint's faults: the next N calls fail, a fraction fails, latency, or fully down."""

    fail_next: int = 0
    status: int = 500
    delay_ms: int = 0
    fail_fraction: float = 0.0
    down: bool = False
    error_code: int | None = None
    # Any JSON answered instead of the provider's own error envelope: what a proxy or a changed
    # API could send (`{"error": "Bad Gateway"}`), for tests of bodies of an unexpected shape.
    body: object = None
    # WhatsApp: the next N messages are accepted (200, a wamid) and then reported `failed` by a
    # status callback, as Meta does for a number without WhatsApp or a paused template.
    fail_after_accept: int = 0

    @property
    def failing_status(self) -> int:
        """The HTTP status a failing call answers: 503 while down, else the configured one."""
        return 503 if self.down else self.status

    def as_dict(self) -> dict:
        """The plan as JSON for the control API."""
        return asdict(self)


def parse_fault_plan(document: object, default_status: int = 500) -> FaultPlan:
    """Build a plan from a control-API body, refusing unknown keys and wrong types."""
    if not isinstance(document, dict):
        raise InvalidFaultPlan("a fault plan is a JSON object")
    unknown = set(document) - FAULT_FIELDS
    if unknown:
        raise InvalidFaultPlan(f"unknown fault fields: {sorted(unknown)}")
    plan = FaultPlan(**({"status": default_status} | document))
    _check_types(plan)
    return plan


def _check_types(plan: FaultPlan) -> None:
    """Type errors here would otherwise surface as 500s deep inside a stand-in."""
    numbers = (plan.fail_next, plan.status, plan.delay_ms, plan.fail_after_accept)
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in numbers):
        raise InvalidFaultPlan("fail_next, status, delay_ms and fail_after_accept must be integers")
    if not isinstance(plan.fail_fraction, int | float) or not 0 <= plan.fail_fraction <= 1:
        raise InvalidFaultPlan("fail_fraction must be a number between 0 and 1")
    if not isinstance(plan.down, bool):
        raise InvalidFaultPlan("down must be true or false")
    if plan.error_code is not None and not isinstance(plan.error_code, int):
        raise InvalidFaultPlan("error_code must be an integer")


class FaultSwitch:
    """The live plan for one endpoint; each call consumes it under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()

    @property
    def plan(self) -> FaultPlan:
        """The current plan (a copy, safe to read outside the lock)."""
        with self._lock:
            return FaultPlan(**self._plan.as_dict())

    def set(self, plan: FaultPlan) -> None:
        """Replace the plan."""
        with self._lock:
            self._plan = plan

    def clear(self) -> None:
        """Back to healthy."""
        self.set(FaultPlan())

    def next_failure(self) -> FaultPlan | None:
        """Sleep the configured latency, then the plan if this call must fail, else None."""
        plan = self.plan
        if plan.delay_ms:
            time.sleep(plan.delay_ms / 1000)
        return plan if self.consume_failure() else None

    def consume_failure_after_accept(self) -> bool:
        """Whether this accepted message fails later (asynchronously); counts it."""
        with self._lock:
            if self._plan.fail_after_accept > 0:
                self._plan.fail_after_accept -= 1
                return True
            return False

    def consume_failure(self) -> bool:
        """Whether this call fails; counts it against fail_next."""
        with self._lock:
            if self._plan.down:
                return True
            if self._plan.fail_next > 0:
                self._plan.fail_next -= 1
                return True
            return random.random() < self._plan.fail_fraction
