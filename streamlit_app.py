"""LSTMVis (DuckDB + Streamlit): the start page lists the projects; pick one and a source."""

import streamlit as st

import lstmvis_ui as ui

ui.page_setup("Projects", "home")
st.title("LSTMVis")
st.markdown("Visual analysis of hidden state dynamics in recurrent networks: form a hypothesis "
            "(a range of text and the cells that are on over it), then find where else it holds.")
with st.expander("Open another project file"):
    typed = st.text_input("Path to a `.duckdb` project", key="w_open_path", placeholder="/path/to/project.duckdb")
    if typed and ui.run_safely(ui.add_project_path, typed):
        st.success(f"Added {typed}")

found = ui.projects()
if not found:
    st.stop()
first, first_path = next(iter(found.items()))
hint = ui.run_safely(ui.suggestion, first_path)
if hint:
    with st.container(border=True):
        st.markdown(f"**Start here** · {hint['name']}: the cells of `{hint['source']}` that are on over "
                    f"“{hint['text']}” (positions {hint['start']}–{hint['end']}, {len(hint['cells'])} cells).")
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
    inf = ui.run_safely(ui.info, p)
    if inf is None:
        continue
    with cols[i % len(cols)].container(border=True):
        st.subheader(inf["name"] or name)
        st.caption(f"`{p}`")
        if inf["description"]:
            st.markdown(inf["description"])
        c1, c2, c3 = st.columns(3)
        c1.metric("Tokens", f"{inf['tokens']:,}")
        c2.metric("Documents", inf["documents"])
        c3.metric("Sources", len(inf["sources"]))
        st.markdown("**Sources**  \n" + "  \n".join(
            f"- `{x['source']}`: layer {x['layer']} {x['kind']} ({inf['tokens']:,} × {x['n_cells']})"
            + (" **unsigned**" if inf["unsigned"][x["source"]] else "") for x in inf["sources"]))
        st.markdown("**Tracks**: " + (", ".join(f"{t['track']} ({t['kind']})" for t in inf["tracks"]) or "---"))
        src = st.selectbox("Source", [x["source"] for x in inf["sources"]], key=f"w_src_{name}")
        if st.button("Open in Select →", key=f"open_{name}", type="primary"):
            ui.open_view(name, src, inf)
            st.switch_page(ui.PAGES["select"])
ui.sync_url()
