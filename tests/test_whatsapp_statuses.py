"""WhatsApp delivery you can see: Meta's webhook handshake and signed status callbacks over real
HTTP, stored by the worker on the outbox row (real PostgreSQL, Redis, Dramatiq and the sandbox's
Cloud API stand-in, which sends the callbacks signed like Meta), and the last double send closed:
an interrupted WhatsApp row waits for its callback before it is sent again."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from harness.sandbox.server import SandboxConfig, start_sandbox
from integrations.signature import meta_signature
from integrations.whatsapp import WhatsAppClient
from tasks.delivery import requeue_due_deliveries
from tests.conftest import declared_actor, the_worker, wait_for
from tests.notification_helpers import (
    inject,
    mails,
    queued_order,
    row,
    status_of,
    use_policy,
    whatsapp_messages,
)
from tests.test_delivery import crash_after_claiming

APP_SECRET = "sandbox-whatsapp-app-secret"  # the settings' default, which the sandbox signs with


def handshake(http, **params):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"} | params
    return http.get("/webhooks/whatsapp", params=query)


def test_meta_verifies_the_webhook_with_our_verify_token_and_gets_its_challenge_back(http):
    answer = handshake(http, **{"hub.verify_token": "sandbox-whatsapp-verify-token"})
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert answer.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.verify_token": "a-guess"},
        {},
        {"hub.verify_token": "sandbox-whatsapp-verify-token", "hub.mode": "unsubscribe"},
    ],
)
def test_a_handshake_without_our_verify_token_is_refused(http, params):
    assert handshake(http, **params).status_code == 403


def post_callback(http, raw: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return http.post("/webhooks/whatsapp", content=raw, headers=headers)


def test_a_status_callback_without_metas_signature_is_refused_before_its_body_is_read(
    http, clean, broker
):
    raw = b'{"object": "whatsapp_business_account", "entry": []}'
    assert post_callback(http, raw, None).status_code == 401
    assert post_callback(http, raw, meta_signature(raw, "not-the-secret")).status_code == 401
    assert post_callback(http, b"not json", "sha256=00").status_code == 401  # not a 400
    signed_garbage = meta_signature(b"not json", APP_SECRET)
    assert post_callback(http, b"not json", signed_garbage).status_code == 400
    assert broker.client.llen("dramatiq:webhooks") == 0


def test_an_oversized_status_callback_is_refused(http, clean):
    raw = b" " * (1024 * 1024 + 1)
    assert post_callback(http, raw, meta_signature(raw, APP_SECRET)).status_code == 413


def send_status(sandbox_api, message_id: str, status: str, **extra) -> None:
    answer = sandbox_api.post(
        "/_sandbox/whatsapp/statuses", json={"id": message_id, "status": status} | extra
    )
    answer.raise_for_status()
    assert answer.json()["shop_status"] == 200


def delivered_whatsapp(template_name: str = "payment_success") -> int:
    whatsapp_id = queued_order(template_name)["WHATSAPP"]
    declared_actor("deliver_notification").send(whatsapp_id)
    wait_for(lambda: status_of(whatsapp_id) == "SENT", message="the WhatsApp message SENT")
    return whatsapp_id


def test_delivered_and_read_are_shown_and_a_late_delivered_never_moves_read_back(
    db, worker, web, sandbox_api, browser
):
    use_policy()
    whatsapp_id = delivered_whatsapp()
    message_id = row(whatsapp_id).provider_message_id
    [sent] = whatsapp_messages(sandbox_api)
    assert sent["body"]["biz_opaque_callback_data"] == str(whatsapp_id)

    send_status(sandbox_api, message_id, "sent")
    send_status(sandbox_api, message_id, "read")  # out of order: read before delivered
    wait_for(lambda: row(whatsapp_id).delivery_status == "read", message="read stored")
    send_status(sandbox_api, message_id, "delivered")
    send_status(sandbox_api, message_id, "failed")  # nor does a failure after it was read
    the_worker().services.broker.join("webhooks", timeout=10_000)

    stored = row(whatsapp_id)
    assert (stored.status, stored.delivery_status) == ("SENT", "read")
    page = browser.get(f"/admin/orders/{stored.order_id}")
    assert "WhatsApp: dibaca" in page.text


def test_a_message_meta_fails_after_accepting_it_is_undelivered_with_metas_error_and_alarms(
    db, worker, sandbox_api
):
    use_policy()
    inject(sandbox_api, "whatsapp", fail_after_accept=1)
    rows = queued_order("payment_success")
    for outbox_id in rows.values():
        declared_actor("deliver_notification").send(outbox_id)

    wait_for(lambda: status_of(rows["WHATSAPP"]) == "FAILED", message="failed by its callback")
    failed = row(rows["WHATSAPP"])
    assert failed.delivery_status == "failed"
    assert "Message undeliverable (code 131026)" in failed.last_error
    assert failed.error_history[-1]["kind"] == "undelivered"
    wait_for(lambda: status_of(rows["EMAIL"]) == "SENT", message="the email still goes")
    assert len(mails(sandbox_api)) == 1
    alarms = [alarm["name"] for alarm in declared_actor("check_alarms")()]
    assert "undelivered_whatsapp" in alarms


def killed_after_meta_accepted(whatsapp_id: int) -> str:
    """A worker claimed the row, Meta accepted the message, and the worker was killed before it
    kept a receipt or wrote SENT (the hostile run's double send). Returns Meta's wamid."""
    claimed = crash_after_claiming(whatsapp_id)
    return the_worker().services.channels.deliver(claimed)


def test_an_interrupted_whatsapp_message_meta_reports_sent_is_recorded_not_sent_again(
    db, worker, web, sandbox_api
):
    use_policy(whatsapp_status_grace_seconds=30.0)
    whatsapp_id = queued_order("payment_success")["WHATSAPP"]
    message_id = killed_after_meta_accepted(whatsapp_id)

    assert requeue_due_deliveries(the_worker().services) == 1
    assert status_of(whatsapp_id) == "RETRYING"  # waiting for the callback, not resent yet
    send_status(sandbox_api, message_id, "sent")

    wait_for(lambda: status_of(whatsapp_id) == "SENT", message="recorded from the callback")
    recorded = row(whatsapp_id)
    assert recorded.provider_message_id == message_id
    assert recorded.delivery_status == "sent"
    assert recorded.error_history[0]["kind"] == "interrupted"
    assert len(whatsapp_messages(sandbox_api)) == 1


def test_an_interrupted_whatsapp_message_with_no_callback_is_sent_again_after_the_grace(
    db, worker, sandbox_api
):
    use_policy(whatsapp_status_grace_seconds=2.0)
    whatsapp_id = queued_order("payment_success")["WHATSAPP"]
    crash_after_claiming(whatsapp_id)  # killed before Meta took it: no callback will come

    assert requeue_due_deliveries(the_worker().services) == 1
    assert whatsapp_messages(sandbox_api) == []  # the grace first
    wait_for(lambda: status_of(whatsapp_id) == "SENT", message="sent after the grace")
    assert len(whatsapp_messages(sandbox_api)) == 1


def test_statuses_of_messages_that_are_not_ours_change_nothing(db, worker, http):
    use_policy()
    whatsapp_id = delivered_whatsapp()
    callback = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "statuses": [
                                {"id": "wamid.someone-else", "status": "failed"},
                                # our row id, but the row went out as another message
                                {
                                    "id": "wamid.x",
                                    "status": "sent",
                                    "biz_opaque_callback_data": str(whatsapp_id),
                                },
                                {"status": "read"},
                                "garbage",
                            ]
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(callback).encode()
    assert post_callback(http, raw, meta_signature(raw, APP_SECRET)).status_code == 200
    the_worker().services.broker.join("webhooks", timeout=10_000)
    stored = row(whatsapp_id)
    assert (stored.status, stored.delivery_status) == ("SENT", None)


def test_the_sandbox_reports_every_accepted_message_like_meta_when_asked(db, worker, web):
    """A sandbox configured as `./run.sh sandbox` and the hostile run start it: Meta's `sent` and
    `delivered` follow each accepted message on their own, signed, echoing the row id."""
    reporting = start_sandbox(
        SandboxConfig(
            http_port=0,
            smtp_port=0,
            notification_url=f"{web}/webhooks/midtrans",
            whatsapp_status_callbacks=("sent", "delivered"),
        )
    )
    try:
        whatsapp_id = queued_order("payment_success")["WHATSAPP"]
        crash_after_claiming(whatsapp_id)  # its worker died after Meta accepted (below)
        settings = the_worker().services.settings.whatsapp
        client = WhatsAppClient(replace(settings, api_url=f"{reporting.base_url}/v26.0"))
        message_id = client.send_template(
            "+6281234567890", "payment_success", ["Sari"], callback_data=str(whatsapp_id)
        )
        wait_for(lambda: row(whatsapp_id).delivery_status == "delivered", message="delivered")
    finally:
        reporting.stop()
    recorded = row(whatsapp_id)
    assert (recorded.status, recorded.provider_message_id) == ("SENT", message_id)
