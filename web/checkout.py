"""POST /api/checkout: validate, rate-limit, enqueue. No database write happens here."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import falcon
from loguru import logger

from config.logs import mask_email
from models.base import SHOP_TIMEZONE
from models.checkout import hash_order_token
from web.body import read_json_object
from web.catalog import Catalog
from web.queue import TaskQueue
from web.ratelimit import ClientRateLimit, client_key
from web.validation import clean_checkout

# Crockford's base32: digits and capitals without I, L, O and U, so an order number read out on
# the phone is never misheard (1/I/l, 0/O) and never spells a word by accident.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_id(now: datetime | None = None) -> str:
    """`BFA-20261201-7K3M-Q9TZ-X2F4-8HNB`: the shop's (WIB) date, then 80 random bits in four
    groups of Crockford base32; 34 characters, within Midtrans' 50."""
    day = (now or datetime.now(UTC)).astimezone(SHOP_TIMEZONE)
    bits = int.from_bytes(secrets.token_bytes(10), "big")
    letters = "".join(CROCKFORD[(bits >> shift) & 31] for shift in range(75, -1, -5))
    groups = "-".join(letters[i : i + 4] for i in range(0, 16, 4))
    return f"BFA-{day:%Y%m%d}-{groups}"


class CheckoutResource:
    def __init__(self, queue: TaskQueue, catalog: Catalog, rate_limit: ClientRateLimit):
        self._queue = queue
        self._catalog = catalog
        self._rate_limit = rate_limit

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not (req.content_type or "").lower().startswith("application/json"):
            # A plain form POST from another site cannot be a JSON request without a preflight.
            raise falcon.HTTPUnsupportedMediaType(title="Send the checkout as application/json")
        wait_seconds = self._rate_limit.retry_after(client_key(req.remote_addr))
        if wait_seconds is not None:
            raise falcon.HTTPTooManyRequests(
                title="Terlalu banyak percobaan",
                retry_after=wait_seconds,
                description=f"Coba lagi dalam {wait_seconds} detik.",
            )
        body = read_json_object(req, max_bytes=8 * 1024)
        values, errors = clean_checkout(body)
        errors.update(self._catalog_errors(values, errors))
        if errors:
            resp.status = falcon.HTTP_422
            resp.media = {"title": "Data belum lengkap atau tidak valid", "errors": errors}
            return
        order_id, order_token = new_order_id(), secrets.token_urlsafe(24)
        self._queue.submit_checkout(
            {**values, "order_id": order_id, "order_token_hash": hash_order_token(order_token)}
        )
        logger.info("Checkout accepted for {} ({})", order_id, mask_email(values["email"]))
        resp.status = falcon.HTTP_202
        resp.media = {
            "order_id": order_id,
            "order_token": order_token,
            "status_url": f"/api/orders/{order_id}?token={order_token}",
        }

    def _catalog_errors(self, values: dict, errors: dict) -> dict[str, str]:
        found = {}
        package_id = values.get("package_id")
        packages = self._catalog.active_packages()  # None: unknown now; the worker checks it
        if "package_id" not in errors and packages is not None and package_id not in packages:
            found["package_id"] = "Paket tidak ditemukan atau tidak dijual lagi."
        code = values.get("discount_code")
        if code and not found and self._catalog.discount_is_usable(code, package_id) is False:
            found["discount_code"] = "Kode diskon tidak berlaku."
        return found
