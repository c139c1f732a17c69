"""Who gets into the operator's console: only the holder of ADMIN_TOKEN, with a strict session
cookie, CSRF tokens on forms and a lock-out for guessers."""

from __future__ import annotations

import dataclasses
import re

import falcon.inspect
import falcon.testing
import httpx

from models.db import connection
from models.outbox import OutboxMessage
from tests.conftest import ADMIN_TOKEN, free_port
from tests.console_helpers import csrf_token, make_outbox_row
from tests.factories import insert_order
from web.app import create_app


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
        assert page.status_code == 200 and "<h1>Pesanan" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert (
            client.post("/admin/logout", data={"csrf_token": csrf_token(client)}).status_code == 303
        )
        assert client.get("/admin/orders").status_code == 303


def test_logging_out_ends_the_session_for_a_copied_cookie_too(console, clean):
    def sign_in(client: httpx.Client) -> None:
        assert client.post("/admin/login", data={"token": ADMIN_TOKEN}).status_code == 303

    with httpx.Client(base_url=console) as laptop, httpx.Client(base_url=console) as phone:
        sign_in(laptop)
        sign_in(phone)
        copied = dict(laptop.cookies)  # e.g. read off a shared computer before logging out
        logout = laptop.post("/admin/logout", data={"csrf_token": csrf_token(laptop)})
        assert logout.status_code == 303
        with httpx.Client(base_url=console, cookies=copied) as thief:
            answer = thief.get("/admin/orders")
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/admin/login")
            assert thief.get("/health").status_code == 401  # nor the operator's full report
        assert phone.get("/admin/orders").status_code == 200  # the other session goes on


def test_with_redis_down_the_console_opens_and_logout_says_it_could_not_end_the_session(
    system, clean
):
    from messaging.redis import redis_client

    down = redis_client(f"redis://127.0.0.1:{free_port()}")  # as the web builds it; nobody there
    client = falcon.testing.TestClient(create_app(system["settings"], down))
    form = "application/x-www-form-urlencoded"
    login = client.simulate_post("/admin/login", body=f"token={ADMIN_TOKEN}", content_type=form)
    assert login.status_code == 303
    cookies = {"bfa_admin_session": login.cookies["bfa_admin_session"].value}
    page = client.simulate_get("/admin/outbox", cookies=cookies)
    assert page.status_code == 200  # the operator can still look around
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    logout = client.simulate_post(
        "/admin/logout", body=f"csrf_token={token}", content_type=form, cookies=cookies
    )
    assert logout.status_code == 503 and "try again" in logout.text  # not a pretended logout


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
            "Token admin salah" not in client.post("/admin/login", data={"token": ADMIN_TOKEN}).text
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
