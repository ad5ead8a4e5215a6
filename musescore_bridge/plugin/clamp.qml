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
    //4.4 categoryCode: "composing-arranging-tools"
    menuPath: "Plugins.CLaMP"
    description: "Caption, classify, find similar scores and search a library with CLaMP (needs the clamp service: clamp serve)."
    version: "0.1.0"
    pluginType: "dialog"
    requiresScore: true
    width: 600
    height: 560

    id: plugin
    property string pluginDir: Bridge.urlToPath(Qt.resolvedUrl("."))
    property var install: null
    property var service: null
    property var labelSets: ({})
    property var indexes: []
    property bool busy: false
    property string message: ""
    property string captionText: ""
    property string captionStated: ""
    property string captionUnsure: ""
    property string captionNote: ""
    property var classifyRows: []
    property string classifyNote: ""
    property string classifyColumn: "probability"
    property var similarRows: []
    property string similarNote: ""
    property var searchRows: []
    property string searchNotice: ""
    property bool canStart: false

    FileIO { id: file }
    Button { id: openWidth; text: "Open"; visible: false }  // sizes the column headers' gap
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

    function exportCtx(forceCursor) {
        return {score: curScore, Element: Element, file: file, major: major(),
                writeScore: typeof writeScore === "function" ? writeScore : null,
                forceCursor: !!forceCursor};
    }

    // Read the discovery file and ask the service what it offers; false with a message if absent.
    function connect(sync) {
        service = Bridge.findService(file, file.homePath(), install);
        if (!service) {
            message = Bridge.errorText(0, null);
            return false;
        }
        var ok = false;
        Bridge.request(service, "GET", "/info", null, sync, function (status, body) {
            if (status === 200) {
                labelSets = body.label_sets || {};
                indexes = body.indexes || [];
                message = "Connected to the CLaMP service (model " + body.model + ").";
                ok = true;
            } else {
                message = Bridge.errorText(status, body);
                service = status === 0 ? null : service;
            }
        });
        return ok;
    }

    // Start `clamp serve --detach` with the Python recorded at install time, then reconnect.
    function startService() {
        if (!install || !install.python)
            return;
        message = "Starting the CLaMP service (loading the model takes a few seconds)...";
        busy = true;
        startTimer.start();
    }
    Timer {
        id: startTimer
        interval: 50
        onTriggered: {
            var args = ["-m", "clamp_core", "serve", "--detach"];
            if (typeof proc.startWithArgs === "function")
                proc.startWithArgs(install.python, args);  // MuseScore 4.3+: no splitting
            else
                proc.start("\"" + install.python + "\" " + args.join(" "));
            proc.waitForFinished(300000);
            busy = false;
            if (!connect(true))
                message = "Could not start the service. " + Bridge.START_HINT;
        }
    }

    // POST an action with the current score; done(status, response).
    function send(action, options, done) {
        if (!service && !connect(true)) {
            done(0, null);
            return;
        }
        var exported = Bridge.exportScore(exportCtx(false));
        post(action, Bridge.merge(exported.payload, options), ", score sent via " + exported.via,
             done);
    }

    // POST an action without the score (search); done(status, response).
    function ask(action, body, done) {
        if (!service && !connect(true)) {
            done(0, null);
            return;
        }
        post(action, body, "", done);
    }

    function post(action, body, how, done) {
        busy = true;
        message = "Working...";
        Bridge.request(service, "POST", "/" + action, body, false, function (status, res) {
            busy = false;
            message = status === 200 ? "Done (" + res.elapsed_ms + " ms" + how + ")."
                                     : Bridge.errorText(status, res);
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
        similarRows = ok ? res.results : [];
        similarNote = ok ? Bridge.noveltyNote(res) : "";
        tabs.currentIndex = 2;
    }

    function showSearch(status, res) {
        var view = Bridge.searchView(status === 200 ? res : null);
        searchRows = view.rows;
        searchNotice = view.notice;
        tabs.currentIndex = 3;
    }

    // The out-of-domain note of the view on show ("" for none).
    function currentNote() {
        return [captionNote, classifyNote, similarNote, ""][tabs.currentIndex] || "";
    }

    function openScore(path) {
        if (typeof readScore === "function" && major() < 4) {
            readScore(path);
        } else {
            Qt.openUrlExternally("file://" + (path.charAt(0) === "/" ? "" : "/") + path);
        }
    }

    // Test mode: clamp_test.json next to the plugin names one action and where its result goes;
    // the action runs synchronously (the only kind `mscore -p` completes) and MuseScore exits.
    function runTest(test) {
        var result = {mscore_version: typeof mscoreVersion !== "undefined" ? mscoreVersion : null};
        service = Bridge.findService(file, file.homePath(), install);
        var exported = Bridge.exportScore(exportCtx(test.force_cursor));
        result.export_via = exported.via;
        result.notes_sent = exported.notes || null;
        if (test.action === "export") {
            result.payload = exported.payload;
        } else if (!service) {
            result.error = Bridge.errorText(0, null);
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
                search_notice: searchNotice, search_rows: searchRows};
    }

    onRun: {
        install = Bridge.readJson(file, pluginDir + "/clamp_install.json");
        var test = Bridge.readJson(file, pluginDir + "/clamp_test.json");
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
        spacing: 8

        Label {
            Layout.fillWidth: true
            wrapMode: Text.Wrap
            text: plugin.message
        }
        RowLayout {
            visible: plugin.service === null
            Button {
                text: "Start the service"
                visible: plugin.canStart
                enabled: !plugin.busy
                onClicked: plugin.startService()
            }
            Button {
                text: "Retry"
                enabled: !plugin.busy
                onClicked: plugin.connect(false)
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
                    Label { text: "Labels:" }
                    ComboBox {
                        id: preset
                        Layout.fillWidth: true
                        model: Object.keys(plugin.labelSets).concat(["free labels (below)"])
                    }
                }
                TextField {
                    id: freeLabels
                    Layout.fillWidth: true
                    enabled: preset.currentIndex === preset.count - 1
                    placeholderText: "comma-separated, e.g. art song, opera aria, hymn, dance"
                }
                Button {
                    text: "Classify this score"
                    enabled: !plugin.busy
                    onClicked: {
                        var free = preset.currentIndex === preset.count - 1;
                        var opts = free ? {labels: freeLabels.text} : {label_set: preset.currentText};
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
                        Layout.preferredWidth: 260
                    }
                }
                ListView {
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: plugin.classifyRows
                    delegate: RowLayout {
                        width: parent ? parent.width : 0
                        Label { text: modelData.label; Layout.preferredWidth: 200; elide: Text.ElideRight }
                        Rectangle {
                            color: "#4a7ab5"
                            height: 12
                            Layout.preferredWidth: Math.max(2, 260 * modelData.probability)
                        }
                        Label { text: (modelData.probability * 100).toFixed(1) + " %" }
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
                        model: plugin.indexes.map(function (x) { return x.path; })
                    }
                    SpinBox { id: kBox; from: 1; to: 50; value: 10 }
                }
                Label {
                    visible: plugin.indexes.length === 0
                    wrapMode: Text.Wrap
                    Layout.fillWidth: true
                    text: "Type the folder of a library index (make one with `clamp index SCORES --index DIR`, "
                          + "or start the service with `clamp serve --index DIR`)."
                }
                Button {
                    text: "Find similar scores"
                    enabled: !plugin.busy && indexBox.editText.length > 0
                    onClicked: plugin.send("similar", {index: indexBox.editText, k: kBox.value},
                                           plugin.showSimilar)
                }
                RowLayout {
                    visible: plugin.similarRows.length > 0
                    Label { text: "#"; font.bold: true; Layout.preferredWidth: 28 }
                    Label { text: "title"; font.bold: true; Layout.fillWidth: true }
                    Label { text: "likeness (cosine, 1 = same music)"; font.bold: true }
                    Item { Layout.preferredWidth: openWidth.width }
                }
                ListView {
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: plugin.similarRows
                    delegate: RowLayout {
                        width: parent ? parent.width : 0
                        Label { text: modelData.rank + "."; Layout.preferredWidth: 28 }
                        Label {
                            Layout.fillWidth: true
                            elide: Text.ElideRight
                            text: (modelData.title || modelData.path) + (modelData.composer ? " - " + modelData.composer : "")
                        }
                        Label { text: modelData.score.toFixed(3) }
                        Button { text: "Open"; onClicked: plugin.openScore(modelData.path) }
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
                        model: plugin.indexes.map(function (x) { return x.path; })
                    }
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
                    Label { text: "title"; font.bold: true; Layout.fillWidth: true }
                    Label { objectName: "matchColumn"; text: "match"; font.bold: true }
                    Item { Layout.preferredWidth: openWidth.width }
                }
                ListView {
                    objectName: "searchList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: plugin.searchRows
                    delegate: RowLayout {
                        width: parent ? parent.width : 0
                        Label { text: modelData.rank + "."; Layout.preferredWidth: 28 }
                        Label {
                            Layout.fillWidth: true
                            elide: Text.ElideRight
                            text: (modelData.title || modelData.path) + (modelData.composer ? " - " + modelData.composer : "")
                        }
                        Label { objectName: "matchCell"; text: modelData.match }
                        Button { text: "Open"; onClicked: plugin.openScore(modelData.path) }
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
