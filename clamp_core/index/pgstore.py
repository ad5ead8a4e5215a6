"""A library index in PostgreSQL with pgvector, for libraries beyond one machine's folder.

One store = a schema of two tables in a database: ``clamp_info`` (model, fingerprint, dim,
library root, passage settings) and ``clamp_rows`` (one row per work or passage: id, kind, path,
tune, title, composer, the facts as JSONB, the unit embedding as ``vector(dim)``), with an HNSW
index (cosine) per kind. ``copy_from`` brings a local index's rows in (upsert by id, rows the
local index no longer has removed, all in one transaction), so a store is the local index served
from a database server. It answers ``search`` / ``search_passages`` as ``Index`` does, so the
API, the CLI (``--store URL``), the service and the widgets take either.

Filters (``where``) run over the facts of iteratively deeper HNSW candidates (4x more each round,
then an exact scan), the way pgvector's own iterative scans widen a filtered search.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

import numpy as np

from clamp_core.errors import ClampError
from clamp_core.index.filters import matches_all, parse_conditions
from clamp_core.index.hits import Hit
from clamp_core.index.passages import distinct, rank_by_notes
from clamp_core.index.paths import in_root, under_root

log = logging.getLogger(__name__)

URL_SCHEMES = ("postgresql://", "postgres://")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# HNSW candidates every search looks at: the most pgvector returns (deeper searches scan
# exactly). On the model's own vectors (100k rows, bench/results/hnsw_recall.md) a similar-work
# query finds the true top 10 at any depth, but a text query lies off the music vectors' surface,
# where the graph walk gets lost (with the build below): 0.48 of its top 10 at pgvector's default
# 40, 0.72 at 200, 0.95 at 1000 (p50 18 ms; a scan takes 48 ms, scale_out.md)
EF_SEARCH = 1000
# Graph build: ef_construction 128 (pgvector's default 64) lifts a text query's recall at depth
# 1000 from 0.85 to 0.95 for a 1.5 times longer build; m 32 gained less and cost more
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 128
# Beyond this many rows of a kind the store scans exactly unless asked for the approximate
# search. pgvector 0.6's graph of the model's vectors, built as above, at depth 1000: a text
# query's top 10 found at 0.91 / 0.77 / 0.105 at 100k / 300k / 1M rows, the answers' mean
# cosine 0.003 / 0.004 / 0.029 below the true top 10's (1M: below the true top 50's); similar-
# work queries 1.0 / 1.0 / 0.77. FAISS's HNSW on the same 1M rows finds 0.56 and 0.98, so it is
# pgvector's graph that gives way (bench/results/hnsw_recall.md). An exact scan of 1M rows
# takes about 430 ms (scale_out.md).
HNSW_MAX_ROWS = 300_000
COPY_BATCH = 1000


def is_store_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(URL_SCHEMES)


def vector_text(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(v, dtype=np.float32).ravel()) + "]"


def connect_store(url: str):
    try:
        import psycopg
    except ImportError:
        raise ClampError("a PostgreSQL store needs psycopg: pip install "
                         "'clamp-notation[cluster]'") from None
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ClampError(f"cannot connect to the store ({first}); check the URL and that the "
                         "server runs") from None


class PgIndex:
    """A store opened for search, or (``write=True``) for copying rows in."""

    def __init__(self, url: str, schema: str = "clamp", write: bool = False):
        if not _SCHEMA_NAME.match(schema):
            raise ClampError(f"store schema {schema!r}: use lower-case letters, digits and _")
        self.url, self.schema, self.write = url, schema, write
        self.folder = _redacted(url)  # what messages and JSON name the store by
        self.conn = connect_store(url)
        info = self._info()
        if info is None:
            raise ClampError(f"{self.folder}: no clamp store here (schema {schema}); copy an "
                             f"index into it with `clamp index --index LOCAL --store URL`")
        self.info = info
        self.dim = int(info["dim"])
        self._graph_rows: dict[str, int] = {}

    # -- creation ---------------------------------------------------------------------------
    @classmethod
    def create_from(cls, url: str, local, schema: str = "clamp") -> PgIndex:
        """Open the store at ``url`` for the local index ``local``'s model, creating its tables
        if new (pgvector's extension too, where the user may)."""
        return cls.create(url, {"model": local.info["model"],
                                "model_name": local.info.get("model_name", local.info["model"]),
                                "model_fingerprint": local.info["model_fingerprint"],
                                "dim": int(local.dim)}, schema)

    @classmethod
    def create_for_model(cls, url: str, clamp, schema: str = "clamp") -> PgIndex:
        """Open (or create) the store at ``url`` for a loaded model (the cluster engine)."""
        from clamp_core.index.workers import model_fingerprint, model_reference

        return cls.create(url, {"model": model_reference(clamp), "model_name": str(clamp.name),
                                "model_fingerprint": model_fingerprint(clamp),
                                "dim": int(clamp.dim)}, schema)

    @classmethod
    def create(cls, url: str, model: dict, schema: str = "clamp") -> PgIndex:
        """Open the store at ``url`` for ``model`` (model, model_name, model_fingerprint,
        dim), creating its tables if new."""
        conn = connect_store(url)
        s = schema
        if not _SCHEMA_NAME.match(s):
            raise ClampError(f"store schema {s!r}: use lower-case letters, digits and _")
        dim = int(model["dim"])
        with conn.transaction():
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except Exception as e:  # noqa: BLE001 - name what is missing, in one line
                raise ClampError(f"{_redacted(url)}: the pgvector extension is not available "
                                 f"({type(e).__name__}); install pgvector on the server") from None
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {s}.clamp_info("
                         "key text PRIMARY KEY, value text NOT NULL)")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {s}.clamp_rows("
                         "kind text NOT NULL, id text NOT NULL, path text NOT NULL, tune integer, "
                         "sha256 text NOT NULL, title text, composer text, meta jsonb, "
                         f"embedding vector({dim}) NOT NULL, PRIMARY KEY (kind, id))")
            # the files the cluster engine read (one row each, failures with their reasons) and
            # the work units it committed (its run manifest)
            conn.execute(f"CREATE TABLE IF NOT EXISTS {s}.clamp_files(path text PRIMARY KEY, "
                         "sha256 text NOT NULL, size bigint NOT NULL, mtime_ns bigint NOT NULL, "
                         "unit text NOT NULL, errors jsonb NOT NULL DEFAULT '[]')")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {s}.clamp_units(unit text PRIMARY KEY, "
                         "files integer NOT NULL, committed_at timestamptz NOT NULL DEFAULT now())")
            have = dict(conn.execute(f"SELECT key, value FROM {s}.clamp_info").fetchall())
            if have and (have.get("model_fingerprint") != model["model_fingerprint"]
                         or int(have.get("dim", 0)) != dim):
                raise ClampError(f"{_redacted(url)}: this store holds an index of model "
                                 f"{have.get('model')}, not {model['model']}; use another "
                                 "--store schema or database")
            if not have:
                values = {"format": "1", "model": model["model"],
                          "model_name": model["model_name"],
                          "model_fingerprint": model["model_fingerprint"], "dim": str(dim)}
                conn.cursor().executemany(
                    f"INSERT INTO {s}.clamp_info(key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO NOTHING", list(values.items()))
        conn.close()
        return cls(url, schema, write=True)

    def _info(self) -> dict | None:
        try:
            rows = self.conn.execute(
                f"SELECT key, value FROM {self.schema}.clamp_info").fetchall()
        except Exception:  # noqa: BLE001 - no such table: not a store
            return None
        return dict(rows) or None

    def close(self) -> None:
        self.conn.close()

    # -- the HNSW indexes ------------------------------------------------------------------------
    def drop_ann(self) -> None:
        """Drop the HNSW indexes before a bulk load (each insert into HNSW costs about ten
        times the row itself); searches scan exactly until ``ensure_ann`` builds them again."""
        for kind in ("work", "passage"):
            self.conn.execute(f"DROP INDEX IF EXISTS {self.schema}.clamp_rows_{kind}_hnsw")

    def ensure_ann(self) -> None:
        """Build the HNSW index (cosine) of each kind where it is missing."""
        for kind in ("work", "passage"):
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS clamp_rows_{kind}_hnsw ON "
                              f"{self.schema}.clamp_rows USING hnsw (embedding vector_cosine_ops) "
                              f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                              f"WHERE kind = '{kind}'")

    def bulk(self, rows: int) -> bool:
        """Whether writing ``rows`` is a bulk load: loading without the HNSW indexes and building
        them after is then faster than keeping them up to date row by row."""
        have = self.conn.execute(f"SELECT count(*) FROM {self.schema}.clamp_rows").fetchone()[0]
        return rows >= max(1000, have // 2)

    def __enter__(self) -> PgIndex:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- facts ---------------------------------------------------------------------------------
    @property
    def model(self) -> str:
        return self.info["model"]

    @property
    def root(self) -> str | None:
        return self.info.get("root")

    @property
    def passage_settings(self) -> dict | None:
        raw = self.info.get("passages")
        return json.loads(raw) if raw else None

    def check_model(self, clamp) -> None:
        from clamp_core.index.workers import model_fingerprint

        if model_fingerprint(clamp) != self.info["model_fingerprint"] or int(clamp.dim) != self.dim:
            raise ClampError(f"{self.folder}: this store holds an index of model {self.model}, "
                             f"not {clamp.name}; search it with that model (the default)")

    def count(self, kind: str = "work") -> int:
        q = f"SELECT count(*) FROM {self.schema}.clamp_rows WHERE kind = %s"
        return int(self.conn.execute(q, (kind,)).fetchone()[0])

    def __len__(self) -> int:
        return self.count("work")

    def approximate(self, kind: str = "work") -> bool:
        """Whether a search of ``kind`` uses the HNSW index unless told otherwise: only while
        its graph holds at most ``HNSW_MAX_ROWS`` rows (the size PostgreSQL recorded for it; a
        count where it has none). Read once per connection."""
        if kind not in self._graph_rows:
            row = self.conn.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)",
                                    (f"{self.schema}.clamp_rows_{kind}_hnsw",)).fetchone()
            n = int(row[0]) if row and row[0] is not None and row[0] >= 0 else self.count(kind)
            self._graph_rows[kind] = n
            if n > HNSW_MAX_ROWS:
                log.info("%s: %d %s rows, more than HNSW finds well (%d): searching exactly "
                         "(exact=False for the approximate search)", self.folder, n, kind,
                         HNSW_MAX_ROWS)
        return self._graph_rows[kind] <= HNSW_MAX_ROWS

    def _abs(self, rel: str) -> str:
        return in_root(rel, self.root)

    def rel_path(self, path: str | os.PathLike) -> str | None:
        """``path`` as this index names it, or None if it lies outside the library root."""
        return under_root(path, self.root)

    def passages(self) -> PgIndex:
        if not self.passage_settings:
            raise ClampError(f"{self.folder}: this store holds whole works only; build the local "
                             "index with --passages and copy it in again")
        return self

    # -- copy ----------------------------------------------------------------------------------
    def copy_from(self, local) -> dict[str, int]:
        """Make the store hold exactly the ok rows of the local index (works, and passages when
        it keeps them): upserts by (kind, id), deletes the rest, in one transaction."""
        if not self.write:
            raise ClampError("open the store with PgIndex.create_from(...) to copy into it")
        if local.info["model_fingerprint"] != self.info["model_fingerprint"]:
            raise ClampError(f"{self.folder}: this store holds an index of model {self.model}, "
                             f"not {local.model}; use another --store schema or database")
        sources = [("work", local)]
        if local.passage_settings:
            sources.append(("passage", local.passages()))
        done = {"work": 0, "passage": 0, "removed": 0}
        s = self.schema
        if self.bulk(sum(len(idx) for _, idx in sources)):
            self.drop_ann()
        with self.conn.transaction():
            self.conn.execute("CREATE TEMP TABLE clamp_keep(kind text, id text) ON COMMIT DROP")
            for kind, idx in sources:
                batch: list[tuple] = []
                for row in idx.rows_with_vectors():
                    batch.append((kind, row["id"], row["path"], row["tune"], row["sha256"],
                                  row["title"], row["composer"],
                                  json.dumps(row["meta"] or {}, ensure_ascii=False),
                                  vector_text(row["vector"])))
                    if len(batch) >= COPY_BATCH:
                        self._upsert(batch)
                        done[kind] += len(batch)
                        batch = []
                if batch:
                    self._upsert(batch)
                    done[kind] += len(batch)
            deleted = self.conn.execute(
                f"DELETE FROM {s}.clamp_rows r WHERE NOT EXISTS (SELECT 1 FROM clamp_keep k "
                "WHERE k.kind = r.kind AND k.id = r.id)")
            done["removed"] = deleted.rowcount
            values = {"root": local.root or "",
                      "passages": json.dumps(local.passage_settings or {}) if
                      local.passage_settings else ""}
            self.conn.cursor().executemany(
                f"INSERT INTO {s}.clamp_info(key, value) VALUES (%s, %s) ON CONFLICT (key) "
                "DO UPDATE SET value = EXCLUDED.value", list(values.items()))
        self.info = self._info() or self.info
        self.ensure_ann()
        return done

    def _upsert(self, batch: list[tuple]) -> None:
        s = self.schema
        cur = self.conn.cursor()
        cur.executemany(
            f"INSERT INTO {s}.clamp_rows(kind, id, path, tune, sha256, title, composer, meta, "
            "embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::vector) "
            "ON CONFLICT (kind, id) DO UPDATE SET path = EXCLUDED.path, tune = EXCLUDED.tune, "
            "sha256 = EXCLUDED.sha256, title = EXCLUDED.title, composer = EXCLUDED.composer, "
            "meta = EXCLUDED.meta, embedding = EXCLUDED.embedding "
            "WHERE clamp_rows.sha256 IS DISTINCT FROM EXCLUDED.sha256 "
            "OR clamp_rows.meta IS DISTINCT FROM EXCLUDED.meta", batch)
        cur.executemany("INSERT INTO clamp_keep(kind, id) VALUES (%s, %s)",
                        [(b[0], b[1]) for b in batch])

    # -- direct writes (the cluster engine) ------------------------------------------------------
    def files_on_record(self) -> dict[str, tuple[str, int, int]]:
        """path -> (sha256, size, mtime_ns) of every file the engine committed."""
        q = f"SELECT path, sha256, size, mtime_ns FROM {self.schema}.clamp_files"
        return {p: (sha, int(z), int(m)) for p, sha, z, m in self.conn.execute(q).fetchall()}

    def committed_units(self) -> set[str]:
        return {u for (u,) in self.conn.execute(f"SELECT unit FROM {self.schema}.clamp_units")}

    def unit_counts(self, units: list[str]) -> dict[str, int]:
        """Files, work rows, passage rows and failed entries of committed units."""
        s = self.schema
        files, failed = self.conn.execute(
            f"SELECT count(*), coalesce(sum(jsonb_array_length(errors)), 0) FROM {s}.clamp_files "
            "WHERE unit = ANY(%s)", (units,)).fetchone()
        kinds = dict(self.conn.execute(
            f"SELECT r.kind, count(*) FROM {s}.clamp_rows r JOIN {s}.clamp_files f "
            "ON f.path = r.path WHERE f.unit = ANY(%s) GROUP BY r.kind", (units,)).fetchall())
        return {"files": int(files), "entries": int(kinds.get("work", 0)),
                "passages": int(kinds.get("passage", 0)), "failed": int(failed)}

    def set_info(self, values: dict[str, str]) -> None:
        with self.conn.transaction():
            self.conn.cursor().executemany(
                f"INSERT INTO {self.schema}.clamp_info(key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", list(values.items()))
        self.info = self._info() or self.info

    def remove_paths(self, paths: list[str]) -> int:
        """Forget files gone from the library (their rows and records), in one transaction."""
        if not paths:
            return 0
        s = self.schema
        with self.conn.transaction():
            self.conn.execute(f"DELETE FROM {s}.clamp_rows WHERE path = ANY(%s)", (paths,))
            n = self.conn.execute(f"DELETE FROM {s}.clamp_files WHERE path = ANY(%s)",
                                  (paths,)).rowcount
        return n

    def failures(self) -> list[dict]:
        q = (f"SELECT path, errors FROM {self.schema}.clamp_files WHERE errors <> '[]'::jsonb "
             "ORDER BY path")
        out = []
        for path, errors in self.conn.execute(q).fetchall():
            for e in (errors if isinstance(errors, list) else json.loads(errors)):
                out.append({"id": e.get("id", path), "path": self._abs(path),
                            "tune": e.get("tune"), "error": e.get("error")})
        return out

    # -- search --------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int = 10, exclude_paths: set[str] | None = None,
               exact: bool | None = None, where=None, kind: str = "work") -> list:
        """The k rows nearest a unit query (cosine), best first, as ``Index.search`` answers:
        HNSW, or an exact scan (``exact``; by default when the store is larger than HNSW
        answers well, a query of several keys, or when filters need more candidates than HNSW
        returns)."""
        q = np.asarray(query, dtype=np.float32)
        q = q.reshape(-1) if q.ndim < 2 or len(q) == 1 else q
        if q.shape[-1] != self.dim:
            raise ClampError(f"query has {q.shape[-1]} dimensions, the store {self.dim}; "
                             "use the model the store was built with")
        conditions = parse_conditions(where)
        if k <= 0:
            return []
        excluded = set(exclude_paths or ())
        want = k + 16 if conditions or excluded else k
        while True:  # several keys (q.ndim 2): each row by its best match, scanned exactly
            exact_now = (bool(exact) or (exact is None and not self.approximate(kind))
                         or want > EF_SEARCH or q.ndim == 2)
            rows = self._nearest(q, want, kind, exact_now)
            hits = self._hits(rows, k, conditions, excluded)
            if len(hits) >= k or len(rows) < want or exact_now:
                return hits
            want *= 4

    def search_passages(self, query: np.ndarray, k: int = 10, where=None, skip=None,
                        prints: list[list[str]] | None = None) -> list:
        self.passages()
        want = max(4 * k, k + 16)
        while True:
            hits = self.search(query, want, where=where, kind="passage")
            kept = distinct(rank_by_notes(hits, prints), k, skip)
            # count(*) of a large table is a scan: asked only when a deeper round is in question
            if len(kept) == k or len(hits) < want or want >= self.count("passage"):
                return kept
            want *= 4

    def _nearest(self, q: np.ndarray, n: int, kind: str, exact: bool) -> list[tuple]:
        """The n nearest rows of a kind to ``q`` [D] (or to the best of ``q`` [M, D], computed
        by the server): by HNSW, or (``exact``) by a scan. The exact query orders by an
        expression no index serves, so no cached plan of the HNSW query (psycopg prepares a
        query run often) can answer it."""
        s = self.schema
        vecs = [vector_text(v) for v in (q if q.ndim == 2 else [q])]
        one = "embedding <=> %s::vector"  # the form an HNSW index serves
        dist = one if len(vecs) == 1 else "LEAST(" + ", ".join([one] * len(vecs)) + ")"
        order = f"({dist}) + 0" if exact else dist  # bracketed: + binds before <=>
        with self.conn.transaction():
            if not exact:
                self.conn.execute(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}")
            return self.conn.execute(
                f"SELECT id, path, tune, title, composer, meta, 1 - ({dist}) "
                f"FROM {s}.clamp_rows WHERE kind = %s ORDER BY {order} LIMIT %s",
                (*vecs, kind, *vecs, n)).fetchall()

    def _hits(self, rows: list[tuple], k: int, conditions: list, excluded: set[str]) -> list:
        hits = []
        for rid, path, tune, title, composer, meta, score in rows:
            facts = meta if isinstance(meta, dict) else (json.loads(meta) if meta else {})
            if path in excluded or (conditions and not matches_all(conditions, facts)):
                continue
            bars = (facts.get("passage") or {}).get("bars")
            hits.append(Hit(len(hits) + 1, round(float(score), 6), self._abs(path), tune, title,
                            composer, rid, facts, bars=list(bars) if bars else None))
            if len(hits) == k:
                break
        return hits


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def commit_unit(conn, schema: str, unit: str, files: list[dict], rows: list[tuple]) -> None:
    """One work unit in one transaction: the rows of its files replaced (a retried unit
    rewrites the same rows, never adds), its files recorded, the unit marked committed."""
    paths = [f["path"] for f in files]
    with conn.transaction():
        conn.execute(f"DELETE FROM {schema}.clamp_rows WHERE path = ANY(%s)", (paths,))
        if rows:
            conn.cursor().executemany(
                f"INSERT INTO {schema}.clamp_rows(kind, id, path, tune, sha256, title, composer, "
                "meta, embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::vector) "
                "ON CONFLICT (kind, id) DO UPDATE SET path = EXCLUDED.path, "
                "tune = EXCLUDED.tune, sha256 = EXCLUDED.sha256, title = EXCLUDED.title, "
                "composer = EXCLUDED.composer, meta = EXCLUDED.meta, "
                "embedding = EXCLUDED.embedding", rows)
        conn.cursor().executemany(
            f"INSERT INTO {schema}.clamp_files(path, sha256, size, mtime_ns, unit, errors) "
            "VALUES (%s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (path) DO UPDATE SET "
            "sha256 = EXCLUDED.sha256, size = EXCLUDED.size, mtime_ns = EXCLUDED.mtime_ns, "
            "unit = EXCLUDED.unit, errors = EXCLUDED.errors",
            [(f["path"], f["sha256"], f["size"], f["mtime_ns"], unit,
              json.dumps(f["errors"], ensure_ascii=False)) for f in files])
        conn.execute(f"INSERT INTO {schema}.clamp_units(unit, files) VALUES (%s, %s) "
                     "ON CONFLICT (unit) DO NOTHING", (unit, len(files)))


def row_tuple(kind: str, item: dict, rel: str, sha: str, vector: np.ndarray) -> tuple:
    """A clamp_rows row of a read (ok) item."""
    return (kind, item["id"], rel, item.get("tune"), sha, item.get("title"), item.get("composer"),
            json.dumps(item.get("meta") or {}, ensure_ascii=False), vector_text(vector))
