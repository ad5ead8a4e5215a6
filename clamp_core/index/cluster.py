"""`clamp index ROOT --engine ray --store URL`: a library read and encoded by a Ray cluster into
a PostgreSQL store, every score exactly once.

The driver walks ROOT and compares each file with the store's record (size and mtime, else its
sha256), as the local index does; files gone from ROOT leave the store. New and changed files go
in work units of a fixed size whose ids come from their contents (path and sha256), so a re-run
of the same work forms the same units. Ray Data runs the units on model-holding workers (one per
CPU by default), with the same reading (``scan.parse_file``) and encoding code as the local
index; a worker writes its unit's Parquet shard (``--shards``: temp name, then rename) and
commits the unit's rows, file records and manifest row in one transaction that replaces what a
retried unit wrote before. A worker lost with its unit (killed, or its node gone from the
cluster) ends the round: the driver reads the manifest and runs the units not committed again
on the workers the cluster still has (up to ROUNDS rounds); a dropped database connection is
reconnected and the transaction retried; files already committed are never read again. The
run's counts come from the store, so units committed in a round that failed count too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clamp_core.errors import ClampError
from clamp_core.index.scan import file_state, walk_scores

log = logging.getLogger(__name__)

UNIT_FILES = 16         # files per work unit: small enough that a retried unit costs little
ROUNDS = 4              # runs of the units not committed yet, after a worker or node is lost
DB_RETRIES = 5          # attempts of a unit's transaction when the connection drops
LOCAL_IP = "127.0.0.1"  # a local cluster binds here, never to another address


@dataclass
class ClusterReport:
    root: str
    store: str
    scanned: int = 0
    unchanged: int = 0
    removed: int = 0
    units: int = 0
    parsed: int = 0       # files read this run
    added: int = 0        # works encoded this run
    passages: int = 0
    failed: int = 0       # entries that failed this run
    entries: int = 0      # works in the store after the run
    seconds: float = 0.0
    driver_s: float = 0.0  # model load, the walk and the comparison with the store
    ray_s: float = 0.0     # the units on the cluster, start-up included
    index_s: float = 0.0   # HNSW indexes built after a bulk load
    unit_reports: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("unit_reports")
        return out


def plan_units(todo: list[dict], unit_files: int) -> list[dict]:
    """Work units of ``unit_files`` files (sorted by path), each with an id made from its
    files' paths and hashes, so the same work always forms the same units."""
    todo = sorted(todo, key=lambda f: f["path"])
    units = []
    for i in range(0, len(todo), unit_files):
        files = todo[i:i + unit_files]
        digest = hashlib.sha256("\n".join(f"{f['path']}\t{f['sha256']}" for f in files)
                                .encode("utf-8")).hexdigest()[:24]
        units.append({"unit": digest, "files": json.dumps(files)})
    return units


def run_cluster_index(root: str | os.PathLike, store_url: str, model: str = "default",
                      address: str | None = None, workers: int | None = None,
                      unit_files: int = UNIT_FILES, passages: tuple[int, int] | None = None,
                      shards: str | os.PathLike | None = None, schema: str = "clamp",
                      ) -> ClusterReport:
    """Bring the store at ``store_url`` in line with the folder ``root`` (see module doc)."""
    from clamp_core.api import Clamp
    from clamp_core.index.pgstore import PgIndex

    t0 = time.perf_counter()
    root_path = Path(os.path.abspath(os.path.expanduser(root)))
    if not root_path.is_dir():
        raise ClampError(f"{root}: no such folder; pass the folder of scores to index")
    if unit_files < 1:
        raise ClampError("--unit-files must be at least 1")
    clamp = Clamp.load(model)
    with PgIndex.create_for_model(store_url, clamp, schema) as store:
        if store.root and store.root != str(root_path):
            raise ClampError(f"{store.folder}: this store covers {store.root}, not {root_path}; "
                             "use another store for another library")
        settings = {"width": passages[0], "hop": passages[1]} if passages else None
        have = store.passage_settings
        if have and settings and have != settings:
            raise ClampError(f"{store.folder}: this store keeps passages of {have['width']} bars "
                             f"every {have['hop']}; use another store for other settings")
        store.set_info({"root": str(root_path),
                        **({"passages": json.dumps(settings)} if settings and not have else {})})
        settings = store.passage_settings
        rep = ClusterReport(root=str(root_path), store=store.folder)
        known = store.files_on_record()
        found, todo = set(), []
        for ff in walk_scores(root_path):
            found.add(ff.rel)
            state, sha = file_state(ff, known.get(ff.rel))
            if state == "changed":  # a touched file's stored rows stand
                todo.append({"path": ff.rel, "sha256": sha, "size": ff.size,
                             "mtime_ns": ff.mtime_ns})
        rep.scanned = len(found)
        rep.unchanged = rep.scanned - len(todo)
        rep.driver_s = round(time.perf_counter() - t0, 3)
        rep.removed = store.remove_paths([p for p in known if p not in found])
        committed = store.committed_units()
        units = [u for u in plan_units(todo, unit_files) if u["unit"] not in committed]
        rep.units = len(units)
        if units and store.bulk(len(todo)):
            store.drop_ann()  # built once at the end: far cheaper than row by row
        if units:
            t_ray = time.perf_counter()
            rep.unit_reports = _run_units(units, {
                "store_url": store_url, "schema": schema, "model": model,
                "root": str(root_path), "passages": settings,
                "shards": str(Path(shards).resolve()) if shards else None}, address, workers,
                lambda: _committed(store_url, schema))
            rep.ray_s = round(time.perf_counter() - t_ray, 3)
    with PgIndex(store_url, schema) as fresh:  # a new connection: the first may have dropped
        if units:
            counts = fresh.unit_counts([u["unit"] for u in units])
            rep.parsed, rep.added = counts["files"], counts["entries"]
            rep.passages, rep.failed = counts["passages"], counts["failed"]
        t_index = time.perf_counter()
        fresh.ensure_ann()  # after a bulk load, or an earlier run that stopped before this
        rep.index_s = round(time.perf_counter() - t_index, 3)
        rep.entries = len(fresh)
    rep.seconds = round(time.perf_counter() - t0, 3)
    return rep


def _committed(store_url: str, schema: str) -> set[str]:
    """The units the store's manifest holds, over a new connection (the run's may be gone)."""
    from clamp_core.index.pgstore import PgIndex

    with PgIndex(store_url, schema) as store:
        return store.committed_units()


def _run_units(units: list[dict], config: dict, address: str | None,
               workers: int | None, committed) -> list[dict]:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ClampError("the ray engine needs Ray: "
                         "pip install 'clamp-notation[cluster]'") from None
    with _stdout_to_stderr():  # Ray prints worker deaths to stdout: keep it for our answer
        return _run_units_on_ray(ray, units, config, address, workers, committed)


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send this process's file descriptor 1 to stderr for a while (also what Ray's threads and
    C++ core print), so stdout carries only the command's own output (--json)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _run_units_on_ray(ray, units: list[dict], config: dict, address: str | None,
                      workers: int | None, committed) -> list[dict]:
    """The units' reports (those of rounds that ended well; see the module doc)."""
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # a local cluster of this machine, bound to the loopback address only
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            ray.init(address="local", num_cpus=workers or os.cpu_count() or 1,
                     include_dashboard=False, _node_ip_address=LOCAL_IP, log_to_driver=False)
        started = True
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        reports: list[dict] = []
        left = units
        for round_no in range(ROUNDS):
            if round_no:  # time for the cluster to declare a lost node dead (health checks)
                time.sleep(5 * 2 ** (round_no - 1))
            # workers on the CPUs alive now; after a loss, a pool that may start smaller, so a
            # worker with no CPU left for it (its node gone) holds nothing up
            cpus = _alive_cpus(ray)
            n = min(workers or cpus, cpus, len(left))
            try:
                ds = ray.data.from_items(left, override_num_blocks=len(left)).map_batches(
                    UnitWorker, fn_constructor_kwargs={"config": config}, batch_size=1,
                    concurrency=n if round_no == 0 else (1, n), num_cpus=1,
                    batch_format="pandas", max_restarts=0, max_task_retries=0)
                return reports + [json.loads(r["report"]) for r in ds.take_all()]
            except Exception as e:  # noqa: BLE001 - a worker (or its node) lost with a unit
                done = committed()
                left = [u for u in left if u["unit"] not in done]
                log.warning("a worker was lost (%s); %d work units left, running them again",
                            str(e).splitlines()[0][:200] if str(e) else type(e).__name__,
                            len(left))
                if not left:
                    return reports
        raise ClampError(f"{len(left)} work units were not committed after {ROUNDS} rounds "
                         "(workers lost each time); run the same command again to go on")
    finally:
        if started:
            ray.shutdown()


def _alive_cpus(ray) -> int:
    """CPUs of the cluster's nodes that are alive."""
    return max(1, int(sum(n.get("Resources", {}).get("CPU", 0) for n in ray.nodes()
                          if n.get("Alive"))))


class UnitWorker:
    """A Ray Data worker: holds the model and a store connection, reads, encodes and commits
    one work unit per call."""

    def __init__(self, config: dict):
        from clamp_core.api import Clamp

        self.config = config
        self.clamp = Clamp.load(config["model"])
        self.conn = None

    def __call__(self, batch):
        import pandas as pd

        reports = [json.dumps(self.run_unit(u, json.loads(f)))
                   for u, f in zip(batch["unit"], batch["files"], strict=True)]
        return pd.DataFrame({"report": reports})

    def run_unit(self, unit: str, files: list[dict]) -> dict:
        from clamp_core.index.library import encode_items
        from clamp_core.index.passages import passage_items
        from clamp_core.index.pgstore import row_tuple
        from clamp_core.index.scan import parse_file

        cfg, dim = self.config, int(self.clamp.dim)
        t0 = time.perf_counter()
        read = [(f, parse_file(str(Path(cfg["root"]) / f["path"]), f["path"])) for f in files]
        t1 = time.perf_counter()
        items = [it for _, its in read for it in its]
        vecs = iter(encode_items(self.clamp, items, dim))  # marks items the model cannot take
        rows, n_ok, n_passages = [], 0, 0
        for f, its in read:
            for it in its:
                if it["status"] == "ok":
                    rows.append(row_tuple("work", it, f["path"], f["sha256"], next(vecs)))
                    n_ok += 1
        if cfg["passages"]:
            for f, its in read:
                cuts = [p for it in its for p in passage_items(it, **cfg["passages"])]
                pvecs = iter(encode_items(self.clamp, cuts, dim))
                for p in cuts:
                    if p["status"] == "ok":
                        rows.append(row_tuple("passage", p, f["path"], f["sha256"], next(pvecs)))
                        n_passages += 1
        records = [{**f, "errors": [{"id": it["id"], "tune": it.get("tune"),
                                     "error": it.get("error")}
                                    for it in its if it["status"] != "ok"]} for f, its in read]
        t2 = time.perf_counter()
        if cfg["shards"]:
            _write_shard(Path(cfg["shards"]), unit, rows)
        self._commit(unit, records, rows)
        t3 = time.perf_counter()
        return {"unit": unit, "files": len(files), "entries": n_ok, "passages": n_passages,
                "failed": sum(len(r["errors"]) for r in records), "pid": os.getpid(),
                "read_s": round(t1 - t0, 4), "encode_s": round(t2 - t1, 4),
                "commit_s": round(t3 - t2, 4)}

    def _commit(self, unit: str, records: list[dict], rows: list[tuple]) -> None:
        import psycopg

        from clamp_core.index.pgstore import commit_unit, connect_store

        for attempt in range(DB_RETRIES):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = connect_store(self.config["store_url"])
                commit_unit(self.conn, self.config["schema"], unit, records, rows)
                return
            except (psycopg.OperationalError, psycopg.InterfaceError, ClampError) as e:
                log.warning("unit %s: database connection lost (%s); retrying", unit, e)
                try:
                    if self.conn is not None:
                        self.conn.close()
                except Exception:  # noqa: BLE001 - the connection is gone either way
                    pass
                self.conn = None
                if attempt == DB_RETRIES - 1:
                    raise
                time.sleep(min(8.0, 0.5 * 2 ** attempt))


def _write_shard(folder: Path, unit: str, rows: list[tuple]) -> None:
    """The unit's rows as Parquet, written under a temporary name and renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    cols = ("kind", "id", "path", "tune", "sha256", "title", "composer", "meta", "embedding")
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
    tmp = folder / f".{unit}.{os.getpid()}.parquet.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, folder / f"{unit}.parquet")
