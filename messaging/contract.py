"""The contract between the web, the scheduler, the admin CLI and the workers.

Queue names, actor names with the shape of their arguments, and the Redis keys more than one
process reads or writes. Senders build messages here by actor name; the worker declares its
actors with these same specs (tasks/broker.py), and a test checks the two agree. Importing this
module defines things and does nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq

NAMESPACE = "dramatiq"

PAYMENTS_QUEUE = "payments"
WEBHOOKS_QUEUE = "webhooks"
DELIVERY_QUEUE = "notifications"  # the name operators scale with `-Q notifications`
MAINTENANCE_QUEUE = "maintenance"
QUEUES = (PAYMENTS_QUEUE, WEBHOOKS_QUEUE, DELIVERY_QUEUE, MAINTENANCE_QUEUE)

# The providers' circuit breakers, whose state the workers write to Redis and the web's /metrics
# and the alarm check read. Snap (app.midtrans.com) and the Status API (api.midtrans.com) are
# separate services with separate circuits: a Snap outage must not stop payments being verified.
SNAP_CIRCUIT = "midtrans_snap"
STATUS_API_CIRCUIT = "midtrans_status"
CIRCUITS = (SNAP_CIRCUIT, STATUS_API_CIRCUIT, "email", "whatsapp")


@dataclass(frozen=True)
class ActorSpec:
    """One actor as senders see it: its name, its queue and what its arguments hold."""

    name: str
    queue: str
    arguments: str

    def message(self, *args) -> dramatiq.Message:
        """A message for this actor; the broker that enqueues it gives it its id and options."""
        return dramatiq.Message(
            queue_name=self.queue, actor_name=self.name, args=args, kwargs={}, options={}
        )


CREATE_PAYMENT = ActorSpec(
    "create_payment",
    PAYMENTS_QUEUE,
    "order_request: {order_id, order_token_hash, package_id, name, email, phone, discount_code}",
)
PROCESS_NOTIFICATION = ActorSpec(
    "process_notification", WEBHOOKS_QUEUE, "raw: the Midtrans notification body as received"
)
PROCESS_WHATSAPP_STATUSES = ActorSpec(
    "process_whatsapp_statuses",
    WEBHOOKS_QUEUE,
    "callback: Meta's WhatsApp status callback body as received (signature checked)",
)
PROCESS_STORED_EVENT = ActorSpec(
    "process_stored_event", WEBHOOKS_QUEUE, "event_id: a payment_events row id"
)
RECONCILE_ORDER = ActorSpec("reconcile_order", MAINTENANCE_QUEUE, "order_id")
VERIFY_LEGACY_ORDER = ActorSpec("verify_legacy_order", MAINTENANCE_QUEUE, "order_id")
DELIVER_MESSAGE = ActorSpec(
    "deliver_notification", DELIVERY_QUEUE, "outbox_id: a notification_outbox row id"
)
REQUEUE_OUTBOX_ROW = ActorSpec(
    "requeue_outbox_row", MAINTENANCE_QUEUE, "outbox_id, operator: who asked (audited)"
)
RESEND_MESSAGE = ActorSpec(
    "resend_message", MAINTENANCE_QUEUE, "order_id, template_name, channels: list, operator"
)
REQUEUE_DEAD_LETTER = ActorSpec(
    "requeue_dead_letter", MAINTENANCE_QUEUE, "message_id: a Dramatiq message id, operator"
)
CORRECT_ACCESS = ActorSpec(
    "correct_access",
    MAINTENANCE_QUEUE,
    "order_id, action: revoke or grant, reason, despite_status: bool, operator",
)
SET_PACKAGE_PRICE = ActorSpec(
    "set_package_price", MAINTENANCE_QUEUE, "package_id, price_idr: whole rupiah, operator"
)
CREATE_DISCOUNT = ActorSpec(
    "create_discount",
    MAINTENANCE_QUEUE,
    "new: {code, percent_off, amount_off, package_id, valid_from, valid_until (ISO or null), "
    "max_uses}, operator",
)
DISABLE_DISCOUNT = ActorSpec("disable_discount", MAINTENANCE_QUEUE, "code, operator")
REFUND_ORDER = ActorSpec(
    "refund_order", MAINTENANCE_QUEUE, "order_id, reason, amount: rupiah or None (all), operator"
)
DECIDE_CHALLENGE = ActorSpec(
    "decide_challenge", MAINTENANCE_QUEUE, "order_id, decision: approve or deny, reason, operator"
)
CANCEL_PAYMENT = ActorSpec("cancel_payment", MAINTENANCE_QUEUE, "order_id, reason, operator")
SEND_ACCESS_LINK = ActorSpec(
    "send_access_link",
    DELIVERY_QUEUE,
    "request: {channel: EMAIL or WHATSAPP, contact: the normalised email or E.164 number}",
)
SWEEP = ActorSpec("sweep", MAINTENANCE_QUEUE, "none")
RECONCILE = ActorSpec("reconcile", MAINTENANCE_QUEUE, "none")
CHECK_ALARMS = ActorSpec("check_alarms", MAINTENANCE_QUEUE, "none")

ACTORS = (
    CREATE_PAYMENT,
    PROCESS_NOTIFICATION,
    PROCESS_WHATSAPP_STATUSES,
    PROCESS_STORED_EVENT,
    RECONCILE_ORDER,
    VERIFY_LEGACY_ORDER,
    DELIVER_MESSAGE,
    REQUEUE_OUTBOX_ROW,
    RESEND_MESSAGE,
    REQUEUE_DEAD_LETTER,
    CORRECT_ACCESS,
    SET_PACKAGE_PRICE,
    CREATE_DISCOUNT,
    DISABLE_DISCOUNT,
    REFUND_ORDER,
    DECIDE_CHALLENGE,
    CANCEL_PAYMENT,
    SEND_ACCESS_LINK,
    SWEEP,
    RECONCILE,
    CHECK_ALARMS,
)

# The periodic jobs the scheduler sends, each at most once per period (seconds).
PERIODIC_JOBS = ((SWEEP, 30), (RECONCILE, 60), (CHECK_ALARMS, 60))

# A worker's heartbeat key lives this long after its last beat (one beat every third of it): a
# killed worker leaves /health within 15 s; a cleanly stopped one deletes its key at once.
HEARTBEAT_TTL_SECONDS = 15


# Redis keys shared between processes.
def pending_checkout_key(order_id: str) -> str:
    """Set by the web when it enqueues a checkout, so the status page answers "processing"."""
    return f"checkout:pending:{order_id}"


def worker_heartbeat_prefix() -> str:
    """Each live worker process refreshes `{prefix}{host}:{pid}`; the key expires when it dies."""
    return f"{NAMESPACE}:heartbeat:worker:"


def scheduler_heartbeat_key() -> str:
    return f"{NAMESPACE}:heartbeat:scheduler"


def scheduler_claim_key(job_name: str) -> str:
    """Claims one period of a job, so two schedulers never send it twice."""
    return f"{NAMESPACE}:scheduler:claim:{job_name}"


def sweep_claim_key(kind: str, item_id: object) -> str:
    """The sweeper wakes one stuck item at most once per claim's lifetime."""
    return f"{NAMESPACE}:sweep:{kind}:{item_id}"


def last_backup_key() -> str:
    """When the last `./run.sh admin backup` succeeded (Unix time), for the backup alarm."""
    return f"{NAMESPACE}:backup:last-success"


def offsite_snapshot_key() -> str:
    """When the newest off-site (restic) snapshot was taken (Unix time), seen by the last
    `admin backup` or `admin drill`, for the off-site alarm."""
    return f"{NAMESPACE}:backup:offsite-newest"


def drill_result_key() -> str:
    """The last `./run.sh admin drill` report (JSON: ok, at, snapshot, error), for its alarm."""
    return f"{NAMESPACE}:backup:drill"


def dead_letter_set_key(queue_name: str) -> str:
    """Dramatiq's dead-letter zset for a queue (score: when the message died, in ms); the
    encoded messages sit in the hash of the same name plus `.msgs`."""
    return f"{NAMESPACE}:{queue_name}.XQ"


def delivery_receipt_key(outbox_id: int) -> str:
    """The provider's id for a message it accepted, kept until PostgreSQL has it too."""
    return f"{NAMESPACE}:delivery-receipt:{outbox_id}"


DELIVERY_RECEIPT_TTL_SECONDS = 30 * 86_400  # as long as a dead letter may wait to be requeued


DEAD_LETTER_TTL_MS = 30 * 86_400_000  # 30 days to notice and requeue (Dramatiq's default: 7)


def dead_letter_error_key(message_id: str) -> str:
    """The error that killed a message (Dramatiq does not keep it); it expires with the letter,
    so nothing piles up on a Redis that never evicts."""
    return f"{NAMESPACE}:dead-letter-error:{message_id}"
