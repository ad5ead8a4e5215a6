"""The front-end code of the widgets: each widget's ES module is a few small fragments
(static/lib/*.js) plus its view file, joined here; abcjs is sent separately, once per page."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path

STATIC = Path(__file__).parent / "static"
ABCJS_FILE = STATIC / "vendor" / "abcjs-basic-min.js"
FRAGMENTS = ("dom.js", "abcjs_loader.js", "player.js", "notation.js")  # in dependency order
VIEWS = ("search", "classify", "caption", "score")

_FORBIDDEN = re.compile(r"^\s*(import|export)\b", re.MULTILINE)


@functools.cache
def abcjs_bytes() -> bytes:
    return ABCJS_FILE.read_bytes()


@functools.cache
def abcjs_version() -> str:
    """From the file's banner (``/*! abcjs_basic v6.7.2 ...``), so updating the file suffices."""
    m = re.search(rb"abcjs_basic v(\d+\.\d+\.\d+)", abcjs_bytes()[:200])
    if not m:
        raise RuntimeError(f"{ABCJS_FILE}: no version banner; re-vendor abcjs (see VENDORED.txt)")
    return m.group(1).decode()


@functools.cache
def abcjs_sha256() -> str:
    return hashlib.sha256(abcjs_bytes()).hexdigest()


@functools.cache
def widget_esm(view: str) -> str:
    """One view's ES module: constants, the shared fragments, then ``static/<view>.js``."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; one of {', '.join(VIEWS)}")
    parts = [f"const ABCJS_VERSION = {json.dumps(abcjs_version())};\n",
             f"const ABCJS_SHA256 = {json.dumps(abcjs_sha256())};\n"]
    for name in FRAGMENTS:
        text = (STATIC / "lib" / name).read_text(encoding="utf-8")
        if _FORBIDDEN.search(text):
            raise RuntimeError(f"static/lib/{name}: fragments may not import or export")
        parts.append(f"// --- lib/{name}\n{text}")
    parts.append(f"// --- {view}.js\n" + (STATIC / f"{view}.js").read_text(encoding="utf-8"))
    return "\n".join(parts)


@functools.cache
def widget_css() -> str:
    return (STATIC / "widget.css").read_text(encoding="utf-8")
