"""Labels of a dataset record: collection, tune type, region, composer, genre, key, mode, meter,
ensemble, era. Values are lower-case; a key is left out when the source does not say.

Essen region mapping (from the real ``O:`` values of the music21 copy), by the language of the
community a song was collected in, as the label's name says: "China" or a Chinese province (also
after "Asien, Ostasien") -> china; any place token naming a German-speaking country or region ->
german-speaking: Germany, Austria, German Switzerland, Tyrol, and the German-speaking regions and
enclaves the collection draws on (Luxembourg, German Lorraine, Alsace, Silesia, Pomerania, East
and West Prussia, Gottschee, the Sudetenland, the Transylvanian and Volga Germans); everything
else (Ireland, the Netherlands and Flanders, Scandinavia, Hungary, Poland, Russia, France,
America, ...) -> other. Earlier builds put Luxembourg, Lorraine and Alsace under "other": 1,700
German-language songs (the Lorraine ones are Pinck's "Verklingende Weisen") in a class meant for
other languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from unidecode import unidecode

from clamp_core.datasets.facets import era_from_year, form_from_text, texture
from clamp_core.fact_classes import (
    ensemble_class,
    instrument_family,
    instrumentation_families,
    metre_family,
    mode_class,
    tempo_class,
)

FOLK = {"essen", "ryans", "oneills", "airds", "miscfolk", "nottingham", "cre"}
FIDDLE = {"ryans", "oneills", "airds", "nottingham", "cre"}  # collections with tune types
POPULAR = {"pop909", "cantopop"}
VOCAL = {"bach", "palestrina", "monteverdi", "trecento", "josquin", "lieder"}

# surname key -> (full name, born, died, era)
COMPOSERS: dict[str, tuple[str, int | None, int | None, str]] = {
    "bach": ("Johann Sebastian Bach", 1685, 1750, "baroque"),
    "palestrina": ("Giovanni Pierluigi da Palestrina", 1525, 1594, "renaissance"),
    "monteverdi": ("Claudio Monteverdi", 1567, 1643, "renaissance"),
    "beethoven": ("Ludwig van Beethoven", 1770, 1827, "classical"),
    "mozart": ("Wolfgang Amadeus Mozart", 1756, 1791, "classical"),
    "haydn": ("Joseph Haydn", 1732, 1809, "classical"),
    "josquin": ("Josquin des Prez", 1450, 1521, "renaissance"),
    "ciconia": ("Johannes Ciconia", 1370, 1412, "medieval"),
    "landini": ("Francesco Landini", 1325, 1397, "medieval"),
    "jacopo da bologna": ("Jacopo da Bologna", None, None, "medieval"),
    "vitry": ("Philippe de Vitry", 1291, 1361, "medieval"),
    "gherardello": ("Gherardello da Firenze", None, None, "medieval"),
    "lorenzo da firenze": ("Lorenzo da Firenze", None, None, "medieval"),
    "bartolino da padova": ("Bartolino da Padova", None, None, "medieval"),
    "gratiosus de padua": ("Gratiosus de Padua", None, None, "medieval"),
    "philipoctus de caserta": ("Philipoctus de Caserta", None, None, "medieval"),
}
# how the trecento files spell them -> our key
_TRECENTO_ALIASES = {"ciconia": "ciconia", "landini": "landini", "jacopo": "jacopo da bologna",
                     "vitry": "vitry", "gherardello": "gherardello",
                     "lorenzo": "lorenzo da firenze",
                     "bartholus": "bartolino da padova", "gratiosus": "gratiosus de padua",
                     "grattosus": "gratiosus de padua", "caserta": "philipoctus de caserta"}
COLLECTION_ERA = {"essen": "folk", "ryans": "folk", "oneills": "folk", "bach": "baroque",
                  "palestrina": "renaissance", "monteverdi": "renaissance",
                  "trecento": "medieval", "beethoven": "classical", "mozart": "classical",
                  "haydn": "classical", "airds": "folk", "miscfolk": "folk", "nottingham": "folk",
                  "cre": "folk", "josquin": "renaissance", "chopin": "romantic"}
COLLECTION_GENRE = {"ryans": "fiddle tune", "oneills": "fiddle tune", "bach": "chorale",
                    "palestrina": "mass", "monteverdi": "madrigal", "lieder": "lied",
                    "pop909": "pop song", "cantopop": "cantopop", "hymns": "hymn"}

TUNE_TYPES = ("reel", "jig", "double jig", "single jig", "slip jig", "hornpipe", "strathspey",
              "polka", "clog", "highland fling", "air", "march", "waltz", "set dance", "slide",
              "mazurka", "schottische", "barn dance", "walkaround", "quickstep", "fling",
              "morris dance", "country dance", "christmas carol")
_TUNE_ALIASES = {"slipjig": "slip jig", "fling": "highland fling", "hornpipes": "hornpipe",
                 "reels": "reel", "jigs": "jig", "setdance": "set dance"}
_COARSE = {"double jig": "jig", "single jig": "jig", "slip jig": "slip jig"}

# substrings of a place token that name a German-speaking country, region or enclave
_GERMAN_PLACES = ("deutsch", "oesterreich", "osterreich", "tirol", "steiermark", "luxemburg",
                  "lothringen", "elsass", "schlesien", "pommern", "preussen", "danzig",
                  "gottschee", "siebenbuergen", "sudetenland", "kuhlaendchen", "zips", "wolga",
                  "appenzell", "entlebu", "emmenthal", "haslithal", "siebethal")
_GENERIC_PLACES = {"europa", "mitteleuropa", "opa", ""}
_CHINESE_PROVINCES = {"yunnan", "hunan", "hubei", "sichuan", "shaanxi", "shanxi", "gansu"}

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
                8: "eight", 9: "nine", 10: "ten"}
_VOICE_NAMES = ("soprano", "alto", "tenor", "bass", "canto", "cantus", "quinto", "sesto",
                "contratenor", "superius", "triplum", "motetus", "voice", "voix", "singstimme",
                "gesang", "stimme", "mezzo", "baritone", "basso", "discantus", "tenore")
_PIANO_NAMES = ("piano", "klavier", "pianoforte", "clavier")
_STRING_NAMES = ("violin", "viola", "cello", "violoncello", "vln", "vla", "vc")


@dataclass
class WorkInfo:
    """What texts and labels are written from: cleaned facts about one work."""

    id: str
    collection: str
    title: str | None
    composer: str | None = None        # display name
    born: int | None = None
    died: int | None = None
    work: str | None = None            # enclosing work (mass, quartet) when known
    lyric: str | None = None           # first line of the words
    region_detail: str | None = None
    abc_fields: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    row: dict = field(default_factory=dict)  # what the source says of the work (table, records)
    abc: str = ""


def norm_text(s: str) -> str:
    """Lower-case ASCII alphanumerics only (accents folded): the split's group key form."""
    return re.sub(r"[^a-z0-9]", "", unidecode(s).lower())


def tune_type(raw: str | None) -> str | None:
    """Normalise an ABC R: value ("Slipjig", " jig") to our tune-type vocabulary."""
    if not raw:
        return None
    s = " ".join(re.sub(r"[^a-z ]", " ", raw.lower()).split())
    s = _TUNE_ALIASES.get(s, s)
    return s if s in TUNE_TYPES else None


def tune_type_coarse(t: str) -> str:
    return _COARSE.get(t, t)


def essen_region(o_field: str | None) -> str | None:
    """china | german-speaking | other from an Essen O: value (see module docstring)."""
    if not o_field:
        return None
    tokens = [t.strip().lower() for t in o_field.split(",")]
    while tokens and tokens[0] in _GENERIC_PLACES:
        tokens.pop(0)
    if not tokens:
        return None
    if tokens[0] in _CHINESE_PROVINCES or any(t.startswith("china") for t in tokens[:3]):
        return "china"
    places = [p.strip() for t in tokens for p in re.split(r"[/;]", t)]
    for p in places:
        if any(g in p for g in _GERMAN_PLACES) or (
                p.startswith("schweiz") and "franzoesisch" not in p):
            return "german-speaking"
    return "other"


def essen_genre(r_field: str | None) -> str | None:
    """Essen R: text, cleaned: "Liebes - Lied, Leid" -> "liebeslied, leid"; "???" -> None."""
    if not r_field:
        return None
    s = r_field.replace("]", "").replace("[", "").strip().lower()
    s = re.sub(r"\s+-\s+(?=\w)", "", s)   # "liebes - lied" -> "liebeslied"
    s = re.sub(r"\s+-(?=[,\s]|$)", "-", s)  # "kinder -, wiegen" -> "kinder-, wiegen"
    s = " ".join(s.split()).strip(" ,;")
    return s if s and not set(s) <= set("?") and "??" not in s else None


def trecento_composer(raw: str | None) -> str | None:
    if not raw:
        return None
    low = unidecode(raw).lower()
    for alias, key in _TRECENTO_ALIASES.items():
        if alias in low:
            return key
    return None


def era_from_dates(born: int | None, died: int | None) -> str | None:
    """Era of a composer's working life (about age 40)."""
    return era_from_year(born + 40 if born else (died - 20 if died else None))


def key_and_mode(key_text: str | None) -> tuple[str | None, str | None]:
    if not key_text:
        return None, None
    k = key_text.strip().lower()
    parts = k.split()
    return k, (parts[1] if len(parts) > 1 else None)


def ensemble(parts: list[str], collection: str) -> str | None:
    """A plain-words ensemble from part names: solo melody, voice and piano, string quartet..."""
    n = len(parts)
    if n == 0:
        return None
    names = [p.lower() for p in parts]

    def has(words: tuple[str, ...], name: str) -> bool:
        return any(w in name for w in words)

    if n == 1:
        if has(_PIANO_NAMES, names[0]):
            return "solo piano"
        return "solo melody" if collection not in VOCAL or collection == "lieder" else "one voice"
    if any(has(_PIANO_NAMES, x) for x in names):
        singers = sum(has(_VOICE_NAMES, x) for x in names)
        if singers == 1 or (collection == "lieder" and n == 2):
            return "voice and piano"
        if singers > 1:
            return f"{NUMBER_WORDS.get(singers, singers)} voices and piano"
    if n == 4 and all(has(_STRING_NAMES, x) for x in names):
        return "string quartet"
    if collection in VOCAL or all(has(_VOICE_NAMES, x) for x in names):
        return f"{NUMBER_WORDS.get(n, n)} voices"
    return f"{NUMBER_WORDS.get(n, n)} parts"


def build_labels(info: WorkInfo) -> dict:
    """The label dict of one work (lower-case values, unknown keys left out)."""
    c = info.collection
    lab: dict[str, str] = {"collection": c}
    meta, f = info.meta, info.abc_fields
    if c in FIDDLE or c == "abc":
        tt = tune_type(info.row.get("tune_type") or f.get("R"))
        if tt is None and info.title and "--" in info.title:  # Ryan's "7th Regiment -- Reel"
            tt = tune_type(info.title.rsplit("--", 1)[1])
        if tt:
            lab["tune_type"] = tt
            lab["tune_type_coarse"] = tune_type_coarse(tt)
    if c == "essen":
        region = essen_region(f.get("O"))
        if region:
            lab["region"] = region
            lab["region_detail"] = " ".join(f["O"].split()).lower()
        g = essen_genre(f.get("R"))
        if g:
            lab["genre"] = g
    composer_key = c if c in COMPOSERS else None
    if c == "trecento":
        composer_key = trecento_composer(info.facts.get("md", {}).get("composer"))
    if composer_key:
        lab["composer"] = composer_key
    elif c not in FOLK and info.composer and not ANONYMOUS.match(info.composer):
        lab["composer"] = " ".join(info.composer.lower().split())
    genre = COLLECTION_GENRE.get(c) or info.facts.get("genre_hint")
    if genre and "genre" not in lab:
        lab["genre"] = genre
    if meta.get("meter"):
        lab["meter"] = meta["meter"]
    k, mode = key_and_mode(info.facts.get("key") or meta.get("key"))
    if k:
        lab["key"] = k
    if mode:
        lab["mode"] = mode
    ens = ensemble(meta.get("parts") or [], c)
    if ens:
        lab["ensemble"] = ens
    if c in ("beethoven", "mozart", "haydn") and "genre" not in lab:
        lab["genre"] = "string quartet" if ens == "string quartet" else (
            "piano sonata" if ens == "solo piano" else "chamber music")
    era = (COLLECTION_ERA.get(c) or era_from_dates(info.born, info.died)
           or (era_from_year(_year(info.row.get("year"))) if c not in POPULAR else None))
    if era:
        lab["era"] = era
    lab.update(facet_labels(info, lab))
    return lab


ANONYMOUS = re.compile(r"^\s*(anonim|anon|anonymous|anonyme|unknown|nieznany)\b", re.I)
# the ensemble of collections whose files name no parts (or name them "Part 1")
_COLLECTION_ENSEMBLE = {"lieder": "voice and piano", "hauptstimme": "orchestra",
                        "palestrina": "choir", "monteverdi": "choir", "josquin": "choir",
                        "trecento": "choir", "bach": "choir", "hymns": "choir",
                        "pop909": "solo piano"}  # melody, bridge, accompaniment: all piano


def _year(s: str | None) -> int | None:
    m = re.search(r"(1\d{3}|20\d{2})", s or "")
    return int(m.group(1)) if m else None


def facet_labels(info: WorkInfo, lab: dict) -> dict:
    """ensemble_class, mode_class, metre_family, tempo, form and texture of one work."""
    c, meta, row = info.collection, info.meta, info.row
    out: dict[str, str] = {}
    parts = meta.get("parts") or []
    # a Humdrum instrumentation record names every part; "2 empty" names none
    fams: list[str | None] = instrumentation_families(row.get("instruments") or "")
    n = len(fams)
    if not fams:
        fams, n = [instrument_family(p) for p in parts], len(parts)
    ens = ensemble_class(fams, n)
    if ens is None and (c in FOLK or c == "cantopop") and len(parts) <= 1:
        ens = "solo melody"
    if ens is None and c == "chopin" and len(parts) <= 2:  # unnamed staves of a piano score
        ens = "solo piano"
    ens = ens or _COLLECTION_ENSEMBLE.get(c) or row.get("ensemble")
    if ens:
        out["ensemble_class"] = ens
    mc = mode_class(lab.get("mode"))
    if mc:
        out["mode_class"] = mc
    mf = metre_family(lab.get("meter"))
    if mf:
        out["metre_family"] = mf
    tempo = tempo_class(meta, lab.get("tune_type"))
    if tempo:
        out["tempo"] = tempo
    form = (form_from_text(row.get("genre")) or form_from_text(info.title, info.work)
            if c not in FOLK and c not in POPULAR else None)
    form = form or {"bach": "chorale", "lieder": "song", "palestrina": "mass",
                    "monteverdi": "madrigal", "pop909": "pop song",
                    "cantopop": "cantopop"}.get(c)
    if c in ("beethoven", "mozart", "haydn") and ens == "string quartet":
        form = "string quartet"
    if form:
        out["form"] = form
    tex = texture(info.abc) if info.abc else None
    if tex:
        out["texture"] = tex
    return out
