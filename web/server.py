"""`python -m web.server`: the web process (waitress serving create_app)."""

from __future__ import annotations

import waitress
from loguru import logger

from tasks.broker import redis_client, settings
from web.app import create_app


def main() -> None:
    # The web answers 503 within about a second when Redis stalls (Midtrans waits 15 s at most).
    app = create_app(settings, redis_client(settings.redis_url, timeout=1.0, retries=0))
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
