"""Every page a new customer and the operator reach, walked on a phone (390x844) in Chromium.

The customer buys on the sandbox, opens /finish and the course, reads the legal pages, asks for
a lost link and mistypes an address; the operator signs in and follows every console link. On
every page: each link answers (same host: below 400 after its redirects; mailto:, tel:, wa.me
and other hosts: well formed), each #fragment names an element that exists, no `<?xml`, no
time shown in UTC (people here read WIB) and nothing wider than the phone.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urlsplit

from tests.conftest import ADMIN_TOKEN
from tests.console_helpers import bury_dead_letter, make_outbox_row
from tests.factories import VALID_CHECKOUT
from tests.test_browser import PHONE, browser_page, fill_checkout_form  # noqa: F401 (fixture)

# A time as a machine writes it in UTC, not as a person here reads it (`1 Des 2026 09:01 WIB`).
UTC_SHOWN = re.compile(r"T\d\d:\d\d(:\d\d)?|[+-]00:?00\b|\b(UTC|GMT)\b|\d\d:\d\d(:\d\d)?Z\b")
MAILTO = re.compile(r"mailto:[^@\s?]+@[^@\s?]+\.[a-z]{2,}(\?\S*)?", re.IGNORECASE)
TEL = re.compile(r"tel:\+?[0-9]{6,15}")
WHATSAPP = re.compile(r"https://wa\.me/[1-9][0-9]{7,14}(\?text=\S*)?")
MAX_PAGES = 60
LINKS_JS = "[...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href])"


class Walk:
    """Visits pages in one browser tab, checks each, and keeps every problem it finds."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.host = urlsplit(base_url).netloc
        self.links: dict[str, list[str]] = {}  # page visited -> where its links lead
        self.answers: dict[str, tuple[int, str, str]] = {}  # url -> (status, type, body)
        self.problems: list[str] = []

    def visit(self, url: str, expected_status: int = 200) -> None:
        response = self.page.goto(url)
        if response.status != expected_status:
            self.problems.append(f"{url}: answered {response.status}")
        self.check_here(response.text())

    def check_here(self, body: str | None = None) -> None:
        """The checks on the page the tab shows now; `body` is its raw answer when known."""
        page = self.page
        here = urldefrag(page.url).url
        links = page.evaluate(LINKS_JS)
        self.links[here] = [resolved for _, resolved in links]
        if "<?xml" in (body if body is not None else page.content()):
            self.problems.append(f"{here}: the page contains '<?xml'")
        for match in UTC_SHOWN.finditer(page.inner_text("body")):
            self.problems.append(f"{here}: shows a UTC time ({match.group(0)!r})")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            self.problems.append(f"{here}: {width} px wide on a {PHONE['width']} px phone")
        for written, resolved in links:
            problem = self._link_problem(here, written, resolved)
            if problem:
                self.problems.append(f"{here}: link {written!r} {problem}")

    def _link_problem(self, here: str, written: str, resolved: str) -> str | None:
        parts = urlsplit(resolved)
        if parts.scheme == "mailto":
            return None if MAILTO.fullmatch(resolved) else "is not a well-formed email address"
        if parts.scheme == "tel":
            return None if TEL.fullmatch(resolved) else "is not a well-formed phone number"
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in resolved:
            return "is not a well-formed web address"
        if parts.netloc == "wa.me":
            return None if WHATSAPP.fullmatch(resolved) else "is not a well-formed WhatsApp link"
        if parts.netloc != self.host:
            return None  # another site: only its form is ours to check
        target, fragment = urldefrag(resolved)
        if "#" in written and target == here:
            found = self.page.evaluate("id => document.getElementById(id) !== null", fragment)
            return None if fragment and found else "points to an id the page does not have"
        status, _, body = self.answer(target)
        if status >= 400:
            return f"answers {status}"
        if "#" in written and not (fragment and re.search(rf'\sid="{re.escape(fragment)}"', body)):
            return "points to an id the page does not have"
        return None

    def answer(self, url: str) -> tuple[int, str, str]:
        """The final answer after redirects, with the tab's cookies (asked once per address)."""
        if url not in self.answers:
            response = self.page.request.get(url, max_redirects=10)
            kind = response.headers.get("content-type", "")
            self.answers[url] = (response.status, kind, response.text())
        return self.answers[url]

    def crawl(self, *starts: str) -> None:
        """Visits every page of this host linked from the pages seen, breadth first."""
        queue = [*starts]
        while queue and len(self.links) < MAX_PAGES:
            url = queue.pop(0)
            if url not in self.links:
                self.visit(url)
            for resolved in self.links[url]:
                target = urldefrag(resolved).url
                if (
                    urlsplit(target).netloc == self.host
                    and target not in self.links
                    and target not in queue
                    and "text/html" in self.answer(target)[1]
                ):
                    queue.append(target)


def test_a_new_user_on_a_phone_finds_every_page_whole(
    browser_page,  # noqa: F811 (the fixture imported above)
    web,
    worker,
    sandbox,
    system,
    admin_cli,
):
    page = browser_page
    page.set_viewport_size(PHONE)
    walk = Walk(page, web)

    walk.visit(f"{web}/")
    page.click("#pay-button")  # nothing filled in yet: the form says what is missing
    page.wait_for_selector("#error-name:not(:empty)")
    walk.check_here()
    fill_checkout_form(page)
    page.wait_for_url(re.compile(re.escape(sandbox.base_url) + r"/snap/v4/redirection/"))
    page.click("#pay-settle_va")
    page.wait_for_url(re.compile(re.escape(web) + r"/finish\?"))
    page.wait_for_selector("#order-status[data-status=PAID]")
    walk.check_here()
    order_id = re.search(r"order_id=([^&]+)", page.url)[1]
    page.click("#access-link")
    page.wait_for_selector("#access-state[data-state=active]")
    walk.check_here()

    walk.visit(f"{web}/lupa-tautan")
    page.fill("#kontak", VALID_CHECKOUT["email"])
    page.click("#access-link-request button[type=submit]")
    page.wait_for_selector("#access-link-request[data-state=sent]")
    walk.check_here()
    walk.visit(f"{web}/lupa-tautan")
    page.fill("#kontak", "bukan kontak")
    page.click("#access-link-request button[type=submit]")
    page.wait_for_selector("#error-kontak:not(:empty)")
    walk.check_here()
    walk.visit(f"{web}/halaman-yang-tidak-ada", expected_status=404)
    walk.visit(f"{web}/access/tautan-yang-terpotong", expected_status=404)
    walk.visit(f"{web}/finish")

    # What an operator meets on a working day: a message that failed, a dead letter, a code.
    make_outbox_row(order_id, "DLQ", template="payment_instructions")
    bury_dead_letter(system["broker"], "deliver_notification", (424242,))
    discount = ["discounts", "create", "HEMAT10", "--percent", "10"]
    assert admin_cli([*discount, "--from", "2026-12-01", "--until", "2027-01-01"]) == 0
    walk.visit(f"{web}/admin/login")
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(web) + r"/admin/orders"))

    walk.visit(f"{web}/admin/orders/BFA-20261201-TIDAK-ADA", expected_status=404)
    page.goto(f"{web}/admin/orders/{order_id}")
    page.click("text=Kirim ulang >> nth=0")  # a button's answer is a page too
    page.wait_for_selector(".notice")
    walk.check_here()
    walk.crawl(f"{web}/", f"{web}/admin/orders", f"{web}/admin/orders/{order_id}")

    paths = {urlsplit(url).path for url in walk.links}
    expected = {
        "/",
        "/syarat",
        "/pengembalian-dana",
        "/privasi",
        "/finish",
        "/lupa-tautan",
        "/halaman-yang-tidak-ada",
        f"/admin/orders/{order_id}",
        "/admin/outbox",
        "/admin/dead-letters",
        "/admin/discounts",
        "/admin/health",
    }
    assert expected - paths == set(), sorted(paths)
    assert any(path.startswith("/access/") for path in paths)
    assert "deliver_notification" in walk.answer(f"{web}/admin/dead-letters")[2]
    assert walk.problems == [], "\n".join(walk.problems)
