"""The alarm check, every minute: each alarm is sent to the alarm targets (and logged at ERROR,
where log-based monitoring picks it up) when it starts, again while it holds and when it clears
(integrations/alarm_targets.py)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from loguru import logger

from integrations.alarm_targets import AlarmNotice, AlarmSender
from integrations.breaker import circuit_state
from messaging.contract import (
    CHECK_ALARMS,
    CIRCUITS,
    NAMESPACE,
    drill_result_key,
    last_backup_key,
    offsite_snapshot_key,
)
from models.alarms import Alarm, current_alarms, drill_failed, offsite_snapshot_overdue
from tasks.machine_alarms import machine_alarms
from tasks.periodic import periodic_job
from tasks.services import WorkerServices

BREAKER_OPEN_ALARM_SECONDS = 300


@periodic_job(CHECK_ALARMS, time_limit_ms=60_000)
def check_alarms(services: WorkerServices) -> list[dict]:
    """Logs each current alarm and sends it to the alarm targets; returns the alarms so a
    caller (or a test) sees them."""
    settings = services.settings
    last_backup = services.redis.get(last_backup_key())
    alarms = current_alarms(
        settings.webhook_silence_alarm_minutes,
        last_backup_at=datetime.fromtimestamp(int(last_backup), UTC) if last_backup else None,
        backups_required=not settings.uses_sandbox,
    )
    alarms += breakers_open_too_long(services.redis, time.time())
    if settings.offsite.enabled:
        alarms += offsite_alarms(services.redis, datetime.now(UTC))
    alarms += machine_alarms(settings.machine, settings.public_base_url, services.redis)
    sender = AlarmSender(settings.alerts, settings.smtp, settings.public_base_url, services.redis)
    by_name = {alarm.name: alarm for alarm in alarms}
    for state, name in sender.update("worker", [as_notice(alarm) for alarm in alarms]):
        alarm = by_name.get(name)
        detail = f"{alarm.message} (orders: {', '.join(alarm.order_ids) or '-'})" if alarm else ""
        logger.bind(alarm=name).error("ALARM {} {}: {}", name, state, detail)
    return [alarm.as_dict() for alarm in alarms]


def breakers_open_too_long(redis_client, now: float) -> list[Alarm]:
    """A provider's circuit open (or half-open) for over 5 minutes: an outage, a wrong key."""
    found = []
    for provider in CIRCUITS:
        state = circuit_state(redis_client, provider, NAMESPACE)
        since_key = f"{NAMESPACE}:alerts:breaker-open-since:{provider}"
        if state in (None, "closed"):
            redis_client.delete(since_key)
            continue
        redis_client.set(since_key, int(now), nx=True)
        since = int(redis_client.get(since_key) or now)
        if now - since > BREAKER_OPEN_ALARM_SECONDS:
            minutes = int((now - since) // 60)
            found.append(
                Alarm(
                    f"circuit_open_{provider}",
                    f"{provider} unreachable for {minutes} minutes",
                    1,
                    pesan=f"{provider} tidak dapat dihubungi selama {minutes} menit",
                )
            )
    return found


def offsite_alarms(redis_client, now: datetime) -> list[Alarm]:
    """The off-site copy too old, or the last restore drill failed (both recorded in Redis by
    `./run.sh admin backup` and `./run.sh admin drill`)."""
    newest = redis_client.get(offsite_snapshot_key())
    drill = redis_client.get(drill_result_key())
    found = (
        offsite_snapshot_overdue(now, datetime.fromtimestamp(int(newest), UTC) if newest else None),
        drill_failed(json.loads(drill) if drill else None),
    )
    return [alarm for alarm in found if alarm is not None]


def as_notice(alarm: Alarm) -> AlarmNotice:
    return AlarmNotice(alarm.name, alarm.message, tuple(alarm.order_ids), alarm.pesan)
