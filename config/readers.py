"""Readers: how an environment variable's text becomes a setting's value. Each returns the value
or raises ValueError saying what is wrong; the message follows the variable's name
(`PORT must be a whole number, got 'eighty'`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from config.networks import Network, parse_networks

Reader = Callable[[str], object]


def text(raw: str) -> str:
    return raw


def stripped(raw: str) -> str:
    return raw.strip()


def ascii_digits(raw: str) -> bool:
    """Only 0-9, at least one: str.isdigit() and int() also take other scripts' digits (`١٢٣`
    is 123 to int()) and superscripts, which no operator means as a number."""
    return raw.isascii() and raw.isdigit()


def boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def at_least(minimum: int) -> Reader:
    """A whole number of at least `minimum`."""

    def read(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be a whole number, got {raw!r}") from None
        if value < minimum:
            raise ValueError(f"must be at least {minimum}, got {value}")
        return value

    return read


def choice(*allowed: str) -> Reader:
    def read(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {raw!r}")
        return value

    return read


def log_level(raw: str) -> str:
    return choice("trace", "debug", "info", "warning", "error")(raw).upper()


def schedule(unit: str) -> Reader:
    """Positive numbers separated by commas (`60,300,900`)."""

    def read(raw: str) -> tuple[float, ...]:
        try:
            values = tuple(float(part) for part in raw.split(",") if part.strip())
        except ValueError:
            values = ()
        if not values or any(value <= 0 for value in values):
            raise ValueError(f"must be positive {unit} separated by commas, got {raw!r}")
        return values

    return read


def url(*schemes: str) -> Reader:
    """A URL of one of `schemes`, without its trailing slash; a web URL needs a host."""

    def read(raw: str) -> str:
        parsed = urlparse(raw)
        web = parsed.scheme in ("http", "https")
        if parsed.scheme not in schemes or not (
            parsed.hostname if web else parsed.netloc or parsed.path
        ):
            raise ValueError(f"must be a {'/'.join(schemes)} URL, got {raw!r}")
        return raw.rstrip("/")

    return read


web_url = url("http", "https")


def optional(read: Reader, empty: object = None) -> Reader:
    """`read`, except that an empty text means `empty` (the setting is not used)."""
    return lambda raw: read(raw) if raw else empty


def addresses(raw: str) -> tuple[str, ...]:
    """Comma-separated email addresses; each must at least look like one."""
    found = tuple(part.strip() for part in raw.split(",") if part.strip())
    bad = [address for address in found if "@" not in address or " " in address]
    if bad:
        raise ValueError(f"must be email addresses separated by commas, got {bad[0]!r}")
    return found


def address(raw: str) -> str:
    addresses(raw)
    return raw


def networks(raw: str) -> tuple[Network, ...]:
    try:
        return parse_networks(raw)
    except ValueError as error:
        raise ValueError(f"must be addresses or CIDRs separated by commas: {error}") from None


def whatsapp_number(raw: str) -> str:
    """An Indonesian or international number as wa.me wants it: digits only, country code first."""
    digits = re.sub(r"[\s().-]", "", raw).removeprefix("+")
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    if not re.fullmatch(r"[1-9][0-9]{7,14}", digits):
        raise ValueError(f"must be a phone number such as +62 812-3456-7890, got {raw!r}")
    return digits


def apprise_urls(raw: str) -> tuple[str, ...]:
    """Apprise URLs (`tgram://token/chat`, `json://host/path`) separated by commas or spaces;
    each must name a service Apprise knows, so a typo stops start-up instead of an alarm."""
    import apprise  # only when set: the other processes' start-up stays light

    found = tuple(part for part in re.split(r"[\s,]+", raw) if part)
    for number, found_url in enumerate(found, 1):
        if apprise.Apprise.instantiate(found_url) is None:
            scheme = found_url.partition("://")[0]
            raise ValueError(f"URL {number} ({scheme}://...) is not an Apprise URL Apprise knows")
    return found


def percent(raw: str) -> int:
    """A whole percentage between 1 and 99."""
    value = at_least(1)(raw)
    if value > 99:
        raise ValueError(f"must be a percentage from 1 to 99, got {value}")
    return value


def paths(raw: str) -> tuple[Path, ...]:
    """Folders separated by commas."""
    return tuple(Path(part.strip()) for part in raw.split(",") if part.strip())
