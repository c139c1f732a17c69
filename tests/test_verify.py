"""The readiness check against a running system: every check PASSes when the parts run, and the
one that is missing or stuck FAILs with exit code 1."""

import json
import threading
import time
from datetime import timedelta

import pytest

from admin.verify import CHECKS, CheckResult, render_text
from config.settings import load_settings
from models.base import utcnow
from models.events import PaymentEvent
from models.outbox import OutboxMessage
from tasks.scheduler import run_scheduler
from tests.conftest import wait_for
from tests.factories import paid_order
from tests.test_settings import PRODUCTION, REAL

CHECK_NAMES = [name for name, _ in CHECKS]


@pytest.fixture
def worker_alive(worker, system):
    client = system["broker"].client
    wait_for(
        lambda: list(client.scan_iter(match="dramatiq:heartbeat:worker:*")),
        message="worker heartbeat",
    )
    return worker


@pytest.fixture
def scheduler(worker_alive, system):
    """The real scheduler loop in a thread, stopped after the test."""
    from messaging.contract import scheduler_heartbeat_key
    from messaging.redis import Enqueuer

    stop = threading.Event()
    enqueuer = Enqueuer(system["broker"].client)
    thread = threading.Thread(target=run_scheduler, args=(enqueuer, stop), daemon=True)
    thread.start()
    wait_for(
        lambda: system["broker"].client.exists(scheduler_heartbeat_key()),
        message="scheduler beat",
    )
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.fixture
def backed_up(system):
    """A backup finished a minute ago, as `./run.sh admin backup` records it."""
    from messaging.contract import last_backup_key

    system["broker"].client.set(last_backup_key(), int(time.time()) - 60)


def verify(admin_cli, capsys, web) -> tuple[int, dict[str, str]]:
    """The exit code and each check's PASS/FAIL line, by check name."""
    code = admin_cli(["verify", "--url", web])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Mode: local-sandbox (MODE UJI, ")  # people's output, no logs
    assert lines[1].startswith("Graph API version: v26.0 ")
    assert all(line[:6] in ("PASS  ", "FAIL  ") for line in lines[2:]), lines
    by_name = {}
    for name in CHECK_NAMES:
        (line,) = [line for line in lines if line[6:].startswith(name + " ")]
        by_name[name] = line
    return code, by_name


def redis_persists(system) -> bool:
    (appendonly,) = system["broker"].client.config_get("appendonly").values()
    return appendonly in ("yes", b"yes")


def test_running_system_passes(web, scheduler, backed_up, system, capsys, admin_cli):
    code, lines = verify(admin_cli, capsys, web)
    persistent = redis_persists(system)
    expected = {name: "PASS" for name in CHECK_NAMES}
    expected["redis persistence"] = "PASS" if persistent else "FAIL"
    assert {name: line[:4] for name, line in lines.items()} == expected, lines
    assert code == (0 if persistent else 1)


def test_json_output_is_one_document(web, scheduler, backed_up, capsys, admin_cli):
    code = admin_cli(["verify", "--url", web, "--json"])
    document = json.loads(capsys.readouterr().out)
    assert document["graph_api_version"] == "v26.0" and document["mode"] == "local-sandbox"
    assert [check["name"] for check in document["checks"]] == CHECK_NAMES
    assert document["passed"] == (code == 0)


def test_logs_stay_off_the_report_unless_verbose(web, backed_up, capsys, admin_cli):
    admin_cli(["verify", "--url", web])
    quiet = capsys.readouterr()
    assert "INFO" not in quiet.err and "INFO" not in quiet.out
    admin_cli(["verify", "--url", web, "-v"])
    verbose = capsys.readouterr()
    assert "INFO" in verbose.err  # e.g. each outside call, on stderr
    assert all(line[:6] in ("PASS  ", "FAIL  ") for line in verbose.out.splitlines()[2:])


@pytest.mark.parametrize(
    "environment, first_line",
    [
        ({}, "Mode: local-sandbox (MODE UJI, the local sandbox plays Midtrans"),
        (REAL, "Mode: midtrans-sandbox (MODE UJI, test payments through Midtrans' sandbox"),
        (PRODUCTION, "Mode: production (real payments through Midtrans production)"),
    ],
)
def test_the_report_says_first_which_mode_it_checked(environment, first_line):
    health = CheckResult("health", True, "GET /health -> 200")
    report = render_text([health], load_settings(environment))
    assert report.splitlines()[0].startswith(first_line)


def test_signed_probe_is_stored_as_an_unknown_order(web, scheduler, db, capsys, admin_cli):
    verify(admin_cli, capsys, web)
    probe = wait_for(
        lambda: PaymentEvent.get_or_none(
            PaymentEvent.order_id.startswith("VERIFY-") & PaymentEvent.processed
        ),
        message="probe notification processed",
    )
    assert probe.outcome == "flagged_unknown_order"


def test_missing_scheduler_fails(web, worker_alive, capsys, admin_cli):
    code, lines = verify(admin_cli, capsys, web)
    assert code == 1
    assert lines["scheduler alive"].startswith("FAIL")
    assert lines["workers alive"].startswith("PASS")


def test_stuck_outbox_and_new_dead_letters_fail(web, db, system, sandbox_api, capsys, admin_cli):
    """No worker runs here, so nothing repairs the rows before verify looks at them."""
    paid_order(sandbox_api, payment_type="qris")
    first, second = OutboxMessage.select().order_by(OutboxMessage.id).limit(2)
    # What a sender killed mid-delivery and a message out of retries leave behind.
    OutboxMessage.update(status="SENDING", claimed_at=utcnow() - timedelta(minutes=6)).where(
        OutboxMessage.id == first.id
    ).execute()
    OutboxMessage.update(status="DLQ").where(OutboxMessage.id == second.id).execute()
    # Dramatiq's own dead-letter store: a zset scored by the time of death in milliseconds.
    now_ms = int(utcnow().timestamp() * 1000)
    system["broker"].client.zadd("dramatiq:payments.XQ", {"dead-message-id": now_ms})
    code, lines = verify(admin_cli, capsys, web)
    assert code == 1
    assert lines["outbox not stuck"].startswith("FAIL  outbox not stuck       1 SENDING")
    assert lines["no new dead letters"].startswith("FAIL  no new dead letters    2 new")


def test_unreachable_web_fails_its_checks_but_runs_the_rest(db, capsys, admin_cli):
    code, lines = verify(admin_cli, capsys, "http://127.0.0.1:9")
    assert code == 1
    for name in ("health", "unsigned webhook 401", "signed webhook 200"):
        assert lines[name].startswith("FAIL"), lines[name]
    assert lines["migrations current"].startswith("PASS")


def test_a_redis_that_hides_config_is_reported_unknown_not_failed(system):
    """Managed Redis services refuse CONFIG; an ACL user without it behaves the same."""
    import redis

    from admin.verify import check_redis_persistence
    from admin.verify_target import Target

    admin_client = system["broker"].client
    admin_client.execute_command(
        "ACL", "SETUSER", "verify-probe", "on", ">probe-pw", "~*", "+@all", "-config"
    )
    try:
        hidden = redis.Redis.from_url(
            system["settings"].redis_url, username="verify-probe", password="probe-pw"
        )
        passed, detail = check_redis_persistence(Target(None, hidden, "", system["settings"]))
        assert passed and detail.startswith("unknown")
    finally:
        admin_client.execute_command("ACL", "DELUSER", "verify-probe")
