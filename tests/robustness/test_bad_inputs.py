"""Hostile and broken files through the real `clamp` CLI: one-line errors, right exit codes,
no hang, bounded memory, no external-entity content in any output (issue 8, part 1)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus import SECRET_MARKER

from clamp_core.cli.root import cli
from clamp_core.scores.load import SUPPORTED_EXTENSIONS

PER_FILE_LIMIT_S = 120    # a hang guard for a loaded 2-core CI, not a timing assertion
MEMORY_LIMIT = 2 * 2**30  # address space of a `clamp info` process (it never imports torch)
# Spawned as real processes: the attacks, the size limits and a few plain errors.
SUBPROCESS_CASES = ("zip_bomb.mxl", "zip_bomb.mscz", "billion_laughs.musicxml", "xxe.mxl",
                    "xxe.mscx", "deeply_nested.xml", "huge_20000_bars.abc",
                    "huge_20000_bars.musicxml", "huge_delta.mid", "crc_error.mxl",
                    "oversized_sparse.xml", "garbage.abc")


_HIDDEN_BY_DEFAULT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                      ResourceWarning)


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def check_outcome(case, code: int, stdout: str, stderr: str) -> None:
    """The contract for one file: refused -> exit 1 and exactly one 'Error: ...' line naming
    what is wrong; accepted -> exit 0; never a traceback; never the secret."""
    assert SECRET_MARKER not in stdout + stderr, f"{case.name}: external entity content leaked"
    assert "Traceback" not in stderr and "internal error" not in stderr, (case.name, stderr)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if case.expect == "accept" or (case.expect == "any" and code == 0):
        assert code == 0, (case.name, stderr)
        return
    assert code == 1, (case.name, code, stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), (case.name, stderr)
    if case.says:
        assert any(w in lines[0].lower() for w in case.says), (case.name, lines[0])


def test_corpus_is_big_and_varied(hostile):
    written, _, _ = hostile
    bad = [c for c, _ in written if c.expect != "accept" or c.category != "good"]
    assert len(bad) >= 40
    assert {c.category for c, _ in written} >= {
        "invalid_zip", "zip_bomb", "xml_entity_bomb", "xml_external_entity", "deep_xml",
        "wrong_extension", "empty", "no_notes", "huge_score", "binary_garbage", "abc_encoding",
        "abc_syntax", "midi_structure", "absurd_values", "good"}


def test_single_file_cli_on_every_input(hostile):
    """`clamp info FILE` for each file, in this process (the real CLI code, without paying a
    Python start per file); an alarm turns a hang into a failure."""
    written, _, _ = hostile
    runner = CliRunner()
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for case, path in written:
            signal.alarm(PER_FILE_LIMIT_S)
            # warnings a real process would print on stderr count as stderr lines here
            with warnings.catch_warnings(record=True) as caught:
                try:
                    res = runner.invoke(cli, ["info", str(path)], catch_exceptions=True)
                except _Hang:
                    pytest.fail(f"{case.name}: no answer within {PER_FILE_LIMIT_S} s")
                finally:
                    signal.alarm(0)
            if res.exception is not None and not isinstance(res.exception, SystemExit):
                pytest.fail(f"{case.name}: uncaught {type(res.exception).__name__}: "
                            f"{res.exception}")
            shown = [f"{w.category.__name__}: {w.message}" for w in caught
                     if not issubclass(w.category, _HIDDEN_BY_DEFAULT)]
            check_outcome(case, res.exit_code, res.stdout, "\n".join([*shown, res.stderr]))
    finally:
        signal.signal(signal.SIGALRM, old)


def test_bytes_and_files_agree_on_every_input(hostile):
    """``load_score(bytes, format=extension)`` gives what loading the file gives: the same ABC,
    or the same one-line error (empty files and empty bytes say so in their own words)."""
    from clamp_core.errors import ClampError
    from clamp_core.notation.convert import score_to_abc
    from clamp_core.scores import load_score

    def outcome(source, **kw) -> tuple[str, str]:
        try:
            return "ok", score_to_abc(load_score(source, musescore="reader", **kw))
        except ClampError as e:
            return "error", str(e)

    written, _, _ = hostile
    checked = 0
    for case, path in written:
        if (not path.is_file() or path.is_symlink() or case.category == "oversized"
                or path.suffix.lower() not in SUPPORTED_EXTENSIONS):
            continue
        from_file = outcome(path)
        from_bytes = outcome(path.read_bytes(), format=path.suffix, name=str(path))
        if path.stat().st_size == 0:
            assert from_file[0] == from_bytes[0] == "error", case.name
            assert "empty" in from_bytes[1] and "\n" not in from_bytes[1], from_bytes
        else:
            assert from_bytes == from_file, case.name
        checked += 1
    assert checked >= 70


# The child caps its own address space, then runs the CLI exactly as `python -m clamp_core`
# (no preexec_fn: these processes are started from threads).
CAPPED_CLAMP = ("import resource, runpy, sys; lim = int(sys.argv[1]); "
                "resource.setrlimit(resource.RLIMIT_AS, (lim, lim)); "
                "sys.argv = ['clamp', *sys.argv[2:]]; "
                "runpy.run_module('clamp_core', run_name='__main__')")


def run_info_process(path: Path) -> tuple[int, str, str]:
    """`python -m clamp_core info FILE` under an address-space cap: (exit code, stdout, stderr)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", CAPPED_CLAMP, str(MEMORY_LIMIT), "info",
                             str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        out, err = proc.communicate(timeout=PER_FILE_LIMIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return -9, out, err + "\n<timeout>"
    return proc.returncode, out, err


def test_real_processes_with_a_memory_cap(hostile):
    written, _, _ = hostile
    chosen = [(c, p) for c, p in written if c.name in SUBPROCESS_CASES]
    assert len(chosen) == len(SUBPROCESS_CASES)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda cp: run_info_process(cp[1]), chosen))
    for (case, _), (code, out, err) in zip(chosen, results, strict=True):
        assert "<timeout>" not in err, f"{case.name}: no answer within {PER_FILE_LIMIT_S} s"
        check_outcome(case, code, out, err)


def test_index_a_folder_of_everything(hostile, tiny_model_dir, run_clamp, tmp_path):
    """Every good file indexed, every bad one listed with its reason, symlink loops walked
    once, nothing of the secret anywhere (stdout, stderr, the index database)."""
    written, folder, _ = hostile
    idx = tmp_path / "idx"
    res = run_clamp("index", str(folder), "--index", str(idx), "--model", str(tiny_model_dir),
                    "--workers", "2", "--json", check=False, timeout=900)
    assert res.returncode == 3, res.stderr[-3000:]  # partial success: some files failed
    assert SECRET_MARKER not in res.stdout + res.stderr
    report = json.loads(res.stdout)
    failed = {Path(f["path"]).relative_to(folder).as_posix(): f["error"]
              for f in report["failures"]}
    db = sqlite3.connect(idx / "index.sqlite")
    try:
        ok = {p for (p,) in db.execute("SELECT path FROM files WHERE status='ok'")}
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    assert SECRET_MARKER not in dump
    for case, path in written:
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:  # not a score: not looked at
            assert case.name not in ok | set(failed)
        elif case.expect == "accept":
            assert case.name in ok, (case.name, failed.get(case.name))
        elif case.expect == "refuse":
            assert case.name in failed, case.name
            assert failed[case.name].strip() and "\n" not in failed[case.name]
        else:
            assert (case.name in ok) != (case.name in failed), case.name
    assert not any("loop/" in p for p in ok | set(failed))  # the folder loop was walked once
    assert report["entries"] == len(ok) and report["failures_total"] == len(failed)
    listed = run_clamp("index", "--failures", "--index", str(idx), check=False)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == len(failed)
