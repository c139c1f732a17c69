"""`admin verify` asks the outside world whether the shop's credentials still work: Midtrans
accepts the key, SMTP accepts the login, the WhatsApp token is valid and every template is
approved, a backup is recent and the alert targets answer. Each case is one an operator meets:
a rotated password, a revoked token, a template Meta rejected."""

from __future__ import annotations

import threading
import time

import pytest

from admin.verify import _guarded
from admin.verify_outside import OUTSIDE_CHECKS
from admin.verify_target import Target
from messaging.contract import last_backup_key
from models.messages import whatsapp_templates
from tests.conftest import with_settings
from tests.test_alerts import AlertReceiver

CHECKS = dict(OUTSIDE_CHECKS)


@pytest.fixture
def check(clean, system):
    """Runs one outside check (as `verify` does: an error is a FAIL) with changed settings."""

    def run(name: str, **changes) -> tuple[bool, str]:
        settings = with_settings(system["settings"], **changes)
        result = _guarded(name, CHECKS[name], Target(None, system["broker"].client, "", settings))
        return result.passed, result.detail

    return run


def test_the_sandbox_accounts_pass(check):
    assert check("midtrans key")[0]
    assert check("smtp login")[0]
    assert check("whatsapp token") == (True, "valid for Buat Film Pakai AI; Graph API v26.0")
    every_template = len(whatsapp_templates())  # the sandbox has each one approved
    assert check("whatsapp templates") == (True, f"{every_template} templates APPROVED")


def test_a_wrong_midtrans_key_fails(check):
    passed, detail = check("midtrans key", midtrans={"server_key": "SB-Mid-server-old-key"})
    assert not passed
    assert "HTTP 401" in detail and "MIDTRANS_SERVER_KEY" in detail


def test_a_rotated_smtp_password_fails_and_the_right_one_passes(check):
    user = {"user": "kursus@buatfilm.id"}
    passed, detail = check("smtp login", smtp={"password": "wrong-old-password", **user})
    assert not passed and "535" in detail
    passed, detail = check("smtp login", smtp={"password": "current-password", **user})
    assert passed and "logged in as k***@buatfilm.id" in detail


def test_a_revoked_whatsapp_token_fails_both_whatsapp_checks(check):
    passed, detail = check("whatsapp token", whatsapp={"token": "revoked-by-meta"})
    assert not passed and "token refused, HTTP 401" in detail and "code 190" in detail
    assert not check("whatsapp templates", whatsapp={"token": "revoked-by-meta"})[0]


def test_a_rejected_or_missing_template_fails(check, sandbox_api):
    sandbox_api.put("/_sandbox/whatsapp/templates/payment_success", json={"status": "REJECTED"})
    sandbox_api.delete("/_sandbox/whatsapp/templates/order_expired")
    assert check("whatsapp templates") == (False, "payment_success REJECTED, order_expired MISSING")


def test_templates_need_the_business_account_id(check):
    passed, detail = check("whatsapp templates", whatsapp={"business_account_id": ""})
    assert not passed and "WHATSAPP_BUSINESS_ACCOUNT_ID" in detail


def test_a_backup_older_than_26_hours_fails(check, system):
    assert check("backup fresh")[0] is False  # never backed up
    redis = system["broker"].client
    redis.set(last_backup_key(), int(time.time() - 27 * 3600))
    assert check("backup fresh") == (False, "last backup 27.0 h ago (over 26 h)")
    redis.set(last_backup_key(), int(time.time() - 3600))
    assert check("backup fresh") == (True, "last backup 1.0 h ago")


def test_alert_targets_get_a_test_alert(check, sandbox_api):
    receiver = AlertReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        passed, detail = check(
            "alert targets answer",
            alerts={"email_to": ("owner@buatfilm.id",), "webhook_url": receiver.url},
        )
        assert (passed, detail) == (True, "test alert: email sent, webhook sent")
        assert "ALARM test test" in receiver.posted.get(timeout=5)["text"]
        mails = sandbox_api.get("/_sandbox/mail").json()
        assert [mail["rcpt_tos"] for mail in mails] == [["owner@buatfilm.id"]]
    finally:
        receiver.shutdown()


def test_an_alert_webhook_that_does_not_answer_fails(check):
    passed, detail = check(
        "alert targets answer", alerts={"webhook_url": "http://127.0.0.1:9/hook"}
    )
    assert not passed and detail.startswith("test alert: webhook failed")


def test_a_real_shop_without_alert_targets_fails(check):
    assert check("alert targets answer")[0]  # the sandbox needs nobody told
    passed, detail = check("alert targets answer", midtrans={"server_key": "Mid-server-real"})
    assert not passed and "ALERT_EMAIL_TO" in detail


@pytest.mark.parametrize(
    "name, body, expected",
    [
        ("whatsapp token", {"error": "Bad Gateway"}, "HTTP 502: Bad Gateway"),
        ("whatsapp token", {"error": ["upstream", "timeout"]}, "HTTP 502: ['upstream', 'timeout']"),
        ("whatsapp token", {"message": "no envelope"}, "HTTP 502: no error in the answer"),
        ("whatsapp templates", {"error": "Bad Gateway"}, "HTTP 502: Bad Gateway"),
    ],
)
def test_a_graph_error_of_an_unexpected_shape_fails_with_what_it_said(
    check, sandbox_api, name, body, expected
):
    """A proxy in front of Meta, or a changed API, answers without Graph's error envelope:
    verify reports what came back instead of an AttributeError."""
    plan = {"fail_next": 1, "status": 502, "body": body}
    sandbox_api.post("/_sandbox/whatsapp/faults", json=plan).raise_for_status()
    passed, detail = check(name)
    assert not passed and expected in detail and "Error" not in detail.split(":")[0]


def test_a_template_list_of_an_unexpected_shape_fails_and_says_so(check, sandbox_api):
    plan = {"fail_next": 1, "status": 200, "body": {"data": "payment_success"}}
    sandbox_api.post("/_sandbox/whatsapp/faults", json=plan).raise_for_status()
    passed, detail = check("whatsapp templates")
    assert not passed
    assert detail == "HTTP 200 without a template list: {'data': 'payment_success'}"


def test_a_message_answered_without_graphs_envelope_is_retried_with_what_it_said(
    clean, system, sandbox_api
):
    from integrations.errors import RetryableProviderError
    from integrations.whatsapp import WhatsAppClient

    settings = system["settings"]
    plan = {"fail_next": 1, "status": 502, "body": {"error": "Bad Gateway"}}
    sandbox_api.post("/_sandbox/whatsapp/faults", json=plan).raise_for_status()
    client = WhatsAppClient(settings.whatsapp)
    try:
        with pytest.raises(RetryableProviderError, match="HTTP 502 Bad Gateway"):
            client.send_template("+6281234567890", "payment_success", ["Sari"])
    finally:
        client.close()
