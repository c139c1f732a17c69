"""The one database handle, its pool, and the transaction helper every writer uses."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from playhouse.postgres_ext import PooledPostgresqlExtDatabase

# Bound to a real URL by init_database(); models import this name.
# No start-up `options` (PgBouncer in transaction mode refuses them): the timeouts are set per
# transaction instead, and a transaction is what PgBouncer hands one server connection.
STATEMENT_TIMEOUT_MS = 30_000
LOCK_TIMEOUT_MS = 10_000
database = PooledPostgresqlExtDatabase(None, autoconnect=False)


def normalise_url(url: str) -> str:
    """peewee recognises `postgresql://` only; Heroku-style `postgres://` is the same thing."""
    if url.startswith("postgres://"):
        return "postgresql://" + url.removeprefix("postgres://")
    return url


_bound_to: list[str] = []


def init_database(url: str, max_connections: int = 20) -> None:
    """Points the shared handle at `url`; waits up to 10 s for a free pooled connection.
    Binding again to the same URL changes nothing (open connections stay open)."""
    url = normalise_url(url)
    if _bound_to == [url]:
        return
    _bound_to[:] = [url]
    database.init(
        url,
        max_connections=max_connections,
        stale_timeout=300,
        timeout=10,
        connect_timeout=5,
    )


@contextmanager
def connection() -> Iterator[None]:
    """Opens a pooled connection for one request or message and returns it afterwards."""
    opened = database.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if opened and not database.is_closed():
            database.close()


def reconnect() -> None:
    """Drops this thread's connection without returning it to the pool (after a database
    restart it is broken) and opens a fresh one; raises while the database is still down."""
    if not database.is_closed():
        database.manual_close()
    database.connect()


class _AfterCommit:
    """Callbacks (enqueues) that run only once the outermost transaction has committed."""

    def __init__(self, callbacks: list[Callable[[], None]]) -> None:
        self.callbacks = callbacks


_pending = threading.local()


@contextmanager
def transaction() -> Iterator[_AfterCommit]:
    """One atomic unit of work; `tx.callbacks.append(fn)` runs fn after the real commit.

    Nested calls become savepoints and hand their callbacks to the outermost transaction, so a
    message is never sent for work that a surrounding rollback would undo.
    """
    outermost = not database.in_transaction()
    if outermost:
        _pending.callbacks = []
    with database.atomic():
        if outermost:
            _limit_waits()
        yield _AfterCommit(_pending.callbacks)
    if outermost:
        callbacks, _pending.callbacks = _pending.callbacks, []
        for callback in callbacks:
            callback()


def _limit_waits() -> None:
    """This transaction's statement and lock timeouts (SET LOCAL: they end with it, so a pooler
    that hands the server connection to someone else next hands over nothing)."""
    database.execute_sql(
        "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
        (str(STATEMENT_TIMEOUT_MS), str(LOCK_TIMEOUT_MS)),
    )
