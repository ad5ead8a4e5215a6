"""One bundle from one model folder: export, variants, tokenizer, config, verification, manifest.

The bundle is built in a temporary sibling folder and moved into place at the end, so a failed
export never leaves a half-written bundle that loads.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from clamp_core.errors import ClampError
from clamp_core.model.modelling import ClampModel
from clamp_core.runtime.onnx_encoder import MANIFEST, default_threads

from . import quantize, verify
from .manifest import file_facts, new_manifest, write_manifest
from .onnx_export import DEFAULT_OPSET, export_towers

log = logging.getLogger(__name__)
FAILED_MANIFEST = "manifest.failed.json"


def _session(path: Path, providers: list):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = default_threads()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=providers)


def _verification_providers(variant: str) -> list:
    """fp16 is meant for CUDA: verify it there when CUDA works here, else on CPU."""
    import onnxruntime as ort

    from clamp_core.runtime.providers import CPU, choose_providers, cuda_unusable_reason

    if variant != "fp16":
        return [CPU]
    available = tuple(ort.get_available_providers())
    return choose_providers("auto", available, cuda_unusable_reason(available))


def _save_tokenizer(model: ClampModel, out: Path) -> dict:
    tok = model.tokenizer
    if tok is None or not getattr(tok, "is_fast", False):
        raise ClampError("this model's tokenizer is not a fast (tokenizer.json) tokenizer; "
                         "the ONNX runtime needs one: save the model with a fast tokenizer")
    tok.save_pretrained(out / "tokenizer")
    if not (out / "tokenizer" / "tokenizer.json").is_file():
        raise ClampError("the tokenizer did not write tokenizer.json; cannot bundle it")
    return {"file": "tokenizer/tokenizer.json", "max_length": int(model.config.text_max_length),
            "pad_id": int(tok.pad_token_id), "pad_token": str(tok.pad_token),
            "unidecode": bool(model.config.official)}


def _prepare_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ClampError(f"{out}: exists and is not a folder; choose another -o")
    if out.is_dir() and any(out.iterdir()) and not (
            (out / MANIFEST).is_file() or (out / FAILED_MANIFEST).is_file()):
        raise ClampError(f"{out}: folder is not empty and holds no bundle; choose another -o")


def _copy_calibration(source: str, work: Path, out: Path) -> bool:
    """The model folder's calibration travels with its bundle (same weights, same answers); a
    bundle written inside its model folder (MODEL/onnx) reads the folder's own instead."""
    from clamp_core.calibration import CALIBRATION_JSON, CALIBRATION_NPZ
    from clamp_core.model.checkpoint import resolve_model_folder

    try:
        folder = resolve_model_folder(source)
    except ClampError:
        return False
    if not (folder / CALIBRATION_JSON).is_file():
        return False
    if out.resolve().parent == folder.resolve():
        return True
    for name in (CALIBRATION_JSON, CALIBRATION_NPZ):
        if (folder / name).is_file():
            shutil.copy2(folder / name, work / name)
    return True


def _variant_files(out: Path, suffix: str) -> dict[str, str]:
    return {"music": f"music{suffix}.onnx", "text": f"text{suffix}.onnx"}


def build_bundle(model: ClampModel, source: str, out: Path, fp16: bool = False,
                 int8: bool = False, opset: int = DEFAULT_OPSET, check: bool = True,
                 eval_records: list[dict] | None = None, keep_fp32: bool = True,
                 ) -> dict:
    """Write a verified bundle for ``model`` to ``out``; returns the manifest. ``keep_fp32=False``
    (with ``int8``) drops the fp32 graphs once they have served as the int8 reference."""
    from clamp_core.runtime.torch_encoder import weights_fingerprint

    out = Path(out)
    _prepare_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        manifest = new_manifest(source, opset)
        model = model.float().eval()
        export_towers(model, work, opset)
        manifest["variants"]["fp32"] = {**_variant_files(work, ""), "target": "CPU or CUDA"}
        refs = verify.torch_references(model) if (check or int8) else None
        if int8:
            manifest["quantisation"]["int8"] = dict(quantize.INT8_SETTINGS)
            sizes = {"music": model.config.music_intermediate_size,
                     "text": int(model.text_enc.config.intermediate_size)}
            for tower in ("music", "text"):
                manifest["quantisation"]["int8"][f"{tower}_calibration"] = quantize.calibrated_int8(
                    work / f"{tower}.onnx", work / f"{tower}.int8.onnx", sizes[tower],
                    list(refs[tower].values()),
                    lambda path: _session(path, ["CPUExecutionProvider"]))
            manifest["variants"]["int8"] = {**_variant_files(work, ".int8"), "target": "CPU"}
        if fp16:
            for tower in ("music", "text"):
                quantize.convert_fp16(work / f"{tower}.onnx", work / f"{tower}.fp16.onnx")
            manifest["variants"]["fp16"] = {**_variant_files(work, ".fp16"), "target": "CUDA"}
            manifest["quantisation"]["fp16"] = dict(quantize.FP16_SETTINGS)
        manifest["tokenizer"] = _save_tokenizer(model, work)
        model.config.save(work)
        manifest["calibration"] = _copy_calibration(source, work, out)
        manifest["logit_scale_exp"] = float(model.logit_scale.detach().exp())
        manifest["projection_dim"] = int(model.config.projection_dim)
        manifest["model_fingerprint"] = weights_fingerprint(model)
        for files in manifest["variants"].values():
            files["bytes"] = {t: file_facts(work / files[t])["bytes"] for t in ("music", "text")}
            files["sha256"] = {t: file_facts(work / files[t])["sha256"] for t in ("music", "text")}
            for tower in ("music", "text"):
                verify.check_graph(work / files[tower])
        manifest["verified"] = False
        problems: list[str] = []
        if check:
            problems = _verify(refs, work, manifest)
            if eval_records and "int8" in manifest["variants"]:
                manifest["quantisation"]["int8"]["zero_shot"] = _zero_shot(work, manifest,
                                                                           eval_records)
        if not keep_fp32 and "int8" in manifest["variants"] and not problems:
            for tower in ("music", "text"):
                (work / manifest["variants"]["fp32"][tower]).unlink()
            del manifest["variants"]["fp32"]
            manifest["parity"].pop("fp32", None)
        if problems:
            manifest["problems"] = problems
            write_manifest(work, manifest, FAILED_MANIFEST)
        else:
            write_manifest(work, manifest)
        if out.exists():
            shutil.rmtree(out)
        work.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be shared
        work.rename(out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    if problems:
        raise verify.VerificationError(
            f"exported graphs are out of tolerance ({'; '.join(problems[:3])}); "
            f"the bundle in {out} "
            f"has no {MANIFEST} (details in {FAILED_MANIFEST}); report the model's config")
    return manifest


def _verify(refs: dict, work: Path, manifest: dict) -> list[str]:
    problems = []
    for variant, files in manifest["variants"].items():
        providers = _verification_providers(variant)
        sessions = {t: _session(work / files[t], providers) for t in ("music", "text")}
        figures = verify.parity(sessions, refs)
        manifest["parity"][variant] = {"provider": sessions["music"].get_providers()[0],
                                       "worst": verify.summary(figures), "batches": figures,
                                       "tolerance": verify.TOLERANCES[variant]}
        problems += verify.failures(variant, figures)
    manifest["verified"] = not problems
    if "int8" in manifest["variants"]:
        manifest["quantisation"]["int8"]["cosine_to_fp32"] = manifest["parity"]["int8"]["worst"]
    return problems


def _zero_shot(work: Path, manifest: dict, records: list[dict]) -> dict:
    """Zero-shot accuracy of the fp32 and int8 graphs through the runtime, same test records."""
    from clamp_core.evaluation.report import zero_shot_accuracy
    from clamp_core.runtime.onnx_encoder import load_bundle

    from .quality import accuracy_change

    write_manifest(work, manifest)  # the runtime opens bundles by their manifest
    try:
        results = {}
        for variant in ("fp32", "int8"):
            m = load_bundle(work, device="cpu", precision=variant)
            results[variant] = zero_shot_accuracy(m, records)
    finally:
        (work / MANIFEST).unlink(missing_ok=True)
    return {"test_works": sum(r.get("split", "test") == "test" for r in records),
            "fp32": results["fp32"], "int8": results["int8"],
            "change_points": accuracy_change(results["fp32"], results["int8"])}
