"""HTML rendering for the sandbox's human pages (pay page, inbox), always autoescaped."""

import falcon
import jinja2

from models.pricing import format_idr
from models.wib import wib_text

LAYOUT = """<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{% block title %}Sandbox{% endblock %}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #ddd;
padding: .4rem; text-align: left; vertical-align: top; }
button { margin: .25rem; padding: .6rem 1rem; font-size: 1rem; cursor: pointer; }
.note { color: #666; font-size: .9rem; } pre { white-space: pre-wrap; margin: 0; }
</style></head>
<body>{% block body %}{% endblock %}</body></html>
"""

_environment = jinja2.Environment(
    loader=jinja2.DictLoader({"layout.html": LAYOUT}),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


_environment.filters["rupiah"] = format_idr  # Rp 99.000, as the shop writes it
_environment.filters["wib"] = wib_text  # the shop's own clock, as the customer's messages say


def render_page(resp: falcon.Response, source: str, status: int = 200, **context: object) -> None:
    """Answer with a page rendered from a template that extends the shared layout."""
    resp.status = status
    resp.content_type = falcon.MEDIA_HTML
    resp.text = _environment.from_string(source).render(**context)
