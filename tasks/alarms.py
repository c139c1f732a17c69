"""The periodic alarm check: every alarm that holds is logged at ERROR, where log-based alerting
(journald, Loki, a mail on ERROR) picks it up even when nobody watches /health."""

from __future__ import annotations

from loguru import logger

from messaging.contract import CHECK_ALARMS
from models.alarms import Alarm, current_alarms
from tasks.periodic import periodic_job
from tasks.services import services


@periodic_job(CHECK_ALARMS, time_limit_ms=60_000)
def check_alarms() -> list[dict]:
    """Logs each current alarm; returns them so a caller (or a test) can see what was raised."""
    alarms = current_alarms(services().settings.webhook_silence_alarm_minutes)
    for alarm in alarms:
        log_alarm(alarm)
    return [alarm.as_dict() for alarm in alarms]


def log_alarm(alarm: Alarm) -> None:
    logger.bind(alarm=alarm.name, count=alarm.count).error(
        "ALARM {}: {} (orders: {})", alarm.name, alarm.message, ", ".join(alarm.order_ids) or "-"
    )
