"""The sandbox's settings: where it listens, the key it signs with, where it sends notifications."""

from dataclasses import dataclass

DEFAULT_SERVER_KEY = "SB-Mid-server-sandbox-local-key"
DEFAULT_WHATSAPP_APP_SECRET = "sandbox-whatsapp-app-secret"  # the settings' default


@dataclass(frozen=True)
class SandboxConfig:
    """Port 0 picks a free port; public_url None means the address the HTTP server really got."""

    host: str = "127.0.0.1"
    http_port: int = 8100
    smtp_port: int = 8025
    server_key: str = DEFAULT_SERVER_KEY
    notification_url: str = "http://127.0.0.1:8000/webhooks/midtrans"
    public_url: str | None = None
    http_threads: int = 8  # more when many calls may hang at once (a chaos run's Status API)
    whatsapp_app_secret: str = DEFAULT_WHATSAPP_APP_SECRET
    # The statuses Meta reports on its own for every accepted message (e.g. sent, delivered);
    # none by default, so a test sends the ones it is about (`POST /_sandbox/whatsapp/statuses`).
    whatsapp_status_callbacks: tuple[str, ...] = ()

    @property
    def whatsapp_webhook_url(self) -> str:
        """The shop's WhatsApp webhook, beside the Midtrans one it is given."""
        return self.notification_url.rsplit("/webhooks/", 1)[0] + "/webhooks/whatsapp"
