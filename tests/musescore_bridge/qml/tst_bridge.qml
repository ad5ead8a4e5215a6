// The plugin's MuseScore 4 code paths under qmltestrunner, against the real clamp service:
// a stand-in score replays a cursor walk recorded in MuseScore 3.2.3; no writeScore, so the
// plugin must walk the score itself; requests are asynchronous as in the MuseScore 4 GUI.
// Run by tests/musescore_bridge/test_qml.py (it writes the stubs' StubConfig.js with the service's home).
import QtQuick 2.9
import QtTest 1.2
import MuseScore 3.0
import FileIO 3.0
import "../../../musescore_bridge/plugin/clamp_bridge.js" as Bridge

TestCase {
    id: tc
    name: "ClampPluginMuseScore4"
    when: windowShown

    property var recorded: null
    property var plugin: null
    property string controlUrl: ""

    FileIO { id: fio }  // the stub: its homePath() is the test's home folder

    function readFile(url) {
        var xhr = new XMLHttpRequest();
        xhr.open("GET", url, false);
        xhr.send();
        return xhr.responseText;
    }

    // A score object with the parts of MuseScore's plugin API the walk uses, replaying `walk`.
    function fakeScore(walk) {
        var measures = walk.measures.map(function (m) {
            var ts = {numerator: m.time_signature[0], denominator: m.time_signature[1], ticks: m.ticks};
            return {firstSegment: {tick: m.tick}, timesigActual: ts, timesigNominal: ts, nextMeasure: null};
        });
        for (var i = 0; i + 1 < measures.length; i++)
            measures[i].nextMeasure = measures[i + 1];
        var tracks = [], staffKeys = [], parts = [], staff = 0;
        walk.parts.forEach(function (p) {
            parts.push({longName: p.name, partName: p.name, startTrack: staff * 4,
                        endTrack: (staff + p.staves.length) * 4});
            p.staves.forEach(function (s) {
                staffKeys[staff] = s.keys;
                s.chords.forEach(function (c) {
                    var t = staff * 4 + c.voice;
                    (tracks[t] = tracks[t] || []).push(c);
                });
                staff++;
            });
        });
        function keyAt(st, tick) {
            var k = 0;
            (staffKeys[st] || []).forEach(function (x) { if (x.tick <= tick) k = x.fifths; });
            return k;
        }
        function element(c) {
            return {type: c.notes.length ? Element.CHORD : Element.REST, duration: {ticks: c.ticks},
                    notes: c.notes.map(function (n) {
                        return {pitch: n.pitch, tpc: n.tpc, tieBack: n.tie_back ? {} : undefined};
                    })};
        }
        return {
            title: walk.title, composer: walk.composer, ntracks: staff * 4, parts: parts,
            firstMeasure: measures[0],
            metaTag: function (tag) { return tag === "movementTitle" ? walk.title : ""; },
            newCursor: function () {
                var cur = {track: 0, i: 0, segment: null, element: null, tick: 0, keySignature: 0,
                           tempo: walk.tempo_bpm / 60};
                function place() {
                    var list = tracks[cur.track] || [];
                    var c = list[cur.i];
                    cur.segment = c ? {} : null;
                    cur.element = c ? element(c) : null;
                    cur.tick = c ? c.tick : 0;
                    cur.keySignature = keyAt(Math.floor(cur.track / 4), cur.tick);
                    return !!c;
                }
                cur.rewind = function (mode) { cur.i = 0; place(); };
                cur.next = function () { cur.i++; return place(); };
                return cur;
            }
        };
    }

    function initTestCase() {
        recorded = JSON.parse(readFile(Qt.resolvedUrl("../../fixtures/musescore/lieder_6053984_cursor.json")));
        var comp = Qt.createComponent(Qt.resolvedUrl("../../../musescore_bridge/plugin/CLaMP.qml"));
        verify(comp.status === Component.Ready, comp.errorString());
        tc.visible = true;  // a TestCase is hidden; the dialog's items report what they show
        plugin = comp.createObject(tc);
        verify(plugin !== null);
        plugin.curScore = fakeScore(recorded);
        controlUrl = JSON.parse(readFile("file://" + fio.homePath() + "/clamp_test_control.json")).url;
    }

    // The test's hold on the real service (test_qml.py): "stop", "start" or "restart" it.
    function control(what) {
        var res = JSON.parse(readFile(controlUrl + "/" + what));
        return res.url;
    }

    function test_1_walk_matches_the_recording() {
        var walk = Bridge.cursorWalk(plugin.curScore, Element);
        compare(JSON.stringify(walk), JSON.stringify(recorded));
        compare(Bridge.countNotes(walk), 120);
    }

    function test_2_ms4_exports_by_walking() {
        var ctx = plugin.exportCtx(false);
        compare(ctx.major, 4);
        compare(ctx.writeScore, null);
        var exported = Bridge.exportScore(ctx);
        compare(exported.via, "cursor");
        compare(exported.payload.cursor.title, "An eine Blume");
    }

    function test_3_connects_and_captions_asynchronously() {
        plugin.connect(false);
        tryVerify(function () { return plugin.labelSets.genres !== undefined; }, 30000,
                  "the plugin read the service's label sets");
        verify(plugin.message.indexOf("Connected") === 0, plugin.message);
        var got = null;
        plugin.send("caption", {}, function (status, res) { got = {status: status, res: res}; });
        tryVerify(function () { return got !== null; }, 120000, "caption answered");
        compare(got.status, 200);
        compare(got.res.score.input, "cursor");
        compare(got.res.caption.facts.title, "An eine Blume");
        verify(/^Done in \d+\.\d s\.$/.test(plugin.message), plugin.message);  // plain words
        verify(!plugin.messageIsError);
        // the real response renders: its text, the facets the model is unsure of, no note
        verify(got.res.novelty !== undefined && got.res.caption.novelty !== undefined);
        plugin.showCaption(got.status, got.res);
        compare(plugin.captionText, got.res.text);
        compare(plugin.captionNote, got.res.novelty.out_of_domain ? Bridge.UNFAMILIAR_NOTE : "");
        verify(plugin.captionStated.indexOf("The ") === 0, plugin.captionStated);
    }

    function test_4_classify_with_free_labels() {
        var got = null;
        plugin.send("classify", {labels: "art song, jig"}, function (s, r) { got = {status: s, res: r}; });
        tryVerify(function () { return got !== null; }, 120000);
        compare(got.status, 200);
        compare(got.res.labels.length, 2);
        compare(typeof got.res.calibrated, "boolean");
        plugin.showClassify(got.status, got.res);
        compare(findChild(plugin, "classifyColumn").text, Bridge.probabilityColumn(got.res));
    }

    function test_5_errors_say_what_to_do() {
        verify(Bridge.errorText(0, null).indexOf("clamp serve") > 0);
        verify(Bridge.errorText(401, {}).indexOf("Retry") > 0);
        var got = null;
        plugin.send("classify", {labels: "only one"}, function (s, r) { got = {status: s, res: r}; });
        tryVerify(function () { return got !== null; }, 120000);
        compare(got.status, 400);
        verify(plugin.message.indexOf("two different labels") >= 0, plugin.message);
    }

    function test_6_starts_the_service_with_args_and_quits_with_quit() {
        plugin.install = {python: "/usr/bin/python3"};
        plugin.library = "/my scores/index";  // remembered from an earlier Similar or Search
        plugin.startService();
        tryVerify(function () { return !plugin.busy; }, 30000);
        verify(plugin.message.indexOf("Connected") === 0, plugin.message);
        compare(JSON.stringify(plugin.startArgs), JSON.stringify(
            ["/usr/bin/python3", "-m", "clamp_core", "serve", "--detach", "--index", "/my scores/index"]));
        plugin.library = "";
        plugin.closePlugin();
        verify(plugin.quitCalled, "MuseScore 4 plugins close with quit()");
        compare(Bridge.urlToPath("file:///C:/Users/a%20b/x/"), "C:/Users/a b/x");
        compare(Bridge.urlToPath("file:///opt/a/plugins/"), "/opt/a/plugins");
    }

    // -- canned responses: what the dialog shows of them ----------------------------------------

    function novelty(out) {
        var n = {out_of_domain: out, nearest_training_cosine: out ? 0.31 : 0.83, threshold: 0.52};
        if (out)
            n.message = "unlike anything this model was trained on: treat its answers with caution";
        return n;
    }

    function noteShown() {
        var note = findChild(plugin, "noveltyNote");
        verify(note !== null, "the dialog has the out-of-domain note");
        return note.visible && findChild(plugin, "noveltyNoteLabel").text.length > 0;
    }

    function test_7_out_of_domain_note_for_classify_caption_and_similar() {
        plugin.showClassify(200, {ok: true, calibrated: true, novelty: novelty(true), label_set: null,
                                  labels: [{label: "art song", probability: 0.61},
                                           {label: "jig", probability: 0.39}]});
        tryVerify(noteShown, 5000, "the note is shown with the classification");
        var text = findChild(plugin, "noveltyNoteLabel").text;
        verify(text.indexOf("unlike anything the model was trained on") >= 0, text);
        verify(text.indexOf("caution") > 0, text);
        compare(findChild(plugin, "classifyColumn").text, "probability (calibrated)");
        compare(plugin.classifyRows.length, 2);

        plugin.showSimilar(200, {ok: true, novelty: novelty(false), results: [
            {rank: 1, score: 0.912, path: "/lib/a.mxl", title: "A", composer: null, relevance: null}]});
        tryVerify(function () { return !noteShown(); }, 5000, "no note for a familiar score");
        findChild(plugin, "tabs").currentIndex = 1;  // back to the unfamiliar classification
        tryVerify(noteShown, 5000, "each view keeps its own note");
        plugin.showSimilar(200, {ok: true, novelty: novelty(true), results: []});
        tryVerify(noteShown, 5000, "the note is shown with similar scores");

        plugin.showCaption(200, {ok: true, text: "Lied: 8 bars in F major. This score is unlike "
                                 + "anything the model was trained on.", novelty: novelty(true),
                                 caption: {facts: {}, facets: {}, stated: {}, unsure: [],
                                           sentence: null, novelty: novelty(true), text: "x"}});
        tryVerify(noteShown, 5000, "the note is shown with the caption");
        compare(plugin.captionText, "x");
        verify(findChild(plugin, "captionStated").text.indexOf("no view") > 0);
        verify(!findChild(plugin, "captionUnsure").visible);

        plugin.showClassify(200, {ok: true, calibrated: false, novelty: novelty(false),
                                  labels: [{label: "a", probability: 1}]});
        tryVerify(function () { return !noteShown(); }, 5000);
        compare(findChild(plugin, "classifyColumn").text, "probability (not calibrated)");
        plugin.showClassify(400, {ok: false, error: "bad"});
        compare(plugin.classifyRows.length, 0);
        compare(plugin.classifyNote, "");
    }

    function test_8_caption_states_and_lists_what_the_model_is_unsure_of() {
        plugin.showCaption(200, {ok: true, text: "t", novelty: novelty(false), caption: {
            text: "t", novelty: novelty(false), unsure: ["tune_types", "moods"],
            stated: {eras: {label: "romantic", probability: 0.853},
                     genres: {label: "art song", probability: 0.912}}}});
        tryVerify(function () { return !noteShown(); }, 5000);
        var stated = findChild(plugin, "captionStated");
        var unsure = findChild(plugin, "captionUnsure");
        verify(stated.visible && unsure.visible);
        compare(stated.text, "The caption states: genre: art song (91 %); era: romantic (85 %)");
        compare(unsure.text, "The model is unsure of: form, character");
    }

    function test_9_search_shows_match_percentages_and_no_good_match() {
        var res = {ok: true, query: "a hymn", no_good_match: true, calibrated: true, results: [
            {rank: 1, score: 0.214, relevance: 0.2345, path: "/lib/a.mxl", title: "Ave", composer: "X"},
            {rank: 2, score: 0.2, relevance: 0.1, path: "/lib/b.mid", title: null, composer: null}]};
        plugin.showSearch(200, res);
        compare(plugin.searchRows.length, 2);
        compare(plugin.searchRows[0].match, "23 %");
        compare(plugin.searchRows[1].match, "10 %");
        compare(findChild(plugin, "matchColumn").text, "match");
        var banner = findChild(plugin, "noGoodMatch");
        tryVerify(function () { return banner.visible; }, 5000, "the no-good-match line is shown");
        verify(findChild(plugin, "noGoodMatchLabel").text.indexOf(
            "Nothing in the library matches this well") === 0);
        tryVerify(function () { return findChild(plugin, "matchCell") !== null; }, 5000);
        verify(findChild(plugin, "matchCell").text.indexOf(" %") > 0);
        verify(!noteShown(), "search has no out-of-domain note");
        res.no_good_match = false;
        plugin.showSearch(200, res);
        tryVerify(function () { return !banner.visible; }, 5000);
        compare(Bridge.percent(0.7349, 0), "73 %");
        compare(Bridge.percent(null), "");
    }

    // -- a service that stops and starts again while the dialog is open ------------------------

    function test_a_reconnects_after_the_service_restarts() {
        plugin.install = {python: "/usr/bin/python3"};
        plugin.canStart = true;
        verify(plugin.connect(true), plugin.message);
        var retry = findChild(plugin, "retryButton");
        var start = findChild(plugin, "startButton");
        tryVerify(function () { return !retry.visible; }, 5000, "no Retry while all is well");
        control("stop");
        var got = null;
        function keep(s, r) { got = {status: s, res: r}; }
        plugin.send("classify", {labels: "art song, jig"}, keep);
        tryVerify(function () { return got !== null; }, 60000);
        compare(got.status, 0);
        verify(plugin.messageIsError);
        verify(plugin.message.indexOf("not running") > 0, plugin.message);
        compare(plugin.service, null);
        tryVerify(function () { return retry.visible && start.visible; }, 5000,
                  "Retry and Start are offered");
        verify(findChild(plugin, "statusLabel").text.indexOf("\u26a0 ") === 0, "the error is marked");

        // started again (a new port and token): Retry reads the discovery file and repeats
        var second = control("start");
        got = null;
        retry.clicked();
        tryVerify(function () { return got !== null; }, 120000);
        compare(got.status, 200);
        compare(got.res.labels.length, 2);
        compare(plugin.service.url, second);
        verify(!plugin.messageIsError, plugin.message);
        tryVerify(function () { return !retry.visible && !start.visible; }, 5000);

        // restarted between two actions: the next action finds it without any button
        var third = control("restart");
        got = null;
        plugin.send("classify", {label_set: "genres"}, keep);
        tryVerify(function () { return got !== null; }, 120000);
        compare(got.status, 200);
        compare(plugin.service.url, third);
        verify(!plugin.messageIsError, plugin.message);

        // a service that stays down: Retry stays offered; Start only where it can start one
        control("stop");
        plugin.canStart = false;
        got = null;
        plugin.send("caption", {}, keep);
        tryVerify(function () { return got !== null; }, 60000);
        compare(got.status, 0);
        tryVerify(function () { return retry.visible && !start.visible; }, 5000);
        retry.clicked();
        verify(plugin.messageIsError && plugin.message.indexOf("not running") > 0, plugin.message);
        var fourth = control("start");
        retry.clicked();  // nothing failed to repeat this time: it only connects
        compare(plugin.service.url, fourth);
        verify(plugin.message.indexOf("Connected") === 0, plugin.message);
        plugin.install = null;
    }

    // -- the plugin's version against the service's ---------------------------------------------

    function test_b_version_mismatch_says_what_to_do() {
        var info = null;
        plugin.connect(true);
        Bridge.request(plugin.service, "GET", "/info", null, true, function (s, r) { info = r; });
        verify(info.version && info.version.length > 0, "/info names the service's version");
        plugin.install = {version: info.version};
        verify(plugin.connect(true));
        compare(plugin.versionNote, "");
        tryVerify(function () { return !findChild(plugin, "versionNote").visible; }, 5000);

        plugin.install = {version: "0.0.1"};
        verify(plugin.connect(true));
        var note = plugin.versionNote;
        verify(note.indexOf("version 0.0.1") > 0 && note.indexOf("version " + info.version) > 0, note);
        verify(note.indexOf("clamp musescore install") > 0 && note.indexOf("restart MuseScore") > 0, note);
        tryVerify(function () { return findChild(plugin, "versionNote").visible; }, 5000);
        compare(findChild(plugin, "versionNoteLabel").text, note);
        plugin.install = null;  // the header's version, as in a plugin run from its source
        verify(plugin.connect(true));
        compare(plugin.pluginVersion(), plugin.version);
        compare(Bridge.versionNote("1.0", undefined), "");
    }

    // -- reading the dialog -----------------------------------------------------------------------

    function hits(n, selfPath) {
        var out = [];
        for (var i = 0; i < n; i++)
            out.push({rank: i + 1, score: i === 0 ? 1.0 : 0.9 - i / 100, relevance: null,
                      path: i === 0 ? selfPath : "/lib/piece" + i + ".mxl", title: "Piece " + i,
                      composer: null});
        return out;
    }

    // A range selection of the stand-in score from measure `first` to `last` (0-based), and
    // what selectRange was last asked for.
    function selectBars(score, first, last) {
        var ticks = [];
        for (var m = score.firstMeasure; m; m = m.nextMeasure)
            ticks.push(m.firstSegment.tick);
        score.nstaves = 3;
        score.lastSegment = {tick: ticks[ticks.length - 1] + 1440};
        score.selection = {
            isRange: first !== null, selected: null,
            startSegment: first === null ? null : {tick: ticks[first]},
            endSegment: first === null || last + 1 >= ticks.length ? null : {tick: ticks[last + 1]},
            selectRange: function (a, b, c, d) { this.selected = [a, b, c, d]; return true; }
        };
        return ticks;
    }

    function test_d_similar_passages_of_the_selected_bars() {
        verify(plugin.connect(true));
        var ctl = JSON.parse(readFile("file://" + fio.homePath() + "/clamp_test_control.json"));
        var score = plugin.curScore;
        // nothing selected: the dialog says how to select, nothing is sent
        selectBars(score, null, null);
        plugin.findPassages(ctl.passage_index, 3);
        compare(plugin.message, Bridge.SELECT_BARS_FIRST);
        verify(plugin.messageIsError);
        // bars 5-8 selected (positions 4-7), a selection that ends inside bar 8 counts it whole
        var ticks = selectBars(score, 4, 7);
        compare(JSON.stringify(Bridge.selectedMeasures(score)), "[4,7]");
        score.selection.endSegment = {tick: ticks[7] + 1};
        compare(JSON.stringify(Bridge.selectedMeasures(score)), "[4,7]");
        selectBars(score, 4, 7);
        score.path = ctl.song;  // this score is the library's copy of the song
        // saved (no unsaved changes): sent by path, read as `clamp` reads the file
        score.dirty = false;
        var byPath = Bridge.exportScore(plugin.exportCtx(false));
        compare(byPath.via, "file");
        compare(byPath.payload.path, ctl.song);
        compare(Bridge.exportScore(plugin.exportCtx(true)).via, "cursor");
        score.dirty = true;  // edited since: what is on screen is sent
        compare(Bridge.exportScore(plugin.exportCtx(false)).via, "cursor");
        plugin.findPassages(ctl.passage_index, 3);
        tryVerify(function () { return !plugin.busy && plugin.similarRows.length === 3; }, 120000,
                  plugin.message);
        var top = plugin.similarRows[0];
        compare(top.bars, "bars 5-8");
        compare(top.tag, "the selected bars");
        verify(top.self && top.sameFile);
        tryVerify(function () { return findChild(plugin, "similarTitle") !== null; }, 5000);
        verify(findChild(plugin, "similarTitle").text.indexOf("(the selected bars) An eine Blume, bars 5-8") === 0,
               findChild(plugin, "similarTitle").text);
        // in any key (the dialog's check box): the selected bars still come first
        verify(findChild(plugin, "anyKeyBox") !== null);
        plugin.findPassages(ctl.passage_index, 3, true);
        tryVerify(function () { return !plugin.busy; }, 120000, plugin.message);
        compare(plugin.similarRows[0].bars, "bars 5-8");
        compare(plugin.similarRows[0].tag, "the selected bars");
        // another place of this score is selected in place when its row's Select is pressed
        var other = plugin.similarRows.filter(function (r) { return r.sameFile && !r.self; })[0]
                    || {rank: 9, path: ctl.song, sameFile: true, self: false, bars: "bars 1-4",
                        measures: [0, 3], title: "An eine Blume"};
        plugin.openResult(other);
        compare(JSON.stringify(score.selection.selected),
                JSON.stringify([ticks[other.measures[0]], ticks[other.measures[1] + 1], 0, 3]));
        verify(plugin.message.indexOf("Selected " + other.bars) === 0, plugin.message);
        // the last bar selects to the end of the score
        verify(Bridge.selectMeasures(score, 0, ticks.length - 1));
        compare(score.selection.selected[1], score.lastSegment.tick + 1);
        verify(!Bridge.selectMeasures(score, 2, ticks.length));
        // an index without passages: the service's one line says how to add them
        var got = null;
        plugin.send("similar", {index: ctl.passage_index + "/passages", passages: true,
                                measures: [4, 7]}, function (s, r) { got = {status: s, res: r}; });
        tryVerify(function () { return got !== null; }, 60000);
        compare(got.status, 400);
        verify(plugin.message.indexOf("--passages") > 0, plugin.message);
        delete score.path;
        delete score.dirty;
        delete score.selection;
        plugin.similarSelected = null;
    }

    function test_c_the_dialog_reads_plainly() {
        verify(plugin.connect(true));
        // presets by readable names, Genre first (the default), own labels last
        var box = findChild(plugin, "presetBox");
        tryVerify(function () { return box.count === plugin.presets.length && box.count > 2; }, 5000);
        compare(box.currentText, "Genre");
        compare(plugin.presets[box.count - 1].id, null);
        for (var i = 0; i < plugin.presets.length; i++) {
            var p = plugin.presets[i];
            verify(p.name.indexOf("_") < 0 && p.name !== p.id, p.name);
        }
        verify(plugin.presets.some(function (x) { return x.id === "tune_types"; }));

        // similar: the open score itself is marked, all 10 rows fit (even below an error, its
        // Retry and a version note), more scroll
        plugin.setStatus(Bridge.errorText(0, null), true);
        plugin.versionNote = Bridge.versionNote("0.0.1", "9.9");
        plugin.curScore.path = "/lib/this score.mscz";
        plugin.showSimilar(200, {ok: true, index: "/lib/idx", novelty: null,
                                 results: hits(10, "/lib/this score.mscz")});
        compare(plugin.similarRows[0].tag, "this score");
        compare(plugin.similarRows[1].tag, "");
        compare(plugin.library, "/lib/idx", "the library is remembered");
        var list = findChild(plugin, "similarList");
        tryVerify(function () { return list.count === 10 && list.contentHeight > 0; }, 5000);
        tryVerify(function () { return findChild(plugin, "versionNote").visible
                                       && findChild(plugin, "retryButton").visible; }, 5000);
        verify(list.height >= list.contentHeight, list.height + " < " + list.contentHeight);
        plugin.versionNote = "";
        tryVerify(function () { return findChild(plugin, "similarTitle") !== null; }, 5000);
        verify(findChild(plugin, "similarTitle").text.indexOf("(this score)") === 0);
        plugin.showSimilar(200, {ok: true, index: "/lib/idx", results: hits(30, "/elsewhere.mxl")});
        compare(plugin.similarRows[0].tag, "same music as this score");  // cosine 1, another file
        tryVerify(function () { return list.contentHeight > list.height; }, 5000);
        var scroll = findChild(plugin, "similarScroll");
        verify(scroll !== null && scroll.size < 1, "a scrollbar for the rows below");
        // passages holding the selected notes bar for bar are marked, in this score or another
        var notes = function (path, first, same) {
            return {rank: 1, score: 0.9, path: path, title: "T", bars: [first + 1, first + 4],
                    same_notes: same, meta: {passage: {measures: [first, first + 3]}}};
        };
        plugin.similarSelected = [0, 3];  // bars 1-4 of this score were selected
        plugin.showSimilar(200, {ok: true, index: "/lib/idx", passages: true, results: [
            notes("/lib/this score.mscz", 8, 1.0), notes("/lib/other.mxl", 0, 1.0),
            notes("/lib/other.mxl", 8, 0.5)]});
        compare(plugin.similarRows.map(function (r) { return r.tag; }),
                ["this score, same notes", "same notes", ""]);
        plugin.similarSelected = null;
        delete plugin.curScore.path;
        plugin.library = "";
        plugin.loadSettings();
        compare(plugin.library, "/lib/idx", "read back from the plugin's settings");

        // classification: bars start at the left of a 0-100 % track
        plugin.showClassify(200, {ok: true, calibrated: true, novelty: null,
                                  labels: [{label: "reel", probability: 0.75},
                                           {label: "jig", probability: 0.25}]});
        var bar = null;
        tryVerify(function () { bar = findChild(plugin, "bar"); return bar !== null && bar.width > 1; }, 5000);
        var track = findChild(plugin, "barTrack");
        compare(bar.x, 0);
        fuzzyCompare(bar.width, track.width * 0.75, 1);
        compare(findChild(plugin, "barScale").width, track.width);  // 0 % to 100 % over the track

        // the status line: an error is marked, and the next action clears it
        var got = null;
        plugin.send("classify", {labels: "only one"}, function (s, r) { got = s; });
        tryVerify(function () { return got !== null; }, 60000);
        compare(got, 400);
        verify(plugin.messageIsError);
        verify(findChild(plugin, "statusLabel").text.indexOf("\u26a0 ") === 0);
        verify(findChild(plugin, "retryButton").visible);
        got = null;
        plugin.send("classify", {labels: "reel, jig"}, function (s, r) { got = s; });
        verify(!plugin.messageIsError, "cleared as the next action starts");
        tryVerify(function () { return got !== null; }, 60000);
        compare(got, 200);
        verify(!plugin.messageIsError);
        verify(plugin.message.indexOf("`") < 0 && plugin.message.indexOf("via") < 0, plugin.message);
        verify(Bridge.errorText(0, null).indexOf("`") < 0);
    }
}
