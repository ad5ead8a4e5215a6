"""What the service and `clamp musescore ...` do with a score: read the request's score, then
caption, classify, find similar scores or search, with the model loaded once.

All model and index work runs on one worker thread (``Engine``): torch inference, the text
caches of ``Clamp`` and the SQLite connections of open indexes are then never shared between
threads, and requests simply queue.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from clamp_core.errors import ClampError

log = logging.getLogger(__name__)

MAX_LABELS = 200
MAX_LABEL_CHARS = 200
MAX_K = 200
# A short tune whose caption fills the model's caption and label caches before the first request.
_WARM_ABC = "X:1\nT:warm-up\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|\n"


class RequestTimeout(Exception):
    """The model did not finish a request within the service's per-request time."""


def read_score(payload: dict, raw: bytes | None = None, raw_kind: str | None = None):
    """The request's score as a loaded ``clamp_core.scores.Score`` and the input kind.

    JSON requests carry exactly one of ``musicxml`` (text), ``musicxml_base64`` (MusicXML or
    compressed .mxl bytes), ``score_base64`` (any supported format, named by ``format``: a
    format name, an extension or a file name), ``cursor`` (the plugin's cursor-walk JSON) or
    ``path`` (a saved score file on this machine, read exactly as `clamp` reads files, so the
    answers match the command line's); a raw upload's bytes come as ``raw`` with ``raw_kind``
    "musicxml" or "mxl". Uploads are read from memory, never written to disk.
    """
    from clamp_core.scores import load_score

    from .cursor_json import cursor_json_to_stream

    if raw is not None:
        data, kind = raw, raw_kind or "musicxml"
    else:
        given = [k for k in _SCORE_FIELDS if payload.get(k) is not None]
        if len(given) != 1:
            raise ClampError("send exactly one score: 'musicxml' (text), 'musicxml_base64' "
                             "(MusicXML or .mxl bytes), 'score_base64' with 'format' (any "
                             "supported format) or 'cursor' (the plugin's cursor-walk JSON)"
                             + (f"; got {', '.join(given)}" if given else ""))
        field = given[0]
        value = payload[field]
        if field == "cursor":
            return load_score(cursor_json_to_stream(value)), "cursor"
        if field == "path":
            return load_score(score_file(value)), "file"
        if field == "musicxml":
            if not isinstance(value, str):
                raise ClampError("'musicxml' must be the MusicXML text as a string")
            data, kind = value.encode("utf-8"), "musicxml"
        else:
            data = _base64(field, value)
            kind = _upload_format(payload.get("format")) if field == "score_base64" else "musicxml"
    if not data.strip():
        raise ClampError("the uploaded score is empty")
    if kind == "musicxml" and data[:2] == b"PK":
        kind = "mxl"  # MusicXML sent zipped is .mxl
    score = load_score(data, format=kind, name="<upload.mxl>" if kind == "mxl" else "<upload>")
    return score, score.format


_SCORE_FIELDS = ("musicxml", "musicxml_base64", "score_base64", "cursor", "path")


def score_file(value: object) -> Path:
    """The ``path`` of a request: an absolute path of an existing score file (a format clamp
    reads), so a client names a file it has, never a folder or a relative guess."""
    from clamp_core.scores import SUPPORTED_EXTENSIONS

    if not isinstance(value, str) or not value.strip() or len(value) > 4096:
        raise ClampError("'path' must be the score file's absolute path as a string")
    path = Path(value)
    if not path.is_absolute():
        raise ClampError(f"'path' must be absolute, not {value!r}")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise ClampError(f"{value}: not a score file clamp reads (one of "
                         f"{', '.join(sorted(SUPPORTED_EXTENSIONS))})")
    if not path.is_file():
        raise ClampError(f"{value}: file not found; save the score, or send its contents")
    return path


def _base64(field: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise ClampError(f"'{field}' must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ClampError(f"'{field}' is not valid base64") from None


def _upload_format(value: object) -> str:
    """``load_score``'s format for a ``score_base64`` upload whose ``format`` is a format name
    ("midi"), an extension (".mid") or a file name ("song.mid")."""
    if not isinstance(value, str) or not value.strip():
        raise ClampError("'score_base64' needs 'format': a format name (musicxml, mxl, midi, abc, "
                         "humdrum, mscz, mscx), an extension such as '.mid' or the file name")
    text = value.strip()
    if "." in text.lstrip("."):  # a file name: its extension names the format
        text = "." + text.rsplit(".", 1)[1]
    return text


def labels_from(payload: dict) -> tuple[list[str] | None, str | None]:
    """(free labels, built-in label set name) of a classify request: exactly one is given."""
    from clamp_core.labels import builtin_names

    labels, label_set = payload.get("labels"), payload.get("label_set")
    if (labels is None) == (label_set is None):
        raise ClampError("classify needs exactly one of 'labels' (a list, or comma-separated) "
                         f"and 'label_set' (one of {', '.join(builtin_names())})")
    if label_set is not None:
        if not isinstance(label_set, str) or label_set not in builtin_names():
            raise ClampError(f"unknown label set {label_set!r}; built-in sets: "
                             f"{', '.join(builtin_names())}")
        return None, label_set
    if isinstance(labels, str):
        labels = labels.split(",")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ClampError("'labels' must be a list of strings or one comma-separated string")
    labels = [" ".join(x.split()) for x in labels if x.strip()]
    if len(labels) > MAX_LABELS or any(len(x) > MAX_LABEL_CHARS for x in labels):
        raise ClampError(f"at most {MAX_LABELS} labels of at most {MAX_LABEL_CHARS} characters")
    if len(set(labels)) < 2:
        raise ClampError("classify needs at least two different labels")
    return list(dict.fromkeys(labels)), None


def k_from(payload: dict, default: int = 10) -> int:
    k = payload.get("k", default)
    if isinstance(k, str) and k.isdigit():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ClampError(f"'k' must be a whole number from 1 to {MAX_K}")
    return k


def where_from(payload: dict) -> list[str] | None:
    """A search's optional ``where``: filters on the library's stored facts, as a list of
    "FIELD=VALUE" strings, one such string, or a {field: value} object; checked here so a bad
    filter is refused before any work."""
    from clamp_core.index import parse_conditions

    value = payload.get("where")
    if value in (None, "", [], {}):
        return None
    if isinstance(value, str):
        value = [v for v in value.split(";") if v.strip()]  # a raw upload's query string
    if isinstance(value, dict):
        value = [f"{k}={v}" for k, v in value.items()]
    if (not isinstance(value, list) or len(value) > 20
            or not all(isinstance(v, str) and len(v) <= 200 for v in value)):
        raise ClampError("'where' must be a list of filters such as \"composer=Bach\" (at most "
                         "20) or an object such as {\"metre\": \"6/8\"}")
    parse_conditions(value)
    return value


def passages_from(payload: dict) -> tuple[bool, tuple[int, int] | None, bool]:
    """(passages, bars, positions) of a search or similar: ``passages`` true returns passages
    of the library's works; ``bars`` ([first, last] or "9-16", as the score numbers them;
    similar only) matches those bars of the sent score, or ``measures`` [first, last]: 0-based
    measure positions, as the plugin counts a selection (``positions`` True)."""
    from clamp_core.notation import parse_bar_range

    on, bars = payload.get("passages", False), payload.get("bars")
    positions = payload.get("measures") is not None
    if positions:
        if bars is not None:
            raise ClampError("send 'bars' (numbers) or 'measures' (positions), not both")
        bars = payload["measures"]
        if not (isinstance(bars, list) and len(bars) == 2 and all(
                isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in bars)):
            raise ClampError("'measures' must be [first, last]: 0-based measure positions")
    if isinstance(on, str):  # a raw upload's query string
        on = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False,
              "": False}.get(on.strip().lower(), on)
    if not isinstance(on, bool):
        raise ClampError("'passages' must be true or false")
    if bars is None:
        return on, None, False
    if not on:
        raise ClampError("'bars' picks the bars to match passages with: add \"passages\": true")
    if isinstance(bars, list) and len(bars) == 2 and all(
            isinstance(b, int) and not isinstance(b, bool) for b in bars):
        bars = f"{bars[0]}-{bars[1]}"
    if not isinstance(bars, str):
        raise ClampError("'bars' must be [first, last] or \"first-last\", e.g. [9, 16]")
    return on, parse_bar_range(bars), positions


def any_key_from(payload: dict) -> bool:
    """A similar request's optional ``any_key``: match the score in any of the 12 keys."""
    value = payload.get("any_key", False)
    if isinstance(value, str):  # a raw upload's query string
        value = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False,
                 "": False}.get(value.strip().lower(), value)
    if not isinstance(value, bool):
        raise ClampError("'any_key' must be true or false")
    return value


def min_score_from(payload: dict) -> float | None:
    """A search's optional ``min_score``: the lowest relevance (0-1) a result may have."""
    value = payload.get("min_score")
    if value is None:
        return None
    if isinstance(value, str):  # a raw upload's query string, or a number sent as text
        try:
            value = float(value.strip())
        except ValueError:
            value = None
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0 <= value <= 1):  # NaN fails the range check too
        raise ClampError("'min_score' must be a number from 0 to 1 (the lowest relevance a "
                         "result may have)")
    return float(value)


def score_summary(score, kind: str) -> dict[str, Any]:
    m = score.meta
    return {"input": kind, "title": m.title, "composer": m.composer, "notes": m.n_notes,
            "bars": m.n_bars, "parts": m.parts}


class Engine:
    """A loaded ``Clamp`` plus open library indexes, used from one worker thread only."""

    def __init__(self, clamp, indexes: tuple[str, ...] | list[str] = ()):
        self.clamp = clamp
        self.known_indexes: list[str] = []
        self._indexes: dict[str, Any] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clamp-model")
        self._lock = threading.Lock()  # guards known_indexes, read by /info on other threads
        _ = clamp.calibration  # read the model folder's calibration now, not racing on /info
        for ix in indexes:
            self.run(self._index, ix)  # fail fast on a wrong --index, before serving

    @classmethod
    def load(cls, model: str = "default", indexes=()) -> Engine:
        from clamp_core.api import Clamp

        return cls(Clamp.load(model), indexes)

    # -- running work ---------------------------------------------------------------------------
    def submit(self, fn, *args) -> Future:
        return self._pool.submit(fn, *args)

    def run(self, fn, *args, timeout: float | None = None):
        """Run ``fn`` on the worker and wait; a timeout cancels it if it has not started."""
        fut = self.submit(fn, *args)
        try:
            return fut.result(timeout=timeout)
        except FutureTimeout:
            fut.cancel()
            raise RequestTimeout from None

    def close(self) -> None:
        def shut():
            for ix in self._indexes.values():
                ix.close()
            self._indexes.clear()

        try:
            self._pool.submit(shut).result(timeout=30)
        except Exception:
            log.debug("closing indexes failed", exc_info=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def warm(self) -> None:
        """Fill the caption banks and label caches (the first caption costs seconds)."""
        t = time.perf_counter()
        self.clamp.caption(_WARM_ABC)
        log.info("warm-up took %.1f s", time.perf_counter() - t)

    # -- the tasks (called on the worker thread) --------------------------------------------------
    def _index(self, path: str):
        """An index folder or a PostgreSQL store's URL, opened once and kept."""
        from clamp_core.index import as_index, is_store_url

        if not isinstance(path, str) or not path.strip():
            raise ClampError("'index' must be the path of a library index folder "
                             "(build one with `clamp index FOLDER --index DIR`) or a store URL")
        key = path.strip() if is_store_url(path) else os.path.realpath(os.path.expanduser(path))
        if key not in self._indexes:
            idx = as_index(key)
            try:
                idx.check_model(self.clamp)
            except ClampError:
                idx.close()
                raise
            self._indexes[key] = idx
            with self._lock:
                if key not in self.known_indexes:
                    self.known_indexes.append(key)
        return self._indexes[key]

    def index_infos(self) -> list[dict]:
        with self._lock:
            paths = list(self.known_indexes)
        return [{"path": p, "name": Path(p).name or p} for p in paths]

    def caption(self, score, kind: str) -> dict:
        cap = self.clamp.caption(score).to_dict()  # encodes the score once
        return {"score": score_summary(score, kind), "caption": cap, "text": cap["text"],
                "novelty": cap["novelty"]}

    def classify(self, score, kind: str, labels: list[str] | None, label_set: str | None) -> dict:
        music = self.clamp.encode_scores([score])[0]
        if label_set:
            from clamp_core.labels import load_label_set

            ls = load_label_set(label_set)
            ranked = self.clamp.rank_labels(music, ls.labels, ls.templates, ls.prompts)
        else:
            ranked = self.clamp.rank_labels(music, labels)
        return {"score": score_summary(score, kind), "label_set": label_set,
                "labels": [{"label": a, "probability": round(p, 4)} for a, p in ranked],
                "calibrated": bool(self.clamp.calibration.fitted),
                "novelty": self.clamp.novelty_of(music).to_dict()}

    def similar(self, score, kind: str, index: str, k: int,
                where: list[str] | None = None, passages: bool = False,
                bars: tuple[int, int] | None = None, positions: bool = False,
                any_key: bool = False, source: str | None = None) -> dict:
        """Library scores (or, with ``passages``, passages) like the score, or like its bars
        ``bars``; ``bars`` in the answer are the ones matched (clipped to the score);
        ``any_key``: matched in any of the 12 keys. ``source``: the score's file when it was
        sent by path, left out of its own results as `clamp similar` leaves it out."""
        idx = self._index(index)
        query = self.clamp.music_query(score, bars, positions, any_key=any_key)
        span = query.span
        hits = self.clamp.similar(source or score, idx, k=k, where=where, passages=passages,
                                  any_key=any_key, query=query)
        written = query.written  # the score as it is, for novelty
        return {"score": score_summary(score, kind), "index": str(idx.folder),
                "results": [h.to_dict() for h in hits], "passages": passages,
                "any_key": any_key, **({"bars": span} if span else {}),
                "novelty": self.clamp.novelty_of(written).to_dict()}

    def search(self, query: str, index: str, k: int, min_score: float | None = None,
               where: list[str] | None = None, passages: bool = False) -> dict:
        """Hits with their calibrated ``relevance``; ``no_good_match`` is judged on the best hit
        before ``min_score`` drops any (an empty filtered list is not a verdict on the query)."""
        if not isinstance(query, str) or not query.strip() or len(query) > 2000:
            raise ClampError("'query' must be a non-empty text of at most 2000 characters")
        idx = self._index(index)
        if passages and min_score is not None:
            raise ClampError("'min_score' is a relevance, which passage results do not carry; "
                             "leave it out with 'passages'")
        if passages:
            idx.passages()  # says how to add them when the index has none
        hits = self.clamp.search(query, idx, k=k, where=where, passages=passages)
        weak = self.clamp.no_good_match(hits)
        if min_score is not None:
            hits = [h for h in hits if h.relevance >= min_score]
        return {"query": query, "index": str(idx.folder),
                "results": [h.to_dict() for h in hits], "no_good_match": weak,
                "min_score": min_score, "where": where or [], "passages": passages,
                "calibrated": bool(self.clamp.calibration.fitted)}

    def handle(self, action: str, payload: dict, raw: bytes | None = None,
               raw_kind: str | None = None) -> dict:
        """One request, start to end, on the worker thread (score parsing included)."""
        if action == "search":
            passages, bars, _ = passages_from(payload)
            if bars is not None:
                raise ClampError("'bars' is for similar: a search is answered from its text")
            return self.search(payload.get("query"), payload.get("index"), k_from(payload),
                               min_score_from(payload), where_from(payload), passages)
        if action == "classify":
            labels, label_set = labels_from(payload)  # check options before parsing the score
            score, kind = read_score(payload, raw, raw_kind)
            return self.classify(score, kind, labels, label_set)
        if action == "similar":
            index, k, where = payload.get("index"), k_from(payload), where_from(payload)
            passages, bars, positions = passages_from(payload)
            any_key = any_key_from(payload)
            idx = self._index(index)
            if passages:
                idx.passages()  # before the score is read: says how to add them
            score, kind = read_score(payload, raw, raw_kind)
            source = str(score_file(payload["path"])) if kind == "file" else None
            return self.similar(score, kind, index, k, where, passages, bars, positions, any_key,
                                source)
        if action == "caption":
            score, kind = read_score(payload, raw, raw_kind)
            return self.caption(score, kind)
        raise ClampError(f"unknown action {action!r}")
