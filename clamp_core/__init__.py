"""clamp-notation: CLaMP for scores. Public API (imported lazily so that `import clamp_core`
stays cheap and torch is only loaded by what needs it).

Layers, bottom up (docs/architecture.md): scores -> notation -> model / runtime -> index ->
api (Clamp) -> front ends; datasets, training and evaluation sit beside, the CLI on top.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from clamp_core.errors import ClampError
from clamp_core.lazy import lazy_exports

try:  # one version, in the package metadata (pyproject.toml)
    __version__ = _metadata.version("clamp-notation")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0+unknown"

_EXPORTS = {
    "Clamp": ".api",
    "Caption": ".caption",
    "ClampConfig": ".model",
    "ClampModel": ".model",
    "create_model": ".model",
    "load_model": ".model",
    "Encoder": ".runtime",
    "load_encoder": ".runtime",
    "encode_abc": ".runtime.torch_encoder",
    "encode_texts": ".runtime.torch_encoder",
    "load_score": ".scores",
    "Score": ".scores",
    "ScoreMeta": ".scores",
    "stream_to_abc": ".notation",
    "filter_abc_header": ".notation",
    "to_abc": ".notation",
    "patchify": ".notation",
    "contrastive_loss": ".model.loss",
    "Index": ".index",
}

__all__ = ["ClampError", "__version__", *list(_EXPORTS)]  # noqa: PLE0604 - names from a dict

__getattr__ = lazy_exports(__name__, _EXPORTS)
