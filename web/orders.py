"""GET /api/orders/{order_id}?token=: the customer's view of one order."""

from __future__ import annotations

import hmac

import falcon

from models.checkout import hash_order_token, order_token_matches
from models.db import connection
from models.entitlements import Entitlement
from models.orders import Order
from models.statuses import EntitlementStatus, OrderStatus
from web.queue import TaskQueue


def access_url(public_base_url: str, order: Order) -> str | None:
    """The course access link once the order is paid and its entitlement active."""
    if order.status != OrderStatus.PAID:
        return None
    entitlement = Entitlement.get_or_none(Entitlement.order == order.order_id)
    if entitlement is None or entitlement.status != EntitlementStatus.ACTIVE:
        return None
    return f"{public_base_url}/access/{entitlement.access_token}"


class OrderStatusResource:
    def __init__(self, queue: TaskQueue, public_base_url: str):
        self._queue = queue
        self._public_base_url = public_base_url

    def on_get(self, req: falcon.Request, resp: falcon.Response, order_id: str) -> None:
        resp.cache_control = ["no-store"]  # the URL carries the order's secret token
        token = req.get_param("token") or ""
        with connection():
            order = Order.get_or_none(Order.order_id == order_id)
            if order is not None and order_token_matches(order, token):
                resp.media = self._view(order)
                return
        if order is None and self._is_processing(order_id, token):
            resp.media = {
                "order_id": order_id,
                "status": "processing",
                "amount": None,
                "discount_code": None,
                "discount_amount": None,
                "package_id": None,
                "redirect_url": None,
                "paid_at": None,
                "access_url": None,
            }
            return
        raise falcon.HTTPNotFound(title="Pesanan tidak ditemukan")

    def _is_processing(self, order_id: str, token: str) -> bool:
        token_hash = self._queue.pending_checkout_token_hash(order_id)
        return token_hash is not None and hmac.compare_digest(token_hash, hash_order_token(token))

    def _view(self, order: Order) -> dict:
        return {
            "order_id": order.order_id,
            "status": order.status,
            "amount": order.final_amount,
            # The code the order was priced with: None when the one asked for was used up (or
            # ended) between the form and the order, so the page can say so before Snap does.
            "discount_code": order.discount_code,
            "discount_amount": order.discount_amount,
            "package_id": order.package_id,
            "redirect_url": order.redirect_url
            if order.status == OrderStatus.PENDING_PAYMENT
            else None,
            "paid_at": order.paid_at.isoformat() if order.paid_at else None,
            "access_url": access_url(self._public_base_url, order),
        }
