"""Paths, session-state key names and layout constants shared by the modules of the package."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout (this file is lstmvis_ui/constants.py)
STATE = "lv"
EXTRA_PATHS = "lv_extra_paths"
LEFT_CONTEXT = 3
MATCH_RIGHT = 20  # result rows: 3 tokens of left context | the match start and 20 more (V2)
PAGES = {"home": "pages/0_Projects.py", "select": "pages/1_Select.py", "match": "pages/2_Match.py",
         "sql": "pages/3_SQL.py", "cell": "pages/5_Cell.py"}
