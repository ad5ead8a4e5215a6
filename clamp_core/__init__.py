"""clamp-notation: CLaMP for scores. Public API (imported lazily so that `import clamp_core`
stays cheap and torch is only loaded by what needs it)."""

from __future__ import annotations

import importlib

from .errors import ClampError

__version__ = "0.1.0"

_EXPORTS = {
    "Clamp": "api",
    "ClampConfig": "config",
    "ClampModel": "model",
    "create_model": "checkpoint",
    "load_model": "checkpoint",
    "encode_abc": "encode",
    "encode_texts": "encode",
    "load_score": "scores",
    "Score": "scores",
    "ScoreMeta": "scores",
    "stream_to_abc": "abc",
    "filter_abc_header": "abc",
    "to_abc": "convert",
    "patchify": "patches",
    "contrastive_loss": "loss",
}

__all__ = ["ClampError", "__version__", *list(_EXPORTS)]  # noqa: PLE0604 - names from a dict


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'clamp_core' has no attribute {name!r}")
