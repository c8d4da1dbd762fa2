"""The "New project" page (pages/4_New_project.py) and its logic (lstmvis_db.extract.app_support).

AppTest drives the page: an uploaded text plus a tiny seeded PyTorch LSTM given as a
``file.py:function`` factory becomes a project in LSTMVIS_DATA_DIR (a tmp folder), which then
opens in the Select view's state and gets an annotation track from an uploaded CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lstmvis_db
from lstmvis_db.errors import InputError
from lstmvis_db.views import new_project as sup
from tests.support import ROOT

PAGE = str(ROOT / "pages" / "4_New_project.py")
TEXT = "the cat (sat) on\nthe mat (and hat)\n"

FACTORY = '''
import torch
from torch import nn

class CharLM(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.embed = nn.Embedding(vocab, 4)
        self.lstm = nn.LSTM(4, 5, num_layers=2)
        self.out = nn.Linear(5, vocab)

def build():
    torch.manual_seed(0)
    chars = "abcdefghijklmnopqrstuvwxyz ()\\n"
    return {"model": CharLM(len(chars)), "tokenizer": chars, "name": "tinylm"}
'''


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(data))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)
    return data


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


# --------------------------------------------------------------------------- the page


def test_page_runs_without_a_project() -> None:
    at = page()
    ok(at)
    assert at.title[0].value == "New project"
    if sup.extraction_missing():
        assert "requirements-models.txt" in at.warning[0].value
    else:
        assert at.button(key="np_build").disabled  # nothing chosen yet
    assert "No project yet" in at.info[0].value


def test_bundled_corpus_is_offered() -> None:
    at = page()
    if sup.extraction_missing():
        pytest.skip("extraction extras not installed")
    at.radio(key="np_where").set_value("Bundled corpus").run()
    ok(at)
    picked = at.button_group(key="np_scenes").value
    assert len(picked) == sup.SHAKESPEARE_DEFAULT and "Macbeth I.1 (A desert place)" in picked


def test_bad_model_path_is_a_message(tmp_path) -> None:
    pytest.importorskip("torch")
    at = page()
    at.selectbox(key="np_model").set_value("__typed__").run()
    at.text_input(key="np_path").input(str(tmp_path / "nothing.py:build")).run()
    at.button(key="np_load").click().run()
    assert not at.exception
    assert "model file not found" in at.error[0].value


def test_upload_factory_lstm_build_open_and_add_track(tmp_path, _env) -> None:
    pytest.importorskip("torch")
    factory = tmp_path / "tiny_lstm.py"
    factory.write_text(FACTORY, encoding="utf-8")
    at = page()
    at.file_uploader(key="np_files").set_value([("notes.txt", TEXT.encode(), "text/plain")])
    at.radio(key="np_docs").set_value("by-line")
    at.selectbox(key="np_model").set_value("__typed__").run()
    at.text_input(key="np_path").input(f"{factory}:build").run()
    at.button(key="np_load").click().run()
    ok(at)
    spec = f"{factory}:build"
    assert list(at.dataframe[0].value["source"]) == ["hidden1", "cell1", "hidden2", "cell2"]
    at.multiselect(key=f"np_layers_{spec}").set_value([2])
    at.multiselect(key=f"np_kinds_{spec}").set_value(["hidden", "cell"])
    at.number_input(key="np_topk").set_value(2)
    at.text_input(key="np_name").input("My notes!").run()
    ok(at)
    at.button(key="np_build").click().run()
    ok(at)
    db = _env / "My-notes.duckdb"
    assert db.is_file() and "Wrote" in at.success[0].value
    with lstmvis_db.open(db) as p:
        assert [s["source"] for s in p.info()["sources"]] == ["hidden2", "cell2"]
        assert p.n_positions == len(TEXT.replace("\n", ""))  # by-line: the newlines are not documents
        assert len(p.documents) == 2
        assert p.tracks()["track"].tolist() == ["context", "next_token"]

    # a second build under the same name is refused until 'Replace' is ticked
    at.button(key="np_build").click().run()
    assert any("already exists" in e.value for e in at.error)
    at.checkbox(key="np_replace").check().run()
    at.button(key="np_build").click().run()
    ok(at)

    # open it: the view state points at the new project and source (switch_page needs the full app)
    at.selectbox(key="np_open_source").set_value("cell2")
    at.button(key="np_open").click().run()
    ok(at)
    assert at.session_state["lv"].project == "My-notes" and at.session_state["lv"].source == "cell2"

    # add a track from an uploaded CSV, then it is visible (the cached handle was refreshed)
    assert at.selectbox(key="nt_project").value == "My-notes"
    csv = pd.DataFrame({"pos": [0, 1, 4], "label": ["t", "h", "c"]}).to_csv(index=False).encode()
    at.file_uploader(key="nt_file").set_value(("letters.csv", csv, "text/csv"))
    at.text_input(key="nt_name").input("letters").run()
    at.button(key="nt_add").click().run()
    ok(at)
    assert any("Added the categorical track 'letters'" in m.value for m in at.success)
    shown = r"tracks now: context (scalar), letters (categorical), next\_token (topk)"  # as text
    assert any(shown in c.value for c in at.caption)
    with lstmvis_db.open(db) as p:
        assert set(p.tracks()["track"]) == {"context", "next_token", "letters"}
    # a bad file is a message, not a traceback
    at.file_uploader(key="nt_file").set_value(("bad.csv", b"where,label\n1,x\n", "text/csv"))
    at.text_input(key="nt_name").input("bad").run()
    at.button(key="nt_add").click().run()
    assert not at.exception and "no 'pos' column" in at.error[0].value


def test_page_without_the_model_extras(_env) -> None:
    """On a deployment without torch the page says what to install and still offers add-track."""
    from tests.support.app_fixtures import build_app_project

    build_app_project(_env)
    at = AppTest.from_string(
        "from lstmvis_db.views import new_project as sup\n"
        "real = sup.missing_modules\n"
        "sup.missing_modules = lambda names: list(names)\n"
        "try:\n"
        f"    exec(open({PAGE!r}).read())\n"
        "finally:\n"
        "    sup.missing_modules = real\n", default_timeout=60).run()
    ok(at)
    assert "pip install -r requirements-models.txt" in at.warning[0].value
    assert not any(b.key == "np_build" for b in at.button)
    assert at.selectbox(key="nt_project").value == "tiny" and at.button(key="nt_add").disabled  # no file yet


# --------------------------------------------------------------------------- app_support


def test_names() -> None:
    assert sup.safe_name("  My project!.duckdb") == "My-project"
    assert sup.safe_name("../../etc/passwd") == "etc-passwd"
    with pytest.raises(InputError, match="no letters or digits"):
        sup.safe_name(" ./ ")
    assert sup.default_name("all-minilm-l6-v2", "shakespeare") == "shakespeare-all-minilm-l6-v2"
    assert sup.default_name("/x/my_model.py:build", "notes") == "notes-my_model"
    assert sup.default_name("/models/gpt2/", "a b") == "a-b-gpt2"
    assert sup.output_path("/d", "a b") == Path("/d/a-b.duckdb")


def test_check_output(tmp_path) -> None:
    out = tmp_path / "new" / "p.duckdb"
    sup.check_output(out, replace=False)
    assert out.parent.is_dir()
    out.write_bytes(b"x")
    with pytest.raises(InputError, match="already exists"):
        sup.check_output(out, replace=False)
    sup.check_output(out, replace=True)


def test_texts() -> None:
    assert sup.uploaded_texts([("a.txt", b"\xef\xbb\xbfhi\r\nyo"), ("a.txt", b"x")]) == [
        ("a.txt", "hi\nyo"), ("a.txt (2)", "x")]
    with pytest.raises(InputError, match=r"b.txt: not UTF-8 text \(byte 0xff at offset 1\)"):
        sup.uploaded_texts([("b.txt", b"a\xff")])
    with pytest.raises(InputError, match="c.md: empty text"):
        sup.uploaded_texts([("c.md", b" \n")])
    with pytest.raises(InputError, match="no text file"):
        sup.uploaded_texts([])
    assert sup.separator_text(r"\n---\n") == "\n---\n"
    corpus = sup.shakespeare_corpus()
    assert len(corpus.documents) == 8 and all(t for _, t in corpus.documents)
    assert len(sup.default_documents(corpus)) == 3


def test_saved_upload_keeps_suffix_and_cleans_up() -> None:
    with sup.saved_upload("my track.CSV", b"pos,value\n0,1\n") as p:
        assert p.suffix == ".csv" and p.read_bytes().startswith(b"pos")
    assert not p.exists()
    with pytest.raises(InputError, match="expected a .csv, .tsv, .parquet file"), sup.saved_upload("x.xlsx", b""):
        pass


def test_model_needs_and_choices(monkeypatch) -> None:
    assert sup.model_needs("m.py:build") == ["torch"]
    assert sup.model_needs("w.H5") == ["torch", "h5py"]
    assert "gguf" in sup.model_needs("smollm2-135m")
    assert sup.missing_modules(["json", "surely_not_a_module_xyz"]) == ["surely_not_a_module_xyz"]
    monkeypatch.setattr(sup, "missing_modules", lambda names: ["transformers"])
    assert sup.offline_models() == []
    with pytest.raises(InputError, match="needs transformers: pip install -r requirements-models.txt"):
        sup.load_adapter("/some/folder")
    with pytest.raises(InputError, match="no model given"):
        sup.load_adapter("  ")


def test_keras_file_needs_a_vocabulary(tmp_path) -> None:
    pytest.importorskip("torch")
    with pytest.raises(InputError, match="needs a vocabulary"):
        sup.load_adapter(str(tmp_path / "w.h5"))


def test_layers_and_progress() -> None:
    from lstmvis_db.extract.base import SourceSpec

    class Fake:
        def sources(self):
            return ([SourceSpec(f"hidden{i}", i, "hidden", 384) for i in range(7)]
                    + [SourceSpec(f"mlp{i}", i, "mlp", 1536) for i in range(1, 7)])

    assert sup.layers_and_kinds(Fake()) == ([0, 1, 2, 3, 4, 5, 6], ["hidden", "mlp"])
    assert sup.default_layers(Fake()) == [0, 6]
    assert sup.default_layers(Fake(), budget=10**6) == list(range(7))
    assert sup.chosen_width(Fake(), [6], ["mlp"]) == (1, 1536)
    p = sup.OverallProgress(2, interval=0)
    shown = [p(*c) for c in [("extract m", 0.5), ("extract m", 1.0), ("source a", 0.5), ("source b", 1.0)]]
    assert [round(s[0], 2) for s in shown] == [0.4, 0.8, 0.85, 1.0]
    assert "Writing the project: source b (2 of 2)" == shown[-1][1]
    assert np.all(np.diff([s[0] for s in shown]) >= 0)


# --------------------------------------------------------------------------- without torch


PARENS = "(()(1)) ((2)) 0 (1)\n\n((2)(2))"


def test_bundled_lstm_on_pasted_text_without_torch(_env) -> None:
    at = page()
    ok(at)
    at.selectbox(key="bt_model").set_value("parens")
    at.text_area(key="bt_text").input(PARENS)
    at.toggle(key="bt_split").set_value(True)
    at.text_input(key="bt_name").input("my parens").run()
    at.button(key="bt_build").click().run()
    ok(at)
    db = _env / "my-parens.duckdb"
    assert db.is_file() and "Wrote" in at.success[0].value
    with lstmvis_db.open(db) as p:
        assert [s["source"] for s in p.info()["sources"]] == ["layer1_h", "layer1_c", "layer2_h", "layer2_c"]
        assert p.n_positions == len([c for c in PARENS if not c.isspace()])
        assert len(p.documents) == 2  # a document per block between blank lines
        assert {"next_char", "surprisal"} <= set(p.tracks()["track"])
    # text the model cannot read: one message naming it, nothing written
    at.text_area(key="bt_text").input("(a)")
    at.text_input(key="bt_name").input("bad parens").run()
    at.button(key="bt_build").click().run()
    assert not at.exception and "cannot read 1 of these tokens ('a')" in at.error[0].value
    assert not (_env / "bad-parens.duckdb").exists()


def test_import_an_lstmvis_project_zip(_env, tmp_path) -> None:
    import io
    import zipfile

    from tests.support.lstmvis_fixtures import make_project

    fx = make_project(tmp_path / "orig")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in fx.dir.iterdir():
            zf.write(f, f"tiny/{f.name}")
    at = page()
    at.file_uploader(key="li_file").set_value(("tiny.zip", buf.getvalue(), "application/zip")).run()
    at.button(key="li_import").click().run()
    ok(at)
    db = _env / "tiny.duckdb"
    with lstmvis_db.open(db) as p:
        assert p.n_positions == len(fx.tokens)
    # not a zip, and a zip that reaches outside its folder: one message each, no file
    for name, data in (("bad.zip", b"not a zip"), ("evil.zip", _zip({"../lstm.yml": b"x"}))):
        at.file_uploader(key="li_file").set_value((name, data, "application/zip")).run()
        at.button(key="li_import").click().run()
        assert not at.exception and at.error, name
        assert not (_env / f"{Path(name).stem}.duckdb").exists()
    assert "not a zip file" in at.error[0].value or "outside its folder" in at.error[0].value


def _zip(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_public_mode_keeps_a_visitors_project_private(_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_PUBLIC", "1")
    monkeypatch.setenv("LSTMVIS_SESSION_DIR", str(tmp_path / "sessions"))
    at = page()
    at.selectbox(key="bt_model").set_value("parens")
    at.text_area(key="bt_text").input(PARENS)
    at.text_input(key="bt_name").input("mine").run()
    at.button(key="bt_build").click().run()
    ok(at)
    assert not (_env / "mine.duckdb").exists()  # nothing in the shared data folder
    copies = at.session_state["lv_session_copies"]
    assert Path(copies["mine"]).is_file() and Path(copies["mine"]).is_relative_to(tmp_path / "sessions")
    # another visitor does not see it
    other = page()
    assert "lv_session_copies" not in other.session_state or "mine" not in other.session_state["lv_session_copies"]
    # bounded: more text than the public limit is refused with one message
    at.text_area(key="bt_text").input("(" * 20_001)
    at.text_input(key="bt_name").input("big").run()
    at.button(key="bt_build").click().run()
    assert not at.exception and "at most 20,000" in at.error[0].value


def test_run_bundled_command_and_api(tmp_path, capsys) -> None:
    from lstmvis_db.cli import main
    from lstmvis_db.views import own_text

    text = tmp_path / "p.txt"
    text.write_text(PARENS, encoding="utf-8")
    db = tmp_path / "cli.duckdb"
    assert main(["run-bundled", "--model", "parens", "--db", str(db), "--by-blank-line", str(text)]) == 0
    assert f"{db}: " in capsys.readouterr().out
    api = own_text.build_from_text("parens", [("p.txt", PARENS)], tmp_path / "api.duckdb", max_tokens=1000,
                                   by_blank_line=True)
    with lstmvis_db.open(db) as a, lstmvis_db.open(api["db"]) as b:
        assert a.n_positions == b.n_positions == api["tokens"]
        assert np.array_equal(a.window("layer2_c", 0, a.n_positions - 1), b.window("layer2_c", 0, b.n_positions - 1))
    # the states are the model's own: the numpy LSTM run directly on the first block's ids
    from lstmvis_db.demos import common
    from lstmvis_db.demos.nplstm import CharLstmModel

    arrays = common.load_arrays(common.verify_data_file("parens/weights.npz"))
    vocab = [str(t) for t in arrays["vocab"]]
    first = [c for c in PARENS.split("\n\n")[0] if not c.isspace()]
    run = CharLstmModel(arrays).run_documents([np.array([vocab.index(c) for c in first])])
    with lstmvis_db.open(db) as a:
        assert np.allclose(a.window("layer1_h", 0, len(first) - 1), run["layer1_h"], atol=1e-6)
    assert main(["run-bundled", "--model", "nope", "--db", str(tmp_path / "x.duckdb"), str(text)]) == 2
    assert "unknown bundled model 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["shakespeare_chars", "shakespeare_words"])
def test_the_in_domain_shakespeare_models_read_ones_own_text(tmp_path, name) -> None:
    from lstmvis_db.demos import common
    from lstmvis_db.demos.nplstm import CharLstmModel
    from lstmvis_db.views import own_text

    text = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
    done = own_text.build_from_text(name, [("hamlet.txt", text)], tmp_path / "h.duckdb", max_tokens=1000)
    tokens = own_text.tokenize(own_text.BUNDLED[name], text)
    assert done["tokens"] == len(tokens) and (name == "shakespeare_words") == (tokens[:3] == ["To", "be", ","])
    arrays = common.load_arrays(common.verify_data_file(own_text.BUNDLED[name].weights))
    vocab = [str(t) for t in arrays["vocab"]]
    read = [t if name == "shakespeare_chars" else ("\\n" if t == "\n" else t.lower()) for t in tokens]
    assert all(t in vocab for t in read)  # every token of this text is in the model's vocabulary
    run = CharLstmModel(arrays).run_documents([np.array([vocab.index(t) for t in read])])
    with lstmvis_db.open(done["db"]) as p:
        assert [t for t in p.tokens(0, 2).token] == tokens[:3]
        assert np.allclose(p.window("layer2_c", 0, p.n_positions - 1), run["layer2_c"], atol=1e-5)
        assert set(p.tracks().track) >= {"next_char" if name == "shakespeare_chars" else "next_word"}
