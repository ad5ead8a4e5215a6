"""MuseScore scores (.mscz/.mscx): convert with a MuseScore executable, else the built-in reader.

Both routes start from the score's bytes; only the executable needs a file, so bytes that did
not come from one are written to a private temporary folder for it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from music21 import stream

from clamp_core.errors import ClampError, one_line
from clamp_core.scores.formats import parse_musicxml_bytes
from clamp_core.scores.mscx import read_mscx
from clamp_core.scores.safety import (
    check_bars,
    check_events,
    container_rootfiles,
    mscx_bars,
    mscx_events,
    open_zip,
    read_file,
    read_zip_member,
    xml_text,
)

log = logging.getLogger(__name__)

MuseScoreRoute = Literal["auto", "executable", "reader"]
MuseScoreKind = Literal["mscz", "mscx"]
ENV_VAR = "CLAMP_MUSESCORE"  # full path of a MuseScore executable, checked first
CONVERT_TIMEOUT_S = 120      # MuseScore 4's first start can take tens of seconds
EXECUTABLE_NAMES = (
    "mscore4", "MuseScore4", "musescore4", "mscore4portable",
    "mscore3", "MuseScore3", "musescore3", "mscore3portable",
    "mscore", "MuseScore", "musescore", "mscore-portable",
)
_INSTALL_PATHS = (
    "/Applications/MuseScore 4.app/Contents/MacOS/mscore",
    "/Applications/MuseScore 3.app/Contents/MacOS/mscore",
    r"C:\Program Files\MuseScore 4\bin\MuseScore4.exe",
    r"C:\Program Files\MuseScore 3\bin\MuseScore3.exe",
)
_STDERR_NOISE = ("QStandardPaths", "convert <", "Visit the", "qt.", "Qt:", "libpng")
_INSTALL_HINT = ("install MuseScore (e.g. `apt install musescore3`, or musescore.org) or set "
                 f"{ENV_VAR} to its path")


def find_musescore() -> str | None:
    """Path of a MuseScore executable: $CLAMP_MUSESCORE, then PATH, then usual install places.

    Debian's ``musescore`` package is MuseScore 2, which cannot open 3.x/4.x files; the
    ``auto`` route falls back to the reader when a conversion fails for that reason.
    """
    env = os.environ.get(ENV_VAR)
    if env and Path(env).is_file():
        return env
    for name in EXECUTABLE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in _INSTALL_PATHS if Path(p).is_file()), None)


@functools.lru_cache(maxsize=8)
def musescore_major_version(exe: str) -> int | None:
    """Major version of a MuseScore executable (``exe --version``), None if unknown."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        proc = subprocess.run([exe, "--version"], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"(\d+)\.\d+", (proc.stdout + proc.stderr).decode("utf-8", "replace"))
    return int(m.group(1)) if m else None


def file_major_version(data: bytes) -> int | None:
    """MuseScore format major version from the .mscx root (``<museScore version="4.60">``)."""
    m = re.search(rb"<museScore\s+version=\"(\d+)", data[:4096])
    return int(m.group(1)) if m else None


def convert_with_musescore(exe: str, data: bytes, name: str, kind: MuseScoreKind,
                           path: Path | None = None,
                           timeout: float = CONVERT_TIMEOUT_S) -> bytes:
    """Run ``exe -o out.musicxml FILE`` headless and return the MusicXML bytes. FILE is
    ``path`` when the score came from a file, else ``data`` written to the temporary folder."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed (else Qt aborts)
    with tempfile.TemporaryDirectory(prefix="clamp-mscore-") as tmp:
        out = Path(tmp) / "score.musicxml"
        if path is None:
            path = Path(tmp) / f"score.{kind}"  # MuseScore picks its reader by the extension
            path.write_bytes(data)
        try:
            proc = subprocess.run([exe, "-o", str(out), str(path.resolve())], env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ClampError(f"{name}: MuseScore ({exe}) did not finish converting within "
                             f"{timeout:.0f} s; convert it to MusicXML by hand") from None
        except OSError as exc:
            raise ClampError(f"{name}: cannot run MuseScore ({exe}): {one_line(exc)}; "
                             f"{_INSTALL_HINT}") from None
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            last = _stderr_summary(proc.stderr) or f"exit code {proc.returncode}"
            raise ClampError(f"{name}: MuseScore ({exe}) could not convert it ({last}); "
                             "open it in MuseScore and export MusicXML by hand")
        return read_file(out)


def _stderr_summary(raw: bytes) -> str:
    """The last meaningful stderr lines, without Qt start-up noise or HTML links."""
    lines = [re.sub(r"<[^>]+>", "", ln).strip()
             for ln in raw.decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(_STDERR_NOISE)]
    return one_line(Exception(" ".join(lines[-2:]))) if lines else ""


def mscx_xml(data: bytes, name: str, kind: MuseScoreKind) -> bytes:
    """The .mscx XML of .mscx bytes, or of the main score inside .mscz bytes."""
    if kind == "mscx":
        return data
    with open_zip(data, name) as zf:
        members = zf.namelist()
        # MuseScore 4 also stores part excerpts as .mscx under Excerpts/; the main score comes
        # first in container.xml
        candidates = [m for m in container_rootfiles(zf, name)
                      if m.lower().endswith(".mscx") and m in members]
        candidates += [m for m in members
                       if m.lower().endswith(".mscx") and not m.startswith("Excerpts/")]
        if not candidates:
            raise ClampError(f"{name}: zip archive without a MuseScore score (.mscx) inside; "
                             "re-save it in MuseScore")
        return read_zip_member(zf, candidates[0], name)


def load_musescore(data: bytes, name: str, kind: MuseScoreKind, route: MuseScoreRoute = "auto",
                   path: Path | None = None) -> stream.Score:
    """A music21 Score from MuseScore bytes (``path``: the file they were read from, if any)
    by the chosen route.

    ``executable`` needs MuseScore; ``reader`` uses the built-in .mscx reader; ``auto``
    prefers MuseScore's own MusicXML export and falls back to the reader.
    """
    if route not in ("auto", "executable", "reader"):
        raise ClampError(f"musescore route must be 'auto', 'executable' or 'reader', not {route!r}")
    # every route: entity and size checks before any parser, MuseScore's own included
    # what every parser below reads: the text that passed the scan, as UTF-8
    xml = xml_text(mscx_xml(data, name, kind), name, damaged="the MuseScore XML inside is "
                   "damaged ({why}); open and re-save it in MuseScore").encode("utf-8")
    check_bars(mscx_bars(xml), name)
    check_events(mscx_events(xml), name)
    fallback_reason: ClampError | None = None
    if route != "reader":
        exe = find_musescore()
        if exe is None and route == "executable":
            raise ClampError(f"{name}: no MuseScore executable found to convert it; "
                             f"{_INSTALL_HINT}, or use musescore='reader'")
        if exe is not None and route == "auto":
            # MuseScore cannot open files saved by a newer major version: skip the slow
            # failing start-up (common with Debian's MuseScore 3 and MuseScore 4 files)
            file_major, exe_major = file_major_version(xml), musescore_major_version(exe)
            if file_major and exe_major and file_major > exe_major:
                log.debug("%s: MuseScore %s file, %s is version %s; using the reader",
                          name, file_major, exe, exe_major)
                exe = None
        if exe is not None:
            try:
                musicxml = convert_with_musescore(exe, data, name, kind, path)
                return parse_musicxml_bytes(musicxml, name)
            except ClampError as exc:
                if route == "executable":
                    raise
                fallback_reason = exc
    try:
        score = read_mscx(xml, name)
    except ClampError:
        raise
    except Exception as exc:  # noqa: BLE001 - a construct the reader does not model
        raise ClampError(f"{name}: the built-in MuseScore reader failed ({one_line(exc)}); "
                         f"{_INSTALL_HINT} so it can be converted exactly") from None
    if fallback_reason is not None:  # info, not warning: "auto" falls back by design, and a
        # bad file's one-line error must stay one line
        log.info("%s; used the built-in MuseScore reader instead", fallback_reason)
    return score
