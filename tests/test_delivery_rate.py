"""A burst of deliveries leaves at the provider's configured rate, evenly spaced.

Measured on the provider's side: the sandbox stamps each mail and WhatsApp message when it
arrives. The limiter hands out slots exactly 1/rate apart; an arrival is its slot plus that
send's own latency, so arrivals k slots apart are at least k/rate apart, less how much one
send's latency can differ from another's (JITTER). Nothing here depends on how fast the
machine runs the whole burst.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import declared_actor, wait_for
from tests.notification_helpers import (
    another_customer,
    mails,
    queued_order,
    status_of,
    use_policy,
    whatsapp_messages,
)

BURST = 12
JITTER = 0.2  # seconds: one SMTP dialogue or HTTP call slower than another on a busy machine

CHANNELS = {
    "EMAIL": ("email_rate_per_second", 4, mails),
    "WHATSAPP": ("whatsapp_rate_per_second", 5, whatsapp_messages),
}


def deliver_all(outbox_ids: list[int]) -> None:
    deliver_notification = declared_actor("deliver_notification")

    for outbox_id in outbox_ids:
        deliver_notification.send(outbox_id)
    wait_for(
        lambda: all(status_of(outbox_id) == "SENT" for outbox_id in outbox_ids),
        timeout=30,
        message="the messages delivered",
    )


def arrivals(received: list[dict]) -> list[float]:
    """Seconds since the first arrival, in order, from the sandbox's own receive times."""
    times = sorted(datetime.fromisoformat(entry["received_at"]) for entry in received)
    return [(moment - times[0]).total_seconds() for moment in times]


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_burst_is_spaced_at_the_configured_rate(db, worker, sandbox_api, channel):
    setting, rate, received = CHANNELS[channel]
    spacing = 1 / rate
    use_policy(**{setting: rate})
    deliver_all([queued_order()[channel]])  # the first send also compiles templates, connects
    already_received = len(received(sandbox_api))
    outbox_ids = [queued_order(**another_customer(n))[channel] for n in range(BURST)]
    deliver_all(outbox_ids)

    times = arrivals(received(sandbox_api)[already_received:])
    assert len(times) == BURST
    too_close = [
        (first, later, round(times[later] - times[first], 3))
        for first in range(BURST)
        for later in range(first + 1, BURST)
        if times[later] - times[first] < (later - first) * spacing - JITTER
    ]
    assert too_close == [], f"arrivals closer than {rate}/s allows: {too_close}"
    # Four worker threads wait for their slots, so the limiter, not the workers, sets the pace:
    # 1/rate plus the 50 ms pyrate-limiter adds to each wait. The quickest four gaps in a row
    # show that pace even when the busy machine stalled a send elsewhere in the burst.
    quickest = min((times[first + 4] - times[first]) / 4 for first in range(BURST - 4))
    assert quickest < 1.5 * spacing, times
