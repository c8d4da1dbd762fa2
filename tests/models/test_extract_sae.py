"""``extract --sae``: an SAE's latents over an extracted source become a sparse source of the
new project, equal to applying the SAE afterwards; bad requests are refused before the model
runs and leave nothing behind.  Numpy-only adapter: runs in the core suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.errors import InputError
from lstmvis_db.extract import extract_project
from lstmvis_db.sae.apply import SaeRequest
from lstmvis_db.sae.model import Sae
from tests.models.test_extract_driver import FakeAdapter

TEXT = {"d1": "abc def ghi jkl", "d2": "mno (pqr) stu, vwx"}


def tiny(d_in: int, d_sae: int = 16, seed: int = 0) -> Sae:
    rng = np.random.default_rng(seed)
    return Sae("topk", rng.normal(size=(d_in, d_sae)).astype(np.float32) / 10,
               rng.normal(size=d_sae).astype(np.float32), np.full(d_in, 3.0, np.float32), k=3)


def test_extract_with_an_sae_adds_its_latents_as_a_sparse_source(tmp_path: Path) -> None:
    sae = tiny(3)
    db = tmp_path / "x.duckdb"
    summary = extract_project(FakeAdapter(width=3, layers=1), TEXT, db, sae=SaeRequest(sae, name="feat"))
    assert "feat" in [s["source"] for s in summary.as_dict()["sources"]]
    with lstmvis_db.open(db) as p:
        x = p.window("sum1", 0, p.n_positions - 1)
        got = p.window("feat", 0, p.n_positions - 1)
        assert {s["source"]: s["value_dtype"] for s in p.info()["sources"]}["feat"] == "sparse"
    np.testing.assert_allclose(got, sae.encode(x), rtol=1e-5, atol=1e-6)
    assert ((got > 0).sum(axis=1) <= 3).all() and (got > 0).any()


def test_a_request_that_does_not_fit_is_refused_before_the_model_runs(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    for request, message in [
        (SaeRequest(tiny(5)), "no extracted source has that width"),
        (SaeRequest(tiny(3), source="nope"), "is not extracted"),
        (SaeRequest(tiny(3), source="id1"), "has 1 cells"),
        (SaeRequest(tiny(3), name="sum1"), "is taken"),
        (SaeRequest(tiny(3), topk=0), "topk must be"),
    ]:
        fake = FakeAdapter(width=3, layers=1)
        with pytest.raises(InputError, match=message):
            extract_project(fake, TEXT, db, sae=request)
        assert fake.calls == [] and not db.exists()
    with pytest.raises(InputError, match="several extracted sources"):
        extract_project(FakeAdapter(width=3, layers=2), TEXT, db, sae=tiny(3))


def test_cli_extract_with_sae(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from lstmvis_db.cli import main
    from tests.models.test_extract_driver import FACTORY
    from tests.unit.test_sae_apply import tiny_sae

    factory = tmp_path / "my_model.py"
    factory.write_text(FACTORY.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    (tmp_path / "a.txt").write_text("abc def ghi (jkl)", encoding="utf-8")
    db = tmp_path / "cli.duckdb"
    base = ["extract", "--model", f"{factory}:build", "--text", str(tmp_path / "a.txt"), "--db", str(db),
            "--kinds", "sum", "--quiet"]
    tiny_sae(tmp_path / "sae", "standard", d_in=3)
    assert main([*base, "--sae", str(tmp_path / "sae"), "--sae-source", "sum2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sources"][-1]["source"] == "sum2::sae40"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "cfg.json").write_text("[")
    assert main([*base, "--force", "--sae", str(tmp_path / "bad")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main([*base, "--force", "--sae-topk", "3"]) == 2
    assert "go with --sae" in capsys.readouterr().err
