"""manifest.json of a bundle: what is in it, what made it, and how close it is to torch."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

from clamp_core.runtime.onnx_encoder import BUNDLE_FORMAT, BUNDLE_VERSION, MANIFEST

_PACKAGES = ("clamp-notation", "torch", "transformers", "tokenizers", "onnx", "onnxscript",
             "onnxruntime", "onnxruntime-gpu", "numpy")


def library_versions() -> dict[str, str]:
    """Installed versions of the packages that shaped the export (absent ones left out)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def file_facts(path: Path) -> dict:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


def new_manifest(source: str, opset: int) -> dict:
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source_model": source,
        "opset": opset,
        "versions": library_versions(),
        "platform": f"{platform.system()} {platform.machine()}",
        "inputs": {
            "music": {"patches": "int64 [batch, patches, 64] character ids",
                      "patch_mask": "int64 [batch, patches] 1 = real patch"},
            "text": {"input_ids": "int64 [batch, tokens]",
                     "attention_mask": "int64 [batch, tokens]"},
        },
        "outputs": {"music": "music_features float32 [batch, dim] (projected, not normalised)",
                    "text": "text_features float32 [batch, dim] (projected, not normalised)"},
        "variants": {},
        "parity": {},
        "quantisation": {},
    }


def write_manifest(folder: Path, manifest: dict, name: str = MANIFEST) -> Path:
    path = folder / name
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
