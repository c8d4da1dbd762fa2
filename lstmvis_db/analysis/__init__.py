"""Statistics over a project: what a match set has in common with the annotations (analysis.md).

Holds the align statistics (match sets and user spans, the span null, Poisson-binomial tail
probabilities, Benjamini-Hochberg q-values, token shares, the cell-set null, the ``align``
entry), the shared typed loaders of documents and tracks (``corpus``), and the per-cell
statistics of docs/analysis.md (their own modules).

May import numpy, pandas, pyarrow, duckdb and the core (``store``, ``queries``, ``matching``,
``errors``); never ``views``, ``demos``, ``bench``, ``extract`` or Streamlit.  scipy is not
a dependency: what is needed is written here in numpy.
"""
