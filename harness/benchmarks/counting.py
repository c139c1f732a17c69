"""Deterministic cost counters for the hot path: SQL statements and Redis round trips made by
the Dramatiq worker's own threads (not by the driver or the in-process sandbox), and the CPU
those threads used. Counts do not depend on how busy the machine is; timings do."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager

import psutil
import redis
from dramatiq.worker import _ConsumerThread, _WorkerThread

_TABLE = re.compile(
    r'^\s*(?:SELECT .*? FROM|INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', re.IGNORECASE | re.DOTALL
)


def statement_kind(sql: str) -> str:
    """`SELECT orders`, `INSERT system_audit_log`, `BEGIN`, `SAVEPOINT`: what a reader sums."""
    verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    table = _TABLE.match(sql)
    return f"{verb} {table.group(1)}" if table else verb


def dramatiq_thread() -> bool:
    """The default filter: a Dramatiq consumer or worker thread, where a worker's cost is."""
    return isinstance(threading.current_thread(), (_WorkerThread, _ConsumerThread))


_counted = [dramatiq_thread]


def _counts_here() -> bool:
    return _counted[0]()


statements: Counter = Counter()


class _CountingCursor:
    """A psycopg2 cursor that counts what a worker thread sends through it."""

    def __init__(self, cursor) -> None:
        self._cursor = cursor

    def execute(self, query, params=None):
        if _counts_here():
            text = query.decode() if isinstance(query, bytes) else str(query)
            statements[statement_kind(text)] += 1
        return self._cursor.execute(query, params)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


redis_calls: Counter = Counter()
_original_execute_command = redis.Redis.execute_command
_original_pipeline_execute = redis.client.Pipeline.execute


def _counted_execute_command(self, *args, **options):
    if _counts_here():
        redis_calls[str(args[0]).upper()] += 1
    return _original_execute_command(self, *args, **options)


def _counted_pipeline_execute(self, *args, **kwargs):
    if _counts_here():
        names = "+".join(str(command[0][0]).upper() for command in self.command_stack)
        redis_calls[f"PIPELINE[{names}]"] += 1
    return _original_pipeline_execute(self, *args, **kwargs)


def install_counters(database, counted_thread: Callable[[], bool] = dramatiq_thread):
    """Counts from now on every statement peewee sends (BEGIN and COMMIT included: peewee sends
    them through `cursor()` too) and every redis-py call, from threads `counted_thread` picks.
    Returns the function that stops counting."""
    _counted[:] = [counted_thread]
    database.cursor = lambda *args, **kwargs: _CountingCursor(plain_cursor(*args, **kwargs))
    plain_cursor = type(database).cursor.__get__(database)
    redis.Redis.execute_command = _counted_execute_command
    redis.client.Pipeline.execute = _counted_pipeline_execute

    def uninstall() -> None:
        del database.cursor
        redis.Redis.execute_command = _original_execute_command
        redis.client.Pipeline.execute = _original_pipeline_execute

    return uninstall


def dramatiq_threads_cpu() -> float:
    """CPU seconds used so far by this process's Dramatiq consumer and worker threads."""
    ids = {
        thread.native_id
        for thread in threading.enumerate()
        if isinstance(thread, (_WorkerThread, _ConsumerThread))
    }
    return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id in ids)


@contextmanager
def measured(redis_client):
    """Yields a dict filled at exit with what the block cost: statements, Redis calls (client
    side, worker threads), the server's command counts (every client) and worker CPU."""
    statements.clear()
    redis_calls.clear()
    server_before = _commandstats(redis_client)
    cpu_before = dramatiq_threads_cpu()
    result: dict = {}
    yield result
    result["cpu_seconds"] = dramatiq_threads_cpu() - cpu_before
    result["statements"] = Counter(statements)
    result["redis_calls"] = Counter(redis_calls)
    result["redis_server"] = _commandstats(redis_client) - server_before


def _commandstats(client) -> Counter:
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()})
