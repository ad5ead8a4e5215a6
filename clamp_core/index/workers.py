"""Helpers of index updates: the model fingerprint, a lazily loaded model, reader start-up."""

from __future__ import annotations

import os
import threading
import time


def model_fingerprint(clamp) -> str:
    """The weights' identity an index is built with (the encoder's fingerprint, so a torch
    model and its ONNX bundle share one): a ``Clamp`` or an ``Encoder``."""
    encoder = getattr(clamp, "encoder", clamp)
    return encoder.fingerprint


def model_reference(clamp) -> str:
    """How an index names its model: "default", else the model folder's absolute path."""
    name = str(clamp.name)
    return name if name == "default" else os.path.abspath(os.path.expanduser(name))


def watch_parent(parent: int) -> None:
    """A reader process leaves when the indexing process is gone (kill -9 included), instead
    of waiting forever for work as an orphan."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="clamp-parent-watch").start()


class LazyModel:
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
