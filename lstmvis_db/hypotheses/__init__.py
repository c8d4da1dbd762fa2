"""Saved hypotheses (docs/analysis.md §Saved hypotheses): a per-user workspace DuckDB file beside the projects.

``workspace`` holds the file (tables ``hypotheses`` and ``hypothesis_matches``, DDL in
``schema.sql``) and the project content hash; ``ops`` saves, lists, re-runs, deletes and
exports hypotheses against an open project; ``cli`` registers ``lstmvis-db hypothesis``.
The project file is never written.  On a public deployment (``LSTMVIS_PUBLIC=1``) the app keeps
a visitor's hypotheses in an in-memory workspace of that visitor's session instead.

May import the core (``store``, ``queries``, ``errors``) and duckdb/pandas; never ``views``,
``demos``, ``bench`` or Streamlit.
"""
