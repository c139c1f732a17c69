"""A customer who lost the access link asks for it again on "Lupa tautan akses?": the link goes
to the contact they typed when a paid order with active access has it, through the outbox; the
page answers the same either way and is rate-limited per client and per contact."""

from __future__ import annotations

import json
import time

import pytest

from models.base import utcnow
from models.entitlements import Entitlement
from models.outbox import OutboxMessage
from tests.conftest import running_worker, wait_for
from tests.factories import VALID_CHECKOUT, paid_order
from tests.notification_helpers import mails, whatsapp_messages

BROWSER = {"Accept": "text/html"}
UNKNOWN_EMAIL = "belum.pernah@example.com"


@pytest.fixture
def notifications_worker(system):
    """A worker on the notifications queue (lookups and deliveries) for one test."""
    with running_worker(system["broker"], queues={"notifications"}, worker_threads=2):
        yield system["broker"]


def _ask(http, contact: str):
    return http.post("/lupa-tautan", data={"kontak": contact}, headers=BROWSER)


def _access_link_rows() -> list[OutboxMessage]:
    return list(OutboxMessage.select().where(OutboxMessage.template_name == "access_link"))


def _answer_text(page: str) -> str:
    return page.split('id="access-link-request"', 1)[1].split("</section>", 1)[0]


def test_a_paying_customer_gets_the_link_again_on_the_email_they_typed(
    http, db, sandbox_api, notifications_worker
):
    order_id = paid_order(sandbox_api)["order_id"]
    token = Entitlement.get(Entitlement.order == order_id).access_token
    answer = _ask(http, "  Budi@Example.com ")
    assert answer.status_code == 200 and "Permintaan diterima" in answer.text
    assert token not in answer.text  # never shown to whoever asked
    rows = wait_for(lambda: [r for r in _access_link_rows() if r.status == "SENT"])
    assert [(r.channel, r.recipient) for r in rows] == [("EMAIL", VALID_CHECKOUT["email"])]
    mail = wait_for(lambda: [m for m in mails(sandbox_api) if "Tautan akses" in m["subject"]])
    assert token in str(mail[0]) and mail[0]["rcpt_tos"] == [VALID_CHECKOUT["email"]]


def test_the_whatsapp_number_gets_it_as_a_whatsapp_message(
    http, db, sandbox_api, notifications_worker
):
    order_id = paid_order(sandbox_api)["order_id"]
    token = Entitlement.get(Entitlement.order == order_id).access_token
    assert _ask(http, "+62 812-3456-7890").status_code == 200
    sent = wait_for(lambda: [m for m in whatsapp_messages(sandbox_api) if "access_link" in str(m)])
    assert token in str(sent[0])
    assert [r.channel for r in _access_link_rows()] == ["WHATSAPP"]


def test_a_second_request_sends_the_link_again(http, db, sandbox_api, notifications_worker):
    paid_order(sandbox_api)
    _ask(http, VALID_CHECKOUT["email"])
    wait_for(lambda: len(_access_link_rows()) == 1)
    _ask(http, VALID_CHECKOUT["email"])
    rows = wait_for(lambda: len(_access_link_rows()) == 2 and _access_link_rows())
    assert rows[1].resend_of == rows[0].id


def test_without_a_paid_order_nothing_is_sent_and_the_answer_is_the_same(
    http, db, sandbox_api, notifications_worker
):
    paid_order(sandbox_api)
    known = _ask(http, VALID_CHECKOUT["email"])
    unknown = _ask(http, UNKNOWN_EMAIL)
    assert unknown.status_code == known.status_code == 200
    assert _answer_text(unknown.text) == _answer_text(known.text)
    notifications_worker.join("notifications", timeout=10_000)
    assert [r.recipient for r in _access_link_rows()] == [VALID_CHECKOUT["email"]]
    assert not [m for m in mails(sandbox_api) if UNKNOWN_EMAIL in str(m)]


def _queued_lookups(broker) -> list[list]:
    """The arguments of the lookups waiting for a worker (none runs in this test)."""
    messages = map(json.loads, broker.client.hvals("dramatiq:notifications.msgs"))
    return [m["args"][0] for m in messages if m["actor_name"] == "send_access_link"]


def test_the_web_does_the_same_work_whether_or_not_an_order_exists(http, db, sandbox_api, broker):
    """No lookup happens before the answer, so its time cannot tell the two apart."""
    paid_order(sandbox_api)
    timings = {}
    for contact in (VALID_CHECKOUT["email"], UNKNOWN_EMAIL) * 2:
        started = time.perf_counter()
        assert _ask(http, contact).status_code == 200
        timings.setdefault(contact, []).append(time.perf_counter() - started)
    lookups = [(request["channel"], request["contact"]) for request in _queued_lookups(broker)]
    assert sorted(lookups) == sorted(
        [("EMAIL", VALID_CHECKOUT["email"])] * 2 + [("EMAIL", UNKNOWN_EMAIL)] * 2
    )
    assert abs(min(timings[UNKNOWN_EMAIL]) - min(timings[VALID_CHECKOUT["email"]])) < 0.2


def test_too_many_requests_get_an_indonesian_page(http, clean):
    for _ in range(3):
        assert _ask(http, UNKNOWN_EMAIL).status_code == 200
    refused = _ask(http, UNKNOWN_EMAIL)
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert refused.headers["content-type"].startswith("text/html")
    assert "Terlalu banyak percobaan" in refused.text
    for number in range(2):  # other contacts from the same client, up to its own limit
        _ask(http, f"orang{number}@example.com")
    assert _ask(http, "lain@example.com").status_code == 429


def test_a_malformed_contact_is_a_clear_indonesian_error(http, clean):
    answer = _ask(http, "bukan kontak")
    assert answer.status_code == 422 and "Nomor WhatsApp tidak valid" in answer.text


@pytest.mark.parametrize("path", ["/finish", "/"])
def test_the_page_is_linked_from_finish_and_the_footer(http, clean, path):
    assert 'href="/lupa-tautan"' in http.get(path).text


def test_a_refunded_order_whose_access_was_revoked_gets_no_link(
    http, db, sandbox_api, notifications_worker
):
    order_id = paid_order(sandbox_api)["order_id"]
    Entitlement.update(status="REVOKED", revoked_at=utcnow()).where(
        Entitlement.order == order_id
    ).execute()
    assert _ask(http, VALID_CHECKOUT["email"]).status_code == 200
    notifications_worker.join("notifications", timeout=10_000)
    assert _access_link_rows() == []
