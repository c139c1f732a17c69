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
