"""The in-memory duplicate index of the stored initiatives, safe for concurrent requests.

New records go to a small *recent* index and are merged into the *main* one in blocks of
``merge_every``; a query asks both and keeps the best. (This was written when
``NearDuplicateIndex.add`` copied the whole vector matrix on every call; it now grows its
arrays geometrically, so the split matters less, but a merge still keeps the per-intake work
small and bounded.) Readers share a lock; a write (add / merge) takes it alone.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from model.dedup import DuplicateMatch, DuplicateRule, IndexedDoc, NearDuplicateIndex


class ReadWriteLock:
    """Many readers or one writer; a waiting writer stops new readers (no writer starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class LiveIndex:
    """Main + recent ``NearDuplicateIndex`` over the store's records (ids are ``str(id)``)."""

    def __init__(self, rule: DuplicateRule, embedder, merge_every: int = 512):
        self.rule = rule
        self.embedder = embedder
        self.merge_every = merge_every
        self._lock = ReadWriteLock()
        self._main = self._empty()
        self._recent = self._empty()
        self._pending: list[tuple[list[IndexedDoc], np.ndarray]] = []

    def _empty(self) -> NearDuplicateIndex:
        return NearDuplicateIndex(self.rule).fit([], self.embedder)

    def rebuild(self, docs: list[IndexedDoc]) -> None:
        """Index ``docs`` from scratch (start-up: the store is the source of truth)."""
        main = NearDuplicateIndex(self.rule).fit(docs, self.embedder)
        with self._lock.write():
            self._main, self._recent, self._pending = main, self._empty(), []

    def __len__(self) -> int:
        return len(self._main) + len(self._recent)

    def query(self, doc: IndexedDoc, vector: np.ndarray, k: int) -> list[DuplicateMatch]:
        """The ``k`` best stored matches of ``doc`` (its ``vector`` is reused, not recomputed)."""
        with self._lock.read():
            found = self._main.query(doc, k=k, vector=vector)
            found += self._recent.query(doc, k=k, vector=vector)
        return sorted(found, key=lambda m: -m.score)[:k]

    def add(self, docs: list[IndexedDoc], vectors: np.ndarray) -> None:
        """Index new records; every ``merge_every`` of them move to the main index at once."""
        if not docs:
            return
        with self._lock.write():
            self._recent.add(docs, vectors=np.asarray(vectors, dtype=np.float32))
            self._pending.append((list(docs), np.asarray(vectors, dtype=np.float32)))
            if len(self._recent) >= self.merge_every:
                self._merge()

    def _merge(self) -> None:
        docs = [d for batch, _ in self._pending for d in batch]
        self._main.add(docs, vectors=np.vstack([v for _, v in self._pending]))
        self._recent, self._pending = self._empty(), []
