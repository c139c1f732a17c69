"""Managed Redis over TLS: a `rediss://` REDIS_URL reaches Redis through TLS, with the server's
certificate checked, for everything that opens Redis (the broker, the enqueuer, rate limits,
breakers). The embedded Valkey is built without TLS, so a small TLS terminator in front of it
stands in for the managed service's TLS endpoint (as stunnel would)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import redis

from config.settings import SettingsError, load_settings
from integrations.breaker import ProviderBreaker
from messaging.contract import DELIVER_MESSAGE
from messaging.redis import Enqueuer, redis_client
from web.ratelimit import ClientRateLimit


def make_certificate(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )
    return cert, key


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, target):
            end.close()


def _backend(redis_url: str) -> tuple[int, object, str]:
    """Socket family, address and database number of the test Redis (embedded: a unix socket;
    TEST_REDIS_URL: maybe TCP)."""
    parts = urlsplit(redis_url)
    database = parse_qs(parts.query).get("db", [parts.path.strip("/") or "0"])[0]
    if parts.scheme == "unix":
        return socket.AF_UNIX, parts.path, database
    return socket.AF_INET, (parts.hostname, parts.port or 6379), database


def serve_tls(cert: Path, key: Path, family: int, address: object) -> int:
    """A TLS port that forwards each connection to the test Redis."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            client, _ = listener.accept()
            try:
                secure = context.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError):
                client.close()
                continue
            backend = socket.socket(family)
            backend.connect(address)
            for pair in ((secure, backend), (backend, secure)):
                threading.Thread(target=_pump, args=pair, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


@pytest.fixture
def tls_redis(clean, system, tmp_path) -> tuple[str, Path]:
    """A rediss:// URL of the test Redis, and the CA file that signs its certificate."""
    cert, key = make_certificate(tmp_path)
    family, address, database = _backend(system["settings"].redis_url)
    port = serve_tls(cert, key, family, address)
    return f"rediss://127.0.0.1:{port}/{database}", cert


def with_ca(url: str, cert: Path) -> str:
    return f"{url}?ssl_ca_certs={quote(str(cert))}"


def test_a_rediss_url_is_accepted_and_a_foreign_scheme_is_named():
    assert load_settings({"REDIS_URL": "rediss://:pw@redis.example.com:6380/0"}).redis_url
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings({"REDIS_URL": "https://redis.example.com"})


def test_tls_options_pass_through_with_the_timeouts(tls_redis):
    url, cert = tls_redis
    client = redis_client(with_ca(url, cert) + "&ssl_cert_reqs=required", timeout=3.0)
    pool = client.connection_pool
    assert pool.connection_class is redis.SSLConnection
    assert pool.connection_kwargs["ssl_ca_certs"] == str(cert)
    assert pool.connection_kwargs["ssl_cert_reqs"] == "required"
    assert pool.connection_kwargs["socket_timeout"] == 3.0
    assert client.ping()


def test_the_servers_certificate_is_checked(tls_redis):
    url, _ = tls_redis
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        redis_client(url).ping()  # a self-signed certificate no system CA vouches for


def test_broker_rate_limit_and_breaker_work_over_tls(tls_redis, system):
    url, cert = tls_redis
    client = redis_client(with_ca(url, cert))
    Enqueuer(client).send(DELIVER_MESSAGE, 42)
    plain = system["broker"].client
    assert plain.llen(f"dramatiq:{DELIVER_MESSAGE.queue}") == 1  # it reached the real Redis
    limit = ClientRateLimit(client, "tls-test", 1)
    assert limit.retry_after("203.0.113.7") is None
    assert limit.retry_after("203.0.113.7") is not None
    breaker = ProviderBreaker(client, "tls-test", fail_max=1, reset_seconds=60)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the failure itself does not matter
        breaker.call(lambda: 1 / 0)
    assert breaker.state == "open"
    assert plain.exists("dramatiq:breaker:tls-test:pybreaker:state")
