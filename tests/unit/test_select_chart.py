"""The Select chart (lstmvis_db.views.select_chart / select_frames / scaling / palette): display scaling,
clipping of a range outside the window, the interactive parameters, legends, the ordinal palette,
the cached spec and the view state of layers side by side."""

from __future__ import annotations

import json
from dataclasses import replace

import altair as alt
import numpy as np
import pandas as pd
import pytest

from lstmvis_db import views
from lstmvis_db.views import palette, scaling, select_chart, select_frames

LO, HI = 100, 119


def _vals(scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    v = np.tanh(rng.normal(0, 1, size=(HI - LO + 1, 8))) * scale
    v[5:9, 2] = 0.9 * scale
    return v


def _tokens() -> pd.DataFrame:
    return pd.DataFrame({"pos": np.arange(LO, HI + 1), "token": list("the cat s\n") + [" "] * 5 + list("ROSEN")})


def _parts(brush=(105, 108), scale=None, values=None, tracks=()):
    v = _vals() if values is None else values
    sc = scale or scaling.display_scale(v)
    p = select_frames.select_parts(v, LO, HI, _tokens(), sc, 0.3, [2], [], [2], brush, (1, 0), 103, True)
    return replace(p, tracks=list(tracks)) if tracks else p


def _valid(spec: dict) -> dict:
    d = {**spec, "datasets": {k: (v.to_dict("records") if isinstance(v, pd.DataFrame) else v)
                              for k, v in spec["datasets"].items()}}
    alt.LayerChart.from_dict(d, validate=True)
    json.dumps(d, default=float)
    return d


def test_bounded_source_is_drawn_as_stored() -> None:
    sc = scaling.display_scale(_vals())
    assert sc.factor == 1.0 and not sc.scaled and sc.y_domain == (-1.0, 1.0)
    assert sc.note() == ""


def test_cell_state_source_is_scaled_by_its_own_quantile() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 10, size=(4000, 16))
    raw[0, 0] = 500.0  # one outlier must not set the threshold range or the scale
    sc = scaling.display_scale(raw, mode="source")
    assert sc.factor == pytest.approx(np.quantile(np.abs(raw), scaling.SCALE_Q))
    assert sc.hi < 40 and sc.lo > -40, "threshold range from quantiles, not from the extreme 500"
    assert sc.show(sc.raw(0.25)) == pytest.approx(0.25)
    assert "÷" in sc.axis_title() and "stored values" in sc.note()
    # the lines are plotted in displayed units, the tooltip keeps the stored value
    p = _parts(scale=sc, values=_vals(30.0))
    sel = p.lines[p.lines["status"] == "selected"]
    assert np.allclose(sel["value"] * sc.factor, sel["raw"])
    assert p.threshold["raw"].iloc[0] == 0.3 and p.threshold["value"].iloc[0] == pytest.approx(0.3 / sc.factor)


def test_unsigned_source_domain_starts_at_zero() -> None:
    sc = scaling.display_scale(np.abs(_vals()), unsigned=True)
    assert sc.y_domain == (0.0, 1.0) and sc.lo == 0.0


def test_range_outside_the_window_never_leaves_it() -> None:
    """Issue 11 item 1: after navigating away from a brushed range everything stays in the window."""
    for brush in [(10, 14), (500, 520), (95, 102), (117, 140)]:
        p = _parts(brush=brush)
        for df, cols in ((p.band, ["x0", "x1"]), (p.signature, ["x"]), (p.handles, ["x"]), (p.marks, ["x"])):
            if df is not None and len(df):
                for c in cols:
                    assert df[c].between(-0.5, p.n - 0.5).all(), (brush, c, df)
    assert _parts(brush=(10, 14)).band is None
    assert len(_parts(brush=(500, 520)).signature) == 0
    band = _parts(brush=(95, 102)).band
    assert band.iloc[0].tolist() == [-0.5, 2.5]


def test_pad_from_a_press_on_the_signature() -> None:
    assert select_frames.pad_from_slot(2, LO, (105, 108), (1, 0)) == (3, 0)
    assert select_frames.pad_from_slot(12, LO, (105, 108), (1, 0)) == (1, 4)
    assert select_frames.pad_from_slot(6, LO, (105, 108), (2, 3)) == (2, 3)
    assert select_frames.pad_from_slot(0, LO, (190, 195), (1, 0)) == (20, 0)


def test_tooltips_name_blank_tokens() -> None:
    assert select_frames.tooltip_token(" ") == "␣ (space)"
    assert select_frames.tooltip_token("\n") == "⏎ (newline)"
    assert select_frames.tooltip_token(None) == "(none)"
    assert select_frames.tooltip_token("") == "(empty)"
    words = _parts().words
    assert "␣ (space)" in set(words["token"]) and not words["token"].isin(["", " "]).any()


def _params(d: dict) -> dict[str, dict]:
    out = {prm["name"]: prm for prm in d.get("params", [])}
    for layer in d["layer"]:
        out.update({prm["name"]: prm for prm in layer.get("params", [])})
    return out


def test_spec_is_valid_and_interactive() -> None:
    d = _valid(select_chart.spec(_parts()))
    prm = _params(d)
    assert {select_chart.BRUSH, select_chart.THRESHOLD, select_chart.PAD, select_chart.CELL_PICK,
            select_chart.WORD_CLICK} <= set(prm)
    assert prm[select_chart.BRUSH]["select"]["encodings"] == ["x"]
    assert "pointerdown[y() >=" in prm[select_chart.BRUSH]["select"]["on"], "the brush starts on the words only"
    assert prm[select_chart.THRESHOLD]["select"]["fields"] == ["level"]
    assert d["width"] == "container" and d["autosize"]["type"] == "fit-x"
    texts = [la for la in d["layer"] if la["mark"]["type"] == "text" and "ellipsis" in la["mark"]]
    assert texts and all(la["mark"]["ellipsis"] == "." for la in texts), "abbreviate, never a bare ellipsis"
    assert all("expr" in la["mark"]["fontSize"] for la in texts), "labels shrink to fit their slot"


def test_threshold_levels_cover_the_domain() -> None:
    lv = select_chart.threshold_levels((-1.0, 1.0))
    assert len(lv) == select_chart.LEVELS and lv["level"].iloc[0] == -1.0 and lv["level"].iloc[-1] == 1.0
    assert (lv["level1"] > lv["level0"]).all()


def test_spec_is_cached_by_layout_and_only_data_changes() -> None:
    a, b = select_chart.spec(_parts(brush=(105, 108))), select_chart.spec(_parts(brush=(110, 112)))
    strip = {k: v for k, v in a.items() if k != "datasets"}
    assert strip == {k: v for k, v in b.items() if k != "datasets"}
    assert not a["datasets"]["band"].equals(b["datasets"]["band"])


def _track(kind: str, cats: list[str]) -> select_chart.TrackRow:
    k, colors = palette.track_colors(cats)
    assert k == kind
    frame = pd.DataFrame({"pos": np.arange(LO, HI + 1), "label": [cats[i % len(cats)] for i in range(HI - LO + 1)]})
    counts = pd.DataFrame({"pos": np.arange(LO, HI + 1), "count": 1})
    return select_frames.slot_track("depth" if kind == "ordinal" else "pos_tag", k, frame, LO, counts, colors=colors)


def test_every_track_has_a_legend_and_ordinal_tracks_a_sequential_palette() -> None:
    depth, tags = _track("ordinal", ["0", "1", "2", "3"]), _track("categorical", ["NOUN", "VERB", "PUNCT"])
    d = _valid(select_chart.spec(_parts(tracks=[depth, tags])))
    legends = {la["encoding"]["color"]["legend"]["title"]: la["encoding"]["color"]
               for la in d["layer"] if "color" in la.get("encoding", {}) and "legend" in la["encoding"]["color"]}
    assert {"selected cells on", "depth", "pos_tag"} <= set(legends)
    assert legends["depth"]["scale"]["range"] == [palette.ordinal_colors(["0", "1", "2", "3"])[c] for c in "0123"]
    assert legends["depth"]["scale"]["range"][0] == palette.ORDINAL[0] and \
        legends["depth"]["scale"]["range"][-1] == palette.ORDINAL[-1], "light to dark"
    assert legends["pos_tag"]["scale"]["range"] == palette.CATEGORICAL[:3]
    names = [la for la in d["layer"] if la["mark"]["type"] == "text" and la["mark"].get("align") == "right"]
    assert len(names) >= 2, "each track row is named on the left"


def test_track_labels_are_white_on_dark_colours() -> None:
    t = _track("ordinal", ["0", "1", "2", "3"])
    ink = dict(zip(t.frame["label"], t.frame["ink"], strict=False))
    assert ink["0"] == "#222222" and ink["3"] == "white"


def test_ordinal_detection() -> None:
    assert palette.is_ordinal(["0", "1", "10", "2"]) and not palette.is_ordinal(["0", "a"])
    assert list(palette.ordinal_colors(["10", "2", "1"])) == ["1", "2", "10"]


def test_layers_side_by_side_round_trip_in_the_url() -> None:
    s = views.ViewState(project="p", source="layer1_h", layers=["layer2_h", "layer 1,c"], layer_thresholds=[0.5, 2.0])
    back = views.decode_state(views.encode_state(s))
    assert back.layers == ["layer2_h", "layer 1,c"] and back.layer_thresholds == [0.5, 2.0]
    assert views.decode_state({"layer_t": "1,nan"}).layer_thresholds == []
    assert "layers" not in views.encode_state(views.ViewState())


def test_the_app_draws_the_plot_and_the_rows_as_two_charts() -> None:
    """A track shown or hidden, or another number of on-range rows, leaves the plot's chart (spec
    and data) exactly as it was, so Streamlit sends it as a reference and the browser keeps it;
    every selection is on the plot's chart, none on the rows'."""
    depth = _track("ordinal", ["0", "1", "2", "3"])
    bare = replace(_parts(), ranges=None, jaccard=None)
    assert select_chart.spec_parts(bare)[1] is None, "nothing under the signature: no second chart"
    a, b = select_chart.spec_parts(_parts()), select_chart.spec_parts(_parts(tracks=[depth]))
    strip = [{k: v for k, v in d.items() if k != "datasets"} for d in (a[0], b[0])]
    assert strip[0] == strip[1], "the plot's spec does not depend on the tracks"
    assert a[0]["datasets"].keys() == b[0]["datasets"].keys()
    assert all(a[0]["datasets"][k].equals(b[0]["datasets"][k]) for k in a[0]["datasets"]), "nor its data"
    assert b[1] is not None and "track0" in b[1]["datasets"] and "track0" not in b[0]["datasets"]
    assert set(select_chart.selections(b[0])) == {select_chart.BRUSH, select_chart.THRESHOLD, select_chart.PAD,
                                                  select_chart.CELL_PICK, select_chart.WORD_CLICK}
    assert select_chart.selections(b[1]) == []
    for d in (b[0], b[1]):
        _valid(d)
        gutter = [la for la in d["layer"] if la["mark"]["type"] == "rule"
                  and la["encoding"].get("x") == {"value": -select_chart.layout(_parts(tracks=[depth])).gutter}]
        assert len(gutter) == 1, "both charts keep the same left margin, so their slots line up"
    assert select_chart.gutter([]) == select_chart.gutter(["pos", "depth", "Jaccard", "on-ranges"]) == 64
    assert select_chart.gutter(["stage_direction"]) == 96 and select_chart.gutter(["x" * 80]) == 128


def test_the_rows_chart_put_together_from_kept_rows_is_altairs() -> None:
    """The rows' chart, made from each row's kept layers, is the spec Altair makes of the same rows."""
    topk = select_frames.slot_track("next", "topk", pd.DataFrame({"pos": np.repeat(np.arange(LO, HI + 1), 2),
                                                                  "rank": [1, 2] * (HI - LO + 1), "token": "a",
                                                                  "score": 0.5}), LO, _parts().words)
    scalar = select_frames.slot_track("surprise", "scalar", pd.DataFrame({"pos": np.arange(LO, HI + 1),
                                                                           "value": np.linspace(0, 3, HI - LO + 1)}),
                                      LO, _parts().words, vmin=0.0, vmax=3.0)
    for tracks in ([], [_track("ordinal", ["0", "1"])], [topk, _track("categorical", ["A", "B"]), scalar]):
        L = select_chart._rows_layout(select_chart.layout(_parts(tracks=tracks)))
        fast = select_chart._rows_json(L)
        assert fast == select_chart._chart(*select_chart.row_layers(L, 0.0), L.gutter)
        assert select_chart._rows_json(L) is fast, "cached"


def test_every_line_is_one_dataset_that_a_threshold_range_or_padding_change_leaves_as_it_was() -> None:
    """The browser replaces only the datasets whose bytes changed: the lines of all cells stay the
    same bytes when the selection changes; the selected and excluded ones are drawn from their own."""
    import pyarrow as pa

    v, sc = _vals(), scaling.display_scale(_vals())

    def lines(threshold: float, brush: tuple[int, int], pads: tuple[int, int], excluded: list[int]) -> bytes:
        cells = views.select_in_window(v, LO, brush[0], brush[1], threshold, pads[0], pads[1], LO, HI)
        p = select_frames.select_parts(v, LO, HI, _tokens(), sc, threshold, cells, excluded,
                                       [c for c in cells if c not in excluded], brush, pads, 103, True)
        d = select_chart.datasets(p)
        assert set(d["excl"]["cell"]) == set(excluded) & set(cells)
        assert set(d["sel"]["cell"]) == set(cells) - set(excluded)
        assert len(d["lines"]) == v.size
        return pa.Table.from_pandas(d["lines"]).to_pandas().to_json().encode() + \
            pa.ipc.serialize_pandas(d["lines"]).to_pybytes()

    first = lines(0.3, (105, 108), (1, 0), [])
    assert first == lines(0.1, (105, 108), (1, 0), []) == lines(0.3, (104, 110), (0, 2), [2])


def test_on_range_rows_come_in_whole_steps_so_a_repacking_keeps_the_rows_spec() -> None:
    """The number of on-range rows is part of the rows chart's layout: one row more or less after a
    threshold change must not make a new spec (the browser would compile it afresh)."""
    def ranges(rows: int) -> pd.DataFrame:
        return pd.DataFrame({"cell": range(rows), "start": LO, "end": LO + 3, "x0": 0.0, "x1": 3.0,
                             "order": range(rows)})

    base = _parts()
    layouts = {n: select_chart.layout(replace(base, ranges=ranges(n))) for n in (1, 2, 5, 6, 7, 12, 13, 30)}
    assert layouts[1] == layouts[2] == layouts[5] == layouts[6] and layouts[6].range_rows == select_chart.RANGE_STEP
    assert layouts[7] == layouts[12] != layouts[6]
    assert layouts[13].range_rows == 18 and layouts[30].range_rows == select_chart.MAX_RANGE_ROWS
    assert all(L.range_rows >= min(n, select_chart.MAX_RANGE_ROWS) for n, L in layouts.items())
