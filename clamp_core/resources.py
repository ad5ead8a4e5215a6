"""Where the package's own files live (clamp_core/resources/): the default model, label sets,
the frozen test-split groups. One place, so moving a module never breaks a path."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).parent / "resources"
DEFAULT_MODEL_DIR = RESOURCES / "default_model"
DEFAULT_BUNDLE_DIR = DEFAULT_MODEL_DIR / "onnx"  # the same weights for ONNX Runtime (no torch)
LABEL_SETS_DIR = RESOURCES / "label_sets"
TEST_GROUPS_FILE = RESOURCES / "splits" / "test_groups.txt"
