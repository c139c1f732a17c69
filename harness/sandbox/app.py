"""The sandbox's one HTTP app: Midtrans, WhatsApp, the pay page, the inbox and the control API."""

import falcon

from harness.sandbox.actions import add_action_routes
from harness.sandbox.config import SandboxConfig
from harness.sandbox.control import add_control_routes
from harness.sandbox.inbox import add_inbox_route
from harness.sandbox.midtrans import add_midtrans_routes
from harness.sandbox.pay_page import add_pay_page_routes
from harness.sandbox.payments import PaymentSimulator
from harness.sandbox.smtp import SmtpSandbox
from harness.sandbox.state import SandboxState
from harness.sandbox.whatsapp import add_whatsapp_routes
from harness.sandbox.whatsapp_account import add_whatsapp_account_routes
from harness.sandbox.whatsapp_statuses import StatusCallbacks


def create_sandbox_app() -> falcon.App:
    """An empty app; routes come once the server knows its real port (add_sandbox_routes)."""
    app = falcon.App()
    app.req_options.strip_url_path_trailing_slash = True
    return app


def add_sandbox_routes(
    app: falcon.App,
    state: SandboxState,
    config: SandboxConfig,
    public_url: str,
    smtp: SmtpSandbox,
) -> None:
    """Wire every stand-in to the shared state; the pay page links use public_url."""
    simulator = PaymentSimulator(state, config.server_key, config.notification_url)
    add_midtrans_routes(app, state, config, public_url)
    add_action_routes(app, state, simulator, config.server_key)
    add_pay_page_routes(app, state, simulator)
    callbacks = StatusCallbacks(
        state,
        config.whatsapp_webhook_url,
        config.whatsapp_app_secret,
        config.whatsapp_status_callbacks,
    )
    add_whatsapp_routes(app, state, callbacks)
    add_whatsapp_account_routes(app, state)
    add_control_routes(app, state, simulator, smtp)
    add_inbox_route(app, state)
