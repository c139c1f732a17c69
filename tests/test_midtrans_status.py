"""Reading Midtrans notification bodies: fields, amounts, fee imposition, idempotency keys."""

import pytest

from integrations.signature import midtrans_signature, signature_is_valid
from models.midtrans_status import (
    InvalidNotification,
    MidtransNotification,
    amount_matches,
    idempotency_key,
    is_earlier_step,
    parse_idr,
    parse_notification,
)
from tests.midtrans_vectors import FEE_IMPOSITION_EXTRA_INFO, GO_KEY
from tests.midtrans_vectors import GO_SETTLEMENT as SETTLEMENT

VA_PENDING = {
    "transaction_status": "pending",
    "status_code": "201",
    "order_id": "BFA-20240101-0001",
    "gross_amount": "99000.00",
    "payment_type": "bank_transfer",
    "va_numbers": [{"bank": "bca", "va_number": "12345678901"}],
    "expiry_time": "2024-01-02 10:00:00",
}


def _with_original_amount(body: dict, original: object) -> dict:
    info = {"gross_amount_info": {"original_amount": original, "fee_amount": "4000"}}
    return body | {"metadata": {"extra_info": info}}


def test_the_published_settlement_is_read_field_by_field() -> None:
    assert parse_notification(SETTLEMENT) == MidtransNotification(
        order_id="order-101-1578567480",
        status_code="200",
        gross_amount_text="11000.00",
        transaction_status="settlement",
        fraud_status="accept",
        transaction_id="fa05cba0-8ea3-4e46-a2b1-daea2a01785c",
        payment_type="akulaku",
        transaction_time="2020-01-09 17:58:00",
        settlement_time="2020-01-09 18:00:48",
        expiry_time=None,
        original_amount_text=None,
    )


def test_a_virtual_account_pending_without_fraud_or_transaction_id_is_read() -> None:
    notification = parse_notification(VA_PENDING)
    assert notification.fraud_status is None
    assert notification.transaction_id is None
    assert notification.settlement_time is None
    assert notification.expiry_time == "2024-01-02 10:00:00"


def test_statuses_are_lowercased_and_amounts_kept_as_received() -> None:
    shouting = SETTLEMENT | {"transaction_status": "SETTLEMENT", "fraud_status": "Accept"}
    notification = parse_notification(shouting)
    assert (notification.transaction_status, notification.fraud_status) == ("settlement", "accept")
    assert notification.gross_amount_text == "11000.00"


@pytest.mark.parametrize(
    ("field", "value"),
    [("fraud_status", ""), ("fraud_status", None), ("transaction_id", 12), ("payment_type", {})],
    ids=["empty_fraud", "null_fraud", "numeric_transaction_id", "object_payment_type"],
)
def test_an_odd_optional_field_reads_as_none(field: str, value: object) -> None:
    assert getattr(parse_notification(SETTLEMENT | {field: value}), field) is None


@pytest.mark.parametrize("field", ["order_id", "status_code", "gross_amount", "transaction_status"])
@pytest.mark.parametrize("value", [None, 200, "", ["x"]], ids=["null", "number", "empty", "list"])
def test_a_missing_or_non_string_essential_field_is_invalid(field: str, value: object) -> None:
    with pytest.raises(InvalidNotification, match=field):
        parse_notification(SETTLEMENT | {field: value})


@pytest.mark.parametrize("field", ["order_id", "status_code", "gross_amount", "transaction_status"])
def test_an_absent_essential_field_is_invalid(field: str) -> None:
    body = {name: value for name, value in SETTLEMENT.items() if name != field}
    with pytest.raises(InvalidNotification):
        parse_notification(body)


@pytest.mark.parametrize("body", [[], "settlement", None], ids=["list", "string", "null"])
def test_a_body_that_is_not_an_object_is_invalid(body: object) -> None:
    with pytest.raises(InvalidNotification):
        parse_notification(body)


@pytest.mark.parametrize(
    ("text", "rupiah"),
    [
        ("99000.00", 99000),
        ("99000", 99000),
        ("99000.0", 99000),
        ("0.00", 0),
        ("99000.50", None),
        ("99000.05", None),
        ("99000.", None),
        ("-99000", None),
        ("99,000", None),
        (" 99000", None),
        ("1e5", None),
        ("٩٩٠٠٠", None),
        ("", None),
        ("abc", None),
        ("9" * 5000, None),
        (None, None),
        (99000, None),
    ],
    ids=[
        "two_decimals",
        "whole",
        "one_decimal",
        "zero",
        "fifty_cents",
        "five_cents",
        "trailing_dot",
        "negative",
        "thousands_comma",
        "leading_space",
        "exponent",
        "arabic_indic_digits",
        "empty",
        "letters",
        "absurdly_long",
        "none",
        "not_text",
    ],
)
def test_parse_idr_reads_whole_rupiah_only(text: object, rupiah: int | None) -> None:
    assert parse_idr(text) == rupiah


def test_the_order_amount_matches_the_notified_gross_amount() -> None:
    notification = parse_notification(VA_PENDING)
    assert amount_matches(99000, notification)
    assert not amount_matches(98000, notification)


def test_fee_imposition_matches_on_the_original_amount() -> None:
    with_fee = _with_original_amount(VA_PENDING | {"gross_amount": "103000.00"}, "99000.00")
    notification = parse_notification(with_fee)
    assert notification.original_amount_text == "99000.00"
    assert amount_matches(99000, notification)
    assert not amount_matches(103001, notification)


def test_a_fee_imposition_amount_that_matches_nothing_is_refused() -> None:
    notification = parse_notification(
        _with_original_amount(VA_PENDING | {"gross_amount": "103000.00"}, "98000.00")
    )
    assert not amount_matches(99000, notification)


def _fee_imposed_settlement(**placement: dict) -> dict:
    """The published settlement as a fee-imposed 10.000 payment (10.071 with the fee), the
    sample's amount info placed as given, re-signed with the published key."""
    body = SETTLEMENT | {"gross_amount": "10071.00", "payment_type": "gopay"} | placement
    signature = midtrans_signature(body["order_id"], body["status_code"], "10071.00", GO_KEY)
    return body | {"signature_key": signature}


@pytest.mark.parametrize(
    "body",
    [
        _fee_imposed_settlement(extra_info=FEE_IMPOSITION_EXTRA_INFO),
        _fee_imposed_settlement(metadata={"extra_info": FEE_IMPOSITION_EXTRA_INFO}),
    ],
    ids=["top_level_as_in_midtrans_sample", "nested_under_metadata"],
)
def test_the_published_fee_imposition_sample_pays_the_pre_fee_price(body: dict) -> None:
    assert signature_is_valid(body, GO_KEY)
    notification = parse_notification(body)
    assert notification.original_amount_text == "10000"
    assert amount_matches(10000, notification)
    assert not amount_matches(10071 - 1, notification)


def test_two_different_pre_fee_prices_trust_neither() -> None:
    other = {"gross_amount_info": {"original_amount": "9000"}}
    body = _fee_imposed_settlement(
        extra_info=FEE_IMPOSITION_EXTRA_INFO, metadata={"extra_info": other}
    )
    notification = parse_notification(body)
    assert notification.original_amount_text is None
    assert not amount_matches(10000, notification) and not amount_matches(9000, notification)


def test_the_same_pre_fee_price_in_both_places_is_read() -> None:
    nested = {"gross_amount_info": {"original_amount": "10000.00"}}
    body = _fee_imposed_settlement(
        extra_info=FEE_IMPOSITION_EXTRA_INFO, metadata={"extra_info": nested}
    )
    assert amount_matches(10000, parse_notification(body))


def test_an_amount_with_cents_never_matches() -> None:
    notification = parse_notification(VA_PENDING | {"gross_amount": "99000.50"})
    assert not amount_matches(99000, notification)


@pytest.mark.parametrize(
    ("body", "original_text"),
    [
        (_with_original_amount(VA_PENDING, 99000), "99000"),
        (_with_original_amount(VA_PENDING, "99000.00"), "99000.00"),
        (_with_original_amount(VA_PENDING, None), None),
        (_with_original_amount(VA_PENDING, True), None),
        (_with_original_amount(VA_PENDING, 99000.0), None),
        (_with_original_amount(VA_PENDING, {"value": "99000"}), None),
        (VA_PENDING | {"metadata": "extra_info"}, None),
        (VA_PENDING | {"metadata": {"extra_info": ["gross_amount_info"]}}, None),
        (VA_PENDING | {"metadata": {"extra_info": {"gross_amount_info": None}}}, None),
        (VA_PENDING | {"metadata": {}}, None),
    ],
    ids=[
        "json_integer",
        "string",
        "null",
        "boolean",
        "float",
        "object",
        "metadata_is_text",
        "extra_info_is_list",
        "gross_amount_info_null",
        "metadata_empty",
    ],
)
def test_the_original_amount_survives_odd_nesting(body: dict, original_text: str | None) -> None:
    assert parse_notification(body).original_amount_text == original_text


def test_the_key_is_the_same_in_every_release() -> None:
    """Pinned: events stored before an upgrade must still match their redelivery after it."""
    assert idempotency_key(parse_notification(dict(SETTLEMENT))) == (
        "789471ba2e28280e4ef2c9c44f78c99aaf06b733f0ab9eca65b1a9d3df89c7fd"
    )


def test_fields_outside_the_event_do_not_change_the_key() -> None:
    resent = SETTLEMENT | {"status_message": "resent", "settlement_time": "2020-01-09 18:05:00"}
    assert idempotency_key(parse_notification(resent)) == idempotency_key(
        parse_notification(SETTLEMENT)
    )


def test_status_casing_does_not_change_the_key() -> None:
    shouting = SETTLEMENT | {"transaction_status": "SETTLEMENT", "fraud_status": "ACCEPT"}
    assert idempotency_key(parse_notification(shouting)) == idempotency_key(
        parse_notification(SETTLEMENT)
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"transaction_status": "refund"},
        {"fraud_status": "challenge"},
        {"fraud_status": None},
        {"transaction_id": "another-attempt"},
        {"transaction_id": None},
        {"order_id": "order-102-1578567480"},
    ],
    ids=[
        "new_status",
        "new_fraud_verdict",
        "fraud_verdict_dropped",
        "another_transaction",
        "no_transaction_id",
        "another_order",
    ],
)
def test_a_different_event_gets_a_different_key(changes: dict) -> None:
    changed = parse_notification(SETTLEMENT | changes)
    assert idempotency_key(changed) != idempotency_key(parse_notification(SETTLEMENT))


def test_keys_without_a_transaction_id_are_per_order_and_status() -> None:
    pending = parse_notification(VA_PENDING)
    assert idempotency_key(pending) == (
        "a59552852510754810010ae2ef483ea00340f2c1e5a6ed0ff67479eb801536b2"
    )
    expired = parse_notification(VA_PENDING | {"transaction_status": "expire"})
    assert idempotency_key(pending) != idempotency_key(expired)


def test_keys_have_a_fixed_length_whatever_the_input() -> None:
    huge = parse_notification(SETTLEMENT | {"transaction_id": "x" * 10_000})
    assert len(idempotency_key(huge)) == len(idempotency_key(parse_notification(SETTLEMENT))) == 64


# Midtrans' partial refund as its refund API answers it (refund-transaction reference page).
PARTIAL_REFUND = SETTLEMENT | {
    "transaction_status": "partial_refund",
    "refund_chargeback_id": 1,
    "refund_amount": "5000.00",
    "refund_key": "reference1",
}


def _listed(*amounts: str) -> dict:
    """The refunds so far as notifications and the Status API list them (`refunds[]`)."""
    refunds = [
        {"refund_chargeback_id": n, "refund_amount": amount, "refund_key": f"key-{n}"}
        for n, amount in enumerate(amounts, start=1)
    ]
    return SETTLEMENT | {"transaction_status": "partial_refund", "refunds": refunds}


def test_a_second_partial_refund_is_a_new_event() -> None:
    first, second = (
        parse_notification(_listed("2000.00")),
        parse_notification(_listed("2000.00", "3000.00")),
    )
    assert idempotency_key(first) != idempotency_key(second)


@pytest.mark.parametrize(
    "changes",
    [{"refund_amount": "6000.00"}, {"refund_key": "reference2"}, {"refund_chargeback_id": 2}],
    ids=["another_amount", "another_refund_key", "another_refund_id"],
)
def test_another_refund_named_at_the_top_level_is_a_new_event(changes: dict) -> None:
    assert idempotency_key(parse_notification(PARTIAL_REFUND | changes)) != idempotency_key(
        parse_notification(PARTIAL_REFUND)
    )


def test_the_same_refunds_resent_or_confirmed_by_the_bank_are_one_event() -> None:
    listed = _listed("2000.00", "3000.00")
    confirmed = listed | {
        "refunds": [
            item | {"bank_confirmed_at": "2020-01-10 10:00:00"} for item in listed["refunds"]
        ]
    }
    reordered = listed | {"refunds": list(reversed(listed["refunds"]))}
    keys = {idempotency_key(parse_notification(body)) for body in (listed, confirmed, reordered)}
    assert len(keys) == 1


@pytest.mark.parametrize(
    "refunds", ["5000.00", [None, "x", 3], [{"refund_amount": True}], []], ids=str
)
def test_odd_refund_lists_read_as_no_refund(refunds: object) -> None:
    body = SETTLEMENT | {"refunds": refunds}
    assert parse_notification(body).refunds == ()
    assert idempotency_key(parse_notification(body)) == idempotency_key(
        parse_notification(SETTLEMENT)
    )


@pytest.mark.parametrize(
    ("claimed", "current", "late"),
    [
        ("pending", "settlement", True),
        ("pending", "expire", True),
        ("capture", "settlement", True),
        ("capture", "cancel", True),
        ("settlement", "refund", True),
        ("partial_refund", "refund", True),
        ("settlement", "pending", False),
        ("refund", "settlement", False),
        ("settlement", "expire", False),
        ("deny", "settlement", False),
        ("settlement", "settlement", False),
        ("pending", "made_up", False),
        ("made_up", "settlement", False),
    ],
)
def test_a_claim_of_a_step_the_transaction_has_passed_is_only_late(
    claimed: str, current: str, late: bool
) -> None:
    assert is_earlier_step(claimed, current) is late
