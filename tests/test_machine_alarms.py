"""The machine's own alarms, each made to happen: a nearly full disk (a small tmpfs), a TLS
certificate expiring tomorrow (made with openssl), Redis near its maxmemory (a private server),
PostgreSQL near max_connections (a lowered threshold)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from tasks.machine_alarms import (
    certificate_expiring,
    database_connections_high,
    redis_memory_high,
)
from tests.conftest import declared_actor
from tests.test_alerts import reconfigure


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (root only: skipped where mounting is not permitted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_nearly_full_disk_raises_an_alarm_in_the_alarm_check(db, small_disk):
    reconfigure(machine={"disk_paths": (small_disk / "backups", small_disk)})
    assert not disk_alarms()
    (small_disk / "old-dump.sql").write_bytes(b"x" * 1_950_000)
    [alarm] = disk_alarms()
    assert f"{small_disk / 'backups'} " in alarm["message"]  # named once per filesystem
    assert alarm["count"] == 1 and "delete old backups" in alarm["message"]


def disk_alarms() -> list[dict]:
    """What the whole alarm check (the worker's actor) reports about the disk."""
    return [alarm for alarm in declared_actor("check_alarms")() if alarm["name"] == "disk_low"]


def make_certificate(folder: Path, days: int) -> Path:
    """A self-signed certificate for 127.0.0.1 valid for `days` days (key beside it)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = folder / f"cert-{days}.pem", folder / f"key-{days}.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days),
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert


def test_a_certificate_expiring_tomorrow_raises_an_alarm(tmp_path):
    tomorrow = make_certificate(tmp_path, days=1)
    [alarm] = certificate_expiring(str(tomorrow), "http://127.0.0.1:8000", time.time())
    assert alarm.name == "tls_certificate_expiring"
    assert "expires in 1 days" in alarm.message and "certbot renew" in alarm.message
    assert "sertifikat TLS kedaluwarsa dalam 1 hari" in alarm.pesan
    fresh = make_certificate(tmp_path, days=60)
    assert certificate_expiring(str(fresh), "http://127.0.0.1:8000", time.time()) == []


def test_the_certificate_the_public_address_serves_is_read_when_no_file_is_set(
    tmp_path, monkeypatch
):
    tomorrow = make_certificate(tmp_path, days=1)
    monkeypatch.setenv("SSL_CERT_FILE", str(tomorrow))  # trusted, as a real CA's would be
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tomorrow, tmp_path / "key-1.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one_handshake() -> None:
        connection, _ = listener.accept()
        with context.wrap_socket(connection, server_side=True):
            pass

    threading.Thread(target=serve_one_handshake, daemon=True).start()
    try:
        [alarm] = certificate_expiring("", f"https://127.0.0.1:{port}", time.time())
    finally:
        listener.close()
    assert alarm.name == "tls_certificate_expiring"


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own: its maxmemory may change without touching the
    suite's shared server."""
    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(unix_socket_path=str(sock))
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield client
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_redis_near_its_maxmemory_raises_an_alarm(private_redis):
    assert redis_memory_high(private_redis, 90) == []  # no maxmemory: no limit to be near
    used = private_redis.info("memory")["used_memory"]
    private_redis.config_set("maxmemory", int(used * 1.05))
    [alarm] = redis_memory_high(private_redis, 90)
    assert alarm.name == "redis_memory_high" and "of its maxmemory" in alarm.message
    private_redis.config_set("maxmemory", used * 4)
    assert redis_memory_high(private_redis, 90) == []


def test_postgresql_near_max_connections_raises_an_alarm(db):
    assert database_connections_high(80) == []
    [alarm] = database_connections_high(1)  # the suite's few connections are over 1%
    assert alarm.name == "db_connections_high" and "connections open" in alarm.message
    assert "koneksi" in alarm.pesan
