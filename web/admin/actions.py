"""The console's buttons. The web never writes PostgreSQL: each button checks what it can by
reading, then queues an admin action by actor name that a worker carries out with the very
operation `./run.sh admin outbox|dead-letters|access|packages|discounts` runs
(tasks/operations/), audited as `admin:web`. The answer says "queued"; the outcome shows on
the next view (the order page, and the recent actions list). None of them touches an order's
payment status."""

from __future__ import annotations

import falcon

from messaging.dead_letters import find_dead_letter, list_dead_letters
from models.access_corrections import GRANT, MAX_REASON_LENGTH, REVOKE
from models.catalog import DiscountCode, Package
from models.entitlements import Entitlement
from models.order_rows import dead_letter_row
from models.orders import Order
from models.outbox import OutboxMessage
from models.pricing import format_idr
from models.refunds import MANUAL_REFUND_METHODS, paid_with
from models.statuses import AWAITING_PAYMENT, REQUEUEABLE, EntitlementStatus, OrderStatus
from web.admin.catalog_forms import FormProblem, new_discount, price_field, rupiah_field
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


MANUAL_REFUND_TEXT = (
    "Pembayaran lewat virtual account atau gerai (Indomaret/Alfamart) tidak bisa dikembalikan "
    "lewat Midtrans. Caranya: 1) minta nomor rekening pelanggan (bank, nomor, nama); "
    "2) transfer jumlahnya dari rekening toko; 3) cabut aksesnya di bawah dengan alasan "
    "'dana dikembalikan lewat transfer'."
)


def _rupiah(text: str) -> int | None:
    """An optional amount of rupiah, read as the price and discount forms read it."""
    try:
        amount = rupiah_field({"amount": text}, "amount", "Jumlah")
    except FormProblem as problem:
        raise BadInput(str(problem)) from None
    if amount == 0:
        raise BadInput("Jumlah harus lebih dari Rp 0")
    return amount


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

    def refund(self, order_id: str, form: dict) -> dict:
        """Asks Midtrans to refund a paid order (all, or `amount` rupiah); a virtual account or
        store payment is refused here with the manual way."""
        reason = _reason(form)
        amount = _rupiah(form.get("amount", ""))
        order, _ = _order_access(order_id)
        if order.status != OrderStatus.PAID:
            raise ActionRefused(f"Pesanan {order_id} berstatus {order.status}; hanya pesanan "
                                "lunas yang bisa dikembalikan dananya.")  # fmt: skip
        if paid_with(order_id) in MANUAL_REFUND_METHODS:
            raise ActionRefused(MANUAL_REFUND_TEXT)
        self._queue.request_refund(order_id, reason, amount, ACTOR)
        return _queued(f"pengembalian dana pesanan {order_id} diminta ke Midtrans; status "
                       "berubah setelah Midtrans mengonfirmasi.")  # fmt: skip

    def approve_challenge(self, order_id: str, form: dict) -> dict:
        return self._decide_challenge(order_id, "approve", form)

    def deny_challenge(self, order_id: str, form: dict) -> dict:
        return self._decide_challenge(order_id, "deny", form)

    def _decide_challenge(self, order_id: str, decision: str, form: dict) -> dict:
        """A card payment Midtrans holds for review: approve or deny it at Midtrans."""
        reason = _reason(form)
        self._awaiting(order_id)
        self._queue.request_challenge_decision(order_id, decision, reason, ACTOR)
        word = "disetujui" if decision == "approve" else "ditolak"
        return _queued(f"pembayaran kartu pesanan {order_id} {word} di Midtrans; status "
                       "berubah setelah Midtrans mengonfirmasi.")  # fmt: skip

    def cancel_payment(self, order_id: str, form: dict) -> dict:
        """Ends a payment still open at Midtrans (a VA, QRIS or store code, a held card)."""
        reason = _reason(form)
        self._awaiting(order_id)
        self._queue.request_cancel(order_id, reason, ACTOR)
        return _queued(f"pembayaran pesanan {order_id} dibatalkan di Midtrans; status "
                       "berubah setelah Midtrans mengonfirmasi.")  # fmt: skip

    @staticmethod
    def _awaiting(order_id: str) -> None:
        order, _ = _order_access(order_id)
        if order.status not in AWAITING_PAYMENT:
            raise ActionRefused(f"Pesanan {order_id} berstatus {order.status}; hanya pesanan "
                                "yang menunggu pembayaran yang bisa diubah.")  # fmt: skip

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

    def set_price(self, package_id: str, form: dict) -> dict:
        """The package's price for orders made from now on (orders made already keep theirs)."""
        price = _checked(price_field, form)
        package = Package.get_or_none(Package.package_id == package_id)
        if package is None:
            raise NotFound(f"Paket {package_id} tidak ada")
        if package.price_idr == price:
            raise ActionRefused(
                f"Harga {package_id} sudah {format_idr(price)}; tidak ada yang diubah."
            )
        self._queue.request_price_change(package_id, price, ACTOR)
        return _queued(f"harga {package_id} menjadi {format_idr(price)} untuk pesanan baru.")

    def create_discount(self, form: dict) -> dict:
        new = _checked(new_discount, form)
        if new.package_id and Package.get_or_none(Package.package_id == new.package_id) is None:
            raise BadInput(f"Paket {new.package_id} tidak ada")
        if DiscountCode.get_or_none(DiscountCode.code == new.code) is not None:
            raise ActionRefused(f"Kode {new.code} sudah ada; tidak ada yang diubah.")
        self._queue.request_discount_creation(new.as_message(), ACTOR)
        return _queued(f"kode diskon {new.code} dibuat.")

    def disable_discount(self, code: str) -> dict:
        code = code.upper()
        discount = DiscountCode.get_or_none(DiscountCode.code == code)
        if discount is None:
            raise NotFound(f"Kode diskon {code} tidak ada")
        if not discount.active:
            raise ActionRefused(f"Kode {code} sudah nonaktif; tidak ada yang diubah.")
        self._queue.request_discount_disable(code, ACTOR)
        return _queued(f"kode diskon {code} dinonaktifkan.")


def _checked(read, form: dict):
    """The form's value as `read` makes it, or a 422 saying what to correct."""
    try:
        return read(form)
    except FormProblem as problem:
        raise BadInput(str(problem)) from None
