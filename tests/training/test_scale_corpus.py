"""The synthetic export used by the scale benchmarks: sizes, planted groups, realism."""

from __future__ import annotations

import re
from collections import Counter

from training.scale_corpus import build_corpus, planted_pairs


def test_sizes_groups_and_determinism():
    rows = build_corpus(1500, 60, seed=3)
    assert len(rows) == 1500 and len({r["id"] for r in rows}) == 1500
    groups = Counter(r["planted_group"] for r in rows if r["planted_group"])
    assert len(groups) == 60 and all(2 <= n <= 4 for n in groups.values())
    fields = {g: {r["field"] for r in rows if r["planted_group"] == g} for g in groups}
    assert all(len(f) == 1 for f in fields.values())
    assert len(planted_pairs(rows)) == sum(n * (n - 1) // 2 for n in groups.values())
    assert build_corpus(1500, 60, seed=3) == rows


def test_distinct_rows_rarely_share_a_whole_clause():
    rows = [r for r in build_corpus(3000, 0, seed=5)]
    clauses = Counter(c.strip(" .").lower() for r in rows
                      for c in re.split(r"[,.]", r["description"]) if len(c.split()) >= 5)
    repeated = sum(n for n in clauses.values() if n > 1)
    assert repeated / sum(clauses.values()) < 0.05
