"""The Snap pay page: a person (or Playwright) picks an outcome, the merchant gets notified."""

from urllib.parse import urlencode

import falcon

from harness.sandbox.html import render_page
from harness.sandbox.payments import PAY_PAGE_ACTIONS, PaymentSimulator
from harness.sandbox.state import SandboxState, SnapTransaction

ACTION_LABELS = {
    "settle_va": "Bayar dengan Virtual Account BCA (settlement)",
    "settle_qris": "Bayar dengan QRIS (settlement)",
    "settle_card": "Bayar dengan Kartu Kredit (capture, accept)",
    "pending": "Pilih VA, belum bayar (pending)",
    "deny": "Ditolak (deny)",
    "cancel": "Batalkan (cancel)",
    "expire": "Kedaluwarsa (expire)",
}
FINISH_QUERY_FIELDS = ("order_id", "status_code", "transaction_status")

PAY_PAGE = """{% extends "layout.html" %}
{% block title %}Pembayaran {{ txn.order_id }}{% endblock %}
{% block body %}
<h1>Midtrans Sandbox</h1>
<p>Pesanan <strong id="order-id">{{ txn.order_id }}</strong></p>
<p>Total <strong id="gross-amount">{{ txn.gross_amount | rupiah }}</strong></p>
{% if txn.transaction_status %}
<p>Status saat ini: <strong id="transaction-status">{{ txn.transaction_status }}</strong>
({{ txn.payment_type }})</p>{% endif %}
<form method="post" action="/snap/v4/redirection/{{ txn.token }}/pay">
{% for action, label in actions.items() %}
<div><button type="submit" name="action" value="{{ action }}" id="pay-{{ action }}"
 data-action="{{ action }}">{{ label }}</button></div>
{% endfor %}
</form>
<p class="note">Setiap tombol mengirim notifikasi bertanda tangan ke {{ notification_url }}.</p>
{% endblock %}
"""

RESULT_PAGE = """{% extends "layout.html" %}
{% block title %}Hasil {{ txn.order_id }}{% endblock %}
{% block body %}
<h1>Transaksi {{ txn.order_id }}</h1>
{% if page_expired %}
<p id="snap-page-expired">Halaman Snap kedaluwarsa sebelum metode pembayaran dipilih: Midtrans tidak
membuat transaksi dan tidak mengirim notifikasi.</p>
{% else %}
<p>Status: <strong id="transaction-status">{{ txn.transaction_status }}</strong></p>
<p>Notifikasi: <span id="delivery-status">{{ delivery_status or "tidak terkirim" }}</span></p>
{% endif %}
<p><a href="/snap/v4/redirection/{{ txn.token }}">Kembali</a> · <a href="/_sandbox/">Inbox</a></p>
{% endblock %}
"""

NOT_FOUND_PAGE = """{% extends "layout.html" %}
{% block body %}<h1 id="not-found">Transaksi tidak ditemukan</h1>
<p>Token ini tidak dikenal atau sudah tidak berlaku.</p>{% endblock %}
"""


def finish_redirect_url(finish_url: str, notification: dict) -> str:
    """The finish URL with the (untrusted) query Snap appends."""
    query = urlencode({name: notification[name] for name in FINISH_QUERY_FIELDS})
    separator = "&" if "?" in finish_url else "?"
    return f"{finish_url}{separator}{query}"


class PayPageResource:
    """`GET /snap/v4/redirection/{token}`: the page with one button per outcome."""

    def __init__(self, state: SandboxState, notification_url: str) -> None:
        self.state = state
        self.notification_url = notification_url

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        txn = self.state.transaction_by_token(token)
        if txn is None:
            render_page(resp, NOT_FOUND_PAGE, status=404)
            return
        context = {"actions": ACTION_LABELS, "notification_url": self.notification_url}
        render_page(resp, PAY_PAGE, txn=txn, **context)


class PayActionResource:
    """`POST /snap/v4/redirection/{token}/pay`: apply the outcome, notify, send the customer on."""

    def __init__(self, state: SandboxState, simulator: PaymentSimulator) -> None:
        self.state = state
        self.simulator = simulator

    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        txn = self.state.transaction_by_token(token)
        if txn is None:
            render_page(resp, NOT_FOUND_PAGE, status=404)
            return
        form = req.get_media(default_when_empty={})
        transition = PAY_PAGE_ACTIONS.get(form.get("action") if isinstance(form, dict) else None)
        if transition is None:
            raise falcon.HTTPBadRequest(title=f"action must be one of {sorted(PAY_PAGE_ACTIONS)}")
        if transition.transaction_status == "expire" and not txn.method_chosen:
            # Snap's page expired with no method picked: Midtrans has no transaction to
            # change and sends no notification (midtrans.md), so nothing is invented here.
            render_page(resp, RESULT_PAGE, txn=txn, page_expired=True)
            return
        outcome = self.simulator.transition(txn.order_id, transition)
        self._send_customer_on(resp, self.state.transaction(txn.order_id), outcome)

    def _send_customer_on(self, resp: falcon.Response, txn: SnapTransaction, outcome: dict) -> None:
        if txn.finish_url:
            resp.status = falcon.HTTP_303
            resp.location = finish_redirect_url(txn.finish_url, outcome["notification"])
            return
        delivery_status = outcome["delivery_status"]
        render_page(resp, RESULT_PAGE, txn=txn, delivery_status=delivery_status, page_expired=False)


def add_pay_page_routes(app: falcon.App, state: SandboxState, simulator: PaymentSimulator) -> None:
    """Mount the pay page and its button handler."""
    app.add_route(
        "/snap/v4/redirection/{token}", PayPageResource(state, simulator.notification_url)
    )
    app.add_route("/snap/v4/redirection/{token}/pay", PayActionResource(state, simulator))
