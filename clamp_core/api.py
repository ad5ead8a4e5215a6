"""`Clamp`: the one object front ends use. Scores may be paths, ABC text or music21 streams."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from clamp_core.calibration import Calibration, Novelty
from clamp_core.errors import ClampError
from clamp_core.music_query import MusicQuery
from clamp_core.runtime.encoder import Encoder, l2_normalise
from clamp_core.zero_shot import label_probabilities, label_prompts, label_prototypes

DEFAULT_TEMPLATES = ("{}", "a piece of music: {}", "this music is {}")


class Clamp:
    """One model behind the `Encoder` interface plus the conversion pipeline; features come
    back L2-normalised. Torch or ONNX Runtime is the encoder's business, never this class's."""

    def __init__(self, encoder: Encoder | Any, name: str | None = None):
        if not isinstance(encoder, Encoder):  # a bare torch ClampModel (tests, training scripts)
            from clamp_core.runtime.torch_encoder import TorchEncoder

            encoder = TorchEncoder(encoder, name or "model")
        self.encoder = encoder
        self.name = str(name if name is not None else encoder.name)
        self._text_cache: dict[Any, Any] = {}  # label prompts and caption bank, embedded once
        self._calibration: Calibration | None = None

    @classmethod
    def load(cls, name_or_path: str = "default", backend: str = "auto", device: str | None = None,
             precision: str = "auto", threads: int | None = None) -> Clamp:
        """Load a model folder (``"default"``: the model shipped with clamp-notation) or an ONNX
        bundle made by ``clamp-export`` (``backend="auto"`` picks ONNX for a bundle folder).

        ``device``: torch "cpu" (default) / "cuda[:N]"; ONNX "auto" (default: CUDA when its
        libraries load, else CPU), "cpu" or "cuda[:N]". ``threads``: ONNX Runtime CPU threads.
        """
        from clamp_core.runtime.loading import load_encoder

        return cls(load_encoder(name_or_path, backend, device, precision, threads),
                   str(name_or_path))

    @property
    def calibration(self) -> Calibration:
        """What `clamp calibrate` fitted for these weights (temperature, caption thresholds,
        novelty reference, search relevance); uncalibrated defaults where the folder has none."""
        if self._calibration is None:
            self._calibration = Calibration.load(getattr(self.encoder, "folder", None),
                                                 self.fingerprint)
        return self._calibration

    @calibration.setter
    def calibration(self, value: Calibration) -> None:
        self._calibration = value

    @property
    def model(self):
        """The encoder's underlying model: a torch ClampModel, or the ONNX encoder itself."""
        return getattr(self.encoder, "model", self.encoder)

    @property
    def backend(self) -> str:
        return self.encoder.backend

    @property
    def device(self) -> str:
        return self.encoder.device

    @property
    def precision(self) -> str:
        return self.encoder.precision

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def logit_scale(self) -> float:
        return self.encoder.logit_scale

    @property
    def fingerprint(self) -> str:
        return self.encoder.fingerprint

    # -- encoding --------------------------------------------------------------------------
    def score_abc(self, score: Any) -> str:
        """The model-ready ABC of a path, ABC text, music21 stream or loaded Score."""
        from clamp_core.notation.convert import score_to_abc
        from clamp_core.scores.load import Score, load_score

        return score_to_abc(score if isinstance(score, Score) else load_score(score))

    def encode_abc(self, abcs: Sequence[str], normalize: bool = True, batch_size: int = 16,
                   ) -> np.ndarray:
        feats = self.encoder.encode_abc(list(abcs), batch_size=batch_size)
        return l2_normalise(feats) if normalize else feats

    def encode_scores(self, scores: Sequence[Any], normalize: bool = True, batch_size: int = 16,
                      ) -> np.ndarray:
        """Features [N, D] of scores (paths, ABC text, music21 streams); batched by length,
        long scores averaged over windows as the model's config says."""
        return self.encode_abc([self.score_abc(s) for s in scores], normalize, batch_size)

    def encode_texts(self, texts: Sequence[str], normalize: bool = True, batch_size: int = 64,
                     ) -> np.ndarray:
        if isinstance(texts, str):
            raise ClampError("encode_texts takes a list of texts, not one string")
        feats = self.encoder.encode_texts(list(texts), batch_size=batch_size)
        return l2_normalise(feats) if normalize else feats

    # -- tasks -----------------------------------------------------------------------------
    def label_embeddings(self, labels: Sequence[str], templates: Sequence[str] | str | None = None,
                         prompts: Mapping[str, Sequence[str]] | None = None) -> np.ndarray:
        """One unit vector per label: the renormalised mean over its prompt templates
        (ensembling) and over any prompts of its own in ``prompts`` (label -> texts)."""
        if isinstance(templates, str):
            templates = [templates]
        templates = tuple(templates or DEFAULT_TEMPLATES)
        for t in templates:
            if "{}" not in t:
                raise ClampError(f"template {t!r} has no '{{}}' where the label goes")
        texts = label_prompts(labels, templates, prompts)
        key = ("labels", tuple(map(tuple, texts)))
        if key not in self._text_cache:
            if len(self._text_cache) > 256:
                self._text_cache.clear()
            self._text_cache[key] = label_prototypes(self.encode_texts, texts)
        return self._text_cache[key]

    def cached_texts(self, name: str, make) -> tuple[list[str], np.ndarray]:
        """Texts made by ``make()`` and their embeddings, computed once per loaded model."""
        if name not in self._text_cache:
            texts = list(make())
            self._text_cache[name] = (texts, self.encode_texts(texts))
        return self._text_cache[name]

    def classify(self, score: Any, labels: Sequence[str],
                 templates: Sequence[str] | str | None = None,
                 prompts: Mapping[str, Sequence[str]] | None = None) -> list[tuple[str, float]]:
        """Labels with calibrated probabilities (a stated 70% is right about 70% of the time
        on the model's validation tasks where `clamp calibrate` was run), best first."""
        labels = [str(x).strip() for x in labels if str(x).strip()]
        if len(labels) < 2:
            raise ClampError("classify needs at least two labels")
        music = self.encode_scores([score])[0]
        return self.rank_labels(music, labels, templates, prompts)

    def classify_set(self, score: Any, label_set: str) -> list[tuple[str, float]]:
        """Classify against a built-in label set (see clamp_core.labels) or a JSON file."""
        from clamp_core.labels import load_label_set

        ls = load_label_set(label_set)
        return self.rank_labels(self.encode_scores([score])[0], ls.labels, ls.templates, ls.prompts)

    def caption(self, score: Any):
        """A :class:`clamp_core.caption.Caption`: facts, facets with probabilities, best
        sentence."""
        from clamp_core.caption import caption

        return caption(self, score)

    def rank_labels(self, music: np.ndarray, labels: Sequence[str],
                    templates: Sequence[str] | str | None = None,
                    prompts: Mapping[str, Sequence[str]] | None = None) -> list[tuple[str, float]]:
        """Labels of one music embedding with calibrated probabilities, best first."""
        probs = label_probabilities(music, self.label_embeddings(labels, templates, prompts),
                                    self.logit_scale / self.calibration.temperature_for(labels))
        return [(labels[i], float(probs[i])) for i in np.argsort(-probs, kind="stable")]

    def novelty(self, score: Any) -> Novelty:
        """How close a score is to the music the model was trained on (``.unfamiliar``: unlike
        anything in training, so its answers deserve caution)."""
        return self.novelty_of(self.encode_scores([score])[0])

    def novelty_of(self, music: np.ndarray) -> Novelty:
        return self.calibration.novelty(music)

    # -- library index ---------------------------------------------------------------------
    def search(self, query: str, index, k: int = 10, min_score: float | None = None,
               where=None, passages: bool = False) -> list:
        """The k scores of a library index (an ``Index`` or its folder) nearest a text query.
        Each hit's ``relevance`` is the chance (0-1, fitted on the model's validation texts) that
        the work fits the query; ``min_score`` drops hits below that relevance. ``where`` keeps
        only scores whose facts pass filters: ``{"composer": "Bach", "metre": "3/4"}`` or
        ``["composer=Bach", "bars<=32"]`` (fields: clamp_core.index.filters.FIELDS).

        ``passages=True`` (an index built with passages) returns passages instead, each with
        ``bars`` [first, last]; their ``relevance`` is None (the calibration is fitted on whole
        works) and ``score`` is the cosine."""
        from clamp_core.index import as_index

        if not isinstance(query, str) or not query.strip():
            raise ClampError("search needs a non-empty text query")
        idx = as_index(index)
        idx.check_model(self)
        vec = self.encode_texts([query])[0]
        if passages:
            hits = idx.search_passages(vec, k, where=where)
            return [h for h in hits if min_score is None or h.score >= min_score]
        return self._relevant(idx.search(vec, k, where=where), min_score)

    def no_good_match(self, hits: list) -> bool:
        """True when the best hit of a search falls below the model's "no good match" level (a
        query the library, or the model, cannot answer), so front ends say so."""
        level = self.calibration.no_match
        if hits and hits[0].relevance is None:  # passages: no calibrated level to judge by
            return False
        return bool(level is not None and (not hits or hits[0].relevance < level))

    def _relevant(self, hits: list, min_score: float | None) -> list:
        for h in hits:
            h.relevance = round(float(self.calibration.relevance_of(h.score)), 4)
        return [h for h in hits if min_score is None or h.relevance >= min_score]

    def similar(self, score: Any, index, k: int = 10, exclude_self: bool = True,
                vector: np.ndarray | None = None, where=None, passages: bool = False,
                bars: tuple[int, int] | str | None = None, any_key: bool = False,
                query: MusicQuery | None = None) -> list:
        """The k scores of a library index nearest ``score``; a file of the index itself is
        left out of its own results when ``exclude_self``. ``vector``: ``score``'s embedding
        when the caller has it already (it is then not encoded again). ``where``: filters on
        the stored facts, as for `search`.

        ``passages=True`` returns passages of the index's works (each with ``bars``) like
        ``score``, or like its bars ``bars`` ((9, 16) or "9-16", numbered as the score numbers
        them); the query's own bars (or, without ``bars``, its whole file) are left out, other
        places of the same piece are not. Passages holding the query's very notes come first
        among those that sound alike (``Hit.same_notes``, see ``index.passages``).

        ``any_key=True`` matches the music in any key: the query is encoded in each of the 12
        keys and a score (or passage) counts by its best match among them (``vector`` may then
        be those [M, D] embeddings, as ``query_vectors`` gives them). ``query``: what
        ``music_query`` made of ``score`` (with ``bars`` and ``any_key``) when the caller has
        it already."""
        import os

        from clamp_core.index import as_index

        idx = as_index(index)
        idx.check_model(self)
        if bars is not None and not passages:
            raise ClampError("bars are for passage search: add passages=True (--passages)")
        rel = None
        if exclude_self and isinstance(score, (str, os.PathLike)) and os.path.isfile(score):
            rel = idx.rel_path(score)
        if not passages:
            vec = query.vectors if query is not None else vector
            if vec is None:
                vec = self.query_vectors(self.score_abc(score), any_key)
            return idx.search(vec, k, exclude_paths={rel} if rel else None, where=where)
        from clamp_core.index.passages import overlaps

        if query is None and vector is not None:  # encoded by the caller: ranked by cosine
            query = MusicQuery(vector, None if bars is None else _bar_span(bars))
        elif query is None:
            query = self.music_query(score, bars, any_key=any_key)
        span = query.span

        def own(hit) -> bool:
            return rel is not None and hit.path == idx._abs(rel) and (
                span is None or overlaps(hit.bars, span))
        return idx.search_passages(query.vectors, k, where=where, skip=own, prints=query.prints)

    def query_vectors(self, abc: str, any_key: bool = False) -> np.ndarray:
        """The embedding [D] of a model ABC text; with ``any_key``, [M, D]: the text in each key
        it can be moved to (itself first), for a search in any key."""
        return self._query_rows(abc, any_key)[0]

    def _query_rows(self, abc: str, any_key: bool) -> tuple[np.ndarray, list[str]]:
        if not any_key:
            return self.encode_abc([abc])[0], [abc]
        from clamp_core.notation.transpose import key_variants

        texts = key_variants(abc)
        return self.encode_abc(texts), texts

    def music_query(self, score: Any, bars: tuple[int, int] | str | None = None,
                    positions: bool = False, any_key: bool = False) -> MusicQuery:
        """A score, or its bars ``bars`` ((9, 16) or "9-16", as the score numbers them; with
        ``positions``, 0-based measure positions), ready to search with: its embedding (all 12
        keys with ``any_key``), the [first, last] bar numbers it covers, its bars' note
        fingerprints."""
        span = None
        if bars is None:
            abc = self.score_abc(score)
        else:
            from clamp_core.notation.convert import score_to_abc
            from clamp_core.notation.passages import excerpt, excerpt_at, score_bar_numbers
            from clamp_core.scores.load import Score, load_score

            first, last = _bar_span(bars)
            loaded = score if isinstance(score, Score) else load_score(score)
            cut = (excerpt_at if positions else excerpt)(score_to_abc(loaded), first, last,
                                                         score_bar_numbers(loaded.stream))
            abc, span = cut.abc, [cut.first, cut.last]
        vectors, texts = self._query_rows(abc, any_key)
        return MusicQuery(vectors, span, texts)


def _bar_span(bars: tuple[int, int] | str) -> list[int]:
    """[first, last] of a bar range given as (9, 16) or "9-16"."""
    from clamp_core.notation.passages import parse_bar_range

    return list(parse_bar_range(bars) if isinstance(bars, str) else map(int, bars))
