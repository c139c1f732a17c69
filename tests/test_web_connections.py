"""Idle keep-alive connections (browsers, nginx's upstream pool) never stop the web, run as
production runs it, from taking new visitors' checkouts."""

from __future__ import annotations

import socket
import time

import httpx

from tests.factories import VALID_CHECKOUT
from tests.test_resilience import web_process

IDLE_CLIENTS = 300  # three times waitress's default connection limit


def _idle_client(port: int) -> socket.socket:
    """A browser that made one keep-alive request and keeps its connection open."""
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(f"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return client


def _answered(client: socket.socket, deadline: float) -> bool:
    client.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return client.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def test_checkouts_are_taken_while_300_clients_hold_idle_keep_alive_connections(
    clean, environment, tmp_path
):
    with web_process(environment, tmp_path / "web.log") as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        idle = [_idle_client(port) for _ in range(IDLE_CLIENTS)]
        try:
            checkout = httpx.post(f"{base_url}/api/checkout", json=VALID_CHECKOUT, timeout=5)
            deadline = time.monotonic() + 5
            answered = sum(_answered(client, deadline) for client in idle)
        finally:
            for client in idle:
                client.close()
    assert checkout.status_code == 202
    assert answered == IDLE_CLIENTS
