"""The database connection works through PgBouncer in transaction mode: it sends no start-up
`options` (PgBouncer refuses them), yet every transaction still has its statement and lock
timeouts, and they end with the transaction (the next client of that server connection gets
nothing of ours). Migrations take their session lock on a direct connection of their own."""

import psycopg2
import pytest
from peewee import OperationalError

from config.settings import load_settings
from models.db import database, transaction
from tests.factories import insert_order

SETTINGS_QUERY = (
    "SELECT name, setting, source FROM pg_settings "
    "WHERE name IN ('statement_timeout', 'lock_timeout') ORDER BY name"
)


def server_view() -> dict[str, tuple[str, str]]:
    return {
        name: (setting, source) for name, setting, source in database.execute_sql(SETTINGS_QUERY)
    }


def test_the_connection_sends_no_startup_options(db):
    assert "options" not in database.connect_params
    sources = {name: source for name, (_, source) in server_view().items()}
    assert "client" not in sources.values(), sources  # 'client' is what start-up options set


def test_each_transaction_has_its_timeouts_and_they_end_with_it(db):
    before = server_view()
    with transaction():
        inside = server_view()
    assert inside == {
        "lock_timeout": ("10000", "session"),
        "statement_timeout": ("30000", "session"),
    }
    assert server_view() == before  # nothing left for the next client of this connection


def test_a_lock_wait_is_cut_short_by_the_transactions_lock_timeout(db, service_urls, monkeypatch):
    monkeypatch.setattr("models.db.LOCK_TIMEOUT_MS", 200)
    insert_order("BFA-LOCKED-1")
    holder = psycopg2.connect(service_urls["database_url"])
    try:
        with holder.cursor() as cursor:  # another process holds the row
            cursor.execute("SELECT 1 FROM orders WHERE order_id = 'BFA-LOCKED-1' FOR UPDATE")
        with pytest.raises(OperationalError, match="lock timeout"), transaction():
            database.execute_sql("SELECT 1 FROM orders WHERE order_id = 'BFA-LOCKED-1' FOR UPDATE")
    finally:
        holder.close()


def test_migrations_use_the_direct_url_when_one_is_given():
    pooled = "postgresql://shop@pgbouncer:6432/shop"
    direct = "postgresql://shop@db-primary:5432/shop"
    assert load_settings({"DATABASE_URL": pooled}).migration_database_url == pooled
    both = {"DATABASE_URL": pooled, "MIGRATION_DATABASE_URL": direct}
    assert load_settings(both).migration_database_url == direct
