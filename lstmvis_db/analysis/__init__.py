"""Statistics over a project (analysis.md): selectivity, profiles, co-activation, formulas.

May import numpy, pandas, duckdb and the core (``lstmvis_db.queries``, ``errors``, ``matching``);
never ``views``, ``demos``, ``bench`` or streamlit.
"""
