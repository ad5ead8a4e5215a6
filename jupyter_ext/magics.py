"""``%load_ext jupyter_ext`` then
``%clamp search [--index DIR] [-k N] [--min-score P] [--passages] [--model NAME] QUERY``
(also ``%clamp show|caption SCORE`` and ``%clamp classify SCORE --labels a,b,c``)."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from clamp_core.errors import ClampError

USAGE = ("%clamp search [--index DIR] [-k N] [--min-score P] [--passages] [--model NAME] QUERY | "
         "%clamp show SCORE | "
         "%clamp caption SCORE [--model NAME] | %clamp classify SCORE --labels a,b,c|SET")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would exit the kernel's process
        raise ClampError(f"%clamp: {message}; usage: {USAGE}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="%clamp", add_help=False)
    sub = p.add_subparsers(dest="verb", parser_class=_Parser)
    s = sub.add_parser("search", add_help=False)
    s.add_argument("--index")
    s.add_argument("-k", "--k", type=int, default=8)
    s.add_argument("--min-score", type=float, default=None)  # relevance 0-1
    s.add_argument("--passages", action="store_true")  # bars of works (clamp index --passages)
    s.add_argument("--model", default="default")
    s.add_argument("query", nargs="+")
    for verb in ("show", "caption", "classify"):
        v = sub.add_parser(verb, add_help=False)
        v.add_argument("score")
        v.add_argument("--model", default="default")
        if verb == "classify":
            v.add_argument("--labels", default="genres")
    return p


@magics_class
class ClampMagics(Magics):
    """The ``%clamp`` line magic; remembers the last ``--index`` so later searches may omit it."""

    def __init__(self, shell: Any = None):
        super().__init__(shell)
        self.index: str | None = None

    @line_magic
    def clamp(self, line: str):
        """Every error a user can fix shows as IPython's one-line UsageError, not a traceback."""
        from IPython.core.error import UsageError

        try:
            return self._run(line)
        except ClampError as e:
            raise UsageError(str(e)) from None
        except OSError as e:  # a file that cannot be read: the path and why, on one line
            name = f"{e.filename}: " if getattr(e, "filename", None) else ""
            raise UsageError(f"%clamp: {name}{e.strerror or e}") from None

    def _run(self, line: str):
        from .caption import ClampCaption
        from .classify import ClampClassify
        from .score_view import ScoreView
        from .search import ClampSearch

        try:
            args = _parser().parse_args(shlex.split(line))
        except ValueError as e:  # unbalanced quotes
            raise ClampError(f"%clamp: {e}; usage: {USAGE}") from None
        if args.verb is None:
            raise ClampError(f"%clamp needs a verb; usage: {USAGE}")
        if args.verb == "search":
            self.index = args.index or self.index
            if not self.index:
                raise ClampError("%clamp search: pass --index DIR (a folder built with "
                                 "`clamp index`); later searches reuse it")
            if args.min_score is not None and not 0 <= args.min_score <= 1:
                raise ClampError(f"%clamp search: --min-score is a relevance from 0 to 1, not "
                                 f"{args.min_score:g}")
            return ClampSearch(args.model, self.index, query=" ".join(args.query), k=args.k,
                               min_score=args.min_score, passages=args.passages)
        if args.verb == "show":
            return ScoreView(args.score)
        if args.verb == "caption":
            return ClampCaption(args.model, args.score)
        labels = args.labels.split(",") if "," in args.labels else args.labels
        return ClampClassify(args.model, args.score, labels)
