"""Settings: read once from the environment (and `.env`), typed, validated at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

from runtime.networks import Network, parse_networks

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_SERVER_KEY = "SB-Mid-server-sandbox-local-key"
SANDBOX_ADMIN_TOKEN = "sandbox-admin-token"  # noqa: S105 - public: ADMIN_TOKEN unset, sandbox
GRAPH_API_URL = "https://graph.facebook.com/v26.0"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it in one line."""


@dataclass(frozen=True)
class Seller:
    """Who sells: shown in every customer page's footer and the legal pages, as buyers and the
    payment gateway's merchant review expect."""

    name: str
    address: str
    whatsapp: str  # international digits, 62...
    email: str

    @property
    def whatsapp_url(self) -> str:
        return f"https://wa.me/{self.whatsapp}"

    @property
    def whatsapp_text(self) -> str:
        return f"+{self.whatsapp}"


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    migration_database_url: str | None
    redis_url: str | None
    port: int
    public_base_url: str
    midtrans_server_key: str
    midtrans_client_key: str
    midtrans_is_production: bool
    midtrans_snap_base_url: str
    midtrans_api_base_url: str
    midtrans_verify_with_status_api: bool
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_from: str
    smtp_tls: str
    whatsapp_api_url: str
    whatsapp_token: str
    whatsapp_phone_number_id: str
    whatsapp_business_account_id: str
    admin_token: str
    log_level: str
    log_format: str
    payment_expiry_minutes: int
    checkout_rate_limit_per_minute: int
    email_rate_per_second: int
    midtrans_rate_per_second: int
    whatsapp_rate_per_second: int
    webhook_silence_alarm_minutes: int
    notification_retry_schedule_seconds: tuple[float, ...]
    notification_breaker_fail_max: int
    notification_breaker_reset_seconds: int
    paid_recheck_after_hours: tuple[float, ...]
    sweep_park_after: int
    retention_unpaid_days: int
    retention_message_body_days: int
    alert_email_to: tuple[str, ...]
    alert_webhook_url: str
    alert_repeat_minutes: int
    notification_stuck_after_seconds: int
    var_dir: Path
    web_host: str
    trusted_proxies: tuple[Network, ...]
    sandbox_port: int
    sandbox_host: str
    seller: Seller

    @property
    def alert_targets(self) -> bool:
        """True when an alert can reach a person (an email address or a webhook)."""
        return bool(self.alert_email_to or self.alert_webhook_url)

    @property
    def graph_api_version(self) -> str:
        """The Graph API version WHATSAPP_API_URL names (`v26.0`), or "unknown"."""
        last = self.whatsapp_api_url.rstrip("/").rsplit("/", 1)[-1]
        return last if re.fullmatch(r"v\d+(\.\d+)?", last) else "unknown"

    @property
    def uses_sandbox(self) -> bool:
        """True when Midtrans is our local stand-in rather than the real gateway."""
        return self.midtrans_server_key == SANDBOX_SERVER_KEY


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return value


def _schedule(name: str, raw: str, unit: str = "seconds") -> tuple[float, ...]:
    try:
        seconds = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        seconds = ()
    if not seconds or any(value <= 0 for value in seconds):
        raise SettingsError(f"{name} must be positive {unit} separated by commas, got {raw!r}")
    return seconds


def _url(name: str, raw: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    parsed = urlparse(raw)
    web = parsed.scheme in ("http", "https")
    if parsed.scheme not in schemes or not (
        parsed.hostname if web else parsed.netloc or parsed.path
    ):
        raise SettingsError(f"{name} must be a {'/'.join(schemes)} URL, got {raw!r}")
    return raw.rstrip("/")


def _addresses(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated email addresses; each must at least look like one."""
    addresses = tuple(part.strip() for part in raw.split(",") if part.strip())
    bad = [address for address in addresses if "@" not in address or " " in address]
    if bad:
        raise SettingsError(f"{name} must be email addresses separated by commas, got {bad[0]!r}")
    return addresses


def _networks(name: str, raw: str) -> tuple[Network, ...]:
    try:
        return parse_networks(raw)
    except ValueError as error:
        raise SettingsError(
            f"{name} must be addresses or CIDRs separated by commas: {error}"
        ) from None


def _whatsapp_number(name: str, raw: str) -> str:
    """An Indonesian or international number as wa.me wants it: digits only, country code first."""
    digits = re.sub(r"[\s().-]", "", raw).removeprefix("+")
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    if not re.fullmatch(r"[1-9][0-9]{7,14}", digits):
        raise SettingsError(f"{name} must be a phone number such as +62 812-3456-7890, got {raw!r}")
    return digits


def _seller(get) -> Seller:
    email = get("SELLER_EMAIL") or "kursus@buatfilm.local"
    _addresses("SELLER_EMAIL", email)
    return Seller(
        name=get("SELLER_NAME") or "Buat Film Pakai AI",
        address=get("SELLER_ADDRESS", "").strip(),
        whatsapp=_whatsapp_number("SELLER_WHATSAPP", get("SELLER_WHATSAPP") or "+6281200000000"),
        email=email,
    )


def _midtrans_defaults(production: bool, sandbox_port: int | None) -> tuple[str, str]:
    """Local sandbox without keys; Midtrans' own sandbox or production with them."""
    if sandbox_port is not None:
        local = f"http://127.0.0.1:{sandbox_port}"
        return f"{local}/snap/v1", local
    if production:
        return "https://app.midtrans.com/snap/v1", "https://api.midtrans.com"
    return "https://app.sandbox.midtrans.com/snap/v1", "https://api.sandbox.midtrans.com"


def _require_real_providers(get, admin_token: str) -> None:
    """With real Midtrans keys the sandbox does not run: its stand-in defaults would lose mail."""
    for name in (
        "SMTP_HOST",
        "WHATSAPP_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
        "SELLER_NAME",
        "SELLER_WHATSAPP",
        "SELLER_EMAIL",
    ):
        if not get(name):
            raise SettingsError(f"{name} is required with real Midtrans keys (no sandbox runs)")
    if len(admin_token) < 16 or admin_token == SANDBOX_ADMIN_TOKEN:
        raise SettingsError(
            "ADMIN_TOKEN is required (16+ characters, not the sandbox's) with real Midtrans keys"
        )
    for name in ("PUBLIC_BASE_URL", "TRUSTED_PROXY"):
        if not get(name):
            raise SettingsError(f"{name} is required with real Midtrans keys")
    if not _bool("MIDTRANS_VERIFY_WITH_STATUS_API", get("MIDTRANS_VERIFY_WITH_STATUS_API", "true")):
        raise SettingsError(
            "MIDTRANS_VERIFY_WITH_STATUS_API=false is refused with real Midtrans keys: "
            "a notification's status is not signed"
        )


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment over the project's `.env` file (the real environment wins)."""
    if environ is not None:
        return dict(environ)
    from_file = dotenv_values(PROJECT_ROOT / ".env")
    merged = {key: value for key, value in from_file.items() if value is not None}
    merged.update(os.environ)
    return merged


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings, raising SettingsError with one clear line for the first bad value."""
    env = read_environment(environ)
    get = env.get
    server_key = get("MIDTRANS_SERVER_KEY") or SANDBOX_SERVER_KEY
    production = _bool("MIDTRANS_IS_PRODUCTION", get("MIDTRANS_IS_PRODUCTION", "false"))
    if production and server_key == SANDBOX_SERVER_KEY:
        raise SettingsError("MIDTRANS_SERVER_KEY is required when MIDTRANS_IS_PRODUCTION=true")
    port = _int("PORT", get("PORT", "8000"), minimum=1)
    sandbox = server_key == SANDBOX_SERVER_KEY
    sandbox_port = _int("SANDBOX_PORT", get("SANDBOX_PORT", "8100"), minimum=1)
    snap_default, api_default = _midtrans_defaults(production, sandbox_port if sandbox else None)
    admin_token = get("ADMIN_TOKEN", "")
    if not sandbox:
        _require_real_providers(get, admin_token)
    return Settings(
        database_url=get("DATABASE_URL") or None,
        migration_database_url=get("MIGRATION_DATABASE_URL") or get("DATABASE_URL") or None,
        redis_url=_url("REDIS_URL", get("REDIS_URL"), ("redis", "rediss", "unix"))
        if get("REDIS_URL")
        else None,
        port=port,
        public_base_url=_url(
            "PUBLIC_BASE_URL", get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}"
        ),
        midtrans_server_key=server_key,
        midtrans_client_key=get("MIDTRANS_CLIENT_KEY", ""),
        midtrans_is_production=production,
        midtrans_snap_base_url=_url(
            "MIDTRANS_SNAP_BASE_URL", get("MIDTRANS_SNAP_BASE_URL") or snap_default
        ),
        midtrans_api_base_url=_url(
            "MIDTRANS_API_BASE_URL", get("MIDTRANS_API_BASE_URL") or api_default
        ),
        midtrans_verify_with_status_api=_bool(
            "MIDTRANS_VERIFY_WITH_STATUS_API", get("MIDTRANS_VERIFY_WITH_STATUS_API", "true")
        ),
        smtp_host=get("SMTP_HOST") or "127.0.0.1",
        smtp_port=_int("SMTP_PORT", get("SMTP_PORT", "8025"), minimum=1),
        smtp_user=get("SMTP_USER", ""),
        smtp_password=get("SMTP_PASSWORD", ""),
        smtp_from=get("SMTP_FROM", "Buat Film Pakai AI <kursus@buatfilm.local>"),
        smtp_tls=_choice("SMTP_TLS", get("SMTP_TLS", "none"), ("none", "starttls", "ssl")),
        whatsapp_api_url=_url(
            "WHATSAPP_API_URL",
            get("WHATSAPP_API_URL")
            or (f"http://127.0.0.1:{sandbox_port}/v26.0" if sandbox else GRAPH_API_URL),
        ),
        whatsapp_token=get("WHATSAPP_TOKEN") or "sandbox-whatsapp-token",
        whatsapp_phone_number_id=get("WHATSAPP_PHONE_NUMBER_ID") or "100000000000001",
        whatsapp_business_account_id=get("WHATSAPP_BUSINESS_ACCOUNT_ID")
        or ("100000000000002" if sandbox else ""),
        admin_token=admin_token or SANDBOX_ADMIN_TOKEN,
        log_level=_choice(
            "LOG_LEVEL", get("LOG_LEVEL", "info"), ("trace", "debug", "info", "warning", "error")
        ).upper(),
        log_format=_choice("LOG_FORMAT", get("LOG_FORMAT", "pretty"), ("json", "pretty")),
        payment_expiry_minutes=_int(
            "PAYMENT_EXPIRY_MINUTES", get("PAYMENT_EXPIRY_MINUTES", "1440"), minimum=5
        ),
        checkout_rate_limit_per_minute=_int(
            "CHECKOUT_RATE_LIMIT_PER_MINUTE", get("CHECKOUT_RATE_LIMIT_PER_MINUTE", "10"), 1
        ),
        midtrans_rate_per_second=_int(
            "MIDTRANS_RATE_PER_SECOND", get("MIDTRANS_RATE_PER_SECOND", "20"), 1
        ),
        email_rate_per_second=_int("EMAIL_RATE_PER_SECOND", get("EMAIL_RATE_PER_SECOND", "5"), 1),
        whatsapp_rate_per_second=_int(
            "WHATSAPP_RATE_PER_SECOND", get("WHATSAPP_RATE_PER_SECOND", "20"), 1
        ),
        webhook_silence_alarm_minutes=_int(
            "WEBHOOK_SILENCE_ALARM_MINUTES", get("WEBHOOK_SILENCE_ALARM_MINUTES", "180"), 1
        ),
        notification_retry_schedule_seconds=_schedule(
            "NOTIFICATION_RETRY_SCHEDULE_SECONDS",
            get("NOTIFICATION_RETRY_SCHEDULE_SECONDS", "60,300,900,1800"),
        ),
        notification_breaker_fail_max=_int(
            "NOTIFICATION_BREAKER_FAIL_MAX", get("NOTIFICATION_BREAKER_FAIL_MAX", "5"), 1
        ),
        notification_breaker_reset_seconds=_int(
            "NOTIFICATION_BREAKER_RESET_SECONDS", get("NOTIFICATION_BREAKER_RESET_SECONDS", "60"), 1
        ),
        paid_recheck_after_hours=_schedule(
            "PAID_RECHECK_AFTER_HOURS", get("PAID_RECHECK_AFTER_HOURS", "1,24,168,720"), "hours"
        ),
        sweep_park_after=_int("SWEEP_PARK_AFTER", get("SWEEP_PARK_AFTER", "6"), 1),
        retention_unpaid_days=_int("RETENTION_UNPAID_DAYS", get("RETENTION_UNPAID_DAYS", "30"), 1),
        retention_message_body_days=_int(
            "RETENTION_MESSAGE_BODY_DAYS", get("RETENTION_MESSAGE_BODY_DAYS", "90"), 1
        ),
        alert_email_to=_addresses("ALERT_EMAIL_TO", get("ALERT_EMAIL_TO", "")),
        alert_webhook_url=_url("ALERT_WEBHOOK_URL", get("ALERT_WEBHOOK_URL"))
        if get("ALERT_WEBHOOK_URL")
        else "",
        alert_repeat_minutes=_int("ALERT_REPEAT_MINUTES", get("ALERT_REPEAT_MINUTES", "60"), 1),
        notification_stuck_after_seconds=_int(
            "NOTIFICATION_STUCK_AFTER_SECONDS", get("NOTIFICATION_STUCK_AFTER_SECONDS", "300"), 30
        ),
        var_dir=Path(get("VAR_DIR") or PROJECT_ROOT / "var"),
        web_host=get("WEB_HOST", "127.0.0.1"),
        trusted_proxies=_networks("TRUSTED_PROXY", get("TRUSTED_PROXY", "")),
        sandbox_port=sandbox_port,
        sandbox_host=get("SANDBOX_HOST", "127.0.0.1"),
        seller=_seller(get),
    )


def load_settings_or_exit() -> Settings:
    """For a process's start-up: the settings, or exit with the one line that names the
    problem."""
    try:
        return load_settings()
    except SettingsError as error:
        raise SystemExit(f"Configuration error: {error}") from None


def startup_warnings(settings: Settings) -> list[str]:
    """What a person starting a real shop must hear about, though it does not stop start-up."""
    if settings.uses_sandbox or settings.alert_targets:
        return []
    return [
        "NO ALERT TARGET: set ALERT_EMAIL_TO and/or ALERT_WEBHOOK_URL, or nobody is told when "
        "payments or messages stall (alarms are only logged and shown in /health)"
    ]
