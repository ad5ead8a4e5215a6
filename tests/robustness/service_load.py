"""Load and attacks against the local clamp service (musescore_bridge.service), shared by
tests/robustness/test_service_attack.py and bench/robustness.py.

``load(svc, ...)``: concurrent clients mixing cheap, model and refused requests (hostile scores
from the corpus among them), every answer checked. ``attacks(svc, ...)``: requests no real
client sends (malformed, oversized, slow, unauthenticated, foreign Host), each answered with a
clean 4xx or a closed connection, never a 5xx.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
import time
from collections import Counter
from pathlib import Path

from corpus import SECRET_MARKER, musicxml

# Corpus files a client can send the service (MusicXML text or .mxl bytes); all refused.
HOSTILE_FOR_SERVICE = ("billion_laughs.musicxml", "xxe.musicxml", "xxe.mxl", "zip_bomb.mxl",
                       "deeply_nested.xml", "huge_20000_bars.musicxml", "crc_error.mxl",
                       "garbage.xml", "rests_only.musicxml", "xxe_external_dtd.xml")


def _conn(svc, timeout: float = 120) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(svc.host, svc.port, timeout=timeout)


def call(svc, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
         token: str | None = None) -> tuple[int, str]:
    """(status, body text) of one request with exactly these headers (plus Host and token)."""
    conn = _conn(svc)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        hdrs = {"Host": f"127.0.0.1:{svc.port}",
                "Authorization": f"Bearer {svc.token if token is None else token}"}
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            if v is not None:
                conn.putheader(k, v)
        if body is not None and "Content-Length" not in hdrs:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _json(obj) -> tuple[bytes, dict]:
    return json.dumps(obj).encode(), {"Content-Type": "application/json"}


def hostile_payloads(corpus_dir: Path) -> list[tuple[str, bytes]]:
    out = []
    for name in HOSTILE_FOR_SERVICE:
        data = (corpus_dir / name).read_bytes()
        body = ({"musicxml_base64": base64.b64encode(data).decode()} if name.endswith(".mxl")
                else {"musicxml": data.decode("utf-8", "replace")})
        out.append((name, json.dumps(body).encode()))
    return out


def load(svc, corpus_dir: Path, clients: int = 16, requests: int = 2000) -> dict:
    """``requests`` requests from ``clients`` threads; returns counts, statuses, latencies and
    the list of wrong answers (expected status not met, a 5xx, a secret in a reply)."""
    small = musicxml(4).decode()
    classify = json.dumps({"musicxml": small, "labels": ["jig", "reel", "waltz"]}).encode()
    hostile = hostile_payloads(corpus_dir)
    plan = []  # (what, method, path, body, headers, token, expected status)
    for i in range(requests):
        k = i % 20
        if k < 9:
            plan.append(("health", "GET", "/health", None, {}, None, 200))
        elif k < 12:
            plan.append(("info", "GET", "/info", None, {}, None, 200))
        elif k < 15:
            plan.append(("classify", "POST", "/classify", classify,
                         {"Content-Type": "application/json"}, None, 200))
        elif k < 17:
            name, body = hostile[(i // 20) % len(hostile)]
            plan.append((f"hostile:{name}", "POST", "/caption", body,
                         {"Content-Type": "application/json"}, None, 400))
        elif k == 17:
            plan.append(("wrong_token", "GET", "/health", None, {}, "not-the-token", 401))
        elif k == 18:
            plan.append(("malformed_json", "POST", "/classify", b'{"musicxml": "<score',
                         {"Content-Type": "application/json"}, None, 400))
        else:
            plan.append(("foreign_host", "GET", "/info", None, {"Host": "evil.example:80"},
                         None, 403))
    statuses: Counter = Counter()
    by_kind: dict[str, Counter] = {}
    latencies: list[float] = []
    wrong: list[tuple] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        for i in range(n, len(plan), clients):
            what, method, path, body, headers, token, want = plan[i]
            t0 = time.perf_counter()
            try:
                status, text = call(svc, method, path, body, headers, token)
            except Exception as e:  # noqa: BLE001 - recorded, asserted on by the caller
                status, text = -1, repr(e)
            dt = time.perf_counter() - t0
            with lock:
                statuses[status] += 1
                by_kind.setdefault(what.split(":")[0], Counter())[status] += 1
                latencies.append(dt)
                if status != want or status >= 500 or SECRET_MARKER in text:
                    wrong.append((what, status, text[:200]))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = sorted(latencies)
    return {"clients": clients, "requests": len(latencies),
            "seconds": round(time.perf_counter() - t0, 2),
            "status_histogram": {str(k): v for k, v in sorted(statuses.items())},
            "by_kind": {k: {str(s): n for s, n in c.items()} for k, c in sorted(by_kind.items())},
            "latency_ms": {"p50": round(1000 * lat[len(lat) // 2], 1),
                           "p95": round(1000 * lat[int(len(lat) * 0.95)], 1),
                           "max": round(1000 * lat[-1], 1)},
            "wrong": wrong}


# ------------------------------------------------------------------ attacks
def _raw(svc, data: bytes, timeout: float = 60) -> bytes:
    """Send raw bytes, return whatever the server answers before closing (b'' if nothing)."""
    with socket.create_connection((svc.host, svc.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except TimeoutError:
            chunks.append(b"<client timeout>")
        return b"".join(chunks)


def _status(raw: bytes) -> int | None:
    """The status of a raw answer; http.server answers a request line that is not HTTP in the
    HTTP/0.9 way (an HTML page saying "Error code: 400", no status line)."""
    m = re.match(rb"HTTP/\d\.\d (\d{3})", raw) or re.search(rb"Error code: (\d{3})", raw)
    return int(m.group(1)) if m else None


def slow_body(svc, stall_s: float) -> dict:
    """A slowloris body: headers promise 1000 bytes, 10 arrive, then nothing. The service must
    drop the connection (its socket timeout) while serving others; returns how long it took."""
    head = (f"POST /caption HTTP/1.1\r\nHost: 127.0.0.1:{svc.port}\r\nAuthorization: Bearer "
            f"{svc.token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    t0 = time.perf_counter()
    answer = _raw(svc, head.encode() + b'{"musicxml', timeout=stall_s)
    return {"closed_after_s": round(time.perf_counter() - t0, 1), "status": _status(answer),
            "dropped": not answer.endswith(b"<client timeout>")}


def slow_headers(svc, stall_s: float) -> dict:
    t0 = time.perf_counter()
    answer = _raw(svc, f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{svc.port}\r\n".encode(),
                  timeout=stall_s)
    return {"closed_after_s": round(time.perf_counter() - t0, 1), "status": _status(answer),
            "dropped": not answer.endswith(b"<client timeout>")}


def attacks(svc) -> dict[str, dict]:
    """Each attack: its status (None: the connection closed without an answer) and whether it
    was clean: a 4xx answer, never a 5xx, a dropped connection or a hang."""
    port = svc.port
    body, js = _json({"musicxml": musicxml(2).decode()})
    cap = svc.max_body_bytes
    cases = {
        "malformed_json": lambda: call(svc, "POST", "/caption", b"{not json", js),
        "json_array": lambda: call(svc, "POST", "/caption", b"[1,2]", js),
        "invalid_utf8": lambda: call(svc, "POST", "/caption", b'{"musicxml": "\xff\xfe"}', js),
        "deep_json": lambda: call(svc, "POST", "/caption", b"[" * 100_000 + b"]" * 100_000, js),
        "oversized_declared": lambda: call(svc, "POST", "/caption", b"", {
            **js, "Content-Length": str(cap + 1)}),
        "absurd_length": lambda: call(svc, "POST", "/caption", b"", {
            **js, "Content-Length": "9" * 40}),
        "negative_length": lambda: call(svc, "POST", "/caption", b"", {
            **js, "Content-Length": "-5"}),
        "chunked": lambda: call(svc, "POST", "/caption", b"0\r\n\r\n", {
            **js, "Transfer-Encoding": "chunked", "Content-Length": None}),
        "missing_token": lambda: call(svc, "GET", "/info", None, {"Authorization": None}),
        "wrong_token": lambda: call(svc, "POST", "/caption", body, js, token="x" * 43),
        "basic_auth": lambda: call(svc, "GET", "/info", None, {
            "Authorization": "Basic " + base64.b64encode(b"a:b").decode()}),
        "foreign_host": lambda: call(svc, "GET", "/health", None, {"Host": "attacker.example"}),
        "rebinding_host": lambda: call(svc, "GET", "/info", None, {
            "Host": f"127.0.0.1.attacker.example:{port}"}),
        "missing_host": lambda: call(svc, "GET", "/health", None, {"Host": None}),
        "browser_origin": lambda: call(svc, "GET", "/info", None, {
            "Origin": "http://attacker.example"}),
        "unknown_path": lambda: call(svc, "GET", "/../../etc/passwd"),
        "bad_method": lambda: call(svc, "DELETE", "/caption"),
        "garbage_request_line": lambda: (_status(_raw(svc, b"\x00\x01\x02 nonsense\r\n\r\n")), ""),
        "long_request_line": lambda: (_status(_raw(svc, b"GET /" + b"a" * 70_000
                                                   + b" HTTP/1.1\r\n\r\n")), ""),
        "header_flood": lambda: (_status(_raw(svc, b"GET /health HTTP/1.1\r\n" + b"".join(
            b"X-%d: y\r\n" % i for i in range(500)) + b"\r\n")), ""),
    }
    out = {}
    for name, fn in cases.items():
        try:
            status, text = fn()
        except (ConnectionError, OSError) as e:  # closed before answering: also a refusal
            status, text = None, repr(e)
        out[name] = {"status": status,
                     "clean": status is not None and 400 <= status < 500
                     and SECRET_MARKER not in text}
    return out
