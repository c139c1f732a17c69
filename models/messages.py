"""Rendering customer messages from an outbox row's payload: pure functions, no I/O but reading
the template files. Email gets a subject, a plain-text and an HTML part; WhatsApp gets the
approved template's name and its ordered body parameters."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)

from models.wib import indonesian_time

TEMPLATES_DIR = Path(__file__).resolve().parent / "message_templates"
TEMPLATE_NAMES = (
    "payment_instructions",
    "payment_reminder",  # one, a few hours before an open payment expires
    "payment_success",
    "access_revoked",
    "order_expired",
    "payment_refunded",
    "access_link",  # the customer's own request on "Lupa tautan akses?"
    "access_granted",  # the owner's access corrections
    "access_withdrawn",
    "data_erased",  # the last message before `admin person forget` erases the contact
)
# Messages about an order nobody has paid yet: their contact may be a stranger's victim, so
# they carry nothing the checkout typed in, not even the name; they greet GENERIC_GREETING_NAME
# (the approved WhatsApp bodies stay unchanged). After payment the payer's name is used.
UNPAID_TEMPLATES = ("payment_instructions", "payment_reminder", "order_expired")
GENERIC_GREETING_NAME = "Pelanggan"
WHATSAPP_LANGUAGE = "id"
# How to pay when the order has no Snap link (an imported pending order, or one whose id Snap
# already knew): the customer picked the method elsewhere, so the method itself is the guide.
NO_LINK_GUIDE = "ikuti langkah pembayaran di aplikasi bank, e-wallet, atau gerai yang Anda pilih."


class MessageRenderError(ValueError):
    """The row cannot become a message (unknown template, missing field): retrying cannot help."""


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class WhatsAppContent:
    template_name: str
    language: str
    parameters: tuple[str, ...]


def message_fields(payload: dict, public_base_url: str, template_name: str = "") -> dict:
    """The payload plus the links and texts derived from it, so templates stay logic-free."""
    fields = dict(payload)
    if template_name in UNPAID_TEMPLATES:
        fields["customer_name"] = GENERIC_GREETING_NAME
    base = public_base_url.rstrip("/")
    fields["order_again_url"] = f"{base}/"
    if payload.get("access_token"):
        fields["access_url"] = f"{base}/access/{payload['access_token']}"
        fields["receipt_url"] = f"{fields['access_url']}/kuitansi"
    if payload.get("expires_at"):
        fields["expires_text"] = indonesian_time(payload["expires_at"])
    fields.setdefault("payment_channel", None)
    fields.setdefault("payment_code", None)
    fields.setdefault("payment_url", None)
    fields["payment_guide"] = fields["payment_url"] or NO_LINK_GUIDE
    fields["payment_detail"] = (
        f"{fields['payment_channel']} nomor {fields['payment_code']}"
        if fields["payment_channel"] and fields["payment_code"]
        else "metode pilihan Anda"
    )
    return fields


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
        auto_reload=False,  # compiled once per process, not checked against the file each time
    )


def _known(template_name: str) -> None:
    if template_name not in TEMPLATE_NAMES:
        raise MessageRenderError(f"unknown message template {template_name!r}")


def render_email(template_name: str, payload: dict, public_base_url: str) -> EmailContent:
    """Subject (one line), plain text and HTML of one message; raises MessageRenderError."""
    _known(template_name)
    fields = message_fields(payload, public_base_url, template_name)
    environment = _environment()
    try:
        parts = [
            environment.get_template(f"{template_name}.{suffix}").render(fields)
            for suffix in ("subject.txt", "txt", "html")
        ]
    except (TemplateError, ValueError) as error:
        raise MessageRenderError(f"{template_name}: {error}") from error
    return EmailContent(subject=" ".join(parts[0].split()), text=parts[1], html=parts[2])


@cache
def whatsapp_templates() -> dict[str, dict]:
    """The WhatsApp template mapping (name, ordered parameters, body to register with Meta)."""
    return tomllib.loads((TEMPLATES_DIR / "whatsapp.toml").read_text(encoding="utf-8"))


def render_whatsapp(template_name: str, payload: dict, public_base_url: str) -> WhatsAppContent:
    """The template message's name, language and body parameters, in order."""
    _known(template_name)
    mapping = whatsapp_templates()[template_name]
    fields = message_fields(payload, public_base_url, template_name)
    missing = [name for name in mapping["parameters"] if not fields.get(name)]
    if missing:
        raise MessageRenderError(f"{template_name}: payload lacks {', '.join(missing)}")
    parameters = tuple(str(fields[name]) for name in mapping["parameters"])
    return WhatsAppContent(mapping["name"], WHATSAPP_LANGUAGE, parameters)
