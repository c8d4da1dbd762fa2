"""The view state: one :class:`lstmvis_db.views.ViewState` under ``st.session_state["lv"]``,
read from and mirrored to the URL; the current project and the hypothesis (selected cells)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

import lstmvis_db
from lstmvis_db import deploy, views
from lstmvis_db.views import ViewState

from . import public
from .cached import AppInfo, info, select, tokens, window
from .constants import LEFT_CONTEXT, STATE
from .resources import add_project_path, open_project, projects


def state() -> ViewState:
    """The view state; on a session's first run it is read from the URL query parameters."""
    if STATE not in st.session_state:
        st.session_state[STATE] = views.decode_state(dict(st.query_params.to_dict()))
        st.session_state["lv_from_url"] = "pos" in st.query_params or "brush" in st.query_params
    return st.session_state[STATE]


def sync_url() -> None:
    """Mirror the state into the URL (docs/app.md §The view state in the URL) so a copied link reopens the same view."""
    want = views.encode_state(state())
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


def share_query() -> str:
    return urlencode(views.encode_state(state()))


def current_path() -> str | None:
    """Resolve ``state.project`` to a file (default: the first project) and apply the project's
    suggested hypothesis when it is opened fresh.  None when there is no project at all."""
    s = state()
    found = projects()
    if s.project and s.project not in found and public.is_public():
        st.warning(public.message(deploy.refused_project(s.project)))  # the same for any name: no probing
    elif s.project and s.project not in found and Path(s.project).is_file():
        try:
            add_project_path(s.project)
        except lstmvis_db.LstmvisError:
            pass
        found = projects()
    if s.project not in found:
        if not found:
            return None
        s.project, s.source = next(iter(found)), ""
        for name, p in found.items():  # the first project that opens
            try:
                info(p)
            except Exception:  # noqa: BLE001, S112 (a broken file is reported on the start page)
                continue
            s.project = name
            break
    path = found[s.project]
    inf = info(path)
    sources = [x["source"] for x in inf["sources"]]
    if s.source not in sources:
        fresh = not st.session_state.get("lv_from_url")
        suggested = inf["meta"].get("suggest_source")
        s.source = suggested if suggested in sources else sources[0]
        if fresh:
            apply_suggestion(s, inf)
    return path


def apply_suggestion(s: ViewState, inf: AppInfo) -> None:
    """The project's suggested first hypothesis (meta keys ``suggest_*``), if it has one, and a
    zoom that suits its tokens (narrower cells, a wider window for character tokens)."""
    meta = inf["meta"]
    path = projects().get(s.project)
    if path is not None:
        sample = tokens(path, 0, 499)["token"].astype(str)
        s.cw, s.width = (18, 50) if len(sample) and (sample.str.len() <= 1).mean() > 0.9 else (30, 30)
    try:
        a, b = int(meta["suggest_start"]), int(meta["suggest_end"])
        s.brush = (a, b)
        s.pos = max(a - LEFT_CONTEXT - 2, 0)
        s.threshold = float(meta.get("suggest_threshold", s.threshold))
    except (KeyError, ValueError):
        s.brush, s.pos = None, 0
    s.cells, s.excluded, s.pinned, s.queried, s.length = [], [], [], False, 0


def open_view(name: str, source: str, inf: AppInfo) -> None:
    """Start a fresh view of a project and source (the suggested hypothesis if it is for it)."""
    old = state()
    s = ViewState(project=name, source=source, width=old.width, cw=old.cw, mask=old.mask)
    if inf["meta"].get("suggest_source", source) == source:
        apply_suggestion(s, inf)
    st.session_state[STATE] = s
    st.session_state["lv_from_url"] = True


def suggestion(path: str) -> dict | None:
    """The project's suggested first hypothesis with its text and cells, if it has one."""
    inf = info(path)
    meta = inf["meta"]
    try:
        src, a, b = meta["suggest_source"], int(meta["suggest_start"]), int(meta["suggest_end"])
        t = float(meta.get("suggest_threshold", 0.3))
    except (KeyError, ValueError):
        return None
    cells = select(path, src, a, b, t, 1, 0)
    text = views.join_tokens([views.display_token(x) for x in tokens(path, a, b)["token"]])
    return {"name": inf["name"], "source": src, "start": a, "end": b, "threshold": t, "cells": cells, "text": text}


def reset_for_project(name: str) -> None:
    s = state()
    s.project, s.source = name, ""
    st.session_state["lv_from_url"] = False


def hypothesis(path: str, s: ViewState) -> tuple[list[int], str | None]:
    """Selected cells for the brush (or the cells from the URL when there is no brush), and a
    message when the brush cannot be used.  Updates ``s.cells`` and drops stale exclusions."""
    if s.brush is None:  # cells from the URL: only those the source has
        n = _n_cells(path, s.source)
        cells = [c for c in s.cells if 0 <= c < n]
        msg = None if len(cells) == len(s.cells) else (
            f"Cells outside 0–{n - 1} of {s.source} were left out of the link's selection.")
    else:
        a, b = s.brush
        try:
            if s.low_pass > 0:
                cells = filtered_selection(path, s)
            else:
                cells = select(path, s.source, a, b, s.threshold, s.pad_left, s.pad_right)
            msg = None
        except lstmvis_db.LstmvisError as e:
            cells, msg = [], str(e)
    s.cells = cells
    s.excluded = [c for c in s.excluded if c in cells]
    s.pinned = [c for c in s.pinned if c in s.query_cells()]
    return cells, msg


def _n_cells(path: str, source: str) -> int:
    """The width of ``source`` (0 when the project has no such source)."""
    info_ = open_project(path).catalog.sources.get(source)
    return 0 if info_ is None else int(info_.n_cells)


def filtered_selection(path: str, s: ViewState) -> list[int]:
    """Selection on length-filtered values (docs/app.md §Length filter), over the document around the brush."""
    a, b = s.brush  # type: ignore[misc]
    p = open_project(path)
    d_lo, d_hi = p.document_span(a)
    lo = max(d_lo, min(a - s.pad_left, a) - 40)
    hi = min(d_hi, b + s.pad_right + 40)
    vals = views.low_pass(window(path, s.source, lo, hi), s.threshold, s.low_pass)
    return views.select_in_window(vals, lo, a, b, s.threshold, s.pad_left, s.pad_right, d_lo, d_hi)
