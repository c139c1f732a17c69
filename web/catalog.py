"""The packages on sale, read from PostgreSQL and kept for a minute so checkout survives a
database outage (the worker prices the order again from the database)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import peewee
from loguru import logger

from models.catalog import Package
from models.checkout import usable_discount
from models.db import connection
from models.pricing import format_idr

REFRESH_SECONDS = 60
RETRY_AFTER_FAILURE_SECONDS = 10


@dataclass(frozen=True)
class PackageView:
    package_id: str
    name: str
    description: str
    price_idr: int

    @property
    def price_text(self) -> str:
        return format_idr(self.price_idr)


class Catalog:
    """Packages and discount checks for the web. After a failed database call it stops asking
    for a few seconds, so an outage costs one slow request, not every request."""

    def __init__(self) -> None:
        self._packages: dict[str, PackageView] | None = None
        self._loaded_at = 0.0
        self._unreachable_until = 0.0

    def active_packages(self) -> dict[str, PackageView] | None:
        """The active packages (the last known list during an outage); None if never loaded."""
        now = time.monotonic()
        if now - self._loaded_at > REFRESH_SECONDS and now >= self._unreachable_until:
            self._refresh()
        return self._packages

    def _refresh(self) -> None:
        try:
            with connection():
                rows = list(Package.select().where(Package.active))
        except peewee.DatabaseError as error:
            self._unreachable_until = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
            logger.warning("Catalog refresh failed, keeping the last list: {}", error)
            return
        self._packages = {
            row.package_id: PackageView(row.package_id, row.name, row.description, row.price_idr)
            for row in rows
        }
        self._loaded_at = time.monotonic()

    def discount_is_usable(self, code: str, package_id: str) -> bool | None:
        """True/False from the database; None when it cannot be asked (the worker decides)."""
        if time.monotonic() < self._unreachable_until:
            return None
        try:
            with connection():
                return usable_discount(code, package_id) is not None
        except peewee.DatabaseError:
            self._unreachable_until = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
            return None
