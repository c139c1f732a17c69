"""TRUSTED_PROXY names every proxy in front of the web (several nginx hosts, a load balancer's
subnet): the customer's address is the rightmost X-Forwarded-For hop that is not one of them, so
rate limits count customers, not proxies, and a forged header gains nothing."""

import threading
from dataclasses import replace

import httpx
import pytest
import waitress

from config.networks import parse_networks
from config.settings import SettingsError, load_settings
from tests.factories import VALID_CHECKOUT
from web.app import create_app
from web.proxies import behind_proxies, client_address

PROXIES = parse_networks("10.0.0.5, 10.20.0.0/16, 127.0.0.1")


def test_several_addresses_and_cidrs_are_read_and_a_bad_one_is_named():
    settings = load_settings({"TRUSTED_PROXY": "10.0.0.5, 10.20.0.0/16 ,fd00::/8"})
    assert [str(network) for network in settings.trusted_proxies] == [
        "10.0.0.5/32",
        "10.20.0.0/16",
        "fd00::/8",
    ]
    with pytest.raises(SettingsError, match="TRUSTED_PROXY .* 'nginx'"):
        load_settings({"TRUSTED_PROXY": "10.0.0.5,nginx"})


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "customer"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy: its header is ignored
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),  # one nginx
        ("10.0.0.5", "203.0.113.7, 10.20.3.4", "203.0.113.7"),  # load balancer -> nginx
        ("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.20.3.4", "203.0.113.7"),  # forged first hop
        ("10.0.0.5", "not-an-ip, 10.20.3.4", "10.20.3.4"),  # garbage: the proxy that sent it
        ("10.0.0.5", "", "10.0.0.5"),
    ],
)
def test_the_customer_is_the_rightmost_hop_no_proxy_added(peer, forwarded_for, customer):
    assert client_address(peer, forwarded_for, PROXIES) == customer


@pytest.fixture
def web_behind_two_proxies(system, clean):
    settings = replace(system["settings"], checkout_rate_limit_per_minute=2)
    app = behind_proxies(create_app(settings, system["broker"].client), PROXIES)
    server = waitress.create_server(
        app, host="127.0.0.1", port=0, threads=4, clear_untrusted_proxy_headers=False
    )
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"


def test_checkout_limits_count_customers_behind_a_load_balancer_and_nginx(web_behind_two_proxies):
    def checkout(client: httpx.Client, forwarded_for: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post("/api/checkout", json=VALID_CHECKOUT, headers=headers).status_code

    with httpx.Client(base_url=web_behind_two_proxies, timeout=10) as client:
        first = [checkout(client, "203.0.113.7, 10.20.0.8") for _ in range(3)]
        forged = checkout(client, "198.51.100.99, 203.0.113.7, 10.20.0.9")  # other balancer node
        second = checkout(client, "198.51.100.23, 10.20.0.8")
    assert first == [202, 202, 429]
    assert forged == 429
    assert second == 202


def test_an_ipv6_customer_is_counted_by_the_64_it_holds(web_behind_two_proxies):
    """Privacy extensions give every IPv6 customer a fresh address whenever they like, within
    their /64: counting single addresses would let one customer step around the limit."""

    def checkout(client: httpx.Client, customer: str) -> int:
        headers = {"X-Forwarded-For": f"{customer}, 10.20.0.8"}
        return client.post("/api/checkout", json=VALID_CHECKOUT, headers=headers).status_code

    with httpx.Client(base_url=web_behind_two_proxies, timeout=10) as client:
        one_customer = [
            checkout(client, address)
            for address in ("2001:db8:7:1::1", "2001:db8:7:1::2", "2001:db8:7:1:8a2e::3")
        ]
        next_door = checkout(client, "2001:db8:7:2::1")
    assert one_customer == [202, 202, 429]
    assert next_door == 202
