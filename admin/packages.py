"""`./run.sh admin packages ...`: what each package sells, its price, and where its course content
lives.

Exit codes: 0 done, 1 unknown package, 2 usage error.
"""

from __future__ import annotations

import argparse

from admin.arguments import whole_number
from admin.context import AdminContext
from admin.output import add_json_option, print_json, reported
from models.catalog import Package, listed_packages
from models.db import connection
from models.order_rows import package_row
from models.package_content import content_url_problem, lesson_problem
from models.package_prices import MAXIMUM_PRICE_IDR
from models.pricing import MINIMUM_PAYABLE_IDR, format_idr
from tasks.operations.catalog import set_course_content, set_price


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "packages",
        help="list packages, set a package's price or its course content",
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
    price = commands.add_parser(
        "set-price",
        help="set a package's price for new orders (audited)",
        description="Set PACKAGE's price in whole rupiah. Orders already made keep the amount "
        "they were priced with; orders made from now on pay the new price.",
    )
    price.add_argument("package_id", metavar="PACKAGE")
    price.add_argument(
        "price_idr", type=whole_number(MINIMUM_PAYABLE_IDR, MAXIMUM_PRICE_IDR), metavar="RUPIAH"
    )  # the range price_problem() takes: a price it would refuse is a usage error here
    add_json_option(price)
    price.set_defaults(handler=set_price_command)


def print_package(package: Package) -> None:
    state = "active" if package.active else "inactive"
    print(f"{package.package_id}  {package.name}  {format_idr(package.price_idr)}  {state}")
    print(f"  content: {package.content_url or '(not set)'}")
    for number, title in enumerate(package.lessons, start=1):
        print(f"  {number:>3}. {title}")


def list_command(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection():
        packages = listed_packages()
    if args.json:
        print_json([package_row(package) for package in packages])
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
    with connection():
        outcome = set_course_content(
            admin.enqueuer, admin.operator, args.package_id, args.url, lessons
        )
        exit_code = reported(outcome)
        if not outcome.is_refused:
            print_package(Package.get_by_id(args.package_id))
    return exit_code


def set_price_command(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection():
        outcome = set_price(admin.enqueuer, admin.operator, args.package_id, args.price_idr)
    if args.json and not outcome.is_refused:
        print_json({"state": outcome.state, **outcome.details})
        return 0
    return reported(outcome)
