"""Reading the workbench's query strings and forms: lenient for filters (a bad filter is
dropped with a note, never an error page), strict for decisions (each problem named)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from service.schemas import MAX_ID, ReviewIn
from service.store import QueueFilter

MAX_NOTE: int = next((m.max_length for m in ReviewIn.model_fields["note"].metadata if hasattr(m, "max_length")),
                     2000)  # the API's own limit on a review note
MAX_UNIT_FILTER = 200
_ID = re.compile(r"[0-9]{1,19}")


def parse_id(raw: object) -> int | None:
    """A record id from a URL or form (ASCII digits, in the database's range), else None."""
    if isinstance(raw, str) and _ID.fullmatch(raw.strip()):
        value = int(raw.strip())
        return value if 1 <= value <= MAX_ID else None
    return None


def _date(raw: str | None, label: str, notes: list[str]) -> str | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw.strip()).isoformat()
    except ValueError:
        notes.append(f"Bỏ qua {label} “{raw[:40]}”: ngày phải có dạng năm-tháng-ngày (2024-03-15).")
        return None


def parse_filter(params: Any, codes: tuple[str, ...]) -> tuple[QueueFilter, list[str]]:
    """Queue filters from query parameters; unusable ones are dropped and explained."""
    notes: list[str] = []
    code = (params.get("field") or "").strip() or None
    if code is not None and code not in codes:
        notes.append(f"Bỏ qua lĩnh vực “{code[:40]}”: không có trong danh mục.")
        code = None
    unit = (params.get("unit") or "").strip()[:MAX_UNIT_FILTER] or None
    start = _date(params.get("from"), "ngày bắt đầu", notes)
    end = _date(params.get("to"), "ngày kết thúc", notes)
    return QueueFilter(code, unit, start, end), notes


def filter_params(f: QueueFilter) -> dict[str, str]:
    raw = {"field": f.field, "unit": f.unit, "from": f.date_from, "to": f.date_to}
    return {k: v for k, v in raw.items() if v}


def filter_query(f: QueueFilter, **extra: object) -> str:
    """The filter (and extra parameters) as a query string, "" when empty."""
    params = filter_params(f) | {k: str(v) for k, v in extra.items() if v is not None}
    return urlencode(params)


def parse_page(raw: object) -> int:
    value = parse_id(raw)
    return min(value, 100_000) if value else 1


@dataclass
class Decision:
    """What the reviewer ticked, as entered (kept to re-show the form after an error)."""

    fields: list[str] = field(default_factory=list)
    primary: str | None = None
    dup: str = ""
    dup_other: str = ""
    note: str = ""
    seen: int | None = None
    errors: list[str] = field(default_factory=list)
    review: ReviewIn | None = None


def _text(form: Any, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def parse_decision(form: Any, reviewer: str, order: list[str]) -> Decision:
    """The decision form → a validated ``ReviewIn`` (the API's own request model), or errors
    in Vietnamese. ``order`` is the fields' display order: checked fields are sent primary
    first, then in that order."""
    raw_fields = [v for v in form.getlist("f") if isinstance(v, str)]
    d = Decision(dup=_text(form, "dup", 40), dup_other=_text(form, "dup_other", 40),
                 note=form.get("note") if isinstance(form.get("note"), str) else "",
                 seen=parse_id(form.get("seen")) if form.get("seen") != "0" else 0)
    unknown = [v for v in raw_fields if v not in order]
    if unknown:
        d.errors.append(f"Lĩnh vực không có trong danh mục: {', '.join(v[:40] for v in unknown[:5])}.")
    d.fields = [c for c in order if c in raw_fields]
    primary = form.get("primary")
    d.primary = primary if isinstance(primary, str) and primary in d.fields else (d.fields[0] if d.fields else None)
    if not d.fields:
        d.errors.append("Hãy chọn ít nhất một lĩnh vực (phím 1–9).")
    if d.seen is None:
        d.errors.append("Biểu mẫu thiếu thông tin phiên bản: hãy tải lại trang rồi quyết định lại.")
    duplicate_of, not_duplicate = _duplicate(d)
    note = d.note.strip()
    if len(note) > MAX_NOTE:
        d.errors.append(f"Ghi chú dài {len(note):,} ký tự; tối đa {MAX_NOTE:,} ký tự: hãy rút gọn.".replace(",", "."))
    if d.errors:
        return d
    fields = [d.primary] + [c for c in d.fields if c != d.primary] if d.primary else None
    try:
        d.review = ReviewIn(reviewer=reviewer, fields=fields, duplicate_of=duplicate_of,
                            not_duplicate=not_duplicate, note=note or None)
    except ValidationError as exc:
        d.errors += [f"Quyết định không hợp lệ: {e.get('msg', '')}" for e in exc.errors()]
    return d


def _duplicate(d: Decision) -> tuple[int | None, bool]:
    """The duplicate verdict: none, "not a duplicate", or the id of the record it copies."""
    if d.dup in ("", "keep"):
        return None, False
    if d.dup == "none":
        return None, True
    raw = d.dup_other if d.dup == "other" else d.dup
    found = parse_id(raw.lstrip("#") if raw else raw)
    if found is None:
        d.errors.append(f"Mã sáng kiến trùng “{raw[:20]}” không hợp lệ: nhập một số, ví dụ 1234.")
        return None, False
    return found, False
