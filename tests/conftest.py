"""Shared fixtures: real data copied into tests/fixtures (never the workspace data folder)."""

import json
import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def pairs_dataset(tmp_path_factory, wikimt) -> Path:
    """A 40-record dataset JSONL (32 train, 8 val) of WikiMT lead sheets with two texts each."""
    genres = ["pop", "jazz", "country", "rock", "folk"]
    path = tmp_path_factory.mktemp("data") / "pairs.jsonl"
    with path.open("w") as f:
        for i, row in enumerate(wikimt[:40]):
            rec = {"id": f"wikimt-{i}", "abc": row["abc"], "labels": {},
                   "texts": [row["title"], f"a {genres[i % 5]} lead sheet"],
                   "split": "val" if i >= 32 else "train"}
            f.write(json.dumps(rec) + "\n")
    return path


@pytest.fixture(scope="session")
def run_clamp():
    """Run the `clamp` CLI in a subprocess (under torchrun with nproc > 1); asserts success
    unless ``check=False``."""

    def run(*args: str, nproc: int = 1, timeout: int = 300, check: bool = True,
            ) -> subprocess.CompletedProcess:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
               "CLAMP_PRECISION": "fp32"}  # the same vectors as in-process fp32 models
        cmd = [sys.executable, "-m", "clamp_core", *args]
        if nproc > 1:
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
                   "--master_port", str(29500 + os.getpid() % 1000), *cmd[1:]]
        res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout,
                             env=env)
        if check:
            assert res.returncode == 0, res.stderr[-3000:]
        return res

    return run


@pytest.fixture(scope="session")
def default_bundle(tmp_path_factory) -> Path:
    """The shipped default model exported once by the real `clamp-export` CLI (fp32, int8, fp16),
    shared by tests/export/ and tests/runtime/test_onnx_encoder.py."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    out = tmp_path_factory.mktemp("onnx") / "default-bundle"
    res = subprocess.run([sys.executable, "-m", "export.cli", "default", "-o", str(out), "--int8",
                          "--fp16"], check=False, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    assert res.returncode == 0, res.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random model folder (seed 0): every real code path, in seconds."""
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    folder = tmp_path_factory.mktemp("tiny_model") / "tiny"
    save_model(create_model(preset("tiny"), seed=0), folder)
    return folder


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A PostgreSQL 16 + pgvector server of the test run's own (pgserver, a unix socket)."""
    pgserver = pytest.importorskip("pgserver", reason="pip install 'clamp-notation[test]'")
    srv = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    yield srv
    srv.cleanup()


def pg_database(server, name: str) -> str:
    """The URL of a new, empty database ``name`` on ``server``."""
    server.psql(f"DROP DATABASE IF EXISTS {name};")
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri().replace("/postgres?", f"/{name}?")
