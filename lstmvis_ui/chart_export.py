"""Charts as files: :func:`svg_download` offers any Altair chart as an SVG download, rendered offline by
vl-convert (``vl-convert-python``, pinned with the app) only when the button is clicked, so a rerun
pays nothing for it."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from lstmvis_db.errors import InputError

__all__ = ["chart_svg", "svg_download"]


def chart_svg(chart: alt.TopLevelMixin | dict[str, Any]) -> str:
    """The chart (or its Vega-Lite spec) drawn as an SVG document, offline.

    Raises:
        InputError: vl-convert is not installed, or it cannot draw the spec (its message).
    """
    try:
        import vl_convert as vlc
    except ImportError as e:
        raise InputError("SVG export needs vl-convert-python: pip install -r requirements.txt") from e
    spec = chart if isinstance(chart, dict) else chart.to_dict(validate=False)
    spec = _plain_datasets(_fixed_width(spec))
    try:
        return str(vlc.vegalite_to_svg(spec))
    except (ValueError, RuntimeError) as e:
        raise InputError(f"cannot draw the chart as SVG: {str(e).splitlines()[0]}") from e


def _fixed_width(spec: dict[str, Any], width: int = 900) -> dict[str, Any]:
    """``width: "container"`` has no container outside the page: a fixed width instead."""
    if spec.get("width") == "container":
        return {**spec, "width": width}
    return spec


def _plain_datasets(spec: dict[str, Any]) -> dict[str, Any]:
    """Named datasets given as DataFrames (as the Select chart sends them to Streamlit, which converts
    them itself) become plain JSON records, which is all vl-convert reads (with 15 significant
    digits, the most pandas writes, so that a value in an exported tooltip keeps its digits)."""
    sets = spec.get("datasets")
    if not sets or not any(isinstance(v, pd.DataFrame) for v in sets.values()):
        return spec

    def plain(v):
        return json.loads(v.to_json(orient="records", double_precision=15)) if isinstance(v, pd.DataFrame) else v

    return {**spec, "datasets": {k: plain(v) for k, v in sets.items()}}


def _file_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "chart"
    return stem if stem.endswith(".svg") else stem + ".svg"


def svg_download(chart: alt.TopLevelMixin | dict[str, Any] | Callable[[], dict[str, Any]], name: str,
                 label: str = "Download SVG", key: str | None = None) -> None:
    """A download button for ``chart`` (or its Vega-Lite spec, or a function making the spec) as
    ``<name>.svg``; the SVG (and the spec from a function) is made when the button is clicked
    (Streamlit calls the function on its own thread) and the click does not rerun the page."""
    def make() -> str:
        try:
            return chart_svg(chart() if callable(chart) else chart)
        except InputError as e:  # the file then says why (a callback cannot draw a message)
            return f'<svg xmlns="http://www.w3.org/2000/svg"><text x="10" y="20">{html.escape(str(e))}</text></svg>'

    st.download_button(label, make, file_name=_file_name(name), mime="image/svg+xml", key=key, on_click="ignore",
                       icon=":material/download:", help="the chart as a vector image (SVG), drawn offline")
