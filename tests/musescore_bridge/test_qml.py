"""The plugin's QML outside MuseScore: qmllint, a load check in qmlscene with stub MuseScore
modules (the MuseScore 4 loader's view: no writeScore), and qmltestrunner driving the MuseScore 4
code paths (cursor walk, asynchronous requests, quit()) against the real service."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from bridge_util import FIXTURES, PLUGIN, QML_STUBS, have, shared_clamp

from musescore_bridge.install import QML_FILE
from musescore_bridge.service import start_service

TST = os.path.join(os.path.dirname(__file__), "qml", "tst_bridge.qml")
QML = PLUGIN / QML_FILE


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
    res = subprocess.run(["qmllint", str(QML)], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.skipif(have("qmlscene") is not None, reason="qmlscene missing (Debian packages "
                    "qmlscene, qml-module-qtquick-controls2)")
def test_plugin_loads_in_qmlscene_with_stub_modules(tmp_path):
    folder = stubs(tmp_path)
    res = subprocess.run(["qmlscene", "--quit", "-I", str(folder), str(QML)],
                         env=qt_env(), capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Error" not in res.stderr and "is not a type" not in res.stderr, res.stderr
    # the check bites: a plain `title:` property (MuseScore 4.4 style) breaks MuseScore 3
    bad = tmp_path / "bad" / QML_FILE
    bad.parent.mkdir()
    shutil.copy(PLUGIN / "clamp_bridge.js", bad.parent)
    text = QML.read_text(encoding="utf-8")
    bad.write_text(text.replace("    //4.4 title:", "    title:"), encoding="utf-8")
    res = subprocess.run(["qmlscene", "--quit", "-I", str(folder), str(bad)], env=qt_env(),
                         capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode != 0 and "title" in res.stderr


def test_the_plugin_is_named_clamp_everywhere():
    """MuseScore 3's Plugin Manager names a plugin by its file, the Plugins menu by menuPath and
    MuseScore 4.4 by title: all three say CLaMP, and the 4.4 thumbnail ships beside it."""
    text = QML.read_text(encoding="utf-8")
    assert QML.stem == "CLaMP"
    assert re.search(r'^\s*menuPath: "Plugins\.CLaMP"$', text, re.MULTILINE)
    assert re.search(r'^\s*//4\.4 title: "CLaMP"$', text, re.MULTILINE)
    (thumb,) = re.findall(r'^\s*//4\.4 thumbnailName: "([^"]+)"$', text, re.MULTILINE)
    from PIL import Image

    with Image.open(PLUGIN / thumb) as img:
        assert img.format == "PNG" and img.width >= 200 and img.height >= 120


class _Restarts:
    """The test's control over the real service, for the QML test (a GET on /stop, /start or
    /restart): stopping removes the discovery file, starting writes a new port and token."""

    def __init__(self, discovery):
        self.discovery = discovery
        self.svc = start_service(shared_clamp(), discovery_file=discovery)
        self.lock = threading.Lock()

    def act(self, what: str) -> dict:
        with self.lock:
            if what in ("stop", "restart") and self.svc is not None:
                self.svc.stop()
                self.svc = None
            if what in ("start", "restart") and self.svc is None:
                self.svc = start_service(shared_clamp(), discovery_file=self.discovery)
            return {"url": self.svc.url if self.svc else None}

    def serve(self):
        restarts = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(restarts.act(self.path.strip("/"))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def close(self):
        with self.lock:
            if self.svc is not None:
                self.svc.stop()


def _passage_library(tmp_path) -> dict:
    """A library of the recorded song and another, indexed with passages of 4 bars every 2."""
    from clamp_core.index.library import Index

    lib = tmp_path / "passage_lib"
    lib.mkdir()
    for name in ("lieder_6053984.mxl", "lieder_6312216.mxl"):
        shutil.copy(FIXTURES / "scores" / name, lib / name)
    with Index.create(tmp_path / "passage_idx", shared_clamp()) as idx:
        idx.enable_passages(4, 2)
        idx.update(lib, shared_clamp(), workers=0, progress=False)
    return {"passage_index": str(tmp_path / "passage_idx"),
            "song": str(lib / "lieder_6053984.mxl")}


@pytest.mark.skipif(have("qmltestrunner") is not None, reason="qmltestrunner missing (Debian "
                    "packages qmltestrunner/qtdeclarative5-dev-tools, qml-module-qttest)")
def test_ms4_paths_with_qmltestrunner_against_the_service(tmp_path):
    home = tmp_path / "home"
    folder = stubs(tmp_path, str(home))
    restarts = _Restarts(home / ".config" / "clamp-notation" / "service.json")
    control = restarts.serve()
    (home / "clamp_test_control.json").write_text(json.dumps(
        {"url": f"http://127.0.0.1:{control.server_address[1]}",
         **_passage_library(tmp_path)}), encoding="utf-8")
    try:
        res = subprocess.run(["qmltestrunner", "-import", str(folder), "-input", TST],
                             env=qt_env(), capture_output=True, text=True, check=False, timeout=600)
    finally:
        control.shutdown()
        control.server_close()
        restarts.close()
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "Totals: 15 passed, 0 failed" in out, out[-4000:]
