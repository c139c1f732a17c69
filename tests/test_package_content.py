"""The access page sends the customer to the package's course content and lists the package's
lessons; the owner sets both through the audited admin command."""

from __future__ import annotations

import json

import pytest

from admin.context import cli_actor
from models.audit import AuditEntry
from models.catalog import Package
from models.entitlements import Entitlement
from tests.factories import paid_order

PACKAGE_ID = "ai-movie-course"
COURSE_URL = "https://kelas.example.id/buat-film-pakai-ai"


@pytest.fixture
def seeded_content(db):
    """Puts the seeded package's content back after the test (`clean` keeps that row)."""
    package = Package.get_by_id(PACKAGE_ID)
    yield package
    Package.update(content_url=package.content_url, lessons=package.lessons).where(
        Package.package_id == PACKAGE_ID
    ).execute()


def _access_page(http, sandbox_api) -> str:
    order_id = paid_order(sandbox_api)["order_id"]
    token = Entitlement.get(Entitlement.order == order_id).access_token
    return http.get(f"/access/{token}").text


def test_the_access_page_sends_the_customer_to_the_course_the_owner_set(
    http, sandbox_api, seeded_content, admin_cli, capsys
):
    argv = ["packages", "set-content", PACKAGE_ID, "--url", COURSE_URL]
    lessons = ["Pengantar", "Naskah dengan AI"]
    assert admin_cli([*argv, "--lesson", lessons[0], "--lesson", lessons[1]]) == 0
    assert COURSE_URL in capsys.readouterr().out
    page = _access_page(http, sandbox_api)
    assert f'href="{COURSE_URL}"' in page and "Buka materi kursus" in page
    assert "Naskah dengan AI" in page and "Dari ide ke naskah" not in page
    assert "#modul" not in page
    audit = AuditEntry.get(AuditEntry.action == "package_content_set")
    assert audit.actor == cli_actor() and audit.details["new"]["lessons"] == lessons
    assert admin_cli(["packages", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["package_id"], listed["content_url"], listed["lessons"]) == (
        PACKAGE_ID,
        COURSE_URL,
        lessons,
    )
    assert listed["price_idr"] == seeded_content.price_idr and listed["active"] is True


def test_without_a_content_url_the_page_says_the_material_is_coming_and_links_nowhere(
    http, sandbox_api, seeded_content
):
    page = _access_page(http, sandbox_api)
    assert "Materi sedang kami siapkan" in page and "Dari ide ke naskah dengan AI" in page
    assert "#modul" not in page and "Buka materi kursus" not in page


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "http://kelas.example.id/tanpa-tls"],
        ["--url", "javascript:alert(1)"],
        ["--lesson", " "],
        [],
    ],
)
def test_a_bad_content_setting_is_a_usage_error_and_changes_nothing(
    admin_cli, seeded_content, argv, capsys
):
    with pytest.raises(SystemExit) as exit_code:
        admin_cli(["packages", "set-content", PACKAGE_ID, *argv])
    assert exit_code.value.code == 2
    assert Package.get_by_id(PACKAGE_ID).content_url == seeded_content.content_url
    assert not AuditEntry.select().where(AuditEntry.action == "package_content_set").exists()


def test_an_unknown_package_is_named_on_stderr(admin_cli, seeded_content, capsys):
    assert admin_cli(["packages", "set-content", "nope", "--url", COURSE_URL]) == 1
    assert "nope" in capsys.readouterr().err
