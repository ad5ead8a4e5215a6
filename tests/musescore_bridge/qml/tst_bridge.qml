// The plugin's MuseScore 4 code paths under qmltestrunner, against the real clamp service:
// a stand-in score replays a cursor walk recorded in MuseScore 3.2.3; no writeScore, so the
// plugin must walk the score itself; requests are asynchronous as in the MuseScore 4 GUI.
// Run by tests/musescore_bridge/test_qml.py (it writes the stubs' StubConfig.js with the service's home).
import QtQuick 2.9
import QtTest 1.2
import MuseScore 3.0
import "../../musescore_bridge/plugin/clamp_bridge.js" as Bridge

TestCase {
    id: tc
    name: "ClampPluginMuseScore4"
    when: windowShown

    property var recorded: null
    property var plugin: null

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
        recorded = JSON.parse(readFile(Qt.resolvedUrl("../fixtures/musescore/lieder_6053984_cursor.json")));
        var comp = Qt.createComponent(Qt.resolvedUrl("../../musescore_bridge/plugin/clamp.qml"));
        verify(comp.status === Component.Ready, comp.errorString());
        plugin = comp.createObject(tc);
        verify(plugin !== null);
        plugin.curScore = fakeScore(recorded);
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
        verify(plugin.message.indexOf("via cursor") > 0, plugin.message);
    }

    function test_4_classify_with_free_labels() {
        var got = null;
        plugin.send("classify", {labels: "art song, jig"}, function (s, r) { got = {status: s, res: r}; });
        tryVerify(function () { return got !== null; }, 120000);
        compare(got.status, 200);
        compare(got.res.labels.length, 2);
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
        plugin.startService();
        tryVerify(function () { return !plugin.busy; }, 30000);
        verify(plugin.message.indexOf("Connected") === 0, plugin.message);
        plugin.closePlugin();
        verify(plugin.quitCalled, "MuseScore 4 plugins close with quit()");
        compare(Bridge.urlToPath("file:///C:/Users/a%20b/x/"), "C:/Users/a b/x");
        compare(Bridge.urlToPath("file:///home/a/plugins/"), "/home/a/plugins");
    }
}
