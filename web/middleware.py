"""Falcon middleware: a request id and log context per request, control characters refused,
DB connections returned, every answer kept out of other sites' frames."""

from __future__ import annotations

import re
import time
import uuid

import falcon
from loguru import logger

from models.db import database

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContext:
    """Every log line of a request carries its request id; the id is echoed in X-Request-ID."""

    def process_request(self, req, resp):
        given = req.get_header("X-Request-ID") or ""
        req.context.request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        req.context.started = time.perf_counter()
        req.context.log_context = logger.contextualize(request_id=req.context.request_id)
        req.context.log_context.__enter__()

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Request-ID", req.context.get("request_id", ""))
        context = req.context.get("log_context")
        if context is None:
            return
        elapsed_ms = (time.perf_counter() - req.context.started) * 1000
        # The route template, not the path: /access/{access_token} must not log the token.
        route = req.uri_template or req.path
        logger.info("{} {} -> {} in {:.1f} ms", req.method, route, resp.status[:3], elapsed_ms)
        context.__exit__(None, None, None)


# Control characters, and lone surrogates (no UTF-8 encoding exists for them: a database
# query or a hash of one raises). Falcon decodes bad percent-escapes to U+FFFD, so a surrogate
# should never get this far; refusing it here keeps that an edge decision, not a 500.
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class RefuseControlCharacters:
    """A NUL, a newline or a lone surrogate in a path or query is never legitimate here: 400
    before any handler."""

    def process_request(self, req, resp):
        values = [req.path, *req.params]
        for value in req.params.values():
            values.extend(value if isinstance(value, list) else [value])
        if any(_CONTROL_CHARACTERS.search(value) for value in values):
            raise falcon.HTTPBadRequest(title="Control characters or lone surrogates in the URL")


class DatabaseConnections:
    """Resources open a connection only when they read; this returns it to the pool."""

    def process_response(self, req, resp, resource, req_succeeded):
        if not database.is_closed():
            database.close()


class NotFramed:
    """No other site may frame a page of ours (a checkout form under a clickjacking overlay)
    nor have an answer sniffed as another type; the console sets its stricter policy itself."""

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("X-Content-Type-Options", "nosniff")
        if resp.get_header("Content-Security-Policy") is None:
            resp.set_header("Content-Security-Policy", "frame-ancestors 'none'")
