"""The PostgreSQL store: a local index copied into PostgreSQL + pgvector answers as the local
index does (works, passages, filters, any key), stays in step when copied again, and is reached
from the CLI, the service and the widget by its URL. The test starts its own PostgreSQL 16 with
pgvector (the pgserver package) on a unix socket."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, pg_database

from clamp_core import Clamp, ClampError
from clamp_core.index import PgIndex, as_index
from clamp_core.index.library import Index

pytest.importorskip("pgserver", reason="pip install 'clamp-notation[test]'")
pytestmark = pytest.mark.cluster

FILES = ("lieder_6312216.mxl", "lieder_6053984.mxl", "lieder_5071622.mxl", "two_tunes.abc",
         "little_tune.krn", "small.mid")


@pytest.fixture(scope="module")
def clamp(tiny_model_dir) -> Clamp:
    return Clamp.load(str(tiny_model_dir), precision="fp32")


@pytest.fixture
def url(pg_server, request) -> str:
    """A database of its own for each test."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    return pg_database(pg_server, name)


def _library(folder: Path) -> Path:
    folder.mkdir()
    for name in FILES:
        shutil.copy(FIXTURES / "scores" / name, folder / name)
    return folder


def _local(tmp_path, clamp, passages: bool = True) -> tuple[Path, Path]:
    lib, index = _library(tmp_path / "lib"), tmp_path / "idx"
    with Index.create(index, clamp) as idx:
        if passages:
            idx.enable_passages(4, 2)
        idx.update(lib, clamp, workers=0, progress=False)
    return lib, index


def _same(a: list, b: list) -> None:
    assert [h.id for h in a] == [h.id for h in b]
    assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
    assert [h.path for h in a] == [h.path for h in b]
    assert [h.bars for h in a] == [h.bars for h in b]


def test_the_store_answers_as_the_local_index(tmp_path, clamp, url):
    lib, index = _local(tmp_path, clamp)
    with Index(index) as local, PgIndex.create_from(url, local) as store:
        copied = store.copy_from(local)
        assert copied["work"] == len(local) and copied["passage"] == len(local.passages())
        assert (len(store), store.count("passage")) == (len(local), len(local.passages()))
        built = dict(store.conn.execute("SELECT indexname, indexdef FROM pg_indexes "
                                        "WHERE schemaname = 'clamp'").fetchall())
        # both built after a bulk load
        assert {"clamp_rows_work_hnsw", "clamp_rows_passage_hnsw"} <= set(built)
        # the graph is built deeper than pgvector's default (text queries lose their way in it)
        assert "ef_construction='128'" in built["clamp_rows_work_hnsw"].replace(" ", "")
        queries = clamp.encode_texts(["a song", "a jig", "a slow air"])
        for q in queries:
            _same(store.search(q, 4), local.search(q, 4, exact=True))
            _same(store.search(q, 3, where=["metre=6/8"]), local.search(q, 3, where=["metre=6/8"]))
            _same(store.search_passages(q, 5), local.search_passages(q, 5))
        keys = clamp.query_vectors(clamp.score_abc(lib / "two_tunes.abc"), any_key=True)
        _same(store.search(keys, 5), local.search(keys, 5))
        # through the API, by URL, with its own file left out
        _same(clamp.similar(lib / FILES[0], url, k=3), clamp.similar(lib / FILES[0], local, k=3))
        _same(clamp.similar(lib / FILES[0], url, k=3, passages=True, bars="9-16"),
              clamp.similar(lib / FILES[0], local, k=3, passages=True, bars="9-16"))
        assert all(not h.path.endswith(FILES[0]) for h in clamp.similar(lib / FILES[0], url))


def test_copying_again_keeps_the_store_in_step(tmp_path, clamp, url):
    lib, index = _local(tmp_path, clamp)
    with Index(index) as local, PgIndex.create_from(url, local) as store:
        store.copy_from(local)
        before = (len(store), store.count("passage"))
        again = store.copy_from(local)
        assert again["removed"] == 0 and (len(store), store.count("passage")) == before
    (lib / "lieder_6053984.mxl").unlink()
    shutil.copy(FIXTURES / "scores" / "handmade.mscx", lib / "handmade.mscx")
    with Index.create(index, clamp) as local:
        local.update(lib, clamp, workers=0, progress=False)
    with Index(index) as local, PgIndex.create_from(url, local) as store:
        out = store.copy_from(local)
        assert out["removed"] > 0
        ids = {h.id for h in store.search(clamp.encode_texts(["x"])[0], 50)}
        assert "handmade.mscx" in ids and "lieder_6053984.mxl" not in ids
        assert (len(store), store.count("passage")) == (len(local), len(local.passages()))
        rows = store.conn.execute("SELECT count(*) FROM clamp.clamp_rows WHERE id LIKE "
                                  "'lieder_6053984.mxl%'").fetchone()[0]
        assert rows == 0  # its passages went with it


def test_cli_copies_and_searches_a_store(tmp_path, clamp, url, run_clamp):
    lib = _library(tmp_path / "lib")
    index = tmp_path / "idx"
    out = json.loads(run_clamp("index", str(lib), "--index", str(index), "--passages",
                               "--store", url, "--json", "--model", str(clamp.name)).stdout)
    assert out["copied"]["work"] == out["entries"] and out["copied"]["passage"] > 0
    assert ":***@" in out["copied"]["store"] or "@" not in out["copied"]["store"]
    local = json.loads(run_clamp("search", "a song", "--index", str(index), "--json").stdout)
    remote = json.loads(run_clamp("search", "a song", "--store", url, "--json").stdout)
    assert [h["id"] for h in remote["results"]] == [h["id"] for h in local["results"]]
    psg = json.loads(run_clamp("similar", str(lib / FILES[0]), "--store", url, "--passages",
                               "--bars", "9-16", "--json", "-k", "3").stdout)
    assert len(psg["results"]) == 3 and all(h["bars"] for h in psg["results"])
    # what is refused, in one line
    bad = run_clamp("search", "x", "--store", "postgresql://nobody@127.0.0.1:9/none",
                    check=False)
    assert bad.returncode == 1 and "cannot connect to the store" in bad.stderr
    assert "Traceback" not in bad.stderr
    bad = run_clamp("index", "--index", str(index), "--store", "/not/a/url", check=False)
    assert bad.returncode == 2 and "postgresql://" in bad.stderr
    base, query = url.split("?", 1)
    no_store = base.rsplit("/", 1)[0] + "/postgres?" + query  # a database, but no store in it
    bad = run_clamp("search", "x", "--store", no_store, check=False)
    assert bad.returncode == 1 and "no clamp store here" in bad.stderr, bad.stderr


def test_a_store_of_another_model_is_refused(tmp_path, clamp, url):
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    _, index = _local(tmp_path, clamp, passages=False)
    with Index(index) as local, PgIndex.create_from(url, local) as store:
        store.copy_from(local)
    save_model(create_model(preset("tiny"), seed=1), tmp_path / "other")
    other = Clamp.load(str(tmp_path / "other"), precision="fp32")
    with pytest.raises(ClampError, match="holds an index of model"):
        as_index(url).check_model(other)
    (tmp_path / "lib2").mkdir()
    with Index.create(tmp_path / "idx2", other) as idx2:
        idx2.update(tmp_path / "lib2", other, workers=0, progress=False)
        with pytest.raises(ClampError, match="holds an index of model"):
            PgIndex.create_from(url, idx2)
    with pytest.raises(ClampError, match="whole works only"):
        clamp.search("a song", url, passages=True)


def test_service_and_widget_take_a_store_url(tmp_path, clamp, url):
    from musescore_bridge.tasks import Engine

    _, index = _local(tmp_path, clamp)
    with Index(index) as local, PgIndex.create_from(url, local) as store:
        store.copy_from(local)
    engine = Engine(clamp)
    try:
        res = engine.run(engine.handle, "search", {"query": "a song", "index": url, "k": 2,
                                                   "passages": True})
        assert len(res["results"]) == 2 and res["results"][0]["bars"]
        assert engine.index_infos()[0]["path"] == url
    finally:
        engine.close()
    pytest.importorskip("anywidget")
    from jupyter_ext import ClampSearch

    w = ClampSearch(clamp, url, query="a song", k=3)
    assert len(w.results) == 3 and w.error == ""


def test_a_store_larger_than_hnsw_answers_well_is_scanned_exactly(tmp_path, clamp, url,
                                                                   monkeypatch):
    """Beyond HNSW_MAX_ROWS rows of a kind, searches scan exactly unless exact=False asks for
    the graph; the size is the one PostgreSQL recorded for the built graph."""
    from clamp_core.index import pgstore

    lib, index = _local(tmp_path, clamp)
    with Index(index) as local, PgIndex.create_from(url, local) as store:
        store.copy_from(local)
        assert store.approximate("work") and store.approximate("passage")
    monkeypatch.setattr(pgstore, "HNSW_MAX_ROWS", len(FILES) - 1)
    with Index(index) as local, PgIndex(url) as store:
        assert not store.approximate("work")  # more works than that
        assert store.approximate("passage") == (store.count("passage") <= len(FILES) - 1)
        q = clamp.encode_texts(["a slow air"])[0]
        _same(store.search(q, 4), local.search(q, 4, exact=True))
        _same(store.search(q, 4, exact=False), store.search(q, 4))  # tiny: the graph is exact
