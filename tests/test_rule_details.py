"""Details of the pure money rules that no other test pinned down (found by the mutation run,
`./run.sh test --mutation`): edges of pricing, the state machine's building blocks, and the
error texts an operator reads in an outbox row's last_error or in the log."""

from __future__ import annotations

import pytest

from models.messages import MessageRenderError, render_email, render_whatsapp
from models.midtrans_status import InvalidNotification, parse_notification
from models.pricing import Discount, Price, price_order
from models.state_machine import Effect, OrderStatus, Outcome, _keep, _rule, _to

BASE = "https://kursus.example.id"

# --- pricing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("base_amount", [1000, 500])
def test_a_price_at_or_under_the_minimum_payable_gets_no_discount(base_amount):
    assert price_order(base_amount, Discount("HEMAT10", 10, None)) == Price(
        base_amount, 0, base_amount
    )


def test_a_discount_with_neither_percent_nor_amount_takes_nothing_off():
    assert price_order(99000, Discount("KOSONG", None, None)) == Price(99000, 0, 99000)


def test_a_discount_item_fits_midtrans_50_characters_whatever_the_code():
    code = "K" * 45
    _, discount = price_order(99000, Discount(code, 10, None)).snap_items(
        "ai-movie-course", "Buat Film Pakai AI", code
    )
    assert discount["id"] == ("discount-" + code)[:50] and len(discount["id"]) == 50
    assert discount["name"] == ("Diskon " + code)[:50] and len(discount["name"]) == 50


# --- the state machine's building blocks -------------------------------------------------------


def test_a_transition_keeps_its_effects_and_its_flag():
    rule = _to(OrderStatus.PAID, Effect.GRANT_ACCESS, flag="late")
    assert rule.outcome == Outcome.TRANSITION and rule.new_status == OrderStatus.PAID
    assert rule.effects == {Effect.GRANT_ACCESS, Effect.FLAG} and rule.flag_reason == "late"


def test_a_kept_status_has_no_new_status_and_only_the_effects_given():
    rule = _keep(Outcome.RECORDED, Effect.RECORD_ATTEMPT)
    assert (rule.outcome, rule.new_status) == (Outcome.RECORDED, None)
    assert rule.effects == {Effect.RECORD_ATTEMPT} and rule.flag_reason is None


def test_only_a_flag_reason_brings_the_flag_effect():
    assert _rule(Outcome.STALE, None, (), None).effects == frozenset()
    flagged = _rule(Outcome.STALE, OrderStatus.FAILED, (), "odd")
    assert flagged.effects == {Effect.FLAG} and flagged.new_status == OrderStatus.FAILED


# --- texts an operator reads -------------------------------------------------------------------


def test_a_body_that_is_not_an_object_says_so():
    with pytest.raises(InvalidNotification, match="^the body is not a JSON object$"):
        parse_notification(["settlement"])


@pytest.mark.parametrize("render", [render_email, render_whatsapp])
def test_an_unknown_template_is_named(render):
    with pytest.raises(MessageRenderError, match="^unknown message template 'birthday'$"):
        render("birthday", {}, BASE)


def test_an_email_that_cannot_render_says_which_template_and_why():
    payload = {"order_id": "BFA-1", "customer_name": "Budi", "amount_text": "Rp 99.000"}
    with pytest.raises(MessageRenderError) as refused:
        render_email("payment_success", payload, BASE)
    assert str(refused.value) == "payment_success: 'access_url' is undefined"


def test_a_whatsapp_message_that_cannot_render_lists_every_missing_field():
    with pytest.raises(MessageRenderError) as refused:
        render_whatsapp("payment_success", {"customer_name": "Budi"}, BASE)
    assert str(refused.value) == "payment_success: payload lacks amount_text, access_url"


# --- Snap's answers as state-machine events --------------------------------------------------

LOCAL = {"snap_created": "PENDING_PAYMENT", "snap_duplicate_adopted": "PENDING_PAYMENT"}
LOCAL["snap_refused"] = "FAILED"


@pytest.mark.parametrize("event", sorted(LOCAL))
def test_snap_answers_move_only_a_created_order(event):
    from models.state_machine import LocalEvent, decide_local

    moved = decide_local("CREATED", LocalEvent(event))
    assert (moved.previous_status, moved.new_status) == ("CREATED", LOCAL[event])
    assert moved.outcome == "transition" and moved.changed
    assert moved.effects == frozenset() and moved.flag_reason is None
    for status in ("PENDING_PAYMENT", "PAID", "FAILED", "EXPIRED", "REFUNDED"):
        kept = decide_local(status, LocalEvent(event))
        assert (kept.new_status, kept.outcome, kept.changed) == (status, "ignored_stale", False)
        assert kept.effects == frozenset()


def test_a_snap_answer_for_a_status_that_does_not_exist_is_refused():
    from models.state_machine import LocalEvent, decide_local

    with pytest.raises(ValueError):
        decide_local("SHIPPED", LocalEvent.LINK_CREATED)


# --- what to pay to, from a pending status ----------------------------------------------------

PENDING_BODY = {
    "order_id": "BFA-1",
    "status_code": "201",
    "gross_amount": "99000.00",
    "transaction_status": "pending",
}


@pytest.mark.parametrize(
    ("fields", "channel", "code"),
    [
        (
            {"va_numbers": [{"bank": "bca", "va_number": "80777123"}]},
            "Virtual Account BCA",
            "80777123",
        ),
        ({"permata_va_number": "8562000123"}, "Virtual Account PERMATA", "8562000123"),
        (
            {"bill_key": "99912345", "biller_code": "70012"},
            "Mandiri Bill (kode perusahaan 70012)",
            "99912345",
        ),
        ({"payment_code": "IDM123", "store": "indomaret"}, "Gerai Indomaret", "IDM123"),
        ({}, None, None),  # QRIS and e-wallets pay on Midtrans' page
        ({"va_numbers": []}, None, None),
        ({"va_numbers": ["bca"]}, None, None),
        ({"va_numbers": [{"bank": "bca"}]}, None, None),
        ({"va_numbers": [{"bank": "bca", "va_number": 80777123}]}, None, None),
        ({"permata_va_number": ""}, None, None),
        ({"permata_va_number": "1" * 65}, None, None),
        ({"permata_va_number": "123\n456"}, None, None),
        ({"bill_key": "99912345"}, None, None),
        ({"biller_code": "70012"}, None, None),
        ({"payment_code": "IDM123"}, None, None),
        ({"store": "indomaret"}, None, None),
        ({"va_numbers": [{"va_number": "80777123"}]}, None, None),
        ({"permata_va_number": "7"}, "Virtual Account PERMATA", "7"),
    ],
)
def test_the_number_to_pay_to_is_read_only_from_well_formed_fields(fields, channel, code):
    parsed = parse_notification({**PENDING_BODY, **fields})
    assert (parsed.payment_channel, parsed.payment_code) == (channel, code)


def test_a_va_number_of_exactly_64_characters_is_kept():
    parsed = parse_notification({**PENDING_BODY, "permata_va_number": "9" * 64})
    assert parsed.payment_code == "9" * 64


# --- message fields ----------------------------------------------------------------------------


def test_the_payment_detail_names_the_channel_and_number_or_the_customers_choice():
    from models.messages import message_fields

    with_number = message_fields(
        {"payment_channel": "Virtual Account BCA", "payment_code": "80777123"}, "https://x.id/"
    )
    assert with_number["payment_detail"] == "Virtual Account BCA nomor 80777123"
    assert with_number["order_again_url"] == "https://x.id/"
    without = message_fields({}, "https://x.id")
    assert without["payment_detail"] == "metode pilihan Anda"
    assert (without["payment_channel"], without["payment_code"]) == (None, None)
    only_channel = message_fields({"payment_channel": "Virtual Account BCA"}, "https://x.id")
    assert only_channel["payment_detail"] == "metode pilihan Anda"


def test_a_day_is_named_as_it_was_in_jakarta():
    from datetime import UTC, datetime

    from models.wib import indonesian_date

    assert indonesian_date(datetime(2026, 11, 30, 19, 1, tzinfo=UTC)) == "1 Desember 2026"
    assert indonesian_date(datetime(2026, 1, 31, 16, 59, tzinfo=UTC)) == "31 Januari 2026"
    assert indonesian_date(datetime(2026, 1, 31, 17, 0, tzinfo=UTC)) == "1 Februari 2026"


def test_timestamps_inside_audit_details_are_shown_in_wib_and_nothing_else_changes():
    from models.wib import wib_values

    details = {
        "valid_from": "2026-11-30T17:00:00+00:00",
        "history": [{"at": "2026-12-01T02:01:00", "code": "2026-12-01"}],
        "note": "2026-12-01Tidak",
        "uses": 0,
        "valid_until": None,
    }
    assert wib_values(details) == {
        "valid_from": "1 Des 2026 00:00 WIB",
        "history": [{"at": "1 Des 2026 09:01 WIB", "code": "2026-12-01"}],
        "note": "2026-12-01Tidak",
        "uses": 0,
        "valid_until": None,
    }


def test_a_deny_with_a_settlement_time_is_a_reversal_for_an_order_that_never_saw_the_payment():
    from models.state_machine import decide

    unseen = decide("PENDING_PAYMENT", "deny", None, settled=True)
    assert (unseen.new_status, unseen.effects) == ("REFUNDED", frozenset({Effect.NOTIFY_REFUNDED}))
    seen = decide("PAID", "deny", None, settled=True)  # the paid order's own reversal cell
    assert seen.new_status == "REFUNDED" and Effect.REVOKE_ACCESS in seen.effects
    assert Effect.FLAG in seen.effects
    attempt = decide("PENDING_PAYMENT", "deny", None)
    assert (attempt.new_status, attempt.outcome) == ("PENDING_PAYMENT", "recorded")
    fraud_denied = decide("PENDING_PAYMENT", "settlement", "deny", settled=True)
    assert fraud_denied.new_status == "PENDING_PAYMENT"  # only a `deny` status is a reversal
