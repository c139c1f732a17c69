"""Sending one email over SMTP (no TLS, STARTTLS or implicit TLS), with timeouts and typed errors.

The Message-ID is derived from the outbox row id, so a message delivered twice (a worker died
after the server accepted it) is recognisable as the same message by the receiving side.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from integrations.errors import (
    PermanentProviderError,
    ProviderError,
    RecipientDeferred,
    RecipientRefused,
    RetryableProviderError,
)
from runtime.settings import Settings

TLS_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    tls: str = "none"
    user: str = ""
    password: str = ""
    timeout_seconds: float = 20.0


def smtp_config(settings: Settings, timeout_seconds: float = 20.0) -> SmtpConfig:
    """The configured mail server, for customer messages and for alerts alike."""
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        tls=settings.smtp_tls,
        user=settings.smtp_user,
        password=settings.smtp_password,
        timeout_seconds=timeout_seconds,
    )


def message_id_for(outbox_id: int, sender: str) -> str:
    """`<outbox-42@buatfilm.local>`: stable for one outbox row, whoever sends it and how often."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<outbox-{outbox_id}@{domain}>"


def build_email(
    sender: str, recipient: str, subject: str, text: str, html: str, message_id: str
) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML as the preferred part."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def classify_smtp_error(error: Exception) -> ProviderError:
    """SMTP 5xx and refused recipients are permanent; 4xx, timeouts and dropped links retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        permanent = any(code >= 500 for code in codes)
        kind = RecipientRefused if permanent else RecipientDeferred
        return kind(f"SMTP recipient refused ({', '.join(map(str, codes))})")
    if isinstance(error, smtplib.SMTPNotSupportedError | UnicodeEncodeError):
        return RecipientRefused("SMTP server cannot carry this address (not ASCII, no SMTPUTF8)")
    if isinstance(error, smtplib.SMTPResponseException):
        detail = (
            error.smtp_error.decode(errors="replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        kind = PermanentProviderError if error.smtp_code >= 500 else RetryableProviderError
        return kind(f"SMTP {error.smtp_code} {detail}".strip())
    return RetryableProviderError(f"SMTP {type(error).__name__}: {error}".strip())


class SmtpMailer:
    """Opens one connection per message: simple, and nothing stale survives an SMTP restart."""

    def __init__(self, config: SmtpConfig) -> None:
        if config.tls not in TLS_MODES:
            raise ValueError(f"SMTP TLS mode must be one of {TLS_MODES}, not {config.tls!r}")
        self._config = config

    def send(self, outbox_id: int, recipient: str, subject: str, text: str, html: str) -> str:
        """Sends the message; returns its Message-ID. Raises a ProviderError subclass."""
        if "@" not in recipient:
            raise RecipientRefused("invalid email recipient")
        message_id = message_id_for(outbox_id, self._config.sender)
        message = build_email(self._config.sender, recipient, subject, text, html, message_id)
        try:
            with self._connect() as connection:
                connection.send_message(message)
        except (smtplib.SMTPException, OSError, UnicodeEncodeError) as error:
            raise classify_smtp_error(error) from error
        return message_id

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        if config.tls == "ssl":
            connection = smtplib.SMTP_SSL(
                config.host,
                config.port,
                timeout=config.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            connection = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        try:
            if config.tls == "starttls":
                connection.starttls(context=ssl.create_default_context())
            if config.user:
                connection.login(config.user, config.password)
        except BaseException:
            connection.close()
            raise
        return connection
