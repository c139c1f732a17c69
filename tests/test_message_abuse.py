"""Nobody can use the shop to message strangers: a checkout alone sends nothing, not even when
it expires (every message about an unpaid order waits for Midtrans to report a payment attempt),
messages an unpaid order can cause are capped per recipient per day and shop-wide per hour, and
an address one relay cannot carry fails its own row without taking the provider's circuit
breaker down for everyone."""

from __future__ import annotations

from datetime import timedelta

from models.alarms import current_alarms
from models.base import utcnow
from models.delivery import HELD
from models.orders import Order
from models.outbox import CAPPED_PER_RECIPIENT_PER_DAY, UNPAID_TEMPLATES, OutboxMessage
from tests.conftest import declared_actor, the_worker, wait_for
from tests.factories import open_payment
from tests.notification_helpers import (
    another_customer,
    mails,
    queued_order,
    reported_pending,
    row,
    status_of,
    use_policy,
    whatsapp_messages,
)


def test_a_checkout_nobody_started_paying_expires_without_a_word_to_its_contact(
    db, sandbox_api, system
):
    order_id = open_payment(email="korban@example.com", phone="081298765432")["order_id"]
    Order.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        Order.order_id == order_id
    ).execute()
    declared_actor("reconcile_order")(order_id)  # the Status API knows no transaction
    assert Order.get_by_id(order_id).status == "EXPIRED"
    assert OutboxMessage.select().where(OutboxMessage.order == order_id).count() == 0


def test_no_message_about_an_unpaid_order_is_queued_before_midtrans_reports_an_attempt(db):
    for template_name in UNPAID_TEMPLATES:
        assert queued_order(template_name, attempted=False) == {}
    assert set(queued_order("payment_success", attempted=False)) == {"EMAIL", "WHATSAPP"}


def test_an_expired_order_whose_payment_was_attempted_is_told_so(db, sandbox_api, system):
    order_id = open_payment()["order_id"]
    reported_pending(order_id)
    Order.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        Order.order_id == order_id
    ).execute()
    declared_actor("reconcile_order")(order_id)
    templates = {
        r.template_name for r in OutboxMessage.select().where(OutboxMessage.order == order_id)
    }
    assert templates == {"order_expired"}


def _deliver(outbox_ids, status: str) -> None:
    deliver_notification = declared_actor("deliver_notification")

    for outbox_id in outbox_ids:
        deliver_notification.send(outbox_id)
    wait_for(lambda: all(status_of(i) == status for i in outbox_ids), message=f"all {status}")


def test_unpaid_order_messages_beyond_the_hourly_budget_are_held_and_alarm(db, worker, sandbox_api):
    use_policy(unpaid_messages_per_hour=2)
    _deliver(queued_order("payment_instructions").values(), "SENT")
    held = queued_order("order_expired", **another_customer(1))
    _deliver(held.values(), "FAILED")
    assert {(row(i).last_error, row(i).attempt_count) for i in held.values()} == {(HELD, 0)}
    _deliver(queued_order("payment_success", **another_customer(2)).values(), "SENT")
    assert len(mails(sandbox_api)) == 2  # the first instructions and the paid order's
    [alarm] = [alarm for alarm in current_alarms(180) if alarm.name == "unpaid_messages_held"]
    assert alarm.count == 2 and "UNPAID_MESSAGES_PER_HOUR" in alarm.message
    assert alarm.pesan.startswith("batas pesan per jam untuk pesanan yang belum dibayar")


def test_an_operator_releases_held_messages_by_requeue_or_resend(db, worker, sandbox_api):
    from models.outbox_admin import requeue_outbox_message, resend_notification

    def wake(outbox_ids):
        _deliver(outbox_ids, "SENT")

    use_policy(unpaid_messages_per_hour=2)
    _deliver(queued_order("payment_instructions").values(), "SENT")  # the hour's budget spent
    held = queued_order("order_expired", **another_customer(1))
    _deliver(held.values(), "FAILED")
    assert requeue_outbox_message(held["EMAIL"], "admin:cli:budi", lambda ids: None)
    wake([held["EMAIL"]])  # the operator vouched for it: sent though the budget is spent
    order_id = row(held["WHATSAPP"]).order_id
    [resent] = resend_notification(
        order_id, "order_expired", "admin:cli:budi", ("WHATSAPP",), lambda ids: None
    )
    wake([resent])
    assert len(mails(sandbox_api)) == 2 and len(whatsapp_messages(sandbox_api)) == 2
    _deliver(queued_order("order_expired", **another_customer(2)).values(), "FAILED")


def test_one_recipient_gets_at_most_the_daily_cap_of_unpaid_order_messages(db):
    queued = [queued_order("payment_instructions") for _ in range(CAPPED_PER_RECIPIENT_PER_DAY + 2)]
    emails = [ids["EMAIL"] for ids in queued if "EMAIL" in ids]
    assert len(emails) == CAPPED_PER_RECIPIENT_PER_DAY
    assert len(queued_order("order_expired")) == 0  # the cap covers both kinds together
    paid = queued_order("payment_success")  # money moved: never capped
    assert set(paid) == {"EMAIL", "WHATSAPP"}
    other = queued_order("payment_instructions", email="sari@example.com", phone="081298765432")
    assert set(other) == {"EMAIL", "WHATSAPP"}  # the cap is per recipient


def test_an_address_the_relay_cannot_carry_fails_alone_and_leaves_the_breaker_closed(
    db, worker, sandbox_api
):
    deliver_notification = declared_actor("deliver_notification")

    use_policy(breaker_fail_max=2)
    addresses = ["bùdi@example.com", "nobody@example.com", "bùdi.2@example.com"]
    unusable = [queued_order("payment_success", email=email)["EMAIL"] for email in addresses]
    for outbox_id in unusable:
        deliver_notification.send(outbox_id)
    wait_for(lambda: all(status_of(i) == "FAILED" for i in unusable), message="each row FAILED")
    assert [row(i).last_error for i in unusable] == [
        "SMTP recipient refused (553)",
        "SMTP recipient refused (550)",
        "SMTP recipient refused (553)",
    ]
    breaker = the_worker().services.channels.by_name["EMAIL"].guard.breaker
    assert breaker.state == "closed"
    good = queued_order("payment_success", email="sari@example.com")
    for outbox_id in good.values():
        deliver_notification.send(outbox_id)
    # The relay takes a message before the worker records it SENT: wait for the rows.
    wait_for(lambda: all(status_of(i) == "SENT" for i in good.values()), message="both SENT")
    assert len(mails(sandbox_api)) == 1
    assert len(whatsapp_messages(sandbox_api)) == 1
    assert OutboxMessage.select().where(OutboxMessage.status == "SENT").count() == 2
