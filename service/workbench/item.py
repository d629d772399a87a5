"""Everything the page of one submission shows: fields with probabilities, highlighted
explanations, the most similar stored initiatives side by side, and the decision history."""

from __future__ import annotations

from typing import Any

from model.dedup.evidence import overlapping_passages
from service.engine import Engine
from service.errors import ServiceError
from service.store import Candidate, Feedback, Initiative, QueueFilter
from service.workbench import forms
from service.workbench.present import (REASONS, Segment, evidence_lines, found_phrases, highlight_phrases,
                                       local_time, segments)

SIMILAR_K = 5
MAX_PASSAGES = 8


def _name(engine: Engine, code: str) -> str:
    taxonomy = engine.models.taxonomy
    return taxonomy.name(code) if code in taxonomy else code


def explanations(engine: Engine, rec: Initiative) -> dict[str, list[str]]:
    """The stored explanation phrases; recomputed (one prediction, ~20 ms) for records stored
    without them, as bulk imports may be, so that every page shows why."""
    if rec.tags.explanations or not rec.tags.labels:
        return rec.tags.explanations
    live = engine.models.classifier.predict([rec.text])[0].explanations
    return {c: live.get(c, []) for c in rec.tags.labels}


def field_rows(engine: Engine, rec: Initiative, d: forms.Decision, phrases: dict[str, list[str]],
               ) -> list[dict[str, Any]]:
    """Every taxonomy field, most probable first, with its key, tick and colour."""
    predicted = rec.tags.labels
    order = sorted(engine.models.taxonomy.codes, key=lambda c: -rec.tags.probabilities.get(c, 0.0))
    return [{"code": c, "name": _name(engine, c), "probability": rec.tags.probabilities.get(c, 0.0),
             "key": i + 1 if i < 9 else None, "checked": c in d.fields, "primary": c == d.primary,
             "predicted": c in predicted, "mark": f"f{predicted.index(c)}" if c in predicted else None,
             "phrases": phrases.get(c, [])} for i, c in enumerate(order)]


def explained(engine: Engine, rec: Initiative, by_field: dict[str, list[str]],
              ) -> tuple[list[Segment], list[Segment], list[dict[str, Any]]]:
    """Title and description with each predicted field's phrases marked in its colour."""
    phrases = [(p, f"f{i}", _name(engine, c)) for i, c in enumerate(rec.tags.labels)
               for p in by_field.get(c, [])]
    found = found_phrases([rec.title, rec.description], [p for p, _, _ in phrases])
    legend = [{"name": _name(engine, c), "mark": f"f{i}",
               "phrases": [(p, p in found) for p in by_field.get(c, [])]}
              for i, c in enumerate(rec.tags.labels)]
    return highlight_phrases(rec.title, phrases), highlight_phrases(rec.description, phrases), legend


def similar_candidates(engine: Engine, rec: Initiative) -> tuple[list[Candidate], str | None]:
    """The live nearest stored records, plus any duplicate flagged at intake that they miss."""
    problem = None
    try:
        live = engine.similar(rec.id, SIMILAR_K)
    except ServiceError as exc:  # e.g. a text the index refuses: the stored evidence still shows
        live, problem = [], exc.message
    seen = {c.other for c in live}
    flagged = [c for c in rec.candidates if c.is_duplicate and c.other not in seen and isinstance(c.other, int)]
    return flagged + live, problem


def _passage_spans(c: Candidate, rec: Initiative, other: Initiative) -> tuple[list, list]:
    passages = c.passages or [{"query_start": p.a_start, "query_end": p.a_end, "stored_start": p.b_start,
                               "stored_end": p.b_end}
                              for p in overlapping_passages(rec.text, other.text)[:MAX_PASSAGES]]
    left = [(p["query_start"], p["query_end"], "p", f"đoạn chung {n}") for n, p in enumerate(passages, 1)]
    right = [(p["stored_start"], p["stored_end"], "p", f"đoạn chung {n}") for n, p in enumerate(passages, 1)]
    return left, right


def similar_rows(engine: Engine, rec: Initiative, candidates: list[Candidate]) -> list[dict[str, Any]]:
    others = {o.id: o for o in engine.store.get_many([c.other for c in candidates if isinstance(c.other, int)])}
    rows = []
    for n, c in enumerate(c for c in candidates if c.other in others):
        other = others[c.other]
        left, right = _passage_spans(c, rec, other)
        rows.append({
            "n": n + 1, "id": other.id, "title": other.title, "unit": other.unit, "author": other.author,
            "date": other.submitted_at or other.created_at, "score": c.score, "is_duplicate": c.is_duplicate,
            "same_group": rec.group_id is not None and rec.group_id == other.group_id,
            "evidence": evidence_lines(c.evidence), "passages": len(left),
            "left": segments(rec.text, left), "right": segments(other.text, right),
        })
    return rows


def default_decision(rec: Initiative, history: list[Feedback]) -> forms.Decision:
    """The model's suggestion (or the decision in force), so that one key accepts it."""
    flagged = [c.other for c in rec.candidates if c.is_duplicate and isinstance(c.other, int)]
    dup = str(flagged[0]) if flagged and not rec.reviewed else ""
    return forms.Decision(fields=list(rec.fields), primary=rec.fields[0] if rec.fields else None, dup=dup,
                          seen=history[-1].id if history else 0)


def history_rows(engine: Engine, history: list[Feedback]) -> list[dict[str, Any]]:
    rows = []
    for fb in reversed(history):
        what = []
        if fb.fields is not None:
            what.append("Lĩnh vực: " + ", ".join(_name(engine, c) for c in fb.fields))
        if fb.duplicate_of is not None:
            what.append(f"Trùng với #{fb.duplicate_of}")
        if fb.not_duplicate:
            what.append("Không trùng")
        rows.append({"reviewer": fb.reviewer, "when": local_time(fb.reviewed_at), "what": what, "note": fb.note})
    return rows


def item_context(engine: Engine, rec: Initiative, history: list[Feedback], f: QueueFilter,
                 d: forms.Decision | None) -> dict[str, Any]:
    """Template context of the submission page; ``d`` re-shows a form that was refused."""
    d = d or default_decision(rec, history)
    by_field = explanations(engine, rec)
    title, description, legend = explained(engine, rec, by_field)
    candidates, similar_problem = similar_candidates(engine, rec)
    similar = similar_rows(engine, rec, candidates)
    reasons = [REASONS[rec.tags.review_reason]] if rec.tags.review_reason in REASONS else []
    if any(c.is_duplicate for c in rec.candidates):
        reasons.append(REASONS["duplicate"])
    return {
        "rec": rec, "title_segments": title, "description_segments": description, "legend": legend,
        "fields": field_rows(engine, rec, d, by_field), "similar": similar, "similar_problem": similar_problem,
        "decision": d, "history": history_rows(engine, history), "reasons": reasons,
        "filter_qs": forms.filter_query(f), "filter_params": forms.filter_params(f),
        "next_url": "/review/next?" + forms.filter_query(f, after=rec.id),
        "queue_url": "/review" + (f"?{forms.filter_query(f)}" if forms.filter_query(f) else ""),
        "decided": history[-1] if history else None,
    }
