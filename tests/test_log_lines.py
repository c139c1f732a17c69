"""What a developer reads in the console: one line per event, our lines and the libraries' in
the same shape, the local time with its zone, the context as key=value."""

from __future__ import annotations

import json
import logging
import os
import pty
import re
import subprocess
import sys

import pytest
from loguru import logger

from config.logs import configure_logging
from messaging.contract import CREATE_PAYMENT
from tests.conftest import PROJECT_ROOT, wait_for
from tests.test_settings import PRODUCTION

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ (?P<level>[A-Z]+) +(?P<name>\S+) (?P<rest>.*)$"
)


@pytest.fixture
def console_lines(capsys):
    def written(log_format: str) -> list[str]:
        configure_logging("INFO", log_format)
        try:
            logger.bind(request_id="abc123", note="two words").info("GET /health -> 200")
            logging.getLogger("waitress").warning("Serving on %s", "0.0.0.0:8000")
        finally:
            configure_logging("INFO", "pretty")
        return capsys.readouterr().err.splitlines()

    return written


def test_pretty_lines_read_as_one_format_with_context_as_key_value(console_lines):
    ours, library = console_lines("pretty")
    ours_parts, library_parts = LINE.match(ours), LINE.match(library)
    assert ours_parts and library_parts, (ours, library)
    assert ours_parts["rest"] == 'GET /health -> 200 request_id=abc123 note="two words"'
    assert (library_parts["level"], library_parts["name"]) == ("WARNING", "waitress")
    assert library_parts["rest"] == "Serving on 0.0.0.0:8000"
    assert "{" not in ours + library


def test_json_lines_keep_their_fields(console_lines):
    ours, library = (json.loads(line) for line in console_lines("json"))
    assert ours["message"] == "GET /health -> 200" and ours["request_id"] == "abc123"
    assert library["logger"] == "waitress" and library["level"] == "WARNING"


@pytest.mark.parametrize("log_format", ["pretty", "json"])
def test_an_internationalised_address_in_a_provider_error_is_masked(capsys, log_format):
    """Checkout takes addresses such as `siti.rahma@exämple.com`; a relay that echoes one in
    its refusal must not put it in the logs whole."""
    configure_logging("INFO", log_format)
    try:
        logger.bind(order_id="BFA-1").warning(
            "EMAIL failed: SMTP 554 5.7.1 <siti.rahma@exämple.com>: rejected (ü@例え.テスト)"
        )
    finally:
        configure_logging("INFO", "pretty")
    written = capsys.readouterr().err
    if log_format == "json":
        written = json.loads(written)["message"]
    assert "<s***@exämple.com>: rejected (ü***@例え.テスト)" in written
    assert "siti.rahma" not in written


def test_a_failed_message_is_logged_without_the_customers_details(worker, system):
    """Dramatiq logs a message that fails unexpectedly (a database blip, a bug) with all its
    arguments; a checkout's hold the customer's name, which no pattern masks."""
    lines: list[str] = []
    # As the production sinks are: tracebacks without local variables.
    sink = logger.add(lambda message: lines.append(str(message)), diagnose=False)
    request = {"order_id": "BFA-LOG-1", "name": "Siti Rahmawati Kusuma"}  # no package: fails
    try:
        sent = system["broker"].enqueue(CREATE_PAYMENT.message(request))
        wait_for(lambda: any("Failed to process message" in line for line in lines))
    finally:
        logger.remove(sink)
    failed = next(line for line in lines if "Failed to process message" in line)
    assert f"create_payment[{sent.message_id}]" in failed
    assert "Siti Rahmawati" not in "".join(lines)


def test_the_sandbox_writes_the_same_lines_as_every_other_process():
    """`./run.sh` interleaves the sandbox's output with the others': it must read the same."""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import free_port

    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MIDTRANS_", "SMTP_", "SANDBOX_", "LOG_"))
    }
    environment |= {"SANDBOX_PORT": str(free_port()), "SMTP_PORT": str(free_port())}
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "harness.sandbox"],
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = sandbox.stderr.readline()
    finally:
        sandbox.send_signal(signal.SIGINT)
        stopped = sandbox.communicate(timeout=30)[1].splitlines()
    parts = LINE.match(ready.rstrip("\n"))
    assert parts and (parts["level"], parts["name"]) == ("INFO", "sandbox"), ready
    assert parts["rest"].startswith("sandbox ready: inbox http://127.0.0.1:")
    assert sandbox.returncode == 0 and LINE.match(stopped[-1]), stopped


def _launcher_log(service_urls, stderr_on_terminal: bool, **settings: str) -> str:
    """What `./run.sh migrate` with production keys writes to stderr: to a pipe (systemd's
    journal) or to a terminal (the owner at a shell)."""
    environment = {
        **PRODUCTION,
        "DATABASE_URL": service_urls["database_url"],
        "REDIS_URL": service_urls["redis_url"],
        "PATH": os.environ["PATH"],
        **settings,
    }
    reader, writer = pty.openpty() if stderr_on_terminal else os.pipe()
    command = [sys.executable, "-m", "local.launcher", "migrate"]
    with subprocess.Popen(command, env=environment, cwd=PROJECT_ROOT, stderr=writer) as launcher:
        os.close(writer)
        written = b""
        while chunk := _read_or_end(reader):
            written += chunk
        assert launcher.wait(timeout=60) == 0, written
    os.close(reader)
    return written.decode()


def _read_or_end(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # a terminal whose last writer closed reads as EIO
        return b""


def test_production_logs_json_to_the_journal_by_default(service_urls):
    (line,) = _launcher_log(service_urls, stderr_on_terminal=False).splitlines()
    assert json.loads(line)["message"].startswith("Migrations applied")


def test_production_logs_pretty_to_a_person_at_a_terminal(service_urls):
    (coloured,) = _launcher_log(service_urls, stderr_on_terminal=True).splitlines()
    line = re.sub(r"\x1b\[[0-9;]*m", "", coloured).strip()
    assert LINE.match(line) and "Migrations applied" in line


def test_an_explicit_log_format_always_wins(service_urls):
    (line,) = _launcher_log(
        service_urls, stderr_on_terminal=False, LOG_FORMAT="pretty"
    ).splitlines()
    assert LINE.match(line) and "Migrations applied" in line
