"""The widgets' JavaScript on a blank page in headless Chromium, with a fake anywidget model:
rendering with abcjs, abcjs fetched once per page, playback scheduling, and the messages and
trait changes each view sends back. No kernel and no model here (see test_jupyter_e2e.py)."""

from __future__ import annotations

import json

import jupyter_helpers
import pytest

pytest.importorskip("anywidget", reason="pip install 'clamp-notation[test]'")
jupyter_helpers.chromium_or_skip(module_level=True)  # before any costly session fixture

from jupyter_ext import assets  # noqa: E402  (after the importorskip)
from jupyter_ext.notation import notation  # noqa: E402  (after the importorskip)

FIXTURES = jupyter_helpers.FIXTURES
OOD_TEXT = ("This score is unlike anything the model was trained on \u2014 treat these answers "
            "with caution")
FAMILIAR = {"out_of_domain": False, "nearest_training_cosine": 0.9455, "threshold": 0.7901}
UNFAMILIAR = {"out_of_domain": True, "nearest_training_cosine": 0.6123, "threshold": 0.7901,
              "message": "unlike anything this model was trained on: treat its answers with "
                         "caution"}

# A stand-in for anywidget's model (get/set/on/off/save_changes/send) and for
# experimental.invoke, which answers "_clamp_abcjs" with the vendored file as a buffer.
FAKE_HOST = """
window.fakeModel = (state) => {
  const listeners = {};
  const model = {
    state, sent: [], saved: 0,
    get: (k) => state[k],
    set(k, v) { state[k] = v; (listeners["change:" + k] || []).slice().forEach((f) => f()); },
    save_changes() { this.saved += 1; },
    on(e, f) { (listeners[e] ||= []).push(f); },
    off(e, f) { listeners[e] = (listeners[e] || []).filter((g) => g !== f); },
    send(msg) { this.sent.push(msg); },
  };
  return model;
};
window.fakeExperimental = {
  invocations: 0,
  fail: false,
  async invoke(name, msg) {
    this.invocations += 1;
    if (this.fail) throw new Error("kernel gone");
    if (name !== "_clamp_abcjs") throw new Error("unknown command " + name);
    await new Promise((r) => setTimeout(r, 50));  // replies come later, as over a websocket
    return [{ version: msg.version }, [window.abcjsBytes.buffer]];
  },
};
window.mount = async (esm, state) => {
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  const mod = (await import(url)).default;
  const el = document.createElement("div");
  document.body.append(el);
  const model = window.fakeModel(state);
  const cleanup = mod.render({ model, el, experimental: window.fakeExperimental });
  return { el, model, cleanup };
};
"""


def _item(path, **extra) -> dict:
    from clamp_core import to_abc

    return {**notation(to_abc(path)).to_dict(), **extra}


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    chromium = jupyter_helpers.chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=jupyter_helpers.CHROMIUM_ARGS)
        ctx = browser.new_context()
        requests: list[str] = []
        ctx.on("request", lambda r: requests.append(r.url))
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.set_content("<!doctype html><html><body></body></html>")
        pg.add_script_tag(content=FAKE_HOST)
        pg.evaluate("(src) => { window.abcjsBytes = new TextEncoder().encode(src); }",
                    assets.abcjs_bytes().decode())
        pg.add_style_tag(content=assets.widget_css())
        yield pg
        assert errors == [], errors
        assert all(jupyter_helpers.is_local(u) for u in requests), requests
        browser.close()


def test_search_view_renders_plays_and_asks_the_kernel(page):
    hits = [_item(FIXTURES / "scores" / "lieder_6053984.mxl", rank=1, score=0.31, id="lied.mxl",
                  title="Ein Lied", composer="Someone"),
            _item(FIXTURES / "scores" / "two_tunes.abc", rank=2, score=0.22, id="two_tunes.abc#1",
                  title="The First Test Jig", composer="")]
    state = {"query": "", "results": hits, "heading": "2 best matches", "status": "", "error": ""}
    page.evaluate("async ([esm, state]) => { window.search = await mount(esm, state); }",
                  [assets.widget_esm("search"), state])
    page.wait_for_function("document.querySelectorAll('.clamp-result svg .abcjs-note').length > 10")
    # two score cards, one abcjs transfer
    assert page.evaluate("fakeExperimental.invocations") == 1
    assert page.evaluate("__clampNotation.transfers") == 1
    assert page.locator(".clamp-result").count() == 2
    assert page.locator(".clamp-result .clamp-title").first.inner_text().startswith("Ein Lied")
    assert page.locator(".clamp-score-value").first.inner_text() == "0.310"
    # the query box sends a search message
    page.fill(".clamp-query", "a slow air")
    page.press(".clamp-query", "Enter")
    page.click(".clamp-result >> nth=1 >> .clamp-similar")
    sent = page.evaluate("search.model.sent")
    assert sent == [{"action": "search", "query": "a slow air"},
                    {"action": "similar", "id": "two_tunes.abc#1"}]
    # expanding draws all bars (more notes than the preview)
    first = page.locator(".clamp-result").first
    preview_notes = first.locator(".abcjs-note").count()
    first.locator(".clamp-expand").click()
    page.wait_for_function(
        "document.querySelector('.clamp-result').querySelectorAll('.abcjs-note').length"
        f" > {preview_notes}")
    page.screenshot(path=str(_artifact("frontend-search.png")), full_page=True)
    # play schedules the tune's notes on an oscillator
    first.locator(".clamp-play").click()
    page.wait_for_function("window.__clampNotation.lastPlayback !== null")
    played = page.evaluate("__clampNotation.lastPlayback")
    assert played["notes"] > 50 and played["seconds"] > 5
    scheduled = first.locator(".clamp-play").get_attribute("data-scheduled-notes")
    assert int(scheduled) == played["notes"]
    assert first.locator(".clamp-play").inner_text().endswith("Stop")
    first.locator(".clamp-play").click()  # stop
    assert first.locator(".clamp-play").inner_text().endswith("Play")
    # the kernel's new results replace the list; status and error show in one line
    page.evaluate("([hits]) => { search.model.set('results', hits);"
                  " search.model.set('error', 'bad query'); }",
                  [hits[1:]])
    assert page.locator(".clamp-result").count() == 1
    assert page.locator(".clamp-search .clamp-status.clamp-error").inner_text() == "bad query"


def test_search_view_shows_match_no_good_match_and_novelty(page):
    lied = _item(FIXTURES / "scores" / "lieder_6053984.mxl", rank=1, score=0.0642, id="lied.mxl",
                 title="Ein Lied", composer="Someone", relevance=0.0401)
    jig = _item(FIXTURES / "scores" / "two_tunes.abc", rank=2, score=0.0511,
                id="two_tunes.abc#1", title="The First Test Jig", composer="", relevance=0.0295)
    state = {"query": "a Chinese folk song", "results": [lied, jig], "mode": "search",
             "heading": "The 2 nearest scores to \u201ca Chinese folk song\u201d",
             "no_good_match": True, "novelty": {}, "min_score": None, "status": "", "error": ""}
    page.evaluate("async ([esm, state]) => { window.weak = await mount(esm, state); }",
                  [assets.widget_esm("search"), state])
    view = page.locator(".clamp-search").last
    assert view.locator(".clamp-no-match").inner_text() == (
        "Nothing in the library matches this query well")
    assert _comes_before(page, ".clamp-search", ".clamp-no-match", ".clamp-results")
    match = view.locator(".clamp-result .clamp-match")
    assert match.all_inner_texts() == ["4% match", "3% match"]
    assert match.first.get_attribute("title").endswith("cosine 0.064")
    assert view.locator(".clamp-ood").count() == 0
    page.wait_for_function("document.querySelectorAll('.clamp-search')[1]"
                           ".querySelectorAll('svg .abcjs-note').length > 10")
    page.screenshot(path=str(_artifact("frontend-search-no-match.png")), full_page=True)
    # a good match: no note; the percentage rounds the calibrated chance
    good = [{**lied, "relevance": 0.8827, "score": 0.29}]
    page.evaluate("([hits]) => { weak.model.set('no_good_match', false);"
                  " weak.model.set('results', hits); }", [good])
    assert view.locator(".clamp-no-match").count() == 0
    assert view.locator(".clamp-match").all_inner_texts() == ["88% match"]
    # "more like this" of an unfamiliar score: the warning, and cosines instead of matches
    similar = [{**jig, "rank": 1, "score": 0.8123, "relevance": None}]
    page.evaluate("([hits, n]) => { weak.model.set('mode', 'similar');"
                  " weak.model.set('novelty', n); weak.model.set('results', hits); }",
                  [similar, UNFAMILIAR])
    assert view.locator(".clamp-ood").inner_text().endswith(OOD_TEXT)
    assert view.locator(".clamp-match").count() == 0
    value = view.locator(".clamp-score-value")
    cell = view.locator(".clamp-score-cell")
    assert value.inner_text() == "0.812" and "same music" in cell.get_attribute("title")
    page.screenshot(path=str(_artifact("frontend-search-similar-ood.png")), full_page=True)
    page.evaluate("([n]) => weak.model.set('novelty', n)", [{}])
    assert view.locator(".clamp-ood").count() == 0


def test_second_page_widget_reuses_abcjs_and_classify_edits_labels(page):
    before = page.evaluate("fakeExperimental.invocations")
    state = {"labels": ["jig", "reel", "waltz"], "title": "The First Test Jig", "composer": "",
             "notation": _item(FIXTURES / "scores" / "two_tunes.abc"), "status": "", "error": "",
             "probabilities": [{"label": "jig", "probability": 0.7},
                               {"label": "reel", "probability": 0.2},
                               {"label": "waltz", "probability": 0.1}]}
    page.evaluate("async ([esm, state]) => { window.cls = await mount(esm, state); }",
                  [assets.widget_esm("classify"), state])
    page.wait_for_function(
        "document.querySelectorAll('.clamp-classify svg .abcjs-note').length > 5")
    assert page.evaluate("fakeExperimental.invocations") == before  # cached on the page
    widths = page.eval_on_selector_all(".clamp-classify .clamp-bar",
                                       "els => els.map(e => e.style.width)")
    assert widths == ["70%", "20%", "10%"]  # a 0-100% scale, not scaled to the largest value
    page.click(".clamp-chip[data-label='reel'] .clamp-chip-remove")
    page.fill(".clamp-add-label", "march, hornpipe")
    page.press(".clamp-add-label", "Enter")
    assert page.evaluate("cls.model.get('labels')") == ["jig", "waltz", "march", "hornpipe"]
    assert page.evaluate("cls.model.saved") == 2
    assert page.locator(".clamp-chip").count() == 4
    # this model carries no calibration and the score is familiar: said so, nothing flagged
    assert page.inner_text(".clamp-classify .clamp-prob-caption") == "Probabilities (uncalibrated)"
    assert page.locator(".clamp-classify .clamp-ood").count() == 0


def test_classify_view_marks_calibration_and_an_unfamiliar_score(page):
    state = {"labels": ["jig", "reel"], "title": "Odd", "composer": "", "notation": {},
             "status": "", "error": "", "calibrated": True, "novelty": FAMILIAR,
             "probabilities": [{"label": "jig", "probability": 0.64},
                               {"label": "reel", "probability": 0.36}]}
    page.evaluate("async ([esm, state]) => { window.cls2 = await mount(esm, state); }",
                  [assets.widget_esm("classify"), state])
    view = page.locator(".clamp-classify").last
    caption = view.locator(".clamp-prob-caption")
    assert caption.inner_text() == "Calibrated probabilities"
    assert "calibrated" in caption.get_attribute("title").lower()
    assert view.locator(".clamp-ood").count() == 0
    page.evaluate("([n]) => cls2.model.set('novelty', n)", [UNFAMILIAR])
    note = view.locator(".clamp-ood")
    assert note.inner_text() == "\u26a0 Out of domain: " + OOD_TEXT
    assert note.get_attribute("role") == "note"
    assert "0.612" in note.get_attribute("title") and "0.790" in note.get_attribute("title")
    # the warning comes before the probabilities it qualifies
    assert _comes_before(page, ".clamp-classify", ".clamp-ood", ".clamp-bars")
    page.screenshot(path=str(_artifact("frontend-classify-ood.png")), full_page=True)
    page.evaluate("([n]) => cls2.model.set('novelty', n)", [FAMILIAR])
    assert view.locator(".clamp-ood").count() == 0


def test_caption_view_shows_text_facts_and_facets(page):
    caption = {"text": "The First Test Jig: 4 bars in D major in 6/8 for a single melodic line.",
               "facts": {"key": "D major", "meter": "6/8", "bars": 4, "tempo_bpm": None,
                         "ensemble": "a single melodic line"},
               "facets": {"genres": [{"label": "folk", "probability": 0.6},
                                     {"label": "dance", "probability": 0.3}],
                          "tune_types": [{"label": "jig", "probability": 0.8},
                                         {"label": "reel", "probability": 0.1}]},
               "stated": {"tune_types": {"label": "jig", "probability": 0.8}},
               "unsure": ["genres", "eras"],
               "sentence": {"text": "A lively folk tune.", "cosine": 0.2346},
               "novelty": FAMILIAR}
    state = {"caption": caption, "title": "The First Test Jig", "composer": "Trad.",
             "notation": _item(FIXTURES / "scores" / "two_tunes.abc"), "status": "", "error": "",
             "calibrated": True, "novelty": FAMILIAR}
    page.evaluate("async ([esm, state]) => { window.cap = await mount(esm, state); }",
                  [assets.widget_esm("caption"), state])
    page.wait_for_function("document.querySelectorAll('.clamp-caption svg .abcjs-note').length > 5")
    assert page.inner_text(".clamp-caption-text") == caption["text"]
    facts = page.eval_on_selector_all(".clamp-facts tr", "rows => rows.map(r => r.dataset.fact)")
    assert facts == ["key", "meter", "ensemble", "bars"]  # missing facts are left out
    assert page.locator(".clamp-facet").count() == 2
    assert page.inner_text(".clamp-sentence") == (  # <q> draws its quotes in CSS
        "Closest description among the training texts: A lively folk tune. (cosine 0.235)")
    assert page.inner_text(".clamp-sentence q") == "A lively folk tune."
    assert page.inner_text(".clamp-stated") == "The model states: form: jig (80.0%)"
    assert page.eval_on_selector_all(".clamp-unsure li", "els => els.map(e => e.textContent)") == [
        "genre", "era"]
    states = page.eval_on_selector_all(
        ".clamp-facet", "els => els.map(e => [e.dataset.facet, e.dataset.state || ''])")
    assert states == [["genres", "unsure"], ["tune_types", "stated"]]
    assert page.locator(".clamp-caption .clamp-ood").count() == 0
    page.screenshot(path=str(_artifact("frontend-caption.png")), full_page=True)
    # a score unlike the training music: the warning, no verdicts, no description
    odd = {**caption, "stated": {}, "unsure": [], "sentence": None, "novelty": UNFAMILIAR,
           "text": "Odd: 4 bars. This score is unlike anything the model was trained on, so it "
                   "offers no view of its genre, form or style."}
    page.evaluate("([c, n]) => { cap.model.set('caption', c); cap.model.set('novelty', n); }",
                  [odd, UNFAMILIAR])
    assert page.inner_text(".clamp-caption .clamp-ood").endswith(OOD_TEXT)
    assert page.locator(".clamp-caption .clamp-verdicts").count() == 0
    assert page.locator(".clamp-caption .clamp-sentence").count() == 0
    page.screenshot(path=str(_artifact("frontend-caption-ood.png")), full_page=True)


def test_without_a_kernel_the_abc_text_is_shown(page):
    page.evaluate("() => { fakeExperimental.fail = true;"
                  " delete __clampNotation.abcjs[Object.keys(__clampNotation.abcjs)[0]]; }")
    item = _item(FIXTURES / "scores" / "two_tunes.abc")
    state = {"title": "x", "composer": "", "notation": item, "status": "", "error": ""}
    page.evaluate("async ([esm, state]) => { window.view = await mount(esm, state); }",
                  [assets.widget_esm("score"), state])
    page.wait_for_selector(".clamp-show .clamp-abc-text")
    assert "kernel gone" in page.inner_text(".clamp-show .clamp-error")
    assert page.inner_text(".clamp-show .clamp-abc-text").strip() == item["abc_preview"].strip()
    page.evaluate("() => { fakeExperimental.fail = false; }")  # a later widget may retry
    page.evaluate("async ([esm, state]) => { window.view2 = await mount(esm, state); }",
                  [assets.widget_esm("score"), json.loads(json.dumps(state))])
    page.wait_for_function("document.querySelectorAll('.clamp-show svg').length > 0")


def _comes_before(page, view: str, first: str, second: str) -> bool:
    """In the last ``view`` on the page, ``first`` precedes ``second`` in document order."""
    return page.evaluate("""([view, first, second]) => {
        const v = [...document.querySelectorAll(view)].pop();
        const a = v.querySelector(first), b = v.querySelector(second);
        return Boolean(a && b && (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING));
    }""", [view, first, second])


def _artifact(name: str):
    jupyter_helpers.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return jupyter_helpers.ARTIFACTS / name


def _shown(path) -> dict:
    """A ScoreView's state for a score file, as the kernel sends it."""
    from jupyter_ext.base import score_parts

    _, _, notes, names = score_parts(path)
    return {**names, "notation": notes.to_dict(), "status": "", "error": ""}


def test_show_all_bars_of_chanson_espagnole_draws(page):
    state = _shown(FIXTURES / "scores" / "lieder_6312216.mxl")
    page.evaluate("async ([esm, state]) => { window.cham = await mount(esm, state); }",
                  [assets.widget_esm("score"), state])
    view = page.locator(".clamp-show").last
    page.wait_for_function("[...document.querySelectorAll('.clamp-show')].pop()"
                           ".querySelectorAll('.abcjs-note').length > 10")
    expand = view.locator(".clamp-expand")
    assert expand.inner_text() == "Show all 48 bars"
    expand.click()
    page.wait_for_function("[...document.querySelectorAll('.clamp-show')].pop()"
                           ".querySelectorAll('.abcjs-note').length > 400")
    assert view.locator(".clamp-error").count() == 0
    assert view.locator(".clamp-abc-text").count() == 0
    title = view.locator(".clamp-title").inner_text()
    assert title == "Chanson espagnole \u2014 C\u00e9cile Chaminade"
    view.screenshot(path=str(_artifact("frontend-chanson-espagnole-all-bars.png")))


def test_notation_fits_its_box_clear_of_the_time_signature(page):
    """Bootgesang: four singers open with a rest, a piano on two staves, a German tempo word."""
    state = _shown(FIXTURES / "scores" / "lieder_6181050.mxl")
    page.set_viewport_size({"width": 640, "height": 900})
    page.evaluate("async ([esm, state]) => { window.boot = await mount(esm, state); }",
                  [assets.widget_esm("score"), state])
    page.wait_for_function("[...document.querySelectorAll('.clamp-show')].pop()"
                           ".querySelectorAll('.abcjs-note').length > 10")
    geometry = page.evaluate("""() => {
        const view = [...document.querySelectorAll('.clamp-show')].pop();
        const box = view.querySelector('.clamp-notation').getBoundingClientRect();
        const svg = view.querySelector('svg').getBoundingClientRect();
        let right = 0, bottom = 0;
        for (const el of view.querySelectorAll('svg path, svg text')) {
          const r = el.getBoundingClientRect();
          if (r.width) { right = Math.max(right, r.right); bottom = Math.max(bottom, r.bottom); }
        }
        const meter = view.querySelector('.abcjs-l0 .abcjs-time-signature').getBoundingClientRect();
        const rest = view.querySelector('.abcjs-l0 .abcjs-rest').getBoundingClientRect();
        const texts = [...view.querySelectorAll('svg text')].map((t) => t.textContent);
        return { box: [box.right, box.bottom], svg: [svg.right, svg.bottom], right, bottom,
                 gap: rest.left - meter.right, texts };
    }""")
    # nothing drawn past the right edge (end repeats, a line's last bar) and no empty band
    # under the staves: the box ends with the drawing
    assert geometry["right"] <= geometry["box"][0] + 0.5
    assert geometry["bottom"] <= geometry["box"][1] + 0.5
    assert geometry["box"][1] - geometry["bottom"] < 16
    assert geometry["gap"] >= 6  # the opening rest stands clear of the 4/4
    assert "M\u00e4ssig und kr\u00e4ftig" in geometry["texts"]  # accents kept
    assert geometry["texts"].count("Pianoforte") == 1  # one name for the braced staves
    page.locator(".clamp-show").last.screenshot(path=str(_artifact("frontend-bootgesang.png")))
    page.set_viewport_size({"width": 1280, "height": 720})


def test_search_view_labels_scores_hints_an_empty_query_goes_back_and_sets_a_floor(page):
    jig = _item(FIXTURES / "scores" / "two_tunes.abc", rank=1, score=0.2871,
                id="two_tunes.abc#1", title="The First Test Jig", composer="", relevance=None)
    state = {"query": "", "results": [jig], "mode": "search", "heading": "1 best matches",
             "no_good_match": False, "novelty": {}, "min_score": None, "can_go_back": False,
             "status": "", "error": ""}
    page.evaluate("async ([esm, state]) => { window.s3 = await mount(esm, state); }",
                  [assets.widget_esm("search"), state])
    view = page.locator(".clamp-search").last
    # the cosine is labelled, explained in a tooltip and in a legend above the list
    cell = view.locator(".clamp-score-cell")
    assert cell.inner_text() == "relevance 0.287"
    assert "Cosine similarity" in cell.get_attribute("title")
    assert view.locator(".clamp-legend").inner_text().startswith("relevance: cosine similarity")
    # an empty query says what to do and sends nothing
    view.locator(".clamp-query").fill("   ")
    view.locator(".clamp-go").click()
    assert "Type a description" in view.locator(".clamp-hint").inner_text()
    assert page.evaluate("s3.model.sent") == []
    view.locator(".clamp-query").fill("a jig")
    assert view.locator(".clamp-hint").inner_text() == ""
    # Back: hidden until "More like this" led away from a list, then it asks the kernel
    back = view.locator(".clamp-back")
    assert back.is_hidden()
    page.evaluate("() => { s3.model.set('mode', 'similar'); s3.model.set('can_go_back', true);"
                  " s3.model.set('results', s3.model.get('results')); }")
    assert back.is_visible()
    assert view.locator(".clamp-score-cell").inner_text() == "similarity 0.287"
    back.click()
    assert page.evaluate("s3.model.sent") == [{"action": "back"}]
    # the min-score box sets the kernel's min_score (0-1); emptied, no floor
    floor = view.locator(".clamp-min-score")
    floor.fill("30")
    floor.dispatch_event("change")
    assert page.evaluate("s3.model.get('min_score')") == 0.3
    assert page.evaluate("s3.model.saved") == 1
    floor.fill("")
    floor.dispatch_event("change")
    assert page.evaluate("s3.model.get('min_score')") is None
    floor.blur()  # the box shows the kernel's value unless the user is typing in it
    page.evaluate("() => s3.model.set('min_score', 0.45)")
    assert floor.input_value() == "45"
    # nothing passes the floor: the kernel's heading says so, no legend for an empty list
    page.evaluate("() => { s3.model.set('results', []);"
                  " s3.model.set('heading', 'No score of the library reaches a score of at least"
                  " 0.45 for \\u201ca jig\\u201d'); }")
    assert view.locator(".clamp-heading").inner_text().startswith("No score of the library")
    assert view.locator(".clamp-legend").count() == 0
    view.screenshot(path=str(_artifact("frontend-search-controls.png")))


def test_passage_result_draws_its_bars_and_marks_them_in_context(page):
    """A passage result (ClampSearch(passages=True)): the preview is the passage, "Show in
    context" draws four bars either side with the passage's own bars marked, play plays the
    passage."""
    from clamp_core import to_abc
    from jupyter_ext.notation import passage_notation

    item = {**passage_notation(to_abc(FIXTURES / "scores" / "lieder_6312216.mxl"), 8, 15),
            "rank": 1, "score": 0.42, "id": "chanson.mxl#bars 9-16", "title": "Chanson espagnole",
            "composer": "C\u00e9cile Chaminade", "passage_bars": [9, 16], "relevance": None}
    assert item["highlight"] == [4, 12] and item["bars"] == 16
    state = {"query": "", "results": [item], "heading": "1 passages", "status": "", "error": ""}
    page.evaluate("async ([esm, state]) => { window.passage = await mount(esm, state); }",
                  [assets.widget_esm("search"), state])
    card = page.locator(".clamp-result").last
    page.wait_for_function("document.querySelectorAll('.clamp-result')[document.querySelectorAll"
                           "('.clamp-result').length - 1].querySelectorAll('.abcjs-note')"
                           ".length > 20")
    assert card.locator(".clamp-title").inner_text().startswith("Chanson espagnole, bars 9\u201316")
    assert card.locator(".clamp-hit").count() == 0  # the passage alone: nothing to mark
    preview_notes = card.locator(".abcjs-note").count()
    expand = card.locator(".clamp-expand")
    assert expand.inner_text() == "Show in context"
    expand.click()
    page.wait_for_function("(n) => document.querySelectorAll('.clamp-hit').length > n", arg=0)
    marked = page.evaluate("""() => {
        const out = new Set();
        for (const el of document.querySelectorAll('.clamp-hit'))
          for (const c of el.classList) if (/^abcjs-mm\\d+$/.test(c)) out.add(Number(c.slice(8)));
        return [...out].sort((a, b) => a - b); }""")
    assert marked == list(range(4, 12))
    all_notes = card.locator(".abcjs-note").count()
    marked_notes = card.locator(".abcjs-note.clamp-hit").count()
    assert all_notes > marked_notes > 0
    assert abs(marked_notes - preview_notes) <= 2  # the same bars (a tie's end may differ)
    assert expand.inner_text() == "Show the passage"
    page.screenshot(path=str(_artifact("frontend-passage.png")), full_page=True)
    card.locator(".clamp-play").click()
    page.wait_for_function("window.__clampNotation.lastPlayback !== null")
    played = page.evaluate("__clampNotation.lastPlayback")
    assert 0 < played["seconds"] < 20  # eight bars of 6/8, not the 16 drawn


def test_filter_chips_ask_the_kernel_and_show_what_it_kept(page):
    jig = _item(FIXTURES / "scores" / "two_tunes.abc", rank=1, score=0.2871,
                id="two_tunes.abc#1", title="The First Test Jig", composer="", relevance=None)
    state = {"query": "a jig", "results": [jig], "mode": "search", "heading": "1 best matches",
             "no_good_match": False, "novelty": {}, "min_score": None, "can_go_back": False,
             "where": ["metre=6/8"], "status": "", "error": ""}
    page.evaluate("async ([esm, state]) => { window.s4 = await mount(esm, state); }",
                  [assets.widget_esm("search"), state])
    view = page.locator(".clamp-search").last
    assert view.locator(".clamp-chip").count() == 1
    assert view.locator(".clamp-chip").inner_text().startswith("metre=6/8")
    # Enter adds a filter: the kernel is asked; the text stays until the kernel keeps it
    box = view.locator(".clamp-filter")
    box.fill("composer=Bach")
    box.press("Enter")
    assert page.evaluate("s4.model.sent") == [
        {"action": "where", "filters": ["metre=6/8", "composer=Bach"]}]
    assert box.input_value() == "composer=Bach"
    page.evaluate("() => s4.model.set('where', ['metre=6/8', 'composer=Bach'])")
    assert view.locator(".clamp-chip").count() == 2 and box.input_value() == ""
    # a chip's cross asks for the filters without it
    view.locator(".clamp-chip >> nth=0 >> .clamp-chip-x").click()
    assert page.evaluate("s4.model.sent")[-1] == {"action": "where",
                                                 "filters": ["composer=Bach"]}
    box.press("Enter")  # an empty box adds nothing
    assert len(page.evaluate("s4.model.sent")) == 2
    view.screenshot(path=str(_artifact("frontend-search-filters.png")))
