"""Captions that state only what holds: facts read from the score always; a model facet (genre,
form, ensemble, era, character) only where its calibrated confidence reaches the threshold chosen
on val for >= 0.8 precision, else the caption says the model is unsure; the score's own facts
answer a facet (ensemble from named parts) without asking the model; nothing from the model at
all for a score unlike anything it was trained on. The closest description comes from a bank of
real training texts, never the work's own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clamp_core.calibration import Novelty
from clamp_core.labels import load_label_set

# Facet label sets a caption ranks, in the order the paragraph mentions them.
FACETS = ("genres", "tune_types", "ensembles", "eras", "moods")
FACET_WORDS = {"genres": "genre", "tune_types": "form", "ensembles": "ensemble", "eras": "era",
               "moods": "character"}
_GENERIC_PART = re.compile(r"(part|staff|track|instrument|p|melody|untitled)?\s*-?\s*\d*",
                           re.IGNORECASE)
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
    facets: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # every candidate
    stated: dict[str, tuple[str, float]] = field(default_factory=dict)  # facets the text states
    unsure: list[str] = field(default_factory=list)  # facets the model could not settle
    sentence: tuple[str, float] | None = None
    novelty: Novelty | None = None
    text: str = ""

    def to_dict(self) -> dict:
        return {
            "facts": self.facts,
            "facets": {k: [{"label": a, "probability": round(b, 4)} for a, b in v]
                       for k, v in self.facets.items()},
            "stated": {k: {"label": a, "probability": round(b, 4)}
                       for k, (a, b) in self.stated.items()},
            "unsure": list(self.unsure),
            "sentence": ({"text": self.sentence[0], "cosine": round(self.sentence[1], 4)}
                         if self.sentence else None),
            "novelty": self.novelty.to_dict() if self.novelty else None,
            "text": self.text}


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


def parts_name_ensemble(parts: list[str]) -> bool:
    """Whether the part names say what plays (then the facts answer the ensemble facet)."""
    return bool(parts) and not all(_GENERIC_PART.fullmatch(p.strip()) for p in parts)


def article(word: str) -> str:
    """'a' or 'an' by sound, for the labels our sets hold ('an air', 'a hornpipe', 'an 18th')."""
    w = word.strip().lower()
    vowel_sound = w[:1] in set("aeio") or (w[:1] == "u" and not w.startswith(("uni", "use")))
    return "an" if vowel_sound or w.startswith(("18", "8", "11")) else "a"


def _facts_sentence(facts: dict) -> str:
    head = facts["title"] or "This piece"
    if facts["composer"]:
        head += f" by {facts['composer']}"
    bits = [f"{facts['bars']} bars"] if facts["bars"] else []
    bits += [x for x in (f"in {facts['key']}" if facts["key"] else None,
                         f"in {facts['meter']}" if facts["meter"] else None) if x]
    text = f"{head}: {' '.join(bits)} for {facts['ensemble']}"
    tempo = facts["tempo_text"] or facts["tempo_word"]
    if tempo:
        text += f", {tempo}" + (f" (\u2669 = {facts['tempo_bpm']:g})" if facts["tempo_bpm"] else "")
    text += f", about {facts['duration']} long"
    if facts["range"]:
        text += f", ranging {facts['range'].replace('-', ' to ')}"
    return text + "."


def _model_sentence(stated: dict[str, tuple[str, float]], unsure: list[str]) -> str:
    said = []
    if "genres" in stated:
        said.append(f"{article(stated['genres'][0])} {stated['genres'][0]}")
    if "tune_types" in stated:
        said.append(f"in the form of {article(stated['tune_types'][0])} {stated['tune_types'][0]}")
    if "ensembles" in stated:
        said.append(f"for {stated['ensembles'][0]}")
    if "eras" in stated:
        said.append(f"in {article(stated['eras'][0])} {stated['eras'][0]} idiom")
    if "moods" in stated:
        said.append(f"{stated['moods'][0]} in character")
    text = ""
    if said:
        text = " The model hears " + _join(said) + "."
    words = [FACET_WORDS[f] for f in unsure]
    if words:
        text += (" It is unsure of " if said else " The model is unsure of ") + (
            "its " + _join(words)) + "."
    return text


# genres of the genre facet whose pieces the tune-type facet (reel, jig, air, waltz ...) can
# describe; its threshold is calibrated on folk tunes alone, so elsewhere its answer means nothing.
# The model's best genre decides, stated or not: a chorale heard at 0.60, short of the genre
# threshold, is still no march (the genre facet comes first in FACETS, so it is known by then)
TUNE_GENRES = frozenset({"folk song", "fiddle tune", "dance music", "march", "waltz", "mazurka",
                         "polonaise", "lullaby", "children's song"})


def _tune_types_apply(ranked: dict, cal) -> bool:
    """Whether a tune type may describe a piece: the model's best genre (stated or not; a
    stated genre is always the best ranked) is one it applies to. Asked regardless when the
    genre facet was not asked or the model has no genre calibration (its ranking means little)."""
    genres = ranked.get("genres")
    if not genres or cal.facet_threshold("genres") is None:
        return True
    return genres[0][0] in TUNE_GENRES


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def caption(clamp, score: Any, facets: tuple[str, ...] = FACETS, top: int = 3) -> Caption:
    """Describe a score with a loaded :class:`clamp_core.api.Clamp`."""
    from clamp_core.notation import score_to_abc
    from clamp_core.scores import Score, load_score

    loaded = score if isinstance(score, Score) else load_score(score)
    abc = score_to_abc(loaded)
    music = clamp.encode_abc([abc])[0]
    facts = caption_facts(loaded.meta)
    cal = clamp.calibration
    novelty = cal.novelty(music)
    ranked, stated, unsure = {}, {}, []
    for name in facets:
        if name == "ensembles" and parts_name_ensemble(loaded.meta.parts):
            continue  # the score says what plays: the facts answer, the model is not asked
        if name == "tune_types" and not _tune_types_apply(ranked, cal):
            continue  # a fiddle dance type is no form of a chorale: the model is not asked
        ls = load_label_set(name)
        ranked[name] = clamp.rank_labels(music, ls.labels, ls.templates, ls.prompts)[:top]
        label, p = ranked[name][0]
        threshold = cal.facet_threshold(name, label)
        if novelty.unfamiliar:
            continue
        if threshold is not None and p >= threshold:
            stated[name] = (label, p)
        else:
            unsure.append(name)
    sentence = _closest_description(cal, music, abc)
    text = _facts_sentence(facts)
    if novelty.unfamiliar:
        text += (" This score is unlike anything the model was trained on, so it offers no view "
                 "of its genre, form or style.")
    else:
        text += _model_sentence(stated, unsure)
        if sentence:
            text += f" Closest description among the training texts: \u201c{sentence[0]}\u201d"
    return Caption(facts, ranked, stated, unsure, None if novelty.unfamiliar else sentence,
                   novelty, text)


def _closest_description(cal, music: np.ndarray, abc: str) -> tuple[str, float] | None:
    """The bank text nearest the music, never one written for this very piece."""
    if cal.bank_vectors is None or not cal.bank_texts:
        return None
    sims = cal.bank_vectors @ music
    own = abc_source_hash(abc)
    for i in np.argsort(-sims):
        if cal.bank_sources[i] != own:
            return cal.bank_texts[i], float(sims[i])
    return None


def abc_source_hash(abc: str) -> str:
    """The key the description bank records for the music each text describes."""
    import hashlib

    return hashlib.sha256(abc.strip().encode()).hexdigest()[:16]
