"""The optional SAE demo (``lstmvis_db.demos.sae_demo``) wired end to end with a tiny numpy
"transformer" and a random top-k SAE in place of SmolLM2 and the committed SAE: the sources, the
word labels on every token, and the description's finding recomputed on the written file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.demos import registry, sae_demo
from lstmvis_db.demos.sizes import committed_scenes
from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import CharTokenizer, ChunkOutput, SourceKey, SourceSpec
from lstmvis_db.sae.model import Sae
from lstmvis_db.store import write_project
from tests.models.test_extract_driver import FakeAdapter

WIDTH = 8


class TinyStream(FakeAdapter):
    """Character tokens; ``hidden15`` is a running mean of fixed random character embeddings
    (carried across chunks), so it depends on the text as a model's state would."""

    family = "tiny"
    can_predict = False

    def __init__(self, text: str) -> None:
        super().__init__(width=WIDTH, layers=1)
        self.model = "tiny-stream"
        self.tok = CharTokenizer.from_text(text)
        self.emb = np.random.default_rng(3).normal(size=(self.tok.vocab_size, WIDTH)).astype(np.float32)

    def sources(self) -> list[SourceSpec]:
        return [SourceSpec("hidden15", 15, "hidden", WIDTH, "a running mean")]

    def run(self, ids: np.ndarray, wanted: Sequence[SourceKey], state: Any = None, *,
            topk: int = 0, keep_from: int = 0) -> tuple[ChunkOutput, Any]:
        total, count = (np.zeros(WIDTH), 0) if state is None else state
        e = self.emb[ids].astype(np.float64)
        sums = total + np.cumsum(e, axis=0)
        counts = count + np.arange(1, len(ids) + 1)
        out = ChunkOutput()
        for key in wanted:
            out.states[key] = (sums / counts[:, None])[keep_from:].astype(np.float32)
        return out, (sums[-1], int(counts[-1]))


def _sae() -> Sae:
    rng = np.random.default_rng(0)
    return Sae("topk", rng.normal(size=(WIDTH, 24)).astype(np.float32), rng.normal(size=24).astype(np.float32) * 0.1,
               np.zeros(WIDTH, np.float32), k=4)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, lstmvis_db.ProjectData]:
    scenes, _ = committed_scenes(None)
    adapter = TinyStream("".join(s.text for s in scenes))
    data = sae_demo.sae_data(limit=3000, adapter=adapter, sae=_sae())
    path = tmp_path_factory.mktemp("sae_demo") / "smollm2_sae.duckdb"
    write_project(path, data)
    return path, data


def test_sources_are_the_stream_and_its_sparse_latents(built) -> None:
    path, data = built
    with lstmvis_db.open(path) as p:
        kinds = {s["source"]: s["value_dtype"] for s in p.info()["sources"]}
        assert kinds == {"hidden15": "float32", "sae": "sparse"}
        x = p.window("hidden15", 0, p.n_positions - 1)
        np.testing.assert_allclose(p.window("sae", 0, p.n_positions - 1), _sae().encode(x), rtol=1e-5, atol=1e-6)
        assert len(p.documents) == 8 and p.meta()["demo"] == "smollm2_sae"


def test_every_token_carries_the_label_of_its_word(built) -> None:
    path, data = built
    scenes, arrays = committed_scenes(None)
    first = [d.first_pos for d in data.documents]
    cut = [t for t in (s.text[:3000 * 4 // len(scenes)] for s in scenes)]
    with lstmvis_db.open(path) as p:
        frame = p.annotations("pos", list(range(p.n_positions)))  # labelled positions only
        labels = dict(zip(frame["pos"].astype(int), frame["label"]))
        tokens = [str(t) for t in p.tokens(0, p.n_positions - 1)["token"]]
    assert "".join(tokens[first[0]:first[1]]) == cut[0]
    # the spaCy word covering each character of the first scene, by the committed arrays
    start, length = arrays["start"].astype(int), arrays["length"].astype(int)
    cats = [str(c) for c in arrays["pos_labels"]]
    checked = 0
    for i in range(first[0], first[1]):
        if tokens[i].isspace():
            continue
        word = np.nonzero((start <= i) & (i < start + length))[0]
        want = cats[int(arrays["pos"][word[0]])] if len(word) else None
        assert labels.get(i) == want, (i, tokens[i])
        checked += 1
    assert checked > 100


def test_the_description_states_the_finding_computed_on_the_file(built) -> None:
    path, data = built
    with lstmvis_db.open(path) as p:
        f = sae_demo.sae_finding(p)
    assert f["labels"] and len(f["sae_best"]) == len(f["labels"]) == len(f["dense_best"])
    assert all(0.5 <= v <= 1.0 for v in [*f["sae_best"], *f["dense_best"]])
    assert sae_demo.finding_text(f) in data.description
    assert f"for {f['sae_wins']} of {len(f['labels'])} parts of speech" in data.description


def test_tokens_that_do_not_spell_the_text_are_refused() -> None:
    assert sae_demo.token_offsets(["a", " b", "\n"], [0], ["a b\n"]).tolist() == [0, 2, 3]
    with pytest.raises(InputError, match="do not spell its text"):
        sae_demo.token_offsets(["a", "c"], [0], ["ab"])


def test_it_is_built_only_when_named() -> None:
    assert "smollm2_sae" in registry.OPTIONAL and "smollm2_sae" not in registry.DEMOS
    with pytest.raises(InputError, match="has only the default size"):
        registry.demo_data("smollm2_sae", size="full")
    with pytest.raises(InputError, match="smollm2_sae"):
        registry.demo_data("nope")
