"""CLI conventions: grouped `clamp --help` with an example per verb (listed without importing
torch), `clamp export` as a verb, shell completion of verbs and paths, and no default output
file (`clamp evaluate` writes only with --out)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from clamp_core.cli.root import COMMANDS, EXAMPLES, SECTIONS, cli

HEAVY = ("torch", "transformers", "music21", "numpy", "onnxruntime")

# `clamp --help` in a fresh interpreter, then the heavy modules it loaded
HELP_RUNNER = f"""
import sys
from clamp_core.cli.root import main
sys.argv = ["clamp", "--help"]
try:
    main()
except SystemExit as e:
    assert e.code in (0, None), e.code
print("LOADED:" + ",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def _clamp(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clamp_core", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env={**os.environ, **(env or {})})


def test_help_lists_each_verb_once_under_its_section_with_an_example_without_torch():
    res = subprocess.run([sys.executable, "-c", HELP_RUNNER], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    out, _, loaded = res.stdout.rpartition("LOADED:")
    assert loaded.strip() == "", f"clamp --help imported {loaded.strip()}"
    lines = out.splitlines()
    assert all(len(ln) <= 80 for ln in lines), [ln for ln in lines if len(ln) > 80]
    assert "_CLAMP_COMPLETE=bash_source clamp" in out
    # the headings in SECTIONS order, then each section's verbs with their first example
    headings = [ln[:-1] for ln in lines if ln.endswith(":") and not ln.startswith(" ")]
    assert headings == ["Options", *SECTIONS]
    seen = []
    for title, verbs in SECTIONS.items():
        body = lines[lines.index(f"{title}:") + 1:]
        body = body[:body.index("")] if "" in body else body
        names = [ln.split()[0] for ln in body if not ln.lstrip().startswith("$")]
        assert names == list(verbs)
        for verb in verbs:
            row = next(i for i, ln in enumerate(body) if ln.split()[0] == verb)
            assert len(body[row].split()) > 1, f"{verb} has no short help"
            assert body[row + 1].strip() == f"$ {EXAMPLES[verb][0]}"
        seen += names
    assert sorted(seen) == sorted(COMMANDS)  # every verb, once, and no "Other" section


def test_every_verb_and_subverb_help_ends_with_its_examples():
    runner = CliRunner()
    for verb in COMMANDS:
        command = cli.get_command(None, verb)
        subs = [[verb, s] for s in getattr(command, "commands", {})]
        for args in [[verb], *subs]:
            res = runner.invoke(cli, [*args, "--help"], prog_name="clamp")
            assert res.exit_code == 0, (args, res.output)
            assert res.output.startswith(f"Usage: clamp {' '.join(args)} ")
            examples = EXAMPLES[" ".join(args)]
            tail = res.output.rstrip().splitlines()[-len(examples) - 1:]
            assert tail[0].strip() == ("Example:" if len(examples) == 1 else "Examples:")
            assert [ln.strip() for ln in tail[1:]] == list(examples)
            assert all(e.split()[:len(args) + 1] == ["clamp", *args]
                       or e.startswith("torchrun ") for e in examples), examples


def test_export_is_a_clamp_verb():
    res = _clamp("export", "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Usage: clamp export [OPTIONS] MODEL_DIR")
    assert "Export a CLaMP model folder" in res.stdout and "-o, --out DIRECTORY" in res.stdout
    assert "clamp export model -o model-onnx --int8" in res.stdout
    res = _clamp("export", "default")  # no -o: a usage error
    assert res.returncode == 2 and "Missing option '-o' / '--out'" in res.stderr


def _complete(words: str, cwd=None) -> list[tuple[str, str]]:
    """What `clamp` offers bash for the last word of WORDS: (type, value) pairs."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    res = _clamp(env={"_CLAMP_COMPLETE": "bash_complete", "COMP_WORDS": words,
                      "COMP_CWORD": str(cword)}, cwd=cwd)
    assert res.returncode == 0, res.stderr
    return [tuple(ln.split(",", 1)) for ln in res.stdout.splitlines()]


def test_completion_offers_verbs_options_and_paths():
    assert _complete("clamp cla") == [("plain", "classify")]
    assert ("plain", "pretrain-music") in _complete("clamp ")
    assert _complete("clamp dataset b") == [("plain", "build")]
    assert ("plain", "--label-set") in _complete("clamp classify --la")
    # file and folder arguments are left to the shell's own path completion
    assert _complete("clamp classify so") == [("file", "so")]
    assert _complete("clamp similar song.mxl --index sc") == [("dir", "sc")]
    assert _complete("clamp index Sc") == [("dir", "Sc")]
    assert _complete("clamp export mo") == [("file", "mo")]
    assert _complete("clamp evaluate model --data d") == [("file", "d")]
    # --label-set: the built-in names, or files when no name fits
    assert _complete("clamp classify song.mxl --label-set ge") == [("plain", "genres")]
    assert _complete("clamp classify song.mxl --label-set my") == [("file", "my")]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_script_completes_verbs_and_label_sets(tmp_path):
    """The documented `eval "$(_CLAMP_COMPLETE=bash_source clamp)"`, run by bash itself."""
    shim = tmp_path / "bin" / "clamp"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m clamp_core "$@"\n')
    shim.chmod(0o755)
    script = ('eval "$(_CLAMP_COMPLETE=bash_source clamp)"\n'
              'COMP_WORDS=(clamp cla); COMP_CWORD=1; _clamp_completion clamp\n'
              'echo "verbs: ${COMPREPLY[*]}"\n'
              'COMPREPLY=(); COMP_WORDS=(clamp classify x.mxl --label-set t); COMP_CWORD=4\n'
              '_clamp_completion clamp\n'
              'echo "sets: ${COMPREPLY[*]}"\n')
    path = f"{shim.parent}{os.pathsep}{os.environ['PATH']}"
    res = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PATH": path})
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["verbs: classify", "sets: tune_types"]


def test_evaluate_prints_its_report_and_writes_files_only_with_out(tmp_path, wikimt):
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    save_model(create_model(preset("tiny"), seed=0), tmp_path / "m")
    data = tmp_path / "d.jsonl"
    types = ["reel", "jig", "hornpipe"]
    with data.open("w") as f:
        for i, row in enumerate(wikimt[:36]):
            t = types[i % 3]
            rec = {"id": str(i), "abc": row["abc"], "split": "test" if i % 4 == 0 else "train",
                   "texts": [f"an Irish {t}"], "meta": {"title": row["title"]},
                   "labels": {"collection": "ryans", "tune_type_coarse": t}}
            f.write(json.dumps(rec) + "\n")
    work = tmp_path / "work"
    work.mkdir()
    res = _clamp("evaluate", str(tmp_path / "m"), "--data", str(data), "--max-probe", "50",
                 cwd=work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "zero-shot acc" in res.stdout and "tune_type" in res.stdout
    assert list(work.iterdir()) == []  # nothing written where it ran
    res = _clamp("evaluate", str(tmp_path / "m"), "--data", str(data), "--max-probe", "50",
                 "--out", "q.json", "--json", cwd=work)
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(p.name for p in work.iterdir()) == ["q.json", "q.md"]
    assert json.loads(res.stdout) == json.loads((work / "q.json").read_text())
