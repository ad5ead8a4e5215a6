"""Helpers of index updates: the model fingerprint, a lazily loaded model, reader start-up."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time


def model_fingerprint(clamp) -> str:
    """Identifies the weights, not the folder name: config + both projection matrices."""
    model = getattr(clamp, "model", None)
    recorded = getattr(model, "fingerprint", None)  # an ONNX bundle carries its torch model's
    if recorded:
        return recorded
    h = hashlib.sha256()
    cfg = getattr(model, "config", None)
    h.update(json.dumps(cfg.to_dict() if hasattr(cfg, "to_dict") else str(cfg), sort_keys=True,
                        default=str).encode())
    try:
        sd = model.state_dict()
        for key in ("music_proj.weight", "text_proj.weight"):
            h.update(sd[key].detach().float().cpu().numpy().tobytes())
    except (AttributeError, KeyError):
        h.update(str(getattr(clamp, "name", "")).encode())
    return h.hexdigest()[:16]


def _worker_init(parent: int) -> None:
    """A reader process leaves when the indexing process is gone (kill -9 included), instead
    of waiting forever for work as an orphan."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="clamp-parent-watch").start()


class _LazyModel:
    """A Clamp now, or one being loaded in a background thread; checked against the index."""

    def __init__(self, clamp, check):
        self._check = check
        self._fn = None if hasattr(clamp, "encode_abc") else clamp
        self._clamp = None if self._fn else clamp
        self._err: BaseException | None = None
        self._thread: threading.Thread | None = None
        if self._clamp is not None:
            check(self._clamp)

    def start(self) -> None:
        if self._fn is not None and self._thread is None:
            self._thread = threading.Thread(target=self._load, daemon=True, name="clamp-load")
            self._thread.start()

    def _load(self) -> None:
        try:
            self._clamp = self._fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            self._err = e

    def get(self):
        if self._clamp is None:
            self.start()
            self._thread.join()
            if self._err is not None:
                raise self._err
            self._check(self._clamp)
        return self._clamp
