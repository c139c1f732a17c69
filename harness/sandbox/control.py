"""The `/_sandbox/...` control API: tests drive payments, inspect what arrived and inject faults."""

from collections.abc import Callable

import falcon

from harness.sandbox.faults import InvalidFaultPlan, parse_fault_plan
from harness.sandbox.http_io import read_json_object
from harness.sandbox.payments import InvalidTransition, PaymentSimulator, Transition, UnknownOrder
from harness.sandbox.smtp import SmtpSandbox
from harness.sandbox.state import SandboxState

TRANSITION_FIELDS = {"transaction_status", "payment_type", "fraud_status", "gross_amount"}
TRANSITION_FIELDS |= {"original_amount", "refund_amount"}
MIDTRANS_FAULT_TARGETS = ("snap", "status_api", "actions")


def parse_transition(document: dict) -> tuple[Transition, bool]:
    """The transition and whether to notify, from a control-API body."""
    fields = {name: value for name, value in document.items() if name != "notify"}
    unknown = set(fields) - TRANSITION_FIELDS
    if unknown or "transaction_status" not in fields:
        raise InvalidTransition(f"need transaction_status; unknown fields: {sorted(unknown)}")
    if not isinstance(fields.get("gross_amount", ""), str):
        raise InvalidTransition("gross_amount overrides the notified text, so it is a string")
    return Transition(**fields), document.get("notify", True) is not False


class TransitionResource:
    """`POST /_sandbox/midtrans/transactions/{order_id}/transition`."""

    def __init__(self, simulator: PaymentSimulator) -> None:
        self.simulator = simulator

    def on_post(self, req: falcon.Request, resp: falcon.Response, order_id: str) -> None:
        transition, notify = parse_transition(read_json_object(req))
        resp.media = self.simulator.transition(order_id, transition, notify)


class TransactionResource:
    """`GET /_sandbox/midtrans/transactions/{order_id}`: the stored state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def on_get(self, req: falcon.Request, resp: falcon.Response, order_id: str) -> None:
        txn = self.state.transaction(order_id)
        if txn is None:
            raise falcon.HTTPNotFound(title=f"Snap never saw order {order_id}")
        resp.media = txn.as_dict()


class RawNotificationResource:
    """`POST /_sandbox/midtrans/notify`: send any body, signed over its own fields if asked."""

    def __init__(self, simulator: PaymentSimulator) -> None:
        self.simulator = simulator

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        document = read_json_object(req)
        if not isinstance(document.get("body"), dict):
            raise falcon.HTTPBadRequest(title="body must be the notification object")
        resp.media = self.simulator.send_raw(document["body"], document.get("sign", True) is True)


class ListResource:
    """GET lists a store; DELETE empties it (and clears that channel's faults)."""

    def __init__(self, list_items: Callable[[], list], clear: Callable[[], None]) -> None:
        self.list_items = list_items
        self.clear = clear

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.list_items()

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.clear()
        resp.status = falcon.HTTP_204


class FaultsResource:
    """POST sets faults from the body, DELETE clears them, GET shows them."""

    def __init__(self, apply: Callable[[dict], None], show: Callable[[], dict]) -> None:
        self.apply = apply
        self.show = show

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.show()

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.apply(read_json_object(req))
        resp.media = self.show()

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.apply({})
        resp.media = self.show()


class ResetResource:
    """`POST /_sandbox/reset`: forget everything, clear every fault, reopen the SMTP port."""

    def __init__(self, state: SandboxState, smtp: SmtpSandbox) -> None:
        self.state = state
        self.smtp = smtp

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.state.reset()
        self.smtp.start()
        resp.status = falcon.HTTP_204


def _midtrans_faults(state: SandboxState) -> FaultsResource:
    def apply(document: dict) -> None:
        unknown = set(document) - set(MIDTRANS_FAULT_TARGETS)
        if unknown:
            raise InvalidFaultPlan(f"fault targets are {MIDTRANS_FAULT_TARGETS}, not {unknown}")
        requested = document or dict.fromkeys(MIDTRANS_FAULT_TARGETS, {})
        plans = {target: parse_fault_plan(plan) for target, plan in requested.items()}
        for target, plan in plans.items():
            state.faults[target].set(plan)

    def show() -> dict:
        return {target: state.faults[target].plan.as_dict() for target in MIDTRANS_FAULT_TARGETS}

    return FaultsResource(apply, show)


def _mail_resources(state: SandboxState, smtp: SmtpSandbox) -> tuple[ListResource, FaultsResource]:
    def clear() -> None:
        state.clear_store(state.mails, "mail")
        smtp.start()

    faults = FaultsResource(
        lambda document: smtp.apply_faults(parse_fault_plan(document, default_status=451)),
        lambda: state.faults["mail"].plan.as_dict(),
    )
    return ListResource(lambda: state.listed(state.mails), clear), faults


def _whatsapp_resources(state: SandboxState) -> tuple[ListResource, FaultsResource]:
    messages = ListResource(
        lambda: state.listed(state.whatsapp_messages),
        lambda: state.clear_store(state.whatsapp_messages, "whatsapp"),
    )
    faults = FaultsResource(
        lambda document: state.faults["whatsapp"].set(parse_fault_plan(document)),
        lambda: state.faults["whatsapp"].plan.as_dict(),
    )
    return messages, faults


def _bad_request(req: falcon.Request, resp: falcon.Response, error: Exception, params: dict):
    raise falcon.HTTPBadRequest(title=str(error))


def _unknown_order(req: falcon.Request, resp: falcon.Response, error: Exception, params: dict):
    raise falcon.HTTPNotFound(title=f"Snap never saw order {error}")


def add_control_routes(
    app: falcon.App, state: SandboxState, simulator: PaymentSimulator, smtp: SmtpSandbox
) -> None:
    """Mount the control API and map its errors to 400/404 in one place."""
    prefix = "/_sandbox"
    app.add_route(f"{prefix}/midtrans/transactions/{{order_id}}", TransactionResource(state))
    app.add_route(
        f"{prefix}/midtrans/transactions/{{order_id}}/transition", TransitionResource(simulator)
    )
    app.add_route(f"{prefix}/midtrans/notify", RawNotificationResource(simulator))
    requests = ListResource(
        lambda: state.listed(state.requests), lambda: state.clear_store(state.requests)
    )
    app.add_route(f"{prefix}/midtrans/requests", requests)
    app.add_route(f"{prefix}/midtrans/faults", _midtrans_faults(state))
    for channel, (messages, faults) in {
        "mail": _mail_resources(state, smtp),
        "whatsapp": _whatsapp_resources(state),
    }.items():
        app.add_route(f"{prefix}/{channel}", messages)
        app.add_route(f"{prefix}/{channel}/faults", faults)
    app.add_route(f"{prefix}/reset", ResetResource(state, smtp))
    app.add_error_handler(InvalidFaultPlan, _bad_request)
    app.add_error_handler(InvalidTransition, _bad_request)
    app.add_error_handler(UnknownOrder, _unknown_order)
