"""An SMTP server that keeps every message it accepts and fails on request (codes, delay, down)."""

import asyncio
import email
import email.policy
import socket
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from harness.sandbox.faults import FaultPlan
from harness.sandbox.state import SandboxState, utc_now_text


def free_port(host: str) -> int:
    """A port nobody listens on right now (aiosmtpd's controller cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


WRONG_PASSWORD_PREFIX = b"wrong"


def accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    """AUTH is offered so clients that log in work; any credentials are fine in the sandbox
    except a password starting with `wrong`, which stands for a rotated one."""
    password = getattr(auth_data, "password", b"") or b""
    if password.startswith(WRONG_PASSWORD_PREFIX):
        return AuthResult(success=False, handled=False)  # the server answers 535
    return AuthResult(success=True, auth_data=auth_data)


def _body_text(message: EmailMessage, subtype: str) -> str | None:
    """The decoded part with wire line endings made plain, so tests compare ordinary text."""
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content().replace("\r\n", "\n") if part is not None else None


def parsed_mail(envelope: Envelope, session: Session) -> dict:
    """What the inbox and the tests see of one accepted message."""
    raw = envelope.original_content or b""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    login = session.auth_data.login if session.authenticated and session.auth_data else None
    return {
        "message_id": message.get("Message-ID"),
        "mail_from": envelope.mail_from,
        "rcpt_tos": list(envelope.rcpt_tos),
        "from": message.get("From"),
        "to": message.get("To"),
        "subject": message.get("Subject"),
        "text": _body_text(message, "plain"),
        "html": _body_text(message, "html"),
        "raw": raw.decode("utf-8", "replace"),
        "auth_user": login.decode() if isinstance(login, bytes) else login,
        "received_at": utc_now_text(),
    }


def failure_reply(status: int) -> str:
    """An SMTP reply with the enhanced status class that matches the code (4xx or 5xx)."""
    enhanced = "4.3.0" if 400 <= status < 500 else "5.0.0"
    return f"{status} {enhanced} Sandbox injected failure"


class StoringHandler:
    """aiosmtpd handler: refuse recipients as a strict relay does, apply faults, then store the
    message. A relay refuses mailboxes it does not know (here: any address starting with
    `nobody`) and, like many without SMTPUTF8, any address that is not plain ASCII."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ) -> str:
        if not address.isascii():
            return "553 5.6.7 Non-ASCII addresses are not supported by this relay"
        if address.lower().startswith("nobody"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        switch = self.state.faults["mail"]
        plan = switch.plan
        if plan.delay_ms:
            await asyncio.sleep(plan.delay_ms / 1000)
        if switch.consume_failure():
            return failure_reply(plan.status)
        self.state.record(self.state.mails, parsed_mail(envelope, session))
        return "250 2.0.0 Message accepted for delivery"


class SmtpSandbox:
    """The SMTP listener; 'down' stops it (connections refused) until the fault is cleared."""

    def __init__(self, state: SandboxState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port = port or free_port(host)
        self._controller: Controller | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Listen (again); a no-op when already listening."""
        with self._lock:
            if self._controller is None:
                self._controller = self._new_controller()
                self._controller.start()

    def stop(self) -> None:
        """Close the port; a no-op when already stopped."""
        with self._lock:
            if self._controller is not None:
                self._controller.stop()
                self._controller = None

    def apply_faults(self, plan: FaultPlan) -> None:
        """Set the mail faults; down closes the port, anything else reopens it."""
        self.state.faults["mail"].set(plan)
        if plan.down:
            self.stop()
        else:
            self.start()

    def _new_controller(self) -> Controller:
        """A fresh controller each time: a stopped one has closed its event loop."""
        return Controller(
            StoringHandler(self.state),
            hostname=self.host,
            port=self.port,
            authenticator=accept_any_login,
            auth_require_tls=False,
        )
