"""The console's buttons queue recovery work a worker carries out (the web writes nothing),
and no route or form can change an order's payment status."""

from __future__ import annotations

import re

import dramatiq
import falcon.inspect
import falcon.testing
import pytest

from admin.context import cli_actor
from models.audit import AuditEntry
from models.db import connection
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import running_worker
from tests.console_helpers import CONSOLE_PAGES, bury_dead_letter, csrf_token, make_outbox_row
from tests.factories import insert_order
from web.app import create_app


def _audit(action: str) -> list[AuditEntry]:
    with connection():
        return list(AuditEntry.select().where(AuditEntry.action == action))


def _notification_queue_length(system) -> int:
    return system["broker"].client.llen("dramatiq:notifications")


def _run_queued_admin_actions(system) -> None:
    """A worker carries out what the buttons queued (the maintenance queue only), then stops."""
    with running_worker(system["broker"], queues={"maintenance"}, worker_threads=1):
        system["broker"].join("maintenance", timeout=10_000)


def test_requeue_button_gives_a_dead_row_new_attempts_through_the_shared_code(browser, system):
    order_id = insert_order("BFA-REQ-1", "PAID")
    row_id = make_outbox_row(order_id, "DLQ")
    page = browser.get("/admin/outbox", params={"status": "DLQ"})
    assert f'action="/admin/outbox/{row_id}/requeue"' in page.text
    assert "SMTP 451 try 5" in page.text

    done = browser.post(
        f"/admin/outbox/{row_id}/requeue",
        data={"csrf_token": csrf_token(browser), "back": "/admin/outbox"},
    )
    assert done.status_code == 202 and f"Diantrekan: baris kotak keluar {row_id}" in done.text
    with connection():
        assert OutboxMessage.get_by_id(row_id).status == "DLQ"  # the web wrote nothing
    _run_queued_admin_actions(system)
    with connection():
        row = OutboxMessage.get_by_id(row_id)
    assert (row.status, row.attempt_count, len(row.error_history)) == ("PENDING", 0, 5)
    assert _notification_queue_length(system) == 1  # the delivery actor was woken
    [entry] = _audit("outbox_requeued")
    assert (entry.actor, entry.order_id, entry.details["outbox_id"]) == (
        "admin:web",
        order_id,
        row_id,
    )
    assert "outbox_requeued" in browser.get("/admin/outbox").text  # shown on the next view


def test_resend_button_queues_an_audited_copy_and_keeps_the_original(browser, system):
    order_id = insert_order("BFA-RES-1", "PAID")
    row_id = make_outbox_row(order_id, "SENT")
    done = browser.post(f"/admin/outbox/{row_id}/resend", data={"csrf_token": csrf_token(browser)})
    assert done.status_code == 202 and "Diantrekan" in done.text
    _run_queued_admin_actions(system)
    with connection():
        copy = OutboxMessage.get(OutboxMessage.resend_of == row_id)
        assert OutboxMessage.get_by_id(row_id).status == "SENT"
    assert (copy.status, copy.channel, copy.template_name) == (
        "PENDING",
        "EMAIL",
        "payment_success",
    )
    assert _notification_queue_length(system) == 1
    [entry] = _audit("outbox_resend")
    assert entry.actor == "admin:web" and entry.details["outbox_ids"] == [copy.id]


def test_api_actions_refuse_what_the_shared_code_refuses(admin, system):
    order_id = insert_order("BFA-API-ACT", "PAID")
    sent_row = make_outbox_row(order_id, "SENT")
    refused = admin.post(f"/api/admin/outbox/{sent_row}/requeue")
    assert refused.status_code == 409 and "hanya baris DLQ atau FAILED" in refused.json()["message"]
    assert admin.post("/api/admin/outbox/999999/requeue").status_code == 404
    assert admin.post("/api/admin/outbox/999999/resend").status_code == 404
    assert system["broker"].client.llen("dramatiq:maintenance") == 0  # nothing was queued
    dead_row = make_outbox_row(order_id, "DLQ", template="payment_instructions")
    queued = admin.post(f"/api/admin/outbox/{dead_row}/requeue")
    assert queued.status_code == 202 and queued.json() == {
        "ok": True,
        "queued": True,
        "message": f"Diantrekan: baris kotak keluar {dead_row} dikirim ulang.",
    }
    _run_queued_admin_actions(system)
    [entry] = _audit("outbox_requeued")
    assert entry.actor == "admin:web" and entry.details["outbox_id"] == dead_row


def test_a_button_whose_row_changed_before_the_worker_ran_is_refused_in_the_audit(admin, system):
    order_id = insert_order("BFA-API-RACE", "PAID")
    dead_row = make_outbox_row(order_id, "DLQ")
    assert admin.post(f"/api/admin/outbox/{dead_row}/requeue").status_code == 202
    assert admin.post(f"/api/admin/outbox/{dead_row}/requeue").status_code == 202  # twice
    _run_queued_admin_actions(system)
    assert len(_audit("outbox_requeued")) == 1
    [refused] = _audit("outbox_requeue_refused")
    assert refused.details == {"reason": "row is PENDING", "outbox_id": dead_row}


def test_dead_letters_are_listed_and_requeued_from_the_console(browser, system):
    message_id = bury_dead_letter(system["broker"], "deliver_notification", (424242,))
    page = browser.get("/admin/dead-letters")
    assert "deliver_notification" in page.text and "TimeoutError: boom" in page.text
    done = browser.post(
        f"/admin/dead-letters/{message_id}/requeue",
        data={"csrf_token": csrf_token(browser, "/admin/dead-letters")},
    )
    assert done.status_code == 202 and "Diantrekan" in done.text
    client = system["broker"].client
    assert client.zcard("dramatiq:notifications.XQ") == 1  # the web took nothing out
    _run_queued_admin_actions(system)  # the maintenance queue only: the letter stays queued
    assert client.zcard("dramatiq:notifications.XQ") == 0
    [requeued] = client.lrange("dramatiq:notifications", 0, -1)
    again_message = dramatiq.Message.decode(client.hget("dramatiq:notifications.msgs", requeued))
    assert (again_message.message_id, again_message.args) == (message_id, (424242,))
    assert "retries" not in again_message.options  # a fresh round of attempts
    [entry] = _audit("dead_letter_requeued")
    assert entry.actor == "admin:web" and entry.details["message_id"] == message_id
    assert "dead_letter_requeued" in browser.get("/admin/dead-letters").text
    again = browser.post(
        f"/admin/dead-letters/{message_id}/requeue",
        data={"csrf_token": csrf_token(browser, "/admin/dead-letters")},
    )
    assert again.status_code == 404


# --- what the console cannot do ---------------------------------------------------------------

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# Every route that may change anything: the customer's checkout, Midtrans' notifications, Meta's
# WhatsApp status callbacks (they touch messages only), the console's session, the recovery
# actions on messages and the access corrections. None of them sets an order status.
ALLOWED_WRITES = {
    ("/api/checkout", "POST"),
    ("/webhooks/midtrans", "POST"),
    ("/webhooks/whatsapp", "POST"),
    ("/admin/login", "POST"),
    ("/admin/logout", "POST"),
    ("/lupa-tautan", "POST"),  # only enqueues a lookup for a worker
    *(
        (f"{prefix}/{action}", "POST")
        for prefix in ("/admin", "/api/admin")
        for action in (
            "outbox/{outbox_id:int}/resend",
            "outbox/{outbox_id:int}/requeue",
            "dead-letters/{message_id}/requeue",
            "orders/{order_id}/access/revoke",
            "orders/{order_id}/access/grant",
            "packages/{package_id}/price",
            "discounts/create",
            "discounts/{code}/disable",
            # they ask Midtrans; only Midtrans' answer moves the order
            "orders/{order_id}/refund",
            "orders/{order_id}/challenge/approve",
            "orders/{order_id}/challenge/deny",
            "orders/{order_id}/cancel",
        )
    ),
}


def _route_methods(app: falcon.App) -> dict[str, set[str]]:
    """Every route of the app and the methods its resource really answers (not the 405s)."""
    info = falcon.inspect.inspect_app(app)
    assert not info.sinks, "a sink would take every method on every path below it"
    return {
        route.path: {method.method for method in route.methods if not method.internal}
        for route in info.routes
    }


@pytest.fixture
def routes(system) -> dict[str, set[str]]:
    return _route_methods(create_app(system["settings"], system["broker"].client))


def test_only_checkout_webhook_login_and_recovery_routes_accept_writes(routes):
    writes = {
        (path, method)
        for path, methods in routes.items()
        for method in methods
        if method in WRITE_METHODS
    }
    assert writes == ALLOWED_WRITES


def _url_for(template: str, order_id: str) -> str:
    """A real URL for a route template: the order's id, or a harmless value for other fields."""
    return re.sub(r"\{[^}]+\}", "1", template.replace("{order_id}", order_id))


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_no_route_or_form_can_change_an_order_status(browser, admin, routes, method):
    order_id = insert_order("BFA-NOSET-1", "PENDING_PAYMENT")
    token = csrf_token(browser, f"/admin/orders/{order_id}")
    body = {"status": "PAID", "new_status": "PAID", "csrf_token": token}
    refusing = [path for path in routes if (path, method) not in ALLOWED_WRITES]
    for template in refusing:
        path = _url_for(template, order_id)
        client = admin if path.startswith("/api/") else browser
        answer = client.request(method, path, data=body)
        assert answer.status_code == 405, (method, path, answer.status_code)
    with connection():
        assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"
        assert AuditEntry.select().count() == 0


def test_every_console_form_posts_only_to_recovery_access_money_and_catalog_actions(browser):
    order_id = insert_order("BFA-FORMS-1", "PAID")
    make_outbox_row(order_id, "DLQ")
    make_outbox_row(order_id, "SENT", template="payment_instructions")
    allowed = re.compile(
        r"^/admin/(logout|outbox/\d+/(requeue|resend)"
        r"|dead-letters/[\w-]+/requeue|orders/[\w-]+/access/(revoke|grant)"
        r"|packages/[\w-]+/price|discounts/create|discounts/[\w-]+/disable"
        r"|orders/[\w-]+/(refund|challenge/approve|challenge/deny|cancel))$"
    )
    for path in (f"/admin/orders/{order_id}", *CONSOLE_PAGES):
        page = browser.get(path).text
        actions = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page)
        assert actions, path
        assert all(allowed.match(action) for action in actions), (path, actions)


def test_the_command_line_refuses_and_audits_like_the_console_button(
    admin, system, admin_cli, capsys
):
    order_id = insert_order("BFA-ONE-OPERATION", "PAID")
    dead_row = make_outbox_row(order_id, "DLQ")
    assert admin_cli(["dead-letters", "requeue", str(dead_row)]) == 0
    assert admin.post(f"/api/admin/outbox/{dead_row}/requeue").status_code == 409  # pre-check
    assert admin_cli(["dead-letters", "requeue", str(dead_row)]) == 1
    assert "is not in DLQ or FAILED (row is PENDING)" in capsys.readouterr().err
    [requeued] = _audit("outbox_requeued")
    [refused] = _audit("outbox_requeue_refused")
    assert (requeued.actor, refused.actor) == (cli_actor(), cli_actor())
    assert refused.details == {"reason": "row is PENDING", "outbox_id": dead_row}
