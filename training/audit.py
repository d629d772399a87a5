"""``sangkien audit``: what a whole portal export holds, what in it is copied, and in what field.

One pass, cheapest first: read the export (every skipped or altered row listed with its row
number), normalise, embed, index and cluster near-duplicates, then classify only what is
needed: one representative per duplicate group plus the singletons; group members inherit
their representative's fields (the report says so). The word segmentation inside the
classifier is the slow step (~100-200 texts/s per core), so normalising and classifying run
on a small fork pool over chunks.

Everything written is a function of the input file and the models: no timestamps, every list
sorted, floats rounded, so two runs give byte-identical files. Wall times per step go to
``timings.json``, apart from ``summary.json``.
"""

from __future__ import annotations

import gc
import multiprocessing
import re
import resource
import sys
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.classify import FieldClassifier, FieldPrediction
from model.dedup import DuplicateGroups, DuplicateMatch, DuplicateRule, IndexedDoc, NearDuplicateIndex
from model.dedup import group_duplicates
from model.dedup.evidence import overlapping_passages
from model.embed import StaticEmbedder
from model.errors import SangkienError
from model.normalize import normalize
from model.taxonomy import Taxonomy, load_taxonomy
from training.export_reader import ExportData, ExportRow, RowProblem, read_export

Progress = Callable[[Iterable, str, int], Iterable]

NORMALISE_CHUNK = 500       # texts per task: large enough that pickling is noise
CLASSIFY_CHUNK = 200        # texts per task: ~1-2 s of segmentation, so the bar moves steadily
EMBED_BATCH = 4096
SHOWN_GROUPS = 10           # largest duplicate groups shown side by side in report.html
SHOWN_PAIRS = 3             # members shown next to each group's representative
NO_CONTENT = "no_content"   # audit-level problem kind: a row with no words after normalising
_LETTER = re.compile(r"[^\W\d_]")
_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_YMD = re.compile(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})")
_FIELD_SPLIT = re.compile(r"[;|\n]+")


class AuditError(SangkienError):
    """The audit cannot go on; the message says what is wrong and how to fix it."""


def no_progress(items: Iterable, desc: str, total: int) -> Iterable:
    return items


def tqdm_progress(items: Iterable, desc: str, total: int) -> Iterable:
    """A tqdm bar with an ETA on stderr (the CLI's progress)."""
    from tqdm import tqdm

    return tqdm(items, desc=f"{desc:<22}", total=total, unit="row", mininterval=0.5,
                dynamic_ncols=True, file=sys.stderr)


# ---------------------------------------------------------------------------- models

@dataclass(frozen=True)
class AuditModels:
    """Everything the audit runs, loaded once (tests pass the session fixtures)."""

    classifier: FieldClassifier
    classifier_version: str
    rule: DuplicateRule
    embedder: StaticEmbedder
    taxonomy: Taxonomy

    @classmethod
    def load(cls, classifier_dir: str | Path, rule_path: str | Path) -> AuditModels:
        """Artifacts of ``sangkien train`` and ``sangkien train-dedup``; the taxonomy saved
        with the classifier, so field codes and names are the ones it was trained on."""
        from model.artifact import load_artifact

        clf, card = load_artifact(classifier_dir)
        taxonomy_path = Path(classifier_dir) / "taxonomy.json"
        if not taxonomy_path.exists():
            taxonomy_path = Path(__file__).resolve().parent.parent / "data" / "taxonomy.json"
        return cls(clf, str(card.get("version", "unknown")), DuplicateRule.load(rule_path),
                   StaticEmbedder().fit(), load_taxonomy(taxonomy_path))

    def describe(self) -> dict[str, Any]:
        """Versions and thresholds, for summary.json: an audit is only comparable with these."""
        clf = self.classifier
        return {
            "classifier_version": self.classifier_version,
            "classifier_thresholds": {str(c): round(float(t), 4)
                                      for c, t in zip(clf.classes_, clf.thresholds_)},
            "classifier_accept_level": round(float(clf.accept_level_), 4),
            "dedup_threshold": round(float(self.rule.threshold_), 4),
            "dedup_features": list(self.rule.features),
            "embedder": StaticEmbedder.name,
            "taxonomy_version": self.taxonomy.version,
        }


@dataclass(frozen=True, slots=True)
class Tags:
    """What rows.csv keeps of a FieldPrediction (small, so workers return it cheaply)."""

    labels: tuple[str, ...]
    primary: str
    needs_review: bool
    review_reason: str
    confidence: float


def _tags(p: FieldPrediction) -> Tags:
    return Tags(tuple(p.labels), p.primary or "", p.needs_review, p.review_reason or "",
                round(float(p.confidence), 4))


# ---------------------------------------------------------------------------- timing & workers

class StepTimer:
    """Wall seconds per step, summed when a step runs twice; kept out of the deterministic files."""

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds = seconds if seconds is not None else {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 2)


_WORKER_CLASSIFIER: FieldClassifier | None = None    # set before forking, inherited by workers


def _init_worker() -> None:
    """One thread per worker: the pool already uses the cores (torch would oversubscribe)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _normalise_chunk(texts: list[str]) -> list[str]:
    return [normalize(t) for t in texts]


def _classify_chunk(texts: list[str]) -> list[Tags]:
    if _WORKER_CLASSIFIER is None:
        raise RuntimeError("the classifier must be set (Workers.__enter__) before classifying")
    return [_tags(p) for p in _WORKER_CLASSIFIER.predict(texts, explain=False)]


class Workers:
    """Map chunks in this process (1 worker) or on a fork pool sharing the loaded classifier.

    Fork, not spawn: workers start in milliseconds with the models already in memory. The gc
    is frozen around the fork so workers do not copy the parent's pages by scanning them.
    Where fork does not exist (Windows), everything runs in this process.
    """

    def __init__(self, classifier: FieldClassifier, workers: int) -> None:
        if workers < 1:
            raise AuditError(f"--workers must be at least 1, got {workers}")
        fork = "fork" in multiprocessing.get_all_start_methods()
        self.classifier, self.workers = classifier, workers if fork else 1
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        global _WORKER_CLASSIFIER
        _WORKER_CLASSIFIER = self.classifier
        if self.workers > 1:
            gc.collect()
            gc.freeze()
            self.pool = ProcessPoolExecutor(self.workers, multiprocessing.get_context("fork"),
                                            initializer=_init_worker)
            self.pool.submit(int).result()      # a fork pool starts every worker on first use
            gc.unfreeze()
        return self

    def __exit__(self, *exc: object) -> None:
        global _WORKER_CLASSIFIER
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        _WORKER_CLASSIFIER = None

    def map(self, fn: Callable[[list[str]], list], items: Sequence[str], chunk: int, desc: str,
            progress: Progress) -> list:
        """``fn`` over chunks of ``items``, results flattened in order, one bar tick per item."""
        chunks = [list(items[i:i + chunk]) for i in range(0, len(items), chunk)]
        parts = self.pool.map(fn, chunks) if self.pool is not None else map(fn, chunks)
        try:
            return list(progress((x for part in parts for x in part), desc, len(items)))
        except BrokenProcessPool:
            raise AuditError("a worker process died (out of memory?); run again with "
                             "--workers 1") from None


class Speculation:
    """Classify texts on one worker while the main process deduplicates on the other core.

    Dedup runs on one core, so during it the second core would idle; classifying there in
    advance wastes only the texts that turn out to be copies (a group's non-representatives,
    ~10 % of a typical export). Per-text predictions do not depend on the batch, so the
    results are the same as classifying afterwards (a test compares the files).
    """

    def __init__(self, workers: Workers, texts: list[str], chunk: int = CLASSIFY_CHUNK) -> None:
        self.results: dict[str, Tags] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if workers.pool is not None:
            chunks = [texts[i:i + chunk] for i in range(0, len(texts), chunk)]
            self._thread = threading.Thread(target=self._run, args=(workers.pool, chunks),
                                            daemon=True)
            self._thread.start()

    def _run(self, pool: ProcessPoolExecutor, chunks: list[list[str]]) -> None:
        for part in chunks:
            if self._stop.is_set():
                return
            try:
                tags = pool.submit(_classify_chunk, part).result()
            except Exception:       # a dead worker is reported by the main classification
                return
            self.results.update(zip(part, tags))

    def finish(self) -> dict[str, Tags]:
        """Stop after the chunk in flight; the texts classified so far."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.results


# ---------------------------------------------------------------------------- small rules

def has_words(text: str) -> bool:
    """A normalised text with no letters (empty, numbers, form labels only) is not compared."""
    return _LETTER.search(text) is not None


def date_key(text: str) -> str:
    """ISO date of "2024-03-15", "15/03/2024" (Vietnamese day-first) and the like; "~" (after
    every date) when none is found, so undated rows never become representatives first."""
    if m := _YMD.search(text):
        y, mo, d = m.groups()
    elif m := _DMY.search(text):
        d, mo, y = m.groups()
    else:
        return "~"
    return f"{y}-{int(mo):02d}-{int(d):02d}"


def fold(text: str) -> str:
    """Case-, accent-, space- and punctuation-insensitive key ("Y tế" == "y te" == "Y-TẾ")."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed.casefold() if c.isalnum())


def field_lookup(taxonomy: Taxonomy) -> dict[str, str]:
    """Folded code, Vietnamese name, and each comma part of a name unique to one field -> code."""
    lookup = {fold(f.code): f.code for f in taxonomy.fields}
    lookup.update({fold(f.name_vi): f.code for f in taxonomy.fields})
    parts = Counter(fold(p) for f in taxonomy.fields for p in f.name_vi.split(","))
    for f in taxonomy.fields:
        for part in f.name_vi.split(","):
            key = fold(part)
            if key and parts[key] == 1:
                lookup.setdefault(key, f.code)
    return lookup


def submitted_codes(value: str, lookup: dict[str, str]) -> tuple[str, ...]:
    """Taxonomy codes of the submitter's field cell: the whole cell, else its ;|-separated parts."""
    if not value.strip():
        return ()
    if code := lookup.get(fold(value)):
        return (code,)
    codes = (lookup.get(fold(part)) for part in _FIELD_SPLIT.split(value))
    return tuple(dict.fromkeys(c for c in codes if c))


def agreement(submitted: tuple[str, ...], tags: Tags, raw_field: str) -> str:
    """agree: predicted primary was submitted; partial: another predicted label was;
    disagree: none was; unmapped: the cell names no taxonomy field; missing: empty cell."""
    if not submitted:
        return "unmapped" if raw_field.strip() else "missing"
    if tags.primary in submitted:
        return "agree"
    return "partial" if set(tags.labels) & set(submitted) else "disagree"


# ---------------------------------------------------------------------------- pipeline steps

def _require_rows(export: ExportData) -> None:
    if export.rows:
        return
    kinds = Counter(p.kind for p in export.problems if p.row_number)
    listed = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) or "no details"
    raise AuditError(f"{export.path}: none of its {export.total_rows} data rows is usable "
                     f"({listed}); fix the rows or the column mapping (--text-column) and run again")


def _prepare_out_dir(out_dir: Path) -> Path:
    if out_dir.exists() and not out_dir.is_dir():
        raise AuditError(f"--out {out_dir} is a file; give a folder for the audit's output")
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _warm_up(classifier: FieldClassifier) -> None:
    """Load the lazy parts (segmenter, embeddings) once, before forking, so workers share them."""
    try:
        classifier.predict(["Cải tiến quy trình tiếp nhận hồ sơ"])
    except AttributeError as exc:
        raise AuditError(f"the classifier artifact does not match model/classify.py ({exc}); "
                         f"retrain it with `sangkien train`") from None


def embed(embedder: StaticEmbedder, texts: list[str], progress: Progress) -> np.ndarray:
    """Static embeddings in batches, so the bar shows an ETA."""
    batches = [texts[i:i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]

    def rows() -> Iterator[np.ndarray]:
        for batch in batches:
            yield from embedder.transform(batch)

    vectors = list(progress(rows(), "embedding", len(texts)))
    return np.vstack(vectors).astype(np.float32, copy=False) if vectors else np.zeros((0, 0), np.float32)


def find_groups(rows: list[ExportRow], texts: list[str], models: AuditModels, timer: StepTimer,
                progress: Progress) -> tuple[DuplicateGroups, list[DuplicateMatch]]:
    """Duplicate pairs among rows with words, grouped over all rows (the rest are singletons).

    The representative is the earliest submission (date, then row number): usually the original.
    """
    docs = [IndexedDoc(r.id, t, r.unit, r.author, r.date) for r, t in zip(rows, texts) if has_words(t)]
    matches: list[DuplicateMatch] = []
    if len(docs) > 1:
        with timer.step("embedding"):
            vectors = embed(models.embedder, [d.text for d in docs], progress)
        with timer.step("indexing"):
            index = NearDuplicateIndex(models.rule).fit([], models.embedder)
            index.add(docs, vectors=vectors, progress=progress)
            del vectors
        with timer.step("clustering"):
            matches = index.find_duplicates(progress=progress)
        del index
    with timer.step("clustering"):
        order = {r.id: (date_key(r.date), r.row_number) for r in rows}
        groups = group_duplicates([r.id for r in rows], [(m.a, m.b) for m in matches], order)
    return groups, matches


def classify_needed(rows: list[ExportRow], texts: list[str], groups: DuplicateGroups,
                    workers: Workers, progress: Progress, known: dict[str, Tags] | None = None
                    ) -> tuple[list[Tags], int]:
    """Tags of every row, classifying each distinct text of a singleton or representative once
    (``known``: texts already classified ahead). Returns the tags and the number of texts needed.
    """
    group_of = groups.group_of()
    rep_of = {r.id: groups.groups[group_of[r.id]][0] if r.id in group_of else r.id for r in rows}
    index_of = {r.id: i for i, r in enumerate(rows)}
    needed = sorted({texts[index_of[rep]] for rep in set(rep_of.values())})
    tags = {t: known[t] for t in needed if known and t in known}
    todo = [t for t in needed if t not in tags]
    tags.update(zip(todo, workers.map(_classify_chunk, todo, CLASSIFY_CHUNK, "classifying", progress)))
    return [tags[texts[index_of[rep_of[r.id]]]] for r in rows], len(needed)


# ---------------------------------------------------------------------------- tables

def _group_ids(groups: DuplicateGroups) -> dict[str, str]:
    width = max(4, len(str(len(groups.groups))))
    return {m: f"G{g + 1:0{width}d}" for g, members in enumerate(groups.groups) for m in members}


def rows_table(rows: list[ExportRow], tags: list[Tags], groups: DuplicateGroups,
               lookup: dict[str, str]) -> list[dict[str, Any]]:
    """rows.csv: every usable row once, in file order."""
    group_id = _group_ids(groups)
    reps = {g[0] for g in groups.groups}
    out = []
    for r, t in zip(rows, tags):
        submitted = submitted_codes(r.field, lookup)
        out.append({
            "row_number": r.row_number, "id": r.id, "title": r.title, "unit": r.unit,
            "author": r.author, "date": r.date, "submitted_field": r.field,
            "submitted_codes": ";".join(submitted), "predicted_fields": ";".join(t.labels),
            "primary": t.primary, "confidence": f"{t.confidence:.4f}",
            "needs_review": "yes" if t.needs_review else "no", "review_reason": t.review_reason,
            "submitted_vs_predicted": agreement(submitted, t, r.field),
            "group_id": group_id.get(r.id, ""),
            "is_representative": "yes" if r.id in reps else ("no" if r.id in group_id else ""),
            "prediction": "inherited" if r.id in group_id and r.id not in reps else "classified",
        })
    return out


def _evidence_summary(matches: list[DuplicateMatch]) -> dict[str, Any]:
    stages = Counter(m.stage for m in matches)
    scores = [m.score for m in matches]
    return {
        "pairs": len(matches),
        "stages": ";".join(f"{s}:{n}" for s, n in sorted(stages.items())),
        "min_score": f"{min(scores):.4f}", "max_score": f"{max(scores):.4f}",
        "max_jaccard": f"{max(m.evidence.jaccard for m in matches):.4f}",
        "max_containment": f"{max(m.evidence.containment for m in matches):.4f}",
        "max_cosine": f"{max(m.evidence.cos_fast for m in matches):.4f}",
        "same_author_pairs": sum(m.evidence.same_author for m in matches),
        "same_unit_pairs": sum(m.evidence.same_unit for m in matches),
    }


def groups_table(groups: DuplicateGroups, matches: list[DuplicateMatch], rows: list[ExportRow],
                 tags: list[Tags]) -> list[dict[str, Any]]:
    """groups.csv: one line per group, largest first, with what the matched pairs showed."""
    group_of = groups.group_of()
    by_group: dict[int, list[DuplicateMatch]] = defaultdict(list)
    for m in matches:
        by_group[group_of[m.a]].append(m)
    row_of = {r.id: (r, t) for r, t in zip(rows, tags)}
    ids = _group_ids(groups)
    out = []
    for g, members in enumerate(groups.groups):
        rep, rep_tags = row_of[members[0]]
        out.append({
            "group_id": ids[members[0]], "size": len(members), "representative": rep.id,
            "representative_row": rep.row_number, "member_ids": ";".join(members),
            "member_rows": ";".join(str(row_of[m][0].row_number) for m in members),
            "primary": rep_tags.primary, "title": rep.title,
            **_evidence_summary(sorted(by_group[g], key=lambda m: (m.a, m.b))),
        })
    return out


def audit_problems(export: ExportData, texts: list[str]) -> list[RowProblem]:
    """The reader's problems plus rows the audit could not compare, sorted by row then kind."""
    extra = [RowProblem(r.row_number, NO_CONTENT,
                        f"row {r.row_number}: no words left after normalising (only numbers, "
                        f"punctuation or form labels); kept, not compared for duplicates, "
                        f"its fields need review")
             for r, t in zip(export.rows, texts) if not has_words(t)]
    return sorted(export.problems + extra, key=lambda p: (p.row_number, p.kind, p.message))


# ---------------------------------------------------------------------------- summary

def _counts_by(keys: Iterable[str]) -> dict[str, int]:
    """Counts, largest first, then by name: a stable order for JSON and charts."""
    return dict(sorted(Counter(keys).items(), key=lambda kv: (-kv[1], kv[0])))


def per_field(table: list[dict[str, Any]], taxonomy: Taxonomy) -> dict[str, dict[str, Any]]:
    """Predicted primary field of all rows and of distinct rows; submitted codes for comparison."""
    before = Counter(r["primary"] for r in table)
    after = Counter(r["primary"] for r in table if r["is_representative"] != "no")
    submitted = Counter(c for r in table for c in r["submitted_codes"].split(";") if c)
    return {code: {"name": taxonomy.name(code), "rows": before[code], "distinct": after[code],
                   "submitted": submitted[code]} for code in taxonomy.codes}


def per_unit(table: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Rows per unit as written, before and after deduplication (a group counts for its
    representative's unit)."""
    before = _counts_by(r["unit"] or "(không ghi đơn vị)" for r in table)
    after = Counter(r["unit"] or "(không ghi đơn vị)" for r in table if r["is_representative"] != "no")
    return {unit: {"rows": n, "distinct": after[unit]} for unit, n in before.items()}


def field_labels(export: ExportData, table: list[dict[str, Any]]) -> dict[str, Any]:
    states = Counter(r["submitted_vs_predicted"] for r in table)
    unmapped = _counts_by(r["submitted_field"] for r in table if r["submitted_vs_predicted"] == "unmapped")
    return {"submitted_column": export.columns.field,
            **{s: states[s] for s in ("agree", "partial", "disagree", "unmapped", "missing")},
            "unmapped_values": unmapped}


def build_summary(export: ExportData, models: AuditModels, groups: DuplicateGroups,
                  table: list[dict[str, Any]], problems: list[RowProblem], classified: int
                  ) -> dict[str, Any]:
    """Every headline figure of the report, from the same tables the CSV files are written from."""
    copies = sum(len(g) - 1 for g in groups.groups)
    path = Path(export.path)
    return {
        "input": {"file": path.name, "sha256": export.sha256, "format": export.format,
                  "encoding": export.encoding, "sheet": export.sheet, "header_row": export.header_row,
                  "columns": {t: getattr(export.columns, t) for t in
                              ("id", "title", "text", "unit", "author", "field", "date")}},
        "models": models.describe(),
        "counts": {
            "rows_in_file": export.total_rows, "rows_skipped": export.total_rows - len(export.rows),
            "rows": len(table), "distinct": len(table) - copies,
            "duplicate_groups": len(groups.groups), "rows_in_groups": sum(map(len, groups.groups)),
            "copies": copies, "share_of_copies": round(copies / len(table), 4),
            "rows_without_content": sum(p.kind == NO_CONTENT for p in problems),
            "classified_texts": classified,
            "inherited_predictions": sum(r["prediction"] == "inherited" for r in table),
            "needs_review": sum(r["needs_review"] == "yes" for r in table),
        },
        "group_size_histogram": {str(k): v for k, v in groups.size_histogram().items()},
        "per_field": per_field(table, models.taxonomy),
        "per_unit": per_unit(table),
        "field_labels": field_labels(export, table),
        "problems_by_kind": _counts_by(p.kind for p in problems),
        "problems": [{"row": p.row_number, "kind": p.kind, "message": p.message} for p in problems],
    }


def check_consistency(summary: dict[str, Any], groups: list[dict[str, Any]],
                      rows: list[dict[str, Any]]) -> None:
    """The figures must add up before anything is written; a mismatch is a bug, said loudly."""
    counts = summary["counts"]
    hist = Counter(str(g["size"]) for g in groups)
    in_groups = Counter(r["group_id"] for r in rows if r["group_id"])
    problems = [
        counts["rows"] != len(rows) or len({r["id"] for r in rows}) != len(rows),
        counts["distinct"] != counts["rows"] - sum(g["size"] - 1 for g in groups),
        counts["duplicate_groups"] != len(groups),
        dict(sorted(hist.items(), key=lambda kv: int(kv[0]))) != summary["group_size_histogram"],
        any(in_groups[g["group_id"]] != g["size"] for g in groups),
        sum(f["rows"] for f in summary["per_field"].values()) != counts["rows"],
        sum(f["distinct"] for f in summary["per_field"].values()) != counts["distinct"],
    ]
    if any(problems):
        raise AuditError(f"internal error: audit figures do not add up (checks {problems}); "
                         f"please report this with the export")


# ---------------------------------------------------------------------------- showcase

def showcase(groups: DuplicateGroups, matches: list[DuplicateMatch], rows: list[ExportRow],
             texts: list[str], table: list[dict[str, Any]], limit: int = SHOWN_GROUPS
             ) -> list[dict[str, Any]]:
    """The largest groups, representative beside up to SHOWN_PAIRS members, with the spans of
    the passages they share (in the normalised texts, which is what is shown)."""
    by_pair = {(m.a, m.b): m for m in matches} | {(m.b, m.a): m for m in matches}
    index_of = {r.id: i for i, r in enumerate(rows)}
    shown = []
    for members in groups.groups[:limit]:
        rep = index_of[members[0]]
        pairs = []
        for member in members[1:1 + SHOWN_PAIRS]:
            i = index_of[member]
            passages = overlapping_passages(texts[rep], texts[i])
            match = by_pair.get((members[0], member))
            pairs.append({"member": _shown_row(rows[i], texts[i], table[i]),
                          "rep_spans": [(p.a_start, p.a_end) for p in passages],
                          "member_spans": [(p.b_start, p.b_end) for p in passages],
                          "score": None if match is None else round(match.score, 4),
                          "stage": None if match is None else match.stage,
                          "shared_chars": sum(p.a_end - p.a_start for p in passages)})
        shown.append({"group_id": table[rep]["group_id"], "size": len(members),
                      "representative": _shown_row(rows[rep], texts[rep], table[rep]),
                      "pairs": pairs, "hidden": max(0, len(members) - 1 - SHOWN_PAIRS)})
    return shown


def _shown_row(row: ExportRow, text: str, line: dict[str, Any]) -> dict[str, Any]:
    return {"row_number": row.row_number, "id": row.id, "title": row.title, "unit": row.unit,
            "author": row.author, "date": row.date, "text": text, "primary": line["primary"]}


# ---------------------------------------------------------------------------- entry point

@dataclass
class AuditResult:
    """What ``run_audit`` wrote, plus the figures and wall times (the CLI prints them)."""

    out_dir: Path
    summary: dict[str, Any]
    timings: dict[str, float]
    files: list[Path]


def peak_memory_mb() -> dict[str, int]:
    """Peak resident memory of this process and of the largest worker (ru_maxrss is in KiB)."""
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"main_mb": round(self_kb / 1024), "largest_worker_mb": round(child_kb / 1024)}


def run_audit(source: ExportData | str | Path, out_dir: str | Path, models: AuditModels,
              overrides: dict[str, str] | None = None, *, workers: int = 2,
              progress: Progress = no_progress, timings: dict[str, float] | None = None
              ) -> AuditResult:
    """Audit one export (a path, or an ExportData already read) into ``out_dir``.

    Writes summary.json, groups.csv, rows.csv, report.html (deterministic) and timings.json.
    Raises ExportError / AuditError (SangkienError) for problems a person can fix.
    """
    from training.report import write_outputs

    timer = StepTimer(timings)
    out = _prepare_out_dir(Path(out_dir))
    if isinstance(source, ExportData):
        export = source
    else:
        with timer.step("reading"):
            export = read_export(source, overrides)
    _require_rows(export)
    rows = export.rows
    _warm_up(models.classifier)
    with Workers(models.classifier, workers) as pool:
        with timer.step("normalising"):
            texts = pool.map(_normalise_chunk, [f"{r.title}\n{r.text}".strip() for r in rows],
                             NORMALISE_CHUNK, "normalising", progress)
        ahead = Speculation(pool, list(dict.fromkeys(texts)))
        try:
            groups, matches = find_groups(rows, texts, models, timer, progress)
        finally:
            with timer.step("classifying"):
                known = ahead.finish()
        with timer.step("classifying"):
            tags, classified = classify_needed(rows, texts, groups, pool, progress, known)
    with timer.step("writing"):
        table = rows_table(rows, tags, groups, field_lookup(models.taxonomy))
        problems = audit_problems(export, texts)
        summary = build_summary(export, models, groups, table, problems, classified)
        grouped = groups_table(groups, matches, rows, tags)
        check_consistency(summary, grouped, table)
        shown = showcase(groups, matches, rows, texts, table)
        files = write_outputs(out, summary, grouped, table, shown)
    timer.seconds["total"] = round(sum(v for k, v in timer.seconds.items() if k != "total"), 2)
    files.append(write_timings(out, timer.seconds, pool.workers, len(known)))
    return AuditResult(out, summary, timer.seconds, files)


def write_timings(out: Path, seconds: dict[str, float], workers: int, ahead: int) -> Path:
    """timings.json: the only output that changes between identical runs."""
    import json

    path = out / "timings.json"
    path.write_text(json.dumps({"seconds": seconds, "workers": workers,
                                "classified_during_dedup": ahead,
                                "peak_memory": peak_memory_mb()}, indent=2) + "\n", "utf-8")
    return path
