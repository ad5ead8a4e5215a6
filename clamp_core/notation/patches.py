"""Bar patching exactly as official CLaMP 1: ABC text -> integer patches [P, 64].

Each information-field line (``L:``, ``M:``, ``K:``, ``V:``, ``%%score`` ...) is one patch; the
music between them is cut into bars at the official barline set, one patch per bar. A patch is
64 character ids (vocabulary 98: 0 pad, ``ord(c) - 31`` for printable ASCII, 96 mask, 97 EOS).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from unidecode import unidecode

PATCH_LENGTH = 64
VOCAB_SIZE = 98
PAD_ID = 0
MASK_ID = 96
EOS_ID = 97

# Order matters: two-character barlines must win over the bare "|".
_BARLINE = re.compile(r"(\|:|::|:\||\[\||\|\||\|\]|\|)")
_BARLINES = frozenset({"|:", "::", ":|", "[|", "||", "|]", "|"})

# Printable ASCII maps to ord(c) - 31; everything else (tabs, control chars) is PAD, as officially.
_CHAR_TO_ID = np.zeros(256, dtype=np.int64)
_CHAR_TO_ID[32:127] = np.arange(32, 127) - 31


def is_header_line(line: str) -> bool:
    """Official rule: a letter followed by ':' (length > 1), or a %%score line."""
    return len(line) > 1 and ((line[0].isalpha() and line[1] == ":") or line.startswith("%%score"))


def split_bars(body: str) -> list[str]:
    """Cut music text into bars, each ending with its barline; text after the last barline is
    dropped and a leading barline joins the first bar (official behaviour)."""
    tokens = [t for t in _BARLINE.split(body) if t]
    if tokens and tokens[0] in _BARLINES and len(tokens) > 1:
        tokens = [tokens[0] + tokens[1]] + tokens[2:]
    return [tokens[i] + tokens[i + 1] for i in range(0, len(tokens) - 1, 2)]


def abc_to_patch_strings(abc: str) -> list[str]:
    """The patch texts of an (already header-filtered) ABC string, without the EOS patch."""
    lines = unidecode(abc).split("\n")
    if "" in lines:
        lines.remove("")  # official quirk: only the first empty line is dropped
    patches: list[str] = []
    body = ""
    for line in lines:
        if is_header_line(line):
            if body:
                patches.extend(split_bars(body))
                body = ""
            patches.append(line)
        else:
            body += line  # music lines are joined without newline
    if body:
        patches.extend(split_bars(body))
    return patches


def encode_patch(text: str) -> np.ndarray:
    """One patch string -> 64 ids: first 64 chars, EOS right after a shorter text, PAD after."""
    ids = np.full(PATCH_LENGTH, PAD_ID, dtype=np.int64)
    raw = np.frombuffer(text[:PATCH_LENGTH].encode("latin-1", "replace"), dtype=np.uint8)
    ids[: len(raw)] = _CHAR_TO_ID[raw]
    if len(raw) < PATCH_LENGTH:
        ids[len(raw)] = EOS_ID
    return ids


def patchify(abc: str, max_length: int | None = 512, add_eos: bool = True) -> np.ndarray:
    """ABC text -> int64 array [P, 64]: bar patches, then an EOS patch, head-truncated to
    ``max_length`` patches (over-long pieces lose their EOS patch, as officially)."""
    strings = abc_to_patch_strings(abc)
    n = len(strings) + (1 if add_eos else 0)
    out = np.empty((n, PATCH_LENGTH), dtype=np.int64)
    for i, s in enumerate(strings):
        out[i] = encode_patch(s)
    if add_eos:
        out[-1] = EOS_ID
    return out if max_length is None else out[:max_length]


def decode_patch(ids: Sequence[int] | np.ndarray) -> str:
    """Inverse of encode_patch: characters up to the first non-character id."""
    chars = []
    for i in ids:
        i = int(i)
        if not 0 < i < MASK_ID:
            break
        chars.append(chr(i + 31))
    return "".join(chars)


def decode_patches(patches: np.ndarray) -> list[str]:
    """Patch texts of a [P, 64] array (the EOS patch decodes to an empty string)."""
    return [decode_patch(row) for row in patches]


def segment_windows(n_patches: int, max_length: int) -> list[tuple[int, int]]:
    """Windows of at most ``max_length`` patches covering a long piece, for segment-averaging."""
    if n_patches <= max_length:
        return [(0, n_patches)]
    starts = range(0, n_patches, max_length)
    return [(s, min(s + max_length, n_patches)) for s in starts]


def pad_batch(items: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack [P_i, 64] arrays into ids [B, P_max, 64] (PAD-filled) and a patch mask [B, P_max]."""
    if not items:
        raise ValueError("pad_batch needs at least one item")
    longest = max(len(x) for x in items)
    ids = np.zeros((len(items), longest, PATCH_LENGTH), dtype=np.int64)
    mask = np.zeros((len(items), longest), dtype=np.int64)
    for b, x in enumerate(items):
        ids[b, : len(x)] = x
        mask[b, : len(x)] = 1
    return ids, mask
