"""End to end: a real JupyterLab 4 and Notebook 7 on 127.0.0.1 (token auth), a notebook run
in each by headless Debian chromium (Playwright), the real default model and a small real
index. Checks rendered SVG results with their calibrated "match" (the default model calibrated on
corpus tunes, tests/jupyter_ext/jupyter_calibration.py), "more like this", calibrated
probabilities with the out-of-domain warning, playback scheduling, abcjs sent once per page, a
small saved widget state, and that no request left 127.0.0.1. Screenshots go to
tests/artifacts/."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jupyter_calibration
import jupyter_helpers
import pytest

pytest.importorskip("anywidget", reason="pip install 'clamp-notation[test]'")
jupyter_helpers.chromium_or_skip(module_level=True)  # before any costly session fixture
pytest.importorskip("jupyterlab", reason="pip install 'clamp-notation[test]'")
pytest.importorskip("notebook", reason="pip install 'clamp-notation[test]'")

import nbformat  # noqa: E402  (after the importorskip)

pytestmark = pytest.mark.slow
small_index = jupyter_helpers.small_index
default_clamp = jupyter_helpers.default_clamp
calibrated_model = jupyter_calibration.calibrated_model
FIXTURES = jupyter_helpers.FIXTURES
QUERY = "a lively reel for the fiddle"
KERNEL_READY_S = 240  # the kernel loads the model: slow on a busy 2-core machine
# Errors the two front ends log on their own, with or without our widgets.
KNOWN_NOISE = ("reading 'schema'", "filebrowser:open-path", "favicon")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> None:
    """No news toast; ipywidgets saves widget state into the notebook (checked below)."""
    for rel, data in (("@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                       {"fetchNews": "false", "checkForUpdates": False}),
                      ("@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings",
                       {"saveState": True})):
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A jupyter server (JupyterLab + Notebook 7) of our own; stopped with its kernels."""
    jupyter_helpers.chromium_or_skip()
    base = tmp_path_factory.mktemp("jupyter_server")
    root = base / "notebooks"
    root.mkdir()
    _settings(base / "settings")
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(base / "config"),
           "JUPYTER_DATA_DIR": str(base / "data"), "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
           "IPYTHONDIR": str(base / "ipython"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)  # the kernel imports the installed project, not the test tree
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.allow_root=True",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
           "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabServerApp.workspaces_dir={base / 'workspaces'}",
           f"--LabServerApp.user_settings_dir={base / 'settings'}"]
    log = (base / "server.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its own process group: ours to stop
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("jupyter server did not start:\n"
                                       + (base / "server.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield {"url": url, "token": token, "root": root, "log": base / "server.log"}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server shuts its kernels down
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = jupyter_helpers.chromium_or_skip()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=jupyter_helpers.CHROMIUM_ARGS)
        yield b
        b.close()


def _notebook(path: Path, index: Path, model: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import jupyter_ext, clamp_core\n"
            "from clamp_core import Clamp\n"
            "from jupyter_ext import ClampSearch, show\n"
            # the default model, calibrated; fp32 gives the same vectors on every CPU
            f"clamp = Clamp.load({str(model)!r}, precision='fp32')\n"
            f"search = ClampSearch(clamp, {str(index)!r}, k=3)\n"
            "search"),
        nbformat.v4.new_code_cell(f"show({str(FIXTURES / 'scores' / 'lieder_6053984.mxl')!r})"),
        nbformat.v4.new_code_cell(
            "%load_ext jupyter_ext\n"
            f"%clamp classify {FIXTURES / 'scores' / 'lieder_6053984.mxl'} --labels jig,reel,waltz"
            f" --model {model}"),
    ]
    nbformat.write(nb, path)


class Page:
    """A chromium page on our server that records every request and every error."""

    def __init__(self, browser, server):
        self.ctx = browser.new_context(viewport={"width": 1280, "height": 1400})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.ctx.on("request", lambda r: self.requests.append(r.url))
        # nothing leaves the machine even if something tried: only 127.0.0.1 is answered
        self.ctx.route("**/*", lambda route: route.continue_() if jupyter_helpers.is_local(
            route.request.url) else route.abort())
        self.page = self.ctx.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.server = server

    def open(self, path: str) -> None:
        sep = "&" if "?" in path else "?"
        self.page.goto(f"{self.server['url']}{path}{sep}token={self.server['token']}")
        self.page.wait_for_function(
            "() => window.jupyterapp && jupyterapp.shell.currentWidget"
            " && jupyterapp.shell.currentWidget.sessionContext"
            " && jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === 'idle'",
            timeout=120_000)

    def run_all(self) -> None:
        self.page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")

    def kernel_print(self, code: str) -> str:
        """What ``code`` prints in the notebook's kernel."""
        return self.page.evaluate("""async (code) => {
            const kernel = jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const future = kernel.requestExecute({ code });
            let out = "";
            future.onIOPub = (msg) => {
                if (msg.header.msg_type === "stream") out += msg.content.text;
            };
            await future.done;
            return out.trim();
        }""", code)

    def close(self) -> None:
        self.ctx.close()


def _exercise(pg: Page, name: str) -> None:
    """Search, render, play, "more like this" and the once-per-page abcjs check."""
    page = pg.page
    page.wait_for_selector(".clamp-search .clamp-query", timeout=KERNEL_READY_S * 1000)
    # the other widgets of the page render their notation from the same abcjs
    page.wait_for_function("document.querySelectorAll('.clamp-show svg .abcjs-note').length > 20",
                           timeout=KERNEL_READY_S * 1000)
    page.wait_for_function("document.querySelectorAll('.clamp-classify .clamp-bar').length === 3",
                           timeout=KERNEL_READY_S * 1000)
    # a Lied for voice and piano is unlike the fiddle tunes and Chinese songs of the calibration
    assert page.inner_text(".clamp-classify .clamp-prob-caption") == "Calibrated probabilities"
    assert "unlike anything the model was trained on" in page.inner_text(
        ".clamp-classify .clamp-ood")
    page.fill(".clamp-search .clamp-query", QUERY)
    page.press(".clamp-search .clamp-query", "Enter")
    page.wait_for_function(
        "q => (document.querySelector('.clamp-search .clamp-heading') || {})"
        ".textContent?.includes(q)",
        arg=QUERY, timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.clamp-search .clamp-result')].length === 3 &&"
        " [...document.querySelectorAll('.clamp-search .clamp-result')].every("
        "   r => r.querySelectorAll('svg .abcjs-note').length > 5)", timeout=60_000)
    assert pg.kernel_print("print(search.query)") == QUERY
    # each result's calibrated chance of fitting the query, as the kernel computed it
    matches = page.locator(".clamp-search .clamp-result .clamp-match").all_inner_texts()
    relevance = json.loads(pg.kernel_print(
        "import json; print(json.dumps([r['relevance'] for r in search.results]))"))
    # the browser rounds as JavaScript does: each percentage within half a point of the kernel's
    assert len(matches) == len(relevance) and all(m.endswith("% match") for m in matches)
    assert all(abs(int(m.split("%")[0]) - 100 * r) <= 0.5 + 1e-6
               for m, r in zip(matches, relevance, strict=True))
    assert pg.kernel_print("print(search.no_good_match)") == "False"
    assert page.locator(".clamp-search .clamp-no-match").count() == 0
    first = page.locator(".clamp-search .clamp-result").first
    first_id = first.get_attribute("data-id")
    first.locator(".clamp-play").click()
    page.wait_for_function("() => window.__clampNotation && __clampNotation.lastPlayback",
                           timeout=30_000)
    played = page.evaluate("__clampNotation.lastPlayback")
    assert played["notes"] > 20 and played["seconds"] > 1
    scheduled = first.locator(".clamp-play").get_attribute("data-scheduled-notes")
    assert int(scheduled) == played["notes"]
    page.screenshot(path=str(_artifact(f"{name}-search.png")), full_page=True)
    first.locator(".clamp-play").click()  # stop
    first.locator(".clamp-similar").click()
    page.wait_for_function(
        "() => (document.querySelector('.clamp-search .clamp-heading') || {})"
        ".textContent?.startsWith('Scores like')",
        timeout=60_000)
    page.wait_for_function(
        "id => [...document.querySelectorAll('.clamp-search .clamp-result')].length === 3 &&"
        " ![...document.querySelectorAll('.clamp-search .clamp-result')]"
        ".some(r => r.dataset.id === id)",
        arg=first_id, timeout=60_000)
    # neighbours by music cosine, not matches; the reel is like the training tunes: no warning
    assert page.locator(".clamp-search .clamp-match").count() == 0
    assert page.locator(".clamp-search .clamp-ood").count() == 0
    assert json.loads(pg.kernel_print("import json; print(json.dumps(search.novelty))"))[
        "out_of_domain"] is False
    # three widgets drew notation; abcjs crossed the comm once, on this page and in the kernel
    assert page.evaluate("__clampNotation.transfers") == 1
    assert pg.kernel_print(
        "from jupyter_ext.base import ABCJS_SENDS; print(ABCJS_SENDS['count'])") == "1"
    # the kernel imports the installed project (this venv), not the test's working tree
    where = pg.kernel_print(
        "import sys, jupyter_ext; print(sys.executable); print(jupyter_ext.__file__)")
    assert where.splitlines()[0] == sys.executable
    assert page.locator(".clamp-search .clamp-error").count() == 0
    page.screenshot(path=str(_artifact(f"{name}-similar.png")), full_page=True)


def _check_clean(pg: Page) -> None:
    foreign = [u for u in pg.requests if not jupyter_helpers.is_local(u)]
    assert foreign == [], f"requests left 127.0.0.1: {foreign[:5]}"
    ours = [e for e in pg.errors if not any(k in e for k in KNOWN_NOISE)
            and any(k in e.lower() for k in ("clamp", "anywidget", "abcjs", "widget"))]
    assert ours == [], ours


@pytest.fixture(scope="module")
def pages(server, browser, small_index, calibrated_model):
    """Both front ends opened and their notebooks started together, so that the two kernels
    load the model while the other page loads (each notebook its own copy: its own kernel)."""
    opened = {}
    try:
        for name, path in (("jupyterlab", "/lab/tree/lab.ipynb?reset"),
                           ("notebook7", "/notebooks/nb7.ipynb")):
            _notebook(server["root"] / path.split("/")[-1].split("?")[0], small_index,
                      calibrated_model)
            opened[name] = Page(browser, server)
            opened[name].open(path)
            opened[name].run_all()
        yield opened
    finally:
        for pg in opened.values():
            pg.close()


def test_jupyterlab(pages, server):
    pg = pages["jupyterlab"]
    _exercise(pg, "jupyterlab")
    # saved widget state: small, and no copy of abcjs in it
    nb_path = server["root"] / "lab.ipynb"
    pg.page.evaluate("() => jupyterapp.commands.execute('docmanager:save')")
    deadline = time.monotonic() + 30
    while "widget-state" not in nb_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    saved = nbformat.read(nb_path, as_version=4)
    state = saved.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    ours = [s for s in state.values()
            if s["state"].get("_anywidget_id", "").startswith("jupyter_ext.")]
    assert len(ours) == 3
    text = json.dumps(saved.metadata["widgets"])
    assert "abcjs_basic v" not in text
    assert len(text) < 200_000, f"widget state is {len(text)} characters"
    _check_clean(pg)


def test_notebook7(pages):
    pg = pages["notebook7"]
    _exercise(pg, "notebook7")
    _check_clean(pg)


def _artifact(name: str) -> Path:
    jupyter_helpers.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return jupyter_helpers.ARTIFACTS / name
