"""The customer's HTML pages: checkout form, finish (status polling) and course access."""

from __future__ import annotations

from pathlib import Path

import falcon
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from config.settings import Seller
from models.db import connection
from models.entitlements import Entitlement, revoked_for_a_refund
from models.wib import indonesian_date
from web.catalog import Catalog
from web.legal import LEGAL_DIR

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_PACKAGE_ID = "ai-movie-course"
# The banner atop every page of the shop and the console, by Settings.mode; none in production.
TEST_MODE_BANNERS = {
    "local-sandbox": "MODE UJI — sandbox lokal, tidak ada uang sungguhan",
    "midtrans-sandbox": "MODE UJI — Midtrans sandbox, tidak ada uang sungguhan",
}


def template_environment(seller: Seller, mode: str, legal_dir: Path = LEGAL_DIR) -> Environment:
    """The customer pages' templates and the owner's legal texts (`legal/...`); every page's
    footer names the seller, and outside production its top says which test mode runs."""
    loader = ChoiceLoader(
        [FileSystemLoader(TEMPLATES_DIR), PrefixLoader({"legal": FileSystemLoader(legal_dir)})]
    )
    environment = Environment(loader=loader, autoescape=select_autoescape(["html"]))
    environment.globals.update(seller=seller, test_mode_banner=TEST_MODE_BANNERS.get(mode))
    return environment


def _render(resp: falcon.Response, templates: Environment, name: str, **context) -> None:
    resp.content_type = falcon.MEDIA_HTML
    resp.text = templates.get_template(name).render(**context)


class CheckoutPage:
    def __init__(self, templates: Environment, catalog: Catalog):
        self._templates = templates
        self._catalog = catalog

    def on_get(self, req, resp):
        packages = self._catalog.active_packages() or {}
        package = packages.get(DEFAULT_PACKAGE_ID) or next(iter(packages.values()), None)
        if package is None:
            raise falcon.HTTPServiceUnavailable(title="Toko sedang tidak tersedia")
        _render(resp, self._templates, "checkout.html", package=package)


class FinishPage:
    """Midtrans sends the customer here; the query's status is untrusted, the page polls."""

    def __init__(self, templates: Environment):
        self._templates = templates

    def on_get(self, req, resp):
        _render(resp, self._templates, "finish.html")


class AccessPage:
    def __init__(self, templates: Environment):
        self._templates = templates

    def on_get(self, req, resp, access_token: str):
        resp.cache_control = ["no-store"]  # the URL is the customer's course key
        with connection():
            entitlement = Entitlement.get_or_none(Entitlement.access_token == access_token)
            order = entitlement.order if entitlement else None
            package = entitlement.package if entitlement else None
        state = "unknown" if entitlement is None else entitlement.status.lower()
        if entitlement is None:
            resp.status = falcon.HTTP_404
        active = state == "active"
        _render(
            resp,
            self._templates,
            "access.html",
            state=state,
            course_name=package.name if package else "",
            customer_name=order.customer_name if order else "",
            content_url=package.content_url if active else None,
            lessons=package.lessons if active else [],
            granted_at_text=indonesian_date(entitlement.granted_at) if entitlement else "",
            refunded=bool(entitlement) and revoked_for_a_refund(entitlement),
        )
