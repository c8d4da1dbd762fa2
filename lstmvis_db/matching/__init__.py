"""Matching of a cell set against the whole corpus (docs/semantics.md): the algorithm on arrays
(``algorithm``), the 14-bit quantised index it reads (``quant``) and the compiled loops
(``kernels``, numba, loaded on the first match only).

Imports numpy and the errors module (and numba inside ``kernels``); never DuckDB, the store or
anything above it.
"""
