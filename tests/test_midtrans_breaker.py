"""A Midtrans outage opens the shared breaker: calls fail fast until a trial call succeeds;
Snap and the Status API have a circuit each."""

import pytest

from integrations.errors import ProviderUnavailable, RetryableProviderError, TransactionNotFound
from tasks.clients import GuardedMidtrans
from tasks.payments import snap_request
from tests.conftest import wait_for
from tests.factories import open_payment


@pytest.fixture
def guarded(system, sandbox):
    from integrations.guard import provider_guard
    from integrations.midtrans import MidtransClient

    settings, client = system["settings"], system["broker"].client
    midtrans = MidtransClient(settings.midtrans)

    def guard(circuit: str):
        return provider_guard(
            client,
            circuit,
            fail_max=3,
            reset_seconds=2,  # Redis keeps whole seconds
            per_second=100,
            namespace="dramatiq",
        )

    return GuardedMidtrans(midtrans, guard("midtrans-test-snap"), guard("midtrans-test-status"))


def _status_calls(sandbox_api) -> int:
    requests = sandbox_api.get("/_sandbox/midtrans/requests").json()
    return sum("/status" in request["path"] for request in requests)


def test_an_outage_opens_the_breaker_and_recovery_closes_it(db, guarded, sandbox_api):
    order_id = open_payment()["order_id"]
    sandbox_api.post(
        "/_sandbox/midtrans/transactions/" + order_id + "/transition",
        json={"transaction_status": "pending", "notify": False},
    )
    sandbox_api.post(
        "/_sandbox/midtrans/faults", json={"status_api": {"fail_next": 3, "status": 503}}
    ).raise_for_status()
    for _ in range(2):
        with pytest.raises(RetryableProviderError):
            guarded.transaction_status(order_id)
    with pytest.raises(ProviderUnavailable):  # the third failure opens the circuit
        guarded.transaction_status(order_id)
    calls_when_open = _status_calls(sandbox_api)
    with pytest.raises(ProviderUnavailable):
        guarded.transaction_status(order_id)
    assert _status_calls(sandbox_api) == calls_when_open  # failed fast: Midtrans not called
    answer = wait_for(lambda: _try(guarded, order_id), timeout=10, message="breaker half-open")
    assert answer["transaction_status"] == "pending"


def test_a_status_api_outage_does_not_stop_payment_links(db, guarded, sandbox_api):
    from models.orders import Order

    order_id = open_payment()["order_id"]
    sandbox_api.post(
        "/_sandbox/midtrans/faults", json={"status_api": {"fail_next": 3, "status": 503}}
    ).raise_for_status()
    for _ in range(3):
        with pytest.raises((RetryableProviderError, ProviderUnavailable)):
            guarded.transaction_status(order_id)
    with pytest.raises(ProviderUnavailable):
        guarded.transaction_status(order_id)  # the Status API's circuit is open
    body = snap_request(Order.get_by_id(order_id), "https://shop.example")
    body["transaction_details"]["order_id"] = order_id + "-NEW"  # a link not yet made
    payment = guarded.create_snap_payment(body)
    assert payment.token and payment.redirect_url


def test_no_such_transaction_is_an_answer_not_a_failure(db, guarded):
    for _ in range(5):  # more than the breaker's threshold of 3
        with pytest.raises(TransactionNotFound):
            guarded.transaction_status("BFA-NEVER-ATTEMPTED")


def _try(guarded, order_id):
    try:
        return guarded.transaction_status(order_id)
    except ProviderUnavailable:
        return None
