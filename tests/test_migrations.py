"""The migration runner: applies each file once, in order, atomically, and safely in parallel."""

import secrets
import shutil
import subprocess
import sys
import threading

import psycopg2
import pytest

from schema.migrate import MigrationError, migrate, migration_files, pending_migrations
from tests.conftest import PROJECT_ROOT, _url_with_database

ALL_VERSIONS = [path.stem for path in migration_files()]
CONTRACT_TABLES = {
    "orders",
    "payment_attempts",
    "payment_events",
    "entitlements",
    "notification_outbox",
    "system_audit_log",
    "packages",
    "discount_codes",
    "schema_migrations",
}


@pytest.fixture
def fresh_database(service_urls):
    """A throwaway empty database on the test server, dropped afterwards."""
    name = f"bfa_migrate_{secrets.token_hex(4)}"
    admin_url = service_urls["database_url"]
    _run_admin(admin_url, f"CREATE DATABASE {name}")
    yield _url_with_database(admin_url, name)
    _run_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _run_admin(url: str, statement: str) -> None:
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def _query(url: str, sql: str) -> list[tuple]:
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def _tables(url: str) -> set[str]:
    rows = _query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {name for (name,) in rows}


def test_migrate_applies_every_file_once_and_then_is_a_no_op(fresh_database):
    assert pending_migrations(fresh_database) == ALL_VERSIONS
    assert migrate(fresh_database) == ALL_VERSIONS
    assert migrate(fresh_database) == []
    assert pending_migrations(fresh_database) == []
    assert _tables(fresh_database) >= CONTRACT_TABLES
    assert _query(fresh_database, "SELECT package_id, price_idr FROM packages") == [
        ("ai-movie-course", 99000)
    ]
    recorded = _query(fresh_database, "SELECT version FROM schema_migrations ORDER BY version")
    assert [version for (version,) in recorded] == ALL_VERSIONS


def _race(run, count: int) -> list:
    """Starts `count` calls of run() at the same instant; their results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def contender(index: int) -> None:
        barrier.wait()
        try:
            results[index] = run()
        except Exception as error:  # noqa: BLE001 - the test asserts there are none
            results[index] = error

    threads = [threading.Thread(target=contender, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_threads_apply_each_migration_exactly_once(fresh_database):
    results = _race(lambda: migrate(fresh_database), 4)
    assert sorted(results, key=len) == [[], [], [], ALL_VERSIONS]
    assert _query(fresh_database, "SELECT count(*) FROM schema_migrations") == [
        (len(ALL_VERSIONS),)
    ]
    assert _query(fresh_database, "SELECT count(*) FROM packages") == [(1,)]


def test_concurrent_processes_apply_each_migration_exactly_once(fresh_database):
    script = "import sys; from schema.migrate import migrate; print(migrate(sys.argv[1]))"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, fresh_database],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sorted(out.strip() for out, _ in outputs) == sorted(["[]", str(ALL_VERSIONS)])
    assert pending_migrations(fresh_database) == []


@pytest.fixture
def schema_copy(tmp_path):
    for path in migration_files():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_a_failing_migration_applies_nothing_of_itself(fresh_database, schema_copy):
    (schema_copy / "9999_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT no_such_column FROM orders;\n"
    )
    with pytest.raises(MigrationError, match="9999_broken.sql failed"):
        migrate(fresh_database, schema_copy)
    assert pending_migrations(fresh_database, schema_copy) == ["9999_broken"]
    assert "half_done" not in _tables(fresh_database)
    assert "orders" in _tables(fresh_database)


def test_an_applied_file_that_changed_stops_the_runner(fresh_database, schema_copy):
    migrate(fresh_database, schema_copy)
    first = sorted(schema_copy.glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after release\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(fresh_database, schema_copy)


def test_the_lock_is_released_after_a_failure(fresh_database, schema_copy):
    (schema_copy / "9999_broken.sql").write_text("SELECT no_such_function();\n")
    with pytest.raises(MigrationError):
        migrate(fresh_database, schema_copy)
    (schema_copy / "9999_broken.sql").unlink()
    assert _race(lambda: migrate(fresh_database, schema_copy), 2) == [[], []]


def _insert_order(url: str, order_id: str, status: str, paid_at: str | None) -> None:
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO orders (order_id, order_token_hash, package_id, customer_name, "
                "customer_email, customer_phone, base_amount, final_amount, status, paid_at) "
                "VALUES (%s, 'x', 'ai-movie-course', 'Budi', 'b@example.com', '+628123', "
                "99000, 99000, %s, %s)",
                (order_id, status, paid_at),
            )
    finally:
        connection.close()


def test_orders_paid_before_receipts_existed_get_numbers_in_the_order_they_were_paid(
    fresh_database, schema_copy
):
    (receipts,) = schema_copy.glob("*_receipts_and_reminder.sql")
    later = [path for path in migration_files(schema_copy) if path.name >= receipts.name]
    held_back = {path: path.read_text() for path in later}
    for path in later:
        path.unlink()
    migrate(fresh_database, schema_copy)
    paid = [  # (order id, status, when it was paid in UTC: the receipt year is the WIB one)
        ("LATE-2026", "PAID", "2026-12-31 18:00+00"),  # 1 January 2027, 01:00 WIB
        ("FIRST-2026", "PAID", "2026-03-01 10:00+00"),
        ("SECOND-2026", "PAID", "2026-06-01 10:00+00"),
        ("REFUNDED-2026", "REFUNDED", "2026-07-01 10:00+00"),
        ("UNPAID", "PENDING_PAYMENT", None),
    ]
    for order_id, status, paid_at in paid:
        _insert_order(fresh_database, order_id, status, paid_at)
    for path, text in held_back.items():
        path.write_text(text)

    migrate(fresh_database, schema_copy)

    numbers = dict(_query(fresh_database, "SELECT order_id, receipt_number FROM orders"))
    assert numbers == {
        "FIRST-2026": "KW/2026/000001",
        "SECOND-2026": "KW/2026/000002",
        "REFUNDED-2026": "KW/2026/000003",
        "LATE-2026": "KW/2027/000001",
        "UNPAID": None,
    }
    counters = _query(fresh_database, "SELECT year, last_number FROM receipt_counters ORDER BY 1")
    assert counters == [(2026, 3), (2027, 1)]
