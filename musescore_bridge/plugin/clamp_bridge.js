// Logic of the CLaMP plugin that does not draw anything: finding the service, talking to it,
// exporting the score (writeScore MusicXML where MuseScore has it, the cursor walk where not).
// A library: MuseScore objects (score, Element enum, FileIO item, writeScore) come in as
// arguments, so MuseScore 3.x, 4.x and the test stubs all drive the same code.
.pragma library

var CURSOR_FORMAT = "clamp-cursor-walk";
var CURSOR_VERSION = 1;
var START_HINT = "Start it in a terminal with: clamp serve";
var SETTINGS_FILE = "clamp_settings.json";  // beside the plugin; `clamp musescore install` keeps it

// "file:///srv/a/x" -> "/srv/a/x"; "file:///C:/x" -> "C:/x"
function urlToPath(url) {
    var s = String(url);
    if (s.indexOf("file://") === 0)
        s = s.substring(7);
    s = decodeURIComponent(s);
    if (/^\/[A-Za-z]:\//.test(s))
        s = s.substring(1);
    return s.replace(/\/$/, "");
}

function readJson(file, path) {
    if (!path)
        return null;
    file.source = path;
    if (!file.exists())
        return null;
    try {
        return JSON.parse(file.read());
    } catch (e) {
        return null;
    }
}

// JSON with every non-ASCII character escaped: FileIO writes text in the locale's codec.
function asciiJson(obj) {
    return JSON.stringify(obj, null, 1).replace(/[\u007f-\uffff]/g, function (c) {
        return "\\u" + ("0000" + c.charCodeAt(0).toString(16)).slice(-4);
    });
}

// Where `clamp serve` may have written its discovery file: the path the installer recorded,
// then the defaults of Linux, macOS and Windows under the home folder.
function discoveryCandidates(home, install) {
    var out = [];
    if (install && install.discovery)
        out.push(install.discovery);
    out.push(home + "/.config/clamp-notation/service.json");
    out.push(home + "/Library/Application Support/clamp-notation/service.json");
    out.push(home + "/AppData/Roaming/clamp-notation/service.json");
    return out;
}

function findService(file, home, install) {
    var paths = discoveryCandidates(home, install);
    for (var i = 0; i < paths.length; i++) {
        var d = readJson(file, paths[i]);
        if (d && d.url && d.token)
            return {url: d.url, token: d.token, pid: d.pid, discovery: paths[i]};
    }
    return null;
}

// One request. sync=true blocks (the only mode that completes under `mscore -p`);
// done(status, body) is called either way; status 0 means the service could not be reached.
function request(svc, method, path, body, sync, done) {
    var xhr = new XMLHttpRequest();
    var finished = false;
    function finish() {
        if (finished)
            return;
        finished = true;
        var obj = null;
        try {
            obj = JSON.parse(xhr.responseText);
        } catch (e) {
            obj = {ok: false, error: xhr.responseText ? String(xhr.responseText).substring(0, 200) : ""};
        }
        done(xhr.status, obj);
    }
    xhr.onreadystatechange = function () {
        if (xhr.readyState === 4 && !sync)
            finish();
    };
    xhr.open(method, svc.url + path, !sync);
    xhr.setRequestHeader("Authorization", "Bearer " + svc.token);
    if (body !== null && body !== undefined) {
        xhr.setRequestHeader("Content-Type", "application/json");
        xhr.send(JSON.stringify(body));
    } else {
        xhr.send();
    }
    if (sync)
        finish();
}

// A readable message, with the fix, for a failed request.
function errorText(status, body) {
    if (status === 0)
        return "The CLaMP service is not running (or did not answer). " + START_HINT
               + ", then press Retry.";
    if (status === 401)
        return "The service refused the token: it was restarted. Press Retry to read the new one.";
    var msg = body && body.error ? body.error : "the service answered with error " + status;
    if (status === 504)
        return "The model took too long: " + msg;
    if (status === 503)
        return "The service is busy; press Retry in a moment.";
    return msg.charAt(0).toUpperCase() + msg.substring(1);
}

// A failure that a restarted service (new port or token) would explain: the plugin then reads
// the discovery file again.
function lostService(status) {
    return status === 0 || status === 401;
}

function doneText(res) {
    var ms = res && typeof res.elapsed_ms === "number" ? res.elapsed_ms : null;
    return ms === null ? "Done." : "Done in " + (ms / 1000).toFixed(1) + " s.";
}

// "" when the plugin and the service are the same version (or the service does not say);
// else what to do about it, in plain words.
function versionNote(pluginVersion, serviceVersion) {
    if (!serviceVersion || !pluginVersion || String(serviceVersion) === String(pluginVersion))
        return "";
    return "This plugin is version " + pluginVersion + ", the CLaMP service version "
           + serviceVersion + ". Run \"clamp musescore install\" again in a terminal (with the "
           + "clamp that runs the service) and restart MuseScore.";
}

// -- settings (a JSON file beside the plugin: FileIO works in every MuseScore version) ---------

function readSettings(file, dir) {
    var s = readJson(file, dir + "/" + SETTINGS_FILE);
    return s && typeof s === "object" ? s : {};
}

function writeSettings(file, dir, settings) {
    file.source = dir + "/" + SETTINGS_FILE;
    return file.write(asciiJson(settings));
}

// The arguments of `python -m clamp_core serve --detach`, with the library the plugin last used.
function serveArgs(library) {
    var args = ["-m", "clamp_core", "serve", "--detach"];
    if (library)
        args.push("--index", library);
    return args;
}

// -- score export ------------------------------------------------------------------------------

function _timesig(measure, ticks, division) {
    var ts = measure.timesigNominal || measure.timesigActual;
    if (ts && ts.numerator && ts.denominator)
        return [ts.numerator, ts.denominator];
    if (ticks % division === 0)
        return [ticks / division, 4];
    if (ticks % (division / 2) === 0)
        return [ticks / (division / 2), 8];
    return [Math.max(1, Math.round(ticks / (division / 4))), 16];
}

// Walk the whole score with a cursor: measures (tick, length, time signature), then every
// chord and rest of every track, grouped into parts and staves (schema: cursor_json.py).
function cursorWalk(score, Element) {
    var division = 480;
    var out = {
        format: CURSOR_FORMAT, version: CURSOR_VERSION,
        title: String(score.metaTag("movementTitle") || score.title || ""),
        composer: String(score.composer || score.metaTag("composer") || ""),
        division: division, tempo_bpm: null, measures: [], parts: []
    };
    var m = score.firstMeasure;
    var guard = 0;
    while (m && guard++ < 100000) {
        var tick = m.firstSegment ? m.firstSegment.tick : 0;
        var next = m.nextMeasure;
        var actual = m.timesigActual;
        var ticks = actual && actual.ticks ? actual.ticks
                    : (next && next.firstSegment ? next.firstSegment.tick - tick : 4 * division);
        out.measures.push({tick: tick, ticks: ticks, time_signature: _timesig(m, ticks, division)});
        m = next;
    }
    var cursor = score.newCursor();
    var staves = [];
    for (var t = 0; t < score.ntracks; t++) {
        var staffIdx = Math.floor(t / 4);
        if (!staves[staffIdx])
            staves[staffIdx] = {keys: [], chords: []};
        var staff = staves[staffIdx];
        cursor.track = t;
        cursor.rewind(0);
        while (cursor.segment) {
            var e = cursor.element;
            if (e && (e.type === Element.CHORD || e.type === Element.REST)) {
                if (t % 4 === 0) {
                    var fifths = cursor.keySignature;
                    var last = staff.keys.length ? staff.keys[staff.keys.length - 1].fifths : null;
                    if (fifths !== last && fifths !== undefined)
                        staff.keys.push({tick: cursor.tick, fifths: fifths});
                }
                if (out.tempo_bpm === null && cursor.tempo)
                    out.tempo_bpm = Math.round(cursor.tempo * 60 * 100) / 100;
                var dur = e.actualDuration ? e.actualDuration.ticks : e.duration.ticks;
                var notes = [];
                if (e.type === Element.CHORD) {
                    for (var i = 0; i < e.notes.length; i++) {
                        var n = e.notes[i];
                        notes.push({pitch: n.pitch, tpc: n.tpc,
                                    tie_back: n.tieBack !== undefined && n.tieBack !== null});
                    }
                }
                staff.chords.push({tick: cursor.tick, voice: t % 4, ticks: dur, notes: notes});
            }
            if (!cursor.next())
                break;
        }
    }
    for (var p = 0; p < score.parts.length; p++) {
        var part = score.parts[p];
        var entry = {name: String(part.longName || part.partName || ("Part " + (p + 1))), staves: []};
        for (var s = Math.floor(part.startTrack / 4); s < Math.floor(part.endTrack / 4); s++)
            if (staves[s])
                entry.staves.push(staves[s]);
        if (entry.staves.length)
            out.parts.push(entry);
    }
    return out;
}

function countNotes(walk) {
    var n = 0;
    for (var p = 0; p < walk.parts.length; p++)
        for (var s = 0; s < walk.parts[p].staves.length; s++) {
            var chords = walk.parts[p].staves[s].chords;
            for (var c = 0; c < chords.length; c++)
                n += chords[c].notes.length;
        }
    return n;
}

// The score as the service takes it. ctx: {score, Element, file, writeScore (or null),
// major (MuseScore major version), forceCursor, path, saved}. A saved score whose file
// MuseScore names (path; saved: no unsaved changes) goes by path, so the service reads the very
// file `clamp` would (the same answers as the command line). Else MuseScore 3 exports MusicXML
// with writeScore; MuseScore 4 has no working writeScore, so the cursor walk is sent instead.
function exportScore(ctx) {
    if (!ctx.forceCursor && ctx.path && ctx.saved === true)
        return {payload: {path: ctx.path}, via: "file"};
    if (!ctx.forceCursor && ctx.writeScore && ctx.major < 4) {
        var path = ctx.file.tempPath() + "/clamp_export_" + Date.now() + ".musicxml";
        var ok = false;
        try {
            ok = ctx.writeScore(ctx.score, path, "musicxml");
        } catch (e) {
            ok = false;
        }
        if (ok) {
            ctx.file.source = path;
            var text = ctx.file.read();
            ctx.file.remove();
            if (text && text.length > 0)
                return {payload: {musicxml: text}, via: "writeScore"};
        }
    }
    var walk = cursorWalk(ctx.score, ctx.Element);
    return {payload: {cursor: walk}, via: "cursor", notes: countNotes(walk)};
}

function merge(a, b) {
    var out = {};
    var k;
    for (k in a)
        out[k] = a[k];
    for (k in b)
        out[k] = b[k];
    return out;
}

// -- what the dialog shows of a response -------------------------------------------------------

var UNFAMILIAR_NOTE = "This score is unlike anything the model was trained on \u2014 treat the "
                      + "answers with caution.";
var NO_GOOD_MATCH = "Nothing in the library matches this well \u2014 the nearest scores follow.";
var FACET_ORDER = ["genres", "tune_types", "ensembles", "eras", "moods"];
var FACET_WORDS = {genres: "genre", tune_types: "form", ensembles: "ensemble", eras: "era",
                   moods: "character"};

// 0.734 -> "73.4 %" (digits: 1 unless given); "" for a missing number.
function percent(p, digits) {
    if (typeof p !== "number" || isNaN(p))
        return "";
    return (p * 100).toFixed(digits === undefined ? 1 : digits) + " %";
}

// The service's novelty dict of a response (caption responses carry it in caption too).
function novelty(res) {
    if (!res)
        return null;
    if (res.novelty)
        return res.novelty;
    return res.caption && res.caption.novelty ? res.caption.novelty : null;
}

// The out-of-domain note for a classify, caption or similar response; "" when the score is
// like the music the model was trained on (or the model cannot tell).
function noveltyNote(res) {
    var n = novelty(res);
    return n && n.out_of_domain === true ? UNFAMILIAR_NOTE : "";
}

function facetWord(name) {
    return FACET_WORDS[name] || String(name).replace(/_/g, " ");
}

// Facet names of an object in the caption's own order, unknown ones after.
function _facetNames(obj) {
    var out = [];
    var k;
    for (var i = 0; i < FACET_ORDER.length; i++)
        if (obj[FACET_ORDER[i]] !== undefined)
            out.push(FACET_ORDER[i]);
    for (k in obj)
        if (out.indexOf(k) < 0)
            out.push(k);
    return out;
}

// The caption view: {text, note, stated, unsure}: what the text states with its calibrated
// probability, and the facets the model is unsure of.
function captionView(res) {
    var cap = res && res.caption ? res.caption : {};
    var view = {text: cap.text || (res && res.text) || "", note: noveltyNote(res), stated: "",
                unsure: ""};
    var stated = cap.stated || {};
    var said = _facetNames(stated).map(function (f) {
        return facetWord(f) + ": " + stated[f].label + " (" + percent(stated[f].probability, 0) + ")";
    });
    if (view.note)
        view.stated = "The model offers no view of this score's genre, form or style.";
    else if (said.length)
        view.stated = "The caption states: " + said.join("; ");
    else
        view.stated = "The caption states nothing the model hears: it is not confident enough.";
    var unsure = (cap.unsure || []).map(facetWord);
    if (unsure.length)
        view.unsure = "The model is unsure of: " + unsure.join(", ");
    return view;
}

// Column title of the classification percentages.
function probabilityColumn(res) {
    return res && res.calibrated ? "probability (calibrated)" : "probability (not calibrated)";
}

// Built-in label sets by the names the dialog shows, in the order it lists them (the first is the
// default); sets the service adds later show under their own id made readable.
var PRESETS = [["genres", "Genre"], ["eras", "Era"], ["ensembles", "Ensemble"],
               ["moods", "Mood"], ["composers", "Composer"],
               ["tune_types", "Folk tune type (reel, jig, hornpipe ...)"]];
var OWN_LABELS = "My own labels (type them below)";

// [{id, name}] of the service's label sets, then {id: null, name: OWN_LABELS}.
function presetChoices(labelSets) {
    var out = [];
    var known = {};
    var i;
    for (i = 0; i < PRESETS.length; i++) {
        known[PRESETS[i][0]] = true;
        if (labelSets && labelSets[PRESETS[i][0]] !== undefined)
            out.push({id: PRESETS[i][0], name: PRESETS[i][1]});
    }
    for (var k in labelSets || {})
        if (!known[k]) {
            var words = String(k).replace(/_/g, " ");
            out.push({id: k, name: words.charAt(0).toUpperCase() + words.substring(1)});
        }
    out.push({id: null, name: OWN_LABELS});
    return out;
}

// Rows of a similar response: the likeness as a number, and the open score itself ("this
// score": the same file) or a file of the same music (cosine 0.99 and up; MuseScore 3 does not
// tell the plugin its file) marked as such. Passage rows (a response to "Find similar
// passages") also carry their bars ("bars 5-8"), their 0-based measure positions, and mark the
// selected bars themselves ("the selected bars"; selected: [first, last] positions) and the
// passages holding the selected notes bar for bar ("same notes").
function similarView(res, scorePath, selected) {
    var hits = res && res.results ? res.results : [];
    var own = _normPath(scorePath);
    var rows = hits.map(function (h) {
        var sameFile = own !== "" && _normPath(h.path) === own;
        var measures = passageMeasures(h);
        var isSelf = sameFile && (!measures || !selected
                                  || (measures[0] <= selected[1] && selected[0] <= measures[1]));
        var same = !sameFile && typeof h.score === "number" && h.score >= 0.99;
        // a passage holding the selected notes bar for bar (a returning strophe, a copy)
        var notes = measures !== null && typeof h.same_notes === "number" && h.same_notes >= 0.995;
        var tag = isSelf ? (measures ? "the selected bars" : "this score")
                         : (sameFile ? "this score" + (notes ? ", same notes" : "")
                                     : (notes ? "same notes"
                                              : (same ? "same music as this score" : "")));
        return {rank: h.rank, title: h.title, composer: h.composer, path: h.path,
                likeness: typeof h.score === "number" ? h.score.toFixed(3) : "",
                self: isSelf, tag: tag, bars: barsText(h.bars), measures: measures,
                sameFile: sameFile};
    });
    return {rows: rows};
}

// -- passages (a selection of bars) -------------------------------------------------------------

var SELECT_BARS_FIRST = "Select some bars first (click a bar, then Shift+click another), then "
                        + "press Find similar passages again.";

// [first, last] -> "bars 5-8" ("bar 5" for one); "" for a whole-score result.
function barsText(bars) {
    if (!bars || bars.length !== 2)
        return "";
    return bars[0] === bars[1] ? "bar " + bars[0] : "bars " + bars[0] + "-" + bars[1];
}

// A passage result's measures as 0-based positions [first, last]; null for a whole score.
function passageMeasures(hit) {
    var p = hit && hit.meta ? hit.meta.passage : null;
    return p && p.measures && p.measures.length === 2 ? [p.measures[0], p.measures[1]] : null;
}

// Start ticks of a score's measures, in order.
function _measureTicks(score) {
    var ticks = [];
    for (var m = score.firstMeasure; m; m = m.nextMeasure)
        ticks.push(m.firstSegment.tick);
    return ticks;
}

// The measures of a range selection as 0-based positions [first, last], or null when no range
// is selected. A selection ends at the segment after it (null: at the end of the score).
function selectedMeasures(score) {
    var sel = score ? score.selection : null;
    if (!sel || !sel.isRange || !sel.startSegment)
        return null;
    var start = sel.startSegment.tick;
    var end = sel.endSegment ? sel.endSegment.tick : Infinity;
    var ticks = _measureTicks(score);
    var first = -1, last = -1;
    for (var i = 0; i < ticks.length; i++) {
        var to = i + 1 < ticks.length ? ticks[i + 1] : Infinity;
        if (ticks[i] < end && to > start) {
            if (first < 0)
                first = i;
            last = i;
        }
    }
    return first < 0 ? null : [first, last];
}

// Select measures [first, last] (0-based positions) of a score on every staff; false when the
// score has no such measures or this MuseScore cannot select a range (before 3.5).
function selectMeasures(score, first, last) {
    if (!score || !score.selection || typeof score.selection.selectRange !== "function")
        return false;
    var ticks = _measureTicks(score);
    if (first < 0 || first > last || last >= ticks.length)
        return false;
    var end = last + 1 < ticks.length ? ticks[last + 1]
                                      : (score.lastSegment ? score.lastSegment.tick + 1 : Infinity);
    return score.selection.selectRange(ticks[first], end, 0, score.nstaves) !== false;
}

function _normPath(p) {
    return p ? String(p).replace(/\\/g, "/").replace(/\/+$/, "") : "";
}

// Rows of a search response with the relevance as a percentage ("match"), and whether the
// dialog must say that nothing matches well.
function searchView(res) {
    var hits = res && res.results ? res.results : [];
    var rows = hits.map(function (h) {
        var rel = typeof h.relevance === "number" ? h.relevance : h.score;
        return {rank: h.rank, title: h.title, composer: h.composer, path: h.path,
                match: percent(rel, 0)};
    });
    var weak = !!(res && res.no_good_match);
    return {rows: rows, noGoodMatch: weak, notice: weak ? NO_GOOD_MATCH : ""};
}
