"""One person's data across every table (UU PDP): finding it, showing it to them, correcting it,
and what a leak of the database or a backup would expose.

A person is the set of orders checked out with their email or phone, widened to the orders that
share an email or phone with those (a typo in one field still finds them); `show` lists them,
so the operator sees who is meant before `correct` or `forget` acts. Pseudonymised orders hold
placeholders at the `.invalid` domain, which checkout's email validation never accepts, so they
are never found again: a new order with the same email starts clean."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import SQL, fn
from psycopg2.extras import Json

from models.audit import AuditEntry, record_audit
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.order_rows import audit_row, entitlement_row, event_row, iso, order_summary, outbox_row
from models.orders import Order
from models.outbox import OutboxMessage
from models.statuses import Channel, EntitlementStatus, OrderStatus, OutboxStatus

PLACEHOLDER_DOMAIN = "@invalid"
LINK_ROUNDS = 3  # email -> phone -> email: a person rarely spreads further
ERASED_ACTIONS = ("personal_data_erased", "contact_details_expired")
BACKUP_KEEP_DAYS = 14  # deploy/systemd/bfa-backup.service deletes older dumps


@dataclass(frozen=True)
class Person:
    """The orders that name one person and every value of theirs those orders hold."""

    order_ids: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    names: tuple[str, ...]


def pseudonymised(order: Order) -> bool:
    return order.customer_email.endswith(PLACEHOLDER_DOMAIN)


def not_pseudonymised():
    """The SQL condition for orders that still hold real contact details."""
    return ~Order.customer_email.endswith(PLACEHOLDER_DOMAIN)


def person_of(orders: list[Order]) -> Person | None:
    """The person these orders name (distinct values, in a stable order), or None."""
    if not orders:
        return None
    return Person(
        order_ids=tuple(sorted(order.order_id for order in orders)),
        emails=tuple(sorted({order.customer_email for order in orders})),
        phones=tuple(sorted({order.customer_phone for order in orders})),
        names=tuple(sorted({order.customer_name for order in orders})),
    )


def find_person(email: str | None = None, phone: str | None = None) -> Person | None:
    """The orders checked out with `email` (any case) or `phone` (E.164), and those sharing an
    email or phone with them; None when no order names them."""
    emails = {email.lower()} if email else set()
    phones = {phone} if phone else set()
    orders: list[Order] = []
    for _ in range(LINK_ROUNDS):
        orders = _orders_naming(emails, phones)
        found_emails = {order.customer_email.lower() for order in orders}
        found_phones = {order.customer_phone for order in orders}
        if found_emails <= emails and found_phones <= phones:
            break
        emails, phones = emails | found_emails, phones | found_phones
    return person_of(orders)


def find_by_contact(contact: str) -> Person | None:
    """The person behind an email (it holds `@`) or an E.164 phone, as checkout stores them."""
    if "@" in contact:
        return find_person(email=contact)
    return find_person(phone=contact)


def _orders_naming(emails: set[str], phones: set[str]) -> list[Order]:
    condition = fn.lower(Order.customer_email).in_(list(emails) or [""])
    condition |= Order.customer_phone.in_(list(phones) or [""])
    return list(Order.select().where(condition & not_pseudonymised()).order_by(Order.created_at))


def locked_orders(order_ids: tuple[str, ...] | list[str]) -> list[Order]:
    """The orders under FOR UPDATE in a fixed order (two requests never deadlock)."""
    query = Order.select().where(Order.order_id.in_(list(order_ids))).order_by(Order.order_id)
    return list(query.for_update())


def person_record(person: Person) -> dict:
    """Everything the shop holds about the person, for their access request (UU PDP Pasal 7)."""
    ids = list(person.order_ids)
    orders = Order.select().where(Order.order_id.in_(ids)).order_by(Order.created_at)
    messages = OutboxMessage.select().where(OutboxMessage.order.in_(ids)).order_by(OutboxMessage.id)
    access = Entitlement.select().where(Entitlement.order.in_(ids)).order_by(Entitlement.id)
    events = PaymentEvent.select().where(PaymentEvent.order_id.in_(ids)).order_by(PaymentEvent.id)
    return {
        "emails": list(person.emails),
        "phones": list(person.phones),
        "names": list(person.names),
        "orders": [order_summary(order) for order in orders],
        "messages": [outbox_row(message) for message in messages],
        "entitlements": [{"order_id": row.order_id, **entitlement_row(row)} for row in access],
        "payment_notifications": [{"order_id": e.order_id, **event_row(e)} for e in events],
        "audit": [audit_row(entry) for entry in _audit_naming(person)],
    }


def _audit_naming(person: Person) -> list[AuditEntry]:
    """Entries about the person's orders, and any other entry whose details hold their email or
    phone (an operator's note, a requeued checkout)."""
    details = AuditEntry.details.cast("text")
    condition = AuditEntry.order_id.in_(list(person.order_ids))
    for value in person.emails + person.phones:
        condition |= details.contains(value)
    return list(
        AuditEntry.select().where(condition).order_by(AuditEntry.occurred_at, AuditEntry.id)
    )


@dataclass(frozen=True)
class Correction:
    email: str | None = None
    phone: str | None = None
    name: str | None = None

    def fields(self) -> list[str]:
        return [name for name in ("email", "phone", "name") if getattr(self, name)]

    def holds_for(self, person: Person) -> bool:
        """True when every order of the person already reads as corrected."""
        held = {"email": person.emails, "phone": person.phones, "name": person.names}
        return all(held[field] == (getattr(self, field),) for field in self.fields())


def taken_by_others(person: Person, correction: Correction) -> list[str]:
    """The corrected fields (email, phone) already on orders that are not this person's:
    writing them would make two customers one person (`show` would list both, `forget` erase
    both)."""
    others = Order.select().where(
        Order.order_id.not_in(list(person.order_ids)) & not_pseudonymised()
    )
    taken = []
    if correction.email:
        same_email = fn.lower(Order.customer_email) == correction.email.lower()
        if others.where(same_email).exists():
            taken.append("email")
    if correction.phone and others.where(Order.customer_phone == correction.phone).exists():
        taken.append("phone")
    return taken


def correct_person(person: Person, correction: Correction, reason: str, actor: str) -> int:
    """Writes the corrected contact on every order of the person and on every message not yet
    sent (UU PDP Pasal 6): access-link requests, resends and queued messages use it from now on.
    Sent messages keep the address they went to. One audit entry per order, with the reason and
    the names of the fields, not their values. Call inside a transaction; the orders changed."""
    orders = locked_orders(person.order_ids)
    contact = {
        field: value
        for field, value in (
            (Order.customer_email, correction.email),
            (Order.customer_phone, correction.phone),
            (Order.customer_name, correction.name),
        )
        if value
    }
    ids = [order.order_id for order in orders]
    Order.update(contact).where(Order.order_id.in_(ids)).execute()
    unsent = OutboxMessage.order.in_(ids) & (OutboxMessage.status != OutboxStatus.SENT)
    for channel, value in ((Channel.EMAIL, correction.email), (Channel.WHATSAPP, correction.phone)):
        if value:
            OutboxMessage.update(recipient=value).where(
                unsent & (OutboxMessage.channel == channel)
            ).execute()
    if correction.name:
        name = Json(correction.name)
        payload = fn.jsonb_set(OutboxMessage.payload, "{customer_name}", name)
        OutboxMessage.update(payload=payload).where(
            unsent & SQL("payload ? 'customer_name'")
        ).execute()
    for order_id in ids:
        record_audit(
            actor, "personal_data_corrected", order_id, fields=correction.fields(), reason=reason
        )
    return len(ids)


def exposure(since: datetime) -> dict:
    """Who a leak of the database, or of a backup taken since `since`, would expose: everyone
    whose contact details are still held (each backup holds them too), with the contacts to
    notify (UU PDP Pasal 46: within 3 x 24 hours), and how many orders were pseudonymised since
    then (still inside those backups, but no longer reachable from here)."""
    people = _people_held()
    held = Order.select().where(not_pseudonymised())
    return {
        "since": iso(since),
        "counts": {
            "people": len(people),
            "orders_with_contact_details": held.count(),
            "emails": len({person["email"] for person in people}),
            "phones": len({phone for person in people for phone in person["phones"]}),
            "names": len({name for person in people for name in person["names"]}),
            "active_access_links": _active_access_count(),
            "message_bodies": OutboxMessage.select().where(SQL("payload <> '{}'::jsonb")).count(),
            "card_number_fragments": PaymentEvent.select()
            .where(SQL("raw ? 'masked_card'"))
            .count(),
            "orders_pseudonymised_since": _erased_since(since),
        },
        "backups_kept_days": BACKUP_KEEP_DAYS,
        "contacts": people,
    }


def _count(model, condition: str) -> int:
    return model.select().where(SQL(condition)).count()


def _people_held() -> list[dict]:
    """One entry per email still held: its phones, names, orders and whether access is open."""
    people: dict[str, dict] = {}
    for order in Order.select().where(not_pseudonymised()).order_by(Order.created_at):
        person = people.setdefault(
            order.customer_email.lower(),
            {"email": order.customer_email, "phones": [], "names": [], "orders": 0, "paid": 0},
        )
        for key, value in (("phones", order.customer_phone), ("names", order.customer_name)):
            if value not in person[key]:
                person[key].append(value)
        person["orders"] += 1
        person["paid"] += order.status == OrderStatus.PAID
    return list(people.values())


def _active_access_count() -> int:
    return (
        Entitlement.select()
        .join(Order, on=(Entitlement.order == Order.order_id))
        .where((Entitlement.status == EntitlementStatus.ACTIVE) & not_pseudonymised())
        .count()
    )


def _erased_since(since: datetime) -> int:
    query = AuditEntry.select(fn.COUNT(AuditEntry.order_id.distinct())).where(
        AuditEntry.action.in_(ERASED_ACTIONS) & (AuditEntry.occurred_at >= since)
    )
    return query.scalar() or 0
