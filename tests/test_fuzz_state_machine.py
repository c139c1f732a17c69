"""Property tests for the order state machine: whatever Midtrans reports, in whatever order and
however often, the order never flaps, never moves a payment backwards except by a refund,
chargeback or reversal, and ends where the truth says whenever it hears a timeline Midtrans can
really produce (with any notification lost or repeated).

Fixed seed (derandomize) so CI runs the same examples every time; all run in a few seconds.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from models.state_machine import Decision, OrderStatus, decide

PROPERTY = settings(max_examples=500, deadline=None, derandomize=True, database=None)

CREATED, PENDING, PAID = "CREATED", "PENDING_PAYMENT", "PAID"
FAILED, EXPIRED, REFUNDED = "FAILED", "EXPIRED", "REFUNDED"
GRANT, REVOKE, REFUNDED_MAIL = "GRANT_ACCESS", "REVOKE_ACCESS", "NOTIFY_REFUNDED"

PAYMENTS = [("settlement", None), ("settlement", "accept"), ("capture", "accept")]
AWAITING = [("pending", None), ("pending", "accept"), ("authorize", None)]
AWAITING += [("capture", "challenge"), ("settlement", "challenge")]
DENIALS = [("deny", None), ("deny", "deny"), ("capture", "deny"), ("settlement", "deny")]
REVERSALS = [("refund", None), ("chargeback", None)]
PARTIALS = [("partial_refund", None), ("partial_chargeback", None)]
CLOSINGS = [("cancel", None), ("failure", None), ("expire", None)]
KNOWN = PAYMENTS + AWAITING + DENIALS + REVERSALS + PARTIALS + CLOSINGS
ODD = [("capture", None), ("settlement", "review"), ("refunded", None), ("", None)]

# Casing and padding vary between Midtrans' APIs; the machine must not care.
any_casing = st.sampled_from([str.lower, str.upper, str.title, lambda text: f" {text} "])


@st.composite
def midtrans_statuses(draw, choices=KNOWN + ODD) -> tuple[str, str | None]:
    status, fraud = draw(st.sampled_from(choices))
    spell = draw(any_casing)
    return spell(status), fraud and spell(fraud)


status_sequences = st.lists(midtrans_statuses(), min_size=1, max_size=12)
order_statuses = st.sampled_from([status.value for status in OrderStatus])


def heard(status: tuple[str, str | None]) -> tuple[str, str | None]:
    text, fraud = status
    return text.strip().lower(), fraud and fraud.strip().lower()


def run(statuses, start: str = CREATED) -> list[Decision]:
    """Every decision, in order, as the worker would take them one after another."""
    decisions, current = [], start
    for status in statuses:
        decision = decide(current, *status)
        decisions.append(decision)
        current = decision.new_status
    return decisions


def end_status(decisions: list[Decision], start: str = CREATED) -> str:
    return decisions[-1].new_status if decisions else start


# --- any sequence, in any order, with any duplicates ---------------------------------------------

# Every move the machine may make; anything else is a flap or a payment moving backwards.
ALLOWED_MOVES = {
    (CREATED, PENDING),
    *((before, after) for before in (CREATED, PENDING) for after in (PAID, FAILED, EXPIRED)),
    (CREATED, REFUNDED),
    (PENDING, REFUNDED),
    (FAILED, PAID),
    (EXPIRED, PAID),
    (FAILED, REFUNDED),
    (EXPIRED, REFUNDED),
    (PAID, REFUNDED),
}


@PROPERTY
@given(status_sequences)
def test_an_order_only_moves_forward_and_never_enters_a_status_twice(statuses):
    moves = [(d.previous_status, d.new_status) for d in run(statuses) if d.changed]
    assert set(moves) <= ALLOWED_MOVES
    entered = [after for _, after in moves]
    assert len(entered) == len(set(entered))


@PROPERTY
@given(status_sequences)
def test_a_paid_order_leaves_paid_only_for_refunded_by_a_refund_chargeback_or_reversal(statuses):
    for status, decision in zip(statuses, run(statuses), strict=True):
        if decision.previous_status == PAID and decision.changed:
            assert decision.new_status == REFUNDED
            assert heard(status) in REVERSALS + DENIALS


@PROPERTY
@given(status_sequences, midtrans_statuses())
def test_the_same_status_twice_in_a_row_moves_nothing_the_second_time(statuses, repeated):
    reached = end_status(run(statuses))
    first = decide(reached, *repeated)
    second = decide(first.new_status, *repeated)
    assert not second.changed
    assert not {GRANT, REVOKE, REFUNDED_MAIL} & second.effects


@PROPERTY
@given(status_sequences)
def test_access_is_held_exactly_while_the_order_is_paid(statuses):
    """Replaying the effects on an entitlement: granted on entering PAID, revoked on leaving it,
    and a refund message only for a customer who never had access."""
    has_access, ever_had_access, refund_messages = False, False, 0
    for decision in run(statuses):
        if GRANT in decision.effects:
            assert not has_access and decision.new_status == PAID
            has_access = ever_had_access = True
        if REVOKE in decision.effects:
            assert has_access and decision.previous_status == PAID
            has_access = False
        if REFUNDED_MAIL in decision.effects:
            assert not ever_had_access and decision.new_status == REFUNDED
            refund_messages += 1
        assert has_access == (decision.new_status == PAID)
    assert refund_messages <= 1


@PROPERTY
@given(status_sequences, st.sampled_from(PAYMENTS))
def test_a_payment_heard_last_leaves_the_order_paid_unless_money_was_returned_before(
    statuses, payment
):
    before = end_status(run(statuses))
    last = decide(before, *payment)
    if before == REFUNDED:  # final: the operator is told money came in for a refunded order
        assert last.new_status == REFUNDED and "FLAG" in last.effects
    else:
        assert last.new_status == PAID


@PROPERTY
@given(order_statuses, st.text(max_size=20), st.none() | st.text(max_size=20))
def test_decide_never_raises_for_any_status_text(current, transaction_status, fraud_status):
    decision = decide(current, transaction_status, fraud_status)
    assert decision.previous_status == current
    if decision.outcome == "flagged_unknown_status":
        assert not decision.changed and decision.flag_reason


# --- timelines Midtrans really produces, heard with losses and repeats ---------------------------


@st.composite
def truth_timelines(draw) -> tuple[list, str]:
    """(what the Status API says, in time order; the order status that truth implies)."""
    waiting = draw(st.lists(st.sampled_from(AWAITING + DENIALS[:3]), max_size=4))
    if waiting and heard(waiting[-1]) in DENIALS:
        ending = draw(st.sampled_from(["attempt_denied", "closed", "paid"]))
    else:
        ending = draw(st.sampled_from(["closed", "paid"]))
    if ending == "attempt_denied":
        return waiting, PENDING  # Snap lets the customer try again on the same order
    if ending == "closed":
        closing = draw(st.sampled_from(CLOSINGS))
        return waiting + [closing], EXPIRED if closing[0] == "expire" else FAILED
    paid = [draw(st.sampled_from(PAYMENTS)), *draw(st.lists(st.sampled_from(PARTIALS)))]
    returned = draw(st.sampled_from([[], *([r] for r in REVERSALS + DENIALS[:1])]))
    return waiting + paid + returned, REFUNDED if returned else PAID


@st.composite
def heard_timelines(draw) -> tuple[list, list, str]:
    """A truth timeline and what the worker heard of it: each status the Status API gave while
    the worker processed a notification, so any of them lost, any repeated, the last one heard
    (reconciliation asks until it is)."""
    truth, implied = draw(truth_timelines())
    *earlier, last = truth
    kept = [status for status in earlier if draw(st.booleans())]
    heard_statuses = [status for status in kept for _ in range(draw(st.integers(1, 3)))]
    return truth, heard_statuses + [last] * draw(st.integers(1, 3)), implied


@PROPERTY
@given(heard_timelines())
def test_a_real_timeline_heard_in_part_ends_where_the_truth_does(timeline):
    truth, statuses, implied = timeline
    money_heard = any(heard(status) in PAYMENTS + PARTIALS for status in statuses)
    if heard(truth[-1]) in DENIALS and implied == REFUNDED and not money_heard:
        # A reversal ("deny" after settlement) reads like a refused attempt unless the payment
        # itself was heard: the order then waits (no access, no money kept) instead of REFUNDED.
        implied = PENDING
    decisions = run(statuses)
    assert end_status(decisions) == implied
    for status, decision in zip(statuses, decisions, strict=True):
        if "FLAG" in decision.effects:  # only a reversal needs an operator in a real timeline
            assert heard(status) in DENIALS and decision.previous_status == PAID
