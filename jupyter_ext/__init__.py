"""Notebook widgets that search, play, classify and caption scores (JupyterLab 4, Notebook 7).

``ClampSearch(model, index)``, ``ClampClassify(model, score, labels)``,
``ClampCaption(model, score)``, ``show(score)`` / ``ScoreView(score)``, and the ``%clamp``
magic after ``%load_ext jupyter_ext``. Needs the ``jupyter`` extra (anywidget)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"ClampSearch": "search", "ClampClassify": "classify", "ClampCaption": "caption",
            "ScoreView": "score_view", "show": "score_view"}
__all__ = ["ClampCaption", "ClampClassify", "ClampSearch", "ScoreView", "load_ipython_extension",
           "show"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        try:
            module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        except ModuleNotFoundError as e:
            if e.name in ("anywidget", "ipywidgets", "traitlets", "IPython"):
                from clamp_core.errors import ClampError

                raise ClampError(f"the notebook widgets need {e.name}; install them with "
                                 "pip install 'clamp-notation[jupyter]'") from None
            raise
        return getattr(module, name)
    raise AttributeError(f"module 'jupyter_ext' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_ext``: registers the ``%clamp`` magic."""
    from .magics import ClampMagics

    ipython.register_magics(ClampMagics(ipython))
