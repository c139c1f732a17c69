"""Pseudonymising personal data irreversibly, in every text and JSON column of every table.

The columns are read from information_schema at each run, so a column a later migration adds
(a receipt number, a note) is covered without a list to keep in step. In the rows of the
orders being erased, the person's emails, phones (as `+62...`, `62...` and `08...`) and names
are replaced wherever they occur (the outbox's payloads, raw notifications, audit details,
error texts); for `forget` their emails and phones are also replaced in rows tied to no order.
The replacement is `forgotten-<random>`: random, not a hash, so nothing can be brute-forced back
from it, and a new order with the same email shares nothing with the old ones. Amounts, dates,
statuses, methods and ids are not text that can hold a contact and stay as they were."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

from models.db import database
from models.orders import Order
from models.outbox import OutboxMessage

# Keys of a stored Midtrans notification that describe the payer rather than the payment.
PAYER_KEYS = ("customer_details", "masked_card", "saved_token_id", "card_token")
TEXT_TYPES = ("text", "character varying", "character")
JSON_TYPES = ("json", "jsonb")
_KEY_COLUMNS = ("order_id",)  # identifiers, never personal data: never rewritten
_ARE_SPECIAL = re.compile(r"([.^$*+?()\[\]{}|\\])")


@dataclass(frozen=True)
class Placeholders:
    email: str
    phone: str
    name: str


def new_placeholders() -> Placeholders:
    """Fresh random stand-ins; the email's `.invalid` domain marks the order as pseudonymised."""
    token = secrets.token_hex(8)
    return Placeholders(f"forgotten-{token}@invalid", f"forgotten-{token}", f"forgotten-{token}")


@dataclass(frozen=True)
class Erasure:
    """One order to erase: every value of the person to find in its rows, and the stand-ins."""

    order_id: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    names: tuple[str, ...]
    placeholders: Placeholders


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    is_json: bool
    has_order_id: bool


def text_columns() -> list[Column]:
    """Every text and JSON column of every table of the schema, except order ids."""
    cursor = database.execute_sql(
        """
        SELECT c.table_name, c.column_name, c.data_type,
               EXISTS (SELECT 1 FROM information_schema.columns k
                       WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
                         AND k.column_name = 'order_id')
        FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
          AND c.data_type = ANY(%s)
        ORDER BY c.table_name, c.ordinal_position
        """,
        (list(TEXT_TYPES + JSON_TYPES),),
    )
    return [
        Column(table, name, data_type in JSON_TYPES, has_order_id)
        for table, name, data_type, has_order_id in cursor.fetchall()
        if name not in _KEY_COLUMNS
    ]


def are_literal(text: str) -> str:
    """`text` as a PostgreSQL regular expression matching exactly it."""
    return _ARE_SPECIAL.sub(r"\\\1", text)


NEVER = "(?!x)x"  # a pattern no text matches: a person without a value of this kind


def phone_pattern(phones: tuple[str, ...]) -> str:
    """E.164 Indonesian numbers in any stored form (`+628...`, `628...`, `08...`), not as part of
    a longer number."""
    nationals = [are_literal(phone.removeprefix("+").removeprefix("62")) for phone in phones]
    if not any(nationals):
        return NEVER
    return rf"(?<![0-9])(\+?62|0)(?:{'|'.join(n for n in nationals if n)})(?![0-9])"


def email_pattern(emails: tuple[str, ...], in_json: bool = False) -> str:
    """The addresses (any case), not as part of a longer address."""
    return _whole(emails, in_json, before="[[:alnum:]_.%+-]", after="[[:alnum:]_-]")


def name_pattern(names: tuple[str, ...], in_json: bool = False) -> str:
    """The names as whole words, in the case they were typed: a short name must not eat a
    status such as `PAID` from the row that names it."""
    return _whole(names, in_json, before="[[:alnum:]_]", after="[[:alnum:]_]")


def _whole(values: tuple[str, ...], in_json: bool, before: str, after: str) -> str:
    """Any of `values` (as written inside a JSON document's text when `in_json`), not preceded
    or followed by a character of `before` / `after`."""
    if in_json:
        values = tuple(json.dumps(value, ensure_ascii=False)[1:-1] for value in values)
    literals = [are_literal(value) for value in values if value]
    if not literals:
        return NEVER
    return f"(?<!{before})(?:{'|'.join(literals)})(?!{after})"


def _patterns(erasure: Erasure, in_json: bool) -> tuple[str, str, str]:
    return (
        email_pattern(erasure.emails, in_json),
        phone_pattern(erasure.phones),
        name_pattern(erasure.names, in_json),
    )


def _value(column: Column, alias: str = "") -> str:
    quoted = f'{alias}"{column.name}"'
    return f"{quoted}::text" if column.is_json else quoted


# (pattern, replacement, flags) for emails, phones and names: emails in any case, names as typed
_EMAIL, _PHONE, _NAME = "gi", "g", "g"


def _replaced(column: Column, alias: str, replacements: list[tuple[str, str, str]]) -> str:
    """The SQL expression of the column with each (pattern, replacement, flags) applied."""
    expression = _value(column, alias)
    for pattern, replacement, flags in replacements:
        expression = f"regexp_replace({expression}, {pattern}, {replacement}, '{flags}')"
    return f"({expression})::{'jsonb' if column.is_json else 'text'}"


def scrub_order_rows(erasures: list[Erasure]) -> None:
    """Replaces each person's values in every row tied to their orders, one statement per column
    for the whole batch."""
    for column in text_columns():
        if column.has_order_id:
            _scrub_column_for_orders(column, erasures)


def _scrub_column_for_orders(column: Column, erasures: list[Erasure]) -> None:
    patterns = [_patterns(erasure, column.is_json) for erasure in erasures]
    arrays = [
        [erasure.order_id for erasure in erasures],
        [p[0] for p in patterns],
        [e.placeholders.email for e in erasures],
        [p[1] for p in patterns],
        [e.placeholders.phone for e in erasures],
        [p[2] for p in patterns],
        [e.placeholders.name for e in erasures],
        ["|".join(p) for p in patterns],  # a first, case-blind filter
    ]
    replacements = [
        ("v.email_re", "v.email_ph", _EMAIL),
        ("v.phone_re", "v.phone_ph", _PHONE),
        ("v.name_re", "v.name_ph", _NAME),
    ]
    database.execute_sql(
        f"""
        UPDATE "{column.table}" AS t SET "{column.name}" = {_replaced(column, "t.", replacements)}
        FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                    %s::text[], %s::text[])
             AS v(order_id, email_re, email_ph, phone_re, phone_ph, name_re, name_ph, any_re)
        WHERE t.order_id = v.order_id AND {_value(column, "t.")} ~* v.any_re
        """,  # noqa: S608 - names from information_schema, values as parameters
        arrays,
    )


def scrub_unlinked_rows(person: Erasure) -> None:
    """Rewrites the rows tied to no order (an audit entry, a notification for an unknown order,
    a table without orders) that hold the person's email or phone: those, and their name in the
    same row. Rows of other orders are left alone: they are other purchases, possibly the same
    person's later, fresh one. A row naming only a name cannot be told apart from a namesake's."""
    for column in text_columns():
        if column.table == Order._meta.table_name:
            continue
        unlinked = (
            "AND (t.order_id IS NULL OR NOT EXISTS "
            "(SELECT 1 FROM orders o WHERE o.order_id = t.order_id))"
            if column.has_order_id
            else ""
        )
        email_re, phone_re, name_re = _patterns(person, column.is_json)
        stand_in = person.placeholders
        replacements = [("%s", "%s", _EMAIL), ("%s", "%s", _PHONE), ("%s", "%s", _NAME)]
        database.execute_sql(
            f"""UPDATE "{column.table}" AS t
            SET "{column.name}" = {_replaced(column, "t.", replacements)}
            WHERE {_value(column, "t.")} ~* %s {unlinked}""",  # noqa: S608 - as above
            (
                *(email_re, stand_in.email, phone_re, stand_in.phone, name_re, stand_in.name),
                f"{email_re}|{phone_re}",
            ),
        )


def pseudonymise_orders(erasures: list[Erasure]) -> None:
    """The orders' contact columns become the stand-ins, their messages lose body and address,
    their stored notifications the payer's details; then every text naming the person in their
    rows is rewritten. Call inside a transaction, with the orders locked."""
    if not erasures:
        return
    for erasure in erasures:
        stand_in = erasure.placeholders
        Order.update(
            customer_email=stand_in.email,
            customer_phone=stand_in.phone,
            customer_name=stand_in.name,
        ).where(Order.order_id == erasure.order_id).execute()
        for channel, recipient in (("EMAIL", stand_in.email), ("WHATSAPP", stand_in.phone)):
            OutboxMessage.update(recipient=recipient, payload={}).where(
                (OutboxMessage.order == erasure.order_id) & (OutboxMessage.channel == channel)
            ).execute()
    order_ids = [erasure.order_id for erasure in erasures]
    database.execute_sql(
        "UPDATE payment_events SET raw = raw - %s::text[] "
        "WHERE order_id = ANY(%s) AND raw ?| %s::text[]",
        (list(PAYER_KEYS), order_ids, list(PAYER_KEYS)),
    )
    scrub_order_rows(erasures)
