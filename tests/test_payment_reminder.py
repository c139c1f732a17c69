"""The one payment reminder: an open virtual account, QRIS or store code gets a single message a
few hours before it expires (PAYMENT_REMINDER_HOURS_BEFORE, 3 by default), and nobody else does."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from models.base import utcnow
from models.events import PaymentEvent
from models.orders import Order
from models.outbox import OutboxMessage
from tasks.maintenance import remind_due_payments
from tests.conftest import declared_actor, the_worker, wait_for, with_settings
from tests.factories import midtrans_transition, open_payment
from tests.notification_helpers import mails, whatsapp_messages


def customer_opens_a_virtual_account(sandbox_api, order_id: str, **transition) -> None:
    """The customer picks BCA virtual account on Snap; Midtrans reports it pending."""
    fields = {"transaction_status": "pending", "payment_type": "bank_transfer", **transition}
    answer = midtrans_transition(sandbox_api, order_id, notify=False, **fields)
    declared_actor("process_notification")(answer["notification"])


def hours_pass(order_id: str, expires_in: timedelta, started_ago: timedelta) -> None:
    """Time moves on: the payment now expires in `expires_in`, begun `started_ago`."""
    now = utcnow()
    Order.update(expires_at=now + expires_in).where(Order.order_id == order_id).execute()
    PaymentEvent.update(received_at=now - started_ago).where(
        PaymentEvent.order_id == order_id
    ).execute()


def sweep() -> None:
    declared_actor("sweep")()


def reminders(order_id: str) -> list[OutboxMessage]:
    return list(
        OutboxMessage.select().where(
            (OutboxMessage.order == order_id) & (OutboxMessage.template_name == "payment_reminder")
        )
    )


def test_an_open_virtual_account_is_reminded_once_before_it_expires(db, worker, sandbox_api):
    order_id = open_payment()["order_id"]
    customer_opens_a_virtual_account(sandbox_api, order_id)
    sweep()
    assert reminders(order_id) == []  # a day left: too early

    hours_pass(order_id, expires_in=timedelta(hours=2), started_ago=timedelta(hours=22))
    sweep()
    sweep()

    assert sorted(row.channel for row in reminders(order_id)) == ["EMAIL", "WHATSAPP"]

    def reminder_mail():
        return [mail for mail in mails(sandbox_api) if mail["subject"].startswith("Pengingat")]

    mail = wait_for(reminder_mail, message="the reminder email")
    assert len(mail) == 1
    assert "Virtual Account BCA" in mail[0]["text"] and "Rp 99.000" in mail[0]["text"]
    sent = wait_for(
        lambda: [m for m in whatsapp_messages(sandbox_api) if "payment_reminder" in str(m)],
        message="the reminder on WhatsApp",
    )
    assert len(sent) == 1


def test_no_reminder_for_an_order_whose_payment_was_never_started(db, sandbox_api):
    order_id = open_payment()["order_id"]
    Order.update(expires_at=utcnow() + timedelta(hours=2)).where(
        Order.order_id == order_id
    ).execute()
    sweep()
    assert reminders(order_id) == []


def test_no_reminder_once_the_order_is_paid(db, sandbox_api):
    order_id = open_payment()["order_id"]
    customer_opens_a_virtual_account(sandbox_api, order_id)
    customer_opens_a_virtual_account(sandbox_api, order_id, transaction_status="settlement")
    hours_pass(order_id, expires_in=timedelta(hours=2), started_ago=timedelta(hours=22))
    sweep()
    assert Order.get_by_id(order_id).status == "PAID"
    assert reminders(order_id) == []


def test_no_reminder_for_a_payment_begun_within_the_reminder_window(db, sandbox_api):
    """Instructions sent an hour ago already are the reminder."""
    order_id = open_payment()["order_id"]
    customer_opens_a_virtual_account(sandbox_api, order_id)
    hours_pass(order_id, expires_in=timedelta(hours=2), started_ago=timedelta(hours=0.5))
    sweep()
    assert reminders(order_id) == []


def test_no_reminder_for_a_card_payment_waiting(db, sandbox_api):
    order_id = open_payment()["order_id"]
    customer_opens_a_virtual_account(sandbox_api, order_id, payment_type="credit_card")
    hours_pass(order_id, expires_in=timedelta(hours=2), started_ago=timedelta(hours=22))
    sweep()
    assert reminders(order_id) == []


def test_the_owner_turns_the_reminder_off_with_zero(db, sandbox_api, settings):
    order_id = open_payment()["order_id"]
    customer_opens_a_virtual_account(sandbox_api, order_id)
    hours_pass(order_id, expires_in=timedelta(hours=2), started_ago=timedelta(hours=22))
    off = with_settings(settings, delivery={"payment_reminder_hours_before": 0})
    remind_due_payments(dataclasses.replace(the_worker().services, settings=off), utcnow())
    assert reminders(order_id) == []
