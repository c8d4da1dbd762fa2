"""Match view: where else the hypothesis holds; length histogram, result matrix, heatmaps."""

import io

import streamlit as st

import lstmvis_ui as ui
from lstmvis_db import views
from lstmvis_db.views import charts
from lstmvis_ui import select_page

path = ui.page_setup("Match", "match")
if path is None:
    st.stop()
s = ui.state()
ui.sidebar(path, "match")
inf = ui.info(path)
cells, problem = ui.hypothesis(path, s)
q = s.query_cells()
brush = f"range {s.brush[0]}–{s.brush[1]}" if s.brush else "no range"
st.markdown(f"#### Match · {ui.plain(inf['name'])} · {ui.plain(s.source)} · {brush} · "
            f"{len(q)} cells at ≥ {s.threshold:.3f}")
if problem:
    st.warning(problem)
if not q:
    st.info("No query cells yet: brush a hypothesis range on the Select page first.")
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
hist, side = st.columns([3, 1])
with hist:
    ev = ui.chart(charts.length_histogram(views.histogram_frame(full["histogram"]), s.length),
                  key="hist_chart", on_select="rerun")
    if ui.histogram_event(ev):
        st.rerun()
side.metric("Candidates scored", f"{full['candidates']:,}")
side.metric("Shown", len(res["matches"]), help=f"phrase length {s.length}" if s.length else "any length")
if not res["matches"]:
    st.info("No results for these settings.")
    ui.sync_url()
    st.stop()

tracks = ui.heatmap_controls(path, q)
starts = tuple((m["start"], m["length"]) for m in res["matches"])
details = ui.match_details(path, s.source, tuple(s.pinned or q), s.threshold, starts)
ui.chart(ui.match_chart(path, s, details, tracks))

table = views.matches_table(res["matches"], details)
table["open"] = [ui.select_link(s, m["start"], m["length"]) for m in res["matches"]]
st.dataframe(table, hide_index=True, width="stretch", key="match_table", column_config={
    "open": st.column_config.LinkColumn("open", display_text="open in Select ↗", width="small"),
    "jaccard": st.column_config.NumberColumn(format="%.3f"), "text": st.column_config.TextColumn(width="large")})
out = ui.export_frame(s, table.drop(columns=["open"]))
buf = io.BytesIO()
out.to_parquet(buf, index=False)
c1, c2, _ = st.columns([1, 1, 4])
c1.download_button("Download CSV", out.to_csv(index=False), "matches.csv", "text/csv")
c2.download_button("Download Parquet", buf.getvalue(), "matches.parquet", "application/octet-stream")
ui.publish_current(s, res["matches"])
ui.align_view(path, s)
ui.hypotheses_view(path, s)
ui.sync_url()
