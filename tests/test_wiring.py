"""How the processes are wired: the web imports no worker code and connects nowhere on import,
the worker declares every actor of the contract on its queue, one function writes an order's
status, and the project's own imports sit at module level."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

from messaging.contract import ACTORS, PERIODIC_JOBS
from models.statuses import ORDER_STATUSES, OUTBOX_STATUSES, REFUND_STATUSES
from tests.conftest import PROJECT_ROOT

SOURCE_FOLDERS = ("admin", "config", "integrations", "local", "messaging", "models", "harness")
SOURCE_FOLDERS += ("tasks", "web", "schema")
OWN_PACKAGES = set(SOURCE_FOLDERS)


def source_files():
    for folder in SOURCE_FOLDERS:
        yield from sorted((PROJECT_ROOT / folder).rglob("*.py"))


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# Any connection attempt from the imported code fails loudly.
NO_CONNECTIONS = """
import socket
def refuse(*args, **kwargs):
    raise AssertionError(f"connected at import: {args}")
socket.socket.connect = refuse
socket.create_connection = refuse
"""


def test_importing_the_web_needs_no_settings_imports_no_worker_code_and_connects_nowhere():
    imported = run_python(
        NO_CONNECTIONS + "import sys, json, web.app, web.server\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'tasks')))",
        env={"PATH": "/usr/bin:/bin"},
    )
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout) == []


def test_the_scheduler_and_the_admin_command_line_import_no_worker_code():
    imported = run_python(
        NO_CONNECTIONS + "import sys, json, tasks.scheduler, admin.cli\n"
        "admin.cli.build_parser()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'tasks')))",
        env={"PATH": "/usr/bin:/bin"},
    )
    assert imported.returncode == 0, imported.stderr
    operations = ["tasks.operations", *(f"tasks.operations.{name}" for name in OPERATIONS)]
    assert json.loads(imported.stdout) == ["tasks", *operations, "tasks.scheduler"]


# The operations the admin command line runs inline (the reconciliation, worker code, is imported
# only by its command): shared with the console's actors, they import models/ and messaging/.
OPERATIONS = ("access", "catalog", "dead_letters", "outbox", "person")


def test_the_configuration_imports_nothing_of_the_project_above_it():
    above = []
    for path in sorted((PROJECT_ROOT / "config").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = imported_names(node)
            above += [name for name in names if name.split(".")[0] in OWN_PACKAGES - {"config"}]
    assert above == []


def test_the_worker_command_declares_every_actor_of_the_contract_on_its_queue(environment):
    fresh = run_python(
        "import json, dramatiq, tasks.worker\n"
        "broker = dramatiq.get_broker()\n"
        "print(json.dumps({a.actor_name: a.queue_name for a in broker.actors.values()}))",
        env={"PATH": "/usr/bin:/bin", **environment},
    )
    assert fresh.returncode == 0, fresh.stderr
    declared = json.loads(fresh.stdout.strip().splitlines()[-1])
    assert declared == {spec.name: spec.queue for spec in ACTORS}
    assert {job.name for job, _ in PERIODIC_JOBS} <= set(declared)


def test_a_worker_without_service_urls_refuses_to_start_with_one_clear_line():
    started = subprocess.run(
        [sys.executable, "-m", "dramatiq", "tasks.worker", "-p", "1", "-t", "1"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "DATABASE_URL and REDIS_URL must be set for workers" in started.stderr


def imported_names(node: ast.AST) -> list[str]:
    """The modules an import statement names; none for any other node."""
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return []


def function_level_imports() -> list[tuple[str, int, str]]:
    """(file, line, the comment line above) for each import of our own modules in a function."""
    found = []
    for path in source_files():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                names = imported_names(inner)
                if any(name.split(".")[0] in OWN_PACKAGES for name in names):
                    above = lines[inner.lineno - 2].strip()
                    relative = str(path.relative_to(PROJECT_ROOT))
                    found.append((relative, inner.lineno, above))
    return found


def test_few_imports_of_our_own_modules_sit_inside_functions_and_each_says_why():
    found = function_level_imports()
    assert len(found) <= 12, found
    unexplained = [(path, line) for path, line, above in found if not above.startswith("#")]
    assert unexplained == []


def status_writes(path) -> list[int]:
    """Lines that may change orders.status: `Order.update(...)` with a `status=` or `**`
    argument, an assignment to `<an order>.status`, or SQL that updates orders' status."""
    text = path.read_text()
    lines = []
    for node in ast.walk(ast.parse(text)):
        if _is_order_update(node) and any(kw.arg in ("status", None) for kw in node.keywords):
            lines.append(node.lineno)
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_order_status(target) for target in targets):
                lines.append(node.lineno)
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(r"UPDATE\s+orders\b.*\bstatus\s*=", line, re.I):
            lines.append(number)
    return lines


def _is_order_update(node: ast.AST) -> bool:
    function = getattr(node, "func", None)
    owner = getattr(function, "value", None)
    return getattr(owner, "id", None) == "Order" and getattr(function, "attr", None) == "update"


def _is_order_status(target: ast.expr) -> bool:
    """`order.status`, `paid_order.status`, ... (a response's `resp.status` is not one)."""
    owner = getattr(target, "value", None)
    return getattr(target, "attr", None) == "status" and "order" in getattr(owner, "id", "")


def test_only_the_status_writer_changes_an_order_status():
    writers = {
        str(path.relative_to(PROJECT_ROOT)): found
        for path in source_files()
        if (found := status_writes(path))
    }
    assert list(writers) == ["models/payments.py"], writers
    assert len(writers["models/payments.py"]) == 1  # write_status, once


@pytest.mark.parametrize(
    ("migration", "column", "statuses"),
    [
        ("0001_initial", "orders.status", ORDER_STATUSES),
        ("0001_initial", "notification_outbox.status", OUTBOX_STATUSES),
        ("0008_refunds", "refunds.status", REFUND_STATUSES),
    ],
)
def test_the_schema_allows_exactly_the_statuses_the_code_knows(migration, column, statuses):
    table, name = column.split(".")
    schema = (PROJECT_ROOT / "schema" / f"{migration}.sql").read_text()
    body = schema[schema.index(f"CREATE TABLE {table} (") :]
    body = body[: body.index(";")]
    listed = re.search(rf"\b{name}\s+text[^,]*CHECK \({name} IN\s*\(([^)]*)\)", body, re.S)
    assert listed, f"no CHECK on {column}"
    assert set(re.findall(r"'([A-Z_]+)'", listed.group(1))) == set(statuses)
