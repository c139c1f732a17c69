"""The Falcon app: built by create_app() from settings and collaborators, served by waitress."""

from __future__ import annotations

from pathlib import Path

import falcon
import redis

from config.settings import Settings
from web import access_links, health, pages, receipts
from web.admin import add_admin_routes
from web.admin.health_resource import HealthResource
from web.catalog import Catalog
from web.checkout import CheckoutResource
from web.errors import error_serializer, install_error_handlers
from web.legal import add_legal_routes
from web.metrics import add_observability, observability_middleware
from web.middleware import (
    DatabaseConnections,
    NotFramed,
    RefuseControlCharacters,
    RequestContext,
)
from web.orders import OrderStatusResource
from web.queue import TaskQueue
from web.ratelimit import ClientRateLimit
from web.webhooks import MidtransWebhookResource, WhatsAppWebhookResource

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings, redis_client: redis.Redis) -> falcon.App:
    """Wires every resource with its collaborators; nothing here reads the environment."""
    app = falcon.App(
        middleware=[
            RequestContext(),
            RefuseControlCharacters(),
            DatabaseConnections(),
            NotFramed(),
            *observability_middleware(),
        ]
    )
    # `/webhooks/midtrans/` must reach the same resource: Midtrans treats a redirect as failure.
    app.req_options.strip_url_path_trailing_slash = True
    install_error_handlers(app)
    queue = TaskQueue(redis_client)
    catalog = Catalog()
    templates = pages.template_environment(settings.seller, settings.mode)
    app.set_error_serializer(error_serializer(templates))
    checkout_limit = ClientRateLimit(
        redis_client, "checkout", settings.checkout_rate_limit_per_minute
    )
    app.add_route("/api/checkout", CheckoutResource(queue, catalog, checkout_limit))
    app.add_route("/api/orders/{order_id}", OrderStatusResource(queue, settings.public_base_url))
    app.add_route(
        "/webhooks/midtrans", MidtransWebhookResource(queue, settings.midtrans.server_key)
    )
    app.add_route("/webhooks/whatsapp", WhatsAppWebhookResource(queue, settings.whatsapp))
    app.add_route("/health/ready", health.ReadyResource(redis_client))
    app.add_route("/health/live", health.LiveResource())
    app.add_route("/", pages.CheckoutPage(templates, catalog))
    app.add_route("/finish", pages.FinishPage(templates))
    app.add_route("/access/{access_token}", pages.AccessPage(templates))
    receipt = receipts.ReceiptResource(templates, settings.seller)
    app.add_route(receipts.PATH, receipt)
    app.add_route(f"{receipts.PATH}.pdf", receipt, suffix="pdf")
    app.add_route(access_links.PATH, access_links.page(templates, queue, redis_client))
    add_legal_routes(app, templates)
    app.add_static_route("/static", str(STATIC_DIR))
    add_observability(app, redis_client)
    auth = add_admin_routes(app, settings, redis_client, queue)
    # The full report names flagged orders, queue depths and hosts: for the operator only.
    app.add_route("/health", HealthResource(settings, redis_client, auth))
    return app
