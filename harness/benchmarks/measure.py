"""CPU time and memory per process class (web, workers, scheduler, sandbox, PostgreSQL, Redis,
the load generator), sampled with psutil in a background thread.

A class is a set of root processes plus all their children (the dramatiq master's worker
processes and exporter, the postmaster's backends). CPU is user + system time; a process that
exits between two samples loses at most one interval of its time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

MB = 1024 * 1024

ClassRoots = Callable[[], dict[str, list[psutil.Process]]]


@dataclass(frozen=True)
class Mark:
    at: float  # time.time() of the mark
    cpu: dict[tuple[str, int, float], float]  # (class, pid, started) -> CPU seconds so far


@dataclass
class Memory:
    total_mb: float = 0.0  # all processes of the class together
    largest_mb: float = 0.0  # the largest single process

    def as_dict(self) -> dict:
        return {"total_mb": round(self.total_mb, 1), "largest_mb": round(self.largest_mb, 1)}


def _family(roots: list[psutil.Process], recursive: bool = True) -> list[psutil.Process]:
    members = []
    for root in roots:
        members.append(root)
        if recursive:
            try:
                members.extend(root.children(recursive=True))
            except psutil.Error:
                continue
    return members


class Meter:
    """Samples every `interval` seconds; `mark()` and `cpu_ms_since(mark)` bound a window."""

    def __init__(self, roots: ClassRoots, interval: float = 0.5) -> None:
        self._roots = roots
        self._interval = interval
        self._lock = threading.Lock()
        self._cpu: dict[tuple[str, int, float], float] = {}  # (class, pid, started) -> seconds
        self._peaks: dict[str, Memory] = {}  # since reset_peaks()
        self._run_peaks: dict[str, Memory] = {}  # since start()
        self.missed: set[str] = set()  # processes a window could not measure (see cpu_ms_since)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="meter", daemon=True)

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def sample(self) -> dict[str, Memory]:
        """Reads every process once; returns the memory now, per class."""
        now: dict[str, Memory] = {}
        with self._lock:
            for name, roots in self._roots().items():
                memory = now.setdefault(name, Memory())
                for process in _family(roots, recursive=name != "load"):
                    self._read(name, process, memory)
                for peaks in (self._peaks, self._run_peaks):
                    peak = peaks.setdefault(name, Memory())
                    peak.total_mb = max(peak.total_mb, memory.total_mb)
                    peak.largest_mb = max(peak.largest_mb, memory.largest_mb)
        return now

    def _read(self, name: str, process: psutil.Process, memory: Memory) -> None:
        try:
            with process.oneshot():
                times = process.cpu_times()
                rss = process.memory_info().rss / MB
                started = process.create_time()
        except psutil.Error:
            return
        self._cpu[(name, process.pid, started)] = times.user + times.system
        memory.total_mb += rss
        memory.largest_mb = max(memory.largest_mb, rss)

    def mark(self) -> Mark:
        """The CPU seconds so far of every process seen; the start of a window."""
        self.sample()
        with self._lock:
            return Mark(time.time(), dict(self._cpu))

    def cpu_ms_since(self, mark: Mark) -> dict[str, float]:
        """CPU milliseconds per class since `mark`. A process started since counts in full; one
        that was running but not seen at the mark is left out and named in `missed`, since
        counting its whole life would charge the window with earlier phases."""
        self.sample()
        totals: dict[str, float] = {}
        with self._lock:
            for key, seconds in self._cpu.items():
                name, pid, started = key
                before = mark.cpu.get(key)
                if before is None and started < mark.at - 1:
                    self.missed.add(f"{name} pid {pid}")
                    continue
                totals[name] = totals.get(name, 0.0) + (seconds - (before or 0.0)) * 1000
        return totals

    def reset_peaks(self) -> None:
        with self._lock:
            self._peaks = {}

    def peaks(self, whole_run: bool = False) -> dict[str, Memory]:
        with self._lock:
            peaks = self._run_peaks if whole_run else self._peaks
            return {name: Memory(peak.total_mb, peak.largest_mb) for name, peak in peaks.items()}
