"""Python API (contract §5): the same operations as the CLI, for notebooks and scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd

from lstmvis_db import queries
from lstmvis_db.queries import Catalog
from lstmvis_db.sqlconsole import SqlConsole
from lstmvis_db.store import connect


class Project:
    """An open project file.  Read-only unless opened with ``read_only=False``."""

    def __init__(self, path: str | Path, read_only: bool = True) -> None:
        self.path = str(path)
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

    # contract §5 -----------------------------------------------------------------------
    def info(self) -> dict:
        return queries.info(self.catalog)

    def select(self, source: str, start: int, end: int, threshold: float | None = None, left_off: int = 1,
               right_off: int = 0, quantile: float | None = None) -> list[int]:
        if quantile is not None or threshold is None:
            return self._quantile_call("select_quantile", threshold, quantile, source, start, end, quantile,
                                       left_off, right_off)
        return queries.select_cells(self.catalog, source, start, end, threshold, left_off, right_off)

    def match(self, source: str, cells, threshold: float | None = None, constrain_left: bool = True,
              constrain_right: bool = False, length: int = 0, limit: int = 50, pool: int | None = None,
              quantile: float | None = None) -> dict:
        if quantile is not None or threshold is None:
            return self._quantile_call("match_quantile", threshold, quantile, source, cells, quantile,
                                       constrain_left, constrain_right, length, limit, pool)
        return queries.match(self.catalog, source, cells, threshold, constrain_left, constrain_right,
                             length, limit, pool)

    def search(self, phrase: str | None = None, regex: str | None = None, limit: int = 50) -> list[dict]:
        return queries.search(self.catalog, phrase=phrase, regex=regex, limit=limit)

    def sql(self, query: str, max_rows: int = 100_000, timeout: float = 30.0) -> pd.DataFrame:
        if self._sql is None:
            self._sql = SqlConsole(self.path)
        return self._sql.run(query, max_rows=max_rows, timeout=timeout)

    # cell statistics (analysis.md §4-6) ------------------------------------------------
    def _quantile_call(self, name: str, threshold: float | None, quantile: float | None, *args):
        """select / match at each cell's own q-quantile (analysis.md §5)."""
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
                      right: int = 20) -> pd.DataFrame:
        return queries.match_details(self.catalog, source, cells, threshold, matches, left, right)

    def meta(self) -> dict[str, str]:
        return queries.project_meta(self.catalog)

    @property
    def documents(self) -> pd.DataFrame:
        return self.catalog.documents


def open(path: str | Path, read_only: bool = True) -> Project:
    """Open a project file (contract §5: ``lstmvis_db.open(path)``)."""
    return Project(path, read_only=read_only)
