"""The New project page's "Import an activation cache" tab: an uploaded Parquet cache (SAELens'
layout) becomes a project; a misaligned cache is one message and no file; the public rules hold."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

import lstmvis_db
from tests.support import ROOT

PAGE = str(ROOT / "pages" / "4_New_project.py")
HOOK = "blocks.2.hook_resid_pre"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(data))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)
    return data


def _parquet(ids: list[list[int]], acts: list) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table({"token_ids": ids, HOOK: acts}), buf)
    return buf.getvalue()


def _cache() -> tuple[bytes, np.ndarray]:
    acts = np.random.default_rng(0).normal(size=(3, 4, 2)).astype(np.float32)
    return _parquet([[1, 2, 3, 4], [5, 6, 7, 8], [9, 1, 2, 3]], acts.tolist()), acts.reshape(12, 2)


def _upload(at: AppTest, name: str, data: bytes) -> None:
    at.file_uploader(key="ci_file").set_value((name, data, "application/octet-stream")).run()
    at.button(key="ci_import").click().run()


def test_an_uploaded_parquet_cache_becomes_a_project(_env) -> None:
    data, acts = _cache()
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    _upload(at, "acts.parquet", data)
    assert not at.exception and not at.error, [e.value for e in at.error]
    with lstmvis_db.open(_env / "acts.duckdb") as p:
        assert p.sources == [HOOK] and p.n_positions == 12
        np.testing.assert_array_equal(p.window(HOOK, 0, 11), acts)
        assert p.tokens(0, 3)["token"].tolist() == ["<1>", "<2>", "<3>", "<4>"]
    assert at.session_state["np_built"]["documents"] == 3


def test_a_misaligned_or_foreign_upload_is_one_message_and_no_file(_env) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    _upload(at, "short.parquet", _parquet([[1, 2, 3]], [[[0.0, 1.0], [1.0, 2.0]]]))
    assert not at.exception and "2 activation vectors but 3 token ids" in at.error[0].value
    assert not (_env / "short.duckdb").exists()
    _upload(at, "fake.parquet", b"no parquet here")
    assert not at.exception and "not a Parquet file" in at.error[-1].value
    assert not (_env / "fake.duckdb").exists()


def test_public_mode_limits_the_upload_and_keeps_the_project_private(_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_PUBLIC", "1")
    monkeypatch.setenv("LSTMVIS_SESSION_DIR", str(tmp_path / "sessions"))
    data, _ = _cache()
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    _upload(at, "mine.parquet", data)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not (_env / "mine.duckdb").exists()
    copy = Path(at.session_state["lv_session_copies"]["mine"])
    assert copy.is_file() and copy.is_relative_to(tmp_path / "sessions")
    monkeypatch.setenv("LSTMVIS_UPLOAD_MB", "0.001")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    _upload(at, "big.parquet", data)
    assert not at.exception and "this deployment takes at most" in at.error[0].value
