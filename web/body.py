"""Reading request bodies safely: size-capped, and every failure a clear 4xx.

A JSON body is refused here, at the edge, when no later step could handle it: nested deeper
than any real request (Python's JSON tools recurse, so depth can exhaust the stack), or carrying
what has no UTF-8 or JSONB form (a lone surrogate such as "\\ud800", NaN, Infinity). A NUL is
each endpoint's own refusal: checkout names the field it is in.
"""

from __future__ import annotations

import json
import math
import re

import falcon
from falcon.uri import parse_query_string

MAX_JSON_DEPTH = 16  # Midtrans' deepest field (metadata.extra_info.gross_amount_info) is 4 deep
MAX_FORM_BYTES = 16 * 1024
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_ONE_LINE_OF_TEXT = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


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
    """The body as a JSON object; 400 for anything that is not one or that cannot be stored."""
    return parse_json_object(read_raw_body(req, max_bytes))


def parse_json_object(raw: bytes) -> dict:
    """The bytes as a JSON object; 400 for anything that is not one or cannot be stored."""
    try:
        body = json.loads(raw)
    except ValueError:  # UnicodeDecodeError and over-long integers included
        raise falcon.HTTPBadRequest(title="Body is not valid JSON") from None
    except RecursionError:
        raise _too_deep() from None
    if isinstance(body, dict | list):
        _refuse_unstorable(body)  # first: newer Pythons parse deeper nesting without an error
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(title="Body must be a JSON object")
    return body


def _refuse_unstorable(document: dict | list) -> None:
    """400 unless every level is within MAX_JSON_DEPTH and every key, string and number has a
    UTF-8 and JSONB form.

    Iterative on purpose: a recursive walk is what a deep body would break.
    """
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
        elif isinstance(value, str) and _LONE_SURROGATE.search(value):
            raise falcon.HTTPBadRequest(title="Body contains lone surrogate characters")
        elif isinstance(value, float) and not math.isfinite(value):
            raise falcon.HTTPBadRequest(title="Body contains NaN or Infinity")


def _too_deep() -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title=f"Body is nested deeper than {MAX_JSON_DEPTH} levels")


def contains_nul(value: object) -> bool:
    """PostgreSQL text and jsonb cannot hold U+0000: such a body is refused at the edge."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


def read_form(req: falcon.Request) -> dict[str, str]:
    """A console form (URL-encoded, or a JSON object): each field once, as one line of text.

    Read once per request (a hook and the resource may both ask) and capped at 16 KB.
    """
    if "form" not in req.context:
        req.context.form = _parse_form(req, read_raw_body(req, MAX_FORM_BYTES))
    return req.context.form


def _parse_form(req: falcon.Request, raw: bytes) -> dict[str, str]:
    media_type = (req.content_type or "").partition(";")[0].strip().lower()
    if not raw:
        return {}
    if media_type == falcon.MEDIA_JSON:
        fields = parse_json_object(raw)
    elif media_type == falcon.MEDIA_URLENCODED:
        try:
            fields = parse_query_string(raw.decode("ascii"), keep_blank=True)
        except UnicodeDecodeError:
            raise falcon.HTTPBadRequest(title="A form is ASCII, percent-encoded") from None
    else:
        raise falcon.HTTPUnsupportedMediaType(title="Send the form URL-encoded or as JSON")
    for value in fields.values():
        if not isinstance(value, str) or _NOT_ONE_LINE_OF_TEXT.search(value):
            raise falcon.HTTPBadRequest(title="Each form field once, as one line of text")
    return fields
