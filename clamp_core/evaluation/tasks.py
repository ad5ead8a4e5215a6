"""The zero-shot tasks of the quality report and of calibration: which label of which
collections, the classes kept, and the prompts of each class (rules chosen on val).

The first four tasks are the original report's, unchanged so that old reports stay comparable.
The others score the broad corpus's facet labels (ensemble, era, form, mode, metre, tempo), the
Polish composers and the English and Irish folk tune types; each is skipped on a dataset whose
records lack its label (fewer than two classes with enough test works). Their prompts are a
user's words for each class, several averaged per class; they have not yet been compared on the
val split of the broad corpus."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from unidecode import unidecode

from clamp_core.datasets.labels import COMPOSERS
from clamp_core.datasets.texts import composer_phrases, place_name


@dataclass
class Task:
    """One zero-shot task: which label, which records, and the prompts of each class."""

    name: str
    label: str
    collections: tuple[str, ...] | None  # None: every collection
    templates: tuple[str, ...] = ("{}",)  # used for classes the prompt rule does not cover
    top: int | None = None  # keep the most frequent classes only
    min_test: int = 3  # a class needs this many test works
    # prompts of a class made from a rule and the class's training records, when given
    prompt_rule: Callable[[str, list[dict]], list[str]] | None = None
    # prompts written for a class (a user's words); before the templates, after the rule
    phrases: Mapping[str, Sequence[str]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()  # label values never scored (an era of "folk")
    display: Callable[[str], str] | None = None  # the class as the templates name it

    def class_prompts(self, classes: list[str],
                      train: list[dict] | None = None) -> dict[str, list[str]]:
        out = {}
        for c in classes:
            if self.prompt_rule and train is not None:
                out[c] = self.prompt_rule(c, [r for r in train if r["labels"].get(self.label) == c])
            name = self.display(c) if self.display else c
            out[c] = (out.get(c) or list(self.phrases.get(c, ()))
                      or [t.format(name) for t in self.templates])
        return out


def composer_prompts(key: str, _train: list[dict]) -> list[str]:
    """A music21 composer named as our training texts and the `composers` label set name them:
    full name, with dates and era where known (val: margins 0.128 -> 0.178, accuracy 1.0 both)."""
    if key not in COMPOSERS:
        return []
    name, born, died, era = COMPOSERS[key]
    return composer_phrases(name, born, died, era)


def region_prompts(_region: str, train: list[dict], k: int = 10) -> list[str]:
    """A region as the places its training songs name most often ("a folk song from Lorraine").
    On val this beat the hand-written prompts with each of five checkpoints (+0.02 to +0.06)."""
    places = Counter(place_name(r["labels"]["region_detail"]).split(",")[0] for r in train
                     if r["labels"].get("region_detail"))
    return [f"a folk song from {p}" for p, _ in places.most_common(k)]


_PARTICLES = {"von", "van", "de", "da", "di", "del", "della", "der", "den", "du", "la", "le",
              "z", "ze"}


def person_name(label: str) -> str:
    """A lower-case composer label as a name is written: "jozef elsner" -> "Jozef Elsner",
    "ludwig van beethoven" -> "Ludwig van Beethoven"."""
    words = label.split()
    return " ".join(w if (w in _PARTICLES and 0 < i < len(words) - 1) else
                    "-".join(p[:1].upper() + p[1:] for p in w.split("-"))
                    for i, w in enumerate(words))


def _folded(s: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", unidecode(s).lower()).split())


def named_composer_prompts(key: str, train: list[dict], k: int = 4) -> list[str]:
    """A composer known only by name (no dates in COMPOSERS): the phrases naming them that the
    class's training works carry most often ("by Józef Elsner (1769-1854)"), so the prompt is
    spelt as the training texts spell the name; none when no text names them."""
    name = _folded(key)
    if not name:
        return []
    found: Counter[str] = Counter()
    for r in train:
        title = _folded((r.get("meta") or {}).get("title") or "")
        for t in r.get("texts", ()):
            low = _folded(t)
            if low != title and re.match(rf"(composed by |music by |by )?{re.escape(name)}\b",
                                         low):
                found[t] += 1
    return [t for t, _ in found.most_common(k)]


def _an(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _plain_phrases(kind: str) -> list[str]:
    """Prompts for a form or tune type no list below writes out."""
    return [_an(kind), f"this piece is {_an(kind)}", f"music in the form of {_an(kind)}"]


TUNE_TEMPLATES = ("a {}", "an Irish {}", "a {}, a traditional fiddle tune", "this tune is a {}")
COMPOSER_TEMPLATES = ("music by {}", "a piece composed by {}", "{}")
# chosen on the validation split (30 songs: 0.30 -> 0.43 with the previous model), as the works
# are all songs; the test split was not consulted
SONG_COMPOSER_TEMPLATES = ("a song by {}", "a Lied by {}", "composed by {}", "by {}")

# -- the broad benchmark's classes in a user's words -----------------------------------------
FOLK_COLLECTIONS = ("essen", "ryans", "oneills", "airds", "miscfolk", "nottingham", "cre")
POP_COLLECTIONS = ("pop909", "cantopop")
ART_COLLECTIONS = ("bach", "palestrina", "monteverdi", "trecento", "josquin", "beethoven",
                   "mozart", "haydn", "lieder", "polish", "chopin", "hauptstimme")

ENSEMBLE_PHRASES = {
    "solo melody": ("a single unaccompanied melody", "a solo melody line",
                    "a tune for one voice or instrument", "an unaccompanied melody"),
    "solo piano": ("music for solo piano", "a piano piece", "a piece for piano solo",
                   "solo piano music"),
    "keyboard": ("music for organ", "a keyboard piece for organ or harpsichord",
                 "an organ piece", "keyboard music"),
    "voice and piano": ("a song for voice and piano", "a solo song with piano accompaniment",
                        "voice and piano", "an art song for singer and pianist"),
    "choir": ("music for choir", "a choral piece for unaccompanied voices",
              "an a cappella choral work", "music for voices alone"),
    "voices and instruments": ("music for voices and instruments", "a choral work with orchestra",
                               "vocal music with instrumental accompaniment",
                               "singers with an instrumental ensemble"),
    "string quartet": ("a string quartet", "music for two violins, viola and cello",
                       "a piece for string quartet", "a string quartet movement"),
    "chamber ensemble": ("chamber music", "a piece for a small instrumental ensemble",
                         "instrumental chamber music", "a chamber work for a few instruments"),
    "orchestra": ("music for orchestra", "an orchestral piece", "a work for full orchestra",
                  "orchestral music"),
}
ERA_PHRASES = {
    "medieval": ("a medieval piece", "music of the Middle Ages", "medieval music",
                 "fourteenth-century music"),
    "renaissance": ("a Renaissance piece", "Renaissance music", "music of the Renaissance",
                    "sixteenth-century music"),
    "baroque": ("a Baroque piece", "Baroque music", "music of the Baroque era",
                "early eighteenth-century music"),
    "classical": ("a Classical-era piece", "music of the Classical period",
                  "a piece from the Classical era", "late eighteenth-century music"),
    "romantic": ("a Romantic piece", "Romantic-era music", "music of the Romantic period",
                 "nineteenth-century music"),
    "modern": ("a twentieth-century piece", "modern music", "music of the twentieth century",
               "a modern piece"),
}
MODE_PHRASES = {
    "major": ("a piece in a major key", "music in a major key", "in a major key", "major mode"),
    "minor": ("a piece in a minor key", "music in a minor key", "in a minor key", "minor mode"),
    "modal": ("a modal piece", "music in a church mode", "modal music, neither major nor minor",
              "in a mode such as Dorian or Mixolydian"),
}
METRE_PHRASES = {
    "duple": ("music in duple time", "a piece with two or four beats to the bar",
              "in 2/4 or 4/4 time", "duple metre"),
    "triple": ("music in triple time", "a piece with three beats to the bar", "in 3/4 time",
               "triple metre"),
    "compound": ("music in compound time", "a piece in 6/8 time",
                 "compound metre with a lilting beat", "in 6/8 or 12/8 time"),
}
TEMPO_PHRASES = {
    "slow": ("a slow piece", "slow music", "at a slow tempo", "a slow, unhurried piece"),
    "moderate": ("a piece at a moderate tempo", "moderate tempo", "at a walking pace",
                 "neither fast nor slow"),
    "lively": ("a lively piece", "lively music", "at a lively tempo", "a brisk, lively piece"),
    "fast": ("a fast piece", "fast music", "at a fast tempo", "a quick piece"),
}
_FORM_WORDS = {
    "mass": ("a mass", "a mass movement", "a setting of the Latin mass"),
    "requiem": ("a requiem", "a requiem mass", "music for the dead, a requiem"),
    "vespers": ("music for vespers", "a vespers psalm", "a Magnificat or vespers psalm setting"),
    "motet": ("a motet", "a sacred motet", "a Latin motet"),
    "hymn": ("a hymn", "a sacred hymn", "a hymn tune"),
    "chorale": ("a chorale", "a four-part chorale harmonisation", "a Lutheran chorale"),
    "madrigal": ("a madrigal", "an Italian madrigal", "a polyphonic madrigal"),
    "lied": ("a Lied", "a German art song", "a Lied for voice and piano"),
    "song": ("a song", "a song with words", "a vocal song"),
    "opera": ("an opera aria", "music from an opera", "an operatic number"),
    "oratorio": ("an oratorio", "music from an oratorio", "a sacred oratorio"),
    "cantata": ("a cantata", "a movement of a cantata", "a sacred cantata"),
    "polonaise": ("a polonaise", "a Polish polonaise", "a stately polonaise in triple time"),
    "mazurka": ("a mazurka", "a Polish mazurka", "a mazurka in triple time"),
    "krakowiak": ("a krakowiak", "a Polish krakowiak dance", "a lively krakowiak in duple time"),
    "waltz": ("a waltz", "a waltz in three-four time", "a dance in waltz time"),
    "march": ("a march", "a military march", "a piece in march time"),
    "minuet": ("a minuet", "a minuet and trio", "a courtly minuet"),
    "polka": ("a polka", "a lively polka", "a polka dance"),
    "fugue": ("a fugue", "a contrapuntal fugue", "a fugue on a subject"),
    "prelude": ("a prelude", "a short prelude", "an instrumental prelude"),
    "etude": ("an etude", "a study", "a virtuoso etude"),
    "nocturne": ("a nocturne", "a dreamy piano nocturne", "a night piece, a nocturne"),
    "sonata": ("a sonata", "a sonata movement", "a movement of a sonata"),
    "rondo": ("a rondo", "a piece in rondo form", "a rondo movement"),
    "variations": ("a set of variations", "theme and variations", "variations on a theme"),
    "fantasy": ("a fantasy", "a fantasia", "a free fantasia"),
    "symphony": ("a symphony", "a symphony movement", "a movement from a symphony"),
    "concerto": ("a concerto", "a concerto movement", "a movement of a concerto"),
    "overture": ("an overture", "a concert or opera overture", "an orchestral overture"),
    "string quartet": ("a string quartet movement", "a string quartet",
                       "a movement of a string quartet"),
    "pop song": ("a pop song", "a popular song", "a modern pop song"),
    "cantopop": ("a Cantopop song", "a Cantonese pop song", "a Hong Kong pop song"),
}
_FORM_NAMES = ("litany", "offertory", "antiphon", "psalm", "kujawiak", "oberek", "dumka",
               "scherzo", "ballade", "impromptu", "berceuse", "sonatina", "galop", "contradance",
               "anglaise", "cassation", "partita", "sonnet")
FORM_PHRASES = {**{f: tuple(_plain_phrases(f)) for f in _FORM_NAMES}, **_FORM_WORDS}
_TUNE_WORDS = {
    "air": ("a slow air", "an air", "a traditional slow air", "this tune is an air"),
    "christmas carol": ("a Christmas carol", "a carol", "a traditional Christmas carol"),
    "morris dance": ("a morris dance tune", "a morris dance", "an English morris tune"),
    "country dance": ("a country dance", "an English country dance tune",
                      "a tune for country dancing"),
    "waltz": ("a waltz", "a folk waltz", "a waltz for fiddle", "this tune is a waltz"),
    "march": ("a march", "a traditional march", "a march for fiddle or pipes",
              "this tune is a march"),
}
_TUNE_NAMES = ("reel", "jig", "slip jig", "hornpipe", "polka", "slide", "strathspey", "mazurka",
               "schottische", "barn dance", "set dance", "clog", "highland fling", "quickstep",
               "walkaround", "song")
FOLK_TUNE_PHRASES = {**{t: (_an(t), f"{_an(t)} for fiddle", f"a traditional {t}",
                            f"this tune is {_an(t)}") for t in _TUNE_NAMES}, **_TUNE_WORDS}

TASKS = [
    Task("tune_type", "tune_type_coarse", ("ryans", "oneills"), templates=TUNE_TEMPLATES),
    Task("essen_region", "region", ("essen",), prompt_rule=region_prompts),
    Task("composer", "composer", ("bach", "palestrina", "monteverdi", "trecento", "beethoven",
                                  "mozart", "haydn"), templates=COMPOSER_TEMPLATES, min_test=2,
         prompt_rule=composer_prompts),
    Task("lieder_composer", "composer", ("lieder",), templates=SONG_COMPOSER_TEMPLATES, top=8,
         min_test=1),
    # the broad benchmark
    Task("ensemble", "ensemble_class", None, templates=("music for {}", "a piece for {}"),
         phrases=ENSEMBLE_PHRASES),
    Task("era", "era", ART_COLLECTIONS, templates=("{} music", "a piece of the {} era"),
         phrases=ERA_PHRASES, exclude=("folk",)),
    # art music only: a pop song's form is its collection's, said by the ensemble and era tasks
    Task("form", "form", ART_COLLECTIONS, templates=("{}", "this piece is: {}"), top=12,
         phrases=FORM_PHRASES),
    Task("mode", "mode_class", None, templates=("a piece in {}", "{} music"),
         phrases=MODE_PHRASES),
    Task("metre", "metre_family", None, templates=("music in {} time", "{} metre"),
         phrases=METRE_PHRASES),
    Task("tempo", "tempo", None, templates=("a {} piece", "at a {} tempo"),
         phrases=TEMPO_PHRASES),
    Task("polish_composer", "composer", ("polish", "chopin"), templates=COMPOSER_TEMPLATES,
         top=10, prompt_rule=named_composer_prompts, display=person_name),
    # English (Nottingham) and Irish (Ceol Rince na hÉireann) tunes, apart from the fiddle
    # collections of the first task
    Task("folk_tune_type", "tune_type_coarse", ("nottingham", "cre"),
         templates=("{}", "a traditional tune: {}"), phrases=FOLK_TUNE_PHRASES),
]


def task_records(records: list[dict], task: Task) -> list[dict]:
    """The records a task scores: of its collections, with its label (not an excluded value)."""
    return [r for r in records
            if (task.collections is None or r["labels"].get("collection") in task.collections)
            and r["labels"].get(task.label) and r["labels"][task.label] not in task.exclude]


def task_classes(task: Task, train: list[dict], test: list[dict]) -> list[str]:
    """The task's classes: its most frequent in training (``top``), each with enough test works
    (``min_test``); with no training records, the most frequent in test."""
    counts = Counter(r["labels"][task.label] for r in (train or test))
    test_counts = Counter(r["labels"][task.label] for r in test)
    return [c for c, _ in counts.most_common(task.top) if test_counts[c] >= task.min_test]


def task_sets(records: list[dict]) -> list[tuple[Task, list[dict], dict[str, list[str]]]]:
    """(task, test records, class -> prompts) for every task the records support. ``records``
    may be a whole dataset: its test split is scored and its train split feeds the prompt rules
    (a region's places); records without a split are all test records."""
    test = [r for r in records if r.get("split", "test") == "test"]
    train = [r for r in records if r.get("split") == "train"]
    out = []
    for task in TASKS:
        te = task_records(test, task)
        classes = [c for c, n in Counter(r["labels"][task.label] for r in te).most_common(task.top)
                   if n >= task.min_test]
        if len(classes) < 2:
            continue
        te = [r for r in te if r["labels"][task.label] in classes]
        out.append((task, te, task.class_prompts(classes, task_records(train, task) or None)))
    return out
