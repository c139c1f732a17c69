"""A one-line progress bar on stderr for long admin commands (redrawn only on a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.1


class ProgressLine:
    """`name [#########.....] 120/400` redrawn in place; one final line when not a terminal."""

    def __init__(self, total: int, name: str, stream: TextIO | None = None) -> None:
        self._total = total
        self._name = name
        self._stream = stream or sys.stderr
        self._done = 0
        self._drawn_at = 0.0
        self._live = self._stream.isatty()

    def advance(self, count: int = 1) -> None:
        self._done += count
        now = time.monotonic()
        if self._live and now - self._drawn_at >= REDRAW_SECONDS:
            self._draw("\r")
            self._drawn_at = now

    def finish(self) -> None:
        self._draw("\r" if self._live else "")
        self._stream.write("\n")
        self._stream.flush()

    def _draw(self, prefix: str) -> None:
        filled = BAR_WIDTH * self._done // self._total if self._total else BAR_WIDTH
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._stream.write(f"{prefix}{self._name} [{bar}] {self._done}/{self._total}")
        self._stream.flush()
