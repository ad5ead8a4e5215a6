"""Real inputs for parity checks: folk tunes from music21's corpus (Ryan's Mammoth Collection,
1883, one ABC tune per file) and prompts of clamp_core's built-in label sets."""

from __future__ import annotations

import functools

import numpy as np

from clamp_core.labels import builtin_names, load_label_set
from clamp_core.notation.header_filter import filter_abc_header
from clamp_core.notation.patches import pad_batch, patchify


@functools.lru_cache(maxsize=1)
def corpus_tunes(n: int = 32) -> tuple[str, ...]:
    """The first ``n`` Ryan's Mammoth tunes (sorted by file name), header-filtered ABC."""
    from music21 import corpus

    paths = sorted(p for p in corpus.getPaths(fileExtensions=("abc",)) if "ryansMammoth" in str(p))
    if not paths:
        raise RuntimeError("music21's corpus has no ryansMammoth ABC files; reinstall music21")
    return tuple(filter_abc_header(p.read_text(encoding="utf-8", errors="replace"))
                 for p in paths[:n])


def prompts() -> list[str]:
    """Every built-in label under every template of its set: short and long real prompts."""
    out = []
    for name in builtin_names():
        ls = load_label_set(name)
        out.extend(t.format(label) for label in ls.labels for t in ls.templates)
    return out


def music_batches(max_length: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Several shapes: one tune; three padded to the longest; eight; one full window."""
    tunes = corpus_tunes()
    pieces = [patchify(abc, max_length=max_length) for abc in tunes]
    full = np.concatenate([patchify(abc, max_length=None) for abc in tunes])[:max_length]
    batches = {"1 tune": [pieces[0]], "3 tunes padded": pieces[1:4], "8 tunes": pieces[4:12],
               f"1 x {len(full)} patches": [full]}
    return {k: pad_batch(v) for k, v in batches.items()}


def text_batches(tokenize) -> dict[str, dict[str, np.ndarray]]:
    """Several shapes through ``tokenize(list[str]) -> {input_ids, attention_mask}`` (numpy)."""
    texts = prompts()
    long_text = ". ".join(texts)  # truncated at the model's text_max_length
    batches = {"1 prompt": texts[:1], "5 prompts": texts[1:6], "16 prompts": texts[6:22],
               "1 long text (truncated)": [long_text]}
    return {k: tokenize(v) for k, v in batches.items()}
