"""Copy the plugin into MuseScore's user plugin folder (and take it out again).

MuseScore 3 and 4 look for plugins in ``<Documents>/MuseScore3/Plugins`` and
``<Documents>/MuseScore4/Plugins`` (sub-folders included) on Linux, macOS and Windows; the
folder can be changed in MuseScore's Preferences -> Folders, hence ``--dir``. The plugin goes in
its own sub-folder with ``clamp_install.json``, which tells it which Python runs clamp (to start
the service on demand) and where the service's discovery file lives.
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
PLUGIN_FILES = ("clamp.qml", "clamp_bridge.js", "clamp.png", "README.md")
REQUIRED_FILES = ("clamp.qml", "clamp_bridge.js")  # without these MuseScore shows nothing


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
    done = []
    for target in _targets(version, folder, must_exist=True):
        if target.exists() and not (target / MARKER).is_file():
            raise ClampError(f"{target} exists and was not made by `clamp musescore install`; "
                             "move it away or pass another --dir")
        target.mkdir(parents=True, exist_ok=True)
        for name in PLUGIN_FILES:
            src = PLUGIN_SOURCE / name
            if src.is_file():
                shutil.copyfile(src, target / name)
        (target / MARKER).write_text(json.dumps({
            "python": python or sys.executable,
            "discovery": str(discovery_path()),
            "version": _version(),
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


def _version() -> str:
    from clamp_core import __version__

    return __version__
