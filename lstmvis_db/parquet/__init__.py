"""A project as a partitioned Parquet dataset (docs/scale.md): the export (``export``), the
dataset's manifest and its checks (``dataset``), and select/match over it in DuckDB
(``duckdb_engine``), the reference the Spark engine (``lstmvis_db.spark``) is held to; align
over a dataset with either engine (``align``) and its CLI arguments (``align_cli``).

May import the core (``store``, ``queries``, ``errors``), ``matching``, ``sqlmatch``, ``analysis``
and ``spark.partition`` (numpy only); never pyspark (that is ``lstmvis_db.spark``), the app or
the benchmark.
"""
