"""Rendering the Indonesian customer messages: pure functions, tested by tables of cases."""

import pytest

from config.settings import SettingsError, load_settings
from models.delivery import DeliveryPolicy
from models.messages import (
    NO_LINK_GUIDE,
    TEMPLATE_NAMES,
    UNPAID_TEMPLATES,
    MessageRenderError,
    render_email,
    render_whatsapp,
    whatsapp_templates,
)
from models.wib import indonesian_time

BASE = "https://kursus.example.id"
PAYLOAD = {
    "order_id": "BFA-20250113-ABC",
    "customer_name": "Budi <Santoso>",
    "amount_text": "Rp 99.000",
    "package_id": "ai-movie-course",
    "payment_url": "https://app.midtrans.com/snap/v4/redirection/tok?a=1&b=2",
    "expires_at": "2025-01-13T07:30:00+00:00",
    "access_token": "t" * 43,
}


@pytest.mark.parametrize(
    "template_name, subject, must_show",
    [
        (
            "payment_instructions",
            "Selesaikan pembayaran Rp 99.000 untuk Buat Film Pakai AI",
            ["Rp 99.000", "13 Januari 2025 pukul 14.30 WIB", PAYLOAD["payment_url"]],
        ),
        (
            "payment_success",
            "Pembayaran diterima: akses kursus Buat Film Pakai AI",
            ["Rp 99.000", f"{BASE}/access/{'t' * 43}", f"{BASE}/access/{'t' * 43}/kuitansi"],
        ),
        (
            "payment_reminder",
            "Pengingat: pembayaran Rp 99.000 untuk Buat Film Pakai AI berakhir "
            "13 Januari 2025 pukul 14.30 WIB",
            ["Rp 99.000", PAYLOAD["payment_url"], "satu-satunya pengingat"],
        ),
        (
            "access_revoked",
            "Akses kursus Buat Film Pakai AI dihentikan",
            ["Rp 99.000", "dikembalikan atau dibatalkan"],
        ),
        (
            "order_expired",
            "Waktu pembayaran habis: pesan lagi Buat Film Pakai AI",
            ["Rp 99.000", f"{BASE}/"],
        ),
        (
            "payment_refunded",
            "Pembayaran dikembalikan: pesanan Buat Film Pakai AI",
            ["Rp 99.000", "telah dikembalikan kepada Anda", f"{BASE}/"],
        ),
        (
            "data_erased",
            "Data pribadi Anda di Buat Film Pakai AI akan kami hapus",
            ["menghapus data pribadi Anda", "akses kursus dari pesanan Anda berakhir"],
        ),
    ],
)
def test_each_email_has_subject_text_and_html(template_name, subject, must_show):
    email = render_email(template_name, PAYLOAD, BASE + "/")
    assert email.subject == subject
    for fragment in must_show:
        assert fragment in email.text
    assert "BFA-20250113-ABC" in email.text and "<Santoso>" not in email.html
    if template_name not in UNPAID_TEMPLATES:  # a payer is greeted by name, escaped in HTML
        assert "Budi <Santoso>" in email.text and "Budi &lt;Santoso&gt;" in email.html
    assert email.html.startswith("<!doctype html>") and 'lang="id"' in email.html


def test_links_in_html_are_escaped_but_intact():
    email = render_email("payment_instructions", PAYLOAD, BASE)
    assert 'href="https://app.midtrans.com/snap/v4/redirection/tok?a=1&amp;b=2"' in email.html


# Instructions for an order without a Snap link (imported pending, or an id Snap already knew):
# the payload carries payment_url None and what Midtrans' notification said to pay to.
WITHOUT_LINK = PAYLOAD | {
    "payment_url": None,
    "payment_channel": "Virtual Account BCA",
    "payment_code": "80777123456789",
}


@pytest.mark.parametrize(
    "payload", [WITHOUT_LINK, WITHOUT_LINK | {"payment_channel": None, "payment_code": None}]
)
def test_instructions_without_a_payment_link_email_how_to_pay_and_no_dead_link(payload):
    email = render_email("payment_instructions", payload, BASE)
    for part in (email.text, email.html):
        assert "None" not in part and "snap" not in part and "Bayar sekarang" not in part
        assert NO_LINK_GUIDE in part and "Rp 99.000" in part
    assert "href=" not in email.html
    if payload["payment_code"]:
        assert "Virtual Account BCA nomor 80777123456789" in email.text
        assert "80777123456789" in email.html


def test_instructions_without_a_payment_link_fill_the_whatsapp_template_with_how_to_pay():
    content = render_whatsapp("payment_instructions", WITHOUT_LINK, BASE)
    assert content.parameters == (
        "Pelanggan",
        "Rp 99.000",
        "Virtual Account BCA nomor 80777123456789",
        "13 Januari 2025 pukul 14.30 WIB",
        NO_LINK_GUIDE,
    )


@pytest.mark.parametrize(
    "template_name, parameters",
    [
        (
            "payment_instructions",
            (
                "Pelanggan",
                "Rp 99.000",
                "metode pilihan Anda",
                "13 Januari 2025 pukul 14.30 WIB",
                PAYLOAD["payment_url"],
            ),
        ),
        ("payment_success", ("Budi <Santoso>", "Rp 99.000", f"{BASE}/access/{'t' * 43}")),
        ("access_revoked", ("Budi <Santoso>", "Rp 99.000", "BFA-20250113-ABC")),
        ("order_expired", ("Pelanggan", "Rp 99.000", f"{BASE}/")),
        ("payment_refunded", ("Budi <Santoso>", "Rp 99.000", "BFA-20250113-ABC")),
        ("data_erased", ("Budi <Santoso>", "BFA-20250113-ABC")),
    ],
)
def test_whatsapp_parameters_follow_the_template_mapping(template_name, parameters):
    content = render_whatsapp(template_name, PAYLOAD, BASE)
    assert (content.template_name, content.language) == (template_name, "id")
    assert content.parameters == parameters


STRANGERS_NAME = "Akun BCA Anda diblokir segera hubungi CS Halo BCA"


@pytest.mark.parametrize("template_name", UNPAID_TEMPLATES)
def test_messages_about_an_unpaid_order_carry_none_of_the_checkouts_name(template_name):
    payload = PAYLOAD | {"customer_name": STRANGERS_NAME, "payment_code": "80777123456789"}
    email = render_email(template_name, payload, BASE)
    whatsapp = render_whatsapp(template_name, payload, BASE)
    rendered = " ".join([email.subject, email.text, email.html, *whatsapp.parameters])
    words = {word.lower() for word in STRANGERS_NAME.split()} - {"halo", "anda"}
    assert not words & {word.strip(",.").lower() for word in rendered.split()}
    assert "Halo Pelanggan," in email.text and whatsapp.parameters[0] == "Pelanggan"


def test_every_whatsapp_template_documents_one_placeholder_per_parameter():
    for name in TEMPLATE_NAMES:
        mapping = whatsapp_templates()[name]
        placeholders = [f"{{{{{n}}}}}" for n in range(1, len(mapping["parameters"]) + 1)]
        assert all(placeholder in mapping["body"] for placeholder in placeholders), name


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_no_whatsapp_body_starts_or_ends_with_a_variable(name):
    """Meta refuses a template whose body starts or ends with a parameter."""
    body = whatsapp_templates()[name]["body"].strip()
    assert not body.startswith("{{") and not body.endswith("}}"), body


@pytest.mark.parametrize("render", [render_email, render_whatsapp])
def test_unknown_templates_and_missing_fields_cannot_render(render):
    with pytest.raises(MessageRenderError):
        render("birthday_greeting", PAYLOAD, BASE)
    with pytest.raises(MessageRenderError):
        render(
            "payment_success",
            {"order_id": "BFA-1", "customer_name": "Budi", "amount_text": "Rp 99.000"},
            BASE,
        )


@pytest.mark.parametrize(
    "moment, expected",
    [
        ("2025-01-13T07:30:00+00:00", "13 Januari 2025 pukul 14.30 WIB"),
        ("2025-12-31T17:05:00+00:00", "1 Januari 2026 pukul 00.05 WIB"),
        ("2025-08-17T10:00:00+07:00", "17 Agustus 2025 pukul 10.00 WIB"),
    ],
)
def test_times_are_shown_in_jakarta_time_in_indonesian(moment, expected):
    assert indonesian_time(moment) == expected


@pytest.mark.parametrize(
    "failed_attempts, seconds", [(1, 60), (2, 300), (3, 900), (4, 1800), (5, None)]
)
def test_the_retry_schedule_is_1_5_15_30_minutes_then_dead_letter(failed_attempts, seconds):
    delay = DeliveryPolicy().retry_delay(failed_attempts)
    assert (delay.total_seconds() if delay else None) == seconds


@pytest.mark.parametrize(
    "raw, expected",
    [("60,300,900,1800", (60.0, 300.0, 900.0, 1800.0)), ("0.2, 0.4", (0.2, 0.4))],
)
def test_retry_schedules_parse_from_settings(raw, expected):
    settings = load_settings({"NOTIFICATION_RETRY_SCHEDULE_SECONDS": raw})
    assert settings.delivery.retry_schedule_seconds == expected


@pytest.mark.parametrize("raw", ["", "60,-1", "0", "soon"])
def test_bad_retry_schedules_stop_start_up_with_one_line(raw):
    with pytest.raises(SettingsError, match="NOTIFICATION_RETRY_SCHEDULE_SECONDS"):
        load_settings({"NOTIFICATION_RETRY_SCHEDULE_SECONDS": raw})
