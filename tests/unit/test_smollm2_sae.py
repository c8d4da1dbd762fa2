"""The committed SAE for SmolLM2-135M (``data/smollm2_sae/``, made by ``scripts/train_sae.py``): it
loads, has the shapes and keys its cfg.json declares in SAELens' layout, matches its recorded
checksums, and is a trained top-k SAE (unit-norm decoder rows, finite float16 weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstmvis_db.demos.common import DATA_DIR, DATA_FILES, verify_data_file

CFG, WEIGHTS = "smollm2_sae/cfg.json", "smollm2_sae/sae_weights.safetensors"


def test_files_are_recorded_and_match_their_checksums() -> None:
    for rel in (CFG, WEIGHTS):
        assert rel in DATA_FILES
        verify_data_file(rel)
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert "scripts/train_sae.py" in readme and DATA_FILES[WEIGHTS].sha256 in readme


def test_cfg_declares_saelens_layout() -> None:
    cfg = json.loads((DATA_DIR / CFG).read_text(encoding="utf-8"))
    for key in ("architecture", "d_in", "d_sae", "k", "apply_b_dec_to_input", "hook_name", "model_name", "layer",
                "kind", "tokens_trained", "seed", "train_seconds", "fvu_heldout", "l0_heldout"):
        assert key in cfg, key
    assert cfg["architecture"] == "topk" and isinstance(cfg["k"], int) and 0 < cfg["k"] < cfg["d_sae"]
    assert cfg["d_in"] == 576 and 2048 <= cfg["d_sae"] <= 4096
    assert cfg["kind"] == "hidden" and cfg["hook_name"] == f"blocks.{cfg['layer']}.hook_resid_pre"
    assert cfg["apply_b_dec_to_input"] is True
    assert 0 < cfg["fvu_heldout"] < 1 and 0 < cfg["l0_heldout"] <= cfg["k"]


def test_weights_have_the_declared_shapes_and_are_trained() -> None:
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    cfg = json.loads((DATA_DIR / CFG).read_text(encoding="utf-8"))
    w = safetensors_numpy.load_file(str(DATA_DIR / WEIGHTS))
    d_in, d_sae = cfg["d_in"], cfg["d_sae"]
    assert {k: v.shape for k, v in w.items()} == {"W_enc": (d_in, d_sae), "b_enc": (d_sae,),
                                                  "W_dec": (d_sae, d_in), "b_dec": (d_in,)}
    assert all(v.dtype == np.float16 and np.isfinite(v).all() for v in w.values())
    norms = np.linalg.norm(w["W_dec"].astype(np.float32), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=2e-3)  # decoder rows kept at unit norm in training
    # trained, not the initialisation (W_enc started as W_dec's transpose)
    assert np.abs(w["W_enc"].astype(np.float32) - w["W_dec"].astype(np.float32).T).max() > 0.05
    assert (DATA_DIR / WEIGHTS).stat().st_size < 8 * 2**20
