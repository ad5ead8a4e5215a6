"""The local clamp service: the model loaded once, reached over HTTP on 127.0.0.1 by the
MuseScore plugin and by scripts (`clamp serve`).

Endpoints (JSON in, JSON out; every one needs ``Authorization: Bearer <token>``):

=====================  ==============================================================
``GET  /health``        ``{"ok": true, "version", "pid"}``
``GET  /info``          version (the plugin checks it), model, label sets, indexes, limits
``POST /caption``       a score -> facts, facets, stated, unsure, sentence, text, novelty
``POST /classify``      a score + ``labels`` (list or "a,b,c") or ``label_set`` -> ranked labels
                        with calibrated probabilities, ``calibrated``, ``novelty``
``POST /similar``       a score + ``index`` (an index folder) + ``k`` -> ranked library scores
                        (``score``: music-music cosine), ``novelty``; ``passages``: true
                        returns passages (each with ``bars`` [first, last]), ``bars`` [9, 16]
                        matches those bars of the score (an index built with --passages), or
                        ``measures`` [4, 7] (0-based positions); ``any_key``: true matches the
                        score in any of the 12 keys
``POST /search``        ``query`` + ``index`` + ``k`` (+ ``min_score``, 0-1) -> ranked library
                        scores with ``relevance`` (0-1), ``no_good_match``; ``passages`` as
                        for /similar
=====================  ==============================================================

``novelty`` (classify, similar; caption has it in ``caption`` too) is ``{"out_of_domain": bool,
"nearest_training_cosine", "threshold", "message"}`` (``message`` only when out of domain): a
score unlike anything the model was trained on, whose answers deserve caution. Probabilities and
relevances are calibrated where the model folder carries a calibration (`clamp calibrate`;
``calibrated`` in /info, /classify and /search says whether it does); ``no_good_match`` is true
when even the best hit is below the model's "no good match" level.

A score is sent as JSON ``{"musicxml": text}``, ``{"musicxml_base64": b64}`` (MusicXML or
.mxl), ``{"score_base64": b64, "format": f}`` (any format ``clamp_core.scores.load_score``
reads; ``f`` is a format name such as "midi", an extension or the file name) or
``{"cursor": {...}}`` (the plugin's cursor-walk JSON, see ``cursor_json``), ``{"path": abs}``
(a saved score file, read as `clamp` reads it: the command line's answers), or as a raw upload
with ``Content-Type: application/vnd.recordare.musicxml+xml`` (or ``application/xml``,
``text/xml``; ``application/vnd.recordare.musicxml`` for .mxl) and the options in the query
string. Answers: ``{"ok": true, "action", "model", "elapsed_ms", ...}`` or
``{"ok": false, "error": "<one line saying what to do>"}`` with 400 (bad input), 401 (no or
wrong token), 403 (foreign Host, or a browser Origin), 404, 405, 411, 413 (over the size cap),
415, 503 (too many connections), 504 (the model did not finish in time).

Security: loopback only unless ``allow_remote``; a fresh random token per start, compared in
constant time; the Host header must name loopback (stops DNS rebinding); requests carrying an
``Origin`` are refused and no CORS header is ever sent (a browser page cannot use the service);
a body cap checked before reading; socket and per-request time limits; the token is never logged.

Use from Python (tests, benchmarks)::

    from musescore_bridge.service import start_service
    with start_service("default", port=0) as svc:     # model name/folder, or a loaded Clamp
        svc.url, svc.token                            # "http://127.0.0.1:PORT", "..."
        svc.request("POST", "/caption", {"musicxml": text})   # -> (status, dict)
    # or: svc = start_service(...); ...; svc.stop()

``start_service(model, host="127.0.0.1", port=0, *, allow_remote=False, indexes=(),
max_body_bytes=MAX_BODY_BYTES, timeout_s=REQUEST_TIMEOUT_S, max_connections=MAX_CONNECTIONS,
discovery_file=None, warm=False) -> ServiceHandle``: ``discovery_file`` (a Path) writes the
discovery record there (0600) and removes it on ``stop()``; ``warm`` fills the caption caches
before returning. The server threads are daemons; ``stop()`` is idempotent.
"""

from __future__ import annotations

import hmac
import http.client
import ipaddress
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from clamp_core.errors import ClampError

from .discovery import remove_discovery, write_discovery
from .tasks import Engine, RequestTimeout

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 * 1024 * 1024   # a large orchestral MusicXML as JSON or base64 fits
REQUEST_TIMEOUT_S = 120.0           # model work per request (a first caption takes seconds)
SOCKET_TIMEOUT_S = 30.0             # a client that stops sending is dropped after this
MAX_CONNECTIONS = 64
DRAIN_S, DRAIN_BYTES = 1.0, 1 << 20  # unread input drained before closing a refused request
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ACTIONS = ("caption", "classify", "similar", "search")
_RAW_TYPES = {
    "application/vnd.recordare.musicxml+xml": "musicxml", "application/xml": "musicxml",
    "text/xml": "musicxml", "application/vnd.recordare.musicxml": "mxl",
}


def _version() -> str:
    from clamp_core import __version__

    return __version__


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def host_header_ok(value: str | None, allow_remote: bool) -> bool:
    """True when the Host header names loopback (any name, with remote access allowed)."""
    if value is None:
        return False
    value = value.strip().lower()
    if allow_remote:
        return bool(value)
    if value.startswith("["):  # [::1]:port
        name = value[1:value.find("]")] if "]" in value else ""
    else:
        name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    return name in LOOPBACK_NAMES or (name.startswith("127.") and is_loopback(name))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a second service must not share a port with a live one
    # socketserver's backlog of 5 overflows when a burst of clients connects while the GIL is
    # busy; Linux then resets some of those connections (seen under 16 clients on 2 cores)
    request_queue_size = 128

    def __init__(self, addr, handler, service: ServiceHandle):
        self.service = service
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "clamp-notation"
    sys_version = ""
    timeout = SOCKET_TIMEOUT_S

    # -- plumbing ---------------------------------------------------------------------------------
    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: dict, close: bool = False) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="clamp"')
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client went away; nothing left to tell it

    def _error(self, status: int, message: str, close: bool = False) -> None:
        self._send(status, {"ok": False, "error": message}, close=close)

    def _refuse_unread(self, status: int, message: str) -> None:
        """Answer and close a request whose body is not read: on close, drain a little of it, as
        closing with unread input makes the kernel reset the connection, which can destroy the
        answer before the client reads it."""
        self._error(status, message, close=True)
        self._drain_on_close = True

    def finish(self) -> None:
        super().finish()
        if not getattr(self, "_drain_on_close", False):
            return
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(DRAIN_S)
            left, end = DRAIN_BYTES, time.monotonic() + DRAIN_S
            while left > 0 and time.monotonic() < end:
                chunk = self.connection.recv(min(65536, left))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def _guard(self) -> bool:
        """Host, Origin and token checks shared by every method; False when answered already."""
        svc = self.server.service
        if svc._stopped.is_set():
            # a kept-alive connection outlives stop(): close it unanswered, as a stopped
            # service would be, so a client reads the discovery file again (and never gets a
            # 500 from the closed engine)
            self.close_connection = True
            return False
        if not host_header_ok(self.headers.get("Host"), svc.allow_remote):
            self._refuse_unread(403, "the Host header must name this computer (127.0.0.1 or "
                                "localhost)")
            return False
        if self.headers.get("Origin") is not None:
            self._refuse_unread(403, "requests from web pages are not accepted")
            return False
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode("utf-8", "replace"), svc.token.encode()):
            self._refuse_unread(401, "missing or wrong token: send 'Authorization: Bearer "
                                "<token>' with the token from the service's discovery file")
            return False
        return True

    def handle_one_request(self) -> None:
        svc = self.server.service
        if not svc._slots.acquire(blocking=False):
            # read the request line so the client gets a proper answer, then shed it
            try:
                self.raw_requestline = self.rfile.readline(65537)
                if self.parse_request():
                    self._refuse_unread(503, "the service is busy; retry in a moment")
            except OSError:
                pass
            self.close_connection = True
            return
        try:
            super().handle_one_request()
        except TimeoutError:
            self.close_connection = True
        finally:
            svc._slots.release()

    # -- methods ----------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if not self._guard():
            return
        svc = self.server.service
        path = urlsplit(self.path).path
        if path == "/health":
            self._send(200, {"ok": True, "version": _version(), "pid": os.getpid()})
        elif path == "/info":
            self._send(200, {"ok": True, **svc.info()})
        elif path.strip("/") in ACTIONS:
            self._error(405, f"use POST for {path}", close=False)
        else:
            self._error(404, f"no endpoint {path}; see /info")

    def do_POST(self) -> None:
        if not self._guard():
            return
        svc = self.server.service
        parts = urlsplit(self.path)
        action = parts.path.strip("/")
        if self.headers.get("Transfer-Encoding"):
            self._refuse_unread(411, "send the body with a Content-Length (no chunked encoding)")
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            self._refuse_unread(411, "a Content-Length header is required")
            return
        length = int(length_text)
        if length > svc.max_body_bytes:
            self._refuse_unread(413, f"request body of {length} bytes is over the service's cap "
                                f"of {svc.max_body_bytes} bytes; send a smaller score")
            return
        if action not in ACTIONS:
            self._refuse_unread(404 if action not in ("health", "info") else 405,
                                f"no POST endpoint {parts.path}; use /caption, /classify, "
                                "/similar or /search")
            return
        try:
            body = self.rfile.read(length)
        except OSError:
            self.close_connection = True
            return
        if len(body) < length:
            self._error(400, "the request body ended early", close=True)
            return
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        raw = raw_kind = None
        if media == "application/json" or (media == "" and body[:1] in (b"{", b" ")):
            try:
                payload = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as e:
                self._error(400, f"the body is not valid JSON ({e}); send a JSON object")
                return
            if not isinstance(payload, dict):
                self._error(400, "the JSON body must be an object")
                return
        elif media in _RAW_TYPES:
            payload = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            raw, raw_kind = body, _RAW_TYPES[media]
        else:
            self._error(415, f"Content-Type {media or '(none)'!r} is not accepted; send "
                        "application/json or MusicXML (application/vnd.recordare.musicxml+xml)")
            return
        t0 = time.perf_counter()
        try:
            result = svc.engine.run(svc.engine.handle, action, payload, raw, raw_kind,
                                    timeout=svc.timeout_s)
        except ClampError as e:
            self._error(400, str(e))
            return
        except RequestTimeout:
            self._error(504, f"the model did not finish within {svc.timeout_s:g} s; try a "
                        "shorter score or start the service with a longer --timeout")
            return
        except Exception:  # noqa: BLE001 - a bug: log it, answer without internals
            log.error("internal error on %s:\n%s", action, traceback.format_exc())
            self._error(500, "internal error in the clamp service (see its log); please report it")
            return
        self._send(200, {"ok": True, "action": action, "model": svc.engine.clamp.name,
                         "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1), **result})

    def _refuse(self) -> None:
        if self._guard():
            self._refuse_unread(405, f"method {self.command} is not supported")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def do_HEAD(self) -> None:
        self._refuse()


class ServiceHandle:
    """A running service: ``url``, ``token``, ``host``, ``port``, ``engine``; ``stop()``."""

    def __init__(self, engine: Engine, host: str, port: int, allow_remote: bool,
                 max_body_bytes: int, timeout_s: float, max_connections: int,
                 discovery_file: Path | None):
        self.engine = engine
        self.allow_remote = allow_remote
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.token = secrets.token_urlsafe(32)
        self._slots = threading.BoundedSemaphore(max_connections)
        self._server = _Server((host, port), _Handler, self)
        self.host = host
        self.port = self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self.discovery_file = discovery_file
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever, name="clamp-http",
                                        kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        if discovery_file is not None:
            write_discovery(discovery_file, {
                "url": self.url, "token": self.token, "pid": os.getpid(),
                "version": _version(), "model": engine.clamp.name,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

    def info(self) -> dict[str, Any]:
        from clamp_core.labels import builtin_names, load_label_set

        return {"service": "clamp-notation", "version": _version(), "pid": os.getpid(),
                "model": self.engine.clamp.name, "dim": self.engine.clamp.dim,
                "calibrated": bool(self.engine.clamp.calibration.fitted),
                "label_sets": {n: list(load_label_set(n).labels) for n in builtin_names()},
                "indexes": self.engine.index_infos(),
                "limits": {"max_body_bytes": self.max_body_bytes, "timeout_s": self.timeout_s},
                "actions": list(ACTIONS)}

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None,
                timeout: float = 300) -> tuple[int, dict]:
        """A JSON request to this service (for tests and scripts): (status, decoded body)."""
        return request(self.url, method, path, body, self.token if token is None else token,
                       timeout)

    def wait(self) -> None:
        """Block until ``stop()`` (from a signal handler or another thread)."""
        while not self._stopped.wait(0.5):
            pass

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.discovery_file is not None:
            remove_discovery(self.discovery_file, self.token)
        self._server.shutdown()
        self._server.server_close()
        self.engine.close()

    def __enter__(self) -> ServiceHandle:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_service(model: Any = "default", host: str = "127.0.0.1", port: int = 0, *,
                  allow_remote: bool = False, indexes: tuple[str, ...] | list[str] = (),
                  max_body_bytes: int = MAX_BODY_BYTES, timeout_s: float = REQUEST_TIMEOUT_S,
                  max_connections: int = MAX_CONNECTIONS, discovery_file: Path | None = None,
                  warm: bool = False) -> ServiceHandle:
    """Load the model (a name/folder, or a loaded ``Clamp``) and serve it in background threads."""
    if not is_loopback(host) and not allow_remote:
        raise ClampError(f"refusing to listen on {host}: the service is for this computer only; "
                         "use 127.0.0.1, or pass --allow-remote if you really mean it")
    engine = Engine.load(model, indexes) if isinstance(model, str) else Engine(model, indexes)
    if warm:
        engine.run(engine.warm)
    try:
        return ServiceHandle(engine, host, port, allow_remote, max_body_bytes, timeout_s,
                             max_connections, discovery_file)
    except OSError as e:
        engine.close()
        raise ClampError(f"cannot listen on {host}:{port} ({e.strerror or e}); pick another "
                         "--port or stop the program using it") from None


def request(url: str, method: str, path: str, body: dict | None, token: str,
            timeout: float = 300) -> tuple[int, dict]:
    """One JSON request to a clamp service at ``url``: (HTTP status, decoded JSON body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Bearer {token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw.decode("utf-8"))
        except ValueError:
            return resp.status, {"ok": False, "error": raw.decode("utf-8", "replace")[:200]}
    finally:
        conn.close()


def warn_remote(host: str) -> None:
    print(f"clamp: WARNING: listening on {host}: anyone who can reach this address and has the "
          "token can use the service; keep the token secret and prefer 127.0.0.1", file=sys.stderr)
