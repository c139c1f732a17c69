"""The sandbox's settings: where it listens, the key it signs with, where it sends notifications."""

from dataclasses import dataclass

DEFAULT_SERVER_KEY = "SB-Mid-server-sandbox-local-key"


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
