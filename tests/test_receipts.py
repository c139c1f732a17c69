"""Receipts (kuitansi): every paid order gets a number, sequential per WIB year and gap-free,
and the customer reads it as a page and a PDF behind the course access link."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime

import pytest

from models.base import SHOP_TIMEZONE, utcnow
from models.db import transaction
from models.entitlements import Entitlement
from models.orders import Order
from models.payment_receipts import next_receipt_number
from tests.conftest import declared_actor, wait_for
from tests.factories import midtrans_transition, open_payment, paid_order
from tests.notification_helpers import mails

THIS_YEAR = utcnow().astimezone(SHOP_TIMEZONE).year


def receipt_path(order_id: str) -> str:
    token = Entitlement.get(Entitlement.order == order_id).access_token
    return f"/access/{token}/kuitansi"


def midtrans_says(sandbox_api, order_id: str, **transition) -> None:
    answer = midtrans_transition(sandbox_api, order_id, notify=False, **transition)
    declared_actor("process_notification")(answer["notification"])


def pdf_text(document: bytes) -> bytes:
    """The PDF's page content, its compressed streams opened (no PDF library in the project)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", document, re.DOTALL)
    opened = []
    for stream in streams:
        try:
            opened.append(zlib.decompress(stream))
        except zlib.error:
            opened.append(stream)
    return b"\n".join(opened)


def test_orders_paid_at_the_same_moment_get_consecutive_numbers_without_gaps(
    db, worker, web, sandbox_api
):
    order_ids = [open_payment()["order_id"] for _ in range(8)]
    for order_id in order_ids:  # Midtrans notifies; the worker's 4 threads pay them at once
        midtrans_transition(sandbox_api, order_id, transaction_status="settlement")

    def numbers():
        orders = Order.select().where(Order.order_id.in_(order_ids) & (Order.status == "PAID"))
        return [order.receipt_number for order in orders] if orders.count() == 8 else None

    given = wait_for(numbers, timeout=30, message="all eight orders paid")
    assert sorted(given) == [f"KW/{THIS_YEAR}/{number:06d}" for number in range(1, 9)]


def test_a_payment_rolled_back_gives_its_number_back(db):
    paid_at = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 1 January 2027 in Jakarta
    with pytest.raises(RuntimeError), transaction():
        assert next_receipt_number(paid_at) == "KW/2027/000001"
        raise RuntimeError("the payment's transaction failed")
    with transaction():
        assert next_receipt_number(paid_at) == "KW/2027/000001"
        assert next_receipt_number(paid_at) == "KW/2027/000002"


def test_an_order_refunded_then_paid_again_keeps_its_receipt_number(db, sandbox_api):
    order_id = paid_order(sandbox_api)["order_id"]
    first = Order.get_by_id(order_id).receipt_number
    midtrans_says(sandbox_api, order_id, transaction_status="refund")
    midtrans_says(sandbox_api, order_id, transaction_status="settlement")
    assert first == f"KW/{THIS_YEAR}/000001"
    assert Order.get_by_id(order_id).receipt_number == first


def test_the_customer_reads_the_receipt_as_a_page_and_as_a_pdf(db, sandbox_api, http):
    order_id = paid_order(sandbox_api, name="Siti Aminah", email="siti@example.com")["order_id"]
    number = Order.get_by_id(order_id).receipt_number

    page = http.get(receipt_path(order_id))
    assert page.status_code == 200
    for shown in (number, "Siti Aminah", "siti@example.com", "Rp 99.000", "Virtual Account"):
        assert shown in page.text
    assert "Dokumen ini bukan faktur pajak." in page.text
    assert "WIB" in page.text and "@media print" in http.get("/static/app.css").text

    pdf = http.get(receipt_path(order_id) + ".pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert number.encode() in pdf_text(pdf.content)
    assert b"bukan faktur pajak" in pdf_text(pdf.content)


def test_an_unknown_link_has_no_receipt(db, http):
    assert http.get(f"/access/{'x' * 43}/kuitansi").status_code == 404
    assert http.get(f"/access/{'x' * 43}/kuitansi.pdf").status_code == 404


def test_an_order_with_access_but_no_payment_yet_says_there_is_no_receipt_yet(
    db, sandbox_api, http
):
    order_id = open_payment()["order_id"]
    Entitlement.create(order=order_id, package="ai-movie-course")  # the owner granted access

    page = http.get(receipt_path(order_id))
    assert page.status_code == 200
    assert "Kuitansi belum tersedia" in page.text
    pdf = http.get(receipt_path(order_id) + ".pdf")
    assert pdf.status_code == 404
    assert "Kuitansi belum tersedia" in pdf.text


def test_a_refunded_order_receipt_says_it_was_refunded(db, sandbox_api, http):
    order_id = paid_order(sandbox_api)["order_id"]
    midtrans_says(sandbox_api, order_id, transaction_status="refund", refund_amount="99000")

    page = http.get(receipt_path(order_id))
    assert "DIKEMBALIKAN" in page.text and "Rp 99.000 telah dikembalikan" in page.text
    assert b"DIKEMBALIKAN" in pdf_text(http.get(receipt_path(order_id) + ".pdf").content)


def test_the_payment_success_email_links_the_receipt(db, worker, sandbox_api, http):
    order_id = paid_order(sandbox_api)["order_id"]

    def success_mail():
        return [mail for mail in mails(sandbox_api) if "Pembayaran diterima" in mail["subject"]]

    mail = wait_for(success_mail, message="the payment-success email")[0]
    assert receipt_path(order_id) in mail["text"] and receipt_path(order_id) in mail["html"]
    link = re.search(r"https?://\S+/kuitansi", mail["text"]).group(0)
    assert Order.get_by_id(order_id).receipt_number in http.get(link).text


def test_the_owner_sees_the_receipt_number_on_the_console_order_page(db, sandbox_api, browser):
    order_id = paid_order(sandbox_api)["order_id"]
    page = browser.get(f"/admin/orders/{order_id}")
    assert f"KW/{THIS_YEAR}/000001" in page.text
