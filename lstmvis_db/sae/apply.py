"""Applying an SAE to a dense source of a project: its latents become a new sparse source
(docs/extraction.md §Applying an SAE).

The source is read a bounded block of positions at a time, encoded, and only the non-zero
latents are kept (memory: one block of d_sae floats per position plus the entries); the new
source is then written into the project in one atomic step (``store.add_source``), so a failure
leaves the project as it was."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmvis_db import store
from lstmvis_db.errors import InputError
from lstmvis_db.progress import Progress
from lstmvis_db.queries import Catalog
from lstmvis_db.sae.model import Sae, from_object
from lstmvis_db.types import Source, SparseValues

BLOCK_VALUES = 1 << 23  # latents encoded at once (positions x d_sae), 32 MB of float32


def check_topk(topk: object, sae: Sae) -> int | None:
    if topk is None:
        return None
    if isinstance(topk, bool) or not isinstance(topk, int | np.integer) or not 1 <= int(topk) <= sae.d_sae:
        raise InputError(f"topk must be an integer 1..{sae.d_sae}, got {topk!r}")
    return int(topk)


def encode_rows(rows_of: Callable[[int, int], np.ndarray], n: int, sae: Sae, topk: int | None = None,
                progress: Callable[[str, float], None] | None = None) -> SparseValues:
    """The non-zero latents of ``sae`` over ``n`` positions whose activations ``rows_of(a, b)``
    gives for positions a..b, a bounded block at a time."""
    rows = max(1, BLOCK_VALUES // max(sae.d_sae, sae.d_in))
    pos_parts, unit_parts, value_parts = [np.zeros(0, np.int32)], [np.zeros(0, np.int32)], [np.zeros(0, np.float32)]
    for a in range(0, n, rows):
        b = min(n, a + rows) - 1
        f = sae.encode(rows_of(a, b), topk)
        r, c = np.nonzero(f)
        pos_parts.append((r + a).astype(np.int32))
        unit_parts.append(c.astype(np.int32))
        value_parts.append(f[r, c].astype(np.float32))
        if progress is not None:
            progress("SAE latents", (b + 1) / n)
    cat_ = np.concatenate
    return SparseValues(n, sae.d_sae, cat_(pos_parts), cat_(unit_parts), cat_(value_parts))


def encode_source(cat: Catalog, source: str, sae: Sae, topk: int | None = None,
                  progress: Callable[[str, float], None] | None = None) -> SparseValues:
    """The non-zero latents of ``sae`` over every position of ``source`` (a dense source whose
    width is the SAE's d_in and whose values are raw: transform ``none``)."""
    info = cat.source(source)
    if info.sparse:
        raise InputError(f"source {source!r} is sparse; an SAE reads a dense source of activations")
    if info.n_cells != sae.d_in:
        raise InputError(f"the SAE reads {sae.d_in} dimensions (d_in) but source {source!r} has {info.n_cells} cells")
    if info.transform != "none":
        raise InputError(f"source {source!r} stores {info.transform}(activations), not the activations an SAE reads")
    from lstmvis_db import queries

    return encode_rows(lambda a, b: queries.window(cat, source, a, b), cat.n_positions, sae, topk, progress)


def describe(sae: Sae, source: str, k: int | None) -> str:
    """The new source's description: the SAE, what it read, where it came from."""
    how = sae.architecture + (f", k={k or sae.k}" if sae.architecture == "topk" or k else "")
    parts = [f"SAE latents ({how}, d_sae={sae.d_sae}) of {source}"]
    if sae.hook_name or sae.model_name:
        parts.append(f"hook {sae.hook_name or '?'} of {sae.model_name or '?'}")
    if sae.origin:
        parts.append(f"from {sae.origin}")
    return "; ".join(parts)


@dataclass(frozen=True)
class SaeRequest:
    """An SAE to apply during extraction: to the extracted source ``source`` (default: the one
    whose width is the SAE's d_in), stored as ``name``, optionally cut to ``topk`` latents."""

    sae: Any
    source: str | None = None
    name: str | None = None
    topk: int | None = None


@dataclass(frozen=True)
class SaePlan:
    """A checked :class:`SaeRequest`: the SAE, the source it reads, the new source's name."""

    sae: Sae
    source: str
    name: str
    topk: int | None

    def sparse_source(self, sources: Sequence[Source], progress: Callable[[str, float], None] | None = None) -> Source:
        """The new sparse source, encoded from the extracted ``sources`` (arrays that slice)."""
        base = next(s for s in sources if s.source == self.source)
        values = encode_rows(lambda a, b: np.asarray(base.values[a:b + 1], dtype=np.float32),
                             int(base.values.shape[0]), self.sae, self.topk, progress)
        return Source(self.name, values, model=base.model, layer=base.layer, kind="sae", transform="none",
                      unsigned=True, description=describe(self.sae, self.source, self.topk), layout="sparse")


def plan(request: SaeRequest, specs: Sequence[Any]) -> SaePlan:
    """Check ``request`` against the sources an extraction will write (``SourceSpec``s: source,
    n_cells), before the model runs."""
    sae = from_object(request.sae)
    k = check_topk(request.topk, sae)
    widths = {str(s.source): int(s.n_cells) for s in specs}
    if request.source is not None:
        if request.source not in widths:
            raise InputError(f"--sae-source {request.source!r} is not extracted; sources: {', '.join(widths)}")
        chosen = request.source
    else:
        fits = [name for name, w in widths.items() if w == sae.d_in]
        if len(fits) != 1:
            listed = ", ".join(f"{k}: {w}" for k, w in widths.items())
            raise InputError(f"the SAE reads {sae.d_in} dimensions (d_in) and " + (
                f"several extracted sources have that width ({', '.join(fits)}); say which with --sae-source"
                if fits else f"no extracted source has that width ({listed})"))
        chosen = fits[0]
    if widths[chosen] != sae.d_in:
        raise InputError(f"the SAE reads {sae.d_in} dimensions (d_in) but source {chosen!r} has {widths[chosen]} cells")
    name = request.name or default_name(chosen, sae)
    if name in widths:
        raise InputError(f"the SAE's source name {name!r} is taken by an extracted source; give another --sae-name")
    return SaePlan(sae, chosen, name, k)


def default_name(source: str, sae: Sae) -> str:
    return f"{source}::sae{sae.d_sae}"


def apply_sae(path: str | Path, source: str, sae: Any, name: str | None = None, topk: int | None = None,
              replace: bool = False, progress: bool | Callable[[str, float], None] = False) -> dict:
    """Add the latents of ``sae`` (a directory in SAELens' layout, a ``Sae`` or a sae_lens-like
    object) over ``source`` to the project file at ``path`` as the sparse source ``name``.

    Returns ``{"source", "n_cells", "entries", "density", "architecture"}``.

    Raises:
        InputError: a bad SAE, a source it does not fit, a name in use (without ``replace``); the
            project is left unchanged.
    """
    model = from_object(sae)
    k = check_topk(topk, model)
    out_name = name or default_name(source, model)
    bar = Progress(progress)
    con = store.connect(path, read_only=True)
    try:
        cat = Catalog(con, path=str(path))
        base = cat.source(source)
        if out_name in cat.sources and not replace:
            raise InputError(f"{path}: source {out_name!r} already exists; pass --replace or another --name")
        values = encode_source(cat, source, model, k, lambda label, f: bar(label, 0.5 * f))
    finally:
        con.close()
    src = Source(out_name, values, model=base.model, layer=base.layer, kind="sae", transform="none",
                 unsigned=True, description=describe(model, source, k), layout="sparse")
    store.add_source(path, src, replace=replace, progress=lambda label, f: bar(label, 0.5 + 0.5 * f))
    n = len(values.pos)
    return {"source": out_name, "n_cells": model.d_sae, "entries": n,
            "density": n / max(1, values.n_rows * values.n_cols), "architecture": model.architecture}
