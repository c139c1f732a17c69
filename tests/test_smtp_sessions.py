"""Email over kept SMTP sessions: one session per worker thread carries every message, and a
session the server closed meanwhile is replaced without losing, failing or doubling a message."""

from __future__ import annotations

import pytest

from integrations.email import SmtpConfig, SmtpMailer
from integrations.errors import RecipientRefused

SENDER = "Buat Film Pakai AI <kursus@buatfilm.local>"


@pytest.fixture
def mailer(sandbox, clean, monkeypatch):
    """A mailer for the sandbox's SMTP that counts the sessions it opens."""
    mailer = SmtpMailer(SmtpConfig(host=sandbox.smtp_host, port=sandbox.smtp_port, sender=SENDER))
    opened = []
    connect = mailer._connect
    monkeypatch.setattr(mailer, "_connect", lambda: opened.append(1) or connect())
    mailer.sessions_opened = opened
    return mailer


def _send(mailer: SmtpMailer, outbox_id: int) -> str:
    return mailer.send(outbox_id, "budi@example.com", "Halo", "teks", "<p>teks</p>")


def _inbox(sandbox_api) -> list[str]:
    return [mail["message_id"] for mail in sandbox_api.get("/_sandbox/mail").json()]


def test_messages_of_one_thread_share_one_session(mailer, sandbox_api):
    sent = [_send(mailer, outbox_id) for outbox_id in (1, 2, 3)]
    assert _inbox(sandbox_api) == sent
    assert len(mailer.sessions_opened) == 1


def test_a_session_the_server_closed_is_replaced_and_the_message_arrives_once(mailer, sandbox_api):
    first = _send(mailer, 1)
    sandbox_api.post("/_sandbox/mail/faults", json={"down": True}).raise_for_status()
    sandbox_api.delete("/_sandbox/mail/faults").raise_for_status()  # back up: new sessions only
    second = _send(mailer, 2)
    assert _inbox(sandbox_api) == [first, second]
    assert len(mailer.sessions_opened) == 2


def test_the_recipient_reads_indonesian_text_names_and_both_parts(sandbox, clean, sandbox_api):
    """Non-ASCII display names, subject and bodies arrive intact in a multipart/alternative
    message, and the Message-ID is the outbox row's."""
    mailer = SmtpMailer(
        SmtpConfig(host=sandbox.smtp_host, port=sandbox.smtp_port, sender="Kursus Fílm <k@bfa.id>")
    )
    subject = "Pembayaran diterima — terima kasih, Budi Śantoso " + "x" * 80
    text = "Halo Budi — akses Anda aktif.\n" + "baris panjang " * 20
    html = "<p>Halo Budi — akses Anda <b>aktif</b>.</p>"
    message_id = mailer.send(7, "budi@example.com", subject, text, html)
    [mail] = sandbox_api.get("/_sandbox/mail").json()
    assert mail["message_id"] == message_id
    assert mail["from"] == "Kursus Fílm <k@bfa.id>"
    assert mail["to"] == "budi@example.com"
    assert mail["subject"] == subject
    assert mail["text"].rstrip("\n") == text.rstrip("\n")
    assert mail["html"].rstrip("\n") == html
    assert "multipart/alternative" in mail["raw"]


def test_an_address_that_needs_smtputf8_is_refused_by_a_relay_without_it(
    sandbox, clean, sandbox_api
):
    mailer = SmtpMailer(SmtpConfig(host=sandbox.smtp_host, port=sandbox.smtp_port, sender=SENDER))
    with pytest.raises(RecipientRefused):
        mailer.send(8, "büdi@contoh.id", "Halo", "teks", "<p>teks</p>")
    assert sandbox_api.get("/_sandbox/mail").json() == []
