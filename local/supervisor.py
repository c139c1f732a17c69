"""Runs the parts of the system as child processes for `./run.sh`: restarts a part that dies,
stops them all on Ctrl-C or SIGTERM, and cleans up parts left running by a killed launcher."""

from __future__ import annotations

import ctypes
import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
from loguru import logger

STOP_GRACE_SECONDS = 20
MAX_RESTART_DELAY = 30.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the launcher is killed, even by SIGKILL."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, pid_file: Path, env: dict[str, str]) -> None:
        self._pid_file = pid_file
        self._env = env
        self._commands: dict[str, list[str]] = {}
        self._children: dict[str, subprocess.Popen] = {}
        self._restart_delay: dict[str, float] = {}
        self._stopping = threading.Event()

    def start(self, commands: dict[str, list[str]]) -> None:
        self._stop_leftovers()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._stopping.set())
        self._commands = commands
        for name in commands:
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        self._children[name] = subprocess.Popen(
            self._commands[name], env=self._env, preexec_fn=_die_with_parent, start_new_session=True
        )  # Ctrl-C reaches the launcher only; it stops parts in order
        logger.info("Started {} (pid {})", name, self._children[name].pid)
        self._record_pids()

    def wait(self) -> int:
        """Supervises until asked to stop; then stops every part and returns 0."""
        while not self._stopping.wait(0.5):
            for name, child in list(self._children.items()):
                if child.poll() is not None:
                    self._restart(name, child.returncode)
        self._stop_all()
        return 0

    def _restart(self, name: str, returncode: int) -> None:
        delay = self._restart_delay.get(name, 0.5) * 2
        self._restart_delay[name] = min(delay, MAX_RESTART_DELAY)
        logger.error("{} exited with {}; restarting in {:.0f} s", name, returncode, delay)
        if not self._stopping.wait(delay):
            self._spawn(name)

    def _stop_all(self) -> None:
        logger.info("Stopping {}", ", ".join(self._children))
        for child in self._children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in self._children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("{} did not stop in time; killing it", name)
                _kill_tree(child.pid)
        self._pid_file.unlink(missing_ok=True)

    def _record_pids(self) -> None:
        records = {
            name: {"pid": child.pid, "started": psutil.Process(child.pid).create_time()}
            for name, child in self._children.items()
            if child.poll() is None
        }
        self._pid_file.parent.mkdir(parents=True, exist_ok=True)
        self._pid_file.write_text(json.dumps(records))

    def _stop_leftovers(self) -> None:
        """Parts recorded by a launcher that was killed are still ours: stop them first."""
        try:
            records = json.loads(self._pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        for name, record in records.items():
            try:
                process = psutil.Process(record["pid"])
                if abs(process.create_time() - record["started"]) < 1:
                    logger.warning("Stopping {} left over from a previous run", name)
                    _kill_tree(process.pid)
            except psutil.NoSuchProcess:
                continue
        self._pid_file.unlink(missing_ok=True)


def _kill_tree(pid: int) -> None:
    """SIGTERM a process and its children, then SIGKILL what is left after a grace period."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    family = [parent, *parent.children(recursive=True)]
    for process in family:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(family, timeout=10)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
