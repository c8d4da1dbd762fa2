"""Public rules (lstmvis_db.deploy + lstmvis_ui.public): a visitor reads every project and runs
every analysis but changes nothing others see, opens nothing outside the operator's folder, learns
nothing about the server's files, and gets no model loaded from a path; stored strings are text.
The decision (env, Community Cloud signals) is tested as a table; the attacks through AppTest."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lstmvis_db import deploy
from lstmvis_db.errors import InputError
from lstmvis_db.store import write_project
from lstmvis_db.types import Track
from tests.support.app_fixtures import SOURCES, build_app_project, project_data
from tests.support.app_fixtures import run_app as run

HOST = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "no-hostname"
LINKY = "[click me](http://evil.example/x) <b>bold</b> :red[red]"

# (environment, working directory, app file) -> public?
DECISIONS = [
    ({}, "/home/me/lstmvis", "/home/me/lstmvis/streamlit_app.py", False),
    ({"LSTMVIS_PUBLIC": "1"}, "/home/me", "/home/me/streamlit_app.py", True),
    ({"LSTMVIS_PUBLIC": "true"}, "/home/me", "", True),
    ({"LSTMVIS_PUBLIC": "0"}, "/mount/src/lstmvis", "/mount/src/lstmvis/streamlit_app.py", False),
    ({"LSTMVIS_PUBLIC": "no"}, "/", "", False),
    ({"LSTMVIS_PUBLIC": "maybe"}, "/home/me", "", True),  # unknown value: the safe side
    ({}, "/mount/src/lstmvis", "/mount/src/lstmvis/streamlit_app.py", True),  # Community Cloud
    ({}, "/", "/mount/src/lstmvis/streamlit_app.py", True),
    ({"HOSTNAME": "streamlit"}, "/app", "", True),
    ({"HOME": "/home/appuser"}, "/app", "", True),
    ({"HOSTNAME": "laptop", "HOME": "/root"}, "/srv/mount/src", "", False),
]


@pytest.mark.parametrize(("env", "cwd", "app_file", "public"), DECISIONS)
def test_decision(env, cwd, app_file, public) -> None:
    assert deploy.decide(env, cwd, app_file).public is public


@pytest.mark.parametrize("key", ["LSTMVIS_UPLOAD_MB", "LSTMVIS_COPY_MB", "LSTMVIS_COPIES_MB",
                                 "LSTMVIS_COPY_MAX_AGE_MIN"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "ten"])
def test_limits_cannot_be_switched_off(key, value) -> None:
    with pytest.raises(InputError, match=key):
        deploy.decide({key: value}, "/", "")


def test_copy_limits_and_sweep(tmp_path) -> None:
    dep = dataclasses.replace(deploy.decide({}, "/", ""), upload_limit=10, copy_limit=100, copies_limit=150)
    deploy.check_copy(50, 10, 0, dep)
    for project, upload, used, words in [(50, 11, 0, "upload"), (90, 10, 0, "per visitor"),
                                         (50, 10, 90, "too many")]:
        with pytest.raises(InputError, match=words):
            deploy.check_copy(project, upload, used, dep)
    old, new = deploy.new_session_dir(tmp_path), deploy.new_session_dir(tmp_path)
    (tmp_path / "unrelated").mkdir()
    import os
    os.utime(old, (1, 1))
    assert deploy.sweep_session_dirs(tmp_path, 3600) == [old]
    assert new.is_dir() and (tmp_path / "unrelated").is_dir()


def test_plain_text_and_messages() -> None:
    shown = deploy.escape_markdown(LINKY)
    assert "](" not in shown and "<b>" not in shown and ":red[" not in shown
    assert re.sub(r"\\(.)", r"\1", shown).replace(deploy.JOINER, "") == LINKY  # every character, literally
    for text in ("see https://evil.example/x now", "WWW.evil.example", "mail bob@evil.example", "ftp://x.y"):
        seen = re.sub(r"\\(.)", r"\1", deploy.escape_markdown(text))  # what the renderer's autolinker reads
        assert seen.replace(deploy.JOINER, "") == text
        # the literal autolinks of GitHub-flavoured Markdown: a scheme's "://", "www.", an e-mail's "@domain"
        assert not re.search(r"[a-z]://|www\.|@[-\w]", seen, re.IGNORECASE), seen
    desc = deploy.emphasis_markdown("**Try first:** `layer1_h` " + LINKY + " `[x](http://e)` **[y](http://e)**")
    assert desc.startswith("**Try first\\:** `layer1_h` ") and "](http" not in desc.replace("`[x](http://e)`", "")
    assert "<b>" not in desc and ":red[" not in desc and "**\\[y\\]\\(http" in desc
    msg = deploy.public_message("'/srv/data/x.duckdb' is damaged; '/srv/data/.x.duckdb.tmp-4242' left by pid 4242",
                                [Path("/srv/data")])
    assert "/srv" not in msg and "4242" not in msg and "x.duckdb" in msg


# --------------------------------------------------------------------------- the app


@pytest.fixture(autouse=True)
def _error_details():
    """The public rules hide tracebacks process-wide; restore Streamlit's setting for other tests."""
    from streamlit import config

    before = config.get_option("client.showErrorDetails")
    yield
    config.set_option("client.showErrorDetails", before)


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    build_app_project(folder)
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(folder))
    monkeypatch.setenv("LSTMVIS_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("LSTMVIS_PUBLIC", "1")
    monkeypatch.delenv("LSTMVIS_DB", raising=False)
    return folder


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "subheader", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_start_page_offers_no_path_box_and_shows_no_server_path(data) -> None:
    at = run("streamlit_app.py")
    assert not at.exception and not at.error
    assert not [t for t in at.text_input if t.key == "w_open_path"]
    assert str(data) not in texts(at) and deploy.escape_markdown("tiny.duckdb") in texts(at)
    from streamlit import config

    assert config.get_option("client.showErrorDetails") == "none"  # no tracebacks for visitors


def test_local_rules_keep_the_path_box(data, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_PUBLIC", "0")
    at = run("streamlit_app.py")
    assert [t for t in at.text_input if t.key == "w_open_path"]


def test_community_cloud_signal_alone_gives_public_rules(data, monkeypatch) -> None:
    monkeypatch.delenv("LSTMVIS_PUBLIC")
    monkeypatch.setenv("HOSTNAME", "streamlit")
    at = run("streamlit_app.py")
    assert not [t for t in at.text_input if t.key == "w_open_path"]


def test_url_project_outside_the_data_folder_is_refused_alike(data, tmp_path) -> None:
    """A project that exists outside the data folder and one that does not get the same message,
    with no path; the visitor sees the operator's project instead."""
    elsewhere = tmp_path / "elsewhere"
    build_app_project(elsewhere, "secret")
    seen = []
    for requested in [str(elsewhere / "secret.duckdb"), str(tmp_path / "nowhere" / "secret.duckdb"),
                      "/etc/passwd", "../../elsewhere/secret.duckdb"]:
        for page in ("streamlit_app.py", "pages/1_Select.py", "pages/3_SQL.py"):
            at = run(page, project=requested)
            assert not at.exception, [e.value for e in at.exception]
            assert at.session_state["lv"].project == "tiny"
            shown = texts(at)
            assert str(tmp_path) not in shown and "/etc" not in shown
            seen.append([w.value for w in at.warning])
    by_name = {tuple(w) for w in seen[:6]}  # the two secret.duckdb requests, three pages each
    assert len(by_name) == 1 and "no project 'secret.duckdb'" in by_name.pop()[0]


def test_link_cells_outside_the_source_are_left_out_with_a_message(data) -> None:
    """A link naming cells the source does not have (``cells=999999,-3``) draws the page without
    them and says so, on Select and on Match, instead of failing."""
    for page in ("pages/1_Select.py", "pages/2_Match.py"):
        at = run(page, project="tiny", source=SOURCES[0], cells="1,999999", queried="1")
        assert not at.exception, [e.value for e in at.exception]
        assert at.session_state["lv"].cells == [1]
        assert any("were left out" in str(w.value) for w in at.warning)


def test_link_position_past_the_end_is_moved_to_the_end(data) -> None:
    """``pos=99999999`` (or ``-5``) in a link: the title names the position the page shows, the last
    (or first) one, not the number in the link."""
    with duckdb.connect(str(data / "tiny.duckdb"), read_only=True) as con:
        last = con.execute("SELECT count(*) FROM tokens").fetchone()[0] - 1
    for pos, want in (("99999999", last), ("-5", 0)):
        at = run("pages/1_Select.py", project="tiny", source=SOURCES[0], pos=pos)
        assert not at.exception, [e.value for e in at.exception]
        shown = at.session_state["lv"].pos
        assert shown == want
        title = next(m.value for m in at.markdown if m.value.startswith("#### Select"))
        assert title.endswith(f"position {shown}"), title


def test_add_track_goes_to_the_visitors_own_copy(data, tmp_path) -> None:
    shared = data / "tiny.duckdb"
    before = sha(shared)
    at = run("streamlit_app.py").switch_page("pages/4_New_project.py").run()
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "np_model"]  # no model building at all
    assert any("turned off on this public deployment" in i.value for i in at.info)
    csv = pd.DataFrame({"pos": [0, 1, 2], "label": ["VANDALISED"] * 3}).to_csv(index=False).encode()
    at.file_uploader(key="nt_file").set_value(("v.csv", csv, "text/csv"))
    at.text_input(key="nt_name").input(LINKY).run()
    at.button(key="nt_add").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "your own copy" in at.success[-1].value and "](" not in at.success[-1].value
    assert sha(shared) == before  # nothing shared changed
    copies = list((tmp_path / "sessions").glob("lstmvis-session-*/tiny.duckdb"))
    assert len(copies) == 1
    # this session sees its track, as text; a new visitor does not see it at all
    at.switch_page("streamlit_app.py").run()
    assert not at.exception
    assert deploy.escape_markdown(LINKY) in texts(at) and "](http" not in texts(at)
    other = run("streamlit_app.py")
    assert "click" not in texts(other)


def test_uploaders_show_the_limit_we_enforce(data, monkeypatch) -> None:
    """The widget's "Limit … per file" is the deployment's limit (not Streamlit's 200 MB)."""
    monkeypatch.setenv("LSTMVIS_UPLOAD_MB", "7")
    at = run("pages/4_New_project.py")
    assert not at.exception
    shown = {u.key: u.proto.max_upload_size_mb for u in at.get("file_uploader")}
    assert shown and set(shown.values()) == {7}, shown


def test_too_large_upload_is_refused(data, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_UPLOAD_MB", "0.0001")
    before = sha(data / "tiny.duckdb")
    at = run("pages/4_New_project.py")
    assert all(u.proto.max_upload_size_mb == 1 for u in at.get("file_uploader"))  # whole megabytes, rounded up
    csv = pd.DataFrame({"pos": range(300), "label": ["x" * 5] * 300}).to_csv(index=False).encode()
    at.file_uploader(key="nt_file").set_value(("big.csv", csv, "text/csv")).run()
    at.button(key="nt_add").click().run()
    assert not at.exception and "at most" in at.error[0].value
    assert "at most 0 MB" not in at.error[0].value  # the limit as set, not rounded down to "0 MB"
    assert sha(data / "tiny.duckdb") == before
    assert not list((tmp_path / "sessions").glob("lstmvis-session-*/*.duckdb"))


def test_model_loading_is_refused_even_if_asked(data) -> None:
    from lstmvis_ui import resources

    with pytest.raises(Exception, match="turned off"):
        resources.load_adapter("os.py:abort", "", 0.0)


def test_link_like_names_render_as_text(data) -> None:
    d = project_data()
    n = len(d.tokens)
    d = dataclasses.replace(d, name=LINKY, description=f"see {LINKY} and www.evil.example",
                            tracks=[*d.tracks, Track(track=LINKY, kind="scalar", values=np.zeros(n))])
    write_project(data / "linky.duckdb", d)
    at = run("streamlit_app.py")
    assert not at.exception
    shown = texts(at)
    assert "](http" not in shown and "<b>" not in shown and ":red[" not in shown and "www.evil" not in shown
    assert shown.count(deploy.escape_markdown(LINKY)) >= 2


def test_crafted_and_broken_files_break_only_their_card(data) -> None:
    crafted = data / "crafted.duckdb"
    shutil.copy(data / "tiny.duckdb", crafted)
    con = duckdb.connect(str(crafted))
    con.execute("DROP TABLE project; CREATE VIEW project AS SELECT 'name' AS key, content AS value "
                "FROM read_text('/etc/hostname')")
    con.close()
    cut = data / "cut.duckdb"
    shutil.copy(data / "tiny.duckdb", cut)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    at = run("streamlit_app.py")
    assert not at.exception
    assert sum("cannot be read" in e.value for e in at.error) == 2
    assert HOST not in texts(at) and str(data) not in texts(at)
    assert any(b.key == "open_tiny" for b in at.button)  # the good project still works
    for page in ("pages/1_Select.py", "pages/2_Match.py"):
        at = run(page, project="crafted")
        assert not at.exception and HOST not in texts(at)


def test_a_sessions_folder_goes_with_its_state(tmp_path) -> None:
    """The private folder is removed when the session's state that holds it is dropped."""
    import gc

    from lstmvis_ui import public

    folder = deploy.new_session_dir(tmp_path)
    (folder / "tiny.duckdb").write_bytes(b"x")
    state = {public.FOLDER: public._Folder(folder)}
    del state
    gc.collect()
    assert not folder.exists()
