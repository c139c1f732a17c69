"""`./run.sh admin packages ...`: what each package sells, and where its course content lives.

Exit codes: 0 done, 1 unknown package, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from admin.context import AdminContext, cli_actor
from admin.output import add_json_option, print_json
from models.catalog import Package
from models.db import connection
from models.package_content import (
    UnknownPackage,
    content_url_problem,
    lesson_problem,
    set_package_content,
)
from models.pricing import format_idr


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "packages",
        help="list packages or set a package's course content",
        description="The packages on sale, their course location and lesson list.",
    )
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = commands.add_parser("list", help="every package with its content")
    add_json_option(listing)
    listing.set_defaults(handler=list_command)
    content = commands.add_parser(
        "set-content",
        help="set where the course lives and its lessons (audited)",
        description="Set PACKAGE_ID's content location (the access page's button) and/or its "
        "lesson titles (the access page's list, in the order given).",
    )
    content.add_argument("package_id", metavar="PACKAGE_ID")
    content.add_argument("--url", metavar="URL", help="https:// address of the course content")
    content.add_argument(
        "--lesson",
        action="append",
        metavar="TITLE",
        dest="lessons",
        help="a lesson title; repeat in order; replaces the whole list",
    )
    content.add_argument("--no-lessons", action="store_true", help="empty the lesson list")
    content.set_defaults(handler=set_content_command, parser=content)


def print_package(package: Package) -> None:
    state = "active" if package.active else "inactive"
    print(f"{package.package_id}  {package.name}  {format_idr(package.price_idr)}  {state}")
    print(f"  content: {package.content_url or '(not set)'}")
    for number, title in enumerate(package.lessons, start=1):
        print(f"  {number:>3}. {title}")


def package_json(package: Package) -> dict:
    return {
        "package_id": package.package_id,
        "name": package.name,
        "price_idr": package.price_idr,
        "active": package.active,
        "content_url": package.content_url,
        "lessons": list(package.lessons),
    }


def list_command(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection():
        packages = list(Package.select().order_by(Package.package_id))
    if args.json:
        print_json([package_json(package) for package in packages])
        return 0
    for package in packages:
        print_package(package)
    return 0


def _checked_lessons(args: argparse.Namespace) -> list[str] | None:
    if args.no_lessons and args.lessons:
        args.parser.error("--lesson and --no-lessons exclude each other")
    lessons = [] if args.no_lessons else args.lessons
    problem = lesson_problem(lessons) if lessons else None
    if problem:
        args.parser.error(problem)
    return lessons


def set_content_command(args: argparse.Namespace, admin: AdminContext) -> int:
    lessons = _checked_lessons(args)
    if args.url is None and lessons is None:
        args.parser.error("give --url, --lesson or --no-lessons")
    if args.url is not None and (problem := content_url_problem(args.url)):
        args.parser.error(f"--url {problem}")
    try:
        with connection():
            package = set_package_content(args.package_id, args.url, lessons, cli_actor())
    except UnknownPackage:
        hint = "see: ./run.sh admin packages list"
        print(f"No package {args.package_id!r} ({hint})", file=sys.stderr)
        return 1
    print("Updated (audited):")
    print_package(package)
    return 0
