"""A customer's requests about their personal data under UU PDP (No. 27/2022): correct it
(Pasal 6) and forget it (Pasal 8), each one operation (models/personal_data.py and
models/forget.py hold the rules). The person is named by a contact as checkout stores it: an
email or an E.164 phone. Audits name orders, fields and reasons, never the contact itself."""

from __future__ import annotations

from messaging.redis import Sender, wake_deliveries
from models.db import transaction
from models.forget import ForgetRefused, complete_forget, request_forget
from models.order_rows import counted
from models.personal_data import (
    Correction,
    Person,
    correct_person,
    find_by_contact,
    taken_by_others,
)
from tasks.operations import Outcome, audited_unchanged, done, refused

NOBODY = "no order names this contact (or it was already forgotten)"


def correct_contact(
    sender: Sender,
    operator: str,
    contact: str,
    reason: str,
    email: str | None = None,
    phone: str | None = None,
    name: str | None = None,
) -> Outcome:
    """Writes the corrected email, phone or name on every order of the person and every message
    not yet sent; a correction already in place is audited as unchanged."""
    correction = Correction(email=email, phone=phone, name=name)
    action = "personal_data_correction"
    problem = _problem(reason) or (None if correction.fields() else "nothing to correct")
    person = None if problem else find_by_contact(contact)
    if problem or person is None:
        problem = problem or NOBODY
        return refused(operator, f"{action}_refused", None, problem, f"Refused: {problem}")
    problem = _merge_problem(person, correction)
    if problem:
        first = person.order_ids[0]
        return refused(operator, f"{action}_refused", first, problem, f"Refused: {problem}")
    fields = ", ".join(correction.fields())
    if correction.holds_for(person):
        message = f"Nothing changed: the {fields} already read as asked"
        first = person.order_ids[0]
        return audited_unchanged(operator, f"{action}_unchanged", first, message, message)
    with transaction():
        changed = correct_person(person, correction, " ".join(reason.split()), operator)
    return done(
        f"corrected {fields} on {counted(changed, 'order')} and their unsent messages",
        orders=list(person.order_ids),
        fields=correction.fields(),
    )


def forget_contact(sender: Sender, operator: str, contact: str, reason: str) -> Outcome:
    """Step one of a forget request: the goodbye message queued to the old address and the
    request audited (models/forget.py); the erasure follows once the goodbye is final (this
    command waits for it, or the sweeper does it). Refused while a payment of theirs is open."""
    action = "personal_data_erasure"
    problem = _problem(reason)
    person = None if problem else find_by_contact(contact)
    if problem or person is None:
        problem = problem or NOBODY
        return refused(operator, f"{action}_refused", None, problem, f"Refused: {problem}")
    try:
        with transaction() as tx:
            goodbye_order_id, outbox_ids = request_forget(person, reason, operator)
            tx.callbacks.append(lambda: wake_deliveries(sender, outbox_ids))
    except ForgetRefused as refusal:
        order_id = person.order_ids[0]
        return refused(operator, f"{action}_refused", order_id, str(refusal), f"Refused: {refusal}")
    if not outbox_ids:
        message = "Nothing changed: asked before, the first request stands"
        return audited_unchanged(
            operator,
            f"{action}_unchanged",
            goodbye_order_id,
            message,
            message,
            goodbye_order_id=goodbye_order_id,
        )
    return done(
        f"goodbye message queued for {counted(len(person.order_ids), 'order')}",
        goodbye_order_id=goodbye_order_id,
        orders=list(person.order_ids),
        outbox_ids=outbox_ids,
    )


def finish_forget(operator: str, goodbye_order_id: str) -> bool:
    """Step two: erases the request's orders once its goodbye is final; False while it is still
    on its way (the command line asks again, the sweeper too)."""
    with transaction():
        return complete_forget(goodbye_order_id, operator)


def _merge_problem(person: Person, correction: Correction) -> str | None:
    """Why the correction would merge two customers (None when it would not); names the
    fields, never their values (it goes to the audit log)."""
    taken = taken_by_others(person, correction)
    if not taken:
        return None
    verb = "are" if len(taken) > 1 else "is"
    return (
        f"the new {' and '.join(taken)} {verb} already on another customer's orders: "
        "correcting would make two customers one person (see both with `person show`)"
    )


def _problem(reason: str) -> str | None:
    return None if reason.split() else "a reason is required (it goes to the audit log)"
