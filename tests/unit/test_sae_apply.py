"""Applying an SAE: a tiny random SAE of each architecture (standard, jumprelu, topk), read from
a SAELens-layout directory or taken as a sae_lens-like object, gives a sparse source equal to a
numpy reference of the encoder; bad SAE directories are one line (CLI: exit 2) and leave the
project as it was."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.cli import main
from lstmvis_db.errors import LstmvisError
from lstmvis_db.sae import from_object, load, safetensors
from lstmvis_db.store import write_project
from lstmvis_db.types import ProjectData, Source

N, D_IN, D_SAE = 300, 6, 40


def save_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """The safetensors layout, written independently of the reader under test."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def tiny_sae(folder: Path, arch: str, seed: int = 0, k: int = 4, apply_b_dec: bool = True, d_in: int = D_IN,
             **changes) -> dict:
    rng = np.random.default_rng(seed)
    t = {"W_enc": rng.normal(size=(d_in, D_SAE)).astype(np.float32),
         "b_enc": (rng.normal(size=D_SAE) - 0.5).astype(np.float32),
         "W_dec": rng.normal(size=(D_SAE, d_in)).astype(np.float32),
         "b_dec": rng.normal(size=d_in).astype(np.float32)}
    if arch == "jumprelu":
        t["threshold"] = np.abs(rng.normal(size=D_SAE)).astype(np.float32)
    cfg = {"architecture": arch, "d_in": d_in, "d_sae": D_SAE, "apply_b_dec_to_input": apply_b_dec,
           "hook_name": "blocks.0.hook_resid_post", "model_name": "tiny"}
    if arch == "topk":
        cfg["k"] = k
    cfg.update(changes.pop("cfg", {}))
    t.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    save_safetensors(folder / "sae_weights.safetensors", {n: a for n, a in t.items() if a is not None})
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return {**t, "cfg": cfg}


def reference(x: np.ndarray, t: dict) -> np.ndarray:
    """The encoder written out plainly, one position at a time."""
    cfg = t["cfg"]
    out = np.zeros((len(x), D_SAE), dtype=np.float32)
    for i, row in enumerate(x):
        inp = row - t["b_dec"] if cfg["apply_b_dec_to_input"] else row
        pre = inp @ t["W_enc"] + t["b_enc"]
        if cfg["architecture"] == "standard":
            out[i] = np.maximum(pre, 0)
        elif cfg["architecture"] == "jumprelu":
            out[i] = np.where(pre > t["threshold"], np.maximum(pre, 0), 0)
        else:
            top = np.argsort(-pre)[:cfg["k"]]
            out[i, top] = np.maximum(pre[top], 0)
    return out


@pytest.fixture()
def project(tmp_path) -> tuple[Path, np.ndarray]:
    x = np.random.default_rng(9).normal(size=(N, D_IN)).astype(np.float32)
    path = tmp_path / "p.duckdb"
    write_project(path, ProjectData("p", [f"w{i % 5}" for i in range(N)],
                                    [Source("h", x), Source("squashed", x, transform="tanh")]))
    return path, x


@pytest.mark.parametrize("arch", ["standard", "jumprelu", "topk"])
@pytest.mark.parametrize("apply_b_dec", [True, False])
def test_sae_directory_gives_the_reference_latents(project, tmp_path, arch, apply_b_dec):
    path, x = project
    t = tiny_sae(tmp_path / arch, arch, apply_b_dec=apply_b_dec)
    assert main(["sae", str(path), "--source", "h", "--sae", str(tmp_path / arch), "--name", "f", "--json"]) == 0
    want = reference(x, t)
    with lstmvis_db.open(path) as p:
        got = p.window("f", 0, N - 1)
        assert p.info()["sources"][2]["value_dtype"] == "sparse"
        stored = int(p.sql("SELECT count(*) AS n FROM states WHERE source = 'f'")["n"][0])
        cells = [int(c) for c in np.argsort(-(want > 0.5).sum(axis=0))[:2]]
        res = p.match("f", cells, 0.5)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert stored == int((got != 0).sum())
    if arch == "topk":
        assert ((got > 0).sum(axis=1) <= 4).all()
    assert res["candidates"] >= 1


def test_topk_override_and_a_sae_lens_like_object(project, tmp_path):
    path, x = project
    t = tiny_sae(tmp_path / "s", "standard", seed=2)

    class Cfg:
        architecture = "standard"
        apply_b_dec_to_input = True

    class FakeSae:  # duck-typed like sae_lens.SAE: tensors as attributes, a cfg object
        W_enc, b_enc, b_dec, W_dec = t["W_enc"], t["b_enc"], t["b_dec"], t["W_dec"]
        cfg = Cfg()

    with lstmvis_db.open(path, read_only=False) as p:
        out = p.apply_sae("h", FakeSae(), name="obj", topk=3)
        assert out["source"] == "obj" and out["n_cells"] == D_SAE
        got = p.window("obj", 0, N - 1)
    full = reference(x, t)
    assert ((got > 0).sum(axis=1) <= 3).all()
    for i in range(N):  # the kept latents are the 3 largest of the full activations
        keep = np.flatnonzero(got[i])
        np.testing.assert_allclose(got[i, keep], full[i, keep], rtol=1e-5, atol=1e-6)
        if len(keep):
            assert full[i, keep].min() >= np.sort(full[i])[-3] - 1e-6
    sae = from_object(FakeSae())
    assert sae.architecture == "standard" and sae.d_sae == D_SAE


def test_the_reader_agrees_with_safetensors_numpy(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(4, dtype=np.float16)}
    st.save_file(arrays, str(tmp_path / "w.safetensors"))
    got = safetensors.read(tmp_path / "w.safetensors")
    assert set(got) == {"a", "b"} and np.array_equal(got["a"], arrays["a"]) and np.array_equal(got["b"], arrays["b"])


def test_the_reader_widens_bf16_exactly(tmp_path):
    want = np.array([1.5, -2.25, 0.0, 2.0**100], dtype=np.float32)  # values a bfloat16 holds exactly
    raw = (want.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, len(raw)]},
                         "__metadata__": {"format": "pt"}}).encode()
    (tmp_path / "b.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + raw)
    got = safetensors.read(tmp_path / "b.safetensors")["w"]
    assert got.dtype == np.float32 and np.array_equal(got.reshape(-1), want)


BAD = [
    ({"W_enc": np.zeros((D_IN + 1, D_SAE), np.float32)}, "d_in is"),
    ({"b_enc": np.zeros(D_SAE + 1, np.float32)}, "b_enc must have shape"),
    ({"b_dec": None}, "no tensor 'b_dec'"),
    ({"W_dec": np.zeros((D_IN, D_SAE), np.float32)}, "W_dec must have shape"),
    ({"cfg": {"architecture": "gated"}}, "architecture must be one of"),
    ({"cfg": {"d_sae": "many"}}, "d_sae must be a positive integer"),
    ({"cfg": {"k": 0}}, "needs k"),
]


@pytest.mark.parametrize(("changes", "message"), BAD)
def test_bad_sae_is_one_line_and_exit_2(project, tmp_path, capsys, changes, message):
    path, _ = project
    before = path.read_bytes()
    arch = "topk" if "k" in changes.get("cfg", {}) else "standard"
    tiny_sae(tmp_path / "bad", arch, **changes)
    assert main(["sae", str(path), "--source", "h", "--sae", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert path.read_bytes() == before


def test_bad_files_and_mismatches_are_one_line(project, tmp_path, capsys):
    path, _ = project
    tiny_sae(tmp_path / "ok", "standard")
    cases = []
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "cfg.json").write_text("{not json")
    cases.append((["--sae", str(tmp_path / "json")], "not valid JSON"))
    tiny_sae(tmp_path / "cut", "standard")
    raw = (tmp_path / "cut" / "sae_weights.safetensors").read_bytes()
    (tmp_path / "cut" / "sae_weights.safetensors").write_bytes(raw[:-16])
    cases.append((["--sae", str(tmp_path / "cut")], "cut short"))
    tiny_sae(tmp_path / "hdr", "standard")
    (tmp_path / "hdr" / "sae_weights.safetensors").write_bytes(struct.pack("<Q", 5) + b"{oops")
    cases.append((["--sae", str(tmp_path / "hdr")], "not JSON"))
    cases.append((["--sae", str(tmp_path / "missing")], "does not exist"))
    cases.append((["--sae", str(tmp_path / "ok"), "--source", "squashed"], "not the activations"))
    cases.append((["--sae", str(tmp_path / "ok"), "--source", "nope"], "unknown source"))
    cases.append((["--sae", str(tmp_path / "ok"), "--topk", str(D_SAE + 1)], "topk must be"))
    for extra, message in cases:
        args = ["sae", str(path), "--source", "h", *extra] if "--source" not in extra else ["sae", str(path), *extra]
        assert main(args) == 2, extra
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, (extra, err)
    assert main(["sae", str(path), "--source", "h", "--sae", str(tmp_path / "ok"), "--name", "f"]) == 0
    assert main(["sae", str(path), "--source", "h", "--sae", str(tmp_path / "ok"), "--name", "f"]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(LstmvisError, match="read_only=False"), lstmvis_db.open(path) as p:
        p.apply_sae("h", tmp_path / "ok")


def test_the_width_must_match_the_source(project, tmp_path):
    path, _ = project
    t = tiny_sae(tmp_path / "w", "standard")
    sae = load(tmp_path / "w")
    assert sae.hook_name == "blocks.0.hook_resid_post" and sae.d_in == D_IN
    with lstmvis_db.open(path, read_only=False) as p, pytest.raises(LstmvisError, match="d_in"):
        p.apply_sae("h", type("S", (), {"W_enc": t["W_enc"][:3], "b_enc": t["b_enc"], "b_dec": t["b_dec"][:3],
                                        "cfg": {"architecture": "standard"}})())
