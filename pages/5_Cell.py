"""Cell view: one cell's profile under a filter, and the cells that track a label."""

import streamlit as st

import lstmvis_ui as ui
from lstmvis_ui import cell_page

path = ui.page_setup("Cell", "cell")
if path is None:
    st.stop()
ui.sidebar(path, "cell")
cell_page.render(path)
