"""Lazy public names for package ``__init__`` files: ``import clamp_core.scores`` stays cheap
(music21, torch and ONNX Runtime load only when a name that needs them is first used)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` that imports ``names[attr]`` (a module relative to ``package``)
    on first access of ``attr`` and returns its attribute of that name."""
    def __getattr__(attr: str) -> object:
        if attr in names:
            return getattr(importlib.import_module(names[attr], package), attr)
        raise AttributeError(f"module {package!r} has no attribute {attr!r}")

    return __getattr__
