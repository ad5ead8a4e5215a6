"""Music features kept on disk between runs: tuning, evaluation and calibration of models that
share a music encoder encode each piece once.

Two kinds of table, each a ``.npz`` of rows keyed by a hash of the item (an ABC string or a
text): the locked music encoder's pooled states (before ``music_proj``), shared by every model
with the same music encoder whatever its heads; and, for encoders that are not a torch model in
fp32 (an ONNX bundle, bf16), their projected vectors, keyed by the encoder's fingerprint,
backend and precision."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is the train extra's; an ONNX bundle is evaluated without it
    from clamp_core.model.modelling import ClampModel


def item_key(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:24]


class FeatureTable:
    """Feature rows kept in ``path`` by each item's hash, read from disk once and written back
    whenever rows are added: a rerun with other settings, or on a larger cut of the same
    corpus, computes only the rows it lacks."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._have: dict[str, np.ndarray] | None = None

    def rows(self, items: Sequence[str], compute) -> np.ndarray:
        if self._have is None:
            self._have = {}
            if self.path.is_file():
                with np.load(self.path) as z:
                    self._have = dict(zip(z["keys"].tolist(), z["rows"], strict=True))
        have = self._have
        keys = [item_key(s) for s in items]
        todo = list(dict.fromkeys(i for i, k in zip(items, keys, strict=True) if k not in have))
        if todo:
            have.update(zip((item_key(s) for s in todo), compute(todo), strict=True))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.stem + ".tmp.npz")
            np.savez(tmp, keys=np.array(list(have)), rows=np.stack(list(have.values())))
            tmp.replace(self.path)
        return np.stack([have[k] for k in keys])


def cached_rows(path: Path, items: Sequence[str], compute) -> np.ndarray:
    """The rows of ``items`` from the table at ``path``, computing the ones it lacks."""
    return FeatureTable(path).rows(items, compute)


def music_encoder_tag(model: ClampModel) -> str:
    """What the pooled music features depend on: the config and the music encoder's weights
    (not ``music_proj``, which a head tuning may change)."""
    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.music_enc.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:24]


def pooled_music(model: ClampModel, abcs: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """The locked music encoder's mean patch state of each piece (before ``music_proj``), long
    pieces averaged over their windows as the runtime averages them (the projection is affine,
    so projecting this equals the runtime's projected average)."""
    import torch

    from clamp_core.runtime.batching import encode_music_batches

    device = next(model.parameters()).device

    @torch.inference_mode()
    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = model.pool_music(torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device))
        return out.float().cpu().numpy()

    return encode_music_batches(model.config, abcs, run, batch_size)


def pooled_table(model: ClampModel, folder: Path) -> Path:
    return Path(folder) / f"pooled-{music_encoder_tag(model)}.npz"


def music_lookup(encoder, folder: str | Path | None = None
                 ) -> Callable[[list[dict]], np.ndarray]:
    """Projected music features of records, each ABC encoded once however many tasks ask for
    it; with ``folder``, also kept there for later runs (pooled states for a torch model in
    fp32, whose projection is applied here; the encoder's own vectors otherwise)."""
    memory: dict[str, np.ndarray] = {}
    model = getattr(encoder, "model", None)
    pooled = (folder is not None and hasattr(model, "music_proj")
              and getattr(encoder, "precision", "fp32") == "fp32")
    if pooled:
        import torch

        table = FeatureTable(pooled_table(model, Path(folder)))

        def compute(abcs: list[str]) -> np.ndarray:
            rows = table.rows(abcs, lambda todo: pooled_music(model, todo))
            with torch.inference_mode():
                return model.music_proj(torch.from_numpy(rows)).numpy()
    elif folder is not None:
        table = FeatureTable(Path(folder) / (f"music-{encoder.fingerprint}-{encoder.backend}-"
                                             f"{encoder.precision}.npz"))

        def compute(abcs: list[str]) -> np.ndarray:
            return table.rows(abcs, encoder.encode_abc)
    else:
        def compute(abcs: list[str]) -> np.ndarray:
            return encoder.encode_abc(abcs)

    def music(recs: list[dict]) -> np.ndarray:
        todo = list(dict.fromkeys(r["abc"] for r in recs if r["abc"] not in memory))
        if todo:
            memory.update(zip(todo, compute(todo), strict=True))
        if not recs:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.stack([memory[r["abc"]] for r in recs])

    return music
