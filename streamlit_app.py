"""LSTMVis (DuckDB + Streamlit): the start page ("Projects" in the sidebar) lists the projects."""

import streamlit as st

import lstmvis_ui as ui

ui.page_setup("Projects", "home")
st.title("LSTMVis")
st.markdown("Visual analysis of hidden state dynamics in recurrent networks: form a hypothesis "
            "(a range of text and the cells that are on over it), then find where else it holds.")
if not ui.is_public():  # public rules: only the operator's projects (lstmvis_db.deploy)
    with st.expander("Open another project file"):
        typed = st.text_input("Path to a `.duckdb` project", key="w_open_path", placeholder="/path/to/project.duckdb")
        if typed and ui.run_safely(ui.add_project_path, typed):
            st.success(f"Added {ui.plain(typed)}")

found = ui.projects()
if not found:
    st.stop()
first, first_path = next(iter(found.items()))
hint = ui.quietly(ui.suggestion, first_path)
if hint:
    with st.container(border=True):
        st.markdown(f"**Start here** · {ui.plain(hint['name'])}: the cells of *{ui.plain(hint['source'])}* that are "
                    f"on over “{ui.plain(hint['text'])}” (positions {hint['start']}–{hint['end']}, "
                    f"{len(hint['cells'])} cells).")
        c1, c2, _ = st.columns([1, 1, 3])
        if c1.button("Look at it in Select", key="start_select", type="primary"):
            ui.open_view(first, hint["source"], ui.info(first_path))
            st.switch_page(ui.PAGES["select"])
        if c2.button("Show its matches", key="start_match"):
            ui.open_view(first, hint["source"], ui.info(first_path))
            ui.state().queried = True
            st.switch_page(ui.PAGES["match"])
cols = st.columns(min(len(found), 3))
for i, (name, p) in enumerate(found.items()):
    with cols[i % len(cols)].container(border=True):
        ui.project_card(name, p)
ui.sync_url()
