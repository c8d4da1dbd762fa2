"""Importing activation caches (SAELens' layout): Parquet and a datasets save_to_disk folder built
in-process, values and tokens compared exactly; misaligned or malformed caches refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lstmvis_db
from lstmvis_db.caches import files as cache_files
from lstmvis_db.caches import import_cache, read_cache
from lstmvis_db.errors import InputError
from lstmvis_db.store import connect
from tests.support import ROOT

HOOK0, HOOK1 = "blocks.0.hook_resid_pre", "blocks.3.hook_mlp_out"
T, D0, D1 = 6, 5, 3


def _acts(rows: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, T, d)).astype(np.float32)


def _ids(rows: int) -> np.ndarray:
    return (np.arange(rows * T).reshape(rows, T) * 7 % 11).astype(np.int32)


def _list2d(a: np.ndarray, fixed: bool = False) -> pa.Array:
    """(rows, T, d) as list<list<float>> (datasets' Array2D storage) or fixed-size lists."""
    rows, t, d = a.shape
    flat = pa.array(a.reshape(-1))
    if fixed:
        return pa.FixedSizeListArray.from_arrays(pa.FixedSizeListArray.from_arrays(flat, d), t)
    inner = pa.ListArray.from_arrays(pa.array(np.arange(0, rows * t * d + 1, d, dtype=np.int32)), flat)
    return pa.ListArray.from_arrays(pa.array(np.arange(0, rows * t + 1, t, dtype=np.int32)), inner)


def _table(rows: int = 5, fixed: bool = False) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    ids, a0, a1 = _ids(rows), _acts(rows, D0, 1), _acts(rows, D1, 2)
    tok = pa.FixedSizeListArray.from_arrays(pa.array(ids.reshape(-1)), T)
    table = pa.table({HOOK0: _list2d(a0, fixed), "token_ids": tok, HOOK1: _list2d(a1, fixed),
                      "note": pa.array([f"r{i}" for i in range(rows)])})
    return table, ids, a0, a1


def _saved_dataset(folder: Path, table: pa.Table, shards: int = 2) -> Path:
    """What datasets' save_to_disk writes: Arrow IPC stream shards, state.json, dataset_info.json;
    the activation columns carry the (unregistered) Array2D extension name, as datasets writes it."""
    folder.mkdir()
    fields = []
    for f in table.schema:
        if f.name in (HOOK0, HOOK1):
            ext = json.dumps({"shape": [T, D0 if f.name == HOOK0 else D1], "dtype": "float32"}).encode()
            f = f.with_metadata({b"ARROW:extension:name": b"datasets.features.features.Array2DExtensionType",
                                 b"ARROW:extension:metadata": ext})
        fields.append(f)
    schema = pa.schema(fields, metadata={b"huggingface": b"{}"})
    names = []
    step = -(-table.num_rows // shards)
    for i in range(shards):
        name = f"data-{i:05d}-of-{shards:05d}.arrow"
        part = table.slice(i * step, step).cast(schema)
        with pa.ipc.new_stream(str(folder / name), schema) as w:
            for b in part.to_batches(max_chunksize=2):
                w.write_batch(b)
        names.append({"filename": name})
    (folder / "state.json").write_text(json.dumps({"_data_files": names, "_fingerprint": "x", "_split": None}))
    (folder / "dataset_info.json").write_text(json.dumps({"features": {}}))
    return folder


def _check_project(db: Path, ids: np.ndarray, a0: np.ndarray, a1: np.ndarray, tokens: list[str]) -> None:
    rows = ids.shape[0]
    with lstmvis_db.open(db) as p:
        assert sorted(p.sources) == sorted([HOOK0, HOOK1])
        n = rows * T
        assert p.n_positions == n
        np.testing.assert_array_equal(p.window(HOOK0, 0, n - 1), a0.reshape(n, D0))
        np.testing.assert_array_equal(p.window(HOOK1, 0, n - 1), a1.reshape(n, D1))
        tok = p.tokens(0, n - 1)
        assert tok["token"].tolist() == tokens
    con = connect(db)
    try:
        got = [r[0] for r in con.execute("SELECT token_id FROM tokens ORDER BY pos").fetchall()]
    finally:
        con.close()
    assert got == ids.reshape(-1).tolist()
    with lstmvis_db.open(db) as p:
        docs = p.documents
        assert len(docs) == rows and docs["first_pos"].tolist() == list(range(0, n, T))
        info = p.info()
        layers = {s["source"]: (s["layer"], s["kind"]) for s in info["sources"]}
        assert layers == {HOOK0: (0, "resid_pre"), HOOK1: (3, "mlp_out")}
        assert p.meta()["cache.rows"] == str(rows)


@pytest.mark.parametrize("fixed", [False, True])
def test_parquet_cache_imports_values_and_ids_exactly(tmp_path: Path, fixed: bool) -> None:
    table, ids, a0, a1 = _table(5, fixed)
    pq.write_table(table, tmp_path / "cache.parquet", row_group_size=2)
    db = tmp_path / "p.duckdb"
    import_cache(tmp_path / "cache.parquet", db)
    _check_project(db, ids, a0, a1, [f"<{i}>" for i in ids.reshape(-1)])


def test_fixed_shape_tensor_columns_import(tmp_path: Path) -> None:
    _, ids, a0, a1 = _table(4)
    t0, t1 = pa.fixed_shape_tensor(pa.float32(), (T, D0)), pa.fixed_shape_tensor(pa.float32(), (T, D1))
    table = pa.table({"token_ids": pa.FixedSizeListArray.from_arrays(pa.array(ids.reshape(-1)), T),
                      HOOK0: pa.ExtensionArray.from_storage(t0, pa.FixedSizeListArray.from_arrays(
                          pa.array(a0.reshape(-1)), T * D0)),
                      HOOK1: pa.ExtensionArray.from_storage(t1, pa.FixedSizeListArray.from_arrays(
                          pa.array(a1.reshape(-1)), T * D1))})
    with pa.ipc.new_file(str(tmp_path / "c.arrow"), table.schema) as w:  # an Arrow IPC file, not a stream
        w.write_table(table, max_chunksize=3)
    db = tmp_path / "p.duckdb"
    import_cache(tmp_path / "c.arrow", db)
    _check_project(db, ids, a0, a1, [f"<{i}>" for i in ids.reshape(-1)])


def test_saved_dataset_folder_imports_in_state_json_order(tmp_path: Path) -> None:
    table, ids, a0, a1 = _table(5)
    folder = _saved_dataset(tmp_path / "cache", table, shards=3)
    db = tmp_path / "p.duckdb"
    lstmvis_db.import_cache(folder, db)
    _check_project(db, ids, a0, a1, [f"<{i}>" for i in ids.reshape(-1)])


def test_a_folder_of_saved_shards_imports_in_numeric_order(tmp_path: Path) -> None:
    """SAELens' runner saves shard_0, shard_1, ... before concatenating them; shard_10 comes after shard_2."""
    table, ids, a0, a1 = _table(12)
    (tmp_path / "cache").mkdir()
    for i in range(12):
        _saved_dataset(tmp_path / "cache" / f"shard_{i}", table.slice(i, 1), shards=1)
    db = tmp_path / "p.duckdb"
    import_cache(tmp_path / "cache", db)
    _check_project(db, ids, a0, a1, [f"<{i}>" for i in ids.reshape(-1)])


def test_streaming_in_small_batches_gives_the_same_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One row per batch (a tiny batch budget): the sources are read in pieces, front to back."""
    table, ids, a0, a1 = _table(7)
    folder = _saved_dataset(tmp_path / "cache", table, shards=2)
    monkeypatch.setattr(cache_files, "BATCH_BYTES", 1)
    monkeypatch.setattr("lstmvis_db.caches.reader.BATCH_BYTES", 1)
    data = read_cache(folder)
    col = data.sources[0].values
    assert col.info.batch_rows == 1
    n = 7 * T
    np.testing.assert_array_equal(col[0:n], a0.reshape(n, D0))
    np.testing.assert_array_equal(col[T + 2:3 * T + 1], a0.reshape(n, D0)[T + 2:3 * T + 1])
    np.testing.assert_array_equal(col[1:4], a0.reshape(n, D0)[1:4])  # backwards: a new pass


def test_vocab_file_gives_token_strings(tmp_path: Path) -> None:
    table, ids, a0, a1 = _table(3)
    pq.write_table(table, tmp_path / "c.parquet")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(f"w{i}" for i in range(11)) + "\n")
    db = tmp_path / "p.duckdb"
    import_cache(tmp_path / "c.parquet", db, vocab=vocab)
    _check_project(db, ids, a0, a1, [f"w{i}" for i in ids.reshape(-1)])


def _tokenizer(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers

    vocab = {"<unk>": 0, "<bos>": 1, **{w: i + 2 for i, w in enumerate("the cat sat on a mat and dog ran".split())}}
    tok = tokenizers.Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(["<bos>"])
    folder = tmp_path / "tok"
    folder.mkdir()
    tok.save(str(folder / "tokenizer.json"))
    return folder, vocab


def _word_cache(path: Path, rows: list[list[int]], d: int = 4) -> np.ndarray:
    acts = np.random.default_rng(3).normal(size=(sum(map(len, rows)), d)).astype(np.float32)
    ends = np.cumsum([len(r) for r in rows])
    act_rows = [acts[e - len(r):e].tolist() for r, e in zip(rows, ends, strict=True)]
    pq.write_table(pa.table({"token_ids": rows, HOOK0: act_rows}), path)
    return acts


def test_tokenizer_decodes_and_text_reproduces_the_ids(tmp_path: Path) -> None:
    folder, v = _tokenizer(tmp_path)
    text = "the cat sat on a mat and the dog ran"
    words = text.split()
    # two contexts of variable length, each starting with <bos> (as SAELens prepends it)
    rows = [[1] + [v[w] for w in words[:5]], [1] + [v[w] for w in words[5:]]]
    acts = _word_cache(tmp_path / "c.parquet", rows)
    (tmp_path / "t.txt").write_text(text)
    db = tmp_path / "p.duckdb"
    import_cache(tmp_path / "c.parquet", db, tokenizer=folder)
    with lstmvis_db.open(db) as p:
        assert p.tokens(0, 99)["token"].tolist() == ["<bos>", *words[:5], "<bos>", *words[5:]]
        np.testing.assert_array_equal(p.window(HOOK0, 0, 99), acts)
        assert len(p.meta()["cache.tokenizer_sha256"]) == 64
    db2 = tmp_path / "p2.duckdb"
    import_cache(tmp_path / "c.parquet", db2, tokenizer=folder / "tokenizer.json", text=tmp_path / "t.txt")
    with lstmvis_db.open(db2) as p:
        got = p.tokens(0, 99)["token"].tolist()
        assert got[0] == "<bos>" and got[6] == "<bos>"
        assert "".join(t for i, t in enumerate(got) if i not in (0, 6)) == text  # the text kept whole
        assert p.meta()["cache.tokens_from"] == "text"


def test_text_that_does_not_encode_to_the_ids_is_refused_at_the_first_mismatch(tmp_path: Path) -> None:
    folder, v = _tokenizer(tmp_path)
    rows = [[v["the"], v["cat"], v["sat"]], [v["on"], v["a"], v["mat"]]]
    _word_cache(tmp_path / "c.parquet", rows)
    (tmp_path / "t.txt").write_text("the cat sat on the mat")
    db = tmp_path / "p.duckdb"
    with pytest.raises(InputError, match=r"position 4 \(row 1, token 1\).*id 6 \('a'\).*id 2 \('the'\) at "
                                         r"character 15"):
        import_cache(tmp_path / "c.parquet", db, tokenizer=folder, text=tmp_path / "t.txt")
    assert not db.exists()
    (tmp_path / "t2.txt").write_text("the cat sat on a")
    with pytest.raises(InputError, match="encodes to 5 tokens but the cache has 6"):
        import_cache(tmp_path / "c.parquet", db, tokenizer=folder, text=tmp_path / "t2.txt")
    with pytest.raises(InputError, match="--text needs --tokenizer"):
        import_cache(tmp_path / "c.parquet", db, text=tmp_path / "t.txt")
    bad = [[v["the"], 99]]
    _word_cache(tmp_path / "b.parquet", bad)
    with pytest.raises(InputError, match=r"token id 99 at position 1 \(row 0, token 1\) is not in the tokenizer"):
        import_cache(tmp_path / "b.parquet", db, tokenizer=folder)


def _bad_parquet(path: Path, tokens: list, acts: list) -> Path:
    pq.write_table(pa.table({"token_ids": tokens, HOOK0: acts}), path)
    return path


@pytest.mark.parametrize(("tokens", "acts", "message"), [
    ([[1, 2], [3, 4, 5]], [[[0.0, 1.0], [2.0, 3.0]], [[0.0, 1.0], [2.0, 3.0]]],
     r"row 1, column 'blocks.0.hook_resid_pre': 2 activation vectors but 3 token ids"),
    ([[1, 2], [3]], [[[0.0, 1.0], [2.0, 3.0]], [[0.0, 1.0, 2.0]]],
     r"row 1, column 'blocks.0.hook_resid_pre': token 0 has 3 values, expected d_in = 2"),
    ([[1, 2], [3]], [[[0.0, 1.0], [2.0, 3.0]], [[0.0, float("nan")]]],
     r"row 1, column 'blocks.0.hook_resid_pre': non-finite value nan at token 0, unit 1"),
    ([[1], [3]], [[[0.0, float("inf")]], [[0.0, 1.0]]], r"row 0, .*non-finite value inf at token 0, unit 1"),
    ([[1], []], [[[0.0, 1.0]], []], r"row 1, column 'token_ids': no tokens"),
    ([[1], None], [[[0.0, 1.0]], [[1.0, 2.0]]], r"row 1, column 'token_ids': no token ids \(null\)"),
    ([[1], [-4]], [[[0.0, 1.0]], [[1.0, 2.0]]], r"row 1, column 'token_ids': negative token id -4"),
    ([[1], [2]], [[[0.0, 1.0]], [[1.0, None]]], r"row 1, .*a null activation value"),
])
def test_misaligned_or_malformed_rows_are_named(tmp_path: Path, tokens: list, acts: list, message: str) -> None:
    path = _bad_parquet(tmp_path / "bad.parquet", tokens, acts)
    db = tmp_path / "p.duckdb"
    with pytest.raises(InputError, match=message):
        import_cache(path, db)
    assert not db.exists() and not list(tmp_path.glob("*.tmp*"))


def test_malformed_caches_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    with pytest.raises(InputError, match="cache not found"):
        import_cache(tmp_path / "none.parquet", db)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="cannot read it as parquet"):
        import_cache(tmp_path / "junk.parquet", db)
    pq.write_table(pa.table({"ids": [[1, 2]], HOOK0: [[[0.0], [1.0]]]}), tmp_path / "noids.parquet")
    with pytest.raises(InputError, match="no 'token_ids' column .*--tokens-column"):
        import_cache(tmp_path / "noids.parquet", db)
    import_cache(tmp_path / "noids.parquet", db, tokens_column="ids")  # named: fine
    db.unlink()
    pq.write_table(pa.table({"token_ids": [[1, 2]], "x": [1.5]}), tmp_path / "noacts.parquet")
    with pytest.raises(InputError, match="no activation column"):
        import_cache(tmp_path / "noacts.parquet", db)
    with pytest.raises(InputError, match="column 'x' is double, not a"):
        import_cache(tmp_path / "noacts.parquet", db, columns=["x"])
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "../escape.arrow"}]}))
    with pytest.raises(InputError, match="no plain file name"):
        import_cache(folder, db)
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}))
    with pytest.raises(InputError, match="data-00000-of-00001.arrow .* is missing"):
        import_cache(folder, db)
    (folder / "data-00000-of-00001.arrow").write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="not an Arrow IPC stream or file"):
        import_cache(folder, db)
    (tmp_path / "dd").mkdir()
    (tmp_path / "dd" / "dataset_dict.json").write_text('{"splits": ["train"]}')
    with pytest.raises(InputError, match="DatasetDict"):
        import_cache(tmp_path / "dd", db)
    assert not db.exists()


def test_an_existing_project_survives_a_failed_import(tmp_path: Path) -> None:
    table, ids, a0, a1 = _table(2)
    pq.write_table(table, tmp_path / "good.parquet")
    db = tmp_path / "p.duckdb"
    import_cache(tmp_path / "good.parquet", db)
    before = db.read_bytes()
    path = _bad_parquet(tmp_path / "bad.parquet", [[1, 2]], [[[0.0, 1.0]]])
    with pytest.raises(InputError):
        import_cache(path, db)
    assert db.read_bytes() == before


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lstmvis_db", *args], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})


def test_cli_imports_and_refuses_in_one_line(tmp_path: Path) -> None:
    table, ids, a0, a1 = _table(3)
    folder = _saved_dataset(tmp_path / "cache", table)
    db = tmp_path / "p.duckdb"
    done = _cli("import-cache", str(folder), "--out", str(db), "--json", "--quiet", "--columns", HOOK1)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"db": str(db), "tokens": 3 * T, "documents": 3, "sources": [HOOK1]}
    with lstmvis_db.open(db) as p:
        np.testing.assert_array_equal(p.window(HOOK1, 0, 3 * T - 1), a1.reshape(-1, D1))
    path = _bad_parquet(tmp_path / "bad.parquet", [[1, 2]], [[[0.0, 1.0]]])
    bad = _cli("import-cache", str(path), "--out", str(tmp_path / "q.duckdb"))
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "1 activation vectors but 2 token ids" in bad.stderr
    assert not (tmp_path / "q.duckdb").exists()
