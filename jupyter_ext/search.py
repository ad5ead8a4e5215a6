"""ClampSearch: type a description, get the closest scores of a library index, drawn and
playable, each with its calibrated chance of matching and "more like this"."""

from __future__ import annotations

import os
import threading
from typing import Any

import traitlets

from clamp_core.errors import ClampError

from . import assets
from .base import ClampWidget, display_title, file_score, novelty_state, plain, resolve_model
from .notation import passage_notation


class ClampSearch(ClampWidget):
    """``ClampSearch(model, index)``: ``model`` a Clamp or model name, ``index`` an index
    folder (built with ``clamp index``) or an open ``clamp_core.index.Index``.

    Each of ``results`` carries ``score`` (the cosine) and ``relevance``: for a text search, the
    calibrated chance (0-1) that the work fits the query, None where the model carries no
    relevance calibration and for "more like this" (``mode`` "similar", where ``score`` is the
    cosine of the two pieces' music: 1 the same music, above about 0.8 closely alike).
    ``min_score`` (0-1 or None) leaves out text-search results of lower relevance (the cosine,
    for a model without calibration). ``no_good_match``: even the best result falls below the
    model's "no good match" level, so the list shows the nearest scores, not matches.
    ``novelty``: ``Novelty.to_dict()`` of the score whose neighbours are shown ({} for a text
    search).

    ``passages=True`` (an index built with ``clamp index --passages``) answers with passages:
    each result names its ``bars`` [first, last], draws just those bars (the whole passage
    in context, its bars highlighted, on expand) and plays from its first bar; "More like this"
    finds passages like it.

    ``where`` (a list such as ``["composer=Bach", "bars<=32"]``, the search box's filter chips)
    keeps only scores whose stored facts pass every filter, for searches and "More like this".
"""

    _esm = assets.widget_esm("search")
    _ready = False  # set up: trait observers may search
    query = traitlets.Unicode("").tag(sync=True)
    k = traitlets.Int(8).tag(sync=True)
    min_score = traitlets.Float(None, allow_none=True, min=0.0, max=1.0).tag(sync=True)
    heading = traitlets.Unicode("").tag(sync=True)
    results = traitlets.List(traitlets.Dict()).tag(sync=True)
    mode = traitlets.Unicode("").tag(sync=True)  # what `results` answer: "search" or "similar"
    no_good_match = traitlets.Bool(False).tag(sync=True)
    novelty = traitlets.Dict().tag(sync=True)
    can_go_back = traitlets.Bool(False).tag(sync=True)  # "More like this" led away from a list
    passages = traitlets.Bool(False).tag(sync=True)  # answer with passages (bars of works)
    # filters on the library's stored facts ("composer=Bach", "metre=6/8"; index.filters)
    where = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, model: Any, index: Any, query: str = "", k: int = 8,
                 min_score: float | None = None, passages: bool = False,
                 where: list[str] | None = None, **kwargs: Any):
        from clamp_core.index import Index

        if passages and min_score is not None:
            raise ClampError("min_score is a relevance, which passage results do not carry; "
                             "leave it out with passages=True")
        from clamp_core.index import parse_conditions

        parse_conditions(list(where or []))  # a bad filter fails here, in one line
        super().__init__(k=k, min_score=min_score, passages=passages, where=list(where or []),
                         **kwargs)
        self._clamp = resolve_model(model)
        folder = index.folder if isinstance(index, Index) else index
        if not isinstance(folder, (str, os.PathLike)):
            raise ClampError("index must be an index folder or an Index, "
                             f"not {type(index).__name__}")
        self._folder = os.fspath(folder)
        self._local = threading.local()  # sqlite connections belong to the thread that opened them
        self._open_index().check_model(self._clamp)
        if passages:
            self._open_index().passages()  # says how to add them when the index has none
        self._hits: dict[str, Any] = {}
        self._history: list[dict[str, Any]] = []  # the lists "More like this" led away from
        self._quiet = False
        self.on_msg(self._on_frontend_msg)
        self._ready = True
        if query:
            self.search(query)

    def _open_index(self):
        from clamp_core.index import as_index

        if getattr(self._local, "index", None) is None:
            self._local.index = as_index(self._folder)  # a folder or a store URL
        return self._local.index

    @property
    def _relevance_fitted(self) -> bool:
        """Whether hits' relevance is a calibrated chance (else it is the cosine itself)."""
        return bool(self._clamp.calibration.relevance)

    # -- actions (from Python or from the browser) ---------------------------------------------
    def search(self, query: str) -> list:
        """Run a text query; the results show in the widget and are returned as Hits (those of
        relevance >= ``min_score``)."""
        query = " ".join(str(query).split())
        self._set_query(query)
        hits: list = []
        with self._busy("Searching…"):
            index, floor = self._open_index(), self.min_score
            hits = self._clamp.search(query, index, k=self.k, passages=self.passages,
                                      where=list(self.where) or None)
            # "no good match" is about the best work of the library, kept or not by min_score,
            # so it is judged before the filter (as the CLI and the service do)
            weak = self._clamp.no_good_match(hits)
            if floor is not None:
                hits = [h for h in hits if h.relevance >= floor]
            self._history.clear()
            self._publish(hits, self._search_heading(query, len(hits), weak), mode="search",
                          no_good_match=weak)
        return hits

    def _search_heading(self, query: str, n: int, weak: bool) -> str:
        quoted = f"\u201c{query}\u201d"
        if self.passages:
            return (f"{n} passage{'s' if n != 1 else ''} nearest {quoted}" if n
                    else f"No results for {quoted}: the index holds no passages")
        floor = ""
        if self.min_score is not None:
            floor = (f"a match of at least {self.min_score:.0%}" if self._relevance_fitted
                     else f"a score of at least {self.min_score:.2f}")
            if not n:
                return f"No score of the library reaches {floor} for {quoted}"
        if not n and self.where:
            return f"No score of the library passes {' and '.join(self.where)}"
        if not n:
            return f"No results for {quoted}: the index is empty"
        if weak:
            heading = f"The {n} nearest scores to {quoted}"
        else:
            heading = f"{n} best matches for {quoted}"
        return heading + (f" ({floor})" if floor else "")

    def similar(self, hit_id: str) -> list:
        """Show the scores nearest one of the current results (by its id)."""
        hits: list = []
        with self._busy("Finding similar scores…"):
            hit = self._hits.get(hit_id)
            if hit is None:
                raise ClampError(f"{hit_id!r} is not among the results the kernel knows; "
                                 "run the search again")
            abc, _ = file_score(hit.path, hit.tune)
            measures = _measures(hit)
            if measures:  # a passage: its own bars are the query
                from clamp_core.notation import passage_window

                abc = passage_window(abc, measures[0], measures[1] + 1)[0]
            music = self._clamp.encode_abc([abc])[0]  # once: for the neighbours and novelty
            # left out by id, not by file: the other tunes of a multi-tune file may be alike
            found = self._clamp.similar(hit.path, self._open_index(), k=self.k + 1,
                                        exclude_self=False, vector=music,
                                        passages=bool(measures),
                                        where=list(self.where) or None)
            hits = [h for h in found if not _same_place(h, hit)][:self.k]
            for rank, h in enumerate(hits, 1):
                h.rank = rank
            name = display_title(hit.title, (hit.meta or {}).get("work")) or hit.id
            if hit.bars:
                name += f", bars {hit.bars[0]}-{hit.bars[1]}"
            self._history.append(self._snapshot())
            self._publish(hits, f"{'Passages' if measures else 'Scores'} like {name}",
                          mode="similar",
                          novelty=novelty_state(self._clamp, music))
        return hits

    def back(self) -> bool:
        """Show the list shown before the last "More like this" again; False when there is
        none."""
        if not self._history:
            return False
        state = self._history.pop()
        self._hits = state.pop("hits")
        with self.hold_sync():
            for name, value in state.items():
                setattr(self, name, value)
            self.can_go_back = bool(self._history)
            self.error = ""
        return True

    def _snapshot(self) -> dict[str, Any]:
        return {"hits": dict(self._hits), "results": list(self.results), "heading": self.heading,
                "mode": self.mode, "no_good_match": self.no_good_match,
                "novelty": dict(self.novelty)}

    def _publish(self, hits: list, heading: str, mode: str, no_good_match: bool = False,
                 novelty: dict | None = None) -> None:
        fitted = mode == "search" and self._relevance_fitted
        items = []
        for h in hits:
            item = {"rank": h.rank, "score": h.score, "id": h.id, "tune": h.tune,
                    "title": display_title(h.title, (h.meta or {}).get("work")),
                    "composer": h.composer or "",
                    "relevance": h.relevance if fitted and h.relevance is not None else None}
            try:
                abc, drawing = file_score(h.path, h.tune)
                measures = _measures(h)
                if measures:
                    item.update(passage_notation(abc, measures[0], measures[1]),
                                passage_bars=list(h.bars or []))
                else:
                    item.update(drawing.to_dict())
            except ClampError as e:
                item["error"] = str(e)
            items.append(item)
        self._hits = {h.id: h for h in hits}
        with self.hold_sync():
            self.results = plain(items)
            self.heading = heading
            self.mode = mode
            self.no_good_match = bool(no_good_match)
            self.novelty = novelty or {}
            self.can_go_back = bool(self._history)

    def _set_query(self, query: str) -> None:
        self._quiet = True
        try:
            self.query = query
        finally:
            self._quiet = False

    @traitlets.observe("min_score")
    def _min_score_changed(self, _change: dict) -> None:
        """A new floor re-runs the current text search (not before the widget is set up)."""
        if self._ready and self.mode == "search" and self.query.strip():
            self.search(self.query)

    @traitlets.validate("where")
    def _valid_where(self, proposal: dict) -> list[str]:
        """Filters are checked as they are set (the browser's chips too): a bad one is refused
        with a one-line reason, and the filters stay as they were."""
        from clamp_core.index import parse_conditions

        value = [" ".join(str(w).split()) for w in proposal["value"] if str(w).strip()]
        parse_conditions(value)
        return value

    @traitlets.observe("where")
    def _where_changed(self, _change: dict) -> None:
        """New filters re-run the current text search."""
        if self._ready and self.mode == "search" and self.query.strip():
            self.search(self.query)

    @traitlets.observe("query")
    def _query_changed(self, change: dict) -> None:
        if not self._quiet and change["new"].strip():
            self.search(change["new"])

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: list) -> None:
        """Browser actions: {action: "search", query}, {action: "similar", id},
        {action: "back"} and {action: "where", filters}: the filter chips, checked here so a bad
        one is answered in the error line, not by a trait validation error in the browser."""
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "search":
            self.search(str(content.get("query", "")))
        elif action == "similar":
            self.similar(str(content.get("id", "")))
        elif action == "back":
            self.back()
        elif action == "where":
            filters = content.get("filters")
            try:
                self.where = [str(f) for f in filters] if isinstance(filters, list) else []
                self.error = ""
            except (ClampError, traitlets.TraitError) as e:
                self.error = str(e)


def _measures(hit) -> list[int] | None:
    """A passage hit's 0-based bar positions [first, last]; None for a whole work."""
    measures = (hit.meta or {}).get("passage", {}).get("measures")
    return list(measures) if measures else None


def _same_place(a, b) -> bool:
    """Whether two hits are the same work (and, for passages, overlapping bars)."""
    if a.id == b.id:
        return True
    ma, mb = _measures(a), _measures(b)
    return bool(ma and mb and a.path == b.path and a.tune == b.tune
                and ma[0] <= mb[1] and mb[0] <= ma[1])
