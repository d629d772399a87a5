"""Read the portal's exports of initiatives (CSV, XLSX, JSONL) into clean rows for the audit.

Exports arrive broken in predictable ways: Windows-1258 CSV from Vietnamese Excel (tone marks as
combining characters), BOMs, semicolons, a title banner above the header, ragged rows, a row
pasted in another encoding, broken JSON lines, duplicate ids. This layer never guesses
silently: every row it skips or alters is listed in ``ExportData.problems`` with the row number
a person sees in Excel or an editor, and every file-level failure raises :class:`ExportError`
saying what is wrong and how to fix it. Cell text is only NFC-normalised and stripped; it is
never folded, so what the audit reports is what the author wrote.

Rows are streamed (csv module, openpyxl read-only, line-by-line JSON), so memory stays close to
the size of the returned rows; 200,000 UTF-8 rows of ~1,000 characters take seconds (cp1258
takes longer: composing its tone marks is real work; XLSX is bound by openpyxl's parser).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from model.errors import SangkienError

TARGETS = ("id", "title", "text", "unit", "author", "field", "date")
# Problems whose row is not in ExportData.rows: total_rows == len(rows) + these.
SKIPPED_KINDS = frozenset({"empty_row", "empty_text", "bad_json"})
FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json-lines": "jsonl",
}
DELIMITERS = (",", ";", "\t")
HEADER_SCAN_ROWS = 20          # banner rows allowed above the real header
JSONL_KEY_OBJECTS = 100        # objects whose keys make the JSONL "header"
SAMPLE_BYTES = 256 * 1024      # for sniffing the delimiter and guessing a legacy code page
ENCODING_JUDGE_BYTES = 8 << 20  # the file's encoding is judged on its first 8 MB
UTF8_ERROR_SHARE = 0.5         # more failing bytes than this share of non-ASCII bytes: not UTF-8
CSV_FIELD_LIMIT = 1 << 28      # Python's default (131,072) is below a long pasted document
_HIGH_BYTES = bytes(range(128, 256))
_SURROGATE = re.compile("[\ud800-\udfff]")
_VIETNAMESE_ONLY = frozenset("ăĂđĐĩĨũŨơƠưƯ" + "".join(map(chr, range(0x1EA0, 0x1EFA))))

SYNONYMS: dict[str, tuple[str, ...]] = {
    # Order is preference: the first synonym that matches a header wins over later ones.
    "id": ("mã sáng kiến", "mã số sáng kiến", "mã sk", "id", "mã", "mã số", "external_id",
           "initiative_id", "mã hồ sơ", "số hồ sơ", "mã giải pháp", "mã đề tài", "mã đăng ký",
           "số đăng ký", "uuid", "stt", "số thứ tự", "tt"),
    "title": ("tên sáng kiến", "tên giải pháp", "tên đề tài", "tên sáng kiến giải pháp",
              "tên sáng kiến kinh nghiệm", "tiêu đề", "title", "tên sk", "tên", "tên gọi",
              "sáng kiến", "đề tài", "giải pháp"),
    "text": ("nội dung", "nội dung sáng kiến", "mô tả", "mô tả sáng kiến", "tóm tắt",
             "nội dung tóm tắt", "tóm tắt nội dung", "tóm tắt sáng kiến", "nội dung giải pháp",
             "mô tả giải pháp", "nội dung chi tiết", "nội dung chính", "chi tiết", "thuyết minh",
             "description", "text", "content", "body", "summary", "abstract", "details"),
    "unit": ("đơn vị", "đơn vị công tác", "cơ quan", "tên đơn vị", "cơ quan đơn vị",
             "cơ quan công tác", "nơi công tác", "đơn vị áp dụng", "công đoàn cơ sở", "cđcs",
             "phòng ban", "bộ phận", "unit", "department", "organization", "organisation",
             "agency", "office"),
    "author": ("tác giả", "tên tác giả", "họ và tên tác giả", "người đề xuất", "họ và tên",
               "họ tên", "author", "người thực hiện", "người đăng ký", "người nộp", "người gửi",
               "nhóm tác giả", "chủ nhiệm", "submitter", "submitted_by", "authors"),
    "field": ("lĩnh vực", "lĩnh vực áp dụng", "lĩnh vực sáng kiến", "nhóm lĩnh vực", "field",
              "category", "phân loại", "loại", "chuyên ngành", "ngành", "chủ đề", "domain",
              "topic"),
    "date": ("ngày", "ngày nộp", "ngày đăng ký", "thời gian", "date", "submitted_at",
             "ngày cập nhật", "ngày tạo", "ngày gửi", "thời gian nộp", "thời điểm", "ngày áp dụng",
             "ngày công nhận", "created_at", "updated_at", "timestamp", "năm", "year"),
}


class ExportError(SangkienError):
    """The export as a whole cannot be read; the message says what is wrong and how to fix it."""


class _NoTable(ExportError):
    """This file or sheet holds no usable table (so the next XLSX sheet may be tried)."""


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which source header feeds each target field; None when the file has no such column."""

    id: str | None
    title: str | None
    text: str | None
    unit: str | None
    author: str | None
    field: str | None
    date: str | None


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One usable initiative; ``row_number`` is the row a person finds it on in the file."""

    row_number: int
    id: str
    title: str
    text: str
    unit: str
    author: str
    field: str
    date: str


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that was skipped or altered (or, for file-level kinds, the header row / 0)."""

    row_number: int
    kind: str
    message: str


@dataclass
class ExportData:
    """What one export holds, plus an account of everything that was not read as-is."""

    path: str
    format: str
    encoding: str | None
    sha256: str
    columns: ColumnMap
    rows: list[ExportRow]
    problems: list[RowProblem]
    total_rows: int
    header_row: int = 1            # row the header was found on (0 for JSONL: no header row)
    sheet: str | None = None       # XLSX: the sheet that was read

    @property
    def skipped_rows(self) -> int:
        """Rows not in ``rows``; always ``total_rows - len(rows)``."""
        return sum(1 for p in self.problems if p.kind in SKIPPED_KINDS)


# ---------------------------------------------------------------------------- column detection

def _fold_key(name: str) -> str:
    """Header matching key: no case, accents, spaces or punctuation ("Tên SK (*)" -> "tensk")."""
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed.casefold() if c.isalnum())


_SYNONYM_KEYS = {target: tuple(dict.fromkeys(_fold_key(s) for s in synonyms))
                 for target, synonyms in SYNONYMS.items()}
# Generic words that only name a column when they are the whole header ("Hiệu quả của giải
# pháp" is not a title, "Đồng tác giả" still is an author).
_EXACT_ONLY = frozenset(_fold_key(s) for s in (
    "sáng kiến", "đề tài", "giải pháp", "chi tiết", "bộ phận", "cơ quan", "thời gian", "chủ đề",
    "phân loại", "chủ nhiệm", "created_at", "updated_at"))


def _clean_header(value: object) -> str:
    """Header as shown to people: NFC, no BOM / zero-width characters, no surrounding space."""
    text = "" if value is None else str(value)
    text = text.replace("\ufeff", "").replace("\u200b", "")
    return unicodedata.normalize("NFC", text).strip()


def _match_score(header_key: str, synonym_key: str) -> int:
    """3 exact, 2 header starts with the synonym, 1 contains it; short/generic ones only exact."""
    if header_key == synonym_key:
        return 3
    if len(synonym_key) < 4 or synonym_key in _EXACT_ONLY:
        return 0
    if header_key.startswith(synonym_key):
        return 2
    if len(synonym_key) >= 5 and synonym_key in header_key:
        return 1
    return 0


def _resolve_header(names: list[str], wanted: str, target: str) -> str:
    """An override's header: exact, else the only header equal once case/accents are folded."""
    clean = _clean_header(wanted)
    if clean in names:
        return clean
    key = _fold_key(clean)
    loose = {n for n in names if key and _fold_key(n) == key}
    if len(loose) == 1:
        return loose.pop()
    raise ExportError(
        f"column {wanted!r} given for {target} is not in the file; headers are {names}; "
        f"fix --{target}-column or the config file to name one of them exactly")


def _apply_overrides(names: list[str], overrides: dict[str, str]) -> dict[str, str | None]:
    """Overrides win over detection; an empty value means "this file has no such column"."""
    unknown = sorted(set(overrides) - set(TARGETS))
    if unknown:
        raise ExportError(f"unknown column target(s) {unknown}; use only {list(TARGETS)}, "
                          f"e.g. text = \"Nội dung\"")
    chosen: dict[str, str | None] = {}
    for target, wanted in overrides.items():
        if wanted is None or not str(wanted).strip():
            chosen[target] = None
        else:
            chosen[target] = _resolve_header(names, str(wanted), target)
    return chosen


def detect_columns(headers: list[str], overrides: dict[str, str] | None = None) -> ColumnMap:
    """Map each target to a source header: overrides first, then the best synonym match.

    Matching ignores case, Vietnamese diacritics, spaces and punctuation. Each header feeds at
    most one target; exact matches beat prefix matches beat substring matches, then synonym
    order decides (so "Mã sáng kiến" beats "STT" for the id). Title/text may come back None:
    ``read_export`` turns that into an ExportError because only it knows the file.
    """
    names = [_clean_header(h) for h in headers]
    chosen = _apply_overrides(names, overrides or {})
    taken = {v for v in chosen.values() if v is not None}
    candidates: list[tuple[int, int, int, int, str]] = []
    for col, name in enumerate(names):
        key = _fold_key(name)
        if not key or name in taken:
            continue
        for target, synonyms in _SYNONYM_KEYS.items():
            for rank, synonym in enumerate(synonyms):
                score = _match_score(key, synonym)
                if score and target not in chosen:
                    candidates.append((-score, rank, -len(synonym), col, target))
    for *_, col, target in sorted(candidates):
        if target not in chosen and names[col] not in taken:
            chosen[target] = names[col]
            taken.add(names[col])
    return ColumnMap(**{t: chosen.get(t) for t in TARGETS})


# ---------------------------------------------------------------------------- config

def _parse_config(text: str, path: Path) -> Any:
    """JSON or TOML by extension; an unknown extension tries JSON, then TOML."""
    suffix = path.suffix.lower()
    errors: list[str] = []
    kinds = {".json": ["json"], ".toml": ["toml"]}.get(suffix, ["json", "toml"])
    for kind in kinds:
        try:
            return json.loads(text) if kind == "json" else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            errors.append(f"{kind}: {exc}")
    raise ExportError(f"column config {path} cannot be parsed ({'; '.join(errors)}); write it as "
                      f"TOML (text = \"Nội dung\") or JSON ({{\"text\": \"Nội dung\"}})")


def load_column_config(path: str | Path) -> dict[str, str]:
    """Read a column mapping kept beside the exports, so an audit can be repeated exactly.

    TOML or JSON, either flat (``text = "Nội dung"``) or under a ``columns`` table; keys are
    the targets (``text`` or ``text_column``), values the exact source headers.
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ExportError(f"column config not found: {p}; check the path") from None
    except UnicodeDecodeError:
        raise ExportError(f"column config {p} is not UTF-8; save it as UTF-8") from None
    except OSError as exc:
        raise ExportError(f"column config {p} cannot be read ({exc}); check the path") from None
    data = _parse_config(text, p)
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict):
        raise ExportError(f"column config {p} must be a table of target = header, "
                          f"e.g. {{\"text\": \"Nội dung\"}}")
    config: dict[str, str] = {}
    for key, value in data.items():
        target = str(key).strip().lower().removesuffix("_column").removesuffix("-column")
        if target not in TARGETS or not isinstance(value, str):
            raise ExportError(f"column config {p}: entry {key!r} = {value!r} is not valid; "
                              f"keys must be one of {list(TARGETS)} and values header names")
        config[target] = unicodedata.normalize("NFC", value).strip()
    return config


# ---------------------------------------------------------------------------- rows

def _clean_cell(value: str) -> str:
    """NFC (cp1258 and some editors give combining tone marks) and no surrounding space."""
    return unicodedata.normalize("NFC", value).strip()


def _has_content(cells: list[str]) -> bool:
    return any(c and not c.isspace() for c in cells)


Notes = tuple[tuple[str, str], ...]           # (kind, message) about one row, from the reader
Record = tuple[int, list[str], Notes]          # (row number as a person sees it, cells, notes)


class _RowBuilder:
    """Apply the rules every format shares: empty, ragged, encoding, length, duplicate ids."""

    def __init__(self, headers: list[str], columns: ColumnMap, max_text_chars: int,
                 report_ragged: bool) -> None:
        self.headers = headers
        self.index = {t: headers.index(getattr(columns, t)) if getattr(columns, t) is not None
                      else None for t in TARGETS}
        self.max_text_chars = max_text_chars
        self.report_ragged = report_ragged
        self.rows: list[ExportRow] = []
        self.problems: list[RowProblem] = []
        self.total = 0
        self._pending_empty: list[int] = []   # trailing empty rows are not data: wait and see
        self._seen_ids: dict[str, int] = {}

    def problem(self, row_number: int, kind: str, message: str) -> None:
        self.problems.append(RowProblem(row_number, kind, f"row {row_number}: {message}"))

    def _flush_empty(self) -> None:
        for number in self._pending_empty:
            self.total += 1
            self.problem(number, "empty_row", "every cell is empty; skipped")
        self._pending_empty.clear()

    def skip(self, row_number: int, kind: str, message: str) -> None:
        """A data row that could not even be split into cells (e.g. a broken JSON line)."""
        self._flush_empty()
        self.total += 1
        self.problem(row_number, kind, message)

    def add(self, row_number: int, cells: list[str], notes: Notes = ()) -> None:
        """One data row; ``notes`` are (kind, message) found while splitting it into cells."""
        if not _has_content(cells):
            self._pending_empty.append(row_number)
            return
        self._flush_empty()
        self.total += 1
        if self.report_ragged:
            self._check_width(row_number, cells)
        for kind, message in notes:
            if kind != "bad_encoding":
                self.problem(row_number, kind, message)
        self._check_encoding(row_number, cells,
                             next((m for k, m in notes if k == "bad_encoding"), None))
        values = {t: _clean_cell(cells[i]) if i is not None and i < len(cells) else ""
                  for t, i in self.index.items()}
        self._truncate(row_number, values)
        if not values["title"] and not values["text"]:
            self.problem(row_number, "empty_text", "title and text are both empty; skipped")
            return
        values["id"] = self._unique_id(row_number, values["id"])
        self.rows.append(ExportRow(row_number=row_number, **values))

    def _check_width(self, row_number: int, cells: list[str]) -> None:
        """Fewer/more cells than the header usually means an unquoted line break or delimiter."""
        width = len(self.headers)
        if len(cells) < width:
            self.problem(row_number, "ragged_row",
                         f"has {len(cells)} cells, the header has {width}; missing cells read as "
                         f"empty (a line break or delimiter inside an unquoted cell?)")
        elif len(cells) > width and _has_content(cells[width:]):
            self.problem(row_number, "ragged_row",
                         f"has {len(cells)} cells, the header has {width}; the extra cells were "
                         f"dropped (a delimiter inside an unquoted cell?)")

    def _check_encoding(self, row_number: int, cells: list[str], note: str | None) -> None:
        bad = [self._column_name(i) for i, c in enumerate(cells) if "\ufffd" in c]
        if not bad and not note:
            return
        parts = [note] if note else []
        if bad:
            parts.append(f"undecodable bytes shown as \ufffd in {bad}")
        self.problem(row_number, "bad_encoding",
                     "; ".join(parts) + "; check the text, or re-save the file as UTF-8")

    def _column_name(self, i: int) -> str:
        return self.headers[i] if i < len(self.headers) and self.headers[i] else f"column {i + 1}"

    def _truncate(self, row_number: int, values: dict[str, str]) -> None:
        limit = self.max_text_chars
        if max(map(len, values.values())) <= limit:
            return
        for target, value in values.items():
            if len(value) <= limit:
                continue
            hint = ""
            if value.count("\n") > 50:
                hint = " (many line breaks: maybe an unclosed quote swallowed the following rows)"
            values[target] = value[:limit].rstrip()
            self.problem(row_number, "too_long",
                         f"{target} has {len(value)} characters; cut to {limit}{hint}")

    def _unique_id(self, row_number: int, raw: str) -> str:
        """Ids stay unique and traceable: later copies become "id#row", never dropped or merged."""
        if not raw:
            if self.index["id"] is not None:
                self.problem(row_number, "missing_id", f"id is empty; using 'row-{row_number}'")
            raw = f"row-{row_number}"
        first = self._seen_ids.get(raw)
        if first is None:
            self._seen_ids[raw] = row_number
            return raw
        new = f"{raw}#{row_number}"
        self._seen_ids[new] = row_number
        self.problem(row_number, "duplicate_id",
                     f"id {raw!r} already used on row {first}; kept as {new!r}")
        return new




def _trim_headers(cells: list[str]) -> list[str]:
    """Header names, without the empty cells Excel leaves after the last column."""
    names = [_clean_header(c) for c in cells]
    while names and not names[-1]:
        names.pop()
    return names


def _try_detect(headers: list[str], overrides: dict[str, str]) -> ColumnMap | None:
    """Columns of a row that names a title or text column; None for any other row."""
    try:
        columns = detect_columns(headers, overrides)
    except ExportError:
        return None
    return columns if columns.title or columns.text else None


def _find_header(records: Iterator[Record], overrides: dict[str, str], where: str
                 ) -> tuple[int, list[str], ColumnMap, Iterator[Record]]:
    """The header row, its names and columns, and the records after it.

    Banner rows such as "DANH SÁCH SÁNG KIẾN NĂM 2024" above the table are passed over: among
    the rows up to the first one with more than two filled cells, the row matching the most
    targets (and a title/text) wins, earliest on ties. With no such row, the first non-empty
    row is the header and the error lists it.
    """
    scanned: list[Record] = []
    best: tuple[int, int, list[str], ColumnMap] | None = None
    for record in records:
        scanned.append(record)
        cells = record[1]
        filled = sum(1 for c in cells if c and not c.isspace())
        if not filled:
            continue
        headers = _trim_headers(cells)
        columns = _try_detect(headers, overrides)
        if columns is not None:
            score = sum(getattr(columns, t) is not None for t in TARGETS)
            if best is None or score > best[0]:
                best = (score, len(scanned) - 1, headers, columns)
        if filled > 2 or len(scanned) >= HEADER_SCAN_ROWS:
            break
    if best is not None:
        _, position, headers, columns = best
        return scanned[position][0], headers, columns, chain(scanned[position + 1:], records)
    first = next((r for r in scanned if _has_content(r[1])), None)
    if first is None:
        raise _NoTable(f"{where} has no data rows: it is empty; export it again from the portal")
    headers = _trim_headers(first[1])
    try:
        detect_columns(headers, overrides)
    except ExportError as exc:                     # an override naming no header
        raise _NoTable(str(exc)) from None
    raise _no_text_column(where, headers)


def _no_text_column(where: str, headers: list[str]) -> ExportError:
    return _NoTable(
        f"{where}: no text column found; headers are {headers}; map one with --text-column "
        f"(or --title-column) or a config file (text = \"<header>\"); if the first row is data, "
        f"add a header row")


def _file_problems(headers: list[str], columns: ColumnMap, header_row: int) -> list[RowProblem]:
    """File-level notes: targets with no column, and mapped headers that appear twice."""
    problems = []
    missing = [t for t in TARGETS if getattr(columns, t) is None]
    if missing:
        flags = ", ".join(f"--{t}-column" for t in missing)
        problems.append(RowProblem(header_row, "missing_columns",
                                   f"no column for {missing}; headers are {headers}; "
                                   f"map them with {flags} or a config file if they exist"))
    for target in TARGETS:
        name = getattr(columns, target)
        where = [i + 1 for i, h in enumerate(headers) if name is not None and h == name]
        if len(where) > 1:
            problems.append(RowProblem(header_row, "duplicate_header",
                                       f"header {name!r} ({target}) is in columns {where}; reading "
                                       f"column {where[0]}; rename the others"))
    return problems


def _assemble(where: str, records: Iterator[Record], overrides: dict[str, str],
              max_text_chars: int, report_ragged: bool, **meta: Any) -> ExportData:
    """Find the header in ``records``, then build rows from the rest (shared by CSV and XLSX)."""
    header_row, headers, columns, rest = _find_header(records, overrides, where)
    builder = _RowBuilder(headers, columns, max_text_chars, report_ragged)
    for number, cells, notes in rest:
        builder.add(number, cells, notes)
    return _finish(where, builder, headers, columns, header_row, **meta)


def _finish(where: str, builder: _RowBuilder, headers: list[str], columns: ColumnMap,
            header_row: int, **meta: Any) -> ExportData:
    if builder.total == 0:
        after = f"only a header on row {header_row}" if header_row else "no JSON objects with data"
        raise _NoTable(f"{where} has no data rows ({after}); export it again with the data")
    return ExportData(path=str(meta.pop("path")), columns=columns, rows=builder.rows,
                      problems=_file_problems(headers, columns, header_row) + builder.problems,
                      total_rows=builder.total, header_row=header_row, **meta)


# ---------------------------------------------------------------------------- bytes & encodings

@dataclass
class _ByteScan:
    sha256: str
    size: int
    sample: bytes
    utf8_errors: int = 0
    high_bytes: int = 0
    has_lf: bool = False


def _scan_bytes(path: Path) -> _ByteScan:
    """One pass: hash, a sample, and how many non-ASCII bytes fail as UTF-8.

    The UTF-8 count stops after ENCODING_JUDGE_BYTES (once some non-ASCII was seen): lines
    further on are still decoded one by one, so a stray line there cannot be misread.
    """
    digest, decoder = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")("replace")
    scan = _ByteScan("", 0, b"")
    judging = True
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            judging = judging and (scan.size < ENCODING_JUDGE_BYTES or scan.high_bytes == 0)
            scan.size += len(chunk)
            if len(scan.sample) < SAMPLE_BYTES:
                scan.sample += chunk[: SAMPLE_BYTES - len(scan.sample)]
            if judging:
                scan.high_bytes += len(chunk) - len(chunk.translate(None, _HIGH_BYTES))
                scan.utf8_errors += decoder.decode(chunk).count("\ufffd")
            scan.has_lf = scan.has_lf or b"\n" in chunk
    if judging:
        scan.utf8_errors += decoder.decode(b"", final=True).count("\ufffd")
    scan.sha256 = digest.hexdigest()
    return scan


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _vietnamese_score(sample: bytes, encoding: str) -> int:
    """Letters only Vietnamese uses (ă ơ ư đ ạ ả ...) minus U+FFFD, once decoded and composed."""
    try:
        text = unicodedata.normalize("NFC", sample.decode(encoding, "replace"))
    except LookupError:
        return -1
    return sum(1 for c in text if c in _VIETNAMESE_ONLY) - 4 * text.count("\ufffd")


def _guess_legacy(sample: bytes) -> str:
    """Windows-1258 unless charset_normalizer proposes a code page that reads as more Vietnamese."""
    candidates = ["cp1258"]
    try:
        from charset_normalizer import from_bytes
        best = from_bytes(sample).best()
    except ImportError:
        best = None
    if best is not None and best.encoding not in candidates:
        candidates.append(best.encoding)
    return max(candidates, key=lambda enc: _vietnamese_score(sample, enc))   # ties: cp1258


def _choose_encoding(scan: _ByteScan) -> tuple[str, str]:
    """(encoding of the file, code page for lines that are not UTF-8).

    UTF-8 (with or without BOM) unless most non-ASCII bytes fail to decode as UTF-8; then the
    legacy code page is the file's encoding. UTF-16 only with a BOM (Excel "Unicode text").
    """
    if scan.sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "utf-16"
    utf8 = "utf-8-sig" if scan.sample.startswith(codecs.BOM_UTF8) else "utf-8"
    if scan.utf8_errors == 0 or scan.utf8_errors < UTF8_ERROR_SHARE * scan.high_bytes:
        return utf8, "cp1258"
    legacy = _guess_legacy(scan.sample)
    return legacy, legacy


def _is_wide(encoding: str) -> bool:
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def _decode_line(raw: bytes, fallback: str, utf8_file: bool) -> tuple[str, str]:
    """(text, how): "utf-8", "utf-8-replaced" or the fallback code page.

    In a UTF-8 file a line with only a few bad bytes keeps its UTF-8 and shows U+FFFD for them
    (so the rest is not garbled); a line that is mostly not UTF-8 is read in the code page.
    """
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if utf8_file:
        as_utf8 = raw.decode("utf-8", "replace")
        high = len(raw) - len(raw.translate(None, _HIGH_BYTES))
        if as_utf8.count("\ufffd") < UTF8_ERROR_SHARE * high:
            return as_utf8, "utf-8-replaced"
    return raw.decode(fallback, "replace"), fallback


def _split_cr(f: io.BufferedReader) -> Iterator[bytes]:
    """Lines of an old-Mac file ending in CR only (Excel for Mac "CSV (Macintosh)")."""
    rest = b""
    while chunk := f.read(1 << 20):
        *lines, rest = (rest + chunk).split(b"\r")
        for line in lines:
            yield line + b"\r"
    if rest:
        yield rest


def _decoded_lines(path: Path, scan: _ByteScan, encoding: str, fallback: str,
                   notes: dict[int, str], skip: int = 0) -> Iterator[str]:
    """Decode line by line, so a row pasted in another encoding spoils only itself.

    Lines not decoded the file's way are noted by line number (1-based, after ``skip``).
    """
    if _is_wide(encoding):
        with path.open(encoding=encoding, errors="replace", newline="") as f:
            yield from islice(f, skip, None)
        return
    primary = "utf-8" if encoding.startswith("utf-8") else encoding
    with path.open("rb") as f:
        raw_lines = f if scan.has_lf else _split_cr(f)
        for number, raw in enumerate(islice(raw_lines, skip, None), 1):
            if number == 1 and skip == 0 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            if raw.isascii():
                yield raw.decode("ascii")
                continue
            text, how = _decode_line(raw, fallback, primary == "utf-8")
            if how != primary:
                notes[number] = _encoding_note(how, encoding)
            yield text


def _encoding_note(how: str, encoding: str) -> str:
    if how == "utf-8":
        return f"row is UTF-8 in a {encoding} file (mixed encodings); read as UTF-8"
    if how == "utf-8-replaced":
        return f"row has bytes that are not valid UTF-8 in a {encoding} file"
    return f"row is not valid UTF-8; read as {how}"


# ---------------------------------------------------------------------------- CSV

def _width_score(sample: str, delimiter: str) -> tuple[int, int]:
    """(rows sharing the most common width, that width); 0 when the delimiter splits nothing."""
    rows = islice(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), 100)
    try:
        widths = Counter(len(r) for r in rows if _has_content(r))
    except csv.Error:
        return 0, 0
    if not widths:
        return 0, 0
    width, count = widths.most_common(1)[0]
    return (count, width) if width > 1 else (0, 0)


def _sniff_delimiter(sample: str, prefer: str) -> str:
    """csv.Sniffer's choice among , ; TAB unless another gives more rows of one width (>1)."""
    sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        sniffed = csv.Sniffer().sniff(sample[:65536], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = prefer
    scores = {d: _width_score(sample, d) for d in DELIMITERS}
    best = max(scores.values())
    if best == (0, 0) or scores.get(sniffed) == best:
        return sniffed
    return max(DELIMITERS, key=lambda d: (scores[d], d == prefer))


class _QuoteCounter:
    """Passes lines on to csv.reader, counting quote characters, to spot an unclosed quote."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.quotes = 0

    def __iter__(self) -> _QuoteCounter:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.quotes += line.count('"')
        return line


def _csv_records(lines: _QuoteCounter, delimiter: str, notes: dict[int, str], where: str,
                 skipped_lines: int) -> Iterator[Record]:
    """Records numbered as Excel shows them, with notes on encoding and unclosed quotes.

    A record spanning several lines with an odd number of quote characters is a quote that was
    never closed: the following rows were read into one cell, so say so instead of undercounting.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    last_line, last_quotes, number = 0, 0, 0
    try:
        for number, cells in enumerate(reader, 1):
            found: list[tuple[str, str]] = []
            lines_of_row = range(last_line + 1, reader.line_num + 1)
            note = next((notes[n] for n in lines_of_row if n in notes), None) if notes else None
            if note:
                found.append(("bad_encoding", note))
            if reader.line_num - last_line > 1 and (lines.quotes - last_quotes) % 2:
                first, end = last_line + 1 + skipped_lines, reader.line_num + skipped_lines
                found.append(("unclosed_quote",
                              f"a quote (\") opened on file line {first} is never closed, so "
                              f"lines {first}-{end} were read as this one row; close the quote"))
            last_line, last_quotes = reader.line_num, lines.quotes
            yield number, cells, tuple(found)
    except csv.Error as exc:
        raise ExportError(f"{where}: cannot split row {number + 1} (line {reader.line_num}) into "
                          f"cells: {exc}; look for an unclosed quote (\") there, or export the "
                          f"file again as CSV UTF-8") from None


def _read_csv(path: Path, overrides: dict[str, str], max_text_chars: int) -> ExportData:
    scan = _scan_bytes(path)
    encoding, fallback = _choose_encoding(scan)
    sample_codec = "utf-8-sig" if encoding.startswith("utf-8") else encoding
    sample = scan.sample.decode(sample_codec, "replace")
    first_line = sample.lstrip("\ufeff").split("\n", 1)[0].strip()
    match = re.fullmatch(r"sep=(.)", first_line)      # Excel's "sep=;" hint line
    prefer = "\t" if path.suffix.lower() == ".tsv" else ","
    delimiter = match.group(1) if match else _sniff_delimiter(sample, prefer)
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    notes: dict[int, str] = {}
    skip = 1 if match else 0
    lines = _QuoteCounter(_decoded_lines(path, scan, encoding, fallback, notes, skip=skip))
    records = _csv_records(lines, delimiter, notes, str(path), skip)
    return _assemble(str(path), records, overrides, max_text_chars, report_ragged=True,
                     path=path, format="csv", encoding=encoding, sha256=scan.sha256)


# ---------------------------------------------------------------------------- XLSX

def _xlsx_text(value: object) -> str:
    """Cell value as text: integral numbers without ".0", dates as ISO yyyy-mm-dd."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _xlsx_records(ws: Any, where: str) -> Iterator[Record]:
    """Rows of a read-only sheet numbered as Excel shows them (gaps come back as empty rows)."""
    ws.reset_dimensions()          # some writers store a wrong size; read every row there is
    number = 0
    try:
        for number, values in enumerate(ws.iter_rows(values_only=True), 1):
            yield number, [_xlsx_text(v) for v in values], ()
    except Exception as exc:      # openpyxl surfaces broken XML as many exception types
        raise ExportError(f"{where}: sheet {ws.title!r} breaks after row {number} "
                          f"({type(exc).__name__}: {exc}); open the file in Excel and save it "
                          f"again as .xlsx") from None


def _open_workbook(path: Path) -> Any:
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise ExportError("reading .xlsx needs openpyxl; install the training extras "
                          "(pip install 'sangkien[training]') or export the file as CSV") from None
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:      # BadZipFile, InvalidFileException, KeyError, XML errors ...
        raise ExportError(f"{path} is not a valid XLSX file ({type(exc).__name__}: {exc}); open it "
                          f"in Excel and save it as .xlsx (an old .xls renamed to .xlsx does not "
                          f"work), or export it as CSV UTF-8") from None


def _read_xlsx(path: Path, overrides: dict[str, str], max_text_chars: int) -> ExportData:
    """First sheet whose header names a title/text column (else the first sheet's error)."""
    sha = _sha256(path)
    workbook = _open_workbook(path)
    try:
        sheets = list(workbook.worksheets)
        first_error: ExportError | None = None
        for ws in sheets:
            where = f"{path} (sheet {ws.title!r})"
            try:
                return _assemble(where, _xlsx_records(ws, where), overrides, max_text_chars,
                                 report_ragged=False, path=path, format="xlsx", encoding=None,
                                 sha256=sha, sheet=ws.title)
            except _NoTable as exc:
                first_error = first_error or exc
        if first_error is None:
            raise ExportError(f"{path} has no data rows: the workbook has no sheets; export again")
        raise first_error
    finally:
        workbook.close()


# ---------------------------------------------------------------------------- JSONL

def _json_text(value: object) -> str:
    """JSON value as text: null -> "", nested values as compact JSON, lone surrogates -> U+FFFD."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _jsonl_items(lines: Iterable[str], notes: dict[int, str]
                 ) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, object or None, why not an object / encoding note); skips blank lines."""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield (number, None,
                   f"not valid JSON ({exc.msg} at column {exc.colno}): {stripped[:60]!r}")
            continue
        if not isinstance(obj, dict):
            yield number, None, f"is a JSON {type(obj).__name__}, not an object: {stripped[:60]!r}"
            continue
        yield number, obj, notes.get(number)


def _jsonl_keys(items: Iterator[tuple[int, dict[str, Any] | None, str | None]], where: str
                ) -> tuple[list[str], list[tuple[int, dict[str, Any] | None, str | None]]]:
    """Union of keys in the first objects, plus the items read to find them."""
    buffered, keys, objects = [], {}, 0
    for item in items:
        buffered.append(item)
        if item[1] is not None:
            keys.update(dict.fromkeys(item[1]))
            objects += 1
            if objects >= JSONL_KEY_OBJECTS:
                break
    if not buffered:
        raise ExportError(f"{where} has no data rows: it is empty; export it again from the portal")
    if objects == 0:
        raise ExportError(f"{where} has no JSON objects: line {buffered[0][0]} is "
                          f"{buffered[0][2]}; JSON Lines needs one {{...}} object per line (for a "
                          f"JSON array, convert with: jq -c '.[]' in.json > out.jsonl)")
    return list(keys), buffered


def _read_jsonl(path: Path, overrides: dict[str, str], max_text_chars: int) -> ExportData:
    scan = _scan_bytes(path)
    encoding, fallback = _choose_encoding(scan)
    notes: dict[int, str] = {}
    items = _jsonl_items(_decoded_lines(path, scan, encoding, fallback, notes), notes)
    where = str(path)
    keys, buffered = _jsonl_keys(items, where)
    headers = [_clean_header(k) for k in keys]
    columns = detect_columns(headers, overrides)
    if not (columns.title or columns.text):
        raise _no_text_column(where, headers)
    builder = _RowBuilder(headers, columns, max_text_chars, report_ragged=False)
    for number, obj, note in chain(buffered, items):
        if obj is None:
            builder.skip(number, "bad_json", f"{note}; skipped")
        else:
            notes = (("bad_encoding", note),) if note else ()
            builder.add(number, [_json_text(obj.get(k)) for k in keys], notes)
    return _finish(where, builder, headers, columns, 0, path=path, format="jsonl",
                   encoding=encoding, sha256=scan.sha256)


# ---------------------------------------------------------------------------- entry point

def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    supported = ", ".join(FORMATS)
    hint = {".xls": "save it from Excel as .xlsx or CSV UTF-8",
            ".json": "if it holds one object per line rename it to .jsonl; if it is a JSON array "
                     "convert it with: jq -c '.[]' in.json > out.jsonl"}.get(suffix,
                                                                            "rename or convert it")
    raise ExportError(f"{path}: unsupported file type {suffix or '(no extension)'!r}; supported "
                      f"are {supported}; {hint}")


def read_export(path: str | Path, overrides: dict[str, str] | None = None,
                max_text_chars: int = 20000) -> ExportData:
    """Read one portal export into usable rows plus an account of every row skipped or altered.

    ``overrides`` map targets (id, title, text, unit, author, field, date) to exact source
    headers and win over detection. Raises ExportError for file-level problems (missing file,
    unknown type, no text column, no data rows, not a real XLSX).
    """
    if max_text_chars < 1:
        raise ValueError(f"max_text_chars must be positive, got {max_text_chars}")
    p = Path(path)
    fmt = _format_of(p)
    if not p.exists():
        raise ExportError(f"export file not found: {p}; check the path "
                          f"(relative paths start at {Path.cwd()})")
    if not p.is_file():
        raise ExportError(f"{p} is not a file; pass the export file itself, not a folder")
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "jsonl": _read_jsonl}[fmt]
    try:
        return reader(p, dict(overrides or {}), max_text_chars)
    except PermissionError as exc:
        raise ExportError(f"{p} cannot be read ({exc}); close it in Excel or fix its "
                          f"permissions") from None
