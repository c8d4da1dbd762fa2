"""The app's only Streamlit glue: project discovery, cached handles and queries, the view state
(kept in ``st.session_state`` and mirrored to the URL), and the shared sidebar.

Pages import this package (``import lstmvis_ui as ui``); ``lstmvis_db`` never imports Streamlit.
Canonical state is one :class:`lstmvis_db.views.ViewState` under ``st.session_state["lv"]``;
widgets have their own keys (``w_*``) that are refreshed from it before each render and copied
back by callbacks, so the state survives page switches (Streamlit drops the values of widgets a
page does not draw).

The modules, each importing only those above it:

- ``constants``: the repository root, session-state keys, page paths, result-row layout
- ``resources``: project discovery, first-start demo builds, cached Project handles and adapters
- ``cached``: bounded ``st.cache_data`` query wrappers
- ``view_state``: the ViewState, the URL, the current project and the hypothesis
- ``public``: the public or local rules in force, session copies, plain-text display
- ``widgets``: state-bound widgets, the sidebar, page setup, charts, errors, page links
- ``home``, ``select_page``, ``match_page``, ``sql_page``, ``new_project``: the pieces of each page
- ``align_view``: the Match page's align section and saved hypotheses
- ``layers``: other sources side by side in Select and their joint match

This file only re-exports the names the pages and tests use.  A test that monkeypatches a
function's collaborator must patch the submodule that looks the name up, not this package.
"""

from __future__ import annotations

from .align_view import align_view, hypotheses_view, publish_current, sql_with_tables
from .cached import info, match_details, sql
from .constants import PAGES
from .home import project_card, quietly
from .match_page import export_frame, heatmap_controls, histogram_event, match_chart, match_options, run_match
from .new_project import add_track_form, build_output, built_result, model_picker, texts_picker
from .public import hide_error_details, is_public, plain, project_title
from .resources import add_project_path, ensure_demos, projects
from .select_page import cell_chips, navigation, range_inputs
from .sql_page import _on_example, console_caption, sql_examples, table_reference
from .view_state import hypothesis, open_view, state, suggestion, sync_url
from .widgets import chart, nav, page_link, page_setup, run_safely, select_link, sidebar

__all__ = [
    "PAGES", "_on_example", "add_project_path", "add_track_form", "build_output", "built_result",
    "cell_chips", "chart", "console_caption", "ensure_demos", "export_frame", "heatmap_controls", "hide_error_details",
    "histogram_event", "hypothesis", "info", "is_public", "match_chart", "match_details", "match_options",
    "model_picker", "nav", "navigation", "open_view", "page_link", "page_setup", "plain", "project_card",
    "project_title", "projects", "quietly", "range_inputs", "run_match", "run_safely", "select_link", "sidebar", "sql",
    "sql_examples", "state", "suggestion", "sync_url", "table_reference", "texts_picker",
]
__all__ += ["align_view", "hypotheses_view", "publish_current", "sql_with_tables"]  # align
