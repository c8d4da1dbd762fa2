"""Importer of original LSTMVis project folders: round trips and every bad-input case."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmvis_db.errors import InputError
from lstmvis_db.import_lstmvis import (
    import_lstmvis,
    open_lstmvis_project,
    parse_dictionary,
    read_lstmvis_project,
)
from lstmvis_db.types import Document, ProjectData
from tests.support.lstmvis_fixtures import (
    CLUSTERS,
    POS,
    WORDS,
    LstmvisFixture,
    dict_text,
    make_project,
    write_config,
    write_dict,
    write_h5,
)


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LstmvisFixture]:
    """Each project is written once; tests get a fresh copy they may break."""
    root = tmp_path_factory.mktemp("lstmvis_templates")
    return {
        "full": make_project(root / "full"),
        "minimal": make_project(root / "minimal", full=False),
    }


def _copy(template: LstmvisFixture, tmp_path: Path) -> LstmvisFixture:
    target = tmp_path / template.dir.name
    shutil.copytree(template.dir, target)
    return dataclasses.replace(template, dir=target, config=template.config_copy())


@pytest.fixture
def full(_templates: dict[str, LstmvisFixture], tmp_path: Path) -> LstmvisFixture:
    return _copy(_templates["full"], tmp_path)


@pytest.fixture
def minimal(_templates: dict[str, LstmvisFixture], tmp_path: Path) -> LstmvisFixture:
    return _copy(_templates["minimal"], tmp_path)


def source(data: ProjectData, source_id: str) -> Any:
    return next(s for s in data.sources if s.source == source_id)


def track(data: ProjectData, name: str) -> Any:
    return next(t for t in data.tracks if t.track == name)


# ------------------------------------------------------------------------------------------
# Round trips
# ------------------------------------------------------------------------------------------


def test_full_project_header_tokens_and_extra(full: LstmvisFixture) -> None:
    with open_lstmvis_project(full.dir) as data:
        assert data.name == "tiny"
        assert data.description == "A tiny test project"
        assert data.origin == f"LSTMVis project {full.dir.resolve()}"
        assert list(data.tokens) == full.tokens
        assert " " in data.tokens  # the space-token dictionary line
        np.testing.assert_array_equal(np.asarray(data.token_ids), full.word_ids)
        assert data.documents == [Document("doc0", 0, full.n - 1)]
        assert data.extra["lstm_yml"] == (full.dir / "lstm.yml").read_text()
        assert data.extra["word_embedding_size"] == f"[{len(WORDS) + 1}, 3]"
        assert data.extra["word_embedding"] == "emb::emb"
        assert data.extra["regex_search"] == "true"
        assert data.extra["search_index"] == "false"
        assert data.extra["project_id"] == "tiny"
        assert data.extra["dict_size"] == str(len(WORDS))
        assert all(isinstance(v, str) for v in data.extra.values())


def test_full_project_sources(full: LstmvisFixture) -> None:
    expected = [
        # source id, layer, kind, transform, unsigned, width
        ("states::states1", 1, "state", "tanh", False, 4),
        ("states::output1", 1, "output", "none", True, 4),
        ("states::states2", 2, "state", "tanh", False, 3),
        ("extra::output2", 2, "output", "tanh", False, 5),
    ]
    with open_lstmvis_project(full.dir) as data:
        got = [(s.source, s.layer, s.kind, s.transform, s.unsigned, s.values.shape[1]) for s in data.sources]
        assert got == expected
        for s in data.sources:
            assert s.model == "tiny"
            assert isinstance(s.values, h5py.Dataset)  # streamed, not loaded
            assert s.values.shape[0] == full.n
            np.testing.assert_array_equal(s.values[2:5], full.states[s.source][2:5])
            np.testing.assert_array_equal(s.values[()], full.states[s.source])  # raw values


def test_minimal_project_defaults(minimal: LstmvisFixture) -> None:
    with open_lstmvis_project(minimal.dir) as data:
        assert data.description == "tiny"  # defaults to the name
        assert list(data.tracks) == []
        (src,) = data.sources
        assert (src.source, src.kind, src.transform, src.unsigned) == (
            "states::states1",
            "state",
            "tanh",
            False,
        )
        assert data.extra["regex_search"] == "false"
        assert "word_embedding_size" not in data.extra


def test_categorical_meta_labels_and_categories_in_dict_order(full: LstmvisFixture) -> None:
    with open_lstmvis_project(full.dir) as data:
        t = track(data, "part_of_speech")
        assert t.kind == "categorical"
        assert list(t.labels) == full.pos_labels
        assert list(t.categories) == [tok for tok, _ in POS]  # file order, not id order


def test_scalar_meta_values_and_range(full: LstmvisFixture) -> None:
    with open_lstmvis_project(full.dir) as data:
        t = track(data, "depth")
        assert (t.kind, t.min, t.max) == ("scalar", 0.0, 4.0)
        np.testing.assert_array_equal(t.values, full.depth)


def test_wordvec_topk_meta(full: LstmvisFixture) -> None:
    with open_lstmvis_project(full.dir) as data:
        t = track(data, "next_words")
        assert t.kind == "topk"
        assert t.topk_tokens is not None and full.topk_tokens is not None
        assert t.topk_tokens.shape == (full.n, 3)
        assert t.topk_tokens.tolist() == full.topk_tokens.tolist()
        np.testing.assert_array_equal(t.topk_scores, full.topk_scores)


def test_indirect_metas_are_looked_up_by_word_id(full: LstmvisFixture) -> None:
    with open_lstmvis_project(full.dir) as data:
        cluster = track(data, "cluster")
        assert cluster.kind == "categorical"
        assert list(cluster.labels) == full.cluster_labels
        assert list(cluster.categories) == [tok for tok, _ in CLUSTERS]
        freq = track(data, "frequency")
        assert (freq.kind, freq.min, freq.max) == ("scalar", 0.0, 1.0)
        np.testing.assert_array_equal(freq.values, full.frequency)
        assert [t.track for t in data.tracks] == [
            "part_of_speech",
            "depth",
            "next_words",
            "cluster",
            "frequency",
        ]


def test_meta_kind_inferred_and_string_range(full: LstmvisFixture) -> None:
    cfg = full.config_copy()
    del cfg["meta"]["part_of_speech"]["vis"]  # dict, no vis.type -> categorical
    cfg["meta"]["depth"]["vis"] = {"range": "0...10"}  # no dict -> scalar, range as a string
    write_config(full.dir, cfg)
    with open_lstmvis_project(full.dir) as data:
        assert track(data, "part_of_speech").kind == "categorical"
        depth = track(data, "depth")
        assert (depth.kind, depth.min, depth.max) == ("scalar", 0.0, 10.0)


def test_float_word_ids_that_are_whole_numbers_are_accepted(minimal: LstmvisFixture) -> None:
    write_h5(minimal.dir / "train.h5", {"words": minimal.word_ids.astype(np.float32)})
    data = read_lstmvis_project(minimal.dir)
    assert list(data.tokens) == minimal.tokens


def test_read_keeps_files_open_and_context_manager_closes_them(full: LstmvisFixture) -> None:
    data = read_lstmvis_project(full.dir)
    np.testing.assert_array_equal(data.sources[0].values[0], full.states["states::states1"][0])
    with open_lstmvis_project(full.dir) as data2:
        ds = data2.sources[0].values
        assert ds.id.valid
    assert not ds.id.valid


def test_documents_from_start_positions(minimal: LstmvisFixture) -> None:
    data = read_lstmvis_project(minimal.dir, documents=[0, 4, 9])
    assert data.documents == [Document("doc0", 0, 3), Document("doc1", 4, 8), Document("doc2", 9, 11)]
    # 0 is implied; numpy ints are fine
    data = read_lstmvis_project(minimal.dir, documents=np.array([6]))
    assert data.documents == [Document("doc0", 0, 5), Document("doc1", 6, 11)]


def test_documents_as_objects(minimal: LstmvisFixture) -> None:
    docs = [Document("a", 0, 6), Document("b", 7, 11)]
    assert read_lstmvis_project(minimal.dir, documents=docs).documents == docs


@pytest.mark.parametrize(
    ("documents", "fragment"),
    [
        ([], "documents: empty"),
        ([0, 5, 5], "strictly increasing"),
        ([0, 12], "start 12 is outside"),
        ([0, "3"], "integer start positions"),
        ([Document("a", 0, 5), Document("b", 7, 11)], "documents[1] ('b'): first_pos 7"),
        ([Document("a", 0, 5)], "documents[0] ('a'): last_pos 5 should be 11"),
        ([Document("a", 0, 5), Document("b", 6, 4)], "last_pos 4 < first_pos 6"),
    ],
)
def test_bad_documents(minimal: LstmvisFixture, documents: Any, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        read_lstmvis_project(minimal.dir, documents=documents)
    assert fragment in str(err.value)


# ------------------------------------------------------------------------------------------
# Dictionaries
# ------------------------------------------------------------------------------------------


def test_dictionary_space_token_lines() -> None:
    vocab = parse_dictionary("the 1\n  5\n 7\r\nx\ty 3\n\ntab\t9\n\t 10\n")
    assert vocab.by_id == {1: "the", 5: " ", 7: " ", 3: "x\ty", 9: "tab", 10: "\t"}
    assert vocab.tokens == ("the", " ", " ", "x\ty", "tab", "\t")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("the 1\ncat\n", "line 2: malformed dictionary line 'cat'"),
        ("the 1\ncat two\n", "line 2: malformed dictionary line 'cat two'"),
        ("the 1\n   \n", "line 2: malformed"),
        ("the 1\ncat 1\n", "line 2: duplicate id 1"),
        ("", "dictionary is empty"),
    ],
)
def test_bad_dictionary_text(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        parse_dictionary(text, "words.dict")
    assert str(err.value).startswith("words.dict: ")
    assert fragment in str(err.value)


_token = st.text(
    alphabet=st.characters(exclude_characters="\n\r", exclude_categories=["Cs"]),
    min_size=1,
    max_size=8,
).filter(lambda t: t == " " or (not t.startswith(" ") and t.rstrip(" \t") == t))


@settings(max_examples=40, deadline=None)
@given(st.lists(_token, min_size=1, max_size=12))
def test_dictionary_round_trip(tokens: list[str]) -> None:
    entries = [(tok, i + 1) for i, tok in enumerate(tokens)]
    vocab = parse_dictionary(dict_text(entries))
    assert list(vocab.tokens) == tokens
    assert vocab.by_id == {i: tok for tok, i in entries}


# ------------------------------------------------------------------------------------------
# Bad input: every case names the file and the key or value
# ------------------------------------------------------------------------------------------


def expect_error(project: Path, *fragments: str) -> str:
    with pytest.raises(InputError) as err, open_lstmvis_project(project):
        pass
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_missing_project_dir(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope", "nope", "project directory not found")


def test_missing_lstm_yml(minimal: LstmvisFixture) -> None:
    (minimal.dir / "lstm.yml").unlink()
    expect_error(minimal.dir, "lstm.yml", "not found")


def test_yaml_syntax_error(minimal: LstmvisFixture) -> None:
    write_config(minimal.dir, "name: x\nfiles: {a: b.h5\nstates: [\n")
    expect_error(minimal.dir, "lstm.yml", "YAML syntax error at line")


def test_yaml_not_a_mapping(minimal: LstmvisFixture) -> None:
    write_config(minimal.dir, "- just\n- a list\n")
    expect_error(minimal.dir, "lstm.yml", "top level must be a mapping")


Edit = Callable[[dict[str, Any]], None]


def _del(*keys: str | int) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        target: Any = cfg
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]

    return edit


def _set(value: Any, *keys: str | int) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        target: Any = cfg
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return edit


CONFIG_CASES: list[tuple[str, Edit, tuple[str, ...]]] = [
    ("missing name", _del("name"), ("lstm.yml: name: missing required key",)),
    ("missing files", _del("files"), ("lstm.yml: files: missing required key",)),
    ("files not a mapping", _set(["a.h5"], "files"), ("lstm.yml: files: must be a mapping",)),
    (
        "missing word_sequence",
        _del("word_sequence"),
        ("lstm.yml: word_sequence: missing required key",),
    ),
    (
        "missing word_sequence.file",
        _del("word_sequence", "file"),
        ("lstm.yml: word_sequence.file: missing required key",),
    ),
    (
        "missing word_sequence.path",
        _del("word_sequence", "path"),
        ("lstm.yml: word_sequence.path: missing required key",),
    ),
    (
        "missing word_sequence.dict_file",
        _del("word_sequence", "dict_file"),
        ("lstm.yml: word_sequence.dict_file: missing required key",),
    ),
    ("missing states", _del("states"), ("lstm.yml: states: missing required key",)),
    (
        "missing states.types",
        _del("states", "types"),
        ("lstm.yml: states.types: missing required key",),
    ),
    ("empty states.types", _set([], "states", "types"), ("states.types: missing required key",)),
    (
        "states.types not a list",
        _set({"path": "states1"}, "states", "types"),
        ("states.types: must be a list",),
    ),
    (
        "missing type path",
        _del("states", "types", 0, "path"),
        ("lstm.yml: states.types[0].path: missing required key",),
    ),
    (
        "missing type layer",
        _del("states", "types", 2, "layer"),
        ("lstm.yml: states.types[2].layer: missing required key",),
    ),
    (
        "layer not an integer",
        _set("two", "states", "types", 1, "layer"),
        ("states.types[1].layer: must be an integer, got 'two'",),
    ),
    (
        "no file for a type",
        _del("states", "file"),
        ("lstm.yml: states.types[0].file: missing required key (and no states.file",),
    ),
    (
        "bad transform",
        _set("sigmoid", "states", "types", 1, "transform"),
        ("lstm.yml: states.types[1].transform: must be tanh or none, got 'sigmoid'",),
    ),
    (
        "unsigned not a bool",
        _set("maybe", "states", "types", 0, "unsigned"),
        ("states.types[0].unsigned: must be true or false, got 'maybe'",),
    ),
    (
        "duplicate source",
        _set({"layer": 3, "path": "states1"}, "states", "types", 2),
        ("states.types[2]: source 'states::states1' is already defined by states.types[0]",),
    ),
    (
        "word_sequence ref not in files",
        _set("nope", "word_sequence", "file"),
        ("lstm.yml: word_sequence.file: ref 'nope' is not listed in files",),
    ),
    (
        "dict ref not in files",
        _set("nope", "word_sequence", "dict_file"),
        ("lstm.yml: word_sequence.dict_file: ref 'nope' is not listed in files",),
    ),
    (
        "states file ref not in files",
        _set("nope", "states", "file"),
        ("lstm.yml: states.file: ref 'nope' is not listed in files",),
    ),
    (
        "type file override not in files",
        _set("nope", "states", "types", 3, "file"),
        ("lstm.yml: states.types[3].file: ref 'nope' is not listed in files",),
    ),
    (
        "meta ref not in files",
        _set("nope", "meta", "depth", "file"),
        ("lstm.yml: meta.depth.file: ref 'nope' is not listed in files",),
    ),
    (
        "meta dict ref not in files",
        _set("nope", "meta", "part_of_speech", "dict"),
        ("lstm.yml: meta.part_of_speech.dict: ref 'nope' is not listed in files",),
    ),
    (
        "embedding ref not in files",
        _set("nope", "word_embedding", "file"),
        ("lstm.yml: word_embedding.file: ref 'nope' is not listed in files",),
    ),
    (
        "dict ref names an HDF5 file",
        _set("train", "word_sequence", "dict_file"),
        ("word_sequence.dict_file: ref 'train' names 'train.h5', which is not a dictionary",),
    ),
    (
        "HDF5 ref names a dict file",
        _set("words", "states", "file"),
        ("states.file: ref 'words' names 'words.dict', which is not an HDF5 file",),
    ),
    (
        "files entry names a missing file",
        _set("gone.h5", "files", "depth"),
        ("lstm.yml: files.depth: file 'gone.h5' not found",),
    ),
    (
        "files entry names a missing dict",
        _set("gone.dict", "files", "pos_dict"),
        ("lstm.yml: files.pos_dict: file 'gone.dict' not found",),
    ),
    (
        "word dataset absent",
        _set("target", "word_sequence", "path"),
        ("train.h5: dataset 'target' not found (word_sequence.path)",),
    ),
    (
        "states dataset absent",
        _set("states9", "states", "types", 2, "path"),
        ("states.hdf5: dataset 'states9' not found (states.types[2].path)",),
    ),
    (
        "meta dataset absent",
        _set("nope", "meta", "depth", "path"),
        ("depth.h5: dataset 'nope' not found (meta.depth.path)",),
    ),
    (
        "topk weights absent",
        _set("nope", "meta", "next_words", "weights_path"),
        ("topk.h5: dataset 'nope' not found (meta.next_words.weights_path)",),
    ),
    (
        "topk without weights_path",
        _del("meta", "next_words", "weights_path"),
        ("lstm.yml: meta.next_words.weights_path: missing required key",),
    ),
    (
        "embedding dataset absent",
        _set("nope", "word_embedding", "path"),
        ("embeddings.h5: dataset 'nope' not found (word_embedding.path)",),
    ),
    (
        "discrete meta without dict",
        _del("meta", "part_of_speech", "dict"),
        ("lstm.yml: meta.part_of_speech.dict: missing required key (a discrete meta needs a dict)",),
    ),
    (
        "unknown vis.type",
        _set({"type": "heatmap"}, "meta", "depth", "vis"),
        ("lstm.yml: meta.depth.vis.type: must be discrete, scalar or wordvec, got 'heatmap'",),
    ),
    (
        "unknown index",
        _set("position", "meta", "depth", "index"),
        ("lstm.yml: meta.depth.index: must be self or word_sequence, got 'position'",),
    ),
    (
        "bad scalar range",
        _set([4, 0], "meta", "depth", "vis", "range"),
        ("lstm.yml: meta.depth.vis.range: must be [min, max] with finite min <= max",),
    ),
    (
        "scalar range not numbers",
        _set(["a", "b"], "meta", "depth", "vis", "range"),
        ("lstm.yml: meta.depth.vis.range: must be [min, max] with two numbers",),
    ),
    (
        "meta not a mapping",
        _set("pos.h5", "meta", "depth"),
        ("lstm.yml: meta.depth: must be a mapping",),
    ),
    (
        "regex_search not a bool",
        _set({"regex_search": "often"}, "etc"),
        ("lstm.yml: etc.regex_search: must be true or false",),
    ),
    (
        "states dataset is a group",
        _set("/", "states", "types", 0, "path"),
        ("states.hdf5: '/' is a group, not a dataset (states.types[0].path)",),
    ),
]


@pytest.mark.parametrize(("edit", "fragments"), [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_bad_config(full: LstmvisFixture, edit: Edit, fragments: tuple[str, ...]) -> None:
    cfg = full.config_copy()
    edit(cfg)
    write_config(full.dir, cfg)
    expect_error(full.dir, *fragments)


def test_unused_files_of_other_kinds_are_ignored(full: LstmvisFixture) -> None:
    assert not (full.dir / "notes.json").exists()  # listed in files, never checked
    cfg = full.config_copy()
    cfg["files"]["unused"] = "unused.h5"
    (full.dir / "unused.h5").write_bytes(b"not really hdf5")  # listed but never opened
    write_config(full.dir, cfg)
    with open_lstmvis_project(full.dir) as data:
        assert len(data.sources) == 4


def test_states_wrong_rank(full: LstmvisFixture) -> None:
    write_h5(full.dir / "extra_states.h5", {"output2": np.zeros(full.n)})
    expect_error(full.dir, "extra_states.h5", "'output2' (states.types[3].path) must be 2-D", "got shape 12")


def test_word_ids_wrong_rank(full: LstmvisFixture) -> None:
    write_h5(full.dir / "train.h5", {"words": full.word_ids.reshape(-1, 1)})
    expect_error(full.dir, "train.h5", "'words' (word_sequence.path) must be 1-D", "12x1")


def test_topk_wrong_rank(full: LstmvisFixture) -> None:
    write_h5(full.dir / "topk.h5", {"preds": full.word_ids, "scores": np.zeros((full.n, 3))})
    expect_error(full.dir, "topk.h5", "'preds' (meta.next_words.path) must be 2-D")


def test_topk_shapes_differ(full: LstmvisFixture) -> None:
    write_h5(full.dir / "topk.h5", {"preds": np.ones((full.n, 3), int), "scores": np.zeros((full.n, 2))})
    expect_error(full.dir, "topk.h5", "meta.next_words: weights_path 'scores' has shape 12x2")


def test_states_rows_differ_from_words(full: LstmvisFixture) -> None:
    write_h5(full.dir / "extra_states.h5", {"output2": np.zeros((full.n - 1, 5))})
    expect_error(full.dir, "extra_states.h5", "'output2' (states.types[3].path) has 11 rows", "12 words")


def test_states_not_numeric(full: LstmvisFixture) -> None:
    write_h5(full.dir / "extra_states.h5", {"output2": np.array([["a"] * 5] * full.n, dtype="S1")})
    expect_error(full.dir, "extra_states.h5", "must be numeric")


def test_sources_of_different_widths_are_fine(full: LstmvisFixture) -> None:
    with open_lstmvis_project(full.dir) as data:
        assert sorted({s.values.shape[1] for s in data.sources}) == [3, 4, 5]


def test_word_id_not_in_dict(full: LstmvisFixture) -> None:
    ids = full.word_ids.copy()
    ids[7] = 42
    write_h5(full.dir / "train.h5", {"words": ids})
    expect_error(full.dir, "train.h5", "(word_sequence.path)", "id 42 at position 7", "words.dict")


def test_zero_based_word_id_is_not_shifted(full: LstmvisFixture) -> None:
    ids = full.word_ids.copy()
    ids[0] = 0  # ids are used as written; 0 is not in the 1-based dictionary
    write_h5(full.dir / "train.h5", {"words": ids})
    expect_error(full.dir, "id 0 at position 0 is not in dictionary")


def test_fractional_word_ids(full: LstmvisFixture) -> None:
    write_h5(full.dir / "train.h5", {"words": full.word_ids + 0.5})
    expect_error(full.dir, "train.h5", "ids must be whole numbers")


def test_empty_word_sequence(full: LstmvisFixture) -> None:
    write_h5(full.dir / "train.h5", {"words": np.zeros(0, dtype=np.int64)})
    expect_error(full.dir, "train.h5", "'words' (word_sequence.path) is empty")


def test_malformed_word_dict_line(full: LstmvisFixture) -> None:
    write_dict(full.dir / "words.dict", "the 1\ncat 2\nsat\n")
    expect_error(full.dir, "words.dict", "line 3: malformed dictionary line 'sat'")


def test_dict_not_utf8(full: LstmvisFixture) -> None:
    (full.dir / "pos.dict").write_bytes(b"NOUN 1\n\xff\xfe 2\n")
    expect_error(full.dir, "pos.dict", "not valid UTF-8")


def test_not_an_hdf5_file(full: LstmvisFixture) -> None:
    (full.dir / "depth.h5").write_bytes(b"plain text")
    expect_error(full.dir, "depth.h5", "cannot open as HDF5")


def test_meta_label_id_not_in_dict(full: LstmvisFixture) -> None:
    write_h5(full.dir / "pos.h5", {"pos": np.full(full.n, 9)})
    expect_error(full.dir, "pos.h5", "(meta.part_of_speech.path)", "id 9", "pos.dict")


def test_topk_id_not_in_dict(full: LstmvisFixture) -> None:
    preds = np.ones((full.n, 3), dtype=np.int64)
    preds[4, 2] = 77
    write_h5(full.dir / "topk.h5", {"preds": preds, "scores": np.zeros((full.n, 3))})
    expect_error(full.dir, "topk.h5", "(meta.next_words.path)", "id 77 at position (4, 2)")


@pytest.mark.parametrize(
    ("file", "datasets", "fragment"),
    [
        ("pos.h5", {"pos": np.ones(5, dtype=int)}, "'pos' (meta.part_of_speech.path) has 5 rows"),
        ("depth.h5", {"depth": np.ones(13)}, "'depth' (meta.depth.path) has 13 rows"),
        (
            "topk.h5",
            {"preds": np.ones((3, 3), dtype=int), "scores": np.ones((3, 3))},
            "'preds' (meta.next_words.path) has 3 rows",
        ),
    ],
)
def test_meta_length_differs_from_words(
    full: LstmvisFixture, file: str, datasets: dict[str, Any], fragment: str
) -> None:
    write_h5(full.dir / file, datasets)
    expect_error(full.dir, file, fragment, "12 words")


def test_indirect_meta_table_too_short(full: LstmvisFixture) -> None:
    write_h5(full.dir / "kmeans.h5", {"cluster": np.ones(6, dtype=int), "freq": np.ones(7)})
    expect_error(
        full.dir,
        "kmeans.h5",
        "'cluster' (meta.cluster.path, index: word_sequence)",
        "no row for word id 6",
    )


def test_import_lstmvis_propagates_input_errors(full: LstmvisFixture, tmp_path: Path) -> None:
    (full.dir / "lstm.yml").unlink()
    db = tmp_path / "out.duckdb"
    with pytest.raises(InputError, match="lstm.yml"):
        import_lstmvis(full.dir, db)
    assert not db.exists()


# ------------------------------------------------------------------------------------------
# Round trip through the store into DuckDB
# ------------------------------------------------------------------------------------------


def test_import_to_duckdb_round_trip(full: LstmvisFixture, tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "tiny.duckdb"
    import_lstmvis(full.dir, db, documents=[0, 6])
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT pos, doc, token, token_id FROM tokens ORDER BY pos").fetchall()
        assert [r[0] for r in rows] == list(range(full.n))
        assert [r[2] for r in rows] == full.tokens
        assert [r[3] for r in rows] == full.word_ids.tolist()
        assert len({r[1] for r in rows[:6]}) == 1 and rows[0][1] != rows[6][1]
        src = con.execute(
            "SELECT source, layer, kind, n_cells, transform, unsigned FROM sources ORDER BY source"
        ).fetchall()
        assert sorted(src) == sorted(
            [
                ("extra::output2", 2, "output", 5, "tanh", False),
                ("states::output1", 1, "output", 4, "none", True),
                ("states::states1", 1, "state", 4, "tanh", False),
                ("states::states2", 2, "state", 3, "tanh", False),
            ]
        )
        for source_id, raw in full.states.items():
            transform = "none" if source_id == "states::output1" else "tanh"
            expected = raw if transform == "none" else np.tanh(raw.astype(np.float64))
            got = np.zeros(raw.shape)
            for pos, cell, value in con.execute(
                "SELECT pos, cell, value FROM states WHERE source = ?", [source_id]
            ).fetchall():
                got[pos, cell] = value
            count = con.execute("SELECT count(*) FROM states WHERE source = ?", [source_id]).fetchone()
            assert count == (raw.size,)
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        kinds = dict(con.execute("SELECT track, kind FROM tracks").fetchall())
        assert kinds == {
            "part_of_speech": "categorical",
            "depth": "scalar",
            "next_words": "topk",
            "cluster": "categorical",
            "frequency": "scalar",
        }
        labels = con.execute("SELECT label FROM annotations WHERE track = 'part_of_speech' ORDER BY pos").fetchall()
        assert [r[0] for r in labels] == full.pos_labels
        assert con.execute("SELECT count(*) FROM predictions").fetchone() == (full.n * 3,)
    finally:
        con.close()


def test_failed_import_leaves_existing_db_alone(full: LstmvisFixture, tmp_path: Path) -> None:
    db = tmp_path / "tiny.duckdb"
    import_lstmvis(full.dir, db)
    before = db.read_bytes()
    write_h5(full.dir / "extra_states.h5", {"output2": np.zeros((3, 5))})
    with pytest.raises(InputError, match="output2"):
        import_lstmvis(full.dir, db)
    assert db.read_bytes() == before
