"""argparse types that validate a flag's value: argparse then prints one line naming the flag
(``argument --limit: must be an integer >= 1, got '0'``) and exits 2.

Light at import (argparse, math, pathlib only) so that every command module may use them.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path


def _bounded(value: int, text: object, minimum: int | None, maximum: int | None, what: str) -> int:
    if minimum is not None and value < minimum:
        raise argparse.ArgumentTypeError(f"must be {what} >= {minimum}, got {text!r}")
    if maximum is not None and value > maximum:
        raise argparse.ArgumentTypeError(f"must be {what} <= {maximum}, got {text!r}")
    return value


def whole(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An integer flag in minimum..maximum."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        return _bounded(value, text, minimum, maximum, "an integer")

    parse.__name__ = "integer"
    return parse


def finite(text: str) -> float:
    """A finite number (a threshold may be negative)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def positive(text: str) -> float:
    """A positive finite number (a limit: 0, negative, nan and inf would switch it off)."""
    value = finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def int_list(minimum: int = 0) -> Callable[[str], list[int]]:
    """Comma-separated integers, each at least ``minimum`` (``1.5`` is refused, not cell 1)."""
    def parse(text: str) -> list[int]:
        items = [x.strip() for x in text.split(",") if x.strip()]
        try:
            values = [int(x) for x in items]
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a comma-separated list of integers, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError(f"must list at least one integer, got {text!r}")
        return [_bounded(v, v, minimum, None, "integers") for v in values]

    parse.__name__ = "integer list"
    return parse


def output_db(text: str) -> Path:
    """A project file to write: not a folder, in an existing folder this process may write."""
    from lstmvis_db.checks import check_output_path
    from lstmvis_db.errors import LstmvisError

    try:
        return check_output_path(text)
    except LstmvisError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def source_cells(text: str) -> tuple[str, list[int], float | None]:
    """``SOURCE:CELLS[@T]`` of ``match --also``: a source name (it may contain ``::``), its
    comma-separated cells and optionally its own threshold after ``@``."""
    body, at, t = text.partition("@")
    source, sep, cells = body.rpartition(":")
    if not sep or not source or (at and not t):
        raise argparse.ArgumentTypeError(f"must be SOURCE:CELLS[@THRESHOLD], got {text!r}")
    return source, int_list(0)(cells), finite(t) if at else None
