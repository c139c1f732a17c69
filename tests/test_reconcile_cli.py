"""`./run.sh admin reconcile`: an operator asks Midtrans about an order now; the answer goes
through the state machine, the request is audited, and numbers out of range are usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import dramatiq
import pytest

from admin.context import cli_actor
from models.audit import AuditEntry
from models.base import utcnow
from models.entitlements import Entitlement
from models.orders import Order
from tests.factories import insert_order, midtrans_transition, open_payment
from tests.webhook_helpers import _drain


def run(admin_cli, capsys, *argv: str) -> tuple[int, str]:
    code = admin_cli(list(argv))
    return code, capsys.readouterr().out


def queued_actors(broker, queue_name: str) -> list[str]:
    stored = broker.client.hvals(f"{broker.namespace}:{queue_name}.msgs")
    return [dramatiq.Message.decode(raw).actor_name for raw in stored]


def test_a_lost_settlement_is_applied_when_the_operator_reconciles_the_order(
    db, sandbox_api, capsys, admin_cli
):
    order_id = open_payment()["order_id"]
    before = Order.get_by_id(order_id).status
    midtrans_transition(sandbox_api, order_id, transaction_status="settlement", notify=False)
    code, output = run(admin_cli, capsys, "reconcile", order_id)
    assert code == 0
    assert f"{order_id}: {before} -> PAID" in output
    assert Entitlement.get(Entitlement.order == order_id).status == "ACTIVE"
    request = AuditEntry.get(AuditEntry.action == "reconcile_requested")
    assert (request.actor, request.order_id, request.old_status) == (cli_actor(), order_id, before)


def test_an_order_midtrans_has_nothing_new_about_stays_as_it_is(db, capsys, admin_cli):
    order_id = open_payment()["order_id"]
    status = Order.get_by_id(order_id).status
    code, output = run(admin_cli, capsys, "reconcile", order_id)
    assert code == 0
    assert f"{order_id}: {status} -> {status} (unchanged)" in output


def test_any_unique_part_of_the_number_names_the_order_and_a_shared_part_names_none(
    db, sandbox_api, capsys, admin_cli
):
    order_id, other_id = (open_payment()["order_id"] for _ in range(2))
    midtrans_transition(sandbox_api, order_id, transaction_status="settlement", notify=False)
    code, output = run(admin_cli, capsys, "reconcile", order_id[-8:].lower())
    assert code == 0 and f"{order_id}: PENDING_PAYMENT -> PAID" in output
    shared = os.path.commonprefix([order_id, other_id])
    code = admin_cli(["reconcile", shared])
    assert code == 1 and f"{shared}: matches several orders" in capsys.readouterr().err
    assert Order.get_by_id(other_id).status == "PENDING_PAYMENT"
    assert admin_cli(["reconcile", " "]) == 1  # blank matches every order: refused, not guessed
    assert "too short" in capsys.readouterr().err
    assert AuditEntry.select().where(AuditEntry.action == "reconcile_requested").count() == 1


def test_an_unknown_order_id_exits_1_and_the_others_are_still_reconciled(db, capsys, admin_cli):
    order_id = open_payment()["order_id"]
    code = admin_cli(["reconcile", "BFA-NO-SUCH-ORDER", order_id])
    output, errors = capsys.readouterr()
    assert code == 1
    assert "BFA-NO-SUCH-ORDER: no order matches" in errors and "NO-SUCH" not in output
    assert f"{order_id}: " in output and "(unchanged)" in output
    assert AuditEntry.select().where(AuditEntry.order_id == "BFA-NO-SUCH-ORDER").count() == 0


def test_reconcile_json_says_per_order_what_changed_and_what_could_not_be_asked(
    db, sandbox_api, capsys, admin_cli
):
    order_id = open_payment()["order_id"]
    before = Order.get_by_id(order_id).status
    midtrans_transition(sandbox_api, order_id, transaction_status="settlement", notify=False)
    code = admin_cli(["-v", "reconcile", order_id, "BFA-NO-SUCH-ORDER", "--json"])
    output, errors = capsys.readouterr()
    assert code == 1 and "BFA-NO-SUCH-ORDER: no order matches" in errors
    assert f"/v2/{order_id}/status" in errors  # the INFO log of the Status API call: stderr
    assert json.loads(output) == {
        "orders": [
            {"order_id": order_id, "before": before, "after": "PAID", "error": None},
            {
                "order_id": "BFA-NO-SUCH-ORDER",
                "before": None,
                "after": None,
                "error": "no order matches",
            },
        ],
        "queued_all_pending": False,
    }


def test_all_pending_queues_the_periodic_reconciliation(db, system, capsys, admin_cli):
    code, output = run(admin_cli, capsys, "reconcile", "--all-pending")
    assert code == 0 and "queued the periodic reconciliation" in output
    assert queued_actors(system["broker"], "maintenance") == ["reconcile"]
    request = AuditEntry.get(AuditEntry.action == "reconcile_requested")
    assert request.actor == cli_actor() and request.details == {"scope": "all_pending"}


@pytest.mark.parametrize(
    "argv",
    [
        ("outbox", "list"),
        ("dead-letters", "list"),
        ("packages", "list"),
        ("discounts", "list"),
        ("reconcile", "BFA-JSON-1", "--all-pending"),
        ("orders", "show", "BFA-JSON-1"),
    ],
)
def test_every_listing_prints_one_json_document_and_logs_only_to_stderr(
    db, capsys, admin_cli, argv
):
    insert_order("BFA-JSON-1")
    assert admin_cli(["-v", *argv, "--json"]) == 0
    output, _ = capsys.readouterr()
    assert isinstance(json.loads(output), dict | list)  # nothing but the document on stdout


def test_reconcile_without_orders_is_a_usage_error(capsys, admin_cli):
    assert admin_cli(["reconcile"]) == 2
    assert "ORDER_ID" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ("outbox", "list", "--limit", "-1"),
        ("outbox", "list", "--limit", "0"),
        ("outbox", "list", "--limit", "99999999999999999999"),
        ("outbox", "list", "--limit", "ten"),
        ("dead-letters", "purge", "--older-than", "-1"),
        ("dead-letters", "purge", "--older-than", "99999999999"),
    ],
)
def test_a_count_out_of_range_is_a_one_line_usage_error(argv, capsys, admin_cli):
    with pytest.raises(SystemExit) as exit_info:
        admin_cli(list(argv))
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "error: argument" in error and "Traceback" not in error


@pytest.mark.parametrize("status", ["settlement", "pending", None])
def test_reconcile_asks_midtrans_once_per_order(db, sandbox_api, capsys, admin_cli, status):
    order_id = open_payment()["order_id"]
    if status:
        midtrans_transition(sandbox_api, order_id, transaction_status=status, notify=False)
    sandbox_api.delete("/_sandbox/midtrans/requests").raise_for_status()
    assert run(admin_cli, capsys, "reconcile", order_id)[0] == 0
    asked = [
        call
        for call in sandbox_api.get("/_sandbox/midtrans/requests").json()
        if call["path"].endswith("/status")
    ]
    assert len(asked) == 1, asked


def status_api_requests(sandbox_api) -> list[dict]:
    calls = sandbox_api.get("/_sandbox/midtrans/requests").json()
    return [call for call in calls if call["path"].endswith("/status")]


@pytest.mark.parametrize("status", ["settlement", "expire", "pending", None])
def test_reconciling_a_stale_order_asks_midtrans_once_end_to_end(
    db, sandbox_api, worker, broker, capsys, admin_cli, status
):
    """The whole path: the command, and every message it leads the running worker to process
    (deliveries, anything queued after commit), asks the Status API once per order."""
    order_ids = [open_payment()["order_id"] for _ in range(2)]
    Order.update(expires_at=utcnow() - timedelta(hours=1)).execute()
    for order_id in order_ids:
        if status:
            midtrans_transition(sandbox_api, order_id, transaction_status=status, notify=False)
    sandbox_api.delete("/_sandbox/midtrans/requests").raise_for_status()
    assert run(admin_cli, capsys, "reconcile", *order_ids)[0] == 0
    _drain(broker, "payments", "webhooks", "notifications", "maintenance")
    asked = [call["path"] for call in status_api_requests(sandbox_api)]
    assert sorted(asked) == sorted(f"/v2/{order_id}/status" for order_id in order_ids), asked


def test_a_database_outage_is_one_clear_line_not_a_traceback(settings):
    """Run as the operator runs it: a fresh process whose database does not answer."""
    unreachable = "postgresql://bfa@127.0.0.1:9/bfa"
    env = {**os.environ, "DATABASE_URL": unreachable, "REDIS_URL": settings.redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "admin.cli", "orders", "show", "BFA-ANY"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: the database is unavailable"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
