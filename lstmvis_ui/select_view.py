"""The Select chart in the app: the source's display scale, the chart of the window, its
controls next to it (threshold in displayed units with the raw value beside it, padding,
tracks, mask) and what the chart's selections do (brush, threshold drag, padding handles, a
click on a selected line opening that cell's profile)."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qsl

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from lstmvis_db import views
from lstmvis_db.views import ViewState, scaling, select_chart, select_frames
from lstmvis_db.views.palette import track_colors as palette_colors

from .cached import info, predictions, tokens, track_annotations, window
from .constants import PAGES
from .resources import open_project
from .view_state import state
from .widgets import bound, limits

GEN = "lv_chart_gen"  # bumped when the view changes by other means than the chart: a fresh chart
KNOWN = "lv_chart_known"  # the state the drawn chart shows (source, window, threshold, padding, range)


@st.cache_resource(max_entries=8, show_spinner=False)
def _sample(path: str, source: str, n_tokens: int) -> np.ndarray:
    """Up to 8 evenly spaced windows of 2,000 positions of a source (kept, not copied per use)."""
    p = open_project(path)
    step = 2000
    starts = np.unique(np.linspace(0, max(n_tokens - step, 0), 8).astype(int))
    if p.catalog.source(source).sparse:  # its stored (non-zero) entries, not dense windows (see source_scale)
        ents = [p.sparse_entries(source, int(a), int(min(a + step, n_tokens) - 1)) for a in starts]
        units = np.concatenate([e[1] for e in ents]).astype(np.int64)
        vals = np.concatenate([e[2] for e in ents]).astype(np.float32)
        return np.stack([units.astype(np.float32), vals]) if len(vals) else np.zeros((2, 0), np.float32)
    return np.concatenate([p.window(source, int(a), int(min(a + step, n_tokens) - 1)) for a in starts])


@st.cache_data(max_entries=64, show_spinner=False)
def source_scale(path: str, source: str, n_tokens: int, unsigned: bool, mode: str = "auto") -> scaling.DisplayScale:
    """The display scale of a source under ``mode``, from its sample (:func:`_sample`).  A sparse
    source's sample is its stored entries and one 0; its default is ÷ their quantile, and its
    per-cell factors are each unit's quantile over its sampled entries (:func:`scaling.unit_factors`)."""
    sample = _sample(path, source, n_tokens)
    if not open_project(path).catalog.source(source).sparse:
        return scaling.display_scale(sample, unsigned, mode)
    units, vals = sample[0].astype(np.int64), sample[1]
    # auto: ÷ the entries' quantile (SAE latents are large and mostly 0: tanh would draw every
    # active one at the top)
    mode = "source" if mode not in scaling.MODES else mode
    scale = scaling.display_scale(np.concatenate([vals, np.zeros(1, np.float32)]), unsigned, mode)
    if not scale.per_cell:
        return scale
    n_units = open_project(path).catalog.source(source).n_cells
    return replace(scale, cell_factors=scaling.unit_factors(units, vals, n_units), nonzero=True)


def scale_of(path: str, source: str) -> scaling.DisplayScale:
    """The source's display scale under the scaling chosen for it (its default if none was)."""
    inf = info(path)
    mode = state().scaling.get(source, "auto")
    return source_scale(path, source, int(inf["tokens"]), bool(inf["unsigned"][source]), mode)


def _on_scaling(source: str) -> None:
    s = state()
    s.scaling = {**s.scaling, source: st.session_state["w_scaling"]}


def scaling_control(path: str, where=st) -> None:
    """The display scaling of the current source (none / ÷ source quantile / ÷ each cell's / tanh)."""
    s = state()
    st.session_state["w_scaling"] = scale_of(path, s.source).mode
    where.selectbox("Scaling", scaling.MODES, key="w_scaling", format_func=scaling.LABELS.get,
                    on_change=_on_scaling, args=(s.source,),
                    help="how this source's values are drawn; the stored values are what is thresholded "
                         "(docs/app.md, Display scaling)")


def fresh_chart() -> None:
    """Forget the chart's client-side selections (after a change made outside the chart)."""
    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1


def _on_shown_threshold(scale: scaling.DisplayScale) -> None:
    state().threshold = round(scale.raw(st.session_state["w_threshold_shown"]), 6)


def _on_raw_threshold() -> None:
    state().threshold = float(st.session_state["w_threshold_raw"])


def threshold_control(path: str, where=st) -> None:
    """Threshold slider in displayed units over the source's own quantile range, raw value beside."""
    s = state()
    sc = scale_of(path, s.source)
    lo, hi = sorted((sc.show(min(sc.lo, s.threshold)), sc.show(max(sc.hi, s.threshold))))
    shown = min(max(sc.show(s.threshold), lo), hi)
    st.session_state["w_threshold_shown"] = round(shown, 3)
    st.session_state["w_threshold_raw"] = float(s.threshold)
    c1, c2 = where.columns([3, 2], vertical_alignment="bottom")
    where_drag = ("per-cell scaling: each selected line's tooltip shows it on that cell's scale" if sc.per_cell
                  else "also: drag the handle on the plot's y-axis")
    c1.slider("Threshold" + sc.control_units(), min_value=round(lo, 3), max_value=round(hi, 3),
              step=0.001, format="%.3f", key="w_threshold_shown", on_change=_on_shown_threshold, args=(sc,),
              help=f"{where_drag}. The range is this source's 0.5%–99.5% quantiles.")
    c2.number_input("raw value", step=0.001, format="%.3f", key="w_threshold_raw", on_change=_on_raw_threshold,
                    help="the stored value the cells are compared with")


def controls(path: str) -> None:
    """The hypothesis controls above the chart: threshold, padding, tracks and mask."""
    s = state()
    # a wrapping row of fixed-width groups (threshold and its scaling | padding | tracks and their
    # mask): every label reads in full at any page width; a group that does not fit moves to the
    # next line whole, so what belongs together stays together
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium", key="lv_controls_row")
    with row, st.container(horizontal=True, vertical_alignment="bottom", gap="small", width="content"):
        threshold_control(path, st.container(width=300))
        scaling_control(path, st.container(width=170))
    with row, st.container(horizontal=True, vertical_alignment="bottom", gap="small", width="content"):
        bound(st.number_input, "Off left", "pad_left", **limits("pad_left"), step=1, width=100,
              help="steps before the range where the cells must be off (or drag the left handle under the words)")
        bound(st.number_input, "Off right", "pad_right", **limits("pad_right"), step=1, width=100,
              help="steps after the range where the cells must be off (or drag the right handle)")
    tracks = info(path)["tracks_df"]["track"].tolist()
    s.tracks = [t for t in s.tracks if t in tracks]
    with row, st.container(horizontal=True, vertical_alignment="bottom", gap="small", width="content"):
        bound(st.multiselect, "Tracks under the words", "tracks", options=tracks, placeholder="add a track", width=240)
        bound(st.toggle, "Mask", "mask", help="fade track colours where few selected cells are on")


def _track_rows(path: str, s: ViewState, lo: int, hi: int, words) -> list[select_chart.TrackRow]:
    tdf = info(path)["tracks_df"].set_index("track")
    rows = []
    for t in s.tracks:
        kind = tdf.loc[t, "kind"]
        if kind == "topk":
            rows.append(select_frames.slot_track(t, "topk", views.topk_frame(predictions(path, t, lo, hi)), lo, words))
        elif kind == "categorical":
            cats = tdf.loc[t, "categories"]
            cats = [str(x) for x in cats] if cats is not None and not isinstance(cats, float) else []
            k, colors = palette_colors(cats)
            rows.append(select_frames.slot_track(t, k, track_annotations(path, t, lo, hi), lo, words, colors=colors))
        else:
            rows.append(select_frames.slot_track(t, "scalar", track_annotations(path, t, lo, hi), lo, words,
                                                 vmin=tdf.loc[t, "min"], vmax=tdf.loc[t, "max"]))
    return rows


def build(path: str, s: ViewState, cells: list[int], lo: int, hi: int) -> tuple[select_chart.SelectParts,
                                                                               scaling.DisplayScale]:
    """What the Select chart of the window [lo, hi] draws, and the source's display scale."""
    sc = scale_of(path, s.source)
    vals = window(path, s.source, lo, hi)
    if s.low_pass > 0:
        vals = views.low_pass(vals, s.threshold, s.low_pass)
    shown = None
    if open_project(path).catalog.source(s.source).sparse:
        shown, active = select_frames.sparse_line_cells(vals, [*cells, *s.query_cells()])
        head = f"Sparse source ({vals.shape[1]:,} units): "
        if active > select_frames.MAX_SPARSE_LINES:
            st.caption(head + f"{active:,} units are non-zero in this window; the chart draws the "
                       f"{select_frames.MAX_SPARSE_LINES} with the largest values here (and the selected ones).")
        else:
            st.caption(head + f"the chart draws the {active:,} units that are non-zero in this window (and the "
                       "selected ones); every other unit is 0 here.")
    parts = select_frames.select_parts(vals, lo, hi, tokens(path, lo, hi), sc, s.threshold, cells, s.excluded,
                                       s.query_cells(), s.brush, (s.pad_left, s.pad_right), s.pos,
                                       s.mask and bool(s.query_cells()),  # nothing to fade by without query cells
                                       shown=shown)
    return replace(parts, tracks=_track_rows(path, s, lo, hi, parts.words)), sc


def _known(s: ViewState, lo: int) -> tuple:
    return (s.source, lo, s.threshold, s.pad_left, s.pad_right, s.brush, s.width, s.scaling.get(s.source))


def holds_selection(event) -> bool:
    """True if the drawn chart still holds a selection of its own (a brush rectangle, a threshold
    or padding press, a click): what a change made elsewhere would leave stale in the browser."""
    try:
        sel = dict(event["selection"]) if event is not None else {}
    except (KeyError, TypeError, ValueError):
        return False
    return any(bool(v) for v in sel.values())


def draw(parts: select_chart.SelectParts, lo: int):
    """Draw the chart as two (:func:`select_chart.spec_parts`): the plot with the words and the
    signature, which holds every selection, and under it the rows (tracks, on-ranges, Jaccard), so
    that showing a track leaves the plot's chart as the browser has it.  When the view changed by
    other means than the chart itself (navigation, a typed value, another widget) and the drawn
    plot holds a selection of its own, it is drawn under a fresh key, so that no stale client-side
    brush, threshold or handle survives and the same gesture made again is never taken for "no
    change".  A chart that holds none keeps its key: the browser then updates its datasets in place
    (the spec is cached by its layout) instead of building a new Vega view, which is most of what a
    typed change used to cost."""
    s = state()
    st.session_state.setdefault(GEN, 0)
    if st.session_state.get(KNOWN) != _known(s, lo) and holds_selection(st.session_state.get(chart_key())):
        fresh_chart()
    st.session_state[KNOWN] = _known(s, lo)
    key = chart_key()
    plot, rows = select_chart.spec_parts(parts)
    names = select_chart.selections(plot)
    drawn = st.vega_lite_chart(plot, key=key, on_select="rerun", selection_mode=names, width="stretch", theme=None)
    if rows is not None:
        st.vega_lite_chart(rows, width="stretch", theme=None)
    return drawn, key


def _new(raw, key: str) -> bool:
    """True once per distinct selection value (a rerun repeats the last event)."""
    mark = json.dumps(raw, sort_keys=True, default=str)
    if st.session_state.get(key) == mark:
        return False
    st.session_state[key] = mark
    return True


def _points(sel: dict, name: str, field: str) -> list:
    return [p[field] for p in (sel.get(name) or []) if isinstance(p, dict) and field in p]


def chart_key() -> str:
    return f"select_chart_{st.session_state.get(GEN, 0)}"


def apply_events(path: str, lo: int, hi: int) -> bool:
    """Apply the drawn chart's latest selections BEFORE this run draws anything, so a gesture
    costs one script run (not a run that notices it and a second one that shows it)."""
    key = chart_key()
    return handle(st.session_state.get(key), lo, hi, scale_of(path, state().source), key)


def handle(event, lo: int, hi: int, sc: scaling.DisplayScale, chart_key: str) -> bool:
    """Apply the chart's selections to the state; True if it changed."""
    s = state()
    try:
        sel = dict(event["selection"]) if event is not None else {}
    except (KeyError, TypeError):
        sel = {}
    changed = False
    picked = _points(sel, select_chart.CELL_PICK, "cell")
    if picked and _new(picked, chart_key + "_pick"):
        from .cell_page import cell_link

        link = cell_link(s, int(picked[0]))
        try:
            st.switch_page(PAGES["cell"], query_params=dict(parse_qsl(link.split("?", 1)[1])))
        except StreamlitAPIException:  # the page run on its own (AppTest): a link instead
            st.markdown(f"[Open the profile of cell {int(picked[0])}]({link})")
    level = _points(sel, select_chart.THRESHOLD, "level")
    if level and _new(level, chart_key + "_thr"):
        s.threshold, changed = round(sc.raw(float(level[0])), 6), True
    slot = [x for x in _points(sel, select_chart.PAD, "x") if float(x).is_integer()]  # a hit slot, not a knob
    if slot and s.brush is not None and _new(slot, chart_key + "_pad"):
        pads = select_frames.pad_from_slot(int(slot[0]), lo, s.brush, (s.pad_left, s.pad_right))
        changed = changed or pads != (s.pad_left, s.pad_right)
        s.pad_left, s.pad_right = pads
    raw = dict(sel.get(select_chart.BRUSH) or {})
    interval = next((v for v in raw.values() if isinstance(v, list) and len(v) == 2), None)
    dragged = interval is not None and _new(raw, chart_key + "_brush")
    points = _points(sel, select_chart.WORD_CLICK, "x")
    clicked = bool(points) and _new(points, chart_key + "_click")
    if dragged and interval is not None:
        new = views.snap_brush([float(interval[0]) + lo, float(interval[1]) + lo], lo, hi)
        if new is not None and new != s.brush:
            s.brush, s.excluded, s.queried, s.length, changed = new, [], False, 0, True
    elif clicked and s.brush is not None:  # a plain click on the words (no drag) clears the range (V1/V2)
        s.brush, s.excluded, s.queried, s.length, changed = None, [], False, 0, True
    if changed:
        st.session_state[KNOWN] = _known(s, lo)
    return changed
