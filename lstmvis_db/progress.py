"""Progress reports: one abstraction for everything that writes or extracts a project.

A long job reports ``(label, fraction)`` calls, ``fraction`` in ``[0, 1]`` per label.  A
:class:`Progress` passes them on to a callback (the app draws its own bar) or, when enabled
with ``True``, draws a one-line bar on stderr if stderr is a terminal; otherwise (a log file,
a pipe) it writes log lines through :mod:`logging` (logger ``lstmvis_db.progress``, level INFO:
silent unless the program configures logging or uses :func:`log_lines_to_stderr`), so
carriage-return lines never land in a file.  :class:`Counter` turns "n more items done" into
fractions.

May import: the standard library only.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ProgressCallback = Callable[[str, float], None]
ProgressArg = bool | ProgressCallback
"""False (silent), True (a bar on a terminal, log lines otherwise) or a callback ``(label, fraction)``."""

LOG = logging.getLogger("lstmvis_db.progress")
BAR_WIDTH = 30
REDRAW_SECONDS = 0.2


class Progress:
    """A callback, a terminal bar, or log lines (see the module docstring); call it with
    ``(label, fraction)``.  Bars are redrawn at most every 0.2 s, and always at 100%."""

    def __init__(self, enabled: ProgressArg) -> None:
        self._callback = enabled if callable(enabled) else None
        self._on = bool(enabled) and self._callback is None
        self._tty = self._on and sys.stderr.isatty()
        self._last = 0.0
        self._logged: tuple[str, int] | None = None

    def __call__(self, label: str, fraction: float) -> None:
        if self._callback is not None:
            self._callback(label, fraction)
        elif self._tty:
            self._draw(label, fraction)
        elif self._on:
            self._log(label, fraction)

    def _draw(self, label: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < REDRAW_SECONDS:
            return
        self._last = now
        bar = "#" * int(BAR_WIDTH * fraction)
        end = "\n" if fraction >= 1.0 else ""
        sys.stderr.write(f"\r{label:<28} [{bar:<{BAR_WIDTH}}] {100 * fraction:5.1f}%{end}")
        sys.stderr.flush()

    def _log(self, label: str, fraction: float) -> None:
        quarter = min(int(4 * fraction), 4)  # one line per label and quarter done
        if self._logged != (label, quarter):
            self._logged = (label, quarter)
            LOG.info("%s: %.0f%%", label, 100 * fraction)


class Counter:
    """Counts items done out of ``total`` and reports the fraction under one label."""

    def __init__(self, progress: ProgressCallback, total: int, label: str) -> None:
        self.progress = progress
        self.total = max(int(total), 1)
        self.label = label
        self.done = 0

    def update(self, n: int) -> None:
        """``n`` more items done."""
        self.done += n
        self.progress(self.label, self.done / self.total)


class _StderrLines(logging.Handler):
    """Writes records to the current ``sys.stderr`` (looked up at each record)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except (OSError, ValueError):  # pragma: no cover - a closed or broken stderr
            self.handleError(record)


@contextmanager
def log_lines_to_stderr() -> Iterator[None]:
    """Within the block, progress log lines (the form used off a terminal) go to stderr."""
    handler = _StderrLines()
    level = LOG.level
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    try:
        yield
    finally:
        LOG.removeHandler(handler)
        LOG.setLevel(level)
