"""The service's work, behind the HTTP layer: tag, look up duplicates, store, review, audit.

Data flows one way: text → ``normalize`` → features / embedding → classifier and duplicate
index → stored record. Each text is normalised and embedded once; the vector that queried
the index is the one added to it. Writes (intake, review) run one at a time under a lock, so
two copies submitted together still find each other; reads run concurrently.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.dedup import DuplicateMatch, IndexedDoc, NearDuplicateIndex
from service.dupindex import LiveIndex
from service.errors import ConflictError, InvalidInputError, NotFoundError, TooLargeError
from service.models import Models
from service.settings import Settings
from service.store import Candidate, Feedback, Initiative, ListFilter, NewInitiative, Store
from service.tagging import Tags, check_lengths, check_texts, initiative_text, tag_texts

log = logging.getLogger("sangkien.service")
_COMPARED = ("title", "description", "unit", "author", "submitted_at")


@dataclass(frozen=True)
class Submission:
    """One record as the intake system sent it (already schema-validated)."""

    title: str
    description: str = ""
    unit: str = ""
    author: str = ""
    submitted_at: str = ""
    external_id: str | None = None


@dataclass
class IntakeResult:
    initiative: Initiative
    created: bool


def candidate_from_match(m: DuplicateMatch) -> Candidate:
    """The stored form of a match: evidence rounded, passages as query/stored spans."""
    ev = m.evidence
    evidence = {"exact": bool(ev.exact), "jaccard": round(ev.jaccard, 4),
                "containment": round(ev.containment, 4), "cosine": round(ev.cos_fast, 4),
                "same_author": bool(ev.same_author), "same_unit": bool(ev.same_unit),
                "length_ratio": round(ev.length_ratio, 4)}
    passages = [{"query_start": p.a_start, "query_end": p.a_end, "stored_start": p.b_start,
                 "stored_end": p.b_end, "text": p.text} for p in m.passages]
    other: int | str = m.b if m.b.startswith("new:") else int(m.b)
    return Candidate(other, round(float(m.score), 4), bool(m.is_duplicate), m.stage, evidence, passages)


class Engine:
    """Owns the models, the store and the in-memory duplicate index built from the store."""

    def __init__(self, settings: Settings, models: Models, store: Store, index: LiveIndex):
        self.settings = settings
        self.models = models
        self.store = store
        self.index = index
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, models: Models) -> Engine:
        """Connect to the store and index every stored record (the store is the truth)."""
        store = Store(settings.database_url, settings.sqlite_synchronous)
        index = LiveIndex(models.rule, models.embedder, settings.index_merge_every)
        docs = [IndexedDoc(str(i), text, unit, author, sub)
                for i, text, unit, author, sub in store.iter_index_rows()]
        index.rebuild(docs)
        log.info("store %s: %d records indexed", settings.database_url, len(docs))
        return cls(settings, models, store, index)

    def close(self) -> None:
        self.store.close()

    # ---- reads ----------------------------------------------------------------------------

    def classify(self, texts: list[str], batch: bool = True) -> list[Tags]:
        """Normalise and tag texts; refuses empty or over-long ones, naming each."""
        locs: list[list[str | int]] = [["texts", i] for i in range(len(texts))] if batch else [["text"]]
        self._check_batch(len(texts), "texts")
        check_lengths(texts, locs, self.settings.max_text_chars)
        normalised = [initiative_text(t, "") for t in texts]
        check_texts(normalised, locs)
        return tag_texts(self.models, normalised)

    def duplicates(self, text: str, unit: str, author: str, k: int | None) -> tuple[str, list[Candidate]]:
        """The stored records most similar to ``text``; nothing is stored."""
        check_lengths([text], [["text"]], self.settings.max_text_chars)
        normalised = initiative_text(text, "")
        check_texts([normalised], [["text"]])
        vector = self.models.embedder.transform([normalised])[0]
        doc = IndexedDoc("query", normalised, unit, author)
        found = self.index.query(doc, vector, k or self.settings.duplicates_k)
        return normalised, [candidate_from_match(m) for m in found]

    def similar(self, initiative_id: int, k: int | None) -> list[Candidate]:
        """Live look-up of the records most similar to a stored one (itself excluded)."""
        rec = self.get(initiative_id)
        doc = IndexedDoc(str(rec.id), rec.text, rec.unit, rec.author, rec.submitted_at)
        vector = self.models.embedder.transform([rec.text])[0]
        return [candidate_from_match(m) for m in self.index.query(doc, vector, k or self.settings.duplicates_k)]

    def get(self, initiative_id: int) -> Initiative:
        found = self.store.get(initiative_id)
        if found is None:
            raise NotFoundError(f"no initiative with id {initiative_id}: list them with GET /v1/initiatives")
        return found

    def list(self, f: ListFilter, limit: int, offset: int) -> tuple[list[Initiative], int]:
        if f.field is not None:
            self._check_fields([f.field], "field")
        return self.store.list(f, limit, offset)

    def summaries(self, records: list[Initiative] | list[Candidate]) -> dict[int, Any]:
        """Stored rows of every record a list of candidates points at (for titles, units)."""
        cands = [c for r in records for c in (r.candidates if isinstance(r, Initiative) else [r])]
        return self.store.summaries(sorted({c.other for c in cands if isinstance(c.other, int)}))

    # ---- intake ---------------------------------------------------------------------------

    def intake(self, subs: list[Submission]) -> list[IntakeResult]:
        """Validate everything first; tag and embed outside the lock (the slow part); then,
        under the write lock, settle retries, find duplicates, store in one transaction and
        index. Nothing is stored unless the whole batch is.

        (Tagging in a second thread while the index is queried was tried: on 2 cores the two
        threads fight over the GIL and intake got slower, so it stays sequential.)"""
        self._check_batch(len(subs), "items")
        locs = self._locations(subs)
        check_lengths([f"{s.title}\n{s.description}" for s in subs], locs, self.settings.max_text_chars)
        texts = [initiative_text(s.title, s.description) for s in subs]
        check_texts(texts, locs)
        tags = tag_texts(self.models, texts)
        vectors = self.models.embedder.transform(texts)
        with self._write_lock:
            existing, same_as, new = self._resolve_retries(subs, locs)
            candidates = self._find_candidates([texts[i] for i in new], [subs[i] for i in new], vectors[new])
            items = [NewInitiative(subs[i].external_id, subs[i].title, subs[i].description, subs[i].unit,
                                   subs[i].author, subs[i].submitted_at, texts[i], tags[i], cands)
                     for i, cands in zip(new, candidates)]
            stored = self.store.insert(items)
            self.index.add([IndexedDoc(str(r.id), r.text, r.unit, r.author, r.submitted_at) for r in stored],
                           vectors[new])
        created = dict(zip(new, stored))
        return [self._result(i, existing, same_as, created) for i in range(len(subs))]

    @staticmethod
    def _result(i: int, existing: dict[int, Initiative], same_as: dict[int, int],
                created: dict[int, Initiative]) -> IntakeResult:
        if i in existing:
            return IntakeResult(existing[i], False)
        if i in same_as:
            return IntakeResult(created[same_as[i]], False)
        return IntakeResult(created[i], True)

    @staticmethod
    def _locations(subs: list[Submission]) -> list[list[str | int]]:
        """Where each record sits in the request body, for error details."""
        return [["items", i] for i in range(len(subs))] if len(subs) > 1 else [["body"]]

    def _check_batch(self, n: int, what: str) -> None:
        if n > self.settings.max_batch:
            raise TooLargeError(f"the batch has {n:,} {what}; the limit is {self.settings.max_batch:,} per "
                                "request (SANGKIEN_MAX_BATCH): split it into smaller batches",
                                [{"loc": [what], "type": "batch_too_large", "limit": self.settings.max_batch}],
                                code="batch_too_large")

    def _resolve_retries(self, subs: list[Submission], locs: list[list[str | int]],
                         ) -> tuple[dict[int, Initiative], dict[int, int], list[int]]:
        """Split a batch into retries of stored records, repeats within it, and new records.

        A known ``external_id`` with the same content is a retry (same record back); with
        different content it is a conflict, and the whole batch is refused (409).
        """
        stored = self.store.by_external_ids([s.external_id for s in subs if s.external_id])
        existing: dict[int, Initiative] = {}
        same_as: dict[int, int] = {}
        first: dict[str, int] = {}
        new: list[int] = []
        conflicts = []
        for i, s in enumerate(subs):
            ext = s.external_id
            if ext is not None and ext in stored:
                diff = [f for f in _COMPARED if getattr(s, f) != getattr(stored[ext], f)]
                existing[i] = stored[ext]
            elif ext is not None and ext in first:
                diff = [f for f in _COMPARED if getattr(s, f) != getattr(subs[first[ext]], f)]
                same_as[i] = first[ext]
            else:
                diff = []
                new.append(i)
                if ext is not None:
                    first[ext] = i
            if diff:
                conflicts.append({"loc": [str(p) for p in locs[i]] + ["external_id"], "type": "conflict",
                                  "external_id": ext, "different_fields": diff})
        if conflicts:
            c = conflicts[0]
            raise ConflictError(
                f"external_id {c['external_id']!r} is already used by a record with different "
                f"{', '.join(c['different_fields'])}: a retry must send the same content; use a new "
                "external_id for a different initiative" + (" (see details)" if len(conflicts) > 1 else ""),
                conflicts, code="external_id_conflict")
        return existing, same_as, new

    def _find_candidates(self, texts: list[str], subs: list[Submission], vectors: np.ndarray,
                         ) -> list[list[Candidate]]:
        """Look each new record up among stored ones and the earlier records of its batch."""
        k = self.settings.duplicates_k
        scratch = NearDuplicateIndex(self.models.rule).fit([], self.models.embedder) if len(texts) > 1 else None
        out = []
        for n, (text, sub) in enumerate(zip(texts, subs)):
            doc = IndexedDoc(f"new:{n}", text, sub.unit, sub.author, sub.submitted_at)
            found = self.index.query(doc, vectors[n], k)
            if scratch is not None:
                found = sorted(found + scratch.query(doc, k=k, vector=vectors[n]), key=lambda m: -m.score)[:k]
                scratch.add([doc], vectors=vectors[n : n + 1])
            out.append([candidate_from_match(m) for m in found])
        return out

    # ---- review ---------------------------------------------------------------------------

    def _check_fields(self, codes: list[str], where: str) -> None:
        allowed = self.models.taxonomy.codes
        unknown = [c for c in codes if c not in allowed]
        if unknown:
            raise InvalidInputError(
                f"unknown field code(s) {unknown} in '{where}': use codes from the taxonomy: "
                f"{', '.join(allowed)}",
                [{"loc": [where], "type": "unknown_field", "unknown": unknown, "allowed": list(allowed)}],
                code="unknown_field")

    def review(self, initiative_id: int, reviewer: str, fields: list[str] | None,
               duplicate_of: int | None, not_duplicate: bool, note: str | None) -> tuple[Initiative, Feedback]:
        """Record a reviewer's fields and duplicate verdict (kept as feedback for training)."""
        if fields is not None:
            self._check_fields(fields, "fields")
        if duplicate_of == initiative_id:
            raise InvalidInputError("'duplicate_of' is the record itself: give the id of the other record",
                                    [{"loc": ["duplicate_of"], "type": "self_reference"}], code="invalid_review")
        with self._write_lock:
            self.get(initiative_id)
            if duplicate_of is not None and self.store.get(duplicate_of) is None:
                raise InvalidInputError(f"'duplicate_of': no initiative with id {duplicate_of}",
                                        [{"loc": ["duplicate_of"], "type": "unknown_id"}], code="invalid_review")
            feedback = self.store.review(initiative_id, reviewer.strip(), fields, duplicate_of,
                                         not_duplicate, note)
        return self.get(initiative_id), feedback

    def feedback_export(self) -> list[dict[str, Any]]:
        """Reviewed records in the shape `sangkien train --feedback FILE` reads."""
        return [{"id": str(i), "title": title, "description": desc, "fields": fields}
                for i, title, desc, fields in self.store.reviewed_fields()]

    def audit(self) -> dict[str, Any]:
        raw = self.store.audit_counts()
        sizes = raw["group_sizes"]
        total = raw["total"]
        histogram: dict[str, int] = {}
        for n in sorted(sizes):
            histogram[str(n)] = histogram.get(str(n), 0) + 1
        return {"total": total, "distinct": total - sum(n - 1 for n in sizes),
                "singletons": total - sum(sizes), "duplicate_groups": len(sizes),
                "in_groups": sum(sizes), "groups_by_size": histogram,
                "needs_review": raw["needs_review"],
                "needs_review_share": round(raw["needs_review"] / total, 4) if total else 0.0,
                "reviewed": raw["reviewed"], "by_field": raw["by_field"], "by_unit": raw["by_unit"]}
