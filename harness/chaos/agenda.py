"""Actions due at given times, run by a pool of threads: the clock of the traffic."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import traceback
from collections.abc import Callable


class Agenda:
    """`after(delay, action)`; an action may schedule more. Idle when nothing is due or running."""

    def __init__(self, threads: int) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._running = 0
        self._stopped = False
        self.errors: list[str] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"chaos-agenda-{n}", daemon=True)
            for n in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def after(self, delay: float, action: Callable[[], None]) -> None:
        with self._condition:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), action))
            self._condition.notify()

    def idle(self) -> bool:
        with self._condition:
            return not self._due and self._running == 0

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.2)
        return self.idle()

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._due.clear()
            self._condition.notify_all()

    def _next(self) -> Callable[[], None] | None:
        with self._condition:
            while not self._stopped:
                if self._due and self._due[0][0] <= time.monotonic():
                    self._running += 1
                    return heapq.heappop(self._due)[2]
                wait = self._due[0][0] - time.monotonic() if self._due else 1.0
                self._condition.wait(timeout=max(0.001, min(wait, 1.0)))
            return None

    def _work(self) -> None:
        while (action := self._next()) is not None:
            try:
                action()
            except Exception:  # noqa: BLE001 - recorded; one broken action must not stop the run
                self.errors.append(traceback.format_exc(limit=5))
            finally:
                with self._condition:
                    self._running -= 1
