"""Reading a JSON request body safely: size-capped, and every failure a clear 4xx."""

from __future__ import annotations

import json

import falcon


def read_raw_body(req: falcon.Request, max_bytes: int) -> bytes:
    """The raw bytes, refusing anything larger than max_bytes with 413."""
    if req.content_length is not None and req.content_length > max_bytes:
        raise falcon.HTTPContentTooLarge(
            title="Body too large", description=f"At most {max_bytes} bytes."
        )
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise falcon.HTTPContentTooLarge(
            title="Body too large", description=f"At most {max_bytes} bytes."
        )
    return raw


def read_json_object(req: falcon.Request, max_bytes: int) -> dict:
    """The body as a JSON object; 400 for anything that is not one."""
    raw = read_raw_body(req, max_bytes)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise falcon.HTTPBadRequest(title="Body is not valid JSON") from None
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(title="Body must be a JSON object")
    return body


def contains_nul(value: object) -> bool:
    """PostgreSQL text and jsonb cannot hold U+0000: such a body is refused at the edge."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False
