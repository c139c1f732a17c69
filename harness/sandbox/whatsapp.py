"""WhatsApp Business Cloud API stand-in: template messages in, Graph-style answers and errors."""

import re
import secrets

import falcon

from harness.sandbox.faults import FaultPlan
from harness.sandbox.http_io import answer, bearer_token, parse_json, read_bounded
from harness.sandbox.state import SandboxState, utc_now_text
from harness.sandbox.whatsapp_statuses import StatusCallbackResource, StatusCallbacks

VERSION_PATTERN = re.compile(r"v\d+(\.\d+)?")
DIGITS = re.compile(r"\d{6,20}")
MAX_BODY_BYTES = 64 * 1024

FAULT_ERRORS = {
    400: (131030, "(#131030) Recipient phone number not in allowed list"),
    429: (130429, "(#130429) Rate limit hit"),
    503: (2, "Service temporarily unavailable"),
}
UNKNOWN_FAULT = (131000, "Something went wrong")


def graph_error(message: str, code: int, details: str | None = None) -> dict:
    """The error envelope every Graph API failure uses."""
    error = {"message": message, "type": "OAuthException", "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error | {"fbtrace_id": secrets.token_urlsafe(12)}}


def template_message_errors(body: object) -> list[str]:
    """What Graph would refuse in a template message; empty when it is acceptable."""
    if not isinstance(body, dict):
        return ["The request body must be a JSON object"]
    errors = []
    if body.get("messaging_product") != "whatsapp":
        errors.append("messaging_product must be 'whatsapp'")
    if not isinstance(body.get("to"), str) or not DIGITS.fullmatch(body["to"]):
        errors.append("to must be a phone number in digits")
    if body.get("type") != "template":
        errors.append("type must be 'template'")
    return errors + _template_errors(body.get("template"))


def _template_errors(template: object) -> list[str]:
    if not isinstance(template, dict):
        return ["template is required"]
    errors = []
    if not isinstance(template.get("name"), str) or not template["name"]:
        errors.append("template.name is required")
    language = template.get("language")
    if not isinstance(language, dict) or not isinstance(language.get("code"), str):
        errors.append("template.language.code is required")
    if not isinstance(template.get("components", []), list):
        errors.append("template.components must be an array")
    return errors


# A token the sandbox treats as revoked, for tests of what the shop does when Meta revokes one.
REVOKED_TOKEN_PREFIX = "revoked"


def token_refusal(req: falcon.Request) -> tuple[int, dict] | None:
    """Graph's 401 for a missing, revoked or expired token; None when the token is good."""
    token = bearer_token(req)
    if token is None:
        return 401, graph_error("An active access token must be used to query information.", 190)
    if token.startswith(REVOKED_TOKEN_PREFIX):
        message = "Error validating access token: The session has been invalidated."
        return 401, graph_error(message, 190)
    return None


def stored_message(body: dict, phone_number_id: str, message_id: str, token: str) -> dict:
    """What the inbox and the tests see of one accepted message."""
    template = body["template"]
    return {
        "id": message_id,
        "phone_number_id": phone_number_id,
        "to": body["to"],
        "template": template["name"],
        "language": template["language"]["code"],
        "components": template.get("components", []),
        "body": body,
        "token": token,
        "received_at": utc_now_text(),
    }


class WhatsAppMessagesResource:
    """`POST /{version}/{phone_number_id}/messages` (the route names every Graph node node_id)."""

    def __init__(self, state: SandboxState, callbacks: StatusCallbacks) -> None:
        self.state = state
        self.callbacks = callbacks

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, version: str, node_id: str
    ) -> None:
        if not VERSION_PATTERN.fullmatch(version) or not node_id.isdigit():
            raise falcon.HTTPNotFound()
        answer(resp, *self._send(req, read_bounded(req, MAX_BODY_BYTES), node_id))

    def _send(self, req: falcon.Request, raw: bytes | None, phone_number_id: str) -> tuple:
        fault = self.state.faults["whatsapp"].next_failure()
        if fault is not None:
            return fault.failing_status, fault_error(fault)
        refusal = token_refusal(req)
        if refusal is not None:
            return refusal
        token = bearer_token(req)
        body = parse_json(raw)
        errors = template_message_errors(body)
        if errors:
            return 400, graph_error("(#100) Invalid parameter", 100, "; ".join(errors))
        return 200, self._store(body, phone_number_id, token)

    def _store(self, body: dict, phone_number_id: str, token: str) -> dict:
        message_id = "wamid." + secrets.token_urlsafe(24)
        entry = stored_message(body, phone_number_id, message_id, token)
        self.state.record(self.state.whatsapp_messages, entry)
        fails_later = self.state.faults["whatsapp"].consume_failure_after_accept()
        self.callbacks.after_accept(entry, fails_later)
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": message_id}],
        }


def fault_error(fault: FaultPlan) -> object:
    """The failing call's body: the plan's own, else Graph's envelope for its status."""
    if fault.body is not None:
        return fault.body
    code, message = FAULT_ERRORS.get(fault.failing_status, UNKNOWN_FAULT)
    return graph_error(message, fault.error_code or code)


def add_whatsapp_routes(app: falcon.App, state: SandboxState, callbacks: StatusCallbacks) -> None:
    """Mount the messages endpoint (`WHATSAPP_API_URL = {base_url}/v26.0`, any version) and the
    control API's `POST /_sandbox/whatsapp/statuses`, which sends one status callback now."""
    app.add_route("/{version}/{node_id}/messages", WhatsAppMessagesResource(state, callbacks))
    app.add_route("/_sandbox/whatsapp/statuses", StatusCallbackResource(state, callbacks))
