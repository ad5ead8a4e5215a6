"""Text candidates of a work: title, composer, collection, genre/region, lyrics and a few
descriptions written from the score's facts. Phrasing varies deterministically (seeded by id);
at least two candidates never contain the title (evaluation uses title-free texts)."""

from __future__ import annotations

import hashlib
import random
import re

from clamp_core.datasets.labels import NUMBER_WORDS, WorkInfo, norm_text
from clamp_core.fact_classes import mode_class, tempo_class

COLLECTION_NAMES = {
    "essen": "the Essen Folksong Collection",
    "ryans": "Ryan's Mammoth Collection",
    "oneills": "O'Neill's Music of Ireland (1850)",
    "bach": "the Bach chorales",
    "palestrina": "the masses of Palestrina",
    "monteverdi": "Monteverdi's madrigal books",
    "trecento": "the Italian Trecento repertory",
    "beethoven": "Beethoven's string quartets",
    "mozart": "Mozart's chamber music",
    "haydn": "Haydn's string quartets",
    "lieder": "the OpenScore Lieder Corpus",
}
# German / Essen place names -> English
PLACES = {
    "deutschland": "Germany", "oesterreich": "Austria", "schweiz": "Switzerland",
    "luxemburg": "Luxembourg", "lothringen": "Lorraine", "irland": "Ireland", "ungarn": "Hungary",
    "polen": "Poland", "niederlande": "the Netherlands", "frankreich": "France",
    "jugoslawien": "Yugoslavia", "udssr": "the USSR", "tschechoslowakei": "Czechoslovakia",
    "rumaenien": "Romania", "schweden": "Sweden", "daenemark": "Denmark", "italien": "Italy",
    "elsass": "Alsace", "schlesien": "Silesia", "westfalen": "Westphalia",
    "rheinland": "the Rhineland", "schwaben": "Swabia", "franken": "Franconia", "bayern": "Bavaria",
    "hessen": "Hesse", "tirol": "Tyrol", "steiermark": "Styria", "island": "Iceland",
    "osteuropa": "Eastern Europe", "suedosteuropa": "South-Eastern Europe",
    "nordeuropa": "Northern Europe", "suedeuropa": "Southern Europe", "asien": "Asia",
    "ostasien": "East Asia", "amerika": "America", "niederrhein": "the Lower Rhine",
    "schwarzwald": "the Black Forest", "brandenburg": "Brandenburg", "sachsen": "Saxony",
}
_GENRE_EN = [  # Essen genre keywords (German, Chinese) -> English, first match wins
    ("wiegen", "lullaby"), ("kinder", "children's song"), ("liebes", "love song"),
    ("ballade", "ballad"), ("romanze", "romance"), ("geistlich", "sacred song"),
    ("religi", "sacred song"), ("soldaten", "soldier's song"), ("kriegs", "soldier's song"),
    ("hochzeit", "wedding song"), ("abschied", "farewell song"), ("scherz", "humorous song"),
    ("trink", "drinking song"), ("tanz", "dance song"), ("arbeit", "work song"),
    ("wander", "wandering song"), ("klage", "lament"), ("xiaodiao", "xiaodiao (folk ditty)"),
    ("shange", "shan'ge (mountain song)"), ("haozi", "haozi (work song)"),
    ("yangge", "yangge (dance song)"), ("erzaehl", "narrative song"), ("sage", "legend song"),
]
_CHARACTER = {  # (mode class, tempo class) -> alternatives
    ("minor", "slow"): ["sombre, plaintive", "mournful and grave", "melancholy, lamenting"],
    ("minor", "moderate"): ["wistful, earnest", "serious and restrained", "dark, yearning"],
    ("minor", "lively"): ["restless, urgent", "driving and dark", "agitated"],
    ("minor", "fast"): ["fiery, driving", "urgent and stormy", "wild, energetic"],
    ("minor", None): ["dark, serious", "minor-key, introspective"],
    ("major", "slow"): ["calm, tender", "serene and peaceful", "gentle, hymn-like"],
    ("major", "moderate"): ["gentle, flowing", "warm and graceful", "easy-going"],
    ("major", "lively"): ["cheerful, bright", "sunny and lively", "bright, playful"],
    ("major", "fast"): ["brilliant, energetic", "exuberant", "bright, spirited"],
    ("major", None): ["bright, open", "major-key, cheerful"],
    ("modal", "slow"): ["modal, archaic-sounding", "austere, modal"],
    ("modal", None): ["modal, old-fashioned", "modal, rustic"],
}


def rng_for(work_id: str) -> random.Random:
    return random.Random(int(hashlib.sha1(work_id.encode()).hexdigest()[:12], 16))


def _an(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def key_words(key: str | None) -> str | None:
    """"bb major" -> "B-flat major"."""
    if not key:
        return None
    tonic, _, mode = key.partition(" ")
    acc = {"": "", "b": "-flat", "-": "-flat", "#": "-sharp", "bb": "-double-flat",
           "##": "-double-sharp"}.get(tonic[1:], tonic[1:])
    return f"{tonic[:1].upper()}{acc} {mode}".strip()


def place_name(detail: str) -> str:
    """"europa, mitteleuropa, deutschland, schlesien, hainau" -> "Germany, Silesia"."""
    tokens = [t.strip() for t in detail.split(",")]
    tokens = [t for t in tokens if t.lower() not in ("europa", "mitteleuropa", "")]
    out = []
    for t in tokens[:3]:
        t = re.sub(r"\s*\(.*?\)\s*", " ", t).strip(" ?")
        low = t.lower()
        out.append(PLACES.get(low, t[:1].upper() + t[1:] if t else t))
    return ", ".join(x for x in out if x) or detail


def genre_english(genre: str | None) -> str | None:
    if not genre:
        return None
    for key, en in _GENRE_EN:
        if key in genre:
            return en
    return None


def _range_words(facts: dict) -> str | None:
    lo, hi = facts.get("lowest"), facts.get("highest")
    if not lo or not hi:
        return None
    span = facts.get("highest_midi", 0) - facts.get("lowest_midi", 0)
    width = "a narrow" if span < 12 else "a moderate" if span <= 19 else "a wide"
    return f"{width} range from {lo.replace('-', 'b')} to {hi.replace('-', 'b')}"


def _length_words(meta: dict, rng: random.Random) -> str | None:
    bars, secs = meta.get("n_bars") or 0, meta.get("duration_seconds") or 0
    if not bars:
        return None
    size = "very short" if bars <= 12 else "short" if bars <= 40 else (
        "medium-length" if bars <= 120 else "long")
    mins = f"about {round(secs / 60)} minutes" if secs >= 90 else f"about {int(secs)} seconds"
    return rng.choice([f"{_an(size)} piece of {bars} bars", f"{size}: {bars} bars, {mins}",
                       f"{bars} bars long ({size})"])


def descriptions(info: WorkInfo, rng: random.Random) -> list[str]:
    """2-4 sentences written from the score's facts (never mentioning the title)."""
    lab, meta = info.labels, info.meta
    key, mode, meter = key_words(lab.get("key")), lab.get("mode"), lab.get("meter")
    tt = lab.get("tune_type")
    tempo = tempo_class(meta, tt)
    mcls = mode_class(mode)
    ens = lab.get("ensemble")
    noun = rng.choice(["piece", "work"]) if lab.get("era") != "folk" else rng.choice(
        ["tune", "melody"])
    out: list[str] = []
    if key and meter:
        out.append(rng.choice([f"in {key}, {meter} time", f"{_an(noun)} in {key} and {meter}",
                               f"{meter} time, key of {key}"]))
    elif key or meter:
        out.append(f"{_an(noun)} in {key or meter}" + (" time" if not key else ""))
    chars = _CHARACTER.get((mcls, tempo)) or _CHARACTER.get((mcls, None)) if mcls else None
    if chars or tempo:
        words = rng.choice(chars) if chars else ""
        if meter in ("6/8", "9/8", "12/8", "6/4") and tempo in ("lively", "fast"):
            words = ((words + ", " if words else "")
                     + rng.choice(["dancing", "lilting", "rollicking"]))
        tempo_txt = f"{tempo} tempo" if tempo else ""
        out.append(", ".join(x for x in (words, tempo_txt) if x) if rng.random() < 0.5 else
                   (f"{words} music" + (f" at a {tempo} tempo" if tempo else "")).strip())
    voices = len(meta.get("parts") or [])
    rng_txt = _range_words(info.facts)
    if ens and ens.endswith("parts") and lab.get("ensemble_class"):
        ens = None  # "three parts" says less than the facet phrase ("for solo piano")
    if ens:
        part = f"for {ens}" if not ens.startswith(("solo", "one")) else _an(ens)
        if voices > 1 and not ens.endswith(("voices", "parts", "quartet")):
            part += f" ({NUMBER_WORDS.get(voices, voices)} parts)"
        out.append(part + (f", with {rng_txt}" if rng_txt and rng.random() < 0.6 else ""))
    elif rng_txt:
        out.append(rng_txt)
    length = _length_words(meta, rng)
    if length:
        out.append(length)
    rng.shuffle(out)
    return out[: max(2, rng.randint(2, 4))]


def _lyric_line(text: str, max_words: int = 10) -> str:
    """The opening phrase of a lyric: up to the first punctuation after 4 words, <= 10 words."""
    words = text.split()
    out: list[str] = []
    for w in words:
        out.append(w)
        if (len(out) >= 4 and re.search(r"[,.;:!?]$", w)) or len(out) >= max_words:
            break
    return " ".join(out).rstrip(",;:")


def _contains(text: str, title: str | None) -> bool:
    if not title:
        return False
    t = norm_text(title)
    return bool(t) and t in norm_text(text)


def title_free(texts: list[str], title: str | None) -> list[str]:
    return [t for t in texts if not _contains(t, title)]


def composer_phrases(name: str, born: int | None, died: int | None, era: str | None) -> list[str]:
    """The ways a text candidate names a composer (one is drawn per work); the evaluation's
    composer prompts use all of them."""
    dates = f" ({born or '?'}-{died or '?'})" if born or died else ""
    era_txt = f", {_an(era.capitalize())} composer" if era and era != "folk" else ""
    return [f"{name}{dates}{era_txt}", f"by {name}{dates}", f"composed by {name}{era_txt}"]


def build_texts(info: WorkInfo) -> list[str]:
    """All text candidates of one work, de-duplicated, with >= 2 that do not contain the title."""
    rng = rng_for(info.id)
    lab = info.labels
    c = info.collection
    texts: list[str] = []
    if info.title:
        texts.append(info.title)
    if info.composer:
        texts.append(rng.choice(composer_phrases(info.composer, info.born, info.died,
                                                 lab.get("era"))))
    if c in COLLECTION_NAMES:
        texts.append(rng.choice([f"from {COLLECTION_NAMES[c]}", f"in {COLLECTION_NAMES[c]}"]))
    texts.extend(_kind_phrases(info, rng))
    if info.lyric:
        line = _lyric_line(info.lyric)
        texts.append(rng.choice([line, f'with the words "{line}"', f'words: "{line}"']))
    texts.extend(descriptions(info, rng))
    texts.extend(facet_phrases(info, rng))
    texts = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
    free = title_free(texts, info.title)
    if len(free) < 2:  # pad with plain facts until two title-free candidates exist
        for extra in (f"{lab.get('meter', '')} time".strip(), key_words(lab.get("key")),
                      lab.get("ensemble"), f"a {lab.get('era')} piece" if lab.get("era") else None):
            if (extra and extra != "time" and not _contains(extra, info.title)
                    and extra not in texts):
                texts.append(extra)
                free.append(extra)
            if len(free) >= 2:
                break
    return texts


# What the pieces of a traditional collection are, said of every one of them (a tune type,
# where known, does not say it: "a reel" alone never taught the model what a fiddle tune is)
_TRADITIONS = {
    "oneills": ["an Irish fiddle tune", "a traditional Irish fiddle tune", "Irish fiddle music"],
    "ryans": ["an American fiddle tune", "a fiddle tune", "a traditional fiddle tune"],
    "cre": ["an Irish dance tune", "an Irish fiddle tune", "Irish traditional dance music"],
    "nottingham": ["a British folk dance tune", "a traditional folk tune", "a folk tune"],
    "airds": ["a traditional air", "an old folk melody", "an eighteenth-century folk tune"],
    "miscfolk": ["a traditional folk tune", "a folk melody"],
}


def _kind_phrases(info: WorkInfo, rng: random.Random) -> list[str]:
    """Tune type, tradition, genre and region phrases."""
    lab, c = info.labels, info.collection
    out: list[str] = []
    tt = lab.get("tune_type")
    if tt:
        nat = "Irish" if c == "oneills" else ("American" if c == "ryans" else "")
        out.append(rng.choice([_an(f"{nat} {tt}".strip()), _an(f"{tt}") + " for fiddle",
                               f"fiddle tune: {tt}"]))
    if c in _TRADITIONS:
        out.append(rng.choice(_TRADITIONS[c]))
    if c == "essen":
        ge = genre_english(lab.get("genre"))
        place = place_name(lab["region_detail"]) if lab.get("region_detail") else None
        what = ge or "folk song"
        if place:
            out.append(rng.choice([f"{_an(what)} from {place}", f"folk song from {place}"
                                   + (f", {ge}" if ge else ""), f"{place}: {what}"]))
        elif ge:
            out.append(_an(f"folk {ge}" if "song" not in ge else ge))
        if not any("folk" in phrase for phrase in out):  # "a ballad from Germany" is one too
            # with its place: a bare "a folk song", the positive of every Essen song in a batch,
            # pulled them all one way and cost the regions (val 0.93 -> 0.82)
            out.append(rng.choice([f"a folk song from {place}",
                                   f"a traditional folk song from {place}"] if place
                                  else ["a folk song", "a traditional folk song"]))
    genre = lab.get("genre")
    if c == "bach":
        out.append(rng.choice(["a four-part chorale harmonisation", "a Lutheran chorale setting",
                               "a Baroque chorale for four voices"]))
    elif c == "palestrina":
        mvt = (info.title or "").strip()
        mvt = "Agnus Dei" if mvt.lower().startswith("agnus") else mvt
        mass = f" of the {info.work}" if info.work else ""
        out.append(f"the {mvt}{mass}, a Renaissance mass movement" if mvt else
                   "a Renaissance mass movement")
        out.append(rng.choice(["sacred polyphony for a cappella choir",
                               "Renaissance vocal polyphony", "a cappella Latin mass music"]))
    elif c == "monteverdi":
        out.append(rng.choice(["an Italian madrigal for five voices", "a late Renaissance madrigal",
                               "a polyphonic Italian madrigal"]))
    elif c == "trecento":
        out.append(rng.choice(["fourteenth-century Italian polyphony", "medieval Italian music",
                               "a piece of the Italian ars nova"]))
    elif genre in ("string quartet", "piano sonata"):
        out.append(rng.choice([f"a movement of a {info.labels.get('era', '')} {genre}",
                               f"{genre} movement"]).replace("  ", " "))
    elif c == "lieder":
        out.append(rng.choice(["an art song for voice and piano", "a Lied",
                               f"a {lab.get('era', 'romantic')} song with piano accompaniment"]))
    if info.work and c not in ("palestrina",) and not _contains(info.work, info.title):
        out.append(rng.choice([f"from {info.work}", f"part of {info.work}"]))
    return out


_ENSEMBLE_WORDS = {
    "solo melody": ["a single melody line", "an unaccompanied melody", "one melodic line"],
    "solo piano": ["for solo piano", "a piano piece", "piano music"],
    "keyboard": ["for organ", "keyboard music", "for organ or harpsichord"],
    "voice and piano": ["a song for voice and piano", "for voice with piano accompaniment",
                        "voice and piano"],
    "choir": ["for choir", "choral music", "for voices alone"],
    "voices and instruments": ["for voices and instruments",
                               "vocal music with instrumental accompaniment",
                               "for choir or soloists with instruments"],
    "string quartet": ["for string quartet", "two violins, viola and cello",
                       "string quartet music"],
    "chamber ensemble": ["chamber music", "for a small instrumental ensemble",
                         "instrumental chamber music"],
    "orchestra": ["for orchestra", "orchestral music", "for full orchestra"],
}
_FORM_WORDS = {"mass": ["a mass movement", "part of a mass setting"],
               "vespers": ["music for vespers", "a vespers psalm setting"],
               "song": ["a song"], "pop song": ["a pop song", "popular song"],
               "cantopop": ["a Cantonese pop song", "Cantopop"],
               "string quartet": ["a string quartet movement"],
               "variations": ["a set of variations", "theme and variations"]}
_ERA_WORDS = {"medieval": "medieval", "renaissance": "Renaissance", "baroque": "Baroque",
              "classical": "Classical-era", "romantic": "Romantic-era",
              "modern": "twentieth-century"}
_METRE_WORDS = {"duple": ["in duple time", "duple metre"], "triple": ["in triple time",
                "triple metre, three beats to the bar"], "compound": ["in compound time",
                "compound metre with a lilting beat"]}
_MODE_WORDS = {"major": ["in a major key", "major key"], "minor": ["in a minor key", "minor key"],
               "modal": ["modal", "in a church mode"]}
_TEXTURE_WORDS = {"single line": ["a single line, no harmony", "monophonic"],
                  "chordal": ["chordal texture", "full chords"],
                  "polyphonic": ["polyphonic, independent voices", "contrapuntal texture"],
                  "melody and accompaniment": ["melody with accompaniment"]}


def facet_phrases(info: WorkInfo, rng: random.Random) -> list[str]:
    """Short candidates from the score's facets: ensemble, form and era, mode and metre,
    texture. Text dropout mixes them, so a query naming any subset finds the work."""
    lab = info.labels
    out: list[str] = []
    ens = lab.get("ensemble_class")
    if ens:
        words = rng.choice(_ENSEMBLE_WORDS[ens])
        if ens == "choir" and (n := len(info.meta.get("parts") or [])) > 1:
            words += f" ({NUMBER_WORDS.get(n, n)} voices)"
        out.append(words)
    form, era = lab.get("form"), _ERA_WORDS.get(lab.get("era", ""))
    if form and not (info.collection == "bach" and form == "chorale"):  # said by kind phrases
        phrase = rng.choice(_FORM_WORDS.get(form) or [_an(form)])
        if era and rng.random() < 0.5 and phrase.startswith(("a ", "an ")):
            phrase = _an(f"{era} {phrase.split(' ', 1)[1]}")
        out.append(phrase)
    elif era:
        out.append(rng.choice([f"{_an(era)} piece", f"{era} music"]))
    bits = [rng.choice(_MODE_WORDS[m]) for m in [lab.get("mode_class")] if m]
    bits += [rng.choice(_METRE_WORDS[m]) for m in [lab.get("metre_family")] if m]
    if bits:
        out.append(", ".join(bits))
    tex = lab.get("texture")
    if tex and rng.random() < 0.5:
        out.append(rng.choice(_TEXTURE_WORDS[tex]))
    return out
