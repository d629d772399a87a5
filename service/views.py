"""Service records → HTTP response schemas (the edge), with the taxonomy's Vietnamese names."""

from __future__ import annotations

from typing import Any

from model.taxonomy import Taxonomy
from service import schemas
from service.store import Candidate, Feedback, Initiative
from service.tagging import REVIEW_MESSAGES, Tags


def _name(taxonomy: Taxonomy, code: str | None) -> str | None:
    return taxonomy.name(code) if code is not None and code in taxonomy else code


def tags_out(tags: Tags, taxonomy: Taxonomy) -> schemas.TagsOut:
    chosen = set(tags.labels)
    ranked = sorted(tags.probabilities.items(), key=lambda kv: -kv[1])
    return schemas.TagsOut(
        fields=[schemas.FieldScore(code=c, name=_name(taxonomy, c) or c, probability=p, selected=c in chosen)
                for c, p in ranked],
        labels=list(tags.labels), label_names=[_name(taxonomy, c) or c for c in tags.labels],
        primary=tags.primary, primary_name=_name(taxonomy, tags.primary),
        needs_review=tags.needs_review, review_reason=tags.review_reason,
        review_message=REVIEW_MESSAGES.get(tags.review_reason or ""),
        confidence=tags.confidence, explanations=tags.explanations, model_version=tags.model_version,
    )


def match_out(c: Candidate, summaries: dict[int, Any]) -> schemas.MatchOut:
    row = summaries.get(c.other) if isinstance(c.other, int) else None
    return schemas.MatchOut(
        id=int(c.other), external_id=getattr(row, "external_id", None), title=getattr(row, "title", ""),
        unit=getattr(row, "unit", ""), author=getattr(row, "author", ""), score=c.score,
        is_duplicate=c.is_duplicate, decision="duplicate" if c.is_duplicate else "not_duplicate",
        stage=c.stage, evidence=schemas.EvidenceOut(**c.evidence),
        passages=[schemas.PassageOut(**p) for p in c.passages],
    )


def initiative_out(r: Initiative, taxonomy: Taxonomy, summaries: dict[int, Any]) -> dict[str, Any]:
    """Keyword arguments of ``InitiativeOut`` (and of ``IntakeItemOut``, which adds ``created``)."""
    return dict(
        id=r.id, external_id=r.external_id, title=r.title, description=r.description, unit=r.unit,
        author=r.author, submitted_at=r.submitted_at, text=r.text, fields=r.fields,
        field_names=[_name(taxonomy, c) or c for c in r.fields], needs_review=r.needs_review,
        reviewed=r.reviewed, duplicate_group=r.group_id, tags=tags_out(r.tags, taxonomy),
        duplicates=[match_out(c, summaries) for c in r.candidates], created_at=r.created_at,
    )


def feedback_out(f: Feedback) -> schemas.FeedbackOut:
    return schemas.FeedbackOut(id=f.id, reviewer=f.reviewer, reviewed_at=f.reviewed_at, fields=f.fields,
                               duplicate_of=f.duplicate_of, not_duplicate=f.not_duplicate, note=f.note)


def audit_out(a: dict[str, Any], taxonomy: Taxonomy) -> schemas.AuditResponse:
    by_field = [schemas.CountBeforeAfter(key=c, name=_name(taxonomy, c) or c, before=b, after=n)
                for c, b, n in sorted(a["by_field"], key=lambda r: -r[1])]
    by_unit = [schemas.CountBeforeAfter(key=u, name=u or "(no unit)", before=b, after=n)
               for u, b, n in sorted(a["by_unit"], key=lambda r: (-r[1], r[0]))]
    return schemas.AuditResponse(**{**a, "by_field": by_field, "by_unit": by_unit})
