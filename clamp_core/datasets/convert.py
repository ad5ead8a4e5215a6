"""The expensive step of a dataset build, run in worker processes: parse one work, convert it
to model ABC and read the facts texts and labels are written from. Results are cached by
content hash, so labels and texts can change without re-parsing anything."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import threading
import warnings
from pathlib import Path

from clamp_core.datasets.sources import WorkItem
from clamp_core.errors import ClampError, one_line

DATA_FORMAT = "data-1"
_ABC_FIELD = re.compile(r"^([A-Za-z]):\s*(.*?)\s*$")
_BARE_KEY = re.compile(r"^\s*([A-G])([b#]?)\s*$")


def converter_version() -> str:
    """Our format tag plus a hash of the loader and ABC-writer sources: editing either
    invalidates the cache (a new writer must not be masked by stale ABC)."""
    pkg = Path(__file__).parent.parent
    sources = [*(pkg / "scores").glob("*.py"), *(pkg / "notation").glob("*.py"), Path(__file__)]
    h = hashlib.sha256(DATA_FORMAT.encode())
    for p in sorted(sources, key=lambda p: (p.parent.name, p.name)):
        h.update(f"{p.parent.name}/{p.name}".encode() + p.read_bytes())
    return f"{DATA_FORMAT}:{h.hexdigest()[:12]}"


def cache_key(file_hash: str, tune: int | None, version: str) -> str:
    return hashlib.sha256(f"{file_hash}|{tune}|{version}".encode()).hexdigest()


def cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / key[:2] / f"{key}.json"


def read_cache(cache_dir: Path, key: str) -> dict | None:
    p = cache_path(cache_dir, key)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_cache(cache_dir: Path, key: str, result: dict) -> None:
    p = cache_path(cache_dir, key)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    tmp.replace(p)  # atomic: concurrent builds never read half a file


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def convert_work(item: WorkItem, timeout: int = 0) -> dict:
    """{"abc", "meta", "facts"} of one work, or {"error": one line}; never raises."""
    use_alarm = timeout > 0 and threading.current_thread() is threading.main_thread()
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # music21 warns freely on real-world files
            return _convert(item)
    except ClampError as e:
        return {"error": one_line(e)}
    except _Timeout:
        return {"error": f"conversion took over {timeout} s; skipped (raise --timeout)"}
    except Exception as e:  # noqa: BLE001 - a batch records every failure and carries on
        return {"error": f"{type(e).__name__}: {one_line(e)}"}
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)


def _convert(item: WorkItem) -> dict:
    from clamp_core.notation.convert import score_to_abc
    from clamp_core.scores.load import load_score

    score = load_score(item.path, tune=item.tune)
    abc = score_to_abc(score)
    if not abc.strip():
        raise ClampError(f"{item.path}: the ABC writer produced no text")
    return {"abc": abc, "meta": score.meta.to_dict(), "facts": score_facts(score)}


def abc_fields(text: str) -> dict:
    """First T:, R:, O:, C:, K: ... of an ABC tune, plus its W:/w: lyric lines (joined)."""
    out: dict[str, str] = {}
    words: list[str] = []
    for line in text.splitlines():
        m = _ABC_FIELD.match(line)
        if not m:
            continue
        f, v = m.group(1), m.group(2)
        if f in ("W", "w"):
            words.append(v)
        elif f not in out and v:
            out[f] = v
    if words:
        out["words"] = _join_abc_words(words)
    return out


def _join_abc_words(lines: list[str]) -> str:
    """ABC w: syllables ("Es war ein-mal") -> plain words ("Es war einmal")."""
    s = " ".join(lines)
    s = re.sub(r"-\s*", "", s)
    s = re.sub(r"[_*|~\\]", " ", s)
    return " ".join(s.split())


def _stream_lyric(sc, max_syllables: int = 40) -> str | None:
    """The opening words sung in the first part that has lyrics."""
    for part in sc.parts:
        sylls = []
        for n in part.recurse().notes:
            if n.lyrics:
                sylls.append(n.lyrics[0])
                if len(sylls) >= max_syllables:
                    break
        if sylls:
            out = ""
            for ly in sylls:
                text = (ly.text or "").strip()
                out += text + ("" if ly.syllabic in ("begin", "middle") else " ")
            return " ".join(out.split()) or None
    return None


def _key_from_final(sc, k_field: str) -> str | None:
    """A bare ABC K: tonic (Essen writes major-style K: throughout) says nothing about mode:
    a melody that ends on the relative minor's tonic is minor."""
    from music21 import key

    m = _BARE_KEY.match(k_field)
    ks = sc.recurse().getElementsByClass(key.KeySignature).first()
    if not m or ks is None or not sc.parts:
        return None
    last = sc.parts[0].recurse().notes.last()
    if last is None:
        return None
    final = min(last.pitches, key=lambda p: p.ps).pitchClass
    minor = key.KeySignature(ks.sharps).asKey("minor")
    if final == minor.tonic.pitchClass:
        return f"{minor.tonic.name.replace('-', 'b')} minor"
    return None


def score_facts(score) -> dict:
    """Facts beyond ScoreMeta: ABC header fields, metadata fields, pitch range, lyric opening."""
    sc = score.stream
    facts: dict = {}
    if score.abc_source:
        facts["abc_fields"] = abc_fields(score.abc_source)
        k = facts["abc_fields"].get("K")
        if k:
            minor = _key_from_final(sc, k)
            if minor:
                facts["key"] = minor
    md = sc.metadata
    if md is not None:
        wanted = ("parentTitle", "localeOfComposition", "composer", "movementName", "title")
        got: dict[str, str] = {}
        for name, value in md.all():
            if name in wanted and name not in got and str(value).strip():
                got[name] = " ".join(str(value).split())
        facts["md"] = got
    pitches = [p for n in sc.recurse().notes for p in n.pitches]
    if pitches:
        lo, hi = min(pitches, key=lambda p: p.ps), max(pitches, key=lambda p: p.ps)
        facts.update(lowest=lo.nameWithOctave, highest=hi.nameWithOctave,
                     lowest_midi=int(lo.ps), highest_midi=int(hi.ps))
    if not score.abc_source:
        lyric = _stream_lyric(sc)
        if lyric:
            facts["lyric"] = lyric
    return facts
