"""CLI verbs of the MuseScore bridge: `clamp serve` and `clamp musescore ...`.

Attached to the `clamp` group lazily by clamp_core.cli.root (its COMMANDS table): nothing
imports this module until one of its verbs runs.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from clamp_core.cli.output import emit_json, warn_unfamiliar
from clamp_core.errors import ClampError

from . import discovery

START_WAIT_S = 300  # a first start imports torch and loads the model; slow disks take a while


def running_service() -> dict | None:
    """The discovery record of a live, answering service, else None."""
    from .service import request

    info = discovery.read_discovery()
    if info is None or not discovery.pid_alive(info.get("pid")):
        return None
    try:
        status, body = request(info["url"], "GET", "/health", None, info["token"], timeout=5)
    except OSError:
        return None
    return info if status == 200 and body.get("ok") else None


@click.command()
@click.option("--model", "model_name", default="default", show_default=True, type=click.Path(),
              help="Model folder, or 'default' for the model shipped with clamp-notation.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --allow-remote.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free port; clients read it from the discovery file).")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (not advised).")
@click.option("--index", "indexes", multiple=True, type=click.Path(file_okay=False),
              help="Library index offered to the plugin's Similar view; repeatable.")
@click.option("--timeout", "timeout_s", default=120.0, show_default=True,
              type=click.FloatRange(1, 3600), help="Seconds of model work per request.")
@click.option("--max-body-mb", default=32, show_default=True, type=click.IntRange(1, 1024),
              help="Largest request body accepted.")
@click.option("--detach", is_flag=True,
              help="Start in the background, wait until it answers, print its URL and return.")
@click.option("--no-warm", is_flag=True, help="Skip filling the caption caches at start.")
@click.option("--status", is_flag=True,
              help="Say whether a service runs (exit 0) or not (exit 1), and where; start none.")
@click.option("--stop", is_flag=True, help="Stop the running service and wait until it is gone.")
@click.option("--json", "as_json", is_flag=True, help="Print the discovery record (no token).")
def serve(model_name: str, host: str, port: int, allow_remote: bool, indexes: tuple[str, ...],
          timeout_s: float, max_body_mb: int, detach: bool, no_warm: bool, status: bool,
          stop: bool, as_json: bool) -> None:
    """Run the local service the MuseScore plugin talks to (the model is loaded once)."""
    from .service import is_loopback, start_service, warn_remote

    if status and stop:
        raise ClampError("--status and --stop do different things; pass one of them")
    live = running_service()
    if status or stop:
        _status_or_stop(live, stop, as_json)
        return
    if live is not None:
        if detach:
            _report(live, as_json, "already running")
            return
        raise ClampError(f"a clamp service is already running at {live['url']} (pid "
                         f"{live['pid']}); stop it first with `clamp serve --stop`")
    if not is_loopback(host):
        if not allow_remote:
            raise ClampError(f"refusing to listen on {host}: the service is for this computer "
                             "only; use 127.0.0.1, or pass --allow-remote if you really mean it")
        warn_remote(host)
    if detach:
        _start_detached()
        info = discovery.read_discovery()
        _report(info, as_json, "started")
        return
    logging.basicConfig(level=logging.INFO, format="clamp serve: %(message)s")
    svc = start_service(model_name, host, port, allow_remote=allow_remote, indexes=indexes,
                        max_body_bytes=max_body_mb * 1024 * 1024, timeout_s=timeout_s,
                        discovery_file=discovery.discovery_path(), warm=not no_warm)

    def stop(*_):
        raise KeyboardInterrupt  # unwinds svc.wait() in the main thread to the finally below

    signal.signal(signal.SIGTERM, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, stop)
    info = discovery.read_discovery() or {"url": svc.url, "pid": os.getpid()}
    _report(info, as_json, "listening")
    sys.stdout.flush()
    try:
        svc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        svc.stop()


STOP_WAIT_S = 15  # a service finishing a request (model work is capped by --timeout) stops soon


def _status_or_stop(live: dict | None, stop: bool, as_json: bool) -> None:
    """`clamp serve --status` / `--stop`: only a live service that answers with the token of the
    discovery file counts, so a stale file or a reused pid is never signalled."""
    if live is None:
        if as_json:
            emit_json({"running": False, "discovery": str(discovery.discovery_path())})
        else:
            click.echo("no clamp service is running")
        if not stop:
            sys.exit(1)
        return
    if not stop:
        if as_json:
            public = {k: v for k, v in live.items() if k != "token"}
            emit_json({"running": True, **public, "discovery": str(discovery.discovery_path())})
        else:
            _report(live, False, "running")
        return
    pid = live["pid"]
    os.kill(pid, signal.SIGTERM)  # its handler unwinds to svc.stop(), which removes the file
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline and discovery.pid_alive(pid):
        time.sleep(0.1)
    if discovery.pid_alive(pid):
        raise ClampError(f"the service (pid {pid}) did not stop within {STOP_WAIT_S} s; "
                         f"end it with `kill -9 {pid}` (Windows: taskkill /F /PID {pid})")
    if as_json:
        emit_json({"running": False, "stopped": pid})
    else:
        click.echo(f"clamp service stopped (pid {pid})")


def _report(info: dict, as_json: bool, what: str) -> None:
    public = {k: v for k, v in info.items() if k != "token"}
    if as_json:
        emit_json({**public, "discovery": str(discovery.discovery_path())})
    else:
        click.echo(f"clamp service {what} at {info['url']} (pid {info['pid']}); discovery file "
                   f"{discovery.discovery_path()}")


def _start_detached() -> None:
    """Start `clamp serve` (same options, without --detach) in its own session and wait for it."""
    args = [a for a in sys.argv[1:] if a != "--detach"]
    if "serve" not in args:
        args = ["serve", *args]
    args = args[args.index("serve"):]
    log_path = discovery.config_dir() / "service.log"
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    kw: dict = {"start_new_session": True}
    if sys.platform.startswith("win"):
        kw = {"creationflags": subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP}
    with open(log_path, "ab") as log:
        child = subprocess.Popen([sys.executable, "-m", "clamp_core", *args],
                                 stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log, close_fds=True, **kw)
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        info = discovery.read_discovery()
        if info is not None and info.get("pid") == child.pid:
            return
        if child.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise ClampError("the service stopped while starting: " + " | ".join(tail)
                             + f" (full log: {log_path})")
        time.sleep(0.2)
    child.terminate()
    raise ClampError(f"the service did not start within {START_WAIT_S} s; see {log_path}")


# -- clamp musescore ...
@click.group()
def musescore() -> None:
    """The MuseScore plugin: install it, and run its actions on score files from scripts."""


@musescore.command("install")
@click.option("--version", "ms_version", type=click.Choice(["3", "4"]), default=None,
              help="MuseScore major version (default: every one whose user folder exists).")
@click.option("--dir", "folder", type=click.Path(file_okay=False),
              help="MuseScore's plugin folder, if you changed it in Preferences -> Folders.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def install_cmd(ms_version: str | None, folder: str | None, as_json: bool) -> None:
    """Copy the CLaMP plugin into MuseScore's plugin folder.

    On Linux it also checks that the system's Qt 5 has the QML module the plugin's dialog needs
    under MuseScore 3 (QtQuick.Controls 2), and says which package to install when it has not."""
    from .install import install, requirement_warnings

    version = int(ms_version) if ms_version else None
    done = install(version, folder)
    warnings = requirement_warnings(version, folder)
    if as_json:
        emit_json({"installed": [str(p) for p in done], "warnings": warnings})
    else:
        for p in done:
            click.echo(f"installed the CLaMP plugin in {p}")
        click.echo("In MuseScore 3: Plugins -> Plugin Manager, tick 'CLaMP'. In MuseScore 4: "
                   "Home -> Plugins, enable 'CLaMP'. Restart MuseScore if it is open. Start the "
                   "service with `clamp serve`, or from the plugin.")
    for w in warnings:
        click.echo(f"warning: {w}", err=True)


@musescore.command("uninstall")
@click.option("--version", "ms_version", type=click.Choice(["3", "4"]), default=None)
@click.option("--dir", "folder", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def uninstall_cmd(ms_version: str | None, folder: str | None, as_json: bool) -> None:
    """Remove the CLaMP plugin from MuseScore's plugin folder(s)."""
    from .install import uninstall

    removed = uninstall(int(ms_version) if ms_version else None, folder)
    if as_json:
        emit_json({"removed": [str(p) for p in removed]})
    elif removed:
        for p in removed:
            click.echo(f"removed {p}")
    else:
        click.echo("the plugin was not installed there; nothing removed")


def _score_options(f):
    for o in reversed([
        click.argument("file", type=click.Path(dir_okay=False)),
        click.option("--model", "model_name", default="default", show_default=True,
                     type=click.Path()),
        click.option("--service", "use_service", is_flag=True,
                     help="Use the running `clamp serve` instead of loading the model here."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
    ]):
        f = o(f)
    return f


def _run(action: str, file: str, model_name: str, use_service: bool, options: dict) -> dict:
    """One action on a score file, here or through the running service; the service's JSON."""
    from clamp_core.scores import load_score

    from .tasks import Engine

    if use_service:
        info = running_service()
        if info is None:
            raise ClampError("no clamp service is running; start one with `clamp serve` "
                             "(or drop --service)")
        from .service import request

        status, body = request(info["url"], "POST", f"/{action}",
                               {**_upload(file), **options}, info["token"])
        if status != 200:
            raise ClampError(body.get("error") or f"the service answered HTTP {status}")
        return {"file": file, **body}
    if not Path(file).is_file():
        raise ClampError(f"{file}: file not found; check the path")
    engine = Engine.load(model_name)
    try:
        score = load_score(file)
        kind = Path(file).suffix.lower().lstrip(".")
        if action == "caption":
            res = engine.run(engine.caption, score, kind)
        elif action == "classify":
            from .tasks import labels_from

            labels, label_set = labels_from(options)
            res = engine.run(engine.classify, score, kind, labels, label_set)
        else:
            res = engine.run(engine.similar, score, kind, options["index"], options["k"])
        return {"ok": True, "action": action, "model": model_name, "file": file, **res}
    finally:
        engine.close()


def _upload(file: str) -> dict:
    """A score file as the service takes it: its own bytes, MusicXML as ``musicxml_base64`` and
    any other format as ``score_base64`` named by the file's extension (the service reads it)."""
    from clamp_core.scores import SUPPORTED_EXTENSIONS

    path = Path(file)
    if not path.is_file():
        raise ClampError(f"{file}: file not found; check the path")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise ClampError(f"{file}: unsupported file type {suffix or '(no extension)'!r}; "
                         f"supported: {' '.join(SUPPORTED_EXTENSIONS)}")
    b64 = base64.b64encode(path.read_bytes()).decode("ascii")
    if suffix in (".xml", ".musicxml", ".mxl"):
        return {"musicxml_base64": b64}
    return {"score_base64": b64, "format": suffix}


def _note_unfamiliar(res: dict) -> None:
    """The one-line stderr note of the core CLI when the response flags the score as unlike the
    model's training music (the service's ``novelty`` dict, rebuilt as a Novelty)."""
    from clamp_core.calibration import Novelty

    nov = res.get("novelty") or (res.get("caption") or {}).get("novelty")
    if nov and nov.get("out_of_domain"):
        warn_unfamiliar(Novelty(nov.get("nearest_training_cosine"), nov.get("threshold")))


@musescore.command("caption")
@_score_options
def ms_caption(file: str, model_name: str, use_service: bool, as_json: bool) -> None:
    """Caption a score file (any format, .mscz/.mscx included) as the plugin does.

    The caption states a facet (genre, form, ...) only where the model is confident enough; the
    JSON lists what it states and what it is unsure of. A score unlike anything the model was
    trained on gets a note on stderr (JSON: "novelty")."""
    res = _run("caption", file, model_name, use_service, {})
    if as_json:
        emit_json(res)
    else:
        import textwrap

        click.echo(textwrap.fill(res["caption"]["text"], width=100))
        _note_unfamiliar(res)


@musescore.command("classify")
@_score_options
@click.option("--labels", help='Comma-separated labels, e.g. "art song,opera aria,hymn".')
@click.option("--label-set", help="A built-in label set (genres, moods, eras, ...).")
def ms_classify(file: str, model_name: str, use_service: bool, as_json: bool, labels: str | None,
                label_set: str | None) -> None:
    """Classify a score file against labels or a built-in label set, as the plugin does.

    Probabilities are calibrated where the model carries a calibration (`clamp calibrate`;
    JSON "calibrated"). A score unlike anything the model was trained on gets a note on stderr
    (JSON: "novelty")."""
    if bool(labels) == bool(label_set):
        raise click.UsageError("give exactly one of --labels and --label-set")
    opts = {"labels": labels} if labels else {"label_set": label_set}
    res = _run("classify", file, model_name, use_service, opts)
    if as_json:
        emit_json(res)
        return
    width = max(len(r["label"]) for r in res["labels"])
    for r in res["labels"]:
        click.echo(f"{r['label']:<{width}}  {r['probability'] * 100:5.1f}%")
    _note_unfamiliar(res)


@musescore.command("similar")
@_score_options
@click.option("--index", "index_path", required=True, type=click.Path(file_okay=False),
              help="The library index to search.")
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(1, 200))
def ms_similar(file: str, model_name: str, use_service: bool, as_json: bool, index_path: str,
               k: int) -> None:
    """Scores of a library index most like a score file, as the plugin lists them.

    Score = cosine of the two pieces' music embeddings (1: the same music; above about 0.8:
    closely alike)."""
    res = _run("similar", file, model_name, use_service, {"index": index_path, "k": k})
    if as_json:
        emit_json(res)
        return
    if not res["results"]:
        click.echo("no results: the index is empty")
    for h in res["results"]:
        click.echo(f"{h['rank']:3d}  {h['score']:.3f}  {h['title'] or '-'}  "
                   f"({h['composer'] or '-'})  {h['path']}")
    _note_unfamiliar(res)
