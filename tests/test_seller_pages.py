"""Who sells and on what terms: every customer page names the seller with a WhatsApp number
and an email, and links the terms, refund policy and privacy notice the owner keeps in
content/legal/."""

from __future__ import annotations

import pytest

from web.legal import LEGAL_PAGES
from web.pages import template_environment

PAGES_WITH_FOOTER = (
    "/",
    "/finish",
    "/access/tidak-ada",
    "/salah-ketik",
    *map("/{}".format, LEGAL_PAGES),
)


@pytest.mark.parametrize("path", PAGES_WITH_FOOTER)
def test_every_customer_page_names_the_seller_and_links_the_legal_pages(
    http, clean, settings, path
):
    page = http.get(path, headers={"Accept": "text/html"}).text
    seller = settings.seller
    assert seller.name in page and f'href="mailto:{seller.email}"' in page
    assert f'href="https://wa.me/{seller.whatsapp}"' in page
    for slug in LEGAL_PAGES:
        assert f'href="/{slug}"' in page


def test_the_legal_pages_are_indonesian_and_name_the_seller(http, clean, settings):
    privacy = http.get("/privasi")
    assert privacy.status_code == 200 and privacy.headers["content-type"].startswith("text/html")
    assert "Pelindungan Data Pribadi" in privacy.text and "Hak Anda" in privacy.text
    assert "Syarat dan Ketentuan" in http.get("/syarat").text
    refund = http.get("/pengembalian-dana").text
    assert "Kebijakan Pengembalian Dana" in refund and settings.seller.email in refund


def test_the_owner_edits_a_text_and_the_seller_details_are_filled_in(tmp_path, settings):
    (tmp_path / "syarat.html").write_text("<p>Toko {{ seller.name }}: {{ seller.email }}</p>")
    templates = template_environment(settings.seller, settings.mode, tmp_path)
    page = templates.get_template("legal.html").render(title="Syarat", slug="syarat")
    assert f"<p>Toko {settings.seller.name}: {settings.seller.email}</p>" in page
