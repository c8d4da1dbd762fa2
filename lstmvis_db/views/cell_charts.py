"""Pure Altair builders of the Cell page: a cell's value histogram with its threshold, its
on-rate per label, and a co-activation heatmap.  Each takes plain data and returns a chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from lstmvis_db import views


def histogram_frame(edges: Sequence[float], counts: Sequence[int]) -> pd.DataFrame:
    """One row per bin: lo, hi, count."""
    return pd.DataFrame({"lo": list(edges[:-1]), "hi": list(edges[1:]), "count": list(counts)})


def value_histogram(edges: Sequence[float], counts: Sequence[int], threshold: float | None = None,
                    width: int = 420, height: int = 160, title: str = "values") -> alt.Chart | alt.LayerChart:
    """Bars of the histogram; a rule at the threshold when one is given."""
    df = histogram_frame(edges, counts)
    if threshold is not None:
        df["on"] = df["lo"] >= threshold
    bars = alt.Chart(df).mark_bar(stroke="white", strokeWidth=0.3).encode(
        x=alt.X("lo:Q", title=title, bin="binned", scale=alt.Scale(zero=False)),
        x2="hi:Q",
        y=alt.Y("count:Q", title="positions"),
        color=(alt.Color("on:N", scale=alt.Scale(domain=[False, True], range=["#bdbdbd", views.SEQ_HIGH]),
                         legend=None) if threshold is not None else alt.value("#6b6b6b")),
        tooltip=[alt.Tooltip("lo:Q", format=".4f"), alt.Tooltip("hi:Q", format=".4f"), "count:Q"],
    ).properties(width=width, height=height)
    if threshold is None:
        return bars
    rule = alt.Chart(pd.DataFrame({"t": [threshold]})).mark_rule(color="#e66101", strokeWidth=2).encode(
        x="t:Q", tooltip=[alt.Tooltip("t:Q", title="threshold", format=".4f")])
    return bars + rule


def label_rates_frame(by_label: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    rows = [(t, lab, r) for t, labs in by_label.items() for lab, r in labs.items()]
    return pd.DataFrame(rows, columns=["track", "label", "on_rate"])


def label_rates(df: pd.DataFrame, track: str, width: int = 420) -> alt.Chart:
    """Horizontal bars: on-rate of the cell per label of one track (labels in the track's order)."""
    part = df[df["track"] == track]
    return alt.Chart(part).mark_bar(color=views.SEQ_HIGH).encode(
        y=alt.Y("label:N", sort=list(part["label"]), title=track),
        x=alt.X("on_rate:Q", title="on-rate", scale=alt.Scale(domain=[0, 1])),
        tooltip=["label:N", alt.Tooltip("on_rate:Q", format=".3f")],
    ).properties(width=width, height=alt.Step(18))


def coactivation_heatmap(pairs: Sequence[Mapping], field: str = "phi", size: int = 22) -> alt.Chart:
    """Query cell (rows) x other cell (columns) coloured by phi (or lift / PMI)."""
    df = pd.DataFrame(list(pairs), columns=["a", "b", "lift", "pmi", "phi"])
    mirror = df.rename(columns={"a": "b", "b": "a"})
    df = pd.concat([df, mirror[mirror["b"].isin(df["a"]) & mirror["a"].isin(df["a"])]], ignore_index=True)
    df = df.drop_duplicates(["a", "b"])
    cols = sorted(df["b"].unique().tolist())
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("b:O", title="cell", sort=cols),
        y=alt.Y("a:O", title="query cell"),
        color=alt.Color(f"{field}:Q", scale=alt.Scale(scheme="blueorange", domainMid=0)
                        if field != "lift" else alt.Scale(scheme="blues"), title=field),
        tooltip=["a:O", "b:O", alt.Tooltip("lift:Q", format=".3f"), alt.Tooltip("pmi:Q", format=".3f"),
                 alt.Tooltip("phi:Q", format=".3f")],
    ).properties(width=alt.Step(size), height=alt.Step(size))
