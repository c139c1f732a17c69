"""The packages on sale, read from PostgreSQL and kept for a minute so checkout survives a
database outage (the worker prices the order again from the database)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import peewee
from loguru import logger

from models.catalog import Package
from models.checkout import usable_discount
from models.db import connection
from models.pricing import format_idr

REFRESH_SECONDS = 60


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
    def __init__(self) -> None:
        self._packages: dict[str, PackageView] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def active_packages(self) -> dict[str, PackageView]:
        """The active packages; the last known list while the database is unreachable."""
        with self._lock:
            if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
                self._refresh()
            return dict(self._packages)

    def _refresh(self) -> None:
        try:
            with connection():
                rows = list(Package.select().where(Package.active))
        except peewee.DatabaseError as error:
            logger.warning("Catalog refresh failed, keeping the last list: {}", error)
            return
        self._packages = {
            row.package_id: PackageView(row.package_id, row.name, row.description, row.price_idr)
            for row in rows
        }
        self._loaded_at = time.monotonic()

    def discount_is_usable(self, code: str, package_id: str) -> bool | None:
        """True/False from the database; None when it cannot be asked (the worker decides)."""
        try:
            with connection():
                return usable_discount(code, package_id) is not None
        except peewee.DatabaseError:
            return None
