"""The initiative store: SQLAlchemy 2 tables and the queries the service needs.

SQLite by default (WAL journal, ``synchronous`` FULL or NORMAL), any SQLAlchemy URL otherwise
(PostgreSQL works: only portable types and queries are used). Every write is one transaction,
committed before the service answers.

Duplicate groups: ``group_id`` is the id of the group's earliest member (its representative),
set on every member; a record that duplicates nothing has ``group_id`` NULL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import (JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, create_engine,
                        delete, event, func, insert, or_, select, update)
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from service.tagging import Tags


class Base(DeclarativeBase):
    pass


class InitiativeRow(Base):
    __tablename__ = "initiatives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(500), default="", index=True)
    author: Mapped[str] = mapped_column(String(300), default="")
    submitted_at: Mapped[str] = mapped_column(String(40), default="")
    text: Mapped[str] = mapped_column(Text)  # normalised title + description: what models read
    predicted_labels: Mapped[list] = mapped_column(JSON)
    probabilities: Mapped[dict] = mapped_column(JSON)
    explanations: Mapped[dict] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    review_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    predicted_needs_review: Mapped[bool] = mapped_column(Boolean)
    needs_review: Mapped[bool] = mapped_column(Boolean, index=True)  # false once reviewed
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    model_version: Mapped[str] = mapped_column(String(100))
    group_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[str] = mapped_column(String(40))


class FieldRow(Base):
    """The record's current fields (predicted, or as a reviewer set them); position 0 = primary."""

    __tablename__ = "initiative_fields"

    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class CandidateRow(Base):
    """A stored initiative found similar at intake, with the evidence of the decision."""

    __tablename__ = "duplicate_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    is_duplicate: Mapped[bool] = mapped_column(Boolean)
    stage: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[dict] = mapped_column(JSON)
    passages: Mapped[list] = mapped_column(JSON)


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[str] = mapped_column(String(40))
    fields: Mapped[list | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    duplicate_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    not_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


# ---- plain records in and out ---------------------------------------------------------------

@dataclass
class Candidate:
    """A similar record: ``other`` is a stored id, or ``"new:<i>"`` for item i of the same batch."""

    other: int | str
    score: float
    is_duplicate: bool
    stage: str
    evidence: dict[str, Any]
    passages: list[dict[str, Any]]


@dataclass
class NewInitiative:
    external_id: str | None
    title: str
    description: str
    unit: str
    author: str
    submitted_at: str
    text: str
    tags: Tags
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class Initiative:
    id: int
    external_id: str | None
    title: str
    description: str
    unit: str
    author: str
    submitted_at: str
    text: str
    tags: Tags
    fields: list[str]
    needs_review: bool
    reviewed: bool
    group_id: int | None
    created_at: str
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class Feedback:
    id: int
    initiative_id: int
    reviewer: str
    reviewed_at: str
    fields: list[str] | None
    duplicate_of: int | None
    not_duplicate: bool
    note: str | None


def carries_field(code: str):
    """Records whose current fields include ``code`` (the API list and the workbench queue)."""
    return InitiativeRow.id.in_(select(FieldRow.initiative_id).where(FieldRow.field == code))


@dataclass(frozen=True)
class ListFilter:
    field: str | None = None
    unit: str | None = None
    needs_review: bool | None = None
    group_id: int | None = None


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    """WAL journal (readers never block the writer), durable commits, enforced foreign keys."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 (DB-API connection)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()


def make_engine(url: str, synchronous: str = "FULL") -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _sqlite_pragmas(engine, synchronous)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _row_tags(row: InitiativeRow) -> Tags:
    labels = list(row.predicted_labels)
    return Tags(labels=labels, primary=labels[0] if labels else None,
                probabilities=dict(row.probabilities), needs_review=row.predicted_needs_review,
                review_reason=row.review_reason, confidence=row.confidence,
                explanations=dict(row.explanations), model_version=row.model_version)


def _candidate(row: CandidateRow) -> Candidate:
    return Candidate(row.other_id, row.score, row.is_duplicate, row.stage, dict(row.evidence),
                     list(row.passages))


def _feedback(row: FeedbackRow) -> Feedback:
    return Feedback(row.id, row.initiative_id, row.reviewer, row.reviewed_at,
                    list(row.fields) if row.fields is not None else None, row.duplicate_of,
                    row.not_duplicate, row.note)


class Store:
    """All reads and writes of initiatives, fields, duplicate evidence and feedback."""

    def __init__(self, url: str, synchronous: str = "FULL"):
        self.url = url
        self.engine = make_engine(url, synchronous)
        Base.metadata.create_all(self.engine)
        ensure_queue_indexes(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        with self._session() as s:
            return s.execute(select(1)).scalar() == 1

    # ---- reads ----------------------------------------------------------------------------

    def count(self) -> int:
        with self._session() as s:
            return s.scalar(select(func.count()).select_from(InitiativeRow)) or 0

    def _assemble(self, s: Session, rows: list[InitiativeRow]) -> list[Initiative]:
        ids = [r.id for r in rows]
        fields: dict[int, list[str]] = {i: [] for i in ids}
        cands: dict[int, list[Candidate]] = {i: [] for i in ids}
        if ids:
            q = select(FieldRow).where(FieldRow.initiative_id.in_(ids)).order_by(FieldRow.position)
            for f in s.scalars(q):
                fields[f.initiative_id].append(f.field)
            q = select(CandidateRow).where(CandidateRow.initiative_id.in_(ids)).order_by(CandidateRow.rank)
            for c in s.scalars(q):
                cands[c.initiative_id].append(_candidate(c))
        return [Initiative(r.id, r.external_id, r.title, r.description, r.unit, r.author,
                           r.submitted_at, r.text, _row_tags(r), fields[r.id], r.needs_review,
                           r.reviewed, r.group_id, r.created_at, cands[r.id]) for r in rows]

    def get_many(self, ids: list[int]) -> list[Initiative]:
        """The records with these ids, in the order asked (unknown ids are skipped)."""
        with self._session() as s:
            rows = {r.id: r for r in s.scalars(select(InitiativeRow).where(InitiativeRow.id.in_(ids)))}
            return self._assemble(s, [rows[i] for i in ids if i in rows])

    def get(self, initiative_id: int) -> Initiative | None:
        found = self.get_many([initiative_id])
        return found[0] if found else None

    def by_external_ids(self, external_ids: list[str]) -> dict[str, Initiative]:
        if not external_ids:
            return {}
        with self._session() as s:
            q = select(InitiativeRow).where(InitiativeRow.external_id.in_(external_ids))
            return {r.external_id: r for r in self._assemble(s, list(s.scalars(q)))}

    def summaries(self, ids: list[int]) -> dict[int, InitiativeRow]:
        """Title, unit and author of matched records, for showing duplicate candidates."""
        if not ids:
            return {}
        with self._session() as s:
            return {r.id: r for r in s.scalars(select(InitiativeRow).where(InitiativeRow.id.in_(ids)))}

    def _filtered(self, f: ListFilter):
        q = select(InitiativeRow)
        if f.field is not None:
            q = q.where(carries_field(f.field))
        if f.unit is not None:
            q = q.where(InitiativeRow.unit == f.unit)
        if f.needs_review is not None:
            q = q.where(InitiativeRow.needs_review == f.needs_review)
        if f.group_id is not None:
            q = q.where(InitiativeRow.group_id == f.group_id)
        return q

    def list(self, f: ListFilter, limit: int, offset: int) -> tuple[list[Initiative], int]:
        """One page of records (oldest first) and the total that match the filter."""
        q = self._filtered(f)
        with self._session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = list(s.scalars(q.order_by(InitiativeRow.id).limit(limit).offset(offset)))
            return self._assemble(s, rows), total

    def iter_index_rows(self, chunk: int = 5000) -> Iterator[tuple[int, str, str, str, str]]:
        """(id, text, unit, author, submitted_at) of every record, for rebuilding the index."""
        cols = (InitiativeRow.id, InitiativeRow.text, InitiativeRow.unit, InitiativeRow.author,
                InitiativeRow.submitted_at)
        last = 0
        with self._session() as s:
            while True:
                rows = s.execute(select(*cols).where(InitiativeRow.id > last)
                                 .order_by(InitiativeRow.id).limit(chunk)).all()
                if not rows:
                    return
                yield from (tuple(r) for r in rows)
                last = rows[-1][0]

    def reviewed_fields(self) -> Iterator[tuple[int, str, str, list[str]]]:
        """(id, title, description, fields) of every record whose fields a reviewer set."""
        reviewed = select(FeedbackRow.initiative_id).where(FeedbackRow.fields.is_not(None))
        with self._session() as s:
            rows = list(s.scalars(select(InitiativeRow).where(InitiativeRow.id.in_(reviewed))
                                  .order_by(InitiativeRow.id)))
            fields: dict[int, list[str]] = {r.id: [] for r in rows}
            fq = select(FieldRow).where(FieldRow.initiative_id.in_(reviewed)).order_by(FieldRow.position)
            for f in s.scalars(fq):
                fields[f.initiative_id].append(f.field)
        for r in rows:
            yield r.id, r.title, r.description, fields[r.id]

    # ---- writes ---------------------------------------------------------------------------

    def insert(self, items: list[NewInitiative]) -> list[Initiative]:
        """Store a batch in ONE transaction (all or nothing); returns the stored records."""
        created = now()
        with self._session.begin() as s:
            ids: list[int] = []
            for item in items:
                row = _new_row(item, created)
                s.add(row)
                s.flush()
                ids.append(row.id)
                s.add_all(FieldRow(initiative_id=row.id, field=c, position=i)
                          for i, c in enumerate(item.tags.labels))
                targets = self._add_candidates(s, row.id, item.candidates, ids)
                if targets:
                    union_groups(s, [row.id, *targets])
            groups = dict(s.execute(select(InitiativeRow.id, InitiativeRow.group_id)
                                    .where(InitiativeRow.id.in_(ids))).all()) if ids else {}
        return [_stored(item, i, groups[i], created, ids) for item, i in zip(items, ids)]

    @staticmethod
    def _add_candidates(s: Session, row_id: int, candidates: list[Candidate],
                        batch_ids: list[int]) -> list[int]:
        """Store the evidence rows; return the ids of the ones judged duplicates."""
        dups = []
        for rank, c in enumerate(candidates):
            other = batch_ids[int(c.other.split(":")[1])] if isinstance(c.other, str) else c.other
            s.add(CandidateRow(initiative_id=row_id, other_id=other, rank=rank, score=c.score,
                               is_duplicate=c.is_duplicate, stage=c.stage, evidence=c.evidence,
                               passages=c.passages))
            if c.is_duplicate:
                dups.append(other)
        return dups

    def bulk_insert(self, items: list[NewInitiative], ids: list[int], group_ids: list[int | None]) -> None:
        """Initial import: many records with ids and groups decided by the caller, in ONE
        transaction of plain multi-row inserts (no per-record round trips)."""
        created = now()
        rows, fields, cands = [], [], []
        for item, i, g in zip(items, ids, group_ids):
            row = _new_row(item, created)
            rows.append({c.key: getattr(row, c.key) for c in InitiativeRow.__table__.columns if c.key != "id"}
                        | {"id": i, "group_id": g})
            fields += [{"initiative_id": i, "field": c, "position": n} for n, c in enumerate(item.tags.labels)]
            cands += [{"initiative_id": i, "other_id": c.other, "rank": n, "score": c.score,
                       "is_duplicate": c.is_duplicate, "stage": c.stage, "evidence": c.evidence,
                       "passages": c.passages} for n, c in enumerate(item.candidates)]
        with self.engine.begin() as conn:
            for table, values in ((InitiativeRow, rows), (FieldRow, fields), (CandidateRow, cands)):
                for start in range(0, len(values), 5000):
                    conn.execute(insert(table), values[start : start + 5000])
            if conn.dialect.name == "postgresql":  # explicit ids do not move the id sequence there
                conn.execute(sql("SELECT setval(pg_get_serial_sequence('initiatives', 'id'), "
                                  "(SELECT max(id) FROM initiatives))"))

    def review(self, initiative_id: int, reviewer: str, fields: list[str] | None,
               duplicate_of: int | None, not_duplicate: bool, note: str | None) -> Feedback:
        """Apply a reviewer's decision and keep it as feedback, in one transaction."""
        with self._session.begin() as s:
            row = s.get(InitiativeRow, initiative_id)
            if fields is not None:
                s.execute(delete(FieldRow).where(FieldRow.initiative_id == initiative_id))
                s.add_all(FieldRow(initiative_id=initiative_id, field=c, position=i)
                          for i, c in enumerate(fields))
            row.reviewed, row.needs_review = True, False
            if duplicate_of is not None:
                union_groups(s, [initiative_id, duplicate_of])
            if not_duplicate:
                leave_group(s, initiative_id)
            fb = FeedbackRow(initiative_id=initiative_id, reviewer=reviewer, reviewed_at=now(),
                             fields=fields, duplicate_of=duplicate_of, not_duplicate=not_duplicate,
                             note=note)
            s.add(fb)
            s.flush()
            return _feedback(fb)

    # ---- audit ----------------------------------------------------------------------------

    def audit_counts(self) -> dict[str, Any]:
        """Raw counts for the audit: totals, group sizes, per primary field and per unit."""
        root = func.coalesce(InitiativeRow.group_id, InitiativeRow.id)
        with self._session() as s:
            total = s.scalar(select(func.count()).select_from(InitiativeRow)) or 0
            sizes = [n for (n,) in s.execute(select(func.count()).where(InitiativeRow.group_id.is_not(None))
                                             .group_by(InitiativeRow.group_id))]
            review = s.scalar(select(func.count()).where(InitiativeRow.needs_review.is_(True))) or 0
            reviewed = s.scalar(select(func.count()).where(InitiativeRow.reviewed.is_(True))) or 0
            by_field = s.execute(
                select(FieldRow.field, func.count(), func.count(func.distinct(root)))
                .join(InitiativeRow, InitiativeRow.id == FieldRow.initiative_id)
                .where(FieldRow.position == 0).group_by(FieldRow.field)).all()
            by_unit = s.execute(select(InitiativeRow.unit, func.count(), func.count(func.distinct(root)))
                                .group_by(InitiativeRow.unit)).all()
        return {"total": total, "group_sizes": sizes, "needs_review": review, "reviewed": reviewed,
                "by_field": [tuple(r) for r in by_field], "by_unit": [tuple(r) for r in by_unit]}


def _new_row(item: NewInitiative, created: str) -> InitiativeRow:
    t = item.tags
    return InitiativeRow(
        external_id=item.external_id, title=item.title, description=item.description,
        unit=item.unit, author=item.author, submitted_at=item.submitted_at, text=item.text,
        predicted_labels=list(t.labels), probabilities=dict(t.probabilities),
        explanations=dict(t.explanations), confidence=t.confidence, review_reason=t.review_reason,
        predicted_needs_review=t.needs_review, needs_review=t.needs_review, reviewed=False,
        model_version=t.model_version, group_id=None, created_at=created)


def _stored(item: NewInitiative, initiative_id: int, group_id: int | None, created: str,
            batch_ids: list[int]) -> Initiative:
    """The record just inserted, as ``get`` would read it back (without another query)."""
    cands = [Candidate(batch_ids[int(c.other.split(":")[1])] if isinstance(c.other, str) else c.other,
                       c.score, c.is_duplicate, c.stage, c.evidence, c.passages) for c in item.candidates]
    return Initiative(initiative_id, item.external_id, item.title, item.description, item.unit, item.author,
                      item.submitted_at, item.text, item.tags, list(item.tags.labels), item.tags.needs_review,
                      False, group_id, created, cands)


def union_groups(s: Session, ids: list[int]) -> int:
    """Put ``ids`` and everything already grouped with them in one group; return its id."""
    rows = s.execute(select(InitiativeRow.id, InitiativeRow.group_id).where(InitiativeRow.id.in_(ids))).all()
    roots = {g if g is not None else i for i, g in rows}
    target = min(roots)
    s.execute(update(InitiativeRow)
              .where(or_(InitiativeRow.group_id.in_(roots), InitiativeRow.id.in_(roots | set(ids))))
              .values(group_id=target).execution_options(synchronize_session=False))
    return target


def leave_group(s: Session, initiative_id: int) -> None:
    """Take one record out of its group; a group left with one member dissolves."""
    group = s.scalar(select(InitiativeRow.group_id).where(InitiativeRow.id == initiative_id))
    if group is None:
        return
    s.execute(update(InitiativeRow).where(InitiativeRow.id == initiative_id).values(group_id=None)
              .execution_options(synchronize_session=False))
    rest = list(s.scalars(select(InitiativeRow.id).where(InitiativeRow.group_id == group)))
    new_root = min(rest) if len(rest) > 1 else None
    s.execute(update(InitiativeRow).where(InitiativeRow.group_id == group).values(group_id=new_root)
              .execution_options(synchronize_session=False))


# ---- reviewer workbench queries (additive: read-only, used by service/workbench) -----------

# The queue is read in confidence order among undecided records, filtered on unit and dates:
# one covering index answers that (and counts it) without touching the wide rows; the second
# finds flagged records without reading the evidence JSON. Created with the tables on a new
# store, and by ``ensure_queue_indexes`` on a store made before they existed.
QUEUE_INDEXES = (
    Index("ix_initiatives_queue", InitiativeRow.reviewed, InitiativeRow.confidence, InitiativeRow.id,
          InitiativeRow.needs_review, InitiativeRow.unit, InitiativeRow.submitted_at, InitiativeRow.created_at),
    Index("ix_duplicate_candidates_flagged", CandidateRow.is_duplicate, CandidateRow.initiative_id),
)


def ensure_queue_indexes(engine: Engine) -> None:
    for index in QUEUE_INDEXES:
        index.create(engine, checkfirst=True)


@dataclass(frozen=True)
class QueueFilter:
    """The workbench queue's filters; dates are ``YYYY-MM-DD`` on the submission date (or the
    storage date when the intake sent none), ``unit`` matches part of the unit's name."""

    field: str | None = None
    unit: str | None = None
    date_from: str | None = None
    date_to: str | None = None


def _flagged_ids():
    """Records with a stored candidate the duplicate rule judged a duplicate."""
    return select(CandidateRow.initiative_id).where(CandidateRow.is_duplicate.is_(True))


def _queue(f: QueueFilter):
    """Undecided records a reviewer must look at: uncertain tags or a flagged duplicate."""
    q = select(InitiativeRow).where(InitiativeRow.reviewed.is_(False),
                                    or_(InitiativeRow.needs_review.is_(True), InitiativeRow.id.in_(_flagged_ids())))
    if f.field is not None:
        q = q.where(carries_field(f.field))
    if f.unit is not None:
        q = q.where(InitiativeRow.unit.contains(f.unit, autoescape=True))
    day = func.substr(func.coalesce(func.nullif(InitiativeRow.submitted_at, ""), InitiativeRow.created_at), 1, 10)
    if f.date_from is not None:
        q = q.where(day >= f.date_from)
    if f.date_to is not None:
        q = q.where(day <= f.date_to)
    return q


_QUEUE_ORDER = (InitiativeRow.confidence, InitiativeRow.id)  # most uncertain first


def review_queue(store: Store, f: QueueFilter, limit: int, offset: int) -> tuple[list[Initiative], int]:
    """One page of the queue, most uncertain first, and how many records it holds."""
    ids = _queue(f).with_only_columns(InitiativeRow.id)
    with store._session() as s:
        total = s.scalar(select(func.count()).select_from(ids.subquery())) or 0
        page = list(s.scalars(ids.order_by(*_QUEUE_ORDER).limit(limit).offset(offset))) if limit else []
        rows = {r.id: r for r in s.scalars(select(InitiativeRow).where(InitiativeRow.id.in_(page)))} if page else {}
        return store._assemble(s, [rows[i] for i in page]), total


def queue_next(store: Store, f: QueueFilter, after: int | None) -> int | None:
    """The queue's record after ``after`` in queue order (``after`` itself excluded, wherever
    it is now), wrapping to the start; None when nothing else waits."""
    q = _queue(f).with_only_columns(InitiativeRow.id)
    with store._session() as s:
        if after is not None:
            q = q.where(InitiativeRow.id != after)
            conf = s.scalar(select(InitiativeRow.confidence).where(InitiativeRow.id == after))
            if conf is not None:
                later = q.where(or_(InitiativeRow.confidence > conf,
                                    (InitiativeRow.confidence == conf) & (InitiativeRow.id > after)))
                found = s.scalar(later.order_by(*_QUEUE_ORDER).limit(1))
                if found is not None:
                    return found
        return s.scalar(q.order_by(*_QUEUE_ORDER).limit(1))


def decided_since(store: Store, since: str, reviewer: str | None = None) -> int:
    """Records with a decision at or after ``since`` (an ISO time in UTC), optionally by one reviewer."""
    q = select(func.count(func.distinct(FeedbackRow.initiative_id))).where(FeedbackRow.reviewed_at >= since)
    if reviewer is not None:
        q = q.where(FeedbackRow.reviewer == reviewer)
    with store._session() as s:
        return s.scalar(q) or 0


def feedback_history(store: Store, initiative_id: int) -> list[Feedback]:
    """Every decision on one record, oldest first (the last one is the one in force)."""
    with store._session() as s:
        q = select(FeedbackRow).where(FeedbackRow.initiative_id == initiative_id).order_by(FeedbackRow.id)
        return [_feedback(r) for r in s.scalars(q)]


def unit_names(store: Store, limit: int = 500) -> list[str]:
    """The most frequent unit names, for the queue's unit filter suggestions."""
    with store._session() as s:
        q = (select(InitiativeRow.unit).where(InitiativeRow.unit != "").group_by(InitiativeRow.unit)
             .order_by(func.count().desc(), InitiativeRow.unit).limit(limit))
        return list(s.scalars(q))
