"""Settings: read once from the environment (and `.env`), typed, validated at start-up.

VARIABLES has one line per environment variable: its name, the field it fills, how its text is
read and its default. Each outside provider's settings are a part of their own
(`settings.midtrans.server_key`), so an integration is handed only its part. Rules between
variables are the small functions in CHECKS. A start with bad settings stops with one message
naming every bad variable, not one per restart.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

from config.networks import Network
from config.readers import (
    Reader,
    address,
    addresses,
    apprise_urls,
    at_least,
    boolean,
    choice,
    log_level,
    networks,
    optional,
    paths,
    percent,
    schedule,
    stripped,
    text,
    url,
    web_url,
    whatsapp_number,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_SERVER_KEY = "SB-Mid-server-sandbox-local-key"
SANDBOX_ADMIN_TOKEN = "sandbox-admin-token"  # noqa: S105 - public: ADMIN_TOKEN unset, sandbox
GRAPH_API_URL = "https://graph.facebook.com/v26.0"
# Loopback and the private (LAN) ranges of RFC 1918 and RFC 4193, link-local included.
LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


class SettingsError(Exception):
    """Missing or invalid settings; the message names every one of them, on one line."""


@dataclass(frozen=True)
class MidtransSettings:
    """The payment gateway: our key, where Snap and the Status API answer, how fast we call."""

    server_key: str
    client_key: str
    is_production: bool
    snap_base_url: str
    api_base_url: str
    verify_with_status_api: bool
    rate_per_second: int


@dataclass(frozen=True)
class SmtpSettings:
    """The mail server customer messages and alerts go through."""

    host: str
    port: int
    user: str
    password: str
    sender: str  # SMTP_FROM
    tls: str


@dataclass(frozen=True)
class WhatsAppSettings:
    """Meta's Graph API (or the sandbox's stand-in) and our WhatsApp Business number."""

    api_url: str
    token: str
    phone_number_id: str
    business_account_id: str
    verify_token: str  # what Meta's webhook handshake must present (GET /webhooks/whatsapp)
    app_secret: str  # signs Meta's status callbacks (X-Hub-Signature-256)

    @property
    def graph_api_version(self) -> str:
        """The Graph API version WHATSAPP_API_URL names (`v26.0`), or "unknown"."""
        last = self.api_url.rstrip("/").rsplit("/", 1)[-1]
        return last if re.fullmatch(r"v\d+(\.\d+)?", last) else "unknown"


@dataclass(frozen=True)
class AlertSettings:
    """Where an alarm reaches a person, and how often it is repeated while it holds."""

    email_to: tuple[str, ...]
    webhook_url: str  # kept for older .env files: sent through Apprise as a json:// URL
    urls: tuple[str, ...]  # ALERT_URLS: Apprise URLs (Telegram, ntfy, Slack, JSON...)
    repeat_minutes: int
    heartbeat_url: str  # the dead-man's switch, pinged every minute while the shop is healthy

    @property
    def has_target(self) -> bool:
        """True when an alert can reach a person (an email address, a webhook, an Apprise URL)."""
        return bool(self.email_to or self.webhook_url or self.urls)


@dataclass(frozen=True)
class MachineSettings:
    """When the machine itself raises an alarm: free disk, the certificate, Redis memory,
    PostgreSQL connections."""

    disk_paths: tuple[Path, ...]  # where PostgreSQL, Redis and the backups keep their files
    disk_free_alarm_percent: int
    tls_cert_file: str  # nginx's certificate; empty: PUBLIC_BASE_URL's when it is https
    redis_memory_alarm_percent: int
    db_connections_alarm_percent: int


@dataclass(frozen=True)
class OffsiteSettings:
    """The off-site copy of the nightly backup: a restic repository (restic's own variables;
    any backend restic speaks: a folder, SFTP, S3, B2) and the file holding its password."""

    repository: str
    password_file: str

    @property
    def enabled(self) -> bool:
        return bool(self.repository)


@dataclass(frozen=True)
class DeliverySettings:
    """How customer messages are retried, guarded and paced (models.delivery.DeliveryPolicy)."""

    retry_schedule_seconds: tuple[float, ...]
    breaker_fail_max: int
    breaker_reset_seconds: int
    stuck_after_seconds: int
    whatsapp_status_grace_seconds: int
    email_rate_per_second: int
    whatsapp_rate_per_second: int
    unpaid_messages_per_hour: int  # shop-wide, for orders not paid: strangers' contacts
    payment_reminder_hours_before: int  # the one reminder before an open payment ends; 0: none


@dataclass(frozen=True)
class RetentionSettings:
    """How long personal data is kept once its purpose has passed (UU PDP; models/retention.py)."""

    unpaid_days: int  # an unpaid order's contact details, after it ended
    message_body_days: int  # a finished message's body (name, access link)


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
    web_host: str
    public_base_url: str
    trusted_proxies: tuple[Network, ...]
    admin_token: str
    log_level: str
    log_format: str
    var_dir: Path
    sandbox_port: int
    sandbox_host: str
    payment_expiry_minutes: int
    checkout_rate_limit_per_minute: int
    webhook_silence_alarm_minutes: int
    paid_recheck_after_hours: tuple[float, ...]
    sweep_park_after: int
    midtrans: MidtransSettings
    smtp: SmtpSettings
    whatsapp: WhatsAppSettings
    alerts: AlertSettings
    offsite: OffsiteSettings
    machine: MachineSettings
    delivery: DeliverySettings
    retention: RetentionSettings
    seller: Seller
    sentry_dsn: str

    @property
    def uses_sandbox(self) -> bool:
        """True when Midtrans is our local stand-in rather than the real gateway."""
        return self.midtrans.server_key == SANDBOX_SERVER_KEY

    @property
    def mode(self) -> str:
        """Where payments go: `production`, `midtrans-sandbox` (Midtrans' test keys) or
        `local-sandbox` (no keys: our stand-in)."""
        if self.midtrans.is_production:
            return "production"
        return "local-sandbox" if self.uses_sandbox else "midtrans-sandbox"


PARTS = {
    "midtrans": MidtransSettings,
    "smtp": SmtpSettings,
    "whatsapp": WhatsAppSettings,
    "alerts": AlertSettings,
    "offsite": OffsiteSettings,
    "machine": MachineSettings,
    "delivery": DeliverySettings,
    "retention": RetentionSettings,
    "seller": Seller,
}

Values = dict[str, object]  # what was read so far, by field ("port", "midtrans.server_key")


def _local_sandbox(values: Values) -> str | None:
    """The local sandbox's address when no Midtrans key is set (it then runs), else None."""
    if values["midtrans.server_key"] != SANDBOX_SERVER_KEY:
        return None
    return f"http://127.0.0.1:{values['sandbox_port']}"


def _snap_default(values: Values) -> str:
    if local := _local_sandbox(values):
        return f"{local}/snap/v1"
    if values["midtrans.is_production"]:
        return "https://app.midtrans.com/snap/v1"
    return "https://app.sandbox.midtrans.com/snap/v1"


def _api_default(values: Values) -> str:
    if local := _local_sandbox(values):
        return local
    if values["midtrans.is_production"]:
        return "https://api.midtrans.com"
    return "https://api.sandbox.midtrans.com"


def _log_format(values: Values) -> str:
    """Production logs JSON for its journal (systemd gives no terminal), pretty to a person at a
    terminal; every other mode logs pretty. An explicit LOG_FORMAT always wins."""
    return "json" if values["midtrans.is_production"] and not sys.stderr.isatty() else "pretty"


def _graph_api_default(values: Values) -> str:
    local = _local_sandbox(values)
    return f"{local}/v26.0" if local else GRAPH_API_URL


def _disk_paths_default(values: Values) -> str:
    """var/ (the embedded servers' data, the logs) and backups/ (`admin backup`'s default)."""
    return f"{values['var_dir']},{PROJECT_ROOT / 'backups'}"


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, the field it fills, how its text is read, and the
    text it has when unset (or worked out from the values read before it). Set but empty, it is
    read as it is, unless blank_is_unset."""

    name: str
    field: str
    read: Reader
    default: str | Callable[[Values], str]
    blank_is_unset: bool = False

    def value(self, env: Mapping[str, str], values: Values) -> object:
        raw = env.get(self.name)
        if raw is None or (self.blank_is_unset and not raw):
            raw = self.default(values) if callable(self.default) else self.default
        return self.read(raw)


BLANK_IS_UNSET = True  # the fifth column: an empty value takes the default too

# A default worked out from other values comes after them.
VARIABLES = (
    Variable("DATABASE_URL", "database_url", optional(text), ""),
    Variable(
        "MIGRATION_DATABASE_URL",
        "migration_database_url",
        optional(text),
        lambda values: values["database_url"] or "",
        BLANK_IS_UNSET,
    ),
    Variable("REDIS_URL", "redis_url", optional(url("redis", "rediss", "unix")), ""),
    Variable("PORT", "port", at_least(1), "8000"),
    Variable("WEB_HOST", "web_host", text, "127.0.0.1"),
    Variable(
        "PUBLIC_BASE_URL",
        "public_base_url",
        web_url,
        lambda values: f"http://127.0.0.1:{values['port']}",
        BLANK_IS_UNSET,
    ),
    Variable("TRUSTED_PROXY", "trusted_proxies", networks, ""),
    Variable("ADMIN_TOKEN", "admin_token", text, SANDBOX_ADMIN_TOKEN, BLANK_IS_UNSET),
    Variable("VAR_DIR", "var_dir", Path, lambda _: str(PROJECT_ROOT / "var"), BLANK_IS_UNSET),
    Variable("SANDBOX_PORT", "sandbox_port", at_least(1), "8100"),
    Variable("SANDBOX_HOST", "sandbox_host", text, "127.0.0.1"),
    Variable("PAYMENT_EXPIRY_MINUTES", "payment_expiry_minutes", at_least(5), "1440"),
    Variable("CHECKOUT_RATE_LIMIT_PER_MINUTE", "checkout_rate_limit_per_minute", at_least(1), "10"),
    Variable("WEBHOOK_SILENCE_ALARM_MINUTES", "webhook_silence_alarm_minutes", at_least(1), "180"),
    Variable(
        "PAID_RECHECK_AFTER_HOURS", "paid_recheck_after_hours", schedule("hours"), "1,24,168,720"
    ),
    Variable("SWEEP_PARK_AFTER", "sweep_park_after", at_least(1), "6"),
    # Midtrans
    Variable(
        "MIDTRANS_SERVER_KEY", "midtrans.server_key", text, SANDBOX_SERVER_KEY, BLANK_IS_UNSET
    ),
    Variable("MIDTRANS_CLIENT_KEY", "midtrans.client_key", text, ""),
    Variable("MIDTRANS_IS_PRODUCTION", "midtrans.is_production", boolean, "false"),
    Variable(
        "MIDTRANS_SNAP_BASE_URL", "midtrans.snap_base_url", web_url, _snap_default, BLANK_IS_UNSET
    ),
    Variable(
        "MIDTRANS_API_BASE_URL", "midtrans.api_base_url", web_url, _api_default, BLANK_IS_UNSET
    ),
    Variable("MIDTRANS_VERIFY_WITH_STATUS_API", "midtrans.verify_with_status_api", boolean, "true"),
    Variable("MIDTRANS_RATE_PER_SECOND", "midtrans.rate_per_second", at_least(1), "20"),
    # Logging (after Midtrans: a default may depend on production)
    Variable("LOG_LEVEL", "log_level", log_level, "info"),
    Variable("LOG_FORMAT", "log_format", choice("json", "pretty"), _log_format, BLANK_IS_UNSET),
    # SMTP
    Variable("SMTP_HOST", "smtp.host", text, "127.0.0.1", BLANK_IS_UNSET),
    Variable("SMTP_PORT", "smtp.port", at_least(1), "8025"),
    Variable("SMTP_USER", "smtp.user", text, ""),
    Variable("SMTP_PASSWORD", "smtp.password", text, ""),
    Variable("SMTP_FROM", "smtp.sender", text, "Buat Film Pakai AI <kursus@buatfilm.local>"),
    Variable("SMTP_TLS", "smtp.tls", choice("none", "starttls", "ssl"), "none"),
    # WhatsApp
    Variable("WHATSAPP_API_URL", "whatsapp.api_url", web_url, _graph_api_default, BLANK_IS_UNSET),
    Variable("WHATSAPP_TOKEN", "whatsapp.token", text, "sandbox-whatsapp-token", BLANK_IS_UNSET),
    Variable(
        "WHATSAPP_PHONE_NUMBER_ID",
        "whatsapp.phone_number_id",
        text,
        "100000000000001",
        BLANK_IS_UNSET,
    ),
    Variable(
        "WHATSAPP_BUSINESS_ACCOUNT_ID",
        "whatsapp.business_account_id",
        text,
        lambda values: "100000000000002" if _local_sandbox(values) else "",
        BLANK_IS_UNSET,
    ),
    Variable(
        "WHATSAPP_VERIFY_TOKEN",
        "whatsapp.verify_token",
        text,
        "sandbox-whatsapp-verify-token",
        BLANK_IS_UNSET,
    ),
    Variable(
        "WHATSAPP_APP_SECRET",
        "whatsapp.app_secret",
        text,
        "sandbox-whatsapp-app-secret",
        BLANK_IS_UNSET,
    ),
    # Alerts
    Variable("ALERT_EMAIL_TO", "alerts.email_to", addresses, ""),
    Variable("ALERT_WEBHOOK_URL", "alerts.webhook_url", optional(web_url, ""), ""),
    Variable("ALERT_URLS", "alerts.urls", apprise_urls, ""),
    Variable("ALERT_REPEAT_MINUTES", "alerts.repeat_minutes", at_least(1), "60"),
    # Off-site backups (restic's own variable names)
    Variable("RESTIC_REPOSITORY", "offsite.repository", stripped, ""),
    Variable("RESTIC_PASSWORD_FILE", "offsite.password_file", stripped, ""),
    Variable("HEARTBEAT_URL", "alerts.heartbeat_url", optional(web_url, ""), ""),
    Variable("SENTRY_DSN", "sentry_dsn", optional(web_url, ""), ""),
    # The machine (after VAR_DIR: the disk paths' default)
    Variable("DISK_PATHS", "machine.disk_paths", paths, _disk_paths_default, BLANK_IS_UNSET),
    Variable("DISK_FREE_ALARM_PERCENT", "machine.disk_free_alarm_percent", percent, "10"),
    Variable("TLS_CERT_FILE", "machine.tls_cert_file", stripped, ""),
    Variable("REDIS_MEMORY_ALARM_PERCENT", "machine.redis_memory_alarm_percent", percent, "90"),
    Variable("DB_CONNECTIONS_ALARM_PERCENT", "machine.db_connections_alarm_percent", percent, "80"),
    # Customer messages
    Variable(
        "NOTIFICATION_RETRY_SCHEDULE_SECONDS",
        "delivery.retry_schedule_seconds",
        schedule("seconds"),
        "60,300,900,1800",
    ),
    Variable("NOTIFICATION_BREAKER_FAIL_MAX", "delivery.breaker_fail_max", at_least(1), "5"),
    Variable(
        "NOTIFICATION_BREAKER_RESET_SECONDS", "delivery.breaker_reset_seconds", at_least(1), "60"
    ),
    Variable(
        "NOTIFICATION_STUCK_AFTER_SECONDS", "delivery.stuck_after_seconds", at_least(30), "300"
    ),
    Variable(
        "WHATSAPP_STATUS_GRACE_SECONDS",
        "delivery.whatsapp_status_grace_seconds",
        at_least(0),
        "120",
    ),
    Variable("EMAIL_RATE_PER_SECOND", "delivery.email_rate_per_second", at_least(1), "5"),
    Variable("WHATSAPP_RATE_PER_SECOND", "delivery.whatsapp_rate_per_second", at_least(1), "20"),
    Variable("UNPAID_MESSAGES_PER_HOUR", "delivery.unpaid_messages_per_hour", at_least(0), "200"),
    Variable(
        "PAYMENT_REMINDER_HOURS_BEFORE", "delivery.payment_reminder_hours_before", at_least(0), "3"
    ),
    # Personal data (UU PDP)
    Variable("RETENTION_UNPAID_DAYS", "retention.unpaid_days", at_least(1), "30"),
    Variable("RETENTION_MESSAGE_BODY_DAYS", "retention.message_body_days", at_least(1), "90"),
    # The seller
    Variable("SELLER_NAME", "seller.name", text, "Buat Film Pakai AI", BLANK_IS_UNSET),
    Variable("SELLER_ADDRESS", "seller.address", stripped, ""),
    Variable(
        "SELLER_WHATSAPP", "seller.whatsapp", whatsapp_number, "+6281200000000", BLANK_IS_UNSET
    ),
    Variable("SELLER_EMAIL", "seller.email", address, "kursus@buatfilm.local", BLANK_IS_UNSET),
)


# Rules between variables: each returns the problem it finds, or None. A rule whose inputs were
# invalid themselves is skipped (they are named already).
Check = Callable[[Mapping[str, str], Values], str | None]
REQUIRED_WITH_REAL_KEYS = (
    "SMTP_HOST",
    "WHATSAPP_TOKEN",
    "WHATSAPP_PHONE_NUMBER_ID",
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_APP_SECRET",
    "SELLER_NAME",
    "SELLER_ADDRESS",  # the receipt (a real shop's proof of purchase) names it
    "SELLER_WHATSAPP",
    "SELLER_EMAIL",
    "PUBLIC_BASE_URL",
    "TRUSTED_PROXY",
)


def _real_keys(values: Values) -> bool:
    return values["midtrans.server_key"] != SANDBOX_SERVER_KEY


def production_needs_a_server_key(env: Mapping[str, str], values: Values) -> str | None:
    if values["midtrans.is_production"] and not _real_keys(values):
        return "MIDTRANS_SERVER_KEY is required when MIDTRANS_IS_PRODUCTION=true"
    return None


def real_keys_need_real_providers(env: Mapping[str, str], values: Values) -> str | None:
    """With real Midtrans keys the sandbox does not run: its stand-in defaults would lose mail."""
    missing = [name for name in REQUIRED_WITH_REAL_KEYS if not env.get(name)]
    if _real_keys(values) and missing:
        verb = "is" if len(missing) == 1 else "are"
        return f"{', '.join(missing)} {verb} required with real Midtrans keys (no sandbox runs)"
    return None


def real_keys_need_an_admin_token(env: Mapping[str, str], values: Values) -> str | None:
    token = values["admin_token"]
    if _real_keys(values) and (len(token) < 16 or token == SANDBOX_ADMIN_TOKEN):
        return "ADMIN_TOKEN is required (16+ characters, not the sandbox's) with real Midtrans keys"
    return None


def real_keys_verify_with_the_status_api(env: Mapping[str, str], values: Values) -> str | None:
    if _real_keys(values) and not values["midtrans.verify_with_status_api"]:
        return (
            "MIDTRANS_VERIFY_WITH_STATUS_API=false is refused with real Midtrans keys: "
            "a notification's status is not signed"
        )
    return None


def production_needs_its_own_servers(env: Mapping[str, str], values: Values) -> str | None:
    """An embedded server keeps its data under var/ in the release folder: the next release (a
    new folder) would start on an empty database."""
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not env.get(name)]
    if values["midtrans.is_production"] and missing:
        verb = "is" if len(missing) == 1 else "are"
        return (
            f"{' and '.join(missing)} {verb} required when MIDTRANS_IS_PRODUCTION=true: embedded "
            "servers keep their data in var/ inside the release folder, and the next release "
            "would start on an empty database"
        )
    return None


def is_local_url(url: str) -> bool:
    """True for localhost, a loopback address or a private (LAN) address: not reachable from
    the internet at large."""
    return is_local_host(urlparse(url).hostname or "")


def is_local_host(host: str) -> bool:
    """The same for a bare host name or address (a listening address such as WEB_HOST); the
    wildcards 0.0.0.0 and :: are not local: they include every public interface."""
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name may be public
    return any(address in network for network in LOCAL_NETWORKS)


def the_sandbox_stays_local(env: Mapping[str, str], values: Values) -> str | None:
    """Without Midtrans keys the admin token is the README's and the sandbox fakes payments:
    such a shop must not face the internet."""
    public_base_url = values["public_base_url"]
    if _real_keys(values) or is_local_url(public_base_url):
        return None
    return (
        f"PUBLIC_BASE_URL {public_base_url} is refused without Midtrans keys: the sandbox's "
        "admin token is public in the README and anyone could open the console; use "
        "localhost, 127.0.0.1 or a private LAN address, or set MIDTRANS_SERVER_KEY"
    )


def the_sandbox_listens_locally(env: Mapping[str, str], values: Values) -> str | None:
    """The same rule for the addresses the web and the sandbox listen on: 0.0.0.0 would open
    the console and the sandbox's control API on every interface, public ones included."""
    if _real_keys(values):
        return None
    hosts = {"WEB_HOST": values["web_host"], "SANDBOX_HOST": values["sandbox_host"]}
    public = [
        f"{name}={host or '(empty)'}" for name, host in hosts.items() if not is_local_host(host)
    ]
    if not public:
        return None
    return (
        f"{', '.join(public)} refused without Midtrans keys: the console (public admin token) "
        "and the sandbox's control API would listen on public interfaces; use 127.0.0.1, "
        "localhost or a private LAN address (not 0.0.0.0 or ::), or set MIDTRANS_SERVER_KEY"
    )


def a_restic_repository_needs_its_password_file(
    env: Mapping[str, str], values: Values
) -> str | None:
    if values["offsite.repository"] and not values["offsite.password_file"]:
        return "RESTIC_PASSWORD_FILE is required with RESTIC_REPOSITORY (restic encrypts with it)"
    return None


CHECKS: tuple[Check, ...] = (
    production_needs_a_server_key,
    production_needs_its_own_servers,
    the_sandbox_stays_local,
    the_sandbox_listens_locally,
    real_keys_need_real_providers,
    real_keys_need_an_admin_token,
    real_keys_verify_with_the_status_api,
    a_restic_repository_needs_its_password_file,
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
    """Build Settings; SettingsError names every missing or invalid variable at once."""
    env = read_environment(environ)
    values, problems = _read_variables(env)
    problems += _broken_rules(env, values)
    if problems:
        raise SettingsError("; ".join(problems))
    return _assemble(values)


def _read_variables(env: Mapping[str, str]) -> tuple[Values, list[str]]:
    values: Values = {}
    problems, unread = [], set()
    for variable in VARIABLES:
        try:
            values[variable.field] = variable.value(env, values)
        except ValueError as error:
            problems.append(f"{variable.name} {error}")
            unread.add(variable.field)
        except KeyError as needed:
            if needed.args[0] not in unread:
                raise  # its default needs a value whose line comes later: move this line down
            unread.add(variable.field)  # it needs a value that is invalid itself (named already)
    return values, problems


def _broken_rules(env: Mapping[str, str], values: Values) -> list[str]:
    problems = []
    for check in CHECKS:
        try:
            problem = check(env, values)
        except KeyError:
            continue  # it needs a value that is invalid itself (named already)
        if problem:
            problems.append(problem)
    return problems


def _assemble(values: Values) -> Settings:
    """Settings from the values by field: `midtrans.server_key` goes to its part."""
    own: dict[str, object] = {}
    parts: dict[str, dict[str, object]] = {name: {} for name in PARTS}
    for field, value in values.items():
        part, _, name = field.rpartition(".")
        (parts[part] if part else own)[name] = value
    return Settings(**own, **{part: PARTS[part](**fields) for part, fields in parts.items()})


def load_settings_or_exit() -> Settings:
    """For a process's start-up: the settings, or exit with the one line that names every
    problem."""
    try:
        return load_settings()
    except SettingsError as error:
        raise SystemExit(f"Configuration error: {error}") from None


def startup_warnings(settings: Settings) -> list[str]:
    """What a person starting a real shop must hear about, though it does not stop start-up."""
    warnings = []
    if (
        settings.midtrans.server_key.startswith("Mid-server-")
        and not settings.midtrans.is_production
    ):
        warnings.append(
            "PRODUCTION KEY IN SANDBOX MODE: MIDTRANS_SERVER_KEY starts with 'Mid-server-' (a "
            "production key) but MIDTRANS_IS_PRODUCTION is not true, so every call goes to "
            "Midtrans' sandbox and fails; set MIDTRANS_IS_PRODUCTION=true or use the SB- key"
        )
    if not settings.uses_sandbox and not settings.alerts.has_target:
        warnings.append(
            "NO ALERT TARGET: set ALERT_URLS and/or ALERT_EMAIL_TO, or nobody is told when "
            "payments or messages stall (alarms are only logged and shown in /health)"
        )
    return warnings
