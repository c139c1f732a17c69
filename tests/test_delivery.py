"""Delivering customer messages: real PostgreSQL, Redis, Dramatiq workers and the sandbox's
SMTP server and WhatsApp Cloud API stand-in, with faults injected over its control API."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from loguru import logger

from models.base import utcnow
from models.delivery import claim_delivery
from models.messages import NO_LINK_GUIDE
from models.orders import Order
from models.outbox import OutboxMessage
from tasks.delivery import requeue_due_deliveries
from tests.conftest import PROJECT_ROOT, declared_actor, the_worker, wait_for
from tests.factories import (
    checkout_request,
    midtrans_transition,
    snap_transaction_picked_elsewhere,
)
from tests.notification_helpers import (
    another_customer,
    inject,
    mails,
    queued_order,
    row,
    status_of,
    use_policy,
    whatsapp_messages,
)


def send_all(outbox_ids) -> None:
    deliver_notification = declared_actor("deliver_notification")

    for outbox_id in outbox_ids:
        deliver_notification.send(outbox_id)


def all_sent(outbox_ids) -> bool:
    return all(status_of(outbox_id) == "SENT" for outbox_id in outbox_ids)


def test_payment_instructions_arrive_by_email_and_whatsapp(db, worker, web, sandbox_api, system):
    create_payment = declared_actor("create_payment")

    request = checkout_request()
    create_payment(request)
    answer = midtrans_transition(
        sandbox_api, request["order_id"], transaction_status="pending", payment_type="bank_transfer"
    )
    va_number = answer["notification"]["va_numbers"][0]["va_number"]
    rows = wait_for(
        lambda: list(OutboxMessage.select().where(OutboxMessage.order == request["order_id"])),
        message="the instructions queued once Midtrans reports the method",
    )
    assert {r.channel for r in rows} == {"EMAIL", "WHATSAPP"}
    wait_for(lambda: all_sent([r.id for r in rows]), message="both channels sent")
    email_row, whatsapp_row = sorted((row(r.id) for r in rows), key=lambda r: r.channel)
    [mail] = mails(sandbox_api)
    assert mail["rcpt_tos"] == ["budi@example.com"]
    assert mail["subject"] == "Selesaikan pembayaran Rp 99.000 untuk Buat Film Pakai AI"
    assert "Rp 99.000" in mail["text"] and "WIB" in mail["text"]
    assert email_row.payload["payment_url"] in mail["text"]
    assert f'href="{email_row.payload["payment_url"]}"' in mail["html"]
    assert f"Virtual Account BCA: {va_number}" in mail["text"] and va_number in mail["html"]
    assert mail["message_id"] == email_row.provider_message_id
    [message] = whatsapp_messages(sandbox_api)
    assert message["to"] == "6281234567890"
    assert (message["template"], message["language"]) == ("payment_instructions", "id")
    assert message["token"] == system["settings"].whatsapp.token
    parameters = [p["text"] for p in message["components"][0]["parameters"]]
    assert parameters[0] == "Pelanggan" and parameters[1] == "Rp 99.000"  # unpaid: no name
    assert "Budi" not in mail["text"] + mail["html"] + " ".join(parameters)
    assert parameters[2] == f"Virtual Account BCA nomor {va_number}"
    assert parameters[4] == whatsapp_row.payload["payment_url"]
    assert whatsapp_row.provider_message_id == message["id"]
    for sent in (email_row, whatsapp_row):
        assert sent.attempt_count == 1 and sent.sent_at is not None and sent.error_history == []


@pytest.mark.parametrize(
    "template_name, expected_link",
    [
        ("payment_success", "/access/access-"),
        ("order_expired", "/"),
        ("access_revoked", None),
        ("payment_refunded", None),
    ],
)
def test_every_message_goes_out_on_both_channels(
    template_name, expected_link, db, worker, sandbox_api, system
):
    use_policy()
    outbox_ids = queued_order(template_name)
    send_all(outbox_ids.values())
    wait_for(lambda: all_sent(outbox_ids.values()), message=f"{template_name} sent")
    [mail], [message] = mails(sandbox_api), whatsapp_messages(sandbox_api)
    assert message["template"] == template_name
    if expected_link:
        link = f"{system['settings'].public_base_url}{expected_link}"
        assert link in mail["text"] and link in mail["html"]
        assert message["components"][0]["parameters"][-1]["text"].startswith(link)


def test_instructions_for_an_order_without_a_payment_link_arrive_on_both_channels(
    db, worker, web, sandbox_api
):
    create_payment = declared_actor("create_payment")

    request = checkout_request()
    pending = snap_transaction_picked_elsewhere(
        sandbox_api, request["order_id"], payment_type="bank_transfer"
    )
    create_payment(request)  # Snap says the id is taken: the order has no link of its own
    assert Order.get_by_id(request["order_id"]).redirect_url is None
    signed = {"body": pending, "sign": True}
    sandbox_api.post("/_sandbox/midtrans/notify", json=signed).raise_for_status()
    rows = wait_for(
        lambda: list(OutboxMessage.select().where(OutboxMessage.order == request["order_id"])),
        message="the instructions queued once Midtrans reports the method",
    )
    wait_for(lambda: all_sent([r.id for r in rows]), message="both channels sent")
    va_number = pending["va_numbers"][0]["va_number"]
    [mail] = mails(sandbox_api)
    for part in (mail["text"], mail["html"]):
        assert "None" not in part and NO_LINK_GUIDE in part and va_number in part
    assert "href=" not in mail["html"]
    [message] = whatsapp_messages(sandbox_api)
    parameters = [p["text"] for p in message["components"][0]["parameters"]]
    assert parameters[2] == f"Virtual Account BCA nomor {va_number}"
    assert parameters[4] == NO_LINK_GUIDE


def test_a_transient_failure_then_success_stores_exactly_one_message(db, worker, sandbox_api):
    use_policy()
    inject(sandbox_api, "mail", fail_next=1, status=451)
    inject(sandbox_api, "whatsapp", fail_next=1, status=503)
    outbox_ids = queued_order()
    send_all(outbox_ids.values())
    wait_for(lambda: all_sent(outbox_ids.values()), message="both sent after one retry")
    assert len(mails(sandbox_api)) == 1 and len(whatsapp_messages(sandbox_api)) == 1
    for channel, code in (("EMAIL", "451"), ("WHATSAPP", "503")):
        sent = row(outbox_ids[channel])
        assert sent.attempt_count == 2 and sent.status == "SENT"
        [failure] = sent.error_history
        assert failure["attempt"] == 1 and failure["kind"] == "transient"
        assert code in failure["error"] and code in sent.last_error


def test_five_transient_failures_dead_letter_the_row_then_requeue_delivers_it(
    db, worker, sandbox_api, capsys, admin_cli
):

    policy = use_policy()
    inject(sandbox_api, "mail", fail_next=5, status=451)
    email_id = queued_order()["EMAIL"]
    send_all([email_id])
    wait_for(lambda: status_of(email_id) == "DLQ", message="DLQ after five attempts")
    dead = row(email_id)
    assert dead.attempt_count == 5 and dead.next_retry_at is None
    assert [entry["attempt"] for entry in dead.error_history] == [1, 2, 3, 4, 5]
    assert all("451" in entry["error"] for entry in dead.error_history)
    times = [datetime.fromisoformat(entry["at"]) for entry in dead.error_history]
    waits = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert all(
        wait >= scheduled
        for wait, scheduled in zip(waits, policy.retry_schedule_seconds, strict=True)
    ), waits
    assert mails(sandbox_api) == []

    assert admin_cli(["dead-letters", "requeue", str(email_id)]) == 0
    assert f"Requeued outbox row {email_id}" in capsys.readouterr().out
    wait_for(lambda: status_of(email_id) == "SENT", message="sent after requeue")
    delivered = row(email_id)
    assert delivered.attempt_count == 1 and len(delivered.error_history) == 5
    assert len(mails(sandbox_api)) == 1


def test_a_permanent_failure_goes_to_failed_at_once(db, worker, sandbox_api, system):
    use_policy()
    inject(sandbox_api, "mail", fail_next=1, status=550)
    inject(sandbox_api, "whatsapp", fail_next=1, status=400)
    outbox_ids = queued_order()
    send_all(outbox_ids.values())
    wait_for(
        lambda: all(status_of(i) == "FAILED" for i in outbox_ids.values()), message="both FAILED"
    )
    system["broker"].join("notifications", timeout=10_000)
    for channel, reason in (("EMAIL", "SMTP 550"), ("WHATSAPP", "131030")):
        failed = row(outbox_ids[channel])
        assert failed.status == "FAILED" and failed.attempt_count == 1
        assert reason in failed.last_error and failed.error_history[0]["kind"] == "permanent"
    assert mails(sandbox_api) == [] and whatsapp_messages(sandbox_api) == []


def test_an_outage_longer_than_the_retry_schedule_delays_but_dead_letters_nothing(
    db, worker, sandbox_api
):

    policy = use_policy(breaker_fail_max=3, breaker_reset_seconds=1.0)
    outage_seconds = 2 * sum(policy.retry_schedule_seconds)
    inject(sandbox_api, "mail", down=True)
    inject(sandbox_api, "whatsapp", down=True)
    outbox_ids = [i for _ in range(3) for i in queued_order().values()]
    started = time.monotonic()
    send_all(outbox_ids)
    breakers = [
        the_worker().services.channels.by_name[name].guard.breaker for name in ("EMAIL", "WHATSAPP")
    ]
    wait_for(lambda: all(b.state == "open" for b in breakers), message="both breakers open")
    wait_for(
        lambda: time.monotonic() - started > outage_seconds,
        timeout=outage_seconds + 5,
        message="the outage outlasting the schedule",
    )
    assert not any(status_of(i) in ("DLQ", "SENT") for i in outbox_ids)
    inject(sandbox_api, "mail")
    inject(sandbox_api, "whatsapp")
    wait_for(lambda: all_sent(outbox_ids), timeout=30, message="everything delivered")
    assert OutboxMessage.select().where(OutboxMessage.status == "DLQ").count() == 0
    assert all(row(i).attempt_count < policy.max_attempts for i in outbox_ids)
    assert len(mails(sandbox_api)) == 3 and len(whatsapp_messages(sandbox_api)) == 3


@pytest.fixture
def second_worker_process(worker, tmp_path, environment, system):
    """A `dramatiq tasks.bare_worker` process consuming the notifications queue."""
    broker = system["broker"]
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "tasks.bare_worker",
            "-p",
            "1",
            "-t",
            "4",
            "-Q",
            "notifications",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environment, "LOG_FORMAT": "json"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    own = f":{os.getpid()}:".encode()
    wait_for(
        lambda: [
            key
            for key in broker.client.scan_iter(match="dramatiq:heartbeat:worker:*")
            if own not in key
        ],
        timeout=30,
        message="the second worker's heartbeat",
    )
    yield process, log_path
    process.terminate()
    process.wait(timeout=30)
    log.close()


def sent_by_subprocess(log_path) -> list[int]:
    """Outbox ids the subprocess worker logged as sent (its log is one JSON object a line)."""
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    return [line["outbox_id"] for line in lines if line["message"].startswith("Sent ")]


def test_two_workers_racing_on_the_same_rows_send_each_once(db, second_worker_process, sandbox_api):
    process, log_path = second_worker_process
    sent_here: list[int] = []
    sink = logger.add(
        lambda message: sent_here.append(message.record["extra"]["outbox_id"]),
        filter=lambda record: record["message"].startswith("Sent "),
    )
    try:
        outbox_ids = [i for n in range(8) for i in queued_order(**another_customer(n)).values()]
        for _ in range(3):  # duplicate wake-ups, as the sweeper and a retry might produce
            send_all(outbox_ids)
        wait_for(lambda: all_sent(outbox_ids), timeout=30, message="every row sent")
        wait_for(
            lambda: len(sent_here) + len(sent_by_subprocess(log_path)) >= len(outbox_ids),
            message="both workers to log every send",
        )
    finally:
        logger.remove(sink)
    sent_there = sent_by_subprocess(log_path)
    assert process.poll() is None
    assert sent_here and sent_there, "both workers must have sent rows"
    assert sorted(sent_here + sent_there) == sorted(outbox_ids)
    message_ids = [mail["message_id"] for mail in mails(sandbox_api)]
    assert len(message_ids) == 8 and len(set(message_ids)) == 8
    assert len(whatsapp_messages(sandbox_api)) == 8
    assert all(row(i).attempt_count == 1 for i in outbox_ids)


def crash_after_claiming(outbox_id: int, minutes_ago: int = 6) -> OutboxMessage:
    """A worker claimed the row and died; the clock has moved on since."""
    claimed = claim_delivery(outbox_id, utcnow())
    OutboxMessage.update(claimed_at=utcnow() - timedelta(minutes=minutes_ago)).where(
        OutboxMessage.id == outbox_id
    ).execute()
    return claimed


def test_a_crash_after_claiming_a_row_is_recovered_by_the_sweeper(db, worker, sandbox_api):

    use_policy()
    email_id = queued_order()["EMAIL"]
    crash_after_claiming(email_id, minutes_ago=1)
    requeue_due_deliveries(the_worker().services)
    assert status_of(email_id) == "SENDING"  # a one-minute-old claim may still be working
    OutboxMessage.update(claimed_at=utcnow() - timedelta(minutes=6)).where(
        OutboxMessage.id == email_id
    ).execute()
    assert requeue_due_deliveries(the_worker().services) == 1
    wait_for(lambda: status_of(email_id) == "SENT", message="recovered and sent")
    recovered = row(email_id)
    assert recovered.attempt_count == 2
    assert recovered.error_history[0]["kind"] == "interrupted"
    assert len(mails(sandbox_api)) == 1


def test_an_email_delivered_twice_carries_the_same_message_id(db, worker, sandbox_api, system):

    use_policy()
    email_id = queued_order()["EMAIL"]
    claimed = crash_after_claiming(email_id)
    the_worker().services.channels.deliver(claimed)  # the server accepted it before the worker died
    requeue_due_deliveries(the_worker().services)
    wait_for(lambda: status_of(email_id) == "SENT", message="redelivered")
    first, second = mails(sandbox_api)
    domain = system["settings"].smtp.sender.rpartition("@")[2].rstrip(">")
    assert first["message_id"] == second["message_id"] == f"<outbox-{email_id}@{domain}>"


def test_logs_never_show_a_full_email_address_or_phone_number(db, worker, sandbox_api):
    use_policy()
    lines: list[str] = []
    sink = logger.add(
        lambda message: lines.append(str(message)), level="DEBUG", format="{message} {extra}"
    )
    try:
        inject(sandbox_api, "mail", fail_next=1, status=451)
        outbox_ids = queued_order()
        send_all(outbox_ids.values())
        wait_for(lambda: all_sent(outbox_ids.values()), message="sent")
    finally:
        logger.remove(sink)
    text = "".join(lines)
    assert "Sent EMAIL payment_instructions to b***@example.com" in text
    assert "Sent WHATSAPP payment_instructions to +62***890" in text
    assert "budi@example.com" not in text and "81234567890" not in text
