"""The operator's console: only the token holder gets in, finds orders, reads what happened to
one, recovers notifications through the command line's code, and can never set a status."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import dramatiq
import falcon.inspect
import falcon.testing
import httpx
import pytest
from loguru import logger

from models.audit import AuditEntry
from models.base import utcnow
from models.db import connection
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import ADMIN_TOKEN, wait_for
from tests.factories import VALID_CHECKOUT, insert_order
from web.app import create_app


@pytest.fixture
def admin(console, clean):
    """The JSON API with the bearer token."""
    with httpx.Client(
        base_url=console, timeout=10, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as client:
        yield client


@pytest.fixture
def browser(console, clean):
    """A signed-in browser session (cookie jar), as after the login form."""
    with httpx.Client(base_url=console, timeout=10) as client:
        response = client.post("/admin/login", data={"token": ADMIN_TOKEN, "next": "/admin"})
        assert response.status_code == 303
        yield client


def make_outbox_row(order_id: str, status: str, template: str = "payment_success") -> int:
    sent = {"sent_at": utcnow()} if status == "SENT" else {}
    history = (
        [
            {
                "attempt": n,
                "at": utcnow().isoformat(),
                "kind": "transient",
                "error": f"SMTP 451 try {n}",
            }
            for n in range(1, 6)
        ]
        if status == "DLQ"
        else []
    )
    with connection():
        return OutboxMessage.insert(
            order=order_id,
            channel="EMAIL",
            template_name=template,
            recipient="budi@example.com",
            payload={"order_id": order_id},
            status=status,
            attempt_count=len(history),
            error_history=history,
            last_error=history[-1]["error"] if history else None,
            **sent,
        ).execute()


def csrf_token(browser: httpx.Client, path: str = "/admin/outbox") -> str:
    page = browser.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]


# --- who gets in ------------------------------------------------------------------------------


def test_pages_send_a_stranger_to_the_login_form_and_the_api_answers_401(console, clean):
    page = httpx.get(f"{console}/admin/orders?status=PAID")
    assert page.status_code == 303
    assert page.headers["location"] == "/admin/login?next=%2Fadmin%2Forders%3Fstatus%3DPAID"
    api = httpx.get(f"{console}/api/admin/orders")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == "Bearer"
    assert (
        httpx.get(
            f"{console}/api/admin/orders", headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 401
    )
    assert httpx.get(f"{console}/admin/login").status_code == 200


def test_login_sets_a_strict_httponly_session_cookie_and_opens_the_console(console, clean):
    with httpx.Client(base_url=console) as client:
        login = client.post("/admin/login", data={"token": ADMIN_TOKEN, "next": "/admin/outbox"})
        assert login.status_code == 303 and login.headers["location"] == "/admin/outbox"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie  # PUBLIC_BASE_URL is http:// in tests
        page = client.get("/admin/orders")
        assert page.status_code == 200 and "<h1>Orders" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert (
            client.post("/admin/logout", data={"csrf_token": csrf_token(client)}).status_code == 303
        )
        assert client.get("/admin/orders").status_code == 303


def test_cookie_is_secure_when_the_site_is_https(system, clean):
    settings = dataclasses.replace(system["settings"], public_base_url="https://shop.example")
    client = falcon.testing.TestClient(create_app(settings, system["broker"].client))
    login = client.simulate_post(
        "/admin/login",
        body=f"token={ADMIN_TOKEN}",
        content_type="application/x-www-form-urlencoded",
    )
    assert login.status_code == 303
    assert "Secure" in login.headers["set-cookie"]


def test_a_forged_cookie_or_a_form_without_its_token_is_refused(browser, console):
    forged = httpx.get(
        f"{console}/admin/orders", cookies={"bfa_admin_session": "abc.1700000000.deadbeef"}
    )
    assert forged.status_code == 303
    order_id = insert_order("BFA-CSRF-1", "PAID")
    row_id = make_outbox_row(order_id, "SENT")
    assert browser.post(f"/admin/outbox/{row_id}/resend", data={}).status_code == 403
    assert (
        browser.post(f"/admin/outbox/{row_id}/resend", data={"csrf_token": "0" * 64}).status_code
        == 403
    )
    with connection():
        assert OutboxMessage.select().count() == 1


def test_wrong_tokens_lock_the_client_out_even_with_the_right_token(console, clean):
    with httpx.Client(base_url=console) as client:
        answers = [
            client.get(
                "/api/admin/orders", headers={"Authorization": f"Bearer guess{n}"}
            ).status_code
            for n in range(5)
        ]
        assert answers == [401] * 5
        locked = client.get("/api/admin/orders", headers={"Authorization": "Bearer guess6"})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
        right = client.get("/api/admin/orders", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert right.status_code == 429
        form = client.post("/admin/login", data={"token": ADMIN_TOKEN})
        assert form.status_code == 429


def test_failed_logins_count_towards_the_lock(console, clean):
    with httpx.Client(base_url=console) as client:
        answers = [
            client.post("/admin/login", data={"token": f"guess{n}"}).status_code for n in range(6)
        ]
        assert answers == [401] * 5 + [429]
        assert (
            "not the admin token"
            not in client.post("/admin/login", data={"token": ADMIN_TOKEN}).text
        )


def test_the_bearer_token_reads_every_json_twin(admin):
    insert_order("BFA-API-1")
    for path in (
        "/api/admin/orders",
        "/api/admin/orders/BFA-API-1",
        "/api/admin/outbox",
        "/api/admin/dead-letters",
        "/api/admin/health",
    ):
        response = admin.get(path)
        assert response.status_code == 200, path
    assert admin.get("/api/admin/orders/NOPE").status_code == 404


# --- finding orders ---------------------------------------------------------------------------


def _found(admin, **params) -> list[str]:
    response = admin.get("/api/admin/orders", params=params)
    assert response.status_code == 200, response.text
    return [order["order_id"] for order in response.json()["orders"]]


def test_search_by_order_id_email_or_phone_and_filter_by_status_and_date(admin):
    # Both on the 30th in UTC; the console's days are WIB (UTC+7) days.
    just_after_midnight_wib = datetime(2026, 1, 30, 17, 30, tzinfo=UTC)  # 00:30 WIB, 31st
    insert_order("BFA-SRCH-A", "PAID", email="Siti@Example.com", created_at=just_after_midnight_wib)
    insert_order(
        "BFA-SRCH-B",
        "PENDING_PAYMENT",
        phone="+6281299990000",
        created_at=just_after_midnight_wib - timedelta(hours=1),
    )  # 23:30 WIB, 30th
    insert_order("BFA-OTHER-C", "EXPIRED", created_at=just_after_midnight_wib + timedelta(days=3))

    assert _found(admin, q="BFA-SRCH-A") == ["BFA-SRCH-A"]
    assert _found(admin, q="BFA-SRCH") == ["BFA-SRCH-A", "BFA-SRCH-B"]
    assert _found(admin, q="siti@example.COM") == ["BFA-SRCH-A"]
    assert _found(admin, q="0812-9999-0000") == ["BFA-SRCH-B"]
    assert _found(admin, q="6281299990000") == ["BFA-SRCH-B"]
    assert _found(admin, status="expired") == ["BFA-OTHER-C"]
    assert _found(admin, since="2026-01-31", until="2026-01-31") == ["BFA-SRCH-A"]
    assert _found(admin, until="2026-01-30") == ["BFA-SRCH-B"]
    assert _found(admin, q="BFA-SRCH", status="PAID") == ["BFA-SRCH-A"]
    assert _found(admin, q="100%") == []
    assert admin.get("/api/admin/orders", params={"status": "SHIPPED"}).status_code == 400
    assert admin.get("/api/admin/orders", params={"since": "31/01/2026"}).status_code == 400


@pytest.fixture
def bare_console(system, clean):
    """Only the console's routes, without the web's middleware: its own checks must hold."""
    from web.admin import add_admin_routes
    from web.queue import TaskQueue

    app = falcon.App()
    client = system["broker"].client
    add_admin_routes(app, system["settings"], client, TaskQueue(client))
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/admin/orders", {"page": "99999999999999999999"}),
        ("/api/admin/orders", {"page": "10001"}),
        ("/api/admin/outbox", {"page": "99999999999999999999"}),
        ("/api/admin/orders", {"q": "BFA\x00"}),
        ("/api/admin/orders", {"since": "2026-13-45"}),
        ("/api/admin/orders", {"until": "9999-12-31"}),
        ("/api/admin/orders", {"until": "2026-01-31junk"}),
        ("/api/admin/orders", {"created_from": "2026-01-01"}),
        ("/api/admin/outbox", {"state": "DLQ"}),
    ],
)
def test_parameters_the_database_cannot_take_or_the_list_does_not_know_are_a_400(
    bare_console, path, params
):
    answer = bare_console.simulate_get(path, params=params)
    assert answer.status_code == 400, answer.text


def test_an_unknown_parameter_is_named_with_the_ones_the_list_takes(admin):
    answer = admin.get("/api/admin/orders", params={"created_from": "2026-13-45"})
    assert answer.status_code == 400
    assert answer.json() == {
        "title": "Unknown parameter 'created_from'",
        "description": "This list takes: q, status, since, until, page.",
    }
    assert admin.get("/api/admin/orders", params={"page": 10_000}).json()["orders"] == []


def test_an_order_id_no_order_can_have_is_not_found(bare_console):
    for order_id in ("BFA\x00", "x" * 51, "a b"):
        assert bare_console.simulate_get(f"/api/admin/orders/{order_id}").status_code == 404


def test_the_reviewers_urls_are_refused_through_the_whole_web_never_a_500(admin):
    for url in (
        "/api/admin/orders?page=99999999999999999999",
        "/api/admin/orders?q=%00",
        "/api/admin/orders/%00",
        "/api/admin/orders?created_from=2026-13-45",
    ):
        assert admin.get(url).status_code in (400, 404), url


def test_the_page_shows_why_a_search_was_refused(browser):
    page = browser.get("/admin/orders", params={"since": "2026-13-45"})
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "since must be a date like 2026-01-31" in page.text and "Sign out" in page.text
    assert "Unknown parameter" in browser.get("/admin/orders?created_from=2026-01-01").text
    missing = browser.get("/admin/orders/BFA-NOPE-1")
    assert missing.status_code == 404 and "No order BFA-NOPE-1" in missing.text


def test_orders_are_paginated_newest_first(admin):
    start = utcnow() - timedelta(days=1)
    for n in range(55):
        insert_order(f"BFA-PAGE-{n:02d}", created_at=start + timedelta(minutes=n))
    first = admin.get("/api/admin/orders").json()
    second = admin.get("/api/admin/orders", params={"page": 2}).json()
    assert (first["total"], first["pages"], len(first["orders"])) == (55, 2, 50)
    assert first["orders"][0]["order_id"] == "BFA-PAGE-54"
    assert [order["order_id"] for order in second["orders"]] == [
        f"BFA-PAGE-{n:02d}" for n in range(4, -1, -1)
    ]


def test_the_orders_page_shows_the_customer_and_keeps_filters_in_the_pager(browser):
    for n in range(51):
        insert_order(f"BFA-HTML-{n:02d}", "PAID", email="rina@example.com")
    page = browser.get("/admin/orders", params={"q": "rina@example.com", "status": "PAID"})
    assert page.status_code == 200
    assert "rina@example.com" in page.text and "+6281234567890" in page.text
    assert "Rp 99.000" in page.text
    assert 'href="/admin/orders?q=rina%40example.com&amp;status=PAID' in page.text
    assert "page 1 of 2" in page.text


def test_personal_data_searched_in_the_console_is_not_logged(browser):
    insert_order("BFA-LOG-1", email="private.person@example.com", phone="+6281277778888")
    lines: list[str] = []
    sink = logger.add(
        lambda message: lines.append(str(message)),
        level="DEBUG",
        filter=lambda record: record["name"] != "httpx._client",
    )  # the test's own
    try:
        for query in ("private.person@example.com", "081277778888"):
            assert "BFA-LOG-1" in browser.get("/admin/orders", params={"q": query}).text
        browser.get("/admin/orders/BFA-LOG-1")
    finally:
        logger.remove(sink)
    assert lines, "the requests were logged"
    logged = "\n".join(lines)
    assert "private.person" not in logged and "77778888" not in logged


# --- one order's story ------------------------------------------------------------------------


def test_the_timeline_tells_what_happened_after_a_real_checkout_and_payment(
    http, sandbox_api, worker, admin, browser
):
    order_id = http.post("/api/checkout", json=VALID_CHECKOUT).json()["order_id"]
    wait_for(
        lambda: (
            admin.get(f"/api/admin/orders/{order_id}").status_code == 200
            and admin.get(f"/api/admin/orders/{order_id}").json()["order"]["status"]
            == "PENDING_PAYMENT"
        ),
        message="payment link",
    )
    sandbox_api.post(
        f"/_sandbox/midtrans/transactions/{order_id}/transition",
        json={"transaction_status": "settlement", "payment_type": "bank_transfer"},
    ).raise_for_status()
    story = wait_for(
        lambda: (
            lambda body: body if body["entitlement"] and body["order"]["status"] == "PAID" else None
        )(admin.get(f"/api/admin/orders/{order_id}").json()),
        message="access granted",
    )

    assert story["order"]["status"] == "PAID"
    assert story["order"]["customer_email"] == VALID_CHECKOUT["email"]
    assert [attempt["kind"] for attempt in story["attempts"]] == ["SNAP_CREATED"]
    settlement = story["notifications"][-1]
    assert settlement["transaction_status"] == "settlement" and settlement["processed"]
    assert settlement["raw"]["order_id"] == order_id
    assert settlement["raw"]["signature_key"].endswith("***")
    changes = [(e["old_status"], e["new_status"]) for e in story["audit"] if e["new_status"]]
    assert changes[0] == (None, "CREATED") and changes[-1] == ("PENDING_PAYMENT", "PAID")
    assert story["entitlement"]["status"] == "ACTIVE"
    assert story["entitlement"]["access_token"].endswith("***")
    templates = {(m["channel"], m["template_name"]) for m in story["outbox"]}
    assert {
        ("EMAIL", "payment_success"),
        ("WHATSAPP", "payment_success"),
        ("EMAIL", "payment_instructions"),
    } <= templates
    kinds = [moment["kind"] for moment in story["timeline"]]
    assert kinds.index("payment attempt") < kinds.index("access granted")

    page = browser.get(f"/admin/orders/{order_id}").text
    assert "settlement" in page and "SNAP_CREATED" in page and "payment_success" in page
    assert VALID_CHECKOUT["email"] in page and "ACTIVE" in page


# --- recovering notifications -----------------------------------------------------------------


def _audit(action: str) -> list[AuditEntry]:
    with connection():
        return list(AuditEntry.select().where(AuditEntry.action == action))


def _notification_queue_length(system) -> int:
    return system["broker"].client.llen("dramatiq:notifications")


def _run_queued_admin_actions(system) -> None:
    """A worker carries out what the buttons queued (the maintenance queue only), then stops."""
    worker = dramatiq.Worker(
        system["broker"], queues={"maintenance"}, worker_threads=1, worker_timeout=100
    )
    worker.start()
    try:
        system["broker"].join("maintenance", timeout=10_000)
    finally:
        worker.stop()


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
    assert done.status_code == 202 and f"Queued: outbox row {row_id}" in done.text
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
    assert done.status_code == 202 and "Queued" in done.text
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
    assert refused.status_code == 409 and "only DLQ or FAILED" in refused.json()["message"]
    assert admin.post("/api/admin/outbox/999999/requeue").status_code == 404
    assert admin.post("/api/admin/outbox/999999/resend").status_code == 404
    assert system["broker"].client.llen("dramatiq:maintenance") == 0  # nothing was queued
    dead_row = make_outbox_row(order_id, "DLQ", template="payment_instructions")
    queued = admin.post(f"/api/admin/outbox/{dead_row}/requeue")
    assert queued.status_code == 202 and queued.json() == {
        "ok": True,
        "queued": True,
        "message": f"Queued: outbox row {dead_row} goes back to delivery.",
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


def _bury(system, actor_name: str, args: tuple) -> str:
    """A dead letter exactly as Dramatiq leaves one: in the queue's XQ zset and hash."""
    broker = system["broker"]
    message = dramatiq.Message(
        queue_name="maintenance",
        actor_name=actor_name,
        args=args,
        kwargs={},
        options={"redis_message_id": "redis-id-1", "retries": 3},
    )
    broker.client.zadd("dramatiq:maintenance.XQ", {"redis-id-1": 1_700_000_000_000})
    broker.client.hset("dramatiq:maintenance.XQ.msgs", "redis-id-1", message.encode())
    broker.client.hset("dramatiq:dead-letter-errors", message.message_id, "TimeoutError: boom")
    return message.message_id


def test_dead_letters_are_listed_and_requeued_from_the_console(browser, system, sandbox_api):
    message_id = _bury(system, "reconcile_order", ("BFA-DEAD-1",))
    page = browser.get("/admin/dead-letters")
    assert "reconcile_order" in page.text and "TimeoutError: boom" in page.text
    done = browser.post(
        f"/admin/dead-letters/{message_id}/requeue",
        data={"csrf_token": csrf_token(browser, "/admin/dead-letters")},
    )
    assert done.status_code == 202 and "Queued" in done.text
    client = system["broker"].client
    assert client.zcard("dramatiq:maintenance.XQ") == 1  # the web took nothing out
    _run_queued_admin_actions(system)
    assert client.zcard("dramatiq:maintenance.XQ") == 0
    asked = [r["path"] for r in sandbox_api.get("/_sandbox/midtrans/requests").json()]
    assert "/v2/BFA-DEAD-1/status" in asked  # the requeued reconcile_order ran again
    [entry] = _audit("dead_letter_requeued")
    assert entry.actor == "admin:web" and entry.details["message_id"] == message_id
    again = browser.post(
        f"/admin/dead-letters/{message_id}/requeue",
        data={"csrf_token": csrf_token(browser, "/admin/dead-letters")},
    )
    assert again.status_code == 404


# --- what the console cannot do ---------------------------------------------------------------

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Every route that may change anything: the customer's checkout, Midtrans' notifications, the
# console's session, and the recovery actions on messages. None of them sets an order status.
ALLOWED_WRITES = {
    ("/api/checkout", "POST"),
    ("/webhooks/midtrans", "POST"),
    ("/admin/login", "POST"),
    ("/admin/logout", "POST"),
    *(
        (f"{prefix}/{action}", "POST")
        for prefix in ("/admin", "/api/admin")
        for action in (
            "outbox/{outbox_id:int}/resend",
            "outbox/{outbox_id:int}/requeue",
            "dead-letters/{message_id}/requeue",
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


def test_every_console_form_posts_only_to_recovery_actions(browser):
    order_id = insert_order("BFA-FORMS-1", "PAID")
    make_outbox_row(order_id, "DLQ")
    make_outbox_row(order_id, "SENT", template="payment_instructions")
    allowed = re.compile(
        r"^/admin/(logout|outbox/\d+/(requeue|resend)"
        r"|dead-letters/[\w-]+/requeue)$"
    )
    for path in (
        f"/admin/orders/{order_id}",
        "/admin/orders",
        "/admin/outbox",
        "/admin/dead-letters",
        "/admin/health",
    ):
        page = browser.get(path).text
        actions = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page)
        assert actions, path
        assert all(allowed.match(action) for action in actions), (path, actions)
