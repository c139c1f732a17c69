"""How each channel sends an outbox row: render it, wait for an outbound slot, call the
provider through its circuit breaker. Built once per process (and per delivery policy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from config.settings import Settings
from integrations.email import SmtpMailer, smtp_config
from integrations.guard import ProviderGuard, provider_guard
from integrations.whatsapp import WhatsAppClient
from models.delivery import DeliveryPolicy
from models.messages import render_email, render_whatsapp
from models.outbox import OutboxMessage
from models.statuses import Channel


@dataclass(frozen=True)
class Sender:
    """One channel's provider: a way to turn a row into a send call, and its guard."""

    prepare: Callable[[OutboxMessage], Callable[[], str]]
    guard: ProviderGuard

    def deliver(self, row: OutboxMessage) -> str:
        """Sends the row; returns the provider's message id. Rendering errors come first, so
        a broken row never takes a rate slot or counts against the provider."""
        return self.guard.call(self.prepare(row))


class Channels:
    """EMAIL and WHATSAPP, wired from the settings and the delivery policy."""

    def __init__(
        self, settings: Settings, policy: DeliveryPolicy, redis_client: redis.Redis, namespace: str
    ) -> None:
        self._base_url = settings.public_base_url
        self._mailer = SmtpMailer(smtp_config(settings.smtp))
        self._whatsapp = WhatsAppClient(settings.whatsapp)
        self.by_name = {
            Channel.EMAIL: self._channel(
                "email",
                self._prepare_email,
                policy.email_rate_per_second,
                policy,
                redis_client,
                namespace,
            ),
            Channel.WHATSAPP: self._channel(
                "whatsapp",
                self._prepare_whatsapp,
                policy.whatsapp_rate_per_second,
                policy,
                redis_client,
                namespace,
            ),
        }

    @staticmethod
    def _channel(
        provider: str,
        prepare,
        per_second: int,
        policy: DeliveryPolicy,
        redis_client: redis.Redis,
        namespace: str,
    ) -> Sender:
        guard = provider_guard(
            redis_client,
            provider,
            fail_max=policy.breaker_fail_max,
            reset_seconds=policy.breaker_reset_seconds,
            per_second=per_second,
            namespace=namespace,
            rate_wait_seconds=policy.rate_wait_seconds,
        )
        return Sender(prepare, guard)

    def deliver(self, row: OutboxMessage) -> str:
        """Sends one claimed row on its channel; returns the provider's message id."""
        return self.by_name[row.channel].deliver(row)

    def _prepare_email(self, row: OutboxMessage) -> Callable[[], str]:
        content = render_email(row.template_name, row.payload, self._base_url)
        return lambda: self._mailer.send(
            row.id, row.recipient, content.subject, content.text, content.html
        )

    def _prepare_whatsapp(self, row: OutboxMessage) -> Callable[[], str]:
        content = render_whatsapp(row.template_name, row.payload, self._base_url)
        return lambda: self._whatsapp.send_template(
            row.recipient,
            content.template_name,
            list(content.parameters),
            content.language,
            callback_data=str(row.id),
        )
