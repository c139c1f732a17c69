"""`python -m web.server`: the web process (waitress serving create_app)."""

from __future__ import annotations

from collections.abc import Callable

import waitress
from loguru import logger
from sentry_sdk.integrations.falcon import FalconIntegration

from config.error_tracking import start_error_tracking
from config.logs import configure_logging
from config.settings import Settings, load_settings_or_exit
from messaging.redis import redis_client
from models.db import init_database
from web.app import create_app
from web.proxies import behind_proxies

THREADS = 16
# Browsers (and nginx's upstream pool) keep idle keep-alive connections open; past waitress's
# default limit of 100 open connections it stops accepting, and checkouts time out. Each idle
# connection costs a socket and a few KB. poll() instead of select(), which cannot watch file
# descriptors above 1023 (the unit raises LimitNOFILE to match).
CONNECTION_LIMIT = 1000
# An idle connection is closed after this; nginx's upstream keepalive_timeout is shorter, so
# nginx never sends a request on a connection waitress is closing.
CHANNEL_TIMEOUT_SECONDS = 30


def start_web(settings: Settings) -> Callable:
    """The web's start-up: logging, the database binding (reads only), a Redis client that
    answers 503 within about a second when Redis stalls (Midtrans waits 15 s at most), and the
    customer's address taken from TRUSTED_PROXY's forwarded headers; errors go to SENTRY_DSN
    when it is set."""
    if not settings.database_url or not settings.redis_url:
        raise SystemExit("DATABASE_URL and REDIS_URL must be set for the web (./run.sh sets them)")
    configure_logging(settings.log_level, settings.log_format)
    start_error_tracking(settings.sentry_dsn, settings.mode, FalconIntegration())
    init_database(settings.database_url)
    app = create_app(settings, redis_client(settings.redis_url, timeout=1.0, retries=0))
    return behind_proxies(app, settings.trusted_proxies)


def main() -> None:
    settings = load_settings_or_exit()
    app = start_web(settings)
    logger.info("Web listening on http://{}:{}", settings.web_host, settings.port)
    waitress.serve(
        app,
        host=settings.web_host,
        port=settings.port,
        threads=THREADS,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT_SECONDS,
        asyncore_use_poll=True,
        ident="bfa",
        clear_untrusted_proxy_headers=False,  # behind_proxies reads and then drops them
    )


if __name__ == "__main__":
    main()
