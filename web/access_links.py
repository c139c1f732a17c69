"""GET/POST /lupa-tautan: a customer who lost the access link asks for it again by the email or
WhatsApp number used at checkout. The web only validates, rate-limits and enqueues; the answer is
the same whether or not a paid order exists, and the link goes only to that contact."""

from __future__ import annotations

import hashlib

import falcon
from jinja2 import Environment
from loguru import logger

from models.statuses import Channel
from web.body import read_form
from web.queue import TaskQueue
from web.ratelimit import ClientRateLimit, client_key
from web.validation import InvalidField, clean_email, clean_phone

PATH = "/lupa-tautan"
# At most this many requests per client IP, and per contact, in LIMIT_PERIOD_MS.
PER_CLIENT_LIMIT = 5
PER_CONTACT_LIMIT = 3
LIMIT_PERIOD_MS = 15 * 60 * 1000


def contact_channel(text: str) -> tuple[str, str]:
    """(channel, normalised contact) for what the customer typed; raises InvalidField."""
    if "@" in text:
        return Channel.EMAIL, clean_email(text).lower()
    return Channel.WHATSAPP, clean_phone(text)


def _contact_key(contact: str) -> str:
    """The per-contact limit's key: a hash, so Redis holds no address."""
    return hashlib.sha256(contact.encode()).hexdigest()[:32]


class AccessLinkPage:
    def __init__(
        self,
        templates: Environment,
        queue: TaskQueue,
        per_client: ClientRateLimit,
        per_contact: ClientRateLimit,
    ):
        self._templates = templates
        self._queue = queue
        self._per_client = per_client
        self._per_contact = per_contact

    def on_get(self, req, resp):
        self._render(resp, "form")

    def on_post(self, req, resp):
        _refuse_when_limited(self._per_client, client_key(req.remote_addr))
        typed = read_form(req).get("kontak", "")
        try:
            channel, contact = contact_channel(typed)
        except InvalidField as error:
            resp.status = falcon.HTTP_422
            self._render(resp, "form", error=str(error), typed=typed[:254])
            return
        _refuse_when_limited(self._per_contact, _contact_key(contact))
        self._queue.request_access_link(channel, contact)
        logger.info("Access link requested via {}", channel)
        self._render(resp, "sent")

    def _render(self, resp, state: str, **context) -> None:
        resp.cache_control = ["no-store"]
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self._templates.get_template("access_link.html").render(state=state, **context)


def _refuse_when_limited(limit: ClientRateLimit, key: str) -> None:
    wait_seconds = limit.retry_after(key)
    if wait_seconds is not None:
        raise falcon.HTTPTooManyRequests(
            title="Terlalu banyak percobaan",
            description=f"Coba lagi dalam {wait_seconds} detik.",
            retry_after=wait_seconds,
        )


def page(templates: Environment, queue: TaskQueue, redis_client) -> AccessLinkPage:
    """The page with its two rate limits, shared by every web process through Redis."""
    return AccessLinkPage(
        templates,
        queue,
        ClientRateLimit(redis_client, "access-link-client", PER_CLIENT_LIMIT, LIMIT_PERIOD_MS),
        ClientRateLimit(redis_client, "access-link-contact", PER_CONTACT_LIMIT, LIMIT_PERIOD_MS),
    )
