"""Model folders on disk: create, load (ours and official CLaMP 1) and save, offline only."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tempfile
from pathlib import Path

import torch

from clamp_core.errors import ClampError
from clamp_core.model.config import ClampConfig
from clamp_core.model.modelling import ClampModel
from clamp_core.model.text_encoder import build_text_encoder, load_tokenizer, package_text_config

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Buffers that transformers >= 4.31 no longer saves; official checkpoints still carry them.
_LEGACY_BUFFERS = ("embeddings.position_ids",)
from clamp_core.resources import DEFAULT_MODEL_DIR  # noqa: E402  (re-exported)


def resolve_model_folder(name_or_path: str | os.PathLike) -> Path:
    """A model folder on disk; ``"default"`` is the model shipped inside this package."""
    if str(name_or_path) == "default":
        if not (DEFAULT_MODEL_DIR / "config.json").is_file():
            raise ClampError(
                "the default model is not part of this installation; "
                "pass a model folder (create one with `clamp init-model DIR`)")
        return DEFAULT_MODEL_DIR
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        return folder
    if folder.exists():
        raise ClampError(f"{folder}: a model is a folder (config.json + weights), not a file")
    if _HUB_ID.match(str(name_or_path)) and not str(name_or_path).startswith((".", "/")):
        raise ClampError(
            f"{name_or_path}: no such folder; clamp-notation never downloads models: fetch the "
            "folder (config.json, weights, tokenizer files) yourself and pass its path")
    raise ClampError(f"{folder}: no such model folder; check the path")


def read_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """Weights from model.safetensors, or from an official pytorch_model.bin."""
    st, pt = folder / "model.safetensors", folder / "pytorch_model.bin"
    try:
        if st.is_file():
            from safetensors.torch import load_file

            return load_file(st)
        if pt.is_file():
            return torch.load(pt, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt or truncated weight files come in many exception types
        raise ClampError(f"{folder}: cannot read the weights ({type(e).__name__}: {e}); "
                         "re-copy the model folder") from e
    raise ClampError(f"{folder}: no model.safetensors or pytorch_model.bin in this folder")


def create_model(config: ClampConfig | None = None, seed: int | None = None) -> ClampModel:
    """A new model: pretrained text encoder from its package, freshly initialised music tower."""
    cfg = config or ClampConfig()
    if seed is not None:
        torch.manual_seed(seed)
    if cfg.text_package:
        if not cfg.text_config:
            cfg = dataclasses.replace(cfg, text_config=package_text_config(cfg.text_package))
        text_enc = build_text_encoder(cfg, weights_from_package=True)
    else:
        text_enc = build_text_encoder(cfg, weights_from_package=False)
    model = ClampModel(cfg, text_encoder=text_enc)
    model.tokenizer = load_tokenizer(cfg, None) if cfg.text_package else None
    return model


def load_model(name_or_path: str | os.PathLike, device: str | torch.device = "cpu") -> ClampModel:
    """Load a model folder strictly (official checkpoints: all keys but legacy buffers)."""
    folder = resolve_model_folder(name_or_path)
    cfg = ClampConfig.load(folder)
    weights = {k: v for k, v in read_state_dict(folder).items() if not k.endswith(_LEGACY_BUFFERS)}
    has_text = any(k.startswith("text_enc.") for k in weights)
    model = ClampModel(cfg, text_encoder=build_text_encoder(cfg, weights_from_package=not has_text))
    expected = model.state_dict()
    missing = [k for k in expected
               if k not in weights and (has_text or not k.startswith("text_enc."))]
    unexpected = [k for k in weights if k not in expected]
    wrong = [k for k in weights if k in expected and weights[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        raise ClampError(
            f"{folder}: weights do not match config.json "
            f"(missing {len(missing)} e.g. {missing[:2]}, "
            f"unexpected {len(unexpected)} e.g. {unexpected[:2]}, wrong shape {wrong[:2]}); "
            "the folder mixes files of different models")
    model.load_state_dict(weights, strict=False)  # strictness checked above, text tower aside
    model.tokenizer = load_tokenizer(cfg, folder)
    return model.to(device).eval()


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; model files are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_model(
    model: ClampModel,
    folder: str | os.PathLike,
    include_text_encoder: bool | None = None,
    dtype: torch.dtype | None = None,
) -> None:
    """Write config.json + model.safetensors (+ tokenizer/). The text tower is stored unless it
    is the unchanged packaged encoder (``include_text_encoder=False`` keeps folders small)."""
    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    include = cfg.text_package is None if include_text_encoder is None else include_text_encoder
    state = {}
    for k, v in model.state_dict().items():
        if not include and k.startswith("text_enc."):
            continue
        v = v.detach().cpu().contiguous()
        state[k] = v.to(dtype) if dtype is not None and v.is_floating_point() else v
    _atomic_write(out / "model.safetensors",
                  lambda p: save_file(state, p, metadata={"format": "pt"}))
    saved_cfg = dataclasses.replace(cfg, text_package=None) if include else cfg
    saved_cfg.save(out)
    if include and model.tokenizer is not None:
        model.tokenizer.save_pretrained(out / "tokenizer")
