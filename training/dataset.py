"""Derive the project's evaluation data from the hand-written records.

* splits: records linked as rewrite / near miss form one idea group; a group lands whole in
  train, dev or test (by a hash of its id), so no copy of a test idea is seen in training;
* copies: one programmatic copy per original record, edit kinds balanced across the set;
* pairs: (original, copy) and (original, human rewrite) are duplicates; the writers' near
  misses, the most similar other idea of the same field, and other ideas of the same unit are
  hard negatives. Pairs never cross splits.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import numpy as np

from model.errors import DataError
from model.normalize import fold_diacritics, normalize
from model.records import Record, load_records, read_jsonl
from model.taxonomy import Taxonomy, load_taxonomy
from training.variants import PADDING, TEXT_EDITS, sentences, swap_synonyms

DATA = Path(__file__).resolve().parent.parent / "data"
SPLITS = ("train", "dev", "test")
TITLE_EDITS = {"synonyms", "no_diacritics", "nfd", "tone_style", "typos", "legacy_tcvn3"}


def record_files(data_dir: Path = DATA) -> list[Path]:
    return sorted((data_dir / "records").glob("*.jsonl"))


def load_all(data_dir: Path = DATA) -> tuple[Taxonomy, list[Record]]:
    taxonomy = load_taxonomy(data_dir / "taxonomy.json")
    return taxonomy, load_records(record_files(data_dir), taxonomy)


def idea_groups(records: list[Record]) -> dict[str, str]:
    """Union-find over rewrite/near-miss links: record id -> group id (smallest member)."""
    parent = {r.id: r.id for r in records}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in records:
        for link in (r.rewrite_of, r.near_miss_of):
            if link:
                a, b = find(r.id), find(link)
                parent[max(a, b)] = min(a, b)
    return {r.id: find(r.id) for r in records}


def split_of(group: str) -> str:
    bucket = int(hashlib.sha1(group.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 85 else "test"


def make_splits(records: list[Record]) -> dict[str, tuple[str, str]]:
    groups = idea_groups(records)
    return {rid: (g, split_of(g)) for rid, g in groups.items()}


def applicable_edits(record: Record) -> list[str]:
    kinds = ["unit_renamed", "no_diacritics", "nfd", "typos", "synonyms", "tone_style",
             "legacy_tcvn3", "padding", "combo"]
    if len(sentences(record.description)) > 1:
        kinds += ["reorder", "truncation"]
    return kinds


def make_copy(record: Record, kind: str, donor: Record, rng: random.Random, n: int) -> dict:
    """One resubmission of ``record``; ``donor`` lends another unit and author."""
    title, desc, unit, author = record.title, record.description, record.unit, record.author
    if kind == "unit_renamed":
        unit, author = donor.unit, donor.author
        desc = desc.replace(record.unit, donor.unit)
        desc = swap_synonyms(desc, rng, share=0.3) if rng.random() < 0.5 else f"{desc} {rng.choice(PADDING)}"
    elif kind == "combo":
        for step in rng.sample(["synonyms", "reorder", "padding", "truncation", "typos"], 3):
            if step not in ("reorder", "truncation") or len(sentences(desc)) > 1:
                desc = TEXT_EDITS[step](desc, rng)
        title = TEXT_EDITS["synonyms"](title, rng)
    else:
        edit = TEXT_EDITS[kind]
        desc = edit(desc, rng) if desc or kind == "padding" else desc
        if kind in TITLE_EDITS:
            title = edit(title, rng)
    return {
        "id": f"{record.id}-c{n}", "source_id": record.id, "edit": kind, "title": title.strip(),
        "description": desc.strip(), "unit": unit, "author": author,
        "submitted_at": record.submitted_at, "fields": list(record.fields),
    }


def make_copies(records: list[Record], seed: int = 13) -> list[dict]:
    """One copy per original record, edit kinds dealt round-robin so each kind is well covered."""
    rng = random.Random(seed)
    originals = [r for r in records if not r.rewrite_of]
    counts: dict[str, int] = defaultdict(int)
    copies = []
    for r in originals:
        donor = rng.choice([d for d in originals if d.unit != r.unit])
        for kind in sorted(applicable_edits(r), key=lambda k: (counts[k], rng.random())):
            copy = make_copy(r, kind, donor, rng, 1)
            if f"{copy['title']}\n{copy['description']}".strip() != r.text or kind == "unit_renamed":
                break  # an edit that found nothing to change (no synonym in the text) is skipped
        counts[kind] += 1
        copies.append(copy)
    return copies


def make_author_twins(records: list[Record], negatives: list[dict], seed: int = 13) -> list[dict]:
    """Hard negatives of a kind the writers did not make: a *different* idea submitted by the
    same author and unit. People file several initiatives; sharing metadata is not a copy.

    Built from the mined nearest-same-field negatives: the text of one, the metadata of the other.
    """
    rng = random.Random(seed)
    by_id = {r.id: r for r in records}
    mined = [p for p in negatives if p["kind"] == "nearest_same_field"]
    twins = []
    for p in rng.sample(mined, min(len(mined), 200)):
        owner, other = by_id[p["a"]], by_id[p["b"]]
        twins.append({
            "id": f"{other.id}-as-{owner.id}", "source_id": other.id, "edit": "author_twin",
            "title": other.title, "description": other.description, "unit": owner.unit,
            "author": owner.author, "submitted_at": other.submitted_at, "fields": list(other.fields),
        })
    return twins


def _char_tfidf(texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    return vec.fit_transform([fold_diacritics(normalize(t)).lower() for t in texts])


def hard_negatives(records: list[Record], splits: dict[str, tuple[str, str]]) -> list[dict]:
    """Writers' near misses, the nearest other idea of the same field, other ideas of one unit."""
    group = {rid: g for rid, (g, _) in splits.items()}
    by_id = {r.id: r for r in records}
    pairs: dict[tuple[str, str], str] = {}
    for r in records:
        if r.near_miss_of:
            pairs[tuple(sorted((r.id, r.near_miss_of)))] = "near_miss"
    matrix = _char_tfidf([r.text for r in records])
    sims = (matrix @ matrix.T).toarray()
    for i, r in enumerate(records):
        order = np.argsort(-sims[i])
        for j in order[1:]:
            o = records[j]
            same_idea = group[o.id] == group[r.id] and (o.rewrite_of == r.id or r.rewrite_of == o.id)
            same_source = {r.rewrite_of, r.id} & {o.rewrite_of, o.id}
            if o.primary_field == r.primary_field and not same_idea and not same_source \
                    and splits[o.id][1] == splits[r.id][1]:
                pairs.setdefault(tuple(sorted((r.id, o.id))), "nearest_same_field")
                break
    by_unit: dict[str, list[str]] = defaultdict(list)
    for r in records:
        by_unit[r.unit].append(r.id)
    for ids in by_unit.values():
        for a in ids:
            for b in ids:
                ra, rb = by_id[a], by_id[b]
                linked = ra.rewrite_of == b or rb.rewrite_of == a or (ra.rewrite_of and ra.rewrite_of == rb.rewrite_of)
                if a < b and not linked and splits[a][1] == splits[b][1]:
                    pairs.setdefault((a, b), "same_unit")
    return [{"a": a, "b": b, "label": 0, "kind": k, "split": splits[a][1]} for (a, b), k in sorted(pairs.items())]


def build(data_dir: Path = DATA, seed: int = 13) -> dict:
    """Write splits.csv, copies.jsonl and pairs.jsonl; return their counts."""
    _, records = load_all(data_dir)
    splits = make_splits(records)
    copies = make_copies(records, seed)
    positives = [{"a": c["source_id"], "b": c["id"], "label": 1, "kind": c["edit"],
                  "split": splits[c["source_id"]][1]} for c in copies]
    positives += [{"a": r.rewrite_of, "b": r.id, "label": 1, "kind": "rewrite",
                   "split": splits[r.id][1]} for r in records if r.rewrite_of]
    negatives = hard_negatives(records, splits)
    twins = make_author_twins(records, negatives, seed)
    negatives += [{"a": t["id"].split("-as-")[1], "b": t["id"], "label": 0,
                   "kind": "same_author_other_idea", "split": splits[t["source_id"]][1]} for t in twins]
    copies += twins
    pairs = positives + negatives
    with open(data_dir / "splits.csv", "w", encoding="utf-8") as f:
        f.write("id,group,split\n")
        f.writelines(f"{rid},{g},{s}\n" for rid, (g, s) in sorted(splits.items()))
    _write_jsonl(data_dir / "copies.jsonl", copies)
    _write_jsonl(data_dir / "pairs.jsonl", pairs)
    return summarize(records, splits, pairs)


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def summarize(records: list[Record], splits: dict, pairs: list[dict]) -> dict:
    per_field: dict[str, int] = defaultdict(int)
    for r in records:
        per_field[r.primary_field] += 1
    kinds: dict[str, int] = defaultdict(int)
    for p in pairs:
        kinds[f"{'dup' if p['label'] else 'neg'}:{p['kind']}"] += 1
    split_sizes = {s: sum(1 for _, sp in splits.values() if sp == s) for s in SPLITS}
    return {"records": len(records), "primary_field": dict(sorted(per_field.items())),
            "multi_label": sum(len(r.fields) > 1 for r in records),
            "split_sizes": split_sizes, "pairs": dict(sorted(kinds.items()))}


# ---- readers used by training, benchmarks and tests -------------------------------------------

def load_splits(data_dir: Path = DATA) -> dict[str, str]:
    lines = (data_dir / "splits.csv").read_text("utf-8").splitlines()[1:]
    return {line.split(",")[0]: line.split(",")[2] for line in lines if line}


def load_copies(data_dir: Path = DATA) -> list[Record]:
    return [Record(id=raw["id"], title=raw["title"], description=raw["description"],
                   unit=raw["unit"], author=raw["author"], submitted_at=raw["submitted_at"],
                   fields=tuple(raw["fields"]), extra={"source_id": raw["source_id"], "edit": raw["edit"]})
            for _, raw in read_jsonl(data_dir / "copies.jsonl")]


def load_pairs(data_dir: Path = DATA) -> list[dict]:
    return [raw for _, raw in read_jsonl(data_dir / "pairs.jsonl")]


def records_by_split(data_dir: Path = DATA) -> dict[str, list[Record]]:
    _, records = load_all(data_dir)
    splits = load_splits(data_dir)
    out: dict[str, list[Record]] = {s: [] for s in SPLITS}
    missing = [r.id for r in records if r.id not in splits]
    if missing:
        raise DataError(f"records without a split: {missing[:5]}...; run `sangkien build-data`")
    for r in records:
        out[splits[r.id]].append(r)
    return out


def as_dict(record: Record) -> dict:
    return {k: v for k, v in asdict(record).items() if k != "extra"}


def load_readings(data_dir: Path = DATA) -> dict[str, dict]:
    """Two independent readings of each record's fields and, where they differ, the
    adjudicated result (``readings.jsonl``); empty when the file is absent."""
    path = data_dir / "readings.jsonl"
    return {raw["id"]: raw for _, raw in read_jsonl(path)} if path.exists() else {}


def readings_result(row: dict) -> list[str] | None:
    """The fields a record carries after its readings: the adjudicated list where there is one
    (readers disagreed, or a rewrite pair had to agree), else the list both readers gave."""
    if row.get("adjudicated"):
        return list(row["adjudicated"])
    return list(row["writer"]) if row["writer"] == row["second"] else None


def check_readings(records: list[Record], readings: dict[str, dict], codes: tuple[str, ...]) -> None:
    """Every reading names a record and known fields, and each record's fields are its
    readings' result."""
    by_id = {r.id: r for r in records}
    for rid, row in readings.items():
        if rid not in by_id:
            raise DataError(f"readings.jsonl: {rid!r} is not a record in data/records")
        for key in ("writer", "second", "adjudicated"):
            if any(code not in codes for code in row.get(key) or ()):
                raise DataError(f"readings.jsonl: {rid}: {key} {row[key]} has a field not in {codes}")
        final = readings_result(row)
        if final is None:
            raise DataError(f"readings.jsonl: {rid}: the two readings differ and there is no "
                            "'adjudicated' list; add the adjudicator's decision")
        if list(by_id[rid].fields) != list(final):
            raise DataError(f"record {rid}: fields {list(by_id[rid].fields)} but its readings "
                            f"settle on {final}; update the record or the reading")
