"""LSTMVis (DuckDB + Streamlit): the entry point.  It names the pages (the landing page is
"Projects", not the file name "streamlit app") and runs the one asked for; every file in
``pages/`` is a page, titled by its name without the number prefix."""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
TITLES = {"0_Projects.py": "Projects"}
ICONS = {"0_Projects.py": ":material/home:", "1_Select.py": ":material/show_chart:",
         "2_Match.py": ":material/manage_search:", "3_SQL.py": ":material/database:",
         "4_New_project.py": ":material/add_circle:", "5_Cell.py": ":material/grain:"}

pages = [st.Page(f"pages/{f.name}", title=TITLES.get(f.name, f.stem.split("_", 1)[-1].replace("_", " ")),
                 icon=ICONS.get(f.name), default=f.name == "0_Projects.py")
         for f in sorted((HERE / "pages").glob("[0-9]*_*.py"))]
st.navigation(pages).run()
