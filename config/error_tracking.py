"""Error tracking (SENTRY_DSN, optional): the web's and the worker's unexpected errors sent to
Sentry, or to a self-hosted GlitchTip (the same protocol), with personal data masked as the
logs mask it: emails, phone numbers and tokens in messages, exception values, request data,
message arguments, local variables and breadcrumbs.

What is sent: an exception a web request or an actor did not handle, a periodic job's failure
(tasks/periodic.py) and libraries' ERROR records (standard logging). Our own ERROR log lines
(loguru) are not: alarms are among them, and reach a person through ALERT_*; Sentry's loguru
hook would also depend on when each process configures its logging."""

from __future__ import annotations

import re

import sentry_sdk
from sentry_sdk.integrations import Integration
from sentry_sdk.integrations.loguru import LoguruIntegration

from config.logs import mask_text

# Fields whose whole text is a secret (a header, a form field), whatever it looks like.
_SECRET_NAME = re.compile(r"(?i)token|password|secret|signature|authorization|cookie|server_key")


def start_error_tracking(dsn: str, mode: str, integration: Integration) -> None:
    """Starts the SDK when SENTRY_DSN is set; a no-op otherwise. `integration` is the
    process's own (Falcon for the web, Dramatiq for the worker: before its broker is built)."""
    if not dsn:
        return
    sentry_sdk.init(
        dsn=dsn,
        environment=mode,
        send_default_pii=False,
        integrations=[integration],
        disabled_integrations=[LoguruIntegration()],
        before_send=lambda event, _hint: scrubbed(event),
        before_breadcrumb=lambda crumb, _hint: scrubbed(crumb),
    )


def scrubbed(value: object) -> object:
    """`value` (an event, a breadcrumb, any part of them) with every text masked, and the text
    under a secret's name replaced."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: _scrubbed_field(key, field) for key, field in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(item) for item in value]
    return value


def _scrubbed_field(name: object, value: object) -> object:
    if isinstance(name, str) and isinstance(value, str) and _SECRET_NAME.search(name):
        return "***"
    return scrubbed(value)
