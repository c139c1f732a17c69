"""The shop's terms, refund policy and privacy notice: HTML files in content/legal/ that the
owner edits (read again when changed, no restart), shown inside the shop's page frame.
The customer templates reach them as `legal/<name>.html` (see web.pages.template_environment),
so `{{ seller.email }}` in a text stays in step with the settings."""

from __future__ import annotations

from pathlib import Path

import falcon
from jinja2 import Environment

LEGAL_DIR = Path(__file__).resolve().parents[1] / "content" / "legal"
# path (also the file's name) -> the page's title
LEGAL_PAGES = {
    "syarat": "Syarat dan Ketentuan",
    "pengembalian-dana": "Kebijakan Pengembalian Dana",
    "privasi": "Pemberitahuan Privasi",
}


class LegalPage:
    def __init__(self, templates: Environment, slug: str):
        self._templates = templates
        self._slug = slug

    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self._templates.get_template("legal.html").render(
            title=LEGAL_PAGES[self._slug], slug=self._slug
        )


def add_legal_routes(app: falcon.App, templates: Environment) -> None:
    for slug in LEGAL_PAGES:
        app.add_route(f"/{slug}", LegalPage(templates, slug))
