"""The Match view's chart builders (lstmvis_db.views.match_charts): valid Vega-Lite, the histogram's
click filter, a readable length axis, legends and titles on every heatmap."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest
from altair.utils.schemapi import validate_jsonschema

from lstmvis_db import views
from lstmvis_db.views import match_charts as mc


def _spec(spec: dict) -> dict:
    """The spec with its DataFrame datasets as records, validated against the Vega-Lite schema."""
    d = {**spec, "datasets": {k: json.loads(v.to_json(orient="records")) if isinstance(v, pd.DataFrame) else v
                              for k, v in spec.get("datasets", {}).items()}}
    validate_jsonschema(d, alt.vegalite.v6.schema.core.load_schema())
    json.dumps(d)
    return d


def test_length_histogram_click_selection_and_outline() -> None:
    hist = views.histogram_frame({"fuzzy": {"2": 5, "4": 1}, "strict": {"2": 3}})
    d = _spec(mc.length_histogram(hist, selected=4))
    assert [p["name"] for p in d["params"]] == [mc.HIST]
    assert d["params"][0]["select"]["fields"] == ["length"]
    rows = d["datasets"][mc.HIST_DATA]
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


def _links(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"rank": range(1, n + 1), "link": [f"./Select?pos={i}" for i in range(1, n + 1)]})


def _layout(color: mc.Paint, heatmaps=(), circles=None, mask: bool = True, tracks=("pos_tag", "surprise"),
            right_max: int = 5) -> mc.MatrixLayout:
    return mc.MatrixLayout(3, right_max, 30, mask, color, tuple((t, t) for t in tracks), circles, tuple(heatmaps))


@pytest.mark.parametrize("field,kind", [("count", "count"), ("pos_tag", "categorical"), ("surprise", "scalar")])
def test_match_view(field, kind) -> None:
    mat = views.matrix_frame(_details())
    colors = views.category_colors(["NOUN", "VERB"])
    color = mc.paint(field, kind, colors if kind == "categorical" else None, -3, 5, title=field)
    hms = [mc.paint("count", "count", title="match count"), mc.paint("pos_tag", "categorical", colors),
           mc.paint("surprise", "scalar", None, -3, 5)]
    d = _spec(mc.match_view(_layout(color, hms), mat, _links()))
    assert len(d["hconcat"]) == 5
    hover = [p for p in d["params"] if p["name"] == mc.HOVER]
    assert len(hover) == 1 and len(hover[0]["views"]) == 4  # matrix + 3 heatmaps
    assert d["hconcat"][0]["encoding"]["href"]["field"] == "link"
    assert all(h["height"] == 3 * mc.ROW for h in d["hconcat"])  # ROW px per result
    assert d["hconcat"][1]["width"] == 30 * 9  # a column per step, -3..5
    if kind != "count":  # mask: words fade by count when a track colours them
        assert "opacity" in d["hconcat"][1]["layer"][0]["encoding"]
    # every heatmap: its track's name as title and a colour legend under it
    assert [h["title"]["text"] for h in d["hconcat"][2:]] == ["match count", "pos_tag", "surprise"]
    for h in d["hconcat"][2:]:
        legend = h["encoding"]["color"]["legend"]
        assert legend["orient"] == "bottom" and legend["title"] in ("cells on", "pos_tag", "surprise")
    assert d["hconcat"][1]["layer"][0]["encoding"]["color"]["legend"]["orient"] == "bottom"
    # only the columns drawn go to the browser, one dataset for the matrix and every heatmap
    assert set(d["datasets"]) == {mc.MAT, mc.LINKS}
    assert set(d["datasets"][mc.MAT][0]) == {"rank", "offset", "pos", "label", "count", "in_match", "pos_tag",
                                              "surprise"}


def test_the_spec_is_kept_by_layout_and_the_rows_are_data() -> None:
    """Another number of results, other counts or tokens: the same spec object (only the datasets
    differ), drawn with the data's rows and a count scale from 0 to the data's highest count."""
    import vl_convert

    mat = views.matrix_frame(_details())
    L = _layout(mc.paint("count", "count", title="match count"), [mc.paint("count", "count")], tracks=())
    two = mat[mat["row"] < 2]
    assert mc.match_spec(L) is mc.match_spec(L)
    view = mc.match_view(L, two, _links(2))
    assert [c["height"] for c in view["hconcat"]] == [2 * mc.ROW] * 3
    assert {**view, "hconcat": mc.match_spec(L)["hconcat"], "datasets": None} == {**mc.match_spec(L), "datasets": None}
    assert mc.match_spec(L, shared=False) == mc.match_spec(L) and mc.match_spec(L, shared=False) is not \
        mc.match_spec(L)
    svg = [vl_convert.vegalite_to_svg(_spec(mc.match_view(L, m, _links(n)))) for m, n in ((mat, 3), (two, 2))]
    assert 'aria-label="rank: 3' in svg[0] and 'aria-label="rank: 3' not in svg[1]
    assert 'd="M0,0h16v66h-16Z"' in svg[0] and 'd="M0,0h16v44h-16Z"' in svg[1]  # the links' column: 3, 2 rows


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(h[i:i + 2], 16) for i in (0, 2, 4)))


@pytest.mark.parametrize("top", [0, 2, 7])
def test_count_colours_run_from_zero_to_the_highest_count(top) -> None:
    """The count scale's domain is the data's extent united with [0, 1], that is [0, max(count, 1)]
    as when it was written into the spec: 0 is the lightest colour, the highest count the darkest."""
    import re

    import vl_convert

    from lstmvis_db.views import palette

    mat = views.matrix_frame(_details())
    mat["count"] = np.where(mat["offset"] >= 0, top, 0)
    L = _layout(mc.paint("count", "count", title="match count"), tracks=())
    svg = vl_convert.vegalite_to_svg(_spec(mc.match_view(L, mat, _links())))
    fills = re.findall(r'aria-label="[^"]*?cells on: (\d+);[^"]*" role="graphics-symbol" '
                       r'aria-roledescription="rect mark" d="[^"]*" fill="([^"]*)"', svg)
    assert len(fills) == len(mat)
    by_count = {int(c): {f for c2, f in fills if int(c2) == int(c)} for c, _ in fills}
    assert by_count[0] == {_rgb(palette.SEQ_LOW)}
    if top:
        assert by_count[top] == {_rgb(palette.SEQ_HIGH)}


def test_circle_mapping_draws_dots_that_grow_together() -> None:
    """V1 circle mapping: a dot per word coloured by another field, on top of the rect mapping;
    hovering one grows every dot of the same value; with the mask, dots are opaque inside the
    match and one step around it, 0.1 elsewhere."""
    mat = views.matrix_frame(_details())
    colors = views.category_colors(["NOUN", "VERB"])
    dots = mc.paint("pos_tag", "categorical", colors, title="pos_tag")
    count = mc.paint("count", "count", title="match count")
    d = _spec(mc.match_view(_layout(count, [mc.paint("count", "count")], dots, tracks=["pos_tag"]), mat, _links()))
    import vl_convert

    assert vl_convert.vegalite_to_svg(d).lstrip().startswith("<svg")  # Vega accepts it (no duplicate signal)
    layers = d["hconcat"][1]["layer"]
    circle = [la for la in layers if la["mark"]["type"] == "circle"]
    assert len(circle) == 1 and circle[0]["encoding"]["color"]["field"] == "pos_tag"
    assert circle[0]["encoding"]["color"]["legend"]["title"] == "dots: pos_tag"
    assert layers[0]["encoding"]["color"]["field"] == "count"  # the backgrounds keep their mapping
    hover = [p for p in d["params"] if p["name"] == mc.CIRCLE_HOVER]
    assert len(hover) == 1 and hover[0]["select"]["fields"] == ["pos_tag"]
    size = circle[0]["encoding"]["size"]
    assert size["condition"]["param"] == mc.CIRCLE_HOVER and size["condition"]["value"] > size["value"]
    assert circle[0]["encoding"]["opacity"]["field"] == "dot_opacity"
    assert d["hconcat"][1]["resolve"]["scale"]["color"] == "independent"
    # the opacity rule: matches of length 3 start at offset 0 -> opaque at offsets -1..3
    op = mc.circle_opacity(mat)
    want = np.where((mat["offset"] >= -1) & (mat["offset"] <= 3), 1.0, 0.1)
    assert np.array_equal(op.to_numpy(), want) and set(op) == {0.1, 1.0}
    assert [r["dot_opacity"] for r in d["datasets"][mc.MAT]] == want.tolist()
    no_mask = _spec(mc.match_view(_layout(count, [], dots, mask=False, tracks=["pos_tag"]), mat, _links()))
    assert "opacity" not in [la for la in no_mask["hconcat"][1]["layer"] if la["mark"]["type"] == "circle"][0][
        "encoding"]
    assert "dot_opacity" not in no_mask["datasets"][mc.MAT][0]
