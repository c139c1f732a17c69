"""A guesser locks out its own address only: the operator signing in from elsewhere at the same
moment still gets in. Two real client addresses on the loopback network (127.0.0.1 and
127.0.0.2) talk to the real web over HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN


def client_from(address: str, base_url: str) -> httpx.Client:
    """An HTTP client whose connections leave from `address` (what the web sees as the peer)."""
    return httpx.Client(
        base_url=base_url, timeout=10, transport=httpx.HTTPTransport(local_address=address)
    )


@pytest.fixture
def guesser(console, clean):
    with client_from("127.0.0.2", console) as client:
        yield client


@pytest.fixture
def operator(console, clean):
    with client_from("127.0.0.1", console) as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def lock_out(guesser: httpx.Client) -> None:
    answers = [
        guesser.post("/admin/login", data={"token": f"guess{n}"}).status_code for n in range(6)
    ]
    assert answers == [401] * 5 + [429]
    assert guesser.get("/api/admin/orders", headers=bearer(ADMIN_TOKEN)).status_code == 429


def test_a_locked_out_address_does_not_lock_out_another(guesser, operator):
    lock_out(guesser)
    signed_in = operator.post("/admin/login", data={"token": ADMIN_TOKEN, "next": "/admin"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin"
    assert operator.get("/admin/orders").status_code == 200
    assert operator.get("/api/admin/orders", headers=bearer(ADMIN_TOKEN)).status_code == 200


def test_another_address_has_its_own_count_of_failures(guesser, operator):
    lock_out(guesser)
    answers = [
        operator.get("/api/admin/orders", headers=bearer(f"typo{n}")).status_code for n in range(5)
    ]
    assert answers == [401] * 5  # not 429: the guesser's failures are not the operator's
    assert operator.get("/api/admin/orders", headers=bearer(ADMIN_TOKEN)).status_code == 200
    assert guesser.get("/api/admin/orders", headers=bearer(ADMIN_TOKEN)).status_code == 429
