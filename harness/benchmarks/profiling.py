"""`--profile`: py-spy samples the web and the workers (with their worker processes) while a
phase runs, and each profile is summarised as the functions that hold the most samples.

py-spy is not a requirement of the project: `.venv/bin/pip install py-spy` first.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import psutil

TOP = 30


def py_spy() -> str | None:
    beside_python = Path(sys.executable).parent / "py-spy"
    return str(beside_python) if beside_python.exists() else shutil.which("py-spy")


@contextmanager
def sampled(targets: dict[str, psutil.Process | None], folder: Path, phase: str):
    """Samples each target (and its children) until the block ends; writes
    `<phase>-<name>.txt` (collapsed stacks) and `<phase>-<name>-top.txt` (the summary)."""
    binary = py_spy()
    recorders = {}
    if binary is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, process in targets.items():
            if process is None:
                continue
            output = folder / f"{phase}-{name}.txt"
            command = [binary, "record", "--pid", str(process.pid), "--subprocesses"]
            # --gil: only the thread holding the GIL, i.e. where the Python CPU time goes
            command += ["--gil", "--nonblocking", "--rate", "100", "--format", "raw"]
            command += ["-o", str(output)]
            recorders[name] = (
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                output,
            )
    try:
        yield
    finally:
        for recorder, output in recorders.values():
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=60)
            if output.exists():
                output.with_name(output.stem + "-top.txt").write_text(summary(output))


def summary(collapsed: Path) -> str:
    """Share of samples per function: on the stack (inclusive) and on top (self)."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples of the thread holding the GIL", ""]
    for title, counts in (("inclusive", inclusive), ("self", own)):
        lines.append(f"--- {title}")
        for frame, count in counts.most_common(TOP):
            lines.append(f"{100 * count / max(total, 1):5.1f}%  {frame}")
        lines.append("")
    return "\n".join(lines)
