"""CI's benchmark smoke: `python -m harness.benchmarks --smoke` starts a whole system of its own
(embedded PostgreSQL and Redis, the sandbox, the web, the workers, the scheduler), runs a few
orders end to end through every phase, and this test asserts the invariants only, never a timing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

SMOKE_TIMEOUT_SECONDS = 150


@pytest.mark.slow
@pytest.mark.timeout(SMOKE_TIMEOUT_SECONDS + 30)
def test_the_benchmark_smoke_loses_nothing_and_doubles_nothing(tmp_path):
    # Outside pytest's tmp root: the embedded PostgreSQL's own user must reach its folder.
    work_dir = Path(tempfile.mkdtemp(prefix="bfa-bench-smoke-"))
    results_path = tmp_path / "smoke.json"
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL")  # its own embedded servers, always
    }
    command = [sys.executable, "-m", "harness.benchmarks", "--smoke", "--work-dir", str(work_dir)]
    try:
        completed = subprocess.run(
            [*command, "--json", str(results_path)],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=SMOKE_TIMEOUT_SECONDS,
            check=False,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    assert results_path.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    checks = json.loads(results_path.read_text())["invariants"]
    assert checks["orders"] > 0
    assert checks["paid"] == checks["checkouts_accepted"] == checks["orders"], checks
    assert (checks["lost"], checks["doubled"]) == (0, 0), checks["examples"]
    assert completed.returncode == 0, completed.stderr[-3000:]
