"""Every chart builder returns a valid Vega-Lite spec (``to_dict`` validates against the schema).  The Select
chart: tests/unit/test_select_chart.py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lstmvis_db import views
from lstmvis_db.views import charts

LO, HI = 10, 19


@pytest.fixture(scope="module")
def vals() -> np.ndarray:
    rng = np.random.default_rng(1)
    v = np.tanh(rng.normal(0, 1, size=(HI - LO + 1, 6))).astype(np.float32)
    v[3:7, 2] = 0.8
    v[2, 2] = -0.5
    return v


@pytest.fixture(scope="module")
def words(vals) -> pd.DataFrame:
    toks = pd.DataFrame({"pos": np.arange(LO, HI + 1), "token": list("the cat s!") })
    return views.words_frame(toks, views.on_counts(vals, [2], 0.3))


def _spec(chart) -> dict:
    d = chart.to_dict()
    json.dumps(d)
    return d


def _all_params(d: dict) -> list[str]:
    return [p["name"] for p in d.get("params", [])]




def test_quick_chart() -> None:
    df = pd.DataFrame({"label": ["a", "b"], "n": [3, 1]})
    for kind in ("bar", "line", "point"):
        d = _spec(charts.quick_chart(df, "label", "n", kind))
        assert d["encoding"]["y"]["field"] == "n"


# --------------------------------------------------------------------------- the pure view helpers


def test_low_pass_drops_short_on_runs() -> None:
    v = np.array([[0.9], [0.9], [0.1], [0.9], [0.9], [0.9], [0.9]], dtype=np.float32)
    out = views.low_pass(v, 0.5, 2)
    assert out[:, 0].tolist() == pytest.approx([0, 0, 0, 0.9, 0.9, 0.9, 0.9])
    assert views.low_pass(v, 0.5, 0) is v


def test_select_in_window_is_the_contract_rule() -> None:
    v = np.zeros((6, 3), dtype=np.float32)
    v[2:5, 0] = 1  # on over 12..14, off at 11
    v[1:5, 1] = 1  # on at 11 too: fails the left padding
    v[2:4, 2] = 1  # off at 14: fails the range
    assert views.select_in_window(v, 10, 12, 14, 0.5, 1, 0) == [0]
    assert views.select_in_window(v, 10, 12, 14, 0.5, 0, 0) == [0, 1]
    assert views.select_in_window(v, 10, 12, 14, 0.5, 1, 0, doc_lo=12) == [0, 1]  # padding outside the document


def test_on_ranges_order_and_jaccard() -> None:
    v = np.zeros((6, 3), dtype=np.float32)
    v[0:4, 0] = 1
    v[2:6, 1] = 1
    r = views.on_ranges(v, 100, [0, 1], 0.5, anchor=102)
    assert r.sort_values("order")["cell"].tolist() == [0, 1]  # run containing 102: start ascending
    assert views.step_jaccard(v, [0, 1], 0.5).tolist() == pytest.approx([0.5, 0.5, 1, 1, 0.5, 0.5])


def test_snap_brush_and_signature() -> None:
    assert views.snap_brush([11.6, 14.4], 10, 20) == (12, 14)
    assert views.snap_brush([12.2, 12.4], 10, 20) == (12, 12)
    assert views.snap_brush([25, 30], 10, 20) is None
    sig = views.signature(12, 14, 1, 2)
    assert sig["x"].tolist() == [10.5, 11.5, 11.5, 14.5, 14.5, 16.5]


def test_category_colors_then_greys() -> None:
    cols = views.category_colors([f"c{i}" for i in range(25)])
    assert list(cols.values())[:20] == views.CATEGORICAL
    assert list(cols.values())[20] == "#333333" and list(cols.values())[-1] == "#eeeeee"


def test_url_state_round_trip() -> None:
    s = views.ViewState(project="/data/a b.duckdb", source="states::s1", pos=7, threshold=0.125, brush=(9, 12),
                        pad_left=0, pad_right=2, cells=[1, 5], excluded=[5], tracks=["pos", "a,b"], low_pass=3,
                        mask=False, constrain_right=True, length=4, pool=1000, queried=True, pinned=[1],
                        heatmaps=["count", "pos"], map_to="pos", circle="count",
                        scaling={"layer1_c": "cell", "a:b,c": "tanh"}, align_tracks=["pos", "x,y"],
                        align_conditions=["covers", "ends"])
    assert views.decode_state(views.encode_state(s)) == s
    assert views.decode_state({"pos": "x", "threshold": "nan", "brush": "3"}) == views.ViewState()
    # an unknown scaling mode is dropped (the source keeps its default)
    assert views.decode_state({"scale": "layer1_c:bogus,layer2_c:none"}).scaling == {"layer2_c": "none"}
    # align conditions: only the four there are, in their own order (the module's copy is the analysis one)
    from lstmvis_db.analysis.spannull import CONDITIONS
    from lstmvis_db.views.urlstate import ALIGN_CONDITIONS

    assert ALIGN_CONDITIONS == CONDITIONS
    assert views.decode_state({"aconds": "ends,bogus,contains"}).align_conditions == ["contains", "ends"]


def test_a_link_cannot_ask_for_more_than_the_widgets_offer() -> None:
    """URL integers are clamped into the widgets' ranges: a shared link cannot make the server
    read and draw a 100,000-token window or compute 10^9 results."""
    from lstmvis_db.views.urlstate import LIMITS, decode_state

    s = decode_state({"width": "100000", "limit": "1000000000", "padding": "99,-4", "low_pass": "500",
                      "length": "-3", "pool": "99999999", "cw": "1"})
    assert (s.width, s.limit, s.pad_left, s.pad_right) == (200, 500, 20, 0)
    assert (s.low_pass, s.length, s.pool, s.cw) == (20, 0, 1_000_000, 4)
    assert decode_state({"width": "60", "limit": "40"}).width == 60 and LIMITS["width"] == (10, 200)
