"""The Ray engine: a library read and encoded by a local Ray cluster (127.0.0.1 only) straight
into a PostgreSQL store the test starts itself: every score exactly once, the same embeddings as
a local `clamp index`, nothing read again on a re-run, and a worker killed mid-run, a dropped
database connection or a node removed from the cluster changing none of that."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, pg_database

from clamp_core.index import as_index
from clamp_core.index.library import Index, build_index

# before Ray is imported: this process's Ray (the two-node cluster below) keeps to 127.0.0.1
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
pytest.importorskip("pgserver", reason="pip install 'clamp-notation[test]'")
pytest.importorskip("ray", reason="pip install 'clamp-notation[cluster]'")
psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.cluster

N_TUNES = 48


@pytest.fixture(scope="module")
def model(tiny_model_dir) -> Path:
    return tiny_model_dir


@pytest.fixture
def url(pg_server, request) -> str:
    return pg_database(pg_server, "c_" + request.node.name.lower()[:40])


@pytest.fixture
def library(tmp_path, wikimt) -> Path:
    lib = tmp_path / "lib"
    (lib / "tunes").mkdir(parents=True)
    for i, row in enumerate(wikimt[:N_TUNES]):
        (lib / "tunes" / f"t{i:02d}.abc").write_text(row["abc"], encoding="utf-8")
    for name in ("two_tunes.abc", "lieder_6053984.mxl"):
        (lib / name).write_bytes((FIXTURES / "scores" / name).read_bytes())
    (lib / "broken.mxl").write_bytes(b"not a zip")
    return lib


def _engine(lib: Path, url: str, model: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CLAMP_PRECISION": "fp32",
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    return subprocess.Popen([sys.executable, "-m", "clamp_core", "index", str(lib), "--engine",
                             "ray", "--store", url, "--model", str(model), "--workers", "2",
                             "--json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode in (0, 3), err[-3000:]  # 3: the broken file failed, the rest done
    assert out.lstrip().startswith("{"), (out[:2000], err[-2000:])
    return json.loads(out)


def _stored(url: str) -> tuple[int, int, int]:
    """(work rows, distinct work ids, file records) in the store."""
    import psycopg

    with psycopg.connect(url) as c:
        rows, ids = c.execute("SELECT count(*), count(DISTINCT id) FROM clamp.clamp_rows "
                              "WHERE kind = 'work'").fetchone()
        files = c.execute("SELECT count(*) FROM clamp.clamp_files").fetchone()[0]
    return rows, ids, files


def _watch(proc: subprocess.Popen, url: str, at_rows) -> None:
    """Call ``at_rows(stored work rows)`` every 0.2 s while the engine runs (5 minutes at most)."""
    deadline = time.time() + 300
    while proc.poll() is None and time.time() < deadline:
        try:
            rows = _stored(url)[0]
        except Exception:  # noqa: BLE001 - the schema is not there yet
            rows = 0
        at_rows(rows)
        time.sleep(0.2)


def _check_against_local(tmp_path: Path, lib: Path, url: str, model: Path) -> None:
    """Exactly once, and the embeddings of a local `clamp index` of the same folder."""
    from clamp_core import Clamp

    clamp = Clamp.load(str(model), precision="fp32")
    build_index(lib, tmp_path / "local", clamp, workers=0, progress=False)
    with Index(tmp_path / "local") as local:
        want = local.vectors()
        n_files = len({e["path"] for e in local.entries()})
    rows, ids, files = _stored(url)
    assert rows == ids == len(want) and files == n_files
    store = as_index(url)
    got = {h.id: h for h in store.search(next(iter(want.values())), len(want) + 5)}
    assert set(got) == set(want)
    q = next(iter(want.values()))
    for i, v in want.items():  # the store's cosine to a probe equals the local one
        assert abs(got[i].score - float(np.dot(v, q))) < 1e-4
    for i, v in list(want.items())[:5]:
        (best,) = store.search(v, 1)
        assert best.id == i or best.score > 0.9999
    store.close()


def test_engine_stores_every_score_once_and_rereads_nothing(tmp_path, library, url, model):
    rep = _finish(_engine(library, url, model, "--unit-files", "8", "--passages",
                          "--shards", str(tmp_path / "shards")))
    assert rep["parsed"] == N_TUNES + 3 and rep["failed"] == 1 and rep["passages"] > 0
    assert rep["index_s"] > 0  # a new store: loaded without HNSW, built once at the end
    assert len(list((tmp_path / "shards").glob("*.parquet"))) == rep["units"]
    assert not list((tmp_path / "shards").glob(".*.tmp"))
    _check_against_local(tmp_path, library, url, model)
    with as_index(url) as store:
        assert [f["path"].rsplit("/", 1)[-1] for f in store.failures()] == ["broken.mxl"]
    again = _finish(_engine(library, url, model))
    assert (again["parsed"], again["units"], again["unchanged"]) == (0, 0, N_TUNES + 3)
    (library / "tunes" / "t00.abc").unlink()
    (library / "tunes" / "t01.abc").write_text((library / "tunes" / "t02.abc").read_text())
    third = _finish(_engine(library, url, model))
    assert third["removed"] == 1 and third["parsed"] == 1
    assert _stored(url)[0] == _stored(url)[1] == third["entries"]


def test_a_killed_worker_and_dropped_connections_change_nothing(tmp_path, library, url, model):
    """One run, two faults: a worker SIGKILLed once 30% of the works are stored, and every
    database connection of the run terminated at 60%."""
    import psycopg

    proc = _engine(library, url, model, "--unit-files", "2", "--passages")
    killed, dropped = None, 0

    def faults(rows: int) -> None:
        nonlocal killed, dropped
        if rows >= 0.3 * N_TUNES and killed is None:
            workers = [p for p in psutil.process_iter(["cmdline"])
                       if "MapWorker" in " ".join(p.info["cmdline"] or [])]
            if workers:
                killed = workers[0].pid
                os.kill(killed, signal.SIGKILL)
        if rows >= 0.6 * N_TUNES and killed is not None and not dropped:
            with psycopg.connect(url, autocommit=True) as c:
                dropped = c.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                    "pid <> pg_backend_pid() AND datname = current_database()").fetchone()[0]
    _watch(proc, url, faults)
    rep = _finish(proc)
    assert killed is not None, "no worker was found to kill"
    assert dropped > 0, "no connection was dropped"
    _check_against_local(tmp_path, library, url, model)
    assert rep["entries"] == _stored(url)[1]


def test_a_node_removed_mid_run_changes_nothing(tmp_path, library, url, model, monkeypatch):
    """A cluster of two nodes on this machine, both bound to 127.0.0.1 (Ray's own multi-node
    test harness, ray.cluster_utils.Cluster); the worker node is removed, its processes killed,
    once 30% of the works are stored: the run goes on with the head node, every score once."""
    import ray._private.ray_constants as ray_constants
    from ray.cluster_utils import Cluster

    from clamp_core.index.cluster import LOCAL_IP

    if ray_constants.ENABLE_RAY_CLUSTER:  # Ray was imported before this module set it
        pytest.skip("Ray would take the machine's address: run this module on its own")
    # the nodes' workers inherit this process's environment, not the engine's
    monkeypatch.setenv("CLAMP_PRECISION", "fp32")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "node_ip_address": LOCAL_IP, "include_dashboard": False})
    removed = None
    try:
        node = cluster.add_node(num_cpus=1, node_ip_address=LOCAL_IP)
        assert cluster.address.startswith(LOCAL_IP + ":")
        proc = _engine(library, url, model, "--unit-files", "2", "--address", cluster.address)

        def remove(rows: int) -> None:
            nonlocal removed
            if rows >= 0.3 * N_TUNES and removed is None:
                cluster.remove_node(node, allow_graceful=False)
                removed = rows
        _watch(proc, url, remove)
        rep = _finish(proc)
    finally:
        cluster.shutdown()
    assert removed is not None and removed < N_TUNES, "the node went before the run ended"
    _check_against_local(tmp_path, library, url, model)
    assert rep["entries"] == _stored(url)[1] and rep["parsed"] == N_TUNES + 3
