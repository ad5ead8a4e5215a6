"""The notation ABC of 60 Bach chorales and two Lieder parsed and drawn by the vendored abcjs in
headless Chromium: every part lasts as long as music21 says and has as many bars, and the
scores that failed to draw ("Show all bars" of Chanson espagnole) draw without an error."""

from __future__ import annotations

import re
from fractions import Fraction

import jupyter_chorales
import jupyter_helpers
import pytest

pytest.importorskip("anywidget", reason="pip install 'clamp-notation[test]'")
jupyter_helpers.chromium_or_skip(module_level=True)

from clamp_core.notation import score_to_abc  # noqa: E402  (after the importorskip)
from clamp_core.scores import load_score  # noqa: E402
from jupyter_ext import assets  # noqa: E402
from jupyter_ext.notation import notation, score_texts  # noqa: E402

SCORES = jupyter_helpers.FIXTURES / "scores"
UNLIMITED = 10_000


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    chromium = jupyter_helpers.chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=jupyter_helpers.CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 900, "height": 700})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.set_content("<!doctype html><html><body></body></html>")
        pg.add_script_tag(content=assets.abcjs_bytes().decode())  # UMD: sets window.ABCJS
        yield pg
        assert errors == [], errors
        browser.close()


def _quarters(x: float) -> Fraction:
    return Fraction(x).limit_denominator(1 << 10)


def test_abcjs_reads_every_chorale_part_at_its_length_and_bar_count(page):
    chorales = jupyter_chorales.chorales()
    assert len(chorales) >= 50
    drawn = [notation(c["abc"], max_bars=UNLIMITED).full for c in chorales]
    results = page.evaluate(f"(tunes) => tunes.map({jupyter_chorales.VOICE_TOTALS_JS})", drawn)
    wrong = []
    for c, r in zip(chorales, results, strict=True):
        assert "error" not in r, (c["name"], r)
        got = [(_quarters(q), bars) for q, bars in r["staves"]]
        if got != c["parts"]:
            wrong.append((c["name"], got, c["parts"]))
    assert wrong == []
    # and the check sees the bug: the same tunes without a unit on every line read wrong
    old = [_without_stated_units(d) for d in drawn]
    results = page.evaluate(f"(tunes) => tunes.map({jupyter_chorales.VOICE_TOTALS_JS})", old)
    misread = sum([(_quarters(q), b) for q, b in r["staves"]] != c["parts"]
                  for c, r in zip(chorales, results, strict=True))
    assert misread >= 10


def _without_stated_units(drawn: str) -> str:
    """The drawn ABC as the widget wrote it before: no unit stated on each voice's line."""
    return re.sub(r"^(\[V:[^\]]+\]) \[L:[^\]]*\] ", r"\1 ", drawn, flags=re.MULTILINE)


@pytest.mark.parametrize("name", ["lieder_6312216.mxl", "lieder_6181050.mxl",
                                  "lieder_6053984.mxl", "lieder_5071622.mxl"])
def test_lieder_draw_whole_without_errors(page, name):
    score = load_score(SCORES / name)
    n = notation(score_to_abc(score), texts=score_texts(score.stream))
    for abc in (n.preview, n.full):
        result = page.evaluate("""(abc) => {
            const el = document.createElement("div");
            document.body.replaceChildren(el);
            try { ABCJS.renderAbc(el, abc, { responsive: "resize", add_classes: true }); }
            catch (e) { return { error: String(e) }; }
            return { notes: el.querySelectorAll(".abcjs-note").length,
                     staves: el.querySelectorAll(".abcjs-staff").length };
        }""", abc)
        assert "error" not in result, (name, result)
        assert result["notes"] > 10
    totals = page.evaluate(f"{jupyter_chorales.VOICE_TOTALS_JS}", n.full)
    parts = [(_quarters(p.highestTime), len(p.getElementsByClass("Measure")))
             for p in score.stream.parts]
    # every staff's bars are all there; each part's length too where its first voice is
    # complete in the file (Chanson espagnole's voices leave gaps music21 fills)
    assert [b for _, b in totals["staves"]] == [b for _, b in parts]
    if name != "lieder_6312216.mxl":
        assert [_quarters(q) for q, _ in totals["staves"]] == [q for q, _ in parts]
