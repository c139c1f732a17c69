"""The console's templates and the few filters they use (times in WIB, rupiah, JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import falcon
from jinja2 import Environment, FileSystemLoader, select_autoescape

from models.pricing import format_idr
from models.wib import wib_text, wib_values
from web.pages import TEST_MODE_BANNERS

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def template_environment(mode: str) -> Environment:
    """The console's pages; outside production their top says which test mode runs."""
    templates = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"])
    )
    templates.filters.update(
        wib=wib_text, wib_values=wib_values, idr=format_idr, pretty_json=pretty_json
    )
    templates.globals["test_mode_banner"] = TEST_MODE_BANNERS.get(mode)
    return templates


def render(resp: falcon.Response, templates: Environment, name: str, **context) -> None:
    resp.content_type = falcon.MEDIA_HTML
    resp.text = templates.get_template(name).render(**context)


def see_other(resp: falcon.Response, location: str) -> None:
    """A 303 that keeps headers already set (cookies), unlike raising HTTPSeeOther."""
    resp.status = falcon.HTTP_303
    resp.location = location
