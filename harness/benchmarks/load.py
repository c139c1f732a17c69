"""The customers: each order is its own client going checkout -> payment link -> pays at the
sandbox (which sends Midtrans' signed notification to the web) -> access, over real HTTP.

Clients learn that their order moved from one watcher reading PostgreSQL every 20 ms (one query
for every order in flight), then read it from the public status URL as a browser does. The
times come from the rows themselves: the worker stamps `updated_at` when it stores the payment
link and `paid_at` when it grants access, inside the transaction that commits them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg2

from harness.customers import customer_name

WATCH_INTERVAL = 0.02
STEP_TIMEOUT = 90.0  # seconds one step of one order may take before it counts as lost
PAYMENT = {"transaction_status": "settlement", "payment_type": "bank_transfer"}

_customer_numbers = itertools.count(1)


def checkout_body(number: int) -> dict:
    """A distinct customer per order (own email and phone), so every message is traceable."""
    return {
        "package_id": "ai-movie-course",
        "name": customer_name("Pelanggan Bench", number),
        "email": f"bench-{number}@example.com",
        "phone": f"0812{number:08d}",
    }


@dataclass
class OrderRecord:
    """What happened to one order, in Unix times."""

    phase: str
    number: int
    checkout_sent: float = 0.0
    checkout_status: int | None = None
    checkout_answered: float | None = None
    order_id: str | None = None
    link_at: float | None = None  # the worker stored the payment link
    link_seen: bool = False  # the status URL showed it
    paid_sent: float | None = None  # the sandbox was asked to settle (notification sent)
    webhook_status: int | None = None  # the web's answer to the notification
    access_at: float | None = None  # the worker granted access (paid_at)
    access_seen: bool = False  # the status URL showed the access link
    delivered_at: float | None = None  # the later of the two success messages at the inbox
    error: str | None = None

    @property
    def checkout_ms(self) -> float | None:
        if self.checkout_answered is None:
            return None
        return (self.checkout_answered - self.checkout_sent) * 1000

    @property
    def link_ms(self) -> float | None:
        return None if self.link_at is None else (self.link_at - self.checkout_sent) * 1000

    @property
    def access_ms(self) -> float | None:
        if self.access_at is None or self.paid_sent is None:
            return None
        return (self.access_at - self.paid_sent) * 1000

    @property
    def delivered_ms(self) -> float | None:
        if self.delivered_at is None or self.paid_sent is None:
            return None
        return (self.delivered_at - self.paid_sent) * 1000


@dataclass
class _Watch:
    record: OrderRecord
    linked: asyncio.Event = field(default_factory=asyncio.Event)
    granted: asyncio.Event = field(default_factory=asyncio.Event)


WATCH_QUERY = """
SELECT o.order_id, o.redirect_url IS NOT NULL, o.updated_at, o.paid_at,
       o.paid_at IS NOT NULL AND EXISTS (SELECT 1 FROM entitlements e WHERE e.order_id = o.order_id)
FROM orders o WHERE o.order_id = ANY(%s)
"""


class Watcher:
    """One connection, one query per interval for all orders in flight."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._connection = self._connect()
        self._watches: dict[str, _Watch] = {}
        self._task: asyncio.Task | None = None
        self.failures: Counter = Counter()

    def _connect(self):
        connection = psycopg2.connect(self._database_url)
        connection.autocommit = True
        return connection

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._connection.close()

    def watch(self, record: OrderRecord) -> _Watch:
        watch = _Watch(record)
        self._watches[record.order_id] = watch
        return watch

    def forget(self, order_id: str) -> None:
        self._watches.pop(order_id, None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if not self._watches:
                continue
            try:
                rows = await asyncio.to_thread(self._read, list(self._watches))
            except psycopg2.Error as error:  # the clients keep waiting; the next read retries
                self.failures[type(error).__name__] += 1
                self._connection.close()
                self._connection = self._connect()
                continue
            self._update(rows)

    def _read(self, order_ids: list[str]) -> list[tuple]:
        with self._connection.cursor() as cursor:
            cursor.execute(WATCH_QUERY, (order_ids,))
            return cursor.fetchall()

    def _update(self, rows: list[tuple]) -> None:
        for order_id, has_link, updated_at, paid_at, has_entitlement in rows:
            watch = self._watches.get(order_id)
            if watch is None:
                continue
            if has_link and not watch.linked.is_set():
                watch.record.link_at = updated_at.timestamp()
                watch.linked.set()
            if paid_at is not None and has_entitlement and not watch.granted.is_set():
                watch.record.access_at = paid_at.timestamp()
                watch.granted.set()


class Customers:
    """HTTP clients for the web and the sandbox, shared by every order of a phase."""

    def __init__(self, web_url: str, sandbox_url: str, watcher: Watcher, connections: int):
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        timeout = httpx.Timeout(30.0)
        self.web = httpx.AsyncClient(base_url=web_url, limits=limits, timeout=timeout)
        self.sandbox = httpx.AsyncClient(base_url=sandbox_url, limits=limits, timeout=timeout)
        self.watcher = watcher

    async def close(self) -> None:
        await self.web.aclose()
        await self.sandbox.aclose()

    async def checkout(self, record: OrderRecord) -> str | None:
        """Posts the form; the order's status URL, or None (the record says why)."""
        record.checkout_sent = time.time()
        try:
            response = await self.web.post("/api/checkout", json=checkout_body(record.number))
        except httpx.HTTPError as error:
            record.error = f"checkout: {type(error).__name__}"
            return None
        record.checkout_status = response.status_code
        record.checkout_answered = time.time()
        if response.status_code != 202:
            record.error = f"checkout answered {response.status_code}"
            return None
        answer = response.json()
        record.order_id = answer["order_id"]
        return answer["status_url"]

    async def wait_for_link(self, record: OrderRecord, status_url: str) -> bool:
        watch = self.watcher.watch(record)
        if not await _wait(watch.linked, record, "payment link"):
            return False
        view = await self._status(status_url, record)
        record.link_seen = bool(view and view.get("redirect_url"))
        return record.link_seen

    async def pay(self, record: OrderRecord, status_url: str) -> bool:
        """The customer pays; Midtrans (the sandbox) notifies the web, which must answer 200."""
        watch = self.watcher.watch(record)
        record.paid_sent = time.time()
        try:
            response = await self.sandbox.post(
                f"/_sandbox/midtrans/transactions/{record.order_id}/transition", json=PAYMENT
            )
            record.webhook_status = response.json()["delivery_status"]
        except (httpx.HTTPError, ValueError, KeyError) as error:
            record.error = f"payment: {type(error).__name__}"
        if not await _wait(watch.granted, record, "access"):
            return False
        self.watcher.forget(record.order_id)
        view = await self._status(status_url, record)
        record.access_seen = bool(view and view.get("access_url"))
        return record.access_seen

    async def _status(self, status_url: str, record: OrderRecord) -> dict | None:
        try:
            response = await self.web.get(status_url)
        except httpx.HTTPError as error:
            record.error = f"status page: {type(error).__name__}"
            return None
        return response.json() if response.status_code == 200 else None

    async def order(self, record: OrderRecord, pay: bool = True) -> OrderRecord:
        """One customer from the form to access (or only to the payment link)."""
        status_url = await self.checkout(record)
        if status_url is None or not await self.wait_for_link(record, status_url):
            return record
        if pay:
            await self.pay(record, status_url)
        else:
            self.watcher.forget(record.order_id)
        return record


async def _wait(event: asyncio.Event, record: OrderRecord, what: str) -> bool:
    try:
        await asyncio.wait_for(event.wait(), STEP_TIMEOUT)
    except TimeoutError:
        record.error = f"no {what} within {STEP_TIMEOUT:.0f} s"
        return False
    return True


def new_record(phase: str) -> OrderRecord:
    return OrderRecord(phase=phase, number=next(_customer_numbers))


async def closed_loop(customers: Customers, phase: str, orders: int, in_flight: int) -> list:
    """`orders` customers, `in_flight` at a time, each starting when another finishes."""
    records = [new_record(phase) for _ in range(orders)]
    queue = iter(records)

    async def lane() -> None:
        for record in queue:
            await customers.order(record)

    await asyncio.gather(*(lane() for _ in range(in_flight)))
    return records


async def open_loop(customers: Customers, phase: str, rate: float, seconds: float) -> list:
    """Customers arriving at a steady `rate` per second whatever the system does."""
    records, tasks = [], []
    started = time.monotonic()
    for index in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        record = new_record(phase)
        records.append(record)
        tasks.append(asyncio.create_task(customers.order(record)))
    await asyncio.gather(*tasks)
    return records


async def burst(customers: Customers, phase: str, count: int) -> list:
    """`count` checkouts sent at the same moment, each on its own connection."""
    records = [new_record(phase) for _ in range(count)]
    gate = asyncio.Event()

    async def customer(record: OrderRecord) -> None:
        await gate.wait()
        await customers.order(record)

    tasks = [asyncio.create_task(customer(record)) for record in records]
    await asyncio.sleep(0.2)  # every task is waiting at the gate
    gate.set()
    await asyncio.gather(*tasks)
    return records


async def hold_idle_connections(host: str, port: int, count: int) -> tuple[list, int]:
    """`count` browsers that made one keep-alive request and keep the connection open; the
    writers to close later, and how many got an answer within 5 s."""
    request = f"GET /health/live HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()

    async def one() -> tuple[asyncio.StreamWriter | None, bool]:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        except (OSError, TimeoutError):
            return None, False
        writer.write(request)
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            answered = True
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            answered = False
        return writer, answered

    held = await asyncio.gather(*(one() for _ in range(count)))
    return [writer for writer, _ in held if writer], sum(answered for _, answered in held)


async def fresh_connection_checkouts(
    web_url: str, phase: str, count: int, in_flight: int, timeout: float = 10.0
) -> list[OrderRecord]:
    """New visitors: every checkout on a new connection, `in_flight` at a time."""
    limits = httpx.Limits(max_keepalive_connections=0)
    records = [new_record(phase) for _ in range(count)]
    queue = iter(records)
    async with httpx.AsyncClient(base_url=web_url, limits=limits, timeout=timeout) as client:

        async def lane() -> None:
            for record in queue:
                record.checkout_sent = time.time()
                try:
                    response = await client.post("/api/checkout", json=checkout_body(record.number))
                except httpx.HTTPError as error:
                    record.error = f"checkout: {type(error).__name__}"
                    continue
                record.checkout_status = response.status_code
                record.checkout_answered = time.time()
                if response.status_code == 202:
                    record.order_id = response.json()["order_id"]
                else:
                    record.error = f"checkout answered {response.status_code}"

        await asyncio.gather(*(lane() for _ in range(in_flight)))
    return records
