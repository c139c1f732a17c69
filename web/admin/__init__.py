"""The operator's console (`/admin`, HTML) and its JSON twin (`/api/admin/...`).

Reads PostgreSQL and Redis; its buttons (outbox and dead-letter recoveries, access corrections,
prices and discount codes) queue admin actions that a worker carries out. No route here can set
an order's payment status.
"""

from __future__ import annotations

import falcon
import redis

from config.settings import Settings
from web.admin.actions import ConsoleActions
from web.admin.auth import AdminAuth, EndedSessions, LoginThrottle
from web.admin.login import LoginResource, LogoutResource
from web.admin.rendering import template_environment
from web.admin.resources import (
    ApiActionResource,
    ApiResource,
    PageActionResource,
    PageResource,
)
from web.admin.sales_view import SalesCsvResource
from web.admin.screens import Screens
from web.queue import TaskQueue

SCREENS = (  # (path below /admin and /api/admin, template, Screens method)
    ("/orders", "orders.html", "orders"),
    ("/orders/{order_id}", "order.html", "order"),
    ("/orders/{order_id}/person", "person.html", "person"),
    ("/outbox", "outbox.html", "outbox"),
    ("/dead-letters", "dead_letters.html", "dead_letters"),
    ("/discounts", "discounts.html", "discounts"),
    ("/sales", "sales.html", "sales"),
    ("/health", "health.html", "health"),
)


class ConsoleHome:
    def on_get(self, req, resp):
        raise falcon.HTTPSeeOther("/admin/orders")


def add_admin_routes(
    app: falcon.App, settings: Settings, redis_client: redis.Redis, queue: TaskQueue
) -> AdminAuth:
    """Mounts every console page, its JSON twin and the login; call once from create_app.
    Returns the console's auth, for other routes only the operator may read."""
    auth = AdminAuth(
        settings.admin_token,
        settings.public_base_url.startswith("https://"),
        LoginThrottle(redis_client),
        EndedSessions(redis_client),
    )
    templates = template_environment(settings.mode)
    actions = ConsoleActions(queue)
    screens = Screens(settings, redis_client, actions)
    app.add_route("/admin", ConsoleHome())
    app.add_route("/admin/login", LoginResource(auth, templates))
    app.add_route("/admin/logout", LogoutResource(auth))
    app.add_route("/admin/sales.csv", SalesCsvResource(auth))
    for path, template_name, method in SCREENS:
        screen = getattr(screens, method)
        page = getattr(screens, f"{method}_page", screen)  # a page may show more than its twin
        app.add_route(f"/admin{path}", PageResource(auth, templates, template_name, page))
        app.add_route(f"/api/admin{path}", ApiResource(auth, screen))
    for path, action, with_form in (
        ("/outbox/{outbox_id:int}/resend", actions.resend_outbox_message, False),
        ("/outbox/{outbox_id:int}/requeue", actions.requeue_outbox_message, False),
        ("/dead-letters/{message_id}/requeue", actions.requeue_dead_letter, False),
        ("/orders/{order_id}/access/revoke", actions.revoke_access, True),
        ("/orders/{order_id}/access/grant", actions.grant_access, True),
        ("/packages/{package_id}/price", actions.set_price, True),
        ("/discounts/create", actions.create_discount, True),
        ("/discounts/{code}/disable", actions.disable_discount, False),
        ("/orders/{order_id}/refund", actions.refund, True),
        ("/orders/{order_id}/challenge/approve", actions.approve_challenge, True),
        ("/orders/{order_id}/challenge/deny", actions.deny_challenge, True),
        ("/orders/{order_id}/cancel", actions.cancel_payment, True),
    ):
        app.add_route(f"/admin{path}", PageActionResource(auth, templates, action, with_form))
        app.add_route(f"/api/admin{path}", ApiActionResource(auth, action, with_form))
    return auth
