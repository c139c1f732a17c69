"""Hostile or odd requests get a clear 4xx, change nothing, and leave no secret in the logs."""

import json

import pytest

from config.settings import SANDBOX_SERVER_KEY
from integrations.signature import midtrans_signature
from models.entitlements import Entitlement
from models.events import PaymentEvent
from tests.conftest import ADMIN_TOKEN, captured_logs, with_settings
from tests.factories import VALID_CHECKOUT, paid_order


@pytest.mark.parametrize(
    "path",
    ["/api/orders/%00?token=%00", "/access/%00", "/api/orders/x?token=a%0Ab", "/nope%0Aforged"],
)
def test_control_characters_in_the_url_are_400(http, path):
    assert http.get(path).status_code == 400


def test_a_signed_notification_with_a_nul_is_400_and_not_queued(http, db, system):
    order_id = "BFA-\x00-NUL"
    body = {
        "order_id": order_id,
        "status_code": "200",
        "gross_amount": "99000.00",
        "transaction_status": "settlement",
        "signature_key": midtrans_signature(order_id, "200", "99000.00", SANDBOX_SERVER_KEY),
    }
    assert http.post("/webhooks/midtrans", json=body).status_code == 400
    assert system["broker"].client.llen("dramatiq:webhooks") == 0
    assert PaymentEvent.select().count() == 0


@pytest.mark.parametrize("path", ["/", "/finish", "/lupa-tautan", "/no-such-page", "/health"])
def test_no_other_site_may_frame_a_page(http, clean, path):
    response = http.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_checkout_must_be_json_so_another_site_cannot_post_a_form(http, clean, system):
    response = http.post("/api/checkout", content="name=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert system["broker"].client.llen("dramatiq:payments") == 0  # no order was taken
    assert http.post("/api/checkout", json=VALID_CHECKOUT).status_code == 202
    assert system["broker"].client.llen("dramatiq:payments") == 1


def test_the_access_link_is_never_logged_nor_cached(http, db, sandbox_api, worker):
    order_id = paid_order(sandbox_api)["order_id"]
    token = Entitlement.get(Entitlement.order == order_id).access_token
    with captured_logs() as lines:
        response = http.get(f"/access/{token}")
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    logged = "\n".join(lines)
    assert "/access/{access_token}" in logged and token not in logged


def test_a_forged_log_line_in_the_path_stays_on_one_escaped_line(http, clean):
    with captured_logs() as lines:
        http.get("/no-such-page%0A05:28:00.000%20INFO%20Admin%20signed%20in")
    logged = "".join(lines)
    assert not any(line.startswith("05:28:00.000") for line in logged.splitlines())
    assert "GET /no-such-page\\x0a05:28:00.000 INFO Admin signed in -> 400" in logged


def test_unicode_line_breaks_from_anyone_stay_on_one_escaped_line(http, clean):
    """NEL (a C1 control) and U+2028/U+2029 break lines for splitlines() and many log viewers;
    an unsigned notification's order id and a path are written by the web without any check."""
    forged = "\u202805:28:00.000 INFO Admin signed in"
    with captured_logs() as lines:
        unsigned = {
            "order_id": f"X\x85{forged}",
            "status_code": "200",
            "gross_amount": "99000.00",
            "transaction_status": "settlement",
            "signature_key": "0" * 128,
        }
        assert http.post("/webhooks/midtrans", json=unsigned).status_code == 401
        assert http.get("/no-such-page%E2%80%A9%C2%9B2J").status_code == 404
    logged = "".join(lines)
    assert not any(line.startswith("05:28:00.000") for line in logged.splitlines())
    assert "bad signature for X\\x85\\u202805:28:00.000 INFO Admin signed in" in logged
    assert "GET /no-such-page\\u2029\\x9b2J -> 404" in logged


def test_a_stalled_redis_turns_into_a_fast_503(system, tmp_path):
    """A hung Redis (not just a closed port) must not hold Midtrans past its 15 s limit."""
    import os
    import signal
    import time

    import httpx

    from local.embedded import start_redis
    from messaging.redis import redis_client
    from tests.conftest import serve_app
    from tests.midtrans_vectors import GO_KEY, GO_SETTLEMENT
    from web.app import create_app

    stalled = start_redis(tmp_path / "redis")
    settings = with_settings(system["settings"], midtrans={"server_key": GO_KEY})
    app = create_app(settings, redis_client(stalled.url, timeout=1.0, retries=0))
    os.kill(stalled.pid, signal.SIGSTOP)
    try:
        with serve_app(app) as base_url:
            started = time.monotonic()
            response = httpx.post(f"{base_url}/webhooks/midtrans", json=GO_SETTLEMENT, timeout=20)
            elapsed = time.monotonic() - started
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
        stalled.stop()
    assert response.status_code == 503
    assert elapsed < 10  # Midtrans gives up after 15 s


# --- bodies no later step could handle -----------------------------------------------------------

WEBHOOK_PATHS = ("/webhooks/midtrans", "/webhooks/midtrans/")
JSON_ENDPOINTS = ("/api/checkout", *WEBHOOK_PATHS, "/admin/login")


def _signed(order_id: str = "BFA-20260101-unknown", **extra) -> dict:
    """A notification signed with the web's key (the sandbox's), for an order nobody has."""
    fields = {"order_id": order_id, "status_code": "200", "gross_amount": "99000.00"}
    signature = midtrans_signature(*fields.values(), SANDBOX_SERVER_KEY)
    return {**fields, "transaction_status": "settlement", "signature_key": signature, **extra}


def _acceptable(path: str, **extra) -> dict:
    """A body the endpoint takes (202, 200, or 401 for a wrong admin token), plus `extra`."""
    if path == "/api/checkout":
        return {**VALID_CHECKOUT, **extra}
    if path == "/admin/login":
        return {"token": "not-the-token", **extra}
    return _signed(**extra)


def _post_json_text(http, path: str, text: str):
    return http.post(path, content=text.encode(), headers={"Content-Type": "application/json"})


def _nothing_queued(system) -> bool:
    """No Dramatiq message in any queue and no checkout waiting for the worker."""
    client, namespace = system["broker"].client, system["broker"].namespace
    messages = sum(client.hlen(key) for key in client.scan_iter(f"{namespace}:*.msgs"))
    return messages == 0 and not list(client.scan_iter("checkout:pending:*"))


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize(
    "make_text",
    [
        lambda path: "[" * 3000 + "]" * 3000,  # past Python's recursion limit, under 8 KB
        lambda path: '{"":' * 1500 + "0" + "}" * 1500,
        lambda path: json.dumps(_acceptable(path, extra=_nested(40))),  # parses; no real body is
    ],
    ids=["deep_array", "deep_object", "deep_field_in_an_acceptable_body"],
)
def test_a_deeply_nested_body_is_400_and_queues_nothing(http, clean, system, path, make_text):
    response = _post_json_text(http, path, make_text(path))
    assert response.status_code == 400
    assert "nested deeper" in response.json()["title"]
    assert _nothing_queued(system)


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize(
    "extra",
    [{"note": "a\ud800b"}, {"\udc00": "x"}, {"items": [{"name": "\udbff"}]}],
    ids=["in_a_value", "as_a_key", "nested"],
)
def test_a_lone_surrogate_is_400_and_queues_nothing(http, clean, system, path, extra):
    response = _post_json_text(http, path, json.dumps(_acceptable(path, **extra)))
    assert response.status_code == 400
    assert _nothing_queued(system)


@pytest.mark.parametrize(
    "path, field",
    [
        ("/api/checkout", "name"),
        ("/api/checkout", "package_id"),
        ("/webhooks/midtrans", "order_id"),  # the signature check hashed it: a 500
        ("/webhooks/midtrans", "gross_amount"),
        ("/admin/login", "token"),  # the token comparison hashed it: a 500
    ],
)
def test_a_lone_surrogate_in_a_field_that_is_read_is_400(http, clean, system, path, field):
    body = {**_acceptable(path), field: "B\ud800"}
    assert _post_json_text(http, path, json.dumps(body)).status_code == 400
    assert _nothing_queued(system)


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_400_since_jsonb_cannot_store_them(http, clean, system, path, number):
    text = json.dumps(_acceptable(path))[:-1] + f', "extra": {number}}}'
    assert _post_json_text(http, path, text).status_code == 400
    assert _nothing_queued(system)


@pytest.mark.parametrize(
    "content_type, content",
    [
        ("application/json", b"[1, 2]"),
        ("application/json", b'"token"'),
        ("application/json", b'{"token": ["a", "b"]}'),
        ("application/x-www-form-urlencoded", b"token=a&next=/admin/x&next=/admin/y"),
        ("application/x-www-form-urlencoded", b"token=a&next=%2Fadmin%0D%0ASet-Cookie:%20x"),
        ("application/x-www-form-urlencoded", "token=\u00e9".encode()),
        ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="t"'),
        ("text/plain", b"token=a"),
    ],
    ids=[
        "json_list",
        "json_string",
        "json_list_field",
        "repeated_field",
        "newline_in_next",
        "non_ascii_form",
        "multipart",
        "plain_text",
    ],
)
def test_an_odd_login_form_is_a_4xx(http, clean, content_type, content):
    response = http.post("/admin/login", content=content, headers={"Content-Type": content_type})
    assert response.status_code in (400, 415)


def test_a_login_form_over_16_kb_is_413(http, clean):
    response = http.post("/admin/login", data={"token": "x" * (17 * 1024)})
    assert response.status_code == 413


@pytest.mark.parametrize(
    "path",
    [
        "/api/orders/%ED%A0%80?token=%ED%A0%80",
        "/api/orders/BFA-1?token=%5Cud800&token=%FF",
        "/access/%ED%B0%80",
        "/finish?order_id=%ED%A0%80&transaction_status=%C0",
        "/api/admin/orders?q=%ED%A0%80",
        "/api/admin/orders/%ED%A0%80",
        "/admin/login?next=%ED%A0%80",
    ],
)
def test_an_encoded_surrogate_in_the_url_never_reaches_a_handler_as_one(http, clean, path):
    """Falcon decodes bad percent-escapes to U+FFFD; the middleware would refuse a surrogate
    that got through anyway."""
    response = http.get(path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code < 500
