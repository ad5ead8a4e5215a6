"""`clamp musescore install|uninstall|caption|classify`, `clamp serve` (refusals, --detach) and
the platform folders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import bridge_calibration
import pytest
from bridge_util import SCORES

from clamp_core.errors import ClampError
from musescore_bridge.discovery import config_dir, pid_alive, read_discovery
from musescore_bridge.install import plugin_root

calibration = bridge_calibration.calibration
calibrated_model = bridge_calibration.calibrated_model


@pytest.fixture
def home_env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    return home


def test_platform_folders():
    env = {"HOME": "/h", "USERPROFILE": r"C:\Users\ann", "APPDATA": r"C:\Users\ann\AppData\Roaming"}
    assert plugin_root(3, "linux", {"HOME": "/h"}) == Path("/h/Documents/MuseScore3/Plugins")
    assert plugin_root(4, "darwin", {"HOME": "/h"}) == Path("/h/Documents/MuseScore4/Plugins")
    assert plugin_root(4, "win32", env) == Path(r"C:\Users\ann") / "Documents/MuseScore4/Plugins"
    assert config_dir("linux", {"HOME": "/h"}) == Path("/h/.config/clamp-notation")
    assert config_dir("linux", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}) == Path("/x/clamp-notation")
    assert config_dir("darwin", {"HOME": "/h"}) == Path(
        "/h/Library/Application Support/clamp-notation")
    assert config_dir("win32", env) == Path(env["APPDATA"]) / "clamp-notation"


def test_localised_documents_folder(tmp_path):
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "user-dirs.dirs").write_text('XDG_DOCUMENTS_DIR="$HOME/Dokumente"\n')
    assert (plugin_root(3, "linux", {"HOME": str(tmp_path)})
            == tmp_path / "Dokumente/MuseScore3/Plugins")


def test_install_and_uninstall(run_clamp, home_env, tmp_path):
    env_note = run_clamp("musescore", "install", "--json", check=False)
    assert env_note.returncode == 1 and "start MuseScore once" in env_note.stderr
    (home_env / "Documents" / "MuseScore3").mkdir(parents=True)
    res = run_clamp("musescore", "install", "--json")
    (target,) = [Path(p) for p in json.loads(res.stdout)["installed"]]
    assert target == home_env / "Documents/MuseScore3/Plugins/clamp-notation"
    assert ({"CLaMP.qml", "clamp_bridge.js", "clamp.png", "clamp_install.json"}
            == {p.name for p in target.iterdir()})
    info = json.loads((target / "clamp_install.json").read_text())
    assert info["version"] == metadata.version("clamp-notation")
    assert f'version: "{info["version"]}"' in (target / "CLaMP.qml").read_text()
    assert info["discovery"] == str(home_env / ".config/clamp-notation/service.json")
    assert Path(info["python"]).exists()
    res = run_clamp("musescore", "install", "--version", "4")
    assert "MuseScore4/Plugins/clamp-notation" in res.stdout
    custom = tmp_path / "my plugins"
    run_clamp("musescore", "install", "--dir", str(custom))
    assert (custom / "clamp-notation" / "CLaMP.qml").is_file()
    # an install of the time the file was clamp.qml: replaced, never listed twice by MuseScore
    (custom / "clamp-notation" / "clamp.qml").write_text("old")
    (custom / "clamp-notation" / "clamp_settings.json").write_text('{"library": "/x"}')
    run_clamp("musescore", "install", "--dir", str(custom))
    names = {p.name for p in (custom / "clamp-notation").iterdir()}
    assert "CLaMP.qml" in names and "clamp.qml" not in names
    assert "clamp_settings.json" in names  # the plugin's settings survive a new install
    # a folder of the same name that is not ours is left alone
    (tmp_path / "other" / "clamp-notation").mkdir(parents=True)
    res = run_clamp("musescore", "install", "--dir", str(tmp_path / "other"), check=False)
    assert res.returncode == 1 and "not made by" in res.stderr
    res = run_clamp("musescore", "uninstall", "--json")
    removed = json.loads(res.stdout)["removed"]
    assert len(removed) == 2 and not target.exists()
    run_clamp("musescore", "uninstall", "--dir", str(custom))
    assert not (custom / "clamp-notation").exists()
    assert "nothing removed" in run_clamp("musescore", "uninstall").stdout


def test_serve_refuses_remote_without_the_flag(run_clamp, home_env):
    res = run_clamp("serve", "--host", "0.0.0.0", check=False)
    assert res.returncode == 1 and "--allow-remote" in res.stderr


def test_caption_and_classify_musescore_files_from_scripts(run_clamp, home_env):
    res = run_clamp("musescore", "caption", str(SCORES / "lieder_6053984.mscz"), "--json")
    out = json.loads(res.stdout)
    assert out["ok"] and out["caption"]["facts"]["title"] == "An eine Blume"
    assert out["score"]["input"] == "mscz"
    res = run_clamp("musescore", "classify", str(SCORES / "handmade.mscx"),
                    "--labels", "waltz,march,lullaby")
    assert (sorted(line.split()[0] for line in res.stdout.splitlines())
            == ["lullaby", "march", "waltz"])
    res = run_clamp("musescore", "caption", str(SCORES / "nope.mscz"), check=False)
    assert res.returncode == 1 and "file not found" in res.stderr


@pytest.mark.slow
def test_serve_detach_then_scripts_use_it(run_clamp, home_env):
    """`clamp serve --detach` returns once the service answers; --service calls go to it; the
    discovery file (0600) goes away when the service is stopped."""
    res = run_clamp("serve", "--detach", "--no-warm", "--json", timeout=300)
    info = json.loads(res.stdout)
    disc = home_env / ".config" / "clamp-notation" / "service.json"
    assert "token" not in info and info["discovery"] == str(disc)
    pid = info["pid"]
    try:
        assert stat.S_IMODE(os.stat(disc).st_mode) == 0o600
        assert read_discovery(disc)["url"] == info["url"]
        again = run_clamp("serve", "--detach", "--json")
        assert json.loads(again.stdout)["pid"] == pid  # already running: reused
        res = run_clamp("musescore", "caption", "--service", "--json",
                        str(SCORES / "lieder_6053984_ms3.mscz"))
        out = json.loads(res.stdout)
        assert out["ok"] and out["caption"]["facts"]["key"] == "F major"
        res = run_clamp("serve", check=False)
        assert res.returncode == 1 and "already running" in res.stderr
        assert "clamp serve --stop" in res.stderr
        status = json.loads(run_clamp("serve", "--status", "--json").stdout)
        assert status["running"] and status["pid"] == pid and "token" not in status
        res = run_clamp("serve", "--stop")
        assert f"stopped (pid {pid})" in res.stdout
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not pid_alive(pid) or not disc.exists():
            break
        time.sleep(0.2)
    assert not pid_alive(pid) and not disc.exists()
    res = run_clamp("serve", "--status", check=False)
    assert res.returncode == 1 and "no clamp service is running" in res.stdout
    assert run_clamp("serve", "--stop").returncode == 0  # nothing to stop is no error
    res = run_clamp("musescore", "caption", "--service", str(SCORES / "lieder_6053984.mxl"),
                    check=False)
    assert res.returncode == 1 and "clamp serve" in res.stderr


def test_scripts_flag_an_unfamiliar_score_and_pass_the_new_fields(run_clamp, home_env,
                                                                  calibrated_model, tmp_path):
    """A model folder calibrated as `clamp calibrate` leaves one: the Lied is out of its domain,
    the fixture MIDI tune (in its novelty reference) is not."""
    from bridge_calibration import FAMILIAR, UNFAMILIAR

    from clamp_core.api import Clamp
    from clamp_core.index.library import Index

    model = str(calibrated_model)
    lied, tune = str(SCORES / UNFAMILIAR), str(SCORES / FAMILIAR)
    note = "note: this score is unlike anything this model was trained on"
    res = run_clamp("musescore", "classify", lied, "--labels", "art song,jig", "--model", model)
    assert note in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert sorted(line.split()[0] for line in res.stdout.splitlines()) == ["art", "jig"]
    out = json.loads(run_clamp("musescore", "classify", lied, "--labels", "art song,jig",
                               "--model", model, "--json").stdout)
    assert out["calibrated"] is True and out["novelty"]["out_of_domain"] is True
    res = run_clamp("musescore", "caption", lied, "--model", model)
    assert note in res.stderr
    assert "unlike anything the model was trained on" in " ".join(res.stdout.split())
    res = run_clamp("musescore", "caption", tune, "--model", model, "--json")
    assert note not in res.stderr
    cap = json.loads(res.stdout)["caption"]
    assert cap["novelty"]["out_of_domain"] is False and set(cap["stated"]) == {"genres"}
    assert "eras" in cap["unsure"] and cap["sentence"]["text"]
    # similar, on an index built with the same weights
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in (UNFAMILIAR, FAMILIAR):
        (lib / name).write_bytes((SCORES / name).read_bytes())
    clamp = Clamp.load(model, precision="fp32")
    with Index.create(tmp_path / "index", clamp) as idx:
        idx.update(lib, clamp, workers=0, progress=False)
    res = run_clamp("musescore", "similar", lied, "--index", str(tmp_path / "index"), "-k", "2",
                    "--model", model)
    assert note in res.stderr and len(res.stdout.splitlines()) == 2
    out = json.loads(run_clamp("musescore", "similar", tune, "--index", str(tmp_path / "index"),
                               "--model", model, "--json").stdout)
    assert out["novelty"]["out_of_domain"] is False
    assert out["results"][0]["path"].endswith(FAMILIAR) and out["results"][0]["relevance"] is None


def test_install_refuses_when_the_plugin_files_are_missing(tmp_path, monkeypatch):
    """An installation without the plugin (a wheel that left it out) says so in one line
    instead of installing an empty folder and exiting 0."""
    from musescore_bridge import install

    monkeypatch.setattr(install, "PLUGIN_SOURCE", tmp_path / "no-plugin")
    with pytest.raises(ClampError,
                       match=r"lacks the plugin's CLaMP\.qml, clamp_bridge\.js, clamp\.png"):
        install.install(folder=str(tmp_path / "Plugins"))
    assert not (tmp_path / "Plugins").exists()


def test_install_fails_in_one_line_when_the_package_lacks_the_plugin(tmp_path):
    """`clamp musescore install` from an installed package whose plugin files are missing: one
    line on stderr, exit 1, nothing installed."""
    pkg = tmp_path / "site" / "musescore_bridge"
    shutil.copytree(Path(__file__).parents[2] / "musescore_bridge", pkg,
                    ignore=shutil.ignore_patterns("plugin", "__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(pkg.parent), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    res = subprocess.run([sys.executable, "-m", "clamp_core", "musescore", "install", "--dir",
                          str(tmp_path / "Plugins")], cwd=tmp_path, env=env, capture_output=True,
                         text=True, check=False, timeout=120)
    assert res.returncode == 1, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert "lacks the plugin's CLaMP.qml, clamp_bridge.js, clamp.png" in line
    assert str(pkg / "plugin") in line and "reinstall clamp-notation" in line
    assert not (tmp_path / "Plugins").exists()


def test_install_warns_when_qt_lacks_controls_2(run_clamp, home_env, tmp_path, monkeypatch):
    """Linux: MuseScore 3 of a distribution needs Qt 5's QtQuick.Controls 2 for the dialog; a
    temp folder stands for Qt 5's QML import path."""
    qml = tmp_path / "qt5" / "qml"
    (qml / "QtQuick" / "Layouts").mkdir(parents=True)
    monkeypatch.setenv("CLAMP_QT5_QML_PATH", str(qml))
    plugins = tmp_path / "plugins"
    res = run_clamp("musescore", "install", "--dir", str(plugins))
    (warning,) = res.stderr.strip().splitlines()
    assert warning.startswith("warning: MuseScore 3 needs the Qt module QtQuick.Controls 2")
    assert "sudo apt install qml-module-qtquick-controls2" in warning
    assert "restart MuseScore" in warning and str(qml) in warning
    assert (plugins / "clamp-notation" / "CLaMP.qml").is_file()  # installed all the same
    out = json.loads(run_clamp("musescore", "install", "--dir", str(plugins), "--json").stdout)
    assert len(out["warnings"]) == 1 and "qml-module-qtquick-controls2" in out["warnings"][0]
    # MuseScore 4 brings its own Qt: not checked
    assert run_clamp("musescore", "install", "--version", "4").stderr == ""
    (qml / "QtQuick" / "Controls.2").mkdir()
    (qml / "QtQuick" / "Controls.2" / "qmldir").write_text("module QtQuick.Controls\n")
    res = run_clamp("musescore", "install", "--dir", str(plugins), "--json")
    assert res.stderr == "" and json.loads(res.stdout)["warnings"] == []


def test_controls_2_check_on_described_platforms(tmp_path):
    from musescore_bridge.install import requirement_warnings

    env = {"CLAMP_QT5_QML_PATH": str(tmp_path)}
    assert requirement_warnings(3, None, "linux", env)
    assert requirement_warnings(3, None, "win32", env) == []
    assert requirement_warnings(3, None, "darwin", env) == []
    assert requirement_warnings(4, None, "linux", env) == []
    # no Qt 5 QML folder at all: MuseScore runs on a Qt of its own (AppImage), nothing to say
    assert requirement_warnings(3, None, "linux", {"CLAMP_QT5_QML_PATH": os.pathsep}) == []
