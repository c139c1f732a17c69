"""Process bookkeeping shared by the embedded PostgreSQL and Redis launchers.

Both servers daemonize, so they outlive whoever started them; after a crash their pid files
may name a dead process or, once pids are reused, an unrelated one. These helpers tell the
two apart and serialise start/stop between processes.
"""

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import psutil

T = TypeVar("T")


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started, reached or stopped."""


@contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an flock: two launchers never start the same server, and the kernel frees it on kill."""
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def wait_until(condition: Callable[[], T], timeout: float, what: str) -> T:
    """Poll `condition` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while not (outcome := condition()):
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
    return outcome


def read_pid(pid_file: Path) -> int | None:
    """The first line of a pid file as an int, or None when the file is missing or half-written."""
    try:
        first_line = pid_file.read_text().partition("\n")[0].strip()
    except FileNotFoundError:
        return None
    return int(first_line) if first_line.isdigit() else None


def server_process(pid: int | None, name: str, marker: str) -> psutil.Process | None:
    """The live process `pid` if it is our server: named `name` with `marker` in its command line.

    A pid file's pid may have been reused by any other process after a crash or a reboot.
    """
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        is_ours = process.name() == name and marker in " ".join(process.cmdline())
        return process if is_ours and is_running(process) else None
    except psutil.Error:
        return None


def is_running(process: psutil.Process) -> bool:
    """Alive and not a zombie: daemons are reparented to init, which may be slow to reap them."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(process: psutil.Process, timeout: float) -> None:
    """Wait until `process` has exited; SIGKILL it if it takes longer than `timeout`."""
    try:
        wait_until(lambda: not is_running(process), timeout, f"pid {process.pid} to exit")
    except EmbeddedServerError:
        with suppress(psutil.NoSuchProcess):
            process.kill()
        wait_until(lambda: not is_running(process), 5, f"pid {process.pid} to die")


def end_process(process: psutil.Process, grace: float = 10) -> None:
    """SIGTERM (the servers' clean shutdown), then SIGKILL after `grace` seconds."""
    try:
        process.terminate()
    except psutil.NoSuchProcess:
        return
    wait_gone(process, grace)
