"""Where a running service tells local clients (the MuseScore plugin, scripts) how to reach it.

One JSON file, readable by its owner only (0600): ``{"url", "token", "pid", "version", "model"}``.
Linux/BSD: ``$XDG_CONFIG_HOME/clamp-notation/service.json`` (default ``~/.config``); macOS:
``~/Library/Application Support/clamp-notation/service.json``; Windows:
``%APPDATA%\\clamp-notation\\service.json``. The service removes it on exit.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

APP_DIR = "clamp-notation"
FILE_NAME = "service.json"


def config_dir(platform: str | None = None, env: dict | None = None) -> Path:
    """The user's config folder for clamp-notation on this (or the named) platform."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform.startswith("win"):
        base = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".config"
    return base / APP_DIR


def discovery_path() -> Path:
    return config_dir() / FILE_NAME


def write_discovery(path: Path, info: dict) -> None:
    """Write atomically with mode 0600 from the start (the token must never be world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
        os.chmod(tmp, 0o600)  # an older file of the same name may have kept looser bits
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_discovery(path: Path | None = None) -> dict | None:
    """The discovery record, or None when no service has written one (or it is unreadable)."""
    path = path or discovery_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"url", "token", "pid"} <= data.keys():
        return None
    return data


def remove_discovery(path: Path, token: str) -> None:
    """Remove the file only if it is still ours (a newer service may have replaced it)."""
    data = read_discovery(path)
    if data is not None and data.get("token") == token:
        path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if sys.platform.startswith("win"):
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        ctypes.windll.kernel32.CloseHandle(handle)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
