"""Transposition of a whole ABC tune (notes, keys, chord symbols) and of its texts: a training
view, and the query keys of a search in any key (``key_variants``).

A piece seen in another key teaches the music encoder intervals rather than absolute letters;
its texts must stay true, so key names ("in D major") and the range phrase ("from C4 to G5")
move with it, and a text naming a key in a way that cannot be rewritten is dropped.

The tune is read with ABC 2.1 semantics: a note's pitch comes from the key in force (header
``K:``, a ``K:`` line or inline ``[K:]`` of its voice) and the accidentals already written in the
bar for that letter and octave; a barline or a voice change ends a bar. Every note moves by one
diatonic interval (letter steps and semitones) chosen with the new key, so spelling follows the
new key; the new key is the enharmonic spelling with fewer accidentals (at most 6).

Accidentals are written where the new text needs them, and otherwise as the input wrote them:

* where the input wrote one (courtesy accidentals and our writer's repeated accidentals stay);
* where the bar state of the new key would read another pitch (ABC 2.1);
* where music21's ABC reader (which ignores inline keys and bar-scoped accidentals) read the
  input note right and would misread the new one; our writer's ABC stays readable by music21.

Pure text and standard library only (it runs on every training piece at start). A tune that
cannot be transposed reliably (an unknown ``K:`` such as German ``K:H``, notes beyond four octave
marks) comes back unchanged from ``transpose_abc`` and as None from ``transpose_abc_steps``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TRAINING_INTERVALS", "key_variants", "transpose_abc", "transpose_abc_steps",
           "transpose_key_label", "transpose_record", "transpose_text", "transpose_texts"]

# Random training intervals in semitones: a fourth down to a tritone up, never 0.
TRAINING_INTERVALS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6)

_LETTERS = "CDEFGAB"
_NATURAL = (0, 2, 4, 5, 7, 9, 11)  # semitones above C of each letter
_FIFTHS = (0, 2, 4, -1, 1, 3, 5)  # position of each natural letter on the circle of fifths
_SHARP_ORDER = (3, 0, 4, 1, 5, 2, 6)  # F C G D A E B as letter indexes
_FLAT_ORDER = (6, 2, 5, 1, 4, 0, 3)  # B E A D G C F
# Tonic distance in fifths from the major tonic of the same signature, by ABC mode prefix.
_MODE_OFFSET = {"": 0, "maj": 0, "ion": 0, "m": 3, "min": 3, "aeo": 3, "mix": 1, "dor": 2,
                "phr": 4, "lyd": -1, "loc": 5, "exp": 0}
_ACC_TEXT = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}
_ACC_VALUE = {"__": -2, "_": -1, "=": 0, "^": 1, "^^": 2}
# K: values without a key signature: the key stays, the notes still move.
_NO_KEY_WORDS = ("none", "perc", "treble", "bass", "alto", "tenor", "baritone", "clef",
                 "middle", "transpose", "octave", "stafflines")
_MAX_MARKS = 4  # octave marks (' or ,) a transposed note may need


class _CannotTranspose(Exception):
    pass


@dataclass(frozen=True)
class _Key:
    """A parsed K: value: its tonic (None for K:none and the like), mode and signature."""

    tonic: tuple[int, int] | None  # (letter index, alteration)
    offset: int  # mode offset in fifths
    signature: tuple[int, ...]  # alteration of each letter C..B
    text: str  # the K: value as written


@dataclass(frozen=True)
class _Move:
    """One key's transposition: the new K: value, its signature and the letter steps."""

    old: tuple[int, ...]
    new: tuple[int, ...]
    steps: int
    text: str
    keyless: bool = False  # K:none and the like: each note takes its simplest name


def _fifths_name(fifths: int) -> tuple[int, int]:
    """(letter index, alteration) of the note ``fifths`` fifths above C (F = -1, Bb = -2)."""
    letter = _LETTERS.index("FCGDAEB"[(fifths + 1) % 7])
    return letter, (fifths + 1) // 7


def _tonic_fifths(letter: int, alter: int) -> int:
    return _FIFTHS[letter] + 7 * alter


def _signature(sharps: int) -> tuple[int, ...]:
    """Alteration of each letter for a signature of ``sharps`` (negative: flats); beyond 7
    the letters get double accidentals."""
    out = [0] * 7
    order, sign = (_SHARP_ORDER, 1) if sharps >= 0 else (_FLAT_ORDER, -1)
    for i in range(abs(sharps)):
        out[order[i % 7]] += sign
    return tuple(out)


def _new_signature(sharps: int, semitones: int) -> int:
    """The signature of the key ``semitones`` away with the fewest accidentals (<= 6); a tie
    at 6 keeps the direction of the old signature (flats for a key without accidentals)."""
    n = (sharps + 7 * semitones + 6) % 12 - 6  # in [-6, 5]
    if n == -6 and sharps > 0:
        n = 6
    return n


def _steps(old_letter: int, new_letter: int, semitones: int) -> int:
    """Signed letter steps from ``old_letter`` to ``new_letter`` closest in size to
    ``semitones`` (a diatonic step is 12/7 semitones on average)."""
    d0 = (new_letter - old_letter) % 7
    return d0 + 7 * round((semitones * 7 / 12 - d0) / 7)


def _move_key(tonic: tuple[int, int] | None, offset: int, semitones: int) -> tuple[
        tuple[int, int] | None, int]:
    """New tonic and letter steps; a key without tonic keeps None and is spelled from C major."""
    letter, alter = tonic if tonic is not None else (0, 0)
    old = _tonic_fifths(letter, alter) - (offset if tonic is not None else 0)
    new = _new_signature(old, semitones)
    new_tonic = _fifths_name(new + (offset if tonic is not None else 0))
    return (new_tonic if tonic is not None else None), _steps(letter, new_tonic[0], semitones)


def _pitch_name(letter: int, alter: int, flat: str = "b", sharp: str = "#") -> str:
    return _LETTERS[letter] + (flat * -alter if alter < 0 else sharp * alter)


def _move_pitch_class(letter: int, alter: int, semitones: int, steps: int,
                      max_alter: int) -> tuple[int, int]:
    """(letter, alteration) of a pitch class moved by the interval, respelled when the
    alteration would exceed ``max_alter``."""
    target = (_NATURAL[letter] + alter + semitones) % 12
    best: tuple[int, int] | None = None
    for extra in (0, -1, 1, -2, 2):
        new_letter = (letter + steps + extra) % 7
        a = (target - _NATURAL[new_letter] + 6) % 12 - 6
        if abs(a) <= max_alter and (best is None or abs(a) < abs(best[1])):
            best = (new_letter, a)
            if extra == 0:
                break
    if best is None:
        raise _CannotTranspose("no spelling")
    return best


# ---------------------------------------------------------------- K: values

_KEY_VALUE = re.compile(r"(\s*)([A-G])([#b]?)(\s*)([A-Za-z]*)(.*)\Z", re.S)
_KEY_MOD = re.compile(r"(\^\^|\^|__|_|=)([A-Ga-g])")
_KEY_MODS_TOKEN = re.compile(r"(?:(?:\^\^|\^|__|_|=)[A-Ga-g])+\Z")


def _parse_key(value: str) -> _Key:
    m = _KEY_VALUE.match(value)
    if m is None:
        word = value.strip().lower()
        if not word or word.startswith(_NO_KEY_WORDS) or "=" in word.split()[0]:
            return _Key(None, 0, (0,) * 7, value)
        raise _CannotTranspose(f"K:{value}")
    _, letter, acc, _, word, rest = m.groups()
    low = word.lower()
    mode = low if low in ("m",) else low[:3]
    if mode not in _MODE_OFFSET:
        if low and not low.startswith(_NO_KEY_WORDS):
            raise _CannotTranspose(f"K:{value}")  # German K:H / K:Es, K:Bn ...
        mode, rest = "", word + rest
    tonic = (_LETTERS.index(letter), {"#": 1, "b": -1}.get(acc, 0))
    offset = _MODE_OFFSET[mode]
    sig = list((0,) * 7 if mode == "exp" else _signature(_tonic_fifths(*tonic) - offset))
    for token in rest.split():
        if _KEY_MODS_TOKEN.match(token):
            for a, n in _KEY_MOD.findall(token):
                sig[_LETTERS.index(n.upper())] = _ACC_VALUE[a]
    return _Key(tonic, offset, tuple(sig), value)


def _move_key_value(key: _Key, semitones: int) -> _Move:
    """The K: value ``semitones`` away: tonic replaced, mode word and the rest kept, explicit
    accidentals (``K:Dmix=c``) moved with the notes."""
    tonic, steps = _move_key(key.tonic, key.offset, semitones)
    if tonic is None:
        return _Move(key.signature, key.signature, steps, key.text, keyless=True)
    m = _KEY_VALUE.match(key.text)
    lead, _, _, space, word, rest = m.groups()  # type: ignore[union-attr]
    sig = list((0,) * 7 if word.lower()[:3] == "exp" else _signature(
        _tonic_fifths(*tonic) - key.offset))

    def move_mod(mod: re.Match) -> str:
        letter = _LETTERS.index(mod.group(2).upper())
        new_letter, a = _move_pitch_class(letter, _ACC_VALUE[mod.group(1)], semitones, steps, 2)
        sig[new_letter] = a
        name = _LETTERS[new_letter]
        return _ACC_TEXT[a] + (name.lower() if mod.group(2).islower() else name)

    tokens = re.split(r"(\s+)", rest)
    tokens = [_KEY_MOD.sub(move_mod, t) if _KEY_MODS_TOKEN.match(t) else t for t in tokens]
    text = lead + _pitch_name(*tonic) + space + word + "".join(tokens)
    return _Move(key.signature, tuple(sig), steps, text)


# ---------------------------------------------------------------- chord symbols

_CHORD = re.compile(r"(\(?)([A-G])([#b]?)((?:maj|min|mi|dim|aug|sus|add|alt|power|pedal|m|M|"
                    r"\+|-|o|°|ø|\d|#|b|\(|\)|,|/\d|\s)*?)(?:/([A-Ga-g])([#b]?))?(\)?)\Z")


def _move_chord_symbol(text: str, semitones: int, steps: int) -> str:
    """A chord symbol's root and bass moved (``"F#m7/C#"``); other quoted text unchanged."""
    m = _CHORD.match(text)
    if m is None:
        return text
    open_, root, acc, quality, bass, bass_acc, close = m.groups()

    def move(letter: str, accidental: str) -> str:
        idx = _LETTERS.index(letter.upper())
        new, a = _move_pitch_class(idx, {"#": 1, "b": -1}.get(accidental, 0), semitones, steps, 1)
        name = _pitch_name(new, a)
        return name.lower() if letter.islower() else name

    out = open_ + move(root, acc) + quality
    if bass:
        out += "/" + move(bass, bass_acc)
    return out + close


# ---------------------------------------------------------------- music lines

_TOKEN = re.compile(r"""
    (?P<quote>"[^"\n]*")
  | (?P<deco>![^!\n]*!)
  | (?P<plus>\+[^+\n]*\+)
  | (?P<field>\[[A-Za-z]:[^\]\n]*\])
  | (?P<comment>%.*)
  | (?P<bar>\||::)
  | (?P<note>(?:\^\^|\^|__|_|=)?[A-Ga-g][',]*)
""", re.X)
_NOTE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-g])([',]*)")
_FIELD_LINE = re.compile(r"([A-Za-z]):(.*)\Z", re.S)
_MUSICAL_PLUS = re.compile(r"[A-Ga-g0-9,'/ \[\]^_=zx-]*\Z")  # +CEG+ chords of old ABC


@dataclass
class _Voice:
    move: _Move
    bar_in: dict
    bar_out: dict


def _respell(midi: int, step: int, alter: int, keyless_from: int | None) -> tuple[int, int, int]:
    """(octave, letter, alteration) of ``midi`` near letter step ``step``: a double accidental
    pushed beyond 2 takes the next letter; without a key (``keyless_from``: the input note's
    alteration) a natural name wins, then an accidental in the input note's direction."""
    options = []
    for extra in (0, -1, 1):
        o, lt = divmod(step + extra, 7)
        a = midi - 12 * o - _NATURAL[lt]
        if abs(a) <= (2 if keyless_from is None else 1):
            options.append((o, lt, a))
    if keyless_from is None:
        return min(options, key=lambda x: abs(x[2]))
    natural = [x for x in options if x[2] == 0]
    same = [x for x in options if x[2] * keyless_from > 0]
    return (natural or same or options)[0] if options else divmod(step, 7) + (alter,)


class _Transposer:
    def __init__(self, semitones: int) -> None:
        self.semitones = semitones
        self.moves: dict[str, _Move] = {}
        self.header: _Move | None = None  # the first K:, which music21 applies to every note
        self.default: _Move | None = None
        self.voices: dict[str | None, _Voice] = {}
        self.voice: _Voice | None = None
        self.voice_id: str | None = None

    def key(self, value: str) -> _Move:
        move = self.moves.get(value)
        if move is None:
            move = self.moves[value] = _move_key_value(_parse_key(value), self.semitones)
        return move

    def set_key(self, value: str) -> str:
        move = self.key(value)
        if self.header is None:
            self.header = move
        if self.voice_id is None:
            self.default = move
        self.current().move = move
        return move.text

    def current(self) -> _Voice:
        if self.voice is None:
            move = self.default or self.key("none")
            self.voice = self.voices.setdefault(self.voice_id, _Voice(move, {}, {}))
        return self.voice

    def set_voice(self, value: str) -> None:
        words = value.split()
        self.voice_id = words[0] if words else ""
        self.voice = None
        v = self.current()
        v.bar_in.clear()
        v.bar_out.clear()

    def line(self, line: str) -> str:
        if line.startswith("%"):
            return line
        field = _FIELD_LINE.match(line)
        if field is not None:
            name, value = field.groups()
            if name == "K":
                return "K:" + self.set_key(value)
            if name == "V":
                self.set_voice(value)
            return line
        return _TOKEN.sub(self.token, line)

    def token(self, m: re.Match) -> str:
        kind, text = m.lastgroup, m.group(0)
        if kind == "note":
            return self.note(text)
        if kind == "bar":
            v = self.current()
            v.bar_in.clear()
            v.bar_out.clear()
            return text
        if kind == "quote":
            if len(text) > 2 and text[1] in "^_<>@":
                return text  # an annotation
            return '"' + _move_chord_symbol(text[1:-1], self.semitones,
                                            self.current().move.steps) + '"'
        if kind == "field":
            name, value = text[1], text[3:-1]
            if name == "K":
                return "[K:" + self.set_key(value) + "]"
            if name == "V":
                self.set_voice(value)
            return text
        inner = text[1:-1]
        if (kind == "plus" and inner.strip() and _MUSICAL_PLUS.match(inner)
                and inner.strip("f")):  # +f+ / +ff+ are dynamics
            return "+" + _TOKEN.sub(self.token, inner) + "+"
        return text  # decorations, comments

    def note(self, text: str) -> str:
        acc, letter_text, marks = _NOTE.match(text).groups()  # type: ignore[union-attr]
        v = self.current()
        move = v.move
        letter = _LETTERS.index(letter_text.upper())
        octave = (4 if letter_text.isupper() else 5) + marks.count("'") - marks.count(",")
        spot = (letter, octave)
        if acc is not None:
            alter = v.bar_in[spot] = _ACC_VALUE[acc]
        else:
            alter = v.bar_in.get(spot, move.old[letter])
        step = octave * 7 + letter + move.steps
        midi = 12 * octave + _NATURAL[letter] + alter + self.semitones
        new_octave, new_letter = divmod(step, 7)
        new_alter = midi - 12 * new_octave - _NATURAL[new_letter]
        if abs(new_alter) > 2 or (move.keyless and new_alter):
            new_octave, new_letter, new_alter = _respell(
                midi, step, new_alter, alter if move.keyless else None)
        if 4 - new_octave > _MAX_MARKS or new_octave - 5 > _MAX_MARKS:
            raise _CannotTranspose("pitch out of range")
        new_spot = (new_letter, new_octave)
        header = self.header
        write = (acc is not None
                 or new_alter != v.bar_out.get(new_spot, move.new[new_letter])
                 or (header is not None and alter == header.old[letter]
                     and new_alter != header.new[new_letter]))
        if write:
            v.bar_out[new_spot] = new_alter
        name = _LETTERS[new_letter]
        if new_octave >= 5:
            name = name.lower() + "'" * (new_octave - 5)
        else:
            name += "," * (4 - new_octave)
        return (_ACC_TEXT[new_alter] if write else "") + name


def transpose_abc_steps(abc: str, semitones: int) -> tuple[str, int] | None:
    """``abc`` transposed by ``semitones`` and the letter steps of its header key's move (what
    ``transpose_texts`` spells pitch names with); None when it cannot be done reliably."""
    if semitones == 0:
        return abc, 0
    t = _Transposer(semitones)
    try:
        out = "\n".join(t.line(line) for line in abc.split("\n"))
    except _CannotTranspose:
        return None
    return out, (t.header or t.key("none")).steps


def transpose_abc(abc: str, semitones: int) -> str:
    """A whole ABC tune transposed by ``semitones`` (K: fields, notes, chord symbols); the input
    unchanged when that cannot be done reliably (see the module notes)."""
    done = transpose_abc_steps(abc, semitones)
    return abc if done is None else done[0]


# ---------------------------------------------------------------- texts

_MODES = "major|minor|dorian|phrygian|lydian|mixolydian|aeolian|ionian|locrian"
_TEXT_ACC = r"-flat|-sharp| flat| sharp|b|#|♭|♯"
_KEY_NAME = re.compile(rf"\b([A-G])({_TEXT_ACC})?([ -])((?i:{_MODES}))\b")
_BARE_KEY = re.compile(rf"\b((?i:in|key of) )([A-G])({_TEXT_ACC})?(?=$|[,.;:)\]])")
_RANGE = re.compile(r"(range from )([A-G])([#b]?)(-?\d+)( to )([A-G])([#b]?)(-?\d+)")
_FOREIGN_KEY = re.compile(r"(?i)\b[a-h](?:is|es|s)?[- ](?:dur|moll)\b|"
                          r"\b(?:majeur|mineur|maggiore|minore)\b")
_TEXT_ALTER = {"": 0, "-flat": -1, " flat": -1, "b": -1, "♭": -1,
               "-sharp": 1, " sharp": 1, "#": 1, "♯": 1}
_STYLES = {"-flat": ("-flat", "-sharp"), "-sharp": ("-flat", "-sharp"), "": ("-flat", "-sharp"),
           " flat": (" flat", " sharp"), " sharp": (" flat", " sharp"), "b": ("b", "#"),
           "#": ("b", "#"), "♭": ("♭", "♯"), "♯": ("♭", "♯")}


def _key_name(letter_text: str, acc: str | None, mode: str, semitones: int) -> str:
    acc = acc or ""
    low = mode.lower()
    offset = _MODE_OFFSET.get("m" if low == "minor" else low[:3], 0)
    tonic, _ = _move_key((_LETTERS.index(letter_text), _TEXT_ALTER[acc]), offset, semitones)
    flat, sharp = _STYLES[acc]
    return _pitch_name(*tonic, flat=flat, sharp=sharp)  # type: ignore[misc]


def transpose_text(text: str, semitones: int, steps: int) -> str | None:
    """A text candidate of a piece transposed by ``semitones``: key names ("B-flat major",
    "in D", "key of G") moved to the new tonic in the same mode and spelling style, the range
    phrase's pitches ("from C4 to G5") moved by ``steps`` letters; None (drop it) when it names
    a key in words we cannot rewrite (German "Es-Dur", French "majeur")."""
    if semitones == 0:
        return text
    if _FOREIGN_KEY.search(text):
        return None

    def key(m: re.Match) -> str:
        letter, acc, sep, mode = m.groups()
        return _key_name(letter, acc, mode, semitones) + sep + mode

    def bare(m: re.Match) -> str:
        lead, letter, acc = m.groups()
        return lead + _key_name(letter, acc, "major", semitones)

    def pitch(letter: str, acc: str, octave: str) -> str:
        idx = _LETTERS.index(letter)
        alter = _TEXT_ALTER[acc]
        new, a = _move_pitch_class(idx, alter, semitones, steps, 1)
        midi = 12 * int(octave) + _NATURAL[idx] + alter + semitones
        if a and (midi % 12) in _NATURAL:  # E#, B#, Fb, Cb read as F, C, E, B in a text
            new, a = _NATURAL.index(midi % 12), 0
        return _pitch_name(new, a) + str((midi - _NATURAL[new] - a) // 12)

    def span(m: re.Match) -> str:
        lead, l1, a1, o1, mid, l2, a2, o2 = m.groups()
        return lead + pitch(l1, a1, o1) + mid + pitch(l2, a2, o2)

    text = _KEY_NAME.sub(key, text)
    text = _BARE_KEY.sub(bare, text)
    return _RANGE.sub(span, text)


def transpose_texts(texts: list[str], semitones: int, steps: int) -> list[str]:
    """``transpose_text`` over a piece's candidates, dropping those it cannot rewrite."""
    out = [transpose_text(t, semitones, steps) for t in texts]
    return [t for t in out if t is not None]


def transpose_key_label(label: str | None, semitones: int) -> str | None:
    """A record's key label moved ("bb major" + 2 -> "c major"); None stays None, and a label
    that is not ``tonic mode`` comes back unchanged."""
    m = re.fullmatch(r"([a-g])(b|#|-)?( .+)?", label or "")
    if m is None:
        return label
    letter, acc, mode = m.groups()
    mode = mode or ""
    acc = {"-": "b"}.get(acc or "", acc or "")
    name = _key_name(letter.upper(), acc, mode.strip() or "major", semitones)
    return name.lower() + mode


def transpose_record(record: dict, semitones: int) -> dict | None:
    """A record (``{"abc", "texts", "labels", ...}``) transposed: its ABC, the key names of its
    texts and its key label, and ``"transposed": semitones`` added; None when its ABC cannot be
    transposed or no text is left."""
    done = transpose_abc_steps(record["abc"], semitones)
    if done is None:
        return None
    abc, steps = done
    texts = transpose_texts(list(record.get("texts") or []), semitones, steps)
    if record.get("texts") and not texts:
        return None
    out = {**record, "abc": abc, "texts": texts, "transposed": semitones}
    labels = record.get("labels")
    if isinstance(labels, dict) and labels.get("key"):
        out["labels"] = {**labels, "key": transpose_key_label(labels["key"], semitones)}
    return out


def key_variants(abc: str) -> list[str]:
    """``abc`` in each of the 12 keys (itself first; a fourth down to a tritone up), leaving
    out the keys it cannot be moved to reliably: the queries of a search in any key."""
    out = [abc]
    for semitones in (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6):
        moved = transpose_abc_steps(abc, semitones)
        if moved is not None:
            out.append(moved[0])
    return out
