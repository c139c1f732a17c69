"""What the actors work with: the settings, Redis, the broker to send follow-up work on,
Midtrans and the delivery channels. Built once by tasks.startup.build_services(settings); each
actor receives them as its first argument and passes them down to its helpers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import redis
from dramatiq.brokers.redis import RedisBroker

from config.settings import DeliverySettings, Settings
from messaging.contract import NAMESPACE, ActorSpec
from messaging.redis import wake_deliveries
from models.delivery import DeliveryPolicy
from tasks.channels import Channels
from tasks.clients import GuardedMidtrans


@dataclass(frozen=True)
class WorkerServices:
    settings: Settings
    redis: redis.Redis
    broker: RedisBroker
    policy: DeliveryPolicy
    midtrans: GuardedMidtrans

    def send(self, spec: ActorSpec, *args, delay_ms: int | None = None) -> None:
        """Enqueues follow-up work by actor name (after commit: see models.db.transaction)."""
        self.broker.enqueue(spec.message(*args), delay=delay_ms)

    def wake_deliveries(self, outbox_ids: list[int]) -> None:
        """Wakes the delivery actor for new or requeued rows (after commit; the sweeper is the
        net when a wake-up is lost)."""
        wake_deliveries(self, outbox_ids)

    @cached_property
    def channels(self) -> Channels:
        """Email and WhatsApp for this policy (their breakers and rate limits depend on it)."""
        return Channels(self.settings, self.policy, self.redis, NAMESPACE)

    def with_policy(self, policy: DeliveryPolicy) -> WorkerServices:
        return dataclasses.replace(self, policy=policy)


def policy_from_settings(delivery: DeliverySettings) -> DeliveryPolicy:
    """The delivery policy: retry schedule, breaker and outbound limits from the settings."""
    return DeliveryPolicy(
        retry_schedule_seconds=delivery.retry_schedule_seconds,
        breaker_fail_max=delivery.breaker_fail_max,
        breaker_reset_seconds=float(delivery.breaker_reset_seconds),
        email_rate_per_second=delivery.email_rate_per_second,
        whatsapp_rate_per_second=delivery.whatsapp_rate_per_second,
        stuck_after_seconds=float(delivery.stuck_after_seconds),
        whatsapp_status_grace_seconds=float(delivery.whatsapp_status_grace_seconds),
        unpaid_messages_per_hour=delivery.unpaid_messages_per_hour,
    )
