"""Initial import of many records straight into an empty store (portal exports, benchmarks).

Intake checks each record against the index one by one; for tens of thousands of records at
once that is needlessly slow, so this path tags them in batches, finds duplicate groups over the
whole set in one pass (``NearDuplicateIndex.find_duplicates``) and inserts everything in one
transaction. The server then indexes the table at start-up, like any other records.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from model.dedup import DuplicateMatch, IndexedDoc, NearDuplicateIndex, group_duplicates
from service.engine import Submission, candidate_from_match
from service.models import Models
from service.store import NewInitiative, Store
from service.tagging import check_texts, initiative_text, tag_texts

Log = Callable[[str], None]


@dataclass(frozen=True)
class BulkReport:
    records: int
    duplicate_groups: int
    distinct: int


def _candidates(pairs: list[DuplicateMatch], k: int) -> dict[int, list]:
    """For each later record of a duplicate pair, its earlier counterparts (best first)."""
    out: dict[int, list] = defaultdict(list)
    for m in sorted(pairs, key=lambda m: -m.score):
        a, b = sorted((int(m.a), int(m.b)))
        flipped = DuplicateMatch(str(b), str(a), m.score, m.is_duplicate, m.stage, m.evidence, [])
        if len(out[b]) < k:
            out[b].append(candidate_from_match(flipped))
    return out


def bulk_load(store: Store, models: Models, subs: list[Submission], k: int = 5, chunk: int = 1000,
              log: Log = lambda _: None) -> BulkReport:
    """Tag, group and store ``subs`` in an empty store; all or nothing."""
    if store.count():
        raise ValueError("bulk_load only fills an empty store: use POST /v1/initiatives to add to one")
    texts = [initiative_text(s.title, s.description) for s in subs]
    check_texts(texts, [["items", i] for i in range(len(subs))])
    tags = []
    for start in range(0, len(texts), chunk):
        tags += tag_texts(models, texts[start : start + chunk])
        log(f"tagged {len(tags):,}/{len(texts):,}")
    ids = list(range(1, len(subs) + 1))
    docs = [IndexedDoc(str(i), t, s.unit, s.author, s.submitted_at) for i, t, s in zip(ids, texts, subs)]
    pairs = NearDuplicateIndex(models.rule).fit(docs, models.embedder).find_duplicates()
    groups = group_duplicates([d.id for d in docs], [(m.a, m.b) for m in pairs])
    group_of = {int(m): min(int(x) for x in g) for g in groups.groups for m in g}
    log(f"{len(pairs):,} duplicate pairs, {len(groups.groups):,} groups")
    cands = _candidates(pairs, k)
    items = [NewInitiative(s.external_id, s.title, s.description, s.unit, s.author, s.submitted_at, t, tg,
                           cands.get(i, [])) for i, s, t, tg in zip(ids, subs, texts, tags)]
    store.bulk_insert(items, ids, [group_of.get(i) for i in ids])
    return BulkReport(len(items), len(groups.groups), groups.distinct)
