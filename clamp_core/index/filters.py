"""Search filters on the facts an index stores for each score: ``composer=Bach``,
``metre=6/8``, ``bars<=32``, ``ensemble=voice and piano``, ``lyrics=yes``.

A condition is ``FIELD OP VALUE`` with OP one of ``= != < <= > >=``; several conditions must all
hold. Text fields match a case- and accent-insensitive substring; a score whose facts do not
say (no tempo mark, an index built before a field existed) never matches a condition on it,
and so always passes its ``!=``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from unidecode import unidecode

from clamp_core.errors import ClampError
from clamp_core.fact_classes import (
    ENSEMBLE_CLASSES,
    ensemble_class,
    instrument_family,
    metre_family,
    mode_class,
    tempo_class,
)

# field -> what it matches, for --help and errors
FIELDS = {
    "composer": "the composer's name, any part of it (composer=Bach)",
    "title": "the title, any part of it",
    "key": "a key (key='D major'), a tonic (key=D) or a mode (key=minor, key=modal)",
    "metre": "a time signature (metre=6/8) or a family (metre=triple: duple, triple, compound)",
    "ensemble": "a class (" + ", ".join(ENSEMBLE_CLASSES) + ") or a part name (ensemble=violin)",
    "tempo": "a character (slow, moderate, lively, fast), a tempo word (tempo=andante), or a "
             "number of beats per minute with < or > (tempo>120)",
    "bars": "the number of bars (bars<=32)",
    "notes": "the number of notes (notes>1000)",
    "seconds": "the length in seconds at the marked tempo (seconds<120)",
    "lyrics": "yes or no: the score has words under its notes",
    "chords": "yes or no: the score has chord symbols",
}
FILTER_FIELDS = FIELDS  # the name clamp_core.index exports

ALIASES = {"meter": "metre", "time": "metre", "parts": "ensemble", "instrument": "ensemble",
           "length": "bars", "words": "lyrics", "chord": "chords", "bpm": "tempo"}
NUMERIC = {"bars": "n_bars", "notes": "n_notes", "seconds": "duration_seconds", "tempo": "tempo"}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
    "=": operator.eq}
_CONDITION = re.compile(r"^\s*([A-Za-z_]+)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$")
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def _fold(text: Any) -> str:
    return unidecode(str(text or "")).lower().strip()


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.field}{self.op}{self.value}"

    def matches(self, meta: Mapping[str, Any]) -> bool:
        if self.op == "!=":
            return not Condition(self.field, "=", self.value).matches(meta)
        if self.field in ("bars", "notes", "seconds") or (self.field == "tempo" and self.op != "="):
            return self._compare(meta.get(NUMERIC[self.field]))
        return _TEXT_MATCHERS[self.field](meta, _fold(self.value))

    def _compare(self, got: Any) -> bool:
        if got is None or (self.field == "tempo" and not got):
            return False
        return _OPS[self.op](float(got), float(self.value))


def parse_conditions(specs: Iterable[str] | Mapping[str, Any] | None) -> list[Condition]:
    """Conditions from ``FIELD OP VALUE`` strings (CLI, service) or a {field: value} mapping
    (API); a one-line error names what is wrong and the fields there are."""
    if not specs:
        return []
    if isinstance(specs, Mapping):
        specs = [f"{k}={v}" for k, v in specs.items()]
    out = []
    for spec in specs:
        m = _CONDITION.match(str(spec))
        if not m or not m.group(3):
            raise ClampError(f"filter {spec!r} is not FIELD=VALUE (or FIELD<VALUE, FIELD>=VALUE "
                             f"...); fields: {', '.join(FIELDS)}")
        name, op, value = m.group(1).lower(), m.group(2), m.group(3).strip("'\"")
        name = ALIASES.get(name, name)
        if name not in FIELDS:
            raise ClampError(f"filter {spec!r}: no field {m.group(1)!r}; fields: "
                             f"{', '.join(FIELDS)}")
        numeric = name in ("bars", "notes", "seconds") or (name == "tempo" and op != "=")
        if op not in ("=", "!=") and not numeric:
            raise ClampError(f"filter {spec!r}: {name} takes = or !=, not {op}")
        if numeric:
            try:
                float(value)
            except ValueError:
                raise ClampError(f"filter {spec!r}: {name} {op} needs a number") from None
        if name in ("lyrics", "chords") and _fold(value) not in _YES | _NO:
            raise ClampError(f"filter {spec!r}: {name} is yes or no")
        out.append(Condition(name, op, value))
    return out


def matches_all(conditions: list[Condition], meta: Mapping[str, Any]) -> bool:
    return all(c.matches(meta) for c in conditions)


# -- text fields --------------------------------------------------------------------------------
def _substring(key: str):
    return lambda meta, value: bool(value) and value in _fold(meta.get(key))


def _key(meta, value: str) -> bool:
    key = _fold(meta.get("key"))  # "d major", "f# minor", "a dorian"
    if not key:
        return False
    tonic, _, mode = key.partition(" ")
    if value in ("major", "minor", "modal"):
        return mode_class(mode) == value
    return value in (key, tonic) or value.replace("-", " ") == key


def _metre(meta, value: str) -> bool:
    meter = _fold(meta.get("meter")).replace(" ", "")
    if value in ("duple", "triple", "compound"):
        return metre_family(meter) == value
    return bool(meter) and meter == value.replace(" ", "")


def _ensemble(meta, value: str) -> bool:
    parts = [p for p in meta.get("parts") or [] if p]
    if value in ENSEMBLE_CLASSES:
        return ensemble_class([instrument_family(p) for p in parts], len(parts)) == value
    return any(value in _fold(p) for p in parts)


def _tempo(meta, value: str) -> bool:
    if value in ("slow", "moderate", "lively", "fast"):
        return tempo_class(meta, None) == value
    try:
        return bool(meta.get("tempo")) and float(meta["tempo"]) == float(value)
    except ValueError:
        return value in _fold(meta.get("tempo_text"))


def _flag(key: str):
    def match(meta, value: str) -> bool:
        got = meta.get(key)
        return got is not None and bool(got) == (value in _YES)
    return match


_TEXT_MATCHERS = {"composer": _substring("composer"), "title": _substring("title"),
                  "key": _key, "metre": _metre, "ensemble": _ensemble, "tempo": _tempo,
                  "lyrics": _flag("has_lyrics"), "chords": _flag("has_chord_symbols")}
