"""jupyter_ext on the Python side: notation layout, the composed front-end modules, traits and
the browser-message handlers of every widget, with the real default model and a real index."""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import hashlib
import re
import shutil
from pathlib import Path

import jupyter_calibration
import jupyter_helpers
import pytest
import traitlets

pytest.importorskip("anywidget", reason="pip install 'clamp-notation[test]'")

from clamp_core.errors import ClampError
from jupyter_ext import assets
from jupyter_ext.notation import MAX_BARS, notation, split_bars

FIXTURES = jupyter_helpers.FIXTURES
default_clamp = jupyter_helpers.default_clamp  # session fixtures shared with the browser tests
small_index = jupyter_helpers.small_index
calibrated_model = jupyter_calibration.calibrated_model  # the default model, calibrated
calibrated_clamp = jupyter_calibration.calibrated_clamp

ROOT = Path(__file__).resolve().parents[2]
TWO_TUNES = FIXTURES / "scores" / "two_tunes.abc"
LIED = FIXTURES / "scores" / "lieder_6053984.mxl"


def frontend_message(widget, content: dict, buffers: list | None = None) -> None:
    """Deliver ``content`` as the browser would (through ipywidgets' own comm dispatcher)."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}},
                        "buffers": buffers or []})


def capture_sends(widget) -> list:
    sent = []
    widget.send = lambda content, buffers=None: sent.append((content, buffers))
    return sent


# -- notation ---------------------------------------------------------------------------------
def test_split_bars_keeps_chords_fields_decorations_and_endings_whole():
    bars = split_bars('|: A>B c2 [CEG]2 "Am|x"A2 | !trill!B4 [K:D] d2 :|1 e2 f2 :|2 g4 |]')
    assert bars == ['|: A>B c2 [CEG]2 "Am|x"A2 |', "!trill!B4 [K:D] d2 :|1", "e2 f2 :|2", "g4 |]"]


def test_multi_voice_score_is_laid_out_in_aligned_systems():
    from clamp_core import to_abc

    n = notation(to_abc(LIED))
    assert n.bars == 8 and not n.truncated
    systems = [line for line in n.full.splitlines() if line.startswith("[V:")]
    voices = sorted({line.split("]")[0] for line in systems})
    assert len(voices) == 4 and len(systems) == 2 * 4  # 8 bars, 4 per system
    # each system line of each voice holds the same number of bars as its partners
    for start in range(0, len(systems), len(voices)):
        group = systems[start:start + len(voices)]
        counts = {len(split_bars(line.split("] ", 1)[1])) for line in group}
        assert len(counts) == 1, group
    preview_systems = [line for line in n.preview.splitlines() if line.startswith("[V:")]
    assert len(preview_systems) == len(voices)
    assert n.preview.startswith("X:1\n") and "K:" in n.preview


def test_long_tunes_are_cut_at_max_bars_and_tunes_without_bars_pass_through():
    abc = "X:1\nM:4/4\nL:1/4\nK:C\n" + " ".join(["C D E F |"] * (MAX_BARS + 10)) + "\n"
    n = notation(abc)
    assert (n.bars, n.shown, n.truncated) == (MAX_BARS + 10, MAX_BARS, True)
    assert len(split_bars(n.preview.split("K:C\n", 1)[1])) == 4
    bare = notation("T:nothing here\n")
    assert bare.bars == 0 and "T:nothing here" in bare.full


# -- front-end modules ------------------------------------------------------------------------
def test_widget_modules_hold_no_abcjs_and_reach_no_network():
    vendored = assets.abcjs_bytes().decode()
    assert assets.abcjs_version() == "6.7.2"
    for view in assets.VIEWS:
        esm = assets.widget_esm(view)
        assert len(esm) < 40_000, "a widget's module travels in its state: keep it small"
        assert "abcjs_basic v" not in esm and vendored[1000:1200] not in esm
        assert f'const ABCJS_VERSION = "{assets.abcjs_version()}"' in esm
        assert "export default" in esm
    for js in (assets.STATIC.rglob("*.js")):
        if "vendor" not in js.parts:
            code = js.read_text()
            assert not re.search(r"https?://", code), f"{js} names a URL"
            # abcjs's own synth loads sound fonts from the web (its default URLs are in the
            # vendored file); playback must stay on our oscillator, so nothing may call it.
            assert not re.search(r"CreateSynth|SynthController|soundFontUrl|getMidiFile", code), js


def test_vendored_abcjs_matches_its_record_and_ships_as_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    vendor = assets.STATIC / "vendor"
    record = (vendor / "VENDORED.txt").read_text()
    assert hashlib.sha256(assets.abcjs_bytes()).hexdigest() in record
    assert "abcjs 6.7.2" in record and "sha512-" in record
    assert "Paul Rosen" in (vendor / "abcjs-LICENSE.md").read_text()
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["jupyter_ext"]
    for f in assets.STATIC.rglob("*"):
        if f.is_file():
            rel = f.relative_to(assets.STATIC.parent).as_posix()
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), f"{rel} is not package data"


def test_abcjs_command_sends_the_vendored_file_as_one_buffer():
    from jupyter_ext import ScoreView
    from jupyter_ext.base import ABCJS_SENDS

    view = ScoreView(TWO_TUNES)
    sent = capture_sends(view)
    before = ABCJS_SENDS["count"]
    frontend_message(view, {"id": "42", "kind": "anywidget-command", "name": "_clamp_abcjs",
                            "msg": {"version": "6.7.2"}})
    (content, buffers), = sent
    assert content["id"] == "42" and content["kind"] == "anywidget-command-response"
    assert content["response"]["version"] == "6.7.2"
    assert content["response"]["sha256"] == assets.abcjs_sha256()
    assert buffers == [assets.abcjs_bytes()]
    assert ABCJS_SENDS["count"] == before + 1
    assert "abcjs_basic" not in view.get_state()["_esm"]


# -- widgets ----------------------------------------------------------------------------------
def test_search_by_trait_and_by_browser_message(default_clamp, small_index):
    from jupyter_ext import ClampSearch

    w = ClampSearch(default_clamp, small_index, k=4)
    assert w.results == []
    w.query = "a fiddle reel"
    assert len(w.results) == 4 and w.error == "" and w.status == ""
    assert "a fiddle reel" in w.heading
    first = w.results[0]
    assert {"rank", "score", "id", "title", "composer", "abc", "abc_preview", "bars"} <= set(first)
    assert first["rank"] == 1 and first["abc"].startswith("X:1") and "K:" in first["abc"]
    assert [r["score"] for r in w.results] == sorted((r["score"] for r in w.results), reverse=True)
    # the shipped model carries no calibration: no relevance to show, never "no good match"
    assert all(r["relevance"] is None for r in w.results)
    assert (w.mode, w.no_good_match, w.novelty) == ("search", False, {})
    frontend_message(w, {"action": "search", "query": "  a   solemn   chorale "})
    assert w.query == "a solemn chorale" and "a solemn chorale" in w.heading
    frontend_message(w, {"action": "search", "query": ""})
    assert "non-empty" in w.error


def test_more_like_this_leaves_the_score_itself_out(default_clamp, small_index):
    from jupyter_ext import ClampSearch

    w = ClampSearch(default_clamp, small_index, query="a hornpipe", k=3)
    target = w.results[0]["id"]
    frontend_message(w, {"action": "similar", "id": target})
    assert w.error == "" and len(w.results) == 3
    assert target not in [r["id"] for r in w.results]
    assert [r["rank"] for r in w.results] == [1, 2, 3]
    assert w.heading.startswith("Scores like")
    frontend_message(w, {"action": "similar", "id": "no/such/score.abc"})
    assert "run the search again" in w.error


def test_back_returns_to_the_results_before_more_like_this(default_clamp, small_index):
    from jupyter_ext import ClampSearch

    w = ClampSearch(default_clamp, small_index, query="a hornpipe", k=3)
    first = (list(w.results), w.heading, w.mode)
    assert w.can_go_back is False
    frontend_message(w, {"action": "similar", "id": first[0][0]["id"]})
    second = (list(w.results), w.heading, w.mode)
    assert w.mode == "similar" and w.can_go_back is True
    frontend_message(w, {"action": "similar", "id": second[0][0]["id"]})  # two steps away
    assert w.heading != second[1] and w.can_go_back is True
    frontend_message(w, {"action": "back"})
    assert (w.results, w.heading, w.mode) == second and w.can_go_back is True
    frontend_message(w, {"action": "back"})
    assert (w.results, w.heading, w.mode) == first and w.can_go_back is False
    # the kernel knows the restored results again: "More like this" works on them
    frontend_message(w, {"action": "similar", "id": first[0][1]["id"]})
    assert w.error == "" and w.mode == "similar"
    assert w.back() is True and w.back() is False  # nothing further back
    frontend_message(w, {"action": "similar", "id": first[0][0]["id"]})
    w.search("a reel")  # a new search starts a new trail
    assert w.can_go_back is False


def test_search_rejects_bad_arguments(default_clamp, small_index, tmp_path):
    from jupyter_ext import ClampSearch

    with pytest.raises(ClampError, match="not a clamp index"):
        ClampSearch(default_clamp, tmp_path, k=3)
    with pytest.raises(ClampError, match="model must be"):
        ClampSearch(3.5, small_index)


def test_classify_labels_are_editable(default_clamp):
    from jupyter_ext import ClampClassify

    w = ClampClassify(default_clamp, TWO_TUNES, ["jig", "reel", "waltz"])
    probs = w.probabilities
    assert ([p["label"] for p in probs] != []
            and sum(p["probability"] for p in probs) == pytest.approx(1, abs=1e-4))
    assert w.notation["bars"] > 0 and w.title == "The First Test Jig"
    w.labels = ["jig", "march"]  # as the browser does (set + save_changes)
    assert {p["label"] for p in w.probabilities} == {"jig", "march"}
    w.labels = ["jig"]
    assert "two labels" in w.error and w.probabilities == []
    preset = ClampClassify(default_clamp, TWO_TUNES, "tune_types")
    assert len(preset.labels) > 3 and len(preset.probabilities) == len(preset.labels)
    with pytest.raises(ClampError, match="two labels"):
        ClampClassify(default_clamp, TWO_TUNES, ["only one"])


def test_caption_widget_carries_facts_and_facets(default_clamp):
    from jupyter_ext import ClampCaption

    w = ClampCaption(default_clamp, TWO_TUNES)
    assert w.caption["text"] == default_clamp.caption(TWO_TUNES).text == w.text
    assert w.caption["facts"]["meter"] == "6/8"
    assert set(w.caption["facets"]) >= {"genres", "moods"}
    assert all(0 <= x["probability"] <= 1 for x in w.caption["facets"]["genres"])


# -- calibration, novelty and relevance (the default model calibrated on corpus tunes) --------
def _library(index) -> Path:
    return Path(index).parent / "library"  # jupyter_helpers.small_index: the files it indexes


def _familiar_tune(index) -> Path:
    return _library(index) / "AcaciaReel.abc"  # a fiddle reel, like the training tunes


def test_classify_shows_calibrated_probabilities_and_flags_an_unfamiliar_score(
        calibrated_clamp, default_clamp, small_index):
    from jupyter_ext import ClampClassify

    labels = ["jig", "reel", "waltz"]
    w = ClampClassify(calibrated_clamp, LIED, labels)
    music = calibrated_clamp.encode_scores([LIED])[0]
    expected = calibrated_clamp.rank_labels(music, labels)
    assert [(p["label"], p["probability"]) for p in w.probabilities] == [
        (a, pytest.approx(p, abs=1e-5)) for a, p in expected]
    raw = dict(default_clamp.rank_labels(music, labels))  # same weights, no temperature
    assert calibrated_clamp.calibration.temperature != pytest.approx(1, abs=0.05)
    assert [p["probability"] for p in w.probabilities] != pytest.approx(
        [raw[p["label"]] for p in w.probabilities], abs=1e-3)
    assert w.calibrated is True
    # a Lied for voice and piano is nothing like the fiddle tunes and Chinese songs it was
    # fitted on
    novelty = calibrated_clamp.novelty_of(music)
    assert w.novelty == {"out_of_domain": True,
                         "nearest_training_cosine": pytest.approx(novelty.nearest, abs=1e-4),
                         "threshold": pytest.approx(novelty.threshold),
                         "message": novelty.to_dict()["message"]}
    assert w.novelty["nearest_training_cosine"] < w.novelty["threshold"]
    w.labels = ["jig", "march"]  # the novelty belongs to the score, not to the labels
    assert w.novelty["out_of_domain"] is True and w.error == ""
    familiar = ClampClassify(calibrated_clamp, _familiar_tune(small_index), "tune_types")
    assert familiar.novelty["out_of_domain"] is False and "message" not in familiar.novelty
    assert familiar.novelty["nearest_training_cosine"] >= familiar.novelty["threshold"]
    # a model without calibration: raw probabilities, nothing flagged
    plain = ClampClassify(default_clamp, TWO_TUNES, labels)
    assert plain.calibrated is False
    assert plain.novelty == {"out_of_domain": False, "nearest_training_cosine": None,
                             "threshold": None}


def test_caption_widget_states_facets_names_doubts_and_quotes_a_training_text(
        calibrated_clamp, small_index):
    from jupyter_ext import ClampCaption

    tune = _familiar_tune(small_index)
    w = ClampCaption(calibrated_clamp, tune)
    expected = calibrated_clamp.caption(tune).to_dict()
    assert w.caption["stated"] == expected["stated"] == w.stated
    assert w.caption["unsure"] == expected["unsure"] == w.unsure
    cal = calibrated_clamp.calibration
    assert w.stated, "a reel like the training reels: its form is stated"
    for facet, v in w.stated.items():
        assert v["probability"] >= cal.facet_threshold(facet, v["label"])
        assert v["label"] == w.caption["facets"][facet][0]["label"]  # the top candidate
    assert set(w.stated).isdisjoint(w.unsure) and w.unsure, "some facet stays below its bar"
    for facet in w.unsure:  # unsure: no threshold, or its best label falls short of it
        best = w.caption["facets"][facet][0]
        bar = cal.facet_threshold(facet, best["label"])
        assert bar is None or best["probability"] < bar
    assert set(w.stated) | set(w.unsure) == set(w.caption["facets"])
    assert w.caption["sentence"]["text"] in cal.bank_texts  # a real training text
    assert "Closest description among the training texts" in w.text
    assert w.novelty == w.caption["novelty"] and w.novelty["out_of_domain"] is False
    assert w.calibrated is True
    odd = ClampCaption(calibrated_clamp, LIED)
    assert odd.novelty["out_of_domain"] is True and odd.novelty == odd.caption["novelty"]
    assert odd.stated == {} and odd.unsure == [] and odd.caption["sentence"] is None
    assert "unlike anything the model was trained on" in odd.text
    assert odd.caption["facets"], "the ranked candidates are still shown"


def test_search_shows_relevance_and_says_when_nothing_matches_well(calibrated_clamp,
                                                                   small_index):
    from clamp_core.index import Index
    from jupyter_ext import ClampSearch

    cal = calibrated_clamp.calibration
    w = ClampSearch(calibrated_clamp, small_index, query="a lively reel for the fiddle", k=6)
    assert len(w.results) == 6 and w.mode == "search" and w.novelty == {}
    for r in w.results:
        assert 0 <= r["relevance"] <= 1
        assert r["relevance"] == pytest.approx(cal.relevance_of(r["score"]), abs=1e-4)
    assert w.results[0]["relevance"] > 0.5 and "Reel" in w.results[0]["id"]
    assert w.no_good_match is False and w.heading.startswith("6 best matches")
    reel_best = w.results[0]["relevance"]
    with Index(small_index) as idx:
        for query in ("a lively reel for the fiddle", "a Chinese folk song"):
            w.query = query
            assert w.no_good_match is calibrated_clamp.no_good_match(
                calibrated_clamp.search(query, idx, k=6))
    # no Chinese song in a library of fiddle tunes, a chorale and a Lied: far weaker than a reel
    assert w.results[0]["relevance"] < 0.25 < 0.5 < reel_best
    # the widget's "nothing matches well" state, whenever the model's level says so
    strict = copy.copy(calibrated_clamp)
    strict.calibration = dataclasses.replace(cal, relevance={**cal.relevance, "no_match": 0.99})
    w = ClampSearch(strict, small_index, query="a Chinese folk song", k=6)
    assert w.no_good_match is True and len(w.results) == 6
    assert w.heading.startswith("The 6 nearest scores to")


def test_min_score_filters_search_results(calibrated_clamp, small_index):
    from clamp_core.index import Index
    from jupyter_ext import ClampSearch

    query = "a lively reel for the fiddle"
    w = ClampSearch(calibrated_clamp, small_index, query=query, k=8)
    everything = [(r["id"], r["relevance"]) for r in w.results]
    w.min_score = 0.5  # re-runs the search
    assert w.results and len(w.results) < len(everything)
    assert [(r["id"], r["relevance"]) for r in w.results] == [x for x in everything if x[1] >= 0.5]
    assert "at least 50%" in w.heading and w.no_good_match is False
    with Index(small_index) as idx:
        hits = calibrated_clamp.search(query, idx, k=8, min_score=0.5)
    assert [r["id"] for r in w.results] == [h.id for h in hits]
    w.min_score = 1.0
    assert w.results == [] and w.heading.startswith("No score of the library reaches")
    assert w.no_good_match is False  # the library does hold good matches, just none that good
    w.min_score = None
    assert len(w.results) == len(everything)
    with pytest.raises(traitlets.TraitError):
        w.min_score = 1.5
    fresh = ClampSearch(calibrated_clamp, small_index, query=query, k=8, min_score=0.5)
    assert fresh.min_score == 0.5 and len(fresh.results) == len(w.results) - len(
        [x for x in everything if x[1] < 0.5])


def test_more_like_this_carries_the_novelty_of_the_score(calibrated_clamp, small_index):
    from clamp_core.index import Index
    from clamp_core.notation import score_to_abc
    from clamp_core.scores import load_score
    from jupyter_ext import ClampSearch

    w = ClampSearch(calibrated_clamp, small_index, query="a jig", k=12)  # the whole library
    frontend_message(w, {"action": "similar", "id": "lieder_6053984.mxl"})
    assert w.error == "" and w.mode == "similar" and w.no_good_match is False
    # the Lied is unlike the fiddle tunes and songs of the calibration: the flag says so
    assert w.novelty["out_of_domain"] is True and w.novelty["message"]
    assert "lieder_6053984.mxl" not in [r["id"] for r in w.results]
    assert len(w.results) == 11  # the rest of the library: 8 reels, a chorale, two tunes
    assert all(r["relevance"] is None for r in w.results)  # a music-music cosine, not a match
    music = calibrated_clamp.encode_abc([score_to_abc(load_score(LIED))])[0]
    with Index(small_index) as idx:
        nearest = calibrated_clamp.similar(LIED, idx, k=12, exclude_self=False, vector=music)
    expected = [h for h in nearest if h.id != "lieder_6053984.mxl"][:12]
    assert [r["id"] for r in w.results] == [h.id for h in expected]
    assert [r["score"] for r in w.results] == pytest.approx([h.score for h in expected], abs=1e-5)
    frontend_message(w, {"action": "similar", "id": "AcaciaReel.abc"})
    assert w.novelty["out_of_domain"] is False and "message" not in w.novelty
    frontend_message(w, {"action": "search", "query": "a jig"})
    assert (w.mode, w.novelty) == ("search", {})


def test_show_takes_paths_abc_text_and_music21_streams():
    from music21 import converter

    from jupyter_ext import ScoreView, show

    text = TWO_TUNES.read_text()
    stream = converter.parse("tinyNotation: 3/4 c4 d e f2 g4 a b c'")
    for score in (str(LIED), text, stream):
        view = ScoreView(score)
        assert view.notation["bars"] > 0 and "K:" in view.notation["abc_preview"]
    assert ScoreView(LIED).composer
    assert show(text) is None
    with pytest.raises(ClampError):
        ScoreView(str(FIXTURES / "nope.abc"))


def test_clamp_magic(small_index):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_ext import ClampSearch, ScoreView

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_ext")
    w = ip.run_line_magic("clamp", f"search --index {small_index} -k 2 a lively reel")
    assert isinstance(w, ClampSearch) and len(w.results) == 2 and w.query == "a lively reel"
    assert w.min_score is None
    floor = ip.run_line_magic("clamp", f"search --index {small_index} --min-score 0.25 a reel")
    assert floor.min_score == 0.25 and all(r["score"] >= 0.25 for r in floor.results)
    # errors a user can fix are IPython's one-line UsageError (no traceback is printed)
    with pytest.raises(UsageError, match="from 0 to 1"):
        ip.run_line_magic("clamp", "search --min-score 2 a reel")
    again = ip.run_line_magic("clamp", "search a slow chorale")  # the index is remembered
    assert "a slow chorale" in again.heading
    with pytest.raises(UsageError, match="clamp index FOLDER --index .* --passages"):
        ip.run_line_magic("clamp", "search --passages a slow chorale")  # whole works only
    assert isinstance(ip.run_line_magic("clamp", f"show {TWO_TUNES}"), ScoreView)
    with pytest.raises(UsageError, match="usage"):
        ip.run_line_magic("clamp", "frobnicate")
    for line in ("classify missing.mxl --labels a,b", "classify missing.mxl",
                 "show missing.mxl", "caption missing.mxl"):
        with pytest.raises(UsageError, match="missing.mxl: file not found"):
            ip.run_line_magic("clamp", line)
    with pytest.raises(UsageError, match="is a folder, not a score file"):
        ip.run_line_magic("clamp", f"show {small_index}")


def test_example_notebook_is_valid_and_its_code_compiles():
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager

    nb = nbformat.read(ROOT / "examples" / "jupyter_widgets.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("ClampSearch" in c for c in code) and any("%clamp search" in c for c in code)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs"
    for source in code:
        compile(TransformerManager().transform_cell(source), "<cell>", "exec")


def test_passage_search_draws_bars_and_more_like_this_finds_other_places(default_clamp,
                                                                         tmp_path):
    """ClampSearch(passages=True): results are passages with their bars, drawn alone and in
    context; "More like this" of a passage gives passages, never the same place again."""
    from clamp_core.index.library import Index
    from jupyter_ext import ClampSearch

    library = tmp_path / "library"
    library.mkdir()
    for name in ("lieder_6312216.mxl", "lieder_6053984.mxl", "two_tunes.abc"):
        shutil.copyfile(FIXTURES / "scores" / name, library / name)
    with Index.create(tmp_path / "index", default_clamp) as idx:
        with pytest.raises(ClampError, match="--passages"):
            ClampSearch(default_clamp, idx, passages=True)
        idx.enable_passages(4, 2)
        idx.update(library, default_clamp, workers=0, progress=False)
    w = ClampSearch(default_clamp, tmp_path / "index", passages=True, k=5)
    w.query = "a Spanish song"
    assert len(w.results) == 5 and w.heading.startswith("5 passages nearest")
    for r in w.results:
        first, last = r["passage_bars"]
        assert r["id"].endswith(f"#bars {first}-{last}")
        assert r["highlight"][1] - r["highlight"][0] == 4 or r["id"].startswith("two_tunes")
        assert r["abc_preview"].startswith("X:1") and r["abc"] != r["abc_preview"]
    target = next(r for r in w.results if r["id"].startswith("lieder_6312216.mxl"))
    frontend_message(w, {"action": "similar", "id": target["id"]})
    assert w.error == "" and w.heading.startswith("Passages like Chanson espagnole, bars ")
    tb = target["passage_bars"]
    for r in w.results:
        b = r["passage_bars"]
        assert not (r["id"].startswith("lieder_6312216.mxl") and b[0] <= tb[1] and tb[0] <= b[1])
    with pytest.raises(ClampError, match="min_score"):
        ClampSearch(default_clamp, tmp_path / "index", passages=True, min_score=0.5)


def test_filter_chips_keep_scores_whose_facts_pass(default_clamp, small_index):
    from jupyter_ext import ClampSearch

    w = ClampSearch(default_clamp, small_index, query="a hymn", k=6)
    assert len(w.results) == 6
    song = ["ensemble=voice and piano"]
    frontend_message(w, {"action": "where", "filters": song})
    assert w.where == song and w.error == ""
    assert [r["id"] for r in w.results] == ["lieder_6053984.mxl"]  # the only song
    frontend_message(w, {"action": "where", "filters": [*song, "metre=3/4"]})
    assert w.results == [] and w.heading.startswith("No score of the library passes")
    # a bad filter is refused in the error line; the chips stay as they were
    frontend_message(w, {"action": "where", "filters": [*song, "colour=blue"]})
    assert "colour" in w.error and w.where == [*song, "metre=3/4"]
    frontend_message(w, {"action": "where", "filters": []})
    assert w.where == [] and len(w.results) == 6 and w.error == ""
    with pytest.raises(ClampError, match="colour"):
        ClampSearch(default_clamp, small_index, where=["colour=blue"])
    # More like this keeps the filters
    reels = ClampSearch(default_clamp, small_index, query="a reel", k=3, where=["metre=4/4"])
    assert reels.results
    frontend_message(reels, {"action": "similar", "id": reels.results[0]["id"]})
    assert reels.error == "" and reels.results
    assert all(reels._hits[r["id"]].meta["meter"] == "4/4" for r in reels.results)
