"""Add an annotation track to an existing project from a CSV or Parquet file.

The file has a ``pos`` column (0-based token positions) and a ``label`` column (categorical
track) or a ``value`` column (scalar track); positions without a row have no annotation.
The project is changed atomically: the file is copied to a temporary name beside it, the
track is added to the copy, and the copy is renamed over the original only when complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.types import Track


def read_track_file(path: str | Path, kind: str | None = None) -> tuple[str, np.ndarray, np.ndarray]:
    """Read ``(pos, label|value)`` rows from a ``.csv`` or ``.parquet`` file.

    Returns:
        ``(kind, positions, labels or values)``; rows with an empty label or a NaN value are
        dropped.

    Raises:
        InputError: missing file or column, unknown kind, non-integer or duplicate positions,
            non-numeric or infinite values.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputError(f"track file not found: {p}")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif p.suffix.lower() in (".csv", ".tsv", ".txt"):
            df = pd.read_csv(
                p, sep="\t" if p.suffix.lower() == ".tsv" else ",", dtype={"label": str},
                keep_default_na=False, na_values={"value": ["", "NaN", "nan", "NA"]},
            )
        else:
            raise InputError(f"{p}: track file must be .csv, .tsv or .parquet")
    except InputError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{p}: cannot read the track file ({msg})") from e
    cols = {str(c).strip().lower(): c for c in df.columns}
    if "pos" not in cols:
        raise InputError(f"{p}: no 'pos' column (columns: {', '.join(map(str, df.columns))})")
    if kind is None:
        if "label" in cols and "value" in cols:
            raise InputError(f"{p}: has both 'label' and 'value' columns: choose --kind")
        if "label" in cols:
            kind = "categorical"
        elif "value" in cols:
            kind = "scalar"
        else:
            raise InputError(f"{p}: no 'label' or 'value' column")
    if kind not in ("categorical", "scalar"):
        raise InputError(f"unknown track kind {kind!r} (categorical or scalar)")
    col = "label" if kind == "categorical" else "value"
    if col not in cols:
        raise InputError(f"{p}: a {kind} track needs a '{col}' column")
    raw_pos = pd.to_numeric(df[cols["pos"]], errors="coerce")
    bad = np.flatnonzero(raw_pos.isna().to_numpy() | (raw_pos.to_numpy(dtype=float) % 1 != 0))
    if len(bad):
        raise InputError(f"{p}: row {int(bad[0]) + 1}: pos {df[cols['pos']].iloc[bad[0]]} is not an integer")
    pos = raw_pos.to_numpy(dtype=np.int64)
    if kind == "categorical":
        labels = df[cols["label"]].astype(object).to_numpy()
        keep = np.array([x is not None and not (isinstance(x, float) and np.isnan(x)) and str(x) != ""
                         for x in labels], dtype=bool)
        data: np.ndarray = np.array([str(x) for x in labels[keep]], dtype=object)
    else:
        vals = pd.to_numeric(df[cols["value"]], errors="coerce")
        nonnum = np.flatnonzero(vals.isna().to_numpy() & df[cols["value"]].notna().to_numpy())
        if len(nonnum):
            raise InputError(
                f"{p}: row {int(nonnum[0]) + 1}: value {str(df[cols['value']].iloc[nonnum[0]])!r} is not a number"
            )
        arr = vals.to_numpy(dtype=np.float64)
        if np.isinf(arr).any():
            raise InputError(f"{p}: row {int(np.flatnonzero(np.isinf(arr))[0]) + 1}: value is infinite")
        keep = ~np.isnan(arr)
        data = arr[keep]
    pos = pos[keep]
    uniq, counts = np.unique(pos, return_counts=True)
    if (counts > 1).any():
        raise InputError(f"{p}: position {int(uniq[counts > 1][0])} appears more than once")
    if not len(pos):
        raise InputError(f"{p}: no annotated positions")
    return kind, pos, data


def add_track(
    db: str | Path,
    file: str | Path,
    track: str,
    kind: str | None = None,
    description: str = "",
    replace: bool = False,
) -> dict[str, Any]:
    """Add a categorical or scalar track to the project ``db`` from a CSV/Parquet file.

    Args:
        db: the project file.
        file: the ``(pos, label)`` or ``(pos, value)`` file.
        track: the new track's name.
        kind: ``categorical`` or ``scalar`` (default: from the column present).
        description: the track's description (default names the file).
        replace: replace an existing track of that name instead of refusing.

    Returns:
        ``{"db", "track", "kind", "annotated"}``.

    Raises:
        InputError: bad file (see :func:`read_track_file`), a position outside the token
            stream, an existing track, or a file that is not a project.  The project is
            left unchanged.
    """
    from lstmvis_db import store

    db = Path(db)
    if not track or not track.strip():
        raise InputError("track name is empty")
    with store.connect(db, read_only=True) as con:  # a clear error when missing / not a project
        row = con.execute("SELECT count(*) FROM tokens").fetchone()
    n = int(row[0]) if row else 0
    kind, pos, data = read_track_file(file, kind)
    out_of_range = pos[(pos < 0) | (pos >= n)]
    if len(out_of_range):
        raise InputError(
            f"{file}: position {int(out_of_range[0])} is outside the project's tokens 0..{n - 1}"
        )
    full = Track(
        track=track,
        kind=kind,  # type: ignore[arg-type]
        description=description or f"added from {Path(file).name}",
    )
    if kind == "categorical":
        labels: list[str | None] = [None] * n
        for p_, lab in zip(pos.tolist(), data.tolist()):
            labels[p_] = lab
        full.labels = labels
    else:
        values = np.full(n, np.nan)
        values[pos] = data
        full.values = values
    store.write_track(db, full, replace=replace)
    return {"db": str(db), "track": track, "kind": kind, "annotated": len(pos)}
