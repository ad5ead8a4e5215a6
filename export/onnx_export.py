"""torch -> ONNX: the music tower (patch embedding, encoder, pooling, ``music_proj``) and the text
tower (encoder, pooling, ``text_proj``) as two single-file graphs with dynamic batch and length."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from clamp_core.errors import ClampError
from clamp_core.model.modelling import ClampModel

log = logging.getLogger(__name__)

DEFAULT_OPSET = 18  # the lowest opset the torch.export-based exporter writes natively
MUSIC_INPUTS = ("patches", "patch_mask")
TEXT_INPUTS = ("input_ids", "attention_mask")
# Not "embedding": the exporter already names the patch/word Gather that way (duplicate name).
MUSIC_OUTPUT = "music_features"
TEXT_OUTPUT = "text_features"


class MusicGraph(nn.Module):
    """Character ids [B, P, 64] + patch mask [B, P] -> projected music features [B, D]."""

    def __init__(self, model: ClampModel):
        super().__init__()
        self.model = model

    def forward(self, patches: torch.Tensor, patch_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode_music(patches, patch_mask)


class TextGraph(nn.Module):
    """Token ids [B, T] + attention mask [B, T] -> projected text features [B, D]."""

    def __init__(self, model: ClampModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(input_ids, attention_mask)


def _example_music(model: ClampModel) -> tuple[torch.Tensor, torch.Tensor]:
    # Batch and length >= 2: torch.export specialises dimensions of size 0 and 1.
    cfg = model.config
    ids = torch.randint(1, cfg.patch_vocab_size - 2, (2, 5, cfg.patch_length), dtype=torch.long)
    mask = torch.ones(2, 5, dtype=torch.long)
    mask[1, 3:] = 0
    return ids, mask


def _example_text(model: ClampModel) -> tuple[torch.Tensor, torch.Tensor]:
    vocab = int(model.text_enc.config.vocab_size)
    ids = torch.randint(3, min(vocab, 1000), (2, 7), dtype=torch.long)
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 5:] = 0
    return ids, mask


def _export(graph: nn.Module, example: tuple, names: tuple[str, str], output: str,
            max_len: int, path: Path, opset: int) -> None:
    from torch.export import Dim

    # The exporter logs optional-op registrations (torchvision) on every run: not the user's news.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    batch = Dim("batch", min=1, max=4096)
    length = Dim("length", min=1, max=max_len)
    shapes = {names[0]: {0: batch, 1: length}, names[1]: {0: batch, 1: length}}
    with warnings.catch_warnings():  # the exporter's own deprecation chatter is not the user's
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                graph, example, dynamo=True, input_names=list(names), output_names=[output],
                dynamic_shapes=shapes, opset_version=opset, external_data=False,
                optimize=True, verbose=False)
        except Exception as e:  # the exporter fails in many exception types
            raise ClampError(f"ONNX export of {path.name} failed ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''}); try another --opset "
                             "or report the model's config") from e
    program.save(str(path), external_data=False)


@torch.inference_mode(False)
def export_towers(model: ClampModel, out: Path, opset: int = DEFAULT_OPSET,
                  suffix: str = "") -> dict[str, Path]:
    """Write ``music{suffix}.onnx`` and ``text{suffix}.onnx`` (fp32) into ``out``."""
    model = model.float().eval()
    out.mkdir(parents=True, exist_ok=True)
    text_len = int(min(model.config.text_max_length,
                       model.text_enc.config.max_position_embeddings))
    paths = {"music": out / f"music{suffix}.onnx", "text": out / f"text{suffix}.onnx"}
    with torch.no_grad():
        _export(MusicGraph(model), _example_music(model), MUSIC_INPUTS, MUSIC_OUTPUT,
                model.config.max_length, paths["music"], opset)
        _export(TextGraph(model), _example_text(model), TEXT_INPUTS, TEXT_OUTPUT,
                text_len, paths["text"], opset)
    for p in paths.values():
        log.info("wrote %s (%.1f MB)", p, p.stat().st_size / 1e6)
    return paths
