"""The owner refunds, decides a held card payment or ends an open payment through Midtrans
(the sandbox, answering as Midtrans' reference pages say): each command only asks; the order
moves when Midtrans' notification or the Status API says so. A refund is written before the
call, so a repeat or a retry after a timeout sends the same refund_key and never refunds twice;
virtual-account and store payments are refused with the manual way, nothing asked."""

from __future__ import annotations

import dataclasses

import pytest

from integrations.http import Timeout
from integrations.midtrans import MidtransClient
from messaging.contract import RECONCILE_ORDER
from models.alarms import current_alarms
from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.orders import Order
from models.refunds import Refund
from tasks.clients import guarded_midtrans
from tasks.operations.payment_actions import refund_order
from tests.conftest import declared_actor, running_worker, the_worker, wait_for
from tests.console_helpers import csrf_token
from tests.factories import midtrans_transition, open_payment, paid_order
from tests.test_reconcile_cli import queued_actors

REASON = "the customer asked for their money back"


def run(admin_cli, capsys, *argv: str) -> tuple[int, str, str]:
    code = admin_cli(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def midtrans_calls(sandbox_api, action: str) -> list[dict]:
    """The calls our code made to one of Midtrans' actions (refund, approve, ...)."""
    requests = sandbox_api.get("/_sandbox/midtrans/requests").json()
    return [r for r in requests if r["method"] == "POST" and r["path"].endswith(f"/{action}")]


def midtrans_refunds(sandbox_api, order_id: str) -> list[dict]:
    return sandbox_api.get(f"/_sandbox/midtrans/transactions/{order_id}").json()["refunds"]


def reconcile(order_id: str) -> None:
    """What the queued reconcile_order does: the Status API's answer applied."""
    declared_actor("reconcile_order")(order_id)


def status_of(order_id: str) -> str:
    return Order.get_by_id(order_id).status


@pytest.mark.parametrize("payment_type", ["gopay", "qris"])
def test_a_refund_asks_midtrans_once_and_the_order_ends_refunded_when_midtrans_confirms(
    db, sandbox_api, broker, capsys, admin_cli, payment_type
):
    order_id = paid_order(sandbox_api, payment_type)["order_id"]
    code, out, _ = run(admin_cli, capsys, "refund", order_id[-8:], "--reason", REASON, "--yes")
    assert code == 0 and "the order moves when Midtrans confirms" in out
    assert status_of(order_id) == "PAID"  # asked, not moved by us
    refund = Refund.get(Refund.order == order_id)
    assert (refund.status, refund.amount) == ("ACCEPTED", 99000)
    assert refund.operator.startswith("admin:cli")
    [call] = midtrans_calls(sandbox_api, "refund")
    assert call["body"] == {"refund_key": refund.refund_key, "amount": 99000, "reason": REASON}
    assert call["headers"]["idempotency-key"] == refund.refund_key
    assert "reconcile_order" in queued_actors(broker, RECONCILE_ORDER.queue)

    code, out, _ = run(admin_cli, capsys, "refund", order_id, "--reason", REASON, "--yes")
    assert code == 0 and "already has refund" in out
    assert len(midtrans_calls(sandbox_api, "refund")) == 1  # nothing new asked

    reconcile(order_id)
    assert status_of(order_id) == "REFUNDED"
    assert Entitlement.get(Entitlement.order == order_id).status == "REVOKED"
    assert Refund.get_by_id(refund.id).status == "CONFIRMED"
    actions = [e.action for e in AuditEntry.select().where(AuditEntry.order_id == order_id)]
    assert {"refund_requested", "refund_accepted", "refund_unchanged"} <= set(actions)


def test_a_partial_refund_keeps_the_order_paid_with_its_access(db, sandbox_api, capsys, admin_cli):
    order_id = paid_order(sandbox_api, "gopay")["order_id"]
    argv = ("refund", order_id, "--amount", "40000", "--reason", REASON, "--yes")
    assert run(admin_cli, capsys, *argv)[0] == 0
    reconcile(order_id)
    assert status_of(order_id) == "PAID"
    assert Entitlement.get(Entitlement.order == order_id).status == "ACTIVE"
    assert Refund.get(Refund.order == order_id).status == "CONFIRMED"
    [refunded] = midtrans_refunds(sandbox_api, order_id)
    assert refunded["refund_amount"] == "40000.00"


def test_the_same_partial_refund_run_again_after_midtrans_confirmed_it_asks_nothing(
    db, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api, "gopay")["order_id"]
    argv = ("refund", order_id, "--amount", "10000", "--reason", REASON, "--yes")
    assert run(admin_cli, capsys, *argv)[0] == 0
    reconcile(order_id)  # Midtrans confirmed it: nothing in flight any more
    first = Refund.get(Refund.order == order_id)
    assert first.status == "CONFIRMED"

    again = ("refund", order_id, "--amount", "10000", "--reason", f"  {REASON.upper()} ", "--yes")
    code, out, _ = run(admin_cli, capsys, *again)
    assert code == 0 and "Rp 10.000 was already refunded on" in out
    assert first.refund_key in out and "give another --reason" in out
    assert len(midtrans_calls(sandbox_api, "refund")) == 1  # nothing asked the second time
    assert Refund.select().count() == 1
    assert AuditEntry.get(AuditEntry.action == "refund_unchanged").order_id == order_id

    other = ("refund", order_id, "--amount", "10000", "--reason", "second course", "--yes")
    assert run(admin_cli, capsys, *other)[0] == 0  # another reason: a second refund
    assert len(midtrans_calls(sandbox_api, "refund")) == 2
    reconcile(order_id)
    assert len(midtrans_refunds(sandbox_api, order_id)) == 2


def test_another_amount_while_a_refund_is_in_flight_is_refused_and_not_asked(
    db, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api, "gopay")["order_id"]
    argv = ("refund", order_id, "--amount", "10000", "--reason", REASON, "--yes")
    assert run(admin_cli, capsys, *argv)[0] == 0  # accepted, not yet confirmed
    other = ("refund", order_id, "--amount", "20000", "--reason", REASON, "--yes")
    code, _, err = run(admin_cli, capsys, *other)
    assert code == 1
    assert "refund of Rp 10.000 in flight" in err and "completed first" in err
    assert "Rp 20.000 was not asked" in err
    [call] = midtrans_calls(sandbox_api, "refund")
    assert call["body"]["amount"] == 10000
    assert [r.amount for r in Refund.select()] == [10000]


def test_a_virtual_account_refund_is_refused_with_the_manual_way_and_nothing_asked(
    db, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api, "bank_transfer")["order_id"]
    code, _, err = run(admin_cli, capsys, "refund", order_id, "--reason", REASON, "--yes")
    assert code == 1
    assert "bank account" in err and f"./run.sh admin access revoke {order_id}" in err
    assert midtrans_calls(sandbox_api, "refund") == []
    assert Refund.select().count() == 0
    assert AuditEntry.get(AuditEntry.action == "refund_refused").order_id == order_id


def test_shopeepay_is_refunded_in_full_only_and_an_unpaid_order_not_at_all(
    db, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api, "shopeepay")["order_id"]
    argv = ("refund", order_id, "--amount", "1000", "--reason", REASON, "--yes")
    code, _, err = run(admin_cli, capsys, *argv)
    assert code == 1 and "only be refunded in full" in err
    unpaid = open_payment()["order_id"]
    code, _, err = run(admin_cli, capsys, "refund", unpaid, "--reason", REASON, "--yes")
    assert code == 1 and "only a paid order can be refunded" in err
    assert midtrans_calls(sandbox_api, "refund") == []


def test_a_refund_whose_answer_timed_out_is_retried_with_the_same_refund_key(
    db, sandbox_api, settings
):
    order_id = paid_order(sandbox_api, "gopay")["order_id"]
    services = the_worker().services
    impatient = guarded_midtrans(settings.midtrans, services.redis)
    impatient._client = MidtransClient(settings.midtrans, Timeout.of(0.3))
    slow = {"actions": {"delay_ms": 1000}}  # Midtrans refunds, but answers too late
    sandbox_api.post("/_sandbox/midtrans/faults", json=slow).raise_for_status()
    first = refund_order(
        dataclasses.replace(services, midtrans=impatient), "admin:cli", order_id, REASON
    )
    assert first.is_refused and "run the same command again" in first.message
    assert Refund.get(Refund.order == order_id).status == "REQUESTED"

    sandbox_api.delete("/_sandbox/midtrans/faults").raise_for_status()
    second = refund_order(services, "admin:cli", order_id, REASON)
    assert second.state == "done"
    wait_for(lambda: len(midtrans_calls(sandbox_api, "refund")) == 2)  # the late one too
    keys = {call["body"]["refund_key"] for call in midtrans_calls(sandbox_api, "refund")}
    assert len(keys) == 1
    assert len(midtrans_refunds(sandbox_api, order_id)) == 1  # refunded once
    assert Refund.get(Refund.order == order_id).status == "ACCEPTED"


def challenged_card_payment(sandbox_api) -> str:
    """An order whose card payment Midtrans holds for review (capture, fraud challenge)."""
    order_id = open_payment()["order_id"]
    held = midtrans_transition(
        sandbox_api,
        order_id,
        transaction_status="capture",
        payment_type="credit_card",
        fraud_status="challenge",
        notify=False,
    )
    declared_actor("process_notification")(held["notification"])
    assert status_of(order_id) == "PENDING_PAYMENT"
    return order_id


def test_an_approved_challenge_makes_the_order_paid_through_midtrans(
    db, sandbox_api, capsys, admin_cli
):
    order_id = challenged_card_payment(sandbox_api)
    argv = ("challenge", "approve", order_id, "--reason", "the customer confirmed", "--yes")
    code, out, _ = run(admin_cli, capsys, *argv)
    assert code == 0 and "approve asked Midtrans" in out
    assert status_of(order_id) == "PENDING_PAYMENT"
    reconcile(order_id)
    assert status_of(order_id) == "PAID"
    code, _, err = run(admin_cli, capsys, *argv)  # Midtrans no longer holds it
    assert code == 1 and "cannot modify" in err


def test_a_denied_challenge_leaves_the_order_unpaid_without_access(
    db, sandbox_api, capsys, admin_cli
):
    order_id = challenged_card_payment(sandbox_api)
    argv = ("challenge", "deny", order_id, "--reason", "stolen card", "--yes")
    assert run(admin_cli, capsys, *argv)[0] == 0
    reconcile(order_id)
    assert status_of(order_id) != "PAID"
    assert Entitlement.get_or_none(Entitlement.order == order_id) is None
    [call] = midtrans_calls(sandbox_api, "deny")
    assert call["headers"]["idempotency-key"].startswith("deny-")


def test_cancel_expires_an_open_virtual_account_at_midtrans(db, sandbox_api, capsys, admin_cli):
    order_id = open_payment()["order_id"]
    midtrans_transition(
        sandbox_api, order_id, transaction_status="pending", payment_type="bank_transfer",
        notify=False,
    )  # fmt: skip
    code, out, _ = run(admin_cli, capsys, "cancel", order_id, "--reason", "asked to", "--yes")
    assert code == 0 and "expire asked Midtrans" in out
    assert len(midtrans_calls(sandbox_api, "expire")) == 1
    reconcile(order_id)
    assert status_of(order_id) == "EXPIRED"


def test_cancel_refuses_a_paid_order_and_one_midtrans_has_no_payment_for(
    db, sandbox_api, capsys, admin_cli
):
    paid = paid_order(sandbox_api, "gopay")["order_id"]
    code, _, err = run(admin_cli, capsys, "cancel", paid, "--reason", "x", "--yes")
    assert code == 1 and "only an order awaiting payment" in err
    untouched = open_payment()["order_id"]
    code, _, err = run(admin_cli, capsys, "cancel", untouched, "--reason", "x", "--yes")
    assert code == 1 and "expires by itself" in err
    assert midtrans_calls(sandbox_api, "cancel") == midtrans_calls(sandbox_api, "expire") == []


# --- the console --------------------------------------------------------------------------


def run_queued_admin_actions(system) -> None:
    """A worker on the maintenance queue: the console's actions and the reconciliation they
    queue."""
    with running_worker(system["broker"], queues={"maintenance"}, worker_threads=1):
        system["broker"].join("maintenance", timeout=20_000)


def test_the_console_refund_button_asks_midtrans_once_even_clicked_twice(
    db, browser, system, sandbox_api
):
    order_id = paid_order(sandbox_api, "qris")["order_id"]
    page = browser.get(f"/admin/orders/{order_id}").text
    assert f'action="/admin/orders/{order_id}/refund"' in page
    token = csrf_token(browser, f"/admin/orders/{order_id}")
    for _ in range(2):  # a double click
        clicked = browser.post(
            f"/admin/orders/{order_id}/refund", data={"csrf_token": token, "reason": REASON}
        )
        assert clicked.status_code == 202 and "Diantrekan" in clicked.text
    assert midtrans_calls(sandbox_api, "refund") == []  # the web only queued
    run_queued_admin_actions(system)
    assert len(midtrans_calls(sandbox_api, "refund")) == 1
    assert status_of(order_id) == "REFUNDED"  # through the reconciliation it queued
    requested = AuditEntry.get(AuditEntry.action == "refund_requested")
    assert (requested.actor, requested.details["reason"]) == ("admin:web", REASON)
    assert "CONFIRMED" in browser.get(f"/admin/orders/{order_id}").text


def test_the_console_shows_the_manual_way_for_a_virtual_account_and_refuses_its_refund(
    db, admin, browser, sandbox_api
):
    order_id = paid_order(sandbox_api, "bank_transfer")["order_id"]
    page = browser.get(f"/admin/orders/{order_id}").text
    assert "minta nomor rekening pelanggan" in page
    assert f'action="/admin/orders/{order_id}/refund"' not in page
    path = f"/api/admin/orders/{order_id}/refund"
    refused = admin.post(path, json={"reason": REASON})
    assert refused.status_code == 409 and "transfer" in refused.json()["message"]
    assert admin.post(path, json={"reason": " "}).status_code == 422
    card = paid_order(sandbox_api, "gopay")["order_id"]
    wrong = admin.post(f"/api/admin/orders/{card}/refund", json={"reason": REASON, "amount": "x"})
    assert wrong.status_code == 422
    assert midtrans_calls(sandbox_api, "refund") == []


def test_a_refund_amount_in_other_scripts_digits_is_refused_not_read_as_rupiah(
    db, admin, sandbox_api, capsys, admin_cli
):
    order_id = paid_order(sandbox_api, "gopay")["order_id"]
    arabic_40000 = "\u0664\u0660\u0660\u0660\u0660"  # ٤٠٠٠٠, which int() reads as 40000
    path = f"/api/admin/orders/{order_id}/refund"
    assert admin.post(path, json={"reason": REASON, "amount": arabic_40000}).status_code == 422
    with pytest.raises(SystemExit) as exit_info:
        admin_cli(["refund", order_id, "--amount", arabic_40000, "--reason", REASON, "--yes"])
    assert exit_info.value.code == 2 and "not a whole number" in capsys.readouterr().err
    assert midtrans_calls(sandbox_api, "refund") == []


def test_the_console_approves_a_held_card_payment(db, browser, system, sandbox_api):
    order_id = challenged_card_payment(sandbox_api)
    page = browser.get(f"/admin/orders/{order_id}").text
    assert f'action="/admin/orders/{order_id}/challenge/approve"' in page
    clicked = browser.post(
        f"/admin/orders/{order_id}/challenge/approve",
        data={"csrf_token": csrf_token(browser, f"/admin/orders/{order_id}"), "reason": "ok"},
    )
    assert clicked.status_code == 202
    run_queued_admin_actions(system)
    assert status_of(order_id) == "PAID"
    assert AuditEntry.get(AuditEntry.action == "challenge_approve_requested").actor == "admin:web"


# --- Midtrans' refund notifications -------------------------------------------------------


def test_the_refund_is_confirmed_by_midtrans_and_a_late_bank_confirmation_is_checked(
    db, sandbox_api, broker, capsys, admin_cli
):
    process_notification = declared_actor("process_notification")
    order_id = paid_order(sandbox_api, "gopay")["order_id"]
    assert run(admin_cli, capsys, "refund", order_id, "--reason", REASON, "--yes")[0] == 0
    confirmed = midtrans_transition(
        sandbox_api, order_id, transaction_status="refund", notify=False
    )["notification"]
    [listed] = confirmed["refunds"]
    assert listed["bank_confirmed_at"]  # the sandbox's second notification
    first = confirmed | {"refunds": [{**listed, "bank_confirmed_at": None}]}
    process_notification(first)
    refund = Refund.get(Refund.order == order_id)
    assert status_of(order_id) == "REFUNDED"
    assert refund.status == "CONFIRMED"  # the Status API already lists the bank's confirmation

    Refund.update(status="ACCEPTED").where(Refund.id == refund.id).execute()  # as if not yet
    queued = len(queued_actors(broker, RECONCILE_ORDER.queue))
    process_notification(confirmed)  # the same event for its key, with the bank's confirmation
    assert len(queued_actors(broker, RECONCILE_ORDER.queue)) == queued + 1
    reconcile(order_id)
    assert Refund.get_by_id(refund.id).status == "CONFIRMED"


def test_a_held_card_payment_raises_an_alarm_until_it_is_decided(db, sandbox_api):
    order_id = challenged_card_payment(sandbox_api)
    [alarm] = [a for a in current_alarms(60) if a.name == "payment_challenged"]
    assert alarm.order_ids == [order_id] and "approve or deny" in alarm.message
    assert "setujui atau tolak" in alarm.pesan
    approved = midtrans_transition(
        sandbox_api, order_id, transaction_status="capture", fraud_status="accept", notify=False
    )
    declared_actor("process_notification")(approved["notification"])
    assert "payment_challenged" not in {a.name for a in current_alarms(60)}
