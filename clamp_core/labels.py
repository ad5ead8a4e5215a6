"""Label sets: built-in presets (JSON files in clamp_core/resources/label_sets) or a user's own
file.

A label set names its labels and the prompt templates whose embeddings are averaged per label;
``prompts`` may add texts of its own to a label ("by Johann Sebastian Bach (1685-1750)"): a
label is then the mean of its templated and its own prompts.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

from clamp_core.errors import ClampError
from clamp_core.resources import LABEL_SETS_DIR

BUILTIN_DIR = LABEL_SETS_DIR


@dataclass(frozen=True)
class LabelSet:
    name: str
    labels: tuple[str, ...]
    templates: tuple[str, ...]
    facet: str = ""
    description: str = ""
    prompts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # label -> its own prompts


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.json"))


def _parse(data: object, where: str) -> LabelSet:
    if not isinstance(data, dict) or not isinstance(data.get("labels"), list) or not data["labels"]:
        raise ClampError(f"{where}: a label set is a JSON object with a non-empty 'labels' list")
    labels = tuple(str(x).strip() for x in data["labels"] if str(x).strip())
    templates = tuple(str(t) for t in data.get("templates") or ["{}"])
    bad = [t for t in templates if "{}" not in t]
    if bad:
        raise ClampError(f"{where}: template {bad[0]!r} has no '{{}}' where the label goes")
    if len(labels) < 2:
        raise ClampError(f"{where}: a label set needs at least two labels")
    return LabelSet(str(data.get("name") or Path(where).stem), labels, templates,
                    str(data.get("facet", "")), str(data.get("description", "")),
                    _label_prompts(data.get("prompts"), labels, where))


def _label_prompts(raw: object, labels: tuple[str, ...], where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        raise ClampError(f"{where}: 'prompts' maps a label to a list of texts")
    unknown = [k for k in raw if k not in labels]
    if unknown:
        raise ClampError(f"{where}: 'prompts' names {unknown[0]!r}, which is not one of the labels")
    return {k: tuple(str(t) for t in v if str(t).strip()) for k, v in raw.items()}


def load_label_set(name_or_path: str) -> LabelSet:
    """A built-in set by name (see builtin_names()) or a JSON file of the same shape."""
    if (BUILTIN_DIR / f"{name_or_path}.json").is_file():
        return _builtin(name_or_path)
    return _read(Path(name_or_path), name_or_path)


@functools.cache
def _builtin(name: str) -> LabelSet:
    """Built-in sets never change while running: caption reads five per call, so read once."""
    return _read(BUILTIN_DIR / f"{name}.json", name)


def _read(path: Path, name_or_path: str) -> LabelSet:
    if not path.is_file():
        raise ClampError(f"unknown label set {name_or_path!r}; built-in sets: "
                         f"{', '.join(builtin_names())}, or pass a JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ClampError(f"{path}: not a readable JSON label set ({e})") from e
    return _parse(data, str(path))
