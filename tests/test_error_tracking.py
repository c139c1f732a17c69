"""Errors reach a Sentry-compatible endpoint (Sentry, GlitchTip) from the web and the worker,
real processes started with SENTRY_DSN, without the customer's email or phone number."""

from __future__ import annotations

import gzip
import json
import sys

import httpx
import pytest

from messaging.contract import CREATE_PAYMENT
from tests.factories import checkout_request
from tests.recorder import recording_server
from tests.test_resilience import web_process, worker_process

EMAIL, PHONE = "budi.santoso@example.com", "081234567890"
# The web as production starts it, with a bug in one page whose error names a customer.
BUGGY_WEB = f"""
import web.health
def failing_page(self, req, resp):
    raise ValueError("cannot notify {EMAIL} at {PHONE}")
web.health.ReadyResource.on_get = failing_page
from web.server import main
main()
"""


@pytest.fixture
def sentry():
    """A Sentry endpoint: what it receives on POST /api/1/envelope/."""
    with recording_server() as server:
        yield server


def envelope_items(sentry) -> list[dict]:
    """The next envelope's items (its JSON lines after the header)."""
    request = sentry.next(timeout=20)
    assert (request.method, request.path) == ("POST", "/api/1/envelope/")
    body = request.body
    if request.headers.get("Content-Encoding") == "gzip":  # the SDK's default without brotli
        body = gzip.decompress(body)
    return [json.loads(line) for line in body.splitlines() if line.strip().startswith(b"{")]


def assert_no_personal_data(items: list[dict]) -> None:
    text = json.dumps(items)
    assert EMAIL not in text and PHONE not in text
    assert "b***@example.com" in text  # masked as the logs mask it, still useful


def test_an_error_in_a_web_request_reaches_sentry_without_personal_data(
    sentry, environment, tmp_path
):
    buggy_web = [sys.executable, "-c", BUGGY_WEB]
    dsn = f"http://public-key@127.0.0.1:{sentry.server_address[1]}/1"
    with web_process(environment, tmp_path / "web.log", buggy_web, SENTRY_DSN=dsn) as base_url:
        answer = httpx.get(f"{base_url}/health/ready", params={"contact": EMAIL, "wa": PHONE})
        assert answer.status_code == 500
        items = envelope_items(sentry)
    [event] = [item for item in items if "exception" in item]
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert "falcon" in json.dumps(event["sdk"])
    assert_no_personal_data(items)


def test_an_error_in_an_actor_reaches_sentry_without_personal_data(
    sentry, environment, tmp_path, clean, system
):
    dsn = f"http://public-key@127.0.0.1:{sentry.server_address[1]}/1"
    with worker_process(environment, tmp_path / "worker.log", SENTRY_DSN=dsn):
        # A checkout the database refuses: its error repeats the row, email and phone included.
        broken = checkout_request(order_token_hash=None, email=EMAIL, phone=PHONE)
        system["broker"].enqueue(CREATE_PAYMENT.message(broken))
        items = envelope_items(sentry)
    [event] = [item for item in items if "exception" in item]
    assert "IntegrityError" in event["exception"]["values"][-1]["type"]
    assert event["contexts"]["dramatiq"]  # the message, its arguments masked
    assert_no_personal_data(items)
