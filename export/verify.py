"""Verification of exported graphs: onnx.checker, then ONNX Runtime against torch on real inputs
of several shapes (max abs diff and cosine per batch); out of tolerance is an error."""

from __future__ import annotations

import numpy as np
import torch

from clamp_core.errors import ClampError
from clamp_core.model.modelling import ClampModel

from . import samples

# Cosine of each feature vector to torch fp32 (the worst one counts) and, for fp32, the largest
# absolute difference relative to the largest feature value.
TOLERANCES = {
    "fp32": {"min_cosine": 0.99999, "max_rel_diff": 1e-4},
    "fp16": {"min_cosine": 0.999},
    "int8": {"min_cosine": 0.99},
}


class VerificationError(ClampError):
    """An exported graph disagrees with torch beyond the tolerance of its precision."""


def check_graph(path) -> None:
    """onnx.checker with shape inference, on the file (works past protobuf's 2 GB limit)."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as e:  # the checker raises ValidationError and InferenceError
        raise VerificationError(f"{path.name} fails onnx.checker: {str(e).splitlines()[0]}") from e


def _compare(got: np.ndarray, ref: np.ndarray) -> dict:
    cos = (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1) + 1e-12)
    diff = float(np.abs(got - ref).max())
    return {"max_abs_diff": diff, "max_rel_diff": diff / max(float(np.abs(ref).max()), 1e-12),
            "min_cosine": float(cos.min()), "mean_cosine": float(cos.mean())}


def tokenize_numpy(model: ClampModel):
    def run(texts: list[str]) -> dict[str, np.ndarray]:
        return {k: v.numpy() for k, v in model.tokenize(texts).items()}

    return run


@torch.inference_mode()
def torch_references(model: ClampModel) -> dict[str, dict[str, tuple[dict, np.ndarray]]]:
    """Inputs and torch fp32 outputs per tower and batch (computed once for all variants)."""
    model = model.float().eval()
    music, text = {}, {}
    for name, (ids, mask) in samples.music_batches(model.config.max_length).items():
        ref = model.encode_music(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        music[name] = ({"patches": ids, "patch_mask": mask}, ref)
    for name, feeds in samples.text_batches(tokenize_numpy(model)).items():
        ref = model.encode_text(torch.from_numpy(feeds["input_ids"]),
                                torch.from_numpy(feeds["attention_mask"])).numpy()
        text[name] = (feeds, ref)
    return {"music": music, "text": text}


def parity(sessions: dict, references: dict) -> dict[str, list[dict]]:
    """Per tower, one row per batch: its shape and the comparison figures."""
    out: dict[str, list[dict]] = {}
    for tower, batches in references.items():
        rows = []
        for name, (feeds, ref) in batches.items():
            got = sessions[tower].run(None, feeds)[0].astype(np.float32)
            first = next(iter(feeds.values()))
            rows.append({"batch": name, "shape": list(first.shape), **_compare(got, ref)})
        out[tower] = rows
    return out


def failures(variant: str, figures: dict[str, list[dict]]) -> list[str]:
    """Human-readable breaches of the variant's tolerance (empty when within)."""
    tol = TOLERANCES[variant]
    bad = []
    for tower, rows in figures.items():
        for r in rows:
            if r["min_cosine"] < tol["min_cosine"]:
                bad.append(f"{variant} {tower} '{r['batch']}': cosine {r['min_cosine']:.6f} < "
                           f"{tol['min_cosine']}")
            if "max_rel_diff" in tol and r["max_rel_diff"] > tol["max_rel_diff"]:
                bad.append(f"{variant} {tower} '{r['batch']}': "
                           f"relative diff {r['max_rel_diff']:.2e}"
                           f" > {tol['max_rel_diff']:.0e} (abs {r['max_abs_diff']:.2e})")
    return bad


def summary(figures: dict[str, list[dict]]) -> dict[str, dict]:
    """Worst figures per tower, for the manifest's headline."""
    return {tower: {"max_abs_diff": max(r["max_abs_diff"] for r in rows),
                    "min_cosine": min(r["min_cosine"] for r in rows)}
            for tower, rows in figures.items()}
