"""Multi-part fixtures for the notation tests: Bach chorales of music21's corpus written by our
own ABC writer, each with what music21 reads in it (every part's length in quarter notes and
its number of bars). No tests here."""

from __future__ import annotations

import functools
from fractions import Fraction

N_CHORALES = 60


@functools.cache
def chorales(n: int = N_CHORALES) -> tuple[dict, ...]:
    """``n`` chorales spread evenly over the corpus (deterministic): {name, abc, score, parts},
    ``parts`` one (quarter notes, bars) pair per part, from music21."""
    from music21 import corpus

    from clamp_core.notation import score_to_abc
    from clamp_core.scores import load_score

    paths = sorted((p for p in corpus.getComposer("bach") if p.name.startswith("bwv")),
                   key=lambda p: p.name)
    step = max(1, len(paths) // n)
    out = []
    for path in paths[::step][:n]:
        score = load_score(path)
        parts = [(Fraction(p.highestTime).limit_denominator(1 << 12),
                  len(p.getElementsByClass("Measure"))) for p in score.stream.parts]
        out.append({"name": path.name, "abc": score_to_abc(score), "score": score,
                    "parts": parts})
    return tuple(out)


# In a browser page holding abcjs (window.ABCJS): every staff's first voice as
# [quarter notes, bars] (a bar counts once it holds a note or rest), parse warnings, and
# whether the tune could be parsed at all.
VOICE_TOTALS_JS = """(abc) => {
  let tune;
  try { tune = ABCJS.parseOnly(abc)[0]; } catch (e) { return { error: String(e) }; }
  const voices = {};
  for (const line of tune.lines) {
    (line.staff || []).forEach((staff, s) => staff.voices.forEach((notes, v) => {
      const key = `${s}:${v}`;
      const r = voices[key] ||= { whole: 0, bars: 0, open: false, scale: 1 };
      for (const el of notes) {
        if (el.el_type === "note") {
          if (el.startTriplet) r.scale = el.tripletMultiplier;
          r.whole += (el.duration || 0) * r.scale;
          if (el.endTriplet) r.scale = 1;
          r.open = true;
        } else if (el.el_type === "bar" && r.open) {
          r.bars += 1;
          r.open = false;
        }
      }
    }));
  }
  const staves = Object.keys(voices).filter((k) => k.endsWith(":0"))
    .sort((a, b) => parseInt(a) - parseInt(b));
  const total = (r) => [4 * r.whole, r.bars + (r.open ? 1 : 0)];
  return { staves: staves.map((k) => total(voices[k])),
    warnings: (tune.warnings || []).map((w) => w.replace(/<[^>]+>/g, "")) };
}"""
