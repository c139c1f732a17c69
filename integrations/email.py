"""Sending one email over SMTP (no TLS, STARTTLS or implicit TLS), with timeouts and typed errors.

The Message-ID is derived from the outbox row id, so a message delivered twice (a worker died
after the server accepted it) is recognisable as the same message by the receiving side.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

from config.settings import SmtpSettings
from integrations.errors import (
    PermanentProviderError,
    ProviderError,
    RecipientDeferred,
    RecipientRefused,
    RetryableProviderError,
)

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


def smtp_config(smtp: SmtpSettings, timeout_seconds: float = 20.0) -> SmtpConfig:
    """The configured mail server, for customer messages and for alerts alike."""
    return SmtpConfig(
        host=smtp.host,
        port=smtp.port,
        sender=smtp.sender,
        tls=smtp.tls,
        user=smtp.user,
        password=smtp.password,
        timeout_seconds=timeout_seconds,
    )


def message_id_for(outbox_id: int, sender: str) -> str:
    """`<outbox-42@buatfilm.local>`: stable for one outbox row, whoever sends it and how often."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<outbox-{outbox_id}@{domain}>"


def build_email(
    sender: str, recipient: str, subject: str, text: str, html: str, message_id: str
) -> Message:
    """A multipart/alternative message: plain text first, HTML as the preferred part.

    Built with the classic MIME classes: EmailMessage parses and refolds every header, which
    made building a message cost 2 to 3 ms of CPU, a tenth of a paid order's worker time. An
    address that is not plain ASCII needs SMTPUTF8, which only EmailMessage carries."""
    if not (parseaddr(sender)[1] + recipient).isascii():
        return _international_email(sender, recipient, subject, text, html, message_id)
    message = MIMEMultipart("alternative")
    message["From"] = formataddr(parseaddr(sender), charset="utf-8")
    message["To"] = recipient
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message


def _international_email(
    sender: str, recipient: str, subject: str, text: str, html: str, message_id: str
) -> EmailMessage:
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


class _Commands:
    """Remembers the last SMTP command sent, so a reused session that turns out to be closed
    tells whether the message may have been accepted (only once DATA was sent)."""

    last_command = ""

    def putcmd(self, cmd, args=""):
        self.last_command = cmd.lower()
        super().putcmd(cmd, args)


class _Session(_Commands, smtplib.SMTP):
    pass


class _SslSession(_Commands, smtplib.SMTP_SSL):
    pass


# A session idle longer than this is asked NOOP before it carries a message: servers close idle
# sessions after a while (RFC 5321 asks them to wait at least 5 minutes).
IDLE_CHECK_SECONDS = 10.0


class SmtpMailer:
    """Keeps one session open per thread and sends every message of that thread over it, so a
    message costs no connection, greeting, TLS handshake or login. Any error closes the session;
    a session found closed before the message was handed over is replaced once, at once."""

    def __init__(self, config: SmtpConfig) -> None:
        if config.tls not in TLS_MODES:
            raise ValueError(f"SMTP TLS mode must be one of {TLS_MODES}, not {config.tls!r}")
        self._config = config
        self._local = threading.local()

    def send(self, outbox_id: int, recipient: str, subject: str, text: str, html: str) -> str:
        """Sends the message; returns its Message-ID. Raises a ProviderError subclass."""
        if "@" not in recipient:
            raise RecipientRefused("invalid email recipient")
        message_id = message_id_for(outbox_id, self._config.sender)
        message = build_email(self._config.sender, recipient, subject, text, html, message_id)
        try:
            self._send(message)
        except (smtplib.SMTPException, OSError, UnicodeEncodeError) as error:
            self._close()
            raise classify_smtp_error(error) from error
        return message_id

    def check_login(self) -> None:
        """Connects, logs in (when a user is set) and says goodbye: `admin verify`'s probe.
        Raises a ProviderError subclass, as sending would."""
        try:
            self._connect().quit()
        except (smtplib.SMTPException, OSError) as error:
            raise classify_smtp_error(error) from error

    def _send(self, message: Message) -> None:
        session, reused = self._session()
        try:
            session.send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            if not reused or session.last_command == "data":
                raise  # the server may have taken the message: the row's retry decides
            self._close()
            self._session()[0].send_message(message)
        self._local.last_used = time.monotonic()

    def _session(self) -> tuple[smtplib.SMTP, bool]:
        """This thread's open session (NOOP-checked after a long idle), or a new one."""
        session = getattr(self._local, "session", None)
        if session is not None:
            idle = time.monotonic() - self._local.last_used
            if idle < IDLE_CHECK_SECONDS or _answers_noop(session):
                return session, True
            self._close()
        self._local.session = session = self._connect()
        self._local.last_used = time.monotonic()
        return session, False

    def _close(self) -> None:
        session = getattr(self._local, "session", None)
        self._local.session = None
        if session is not None:
            session.close()

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        if config.tls == "ssl":
            connection = _SslSession(
                config.host,
                config.port,
                timeout=config.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            connection = _Session(config.host, config.port, timeout=config.timeout_seconds)
        try:
            if config.tls == "starttls":
                connection.starttls(context=ssl.create_default_context())
            if config.user:
                connection.login(config.user, config.password)
        except BaseException:
            connection.close()
            raise
        return connection


def _answers_noop(session: smtplib.SMTP) -> bool:
    try:
        return session.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False
