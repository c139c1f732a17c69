"""The one way to call an outside HTTP service: explicit timeouts and typed errors."""

from __future__ import annotations

import httpx

from integrations.errors import PermanentProviderError, RetryableProviderError

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=15.0, write=10.0, pool=5.0)


def build_client(
    base_url: str, headers: dict[str, str] | None = None, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.Client:
    """A pooled client bound to one provider; never follows redirects silently."""
    return httpx.Client(
        base_url=base_url, headers=headers or {}, timeout=timeout, follow_redirects=False
    )


def send(client: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response:
    """Sends one request; connection problems and timeouts become RetryableProviderError."""
    try:
        return client.request(method, path, **kwargs)
    except httpx.TimeoutException as error:
        raise RetryableProviderError(
            f"{method} {path}: timed out ({type(error).__name__})"
        ) from error
    except httpx.TransportError as error:
        raise RetryableProviderError(f"{method} {path}: {type(error).__name__}") from error


def raise_for_status(response: httpx.Response, detail: str = "") -> None:
    """5xx and 429 are retryable, other 4xx permanent; 2xx passes."""
    status = response.status_code
    if status < 300:
        return
    message = f"{response.request.method} {response.request.url.path}: HTTP {status} {detail}"
    if status >= 500 or status in (408, 429):
        raise RetryableProviderError(message.strip())
    raise PermanentProviderError(message.strip())


def json_body(response: httpx.Response) -> dict:
    """The response's JSON object, or an empty dict for anything unreadable."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
