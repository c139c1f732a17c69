"""A refund, a chargeback or a reversed payment takes the course away and tells the customer;
a partial refund keeps it. Real notifications, verified against the sandbox's Status API."""

from __future__ import annotations

import re

import pytest

from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import declared_actor, wait_for
from tests.factories import midtrans_transition, order_token_for, paid_order
from tests.notification_helpers import mails, whatsapp_messages


def midtrans_says(sandbox_api, order_id: str, **transition) -> None:
    """Midtrans changes the transaction and the notification reaches the worker."""
    process_notification = declared_actor("process_notification")

    answer = midtrans_transition(sandbox_api, order_id, notify=False, **transition)
    process_notification(answer["notification"])


def entitlement_of(order_id: str) -> Entitlement:
    return Entitlement.get(Entitlement.order == order_id)


def templates_queued(order_id: str) -> list[tuple[str, str]]:
    rows = OutboxMessage.select().where(OutboxMessage.order == order_id)
    return sorted((row.template_name, row.channel) for row in rows)


def access_page_state(http, access_token: str) -> str:
    page = http.get(f"/access/{access_token}")
    assert page.status_code == 200
    return re.search(r'data-state="(\w+)"', page.text)[1]


def customer_view(http, request: dict) -> dict:
    response = http.get(
        f"/api/orders/{request['order_id']}", params={"token": order_token_for(request)}
    )
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("reversal", ["refund", "chargeback"])
def test_a_refund_or_chargeback_takes_the_course_away(db, sandbox_api, http, reversal):
    request = paid_order(sandbox_api)
    order_id = request["order_id"]
    token = entitlement_of(order_id).access_token
    assert access_page_state(http, token) == "active"
    assert customer_view(http, request)["access_url"].endswith(f"/access/{token}")

    midtrans_says(sandbox_api, order_id, transaction_status=reversal)

    order = Order.get_by_id(order_id)
    assert order.status == "REFUNDED" and not order.flagged
    entitlement = entitlement_of(order_id)
    assert entitlement.status == "REVOKED" and entitlement.revoked_at is not None
    assert entitlement.revoke_reason == f"midtrans {reversal}"
    assert access_page_state(http, token) == "revoked"
    view = customer_view(http, request)
    assert view["status"] == "REFUNDED" and view["access_url"] is None
    assert ("access_revoked", "EMAIL") in templates_queued(order_id)
    assert ("access_revoked", "WHATSAPP") in templates_queued(order_id)
    (audit,) = AuditEntry.select().where(
        (AuditEntry.order_id == order_id) & (AuditEntry.new_status == "REFUNDED")
    )
    assert (audit.old_status, audit.action) == ("PAID", "midtrans_transition")


def test_a_deny_after_payment_is_a_reversal_that_revokes_and_flags(db, sandbox_api, http):
    request = paid_order(sandbox_api, payment_type="credit_card")
    order_id = request["order_id"]
    token = entitlement_of(order_id).access_token

    midtrans_says(sandbox_api, order_id, transaction_status="deny")

    order = Order.get_by_id(order_id)
    assert order.status == "REFUNDED" and order.flagged
    assert entitlement_of(order_id).status == "REVOKED"
    assert access_page_state(http, token) == "revoked"
    assert ("access_revoked", "EMAIL") in templates_queued(order_id)


def card_payment_captured(sandbox_api) -> dict:
    """A card charged and accepted by the fraud check, not settled yet; the checkout request."""
    from tests.factories import open_payment

    request = open_payment()
    midtrans_says(
        sandbox_api,
        request["order_id"],
        transaction_status="capture",
        payment_type="credit_card",
        fraud_status="accept",
    )
    assert Order.get_by_id(request["order_id"]).status == "PAID"
    return request


def assert_voided(http, order_id: str, token: str) -> None:
    """The order ended without money, the course is gone, the customer is told, the owner sees
    the flag."""
    order = Order.get_by_id(order_id)
    assert order.status == "FAILED" and order.flagged
    entitlement = entitlement_of(order_id)
    assert entitlement.status == "REVOKED" and entitlement.revoke_reason == "midtrans cancel"
    assert access_page_state(http, token) == "revoked"
    assert {("access_revoked", "EMAIL"), ("access_revoked", "WHATSAPP")} <= set(
        templates_queued(order_id)
    )
    (audit,) = AuditEntry.select().where(
        (AuditEntry.order_id == order_id) & (AuditEntry.new_status == "FAILED")
    )
    assert audit.old_status == "PAID" and "voided" in audit.details["reason"]


def test_a_card_payment_voided_before_settlement_loses_its_access(db, sandbox_api, http):
    request = card_payment_captured(sandbox_api)
    order_id = request["order_id"]
    token = entitlement_of(order_id).access_token

    midtrans_says(sandbox_api, order_id, transaction_status="cancel")

    assert_voided(http, order_id, token)
    assert customer_view(http, request)["access_url"] is None


def test_a_void_whose_notification_was_lost_is_found_by_the_status_api(db, sandbox_api, http):
    reconcile_order = declared_actor("reconcile_order")

    order_id = card_payment_captured(sandbox_api)["order_id"]
    token = entitlement_of(order_id).access_token
    midtrans_transition(sandbox_api, order_id, transaction_status="cancel", notify=False)

    reconcile_order(order_id)

    assert_voided(http, order_id, token)


def test_a_voided_card_payment_that_settles_after_all_gets_its_access_back(db, sandbox_api, http):
    order_id = card_payment_captured(sandbox_api)["order_id"]
    token = entitlement_of(order_id).access_token
    midtrans_says(sandbox_api, order_id, transaction_status="cancel")

    midtrans_says(sandbox_api, order_id, transaction_status="settlement")

    order = Order.get_by_id(order_id)
    assert order.status == "PAID" and order.flagged  # a late payment, for the owner to see
    assert entitlement_of(order_id).status == "ACTIVE"
    assert access_page_state(http, token) == "active"


@pytest.mark.parametrize("payment_type", ["credit_card", "bank_transfer"])
def test_a_cancel_after_settlement_keeps_the_paid_order_and_flags_it(
    db, sandbox_api, http, payment_type
):
    order_id = paid_order(sandbox_api, payment_type=payment_type)["order_id"]
    token = entitlement_of(order_id).access_token

    midtrans_says(sandbox_api, order_id, transaction_status="cancel")

    order = Order.get_by_id(order_id)
    assert order.status == "PAID" and order.flagged
    assert entitlement_of(order_id).status == "ACTIVE"
    assert access_page_state(http, token) == "active"
    assert "access_revoked" not in {name for name, _ in templates_queued(order_id)}


def test_a_cancel_after_a_capture_was_settled_keeps_the_paid_order(db, sandbox_api, http):
    order_id = card_payment_captured(sandbox_api)["order_id"]
    midtrans_says(sandbox_api, order_id, transaction_status="settlement")

    midtrans_says(sandbox_api, order_id, transaction_status="cancel")

    assert Order.get_by_id(order_id).status == "PAID"
    assert entitlement_of(order_id).status == "ACTIVE"


@pytest.mark.parametrize("partial", ["partial_refund", "partial_chargeback"])
def test_a_partial_refund_keeps_the_course(db, sandbox_api, http, partial):
    request = paid_order(sandbox_api)
    order_id = request["order_id"]
    token = entitlement_of(order_id).access_token

    midtrans_says(sandbox_api, order_id, transaction_status=partial)

    assert Order.get_by_id(order_id).status == "PAID"
    assert entitlement_of(order_id).status == "ACTIVE"
    assert access_page_state(http, token) == "active"
    assert "access_revoked" not in {name for name, _ in templates_queued(order_id)}


def test_a_second_refund_notification_revokes_and_tells_once(db, sandbox_api):
    order_id = paid_order(sandbox_api)["order_id"]
    midtrans_says(sandbox_api, order_id, transaction_status="refund")
    revoked_at = entitlement_of(order_id).revoked_at
    midtrans_says(sandbox_api, order_id, transaction_status="chargeback")
    assert entitlement_of(order_id).revoked_at == revoked_at
    revoked_messages = [name for name, _ in templates_queued(order_id) if name == "access_revoked"]
    assert revoked_messages == ["access_revoked"] * 2  # one email, one WhatsApp


def test_the_customer_is_told_by_email_and_whatsapp(db, worker, sandbox_api):
    order_id = paid_order(sandbox_api)["order_id"]
    midtrans_says(sandbox_api, order_id, transaction_status="refund")

    def revoked_mail():
        return [mail for mail in mails(sandbox_api) if "dihentikan" in mail["subject"]]

    def revoked_whatsapp():
        return [m for m in whatsapp_messages(sandbox_api) if m["template"] == "access_revoked"]

    [mail] = wait_for(revoked_mail, message="the access revoked email")
    [message] = wait_for(revoked_whatsapp, message="the access revoked WhatsApp")
    assert order_id in mail["text"] and mail["rcpt_tos"] == ["budi@example.com"]
    assert message["to"] == "6281234567890"  # the Cloud API takes digits only


REFUND_TEXT = "karena pembayarannya sudah dikembalikan (refund)."
NEUTRAL_TEXT = "setelah pemeriksaan pembayarannya."


@pytest.mark.parametrize(
    "revoke_reason, shown",
    [
        ("midtrans refund", REFUND_TEXT),
        ("midtrans partial_chargeback", REFUND_TEXT),
        ("midtrans chargeback", REFUND_TEXT),
        ("midtrans cancel", NEUTRAL_TEXT),  # a card void: no money had arrived
        ("midtrans deny", NEUTRAL_TEXT),
        ("admin:cli:budi: chargeback settled outside Midtrans", NEUTRAL_TEXT),
        ("admin:web: owner's check", NEUTRAL_TEXT),
    ],
)
def test_the_access_page_gives_the_reason_that_applies(db, http, revoke_reason, shown):
    from models.db import connection
    from models.entitlements import revoke_entitlement
    from tests.factories import insert_order

    order_id = insert_order("BFA-REVOKED-PAGE-1", status="PAID")
    with connection():
        token = Entitlement.create(order=order_id, package="ai-movie-course").access_token
        revoke_entitlement(order_id, revoke_reason)
    page = " ".join(http.get(f"/access/{token}").text.split())
    assert 'data-state="revoked"' in page and shown in page
    other = NEUTRAL_TEXT if shown == REFUND_TEXT else REFUND_TEXT
    assert other not in page
