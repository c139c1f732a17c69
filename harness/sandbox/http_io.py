"""Reading bounded request bodies and writing JSON answers, shared by the sandbox's HTTP routes."""

import base64
import binascii
import json

import falcon

from harness.sandbox.state import utc_now_text

MAX_BODY_BYTES = 16 * 1024


def read_bounded(req: falcon.Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The raw body, or None when it is larger than the limit (Midtrans caps bodies at 16 KB)."""
    raw = req.bounded_stream.read(limit + 1)
    return None if len(raw) > limit else raw


def parse_json(raw: bytes | None) -> object | None:
    """The decoded JSON document, or None for an empty or unreadable body."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def read_json_object(req: falcon.Request) -> dict:
    """A control-API body as a dict; anything else is a 400 for the test that sent it."""
    document = parse_json(read_bounded(req, 1024 * 1024))
    if not isinstance(document, dict):
        raise falcon.HTTPBadRequest(title="Body must be a JSON object")
    return document


def answer(resp: falcon.Response, status: int, document: object) -> None:
    """Set a JSON answer with an integer status."""
    resp.status = status
    resp.media = document


def request_entry(req: falcon.Request, raw: bytes | None, status: int) -> dict:
    """What a test can inspect about one API call it made, including the Authorization header."""
    parsed = parse_json(raw)
    body = parsed if parsed is not None else (raw or b"").decode("utf-8", "replace")
    headers = {name.lower(): value for name, value in req.headers.items()}
    return {
        "method": req.method,
        "path": req.path,
        "headers": headers,
        "body": body,
        "status": status,
        "received_at": utc_now_text(),
    }


def basic_auth_user(req: falcon.Request) -> str | None:
    """The user name of an HTTP Basic Authorization header, or None when absent or malformed."""
    scheme, _, encoded = (req.get_header("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, separator, _ = decoded.partition(":")
    return user if separator else None


def bearer_token(req: falcon.Request) -> str | None:
    """The token of an `Authorization: Bearer` header, or None."""
    scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
