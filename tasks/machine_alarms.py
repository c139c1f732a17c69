"""Alarms about the machine itself, computed in the alarm check (tasks/alarms.py): free disk
where PostgreSQL, Redis and the backups keep their files, the TLS certificate's expiry, Redis
memory against `maxmemory`, PostgreSQL connections against `max_connections`. Each says what
to do, in English and in Indonesian. What cannot be read (a managed Redis refusing CONFIG, a
database user without the right to see data_directory) is skipped, not an alarm."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import peewee
import redis
from loguru import logger

from config.settings import MachineSettings
from models.alarms import Alarm
from models.db import database

CERTIFICATE_WARNING_DAYS = 14
CERTIFICATE_TIMEOUT_SECONDS = 5.0


def machine_alarms(
    settings: MachineSettings, public_base_url: str, redis_client: redis.Redis
) -> list[Alarm]:
    """Every machine alarm that holds now."""
    folders = list(settings.disk_paths) + server_data_folders(redis_client)
    found = disk_low(folders, settings.disk_free_alarm_percent)
    found += certificate_expiring(settings.tls_cert_file, public_base_url, time.time())
    found += redis_memory_high(redis_client, settings.redis_memory_alarm_percent)
    found += database_connections_high(settings.db_connections_alarm_percent)
    return found


def server_data_folders(redis_client: redis.Redis) -> list[Path]:
    """Where PostgreSQL and Redis say they keep their data, when they say so (best effort: a
    server on another machine names a folder this one may not have; it is then skipped)."""
    folders = []
    with contextlib.suppress(peewee.DatabaseError):  # not superuser nor pg_read_all_settings
        folders.append(Path(database.execute_sql("SHOW data_directory").fetchone()[0]))
    with contextlib.suppress(redis.ResponseError, KeyError):  # CONFIG disabled (managed Redis)
        folders.append(Path(redis_client.config_get("dir")["dir"]))
    return [folder for folder in folders if folder.exists()]


def disk_low(folders: list[Path], alarm_percent: int) -> list[Alarm]:
    """One alarm naming every filesystem, among those `folders` live on, with less than
    `alarm_percent` free."""
    low, seen = [], set()
    for folder in folders:
        existing = _nearest_existing(folder)
        device = existing.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        free = _free_percent(existing)
        if free < alarm_percent:
            low.append(f"{folder} {free:.0f}% free")
    if not low:
        return []
    where = ", ".join(low)
    return [
        Alarm(
            "disk_low",
            f"disk almost full: {where} (under {alarm_percent}%); PostgreSQL and Redis stop "
            "writing when it is full: delete old backups or logs, or grow the disk",
            len(low),
            pesan=f"disk hampir penuh: {where} (di bawah {alarm_percent}%); PostgreSQL dan "
            "Redis berhenti menulis saat penuh: hapus cadangan atau log lama, atau perbesar disk",
        )
    ]


def _nearest_existing(folder: Path) -> Path:
    """The folder, or its nearest parent that exists (backups/ before the first backup)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _free_percent(folder: Path) -> float:
    """Free space for an ordinary user (what PostgreSQL and Redis can still write)."""
    usage = os.statvfs(folder)
    return 100.0 * usage.f_bavail / usage.f_blocks if usage.f_blocks else 100.0


def certificate_expiring(cert_file: str, public_base_url: str, now: float) -> list[Alarm]:
    """The certificate nginx serves (TLS_CERT_FILE, or the one PUBLIC_BASE_URL's host answers
    with when it is https) expires within 14 days: the renewal (certbot) is not working."""
    try:
        expires = _certificate_expiry(cert_file, public_base_url)
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        logger.warning("TLS certificate not read: {}", error)
        return []
    if expires is None:
        return []
    days = (expires - now) / 86400
    if days > CERTIFICATE_WARNING_DAYS:
        return []
    when = f"in {days:.0f} days" if days > 0 else "already"
    kapan = f"dalam {days:.0f} hari" if days > 0 else "sudah"
    return [
        Alarm(
            "tls_certificate_expiring",
            f"the TLS certificate expires {when}: browsers will refuse the shop; run "
            "`sudo certbot renew` and check the certbot timer (deploy/README.md)",
            1,
            pesan=f"sertifikat TLS kedaluwarsa {kapan}: browser akan menolak toko; jalankan "
            "`sudo certbot renew` dan periksa timer certbot (deploy/README.md)",
        )
    ]


def _certificate_expiry(cert_file: str, public_base_url: str) -> float | None:
    """The certificate's notAfter (seconds since the epoch), or None when there is none to read
    (no file set, a plain-http address)."""
    if cert_file:
        answer = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["openssl", "x509", "-noout", "-enddate", "-in", cert_file],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=CERTIFICATE_TIMEOUT_SECONDS,
            check=True,
        )
        return ssl.cert_time_to_seconds(answer.stdout.strip().removeprefix("notAfter="))
    address = urlsplit(public_base_url)
    if address.scheme != "https" or not address.hostname:
        return None
    return _served_certificate_expiry(address.hostname, address.port or 443)


def _served_certificate_expiry(host: str, port: int) -> float:
    """The notAfter of the certificate `host` serves; an expired one counts as expiring now."""
    context = ssl.create_default_context()
    try:
        with (
            socket.create_connection((host, port), timeout=CERTIFICATE_TIMEOUT_SECONDS) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return ssl.cert_time_to_seconds(tls.getpeercert()["notAfter"])
    except ssl.SSLCertVerificationError as error:
        if error.verify_code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
            return time.time()
        raise


def redis_memory_high(redis_client: redis.Redis, alarm_percent: int) -> list[Alarm]:
    """Redis uses over `alarm_percent` of its maxmemory: at the limit it refuses writes, and
    no payment notification can be queued."""
    try:
        memory = redis_client.info("memory")
    except redis.RedisError:
        return []  # Redis down is /health's alarm
    limit, used = memory.get("maxmemory", 0), memory.get("used_memory", 0)
    if not limit or 100 * used / limit < alarm_percent:
        return []
    share = f"{100 * used / limit:.0f}%"
    return [
        Alarm(
            "redis_memory_high",
            f"Redis uses {share} of its maxmemory: at the limit payment notifications cannot be "
            "queued; look for a growing queue on /admin/health, or raise maxmemory",
            1,
            pesan=f"Redis memakai {share} dari maxmemory: saat penuh notifikasi pembayaran tidak "
            "bisa diantrekan; periksa antrean di /admin/health, atau naikkan maxmemory",
        )
    ]


def database_connections_high(alarm_percent: int) -> list[Alarm]:
    """PostgreSQL has over `alarm_percent` of max_connections open: at the limit new
    connections are refused and the web answers 503."""
    limit = int(database.execute_sql("SHOW max_connections").fetchone()[0])
    used = database.execute_sql("SELECT count(*) FROM pg_stat_activity").fetchone()[0]
    if 100 * used / limit < alarm_percent:
        return []
    return [
        Alarm(
            "db_connections_high",
            f"PostgreSQL has {used} of {limit} connections open: at the limit the shop cannot "
            "connect; look for a stuck process (pg_stat_activity) or a pool set too large",
            1,
            pesan=f"PostgreSQL membuka {used} dari {limit} koneksi: saat penuh toko tidak bisa "
            "terhubung; cari proses yang macet (pg_stat_activity) atau pool yang terlalu besar",
        )
    ]
