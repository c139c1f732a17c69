"""wrk, the compiled load generator of the intake phase: found or installed from the
distribution's packages, driven by a generated Lua script that posts JSON bodies and prints its
own summary as one JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_TEMPLATE = """
local bodies = {
%(bodies)s
}
local path = %(path)s
local headers = { ["Content-Type"] = "application/json" }
local counter = 0

request = function()
  counter = counter + 1
  return wrk.format("POST", path, headers, bodies[(counter %% #bodies) + 1])
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '\\nWRK-JSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,'
    .. '"status":%%d,"timeout":%%d,"p50_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int  # connect, read, write and timeout errors plus answers >= 400
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "rate": round(self.rate, 1),
            "errors": self.errors,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        }


def find_wrk() -> str | None:
    """The wrk binary; installed with apt-get when missing and this process may (root)."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk is missing: installing it from the distribution's packages (apt-get install wrk)")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 300}
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=environment, check=False, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=environment, check=False, **quiet)
        subprocess.run(install, env=environment, check=False, **quiet)
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    """A Lua long string that holds `text` verbatim."""
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def write_script(folder: Path, name: str, path: str, bodies: list[dict]) -> Path:
    """A Lua script posting `bodies` in turn to `path`."""
    script = folder / f"{name}.lua"
    rows = ",\n".join(_lua_string(json.dumps(body, separators=(",", ":"))) for body in bodies)
    script.write_text(LUA_TEMPLATE % {"bodies": rows, "path": _lua_string(path)})
    return script


def run_wrk(
    wrk: str, url: str, script: Path, seconds: int, threads: int = 2, connections: int = 50
) -> WrkResult:
    """One wrk run against `url` (loopback only); raises when wrk prints no summary."""
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    ).stdout
    line = next((line for line in output.splitlines() if line.startswith("WRK-JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {output[-500:]}")
    summary = json.loads(line.removeprefix("WRK-JSON "))
    errors = sum(summary[key] for key in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        errors=errors,
        p50_ms=summary["p50_us"] / 1000,
        p95_ms=summary["p95_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        max_ms=summary["max_us"] / 1000,
    )
