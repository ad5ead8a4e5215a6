"""Facets of a work read from its names and text, in the few plain classes a user asks for: form
or dance, era, texture (ensemble, tempo, mode and metre classes: clamp_core.fact_classes). Each
returns None when the score does not say: a wrong label teaches the model more harm than a
missing one."""

from __future__ import annotations

import re

from unidecode import unidecode

# form and dance words in titles and genre records (several languages) -> our form label;
# multi-word and more specific patterns first
_FORMS: tuple[tuple[str, str], ...] = (
    (r"string quartet|quatuor|streichquartett|kwartet smyczkowy", "string quartet"),
    (r"requiem|missa pro defunctis|msza zalobna", "requiem"),
    (r"nieszpory|vesper|dixit dominus|laudate pueri|beatus vir|magnificat", "vespers"),
    (r"\b(missa|msza|messe|mass)\b|\b(kyrie|gloria|credo|patrem|sanctus|benedictus|agnus)\b",
     "mass"),
    (r"litan", "litany"), (r"offertor", "offertory"), (r"antiphon|antyfon", "antiphon"),
    (r"\bpsalm", "psalm"), (r"\bmotet|motetto|mottetto", "motet"),
    (r"\bhymn|hymnus|\bhimn", "hymn"), (r"chorale|choral\b|\bchoral(e)? ", "chorale"),
    (r"oratori", "oratorio"), (r"cantata|kantata", "cantata"), (r"\bopera\b|\bopery\b", "opera"),
    (r"madrigal", "madrigal"),
    (r"polon(ai|ez|oi)|polacca", "polonaise"), (r"mazur", "mazurka"),
    (r"krakowiak|cracovienne", "krakowiak"), (r"kujawiak", "kujawiak"), (r"oberek", "oberek"),
    (r"dumka|dumki", "dumka"),
    (r"\bwal[cz]|valse|walzer|waltz", "waltz"), (r"\bmarsz|\bmarch|\bmarche|marcia", "march"),
    (r"menuet|minuet|menuett", "minuet"), (r"\bfug(a|ue|e)\b", "fugue"),
    (r"prelud|prélude|prelude", "prelude"), (r"etiud|[eé]tude|etude", "etude"),
    (r"noktur|nocturne|notturno", "nocturne"), (r"scherz", "scherzo"),
    (r"ballad[ea]?\b", "ballade"), (r"impromptu", "impromptu"), (r"berceuse", "berceuse"),
    (r"sonatin", "sonatina"), (r"sonat", "sonata"), (r"\brond", "rondo"),
    (r"varia|wariacj", "variations"), (r"fanta[sz]", "fantasy"), (r"\bpolk", "polka"),
    (r"galop", "galop"), (r"kontredans|contredanse|contradance|contra dance", "contradance"),
    (r"anglaise", "anglaise"), (r"symfon|sinfoni|symphon", "symphony"),
    (r"koncert|concerto", "concerto"), (r"uwertur|overture|ouverture", "overture"),
    (r"kasacj|cassation", "cassation"), (r"partit", "partita"), (r"sonet", "sonnet"),
    (r"\bpie[sś]n|piosnk|\bsong\b|\bsongs\b|\blied\b|\bmelodia\b|romance", "song"),
)
_FORM_RES = tuple((re.compile(p), f) for p, f in _FORMS)


def form_from_text(*texts: str | None) -> str | None:
    """The first form or dance word found in a genre record or title."""
    for t in texts:
        if not t:
            continue
        low = unidecode(t).lower()
        for rx, form in _FORM_RES:
            if rx.search(low):
                return form
    return None


def era_from_year(year: int | None) -> str | None:
    """Era of a work from the year it was written or printed."""
    if not year:
        return None
    for limit, era in ((1430, "medieval"), (1600, "renaissance"), (1750, "baroque"),
                       (1815, "classical"), (1910, "romantic")):
        if year < limit:
            return era
    return "modern"


def texture(abc: str) -> str | None:
    """single line | chordal | polyphonic | melody and accompaniment, from the ABC text: voices
    and how many notes sound together in them."""
    voices = len(set(re.findall(r"^V:\s*(\S+)", abc, re.MULTILINE))) or 1
    body = "\n".join(ln for ln in abc.splitlines() if not re.match(r"^[A-Za-z]:", ln))
    body = re.sub(r'"[^"]*"|![^!]*!|\{[^}]*\}', "", body)
    chords = len(re.findall(r"\[[A-Ga-g^_=]", body))
    notes = len(re.findall(r"[A-Ga-g]", body)) or 1
    if voices == 1:
        return "single line" if chords / notes < 0.05 else "chordal"
    if voices >= 3:
        return "polyphonic" if chords / notes < 0.1 else "chordal"
    return "melody and accompaniment"
