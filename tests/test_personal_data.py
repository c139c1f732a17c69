"""A customer's rights under UU PDP, answered with one command each: see what is held, correct
it, be forgotten (the money trail stays), and the owner's view of what a leak would expose.
Unpaid checkouts lose their contact details after the retention period.

Real PostgreSQL, Redis, sandbox (SMTP, WhatsApp, Midtrans) and an in-process worker; the
command line runs in this process as `./run.sh admin` would."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from peewee import fn

from admin.context import cli_actor
from models.audit import AuditEntry, record_audit
from models.base import utcnow
from models.db import database, transaction
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.orders import Order, PaymentAttempt
from models.outbox import OutboxMessage
from models.retention import apply_retention
from tests.conftest import declared_actor, wait_for
from tests.factories import insert_order, midtrans_transition, open_payment, paid_order
from tests.notification_helpers import mails, queued_order, whatsapp_messages

NAME = "Sari Wulandari"
EMAIL = "sari.wulandari@example.com"
PHONE = "+6285712345678"
PHONE_FORMS = ("+6285712345678", "6285712345678", "085712345678")
PERSON = {"name": NAME, "email": EMAIL, "phone": PHONE}
CLI = cli_actor()  # `admin:cli:<os user>`, as the command line audits


def run(admin_cli, capsys, *argv: str) -> tuple[int, str, str]:
    code = admin_cli(list(argv))
    output, errors = capsys.readouterr()
    return code, output, errors


def columns_holding(*needles: str) -> list[str]:
    """Every text, JSON or JSONB column of every table (read from information_schema) that
    holds any of `needles`, as `table.column`."""
    cursor = database.execute_sql(
        """SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema()
          AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"""
    )
    found = []
    for table, column in cursor.fetchall():
        for needle in needles:
            hits = database.execute_sql(
                f'SELECT count(*) FROM "{table}" WHERE strpos(lower("{column}"::text), %s) > 0',  # noqa: S608 - names from information_schema
                (needle.lower(),),
            ).fetchone()[0]
            if hits:
                found.append(f"{table}.{column} holds {needle}")
    return found


def paid_sales() -> int:
    return Order.select(fn.SUM(Order.final_amount)).where(Order.status == "PAID").scalar() or 0


def expired_order(sandbox_api, **person) -> str:
    """An order whose payment window closed at Midtrans, through the real notification path."""
    request = open_payment(**person)
    answer = midtrans_transition(
        sandbox_api, request["order_id"], transaction_status="expire", notify=False
    )
    declared_actor("process_notification")(answer["notification"])
    return request["order_id"]


def plant_personal_data_outside_the_orders_columns(paid_id: str) -> None:
    """What a real shop accumulates: a notification carrying the payer's details and card
    digits, an operator's note naming the person, a delivery error quoting the address."""
    PaymentEvent.update(
        raw=PaymentEvent.raw.concat(
            {
                "customer_details": {"email": EMAIL, "phone": "085712345678", "first_name": NAME},
                "masked_card": "481111-1114",
            }
        )
    ).where(PaymentEvent.order_id == paid_id).execute()
    with transaction():
        record_audit("admin:cli", "note", None, text=f"call {NAME} on 6285712345678 or {EMAIL}")
    PaymentAttempt.update(detail=f"customer_details.phone 085712345678 ({NAME})").where(
        PaymentAttempt.order == paid_id
    ).execute()
    OutboxMessage.update(last_error=f"550 mailbox {EMAIL.upper()} is full").where(
        OutboxMessage.order == paid_id
    ).execute()


def test_forget_leaves_no_column_naming_the_person_and_keeps_every_money_figure(
    db, worker, sandbox_api, admin_cli, capsys
):
    paid_id = paid_order(sandbox_api, payment_type="credit_card", **PERSON)["order_id"]
    expired_id = expired_order(sandbox_api, **PERSON)
    stranger_id = paid_order(sandbox_api, name="Budi Santoso", email="budi@example.com")["order_id"]
    plant_personal_data_outside_the_orders_columns(paid_id)
    paid_before = Order.get_by_id(paid_id)
    sales_before = paid_sales()
    assert columns_holding(EMAIL, NAME, *PHONE_FORMS)  # the walk finds what is there

    code, output, errors = run(
        admin_cli, capsys, "person", "forget", "0857-1234-5678", "--reason", "email 7 Dec", "--yes"
    )

    assert code == 0 and "forgotten: 2 orders" in output, errors
    assert columns_holding(EMAIL, NAME, *PHONE_FORMS) == []
    paid_after = Order.get_by_id(paid_id)
    for column in ("status", "final_amount", "base_amount", "discount_amount", "paid_at"):
        assert getattr(paid_after, column) == getattr(paid_before, column)
    assert paid_sales() == sales_before
    assert Entitlement.get(Entitlement.order == paid_id).status == "REVOKED"
    assert Order.get_by_id(expired_id).customer_email.endswith("@invalid")
    stranger = Order.get_by_id(stranger_id)
    assert stranger.customer_email == "budi@example.com"  # nobody else is touched
    assert Entitlement.get(Entitlement.order == stranger_id).status == "ACTIVE"
    # Told first, at the old address, on both channels; then nothing else was sent there.
    subjects = [m["subject"] for m in mails(sandbox_api) if EMAIL in str(m["to"])]
    assert "Data pribadi Anda di Buat Film Pakai AI akan kami hapus" in subjects
    assert any(m["template"] == "data_erased" for m in whatsapp_messages(sandbox_api))
    request = AuditEntry.get(AuditEntry.action == "personal_data_erasure_requested")
    assert request.details["orders"] == sorted([paid_id, expired_id])
    assert request.details["reason"] == "email 7 Dec"


def test_a_new_order_with_a_forgotten_email_starts_clean(
    db, worker, sandbox_api, admin_cli, capsys
):
    old_id = paid_order(sandbox_api, **PERSON)["order_id"]
    assert run(admin_cli, capsys, "person", "forget", EMAIL, "--reason", "asked", "--yes")[0] == 0

    new_id = paid_order(sandbox_api, **PERSON)["order_id"]
    code, output, _ = run(admin_cli, capsys, "person", "show", EMAIL, "--json")

    record = json.loads(output)
    assert code == 0 and [order["order_id"] for order in record["orders"]] == [new_id]
    assert all(entry["order_id"] != old_id for entry in record["audit"])
    assert {m["order_id"] for m in record["messages"]} == {new_id}


def test_a_forgotten_customers_ended_access_raises_no_alarm_but_a_never_granted_one_does(
    db, worker, sandbox_api, admin_cli, capsys
):
    forgotten_id = paid_order(sandbox_api, **PERSON)["order_id"]
    assert run(admin_cli, capsys, "person", "forget", EMAIL, "--reason", "asked", "--yes")[0] == 0
    long_ago = utcnow() - timedelta(minutes=10)
    Order.update(paid_at=long_ago).where(Order.order_id == forgotten_id).execute()
    never_granted = insert_order("BFA-PDP-NO-ACCESS", status="PAID", created_at=long_ago)

    alarms = {alarm["name"]: alarm for alarm in declared_actor("check_alarms")()}

    assert alarms["paid_without_access"]["order_ids"] == [never_granted]


def test_forget_is_refused_while_a_payment_of_theirs_is_open(db, admin_cli, capsys):
    request = open_payment(**PERSON)
    insert_order("BFA-PDP-OLD", status="EXPIRED", email=EMAIL, phone=PHONE)

    code, _, errors = run(admin_cli, capsys, "person", "forget", EMAIL, "--reason", "x", "--yes")

    assert code == 1 and "payment is still open" in errors and request["order_id"] in errors
    assert Order.get_by_id(request["order_id"]).customer_email == EMAIL
    assert not OutboxMessage.select().where(OutboxMessage.template_name == "data_erased").exists()


def test_show_lists_orders_messages_access_and_audit_entries_that_name_them(
    db, sandbox_api, admin_cli, capsys
):
    paid_id = paid_order(sandbox_api, **PERSON)["order_id"]
    with transaction():
        record_audit("admin:cli", "note", None, text=f"customer {EMAIL} called")

    code, output, _ = run(admin_cli, capsys, "person", "show", "6285712345678", "--json")

    record = json.loads(output)
    assert code == 0 and record["emails"] == [EMAIL] and record["names"] == [NAME]
    assert [order["order_id"] for order in record["orders"]] == [paid_id]
    assert {m["template_name"] for m in record["messages"]} == {"payment_success"}
    assert [e["status"] for e in record["entitlements"]] == ["ACTIVE"]
    assert "note" in {entry["action"] for entry in record["audit"]}
    code, output, _ = run(admin_cli, capsys, "person", "show", EMAIL)
    assert code == 0 and "1 order:" in output and paid_id in output
    assert run(admin_cli, capsys, "person", "show", "nobody@example.com")[0] == 1


def test_correct_changes_the_recipient_of_messages_not_yet_sent_audited_with_the_reason(
    db, admin_cli, capsys
):
    rows = queued_order(**PERSON)
    sent_id = rows["EMAIL"]
    OutboxMessage.update(status="SENT", sent_at=utcnow()).where(
        OutboxMessage.id == sent_id
    ).execute()
    pending_id = queued_order(template_name="order_expired", **PERSON)["EMAIL"]

    code, output, _ = run(
        admin_cli,
        capsys,
        "person",
        "correct",
        EMAIL,
        "--email",
        "sari.baru@example.com",
        "--name",
        "Sari W.",
        "--reason",
        "typo at checkout",
        "--yes",
    )

    assert code == 0 and "corrected email, name on 2 orders" in output
    pending = OutboxMessage.get_by_id(pending_id)
    assert pending.recipient == "sari.baru@example.com"
    assert pending.payload["customer_name"] == "Sari W."
    assert OutboxMessage.get_by_id(sent_id).recipient == EMAIL  # where it really went
    assert OutboxMessage.get_by_id(rows["WHATSAPP"]).recipient == PHONE
    assert {order.customer_email for order in Order.select()} == {"sari.baru@example.com"}
    entries = list(AuditEntry.select().where(AuditEntry.action == "personal_data_corrected"))
    assert len(entries) == 2
    assert entries[0].details == {"fields": ["email", "name"], "reason": "typo at checkout"}


def test_a_correction_asked_twice_changes_nothing_the_second_time_and_says_so(
    db, admin_cli, capsys
):
    queued_order(**PERSON)
    argv = ["person", "correct", EMAIL, "--name", "Sari W.", "--reason", "typo", "--yes"]
    assert run(admin_cli, capsys, *argv)[0] == 0

    code, output, _ = run(admin_cli, capsys, *argv)

    assert code == 0 and "Nothing changed" in output
    actions = [entry.action for entry in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions.count("personal_data_corrected") == 1
    unchanged = AuditEntry.get(AuditEntry.action == "personal_data_correction_unchanged")
    assert unchanged.actor == CLI and EMAIL not in json.dumps(unchanged.details)


@pytest.mark.parametrize(
    ("flag", "taken"), [("--email", "eve.e@example.com"), ("--phone", "+6281299998888")]
)
def test_a_correction_to_another_customers_email_or_phone_is_refused_so_they_never_merge(
    db, admin_cli, capsys, flag, taken
):
    queued_order(**PERSON)
    insert_order("BFA-PDP-EVE", status="EXPIRED", email="eve.e@example.com", phone="+6281299998888")

    argv = ["person", "correct", EMAIL, flag, taken, "--reason", "x", "--yes"]
    code, _, errors = run(admin_cli, capsys, *argv)

    assert code == 1 and "already on another customer's orders" in errors
    assert Order.get_by_id("BFA-PDP-EVE").customer_email == "eve.e@example.com"
    assert {o.customer_email for o in Order.select()} == {EMAIL, "eve.e@example.com"}
    refusal = AuditEntry.get(AuditEntry.action == "personal_data_correction_refused")
    assert taken not in json.dumps(refusal.details) and EMAIL not in json.dumps(refusal.details)
    assert not AuditEntry.select().where(AuditEntry.action == "personal_data_corrected").exists()
    code, output, _ = run(admin_cli, capsys, "person", "show", EMAIL, "--json")
    assert json.loads(output)["emails"] == [EMAIL]  # still two people


def test_a_correction_without_a_terminal_to_confirm_and_without_yes_changes_nothing(
    db, admin_cli, capsys
):
    queued_order(**PERSON)
    argv = ["person", "correct", EMAIL, "--name", "Sari W.", "--reason", "typo"]

    code, _, errors = run(admin_cli, capsys, *argv)

    assert code == 1 and "no terminal to ask; add --yes" in errors and "Nothing changed" in errors
    assert Order.get().customer_name == NAME
    assert not AuditEntry.select().where(AuditEntry.action == "personal_data_corrected").exists()


def test_a_correction_or_forget_for_nobody_is_refused_and_audited_without_the_contact(
    db, admin_cli, capsys
):
    argv = ["person", "correct", "nobody@example.com", "--name", "X", "--reason", "typo"]
    code, _, errors = run(admin_cli, capsys, *argv)

    assert code == 1 and "no order names this contact" in errors
    refusal = AuditEntry.get(AuditEntry.action == "personal_data_correction_refused")
    assert refusal.actor == CLI and "nobody" not in json.dumps(refusal.details)
    code, _, errors = run(
        admin_cli, capsys, "person", "forget", "nobody@example.com", "--reason", "x", "--yes"
    )
    assert code == 1 and "no order names nobody@example.com" in errors


def test_a_forget_asked_again_while_the_goodbye_is_on_its_way_queues_nothing_more(
    db, sandbox_api, admin_cli, capsys
):
    paid_id = paid_order(sandbox_api, **PERSON)["order_id"]
    argv = ["person", "forget", EMAIL, "--reason", "x", "--yes", "--wait", "0"]
    assert run(admin_cli, capsys, *argv)[0] == 0

    code, output, _ = run(admin_cli, capsys, *argv)

    assert code == 0 and "first request stands" in output
    assert "sweeper completes the erasure" in output
    goodbyes = OutboxMessage.select().where(OutboxMessage.template_name == "data_erased")
    assert goodbyes.count() == 2  # one email, one WhatsApp
    requests = AuditEntry.select().where(AuditEntry.action == "personal_data_erasure_requested")
    assert [entry.actor for entry in requests] == [CLI]
    assert AuditEntry.get(AuditEntry.action == "personal_data_erasure_unchanged").order_id
    assert Order.get_by_id(paid_id).customer_email == EMAIL  # erased once the goodbye is final


@pytest.mark.parametrize("bad", [["--email", "not-an-email"], ["--phone", "0211234567"], []])
def test_a_correction_is_checked_as_checkout_checks_it(db, admin_cli, capsys, bad):
    queued_order(**PERSON)
    with pytest.raises(SystemExit) as usage:
        admin_cli(["person", "correct", EMAIL, *bad, "--reason", "x"])
    assert usage.value.code == 2
    assert Order.get().customer_email == EMAIL


def test_show_of_text_that_is_neither_an_email_nor_a_phone_says_so(db, admin_cli, capsys):
    with pytest.raises(SystemExit) as usage:
        admin_cli(["person", "show", "not an email"])
    assert usage.value.code == 2
    errors = capsys.readouterr().err
    assert "neither an email" in errors and "nor a phone number" in errors
    assert "Nomor WhatsApp" not in errors


def _ended(order_id: str, days_ago: float) -> None:
    moment = utcnow() - timedelta(days=days_ago)
    Order.update(created_at=moment, updated_at=moment).where(Order.order_id == order_id).execute()


def test_retention_pseudonymises_an_unpaid_order_after_30_days_but_not_at_29_nor_a_paid_one(db):
    old = insert_order("BFA-RET-31", status="EXPIRED", email="old@example.com")
    young = insert_order("BFA-RET-29", status="FAILED", email="young@example.com")
    paid = insert_order("BFA-RET-PAID", status="PAID", email="paid@example.com")
    for order_id, days in ((old, 31), (young, 29), (paid, 31)):
        _ended(order_id, days)
    with transaction():
        record_audit("worker", "order_created", old, note="old@example.com checked out")

    assert apply_retention(30, 90, utcnow()) == {"unpaid_orders": 1, "message_bodies": 0}

    emails = {order.order_id: order.customer_email for order in Order.select()}
    assert emails[old].startswith("forgotten-") and emails[old].endswith("@invalid")
    assert (emails[young], emails[paid]) == ("young@example.com", "paid@example.com")
    assert columns_holding("old@example.com") == []
    assert apply_retention(30, 90, utcnow()) == {"unpaid_orders": 0, "message_bodies": 0}


def test_retention_empties_finished_message_bodies_after_their_days(db, admin_cli, capsys):
    rows = queued_order(**PERSON)
    old_moment = utcnow() - timedelta(days=91)
    OutboxMessage.update(status="SENT", sent_at=old_moment, updated_at=old_moment).where(
        OutboxMessage.id == rows["EMAIL"]
    ).execute()
    OutboxMessage.update(status="SENT", sent_at=utcnow()).where(
        OutboxMessage.id == rows["WHATSAPP"]
    ).execute()

    assert apply_retention(30, 90, utcnow())["message_bodies"] == 1

    assert OutboxMessage.get_by_id(rows["EMAIL"]).payload == {}
    assert OutboxMessage.get_by_id(rows["WHATSAPP"]).payload["customer_name"] == NAME
    order_id = OutboxMessage.get_by_id(rows["EMAIL"]).order_id
    assert admin_cli(["outbox", "resend", order_id, "payment_instructions"]) == 1
    assert "body of order" in capsys.readouterr().err  # an empty message is never sent
    assert OutboxMessage.select().count() == 2


def test_the_sweeper_completes_a_forget_left_waiting_and_applies_retention(
    db, sandbox_api, admin_cli, capsys, worker
):
    paid_id = paid_order(sandbox_api, **PERSON)["order_id"]
    unpaid_id = insert_order("BFA-SWEEP-OLD", status="EXPIRED", email="old@example.com")
    _ended(unpaid_id, 31)
    code, output, _ = run(
        admin_cli, capsys, "person", "forget", EMAIL, "--reason", "x", "--yes", "--wait", "0"
    )
    assert code == 0 and "sweeper completes the erasure" in output
    assert Order.get_by_id(paid_id).customer_email == EMAIL

    def goodbye_statuses() -> set[str]:
        query = OutboxMessage.select().where(OutboxMessage.template_name == "data_erased")
        return {row.status for row in query}

    wait_for(lambda: goodbye_statuses() == {"SENT"}, message="goodbye delivered")

    declared_actor("sweep")()

    assert Order.get_by_id(paid_id).customer_email.endswith("@invalid")
    assert columns_holding(EMAIL) == []
    assert Order.get_by_id(unpaid_id).customer_email.endswith("@invalid")  # retention ran too


def test_exposure_counts_what_a_leak_would_expose_and_whom_to_tell(
    db, sandbox_api, admin_cli, capsys
):
    paid_order(sandbox_api, **PERSON)
    insert_order("BFA-EXP-1", status="EXPIRED", email="budi@example.com")
    insert_order("BFA-EXP-2", status="EXPIRED", email="gone@example.com", phone="+6281299990000")
    _ended("BFA-EXP-2", 40)
    apply_retention(30, 90, utcnow())

    code, output, _ = run(
        admin_cli, capsys, "person", "exposure", "--since", "2020-01-01", "--json"
    )

    report = json.loads(output)
    assert code == 0
    counts = report["counts"]
    assert counts["people"] == 2 and counts["emails"] == 2 and counts["phones"] == 2
    assert counts["orders_with_contact_details"] == 2 and counts["active_access_links"] == 1
    assert counts["orders_pseudonymised_since"] == 1
    assert sorted(person["email"] for person in report["contacts"]) == [
        "budi@example.com",
        EMAIL,
    ]
    code, output, _ = run(admin_cli, capsys, "person", "exposure", "--since", "2020-01-01")
    assert code == 0 and "contacts to notify" in output and EMAIL in output


def test_the_console_shows_what_is_held_about_the_person_behind_an_order(admin, browser):
    insert_order("BFA-CON-1", status="PAID", email=EMAIL, phone=PHONE)
    insert_order("BFA-CON-2", status="EXPIRED", email="typo@example.com", phone=PHONE)
    insert_order("BFA-CON-3", status="EXPIRED", email="budi@example.com", phone="+6281299990000")

    answer = admin.get("/api/admin/orders/BFA-CON-1/person")

    assert answer.status_code == 200, answer.text
    person = answer.json()["person"]
    assert [order["order_id"] for order in person["orders"]] == ["BFA-CON-1", "BFA-CON-2"]
    assert person["emails"] == [EMAIL, "typo@example.com"]
    page = browser.get("/admin/orders/BFA-CON-1/person")
    assert page.status_code == 200 and "typo@example.com" in page.text
    assert "budi@example.com" not in page.text
    assert 'href="/admin/orders/BFA-CON-1/person"' in browser.get("/admin/orders/BFA-CON-1").text
    assert admin.get("/api/admin/orders/BFA-NOPE/person").status_code == 404
    assert admin.post("/api/admin/orders/BFA-CON-1/person").status_code == 405


def test_the_privacy_page_says_what_is_kept_for_how_long_and_how_to_ask(http):
    page = http.get("/privasi").text
    for promise in ("30 hari", "90 hari", "14 hari", "3 x 24 jam", "10 tahun", "Penghapusan"):
        assert promise in page
