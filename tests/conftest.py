"""Shared fixtures: real data copied into tests/fixtures (never ../shared)."""

import json
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# Tests run offline: nothing may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def wikimt() -> list[dict]:
    """The 1,010 official filtered WikiMT ABC strings (MIT, microsoft/muzic)."""
    with open(FIXTURES / "wikimt" / "wikimt_abc.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]
