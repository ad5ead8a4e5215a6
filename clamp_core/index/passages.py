"""Passage rows of a library index: windows of bars of every work, kept in an index of their
own (``INDEX/passages/``, same model, same library root) so search, filters and the
approximate index work on them unchanged.

A passage row's id is ``<work id>#bars F-L``; its path, tune, title and composer are the work's,
and its metadata is the work's facts plus ``passage``: {"bars": [F, L], "measures": [first, last]
(0-based positions), "work": <work id>, "prints": each bar's note fingerprint}.

A music query (bars of a score) ranks passages by cosine plus ``SAME_NOTES_WEIGHT`` times the
share of its bars a passage holds note for note (``Hit.same_notes``): among passages that sound
alike, the places where these very notes stand come first (a returning strophe, the bars a
selection was cut from). A text query, or an index built before fingerprints, ranks by cosine.
"""

from __future__ import annotations

from clamp_core.errors import ClampError

PASSAGES_DIR = "passages"
PRINTS_FLAG = "bar_prints"  # in the passage index's info: its rows carry note fingerprints
DEFAULT_WIDTH = 8   # bars per passage: 8 every 4 chosen on val (bench/results/passages.md)
DEFAULT_HOP = 4     # bars between passage starts
SAME_NOTES_WEIGHT = 0.1  # chosen on val (bench/results/passages.md)


def check_settings(width: int, hop: int) -> None:
    if not 1 <= width <= 64:
        raise ClampError(f"--passage-bars {width}: a passage is 1 to 64 bars")
    if not 1 <= hop <= width:
        raise ClampError(f"--passage-hop {hop}: the hop is 1 bar to the passage length "
                         f"({width}), so no bar is skipped")


def passage_items(item: dict, width: int, hop: int) -> list[dict]:
    """The passage items of one read work item (a failed work gives one failed item, so the
    file is on record in the passage index too and is not read again)."""
    if item["status"] != "ok":
        return [dict(item)]
    from clamp_core.notation.passages import cut_passages

    try:
        cuts = cut_passages(item["abc"], width, hop, item.get("bar_numbers"))
    except Exception as e:  # noqa: BLE001 - the work itself was read: record, go on
        return [{"id": item["id"], "tune": item["tune"], "status": "failed",
                 "error": f"{item['id']}: could not cut passages ({type(e).__name__}: {e})"}]
    out = []
    for p in cuts:
        # measures: 0-based positions of the first and last bar, for a front end that selects
        # them in the open score (MuseScore) without reading its numbering
        meta = {**(item.get("meta") or {}), "passage": {
            "bars": [p.first, p.last], "measures": [p.index, p.index + p.length - 1],
            "work": item["id"], "prints": p.prints}}
        out.append({"id": f"{item['id']}#bars {p.first}-{p.last}", "tune": item["tune"],
                    "status": "ok", "abc": p.abc, "meta": meta, "title": item.get("title"),
                    "composer": item.get("composer")})
    # a work whose bars repeat numbers (a restart) could give two equal ids: keep them apart
    seen: dict[str, int] = {}
    for it in out:
        n = seen.get(it["id"], 0)
        seen[it["id"]] = n + 1
        if n:
            it["id"] = f"{it['id']}.{n + 1}"
    return out


def overlaps(a: list[int] | None, b: list[int] | None) -> bool:
    return bool(a and b and a[0] <= b[1] and b[0] <= a[1])


def work_of(hit) -> str:
    return (hit.meta or {}).get("passage", {}).get("work", hit.id)


def rank_by_notes(hits: list, prints: list[list[str]] | None,
                  weight: float = SAME_NOTES_WEIGHT) -> list:
    """``hits`` (best cosine first) re-ranked for a music query whose bars have the note
    fingerprints ``prints`` (one list per key the query was tried in): each hit's
    ``same_notes`` is the best share of the query's bars it holds note for note, and hits go
    by cosine + ``weight`` x that share."""
    if not prints or not any(any(p) for p in prints):
        return hits
    from clamp_core.notation import shared_bars

    for h in hits:
        have = (h.meta or {}).get("passage", {}).get("prints")
        if have:
            h.same_notes = round(max(shared_bars(p, have) for p in prints), 4)
    return sorted(hits, key=lambda h: -(h.score + weight * (h.same_notes or 0.0)))


def distinct(hits: list, k: int, skip=None) -> list:
    """The first ``k`` hits, best first, leaving out a passage that overlaps a better one of
    the same work (one place in a piece is one answer) and those ``skip(hit)`` rejects."""
    kept: list = []
    for h in hits:
        if skip is not None and skip(h):
            continue
        if any(work_of(h) == work_of(o) and overlaps(h.bars, o.bars) for o in kept):
            continue
        kept.append(h)
        if len(kept) == k:
            break
    for rank, h in enumerate(kept, 1):
        h.rank = rank
        (h.meta or {}).get("passage", {}).pop("prints", None)  # for ranking, not for readers
    return kept
