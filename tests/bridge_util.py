"""Helpers shared by the MuseScore bridge tests: one loaded default model per test session,
small real scores as the service takes them, and raw HTTP for requests a client would not send."""

from __future__ import annotations

import base64
import functools
import http.client
import json
import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
SCORES = FIXTURES / "scores"
CURSOR = FIXTURES / "musescore"
PLUGIN = Path(__file__).parents[1] / "musescore_bridge" / "plugin"
QML_STUBS = FIXTURES / "qml_stubs"


@functools.lru_cache(maxsize=1)
def shared_clamp():
    """The shipped default model, loaded once for every bridge test module."""
    from clamp_core.api import Clamp
    from clamp_core.calibration import Calibration

    clamp = Clamp.load("default", precision="fp32")  # the same vectors on every CPU
    clamp.calibration = Calibration.missing()  # plain answers; calibrated tests install their own
    return clamp


def mxl_payload(name: str = "lieder_6053984.mxl") -> dict:
    return {"musicxml_base64": base64.b64encode((SCORES / name).read_bytes()).decode("ascii")}


def cursor_payload(name: str = "lieder_6053984_cursor.json") -> dict:
    return {"cursor": json.loads((CURSOR / name).read_text(encoding="utf-8"))}


def musicxml_text(name: str = "lieder_6053984.mxl") -> str:
    """The MusicXML inside a fixture .mxl (what writeScore hands the plugin)."""
    import zipfile

    with zipfile.ZipFile(SCORES / name) as zf:
        member = next(m for m in zf.namelist() if m.endswith((".xml", ".musicxml"))
                      and not m.startswith("META-INF"))
        return zf.read(member).decode("utf-8")


def raw_request(url: str, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, dict]:
    """(status, JSON body, response headers) for a request with exactly these headers."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else {}, dict(resp.getheaders())
    finally:
        conn.close()


def have(*programs: str) -> str | None:
    """The first of ``programs`` missing from PATH, or None when all are there."""
    return next((p for p in programs if shutil.which(p) is None), None)
