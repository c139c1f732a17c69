"""Nobody can use the shop to message strangers: a checkout alone sends nothing (the
instructions wait for Midtrans to report the payment method), messages an unpaid order can cause
are capped per recipient per day, and an address one relay cannot carry fails its own row
without taking the provider's circuit breaker down for everyone."""

from __future__ import annotations

from models.outbox import CAPPED_PER_RECIPIENT_PER_DAY, OutboxMessage
from tests.conftest import wait_for
from tests.notification_helpers import (
    mails,
    queued_order,
    row,
    status_of,
    use_policy,
    whatsapp_messages,
)


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
    from tasks.delivery import deliver_notification
    from tasks.services import services

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
    breaker = services().channels.by_name["EMAIL"].guard.breaker
    assert breaker.state == "closed"
    good = queued_order("payment_success", email="sari@example.com")
    for outbox_id in good.values():
        deliver_notification.send(outbox_id)
    # The relay takes a message before the worker records it SENT: wait for the rows.
    wait_for(lambda: all(status_of(i) == "SENT" for i in good.values()), message="both SENT")
    assert len(mails(sandbox_api)) == 1
    assert len(whatsapp_messages(sandbox_api)) == 1
    assert OutboxMessage.select().where(OutboxMessage.status == "SENT").count() == 2
