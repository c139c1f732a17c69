"""Alarms reach a person: an email to ALERT_EMAIL_TO and every Apprise URL of ALERT_URLS (and
the older ALERT_WEBHOOK_URL, sent through Apprise) when an alarm starts, not again before
ALERT_REPEAT_MINUTES, and once when it clears; an alarm about email itself still goes out by
webhook."""

from __future__ import annotations

import dataclasses
import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from models.db import transaction
from models.outbox_admin import requeue_row
from tasks.alarms import breakers_open_too_long
from tasks.scheduler import workers_missing
from tests.conftest import captured_logs, declared_actor, the_worker, wait_for, with_settings
from tests.notification_helpers import inject, mails, queued_order, status_of, use_policy

OWNER = "owner@buatfilm.id"
HOOK_SECRET = "hook-secret-7f3a"


class AlertReceiver(ThreadingHTTPServer):
    """A chat webhook that remembers what it was posted."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posted: queue.Queue[dict] = queue.Queue()
        self.paths: queue.Queue[str] = queue.Queue()

    @property
    def url(self) -> str:
        """Like a Google Chat webhook: the secret is in the path and the query."""
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/{HOOK_SECRET}?token={HOOK_SECRET}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posted.put(json.loads(body))
        self.server.paths.put(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def receiver():
    server = AlertReceiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def reconfigure(**changes) -> None:
    """The worker with other settings (a revoked token, alert targets)."""
    current = the_worker().services
    changed = with_settings(current.settings, **changes)
    the_worker().services = dataclasses.replace(current, settings=changed)


def check_alarms() -> list[str]:
    run_check = declared_actor("check_alarms")

    return [alarm["name"] for alarm in run_check()]


def alert_mails(sandbox_api) -> list[dict]:
    return [mail for mail in mails(sandbox_api) if mail["rcpt_tos"] == [OWNER]]


def test_a_revoked_whatsapp_token_reaches_the_owner_by_email_once_then_clears(
    db, worker, sandbox_api
):
    deliver_notification = declared_actor("deliver_notification")

    use_policy()
    reconfigure(whatsapp={"token": "revoked-by-meta"}, alerts={"email_to": (OWNER,)})
    whatsapp_id = queued_order("payment_success")["WHATSAPP"]
    deliver_notification.send(whatsapp_id)
    wait_for(lambda: status_of(whatsapp_id) == "FAILED", message="the message FAILED")

    assert "undelivered_whatsapp" in check_alarms()
    [alert] = wait_for(lambda: alert_mails(sandbox_api), message="the alert email")
    assert "ALARM undelivered_whatsapp started" in alert["subject"]
    assert "session has been invalidated" in alert["text"]  # the provider's own reason
    assert "pesan WHATSAPP GAGAL atau di DLQ" in alert["text"]  # and in Indonesian for the owner
    check_alarms()  # a minute later: still holding, not repeated before ALERT_REPEAT_MINUTES
    assert len(alert_mails(sandbox_api)) == 1

    reconfigure(whatsapp={"token": "a-fresh-token"})  # the owner fixed the token, then requeued
    with transaction():
        requeue_row(whatsapp_id, "admin:cli")
    deliver_notification.send(whatsapp_id)
    wait_for(lambda: status_of(whatsapp_id) == "SENT", message="delivered with the new token")
    assert "undelivered_whatsapp" not in check_alarms()
    subjects = [mail["subject"] for mail in alert_mails(sandbox_api)]
    assert subjects[-1].endswith("ALARM undelivered_whatsapp cleared")


def test_an_alarm_about_email_still_reaches_the_webhook(db, worker, sandbox_api, receiver):
    deliver_notification = declared_actor("deliver_notification")

    use_policy()
    reconfigure(alerts={"email_to": (OWNER,), "webhook_url": receiver.url})
    email_id = queued_order("payment_success", email="nobody@example.com")["EMAIL"]
    deliver_notification.send(email_id)
    wait_for(lambda: status_of(email_id) == "FAILED", message="the email FAILED")
    inject(sandbox_api, "mail", down=True)  # and the mail server is down as well
    assert "undelivered_email" in check_alarms()
    posted = receiver.posted.get(timeout=10)
    assert "ALARM undelivered_email started" in posted["text"]
    assert "SMTP recipient refused (550)" in posted["text"]
    inject(sandbox_api, "mail")


def test_the_admin_command_sends_a_test_alert_to_every_target(
    db, sandbox_api, receiver, settings, capsys
):
    from admin.cli import main

    configured = with_settings(settings, alerts={"email_to": (OWNER,), "webhook_url": receiver.url})
    assert main(["-v", "alerts", "test"], configured) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == ["email: sent", "webhook: sent"]
    posted = receiver.posted.get(timeout=10)  # the old webhook keeps its Slack-style body
    assert list(posted) == ["text"] and "ALARM test test" in posted["text"]
    assert receiver.paths.get(timeout=10) == f"/hooks/{HOOK_SECRET}?token={HOOK_SECRET}"
    assert "Alert sent to webhook" in printed.err and HOOK_SECRET not in printed.err  # -v: INFO
    assert "ALARM test test" in alert_mails(sandbox_api)[0]["subject"]
    assert main(["alerts", "test"], settings) == 1  # nowhere to send: says so
    capsys.readouterr()
    assert main(["alerts", "test", "--json"], configured) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"target": "email", "outcome": "sent"},
        {"target": "webhook", "outcome": "sent"},
    ]
    assert main(["alerts", "test", "--json"], settings) == 1
    assert json.loads(capsys.readouterr().out) == []


def apprise_json_url(receiver) -> str:
    return f"json://127.0.0.1:{receiver.server_address[1]}/alarms"


def test_an_alarm_reaches_an_apprise_url_and_an_email_in_both_languages_then_clears(
    db, system, sandbox_api, receiver
):
    from integrations.alarm_targets import AlarmNotice, AlarmSender

    settings = with_settings(
        the_worker().services.settings,
        alerts={"email_to": (OWNER,), "urls": (apprise_json_url(receiver),)},
    )
    sender = AlarmSender(
        settings.alerts, settings.smtp, settings.public_base_url, system["broker"].client
    )
    disk = AlarmNotice("disk_low", "5% disk free on /var", pesan="disk tinggal 5% di /var")
    assert sender.update("worker", [disk]) == [("started", "disk_low")]
    posted = receiver.posted.get(timeout=10)
    assert (posted["type"], receiver.paths.get(timeout=1)) == ("failure", "/alarms")
    assert "ALARM disk_low started" in posted["title"]
    assert "5% disk free on /var" in posted["message"]
    assert "disk tinggal 5% di /var" in posted["message"]
    [mail] = wait_for(lambda: alert_mails(sandbox_api), message="the alert email")
    assert "disk tinggal 5% di /var" in mail["text"]
    assert sender.update("worker", [disk]) == []  # still holding: not before ALERT_REPEAT_MINUTES
    assert sender.update("worker", []) == [("cleared", "disk_low")]
    cleared = receiver.posted.get(timeout=10)
    assert cleared["type"] == "success" and "sudah teratasi" in cleared["message"]


def test_a_target_that_never_answers_does_not_hold_up_the_alarm(
    db, system, sandbox_api, monkeypatch
):
    import socket
    import time

    from integrations import alarm_targets

    monkeypatch.setattr(alarm_targets, "READ_SECONDS", 1.0)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    try:
        port = silent.getsockname()[1]
        settings = with_settings(
            the_worker().services.settings,
            alerts={"email_to": (OWNER,), "urls": (f"json://127.0.0.1:{port}/hang",)},
        )
        client = system["broker"].client
        sender = alarm_targets.AlarmSender(
            settings.alerts, settings.smtp, settings.public_base_url, client
        )
        started = time.monotonic()
        answers = sender.send_test()
        assert time.monotonic() - started < 5
    finally:
        silent.close()
    assert answers == {"email": "sent", "json 1": "failed"}
    assert wait_for(lambda: alert_mails(sandbox_api), message="the email went all the same")


def test_with_no_worker_alive_the_owner_is_told_in_both_languages(db, system, sandbox_api):
    from integrations.alarm_targets import AlarmSender
    from messaging.redis import Enqueuer

    reconfigure(alerts={"email_to": (OWNER,)})
    client = system["broker"].client
    settings = the_worker().services.settings
    sender = AlarmSender(settings.alerts, settings.smtp, settings.public_base_url, client)
    sender.update("scheduler", workers_missing(Enqueuer(client)))
    [alert] = wait_for(lambda: alert_mails(sandbox_api), message="the alert email")
    assert "ALARM workers_missing started" in alert["subject"]
    assert "no worker heartbeat" in alert["text"]
    assert "tidak ada worker yang berjalan" in alert["text"]


def test_a_circuit_open_for_over_five_minutes_is_an_alarm(db, system):
    import time

    from integrations.breaker import ProviderBreaker, circuit_state
    from integrations.errors import RetryableProviderError

    client = system["broker"].client
    breaker = ProviderBreaker(client, "whatsapp", fail_max=1, reset_seconds=600)

    def unreachable():
        raise RetryableProviderError("timed out")

    with pytest.raises(RetryableProviderError):  # the call that trips it
        breaker.call(unreachable)
    assert circuit_state(client, "whatsapp", "dramatiq") == "open"
    now = time.time()
    assert breakers_open_too_long(client, now) == []  # first seen open now
    [alarm] = breakers_open_too_long(client, now + 301)
    assert alarm.name == "circuit_open_whatsapp"


def test_the_alarm_check_run_by_a_worker_gives_dramatiq_nothing_to_warn_about(worker, system):
    job = declared_actor("check_alarms")

    with captured_logs() as lines:
        job.send()
        system["broker"].join(job.queue_name, timeout=20_000)
        worker.join()
    assert not [line for line in lines if "returned a value" in line]
