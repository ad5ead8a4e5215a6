"""The local service with the real default model: auth, Host and Origin checks, caps, malformed
input, every endpoint on real Lieder scores, and many concurrent clients."""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import threading
import time
from pathlib import Path

import bridge_calibration
import pytest
from bridge_calibration import FAMILIAR, RELEVANCE, UNFAMILIAR
from bridge_util import (
    SCORES,
    cursor_payload,
    musicxml_text,
    mxl_payload,
    raw_request,
    shared_clamp,
)

from clamp_core.caption import TUNE_GENRES
from clamp_core.errors import ClampError
from musescore_bridge.discovery import read_discovery
from musescore_bridge.service import host_header_ok, request, start_service

calibration = bridge_calibration.calibration
calibrated_clamp = bridge_calibration.calibrated_clamp

CAP = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A real index of the Lieder fixtures, built with the shared model."""
    from clamp_core.index.library import Index

    root = tmp_path_factory.mktemp("lib")
    for name in ("lieder_6053984.mxl", "lieder_5071622.mxl", "small.mid", "two_tunes.abc"):
        (root / name).write_bytes((SCORES / name).read_bytes())
    folder = tmp_path_factory.mktemp("idx") / "index"
    clamp = shared_clamp()
    with Index.create(folder, clamp) as idx:
        idx.update(root, clamp, workers=0, progress=False)
    return folder


@pytest.fixture(scope="module")
def svc(tmp_path_factory, library):
    disc = tmp_path_factory.mktemp("cfg") / "clamp-notation" / "service.json"
    handle = start_service(shared_clamp(), max_body_bytes=CAP, discovery_file=disc,
                           indexes=[str(library)])
    yield handle
    handle.stop()
    assert not disc.exists(), "the discovery file must go when the service stops"


def auth(svc) -> dict:
    return {"Host": f"127.0.0.1:{svc.port}", "Authorization": f"Bearer {svc.token}"}


def test_discovery_file_is_private_and_complete(svc):
    path = svc.discovery_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    info = read_discovery(path)
    assert info["url"] == svc.url and info["token"] == svc.token and info["pid"] == os.getpid()
    assert info["version"] and info["model"] == "default"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic abc", "Bearer", "token"])
def test_missing_or_wrong_token_is_401(svc, header):
    headers = {"Host": f"127.0.0.1:{svc.port}"}
    if header is not None:
        headers["Authorization"] = header
    for method, path in (("GET", "/health"), ("GET", "/info"), ("POST", "/caption")):
        body = b"{}" if method == "POST" else None
        h = {**headers, "Content-Length": "2"} if body else headers
        status, data, resp_headers = raw_request(svc.url, method, path, body, h)
        assert status == 401 and data["ok"] is False and "token" in data["error"]
        assert resp_headers.get("WWW-Authenticate", "").startswith("Bearer")


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example",
                                  "192.168.1.5", None])
def test_foreign_host_is_refused(svc, host):
    headers = {"Authorization": f"Bearer {svc.token}"}
    if host is not None:
        headers["Host"] = host
    status, data, _ = raw_request(svc.url, "GET", "/health", None, headers)
    assert status == 403 and "Host" in data["error"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "LOCALHOST:1234", "[::1]:99"])
def test_loopback_host_names_pass(svc, host):
    status, data, _ = raw_request(svc.url, "GET", "/health", None,
                                  {**auth(svc), "Host": host})
    assert status == 200 and data["ok"] is True


def test_browser_origin_gets_no_cors(svc):
    status, _data, headers = raw_request(svc.url, "GET", "/health", None,
                                        {**auth(svc), "Origin": "http://evil.example"})
    assert status == 403
    assert not any(k.lower().startswith("access-control") for k in headers)
    status, _, headers = raw_request(svc.url, "OPTIONS", "/caption", None, auth(svc))
    assert status == 405 and not any(k.lower().startswith("access-control") for k in headers)


def test_body_over_the_cap_is_413_before_reading_it(svc):
    status, data, _ = raw_request(svc.url, "POST", "/caption", b"",
                                  {**auth(svc), "Content-Type": "application/json",
                                   "Content-Length": str(CAP + 1)})
    assert status == 413 and str(CAP) in data["error"]
    big = json.dumps({"musicxml": "x" * (CAP + 10)}).encode()
    try:
        status, data, _ = raw_request(svc.url, "POST", "/caption", big,
                                      {**auth(svc), "Content-Type": "application/json",
                                       "Content-Length": str(len(big))})
        assert status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered 413 and closed while the client was still sending
    assert svc.request("GET", "/health")[0] == 200  # and it keeps serving


@pytest.mark.parametrize("body,ctype,needle", [
    (b"{not json", "application/json", "not valid JSON"),
    (b"[1, 2]", "application/json", "must be an object"),
    (b"{}", "application/json", "exactly one score"),
    (json.dumps({"musicxml": "<score-partwise><part"}).encode(), "application/json", "MusicXML"),
    (json.dumps({"musicxml": 5}).encode(), "application/json", "string"),
    (json.dumps({"musicxml_base64": "%%%"}).encode(), "application/json", "base64"),
    (json.dumps({"cursor": {"format": "other"}}).encode(), "application/json", "cursor-walk"),
    (json.dumps({"cursor": [1]}).encode(), "application/json", "cursor-walk"),
    (b"<not xml", "application/vnd.recordare.musicxml+xml", "MusicXML"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><score-partwise/>', "text/xml", "ntit"),
])
def test_malformed_input_is_400(svc, body, ctype, needle):
    status, data, _ = raw_request(svc.url, "POST", "/caption", body,
                                  {**auth(svc), "Content-Type": ctype,
                                   "Content-Length": str(len(body))})
    assert status == 400 and data["ok"] is False
    assert needle.lower() in data["error"].lower(), data["error"]
    assert "\n" not in data["error"]


@pytest.mark.parametrize("options,needle", [
    ({}, "exactly one of"),
    ({"labels": ["only one"]}, "two different labels"),
    ({"labels": "a, a"}, "two different labels"),
    ({"labels": [1, 2]}, "list of strings"),
    ({"label_set": "../../etc/passwd"}, "unknown label set"),
    ({"labels": "a,b", "label_set": "genres"}, "exactly one of"),
])
def test_bad_classify_options_are_400(svc, options, needle):
    status, data = svc.request("POST", "/classify", {**mxl_payload(), **options})
    assert status == 400 and needle in data["error"], data


def test_unknown_paths_methods_and_bodies(svc):
    h = auth(svc)
    assert raw_request(svc.url, "GET", "/nope", None, h)[0] == 404
    assert raw_request(svc.url, "GET", "/caption", None, h)[0] == 405
    assert raw_request(svc.url, "DELETE", "/caption", None, h)[0] == 405
    assert raw_request(svc.url, "POST", "/caption", None, h)[0] == 411
    assert raw_request(svc.url, "POST", "/nope", b"{}", {**h, "Content-Length": "2"})[0] == 404
    status, data, _ = raw_request(svc.url, "POST", "/caption", b"abc",
                                  {**h, "Content-Type": "image/png", "Content-Length": "3"})
    assert status == 415 and "application/json" in data["error"]
    status, data = svc.request("POST", "/similar", {**mxl_payload(), "index": "/no/such/index"})
    assert status == 400 and "clamp index" in data["error"]
    status, data = svc.request("POST", "/similar", {**mxl_payload(), "index": "x", "k": 0})
    assert status == 400 and "'k'" in data["error"]


def test_health_and_info(svc, library):
    status, data = svc.request("GET", "/health")
    assert status == 200 and data == {"ok": True, "version": data["version"], "pid": os.getpid()}
    status, info = svc.request("GET", "/info")
    assert status == 200 and info["model"] == "default" and info["dim"] == shared_clamp().dim
    assert "art song" in info["label_sets"]["genres"]
    assert info["indexes"][0]["path"] == os.path.realpath(library)
    assert info["limits"]["max_body_bytes"] == CAP


def test_caption_from_every_input_kind_agrees(svc):
    """writeScore MusicXML text, .mxl bytes, a raw upload and the cursor walk of the same song."""
    text = musicxml_text()
    results = {}
    status, results["musicxml"] = svc.request("POST", "/caption", {"musicxml": text})
    assert status == 200
    status, results["mxl"] = svc.request("POST", "/caption", mxl_payload())
    assert status == 200
    body = text.encode("utf-8")
    status, results["raw"], _ = raw_request(
        svc.url, "POST", "/caption", body,
        {**auth(svc), "Content-Type": "application/vnd.recordare.musicxml+xml; charset=UTF-8",
         "Content-Length": str(len(body))})
    assert status == 200
    status, results["cursor"] = svc.request("POST", "/caption", cursor_payload())
    assert status == 200
    for kind, res in results.items():
        assert res["ok"] and res["action"] == "caption" and res["model"] == "default"
        facts = res["caption"]["facts"]
        assert facts["title"] == "An eine Blume", kind
        assert facts["key"] == "F major" and facts["meter"] == "6/8" and facts["bars"] == 8
        assert facts["ensemble"] == "voice and piano"
        assert res["text"].startswith("An eine Blume by Corona")
    assert results["cursor"]["score"]["input"] == "cursor"
    assert results["mxl"]["score"]["input"] == "mxl"
    # MusicXML routes read the same notes (grace notes included); the walk skips 6 grace notes
    assert results["musicxml"]["score"]["notes"] == results["mxl"]["score"]["notes"] == 126
    assert results["cursor"]["score"]["notes"] == 120


def test_classify_preset_and_free_labels(svc):
    status, res = svc.request("POST", "/classify", {**mxl_payload(), "label_set": "genres"})
    assert status == 200 and res["label_set"] == "genres"
    probs = [r["probability"] for r in res["labels"]]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-2
    status, res = svc.request("POST", "/classify", {**cursor_payload(),
                                                     "labels": "art song, jig ,hymn,jig"})
    assert status == 200
    assert sorted(r["label"] for r in res["labels"]) == ["art song", "hymn", "jig"]
    # a raw upload carries its options in the query string
    body = musicxml_text().encode()
    status, res, _ = raw_request(svc.url, "POST", "/classify?labels=waltz,march", body,
                                 {**auth(svc), "Content-Type": "application/xml",
                                  "Content-Length": str(len(body))})
    assert status == 200 and {r["label"] for r in res["labels"]} == {"waltz", "march"}


def test_similar_and_search_on_a_real_library(svc, library):
    status, res = svc.request("POST", "/similar", {**cursor_payload(), "index": str(library),
                                                    "k": 3})
    assert status == 200 and len(res["results"]) == 3
    top = res["results"][0]
    assert top["path"].endswith("lieder_6053984.mxl") and top["score"] > 0.9  # itself, from MS
    assert os.path.isabs(top["path"]) and [h["rank"] for h in res["results"]] == [1, 2, 3]
    status, res = svc.request("POST", "/search", {"query": "a German art song for voice and piano",
                                                   "index": str(library), "k": 2})
    assert status == 200 and len(res["results"]) == 2 and res["query"].startswith("a German")
    assert svc.request("POST", "/search", {"query": " ", "index": str(library)})[0] == 400


def test_eight_clients_fifty_requests_each(svc):
    """Concurrent clients mixing cheap and model requests (and a refused one) all get answers."""
    xml = musicxml_text()
    errors, counts = [], {}

    def client(n: int) -> None:
        done = 0
        for i in range(50):
            kind = i % 5
            try:
                if kind == 0:
                    status, res = request(svc.url, "POST", "/classify",
                                          {"musicxml": xml, "labels": ["art song", "dance"]},
                                          svc.token)
                    ok = status == 200 and len(res["labels"]) == 2
                elif kind == 1:
                    status, res = request(svc.url, "GET", "/info", None, svc.token)
                    ok = status == 200 and res["model"] == "default"
                elif kind == 2:
                    status, res = request(svc.url, "GET", "/health", None, "wrong")
                    ok = status == 401
                else:
                    status, res = request(svc.url, "GET", "/health", None, svc.token)
                    ok = status == 200 and res["ok"]
                if not ok:
                    errors.append((n, i, status, res))
                done += 1
            except Exception as e:  # noqa: BLE001 - every failure is recorded for the assert
                errors.append((n, i, repr(e)))
        counts[n] = done

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:5]
    assert sum(counts.values()) == 400


def test_per_request_timeout_is_504(tmp_path):
    with start_service(shared_clamp(), timeout_s=0.001) as slow:
        status, data = slow.request("POST", "/caption",
                                    cursor_payload("lieder_5071622_cursor.json"))
        assert status == 504 and "--timeout" in data["error"]
        assert slow.request("GET", "/health")[0] == 200


def test_loopback_only_unless_allowed():
    with pytest.raises(ClampError, match="allow-remote"):
        start_service(shared_clamp(), host="0.0.0.0")
    assert host_header_ok("anything.example", allow_remote=True)
    assert not host_header_ok("", allow_remote=False)
    assert not host_header_ok("localhost.evil:80", allow_remote=False)


def test_stop_is_idempotent_and_frees_the_port(tmp_path):
    disc = tmp_path / "cfg" / "service.json"
    handle = start_service(shared_clamp(), discovery_file=disc)
    port = handle.port
    handle.stop()
    handle.stop()
    assert not disc.exists()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def _b64(name: str) -> str:
    return base64.b64encode((SCORES / name).read_bytes()).decode("ascii")


@pytest.mark.parametrize("name,fmt,kind", [
    ("small.mid", "small.mid", "midi"),            # a file name
    ("lieder_6053984.mscz", ".mscz", "mscz"),      # an extension
    ("two_tunes.abc", "abc", "abc"),               # a format name
    ("little_tune.krn", "My Tune.KRN", "humdrum"),
    ("lieder_6053984.mxl", "mxl", "mxl"),
])
def test_score_base64_uploads_in_any_format(svc, name, fmt, kind):
    from clamp_core.scores import load_score

    status, res = svc.request("POST", "/caption", {"score_base64": _b64(name), "format": fmt})
    assert status == 200 and res["score"]["input"] == kind, res
    meta = load_score(SCORES / name, musescore="reader").meta
    assert (res["score"]["notes"], res["score"]["bars"]) == (meta.n_notes, meta.n_bars)


@pytest.mark.parametrize("payload,needle", [
    ({"score_base64": "TVRoZA=="}, "needs 'format'"),
    ({"score_base64": "TVRoZA==", "format": ""}, "needs 'format'"),
    ({"score_base64": "TVRoZA==", "format": "score.pdf"}, "unknown score format"),
    ({"score_base64": "%%%", "format": "midi"}, "'score_base64' is not valid base64"),
    ({"score_base64": 5, "format": "midi"}, "base64 string"),
    ({"score_base64": "", "format": "midi"}, "empty"),
    ({"score_base64": "TVRoZA==", "format": "midi"}, "<upload>: cannot read the MIDI"),
    ({"score_base64": "TVRoZA==", "musicxml": "<x/>", "format": "midi"}, "exactly one score"),
])
def test_bad_score_base64_is_400(svc, payload, needle):
    status, data = svc.request("POST", "/caption", payload)
    assert status == 400 and needle in data["error"] and "\n" not in data["error"], data


def test_uploads_are_read_in_memory(monkeypatch):
    """No upload touches the disk: temporary files are refused while every kind is read."""
    import tempfile

    from musescore_bridge.tasks import read_score

    def refuse(*a, **k):
        raise AssertionError("an upload was written to a temporary file")

    for fn in ("TemporaryDirectory", "NamedTemporaryFile", "mkdtemp", "mkstemp"):
        monkeypatch.setattr(tempfile, fn, refuse)
    mxl = (SCORES / "lieder_6053984.mxl").read_bytes()
    score, kind = read_score({}, raw=mxl, raw_kind="mxl")
    assert kind == "mxl" and score.source == "<upload.mxl>" and score.meta.n_notes == 126
    score, kind = read_score(mxl_payload())
    assert kind == "mxl" and score.meta.n_notes == 126
    score, kind = read_score({"musicxml": musicxml_text()})
    assert kind == "musicxml" and score.source == "<upload>" and score.meta.n_notes == 126
    score, kind = read_score({"score_base64": _b64("lieder_6053984.mscz"), "format": "mscz"})
    assert kind == "mscz" and score.meta.n_notes == 126
    with pytest.raises(ClampError, match=r"^<upload.mxl>: not a valid zip"):
        read_score({}, raw=b"PK\x03\x04 broken", raw_kind="mxl")


def test_raw_mxl_upload(svc):
    body = (SCORES / "lieder_5071622.mxl").read_bytes()
    status, res, _ = raw_request(svc.url, "POST", "/caption", body,
                                 {**auth(svc), "Content-Type": "application/vnd.recordare.musicxml",
                                  "Content-Length": str(len(body))})
    assert status == 200 and res["score"]["input"] == "mxl"
    assert res["caption"]["facts"]["meter"] == "2/4"


def test_busy_service_answers_503_without_resetting(tmp_path):
    """Over the connection limit a request is shed with a readable 503 (its body never read) and
    the service goes on serving."""
    with start_service(shared_clamp(), max_connections=1) as busy:
        holder = socket.create_connection((busy.host, busy.port))  # idle keep-alive: holds the slot
        try:
            holder.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{busy.port}\r\n"
                           f"Authorization: Bearer {busy.token}\r\n\r\n".encode())
            assert b" 200 " in holder.recv(65536).split(b"\r\n", 1)[0]
            body = json.dumps({"musicxml": "x" * 200_000}).encode()
            for _ in range(10):
                status, data, _ = raw_request(busy.url, "POST", "/caption", body,
                                              {**auth(busy), "Content-Type": "application/json",
                                               "Content-Length": str(len(body))})
                assert status == 503 and "retry" in data["error"]
        finally:
            holder.close()
        # the holder's thread frees the slot once it sees the close; then requests pass again
        deadline = time.monotonic() + 10
        while busy.request("GET", "/health")[0] != 200:
            assert time.monotonic() < deadline, "the service stayed busy after the holder left"
            time.sleep(0.05)


# -- calibration, novelty and relevance in the responses ------------------------------------------

NOVELTY_KEYS = {"out_of_domain", "nearest_training_cosine", "threshold"}


def check_novelty(nov: dict, out_of_domain: bool | None = None) -> None:
    assert set(nov) >= NOVELTY_KEYS and isinstance(nov["out_of_domain"], bool), nov
    if out_of_domain is not None:
        assert nov["out_of_domain"] is out_of_domain, nov
    if nov["out_of_domain"]:
        assert "unlike anything this model was trained on" in nov["message"]
        assert nov["nearest_training_cosine"] < nov["threshold"]
    else:
        assert "message" not in nov


def test_responses_carry_novelty_calibration_and_relevance(svc, library):
    """The shipped model carries no calibration: nothing flagged, probabilities raw, and still
    every new field with its type."""
    status, info = svc.request("GET", "/info")
    assert status == 200 and info["calibrated"] is False
    status, res = svc.request("POST", "/classify", {**mxl_payload(), "label_set": "genres"})
    assert status == 200 and res["calibrated"] is False
    check_novelty(res["novelty"], out_of_domain=False)
    assert res["novelty"]["nearest_training_cosine"] is None
    status, res = svc.request("POST", "/similar", {**mxl_payload(), "index": str(library), "k": 2})
    assert status == 200 and len(res["results"]) == 2
    check_novelty(res["novelty"], out_of_domain=False)
    assert all(h["relevance"] is None and isinstance(h["score"], float) for h in res["results"])
    status, res = svc.request("POST", "/caption", mxl_payload())
    assert status == 200
    cap = res["caption"]
    assert {"facts", "facets", "stated", "unsure", "sentence", "novelty", "text"} <= set(cap)
    assert isinstance(cap["stated"], dict) and isinstance(cap["unsure"], list)
    assert cap["stated"] == {} and "genres" in cap["unsure"]  # no thresholds: nothing stated
    assert all(isinstance(p["probability"], float) for v in cap["facets"].values() for p in v)
    check_novelty(cap["novelty"], out_of_domain=False)
    assert res["novelty"] == cap["novelty"] and res["text"] == cap["text"]
    status, res = svc.request("POST", "/search", {"query": "a German art song",
                                                   "index": str(library), "k": 4})
    assert status == 200 and res["no_good_match"] is False and res["min_score"] is None
    assert len(res["results"]) == 4
    for h in res["results"]:
        assert isinstance(h["relevance"], float) and isinstance(h["score"], float)
        assert h["relevance"] == pytest.approx(h["score"], abs=1e-4)  # uncalibrated: the cosine


def test_search_min_score_filters(svc, library):
    body = {"query": "a German art song for voice and piano", "index": str(library), "k": 4}
    status, every = svc.request("POST", "/search", body)
    assert status == 200 and len(every["results"]) == 4
    rel = sorted(h["relevance"] for h in every["results"])
    cut = (rel[1] + rel[2]) / 2
    status, res = svc.request("POST", "/search", {**body, "min_score": max(cut, 0.0)})
    assert status == 200 and res["min_score"] == max(cut, 0.0)
    kept = [h for h in every["results"] if h["relevance"] >= max(cut, 0.0)]
    assert [h["path"] for h in res["results"]] == [h["path"] for h in kept]
    assert all(h["relevance"] >= cut for h in res["results"])
    status, res = svc.request("POST", "/search", {**body, "min_score": 1})
    assert status == 200 and res["results"] == [] and res["no_good_match"] is False
    status, res = svc.request("POST", "/search", {**body, "min_score": 0})
    assert status == 200 and len(res["results"]) == sum(r >= 0 for r in rel)
    status, res = svc.request("POST", "/search", {**body, "min_score": "0.0"})  # text works too
    assert status == 200 and res["min_score"] == 0.0


def test_search_and_similar_filter_on_stored_facts(svc, library):
    body = {"query": "a German art song for voice and piano", "index": str(library), "k": 10}
    status, every = svc.request("POST", "/search", body)
    assert status == 200 and len(every["results"]) >= 4
    status, res = svc.request("POST", "/search", {**body, "where": ["composer=brahms"]})
    assert status == 200 and res["where"] == ["composer=brahms"]
    assert [h["path"].rsplit("/", 1)[-1] for h in res["results"]] == ["lieder_5071622.mxl"]
    status, res = svc.request("POST", "/search", {**body, "where": {"lyrics": "no"}})
    assert status == 200 and res["results"]
    assert all(not h["meta"].get("has_lyrics") for h in res["results"])
    status, res = svc.request("POST", "/similar", {**cursor_payload(), "index": str(library),
                                                    "k": 5, "where": ["metre=6/8"]})
    assert status == 200 and res["results"]
    assert all(h["meta"]["meter"] == "6/8" for h in res["results"])
    for bad, says in ((["colour=red"], "no field 'colour'"), (5, "'where' must be a list"),
                      (["bars<=x"], "needs a number")):
        status, data = svc.request("POST", "/search", {**body, "where": bad})
        assert status == 400 and says in data["error"] and "\n" not in data["error"]


@pytest.mark.parametrize("value", [-0.01, 1.5, "abc", "", True, [0.5], {"x": 1}, "nan", 2])
def test_invalid_min_score_is_400(svc, library, value):
    status, data = svc.request("POST", "/search", {"query": "a hymn", "index": str(library),
                                                   "min_score": value})
    assert status == 400 and data["ok"] is False, data
    assert "'min_score' must be a number from 0 to 1" in data["error"]
    assert "\n" not in data["error"]


@pytest.fixture(scope="module")
def calibrated_svc(calibrated_clamp, library):
    handle = start_service(calibrated_clamp, indexes=[str(library)])
    yield handle
    handle.stop()


def _b64_payload(name: str) -> dict:
    return {"score_base64": base64.b64encode((SCORES / name).read_bytes()).decode("ascii"),
            "format": name}


def test_calibrated_model_flags_an_unfamiliar_score(calibrated_svc, svc, library, calibration):
    status, info = calibrated_svc.request("GET", "/info")
    assert status == 200 and info["calibrated"] is True
    lied, tune = _b64_payload(UNFAMILIAR), _b64_payload(FAMILIAR)
    labels = {"labels": ["art song", "jig", "march", "hymn"]}
    status, res = calibrated_svc.request("POST", "/classify", {**lied, **labels})
    assert status == 200 and res["calibrated"] is True
    check_novelty(res["novelty"], out_of_domain=True)
    assert res["novelty"]["threshold"] == calibration.ood_threshold
    status, raw = svc.request("POST", "/classify", {**lied, **labels})
    assert status == 200 and raw["calibrated"] is False
    # temperature 2 flattens: the calibrated top probability is below the raw one
    assert res["labels"][0]["probability"] < raw["labels"][0]["probability"]
    assert abs(sum(r["probability"] for r in res["labels"]) - 1) < 1e-2
    status, res = calibrated_svc.request("POST", "/classify", {**tune, "label_set": "genres"})
    assert status == 200
    check_novelty(res["novelty"], out_of_domain=False)
    assert res["novelty"]["nearest_training_cosine"] > 0.99

    status, res = calibrated_svc.request("POST", "/similar", {**lied, "index": str(library),
                                                               "k": 3})
    assert status == 200 and res["results"][0]["path"].endswith(UNFAMILIAR)
    check_novelty(res["novelty"], out_of_domain=True)
    assert res["results"][0]["score"] > 0.99 and res["results"][0]["relevance"] is None

    status, res = calibrated_svc.request("POST", "/caption", lied)
    assert status == 200
    cap = res["caption"]
    check_novelty(cap["novelty"], out_of_domain=True)
    assert res["novelty"] == cap["novelty"]
    assert cap["stated"] == {} and cap["unsure"] == [] and cap["sentence"] is None
    assert "unlike anything the model was trained on" in res["text"]
    assert cap["facets"]["genres"]  # the candidates are still listed, with probabilities
    status, res = calibrated_svc.request("POST", "/caption", tune)
    assert status == 200
    cap = res["caption"]
    check_novelty(cap["novelty"], out_of_domain=False)
    assert set(cap["stated"]) == {"genres"}  # the only facet with a threshold (0: always)
    genre = cap["stated"]["genres"]
    assert genre["label"] == cap["facets"]["genres"][0]["label"]
    assert isinstance(genre["probability"], float) and 0 < genre["probability"] <= 1
    assert "genres" not in cap["unsure"] and {"eras", "moods"} <= set(cap["unsure"])
    # a dance type is asked only of what the stated genre lets it describe
    assert ("tune_types" in cap["unsure"]) == (genre["label"] in TUNE_GENRES)
    assert cap["sentence"]["text"] in calibration.bank_texts
    assert isinstance(cap["sentence"]["cosine"], float)


def test_calibrated_search_relevance_and_no_good_match(calibrated_svc, library):
    import math

    body = {"query": "a German art song for voice and piano", "index": str(library), "k": 4}
    status, res = calibrated_svc.request("POST", "/search", body)
    assert status == 200 and res["calibrated"] is True
    assert res["no_good_match"] is True  # the level is 1: no hit reaches it
    rels = [h["relevance"] for h in res["results"]]
    assert rels == sorted(rels, reverse=True) and all(0 <= r <= 1 for r in rels)
    for h in res["results"]:
        expected = 1 / (1 + math.exp(-(RELEVANCE["slope"] * h["score"] + RELEVANCE["intercept"])))
        assert h["relevance"] == pytest.approx(expected, abs=1e-4)
    cut = (rels[1] + rels[2]) / 2
    status, res = calibrated_svc.request("POST", "/search", {**body, "min_score": cut})
    assert status == 200 and [h["relevance"] for h in res["results"]] == rels[:2]
    assert res["no_good_match"] is True  # judged on the best hit, before the filter


def test_each_request_encodes_the_score_once(calibrated_svc, calibrated_clamp, library,
                                             monkeypatch):
    """classify, similar and caption encode the score a single time (the model runs for real;
    the wrapper only counts)."""
    calls = []
    real = calibrated_clamp.encode_abc

    def counting(abcs, *args, **kwargs):
        calls.append(len(abcs))
        return real(abcs, *args, **kwargs)

    monkeypatch.setattr(calibrated_clamp, "encode_abc", counting)
    for path, extra in (("/classify", {"label_set": "eras"}),
                        ("/similar", {"index": str(library), "k": 2}), ("/caption", {})):
        calls.clear()
        status, res = calibrated_svc.request("POST", path, {**mxl_payload(), **extra})
        assert status == 200 and "novelty" in res, res
        assert calls == [1], (path, calls)


@pytest.fixture(scope="module")
def passage_library(tmp_path_factory):
    """An index of two songs kept with passages of 4 bars every 2."""
    from clamp_core.index.library import Index

    root = tmp_path_factory.mktemp("plib")
    for name in ("lieder_6053984.mxl", "lieder_6312216.mxl"):
        (root / name).write_bytes((SCORES / name).read_bytes())
    folder = tmp_path_factory.mktemp("pidx") / "index"
    clamp = shared_clamp()
    with Index.create(folder, clamp) as idx:
        idx.enable_passages(4, 2)
        idx.update(root, clamp, workers=0, progress=False)
    return folder


def test_similar_passages_of_the_selected_bars(svc, library, passage_library):
    """The plugin's "Find similar passages": MuseScore's cursor walk of a song and the bars
    selected; the song's own bars 5-8 come first (the library holds its MusicXML)."""
    status, res = svc.request("POST", "/similar", {**cursor_payload(), "k": 4, "passages": True,
                                                    "bars": [5, 8],
                                                    "index": str(passage_library)})
    assert status == 200, res
    assert res["bars"] == [5, 8] and res["passages"] is True
    top = res["results"][0]
    assert top["path"].endswith("lieder_6053984.mxl") and top["bars"] == [5, 8]
    assert all(h["bars"] and h["id"].endswith(f"#bars {h['bars'][0]}-{h['bars'][1]}")
               for h in res["results"])
    # the plugin counts the selected measures from 0; the answer names them as the score does
    status, res = svc.request("POST", "/similar", {**cursor_payload(), "k": 2, "passages": True,
                                                    "measures": [4, 7],
                                                    "index": str(passage_library)})
    assert status == 200 and res["bars"] == [5, 8]
    assert res["results"][0]["meta"]["passage"]["measures"] == [4, 7]
    # in any key: the same place still comes first, and no result scores below its written key
    status, keyed = svc.request("POST", "/similar", {**cursor_payload(), "k": 2, "passages": True,
                                                      "measures": [4, 7], "any_key": True,
                                                      "index": str(passage_library)})
    assert status == 200 and keyed["any_key"] is True
    assert keyed["results"][0]["id"] == res["results"][0]["id"]
    assert keyed["results"][0]["score"] >= res["results"][0]["score"] - 1e-5
    status, res = svc.request("POST", "/search", {"query": "a song", "passages": True, "k": 3,
                                                   "index": str(passage_library)})
    assert status == 200 and len(res["results"]) == 3 and res["results"][0]["bars"]
    # what is refused, and how it says so
    for path, payload, why in (
            ("/similar", {"index": str(library), "passages": True}, "--passages"),
            ("/similar", {"index": str(passage_library), "bars": [5, 8]}, "passages"),
            ("/similar", {"index": str(passage_library), "passages": True, "bars": "8-5"},
             "first bar"),
            ("/similar", {"index": str(passage_library), "passages": True, "bars": [500, 508]},
             "not in this score"),
            ("/similar", {"index": str(passage_library), "passages": True, "measures": [6, 60]},
             "not in this score"),
            ("/similar", {"index": str(passage_library), "any_key": 2}, "true or false"),
            ("/search", {"query": "x", "index": str(passage_library), "passages": "maybe"},
             "true or false"),
            ("/search", {"query": "x", "index": str(passage_library), "passages": True,
                         "min_score": 0.5}, "min_score")):
        status, res = svc.request("POST", path, {**cursor_payload(), **payload})
        assert status == 400 and why in res["error"], (payload, res)


def test_a_saved_score_sent_by_path_answers_as_the_command_line(svc, library, run_clamp):
    """One reading path: the MuseScore 4 file sent by path gets the CLI's own numbers, and the
    library's copy of it is left out of its own results as `clamp similar` leaves it out."""
    from clamp_core.index.library import Index

    with Index(library) as idx:
        root = Path(idx.root)
    target = root / "lieder_6053984.mxl"
    status, res = svc.request("POST", "/similar", {"path": str(target), "index": str(library),
                                                    "k": 3})
    assert status == 200 and res["score"]["input"] == "file"
    cli = json.loads(run_clamp("similar", str(target), "--index", str(library), "-k", "3",
                               "--json").stdout)
    assert [h["id"] for h in res["results"]] == [h["id"] for h in cli["results"]]
    assert all(abs(a["score"] - b["score"]) < 1e-4
               for a, b in zip(res["results"], cli["results"], strict=True))
    assert all(not h["path"].endswith("lieder_6053984.mxl") for h in res["results"])
    mscz = SCORES / "lieder_6053984.mscz"  # saved by MuseScore 4.6
    status, cap = svc.request("POST", "/caption", {"path": str(mscz)})
    cli_cap = json.loads(run_clamp("caption", str(mscz), "--json").stdout)
    assert status == 200 and cap["caption"]["facts"] == cli_cap["facts"]
    assert cap["caption"]["facts"]["tempo_text"] == "Munter, doch nicht zu geschwind"
    for value, why in (("relative/song.mxl", "absolute"), (str(root), "not a score file"),
                       (str(root / "gone.mxl"), "file not found"), (3, "absolute path")):
        status, res = svc.request("POST", "/caption", {"path": value})
        assert status == 400 and why in res["error"], (value, res)
