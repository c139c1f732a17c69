"""The one database handle, its pool, and the transaction helper every writer uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from playhouse.postgres_ext import PooledPostgresqlExtDatabase

# Bound to a real URL by init_database(); models import this name.
database = PooledPostgresqlExtDatabase(None, autoconnect=False)


def normalise_url(url: str) -> str:
    """peewee recognises `postgresql://` only; Heroku-style `postgres://` is the same thing."""
    if url.startswith("postgres://"):
        return "postgresql://" + url.removeprefix("postgres://")
    return url


def init_database(url: str, max_connections: int = 20) -> None:
    """Points the shared handle at `url`; waits up to 10 s for a free pooled connection."""
    database.init(
        normalise_url(url),
        max_connections=max_connections,
        stale_timeout=300,
        timeout=10,
        connect_timeout=5,
        options="-c statement_timeout=30000 -c lock_timeout=10000",
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


class _AfterCommit:
    """Callbacks (enqueues) that run only once the surrounding transaction has committed."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []


@contextmanager
def transaction() -> Iterator[_AfterCommit]:
    """One atomic unit of work; `tx.callbacks.append(fn)` runs fn after a successful commit."""
    after = _AfterCommit()
    with database.atomic():
        yield after
    for callback in after.callbacks:
        callback()
