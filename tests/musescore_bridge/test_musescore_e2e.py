"""End to end in real MuseScore 3 (Debian's mscore3, headless): the installed plugin runs on a
real Lieder .mscz, calls the running service and writes what came back; the test reads it.

The plugin's test mode: a ``clamp_test.json`` beside the installed plugin names one action and
the result file; ``mscore3 -p`` runs it synchronously and exits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import bridge_calibration
import pytest
from bridge_util import SCORES, have, shared_clamp

from musescore_bridge.install import QML_FILE, install
from musescore_bridge.service import start_service

calibration = bridge_calibration.calibration
calibrated_clamp = bridge_calibration.calibrated_clamp

missing = have("mscore3")
pytestmark = pytest.mark.skipif(missing is not None,
                                reason="MuseScore 3 (mscore3, Debian package musescore3) is not "
                                       "installed")
UNFAMILIAR_NOTE = ("This score is unlike anything the model was trained on \u2014 treat the "
                   "answers with caution.")
BAD_STDERR = ("TypeError", "ReferenceError", "SyntaxError", "failed line", "is not a type",
              "Cannot assign", "Error:")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def env(home):
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(home / "run")}


@pytest.fixture(scope="module")
def plugin_dir(home, env, tmp_path_factory):
    """The plugin installed by the installer, with the discovery path of this test's HOME."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", env["HOME"])
    mp.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
    try:
        (folder,) = install(folder=str(tmp_path_factory.mktemp("plugins")))
    finally:
        mp.undo()
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from clamp_core.index.library import Index

    root = tmp_path_factory.mktemp("lieder")
    for name in ("lieder_6053984.mxl", "lieder_5071622.mxl", "small.mid"):
        shutil.copy(SCORES / name, root / name)
    folder = tmp_path_factory.mktemp("idx") / "index"
    with Index.create(folder, shared_clamp()) as idx:
        idx.update(root, shared_clamp(), workers=0, progress=False)
    return folder


@pytest.fixture(scope="module")
def service(home, library, calibrated_clamp):
    """The service with the test calibration (conftest.py): the Lied is out of its domain."""
    svc = start_service(calibrated_clamp, discovery_file=home / ".config" / "clamp-notation" /
                        "service.json", indexes=[str(library)])
    yield svc
    svc.stop()


def run_plugin(plugin_dir, env, tmp_path, action: str, **test) -> dict:
    score = tmp_path / "song.mscz"
    shutil.copy(SCORES / "lieder_6053984_ms3.mscz", score)
    result = tmp_path / f"{action}.json"
    (plugin_dir / "clamp_test.json").write_text(json.dumps(
        {"action": action, "result": str(result), **test}))
    try:
        proc = subprocess.run(["mscore3", "-p", str(plugin_dir / QML_FILE), str(score)],
                              env=env, cwd=tmp_path, capture_output=True, text=True, check=False,
                              timeout=120)
    finally:
        (plugin_dir / "clamp_test.json").unlink()
    bad = [line for line in proc.stderr.splitlines() if any(b in line for b in BAD_STDERR)]
    assert not bad, proc.stderr[-2000:]
    assert result.is_file(), (f"the plugin wrote no result (rc {proc.returncode}): "
                              f"{proc.stderr[-2000:]}")
    return json.loads(result.read_text(encoding="utf-8"))


def test_caption_via_writescore(service, plugin_dir, env, tmp_path):
    res = run_plugin(plugin_dir, env, tmp_path, "caption")
    assert res["mscore_version"] // 10000 == 3
    assert res["export_via"] == "writeScore" and res["http_status"] == 200
    body = res["response"]
    assert body["ok"] and body["score"]["input"] == "musicxml" and body["score"]["notes"] == 126
    facts = body["caption"]["facts"]
    assert facts["title"] == "An eine Blume"
    assert facts["composer"] == "Corona Elisabeth Wilhelmine Schröter"  # UTF-8 all the way
    assert ((facts["key"], facts["meter"], facts["ensemble"])
            == ("F major", "6/8", "voice and piano"))
    assert body["text"].startswith("An eine Blume by Corona")
    # the calibrated model finds the Lied unlike its (one-tune) training reference: the dialog
    # says so above the caption, which states nothing the model hears
    assert body["novelty"]["out_of_domain"] is True and body["caption"]["stated"] == {}
    shown = res["shown"]
    assert shown["tab"] == 0 and shown["note"] == UNFAMILIAR_NOTE
    assert "no view" in shown["caption_stated"] and shown["caption_unsure"] == ""


def test_classify_via_the_cursor_walk(service, plugin_dir, env, tmp_path):
    res = run_plugin(plugin_dir, env, tmp_path, "classify", force_cursor=True,
                     options={"labels": ["art song", "opera aria", "jig", "march"]})
    assert res["export_via"] == "cursor" and res["notes_sent"] == 120
    assert res["http_status"] == 200
    body = res["response"]
    assert body["score"]["input"] == "cursor" and body["score"]["title"] == "An eine Blume"
    labels = body["labels"]
    assert sorted(x["label"] for x in labels) == ["art song", "jig", "march", "opera aria"]
    assert [x["probability"] for x in labels] == sorted((x["probability"] for x in labels),
                                                        reverse=True)
    assert body["calibrated"] is True and body["novelty"]["out_of_domain"] is True
    assert res["shown"]["note"] == UNFAMILIAR_NOTE
    assert res["shown"]["classify_column"] == "probability (calibrated)"


def test_similar_finds_the_song_in_the_library(service, plugin_dir, env, tmp_path, library):
    res = run_plugin(plugin_dir, env, tmp_path, "similar",
                     options={"index": str(library), "k": 3})
    assert res["http_status"] == 200
    hits = res["response"]["results"]
    assert len(hits) == 3 and hits[0]["path"].endswith("lieder_6053984.mxl")
    shown_rows = res["shown"]["similar_rows"]
    assert [r["likeness"] for r in shown_rows] == [f"{h['score']:.3f}" for h in hits]
    # MuseScore 3 does not tell the plugin the score's file: the library's copy of the open
    # score (cosine 0.995) is marked by its music
    assert [r["tag"] for r in shown_rows] == [
        "same music as this score" if h["score"] >= 0.99 else "" for h in hits]
    assert shown_rows[0]["tag"] != ""
    assert res["shown"]["library"] == os.path.realpath(library)  # remembered for a restart
    assert hits[0]["score"] > 0.95
    assert res["response"]["novelty"]["out_of_domain"] is True
    assert res["shown"]["tab"] == 2 and res["shown"]["note"] == UNFAMILIAR_NOTE


def test_search_shows_match_percentages(service, plugin_dir, env, tmp_path, library):
    res = run_plugin(plugin_dir, env, tmp_path, "search",
                     options={"query": "a German art song", "index": str(library), "k": 2})
    assert res["http_status"] == 200
    body, shown = res["response"], res["shown"]
    assert body["no_good_match"] is True  # the test calibration's level: no hit reaches it
    assert shown["search_notice"].startswith("Nothing in the library matches this well")
    assert [r["match"] for r in shown["search_rows"]] == [
        f"{h['relevance'] * 100:.0f} %" for h in body["results"]]
    assert shown["note"] == ""


def test_wrong_token_and_missing_service_are_reported(service, plugin_dir, env, tmp_path, home):
    disc = home / ".config" / "clamp-notation" / "service.json"
    saved = disc.read_text()
    try:
        disc.write_text(saved.replace(service.token, "stale-token"))
        res = run_plugin(plugin_dir, env, tmp_path, "caption")
        assert res["http_status"] == 401 and "token" in res["response"]["error"]
        disc.unlink()
        res = run_plugin(plugin_dir, env, tmp_path, "caption")
        assert "not running" in res["error"] and "clamp serve" in res["error"]
    finally:
        disc.write_text(saved)
        os.chmod(disc, 0o600)


def test_version_check_and_presets(service, plugin_dir, env, tmp_path):
    """The installed plugin compares its version with the service's /info and says what to do
    when they differ; the label sets are offered by readable names, Genre first."""
    from importlib import metadata

    res = run_plugin(plugin_dir, env, tmp_path, "info")
    assert res["plugin_version"] == metadata.version("clamp-notation")
    assert res["version_note"] == "" and res["message"] == "Connected to the CLaMP service."
    names = [p["name"] for p in res["presets"]]
    assert names[0] == "Genre" and names[-1].startswith("My own labels")
    assert all("_" not in n for n in names)
    marker = plugin_dir / "clamp_install.json"
    saved = marker.read_text()
    try:
        marker.write_text(saved.replace(f'"version": "{res["plugin_version"]}"',
                                        '"version": "0.0.1"'))
        res = run_plugin(plugin_dir, env, tmp_path, "info")
    finally:
        marker.write_text(saved)
    note = res["version_note"]
    assert note.startswith("This plugin is version 0.0.1, the CLaMP service version "
                           f"{metadata.version('clamp-notation')}.")
    assert 'Run "clamp musescore install" again' in note and "restart MuseScore" in note


@pytest.fixture(scope="module")
def passage_library(tmp_path_factory):
    """The song and another, kept with passages of 4 bars every 2."""
    from clamp_core.index.library import Index

    root = tmp_path_factory.mktemp("plieder")
    for name in ("lieder_6053984.mxl", "lieder_6312216.mxl"):
        shutil.copy(SCORES / name, root / name)
    folder = tmp_path_factory.mktemp("pidx") / "index"
    with Index.create(folder, shared_clamp()) as idx:
        idx.enable_passages(4, 2)
        idx.update(root, shared_clamp(), workers=0, progress=False)
    return folder


def test_similar_passages_of_selected_bars_in_musescore_3(service, plugin_dir, env, tmp_path,
                                                          passage_library):
    """What "Find similar passages" sends for bars 5-8 (measures 4-7), from real MuseScore 3's
    own MusicXML export: the song's bars 5-8 come back first, named as the score numbers them."""
    res = run_plugin(plugin_dir, env, tmp_path, "similar",
                     options={"index": str(passage_library), "k": 3, "passages": True,
                              "measures": [4, 7]})
    assert res["http_status"] == 200, res
    body = res["response"]
    assert res["export_via"] == "writeScore" and body["bars"] == [5, 8]
    top = body["results"][0]
    assert top["path"].endswith("lieder_6053984.mxl") and top["bars"] == [5, 8]
    assert top["score"] > 0.95
    rows = res["shown"]["similar_rows"]
    assert [r["bars"] for r in rows] == [f"bars {h['bars'][0]}-{h['bars'][1]}"
                                         for h in body["results"]]
    assert rows[0]["measures"] == [4, 7]
