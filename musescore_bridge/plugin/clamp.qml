// CLaMP for MuseScore 3.6 and 4.x: caption, classify and find similar scores with the local
// clamp service (`clamp serve`). One file for both versions: Controls 2 only, the `//4.4`
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
    description: "Caption, classify and find similar scores with CLaMP (needs the clamp service: clamp serve)."
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
    property var classifyRows: []
    property var similarRows: []
    property bool canStart: false

    FileIO { id: file }
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

    function send(action, options, done) {
        if (!service && !connect(true)) {
            done(0, null);
            return;
        }
        busy = true;
        message = "Working...";
        var exported = Bridge.exportScore(exportCtx(false));
        var body = Bridge.merge(exported.payload, options);
        Bridge.request(service, "POST", "/" + action, body, false, function (status, res) {
            busy = false;
            message = status === 200 ? "Done (" + res.elapsed_ms + " ms, score sent via "
                                       + exported.via + ")." : Bridge.errorText(status, res);
            done(status, res);
        });
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
            });
        }
        file.source = test.result;
        file.write(Bridge.asciiJson(result));
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
            Layout.fillWidth: true
            TabButton { text: "Caption" }
            TabButton { text: "Classify" }
            TabButton { text: "Similar" }
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
                    onClicked: plugin.send("caption", {}, function (status, res) {
                        plugin.captionText = status === 200 ? res.text : "";
                    })
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
                        plugin.send("classify", opts, function (status, res) {
                            plugin.classifyRows = status === 200 ? res.labels : [];
                        });
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
                                           function (status, res) {
                        plugin.similarRows = status === 200 ? res.results : [];
                    })
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
        }
        RowLayout {
            Layout.alignment: Qt.AlignRight
            BusyIndicator { running: plugin.busy; implicitWidth: 24; implicitHeight: 24 }
            Button { text: "Close"; onClicked: plugin.closePlugin() }
        }
    }
}
