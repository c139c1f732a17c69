"""The run's verdict: a table for people, JSON for machines."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from harness.chaos.invariants import Invariant

SHOWN_FAILURES = 5


@dataclass
class Report:
    profile: dict
    started_at: str
    duration_seconds: float
    figures: dict
    settle: dict
    faults: list[dict]
    kills: list[dict]
    invariants: list[Invariant]
    machine: dict = field(default_factory=lambda: machine())

    @property
    def passed(self) -> bool:
        return all(invariant.passed for invariant in self.invariants)

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "profile": self.profile,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration_seconds, 1),
            "machine": self.machine,
            "figures": self.figures,
            "settle": self.settle,
            "invariants": [invariant.as_dict() for invariant in self.invariants],
            "faults": self.faults,
            "kills": self.kills,
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, default=str) + "\n")


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "processor": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def render_table(report: Report) -> str:
    profile, figures = report.profile, report.figures
    minutes, seconds = divmod(round(report.duration_seconds), 60)
    lines = [
        f"Hostile-world run: profile {profile['name']}, mix {profile['mix']}, "
        f"seed {profile['seed']}, {minutes} min {seconds:02d} s on {report.machine['cpus']} CPUs",
        f"  orders       {figures['orders']}",
        f"  notifications {figures['notifications']}",
        f"  faults       {figures['faults']}",
        f"  settled      {report.settle['outcome']} after {report.settle['seconds']:.0f} s",
        "",
        f"  {'invariant':<60} {'result':<6}  detail",
    ]
    for invariant in report.invariants:
        verdict = "PASS" if invariant.passed else "FAIL"
        lines.append(f"  {invariant.name:<60} {verdict:<6}  {invariant.summary}")
    for invariant in report.invariants:
        if invariant.passed:
            continue
        lines += ["", f"  {invariant.name}: {len(invariant.failures)} failures, e.g."]
        lines += [f"    {json.dumps(f, default=str)}" for f in invariant.failures[:SHOWN_FAILURES]]
    lines += ["", "  RESULT: " + ("PASS" if report.passed else "FAIL")]
    return "\n".join(lines)
