"""Match view: where else the hypothesis holds; length histogram, result matrix, heatmaps."""

import streamlit as st

import lstmvis_ui as ui
from lstmvis_db import views
from lstmvis_ui import match_page, select_page

path = ui.page_setup("Match", "match")
if path is None:
    st.stop()
s = ui.state()
ui.sidebar(path, "match")
inf = ui.info(path)
cells, problem = ui.hypothesis(path, s)
q = s.query_cells()
brush = f"range {s.brush[0]}–{s.brush[1]}" if s.brush else "no range"
st.markdown(f"#### Match · {ui.project_title(inf['name'], s.project)} · {ui.plain(s.source)} · {brush} · "
            f"{len(q)} cells at ≥ {s.threshold:.3f}")
if problem:
    st.warning(problem)
note = match_page.source_note(s, q)
if note:
    (st.info if q else st.warning)(note, icon=":material/swap_horiz:")
if not q:
    if not note:
        st.info(match_page.no_cells_message(s))
    ui.page_link("select", "Go to Select", icon=":material/edit:")
    ui.sync_url()
    st.stop()
st.caption("Query cells: " + ", ".join(map(str, q)))
select_page.cell_links(q)  # each query cell's profile on the Cell page
ui.match_options(path)
if not s.queried:
    st.info("Press **Run match** to find the other places where these cells are on together.")
    ui.sync_url()
    st.stop()

full = ui.run_match(path, s, length=0)
res = ui.run_match(path, s) if s.length else full
if full is None or res is None:
    ui.sync_url()
    st.stop()
st.session_state["lv_match_source"] = (s.project, s.source)
match_page.length_histogram(full)
if not res["matches"]:
    st.info("No results for these settings.")
    ui.sync_url()
    st.stop()
st.caption(f"{len(res['matches'])} results shown" + (f" of phrase length {s.length}" if s.length else ""))

tracks = ui.heatmap_controls(path, q)
starts = tuple((m["start"], m["length"]) for m in res["matches"])
shown = tuple(t for t in tracks if t in (s.map_to, s.circle, *s.heatmaps))  # only the shown tracks are read and sent
details = ui.match_details(path, s.source, tuple(s.pinned or q), s.threshold, starts, shown)
links = [ui.select_link(s, m["start"], m["length"]) for m in res["matches"]]
match_page.result_view(path, s, details, tracks, links)

table = views.matches_table(res["matches"], details)
table["open"] = links
st.dataframe(table, hide_index=True, width="stretch", key="match_table", column_config={
    "open": st.column_config.LinkColumn("open", display_text="open in Select ↗", width="small"),
    "jaccard": st.column_config.NumberColumn(format="%.3f"), "text": st.column_config.TextColumn(width="large")})
out = ui.export_frame(s, table.drop(columns=["open"]))
c1, c2, _ = st.columns([1, 1, 4])  # the files are made when a button is clicked, not on every rerun
c1.download_button("Download CSV", lambda: out.to_csv(index=False), "matches.csv", "text/csv", on_click="ignore")
c2.download_button("Download Parquet", lambda: out.to_parquet(index=False), "matches.parquet",
                   "application/octet-stream", on_click="ignore")
ui.publish_current(s, res["matches"])
ui.align_view(path, s)
ui.hypotheses_view(path, s)
ui.sync_url()
