"""`python -m harness.sandbox`: the Midtrans, SMTP and WhatsApp stand-ins as a separate program."""

import logging
import signal
import threading

from config.logs import configure_logging
from config.settings import Settings, load_settings_or_exit
from harness.sandbox.config import SandboxConfig
from harness.sandbox.server import start_sandbox

log = logging.getLogger("sandbox")


def sandbox_config(settings: Settings) -> SandboxConfig:
    """Where the stand-ins listen and whom they call, from the system's own settings: the
    SMTP port the workers send to, the key the web checks, the web's notification URL."""
    return SandboxConfig(
        host=settings.sandbox_host,
        http_port=settings.sandbox_port,
        smtp_port=settings.smtp.port,
        server_key=settings.midtrans.server_key,
        notification_url=f"{settings.public_base_url}/webhooks/midtrans",
        public_url=f"http://127.0.0.1:{settings.sandbox_port}",
        whatsapp_app_secret=settings.whatsapp.app_secret,
        whatsapp_status_callbacks=("sent", "delivered"),
    )


def main() -> None:
    """The sandbox's start-up; runs until SIGINT or SIGTERM, then closes both ports."""
    # The same sink as every other process: one line format (LOG_FORMAT) in ./run.sh's output,
    # and emails and phone numbers masked like everywhere else.
    settings = load_settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    config = sandbox_config(settings)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    logging.getLogger("httpx").setLevel(logging.WARNING)  # each notification is logged below
    stop_requested = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop_requested.set())
    handle = start_sandbox(config)
    log.info(
        "sandbox ready: inbox %s/_sandbox/ snap %s/snap/v1 smtp %s:%s",
        handle.base_url,
        handle.base_url,
        handle.smtp_host,
        handle.smtp_port,
    )
    stop_requested.wait()
    handle.stop()
    log.info("sandbox stopped")


if __name__ == "__main__":
    main()
