"""What really happens to each order at Midtrans (its truth timeline), what the system must end
with because of it, and the notification stream a hostile world derives from it.

Pure and seeded: the same profile and seed give the same orders, timelines and stream.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from models.state_machine import Effect, decide
from models.statuses import OrderStatus

STATUSES = (
    "pending",
    "capture",
    "settlement",
    "authorize",
    "deny",
    "cancel",
    "expire",
    "failure",
    "refund",
    "partial_refund",
    "chargeback",
    "partial_chargeback",
)
INSTRUCTIONS = "payment_instructions"
REFUNDED = "payment_refunded"
SUCCESS = "payment_success"
REVOKED = "access_revoked"
EXPIRED = "order_expired"
SHARES = {"duplicate": 0.30, "forged": 0.05, "relabelled": 0.02, "tampered": 0.01}
REORDERED_SHARE = 0.10
EXPECTED_ANSWER = {"genuine": 200, "duplicate": 200, "relabelled": 200, "forged": 401}
EXPECTED_ANSWER["tampered"] = 401  # the signature covers gross_amount


@dataclass(frozen=True)
class Step:
    """One change at Midtrans, played on the sandbox with notify=false."""

    transaction_status: str
    payment_type: str = "bank_transfer"
    fraud_status: str | None = None

    def transition(self) -> dict:
        fields = {"transaction_status": self.transaction_status, "payment_type": self.payment_type}
        if self.fraud_status is not None:
            fields["fraud_status"] = self.fraud_status
        return fields | {"notify": False}


def _va(status: str) -> Step:
    return Step(status, "bank_transfer")


def _card(status: str, fraud: str = "accept") -> Step:
    return Step(status, "credit_card", fraud)


# name -> (steps, weight in the safe mix, weight in the hostile mix)
TIMELINES: dict[str, tuple[tuple[Step, ...], int, int]] = {
    "va_settled": ((_va("pending"), _va("settlement")), 16, 14),
    "qris_settled": ((Step("pending", "qris"), Step("settlement", "qris")), 6, 5),
    "card_captured": ((_card("capture"), _card("settlement")), 8, 7),
    "card_challenge_accepted": (
        (_card("capture", "challenge"), _card("capture"), _card("settlement")),
        4,
        4,
    ),
    "deny_then_settle": ((_card("deny", "deny"), _va("pending"), _va("settlement")), 8, 7),
    "expired": ((_va("pending"), _va("expire")), 10, 8),
    "cancelled": ((_va("pending"), _va("cancel")), 6, 5),
    "failed": ((_va("pending"), _va("failure")), 3, 3),
    "late_settlement": ((_va("pending"), _va("expire"), _va("settlement")), 4, 4),
    "refunded": ((_va("pending"), _va("settlement"), _va("refund")), 8, 9),
    "chargeback": ((_card("capture"), _card("settlement"), _card("chargeback")), 5, 6),
    "partial_refund": ((_va("pending"), _va("settlement"), _va("partial_refund")), 5, 6),
    "reversed": ((_va("pending"), _va("settlement"), _va("deny")), 4, 5),
    "card_denied": ((_card("deny", "deny"),), 3, 3),
    "waiting": ((_va("pending"),), 4, 4),
    "abandoned": ((), 6, 6),
}
# Extra payment attempts before the decisive steps (a customer trying methods on one Snap page).
ATTEMPTS = (_va("pending"), Step("pending", "qris"), _card("deny", "deny"))


@dataclass(frozen=True)
class Expectation:
    """The order status the truth implies (decide applied in truth order, from PENDING_PAYMENT),
    and which customer messages it may and must have."""

    status: str
    allowed_templates: frozenset[str]
    required_templates: frozenset[str]

    @property
    def paid(self) -> bool:
        return self.status == OrderStatus.PAID


def status_so_far(steps: tuple[Step, ...]) -> str:
    status = str(OrderStatus.PENDING_PAYMENT)
    for step in steps:
        status = str(decide(status, step.transaction_status, step.fraud_status).new_status)
    return status


def expectation(steps: tuple[Step, ...]) -> Expectation:
    """Which templates (models/payments.apply_status): instructions when a `pending` status is
    seen while the order waits, success with the grant, access_revoked with the revocation,
    payment_refunded for money returned before access was given, order_expired with the expiry.
    The final status decides what must be there; the whole path decides what may (a system that
    never saw a passing state owes no message for it; a refund seen before its settlement ends
    with payment_refunded instead of success and access_revoked)."""
    status = str(OrderStatus.PENDING_PAYMENT)
    allowed = set()
    for step in steps:
        decision = decide(status, step.transaction_status, step.fraud_status)
        allowed |= {
            template
            for effect, template in (
                (Effect.NOTIFY_INSTRUCTIONS, INSTRUCTIONS),
                (Effect.GRANT_ACCESS, SUCCESS),
                (Effect.REVOKE_ACCESS, REVOKED),
                (Effect.NOTIFY_REFUNDED, REFUNDED),
                (Effect.NOTIFY_EXPIRED, EXPIRED),
            )
            if effect in decision.effects
        }
        status = str(decision.new_status)
    if status == OrderStatus.REFUNDED:
        allowed |= {REFUNDED, REVOKED}  # which one depends on whether the settlement was seen
    required = required_templates(status)
    return Expectation(status, frozenset(allowed | required), frozenset(required))


def required_templates(status: str) -> set[str]:
    must = {OrderStatus.PAID: {SUCCESS}, OrderStatus.EXPIRED: {EXPIRED}}
    return must.get(OrderStatus(status), set())


@dataclass
class Variant:
    """One notification to send for a step, `delay` seconds after the step was played."""

    kind: str  # genuine, duplicate, forged, relabelled, tampered
    delay: float = 0.0
    relabel_to: str | None = None
    reordered: bool = False  # a genuine one held back until after the next step's


@dataclass
class OrderPlan:
    index: int
    timeline: str
    steps: tuple[Step, ...]
    gaps: list[float]  # seconds before each step (after the link, or the previous step)
    gated: list[bool]  # wait until the system shows the status so far (a refund comes later)
    variants: list[list[Variant]] = field(default_factory=list)

    @property
    def expected(self) -> Expectation:
        return expectation(self.steps)


@dataclass(frozen=True)
class Mix:
    """`safe` keeps clear of the holes already reported; `hostile` goes looking for them."""

    name: str
    unseen_reversal_share: float  # a refund played before the system saw the payment
    relabel_any_status: bool  # a relabelled body may take the key of a later real status
    shelter_deliveries: bool  # no kill or PostgreSQL stop while a provider accepts a message

    @staticmethod
    def named(name: str) -> Mix:
        if name == "safe":
            return Mix("safe", 0.0, False, True)
        if name == "hostile":
            return Mix("hostile", 0.25, True, False)
        raise ValueError(f"unknown mix {name!r} (safe or hostile)")


def plan_orders(
    orders: int,
    notifications: int,
    mix: Mix,
    rng: random.Random,
    step_gap: tuple[float, float],
    spread: float,
) -> list[OrderPlan]:
    """Timelines for every order, padded with payment attempts so that genuine notifications
    plus the SHARES of duplicates, forgeries, relabels and tampered bodies add up to
    `notifications`; then each variant is attached to a random genuine one."""
    weights = [
        (name, safe if mix.name == "safe" else hostile)
        for name, (_, safe, hostile) in TIMELINES.items()
    ]
    names = rng.choices([name for name, _ in weights], [w for _, w in weights], k=orders)
    plans = [_plan(index, name, mix, rng, step_gap) for index, name in enumerate(names)]
    extra = {kind: round(share * notifications) for kind, share in SHARES.items()}
    genuine_target = notifications - sum(extra.values())
    _pad_with_attempts(plans, genuine_target, rng, step_gap)
    sources = [(plan, k) for plan in plans for k in range(len(plan.steps))]
    if not sources:
        return plans
    for kind, count in extra.items():
        for plan, k in rng.choices(sources, k=count):
            plan.variants[k].append(_variant(kind, plan, k, mix, rng, spread))
    # Held back until after the next step's notification; never before a gate, which waits
    # for the system to have seen this one.
    movable = [(p, k) for p, k in sources if k + 1 < len(p.steps) and not p.gated[k + 1]]
    for plan, k in rng.sample(movable, min(len(movable), round(REORDERED_SHARE * len(sources)))):
        plan.variants[k][0].reordered = True
    return plans


def _plan(
    index: int, name: str, mix: Mix, rng: random.Random, step_gap: tuple[float, float]
) -> OrderPlan:
    steps = TIMELINES[name][0]
    plan = OrderPlan(index, name, steps, [], [])
    for k in range(len(steps)):
        after_payment = status_so_far(steps[:k]) == OrderStatus.PAID
        unseen = after_payment and rng.random() < mix.unseen_reversal_share
        plan.gaps.append(0.05 if unseen else rng.uniform(*step_gap))
        plan.gated.append(after_payment and not unseen)
    plan.variants = [[Variant("genuine")] for _ in steps]
    return plan


def _pad_with_attempts(
    plans: list[OrderPlan], target: int, rng: random.Random, step_gap: tuple[float, float]
) -> None:
    payable = [plan for plan in plans if plan.steps]
    missing = target - sum(len(plan.steps) for plan in plans)
    while payable and missing > 0:
        plan = rng.choice(payable)
        plan.steps = (rng.choice(ATTEMPTS), *plan.steps)
        plan.gaps.insert(0, rng.uniform(*step_gap))
        plan.gated.insert(0, False)
        plan.variants.insert(0, [Variant("genuine")])
        missing -= 1


def _variant(
    kind: str, plan: OrderPlan, k: int, mix: Mix, rng: random.Random, spread: float
) -> Variant:
    if kind != "relabelled":
        return Variant(kind, delay=rng.uniform(0, spread))
    real = {step.transaction_status for step in plan.steps}
    own = plan.steps[k].transaction_status
    candidates = [s for s in STATUSES if s != own and (mix.relabel_any_status or s not in real)]
    return Variant(kind, delay=rng.uniform(0, spread), relabel_to=rng.choice(candidates))


def forged(body: dict) -> dict:
    """A body whose signature was made with another key (or none at all)."""
    signature = body.get("signature_key", "")
    return body | {"signature_key": ("0" if signature[:1] != "0" else "1") + signature[1:]}


def relabelled(body: dict, status: str) -> dict:
    """The real signed body with transaction_status changed: the signature still verifies."""
    return body | {"transaction_status": status}


def tampered(body: dict) -> dict:
    """The amount changed under the original signature: it must be refused (401)."""
    return body | {"gross_amount": "1000.00"}


def derive(variant: Variant, body: dict) -> dict:
    if variant.kind == "forged":
        return forged(body)
    if variant.kind == "relabelled":
        return relabelled(body, variant.relabel_to)
    if variant.kind == "tampered":
        return tampered(body)
    return dict(body)
