"""Classes a score's own facts put it in: ensemble (from part names or a Humdrum instrumentation
record), tempo character, major / minor / modal, duple / triple / compound metre. Shared by the
dataset builder (training labels and texts) and the index (search filters); each returns None when
the facts do not say."""

from __future__ import annotations

import re

from unidecode import unidecode

ENSEMBLE_CLASSES = ("solo melody", "solo piano", "keyboard", "voice and piano", "choir",
                    "voices and instruments", "string quartet", "chamber ensemble", "orchestra")

# instrument family of a part name or Humdrum *I code (word prefixes, accents folded, lower case)
_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("strings", ("violin", "violn", "violino", "viola", "viole", "violt", "violb", "cello",
                 "violoncello", "vc", "vln", "vla", "cbass", "contrabass", "kontrabas",
                 "double bass", "skrzypce", "altowka", "wiolonczela", "arpa", "harp",
                 "liuto", "lute", "guitar", "gitara")),
    ("piano", ("piano", "pianoforte", "forte", "klavier", "fortepian", "keyboard", "clavier",
               "clavi")),
    ("organ", ("organ", "organo", "orgel", "organy", "cemba", "harpsichord", "cembalo",
               "continuo", "basso continuo")),
    ("winds", ("flute", "flt", "flauto", "picco", "piccolo", "oboe", "cangl", "english horn",
               "clarinet", "clars", "clarb", "clara", "bassoon", "fagot", "fagott", "horn",
               "cor", "corno", "trumpet", "tromp", "tromt", "troma", "clrno", "clarino",
               "trombone", "tromb", "tuba", "ophic", "serp", "cornt", "cornet", "trąbka",
               "trabka", "waltornia", "oboj", "klarnet", "flet", "puzon")),
    ("percussion", ("timpa", "timpani", "kotly", "drum", "bdrum", "piatt", "trngl", "gong",
                    "glock", "tambn", "percussion")),
    ("voice", ("soprano", "soprn", "sopran", "alto", "calto", "altus", "tenor", "tenore",
               "bass", "basso", "bassus", "baritone", "barit", "mezzo", "voice", "vox", "voix",
               "canto", "cantus", "coro", "choir", "chorus", "chor", "quinto", "sesto",
               "superius", "discantus", "contratenor", "triplum", "motetus", "singstimme",
               "gesang", "stimme", "male", "feme", "glos", "chór")),
)
_CODE_COUNT = re.compile(r"(\d+)\s+([a-z_]+)")


def instrument_family(name: str) -> str | None:
    """strings | piano | organ | winds | percussion | voice for a part name or code."""
    low = unidecode(name).lower().strip()
    if not low or re.fullmatch(r"(part|staff|track|instrument|p)\s*\d*", low):
        return None
    words = re.findall(r"[a-z_]+", low)
    for family, names in _FAMILIES:
        for w in words:
            if any(w == n or (len(n) > 3 and w.startswith(n)) for n in names):
                # "basso continuo" and "bass drum" are no singers
                if family == "voice" and ("continuo" in low or "drum" in low):
                    continue
                return family
    return None


def instrumentation_families(ain: str) -> list[str]:
    """Families of a Humdrum AIN record ("1 alto 1 bass 2 violn 1 organ"), with counts."""
    out: list[str] = []
    for count, code in _CODE_COUNT.findall(ain.lower()):
        fam = instrument_family(code)
        if fam:
            out.extend([fam] * min(int(count), 8))
    return out


def ensemble_class(families: list[str | None], n_parts: int) -> str | None:
    """One of ENSEMBLE_CLASSES from the instrument family of each part (None: unknown name)."""
    known = [f for f in families if f]
    if n_parts == 0 or not known:
        return None
    if len(known) < len(families) and len(known) < 2 and n_parts > 2:
        return None  # most parts unnamed ("Part 5"): too little to tell
    count = {f: known.count(f) for f in set(known)}
    voices, piano, organ = count.get("voice", 0), count.get("piano", 0), count.get("organ", 0)
    strings, winds = count.get("strings", 0), count.get("winds", 0)
    others = len(known) - voices - piano - organ
    if n_parts == 1 and len(known) == 1:
        return "solo piano" if piano else "keyboard" if organ else "solo melody"
    if voices and not (piano or organ or others):
        return "choir" if voices > 1 else "solo melody"
    if voices == 1 and piano and not (organ or others):
        return "voice and piano"
    if voices:
        return "voices and instruments"
    if piano and not (organ or others):
        return "solo piano"  # a piano score often comes as two staves, two "parts"
    if organ and not (piano or others):
        return "keyboard"
    if strings == 4 and not (piano or organ or winds or count.get("percussion")):
        return "string quartet"
    if (winds and strings and len(known) >= 8) or (count.get("percussion") and strings):
        return "orchestra"
    return "chamber ensemble"


_TUNE_TEMPO = {"reel": "fast", "jig": "lively", "double jig": "lively", "single jig": "lively",
               "slip jig": "lively", "hornpipe": "moderate", "strathspey": "moderate",
               "highland fling": "lively", "clog": "moderate", "air": "slow",
               "waltz": "moderate", "march": "moderate", "polka": "lively", "slide": "lively"}
_TEMPO_TERMS = [  # (words in a tempo marking, class); multi-word terms first
    ("allegro molto", "fast"), ("molto allegro", "fast"), ("allegro assai", "fast"),
    ("allegro vivace", "fast"), ("nicht zu schnell", "moderate"), ("nicht zu rasch", "moderate"),
    ("prestissimo", "fast"), ("presto", "fast"), ("vivace", "fast"), ("vivo", "fast"),
    ("schnell", "fast"), ("rasch", "fast"), ("geschwind", "fast"), ("allegretto", "lively"),
    ("allegro", "lively"), ("lebhaft", "lively"), ("munter", "lively"), ("frisch", "lively"),
    ("bewegt", "lively"), ("animato", "lively"), ("con moto", "lively"), ("fröhlich", "lively"),
    ("andantino", "moderate"), ("andante", "moderate"), ("moderato", "moderate"),
    ("mässig", "moderate"), ("massig", "moderate"), ("mäßig", "moderate"), ("gehend", "moderate"),
    ("maestoso", "moderate"), ("comodo", "moderate"), ("larghetto", "slow"), ("largo", "slow"),
    ("lento", "slow"), ("adagio", "slow"), ("grave", "slow"), ("langsam", "slow"),
    ("innig", "slow"), ("sostenuto", "slow"), ("slow", "slow"), ("lively", "lively"),
    ("moderate", "moderate"), ("fast", "fast"), ("quick", "fast"), ("lent", "slow"),
    ("modéré", "moderate"), ("vif", "fast"), ("animé", "lively"),
]

def tempo_class(meta: dict, tune_type: str | None) -> str | None:
    """slow | moderate | lively | fast from the tempo words, else the BPM, else the tune type."""
    text = (meta.get("tempo_text") or "").lower()
    if text:
        for term, cls in _TEMPO_TERMS:
            if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text):
                return cls
    bpm = meta.get("tempo")
    if bpm:
        return ("slow" if bpm < 70 else "moderate" if bpm < 100 else
                "lively" if bpm < 140 else "fast")
    return _TUNE_TEMPO.get(tune_type or "")


def mode_class(mode: str | None) -> str | None:
    if mode in ("major", "ionian"):
        return "major"
    if mode in ("minor", "aeolian"):
        return "minor"
    return "modal" if mode else None


def metre_family(meter: str | None) -> str | None:
    """duple | triple | compound from a time signature ("6/8" compound, "3/4" triple)."""
    m = re.match(r"\s*(\d+)\s*/\s*(\d+)", meter or "")
    if not m:
        return "duple" if (meter or "").strip() in ("C", "C|") else None
    num, den = int(m.group(1)), int(m.group(2))
    if num in (6, 9, 12) and den >= 4:
        return "compound"
    if num == 3:
        return "triple"
    if num in (2, 4, 8) or (num == 1 and den <= 2):
        return "duple"
    return None  # 5/4, 7/8 ...: irregular, not one of the three
