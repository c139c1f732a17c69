"""The console's buttons. The web never writes PostgreSQL: each button checks what it can by
reading, then queues an admin action by actor name that a worker carries out with the very
operation `./run.sh admin outbox|dead-letters|access` runs (tasks/operations/), audited as
`admin:web`. The answer
says "queued"; the outcome shows on the next view (the order page, and the recent actions list).
None of them touches an order's payment status."""

from __future__ import annotations

import falcon

from messaging.dead_letters import find_dead_letter, list_dead_letters
from models.access_corrections import GRANT, MAX_REASON_LENGTH, REVOKE
from models.entitlements import Entitlement
from models.order_rows import dead_letter_row
from models.orders import Order
from models.outbox import OutboxMessage
from models.statuses import AWAITING_PAYMENT, REQUEUEABLE, EntitlementStatus, OrderStatus
from web.admin.params import order_id_or_404
from web.queue import TaskQueue

ACTOR = "admin:web"


class ActionRefused(Exception):
    """The action cannot be done as asked; the message says why, for the operator."""

    http_status = falcon.HTTP_409


class NotFound(ActionRefused):
    http_status = falcon.HTTP_404


class BadInput(ActionRefused):
    http_status = falcon.HTTP_422


_CHECKED = ("on", "true", "1", "yes", "ya")  # a ticked checkbox, or the JSON twin's spelling


def _outbox_row(outbox_id: int) -> OutboxMessage:
    row = OutboxMessage.get_or_none(OutboxMessage.id == outbox_id)
    if row is None:
        raise NotFound(f"Baris kotak keluar {outbox_id} tidak ada")
    return row


def _reason(form: dict) -> str:
    reason = " ".join(form.get("reason", "").split())
    if not reason:
        raise BadInput("Alasan wajib diisi (dicatat di log audit)")
    if len(reason) > MAX_REASON_LENGTH:
        raise BadInput(f"Alasan paling panjang {MAX_REASON_LENGTH} karakter")
    return reason


def _order_access(order_id: str) -> tuple[Order, bool]:
    """The order and whether its access is active now."""
    try:
        order_id_or_404(order_id)  # an id no order can have never reaches the database
    except falcon.HTTPNotFound:
        raise NotFound(f"Pesanan {order_id} tidak ada") from None
    order = Order.get_or_none(Order.order_id == order_id)
    if order is None:
        raise NotFound(f"Pesanan {order_id} tidak ada")
    entitlement = Entitlement.get_or_none(Entitlement.order == order_id)
    return order, entitlement is not None and entitlement.status == EntitlementStatus.ACTIVE


def _queued(message: str) -> dict:
    return {"ok": True, "queued": True, "message": f"Diantrekan: {message}"}


class ConsoleActions:
    """The buttons, sending through the web's own queue (Redis down -> 503)."""

    def __init__(self, queue: TaskQueue) -> None:
        self._queue = queue

    def resend_outbox_message(self, outbox_id: int) -> dict:
        """The row's message again, same channel, as a new row pointing at the original."""
        row = _outbox_row(outbox_id)
        self._queue.request_resend(row.order_id, row.template_name, [row.channel], ACTOR)
        return _queued(
            f"{row.channel} {row.template_name} untuk pesanan {row.order_id} akan dikirim lagi "
            "sebagai baris kotak keluar baru; tampil di halaman pesanan."
        )

    def requeue_outbox_message(self, outbox_id: int) -> dict:
        """A DLQ or FAILED row gets a fresh round of attempts."""
        row = _outbox_row(outbox_id)
        if row.status not in REQUEUEABLE:
            raise ActionRefused(
                f"Baris kotak keluar {outbox_id} berstatus {row.status}; "
                "hanya baris DLQ atau FAILED yang bisa diantrekan ulang."
            )
        self._queue.request_outbox_requeue(outbox_id, ACTOR)
        return _queued(f"baris kotak keluar {outbox_id} dikirim ulang.")

    def revoke_access(self, order_id: str, form: dict) -> dict:
        """Ends the order's access (the payment status stays as Midtrans reported it)."""
        reason = _reason(form)
        _, active = _order_access(order_id)
        if not active:
            raise ActionRefused(
                f"Pesanan {order_id} tidak punya akses aktif; tidak ada yang diubah."
            )
        self._queue.request_access_correction(order_id, REVOKE, reason, False, ACTOR)
        return _queued(f"akses pesanan {order_id} dicabut; pelanggan diberi tahu.")

    def grant_access(self, order_id: str, form: dict) -> dict:
        """Gives the order access; an order Midtrans has not reported paid needs the box ticked
        that says the payment was made elsewhere."""
        reason = _reason(form)
        despite_status = form.get("despite_status", "").strip().lower() in _CHECKED
        order, active = _order_access(order_id)
        if active:
            raise ActionRefused(f"Pesanan {order_id} sudah punya akses; tidak ada yang diubah.")
        if order.status in AWAITING_PAYMENT:
            raise ActionRefused(
                f"Pesanan {order_id} masih menunggu pembayaran (status {order.status}): tunggu "
                "laporan Midtrans, atau batalkan pembayarannya dulu. 'Meski status belum lunas' "
                "hanya untuk pesanan FAILED, EXPIRED, atau REFUNDED."
            )
        if order.status != OrderStatus.PAID and not despite_status:
            raise ActionRefused(
                f"Midtrans belum melaporkan pesanan {order_id} lunas (status {order.status}); "
                "centang 'meski status belum lunas' untuk pembayaran di luar Midtrans."
            )
        self._queue.request_access_correction(order_id, GRANT, reason, despite_status, ACTOR)
        return _queued(f"akses pesanan {order_id} dibuka; pelanggan diberi tahu.")

    def listed_dead_letters(self) -> list[dict]:
        return [dead_letter_row(letter) for letter in list_dead_letters(self._queue.broker)]

    def requeue_dead_letter(self, message_id: str) -> dict:
        """The message leaves its dead-letter queue and is enqueued afresh, by a worker."""
        letter = find_dead_letter(self._queue.broker, message_id)
        if letter is None:
            raise NotFound(f"Pesan gagal {message_id} tidak ada")
        self._queue.request_dead_letter_requeue(letter.message_id, ACTOR)
        return _queued(
            f"pesan {letter.message.actor_name} {letter.message_id} di antrean {letter.queue_name}."
        )
