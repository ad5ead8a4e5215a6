"""The local service under load and attack (issue 8, part 4): 16 concurrent clients send 2,000
requests (hostile scores from the corpus among them) with zero 5xx, while slow clients hold
connections open and malformed, oversized, unauthenticated and foreign-Host requests arrive;
each is refused cleanly and the service keeps answering. tests/musescore_bridge/test_service.py
checks each refusal's message one by one; this is about all of them at once."""

from __future__ import annotations

import threading

import pytest
from corpus import SECRET_MARKER
from service_load import attacks, load, slow_body, slow_headers

from musescore_bridge import service as service_mod
from musescore_bridge.service import start_service


@pytest.fixture(scope="module")
def svc(tiny_model_dir):
    from clamp_core.api import Clamp

    with start_service(Clamp.load(str(tiny_model_dir))) as handle:
        yield handle


@pytest.mark.slow
def test_load_with_slow_clients_and_attacks(svc, hostile):
    _, corpus_dir, _ = hostile
    stall = service_mod.SOCKET_TIMEOUT_S + 60  # the client waits longer than the server may
    slow: dict[str, dict] = {}
    slow_threads = [threading.Thread(target=lambda k=k, f=f: slow.__setitem__(k, f(svc, stall)))
                    for k, f in (("body", slow_body), ("headers", slow_headers))]
    for t in slow_threads:
        t.start()
    report = load(svc, corpus_dir, clients=16, requests=2000)  # runs while the slow ones hang
    assert report["requests"] == 2000
    assert not report["wrong"], report["wrong"][:5]
    assert not any(int(s) >= 500 or int(s) < 0 for s in report["status_histogram"])
    results = attacks(svc)
    assert all(r["clean"] for r in results.values()), results
    for t in slow_threads:
        t.join()
    for kind, r in slow.items():  # the server dropped them by itself, within its time limit
        assert r["dropped"] and r["closed_after_s"] <= service_mod.SOCKET_TIMEOUT_S + 15, (kind, r)
    status, data = svc.request("GET", "/health")
    assert status == 200 and data["ok"]
    assert SECRET_MARKER not in str(svc.info())
