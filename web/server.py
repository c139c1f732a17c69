"""`python -m web.server`: the web process (waitress serving create_app)."""

from __future__ import annotations

import falcon
import waitress
from loguru import logger

from messaging.redis import redis_client
from models.db import init_database
from runtime.logs import configure_logging
from runtime.settings import Settings, load_settings_or_exit
from web.app import create_app


def start_web(settings: Settings) -> falcon.App:
    """The web's start-up: logging, the database binding (reads only), and a Redis client that
    answers 503 within about a second when Redis stalls (Midtrans waits 15 s at most)."""
    if not settings.database_url or not settings.redis_url:
        raise SystemExit("DATABASE_URL and REDIS_URL must be set for the web (./run.sh sets them)")
    configure_logging(settings.log_level, settings.log_format)
    init_database(settings.database_url)
    return create_app(settings, redis_client(settings.redis_url, timeout=1.0, retries=0))


def main() -> None:
    settings = load_settings_or_exit()
    app = start_web(settings)
    logger.info("Web listening on http://{}:{}", settings.web_host, settings.port)
    waitress.serve(
        app,
        host=settings.web_host,
        port=settings.port,
        threads=16,
        channel_timeout=30,
        ident="bfa",
        clear_untrusted_proxy_headers=True,
        **settings.waitress_proxy_options(),
    )


if __name__ == "__main__":
    main()
