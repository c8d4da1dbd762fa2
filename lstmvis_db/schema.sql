-- lstmvis-db project file schema.  Public tables (docs/data-model.md §Public tables) first; internal tables live in
-- schema _idx and are rebuilt by the tool.  Statements are separated by lines "-- name: X";
-- per-source statements take identifier placeholders ({sid}, {cell_columns}, {source_literal},
-- {n_cells}) that the store fills from a closed set (integers and generated column names).

-- name: public_tables
CREATE TABLE project (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
CREATE TABLE sources (
    source      VARCHAR PRIMARY KEY,
    model       VARCHAR,
    layer       INTEGER,
    kind        VARCHAR,
    n_cells     INTEGER NOT NULL,
    transform   VARCHAR NOT NULL,
    unsigned    BOOLEAN NOT NULL,
    description VARCHAR
);
CREATE TABLE documents (
    doc       INTEGER PRIMARY KEY,
    name      VARCHAR,
    first_pos INTEGER NOT NULL,
    last_pos  INTEGER NOT NULL
);
CREATE TABLE tracks (
    track       VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,
    description VARCHAR,
    min         DOUBLE,
    max         DOUBLE
);
CREATE SCHEMA _idx;
-- One row per source: its physical tables, how its values are stored ('float32', or 'float16':
-- every value rounded to the nearest float16 at ingest, docs/data-model.md §Storage; or 'sparse':
-- only the non-zero values, as (pos, unit, value) entries in _idx.sp_{sid}, docs/data-model.md
-- §Sparse sources and SAE features) and the 14-bit quantisation of the stored values.
-- Bucket j holds values v with (j - q_zero) * q_step <= v < (j + 1 - q_zero) * q_step.
CREATE TABLE _idx.source_index (
    source      VARCHAR PRIMARY KEY,
    sid         INTEGER NOT NULL,
    n_cells     INTEGER NOT NULL,
    min_value   DOUBLE,
    max_value   DOUBLE,
    q_step      DOUBLE NOT NULL,
    q_zero      BIGINT NOT NULL,
    value_dtype VARCHAR NOT NULL
);
-- Category order of categorical tracks (fixes their colours across views).
CREATE TABLE _idx.track_categories (
    track    VARCHAR NOT NULL,
    ord      INTEGER NOT NULL,
    category VARCHAR NOT NULL
);

-- name: tokens
CREATE TABLE tokens AS
SELECT pos::INTEGER AS pos, doc::INTEGER AS doc, token::VARCHAR AS token, token_id::INTEGER AS token_id
FROM _tokens_in ORDER BY pos;

-- name: annotations
CREATE TABLE annotations AS
SELECT track::VARCHAR AS track, pos::INTEGER AS pos, label::VARCHAR AS label, value::DOUBLE AS value
FROM _annotations_in ORDER BY track, pos;

-- name: predictions
CREATE TABLE predictions AS
SELECT source::VARCHAR AS source, pos::INTEGER AS pos, rank::INTEGER AS rank,
       token::VARCHAR AS token, score::DOUBLE AS score
FROM _predictions_in ORDER BY source, pos, rank;

-- name: source_rows
-- Exact values, one fixed-size array per position (row-major): context windows, selection
-- and match rescoring read ranges or sets of positions from here.
CREATE TABLE _idx.rows_{sid} AS SELECT pos::INTEGER AS pos, v FROM _rows_in;

-- name: source_rows_float16
-- A float16 source: the same rows as float16 bit patterns (half the bytes); the tool decodes
-- them in numpy, SQL through the view _idx.rows_{sid} below.
CREATE TABLE _idx.f16_{sid} AS SELECT pos::INTEGER AS pos, v FROM _rows_in;

-- name: source_rows_float16_view
-- _idx.rows_{sid} of a float16 source: its values decoded exactly (sign * mantissa * 2^exponent
-- in DOUBLE, then FLOAT: both exact), so every SQL reader sees one layout for both dtypes.
CREATE VIEW _idx.rows_{sid} AS
SELECT pos, list_transform(v, lambda x: (CASE WHEN x >= 32768 THEN -1.0 ELSE 1.0 END) * (CASE
    WHEN (x & 31744) = 0 THEN (x & 1023)::DOUBLE / 16777216.0
    ELSE ((x & 1023) + 1024)::DOUBLE * (1::BIGINT << ((x >> 10) & 31))::DOUBLE / 33554432.0 END))::FLOAT[{n_cells}] AS v
FROM _idx.f16_{sid};

-- name: source_quantized
-- The same values as 14-bit bucket numbers, one column per cell (cell-major in storage):
-- match phase 1 reads only the selected cells' columns.  Rows are not in position order (the
-- insert does not keep it, which halves its time); readers place each row by its pos.
CREATE TABLE _idx.q_{sid} AS SELECT * FROM _q_in;

-- name: source_sparse
-- A sparse source: one row per non-zero value, in (pos, unit) order (readers of a window skip
-- the other row groups by pos); an absent (pos, unit) has value 0.  No rows or quantised index.
CREATE TABLE _idx.sp_{sid} AS
SELECT pos::INTEGER AS pos, unit::INTEGER AS unit, value::FLOAT AS value FROM _sp_in;

-- name: cell_stats
-- What ranking cells for a label needs that depends neither on the label nor on the threshold
-- (docs/performance.md §Kept at ingest), per source and categorical track, for control seed 0:
-- part 'sums' (code = the track's label), 'ctrl_sums' and 'ctrl_auroc' (code = the control's
-- label), v = one DOUBLE per cell.  Written with the project and by write_track; absent in files
-- written before it existed (then computed on demand).
CREATE TABLE IF NOT EXISTS _idx.cell_stats (
    source VARCHAR NOT NULL,
    track  VARCHAR NOT NULL,
    seed   INTEGER NOT NULL,
    part   VARCHAR NOT NULL,
    code   INTEGER NOT NULL,
    v      DOUBLE[] NOT NULL
);

-- name: cell_offsets
-- For a categorical track of at most 64 labels (analysis/kept_offsets.py): per source, track and cell,
-- the buckets that ranking the cell for any of the track's labels re-ranks by exact values, and
-- per (label, bucket) what that re-ranking adds to the label's rank sum (dev: label-major, one
-- DOUBLE per label and bucket).  Absent in older files (then computed on demand).
CREATE TABLE IF NOT EXISTS _idx.cell_offsets (
    source  VARCHAR NOT NULL,
    track   VARCHAR NOT NULL,
    cell    INTEGER NOT NULL,
    buckets INTEGER[] NOT NULL,
    dev     DOUBLE[] NOT NULL
);

-- name: cell_counts
-- For a categorical track of at most 4 labels (analysis/kept_counts.py): per source, track and cell,
-- the cell's non-empty buckets and per bucket the positions of each of the track's labels, then
-- of each label of its control (seed 0): counts bucket-major, 2 x labels INTEGERs per bucket.
-- Absent in older files (then a first ranking reads the codes).
CREATE TABLE IF NOT EXISTS _idx.cell_counts (
    source  VARCHAR NOT NULL,
    track   VARCHAR NOT NULL,
    cell    INTEGER NOT NULL,
    buckets INTEGER[] NOT NULL,
    counts  INTEGER[] NOT NULL
);

-- name: states_view
-- docs/data-model.md §Public tables: the long form keyed by (source, pos, cell), over the compact physical layout.
CREATE OR REPLACE VIEW states AS {union_of_sources};

-- name: states_view_part
SELECT {source_literal} AS source, pos, unnest(range({n_cells}))::SMALLINT AS cell, unnest(v)::FLOAT AS value
FROM _idx.rows_{sid}

-- name: states_view_sparse_part
-- a sparse source in ``states``: only its stored (non-zero) entries; an absent (pos, cell) is 0
SELECT {source_literal} AS source, pos, unit AS cell, value FROM _idx.sp_{sid}

-- name: states_view_empty
SELECT NULL::VARCHAR AS source, NULL::INTEGER AS pos, NULL::SMALLINT AS cell, NULL::FLOAT AS value WHERE false

-- name: workspace_tables
-- The per-user workspace file of saved hypotheses (docs/analysis.md §Saved hypotheses), never a project file.
CREATE TABLE IF NOT EXISTS hypotheses (
    name            VARCHAR PRIMARY KEY,
    project_path    VARCHAR NOT NULL,
    project_hash    VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    cells           INTEGER[] NOT NULL,
    threshold       DOUBLE,
    quantile        DOUBLE,
    pad_left        INTEGER,
    pad_right       INTEGER,
    constrain_left  BOOLEAN NOT NULL,
    constrain_right BOOLEAN NOT NULL,
    length          INTEGER NOT NULL,
    pool            INTEGER,
    "limit"         INTEGER NOT NULL,
    brush_start     INTEGER,
    brush_end       INTEGER,
    tool_version    VARCHAR NOT NULL,
    created         TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS hypothesis_matches (
    hypothesis   VARCHAR NOT NULL,
    rank         INTEGER NOT NULL,
    start        INTEGER NOT NULL,
    length       INTEGER NOT NULL,
    intersection INTEGER NOT NULL,
    "union"      INTEGER NOT NULL,
    jaccard      DOUBLE NOT NULL,
    missing      INTEGER NOT NULL
);
