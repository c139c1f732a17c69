"""Follow-up messages are sent only after the work that causes them is really committed."""

import pytest

from models.db import transaction
from models.orders import Order
from tests.factories import insert_order


def test_a_nested_transactions_callbacks_wait_for_the_outer_commit(db):
    seen = []
    with transaction():
        with transaction() as inner:
            insert_order("BFA-TX-1")
            inner.callbacks.append(lambda: seen.append(Order.get_by_id("BFA-TX-1").status))
        assert seen == []  # the savepoint was released, but nothing is committed yet
    assert seen == ["PENDING_PAYMENT"]


def test_a_rolled_back_transaction_sends_nothing(db):
    seen = []
    with pytest.raises(RuntimeError), transaction():
        with transaction() as inner:
            insert_order("BFA-TX-2")
            inner.callbacks.append(lambda: seen.append("sent"))
        raise RuntimeError("the outer work failed")
    assert seen == [] and Order.get_or_none(Order.order_id == "BFA-TX-2") is None
    with transaction() as later:
        later.callbacks.append(lambda: seen.append("later"))
    assert seen == ["later"]  # the failed transaction's callbacks are gone for good
