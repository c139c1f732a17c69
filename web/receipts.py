"""GET /access/{token}/kuitansi (a printable page) and /kuitansi.pdf: a paid order's receipt,
found by the customer's course access link. Only reads: the number was given at payment."""

from __future__ import annotations

import falcon
from jinja2 import Environment

from config.settings import Seller
from models.db import connection
from models.payment_receipts import receipt_for
from web.receipt_pdf import receipt_pdf

PATH = "/access/{access_token}/kuitansi"


class ReceiptResource:
    def __init__(self, templates: Environment, seller: Seller):
        self._templates = templates
        self._seller = seller

    def _receipt(self, resp: falcon.Response, access_token: str):
        resp.cache_control = ["no-store"]  # the URL carries the customer's course key
        with connection():
            receipt = receipt_for(access_token)
        if receipt is None:
            raise falcon.HTTPNotFound(title="Kuitansi tidak ditemukan")
        return receipt

    def _page(self, resp: falcon.Response, receipt, pdf_url: str) -> None:
        resp.content_type = falcon.MEDIA_HTML
        template = self._templates.get_template("kuitansi.html")
        resp.text = template.render(receipt=receipt, pdf_url=pdf_url)

    def on_get(self, req: falcon.Request, resp: falcon.Response, access_token: str) -> None:
        receipt = self._receipt(resp, access_token)
        self._page(resp, receipt, f"{req.path}.pdf")

    def on_get_pdf(self, req: falcon.Request, resp: falcon.Response, access_token: str) -> None:
        """The PDF; an unpaid order has none yet, and gets the page that says so."""
        receipt = self._receipt(resp, access_token)
        if receipt.number is None:
            resp.status = falcon.HTTP_404
            self._page(resp, receipt, "")
            return
        resp.content_type = "application/pdf"
        file_name = receipt.number.replace("/", "-")
        resp.set_header("Content-Disposition", f'inline; filename="kuitansi-{file_name}.pdf"')
        resp.data = receipt_pdf(receipt, self._seller)
