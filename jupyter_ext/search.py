"""ClampSearch: type a description, get the closest scores of a library index, drawn and
playable, each with "more like this"."""

from __future__ import annotations

import os
import threading
from typing import Any

import traitlets

from clamp_core.errors import ClampError

from . import assets
from .base import ClampWidget, file_score, resolve_model


class ClampSearch(ClampWidget):
    """``ClampSearch(model, index)``: ``model`` a Clamp or model name, ``index`` an index
    folder (built with ``clamp index``) or an open ``clamp_core.index.Index``."""

    _esm = assets.widget_esm("search")
    query = traitlets.Unicode("").tag(sync=True)
    k = traitlets.Int(8).tag(sync=True)
    heading = traitlets.Unicode("").tag(sync=True)
    results = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, model: Any, index: Any, query: str = "", k: int = 8, **kwargs: Any):
        from clamp_core.index import Index

        super().__init__(k=k, **kwargs)
        self._clamp = resolve_model(model)
        folder = index.folder if isinstance(index, Index) else index
        if not isinstance(folder, (str, os.PathLike)):
            raise ClampError("index must be an index folder or an Index, "
                             f"not {type(index).__name__}")
        self._folder = os.fspath(folder)
        self._local = threading.local()  # sqlite connections belong to the thread that opened them
        self._open_index().check_model(self._clamp)
        self._hits: dict[str, Any] = {}
        self._quiet = False
        self.on_msg(self._on_frontend_msg)
        if query:
            self.search(query)

    def _open_index(self):
        from clamp_core.index import Index

        if getattr(self._local, "index", None) is None:
            self._local.index = Index(self._folder)
        return self._local.index

    # -- actions (from Python or from the browser) ---------------------------------------------
    def search(self, query: str) -> list:
        """Run a text query; the results show in the widget and are returned as Hits."""
        query = " ".join(str(query).split())
        self._set_query(query)
        hits: list = []
        with self._busy("Searching…"):
            hits = self._clamp.search(query, self._open_index(), k=self.k)
            self._publish(hits, f"{len(hits)} best matches for \u201c{query}\u201d")
        return hits

    def similar(self, hit_id: str) -> list:
        """Show the scores nearest one of the current results (by its id)."""
        hits: list = []
        with self._busy("Finding similar scores…"):
            hit = self._hits.get(hit_id)
            if hit is None:
                raise ClampError(f"{hit_id!r} is not among the results the kernel knows; "
                                 "run the search again")
            abc, _ = file_score(hit.path, hit.tune)
            vec = self._clamp.encode_abc([abc])[0]
            found = self._open_index().search(vec, self.k + 1)
            hits = [h for h in found if h.id != hit.id][:self.k]
            for rank, h in enumerate(hits, 1):
                h.rank = rank
            self._publish(hits, f"Scores like {hit.title or hit.id}")
        return hits

    def _publish(self, hits: list, heading: str) -> None:
        items = []
        for h in hits:
            item = {"rank": h.rank, "score": h.score, "id": h.id, "tune": h.tune,
                    "title": h.title or "", "composer": h.composer or ""}
            try:
                item.update(file_score(h.path, h.tune)[1].to_dict())
            except ClampError as e:
                item["error"] = str(e)
            items.append(item)
        self._hits = {h.id: h for h in hits}
        with self.hold_sync():
            self.results = items
            self.heading = heading

    def _set_query(self, query: str) -> None:
        self._quiet = True
        try:
            self.query = query
        finally:
            self._quiet = False

    @traitlets.observe("query")
    def _query_changed(self, change: dict) -> None:
        if not self._quiet and change["new"].strip():
            self.search(change["new"])

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: list) -> None:
        """Browser actions: {action: "search", query} and {action: "similar", id}."""
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "search":
            self.search(str(content.get("query", "")))
        elif action == "similar":
            self.similar(str(content.get("id", "")))
