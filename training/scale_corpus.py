"""A large synthetic export with known duplicate groups, for scale benchmarks and audits.

Distinct initiatives are recombined from the project's records at the clause level: a title
mixed from three titles of a field, then 4-8 clauses of the same field, each the first half of
one clause joined to the second half of another, with numbers changed, so that two distinct
rows share vocabulary (like real hard negatives) but rarely a whole sentence. (Drawing whole
clauses, as a first version did, makes each clause recur ~100 times in 200,000 rows, and
"distinct" rows sharing half their sentences word for word grow with n²: not what a real
export holds.) Then ``n_groups`` of them get 1-3 resubmissions each, made with the
edits of ``training.variants`` (the planted duplicate groups).
"""

from __future__ import annotations

import csv
import random
import re
from collections import defaultdict
from pathlib import Path

from model.records import Record
from training.dataset import load_all, make_copy
from training.variants import sentences

_CLAUSE = re.compile(r"(?<=[,;:])\s+")
_NUMBER = re.compile(r"\d+")
FIELDS = ("id", "title", "description", "unit", "author", "submitted_at", "field", "planted_group")


def clause_pools(records: list[Record]) -> dict[str, list[str]]:
    pools: dict[str, list[str]] = defaultdict(list)
    for r in records:
        for sent in sentences(r.description):
            pools[r.primary_field].extend(
                c.strip().rstrip(",;:.…").strip() for c in _CLAUSE.split(sent) if len(c.split()) >= 4
            )
    return pools


def _renumber(text: str, rng: random.Random) -> str:
    return _NUMBER.sub(lambda m: str(rng.randint(2, 400)), text)


def mixed_title(field_records: list[Record], rng: random.Random) -> str:
    """A new title from the opening, middle and end of three titles of one field."""
    parts = [rng.choice(field_records).title.split() for _ in range(3)]
    a, b, c = (max(1, len(p) // 3) for p in parts)
    return " ".join(parts[0][:a] + parts[1][b : 2 * b] + parts[2][2 * c :])


def mixed_clause(pool: list[str], rng: random.Random) -> str:
    """The first half of one clause and the second half of another: ~pool² possible clauses."""
    head, tail = rng.choice(pool).split(), rng.choice(pool).split()
    return " ".join(head[: max(2, len(head) // 2)] + tail[max(2, len(tail) // 2):])


def distinct_row(n: int, records: list[Record], pools: dict[str, list[str]], rng: random.Random,
                 by_field: dict[str, list[Record]]) -> dict:
    base = rng.choice(records)
    pool = pools[base.primary_field]
    clauses = [_renumber(mixed_clause(pool, rng), rng) for _ in range(rng.randint(4, 8))]
    text = ". ".join(", ".join(clauses[i : i + 2]) for i in range(0, len(clauses), 2)) + "."
    donor = rng.choice(records)
    title = _renumber(mixed_title(by_field[base.primary_field], rng), rng)
    return {"id": f"r{n:06d}", "title": title, "description": text[0].upper() + text[1:],
            "unit": donor.unit, "author": rng.choice(records).author,
            "submitted_at": f"2022-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "field": base.primary_field, "planted_group": ""}


def build_corpus(n_rows: int, n_groups: int, seed: int = 7) -> list[dict]:
    """``n_rows`` rows; ``n_groups`` planted groups of 2-4 rows each, the rest distinct."""
    rng = random.Random(seed)
    _, records = load_all()
    originals = [r for r in records if not r.rewrite_of and r.description]
    pools = clause_pools(originals)
    kinds = ["unit_renamed", "no_diacritics", "nfd", "typos", "synonyms", "tone_style",
             "padding", "reorder", "truncation", "combo", "legacy_tcvn3"]
    copies_per_group = [rng.randint(1, 3) for _ in range(n_groups)]
    n_distinct = n_rows - sum(copies_per_group)
    by_field: dict[str, list[Record]] = defaultdict(list)
    for r in originals:
        by_field[r.primary_field].append(r)
    rows = [distinct_row(i, originals, pools, rng, by_field) for i in range(n_distinct)]
    for g, n_copies in enumerate(copies_per_group):
        src = rows[g]
        src["planted_group"] = f"g{g:05d}"
        as_record = Record(src["id"], src["title"], src["description"], src["unit"], src["author"],
                           src["submitted_at"], (src["field"],))
        for c in range(n_copies):
            donor = rng.choice(originals)
            copy = make_copy(as_record, rng.choice(kinds), donor, rng, c + 1)
            rows.append({**{k: copy[k] for k in ("id", "title", "description", "unit", "author", "submitted_at")},
                         "field": src["field"], "planted_group": src["planted_group"]})
    rng.shuffle(rows)
    return rows


def planted_pairs(rows: list[dict]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["planted_group"]:
            groups[r["planted_group"]].append(r["id"])
    return {(min(a, b), max(a, b)) for m in groups.values() for a in m for b in m if a < b}


def write_csv(rows: list[dict], path: Path, encoding: str = "utf-8") -> None:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(FIELDS))
        w.writeheader()
        w.writerows(rows)
