"""The Match view's chart builders (lstmvis_db.views.match_charts): valid Vega-Lite, the histogram's
click filter, a readable length axis, legends and titles on every heatmap."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lstmvis_db import views
from lstmvis_db.views import match_charts as mc


def _spec(chart) -> dict:
    d = chart.to_dict()  # validates against the Vega-Lite schema
    json.dumps(d)
    return d


def test_length_histogram_click_selection_and_outline() -> None:
    hist = views.histogram_frame({"fuzzy": {"2": 5, "4": 1}, "strict": {"2": 3}})
    d = _spec(mc.length_histogram(hist, selected=4))
    assert [p["name"] for p in d["params"]] == [mc.HIST]
    assert d["params"][0]["select"]["fields"] == ["length"]
    rows = next(iter(d["datasets"].values()))
    assert [r["length"] for r in rows if r["chosen"]] == [4]  # the chosen bar is outlined


def test_a_click_on_the_chosen_bar_clears_the_filter() -> None:
    assert mc.chosen_length(0, [7]) == 7
    assert mc.chosen_length(7, [7]) == 0  # the same bar again: cleared
    assert mc.chosen_length(7, [3]) == 3
    assert mc.chosen_length(7, []) == 0  # double click
    assert mc.chosen_length(0, []) == 0


@pytest.mark.parametrize("n", [5, 24, 25, 140, 1000])
def test_length_axis_labels_stay_few(n) -> None:
    lengths = list(range(2, n + 2))
    shown = mc.axis_lengths(lengths)
    assert len(shown) <= mc.MAX_LABELS and shown[0] == 2 and set(shown) <= set(lengths)
    if n <= mc.MAX_LABELS:
        assert shown == lengths
    else:  # evenly spaced, round numbers
        step = shown[2] - shown[1]
        assert all(b - a == step for a, b in zip(shown[1:], shown[2:], strict=False))
        assert str(step).rstrip("0") in ("1", "2", "5")
    hist = pd.DataFrame({"length": lengths, "kind": "all", "n": 1})
    axis = _spec(mc.length_histogram(hist))["layer"][0]["encoding"]["x"]["axis"]
    assert axis["values"] == shown and axis["labelAngle"] == 0


def test_matrix_cell_width_follows_the_tokens() -> None:
    assert mc.matrix_cell_width(list("abc")) == 22
    assert mc.matrix_cell_width(["wonderland"] * 10) > mc.matrix_cell_width(["cat"] * 10)
    assert mc.matrix_cell_width(["x" * 80] * 10) == 52
    assert mc.matrix_cell_width(["cat"] * 20 + ["extraordinarily"]) == mc.matrix_cell_width(["cat"] * 21)


def _details() -> pd.DataFrame:
    rows = []
    for r in range(3):
        for off in range(-3, 6):
            rows.append((r, 100 * r, 3, off, 100 * r + off, 0 <= off < 3, int(off >= 0) * 2, f"t{off}",
                         "NOUN" if off % 2 else None, float(off)))
    return pd.DataFrame(rows, columns=["row", "start", "length", "offset", "pos", "in_match", "count", "token",
                                       "pos_tag", "surprise"])


@pytest.mark.parametrize("field,kind", [("count", "count"), ("pos_tag", "categorical"), ("surprise", "scalar")])
def test_match_view(field, kind) -> None:
    mat = views.matrix_frame(_details())
    colors = views.category_colors(["NOUN", "VERB"])
    tracks = ["pos_tag", "surprise"]
    m = mc.result_matrix(mat, field, kind, colors, -3, 5, tracks=tracks, title=field)
    hms = [mc.heatmap(mat, "count", "count", tracks=tracks, title="match count"),
           mc.heatmap(mat, "pos_tag", "categorical", colors, tracks=tracks),
           mc.heatmap(mat, "surprise", "scalar", None, -3, 5, tracks=tracks)]
    links = mc.row_links(pd.DataFrame({"rank": [1, 2, 3],
                                       "link": ["./Select?pos=1", "./Select?pos=2", "./Select?pos=3"]}))
    d = _spec(mc.match_view(m, hms, links))
    assert len(d["hconcat"]) == 5
    hover = [p for p in d["params"] if p["name"] == mc.HOVER]
    assert len(hover) == 1 and len(hover[0]["views"]) == 4  # matrix + 3 heatmaps
    assert d["hconcat"][0]["encoding"]["href"]["field"] == "link"
    assert d["hconcat"][1]["height"] == 3 * mc.ROW
    if kind != "count":  # mask: words fade by count when a track colours them
        assert "opacity" in d["hconcat"][1]["layer"][0]["encoding"]
    # every heatmap: its track's name as title and a colour legend under it
    assert [h["title"]["text"] for h in d["hconcat"][2:]] == ["match count", "pos_tag", "surprise"]
    for h in d["hconcat"][2:]:
        legend = h["encoding"]["color"]["legend"]
        assert legend["orient"] == "bottom" and legend["title"] in ("cells on", "pos_tag", "surprise")
    assert d["hconcat"][1]["layer"][0]["encoding"]["color"]["legend"]["orient"] == "bottom"


def test_circle_mapping_draws_dots_that_grow_together() -> None:
    """V1 circle mapping: a dot per word coloured by another field, on top of the rect mapping;
    hovering one grows every dot of the same value; with the mask, dots are opaque inside the
    match and one step around it, 0.1 elsewhere."""
    mat = views.matrix_frame(_details())
    colors = views.category_colors(["NOUN", "VERB"])
    dots = mc.Circles("pos_tag", "categorical", colors, title="pos_tag")
    m = mc.result_matrix(mat, "count", "count", tracks=["pos_tag"], title="match count", circles=dots)
    d = _spec(mc.match_view(m, [mc.heatmap(mat, "count", "count", tracks=["pos_tag"])]))
    import vl_convert

    assert vl_convert.vegalite_to_svg(d).lstrip().startswith("<svg")  # Vega accepts it (no duplicate signal)
    layers = d["hconcat"][0]["layer"]
    circle = [la for la in layers if la["mark"]["type"] == "circle"]
    assert len(circle) == 1 and circle[0]["encoding"]["color"]["field"] == "pos_tag"
    assert circle[0]["encoding"]["color"]["legend"]["title"] == "dots: pos_tag"
    assert layers[0]["encoding"]["color"]["field"] == "count"  # the backgrounds keep their mapping
    hover = [p for p in d["params"] if p["name"] == mc.CIRCLE_HOVER]
    assert len(hover) == 1 and hover[0]["select"]["fields"] == ["pos_tag"]
    size = circle[0]["encoding"]["size"]
    assert size["condition"]["param"] == mc.CIRCLE_HOVER and size["condition"]["value"] > size["value"]
    assert circle[0]["encoding"]["opacity"]["field"] == "dot_opacity"
    assert d["hconcat"][0]["resolve"]["scale"]["color"] == "independent"
    # the opacity rule: matches of length 3 start at offset 0 -> opaque at offsets -1..3
    op = mc.circle_opacity(mat)
    want = np.where((mat["offset"] >= -1) & (mat["offset"] <= 3), 1.0, 0.1)
    assert np.array_equal(op.to_numpy(), want) and set(op) == {0.1, 1.0}
    no_mask = _spec(mc.match_view(mc.result_matrix(mat, "count", "count", mask=False, circles=dots), []))
    assert "opacity" not in [la for la in no_mask["hconcat"][0]["layer"] if la["mark"]["type"] == "circle"][0][
        "encoding"]
