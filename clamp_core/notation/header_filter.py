"""The official CLaMP header filter for ABC text (CLaMP 1 `abc_filter`), re-implemented
bit-exactly."""

from __future__ import annotations

# Compared against line[:2]. The lone 'G' (no colon) can only match a line that is exactly "G",
# so `G:` lines survive; reproduced on purpose for feature compatibility with the checkpoints.
_DROPPED_PREFIXES = frozenset(
    ["A:", "B:", "C:", "D:", "F:", "G", "H:", "N:", "O:", "R:", "r:", "S:", "T:", "W:", "w:",
     "X:", "Z:"]
)


def filter_abc_header(text: str) -> str:
    """Apply the official CLaMP filter: drop metadata/comment lines and trailing `%` bar numbers.

    Every surviving line (empty ones included) is emitted with a trailing newline, exactly as
    the official code does, so xml2abc's "...|]\\n\\n" ends up as "...|]\\n\\n\\n".
    """
    out: list[str] = []
    for line in text.replace("\r", "").split("\n"):
        is_score = line.startswith("%%score")
        if line[:2] in _DROPPED_PREFIXES or (line.startswith("%") and not is_score):
            continue
        if "%" in line and not is_score:
            # Drop the last %-segment, its '%' and one more char (the space of xml2abc's " %12").
            line = "%".join(line.split("%")[:-1])[:-1]
        out.append(line + "\n")
    return "".join(out)
