"""HTTP request and response schemas (pydantic, at the edge only), with Vietnamese examples.

Requests forbid unknown fields, so a misspelt field is an error instead of being ignored.
Limits that come from settings (text size, batch size) are checked in the endpoints.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

EXAMPLE_TITLE = "Ứng dụng mã QR để quản lý thiết bị dạy học tại phòng thực hành"
EXAMPLE_DESCRIPTION = (
    "Trước đây việc theo dõi mượn trả thiết bị ở phòng thực hành ghi bằng sổ tay, thường xuyên "
    "thất lạc. Tôi đã dán mã QR lên 312 thiết bị, mỗi mã liên kết tới một dòng trên Google "
    "Sheets ghi tên thiết bị, tình trạng và lịch sử mượn. Thời gian kiểm kê giảm còn nửa ngày."
)
EXAMPLE_TEXT = f"{EXAMPLE_TITLE}\n{EXAMPLE_DESCRIPTION}"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace: send the initiative's text")
    return value


MAX_ID = 2**63 - 1  # the largest id a database integer holds


def _unicode(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"contains an unpaired surrogate ({value[exc.start]!a}) at character {exc.start}: "
                         "send valid Unicode text") from None
    return value


class Strict(BaseModel):
    """Request base: unknown fields are errors; every string must be valid Unicode."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _valid_text(cls, v: Any) -> Any:
        if isinstance(v, str):
            return _unicode(v)
        if isinstance(v, list):
            for item in v:
                if isinstance(item, str):
                    _unicode(item)
        return v


# ---- requests --------------------------------------------------------------------------------

class ClassifyRequest(Strict):
    """Either ``text`` (one initiative) or ``texts`` (a batch), not both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": EXAMPLE_TEXT},
        {"texts": [EXAMPLE_TEXT, "Sắp xếp lại kho lưu trữ sổ hộ tịch theo năm và loại việc"]},
    ]})

    text: str | None = Field(None, description="title and description of one initiative")
    texts: list[str] | None = Field(None, description="a batch of texts (at most SANGKIEN_MAX_BATCH)")

    @field_validator("text")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return None if v is None else _not_blank(v)

    @field_validator("texts")
    @classmethod
    def _texts(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v:
            raise ValueError("is an empty list: send at least one text")
        return v

    @model_validator(mode="after")
    def _one_of(self) -> ClassifyRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send exactly one of 'text' (one initiative) or 'texts' (a batch)")
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class DuplicatesRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "text": EXAMPLE_TEXT, "unit": "Trường THCS Nghĩa Tân, quận Cầu Giấy",
        "author": "Phạm Thị Thu Hằng", "k": 5}]})

    text: str = Field(description="title and description of the initiative to look up")
    unit: str = Field("", max_length=500, description="submitting unit (evidence: same unit)")
    author: str = Field("", max_length=300, description="author (evidence: same author)")
    k: int | None = Field(None, ge=1, le=50, description="how many matches (default: SANGKIEN_DUPLICATES_K)")

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, v: str) -> str:
        return _not_blank(v)


class InitiativeIn(Strict):
    """One initiative as the intake system submits it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "external_id": "portal-2024-000123", "title": EXAMPLE_TITLE,
        "description": EXAMPLE_DESCRIPTION, "unit": "Trường THCS Nghĩa Tân, quận Cầu Giấy",
        "author": "Phạm Thị Thu Hằng", "submitted_at": "2024-03-15"}]})

    title: str = Field(max_length=1000, description="title of the initiative (required)")
    description: str = Field("", description="free-text description")
    unit: str = Field("", max_length=500)
    author: str = Field("", max_length=300)
    submitted_at: dt.date | None = Field(None, description="date submitted, YYYY-MM-DD")
    external_id: str | None = Field(None, min_length=1, max_length=200,
                                    description="the intake system's id: a retry with it is idempotent")

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, v: str) -> str:
        return _not_blank(v)


class InitiativeBatchIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [{
        "external_id": "portal-2024-000124", "title": "Sắp xếp lại kho lưu trữ sổ hộ tịch",
        "description": "Phân loại sổ hộ tịch theo năm và loại việc, dán nhãn gáy sổ bằng ba màu.",
        "unit": "UBND xã Tiên Dương, huyện Đông Anh", "author": "Đỗ Văn Hùng",
        "submitted_at": "2024-02-21"}]}]})

    items: list[InitiativeIn] = Field(description="records, stored all together or not at all")

    @field_validator("items")
    @classmethod
    def _some(cls, v: list[InitiativeIn]) -> list[InitiativeIn]:
        if not v:
            raise ValueError("is an empty list: send at least one record")
        return v


def _intake_kind(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "items" in value else "record"


IntakeRequest = Annotated[
    Annotated[InitiativeIn, Tag("record")] | Annotated[InitiativeBatchIn, Tag("batch")],
    Discriminator(_intake_kind),
]


class ReviewIn(Strict):
    """A reviewer's decision: the fields (primary first), and/or a duplicate verdict."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reviewer": "Nguyễn Thị Lan", "fields": ["technology", "education"],
         "note": "Ứng dụng CNTT trong nhà trường"},
        {"reviewer": "Nguyễn Thị Lan", "duplicate_of": 12},
        {"reviewer": "Nguyễn Thị Lan", "not_duplicate": True},
    ]})

    reviewer: str = Field(min_length=1, max_length=200, description="who decided")
    fields: list[str] | None = Field(None, description="field codes from the taxonomy, primary first")
    duplicate_of: int | None = Field(None, ge=1, le=MAX_ID, description="id of the record this one duplicates")
    not_duplicate: bool = Field(False, description="this record is not a duplicate of its group")
    note: str | None = Field(None, max_length=2000)

    @field_validator("reviewer")
    @classmethod
    def _reviewer_not_blank(cls, v: str) -> str:
        return _not_blank(v)

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or len(set(v)) != len(v)):
            raise ValueError("must list at least one field code, each once, primary first")
        return v

    @model_validator(mode="after")
    def _decides(self) -> ReviewIn:
        if self.fields is None and self.duplicate_of is None and not self.not_duplicate:
            raise ValueError("a review needs 'fields', 'duplicate_of' or 'not_duplicate': true")
        if self.duplicate_of is not None and self.not_duplicate:
            raise ValueError("'duplicate_of' and 'not_duplicate' contradict each other: send one")
        return self


# ---- responses -------------------------------------------------------------------------------

class FieldScore(BaseModel):
    code: str = Field(examples=["technology"])
    name: str = Field(examples=["Công nghệ thông tin, chuyển đổi số"])
    probability: float = Field(examples=[0.93])
    selected: bool = Field(description="in the predicted label set")


class TagsOut(BaseModel):
    fields: list[FieldScore] = Field(description="every field, most probable first")
    labels: list[str] = Field(description="predicted label set, primary first",
                              examples=[["technology", "education"]])
    label_names: list[str] = Field(examples=[["Công nghệ thông tin, chuyển đổi số", "Giáo dục, đào tạo"]])
    primary: str | None = Field(examples=["technology"])
    primary_name: str | None = Field(examples=["Công nghệ thông tin, chuyển đổi số"])
    needs_review: bool
    review_reason: str | None = Field(
        description="empty, no_content, not_vietnamese, unknown_vocabulary, low_confidence", examples=[None])
    review_message: str | None = None
    confidence: float = Field(description="estimated probability that the whole label set is right; "
                                          "below the model's acceptance level the text needs review")
    explanations: dict[str, list[str]] = Field(description="phrases that pushed the text to each label",
                                               examples=[{"technology": ["mã QR", "Google Sheets"]}])
    model_version: str


class ClassifyResponse(BaseModel):
    model_version: str
    results: list[TagsOut]


class EvidenceOut(BaseModel):
    exact: bool = Field(description="same text after normalisation (or without diacritics)")
    jaccard: float = Field(description="Jaccard similarity of syllable 3-shingles")
    containment: float
    cosine: float = Field(description="cosine of the static embeddings")
    same_author: bool
    same_unit: bool
    length_ratio: float


class PassageOut(BaseModel):
    query_start: int = Field(description="span in the query's normalised text")
    query_end: int
    stored_start: int = Field(description="span in the stored record's normalised text")
    stored_end: int
    text: str = Field(examples=["dán mã QR lên 312 thiết bị"])


class MatchOut(BaseModel):
    id: int
    external_id: str | None
    title: str
    unit: str
    author: str
    score: float = Field(description="duplicate rule score in [0, 1]")
    is_duplicate: bool
    decision: Literal["duplicate", "not_duplicate"]
    stage: str = Field(description="exact, lexical or semantic: the stage that proposed it")
    evidence: EvidenceOut
    passages: list[PassageOut]


class DuplicatesResponse(BaseModel):
    query_text: str = Field(description="the normalised text; passage spans index into it")
    threshold: float
    matches: list[MatchOut]


class InitiativeOut(BaseModel):
    id: int
    external_id: str | None
    title: str
    description: str
    unit: str
    author: str
    submitted_at: str
    text: str = Field(description="normalised title + description; passage spans index into it")
    fields: list[str] = Field(description="current fields (a reviewer's, else predicted), primary first")
    field_names: list[str]
    needs_review: bool = Field(description="predicted as needing review and not reviewed yet")
    reviewed: bool
    duplicate_group: int | None = Field(description="id of the group's first record; null if none")
    tags: TagsOut = Field(description="what the model predicted at intake")
    duplicates: list[MatchOut] = Field(description="similar records found at intake, with evidence")
    created_at: str


class IntakeItemOut(InitiativeOut):
    created: bool = Field(description="false when a retry returned the record already stored")


class IntakeResponse(BaseModel):
    items: list[IntakeItemOut]
    created: int
    existing: int


class InitiativePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[InitiativeOut]


class FeedbackOut(BaseModel):
    id: int
    reviewer: str
    reviewed_at: str
    fields: list[str] | None
    duplicate_of: int | None
    not_duplicate: bool
    note: str | None


class ReviewResponse(BaseModel):
    initiative: InitiativeOut
    feedback: FeedbackOut


class CountBeforeAfter(BaseModel):
    key: str
    name: str
    before: int = Field(description="records")
    after: int = Field(description="distinct records: each duplicate group counted once")


class AuditResponse(BaseModel):
    total: int
    distinct: int = Field(description="total − Σ(group size − 1)")
    singletons: int
    duplicate_groups: int
    in_groups: int
    groups_by_size: dict[str, int] = Field(examples=[{"2": 40, "3": 7}])
    needs_review: int
    needs_review_share: float
    reviewed: int
    by_field: list[CountBeforeAfter] = Field(description="by primary field")
    by_unit: list[CountBeforeAfter]


class HealthOut(BaseModel):
    status: Literal["ok"]
    model_version: str
    initiatives: int
    indexed: int
