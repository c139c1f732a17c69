"""The order state machine, cell by cell, against midtrans.md's status table."""

import itertools

import pytest

from models.state_machine import (
    Decision,
    Outcome,
    decide,
    is_awaiting_payment,
)

STATUSES = ("CREATED", "PENDING_PAYMENT", "PAID", "FAILED", "EXPIRED", "REFUNDED")
# Plain strings: the values callers store and compare are part of the contract.
GRANT, REVOKE, EXPIRED_MAIL = "GRANT_ACCESS", "REVOKE_ACCESS", "NOTIFY_EXPIRED"
REFUNDED_MAIL, INSTRUCTIONS = "NOTIFY_REFUNDED", "NOTIFY_INSTRUCTIONS"
ATTEMPT, FLAG = "RECORD_ATTEMPT", "FLAG"


def moves(status: str, *effects: str) -> tuple:
    return (status, "transition", frozenset(effects))


def stays(outcome: str, *effects: str) -> tuple:
    return (None, outcome, frozenset(effects))


DUPLICATE, STALE = stays("no_op_duplicate"), stays("ignored_stale")

# One row per kind of Midtrans event, one column per current order status, in STATUSES order.
AWAITING = (moves("PENDING_PAYMENT"), DUPLICATE, STALE, STALE, STALE, STALE)
# The customer picked a method: how to pay goes out now (and only now), once per order.
PENDING = (
    moves("PENDING_PAYMENT", INSTRUCTIONS),
    stays("no_op_duplicate", INSTRUCTIONS),
    STALE,
    STALE,
    STALE,
    STALE,
)
PAYMENT = (
    moves("PAID", GRANT),
    moves("PAID", GRANT),
    DUPLICATE,
    moves("PAID", GRANT, FLAG),
    moves("PAID", GRANT, FLAG),
    stays("ignored_stale", FLAG),
)
DENIAL = (
    moves("PENDING_PAYMENT", ATTEMPT),
    stays("recorded", ATTEMPT),
    moves("REFUNDED", REVOKE, FLAG),  # a reversal (Permata VA, Mandiri bill, Indomaret): rare
    STALE,
    STALE,
    STALE,
)
CANCELLATION = (
    moves("FAILED"),
    moves("FAILED"),
    stays("ignored_stale", FLAG),
    DUPLICATE,
    STALE,
    STALE,
)
EXPIRY = (
    moves("EXPIRED", EXPIRED_MAIL),
    moves("EXPIRED", EXPIRED_MAIL),
    STALE,
    STALE,
    DUPLICATE,
    STALE,
)
# A refund or partial refund proves a settlement, even one the order never saw.
REVERSAL = (
    moves("REFUNDED", REFUNDED_MAIL),
    moves("REFUNDED", REFUNDED_MAIL),
    moves("REFUNDED", REVOKE),
    moves("REFUNDED", REFUNDED_MAIL, FLAG),
    moves("REFUNDED", REFUNDED_MAIL, FLAG),
    DUPLICATE,
)
PARTIAL = (
    moves("PAID", GRANT),
    moves("PAID", GRANT),
    stays("recorded"),
    moves("PAID", GRANT, FLAG),
    moves("PAID", GRANT, FLAG),
    stays("recorded", FLAG),
)
UNKNOWN = (stays("flagged_unknown_status", FLAG),) * len(STATUSES)

# (transaction_status, fraud_status) -> the row it must follow.
EVENTS = {
    ("pending", None): PENDING,
    ("pending", "accept"): PENDING,
    ("authorize", None): AWAITING,
    ("capture", "challenge"): AWAITING,
    ("settlement", "challenge"): AWAITING,
    ("settlement", None): PAYMENT,
    ("settlement", "accept"): PAYMENT,
    ("capture", "accept"): PAYMENT,
    ("deny", None): DENIAL,
    ("deny", "deny"): DENIAL,
    ("capture", "deny"): DENIAL,
    ("settlement", "deny"): DENIAL,
    ("cancel", None): CANCELLATION,
    ("failure", None): CANCELLATION,
    ("expire", None): EXPIRY,
    ("refund", None): REVERSAL,
    ("chargeback", None): REVERSAL,
    ("partial_refund", None): PARTIAL,
    ("partial_chargeback", None): PARTIAL,
    ("capture", None): UNKNOWN,
    ("settlement", "review"): UNKNOWN,
    ("refunded", None): UNKNOWN,
    ("", None): UNKNOWN,
}
PAYMENT_EVENTS = {event for event, row in EVENTS.items() if row is PAYMENT}
PARTIAL_EVENTS = {event for event, row in EVENTS.items() if row is PARTIAL}


def _story(current: str, event: tuple, expected: tuple) -> str:
    status, fraud = event
    new_status, outcome, effects = expected
    heard = f"{status or 'blank'}+{fraud}" if fraud else status or "blank"
    result = f"becomes_{new_status}" if new_status else outcome
    extras = "".join(f"+{effect.lower()}" for effect in sorted(effects))
    return f"{current}_hears_{heard}_{result}{extras}"


CELLS = [
    pytest.param(current, event, row[column], id=_story(current, event, row[column]))
    for event, row in EVENTS.items()
    for column, current in enumerate(STATUSES)
]


@pytest.mark.parametrize(("current", "event", "expected"), CELLS)
def test_every_cell_of_the_state_machine(current: str, event: tuple, expected: tuple) -> None:
    new_status, outcome, effects = expected
    decision = decide(current, *event)
    assert decision.previous_status == current
    assert decision.new_status == (new_status or current)
    assert decision.outcome == outcome
    assert decision.effects == effects


ALL_DECISIONS = [
    (current, event, decide(current, *event))
    for current, event in itertools.product(STATUSES, EVENTS)
]


def test_a_paid_order_only_ever_moves_to_refunded() -> None:
    reached = {decision.new_status for current, _, decision in ALL_DECISIONS if current == "PAID"}
    assert reached == {"PAID", "REFUNDED"}


def test_only_a_payment_or_a_partial_refund_of_one_grants_access() -> None:
    granting = {event for _, event, decision in ALL_DECISIONS if GRANT in decision.effects}
    assert granting == PAYMENT_EVENTS | PARTIAL_EVENTS


def test_access_is_granted_only_on_entering_paid_and_revoked_only_on_leaving_it() -> None:
    for current, _, decision in ALL_DECISIONS:
        entering = decision.new_status == "PAID" and current != "PAID"
        leaving = current == "PAID" and decision.new_status != "PAID"
        assert (GRANT in decision.effects) == entering, decision
        assert (REVOKE in decision.effects) == leaving, decision


def test_a_refund_of_a_payment_never_seen_refunds_once_and_never_grants() -> None:
    for status in ("CREATED", "PENDING_PAYMENT", "FAILED", "EXPIRED"):
        for event in (("refund", None), ("chargeback", None)):
            decision = decide(status, *event)
            assert decision.new_status == "REFUNDED"
            assert REFUNDED_MAIL in decision.effects and GRANT not in decision.effects
            again = decide(decision.new_status, *event)
            assert not again.changed and REFUNDED_MAIL not in again.effects


def test_no_status_leaves_an_order_awaiting_once_money_was_returned() -> None:
    for status in ("CREATED", "PENDING_PAYMENT"):
        for event in (("refund", None), ("chargeback", None), ("partial_refund", None)):
            assert not is_awaiting_payment(decide(status, *event).new_status), (status, event)


def test_nothing_ever_moves_an_order_to_created() -> None:
    reached = {decision.new_status for *_, decision in ALL_DECISIONS if decision.changed}
    assert "CREATED" not in reached


def test_a_flag_always_comes_with_a_reason_and_only_then() -> None:
    for *_, decision in ALL_DECISIONS:
        assert (FLAG in decision.effects) == (decision.flag_reason is not None), decision


# A cancel of a card capture Midtrans has not settled (a void): no money arrives.
VOID = (moves("FAILED"), moves("FAILED"), moves("FAILED", REVOKE, FLAG), DUPLICATE, STALE, STALE)


@pytest.mark.parametrize(("current", "expected"), list(zip(STATUSES, VOID, strict=True)))
def test_a_cancel_of_an_unsettled_card_capture_voids_the_payment(current, expected) -> None:
    new_status, outcome, effects = expected
    decision = decide(current, "cancel", None, unsettled_capture=True)
    assert (decision.new_status, decision.outcome) == (new_status or current, outcome)
    assert decision.effects == effects


def test_a_cancel_after_settlement_never_moves_a_paid_order() -> None:
    for unsettled_capture in (False, True):
        decision = decide("PAID", "cancel", None, settled=True, unsettled_capture=unsettled_capture)
        assert not decision.changed and REVOKE not in decision.effects
    assert decide("PAID", "failure", None, unsettled_capture=True).new_status == "PAID"


def test_changed_means_a_transition() -> None:
    for *_, decision in ALL_DECISIONS:
        assert decision.changed == (decision.outcome == "transition"), decision


def test_outcomes_are_the_documented_ones() -> None:
    outcomes = {decision.outcome for *_, decision in ALL_DECISIONS}
    assert (
        outcomes
        == {outcome.value for outcome in Outcome}
        == {
            "transition",
            "no_op_duplicate",
            "ignored_stale",
            "recorded",
            "flagged_unknown_status",
        }
    )


@pytest.mark.parametrize(
    ("status", "fraud"),
    [("SETTLEMENT", None), ("Capture", "ACCEPT"), (" settlement ", " Accept "), ("EXPIRE", None)],
    ids=["upper_settlement", "mixed_capture_accept", "padded_settlement", "upper_expire"],
)
@pytest.mark.parametrize("current", STATUSES)
def test_statuses_are_compared_case_insensitively(current: str, status: str, fraud: str) -> None:
    lowered = decide(current, status.strip().lower(), fraud and fraud.strip().lower())
    assert decide(current, status, fraud) == lowered
    assert lowered.outcome != Outcome.UNKNOWN_STATUS  # both sides were understood


def test_an_empty_fraud_status_counts_as_absent() -> None:
    decision = decide("PENDING_PAYMENT", "settlement", "")
    assert decision == decide("PENDING_PAYMENT", "settlement", None)
    assert decision.new_status == "PAID" and GRANT in decision.effects


def test_late_settlement_after_expiry_pays_and_says_why() -> None:
    decision = decide("EXPIRED", "settlement", None)
    assert decision == Decision(
        previous_status="EXPIRED",
        new_status="PAID",
        outcome="transition",
        effects=frozenset({GRANT, FLAG}),
        flag_reason="late settlement after expired/failed: money was taken",
    )


def test_unknown_status_reason_names_what_was_heard() -> None:
    decision = decide("PENDING_PAYMENT", "Teleported", "accept")
    assert "'Teleported'" in decision.flag_reason
    assert "'accept'" in decision.flag_reason


def test_an_unknown_order_status_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="SHIPPED"):
        decide("SHIPPED", "settlement", None)


@pytest.mark.parametrize("status", STATUSES)
def test_only_created_and_pending_orders_await_payment(status: str) -> None:
    assert is_awaiting_payment(status) == (status in {"CREATED", "PENDING_PAYMENT"})
