"""Captions: facts read from the score, the model's top facets from built-in label sets, and
the closest sentence of a candidate bank, as one readable paragraph (and as parts with scores)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from clamp_core.labels import load_label_set

# Facet label sets a caption ranks, in the order the paragraph mentions them.
FACETS = ("genres", "moods", "tune_types", "ensembles", "eras")
_VOICE_WORDS = ("voice", "voix", "stimme", "soprano", "alto", "tenor", "bass", "baritone",
                "singstimme", "canto", "cantus", "choir", "chor")


def tempo_word(bpm: float | None) -> str | None:
    """A plain word for a metronome mark (beats per minute in the mark's own beat)."""
    if bpm is None:
        return None
    for limit, word in ((60, "very slow"), (76, "slow"), (108, "moderate"), (132, "lively"),
                        (168, "fast")):
        if bpm < limit:
            return word
    return "very fast"


def ensemble_phrase(parts: list[str]) -> str:
    """Performing forces from part names: 'voice and piano', 'four voices', 'solo violin' ..."""
    names = [p.lower() for p in parts]
    if not names:
        return "an unnamed ensemble"
    voices = sum(any(w in n for w in _VOICE_WORDS) for n in names)
    piano = sum("piano" in n or "klavier" in n or "pianoforte" in n for n in names)
    if voices and piano and voices + piano == len(names):
        return "voice and piano" if voices == 1 else f"{voices} voices and piano"
    if voices == len(names):
        return "solo voice" if voices == 1 else f"{_number(voices)} voices"
    if len(names) == 1:
        generic = re.fullmatch(r"(part|staff|track|instrument|p)\s*-?\d*", names[0].strip())
        return "a single melodic line" if not parts[0] or generic else f"solo {parts[0]}"
    return (f"{_number(len(names))} parts ({', '.join(parts[:4])}"
            f"{', ...' if len(parts) > 4 else ''})")


def _number(n: int) -> str:
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    return words[n] if n < len(words) else str(n)


def _duration(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}" if m else f"{s} s"


@dataclass
class Caption:
    facts: dict[str, Any]
    facets: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    sentence: tuple[str, float] | None = None
    text: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["facets"] = {k: [{"label": a, "probability": round(b, 4)} for a, b in v]
                       for k, v in self.facets.items()}
        d["sentence"] = ({"text": self.sentence[0], "cosine": round(self.sentence[1], 4)}
                         if self.sentence else None)
        return d


def caption_facts(meta) -> dict[str, Any]:
    """The facts a caption states, read from ScoreMeta (never guessed by the model)."""
    return {
        "title": meta.title, "composer": meta.composer, "key": meta.key, "meter": meta.meter,
        "tempo_bpm": meta.tempo, "tempo_text": meta.tempo_text,
        "tempo_word": tempo_word(meta.tempo),
        "ensemble": ensemble_phrase(meta.parts), "bars": meta.n_bars,
        "duration": _duration(meta.duration_seconds), "range": (
            f"{meta.lowest}-{meta.highest}" if meta.lowest and meta.highest else None),
    }


def sentence_bank() -> list[str]:
    """Candidate descriptions: every character word with every genre ("A tender art song.")."""
    moods, genres = load_label_set("moods").labels, load_label_set("genres").labels
    return [f"{'An' if m[0].lower() in 'aeiou' else 'A'} {m} {g}." for m in moods for g in genres]


def _paragraph(facts: dict, facets: dict, sentence: tuple[str, float] | None) -> str:
    head = facts["title"] or "This piece"
    if facts["composer"]:
        head += f" by {facts['composer']}"
    bits = [f"{facts['bars']} bars"] if facts["bars"] else []
    bits += [x for x in (f"in {facts['key']}" if facts["key"] else None,
                         f"in {facts['meter']}" if facts["meter"] else None) if x]
    text = f"{head}: {' '.join(bits)} for {facts['ensemble']}"
    tempo = facts["tempo_text"] or facts["tempo_word"]
    if tempo:
        text += f", {tempo}" + (f" (♩ = {facts['tempo_bpm']:g})" if facts["tempo_bpm"] else "")
    text += f", about {facts['duration']} long"
    if facts["range"]:
        text += f", ranging {facts['range'].replace('-', ' to ')}"
    text += "."
    parts = []
    if "genres" in facets:
        parts.append(f"it sounds most like {_top(facets['genres'])}")
    if "moods" in facets:
        parts.append(f"{_top(facets['moods'])} in character")
    if "tune_types" in facets:
        parts.append(f"closest in form to a {facets['tune_types'][0][0]}")
    if "eras" in facets:
        parts.append(f"in a {facets['eras'][0][0]} idiom")
    if parts:
        text += " To the model " + ", ".join(parts) + "."
    if sentence:
        text += f" Best matching description: \u201c{sentence[0]}\u201d"
    return text


def _top(ranked: list[tuple[str, float]]) -> str:
    (a, pa), (b, pb) = ranked[0], ranked[1]
    return f"{a} or {b}" if pb > 0.5 * pa else a


def caption(clamp, score: Any, facets: tuple[str, ...] = FACETS, top: int = 3) -> Caption:
    """Describe a score with a loaded :class:`clamp_core.api.Clamp`."""
    from clamp_core.notation.convert import score_to_abc
    from clamp_core.scores.load import Score, load_score

    loaded = score if isinstance(score, Score) else load_score(score)
    music = clamp.encode_abc([score_to_abc(loaded)])[0]
    facts = caption_facts(loaded.meta)
    ranked = {}
    for name in facets:
        ls = load_label_set(name)
        ranked[name] = clamp.rank_labels(music, ls.labels, ls.templates, ls.prompts)[:top]
    bank = clamp.cached_texts("caption_bank", sentence_bank)
    sims = bank[1] @ music
    best = int(np.argmax(sims))
    sentence = (bank[0][best], float(sims[best]))
    return Caption(facts, ranked, sentence, _paragraph(facts, ranked, sentence))
