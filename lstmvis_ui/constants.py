"""Paths, session-state key names and layout constants shared by the modules of the package."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout (this file is lstmvis_ui/constants.py)
STATE = "lv"
EXTRA_PATHS = "lv_extra_paths"
LEFT_CONTEXT = 3
MATCH_RIGHT = 20  # result rows: 3 tokens of left context | the match start and 20 more (V2)
PAGES = {"home": "streamlit_app.py", "select": "pages/1_Select.py", "match": "pages/2_Match.py",
         "sql": "pages/3_SQL.py", "new": "pages/4_New_project.py", "cell": "pages/5_Cell.py"}
#: the sidebar's page list (Streamlit's own names the start page after its file, "streamlit app")
NAV = (("home", "Projects", ":material/home:"), ("select", "Select", ":material/show_chart:"),
       ("match", "Match", ":material/manage_search:"), ("sql", "SQL", ":material/database:"),
       ("new", "New project", ":material/add_circle:"), ("cell", "Cell", ":material/grain:"))
