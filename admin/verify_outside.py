"""`verify`'s checks of the outside world: the providers accept our credentials, the WhatsApp
templates are approved, a backup is recent and the alert targets answer. Every call has its own
timeout, so one silent provider costs seconds, not the whole check."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import quote

from admin.verify_target import Target
from config.logs import mask_email
from integrations.alarm_targets import AlarmSender
from integrations.email import SmtpMailer, smtp_config
from integrations.errors import PermanentProviderError, TransactionNotFound
from integrations.http import Client, Timeout, json_body, send
from integrations.midtrans import MidtransClient
from integrations.whatsapp import graph_error_text
from messaging.contract import last_backup_key
from models.alarms import BACKUP_MAX_AGE
from models.messages import WHATSAPP_LANGUAGE, whatsapp_templates

PROBE_SECONDS = 10.0
PROBE_TIMEOUT = Timeout.of(PROBE_SECONDS)


def check_midtrans_key(target: Target) -> tuple[bool, str]:
    """A made-up order: an accepted key gets 404 (no such transaction), a wrong one 401."""
    settings = target.settings
    client = MidtransClient(settings.midtrans, timeout=PROBE_TIMEOUT)
    try:
        client.transaction_status(f"VERIFY-KEY-{int(time.time())}")
    except TransactionNotFound:
        return True, "Status API answers 404 for a made-up order: the key is accepted"
    except PermanentProviderError as error:
        return False, f"key refused ({error}): check MIDTRANS_SERVER_KEY / MIDTRANS_IS_PRODUCTION"
    finally:
        client.close()
    return True, "Status API answered: the key is accepted"


def check_smtp_login(target: Target) -> tuple[bool, str]:
    settings = target.settings
    SmtpMailer(smtp_config(settings.smtp, timeout_seconds=PROBE_SECONDS)).check_login()
    who = f"logged in as {mask_email(settings.smtp.user)}" if settings.smtp.user else "no login"
    return True, f"{settings.smtp.host}:{settings.smtp.port} ({settings.smtp.tls}), {who}"


def _graph_get(target: Target, path: str, **params: str) -> tuple[int, dict]:
    settings = target.settings
    headers = {"Authorization": f"Bearer {settings.whatsapp.token}"}
    with Client(settings.whatsapp.api_url, headers, PROBE_TIMEOUT) as client:
        response = send(client, "GET", path, params=params)
    return response.status_code, json_body(response)


def _graph_refusal(status: int, body: dict) -> str:
    return f"HTTP {status}: {graph_error_text(body) or 'no error in the answer'}"


def check_whatsapp_token(target: Target) -> tuple[bool, str]:
    settings = target.settings
    number_id = quote(settings.whatsapp.phone_number_id, safe="")
    status, body = _graph_get(target, f"/{number_id}", fields="display_phone_number,verified_name")
    version = f"Graph API {settings.whatsapp.graph_api_version}"
    if status != 200:
        return False, f"token refused, {_graph_refusal(status, body)}; {version}"
    return True, f"valid for {body.get('verified_name', '?')}; {version}"


def check_whatsapp_templates(target: Target) -> tuple[bool, str]:
    """Each of our templates exists in Indonesian and is APPROVED in WhatsApp Manager."""
    account_id = target.settings.whatsapp.business_account_id
    if not account_id:
        return False, "set WHATSAPP_BUSINESS_ACCOUNT_ID to check the templates"
    path = f"/{quote(account_id, safe='')}/message_templates"
    status, body = _graph_get(target, path, fields="name,status,language", limit="250")
    if status != 200:
        return False, _graph_refusal(status, body)
    entries = body.get("data")
    if not isinstance(entries, list):
        return False, f"HTTP {status} without a template list: {str(body)[:200]}"
    found = {
        entry.get("name"): entry.get("status")
        for entry in entries
        if isinstance(entry, dict) and entry.get("language") == WHATSAPP_LANGUAGE
    }
    wanted = [mapping["name"] for mapping in whatsapp_templates().values()]
    wrong = [f"{name} {found.get(name) or 'MISSING'}" for name in wanted]
    wrong = [entry for entry in wrong if not entry.endswith(" APPROVED")]
    if wrong:
        return False, ", ".join(wrong)
    return True, f"{len(wanted)} templates APPROVED"


def check_backup_age(target: Target) -> tuple[bool, str]:
    last = target.redis_client.get(last_backup_key())
    if last is None:
        return False, "no backup recorded (./run.sh admin backup; deploy/ has the nightly timer)"
    age = timedelta(seconds=max(0, time.time() - int(last)))
    hours = f"{age.total_seconds() / 3600:.1f} h ago"
    if age > BACKUP_MAX_AGE:
        return False, f"last backup {hours} (over 26 h)"
    return True, f"last backup {hours}"


def check_alert_targets(target: Target) -> tuple[bool, str]:
    """A test alert to each target; a real shop with no target fails (nobody would hear)."""
    settings = target.settings
    if not settings.alerts.has_target:
        return settings.uses_sandbox, "no ALERT_URLS, ALERT_EMAIL_TO or ALERT_WEBHOOK_URL set"
    answers = AlarmSender(
        settings.alerts, settings.smtp, settings.public_base_url, target.redis_client
    ).send_test()
    detail = ", ".join(f"{channel} {answer}" for channel, answer in answers.items())
    return all(answer == "sent" for answer in answers.values()), f"test alert: {detail}"


OUTSIDE_CHECKS = (
    ("midtrans key", check_midtrans_key),
    ("smtp login", check_smtp_login),
    ("whatsapp token", check_whatsapp_token),
    ("whatsapp templates", check_whatsapp_templates),
    ("backup fresh", check_backup_age),
    ("alert targets answer", check_alert_targets),
)
