"""Text → normalised text → field tags: the classifier step of the pipeline, for the service.

``Tags`` is the service's own record of a prediction (plain data, stored as is); the HTTP
schemas are built from it at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.classify import FieldPrediction
from model.normalize import check_content, normalize
from service.errors import InvalidInputError
from service.models import Models

REVIEW_MESSAGES = {
    "empty": "the text is empty after normalisation",
    "no_content": "the text has no words, only numbers or punctuation",
    "not_vietnamese": "most words are not Vietnamese: check the language or the text encoding",
    "unknown_vocabulary": "few words the model knows: the field may be outside its training data",
    "low_confidence": "the model is not confident about the whole set of fields",
}
REJECTED = ("empty", "no_content")  # nothing to tag: refused with 422, never stored


@dataclass(frozen=True)
class Tags:
    """The fields predicted for one text, with the reason it needs a reviewer, if any."""

    labels: list[str]
    primary: str | None
    probabilities: dict[str, float]
    needs_review: bool
    review_reason: str | None
    confidence: float
    explanations: dict[str, list[str]]
    model_version: str


def initiative_text(title: str, description: str) -> str:
    """What the models read of a record: normalised title and description, one text."""
    return normalize(f"{title}\n{description}")


def check_texts(texts: list[str], locations: list[list[str | int]]) -> None:
    """Refuse (all at once, naming each) texts that give the model nothing to read."""
    details = []
    for text, loc in zip(texts, locations):
        check = check_content(text)
        if check.reason in REJECTED:
            details.append({"loc": [str(p) for p in loc], "type": check.reason,
                            "message": f"{check.message}: send the initiative's title and description"})
    if details:
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        raise InvalidInputError(f"{'.'.join(details[0]['loc'])}: {details[0]['message']}{more}",
                                details, code="empty_text")


def check_lengths(texts: list[str], locations: list[list[str | int]], limit: int) -> None:
    """Refuse texts over the configured size, before any model work is spent on them."""
    details = [
        {"loc": [str(p) for p in loc], "type": "too_long",
         "message": f"the text is {len(t):,} characters; the limit is {limit:,} "
                    "(SANGKIEN_MAX_TEXT_CHARS): shorten it or send the summary only"}
        for t, loc in zip(texts, locations) if len(t) > limit
    ]
    if details:
        raise InvalidInputError(f"{'.'.join(details[0]['loc'])}: {details[0]['message']}",
                                details, code="text_too_long")


def _tags(p: FieldPrediction, version: str) -> Tags:
    return Tags(labels=list(p.labels), primary=p.primary, probabilities=dict(p.probabilities),
                needs_review=p.needs_review, review_reason=p.review_reason,
                confidence=float(p.confidence), explanations=dict(p.explanations),
                model_version=version)


def tag_texts(models: Models, texts: list[str]) -> list[Tags]:
    """Classify normalised texts in one batch."""
    if not texts:
        return []
    return [_tags(p, models.model_version) for p in models.classifier.predict(texts)]
