"""The base model: every table lives in the one shared database handle."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from peewee import Model

from models.db import database

# The shop, its customers and its accountant live in Jakarta time (WIB, UTC+7, no DST).
SHOP_TIMEZONE = ZoneInfo("Asia/Jakarta")


def utcnow() -> datetime:
    """Aware UTC now: the database stores timestamptz and we never mix naive times in."""
    return datetime.now(UTC)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
