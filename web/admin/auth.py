"""Who may use the admin console: the holder of ADMIN_TOKEN.

Pages use a session cookie (HMAC-signed with a key derived from ADMIN_TOKEN, so rotating the
token logs everyone out; HttpOnly, SameSite=Strict, Secure behind https) plus a per-session CSRF
token on every form. Logging out ends the session itself, not only the cookie in that browser:
its id is kept in Redis as ended until the cookie would have expired, so a copied cookie stops
working too. `/api/admin/...` takes `Authorization: Bearer $ADMIN_TOKEN`. Every comparison
is constant-time, and a client that keeps guessing is locked out for a while.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from contextlib import contextmanager
from urllib.parse import quote

import falcon
import redis
from loguru import logger

from web.body import read_form
from web.ratelimit import ClientRateLimit, client_key

SESSION_COOKIE = "bfa_admin_session"
SESSION_SECONDS = 12 * 3600
COOKIE_PATH = "/admin"
FAILED_ATTEMPTS_PER_MINUTE = 5


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality that does not even leak the length of `expected`."""
    return hmac.compare_digest(_digest(given), _digest(expected))


class LoginThrottle:
    """Failed attempts per client address; past the limit the address is refused for a while,
    even with the right token, so the refusal tells a guesser nothing."""

    def __init__(self, redis_client: redis.Redis):
        self._redis = redis_client
        self._limit = ClientRateLimit(redis_client, "admin-login", FAILED_ATTEMPTS_PER_MINUTE)

    def blocked_for(self, client: str) -> int | None:
        """Seconds the client must still wait, or None. Redis down: not blocked (the token's
        entropy, not this counter, is what keeps guessing hopeless)."""
        try:
            remaining = self._redis.ttl(self._block_key(client))
        except redis.RedisError:
            return None
        return remaining if remaining and remaining > 0 else None

    def record_failure(self, client: str) -> int | None:
        """Counts a failed attempt; returns the lock-out in seconds once the limit is passed."""
        try:
            wait_seconds = self._limit.retry_after(client)
            if wait_seconds is not None:
                self._redis.set(self._block_key(client), 1, ex=wait_seconds)
        except redis.RedisError:
            return None
        if wait_seconds is not None:
            logger.warning("Admin login locked for {} s after repeated failures", wait_seconds)
        return wait_seconds

    @staticmethod
    def _block_key(client: str) -> str:
        return f"ratelimit:admin-login:blocked:{client}"


class EndedSessions:
    """Session ids logged out before their cookie expires, in Redis with the cookie's remaining
    lifetime. Redis down: a logout cannot be recorded (it fails loudly) and a check lets the
    session through, so the console stays usable, as the stateless cookie was designed for."""

    def __init__(self, redis_client: redis.Redis):
        self._redis = redis_client

    def end(self, session_id: str, seconds_left: int) -> None:
        """`seconds_left` is positive: an expired cookie names no session to end."""
        self._redis.set(self._key(session_id), 1, ex=seconds_left)

    def ended(self, session_id: str) -> bool:
        try:
            return bool(self._redis.exists(self._key(session_id)))
        except redis.RedisError as error:
            logger.warning("Ended admin sessions unavailable: {}", error)
            return False

    @staticmethod
    def _key(session_id: str) -> str:
        return f"admin:session:ended:{_digest(session_id).hex()}"


class AdminAuth:
    """Checks tokens, signs and reads session cookies, derives CSRF tokens."""

    def __init__(
        self,
        admin_token: str,
        secure_cookies: bool,
        throttle: LoginThrottle,
        ended_sessions: EndedSessions,
    ):
        self._admin_token = admin_token
        self._key = hmac.new(admin_token.encode(), b"bfa-admin-session-v1", "sha256").digest()
        self._secure_cookies = secure_cookies
        self.throttle = throttle
        self._ended = ended_sessions

    def token_matches(self, given: str) -> bool:
        return same_secret(given, self._admin_token)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), "sha256").hexdigest()

    def new_session(self) -> str:
        """`{session_id}.{issued_at}.{signature}`: stateless, so the console works without Redis."""
        body = f"{secrets.token_urlsafe(18)}.{int(time.time())}"
        return f"{body}.{self._sign(body)}"

    def _session(self, cookie_value: str) -> tuple[str, int] | None:
        """The session id and its seconds left for a validly signed, unexpired cookie value."""
        body, _, signature = cookie_value.rpartition(".")
        session_id, _, issued_at = body.partition(".")
        if not (session_id and issued_at.isdigit() and same_secret(signature, self._sign(body))):
            return None
        seconds_left = SESSION_SECONDS - int(time.time() - int(issued_at))
        return (session_id, seconds_left) if seconds_left > 0 else None

    def session_id(self, cookie_value: str) -> str | None:
        """The session id of a valid, unexpired cookie value not logged out, else None."""
        session = self._session(cookie_value)
        if session is None or self._ended.ended(session[0]):
            return None
        return session[0]

    def session_of(self, req: falcon.Request) -> str | None:
        for value in req.get_cookie_values(SESSION_COOKIE) or []:
            session_id = self.session_id(value)
            if session_id:
                return session_id
        return None

    def end_sessions(self, req: falcon.Request) -> None:
        """Logout: every session this browser sent ends for any copy of its cookie too."""
        for value in req.get_cookie_values(SESSION_COOKIE) or []:
            session = self._session(value)
            if session is not None:
                self._ended.end(*session)

    def csrf_token(self, session_id: str) -> str:
        return self._sign(f"csrf:{session_id}")

    def set_session_cookie(self, resp: falcon.Response, value: str) -> None:
        resp.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=SESSION_SECONDS,
            path=COOKIE_PATH,
            secure=self._secure_cookies,
            http_only=True,
            same_site="Strict",
        )

    def clear_session_cookie(self, resp: falcon.Response) -> None:
        resp.unset_cookie(SESSION_COOKIE, path=COOKIE_PATH, same_site="Strict")


def client_address(req: falcon.Request) -> str:
    """The key the lock-out counts by: the address, or its /64 for IPv6 (see client_key)."""
    return client_key(req.remote_addr)


def refuse_if_locked(auth: AdminAuth, req: falcon.Request) -> None:
    wait_seconds = auth.throttle.blocked_for(client_address(req))
    if wait_seconds:
        raise falcon.HTTPTooManyRequests(title="Too many failed attempts", retry_after=wait_seconds)


def login_url(next_path: str) -> str:
    return f"/admin/login?next={quote(next_path, safe='')}"


def safe_next(next_path: str | None) -> str:
    """Only paths inside the console: never an open redirect."""
    if next_path and next_path.startswith("/admin") and "//" not in next_path:
        return next_path
    return "/admin"


def require_session(req: falcon.Request, resp: falcon.Response, resource, params) -> None:
    """Falcon hook for console pages: a valid session, and a matching CSRF token on POST."""
    session_id = resource.auth.session_of(req)
    if session_id is None:
        raise falcon.HTTPSeeOther(login_url(req.relative_uri))
    req.context.csrf_token = resource.auth.csrf_token(session_id)
    if req.method == "POST":
        given = read_form(req).get("csrf_token", "")
        if not same_secret(given, req.context.csrf_token):
            raise falcon.HTTPForbidden(title="Invalid form token; reload the page")


def require_bearer(req: falcon.Request, resp: falcon.Response, resource, params) -> None:
    """Falcon hook for /api/admin/...: `Authorization: Bearer $ADMIN_TOKEN`."""
    auth: AdminAuth = resource.auth
    with _without_redis():  # the operator must still read /health while Redis is down
        refuse_if_locked(auth, req)
    scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token and auth.token_matches(token.strip()):
        return
    wait_seconds = None
    with _without_redis():
        wait_seconds = auth.throttle.record_failure(client_address(req))
    if wait_seconds:
        raise falcon.HTTPTooManyRequests(title="Too many failed attempts", retry_after=wait_seconds)
    raise falcon.HTTPUnauthorized(title="Admin token required", challenges=["Bearer"])


def require_admin(req: falcon.Request, resp: falcon.Response, resource, params) -> None:
    """Falcon hook for the operator's reports outside /admin (the full /health): a console
    session where the browser sends one, else the bearer token."""
    if resource.auth.session_of(req) is None:
        require_bearer(req, resp, resource, params)


@contextmanager
def _without_redis():
    """The lock-out lives in Redis: while Redis is down it is skipped (the token still counts)."""
    try:
        yield
    except redis.RedisError as error:
        logger.warning("Login throttle unavailable: {}", error)


def console_headers(req: falcon.Request, resp: falcon.Response, resource, *args) -> None:
    """Falcon after-hook: admin answers are never cached or sent as a referrer, and load
    nothing from elsewhere (web.middleware.NotFramed keeps every answer out of frames)."""
    resp.set_header("Cache-Control", "no-store")
    resp.set_header("Referrer-Policy", "no-referrer")
    resp.set_header(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
