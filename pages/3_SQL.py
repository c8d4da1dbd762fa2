"""SQL console: read-only queries over the open project, with a quick chart and download."""

import streamlit as st

import lstmvis_ui as ui
from lstmvis_db.views import charts

path = ui.page_setup("SQL", "sql")
if path is None:
    st.stop()
s = ui.state()
ui.sidebar(path, "sql")
inf = ui.info(path)
st.markdown(f"#### SQL · {ui.project_title(inf['name'], s.project)}")
st.caption(ui.console_caption())

ref, main = st.columns([1, 3])
with ref:
    st.markdown("**Tables**")
    cols, counts = ui.table_reference(path)
    for table, g in cols.groupby("table", sort=False):
        with st.expander(f"`{table}` · {counts.get(table, 0):,} rows"):
            st.dataframe(g[["column", "type"]], hide_index=True, width="stretch")
    st.caption("Also: `current_matches` (the Match page's results), `hypotheses` and `hypothesis_matches` "
               "(saved hypotheses).")
with main:
    examples = ui.sql_examples(path, s)
    st.session_state["lv_examples"] = examples
    if "w_sql" not in st.session_state:
        st.session_state["w_sql"] = next(iter(examples.values()))
    st.selectbox("Example queries", list(examples), key="w_example", on_change=ui._on_example, index=None,
                 placeholder="choose an example to load it into the editor")
    query = st.text_area("SQL", key="w_sql", height=220)
    run = st.button("Run query", type="primary", key="run_sql")
    if run or st.session_state.get("lv_sql_ran"):
        st.session_state["lv_sql_ran"] = True
        df = ui.run_safely(ui.sql_with_tables, path, query)
        if df is not None:
            st.caption(f"{len(df):,} row(s)" + (" (cut at the row limit)" if df.attrs.get("truncated") else ""))
            st.dataframe(df, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(df)))
            st.download_button("Download CSV", df.to_csv(index=False), "query.csv", "text/csv")
            if len(df.columns) and len(df):
                c1, c2, c3 = st.columns(3)
                x = c1.selectbox("x", list(df.columns), index=0, key="w_chart_x")
                y = c2.selectbox("y", list(df.columns), index=min(1, len(df.columns) - 1), key="w_chart_y")
                kind = c3.selectbox("chart", ["bar", "line", "point"], key="w_chart_kind")
                ui.chart(charts.quick_chart(df, x, y, kind))
ui.sync_url()
