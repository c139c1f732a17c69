"""Falcon middleware: a request id and log context per request, DB connections returned."""

from __future__ import annotations

import re
import time
import uuid

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
        logger.info("{} {} -> {} in {:.1f} ms", req.method, req.path, resp.status[:3], elapsed_ms)
        context.__exit__(None, None, None)


class DatabaseConnections:
    """Resources open a connection only when they read; this returns it to the pool."""

    def process_response(self, req, resp, resource, req_succeeded):
        if not database.is_closed():
            database.close()
