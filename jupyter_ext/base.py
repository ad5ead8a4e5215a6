"""What every clamp widget shares: the abcjs command, status/error traits, model loading and a
cache of scores turned into notation."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

import anywidget
import traitlets

from clamp_core.errors import ClampError

from . import assets
from .notation import Notation, notation, score_texts

log = logging.getLogger(__name__)

# How many times this kernel sent abcjs to a browser page (tests check "once per page").
ABCJS_SENDS = {"count": 0}


class ClampWidget(anywidget.AnyWidget):
    """Base: `status` says what the kernel is doing, `error` what went wrong (one line)."""

    status = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    _css = assets.widget_css()

    @anywidget.experimental.command
    def _clamp_abcjs(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        """The vendored abcjs, as one binary buffer; pages ask once and cache it by version."""
        ABCJS_SENDS["count"] += 1
        return ({"version": assets.abcjs_version(), "sha256": assets.abcjs_sha256(),
                 "bytes": len(assets.abcjs_bytes())}, [assets.abcjs_bytes()])

    @contextlib.contextmanager
    def _busy(self, doing: str) -> Iterator[None]:
        """Show ``doing`` while the block runs; a failure becomes the `error` line (a handler of
        a browser message has no one else to tell)."""
        self.error = ""
        self.status = doing
        try:
            yield
        except ClampError as e:
            self.error = str(e)
        except Exception as e:  # shown in the widget instead of a traceback no one sees
            log.exception("clamp widget: %s failed", doing)
            self.error = (f"internal error while {doing.lower().rstrip('.…')}: "
                          f"{type(e).__name__}: {e}")
        finally:
            self.status = ""


def plain(data: Any) -> Any:
    """``data`` as plain JSON types (numpy floats and tuples become floats and lists), the only
    kinds a synced trait carries."""
    return json.loads(json.dumps(data, default=float))


def novelty_state(clamp: Any, music: Any) -> dict[str, Any]:
    """The ``novelty`` trait of a score's embedding: ``Novelty.to_dict()`` (out_of_domain,
    nearest_training_cosine, threshold, and a message when out of domain)."""
    return plain(clamp.novelty_of(music).to_dict())


_MODELS: dict[str, Any] = {}


def resolve_model(model: Any):
    """A loaded Clamp, or a model name/folder loaded once per kernel."""
    from clamp_core.api import Clamp

    if isinstance(model, Clamp):
        return model
    if isinstance(model, (str, os.PathLike)):
        key = str(model)
        if key not in _MODELS:
            _MODELS[key] = Clamp.load(key)
        return _MODELS[key]
    raise ClampError(f"model must be a Clamp or a model name such as 'default', not "
                     f"{type(model).__name__}")


def load(score: Any, tune: int | None = None):
    """A loaded clamp_core Score from a path, ABC text, music21 stream or Score."""
    from clamp_core.scores import Score, load_score

    if isinstance(score, Score):
        return score
    return load_score(score, tune=tune) if tune is not None else load_score(score)


@functools.lru_cache(maxsize=512)
def _file_score(path: str, tune: int | None, size: int, mtime_ns: int) -> tuple[str, Notation]:
    from clamp_core.notation import score_to_abc

    loaded = load(path, tune)
    abc = score_to_abc(loaded)
    return abc, notation(abc, texts=score_texts(loaded.stream))


def file_score(path: str, tune: int | None) -> tuple[str, Notation]:
    """Model ABC and notation of a library file (or one tune of it), cached until it changes."""
    try:
        st = os.stat(path)
    except OSError:
        raise ClampError(f"{path}: file not found; the library changed since it was indexed, "
                         "update the index with `clamp index`") from None
    return _file_score(path, tune, st.st_size, st.st_mtime_ns)


def score_parts(score: Any) -> tuple[Any, str, Notation, dict[str, str]]:
    """Loaded score, model ABC, notation and {title, composer} of any score input."""
    from clamp_core.notation import score_to_abc

    loaded = load(score)
    abc = score_to_abc(loaded)
    title = display_title(loaded.meta.title, getattr(loaded.meta, "work", None))
    return loaded, abc, notation(abc, texts=score_texts(loaded.stream)), {
        "title": title, "composer": loaded.meta.composer or ""}


_FILE_NAME = re.compile(
    r"^(?:.*[/\\])?([^/\\]+?)\.(?:mxl|musicxml|xml|mid|midi|abc|krn|mscz|mscx)$", re.IGNORECASE)


def display_title(title: str | None, work: str | None = None) -> str:
    """The title a widget shows. Some exports store the file name as the title
    ("bwv154.8.mxl"): then the work's title, else the name without its extension, a Bach
    catalogue number spelt as such ("BWV 154.8")."""
    title = (title or "").strip()
    m = _FILE_NAME.match(title)
    if not m:
        return title
    if work and not _FILE_NAME.match(work.strip()):
        return work.strip()
    stem = m.group(1).replace("_", " ").strip()
    bwv = re.fullmatch(r"bwv\s*(\d.*)", stem, re.IGNORECASE)
    return f"BWV {bwv.group(1)}" if bwv else stem
