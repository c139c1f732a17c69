"""The Graph API reads `admin verify` makes: the phone number (is the token valid?) and the
business account's message templates (do ours exist, are they approved?)."""

import falcon

from harness.sandbox.http_io import answer
from harness.sandbox.state import SandboxState
from harness.sandbox.whatsapp import VERSION_PATTERN, fault_error, token_refusal

TEMPLATE_STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")


def _unknown_node(node_id: str) -> dict:
    message = f"Unsupported get request. Object with ID '{node_id}' does not exist"
    return {"error": {"message": message, "type": "GraphMethodException", "code": 100}}


def _numeric(version: str, node_id: str) -> None:
    if not VERSION_PATTERN.fullmatch(version) or not node_id.isdigit():
        raise falcon.HTTPNotFound()


def _refusal(state: SandboxState, req: falcon.Request) -> tuple[int, object] | None:
    """An injected WhatsApp fault (as for messages), else Graph's 401 for a bad token."""
    fault = state.faults["whatsapp"].next_failure()
    if fault is not None:
        return fault.failing_status, fault_error(fault)
    return token_refusal(req)


class PhoneNumberResource:
    """`GET /{version}/{phone_number_id}`: the number's display fields."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def on_get(
        self, req: falcon.Request, resp: falcon.Response, version: str, node_id: str
    ) -> None:
        _numeric(version, node_id)
        refusal = _refusal(self.state, req)
        document = {
            "id": node_id,
            "display_phone_number": "+62 811-0000-0001",
            "verified_name": "Buat Film Pakai AI",
            "quality_rating": "GREEN",
        }
        answer(resp, *(refusal or (200, document)))


class MessageTemplatesResource:
    """`GET /{version}/{business_account_id}/message_templates`: one page of every template."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def on_get(
        self, req: falcon.Request, resp: falcon.Response, version: str, node_id: str
    ) -> None:
        _numeric(version, node_id)
        refusal = _refusal(self.state, req)
        if refusal is None and node_id != self.state.whatsapp_business_account_id:
            refusal = 400, _unknown_node(node_id)
        answer(resp, *(refusal or (200, {"data": self._templates(), "paging": {}})))

    def _templates(self) -> list[dict]:
        return [
            {"name": name, "status": status, "language": "id", "category": "UTILITY"}
            for name, status in self.state.template_statuses().items()
        ]


class TemplateControlResource:
    """`PUT /_sandbox/whatsapp/templates/{name}` `{"status": ...}` sets a template's review
    state; DELETE removes it, as if it was never created in WhatsApp Manager."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def on_put(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        status = (req.get_media(default_when_empty={}) or {}).get("status")
        if status not in TEMPLATE_STATUSES:
            raise falcon.HTTPBadRequest(title=f"status must be one of {TEMPLATE_STATUSES}")
        self.state.set_template_status(name, status)
        resp.media = self.state.template_statuses()

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        self.state.set_template_status(name, None)
        resp.media = self.state.template_statuses()


def add_whatsapp_account_routes(app: falcon.App, state: SandboxState) -> None:
    """Mount the two Graph reads and the templates' control route."""
    app.add_route("/{version}/{node_id}", PhoneNumberResource(state))
    app.add_route("/{version}/{node_id}/message_templates", MessageTemplatesResource(state))
    app.add_route("/_sandbox/whatsapp/templates/{name}", TemplateControlResource(state))
