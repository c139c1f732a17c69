"""`./run.sh admin alerts test`: one test alert to ALERT_EMAIL_TO and every Apprise URL, to
check that an alarm would reach a person. Exit codes: 0 every target took it, 1 otherwise."""

from __future__ import annotations

import argparse
import sys

from admin.context import AdminContext
from admin.output import add_json_option, print_json
from integrations.alarm_targets import AlarmSender


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("alerts", help="check that alerts reach a person")
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    test = commands.add_parser("test", help="send a test alert to every alert target")
    add_json_option(test)
    test.set_defaults(handler=test_command)


def test_command(args: argparse.Namespace, admin: AdminContext) -> int:
    settings = admin.settings
    sender = AlarmSender(
        settings.alerts, settings.smtp, settings.public_base_url, admin.enqueuer.redis
    )
    results = sender.send_test()
    if not results:
        print("No alert target: set ALERT_URLS and/or ALERT_EMAIL_TO", file=sys.stderr)
    if args.json:
        print_json([{"target": target, "outcome": outcome} for target, outcome in results.items()])
    else:
        for target, outcome in results.items():
            print(f"{target}: {outcome}")
    return 0 if results and all(outcome == "sent" for outcome in results.values()) else 1
