"""The operator's command line for what did not go out: Dramatiq dead letters in Redis and
outbox rows, listed, shown, requeued, purged and resent, against the real services."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest

from messaging.contract import dead_letter_set_key
from messaging.dead_letters import list_dead_letters
from models.audit import AuditEntry
from models.db import database
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import declared_actor, wait_for
from tests.notification_helpers import inject, mails, queued_order, row, status_of, use_policy


@contextmanager
def database_migration_in_progress():
    """The outbox table is out of reach for a moment, as during a botched migration."""
    database.execute_sql("ALTER TABLE notification_outbox RENAME TO notification_outbox_away")
    try:
        yield
    finally:
        database.execute_sql("ALTER TABLE notification_outbox_away RENAME TO notification_outbox")


def dead_letters_for(outbox_ids: list[int]) -> list:
    """Deliveries that exhaust their retries while the table is away: real Dramatiq dead
    letters (a fast backoff, set per message, keeps the test short)."""
    deliver_notification = declared_actor("deliver_notification")

    broker = deliver_notification.broker

    with database_migration_in_progress():
        for outbox_id in outbox_ids:
            deliver_notification.send_with_options(
                args=(outbox_id,), min_backoff=10, max_backoff=50
            )
        return wait_for(
            lambda: (lambda found: found if len(found) == len(outbox_ids) else None)(
                list_dead_letters(broker, "notifications")
            ),
            message="the dead letters",
        )


def run(admin_cli, capsys, *argv: str) -> tuple[int, str]:
    code = admin_cli(list(argv))
    return code, capsys.readouterr().out


def test_a_dramatiq_dead_letter_is_listed_and_requeued_by_the_admin_command(
    db, worker, sandbox_api, capsys, admin_cli
):
    deliver_notification = declared_actor("deliver_notification")

    broker = deliver_notification.broker

    email_id = queued_order()["EMAIL"]
    [letter] = dead_letters_for([email_id])
    assert letter.retries == 5
    code, listing = run(admin_cli, capsys, "dead-letters", "list")
    assert code == 0 and "Dramatiq dead letters: 1" in listing
    assert letter.message_id in listing and "deliver_notification" in listing
    assert re.search(r"died \d+ \w{3} \d{4} \d\d:\d\d WIB  retries 5", listing)  # not UTC
    code, shown = run(admin_cli, capsys, "dead-letters", "show", letter.message_id)
    assert code == 0 and f"Arguments:   ({email_id},)" in shown
    assert 'relation "notification_outbox" does not exist' in shown
    listed = json.loads(run(admin_cli, capsys, "dead-letters", "list", "--json")[1])
    [as_json] = listed["dead_letters"]
    assert (as_json["message_id"], as_json["actor"], as_json["args"]) == (
        letter.message_id,
        "deliver_notification",
        [email_id],
    )
    assert as_json["queue"] == "notifications" and as_json["retries"] == 5
    assert as_json["died_at"].endswith("+07:00")
    shown = run(admin_cli, capsys, "dead-letters", "show", letter.message_id, "--json")[1]
    assert json.loads(shown) == as_json

    code, output = run(admin_cli, capsys, "dead-letters", "requeue", letter.message_id)
    assert code == 0 and f"Requeued dead letter {letter.message_id}" in output
    wait_for(lambda: status_of(email_id) == "SENT", message="delivered after requeue")
    assert len(mails(sandbox_api)) == 1
    assert list_dead_letters(broker) == []
    assert not broker.client.exists(f"dramatiq:dead-letter-error:{letter.message_id}")
    assert run(admin_cli, capsys, "dead-letters", "requeue", letter.message_id)[0] == 1


def test_requeue_all_and_purge_cover_every_dead_letter(db, worker, sandbox_api, capsys, admin_cli):
    deliver_notification = declared_actor("deliver_notification")

    broker = deliver_notification.broker

    use_policy()
    first, second, third = (queued_order()["EMAIL"] for _ in range(3))
    dead_letters_for([first, second])
    assert run(admin_cli, capsys, "dead-letters", "purge", "--older-than", "1")[1].startswith(
        "Purged 0"
    )
    code, output = run(
        admin_cli, capsys, "dead-letters", "requeue", "--all", "--queue", "notifications"
    )
    assert code == 0 and "Requeued 2 Dramatiq dead letters" in output
    wait_for(lambda: status_of(first) == status_of(second) == "SENT", message="both sent")

    dead_letters_for([third])
    (letter,) = list_dead_letters(broker)
    two_days_ago_ms = (letter.died_at.timestamp() - 2 * 86400) * 1000
    backdated = {letter.redis_message_id: two_days_ago_ms}
    broker.client.zadd(dead_letter_set_key(letter.queue_name), backdated)
    code, output = run(admin_cli, capsys, "dead-letters", "purge", "--older-than", "1", "--dry-run")
    assert code == 0 and output.startswith("Would purge 1 Dramatiq dead letters")
    code, output = run(admin_cli, capsys, "dead-letters", "purge", "--older-than", "1")
    assert code == 1 and len(list_dead_letters(broker)) == 1  # no terminal to confirm: refused
    code, output = run(admin_cli, capsys, "dead-letters", "purge", "--older-than", "1", "--yes")
    assert code == 0 and "Purged 1 Dramatiq dead letters" in output
    assert list_dead_letters(broker) == [] and status_of(third) == "PENDING"
    assert (
        run(admin_cli, capsys, "dead-letters", "requeue", "--all")[0] == 1
    )  # nothing left to requeue


def test_outbox_rows_in_dlq_or_failed_are_listed_shown_and_requeued(
    db, worker, sandbox_api, capsys, admin_cli
):
    deliver_notification = declared_actor("deliver_notification")

    use_policy()
    inject(sandbox_api, "mail", fail_next=1, status=550)
    email_id = queued_order()["EMAIL"]
    deliver_notification.send(email_id)
    wait_for(lambda: status_of(email_id) == "FAILED", message="FAILED")
    code, listing = run(admin_cli, capsys, "dead-letters", "list")
    assert "Outbox rows in DLQ or FAILED: 1" in listing and "b***@example.com" in listing
    assert "budi@example.com" not in listing
    listed = json.loads(run(admin_cli, capsys, "dead-letters", "list", "--json")[1])
    [failed] = listed["outbox"]
    assert (failed["id"], failed["status"], failed["channel"]) == (email_id, "FAILED", "EMAIL")
    assert failed["recipient"] == "b***@example.com" and "SMTP 550" in failed["last_error"]
    assert failed["created_at"].endswith("+07:00") and listed["dead_letters"] == []
    shown = json.loads(run(admin_cli, capsys, "dead-letters", "show", str(email_id), "--json")[1])
    assert shown["error_history"][0]["attempt"] == 1 and shown["recipient"] == "b***@example.com"
    code, shown = run(admin_cli, capsys, "dead-letters", "show", str(email_id))
    assert code == 0 and "Status:      FAILED after 1 attempt" in shown
    assert "#1" in shown and "SMTP 550" in shown
    assert re.search(r"#1 \d+ \w{3} \d{4} \d\d:\d\d WIB permanent: SMTP 550", shown)
    assert "+00:00" not in shown  # times in WIB, as the console shows them
    assert run(admin_cli, capsys, "dead-letters", "requeue", "--all")[0] == 1  # FAILED needs an id
    assert run(admin_cli, capsys, "dead-letters", "requeue", str(email_id))[0] == 0
    wait_for(lambda: status_of(email_id) == "SENT", message="sent after requeue")
    assert AuditEntry.get(AuditEntry.action == "outbox_requeued").details == {"outbox_id": email_id}
    assert run(admin_cli, capsys, "dead-letters", "show", "999999")[0] == 1


def test_an_operator_resend_is_a_new_audited_row(db, worker, sandbox_api, capsys, admin_cli):
    use_policy()
    outbox_ids = queued_order("payment_success")
    order_id = row(outbox_ids["EMAIL"]).order_id
    status_before = Order.get_by_id(order_id).status
    part = order_id[-6:].swapcase()  # an operator reads out any piece, in any case
    code, output = run(
        admin_cli, capsys, "outbox", "resend", part, "payment_success", "--channel", "email"
    )
    assert code == 0 and f"Queued resend of payment_success for {order_id}" in output
    resent = OutboxMessage.get(OutboxMessage.resend_of == outbox_ids["EMAIL"])
    assert resent.channel == "EMAIL" and resent.payload == row(outbox_ids["EMAIL"]).payload
    wait_for(lambda: status_of(resent.id) == "SENT", message="the resend delivered")
    audit = AuditEntry.get(AuditEntry.action == "outbox_resend")
    assert audit.order_id == order_id and audit.details["outbox_ids"] == [resent.id]
    assert Order.get_by_id(order_id).status == status_before
    code, listing = run(admin_cli, capsys, "outbox", "list", "--status", "sent")
    assert code == 0 and "Outbox rows: 1" in listing and str(resent.id) in listing
    listed = json.loads(run(admin_cli, capsys, "outbox", "list", "--order", part, "--json")[1])
    resend_row = next(listed_row for listed_row in listed if listed_row["id"] == resent.id)
    assert resend_row["resend_of"] == outbox_ids["EMAIL"] and resend_row["status"] == "SENT"
    assert resend_row["sent_at"].endswith("+07:00")
    assert resend_row["recipient"] == "b***@example.com"
    assert admin_cli(["outbox", "resend", "BFA-NOPE", "payment_success"]) == 1
    assert "'BFA-NOPE': no order matches" in capsys.readouterr().err
    assert run(admin_cli, capsys, "outbox", "list", "--order", "BFA-NOPE")[0] == 1
    code, output = run(admin_cli, capsys, "outbox", "list", "--order", "BFA-NOPE", "--json")
    assert (code, json.loads(output)) == (1, [])  # stdout still parses
    assert admin_cli(["outbox", "resend", order_id[-3:], "payment_success"]) == 1  # too short
    assert "at least 4 characters" in capsys.readouterr().err
    assert run(admin_cli, capsys, "outbox", "resend", order_id, "order_expired")[0] == 1


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["dead-letters"],
        ["dead-letters", "list"],
        ["dead-letters", "show"],
        ["dead-letters", "requeue"],
        ["dead-letters", "purge"],
        ["outbox"],
        ["outbox", "list"],
        ["outbox", "resend"],
    ],
)
def test_every_command_has_help(argv, capsys, admin_cli):
    with pytest.raises(SystemExit) as exit_code:
        admin_cli([*argv, "--help"])
    assert exit_code.value.code == 0 and "usage: ./run.sh admin" in capsys.readouterr().out


def test_usage_errors_exit_with_2(capsys, admin_cli):
    for argv in (
        ["dead-letters", "purge"],
        ["dead-letters", "purge", "--older-than", "0"],
        ["outbox", "resend", "BFA-1", "no_such_template"],
        ["dead-letters", "requeue", "1", "--all"],
        ["outbox", "list", "--status", "terkirim"],
        ["outbox", "resend", "BFA-1", "payment_success", "--channel", "sms"],
    ):
        with pytest.raises(SystemExit) as exit_code:
            admin_cli(argv)
        assert exit_code.value.code == 2
        assert "<" not in capsys.readouterr().err  # plain values, never `<Channel.EMAIL: ...>`


def test_not_found_goes_to_stderr_with_exit_1(db, capsys, admin_cli):
    for argv in (
        ["dead-letters", "show", "no-such-message"],
        ["dead-letters", "show", "987654"],
        ["dead-letters", "requeue", "no-such-message"],
    ):
        assert admin_cli(argv) == 1
        output, errors = capsys.readouterr()
        assert output == "" and errors.startswith("No "), argv
