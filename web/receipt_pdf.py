"""A receipt (kuitansi) as a PDF, drawn by fpdf2 without a browser.

fpdf2's core Helvetica speaks Latin-1 only; a character outside it (a name in another script)
is written as "?" rather than failing the download."""

from __future__ import annotations

from fpdf import FPDF

from config.settings import Seller
from models.payment_receipts import Receipt

NOT_A_TAX_INVOICE = "Dokumen ini bukan faktur pajak."


def latin1(text: str) -> str:
    """`text` as Helvetica can draw it."""
    return text.replace("\u2212", "-").encode("latin-1", "replace").decode("latin-1")


def receipt_rows(receipt: Receipt) -> list[tuple[str, str]]:
    """The receipt's label/value lines, in the page's order."""
    rows = [
        ("Diterima dari", f"{receipt.customer_name} ({receipt.customer_email})"),
        ("Untuk", receipt.package_name),
        ("Nomor pesanan", receipt.order_id),
    ]
    if receipt.discount_amount_text:
        code = f" ({receipt.discount_code})" if receipt.discount_code else ""
        rows += [
            ("Harga", receipt.base_amount_text),
            (f"Diskon{code}", f"-{receipt.discount_amount_text}"),
        ]
    return rows + [
        ("Jumlah dibayar", receipt.amount_text),
        ("Metode pembayaran", receipt.method),
        ("Waktu pembayaran", receipt.paid_at_text),
    ]


def receipt_pdf(receipt: Receipt, seller: Seller) -> bytes:
    """One A5 page: the seller, the number, the lines, the refund when there was one."""
    pdf = FPDF(format="A5")
    pdf.set_title(latin1(f"Kuitansi {receipt.number}"))
    pdf.set_author(latin1(seller.name))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "KUITANSI", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, latin1(f"Nomor {receipt.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, latin1("\n".join(filter(None, [seller.name, seller.address]))))
    pdf.ln(4)
    if receipt.refund:
        word = "DIKEMBALIKAN" if receipt.fully_refunded else "DIKEMBALIKAN SEBAGIAN"
        refund = f"{word}: {receipt.refund.amount_text} pada {receipt.refund.date_text}"
        pdf.set_font("Helvetica", "B", 11)
        pdf.multi_cell(0, 6, latin1(refund), border=1)
        pdf.ln(3)
    for label, value in receipt_rows(receipt):
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(42, 7, latin1(label))
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(0, 7, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "I", 9)
    pdf.cell(0, 6, NOT_A_TAX_INVOICE, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
