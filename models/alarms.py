"""Alarms the operator can act on, computed from the database by one function that /health,
the admin console and the periodic alarm actor all call, so they never disagree."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from peewee import SQL, fn

from models.audit import AuditEntry
from models.base import utcnow
from models.delivery import BUDGET_WINDOW, HELD
from models.entitlements import Entitlement
from models.events import EventSource, PaymentEvent
from models.orders import Order
from models.outbox import OutboxMessage
from models.parked import parked_events, parked_orders
from models.statuses import (
    AWAITING_PAYMENT,
    CHANNELS,
    REQUEUEABLE,
    OrderStatus,
    OutboxStatus,
)
from models.wib import wib_text

ACCESS_GRACE = timedelta(minutes=5)
SNAP_WINDOW = timedelta(hours=1)
BACKUP_MAX_AGE = timedelta(hours=26)
FLAG_WINDOW = timedelta(hours=24)
PROBE_ORDER_PREFIX = "VERIFY-"  # `admin verify` sends these; flagged as unknown by design
EXAMPLE_LIMIT = 10


@dataclass(frozen=True)
class Alarm:
    """One condition that needs a person; `order_ids` holds a few examples, never personal data.
    `message` (English, UTC) goes to /health, logs and alerts, which monitoring reads and which
    must not change; `pesan` says the same in Indonesian with times in WIB, for the console and
    beside `message` in the owner's alerts."""

    name: str
    message: str
    count: int
    order_ids: list[str] = field(default_factory=list)
    pesan: str = ""

    def as_dict(self) -> dict:
        """The alarm as /health and the alarm check report it (without `pesan`)."""
        report = asdict(self)
        del report["pesan"]
        return report


def paid_without_access(now: datetime) -> Alarm | None:
    """PAID for more than ACCESS_GRACE but access never granted (no entitlement row, as the
    sweeper's repair reads it): the customer paid for nothing. A REVOKED entitlement is access
    ended on purpose (owner's revoke, erasure, void), which keeps the order PAID: no alarm."""
    granted = Entitlement.select(Entitlement.order)
    query = Order.select(Order.order_id).where(
        (Order.status == OrderStatus.PAID)
        & (Order.paid_at < now - ACCESS_GRACE)
        & Order.order_id.not_in(granted)
    )
    count = query.count()
    if not count:
        return None
    examples = [order.order_id for order in query.order_by(Order.paid_at).limit(EXAMPLE_LIMIT)]
    return Alarm(
        "paid_without_access",
        f"{count} paid order(s) without active course access for over 5 minutes",
        count,
        examples,
        pesan=f"{count} pesanan sudah dibayar tetapi lebih dari 5 menit belum mendapat akses "
        "kursus",
    )


def undelivered_messages(channel: str) -> Alarm | None:
    """Customer messages on one channel that will not go out without an operator (FAILED: a
    permanent error such as a revoked token; DLQ: retries exhausted), with the commonest
    reason. One alarm per channel, so an alarm about email can still go out by webhook."""
    query = OutboxMessage.select(OutboxMessage.order, OutboxMessage.last_error).where(
        (OutboxMessage.channel == channel) & OutboxMessage.status.in_(REQUEUEABLE)
    )
    count = query.count()
    if not count:
        return None
    reasons = Counter((row.last_error or "no reason recorded")[:200] for row in query.limit(200))
    reason, _ = reasons.most_common(1)[0]
    return Alarm(
        f"undelivered_{channel.lower()}",
        f"{count} {channel} message(s) FAILED or in DLQ, most with: {reason} (fix the cause, "
        "then requeue them)",
        count,
        sorted({row.order_id for row in query.limit(EXAMPLE_LIMIT)}),
        pesan=f"{count} pesan {channel} GAGAL atau di DLQ, kebanyakan karena: {reason} "
        "(perbaiki penyebabnya, lalu antrekan ulang)",
    )


def unpaid_messages_held(now: datetime) -> Alarm | None:
    """The shop-wide hourly budget of unpaid-order messages was reached within the last hour:
    someone may be typing strangers' contacts into the checkout; genuine customers' payment
    instructions wait too."""
    held = OutboxMessage.select(OutboxMessage.order).where(
        (OutboxMessage.status == OutboxStatus.FAILED)
        & (OutboxMessage.last_error == HELD)
        & (OutboxMessage.updated_at >= now - BUDGET_WINDOW)
    )
    count = held.count()
    if not count:
        return None
    return Alarm(
        "unpaid_messages_held",
        f"the hourly budget of unpaid-order messages (UNPAID_MESSAGES_PER_HOUR) was reached: "
        f"{count} message(s) held in the last hour; check whether the checkouts are genuine, "
        "then requeue those that are",
        count,
        sorted({row.order_id for row in held.limit(EXAMPLE_LIMIT)}),
        pesan=f"batas pesan per jam untuk pesanan yang belum dibayar (UNPAID_MESSAGES_PER_HOUR) "
        f"tercapai: {count} pesan ditahan dalam satu jam terakhir; periksa apakah pesanan itu "
        "asli, lalu antrekan ulang yang asli",
    )


def snap_refusals(now: datetime) -> Alarm | None:
    """Snap refused orders lately: a wrong server key or a broken request fails every order."""
    refused = AuditEntry.select(AuditEntry.order_id).where(
        (AuditEntry.action == "snap_refused") & (AuditEntry.occurred_at >= now - SNAP_WINDOW)
    )
    count = refused.count()
    if not count:
        return None
    return Alarm(
        "snap_refusals",
        f"Snap refused {count} order(s) in the last hour: check MIDTRANS_SERVER_KEY and the "
        "order's failure_reason",
        count,
        [entry.order_id for entry in refused.limit(EXAMPLE_LIMIT)],
        pesan=f"Snap menolak {count} pesanan dalam satu jam terakhir: periksa MIDTRANS_SERVER_KEY "
        "dan failure_reason pesanan itu",
    )


def backup_overdue(now: datetime, last: datetime | None, required: bool) -> Alarm | None:
    """The last backup is older than BACKUP_MAX_AGE; with no backup ever, only when backups
    are `required` (a real shop)."""
    if last is None and not required:
        return None
    return _too_old(now, last, "backup_overdue", ("backup", "cadangan"))


def offsite_snapshot_overdue(now: datetime, newest: datetime | None) -> Alarm | None:
    """With RESTIC_REPOSITORY set: the newest off-site snapshot is older than BACKUP_MAX_AGE (the
    machine's own copy dies with the machine)."""
    words = ("off-site backup snapshot", "cadangan di luar server")
    return _too_old(now, newest, "offsite_backup_overdue", words)


def _too_old(
    now: datetime, last: datetime | None, name: str, what: tuple[str, str]
) -> Alarm | None:
    """`what` (English, Indonesian) last happened over BACKUP_MAX_AGE ago, or never."""
    if last is not None and now - last < BACKUP_MAX_AGE:
        return None
    since = last.isoformat() if last else "never"
    return Alarm(
        name,
        f"no {what[0]} for over 26 hours (last: {since})",
        1,
        pesan=f"tidak ada {what[1]} lebih dari 26 jam (terakhir: "
        f"{wib_text(last) or 'belum pernah'})",
    )


def drill_failed(report: dict | None) -> Alarm | None:
    """The last restore drill (`./run.sh admin drill`) could not restore and verify the newest
    off-site snapshot: the backups may not bring the shop back."""
    if not report or report.get("ok"):
        return None
    error = str(report.get("error") or "see `./run.sh admin drill`")[:300]
    return Alarm(
        "backup_drill_failed",
        f"the restore drill of {report.get('at', '?')} failed: {error}",
        1,
        pesan=f"uji pemulihan cadangan {wib_text(report.get('at')) or ''} gagal: {error}",
    )


def parked_work() -> Alarm | None:
    """Orders without a payment link or notifications the sweeper stopped retrying."""
    orders = [order.order_id for order in parked_orders().limit(EXAMPLE_LIMIT)]
    events = [event.order_id for event in parked_events().limit(EXAMPLE_LIMIT)]
    count = parked_orders().count() + parked_events().count()
    if not count:
        return None
    return Alarm(
        "parked_work",
        f"{count} item(s) the sweeper gave up on: fix the cause (see `./run.sh admin "
        "dead-letters list`), then `./run.sh admin dead-letters requeue --parked`",
        count,
        sorted(set(orders + events))[:EXAMPLE_LIMIT],
        pesan=f"{count} item tidak dicoba lagi oleh penyapu: perbaiki penyebabnya (lihat `./run.sh "
        "admin dead-letters list`), lalu `./run.sh admin dead-letters requeue --parked`",
    )


def last_webhook_at() -> datetime | None:
    """When Midtrans last reached us (reconciliation results do not count)."""
    return (
        PaymentEvent.select(fn.MAX(PaymentEvent.received_at))
        .where(PaymentEvent.source == EventSource.WEBHOOK)
        .scalar()
    )


def webhook_silence(now: datetime, silence: timedelta) -> Alarm | None:
    """Orders have awaited payment longer than `silence` and no webhook came in that time:
    the notification URL, TLS or a proxy in front of it is probably broken."""
    last_received = last_webhook_at()
    if last_received is not None and now - last_received < silence:
        return None
    waiting = Order.select(Order.order_id).where(
        (Order.status == OrderStatus.PENDING_PAYMENT) & (Order.created_at < now - silence)
    )
    count = waiting.count()
    if not count:
        return None
    since = last_received.isoformat() if last_received else "never"
    minutes = int(silence.total_seconds() // 60)
    examples = [order.order_id for order in waiting.order_by(Order.created_at).limit(EXAMPLE_LIMIT)]
    return Alarm(
        "webhook_silence",
        f"no Midtrans webhook for over {minutes} minutes (last: {since}) while {count} order(s) "
        "await payment",
        count,
        examples,
        pesan=f"tidak ada webhook Midtrans lebih dari {minutes} menit (terakhir: "
        f"{wib_text(last_received) or 'belum pernah'}) sementara {count} pesanan menunggu "
        "pembayaran",
    )


def _flagged_order_ids(now: datetime):
    """Order ids of payment events and audit entries flagged within FLAG_WINDOW, each once,
    readiness probes left out; an entry without an order id counts under the empty id."""
    since = now - FLAG_WINDOW
    events = PaymentEvent.select(PaymentEvent.order_id).where(
        PaymentEvent.flag_reason.is_null(False)
        & (PaymentEvent.received_at >= since)
        & ~PaymentEvent.order_id.startswith(PROBE_ORDER_PREFIX)
    )
    audited_order_id = fn.COALESCE(AuditEntry.order_id, "")
    audited = AuditEntry.select(audited_order_id.alias("order_id")).where(
        AuditEntry.flagged
        & (AuditEntry.occurred_at >= since)
        & ~audited_order_id.startswith(PROBE_ORDER_PREFIX)
    )
    return events | audited  # UNION drops the repeats


def flagged_payments(now: datetime) -> Alarm | None:
    """Something about a payment needs a person: an amount that did not match (the customer
    may have paid without getting access), a late settlement, a notification for an unknown
    order, a legacy row with a wrong amount."""
    flagged = _flagged_order_ids(now)
    count = flagged.count()
    if not count:
        return None
    examples = [row.order_id for row in flagged.order_by(SQL("1")).limit(EXAMPLE_LIMIT)]
    return Alarm(
        "flagged_payments",
        f"{count} order(s) with a payment flagged in the last 24 hours: open each one and check "
        "what the customer paid against what they got",
        count,
        [order_id for order_id in examples if order_id],
        pesan=f"{count} pesanan dengan pembayaran ditandai dalam 24 jam terakhir: buka satu per "
        "satu dan cocokkan yang dibayar pelanggan dengan yang mereka terima",
    )


def payment_challenged() -> Alarm | None:
    """A card payment Midtrans holds for review (capture with fraud_status challenge) and nobody
    decided yet: unless approved it is cancelled at settlement
    (https://docs.midtrans.com/reference/approve-transaction). Raised while it is the order's
    latest report and the order awaits payment: approved, denied, cancelled or settled ends it."""
    awaiting = Order.select(Order.order_id).where(Order.status.in_(AWAITING_PAYMENT))
    latest = (
        PaymentEvent.select(fn.MAX(PaymentEvent.id))
        .where(PaymentEvent.order_id.in_(awaiting))
        .group_by(PaymentEvent.order_id)
    )
    held = PaymentEvent.select(PaymentEvent.order_id).where(
        PaymentEvent.id.in_(latest)
        & (PaymentEvent.verified_status == "capture")
        & (PaymentEvent.fraud_status == "challenge")
    )
    count = held.count()
    if not count:
        return None
    examples = [row.order_id for row in held.order_by(PaymentEvent.id).limit(EXAMPLE_LIMIT)]
    return Alarm(
        "payment_challenged",
        f"{count} card payment(s) held by Midtrans for review (fraud challenge): approve or deny "
        "each (./run.sh admin challenge approve|deny ORDER --reason ..., or the order page), "
        "or Midtrans cancels it at settlement",
        count,
        examples,
        pesan=f"{count} pembayaran kartu ditahan Midtrans untuk ditinjau (challenge): setujui atau "
        "tolak di halaman pesanan, atau Midtrans membatalkannya saat settlement",
    )


def current_alarms(
    webhook_silence_minutes: int,
    now: datetime | None = None,
    last_backup_at: datetime | None = None,
    backups_required: bool = False,
) -> list[Alarm]:
    """Every alarm the database shows right now; needs an open database connection."""
    now = now or utcnow()
    found = (
        paid_without_access(now),
        *(undelivered_messages(channel) for channel in CHANNELS),
        unpaid_messages_held(now),
        snap_refusals(now),
        backup_overdue(now, last_backup_at, backups_required),
        parked_work(),
        webhook_silence(now, timedelta(minutes=webhook_silence_minutes)),
        flagged_payments(now),
        payment_challenged(),
    )
    return [alarm for alarm in found if alarm is not None]
