"""WhatsApp Business Cloud API: template messages to `{api_url}/{phone_number_id}/messages`."""

from __future__ import annotations

import re

from config.settings import WhatsAppSettings
from integrations.errors import RecipientRefused
from integrations.http import (
    DEFAULT_TIMEOUT,
    Client,
    Timeout,
    json_body,
    raise_for_status,
    send,
)

_NON_DIGITS = re.compile(r"\D")


def whatsapp_number(phone: str) -> str:
    """The Cloud API's `to`: digits only, country code first, no '+' (`+62812...` -> `62812...`)."""
    digits = _NON_DIGITS.sub("", phone or "")
    if digits.startswith("0"):
        digits = "62" + digits[1:]  # a national Indonesian number from an old import
    if not 8 <= len(digits) <= 15:
        raise RecipientRefused("invalid WhatsApp recipient")
    return digits


def template_body(
    to: str, template_name: str, language: str, parameters: list[str], callback_data: str = ""
) -> dict:
    """The messages-endpoint body for a template with text parameters in its body.

    `callback_data` goes out as `biz_opaque_callback_data`, which Meta echoes in every status
    callback of the message (Cloud API messages reference: at most 512 characters)."""
    template: dict = {"name": template_name, "language": {"code": language}}
    if parameters:
        template["components"] = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": value} for value in parameters],
            }
        ]
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": template,
    }
    if callback_data:
        body["biz_opaque_callback_data"] = callback_data[:512]
    return body


def graph_error_text(body: dict) -> str:
    """Graph's `message (code N)`, whatever shape the body has: a proxy in front of Meta, or a
    changed API, may answer `{"error": "Bad Gateway"}` or with no error at all."""
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('message', '')} (code {error.get('code', '?')})"
    return str(error)[:200] if error else ""


def _first_message_id(body: dict) -> str:
    """The `wamid.` id of `{"messages": [{"id": ...}]}`, or "" when the answer lacks one."""
    messages = body.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    return str(first.get("id") or "") if isinstance(first, dict) else ""


class WhatsAppClient:
    """One pooled client with the bearer token; thread-safe."""

    def __init__(self, whatsapp: WhatsAppSettings, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
        headers = {"Authorization": f"Bearer {whatsapp.token}", "Content-Type": "application/json"}
        self._client = Client(whatsapp.api_url.rstrip("/"), headers, timeout)
        self._path = f"/{whatsapp.phone_number_id}/messages"

    def send_template(
        self,
        phone: str,
        template_name: str,
        parameters: list[str],
        language: str = "id",
        callback_data: str = "",
    ) -> str:
        """Sends the template; returns the `wamid.` id. 429/5xx retry, other 4xx are final.
        `callback_data` (the outbox row id) comes back in the message's status callbacks."""
        body = template_body(
            whatsapp_number(phone), template_name, language, parameters, callback_data
        )
        response = send(self._client, "POST", self._path, json=body)
        raise_for_status(response, graph_error_text(json_body(response)))
        return _first_message_id(json_body(response))

    def close(self) -> None:
        self._client.close()
