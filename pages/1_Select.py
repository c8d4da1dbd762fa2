"""Select view: navigate, brush a hypothesis range on the words, tune threshold and padding."""

import streamlit as st

import lstmvis_ui as ui
from lstmvis_db.views import select_chart
from lstmvis_ui import layers, select_page, select_view
from lstmvis_ui.chart_export import svg_download

path = ui.page_setup("Select", "select")
if path is None:
    st.stop()
s = ui.state()
ui.sidebar(path, "select")
inf = ui.info(path)
select_page.clamp_position(path, s)
st.markdown(f"#### Select · {ui.project_title(inf['name'], s.project)} · {ui.plain(s.source)} · position {s.pos}")

ui.navigation(path)
lo, hi = select_page.window_bounds(path, s)
select_view.apply_events(path, lo, hi)  # the chart's last brush / threshold / padding / click, before drawing
select_view.controls(path)
cap, busy = st.columns([6, 1])
with busy, st.spinner("working…"):  # in its own column: the chart below never shifts while it shows
    cells, problem = ui.hypothesis(path, s)
    parts, scale = select_view.build(path, s, cells, lo, hi)
cap.caption("Drag across the words to choose the hypothesis range (a click on them clears it); drag the handle on "
            "the y-axis to set the threshold and the diamonds under the words to set the off-padding; click a "
            "selected line for that cell's profile. " + scale.note())
select_view.draw(parts, lo)
if problem:
    st.warning(problem)

left, right = st.columns([3, 2])
with left:
    if s.brush is None:
        st.info("No hypothesis yet: brush a range on the word strip (or type it on the right).")
    elif cells:
        ui.cell_chips(cells)
        select_page.cell_links(cells)
    else:
        st.info("No cell is on over the whole range and off in the padding: try a lower threshold, "
                "a shorter range or less padding.")
with right:
    ui.range_inputs(path)
    q = s.query_cells()
    c1, c2, c3 = st.columns(3)
    c1.metric("Selected", len(cells))
    c2.metric("Excluded", len(s.excluded))
    c3.metric("Query cells", len(q))
    svg_download(lambda: select_chart.spec(parts), f"select-{inf['name']}-{s.source}-{lo}", key="svg_select")
    if q:
        ui.page_link("match", f"Match these {len(q)} cells →", icon=":material/manage_search:")
    select_page.threshold_guidance(path)
layers.layers_view(path, s)
select_page.label_links(path)
select_page.coactivation_toggle(path)
ui.sync_url()
