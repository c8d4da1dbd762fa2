"""Python API (docs/semantics.md §Python API): the same operations as the CLI, for notebooks and scripts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd

from lstmvis_db import queries
from lstmvis_db.errors import InputError
from lstmvis_db.queries import Catalog
from lstmvis_db.sqlconsole import SqlConsole
from lstmvis_db.store import connect
from lstmvis_db.types import InfoResult, MatchResult, SearchHit, SourceDetail


class Project:
    """An open project file.  Read-only unless opened with ``read_only=False``."""

    def __init__(self, path: str | Path, read_only: bool = True) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.catalog = Catalog(connect(path, read_only=read_only), path=self.path)
        self._sql: SqlConsole | None = None

    def close(self) -> None:
        if self._sql is not None:
            self._sql.close()
        self.catalog.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # docs/semantics.md §Python API -----------------------------------------------------------------------
    def info(self) -> InfoResult:
        return queries.info(self.catalog)

    def select(self, source: str, start: int, end: int, threshold: float | None = None, left_off: int = 1,
               right_off: int = 0, quantile: float | None = None) -> list[int]:
        if quantile is not None or threshold is None:
            return self._quantile_call("select_quantile", threshold, quantile, source, start, end, quantile,
                                       left_off, right_off)
        return queries.select_cells(self.catalog, source, start, end, threshold, left_off, right_off)

    def match(self, source: str, cells, threshold: float | None = None, constrain_left: bool = True,
              constrain_right: bool = False, length: int = 0, limit: int = 50, pool: int | None = None,
              quantile: float | None = None) -> MatchResult:
        if quantile is not None or threshold is None:
            return self._quantile_call("match_quantile", threshold, quantile, source, cells, quantile,
                                       constrain_left, constrain_right, length, limit, pool)
        return queries.match(self.catalog, source, cells, threshold, constrain_left, constrain_right,
                             length, limit, pool)

    def match_sources(self, parts, constrain_left: bool = True, constrain_right: bool = False, length: int = 0,
                      limit: int = 50, pool: int | None = None) -> MatchResult:
        """A cell set over several sources: ``parts`` = [(source, cells, threshold), ...]; the count is
        the number of query cells on across the sources, and "all cells" are the parts' sources'."""
        from lstmvis_db.multimatch import match_sources

        return match_sources(self.catalog, parts, constrain_left, constrain_right, length, limit, pool)

    def export(self, parquet: str | Path, chunk_positions: int | None = None) -> dict:
        """As ``export --parquet DIR --json``: the project as a partitioned Parquet dataset
        (docs/scale.md), written atomically into the new folder ``parquet``."""
        from lstmvis_db.parquet.dataset import CHUNK_POSITIONS
        from lstmvis_db.parquet.export import export_parquet

        chunk = CHUNK_POSITIONS if chunk_positions is None else chunk_positions
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise InputError(f"chunk_positions must be an integer >= 1, got {chunk_positions!r}")
        ds = export_parquet(self.catalog, parquet, chunk)
        return {"parquet": str(ds.root), "chunks": ds.chunks, "sources": [s.source for s in ds.sources]}

    # ----------------------------------------------------------------- plain SQL (docs/sql.md)

    def select_sql(self, source: str, start: int, end: int, threshold: float, left_off: int = 1,
                   right_off: int = 0) -> str:
        """The SQL statement that gives ``select``'s cells, for the ``duckdb`` shell."""
        from lstmvis_db.sqlmatch import project as sqlp

        return sqlp.selection(self.catalog, source, start, end, threshold, left_off, right_off)

    def match_sql(self, source: str, cells, threshold: float, constrain_left: bool = True,
                  constrain_right: bool = False, length: int = 0, limit: int = 50) -> str:
        """The SQL statements that give ``match``'s matches and length histograms."""
        from lstmvis_db.sqlmatch import project as sqlp

        return sqlp.matching(self.catalog, source, cells, threshold, constrain_left, constrain_right, length, limit)

    def align_sql(self, source: str | None = None, cells=None, threshold: float | None = None,
                  constrain_left: bool = True, constrain_right: bool = False, length: int = 0,
                  pool: int | None = None, set: str = "top", limit: int = 50, spans=None, tracks=None,
                  conditions=None) -> str:
        """The SQL statement that gives ``align``'s ``tests`` (arguments as ``align``; the
        complete mode only, no cell-set null)."""
        from lstmvis_db.sqlmatch import project as sqlp

        if pool is not None:
            raise InputError("the SQL form of align is the complete mode; leave out pool")
        return sqlp.alignment(self.catalog, source, cells, threshold, constrain_left, constrain_right, length, set,
                              limit, self._spans(spans), tracks, conditions)

    def search(self, phrase: str | None = None, regex: str | None = None, limit: int = 50) -> list[SearchHit]:
        return queries.search(self.catalog, phrase=phrase, regex=regex, limit=limit)

    def sql(self, query: str, max_rows: int = 100_000, timeout: float = 30.0, *,
            tables: Mapping[str, pd.DataFrame] | None = None, attach: Mapping[str, str | Path] | None = None,
            memory_mb: int | None = None) -> pd.DataFrame:
        """One read-only query (``sqlconsole.run``): limits positive, finite and at most the
        operator's maxima; ``tables`` (data frames) and ``attach`` (alias -> project file) are
        visible to this query only."""
        if self._sql is None:
            self._sql = SqlConsole(self.path)
        return self._sql.run(query, max_rows=max_rows, timeout=timeout, tables=tables, attach=attach,
                             memory_mb=memory_mb)

    # align and saved hypotheses (docs/analysis.md) -------------------------------
    def align(self, source: str | None = None, cells=None, threshold: float | None = None,
              constrain_left: bool = True, constrain_right: bool = False, length: int = 0,
              pool: int | None = None, set: str = "top", limit: int = 50, spans=None, tracks=None,
              conditions=None, null_cells: int | None = None, seed=0, null_label=None, on_estimate=None,
              quantile: float | None = None) -> dict:
        """As ``align --json``.  ``spans``: a CSV/Parquet path, a DataFrame with start, length, or
        a pair (starts, lengths); then no source/cells/threshold are needed.  ``quantile`` instead of
        ``threshold``: each cell on at its own q-quantile (the thresholds are in ``thresholds``)."""
        from lstmvis_db.analysis.align import align
        from lstmvis_db.analysis.spans import MatchOptions

        sp = self._spans(spans)
        opts = MatchOptions(bool(constrain_left), bool(constrain_right), length, pool)
        return dict(align(self.catalog, source, None if cells is None else list(cells), threshold, opts, set, limit,
                          spans=sp, tracks=tracks, conditions=conditions, null_cells=null_cells, seed=seed,
                          null_label=null_label, on_estimate=on_estimate, quantile=quantile))

    def align_each(self, source: str, selections, threshold: float, constrain_left: bool = True,
                   constrain_right: bool = False, length: int = 0, pool: int | None = None, set: str = "top",
                   limit: int = 50, tracks=None, conditions=None) -> list[dict | None]:
        """``align`` of each cell set of ``selections`` (one per instance), every cell's bits read
        once (analysis/align_each.py); None where a set has no cell or no match."""
        from lstmvis_db.analysis.align_each import align_each
        from lstmvis_db.analysis.spans import MatchOptions

        opts = MatchOptions(bool(constrain_left), bool(constrain_right), length, pool)
        got = align_each(self.catalog, source, [list(c) for c in selections], threshold, opts, set, limit,
                         tracks=tracks, conditions=conditions)
        return [None if r is None else dict(r) for r in got]

    def _spans(self, spans):
        """A user's span list (a CSV/Parquet path, a DataFrame, or (starts, lengths)), checked; None stays None."""
        from lstmvis_db.analysis.corpus import corpus
        from lstmvis_db.analysis.spans import read_spans, user_spans

        if isinstance(spans, (str, Path)):
            return read_spans(spans, corpus(self.catalog))
        if isinstance(spans, pd.DataFrame):
            return user_spans(corpus(self.catalog), spans.get("start", []), spans.get("length", []))
        return None if spans is None else user_spans(corpus(self.catalog), *spans)

    def align_estimate(self, source: str, cells, threshold: float | None, constrain_left: bool = True,
                       constrain_right: bool = False, length: int = 0, pool: int | None = None, set: str = "top",
                       limit: int = 50, tracks=None, null_cells: int = 99, seed=0,
                       quantile: float | None = None) -> float:
        """Seconds the cell-set null of ``align(..., null_cells=K)`` will take, before running it."""
        from lstmvis_db.analysis.align import estimate_cell_null
        from lstmvis_db.analysis.spans import MatchOptions

        opts = MatchOptions(bool(constrain_left), bool(constrain_right), length, pool)
        return estimate_cell_null(self.catalog, source, list(cells), threshold, opts, set, limit, tracks,
                                  null_cells=null_cells, seed=seed, quantile=quantile)

    def _workspace(self, workspace):
        from lstmvis_db.hypotheses.workspace import Workspace

        return (workspace, False) if isinstance(workspace, Workspace) else (Workspace(workspace), True)

    def _with_workspace(self, workspace, fn):
        ws, own = self._workspace(workspace)
        try:
            return fn(ws)
        finally:
            if own:
                ws.close()

    def hypothesis_save(self, name: str, source: str, cells, threshold: float, constrain_left: bool = True,
                        constrain_right: bool = False, length: int = 0, limit: int = 50, pool: int | None = None,
                        brush: tuple[int, int] | None = None, padding: tuple[int, int] = (1, 0),
                        replace: bool = False, workspace=None) -> dict:
        """As ``hypothesis save --json``: the stored row (``workspace``: a path or a Workspace)."""
        from lstmvis_db.hypotheses import ops

        return self._with_workspace(workspace, lambda ws: ops.save(
            self.catalog, ws, name, source, list(cells), threshold, constrain_left, constrain_right, length,
            limit, pool, brush, padding, replace))

    def hypothesis_list(self, workspace=None) -> dict:
        """As ``hypothesis list --db DB --json``: this project's saved hypotheses."""
        return self._with_workspace(workspace, lambda ws: {"hypotheses": ws.saved(str(Path(self.path).resolve()))})

    def hypothesis_run(self, name: str, workspace=None) -> dict:
        """As ``hypothesis run --json``: the same matches, or an error that the project changed."""
        from lstmvis_db.hypotheses import ops

        return dict(self._with_workspace(workspace, lambda ws: ops.run(self.catalog, ws, name)))

    def hypothesis_delete(self, name: str, workspace=None) -> dict:
        return self._with_workspace(workspace, lambda ws: (ws.delete(name), {"deleted": name})[1])

    def hypothesis_export(self, name: str, workspace=None) -> dict:
        from lstmvis_db.hypotheses import ops

        return dict(self._with_workspace(workspace, lambda ws: ops.export(ws, name)))

    # cell statistics (docs/analysis.md) ------------------------------------------------
    def _quantile_call(self, name: str, threshold: float | None, quantile: float | None, *args):
        """select / match at each cell's own q-quantile (docs/analysis.md §A cell's profile)."""
        from lstmvis_db.analysis import thresholds
        from lstmvis_db.analysis.selectivity import check_quantile
        from lstmvis_db.errors import QueryError

        if (threshold is None) == (quantile is None):
            raise QueryError("give a threshold or a quantile (exactly one)")
        check_quantile(quantile)
        return getattr(thresholds, name)(self.catalog, *args)

    def quantile_thresholds(self, source: str, quantile: float, cells=None) -> dict[int, float]:
        """Each cell's own q-quantile threshold (all cells, or the given ones)."""
        from lstmvis_db.analysis.selectivity import check_quantile
        from lstmvis_db.analysis.thresholds import quantile_thresholds

        t = quantile_thresholds(self.catalog, source, check_quantile(quantile))
        chosen = range(len(t)) if cells is None else queries.check_cells(self.catalog.source(source), cells)
        return {int(c): float(t[c]) for c in chosen}

    # ------------------------------------------------
    def cells(self, source: str, track: str, label: str, threshold: float | None = None,
              quantile: float | None = None, stat: str = "auroc", limit: int | None = None,
              control_seed: int = 0) -> dict:
        from lstmvis_db.analysis.selectivity import rank_cells

        return dict(rank_cells(self.catalog, source, track, label, threshold, quantile, stat, limit, control_seed))

    def profile(self, source: str, cell: int, threshold: float | None = None, track: str | None = None,
                label: str | None = None, docs=None, range=None, spans=None, top: int = 10, gap: int = 5,
                bins: int = 30) -> dict:
        from lstmvis_db.analysis.positions import Filter
        from lstmvis_db.analysis.profile import profile

        where = Filter.of(docs=docs, range=range, track=track, label=label, spans=spans)
        return dict(profile(self.catalog, source, cell, threshold, where, top, gap, bins))

    def coactivation(self, source: str, cells, threshold: float | None = None, quantile: float | None = None,
                     lag: int | None = None, limit: int | None = None, docs=None, range=None, track=None,
                     label=None, spans=None) -> dict:
        from lstmvis_db.analysis.coactivation import coactivation
        from lstmvis_db.analysis.positions import Filter

        where = Filter.of(docs=docs, range=range, track=track, label=label, spans=spans)
        return dict(coactivation(self.catalog, source, cells, threshold, quantile, lag, limit, where))

    def explain(self, source: str, cells, threshold: float | None = None, quantile: float | None = None,
                tracks: list[str] | None = None, max_terms: int = 3, beam: int = 5, shifts: bool = True) -> dict:
        from lstmvis_db.analysis.formula import explain

        return dict(explain(self.catalog, source, cells, threshold, quantile, tracks, max_terms, beam, shifts))

    def value_distribution(self, source: str, cells, quantile: float = 0.9, bins: int = 40) -> dict:
        """Threshold guidance: the values of ``cells`` (one histogram) and each one's q-quantile."""
        from lstmvis_db.analysis.profile import distribution

        return dict(distribution(self.catalog, source, cells, quantile, bins))

    # views' helpers --------------------------------------------------------------------
    @property
    def sources(self) -> list[str]:
        return list(self.catalog.sources)

    @property
    def n_positions(self) -> int:
        return self.catalog.n_positions

    def window(self, source: str, lo: int, hi: int) -> np.ndarray:
        return queries.window(self.catalog, source, lo, hi)

    def tokens(self, lo: int, hi: int) -> pd.DataFrame:
        return queries.tokens(self.catalog, lo, hi)

    def tracks(self) -> pd.DataFrame:
        return queries.tracks(self.catalog)

    def annotations(self, track: str, positions) -> pd.DataFrame:
        return queries.track_annotations(self.catalog, track, np.asarray(positions))

    def predictions(self, track: str, lo: int, hi: int) -> pd.DataFrame:
        return queries.predictions(self.catalog, track, lo, hi)

    def match_details(self, source: str, cells, threshold: float, matches: list[dict], left: int = 3,
                      right: int = 20, only: list[str] | None = None) -> pd.DataFrame:
        return queries.match_details(self.catalog, source, cells, threshold, matches, left, right, only)

    def meta(self) -> dict[str, str]:
        return queries.project_meta(self.catalog)

    @property
    def documents(self) -> pd.DataFrame:
        return self.catalog.documents

    # what the app reads instead of the catalog (house-pkg) --------------------------------
    def source_details(self) -> list[SourceDetail]:
        """Every source with its sign and value range, in the project's order."""
        return [SourceDetail(source=s.source, n_cells=s.n_cells, unsigned=s.unsigned,
                             min_value=float(s.min_value), max_value=float(s.max_value))
                for s in self.catalog.sources.values()]

    # sparse sources and SAE features (docs/data-model.md §Sparse sources and SAE features) ----------
    def apply_sae(self, source: str, sae, name: str | None = None, topk: int | None = None,
                  replace: bool = False, progress=False) -> dict:
        """Add the latents of ``sae`` (a SAELens-layout directory, ``lstmvis_db.sae.Sae`` or a
        sae_lens-like object) over ``source`` as a new sparse source; needs a project opened with
        ``read_only=False``.  The file is replaced atomically and reopened; returns what
        ``sae --json`` prints."""
        from lstmvis_db.sae import apply_sae

        if self.read_only:
            raise InputError("apply_sae changes the project: open it with lstmvis_db.open(path, read_only=False)")
        self.close()
        try:
            return apply_sae(self.path, source, sae, name=name, topk=topk, replace=replace, progress=progress)
        finally:
            self._sql = None
            self.catalog = Catalog(connect(self.path, read_only=False), path=self.path)

    def sparse_entries(self, source: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pos, unit, value) of a sparse source's stored entries at positions lo..hi."""
        from lstmvis_db import sparsereads

        info = self.catalog.source(source)
        if not info.sparse:
            raise InputError(f"source {source!r} is dense")
        return sparsereads.entries(self.catalog, info, int(lo), int(hi))

    def document_span(self, pos: int) -> tuple[int, int]:
        """(first, last) position of the document holding position ``pos``."""
        doc = self.catalog.doc_of(pos)
        return int(self.catalog.doc_first[doc]), int(self.catalog.doc_last[doc])


def open(path: str | Path, read_only: bool = True) -> Project:
    """Open a project file (docs/semantics.md §Python API: ``lstmvis_db.open(path)``)."""
    return Project(path, read_only=read_only)
