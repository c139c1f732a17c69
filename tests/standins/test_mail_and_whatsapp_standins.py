"""The sandbox's SMTP server and WhatsApp Cloud API store what production clients send, fail on
request, and show it all in the inbox."""

import smtplib
from email.message import EmailMessage

import httpx
import pytest

from harness.sandbox.server import SandboxHandle
from models.wib import wib_text
from tests.standins.conftest import WHATSAPP_URL, create


def mail(subject: str = "Pembayaran diterima") -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "shop@example.com", "sari@x.id"
    message["Message-ID"] = "<order-1-paid@example.com>"
    message.set_content("Terima kasih, Sari.")
    message.add_alternative("<p>Terima kasih, Sari.</p>", subtype="html")
    return message


def send(sandbox: SandboxHandle, message: EmailMessage, login: bool = False) -> None:
    with smtplib.SMTP(sandbox.smtp_host, sandbox.smtp_port, timeout=5) as smtp:
        if login:
            smtp.login("shop", "secret")
        smtp.send_message(message)


def mail_faults(anonymous: httpx.Client, **plan: object) -> None:
    anonymous.post("/_sandbox/mail/faults", json=plan).raise_for_status()


def test_smtp_stores_the_message_with_its_parts(
    sandbox: SandboxHandle, anonymous: httpx.Client
) -> None:
    send(sandbox, mail(), login=True)
    [stored] = anonymous.get("/_sandbox/mail").json()
    assert stored["subject"] == "Pembayaran diterima"
    assert stored["message_id"] == "<order-1-paid@example.com>"
    assert stored["rcpt_tos"] == ["sari@x.id"] and stored["auth_user"] == "shop"
    assert stored["text"] == "Terima kasih, Sari.\n"
    assert "<p>Terima kasih" in stored["html"]


def test_smtp_fails_the_next_message_with_the_given_code(
    sandbox: SandboxHandle, anonymous: httpx.Client
) -> None:
    mail_faults(anonymous, fail_next=1, status=451)
    with pytest.raises(smtplib.SMTPDataError) as transient:
        send(sandbox, mail())
    assert transient.value.smtp_code == 451
    send(sandbox, mail())
    mail_faults(anonymous, fail_fraction=1.0, status=550)
    with pytest.raises(smtplib.SMTPDataError) as permanent:
        send(sandbox, mail())
    assert permanent.value.smtp_code == 550
    assert len(anonymous.get("/_sandbox/mail").json()) == 1


def test_smtp_down_refuses_connections_until_cleared(
    sandbox: SandboxHandle, anonymous: httpx.Client
) -> None:
    mail_faults(anonymous, down=True)
    with pytest.raises(ConnectionRefusedError):
        send(sandbox, mail())
    anonymous.delete("/_sandbox/mail/faults").raise_for_status()
    send(sandbox, mail())
    assert len(anonymous.get("/_sandbox/mail").json()) == 1


def template_message(to: str = "6281234567890", **changes: object) -> dict:
    template = {
        "name": "payment_received",
        "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sari"}]}],
    }
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": template,
    } | changes


def send_whatsapp(client: httpx.Client, body: dict) -> httpx.Response:
    return client.post(WHATSAPP_URL, json=body, headers={"Authorization": "Bearer wa-token"})


def test_whatsapp_stores_a_template_message(anonymous: httpx.Client) -> None:
    response = send_whatsapp(anonymous, template_message())
    assert response.status_code == 200
    answer = response.json()
    assert answer["contacts"] == [{"input": "6281234567890", "wa_id": "6281234567890"}]
    [stored] = anonymous.get("/_sandbox/whatsapp").json()
    assert stored["id"] == answer["messages"][0]["id"] and stored["id"].startswith("wamid.")
    assert (stored["template"], stored["phone_number_id"]) == ("payment_received", "123456")


def test_whatsapp_requires_a_bearer_token_and_a_valid_template(anonymous: httpx.Client) -> None:
    unauthorized = anonymous.post(WHATSAPP_URL, json=template_message())
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["type"] == "OAuthException"
    for body in (
        template_message(to="+62 812"),
        template_message(type="text"),
        template_message(template={"language": {"code": "id"}}),
    ):
        invalid = send_whatsapp(anonymous, body)
        assert invalid.status_code == 400 and invalid.json()["error"]["code"] == 100
    assert anonymous.get("/_sandbox/whatsapp").json() == []


@pytest.mark.parametrize(
    ("plan", "status", "code"),
    [
        ({"fail_next": 1, "status": 429}, 429, 130429),
        ({"fail_next": 1, "status": 400}, 400, 131030),
        ({"down": True}, 503, 2),
    ],
)
def test_whatsapp_faults_answer_in_graph_format(
    anonymous: httpx.Client, plan: dict, status: int, code: int
) -> None:
    anonymous.post("/_sandbox/whatsapp/faults", json=plan).raise_for_status()
    failed = send_whatsapp(anonymous, template_message())
    assert (failed.status_code, failed.json()["error"]["code"]) == (status, code)
    assert failed.json()["error"]["fbtrace_id"]


def test_whatsapp_fault_clears_after_the_next_failures(anonymous: httpx.Client) -> None:
    anonymous.post("/_sandbox/whatsapp/faults", json={"fail_next": 2, "status": 500})
    statuses = [send_whatsapp(anonymous, template_message()).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_inbox_shows_payments_mail_and_whatsapp_and_reset_forgets_them(
    sandbox: SandboxHandle, midtrans: httpx.Client, anonymous: httpx.Client
) -> None:
    token = create(midtrans)["token"]
    send(sandbox, mail("Akses kursus Anda"))
    send_whatsapp(anonymous, template_message())
    inbox = midtrans.get("/_sandbox/").text
    assert f"/snap/v4/redirection/{token}" in inbox
    assert "Akses kursus Anda" in inbox and "payment_received" in inbox
    received = [row["received_at"] for row in midtrans.get("/_sandbox/mail").json()]
    assert received and all(wib_text(moment) in inbox for moment in received)  # WIB, as the shop
    assert "+00:00" not in inbox
    midtrans.post("/_sandbox/reset").raise_for_status()
    assert midtrans.get("/_sandbox/mail").json() == []
    assert midtrans.get("/_sandbox/midtrans/requests").json() == []
    assert midtrans.get(f"/snap/v4/redirection/{token}").status_code == 404


def test_inbox_shows_a_whatsapp_message_as_the_customer_reads_it(anonymous: httpx.Client) -> None:
    texts = ["Sari", "Rp 99.000", "https://shop.example/access/abc"]
    template = {
        "name": "payment_success",
        "language": {"code": "id"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": t} for t in texts]}
        ],
    }
    send_whatsapp(anonymous, template_message(template=template)).raise_for_status()
    inbox = anonymous.get("/_sandbox/").text
    assert (
        "Halo Sari, pembayaran Rp 99.000 sudah kami terima. Buka kursus Buat Film Pakai AI di "
        "https://shop.example/access/abc (jangan bagikan tautan ini)."
    ) in inbox
    assert "{{" not in inbox and '"parameters"' not in inbox
