"""`GET /_sandbox/`: one page where a person running the system sees payments, mail and WhatsApp."""

import falcon

from harness.sandbox.html import render_page
from harness.sandbox.state import SandboxState
from harness.sandbox.whatsapp_text import approved_bodies, readable_text

INBOX_PAGE = """{% extends "layout.html" %}
{% block title %}Sandbox inbox{% endblock %}
{% block body %}
<h1>Sandbox inbox</h1>
<p class="note">Terbaru di atas. JSON: <a href="/_sandbox/midtrans/requests">Midtrans requests</a>
· <a href="/_sandbox/mail">mail</a> · <a href="/_sandbox/whatsapp">WhatsApp</a></p>

<h2>Transaksi Snap ({{ transactions | length }})</h2>
<table id="transactions"><tr><th>Order</th><th>Jumlah</th><th>Status</th><th>Bayar</th></tr>
{% for txn in transactions %}
<tr><td>{{ txn.order_id }}</td><td>{{ txn.gross_amount | rupiah }}</td>
<td>{{ txn.transaction_status or "belum memilih metode" }}
{% if txn.payment_type %}({{ txn.payment_type }}){% endif %}</td>
<td><a href="/snap/v4/redirection/{{ txn.token }}">halaman bayar</a></td></tr>
{% endfor %}</table>

<h2>Email ({{ mails | length }})</h2>
<table id="mails"><tr><th>Diterima</th><th>Kepada</th><th>Subjek</th><th>Isi</th></tr>
{% for mail in mails %}
<tr><td>{{ mail.received_at | wib }}</td><td>{{ mail.rcpt_tos | join(", ") }}</td>
<td>{{ mail.subject }}</td><td><pre>{{ mail.text or "" }}</pre></td></tr>
{% endfor %}</table>

<h2>WhatsApp ({{ whatsapp_messages | length }})</h2>
<table id="whatsapp"><tr><th>Diterima</th><th>Kepada</th><th>Template</th><th>Pesan</th></tr>
{% for message in whatsapp_messages %}
<tr><td>{{ message.received_at | wib }}</td><td>{{ message.to }}</td>
<td>{{ message.template }} ({{ message.language }})</td>
<td><p class="wa-text">{{ message.text }}</p></td></tr>
{% endfor %}</table>
{% endblock %}
"""


class InboxResource:
    """Newest first everywhere: the thing you just did is at the top."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        render_page(
            resp,
            INBOX_PAGE,
            transactions=self.state.list_transactions(),
            mails=list(reversed(self.state.listed(self.state.mails))),
            whatsapp_messages=self._readable_whatsapp(),
        )

    def _readable_whatsapp(self) -> list[dict]:
        bodies = approved_bodies()
        return [
            {**message, "text": readable_text(message, bodies)}
            for message in reversed(self.state.listed(self.state.whatsapp_messages))
        ]


def add_inbox_route(app: falcon.App, state: SandboxState) -> None:
    """Mount the inbox page at `/_sandbox/` (with or without the trailing slash)."""
    app.add_route("/_sandbox", InboxResource(state))
