"""The one exception type for errors a user can cause and fix, and how any exception is shown
inside such an error's one line."""

from __future__ import annotations


class ClampError(Exception):
    """A user-facing error: the message says what was wrong and what to do.

    The CLI prints it on one line and exits non-zero; batch jobs record it and carry on.
    """


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as one short line: whitespace collapsed, the class name when it says
    nothing. A ClampError is kept whole (it is already one line, and its end says what to do);
    any other message is cut to ``limit`` characters (parsers can dump whole documents)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ClampError) or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."
