"""New project: run a bundled numpy LSTM (no torch) or a model over texts, import an original LSTMVis
project (zip) or an activation cache (Parquet), and open the result; add an annotation track to a project.

Widgets only: the steps are in ``lstmvis_ui.new_project``, the logic behind them in
``lstmvis_db.extract.app_support`` (tested without a browser).
"""

import streamlit as st

import lstmvis_ui as ui
from lstmvis_db.views import new_project as sup
from lstmvis_ui import new_project

st.set_page_config(page_title="LSTMVis · New project", page_icon=":material/add_chart:", layout="wide")
ui.nav()  # the sidebar page list (views-select hook)
ui.hide_error_details()
ui.ensure_demos()
ui.state()
st.title("New project")
tab_own, tab_build, tab_import, tab_cache, tab_track = st.tabs(
    ["Your text, a bundled LSTM", "Build with a model (torch)", "Import an LSTMVis project",
     "Import an activation cache", "Add an annotation track"])

with tab_own:
    new_project.bundled_form()

with tab_import:
    new_project.import_form()

with tab_cache:
    new_project.cache_form()

with tab_build:
    missing = sup.extraction_missing()
    if ui.is_public():  # public rules: no model paths or factory files from a visitor, no shared writes
        st.info("Building a project from a model is turned off on this public deployment (it would run "
                "code and models chosen by a visitor and write to the server). Run the app on your own "
                "machine to build projects; the bundled LSTMs on your text, an LSTMVis import and adding an "
                "annotation track (the other tabs) work here, in a project of your own.", icon=":material/lock:")
    elif missing:
        st.warning(f"Extracting states needs the model extras, which are not installed here ({', '.join(missing)} "
                   f"missing): run `{sup.EXTRAS_COMMAND}` and restart the app. "
                   "The bundled LSTMs on your own text (first tab), an LSTMVis import and adding an annotation "
                   "track work without them.", icon=":material/extension_off:")
    else:
        left, right = st.columns(2, gap="large")
        with left:
            st.subheader("1 · Texts")
            texts = ui.texts_picker()
        with right:
            st.subheader("2 · Model")
            model = ui.model_picker()
        st.subheader("3 · Output")
        ui.build_output(texts, model)

with tab_track:
    ui.add_track_form()

ui.built_result()  # the last build or import of this session, with "Open in Select"
