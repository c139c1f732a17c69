"""The alarm targets, where an alarm reaches a person: an email to ALERT_EMAIL_TO (through the
configured SMTP, the client customer mail already proves) and every Apprise URL of ALERT_URLS
(Telegram, ntfy, Slack, a JSON webhook...). An older ALERT_WEBHOOK_URL is sent through Apprise
too, as a json:// URL whose body keeps its Slack-compatible `text` (webhook_as_apprise). The
settings keep their contract names ALERT_* (docs/glossary.md).

Each alarm is sent when it starts, again at most every ALERT_REPEAT_MINUTES while it holds, and
once when it clears. Their state lives in Redis, so every process agrees on what was sent. Every
target is tried every time, each bounded in time: an alarm about email itself still goes out by
Telegram, and a dead chat service does not hold up the email.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import apprise
import redis
from loguru import logger

from config.settings import AlertSettings, SmtpSettings
from integrations.email import SmtpMailer, smtp_config
from integrations.errors import ProviderError

STATE_PREFIX = "dramatiq:alerts:"
CONNECT_SECONDS = 5.0  # each Apprise target's socket timeouts: a dead one never hangs a check
READ_SECONDS = 10.0
# Apprise's JSON fields the old webhook body did not have; its `message` becomes `text`.
WEBHOOK_PAYLOAD = {
    ":message": "text",
    ":title": "",
    ":type": "",
    ":version": "",
    ":attachments": "",
}
NOTICE_TYPES = {"cleared": apprise.NotifyType.SUCCESS, "test": apprise.NotifyType.INFO}


@dataclass(frozen=True)
class AlarmNotice:
    """What is sent about an alarm: its name, its message (English, as the logs and monitoring
    read it), a few order ids, and the same message in Indonesian with WIB times for the owner."""

    name: str
    message: str
    order_ids: tuple[str, ...] = ()
    pesan: str = ""


class AlarmSender:
    """Sends started / still holding / cleared notices for the alarms one checker owns."""

    def __init__(
        self,
        alerts: AlertSettings,
        smtp: SmtpSettings,
        public_base_url: str,
        redis_client: redis.Redis,
    ) -> None:
        self._alerts = alerts
        self._health_url = f"{public_base_url}/admin/health"
        self._redis = redis_client
        self._mailer = SmtpMailer(smtp_config(smtp, timeout_seconds=10.0))
        self._targets = apprise_targets(alerts)

    def update(self, checker: str, alarms: list[AlarmNotice], now: float | None = None) -> list:
        """Notices for what started, still holds past the repeat interval, or cleared since the
        last check of `checker`; returns the (state, alarm name) pairs sent."""
        now = now or time.time()
        sent = []
        current = {alarm.name: alarm for alarm in alarms}
        for alarm in alarms:
            state = self._redis.hgetall(self._key(checker, alarm.name))
            last_sent = float(state.get(b"last_sent", 0) or 0)
            if not state:
                sent.append(self._announce("started", alarm))
            elif now - last_sent >= self._alerts.repeat_minutes * 60:
                sent.append(self._announce("still holding", alarm))
            else:
                continue
            self._redis.hset(self._key(checker, alarm.name), mapping={"last_sent": now})
        for key in self._redis.scan_iter(match=self._key(checker, "*")):
            name = key.decode().rsplit(":", 1)[1]
            if name not in current:
                cleared = AlarmNotice(name, "no longer holds", pesan="sudah teratasi")
                sent.append(self._announce("cleared", cleared))
                self._redis.delete(key)
        return sent

    def send_test(self) -> dict[str, str]:
        """One test notice to every target; what each answered."""
        test = AlarmNotice("test", "a test alert from ./run.sh admin", pesan="uji peringatan")
        return self._deliver("test", test)

    def _announce(self, state: str, alarm: AlarmNotice) -> tuple[str, str]:
        self._deliver(state, alarm)
        return state, alarm.name

    def _deliver(self, state: str, alarm: AlarmNotice) -> dict[str, str]:
        subject = f"[Buat Film Pakai AI] ALARM {alarm.name} {state}"
        text = f"{subject}\n\n{alarm.message}\n"
        if alarm.pesan:
            text += f"{alarm.pesan}\n"
        if alarm.order_ids:
            text += f"Orders: {', '.join(alarm.order_ids)}\n"
        text += f"See {self._health_url}\n"
        results = {}
        if self._alerts.email_to:
            results["email"] = self._email(subject, text)
        kind = NOTICE_TYPES.get(state, apprise.NotifyType.FAILURE)
        for label, target in self._targets.items():
            results[label] = _notify(label, target, subject, text, kind)
        if not results:  # start-up warned already; the alarm itself is logged by the caller
            logger.warning("No alert target for ALARM {} ({})", alarm.name, state)
        return results

    def _email(self, subject: str, text: str) -> str:
        try:
            for address in self._alerts.email_to:
                alert_id = time.time_ns()  # a Message-ID of its own for each alert
                self._mailer.send(alert_id, address, subject, text, f"<pre>{_escape(text)}</pre>")
        except ProviderError as error:
            logger.error("Alert email failed: {}", error)
            return f"failed: {error}"
        return "sent"

    @staticmethod
    def _key(checker: str, name: str) -> str:
        return f"{STATE_PREFIX}{checker}:{name}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def active_alarm_names(redis_client: redis.Redis) -> set[str]:
    """The alarms holding at their checkers' last check, whichever process checked: the names
    whose started notice went out and whose cleared notice did not yet (for /metrics)."""
    keys = list(redis_client.scan_iter(match=f"{STATE_PREFIX}*"))
    with redis_client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.type(key)
        types = pipe.execute()
    # Other alarm bookkeeping (when a circuit opened) shares the prefix in plain string keys.
    return {
        _as_text(key).rsplit(":", 1)[1]
        for key, kind in zip(keys, types, strict=True)
        if _as_text(kind) == "hash"
    }


def _as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def webhook_as_apprise(webhook_url: str) -> str:
    """ALERT_WEBHOOK_URL as an Apprise json:// (jsons:// for https) URL posting the same
    Slack-compatible body, `{"text": ...}`: Apprise passes the webhook's own query on only when
    each name starts with `-`, and `:name=other` renames (or, empty, drops) a body field."""
    parts = urlsplit(webhook_url)
    scheme = "jsons" if parts.scheme == "https" else "json"
    query = [(f"-{name}", value) for name, value in parse_qsl(parts.query, keep_blank_values=True)]
    query += list(WEBHOOK_PAYLOAD.items())
    return f"{scheme}://{parts.netloc}{parts.path or '/'}?{urlencode(query)}"


def apprise_targets(alerts: AlertSettings) -> dict[str, apprise.plugins.NotifyBase]:
    """Each Apprise target by a label that holds no secret (`webhook`, `telegram 1`), with its
    socket timeouts bounded."""
    labelled = [(_label(number, url), url) for number, url in enumerate(alerts.urls, 1)]
    if alerts.webhook_url:
        labelled.append(("webhook", webhook_as_apprise(alerts.webhook_url)))
    targets = {}
    for label, url in labelled:
        target = apprise.Apprise.instantiate(url)
        if target is None:  # the settings checked ALERT_URLS; a mapped webhook always parses
            logger.error("Alert target {} is not an Apprise URL", label)
            continue
        target.socket_connect_timeout = min(target.socket_connect_timeout, CONNECT_SECONDS)
        target.socket_read_timeout = min(target.socket_read_timeout, READ_SECONDS)
        targets[label] = target
    return targets


def _label(number: int, url: str) -> str:
    return f"{url.partition('://')[0]} {number}"


def _notify(label: str, target, subject: str, text: str, kind) -> str:
    """One notice to one Apprise target; what it answered (Apprise logs the reason itself)."""
    try:
        sent = target.notify(body=text, title=subject, notify_type=kind)
    except Exception as error:  # noqa: BLE001 - a plugin's bug must not stop the other targets
        logger.error("Alert to {} failed: {}", label, type(error).__name__)
        return f"failed: {type(error).__name__}"
    if not sent:
        logger.error("Alert to {} failed (see the apprise log line before)", label)
        return "failed"
    logger.info("Alert sent to {}", label)
    return "sent"
