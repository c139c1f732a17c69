"""A package's course content: where the course lives and its lesson titles, changed only by
an operator and audited in the same transaction."""

from __future__ import annotations

import re

from models.audit import record_audit
from models.catalog import Package
from models.db import transaction

# The schema's CHECK, said again here so a bad URL is a clear usage error, not a SQL error.
CONTENT_URL = re.compile(r"^https://\S{4,500}$")
MAX_LESSONS = 100
MAX_LESSON_CHARS = 200


class UnknownPackage(Exception):
    """No package has that id."""


def content_url_problem(url: str) -> str | None:
    """Why `url` cannot be a package's content location, or None when it can."""
    if not CONTENT_URL.match(url):
        return "must be an https:// address without spaces (at most 500 characters)"
    return None


def lesson_problem(lessons: list[str]) -> str | None:
    """Why these lesson titles cannot be stored, or None when they can."""
    if len(lessons) > MAX_LESSONS:
        return f"at most {MAX_LESSONS} lessons"
    if any(not title.strip() or len(title) > MAX_LESSON_CHARS for title in lessons):
        return f"every lesson title needs 1 to {MAX_LESSON_CHARS} characters"
    return None


def set_package_content(
    package_id: str, content_url: str | None, lessons: list[str] | None, actor: str
) -> Package:
    """Changes what is given (None keeps the current value) and records old and new."""
    with transaction():
        package = Package.select().where(Package.package_id == package_id).for_update().first()
        if package is None:
            raise UnknownPackage(package_id)
        before = {"content_url": package.content_url, "lessons": list(package.lessons)}
        if content_url is not None:
            package.content_url = content_url
        if lessons is not None:
            package.lessons = [title.strip() for title in lessons]
        package.save()
        after = {"content_url": package.content_url, "lessons": package.lessons}
        record_audit(actor, "package_content_set", package_id=package_id, old=before, new=after)
    return package
