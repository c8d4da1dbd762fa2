"""Pure view logic of the app: what each LSTMVis view shows, computed without a browser.

Modules: ``palette`` (colours and scales, docs/app.md §Colours), ``frames`` (the computations of the Select
and Match views and the tidy frames the charts draw), ``urlstate`` (:class:`ViewState` and the
link encoding, docs/app.md §The view state in the URL), ``sql_examples`` (the SQL console's examples),
``charts`` and ``match_charts`` (the Altair builders; the Match view's in the latter), ``select_chart`` with
``select_frames`` and ``scaling`` (the Select view as one page-wide chart, its frames and the per-source display
scaling), ``new_project``, ``choices`` and ``own_text`` (the logic behind the New project page; the last runs the
bundled numpy LSTMs on one's own text and imports an LSTMVis project zip).  The app's
glue (``lstmvis_ui``) fetches arrays from a :class:`lstmvis_db.Project` and hands them to
these functions.

May import numpy, pandas, the core's small helpers (``errors``, ``sqltext``), altair (in
``charts``, ``match_charts`` and ``select_chart`` only) and, for the New project page, ``extract``'s light modules
(its heavy ones, ``demos`` and ``import_lstmvis`` inside functions); never streamlit, and the store only inside
``own_text.build_from_text`` (its writer).  The names below are re-exported so that
``from lstmvis_db import views; views.X`` serves the app.
"""

from __future__ import annotations

from lstmvis_db.views.frames import (
    display_token,
    histogram_frame,
    join_tokens,
    lines_frame,
    low_pass,
    matches_table,
    matrix_frame,
    on_counts,
    on_ranges,
    select_in_window,
    signature,
    snap_brush,
    step_jaccard,
    topk_frame,
    track_fields,
    words_frame,
    y_domain,
)
from lstmvis_db.views.palette import (
    CATEGORICAL,
    DIV_HIGH,
    DIV_LOW,
    DIV_MID,
    SEQ_HIGH,
    SEQ_LOW,
    WORD_HIGH,
    category_colors,
    scalar_scale,
)
from lstmvis_db.views.sql_examples import PUBLIC_TABLES, example_queries
from lstmvis_db.views.urlstate import ViewState, decode_state, encode_state

__all__ = [
    "CATEGORICAL",
    "DIV_HIGH",
    "DIV_LOW",
    "DIV_MID",
    "PUBLIC_TABLES",
    "SEQ_HIGH",
    "SEQ_LOW",
    "WORD_HIGH",
    "ViewState",
    "category_colors",
    "decode_state",
    "display_token",
    "encode_state",
    "example_queries",
    "histogram_frame",
    "join_tokens",
    "lines_frame",
    "low_pass",
    "matches_table",
    "matrix_frame",
    "on_counts",
    "on_ranges",
    "scalar_scale",
    "select_in_window",
    "signature",
    "snap_brush",
    "step_jaccard",
    "topk_frame",
    "track_fields",
    "words_frame",
    "y_domain",
]
