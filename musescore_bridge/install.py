"""Copy the plugin into MuseScore's user plugin folder (and take it out again).

MuseScore 3 and 4 look for plugins in ``<Documents>/MuseScore3/Plugins`` and
``<Documents>/MuseScore4/Plugins`` (sub-folders included) on Linux, macOS and Windows; the
folder can be changed in MuseScore's Preferences -> Folders, hence ``--dir``. The plugin goes in
its own sub-folder with ``clamp_install.json``, which tells it which Python runs clamp (to start
the service on demand), where the service's discovery file lives and the package version (the
plugin compares it with the service's). A reinstall keeps the plugin's ``clamp_settings.json``.
On Linux, ``requirement_warnings`` names the Qt 5 QML module MuseScore 3 needs for the dialog
when the system lacks it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

from clamp_core.errors import ClampError

from .discovery import discovery_path

PLUGIN_SOURCE = Path(__file__).parent / "plugin"
FOLDER_NAME = "clamp-notation"
MARKER = "clamp_install.json"
# MuseScore 3's Plugin Manager names a plugin by its file name: CLaMP, as in the Plugins menu
QML_FILE = "CLaMP.qml"
PLUGIN_FILES = (QML_FILE, "clamp_bridge.js", "clamp.png")
REQUIRED_FILES = PLUGIN_FILES  # the plugin is shipped whole or not at all
LEGACY_FILES = ("clamp.qml",)  # earlier installs; left in place, MuseScore would list it twice
VERSION_LINE = re.compile(r'^(\s*version:\s*)"[^"]*"', re.MULTILINE)

# Qt 5's QML import folders of Linux distributions (Debian/Ubuntu multiarch, Fedora, Arch ...):
# MuseScore 3 from a distribution loads the plugin's QML modules from there
QT5_QML_GLOBS = ("/usr/lib/*/qt5/qml", "/usr/lib/qt5/qml", "/usr/lib64/qt5/qml",
                 "/usr/lib/qt/qml", "/usr/share/qt5/qml")
QML_PATH_ENV = "CLAMP_QT5_QML_PATH"  # folders (os.pathsep) that stand for the ones above
CONTROLS2_QMLDIR = Path("QtQuick") / "Controls.2" / "qmldir"


def documents_dir(platform: str | None = None, env: dict | None = None) -> Path:
    """The user's Documents folder as MuseScore (Qt's DocumentsLocation) sees it."""
    native = platform is None and env is None  # this machine, not a described one
    platform = platform or sys.platform
    env = os.environ if env is None else env
    if native and platform.startswith("win"):
        # the known-folder API: Documents may be redirected (OneDrive, another drive), and
        # %USERPROFILE%\Documents is then not where MuseScore looks
        import platformdirs

        return Path(platformdirs.user_documents_dir())
    home = Path(env.get("USERPROFILE") if platform.startswith("win") and env.get("USERPROFILE")
                else env.get("HOME") or Path.home())
    if platform.startswith("win") or platform == "darwin":
        return home / "Documents"
    # Linux/BSD: XDG user dirs name a localised Documents folder ("Dokumente", ...)
    cfg = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    try:
        text = (cfg / "user-dirs.dirs").read_text(encoding="utf-8")
    except OSError:
        text = ""
    m = re.search(r'^XDG_DOCUMENTS_DIR="([^"]+)"', text, re.MULTILINE)
    if m:
        return Path(m.group(1).replace("$HOME", str(home)))
    return home / "Documents"


def plugin_root(version: int, platform: str | None = None, env: dict | None = None) -> Path:
    if version not in (3, 4):
        raise ClampError(f"MuseScore version must be 3 or 4, not {version}")
    return documents_dir(platform, env) / f"MuseScore{version}" / "Plugins"


def _targets(version: int | None, folder: str | None, must_exist: bool) -> list[Path]:
    if folder:
        return [Path(folder).expanduser() / FOLDER_NAME]
    if version:
        return [plugin_root(version) / FOLDER_NAME]
    found = [plugin_root(v) for v in (3, 4) if plugin_root(v).parent.is_dir()]
    if not found and must_exist:
        raise ClampError(f"no MuseScore user folder found ({plugin_root(3).parent} or "
                         f"{plugin_root(4).parent}); start MuseScore once, or pass --version 3|4 "
                         "or --dir <its plugin folder>")
    return [p / FOLDER_NAME for p in found]


def install(version: int | None = None, folder: str | None = None,
            python: str | None = None) -> list[Path]:
    """Copy the plugin for the MuseScore version(s) asked (default: each one found)."""
    missing = [n for n in REQUIRED_FILES if not (PLUGIN_SOURCE / n).is_file()]
    if missing:
        raise ClampError(f"this installation lacks the plugin's {', '.join(missing)} (looked in "
                         f"{PLUGIN_SOURCE}); reinstall clamp-notation")
    pkg_version = _version()
    done = []
    for target in _targets(version, folder, must_exist=True):
        if target.exists() and not (target / MARKER).is_file():
            raise ClampError(f"{target} exists and was not made by `clamp musescore install`; "
                             "move it away or pass another --dir")
        target.mkdir(parents=True, exist_ok=True)
        for name in LEGACY_FILES:  # first: on a case-blind disk clamp.qml is CLaMP.qml
            (target / name).unlink(missing_ok=True)
        for name in PLUGIN_FILES:
            shutil.copyfile(PLUGIN_SOURCE / name, target / name)
        qml = target / QML_FILE  # the plugin's version is the package's (MuseScore shows it)
        text = qml.read_text(encoding="utf-8")
        qml.write_text(VERSION_LINE.sub(lambda m: f'{m.group(1)}"{pkg_version}"', text, count=1),
                       encoding="utf-8")
        (target / MARKER).write_text(json.dumps({
            "python": python or sys.executable,
            "discovery": str(discovery_path()),
            "version": pkg_version,
        }, indent=2), encoding="utf-8")
        done.append(target)
    return done


def uninstall(version: int | None = None, folder: str | None = None) -> list[Path]:
    """Remove installed copies (only folders that carry our marker file)."""
    removed = []
    for target in _targets(version, folder, must_exist=False):
        if (target / MARKER).is_file():
            shutil.rmtree(target)
            removed.append(target)
    return removed


def qt5_qml_dirs(env: dict | None = None) -> list[Path]:
    """Qt 5's QML import folders on this machine (``CLAMP_QT5_QML_PATH`` replaces the search)."""
    env = os.environ if env is None else env
    if env.get(QML_PATH_ENV):
        return [Path(p) for p in env[QML_PATH_ENV].split(os.pathsep) if p]
    import glob

    return [Path(p) for pattern in QT5_QML_GLOBS for p in sorted(glob.glob(pattern))
            if Path(p).is_dir()]


def requirement_warnings(version: int | None = None, folder: str | None = None,
                         platform: str | None = None, env: dict | None = None) -> list[str]:
    """What the installed plugin will lack on this machine, each as a line saying what to do.

    Linux: MuseScore 3 of a distribution (Debian's musescore3) runs the plugin with the system's
    Qt 5, and the plugin needs its QtQuick.Controls 2 module, a package that musescore3 does not
    pull in. MuseScore 4 and AppImages bring their own Qt, so they are not checked."""
    platform = platform or sys.platform
    if platform.startswith(("win", "darwin")) or version == 4:
        return []
    if version is None and folder is None and not plugin_root(3).parent.is_dir():
        return []  # only MuseScore 4 found
    dirs = qt5_qml_dirs(env)
    if not dirs or any((d / CONTROLS2_QMLDIR).is_file() for d in dirs):
        return []  # no system Qt 5 (MuseScore brings its own), or the module is there
    return [f"MuseScore 3 needs the Qt module QtQuick.Controls 2 to show the plugin, and it is "
            f"missing (no {CONTROLS2_QMLDIR} under {', '.join(map(str, dirs))}): install it "
            "with `sudo apt install qml-module-qtquick-controls2` (Fedora: qt5-qtquickcontrols2, "
            "Arch: qt5-quickcontrols2), then restart MuseScore"]


def _version() -> str:
    from clamp_core import __version__

    return __version__
