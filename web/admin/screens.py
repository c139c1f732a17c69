"""What each console screen shows, as one dict for both its HTML page and its JSON twin (a
`<screen>_page` method, where there is one, gives the page a little more)."""

from __future__ import annotations

import falcon
import redis

from config.settings import Settings
from models.audit import recent_operator_actions
from models.catalog import listed_packages
from models.db import connection
from models.discounts import listed_discounts
from models.order_rows import audit_row, package_row
from models.order_story import order_timeline
from models.outbox_admin import outbox_page
from models.statuses import OutboxStatus
from web.admin.actions import ConsoleActions
from web.admin.order_search import filters_from, search_orders
from web.admin.outbox_view import status_filter
from web.admin.params import order_id_or_404, page_param
from web.admin.person_view import person_of_order
from web.admin.sales_view import sales_screen
from web.health import health_report


class Screens:
    def __init__(self, settings: Settings, redis_client: redis.Redis, actions: ConsoleActions):
        self._redis = redis_client
        self._actions = actions
        self._silence_minutes = settings.webhook_silence_alarm_minutes

    def orders(self, req: falcon.Request) -> dict:
        filters = filters_from(req)
        with connection():
            return search_orders(filters)

    def order(self, req: falcon.Request, order_id: str) -> dict:
        order_id = order_id_or_404(order_id)
        with connection():
            timeline = order_timeline(order_id)
        if timeline is None:
            raise falcon.HTTPNotFound(title=f"Pesanan {order_id} tidak ditemukan")
        return timeline

    def person(self, req: falcon.Request, order_id: str) -> dict:
        """What is held about the person behind the order (read-only)."""
        return person_of_order(order_id)

    def outbox(self, req: falcon.Request) -> dict:
        status = status_filter(req)
        page = page_param(req)
        with connection():
            return {**outbox_page(status, page), "recent_actions": _recent_actions()}

    def dead_letters(self, req: falcon.Request) -> dict:
        with connection():
            outbox_dead = outbox_page(OutboxStatus.DLQ, 1)
            recent = _recent_actions()
        return {
            "dead_letters": self._actions.listed_dead_letters(),
            "outbox": outbox_dead,
            "recent_actions": recent,
        }

    def discounts(self, req: falcon.Request) -> dict:
        """The packages' prices and the discount codes, with the buttons' recent outcomes."""
        with connection():
            return {
                "packages": [package_row(package) for package in listed_packages()],
                "discounts": listed_discounts(),
                "recent_actions": _recent_actions(),
            }

    def sales(self, req: falcon.Request) -> dict:
        return sales_screen(req)

    def health(self, req: falcon.Request) -> dict:
        return {"health": health_report(self._redis, self._silence_minutes)}

    def health_page(self, req: falcon.Request) -> dict:
        """The health page also shows each alarm in Indonesian (`pesan`), which the JSON twin
        leaves out: monitoring reads that one and it must not change."""
        return {"health": health_report(self._redis, self._silence_minutes, with_pesan=True)}


def _recent_actions() -> list[dict]:
    """What operators asked for lately and what became of it (queued actions included)."""
    return [audit_row(entry) for entry in recent_operator_actions()]
