"""Logging with loguru: one JSON object per line or pretty text, with personal data masked."""

from __future__ import annotations

import json
import logging
import re
import sys

from loguru import logger

# Any letters, not only ASCII: checkout takes internationalised addresses (`siti@exämple.com`).
_EMAIL = re.compile(r"([\w.%+-])[\w.%+-]*@([\w.-]+\.[^\W\d_]{2,})")
_PHONE = re.compile(r"(?<![\w-])(\+?62|0)8\d{6,11}(\d{3})(?![\w-])")
# 40+ hex characters: hashes and signatures (request ids, 32 hex, stay readable for grep).
_LONG_HEX = re.compile(r"\b[0-9a-fA-F]{40,}\b")
# Control characters would let a request path forge extra log lines: write them escaped. C1
# controls too (NEL, U+0085, is a line break to many readers, CSI, U+009B, a terminal escape)
# and the Unicode line and paragraph separators, which splitlines() and log viewers break on.
_CONTROL = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
    if code != 0x09
}
_SECRET_PAIR = re.compile(
    r"(?i)(token|signature_key|signature|password|server_key|authorization|secret)"
    r"([\"']?\s*[:=]\s*[\"']?)(Bearer |Basic )?([^\s\"',&}]+)"
)


def mask_email(email: str) -> str:
    """`budi@example.com` -> `b***@example.com`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(phone: str) -> str:
    """`+6281234567890` -> `+62***890`."""
    return f"{phone[:3]}***{phone[-3:]}" if len(phone) > 6 else "***"


def mask_token(token: str) -> str:
    """Keep four characters, enough to tell two tokens apart in a log."""
    return f"{token[:4]}***" if token else ""


def mask_text(text: str) -> str:
    """Masks emails, Indonesian phone numbers, long hex strings and key=value secrets."""
    text = _SECRET_PAIR.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}***", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    text = _PHONE.sub(r"\1***\2", text)
    return _LONG_HEX.sub(lambda m: f"{m[0][:4]}***", text)


def one_line(text: str) -> str:
    """Control characters (newlines, NUL, escapes) written as visible \\xNN (or \\uNNNN)
    sequences."""
    return text.translate(_CONTROL)


def _mask_record(record: dict) -> None:
    record["message"] = one_line(mask_text(record["message"]))
    for key, value in record["extra"].items():
        if isinstance(value, str):
            record["extra"][key] = one_line(mask_text(value))


def _json_sink(message) -> None:
    record = message.record
    line = {
        "time": record["time"].isoformat(),
        "level": record["level"].name,
        "logger": record["name"],
        "message": record["message"],
        **{key: value for key, value in record["extra"].items() if value is not None},
    }
    if record["exception"]:
        line["exception"] = mask_text("".join(message.splitlines(keepends=True)[1:]))
    sys.stderr.write(json.dumps(line, default=str) + "\n")


def _pretty_sink(message) -> None:
    """The formatted line plus any traceback, masked: exception texts can carry personal data."""
    sys.stderr.write(mask_text(str(message)))


def _literal(text: str) -> str:
    """Text loguru prints as it is: no `{field}` substitution, no `<tag>` colour markup."""
    return text.replace("{", "{{").replace("}", "}}").replace("<", r"\<")


def _context(extra: dict) -> str:
    """`key=value` pairs, in the order they were bound; a value with spaces is quoted."""
    pairs = []
    for key, value in extra.items():
        if key == "logger" or value is None:
            continue
        text = str(value)
        pairs.append(f"{key}={json.dumps(text) if not text or ' ' in text else text}")
    return " ".join(pairs)


def _pretty_format(record: dict) -> str:
    """One readable line: local time with its zone, level, the logger (a library's own name for
    intercepted standard logging), the message, then the context as key=value."""
    name = _literal(record["extra"].get("logger") or record["name"] or "")
    context = _context(record["extra"])
    tail = f" <dim>{_literal(context)}</dim>" if context else ""
    return (
        "<green>{time:YYYY-MM-DD HH:mm:ss.SSS zz}</green> <level>{level: <7}</level> "
        f"<cyan>{name}</cyan> {{message}}{tail}\n{{exception}}"
    )


def _without_arguments(value: object) -> object:
    """A Dramatiq message as its actor and id: Dramatiq prints a failed message whole, and a
    checkout's arguments hold the customer's name, which no pattern can mask."""
    if hasattr(value, "actor_name") and hasattr(value, "message_id"):
        return f"{value.actor_name}[{value.message_id}]"
    return value


class _InterceptHandler(logging.Handler):
    """Routes the standard library's logging (dramatiq, waitress) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelname if record.levelname in logger._core.levels else record.levelno
        if isinstance(record.args, tuple):
            record.args = tuple(_without_arguments(arg) for arg in record.args)
        logger.opt(exception=record.exc_info, depth=6).bind(logger=record.name).log(
            level, record.getMessage()
        )


def configure_logging(level: str = "INFO", log_format: str = "pretty") -> None:
    """Installs the one sink every process uses; safe to call more than once."""
    logger.remove()
    logger.configure(patcher=_mask_record)
    if log_format == "json":
        # diagnose=False: tracebacks must never print local variables (keys, tokens, emails).
        logger.add(_json_sink, level=level, format="{message}", catch=True, diagnose=False)
    else:
        logger.add(
            _pretty_sink,
            level=level,
            format=_pretty_format,
            colorize=sys.stderr.isatty(),
            catch=True,
            diagnose=False,
        )
    standard_level = logging.DEBUG if level in ("TRACE", "DEBUG") else logging.getLevelName(level)
    logging.basicConfig(handlers=[_InterceptHandler()], level=standard_level, force=True)
    # waitress warns "Task queue depth is N" for every queued request: keep it from flooding.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
