"""The plugin's QML outside MuseScore: qmllint, a load check in qmlscene with stub MuseScore
modules (the MuseScore 4 loader's view: no writeScore), and qmltestrunner driving the MuseScore 4
code paths (cursor walk, asynchronous requests, quit()) against the real service."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from bridge_util import PLUGIN, QML_STUBS, have, shared_clamp

from musescore_bridge.service import start_service

TST = os.path.join(os.path.dirname(__file__), "qml", "tst_bridge.qml")


def qt_env(**extra) -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_QUICK_BACKEND": "software",
            "QML_XHR_ALLOW_FILE_READ": "1", **extra}


def stubs(tmp_path, home: str = "/nonexistent"):
    folder = tmp_path / "stubs"
    shutil.copytree(QML_STUBS, folder)
    (folder / "FileIO" / "StubConfig.js").write_text(
        f'.pragma library\nvar home = "{home}";\n', encoding="utf-8")
    return folder


@pytest.mark.skipif(have("qmllint") is not None, reason="qmllint missing (Debian package "
                    "qtdeclarative5-dev-tools)")
def test_qmllint_accepts_the_plugin():
    res = subprocess.run(["qmllint", str(PLUGIN / "clamp.qml")], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.skipif(have("qmlscene") is not None, reason="qmlscene missing (Debian packages "
                    "qmlscene, qml-module-qtquick-controls2)")
def test_plugin_loads_in_qmlscene_with_stub_modules(tmp_path):
    folder = stubs(tmp_path)
    res = subprocess.run(["qmlscene", "--quit", "-I", str(folder), str(PLUGIN / "clamp.qml")],
                         env=qt_env(), capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Error" not in res.stderr and "is not a type" not in res.stderr, res.stderr
    # the check bites: a plain `title:` property (MuseScore 4.4 style) breaks MuseScore 3
    bad = tmp_path / "bad" / "clamp.qml"
    bad.parent.mkdir()
    shutil.copy(PLUGIN / "clamp_bridge.js", bad.parent)
    text = (PLUGIN / "clamp.qml").read_text(encoding="utf-8")
    bad.write_text(text.replace("    //4.4 title:", "    title:"), encoding="utf-8")
    res = subprocess.run(["qmlscene", "--quit", "-I", str(folder), str(bad)], env=qt_env(),
                         capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode != 0 and "title" in res.stderr


@pytest.mark.skipif(have("qmltestrunner") is not None, reason="qmltestrunner missing (Debian "
                    "packages qmltestrunner/qtdeclarative5-dev-tools, qml-module-qttest)")
def test_ms4_paths_with_qmltestrunner_against_the_service(tmp_path):
    home = tmp_path / "home"
    folder = stubs(tmp_path, str(home))
    with start_service(shared_clamp(), discovery_file=home / ".config" / "clamp-notation" /
                       "service.json"):
        res = subprocess.run(["qmltestrunner", "-import", str(folder), "-input", TST],
                             env=qt_env(), capture_output=True, text=True, check=False, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "Totals: 11 passed, 0 failed" in out, out[-4000:]
