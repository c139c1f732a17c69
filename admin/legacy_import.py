"""`import-legacy PATH/orders.db`: the old Node server's SQLite orders, moved into PostgreSQL.

Each row is checked with the checkout's own rules and written in its own transaction with its
entitlement (for paid orders) and an audit entry. An id imported before is brought forward to
the old system's current status (admin/legacy_forward.py), so the import is repeated until the
cutover and a re-run of the same file changes nothing. A paid or refunded row whose amount is
missing or is not the course price is still imported (the customer paid the old system), but
flagged for a person to check, on the order, its audit entry and in the summary. Newly imported
orders queue no customer messages: those customers were served by the old system, and a second
"payment received" would confuse them (an order paid since the last run does get one: its
customer has had no access link yet). Imported PAID orders are queued for a Status API check in the
background (tasks/legacy.py), which flags those Midtrans disagrees with.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from admin.context import AdminContext
from admin.legacy_forward import bring_forward
from admin.legacy_rows import (
    MONEY_RECEIVED,
    LegacyFileError,
    LegacyOrder,
    RowRejected,
    map_row,
    read_legacy_rows,
)
from admin.output import add_json_option, print_json
from admin.progress import ProgressLine
from messaging.contract import VERIFY_LEGACY_ORDER
from messaging.redis import wake_deliveries
from models.audit import LEGACY_UNKNOWN_AT_MIDTRANS, orders_with_action, record_audit
from models.catalog import Package
from models.checkout import hash_order_token
from models.db import connection, transaction
from models.orders import Order
from models.payment_receipts import next_receipt_number
from models.payments import grant_entitlement
from models.statuses import OrderStatus

PACKAGE_ID = "ai-movie-course"
ACTOR = "admin:import"


@dataclass
class ImportSummary:
    imported: list[str] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)
    forward: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    flagged: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    unknown_at_midtrans: list[str] = field(default_factory=list)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("import-legacy", help="import the old server's SQLite orders")
    parser.add_argument("path", type=Path, metavar="PATH/orders.db")
    parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    add_json_option(parser)
    parser.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace, admin: AdminContext) -> int:
    try:
        rows = read_legacy_rows(args.path)
    except LegacyFileError as error:
        print(f"import-legacy: {error}", file=sys.stderr)
        return 2
    with connection():
        legacy_import = LegacyImport(
            admin,
            args.path.name,
            args.dry_run,
            admin.settings.payment_expiry_minutes,
            course_price(),
        )
        summary = legacy_import.run(rows)
        summary.unknown_at_midtrans = orders_with_action(
            LEGACY_UNKNOWN_AT_MIDTRANS, sorted(legacy_import.seen)
        )
    if args.json:
        print_json(summary_json(summary, args.dry_run))
    else:
        print_summary(summary, args.dry_run)
    return 1 if summary.failed else 0


def course_price() -> int:
    """What the course costs now: the amount every paid legacy row is checked against."""
    return Package.get_by_id(PACKAGE_ID).price_idr


@dataclass
class LegacyImport:
    """One run over the file's rows; a rejected row never stops the others."""

    admin: AdminContext
    source_name: str
    dry_run: bool
    expiry_minutes: int
    price: int
    summary: ImportSummary = field(default_factory=ImportSummary)
    seen: set[str] = field(default_factory=set)

    def run(self, rows: list[dict]) -> ImportSummary:
        progress = ProgressLine(len(rows), "import-legacy")
        for number, row in enumerate(rows, start=1):
            self._import_row(row, f"row {number}")
            progress.advance()
        progress.finish()
        return self.summary

    def _import_row(self, row: dict, label: str) -> None:
        try:
            order = map_row(row, self.price)
        except RowRejected as error:
            shown_id = f" (id {str(row['id'])[:50]})" if row["id"] is not None else ""
            self.summary.failed.append((label + shown_id, str(error)))
            return
        label = f"{label} (id {order.legacy_id[:50]})"
        if order.order_id in self.seen:
            self.summary.skipped.append((label, "duplicate id in the file"))
            return
        self.seen.add(order.order_id)
        if self._write(order):
            self._count_imported(order, label)
        else:
            self._bring_forward(order, label)

    def _count_imported(self, order: LegacyOrder, label: str) -> None:
        self.summary.imported.append(order.order_id)
        if order.status == OrderStatus.PAID:
            self.summary.granted.append(order.order_id)
            self._queue_verification(order.order_id)
        if order.flag_reason:
            self.summary.flagged.append((label, order.flag_reason))

    def _bring_forward(self, order: LegacyOrder, label: str) -> None:
        result = bring_forward(order, self.dry_run)
        if result.kind == "forward":
            self.summary.forward.append((label, result.detail))
            wake_deliveries(self.admin.enqueuer, result.outbox_ids)
        elif result.kind == "unchanged":
            self.summary.unchanged.append(order.order_id)
        else:
            getattr(self.summary, result.kind).append((label, result.detail))
        if result.kind == "forward" and order.status == OrderStatus.PAID:
            self._queue_verification(order.order_id)

    def _queue_verification(self, order_id: str) -> None:
        """Once per order becoming PAID here: Midtrans may know the id (same gateway)."""
        self.summary.queued.append(order_id)
        if not self.dry_run:
            self.admin.enqueuer.send(VERIFY_LEGACY_ORDER, order_id)

    def _write(self, order: LegacyOrder) -> bool:
        if self.dry_run:
            return not Order.select().where(Order.order_id == order.order_id).exists()
        return insert_legacy_order(order, self.source_name, self.expiry_minutes)


def insert_legacy_order(order: LegacyOrder, source_name: str, expiry_minutes: int) -> bool:
    """One transaction: the order, its entitlement when paid, the audit entry. False when the
    id is already present (the primary key decides, also against a concurrent import)."""
    created_at = order.created_at or datetime.now(UTC)
    with transaction():
        inserted = list(
            Order.insert(
                order_id=order.order_id,
                # Nobody holds the token: the old customer never got one for this status page.
                order_token_hash=hash_order_token(secrets.token_urlsafe(32)),
                package=PACKAGE_ID,
                customer_name=order.customer_name,
                customer_email=order.customer_email,
                customer_phone=order.customer_phone,
                base_amount=order.amount,
                discount_amount=0,
                final_amount=order.amount,
                status=order.status,
                flagged=order.flag_reason is not None,
                source="legacy",
                created_at=created_at,
                paid_at=created_at if order.status in MONEY_RECEIVED else None,
                expires_at=(
                    created_at + timedelta(minutes=expiry_minutes)
                    if order.status == OrderStatus.PENDING_PAYMENT
                    else None
                ),
            )
            .on_conflict_ignore()
            .returning(Order.order_id)
            .execute()
        )
        if not inserted:
            return False
        if order.status in MONEY_RECEIVED:  # numbered once inserted: a duplicate burns none
            Order.update(receipt_number=next_receipt_number(created_at)).where(
                Order.order_id == order.order_id
            ).execute()
        if order.status == OrderStatus.PAID:
            grant_entitlement(order.order_id, PACKAGE_ID)  # no message: served by the old system
        record_audit(
            ACTOR,
            "legacy_import",
            order.order_id,
            new_status=order.status,
            legacy_id=order.legacy_id,
            source_file=source_name,
            entitlement=order.status == OrderStatus.PAID,
            flagged=order.flag_reason is not None,
            reason=order.flag_reason,
        )
    return True


def print_summary(summary: ImportSummary, dry_run: bool) -> None:
    """Counts first, then the rows behind each count that needs a person."""
    would = "would be " if dry_run else ""
    print(f"{'would import' if dry_run else 'imported'}: {len(summary.imported)}")
    print(f"PAID orders {would}granted course access: {len(summary.granted)}")
    _print_rows(f"{would}brought forward", summary.forward)
    print(f"unchanged: {len(summary.unchanged)}")
    _print_rows("flagged", summary.flagged)
    _print_rows("skipped", summary.skipped)
    _print_rows("failed", summary.failed)
    print(f"{would}queued for Status API verification: {len(summary.queued)}")
    _print_rows(
        "not known to Midtrans, left as imported",
        [(order_id, "PAID in the old system") for order_id in summary.unknown_at_midtrans],
    )
    if dry_run:
        print("dry run: nothing was written")


def summary_json(summary: ImportSummary, dry_run: bool) -> dict:
    """The summary's order ids, and each row that needs a person with its reason."""

    def rows(pairs: list[tuple[str, str]]) -> list[dict]:
        return [{"row": label, "detail": detail} for label, detail in pairs]

    return {
        "dry_run": dry_run,
        "imported": summary.imported,
        "granted": summary.granted,
        "brought_forward": rows(summary.forward),
        "unchanged": summary.unchanged,
        "flagged": rows(summary.flagged),
        "skipped": rows(summary.skipped),
        "failed": rows(summary.failed),
        "queued_for_verification": summary.queued,
        "unknown_at_midtrans": summary.unknown_at_midtrans,
    }


def _print_rows(heading: str, rows: list[tuple[str, str]]) -> None:
    print(f"{heading}: {len(rows)}")
    for label, reason in rows:
        print(f"  {label}: {reason}")
