"""Signature verification against the real, published Midtrans test vectors (midtrans.md)."""

import pytest

from integrations.signature import midtrans_signature, signature_is_valid
from tests.midtrans_vectors import GO_KEY, GO_SETTLEMENT, NODE_CAPTURE, NODE_KEY

VECTORS = [
    pytest.param(NODE_CAPTURE, NODE_KEY, id="node_client_card_capture"),
    pytest.param(GO_SETTLEMENT, GO_KEY, id="go_client_akulaku_settlement"),
]


@pytest.mark.parametrize(("body", "server_key"), VECTORS)
def test_published_notifications_verify(body: dict, server_key: str) -> None:
    assert signature_is_valid(body, server_key)


@pytest.mark.parametrize(("body", "server_key"), VECTORS)
def test_signature_is_computed_over_the_strings_as_sent(body: dict, server_key: str) -> None:
    signature = midtrans_signature(
        body["order_id"], body["status_code"], body["gross_amount"], server_key
    )
    assert signature == body["signature_key"]


@pytest.mark.parametrize(
    ("field", "tampered"),
    [
        ("gross_amount", "11000"),
        ("gross_amount", "11000.0"),
        ("gross_amount", "110000.00"),
        ("status_code", "201"),
        ("order_id", "order-102-1578567480"),
        ("signature_key", "0" * 128),
        ("signature_key", GO_SETTLEMENT["signature_key"][:-1]),
    ],
    ids=[
        "amount_reformatted_without_decimals",
        "amount_with_one_decimal",
        "amount_raised",
        "status_code_201",
        "other_order",
        "zero_signature",
        "truncated_signature",
    ],
)
def test_a_tampered_signed_field_fails(field: str, tampered: str) -> None:
    assert not signature_is_valid(GO_SETTLEMENT | {field: tampered}, GO_KEY)


@pytest.mark.parametrize(
    ("body", "server_key"),
    [(NODE_CAPTURE, GO_KEY), (GO_SETTLEMENT, NODE_KEY), (GO_SETTLEMENT, "")],
    ids=["node_body_go_key", "go_body_node_key", "empty_key"],
)
def test_a_wrong_server_key_fails(body: dict, server_key: str) -> None:
    assert not signature_is_valid(body, server_key)


def _without(field: str) -> dict:
    return {name: value for name, value in GO_SETTLEMENT.items() if name != field}


@pytest.mark.parametrize(
    "body",
    [
        _without("signature_key"),
        _without("order_id"),
        _without("status_code"),
        _without("gross_amount"),
        GO_SETTLEMENT | {"gross_amount": 11000},
        GO_SETTLEMENT | {"status_code": 200},
        GO_SETTLEMENT | {"signature_key": None},
        GO_SETTLEMENT | {"signature_key": ["331d"]},
        GO_SETTLEMENT | {"signature_key": "é" * 128},
        {},
    ],
    ids=[
        "no_signature",
        "no_order_id",
        "no_status_code",
        "no_gross_amount",
        "numeric_gross_amount",
        "numeric_status_code",
        "null_signature",
        "list_signature",
        "non_ascii_signature",
        "empty_body",
    ],
)
def test_a_malformed_body_fails_without_raising(body: dict) -> None:
    assert signature_is_valid(body, GO_KEY) is False


def test_an_uppercase_hex_signature_is_accepted() -> None:
    shouting = GO_SETTLEMENT | {"signature_key": GO_SETTLEMENT["signature_key"].upper()}
    assert signature_is_valid(shouting, GO_KEY)


def test_the_signature_does_not_cover_the_transaction_status() -> None:
    """Why the Status API, not the body, is the authority on what happened (midtrans.md)."""
    replayed_as_cancel = GO_SETTLEMENT | {"transaction_status": "cancel", "transaction_id": "x"}
    assert signature_is_valid(replayed_as_cancel, GO_KEY)
