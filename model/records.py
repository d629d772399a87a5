"""Initiative records: the shape shared by labelled data, exports and the service's store."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from model.errors import DataError
from model.taxonomy import Taxonomy

_REQUIRED = ("id", "title", "description", "unit", "author", "submitted_at", "fields")


@dataclass(frozen=True)
class Record:
    """One initiative as submitted: a title, a free-text description and its metadata."""

    id: str
    title: str
    description: str = ""
    unit: str = ""
    author: str = ""
    submitted_at: str = ""
    fields: tuple[str, ...] = ()
    rewrite_of: str | None = None
    near_miss_of: str | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def text(self) -> str:
        """Title and description as one text: what the models read."""
        return f"{self.title}\n{self.description}".strip()

    @property
    def primary_field(self) -> str | None:
        return self.fields[0] if self.fields else None


def record_from_dict(raw: dict, taxonomy: Taxonomy | None, where: str) -> Record:
    """Validate one labelled record and say exactly what is wrong with it."""
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise DataError(f"{where}: missing keys {missing}")
    if not str(raw["title"]).strip():
        raise DataError(f"{where}: empty title (every record needs at least a title)")
    fields = tuple(raw["fields"])
    if not fields:
        raise DataError(f"{where}: 'fields' is empty; give at least the primary field")
    if taxonomy is not None:
        unknown = [f for f in fields if f not in taxonomy]
        if unknown:
            raise DataError(f"{where}: unknown field codes {unknown}; allowed: {taxonomy.codes}")
    if raw.get("primary_field", fields[0]) != fields[0]:
        raise DataError(f"{where}: primary_field must equal fields[0]")
    try:
        dt.date.fromisoformat(str(raw["submitted_at"]))
    except ValueError as exc:
        raise DataError(f"{where}: submitted_at must be YYYY-MM-DD: {exc}") from exc
    return Record(
        id=str(raw["id"]), title=str(raw["title"]), description=str(raw["description"] or ""),
        unit=str(raw["unit"]), author=str(raw["author"]), submitted_at=str(raw["submitted_at"]),
        fields=fields, rewrite_of=raw.get("rewrite_of"), near_miss_of=raw.get("near_miss_of"),
    )


def read_jsonl(path: Path) -> list[tuple[str, dict]]:
    """Parse a JSON-lines file, naming the line of any error."""
    rows = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((f"{path.name}:{n}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path.name}:{n}: invalid JSON: {exc.msg}") from exc
    return rows


def load_records(paths: list[Path], taxonomy: Taxonomy | None) -> list[Record]:
    """Load and validate labelled records; ids unique, links point to existing records."""
    records = [record_from_dict(raw, taxonomy, where) for p in paths for where, raw in read_jsonl(p)]
    ids = [r.id for r in records]
    dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise DataError(f"duplicate record ids: {dupes[:10]}")
    known = set(ids)
    for r in records:
        for link in (r.rewrite_of, r.near_miss_of):
            if link is not None and link not in known:
                raise DataError(f"record {r.id}: links to unknown record {link!r}")
    return records
