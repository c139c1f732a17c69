"""The owner corrects a customer's access by hand, from the command line or the console: revoke
or grant, with a reason, audited under who asked, the customer told each time; the order's
payment status never moves, and a grant needs Midtrans to have reported the order paid unless
the owner says the payment was made elsewhere."""

from __future__ import annotations

import getpass
import os
import re
from datetime import timedelta

import pytest

from admin.context import cli_actor
from models.audit import AuditEntry
from models.base import utcnow
from models.db import connection
from models.entitlements import Entitlement
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import declared_actor, running_worker, wait_for
from tests.console_helpers import csrf_token
from tests.factories import insert_order, open_payment, paid_order
from tests.notification_helpers import mails, reported_pending, whatsapp_messages

REASON = "chargeback settled with the bank outside Midtrans"


CLI = cli_actor()


def test_command_line_actions_name_the_os_user_behind_them(monkeypatch):
    assert f"admin:cli:{os.environ.get('SUDO_USER') or getpass.getuser()}" == CLI
    monkeypatch.setenv("SUDO_USER", "sari")  # `sudo ./run.sh admin ...` run by sari
    assert cli_actor() == "admin:cli:sari"


def run(admin_cli, capsys, *argv: str) -> tuple[int, str, str]:
    code = admin_cli(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def access_of(order_id: str) -> Entitlement | None:
    with connection():
        return Entitlement.get_or_none(Entitlement.order == order_id)


def messages(order_id: str, template_name: str) -> list[OutboxMessage]:
    with connection():
        return list(
            OutboxMessage.select()
            .where(
                (OutboxMessage.order == order_id) & (OutboxMessage.template_name == template_name)
            )
            .order_by(OutboxMessage.id)
        )


def audited(action: str) -> list[AuditEntry]:
    with connection():
        return list(AuditEntry.select().where(AuditEntry.action == action))


def status_of(order_id: str) -> str:
    with connection():
        return Order.get_by_id(order_id).status


# --- the command line -------------------------------------------------------------------------


def test_the_owner_revokes_a_paid_orders_access_by_part_of_its_number(
    db, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api)["order_id"]
    code, out, _ = run(
        admin_cli, capsys, "access", "revoke", order_id[-8:].lower(), "--reason", REASON, "--yes"
    )
    assert code == 0 and f"access to {order_id} revoked" in out
    entitlement = access_of(order_id)
    assert entitlement.status == "REVOKED" and entitlement.revoke_reason == f"{CLI}: {REASON}"
    assert status_of(order_id) == "PAID"  # the payment is as Midtrans reported it
    [entry] = audited("access_revoked_by_owner")
    assert (entry.actor, entry.order_id, entry.old_status, entry.new_status) == (
        CLI,
        order_id,
        None,
        None,
    )
    assert entry.details == {"reason": REASON, "order_status": "PAID"}
    channels = sorted(row.channel for row in messages(order_id, "access_withdrawn"))
    assert channels == ["EMAIL", "WHATSAPP"]


def test_revoking_a_revoked_access_changes_nothing_and_says_so(db, sandbox_api, capsys, admin_cli):
    order_id = paid_order(sandbox_api)["order_id"]
    run(admin_cli, capsys, "access", "revoke", order_id, "--reason", REASON, "--yes")
    revoked_at = access_of(order_id).revoked_at
    code, out, _ = run(admin_cli, capsys, "access", "revoke", order_id, "--reason", "x", "--yes")
    assert code == 0 and f"Nothing changed: {order_id} has no active access" in out
    assert access_of(order_id).revoked_at == revoked_at
    assert len(audited("access_revoked_by_owner")) == 1
    assert len(messages(order_id, "access_withdrawn")) == 2


def test_a_paid_order_whose_access_the_owner_revoked_raises_no_paid_without_access_alarm(
    db, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api)["order_id"]
    run(admin_cli, capsys, "access", "revoke", order_id, "--reason", REASON, "--yes")
    long_ago = utcnow() - timedelta(minutes=10)
    Order.update(paid_at=long_ago).where(Order.order_id == order_id).execute()

    alarms = [alarm["name"] for alarm in declared_actor("check_alarms")()]

    assert status_of(order_id) == "PAID" and "paid_without_access" not in alarms


def test_a_revoke_after_a_grant_after_a_revoke_tells_the_customer_each_time(
    db, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api)["order_id"]
    token = access_of(order_id).access_token
    for action in ("revoke", "grant", "revoke"):
        code, _, _ = run(admin_cli, capsys, "access", action, order_id, "--reason", REASON, "--yes")
        assert code == 0
    assert access_of(order_id).status == "REVOKED"
    withdrawn = messages(order_id, "access_withdrawn")
    assert len(withdrawn) == 4  # twice, by email and WhatsApp
    first = {row.channel: row.id for row in withdrawn[:2]}
    assert {row.channel: row.resend_of for row in withdrawn[2:]} == first
    [granted_email, _] = messages(order_id, "access_granted")
    assert granted_email.payload["access_token"] == token  # the link the customer already has


def test_a_grant_gives_back_revoked_access_and_a_second_grant_changes_nothing(
    db, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api)["order_id"]
    run(admin_cli, capsys, "access", "revoke", order_id, "--reason", REASON, "--yes")
    code, out, _ = run(admin_cli, capsys, "access", "grant", order_id, "--reason", "bank", "--yes")
    assert code == 0 and f"access to {order_id} granted" in out
    entitlement = access_of(order_id)
    assert (entitlement.status, entitlement.revoked_at) == ("ACTIVE", None)
    code, out, _ = run(admin_cli, capsys, "access", "grant", order_id, "--reason", "x", "--yes")
    assert code == 0 and f"Nothing changed: {order_id} already has access" in out
    [entry] = audited("access_granted_by_owner")
    assert entry.details == {"reason": "bank", "order_status": "PAID", "despite_status": False}


def test_a_grant_refuses_an_order_midtrans_has_not_reported_paid_unless_despite_status(
    db, capsys, admin_cli
):
    order_id = insert_order("BFA-LEGACY-GRANT-1", status="EXPIRED")
    code, _, err = run(admin_cli, capsys, "access", "grant", order_id, "--reason", REASON, "--yes")
    assert code == 1 and "Midtrans has not reported" in err and "EXPIRED" in err
    assert access_of(order_id) is None and not audited("access_granted_by_owner")

    code, _, _ = run(
        admin_cli,
        capsys,
        "access",
        "grant",
        order_id,
        "--reason",
        "paid by bank transfer to the shop",
        "--despite-status",
        "--yes",
    )
    assert code == 0 and access_of(order_id).status == "ACTIVE"
    assert status_of(order_id) == "EXPIRED"  # still what Midtrans said
    [entry] = audited("access_granted_by_owner")
    assert entry.details["despite_status"] is True and entry.details["order_status"] == "EXPIRED"
    assert len(messages(order_id, "access_granted")) == 2


@pytest.mark.parametrize("status", ["CREATED", "PENDING_PAYMENT"])
def test_a_grant_refuses_an_order_still_awaiting_payment_even_despite_status(
    db, capsys, admin_cli, status
):
    order_id = insert_order(f"BFA-AWAITING-GRANT-{status}", status=status)
    argv = ["access", "grant", order_id, "--reason", REASON, "--despite-status", "--yes"]
    code, _, err = run(admin_cli, capsys, *argv)
    assert code == 1 and "still awaits payment" in err and "cancel the payment first" in err
    assert access_of(order_id) is None and not audited("access_granted_by_owner")


def test_an_order_with_access_that_expires_is_not_told_to_order_again(db, sandbox_api):
    order_id = open_payment()["order_id"]
    reported_pending(order_id)
    with connection():  # access given before grants refused orders awaiting payment
        Entitlement.create(order=order_id, package="ai-movie-course")
    Order.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        Order.order_id == order_id
    ).execute()
    declared_actor("reconcile_order")(order_id)
    assert status_of(order_id) == "EXPIRED"
    assert messages(order_id, "order_expired") == []


def test_without_a_terminal_and_without_yes_nothing_changes(db, sandbox_api, capsys, admin_cli):
    order_id = paid_order(sandbox_api)["order_id"]
    code, _, err = run(admin_cli, capsys, "access", "revoke", order_id, "--reason", REASON)
    assert code == 1 and "add --yes" in err
    assert access_of(order_id).status == "ACTIVE" and not audited("access_revoked_by_owner")


@pytest.mark.parametrize("argv", [["--reason", "   "], ["--reason", "x" * 501]])
def test_a_blank_or_overlong_reason_is_refused(db, sandbox_api, capsys, admin_cli, argv):
    order_id = paid_order(sandbox_api)["order_id"]
    code, _, err = run(admin_cli, capsys, "access", "revoke", order_id, *argv, "--yes")
    assert code == 1 and "Refused: " in err and "reason" in err
    assert access_of(order_id).status == "ACTIVE"


def test_the_customer_gets_the_grant_by_email_and_whatsapp_with_the_link(
    db, worker, sandbox_api, capsys, admin_cli
):
    order_id = insert_order("BFA-LEGACY-GRANT-2", status="EXPIRED")
    argv = ["access", "grant", order_id, "--reason", REASON, "--despite-status", "--yes"]
    assert run(admin_cli, capsys, *argv)[0] == 0
    token = access_of(order_id).access_token

    def granted_mail():
        return [mail for mail in mails(sandbox_api) if "dibuka" in mail["subject"]]

    def granted_whatsapp():
        return [m for m in whatsapp_messages(sandbox_api) if m["template"] == "access_granted"]

    [mail] = wait_for(granted_mail, message="the access granted email")
    [message] = wait_for(granted_whatsapp, message="the access granted WhatsApp")
    assert f"/access/{token}" in mail["text"] and mail["rcpt_tos"] == ["budi@example.com"]
    assert message["to"] == "6281234567890"


# --- the console ------------------------------------------------------------------------------


def _run_queued_admin_actions(system) -> None:
    with running_worker(system["broker"], queues={"maintenance"}, worker_threads=1):
        system["broker"].join("maintenance", timeout=10_000)


def test_the_console_revokes_and_grants_access_from_the_order_page(browser, system):
    order_id = insert_order("BFA-CONSOLE-ACCESS-1", "PAID")
    with connection():
        Entitlement.create(order=order_id, package="ai-movie-course")
    page = browser.get(f"/admin/orders/{order_id}").text
    assert f'action="/admin/orders/{order_id}/access/revoke"' in page
    done = browser.post(
        f"/admin/orders/{order_id}/access/revoke",
        data={"csrf_token": csrf_token(browser, f"/admin/orders/{order_id}"), "reason": REASON},
    )
    assert done.status_code == 202 and "Diantrekan" in done.text
    assert access_of(order_id).status == "ACTIVE"  # the web wrote nothing
    _run_queued_admin_actions(system)
    assert access_of(order_id).status == "REVOKED"
    [entry] = audited("access_revoked_by_owner")
    assert (entry.actor, entry.details["reason"]) == ("admin:web", REASON)

    page = browser.get(f"/admin/orders/{order_id}").text
    assert f'action="/admin/orders/{order_id}/access/grant"' in page
    assert "access_revoked_by_owner" in page
    assert not re.search(r'name="despite_status"', page)  # a PAID order needs no override
    browser.post(
        f"/admin/orders/{order_id}/access/grant",
        data={"csrf_token": csrf_token(browser, f"/admin/orders/{order_id}"), "reason": "ok"},
    )
    _run_queued_admin_actions(system)
    assert access_of(order_id).status == "ACTIVE" and status_of(order_id) == "PAID"


def test_the_console_api_refuses_what_the_shared_code_refuses(admin, system):
    order_id = insert_order("BFA-CONSOLE-ACCESS-2", "EXPIRED")
    path = f"/api/admin/orders/{order_id}/access"
    assert admin.post(f"{path}/grant", json={"reason": " "}).status_code == 422
    refused = admin.post(f"{path}/grant", json={"reason": REASON})
    assert refused.status_code == 409 and "belum melaporkan" in refused.json()["message"]
    awaiting = insert_order("BFA-CONSOLE-ACCESS-3", "PENDING_PAYMENT")
    refused = admin.post(
        f"/api/admin/orders/{awaiting}/access/grant",
        json={"reason": REASON, "despite_status": "on"},
    )
    assert refused.status_code == 409 and "masih menunggu pembayaran" in refused.json()["message"]
    nothing = admin.post(f"{path}/revoke", json={"reason": REASON})
    assert nothing.status_code == 409 and "tidak ada yang diubah" in nothing.json()["message"]
    missing = admin.post("/api/admin/orders/BFA-NO-SUCH/access/revoke", json={"reason": REASON})
    assert missing.status_code == 404
    assert (
        admin.post("/api/admin/orders/no%27such/access/grant", json={"reason": "x"}).status_code
        == 404
    )

    queued = admin.post(f"{path}/grant", json={"reason": REASON, "despite_status": "on"})
    assert queued.status_code == 202
    _run_queued_admin_actions(system)
    assert access_of(order_id).status == "ACTIVE" and status_of(order_id) == "EXPIRED"
    assert audited("access_granted_by_owner")[0].details["despite_status"] is True


def test_a_console_grant_already_done_when_the_worker_runs_is_audited_as_unchanged(admin, system):
    order_id = insert_order("BFA-CONSOLE-ACCESS-3", "PAID")
    path = f"/api/admin/orders/{order_id}/access/grant"
    assert admin.post(path, json={"reason": REASON}).status_code == 202
    assert admin.post(path, json={"reason": REASON}).status_code == 202  # twice, before a worker
    _run_queued_admin_actions(system)
    assert len(audited("access_granted_by_owner")) == 1
    [unchanged] = audited("access_grant_unchanged")
    assert unchanged.actor == "admin:web" and "already has access" in unchanged.details["reason"]
