"""What quantisation costs in use: zero-shot accuracy of clamp evaluate's tasks on the frozen
test split for each variant (clamp_core.evaluation.report.zero_shot_accuracy ranks them, the one
zero-shot implementation), read as a change in percentage points."""

from __future__ import annotations


def accuracy_change(base: dict, other: dict) -> dict:
    """Per-task accuracy difference (other - base) in percentage points."""
    return {k: round(100 * (other[k]["accuracy"] - base[k]["accuracy"]), 2)
            for k in base if k in other}
