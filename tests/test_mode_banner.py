"""Outside production every page of the shop and of the console says "MODE UJI" at its top,
and which test it is (the local sandbox, or Midtrans' sandbox keys); in production no page does.
Read over HTTP from the web itself, error pages and the signed-in console included."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, PROJECT_ROOT, serve_app, with_settings

LOCAL = "MODE UJI — sandbox lokal, tidak ada uang sungguhan"
MIDTRANS = "MODE UJI — Midtrans sandbox, tidak ada uang sungguhan"
SHOP_PAGES = [
    "/",
    "/finish?order_id=BFA-NONE",
    "/access/no-such-token",
    "/lupa-tautan",
    "/syarat",
    "/pengembalian-dana",
    "/privasi",
    "/no-such-page",  # the shop's error page
]
# The last is the console's own error page (no such order).
CONSOLE_PAGES = ["/admin/login", "/admin/orders", "/admin/health", "/admin/orders/BFA-NONE"]
MODES = {
    "midtrans-sandbox": {"midtrans": {"server_key": "SB-Mid-server-staging"}},
    "production": {"midtrans": {"server_key": "Mid-server-live", "is_production": True}},
}


def banner(html: str) -> str | None:
    """The banner's text when it is the first thing in the page's body, else None."""
    found = re.search(
        r'<body>\s*<div class="test-mode-banner" role="region" aria-label="Mode uji">'
        r"<strong>([^<]*)</strong></div>",
        html,
    )
    return found[1] if found else None


def every_page(base_url: str) -> dict[str, str]:
    """Each shop page as a visitor sees it and each console page as the signed-in owner does."""
    browser_accepts = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    with httpx.Client(base_url=base_url, timeout=10, headers=browser_accepts) as visitor:
        answers = {path: visitor.get(path) for path in SHOP_PAGES}
        assert answers["/no-such-page"].status_code == 404
        shown = {path: answer.text for path, answer in answers.items()}
        shown["/admin/login"] = visitor.get("/admin/login").text
        signed_in = visitor.post("/admin/login", data={"token": ADMIN_TOKEN, "next": "/admin"})
        assert signed_in.status_code == 303
        for path in CONSOLE_PAGES[1:]:
            shown[path] = visitor.get(path).text
    return shown


def test_every_page_of_the_local_sandbox_says_it_is_a_test_without_real_money(console, clean):
    shown = every_page(console)
    assert {path: banner(html) for path, html in shown.items()} == dict.fromkeys(shown, LOCAL)


def test_midtrans_sandbox_keys_show_that_midtrans_runs_its_sandbox(web, system, clean):
    from web.app import create_app

    settings = with_settings(system["settings"], **MODES["midtrans-sandbox"])
    with serve_app(create_app(settings, system["broker"].client)) as base_url:
        shown = every_page(base_url)
    assert {path: banner(html) for path, html in shown.items()} == dict.fromkeys(shown, MIDTRANS)


def test_production_pages_carry_no_test_banner(web, system, clean):
    from web.app import create_app

    settings = with_settings(system["settings"], **MODES["production"])
    assert settings.mode == "production"
    with serve_app(create_app(settings, system["broker"].client)) as base_url:
        shown = every_page(base_url)
    assert not [path for path, html in shown.items() if "MODE UJI" in html or banner(html)]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("stylesheet", ["web/static/app.css", "web/admin/templates/admin.css"])
def test_the_banner_text_has_enhanced_contrast(stylesheet):
    css = (PROJECT_ROOT / stylesheet).read_text()
    ink = re.search(r"--ink:\s*(#[0-9a-f]{6})", css)[1]
    rule = re.search(r"\.test-mode-banner\s*\{([^}]*)\}", css)[1]
    background = re.search(r"background:\s*(#[0-9a-f]{6})", rule)[1]
    assert "color: var(--ink)" in rule or "color:var(--ink)" in rule
    lighter, darker = sorted((_luminance(background), _luminance(ink)), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 7  # WCAG AAA for normal text
