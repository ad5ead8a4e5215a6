"""The ONNX backend: a `clamp-export` bundle run by ONNX Runtime, with no torch import.

A bundle folder holds ``manifest.json``, ``config.json``, ``tokenizer/tokenizer.json`` and one
music + one text graph per variant (fp32; int8 for CPUs; fp16 for CUDA). Tokenising uses the
``tokenizers`` package; patching is clamp_core.notation.patches (numpy).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clamp_core.errors import ClampError
from clamp_core.model.config import ClampConfig
from clamp_core.runtime.batching import encode_music_batches, encode_text_batches
from clamp_core.runtime.providers import (
    CPU,
    CUDA,
    choose_providers,
    cuda_unusable_reason,
    parse_device,
)

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
BUNDLE_FORMAT = "clamp-onnx"
BUNDLE_VERSION = 1
ONNX_PRECISIONS = ("auto", "fp32", "int8", "fp16")


def find_bundle(name_or_path: Any) -> Path | None:
    """The bundle folder of a path: the folder itself, or its ``onnx/`` subfolder."""
    if name_or_path is None or str(name_or_path) == "default":
        return None
    folder = Path(name_or_path).expanduser()
    for cand in (folder, folder / "onnx"):
        if (cand / MANIFEST).is_file():
            return cand
    return None


def read_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ClampError(f"{folder}: unreadable {MANIFEST} ({e}); re-run clamp-export") from e
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise ClampError(f"{folder}: {MANIFEST} is not a clamp-export manifest; "
                         "re-run clamp-export")
    if int(data.get("format_version", 0)) > BUNDLE_VERSION:
        raise ClampError(f"{folder}: bundle format {data.get('format_version')} is newer than this "
                         "clamp-notation reads; upgrade clamp-notation")
    return data


def _import_ort():
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ClampError("ONNX Runtime is missing (clamp-notation installs it): pip install "
                         "onnxruntime-gpu on Linux x86_64, onnxruntime elsewhere") from e
    if not hasattr(ort, "InferenceSession"):  # both wheels installed, then one removed
        raise ClampError("onnxruntime is broken (onnxruntime and onnxruntime-gpu were mixed): run "
                         "pip install --force-reinstall --no-deps onnxruntime-gpu (or onnxruntime)")
    return ort


def default_threads() -> int:
    """Cores this process may use (cgroup/affinity aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def choose_precision(requested: str, variants: dict, on_cuda: bool) -> str:
    """fp16 on CUDA and int8 on CPU when the bundle has them ("auto"), else fp32."""
    if requested not in ONNX_PRECISIONS:
        raise ClampError("precision for an ONNX bundle must be one of "
                         f"{', '.join(ONNX_PRECISIONS)}, not {requested!r}")
    if requested == "auto":  # a shipped bundle may hold int8 alone
        preferred = "fp16" if on_cuda else "int8"
        return next(v for v in (preferred, "fp32", *variants) if v in variants)
    if requested not in variants:
        how = (f"re-export with clamp-export --{requested}" if requested != "fp32" else
               "it was exported with --int8-only; for the shipped default model fp32 runs on "
               "torch: pip install 'clamp-notation[train]'")
        raise ClampError(f"this bundle has no {requested} graphs (it has "
                         f"{', '.join(variants)}); {how}")
    return requested


class Tokenizer:
    """The bundled Hugging Face fast tokenizer through the `tokenizers` package: truncation and
    batch padding exactly as the torch path's ``model.tokenize``."""

    def __init__(self, folder: Path, spec: dict):
        try:
            from tokenizers import Tokenizer as HFTokenizer
        except ImportError as e:
            raise ClampError("the ONNX backend needs the 'tokenizers' package: "
                             "pip install tokenizers") from e
        path = folder / spec["file"]
        if not path.is_file():
            raise ClampError(f"{folder}: {spec['file']} is missing; re-run clamp-export")
        self.tok = HFTokenizer.from_file(str(path))
        self.tok.enable_truncation(max_length=int(spec["max_length"]))
        self.tok.enable_padding(pad_id=int(spec["pad_id"]), pad_token=str(spec["pad_token"]))
        self.unidecode = bool(spec.get("unidecode"))

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        if self.unidecode:  # official CLaMP transliterates text to ASCII first
            from unidecode import unidecode

            texts = [unidecode(t) for t in texts]
        enc = self.tok.encode_batch(list(texts))
        return {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}


class OnnxEncoder:
    """Both towers as ONNX Runtime sessions: an `Encoder` with the same answers as torch."""

    backend = "onnx"

    def __init__(self, folder: Path, manifest: dict, music_path: Path, text_path: Path,
                 providers: list, threads: int, precision: str, device_id: int = 0):
        ort = _import_ort()
        self.name = str(folder)
        self.folder = folder
        self.manifest = manifest
        self.config = ClampConfig.load(folder)
        self.precision = precision
        # the torch model's, recorded at export; older bundles without one use the folder
        self.fingerprint = manifest.get("model_fingerprint") or f"onnx:{folder.resolve()}"
        self.logit_scale = float(manifest["logit_scale_exp"])
        self.dim = int(self.config.projection_dim)
        self.tokenizer = Tokenizer(folder, manifest["tokenizer"])
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # CUDA placement notes ("nodes on CPU") are not user errors
        try:
            self.music = ort.InferenceSession(str(music_path), opts, providers=providers)
            self.text = ort.InferenceSession(str(text_path), opts, providers=providers)
        except Exception as e:  # ORT raises its own untyped errors
            raise ClampError(f"{folder}: ONNX Runtime cannot load the models ({e}); re-run "
                             "clamp-export with this version of clamp-notation") from e
        self.provider = self.music.get_providers()[0]  # what really runs, not what was asked
        self.device = f"cuda:{device_id}" if self.provider == CUDA else "cpu"
        self.device_id = device_id
        self.threads = threads
        self._ort = ort

    def _run(self, session, feeds: dict[str, np.ndarray]) -> np.ndarray:
        if self.provider != CUDA:
            return session.run(None, feeds)[0]
        # IO binding: inputs copied to the GPU once, the output left there until fetched.
        binding = session.io_binding()
        for name, value in feeds.items():
            binding.bind_ortvalue_input(name, self._ort.OrtValue.ortvalue_from_numpy(
                np.ascontiguousarray(value), "cuda", self.device_id))
        binding.bind_output(session.get_outputs()[0].name, "cuda", self.device_id)
        session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def encode_music(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Patches [B, P, 64] + patch mask [B, P] -> projected music features [B, D] (float32)."""
        feeds = {"patches": ids.astype(np.int64, copy=False),
                 "patch_mask": mask.astype(np.int64, copy=False)}
        return np.asarray(self._run(self.music, feeds), dtype=np.float32)

    def encode_text(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return np.asarray(self._run(self.text, feeds), dtype=np.float32)

    def encode_abc(self, abcs: Sequence[str], batch_size: int = 16) -> np.ndarray:
        return encode_music_batches(self.config, abcs, self.encode_music, batch_size)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return encode_text_batches(self.config.projection_dim, texts,
                                   lambda batch: self.encode_text(**self.tokenizer(batch)),
                                   batch_size)


def load_bundle(name_or_path: Any, device: str | None = "auto", precision: str = "auto",
                threads: int | None = None) -> OnnxEncoder:
    """Open a bundle (or a model folder with an ``onnx/`` bundle) on the best provider."""
    folder = find_bundle(name_or_path)
    if folder is None:
        raise ClampError(f"{name_or_path}: no ONNX bundle here (no {MANIFEST}); make one with "
                         f"`clamp-export MODEL_DIR -o BUNDLE`")
    manifest = read_manifest(folder)
    ort = _import_ort()
    kind, device_id = parse_device(device)
    available = tuple(ort.get_available_providers())
    reason = None if kind == "cpu" else cuda_unusable_reason(available)
    providers = choose_providers(kind, available, reason, device_id)
    variants = manifest.get("variants") or {}
    chosen = choose_precision(precision, variants, on_cuda=providers[0] != CPU)
    files = variants[chosen]
    model = OnnxEncoder(folder, manifest, folder / files["music"], folder / files["text"],
                        providers, threads or default_threads(), chosen, device_id)
    if kind == "cuda" and model.provider != CUDA:
        raise ClampError("device 'cuda' asked for but ONNX Runtime fell back to CPU; check the "
                         "CUDA/cuDNN install (see ONNX Runtime's log) or use device='cpu'")
    log.info("ONNX bundle %s: %s on %s (%d threads)", folder, chosen, model.provider, model.threads)
    return model
