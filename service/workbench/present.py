"""Turning stored records into what a reviewer reads: highlighted text, plain-word evidence,
Vietnamese numbers and times. Pure functions (no I/O), so they are tested on their own."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

VN_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")  # Việt Nam: UTC+7 all year

REASONS = {
    "empty": "Văn bản trống sau khi chuẩn hóa",
    "no_content": "Không có chữ, chỉ có số hoặc dấu câu",
    "not_vietnamese": "Phần lớn không phải tiếng Việt (hoặc sai bảng mã)",
    "unknown_vocabulary": "Nhiều từ mô hình chưa gặp: lĩnh vực có thể nằm ngoài dữ liệu huấn luyện",
    "low_confidence": "Mô hình chưa chắc chắn về bộ lĩnh vực",
    "duplicate": "Nghi trùng với sáng kiến đã lưu",
}


@dataclass(frozen=True)
class Segment:
    """A piece of text, highlighted with ``mark`` (a CSS class suffix) or plain (None)."""

    text: str
    mark: str | None = None
    title: str | None = None


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text or "")


def number(x: float, digits: int = 2) -> str:
    """0.8734 → "0,87" (Vietnamese decimal comma)."""
    return f"{x:.{digits}f}".replace(".", ",")


def percent(x: float) -> str:
    return f"{round(100 * x)} %"


def count(n: int) -> str:
    """12345 → "12.345" (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def local_time(iso: str) -> str:
    """A stored UTC time as Vietnamese readers write it, in Việt Nam time."""
    try:
        t = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(VN_TIME).strftime("%H:%M %d/%m/%Y")


def local_date(iso: str) -> str:
    """"2024-03-15" → "15/03/2024"; anything else is shown as it is."""
    try:
        return dt.date.fromisoformat((iso or "")[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return iso or ""


def start_of_today_utc(now: dt.datetime | None = None) -> str:
    """Midnight in Việt Nam, as the UTC ISO string feedback times are stored in."""
    now = now or dt.datetime.now(dt.timezone.utc)
    midnight = now.astimezone(VN_TIME).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = re.findall(r"\w+", nfc(phrase))
    if not words:
        return None
    return re.compile(r"(?<!\w)" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


def segments(text: str, spans: list[tuple[int, int, str, str | None]]) -> list[Segment]:
    """Cut ``text`` at the spans (start, end, mark, title); earlier spans win overlaps."""
    taken: list[tuple[int, int, str, str | None]] = []
    for start, end, mark, title in spans:
        start, end = max(0, start), min(len(text), end)
        if start < end and all(end <= a or start >= b for a, b, _, _ in taken):
            taken.append((start, end, mark, title))
    out, pos = [], 0
    for start, end, mark, title in sorted(taken):
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(Segment(text[start:end], mark, title))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def highlight_phrases(text: str, phrases: list[tuple[str, str, str]]) -> list[Segment]:
    """Mark every occurrence of each (phrase, mark, title) in ``text``, whatever its case and
    spacing (explanations come from the normalised text; this is the text as written)."""
    text = nfc(text)
    spans = []
    for phrase, mark, title in phrases:
        pattern = _phrase_pattern(phrase)
        if pattern is not None:
            spans += [(m.start(), m.end(), mark, title) for m in pattern.finditer(text)]
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    return segments(text, spans)


def found_phrases(texts: list[str], phrases: list[str]) -> set[str]:
    """The phrases that occur in at least one of ``texts`` (the others are listed, not marked)."""
    joined = "\n".join(nfc(t) for t in texts)
    return {p for p in phrases if (pat := _phrase_pattern(p)) is not None and pat.search(joined)}


def evidence_lines(ev: dict[str, Any]) -> list[str]:
    """The duplicate evidence in plain Vietnamese, strongest signals first."""
    lines = []
    if ev.get("exact"):
        lines.append("Nội dung giống hệt nhau (sau khi chuẩn hóa).")
    jac = float(ev.get("jaccard", 0.0))
    level = ("gần như cùng câu chữ" if jac >= 0.8 else "nhiều câu chữ chung" if jac >= 0.5
             else "một phần câu chữ chung" if jac >= 0.2 else "ít câu chữ chung")
    lines.append(f"Cụm từ chung (Jaccard): {percent(jac)} — {level}.")
    con = ev.get("containment")
    if con is not None:
        lines.append(f"{percent(float(con))} cụm từ của bản ngắn hơn có trong bản kia.")
    cos = float(ev.get("cosine", 0.0))
    sense = "rất gần nghĩa" if cos >= 0.9 else "gần nghĩa" if cos >= 0.8 else "khác nghĩa khá nhiều"
    lines.append(f"Độ gần về ý nghĩa (cosine): {number(cos)} — {sense}.")
    lines.append("Cùng tác giả." if ev.get("same_author") else "Khác tác giả (hoặc không ghi tác giả).")
    lines.append("Cùng đơn vị." if ev.get("same_unit") else "Khác đơn vị (hoặc không ghi đơn vị).")
    ratio = ev.get("length_ratio")
    if ratio is not None:
        lines.append(f"Độ dài: bản ngắn bằng {percent(float(ratio))} bản dài.")
    return lines
