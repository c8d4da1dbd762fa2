"""The Spark engine (docs/scale.md): select and match over an exported Parquet dataset
(``lstmvis_db.parquet``) with Spark SQL and DataFrames, one task per chunk of whole documents,
giving exactly the answers of the project file and of the DuckDB engine.

``partition`` is the per-chunk work (numpy and ``lstmvis_db.matching`` only: it runs inside
Spark's Python workers); ``engine`` holds the Spark session and the queries and is the only
module that imports pyspark (an optional extra: ``pip install -r requirements-spark.txt``, and
Java 17).
"""
