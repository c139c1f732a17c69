"""The one way to call an outside HTTP service: kept-alive pooled connections, explicit timeouts,
typed errors, and neither retries nor redirects of its own (a retry is the actor's decision).

Built on urllib3, the connection pool under `requests`: the worker makes three outside calls per
paid order (Snap, the Status API, WhatsApp), and httpx spent about twice the CPU per call (1.9 ms
against 1.0 ms per loopback request with a kept-alive connection, docs/benchmarks.md).
"""

from __future__ import annotations

import json as json_text
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3
from loguru import logger

from integrations.errors import PermanentProviderError, RetryableProviderError

# Connections kept per client: a worker process runs 8 threads; more are opened when needed
# and closed after use.
POOL_SIZE = 16


@dataclass(frozen=True)
class Timeout:
    """Seconds to connect, and to wait on each read or write once connected."""

    connect: float = 5.0
    read: float = 15.0

    @classmethod
    def of(cls, seconds: float) -> Timeout:
        return cls(connect=seconds, read=seconds)


DEFAULT_TIMEOUT = Timeout()


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes
    method: str
    path: str

    def json(self) -> object:
        return json_text.loads(self.content)


class Client:
    """Kept-alive connections to one service at `base_url` (its path prefixes every request's
    path); never follows a redirect silently; thread-safe, as one client serves every thread
    of a worker."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        address = urlsplit(base_url)
        # The base URL's path and query may hold a secret (a chat webhook's token): they are
        # sent, never logged nor put in an error message.
        self._prefix = address.path.rstrip("/")
        self._query = address.query
        self.host = address.netloc.rpartition("@")[2]  # host[:port], without user:password
        self._headers = dict(headers or {})
        certificates = {"ca_certs": certifi.where()} if address.scheme == "https" else {}
        self._pool = urllib3.connection_from_url(
            base_url,
            timeout=urllib3.Timeout(connect=timeout.connect, read=timeout.read),
            maxsize=POOL_SIZE,
            block=False,
            retries=False,
            **certificates,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        content: str | bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        query = "&".join(part for part in (self._query, urlencode(params or {})) if part)
        target = self._prefix + path + (f"?{query}" if query else "")
        all_headers = {**self._headers, **(headers or {})}
        if json is not None:
            content = json_text.dumps(json)
            all_headers["Content-Type"] = "application/json"
        answer = self._pool.urlopen(
            method, target, body=content, headers=all_headers, redirect=False, retries=False
        )
        return Response(answer.status, answer.data, method, path or "/")

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def send(client: Client, method: str, path: str, **kwargs) -> Response:
    """Sends one request; connection problems and timeouts become RetryableProviderError.
    The log names the host and the caller's path, never the base URL's own path."""
    try:
        response = client.request(method, path, **kwargs)
        logger.info("{} {}{} -> HTTP {}", method, client.host, path, response.status_code)
        return response
    except urllib3.exceptions.NewConnectionError as error:
        # urllib3 files a refused or unresolvable connection under ConnectTimeoutError; an
        # operator reading "timed out" would look for a slow server instead of a stopped one.
        reason = str(error).rpartition(": ")[2]
        raise RetryableProviderError(f"{method} {path}: cannot connect ({reason})") from error
    except urllib3.exceptions.TimeoutError as error:
        raise RetryableProviderError(
            f"{method} {path}: timed out ({type(error).__name__})"
        ) from error
    except urllib3.exceptions.HTTPError as error:
        raise RetryableProviderError(f"{method} {path}: {type(error).__name__}") from error


def raise_for_status(response: Response, detail: str = "") -> None:
    """5xx and 429 are retryable, other 4xx permanent; 2xx passes."""
    status = response.status_code
    if status < 300:
        return
    message = f"{response.method} {response.path}: HTTP {status} {detail}"
    if status >= 500 or status in (408, 429):
        raise RetryableProviderError(message.strip())
    raise PermanentProviderError(message.strip())


def json_body(response: Response) -> dict:
    """The response's JSON object, or an empty dict for anything unreadable."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
