// CLaMP for MuseScore 3.6 and 4.x: caption, classify, find similar scores and search a library
// with the local clamp service (`clamp serve`). One file for both versions: Controls 2 only, the `//4.4`
// property lines for MuseScore 4.4+, quit() where it exists, writeScore where it works.
import QtQuick 2.9
import QtQuick.Controls 2.2
import QtQuick.Layouts 1.3
import MuseScore 3.0
import FileIO 3.0
import "clamp_bridge.js" as Bridge

MuseScore {
    //4.4 title: "CLaMP"
    //4.4 thumbnailName: "clamp.png"
    //4.4 categoryCode: "composing-arranging-tools"
    menuPath: "Plugins.CLaMP"
    description: "Caption, classify, find similar scores and search a library with CLaMP (needs the clamp service: clamp serve)."
    version: "0.1.0"
    pluginType: "dialog"
    requiresScore: true
    width: 620
    height: 680

    id: plugin
    property string pluginDir: Bridge.urlToPath(Qt.resolvedUrl("."))
    property var install: null
    property var service: null
    property var labelSets: ({})
    property var presets: Bridge.presetChoices(labelSets)
    property var indexes: []
    property string library: ""       // the library index last used (plugin settings)
    property var startArgs: []        // what the last start of the service ran
    property bool busy: false
    property string message: ""
    property bool messageIsError: false
    property var retryAction: null    // the action a Retry repeats, after reading the service again
    property string versionNote: ""
    property string captionText: ""
    property string captionStated: ""
    property string captionUnsure: ""
    property string captionNote: ""
    property var classifyRows: []
    property string classifyNote: ""
    property string classifyColumn: "probability"
    property var similarRows: []
    property string similarNote: ""
    property var similarSelected: null  // the measures "Find similar passages" was asked for
    property var searchRows: []
    property string searchNotice: ""
    property bool canStart: false

    FileIO { id: file }
    Button { id: openWidth; text: "Open"; visible: false }  // sizes the column headers' gap
    Label { id: plainText; visible: false }  // the style's text colour, for the status line
    QProcess { id: proc }

    function closePlugin() {
        if (typeof quit === "function")
            quit();
        else
            Qt.quit();
    }

    function major() {
        return typeof mscoreMajorVersion !== "undefined" ? mscoreMajorVersion : 4;
    }

    // The installed plugin's version: what `clamp musescore install` recorded, else the header's.
    function pluginVersion() {
        return install && install.version ? String(install.version) : plugin.version;
    }

    function exportCtx(forceCursor) {
        return {score: curScore, Element: Element, file: file, major: major(),
                writeScore: typeof writeScore === "function" ? writeScore : null,
                forceCursor: !!forceCursor, path: scorePath(),
                saved: !!curScore && curScore.dirty === false};
    }

    function setStatus(text, isError) {
        message = text;
        messageIsError = !!isError;
    }

    // The path of the open score's file where MuseScore tells it ("" where not).
    function scorePath() {
        return curScore && typeof curScore.path === "string" ? curScore.path : "";
    }

    // Library index folders to offer: those the service knows, then the one last used.
    function libraries() {
        var out = indexes.map(function (x) { return x.path; });
        if (library && out.indexOf(library) < 0)
            out.push(library);
        return out;
    }

    function loadSettings() {
        var s = Bridge.readSettings(file, pluginDir);
        library = typeof s.library === "string" ? s.library : "";
    }

    // Remember the library of an answered similar or search request (the service's own path).
    function rememberLibrary(path) {
        if (!path || path === library)
            return;
        library = path;
        var s = Bridge.readSettings(file, pluginDir);
        s.library = path;
        Bridge.writeSettings(file, pluginDir, s);
    }

    // Read the discovery file (again: a restarted service has a new port and token) and ask the
    // service what it offers; false with a message when it does not answer. sync: wait for it.
    function connect(sync) {
        service = Bridge.findService(file, file.homePath(), install);
        if (!service) {
            setStatus(Bridge.errorText(0, null), true);
            return false;
        }
        var ok = false;
        Bridge.request(service, "GET", "/info", null, sync, function (status, body) {
            if (status === 200) {
                labelSets = body.label_sets || {};
                indexes = body.indexes || [];
                versionNote = Bridge.versionNote(pluginVersion(), body.version);
                setStatus("Connected to the CLaMP service.", false);
                ok = true;
            } else {
                setStatus(Bridge.errorText(status, body), true);
                service = status === 0 ? null : service;
            }
        });
        return ok;
    }

    // Retry: read the discovery file again and repeat the action that failed, if one did.
    function retry() {
        var again = retryAction;
        retryAction = null;
        if (connect(true) && again)
            again();
    }

    // Start `clamp serve --detach` with the Python recorded at install time and the library last
    // used, then reconnect.
    function startService() {
        if (!install || !install.python)
            return;
        setStatus("Starting the CLaMP service (loading the model takes a few seconds)...", false);
        busy = true;
        startTimer.start();
    }
    function runServe(args) {
        startArgs = [install.python].concat(args);
        if (typeof proc.startWithArgs === "function")
            proc.startWithArgs(install.python, args);  // MuseScore 4.3+: no splitting
        else
            proc.start("\"" + install.python + "\" " + args.map(function (a) {
                return a.indexOf(" ") >= 0 ? "\"" + a + "\"" : a;
            }).join(" "));
        proc.waitForFinished(300000);
    }
    Timer {
        id: startTimer
        interval: 50
        onTriggered: {
            plugin.runServe(Bridge.serveArgs(plugin.library));
            var ok = plugin.connect(true);
            if (!ok && plugin.library) {  // the library may be gone: start without it
                plugin.runServe(Bridge.serveArgs(""));
                ok = plugin.connect(true);
            }
            plugin.busy = false;
            if (!ok)
                plugin.setStatus("Could not start the service. " + Bridge.START_HINT + ".", true);
        }
    }

    // POST an action with the current score; done(status, response).
    function send(action, options, done) {
        if (!service && !connect(true)) {
            retryAction = function () { send(action, options, done); };
            done(0, null);
            return;
        }
        var exported = Bridge.exportScore(exportCtx(false));
        post(action, Bridge.merge(exported.payload, options), done, false);
    }

    // POST an action without the score (search); done(status, response).
    function ask(action, body, done) {
        if (!service && !connect(true)) {
            retryAction = function () { ask(action, body, done); };
            done(0, null);
            return;
        }
        post(action, body, done, false);
    }

    // A service that stopped answering may have been restarted on another port or with another
    // token: read the discovery file again and send once more before reporting the failure.
    function post(action, body, done, again) {
        busy = true;
        retryAction = null;
        setStatus("Working...", false);
        Bridge.request(service, "POST", "/" + action, body, false, function (status, res) {
            if (Bridge.lostService(status) && !again && connect(true)) {
                post(action, body, done, true);
                return;
            }
            busy = false;
            if (status === 200) {
                setStatus(Bridge.doneText(res), false);
            } else {
                setStatus(Bridge.errorText(status, res), true);
                if (status === 0)
                    service = null;  // offers Start where it can
                if (Bridge.lostService(status) || status === 503 || status === 504)
                    retryAction = function () { post(action, body, done, false); };
            }
            done(status, res);
        });
    }

    // Show a response in its view (and bring the view forward); a failed one clears the view.
    function showCaption(status, res) {
        var view = Bridge.captionView(status === 200 ? res : null);
        captionText = view.text;
        captionNote = view.note;
        captionStated = status === 200 ? view.stated : "";
        captionUnsure = view.unsure;
        tabs.currentIndex = 0;
    }

    function showClassify(status, res) {
        var ok = status === 200;
        classifyRows = ok ? res.labels : [];
        classifyNote = ok ? Bridge.noveltyNote(res) : "";
        classifyColumn = Bridge.probabilityColumn(ok ? res : null);
        tabs.currentIndex = 1;
    }

    function showSimilar(status, res) {
        var ok = status === 200;
        similarRows = Bridge.similarView(ok ? res : null, scorePath(), similarSelected).rows;
        similarNote = ok ? Bridge.noveltyNote(res) : "";
        if (ok)
            rememberLibrary(res.index);
        tabs.currentIndex = 2;
    }

    function showSearch(status, res) {
        var view = Bridge.searchView(status === 200 ? res : null);
        searchRows = view.rows;
        searchNotice = view.notice;
        if (status === 200)
            rememberLibrary(res.index);
        tabs.currentIndex = 3;
    }

    // The out-of-domain note of the view on show ("" for none).
    function currentNote() {
        return [captionNote, classifyNote, similarNote, ""][tabs.currentIndex] || "";
    }

    // "Find similar passages": passages of the library like the selected bars (anyKey: in any
    // of the 12 keys).
    function findPassages(index, k, anyKey) {
        var sel = Bridge.selectedMeasures(curScore);
        if (!sel) {
            setStatus(Bridge.SELECT_BARS_FIRST, true);
            return;
        }
        similarSelected = sel;
        send("similar", {index: index, k: k, passages: true, measures: sel, any_key: !!anyKey},
             function (s, r) {
            showSimilar(s, r);
        });
    }

    // Open a result; a passage's bars are selected (in this score, or in the score opened, where
    // MuseScore gives the plugin that score: 3.x), else the status line names them.
    function openResult(row) {
        if (row.measures && row.sameFile) {
            if (Bridge.selectMeasures(curScore, row.measures[0], row.measures[1]))
                setStatus("Selected " + row.bars + " of this score.", false);
            return;
        }
        var opened = openScore(row.path);
        if (!row.measures)
            return;
        if (opened && Bridge.selectMeasures(opened, row.measures[0], row.measures[1]))
            setStatus("Opened " + (row.title || row.path) + " with " + row.bars + " selected.", false);
        else
            setStatus("Opened " + (row.title || row.path) + ": the passage is " + row.bars + ".", false);
    }

    // Open a score: in MuseScore 3 as a tab (returns the score), else with the system's handler.
    function openScore(path) {
        if (typeof readScore === "function" && major() < 4)
            return readScore(path) || null;
        Qt.openUrlExternally("file://" + (path.charAt(0) === "/" ? "" : "/") + path);
        return null;
    }

    // Test mode: clamp_test.json next to the plugin names one action and where its result goes;
    // the action runs synchronously (the only kind `mscore -p` completes) and MuseScore exits.
    function runTest(test) {
        var result = {mscore_version: typeof mscoreVersion !== "undefined" ? mscoreVersion : null};
        service = Bridge.findService(file, file.homePath(), install);
        var exported = Bridge.exportScore(exportCtx(test.force_cursor));
        result.export_via = exported.via;
        result.notes_sent = exported.notes || null;
        result.plugin_version = pluginVersion();
        result.score_path = scorePath();
        if (test.action === "export") {
            result.payload = exported.payload;
        } else if (!service) {
            result.error = Bridge.errorText(0, null);
        } else if (test.action === "info") {
            connect(true);
            result.version_note = versionNote;
            result.message = message;
            result.presets = presets;
        } else {
            var body = Bridge.merge(exported.payload, test.options || {});
            Bridge.request(service, "POST", "/" + test.action, body, true, function (status, res) {
                result.http_status = status;
                result.response = res;
                result.shown = showForTest(test.action, status, res);
            });
        }
        file.source = test.result;
        file.write(Bridge.asciiJson(result));
    }

    // What the dialog shows of a response (test mode: the views are filled but not displayed).
    function showForTest(action, status, res) {
        var show = {caption: showCaption, classify: showClassify, similar: showSimilar,
                    search: showSearch}[action];
        if (!show)
            return null;
        show(status, res);
        return {tab: tabs.currentIndex, note: currentNote(), caption_stated: captionStated,
                caption_unsure: captionUnsure, classify_column: classifyColumn,
                search_notice: searchNotice, search_rows: searchRows, similar_rows: similarRows,
                library: library};
    }

    onRun: {
        install = Bridge.readJson(file, pluginDir + "/clamp_install.json");
        var test = Bridge.readJson(file, pluginDir + "/clamp_test.json");
        loadSettings();
        if (test && test.result) {
            runTest(test);
            closePlugin();
            return;
        }
        canStart = !!(install && install.python);
        connect(false);
    }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 10
        spacing: 6

        // The status line: plain words; an error is marked, and the next action clears it.
        Rectangle {
            objectName: "status"
            Layout.fillWidth: true
            implicitHeight: statusLabel.implicitHeight + 8
            color: plugin.messageIsError ? "#fde7e9" : "transparent"
            border.color: plugin.messageIsError ? "#c50f1f" : "transparent"
            radius: 3
            Label {
                id: statusLabel
                objectName: "statusLabel"
                anchors.fill: parent
                anchors.margins: 4
                wrapMode: Text.Wrap
                color: plugin.messageIsError ? "#5c0a12" : plainText.color
                font.bold: plugin.messageIsError
                text: (plugin.messageIsError ? "\u26a0 " : "") + plugin.message
            }
        }
        RowLayout {
            visible: plugin.service === null || plugin.messageIsError
            Button {
                objectName: "startButton"
                text: "Start the service"
                visible: plugin.canStart && plugin.service === null
                enabled: !plugin.busy
                onClicked: plugin.startService()
            }
            Button {
                objectName: "retryButton"
                text: "Retry"
                enabled: !plugin.busy
                onClicked: plugin.retry()
            }
        }
        // The plugin and the service come from different installations: say what to do.
        Rectangle {
            objectName: "versionNote"
            visible: plugin.versionNote !== ""
            Layout.fillWidth: true
            implicitHeight: versionLabel.implicitHeight + 12
            color: "#fff4ce"
            border.color: "#d29200"
            radius: 3
            Label {
                id: versionLabel
                objectName: "versionNoteLabel"
                anchors.fill: parent
                anchors.margins: 6
                wrapMode: Text.Wrap
                color: "#4d3300"
                text: plugin.versionNote
            }
        }
        TabBar {
            id: tabs
            objectName: "tabs"
            Layout.fillWidth: true
            TabButton { text: "Caption" }
            TabButton { text: "Classify" }
            TabButton { text: "Similar" }
            TabButton { text: "Search" }
        }
        // A score unlike anything the model was trained on: said above the results it affects.
        Rectangle {
            objectName: "noveltyNote"
            property string text: plugin.currentNote()
            visible: text !== ""
            Layout.fillWidth: true
            implicitHeight: noteLabel.implicitHeight + 12
            color: "#fff4ce"
            border.color: "#d29200"
            radius: 3
            Label {
                id: noteLabel
                objectName: "noveltyNoteLabel"
                anchors.fill: parent
                anchors.margins: 6
                wrapMode: Text.Wrap
                color: "#4d3300"
                font.bold: true
                text: parent.text
            }
        }
        StackLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            currentIndex: tabs.currentIndex

            // -- Caption
            ColumnLayout {
                Button {
                    text: "Caption this score"
                    enabled: !plugin.busy
                    onClicked: plugin.send("caption", {}, plugin.showCaption)
                }
                Label {
                    objectName: "captionStated"
                    visible: text !== ""
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    text: plugin.captionStated
                }
                Label {
                    objectName: "captionUnsure"
                    visible: text !== ""
                    Layout.fillWidth: true
                    wrapMode: Text.Wrap
                    font.italic: true
                    text: plugin.captionUnsure
                }
                ScrollView {
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    TextArea {
                        readOnly: true
                        wrapMode: TextEdit.Wrap
                        selectByMouse: true
                        text: plugin.captionText
                    }
                }
            }

            // -- Classify
            ColumnLayout {
                RowLayout {
                    Label { text: "Classify by:" }
                    ComboBox {
                        id: preset
                        objectName: "presetBox"
                        Layout.fillWidth: true
                        model: plugin.presets.map(function (p) { return p.name; })
                        property bool own: currentIndex >= 0 && currentIndex < plugin.presets.length
                                           && plugin.presets[currentIndex].id === null
                    }
                }
                TextField {
                    id: freeLabels
                    Layout.fillWidth: true
                    visible: preset.own
                    placeholderText: "comma-separated, e.g. art song, opera aria, hymn, dance"
                }
                Button {
                    text: "Classify this score"
                    enabled: !plugin.busy && (!preset.own || freeLabels.text.trim().length > 0)
                    onClicked: {
                        var opts = preset.own ? {labels: freeLabels.text}
                                              : {label_set: plugin.presets[preset.currentIndex].id};
                        plugin.send("classify", opts, plugin.showClassify);
                    }
                }
                RowLayout {
                    visible: plugin.classifyRows.length > 0
                    Label { text: "label"; font.bold: true; Layout.preferredWidth: 200 }
                    Label {
                        objectName: "classifyColumn"
                        text: plugin.classifyColumn
                        font.bold: true
                        Layout.fillWidth: true
                    }
                }
                RowLayout {  // the bars' scale, over their track
                    visible: plugin.classifyRows.length > 0
                    Item { Layout.preferredWidth: 200 }
                    Item {
                        objectName: "barScale"
                        Layout.preferredWidth: 240
                        implicitHeight: scaleLow.implicitHeight
                        Label { id: scaleLow; text: "0 %"; anchors.left: parent.left; font.pixelSize: 10 }
                        Label { text: "50 %"; anchors.horizontalCenter: parent.horizontalCenter; font.pixelSize: 10 }
                        Label { text: "100 %"; anchors.right: parent.right; font.pixelSize: 10 }
                    }
                }
                ListView {
                    objectName: "classifyList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: plugin.classifyRows
                    ScrollBar.vertical: ScrollBar { objectName: "classifyScroll"; policy: ScrollBar.AsNeeded }
                    delegate: RowLayout {
                        width: ListView.view ? ListView.view.width - 14 : 0
                        height: 24
                        Label { text: modelData.label; Layout.preferredWidth: 200; elide: Text.ElideRight }
                        // the bar's track is 100 %; the bar starts at its left edge
                        Rectangle {
                            objectName: "barTrack"
                            Layout.preferredWidth: 240
                            Layout.preferredHeight: 12
                            color: "#e6e6e6"
                            Rectangle {
                                objectName: "bar"
                                anchors.left: parent.left
                                anchors.top: parent.top
                                anchors.bottom: parent.bottom
                                width: Math.max(1, parent.width * modelData.probability)
                                color: "#4a7ab5"
                            }
                        }
                        Label { text: (modelData.probability * 100).toFixed(1) + " %"; Layout.fillWidth: true }
                    }
                }
            }

            // -- Similar
            ColumnLayout {
                RowLayout {
                    Label { text: "Library:" }
                    ComboBox {
                        id: indexBox
                        Layout.fillWidth: true
                        editable: true
                        model: plugin.libraries()
                    }
                    Label { text: "Results:" }
                    SpinBox { id: kBox; from: 1; to: 50; value: 10 }
                    CheckBox {
                        id: anyKeyBox
                        objectName: "anyKeyBox"
                        text: "in any key"
                        ToolTip.visible: hovered
                        ToolTip.text: "Also find the music transposed (the score is tried in all 12 keys)"
                    }
                }
                Label {
                    visible: indexBox.count === 0
                    wrapMode: Text.Wrap
                    Layout.fillWidth: true
                    text: "Type the folder of a library index. Make one in a terminal with: "
                          + "clamp index SCORES --index FOLDER"
                }
                RowLayout {
                    Button {
                        text: "Find similar scores"
                        enabled: !plugin.busy && indexBox.editText.length > 0
                        onClicked: {
                            plugin.similarSelected = null;
                            plugin.send("similar", {index: indexBox.editText, k: kBox.value,
                                                    any_key: anyKeyBox.checked},
                                        plugin.showSimilar);
                        }
                    }
                    Button {
                        objectName: "passagesButton"
                        text: "Find similar passages"
                        enabled: !plugin.busy && indexBox.editText.length > 0
                        ToolTip.visible: hovered
                        ToolTip.text: "Passages of the library like the bars selected in this score "
                                      + "(the library must be indexed with --passages)"
                        onClicked: plugin.findPassages(indexBox.editText, kBox.value,
                                                       anyKeyBox.checked)
                    }
                }
                RowLayout {
                    visible: plugin.similarRows.length > 0
                    Label { text: "#"; font.bold: true; Layout.preferredWidth: 28 }
                    Label { text: "score"; font.bold: true; Layout.fillWidth: true }
                    Label {
                        objectName: "likenessColumn"
                        text: "likeness (1 = same music)"
                        font.bold: true
                    }
                    Item { Layout.preferredWidth: openWidth.width }
                    Item { Layout.preferredWidth: 10 }
                }
                ListView {
                    objectName: "similarList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: plugin.similarRows
                    ScrollBar.vertical: ScrollBar { objectName: "similarScroll"; policy: ScrollBar.AsNeeded }
                    delegate: RowLayout {
                        width: ListView.view ? ListView.view.width - 14 : 0
                        height: 26
                        Label { text: modelData.rank + "."; Layout.preferredWidth: 28 }
                        Label {
                            objectName: "similarTitle"
                            Layout.fillWidth: true
                            elide: Text.ElideRight
                            font.italic: modelData.tag !== ""
                            text: (modelData.tag ? "(" + modelData.tag + ") " : "")
                                  + (modelData.title || modelData.path)
                                  + (modelData.bars ? ", " + modelData.bars : "")
                                  + (modelData.composer ? " - " + modelData.composer : "")
                        }
                        Label { text: modelData.likeness }
                        Button {
                            text: modelData.sameFile && modelData.measures ? "Select" : "Open"
                            implicitHeight: 24
                            enabled: !modelData.self
                            onClicked: plugin.openResult(modelData)
                        }
                    }
                }
            }

            // -- Search (a text description against a library index)
            ColumnLayout {
                RowLayout {
                    Label { text: "Library:" }
                    ComboBox {
                        id: searchIndexBox
                        Layout.fillWidth: true
                        editable: true
                        model: plugin.libraries()
                    }
                    Label { text: "Results:" }
                    SpinBox { id: searchK; from: 1; to: 50; value: 10 }
                }
                RowLayout {
                    TextField {
                        id: queryField
                        Layout.fillWidth: true
                        placeholderText: "describe the music, e.g. a slow German art song for voice and piano"
                        onAccepted: searchButton.clicked()
                    }
                    Button {
                        id: searchButton
                        text: "Search"
                        enabled: !plugin.busy && queryField.text.trim().length > 0
                                 && searchIndexBox.editText.length > 0
                        onClicked: plugin.ask("search", {query: queryField.text,
                                                         index: searchIndexBox.editText,
                                                         k: searchK.value}, plugin.showSearch)
                    }
                }
                Rectangle {
                    objectName: "noGoodMatch"
                    visible: plugin.searchNotice !== ""
                    Layout.fillWidth: true
                    implicitHeight: noMatchLabel.implicitHeight + 12
                    color: "#fde7e9"
                    border.color: "#c50f1f"
                    radius: 3
                    Label {
                        id: noMatchLabel
                        objectName: "noGoodMatchLabel"
                        anchors.fill: parent
                        anchors.margins: 6
                        wrapMode: Text.Wrap
                        color: "#5c0a12"
                        font.bold: true
                        text: plugin.searchNotice
                    }
                }
                RowLayout {
                    visible: plugin.searchRows.length > 0
                    Label { text: "#"; font.bold: true; Layout.preferredWidth: 28 }
                    Label { text: "score"; font.bold: true; Layout.fillWidth: true }
                    Label { objectName: "matchColumn"; text: "match"; font.bold: true }
                    Item { Layout.preferredWidth: openWidth.width }
                    Item { Layout.preferredWidth: 10 }
                }
                ListView {
                    objectName: "searchList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: plugin.searchRows
                    ScrollBar.vertical: ScrollBar { objectName: "searchScroll"; policy: ScrollBar.AsNeeded }
                    delegate: RowLayout {
                        width: ListView.view ? ListView.view.width - 14 : 0
                        height: 26
                        Label { text: modelData.rank + "."; Layout.preferredWidth: 28 }
                        Label {
                            Layout.fillWidth: true
                            elide: Text.ElideRight
                            text: (modelData.title || modelData.path) + (modelData.composer ? " - " + modelData.composer : "")
                        }
                        Label { objectName: "matchCell"; text: modelData.match }
                        Button {
                            text: "Open"
                            implicitHeight: 24
                            onClicked: plugin.openScore(modelData.path)
                        }
                    }
                }
            }
        }
        RowLayout {
            Layout.alignment: Qt.AlignRight
            BusyIndicator { running: plugin.busy; implicitWidth: 24; implicitHeight: 24 }
            Button { text: "Close"; onClicked: plugin.closePlugin() }
        }
    }
}
