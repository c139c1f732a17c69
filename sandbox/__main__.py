"""`python -m sandbox`: the stand-ins as a separate program, configured from the environment."""

import logging
import os
import signal
import threading

from sandbox.config import DEFAULT_SERVER_KEY, SandboxConfig
from sandbox.server import start_sandbox

log = logging.getLogger("sandbox")


def config_from_environment() -> SandboxConfig:
    """The one place the sandbox reads the environment (it is its own program)."""
    http_port = int(os.environ.get("SANDBOX_PORT", "8100"))
    host = os.environ.get("SANDBOX_HOST", "127.0.0.1")
    return SandboxConfig(
        host=host,
        http_port=http_port,
        smtp_port=int(os.environ.get("SANDBOX_SMTP_PORT", "8025")),
        server_key=os.environ.get("MIDTRANS_SERVER_KEY", DEFAULT_SERVER_KEY),
        notification_url=os.environ.get(
            "SANDBOX_NOTIFICATION_URL", "http://127.0.0.1:8000/webhooks/midtrans"
        ),
        public_url=os.environ.get("SANDBOX_PUBLIC_URL", f"http://127.0.0.1:{http_port}"),
    )


def main() -> None:
    """Run until SIGINT or SIGTERM, then close both ports."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    stop_requested = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop_requested.set())
    handle = start_sandbox(config_from_environment())
    log.info(
        "sandbox ready: inbox %s/_sandbox/ snap %s/snap/v1 whatsapp %s/v26.0 smtp %s:%s",
        *(handle.base_url,) * 3,
        handle.smtp_host,
        handle.smtp_port,
    )
    stop_requested.wait()
    handle.stop()
    log.info("sandbox stopped")


if __name__ == "__main__":
    main()
