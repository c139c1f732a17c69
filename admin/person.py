"""`./run.sh admin person show|correct|forget|exposure`: a customer's rights under UU PDP
(No. 27/2022), one command each: what the shop holds about them (access, Pasal 7), correct it
(Pasal 6), forget it (Pasal 8; the money trail stays), and who a leak would expose (Pasal 46).

EMAIL_OR_PHONE is checked as checkout checks it (an email, or an Indonesian mobile in any form:
08..., 62..., +62...). Exit codes: 0 done, 1 nobody found or refused, 2 usage error."""

from __future__ import annotations

import argparse
import sys
import time

from admin.confirm import confirmed
from admin.context import AdminContext
from admin.orders import since_moment
from admin.output import add_json_option, print_document, print_json, reported
from models.db import connection
from models.order_rows import counted
from models.personal_data import Person, exposure, find_by_contact, person_record
from models.pricing import format_idr
from models.wib import wib_text
from tasks.operations.person import correct_contact, finish_forget, forget_contact
from web.validation import InvalidField, clean_email, clean_name, clean_phone

POLL_SECONDS = 1.0


def _checked(cleaner):
    """An argparse type from a checkout validator: its Indonesian message is the usage error."""

    def parse(text: str) -> str:
        try:
            return cleaner(text)
        except InvalidField as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def contact(text: str) -> str:
    """The email (normalized) or the phone (E.164), as checkout would store it; text with
    neither an `@` nor a digit is said to be neither (not an invalid phone number)."""
    if "@" in text:
        return _checked(clean_email)(text)
    if not any(character.isdigit() for character in text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an email (no @) nor a phone number (no digits)"
        )
    return _checked(clean_phone)(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    person = subparsers.add_parser(
        "person", help="one person's data (UU PDP): show, correct, forget; leak exposure"
    )
    commands = person.add_subparsers(dest="person_command", required=True, metavar="COMMAND")
    show = commands.add_parser("show", help="everything held about one person (access request)")
    show.add_argument("contact", type=contact, metavar="EMAIL_OR_PHONE")
    add_json_option(show)
    show.set_defaults(handler=run_show)
    correct = commands.add_parser("correct", help="correct their email, phone or name (audited)")
    correct.add_argument("contact", type=contact, metavar="EMAIL_OR_PHONE")
    correct.add_argument("--email", type=_checked(clean_email), metavar="NEW")
    correct.add_argument("--phone", type=_checked(clean_phone), metavar="NEW")
    correct.add_argument("--name", type=_checked(clean_name), metavar="NEW")
    correct.add_argument("--reason", required=True, metavar="TEXT")
    correct.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    correct.set_defaults(handler=run_correct, parser=correct)
    forget = commands.add_parser(
        "forget", help="tell them, end their access, pseudonymise them everywhere (audited)"
    )
    forget.add_argument("contact", type=contact, metavar="EMAIL_OR_PHONE")
    forget.add_argument("--reason", required=True, metavar="TEXT")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.add_argument(
        "--wait",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long to wait for the goodbye message before leaving the rest to the sweeper",
    )
    forget.set_defaults(handler=run_forget)
    leak = commands.add_parser("exposure", help="who a leak of the database or a backup exposes")
    leak.add_argument(
        "--since", type=since_moment, required=True, metavar="DATE", help="YYYY-MM-DD (WIB)"
    )
    add_json_option(leak)
    leak.set_defaults(handler=run_exposure)


def _found(args: argparse.Namespace) -> Person | None:
    person = find_by_contact(args.contact)
    if person is None:
        print(f"no order names {args.contact} (or it was already forgotten)", file=sys.stderr)
    return person


def run_show(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection():
        person = _found(args)
        record = person_record(person) if person else None
    return print_document(record, args.json, record_lines)


def record_lines(record: dict) -> list[str]:
    """What the shop holds, section by section, as the customer's copy can be written from."""
    lines = [
        f"names      {', '.join(record['names'])}",
        f"emails     {', '.join(record['emails'])}",
        f"phones     {', '.join(record['phones'])}",
        f"{counted(len(record['orders']), 'order')}:",
    ]
    lines += [
        f"  {o['order_id']}  {o['status']}  {format_idr(o['final_amount'])}  "
        f"created {wib_text(o['created_at'])}  {o['customer_name']} <{o['customer_email']}> "
        f"{o['customer_phone']}"
        for o in record["orders"]
    ]
    lines.append(f"{counted(len(record['messages']), 'message')}:")
    lines += [
        f"  {m['order_id']}  {m['channel']} {m['template_name']} to {m['recipient']}: "
        f"{m['status']} {wib_text(m['sent_at']) or ''}".rstrip()
        for m in record["messages"]
    ]
    lines.append(f"course access: {len(record['entitlements'])}")
    lines += [f"  {e['order_id']}  {e['status']}" for e in record["entitlements"]]
    lines.append(f"payment notifications: {len(record['payment_notifications'])}")
    lines.append(f"audit entries: {len(record['audit'])}")
    lines += [
        f"  {wib_text(a['occurred_at'])}  {a['actor']}  {a['action']}  {a['order_id'] or ''}"
        for a in record["audit"]
    ]
    return lines


def run_correct(args: argparse.Namespace, admin: AdminContext) -> int:
    """Asks first (unless --yes), runs the correction inline (tasks/operations/person.py): 0
    done or already so, 1 refused or not confirmed. Nobody found: the operation refuses."""
    if not (args.email or args.phone or args.name):
        args.parser.error("give at least one of --email, --phone, --name")
    with connection():
        person = find_by_contact(args.contact)
        if person and not (args.yes or confirmed(_correction_question(person, args))):
            print("Nothing changed", file=sys.stderr)
            return 1
        outcome = correct_contact(
            admin.enqueuer,
            admin.operator,
            args.contact,
            args.reason,
            email=args.email,
            phone=args.phone,
            name=args.name,
        )
    return reported(outcome)


def _correction_question(person: Person, args: argparse.Namespace) -> str:
    fields = [flag for flag in ("email", "phone", "name") if getattr(args, flag)]
    orders = counted(len(person.order_ids), "order")
    return f"Correct the {', '.join(fields)} of {', '.join(person.names)} ({orders})?"


def run_forget(args: argparse.Namespace, admin: AdminContext) -> int:
    """Asks first (it cannot be undone), runs the request inline, then waits up to --wait
    seconds for the goodbye message and erases; the sweeper finishes what it leaves."""
    with connection():
        person = _found(args)
        if person is None:
            return 1
        question = (
            f"Forget {', '.join(person.names)} ({counted(len(person.order_ids), 'order')}): "
            "send the goodbye message, end their access, pseudonymise them everywhere?"
        )
        if not args.yes and not confirmed(question):
            print("Nothing changed", file=sys.stderr)
            return 1
        outcome = forget_contact(admin.enqueuer, admin.operator, args.contact, args.reason)
        if reported(outcome):
            return 1
        goodbye_order_id = outcome.details["goodbye_order_id"]
        erased = _erase_when_told(admin.operator, goodbye_order_id, args.wait)
    if erased:
        print(f"forgotten: {counted(len(person.order_ids), 'order')} pseudonymised, access ended")
    else:
        print(
            "the sweeper completes the erasure as soon as the goodbye message is "
            "delivered or given up (see `person show`, the audit entry personal_data_erased)"
        )
    return 0


def _erase_when_told(operator: str, goodbye_order_id: str, wait_seconds: float) -> bool:
    """Completes the erasure once the goodbye is final, checking until `wait_seconds` pass."""
    deadline = time.monotonic() + wait_seconds
    while not finish_forget(operator, goodbye_order_id):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def run_exposure(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection():
        report = exposure(args.since)
    if args.json:
        print_json(report)
        return 0
    counts = report["counts"]
    print(f"a leak of the database, or of a backup taken since {wib_text(report['since'])}:")
    for kind, count in counts.items():
        print(f"  {kind.replace('_', ' '):<28} {count}")
    print(
        f"backups are kept {report['backups_kept_days']} days; pseudonymised orders stay in "
        "older backups until those age out, and cannot be contacted from here"
    )
    print("contacts to notify (UU PDP Pasal 46, within 3 x 24 hours):")
    for person in report["contacts"]:
        print(
            f"  {person['email']}  {', '.join(person['phones'])}  {', '.join(person['names'])}  "
            f"({counted(person['orders'], 'order')}, {person['paid']} paid)"
        )
    return 0
